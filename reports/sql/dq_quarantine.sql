-- quarantined rows by table and rule; never reads reason or record_json (they may hold
-- personal values)
with last_load as (
    select load_id
    from {load_audit}
    order by arrived_at desc nulls last, load_id desc
    limit 1
),

quarantined as (
    select load_id, table_name, column_name, rule_id
    from quarantine
),

final as (
    select
        coalesce(table_name, 'unknown') as table_name,
        coalesce(rule_id, 'unknown') as rule_id,
        count(*) as rows_all_loads,
        count(*) filter (where load_id in (select load_id from last_load)) as rows_last_load,
    from quarantined
    group by all
    order by rows_all_loads desc, table_name, rule_id
)

select * from final
