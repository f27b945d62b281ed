-- Pairs of customers that share a contact point (normalised phone or email) in raw_customers.
-- A point shared by more than $max_customers customers (a switchboard, a placeholder address)
-- links nobody: it says nothing about who is the same person.
create or replace temp table ingest_person_edges as
with points as (
    select customer_id, 'phone:' || phone as point from raw_customers where phone is not null
    union
    select customer_id, 'email:' || email as point from raw_customers where email is not null
),
shared as (
    select point from points group by point
    having count(*) between 2 and $max_customers
),
final as (
    select distinct a.customer_id as a, b.customer_id as b
    from points a
    join points b on b.point = a.point and b.customer_id <> a.customer_id
    semi join shared s on s.point = a.point
)
select * from final
