-- stg_contacts: one row per contact attempt or inbound contact, 1:1 with raw_contacts.
with

source as (
    select * from raw_contacts
),

final as (
    select
        contact_id,
        account_id,
        customer_id,
        lower(channel) as channel,
        lower(direction) as direction,
        cast(started_at as timestamptz) as started_at,
        template_id,
        lower(outcome) as outcome,
        cast(cost as decimal(18, 4)) as cost,
        action_key,
        cast(propensity as double) as propensity,
        _arrived_at,
    from source
)

select * from final
