-- customer_persons: one row per customer; person_key = smallest customer_id of its component.
-- ingest_person_label holds only customers that share a contact point; the others stand alone.
create or replace table customer_persons as
with labels as (
    select
        c.customer_id,
        coalesce(l.person_key, c.customer_id) as person_key,
    from raw_customers c
    left join ingest_person_label l using (customer_id)
),
final as (
    select
        customer_id,
        person_key,
        count(*) over (partition by person_key) as n_customers,
    from labels
)
select * from final order by customer_id
