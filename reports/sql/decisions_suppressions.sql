-- suppressions recorded at as_of, by rule pack and rule
with suppressions_at as (
    select account_id, rule_id, rule_pack, rule_pack_version
    from suppressions
    where as_of = cast($as_of as date)
),

final as (
    select
        coalesce(rule_pack, 'unknown') as rule_pack,
        coalesce(rule_pack_version, '—') as rule_pack_version,
        coalesce(rule_id, 'unknown') as rule_id,
        count(*) as suppressions,
        count(distinct account_id) as accounts,
    from suppressions_at
    group by all
    order by suppressions desc, rule_pack, rule_id
)

select * from final
