-- stg_customers: one row per customer, 1:1 with raw_customers.
-- Keeps phone and email: the dispatcher needs them. Nothing downstream of stg_ may select them.
with

source as (
    select * from raw_customers
),

final as (
    select
        customer_id,
        upper(country) as country,
        region,
        timezone,
        lower(language) as language,
        cast(birth_year as integer) as birth_year,
        cast(created_at as timestamptz) as created_at,
        phone,
        email,
        cast(whatsapp_opt_in as boolean) as whatsapp_opt_in,
        _arrived_at,
    from source
)

select * from final
