-- One pass of label propagation: each customer takes the smallest label among itself and the
-- customers it shares a contact point with. Repeated until no label changes.
create or replace temp table ingest_person_next as
select
    l.customer_id,
    least(l.person_key, coalesce(min(n.person_key), l.person_key)) as person_key,
from ingest_person_label l
left join ingest_person_edges e on e.a = l.customer_id
left join ingest_person_label n on n.customer_id = e.b
group by l.customer_id, l.person_key
