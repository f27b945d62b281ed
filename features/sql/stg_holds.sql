-- stg_holds: one row per hold, 1:1 with raw_holds. A hold names an account, or a customer (all accounts).
with

source as (
    select * from raw_holds
),

final as (
    select
        hold_id,
        customer_id,
        account_id,
        lower(kind) as kind,
        cast(starts_at as timestamptz) as starts_at,
        cast(ends_at as timestamptz) as ends_at,
        _arrived_at,
    from source
)

select * from final
