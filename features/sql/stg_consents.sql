-- stg_consents: one row per consent event, 1:1 with raw_consents.
-- Keeps contact_point (a phone or email): the dispatcher needs it; features never select it.
with

source as (
    select * from raw_consents
),

final as (
    select
        consent_id,
        customer_id,
        lower(channel) as channel,
        contact_point,
        lower(status) as status,
        cast(effective_at as timestamptz) as effective_at,
        source,
        _arrived_at,
    from source
)

select * from final
