-- int_contact_events: one row per contact with response flags and the customer's local hour.
-- A response is a right-party contact, a promise, a reply or a click on an outbound attempt,
-- or any inbound contact.
with

contacts as (
    select * from stg_contacts
),

customers as (
    select
        customer_id,
        timezone,
    from stg_customers
),

final as (
    select
        contacts.contact_id,
        contacts.account_id,
        contacts.customer_id,
        contacts.channel,
        contacts.direction,
        contacts.started_at,
        contacts.outcome,
        contacts.direction = 'outbound' as is_attempt,
        contacts.direction = 'inbound'
            or contacts.outcome in ('rpc', 'promise', 'replied', 'clicked') as is_response,
        hour(timezone(coalesce(customers.timezone, 'UTC'), contacts.started_at)) as local_hour,
    from contacts
    left join customers
        on customers.customer_id = contacts.customer_id
)

select * from final
