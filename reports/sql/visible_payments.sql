-- visible_payments: payments known at the end of as_of (posted by then, effective by then) and not
-- reversed by a reversal known by then. One row per payment; used as the payments relation of the KPI files.
with params as (
    select
        cast($as_of as date) as as_of,
        cast(cast($as_of as date) + 1 as timestamptz) as window_end,
),

ledger as (
    select * from {ledger}
),

visible_ledger as (
    select ledger.*
    from ledger, params
    where ledger.posted_at < params.window_end
      and ledger.effective_date <= params.as_of
),

reversed as (
    select distinct reverses_entry_id as entry_id
    from visible_ledger
    where entry_type = 'reversal' and reverses_entry_id is not null
),

final as (
    select visible_ledger.entry_id, visible_ledger.account_id, visible_ledger.effective_date, visible_ledger.amount
    from visible_ledger
    where visible_ledger.entry_type = 'payment'
      and not exists (select 1 from reversed where reversed.entry_id = visible_ledger.entry_id)
)

select * from final
