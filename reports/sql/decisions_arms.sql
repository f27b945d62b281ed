-- experiment arms at as_of: accounts assigned (segments) and actions to send (next_best_actions)
with segments_at as (
    select account_id, experiment_arm
    from segments
    where as_of = cast($as_of as date)
),

actions_at as (
    select experiment_arm, action, expected_value
    from next_best_actions
    where as_of = cast($as_of as date)
),

assigned as (
    select
        coalesce(experiment_arm, 'unassigned') as experiment_arm,
        count(distinct account_id) as accounts,
    from segments_at
    group by all
),

acting as (
    select
        coalesce(experiment_arm, 'unassigned') as experiment_arm,
        count(*) filter (where action not in ('wait', 'none')) as actions_to_send,
        avg(expected_value) as mean_expected_value,
    from actions_at
    group by all
),

final as (
    select
        experiment_arm,
        coalesce(assigned.accounts, 0) as accounts,
        coalesce(assigned.accounts, 0) / nullif(sum(coalesce(assigned.accounts, 0)) over (), 0) as share,
        coalesce(acting.actions_to_send, 0) as actions_to_send,
        acting.mean_expected_value,
    from assigned
    full outer join acting using (experiment_arm)
    order by experiment_arm
)

select * from final
