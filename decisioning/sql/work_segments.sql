-- work_segments: one row per account × as_of: segment, risk tier, vulnerability flag (from holds only),
-- treatment path, experiment arm and a readable reason.
with

accounts as (
    select * from int_decision_accounts
),

paths as (
    select * from tmp_segment_paths
),

final as (
    select
        a.as_of,
        a.account_id,
        a.customer_id,
        a.segment,
        a.risk_tier,
        a.vulnerability_flag,
        coalesce(p.treatment_path, 'none') as treatment_path,
        a.experiment_arm,
        concat_ws('; ',
            'dpd ' || coalesce(a.dpd::varchar, '?') || ' (' || a.dpd_bucket || ')',
            case when a.p_pay_30d is null then 'no pay score'
                 else 'p_pay_30d ' || round(a.p_pay_30d, 3) || ' -> ' || a.risk_tier || ' risk' end,
            case when len(a.hold_kinds) > 0 then 'holds: ' || array_to_string(a.hold_kinds, ', ') end,
            case when a.promise_pending then 'promise due ' || a.open_promise_due_date end,
            case when a.balance <= 0 then 'balance settled' end,
            case when a.dq_hold then 'data-quality hold' end
        ) as reasons,
    from accounts as a
    left join paths as p using (segment)
)

select * from final
