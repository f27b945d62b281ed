-- today's next-best-actions by action x channel (wait/none have no channel)
with actions as (
    select action, channel, expected_value, propensity
    from next_best_actions
    where as_of = cast($as_of as date)
),

final as (
    select
        action,
        coalesce(channel, '—') as channel,
        count(*) as actions,
        sum(expected_value) as expected_value,
        avg(propensity) as mean_propensity,
    from actions
    group by all
    order by actions desc, action, channel
)

select * from final
