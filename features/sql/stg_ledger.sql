-- stg_ledger: one row per ledger entry, 1:1 with raw_ledger.
-- amount is positive for every entry type except adjustment (signed); see int_ledger_effects.
with

source as (
    select * from raw_ledger
),

final as (
    select
        entry_id,
        account_id,
        cast(posted_at as timestamptz) as posted_at,
        cast(effective_date as date) as effective_date,
        lower(entry_type) as entry_type,
        cast(amount as decimal(18, 2)) as amount,
        upper(currency) as currency,
        reverses_entry_id,
        payment_method,
        _arrived_at,
    from source
)

select * from final
