-- accounts by segment x risk tier at as_of (pivoted in Python)
with segments_at as (
    select account_id, segment, risk_tier, vulnerability_flag
    from segments
    where as_of = cast($as_of as date)
),

final as (
    select
        coalesce(segment, 'unknown') as segment,
        coalesce(risk_tier, 'unknown') as risk_tier,
        count(distinct account_id) as accounts,
        count(distinct account_id) filter (where vulnerability_flag) as vulnerable_accounts,
    from segments_at
    group by all
    order by segment, risk_tier
)

select * from final
