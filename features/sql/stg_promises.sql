-- stg_promises: one row per promise to pay, 1:1 with raw_promises.
with

source as (
    select * from raw_promises
),

final as (
    select
        promise_id,
        account_id,
        cast(created_at as timestamptz) as created_at,
        cast(promised_amount as decimal(18, 2)) as promised_amount,
        upper(currency) as currency,
        cast(due_date as date) as due_date,
        lower(channel) as channel,
        agent_id,
        _arrived_at,
    from source
)

select * from final
