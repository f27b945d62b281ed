-- the last load (latest arrived_at) per table: rows in / accepted / quarantined / duplicate
with last_load as (
    select load_id
    from load_audit
    order by arrived_at desc nulls last, load_id desc
    limit 1
),

final as (
    select
        load_audit.load_id,
        load_audit.delivery,
        load_audit.table_name,
        load_audit.rows_in,
        load_audit.rows_accepted,
        load_audit.rows_quarantined,
        load_audit.rows_duplicate,
        load_audit.status,
        load_audit.arrived_at,
    from load_audit
    inner join last_load using (load_id)
    order by load_audit.table_name
)

select * from final
