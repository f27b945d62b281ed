-- int_ledger_effects: one row per ledger entry with its signed balance effect.
-- Business definition (docs/TABLES.md): charge, fee, interest +amount; payment, write_off -amount;
-- adjustment +amount (signed); installment_due 0 (a schedule marker for DPD);
-- reversal: minus the effect of the entry it reverses.
-- reversal_posted_at / reversal_effective_date say when this entry was itself reversed, so a
-- feature at as_of can tell "reversed as far as we knew then" without looking ahead.
with

ledger as (
    select * from stg_ledger
),

base_effects as (
    select
        entry_id,
        entry_type,
        case
            when entry_type in ('charge', 'fee', 'interest', 'adjustment') then amount
            when entry_type in ('payment', 'write_off') then -amount
            else cast(0 as decimal(18, 2))
        end as base_effect,
    from ledger
),

reversals as (
    -- an entry reversed twice counts from its first reversal
    select
        reverses_entry_id as entry_id,
        min(posted_at) as reversal_posted_at,
        min(effective_date) as reversal_effective_date,
    from ledger
    where entry_type = 'reversal'
        and reverses_entry_id is not null
    group by reverses_entry_id
),

final as (
    select
        ledger.entry_id,
        ledger.account_id,
        ledger.posted_at,
        ledger.effective_date,
        ledger.entry_type,
        ledger.amount,
        ledger.currency,
        ledger.reverses_entry_id,
        ledger.payment_method,
        target.entry_type as reversed_entry_type,
        case
            when ledger.entry_type = 'reversal' then -coalesce(target.base_effect, 0)
            else own.base_effect
        end as balance_effect,
        reversals.reversal_posted_at,
        reversals.reversal_effective_date,
    from ledger
    left join base_effects as own
        on own.entry_id = ledger.entry_id
    left join base_effects as target
        on target.entry_id = ledger.reverses_entry_id
    left join reversals
        on reversals.entry_id = ledger.entry_id
)

select * from final
