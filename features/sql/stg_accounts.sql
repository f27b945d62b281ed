-- stg_accounts: one row per account, 1:1 with raw_accounts.
with

source as (
    select * from raw_accounts
),

final as (
    select
        account_id,
        customer_id,
        lower(product) as product,
        upper(currency) as currency,
        cast(opened_at as timestamptz) as opened_at,
        cast(placed_at as timestamptz) as placed_at,
        cast(principal as decimal(18, 2)) as principal,
        upper(jurisdiction) as jurisdiction,
        _arrived_at,
    from source
)

select * from final
