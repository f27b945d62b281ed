-- customer_persons: one row per customer; person_key = smallest customer_id of its component.
create or replace table customer_persons as
with final as (
    select
        customer_id,
        person_key,
        count(*) over (partition by person_key) as n_customers,
    from ingest_person_label
)
select * from final order by customer_id
