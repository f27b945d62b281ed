-- work_next_best_actions: one row per account × as_of (wait/none included), DESIGN.md §4 columns.
-- Picks, among the (action, channel) candidates no rule excludes, the highest expected value
-- (champion/challenger priors) or the treatment-path step (control arm, unscored accounts), with
-- ε-greedy exploration drawn from a hash so reruns are identical; logs the propensity of the choice.
with

accounts as (
    select
        a.*,
        w.start_local, w.end_local, w.start_utc, w.end_utc,
        p.max_tone,
        case when a.p_pay_30d is null or a.experiment_arm = 'control' then 'bau' else a.experiment_arm end as mode,
        coalesce(fx.rate, 0) as fx_to_usd,
    from int_decision_accounts as a
    left join tmp_send_windows as w on w.policy_key = a.policy_key and w.timezone = a.timezone
    left join tmp_policy as p on p.policy_key = a.policy_key
    left join tmp_fx as fx on fx.currency = a.currency
),

exclusions as (
    select * from int_action_exclusions
),

blocked as (
    select account_id, arg_min(outcome, priority) as outcome, arg_min(rule_id, priority) as rule_id,
        max(until_at) filter (where outcome = 'wait') as until_at,
    from exclusions
    where outcome is not null
    group by account_id
),

allowed as (
    select
        a.account_id, a.mode, a.explore_draw, a.path_day,
        c.action, c.channel, c.cost_usd,
        t.step_day,
        coalesce(a.p_pay_30d, 0) * greatest(
            case when c.action = 'offer_plan' then a.balance else a.past_due_amount end, 0
        ) * a.fx_to_usd as stake_usd,
    from accounts as a
    cross join tmp_candidates as c
    left join tmp_treatment_path as t on t.segment = a.segment and t.action = c.action and t.channel = c.channel
    where a.account_id not in (select account_id from blocked)
      and not exists (
          select 1 from exclusions as x
          where x.account_id = a.account_id and x.action = c.action and x.channel = c.channel
      )
),

valued as (
    select
        allowed.*,
        stake_usd * case when mode = 'challenger' then c.uplift_challenger else c.uplift_champion end
            - allowed.cost_usd as ev,
    from allowed
    join tmp_candidates as c using (action, channel)
),

ranked as (
    select
        *,
        count(*) over (partition by account_id) as n_allowed,
        max(ev) over (partition by account_id) as best_ev,
        row_number() over (
            partition by account_id
            order by
                case when mode <> 'bau' then -ev end,
                case when step_day is null then 2 when step_day <= path_day then 0 else 1 end,
                case when step_day <= path_day then -step_day else step_day end,
                -ev, action, channel
        ) as rnk,
    from valued
),

chosen as (
    select
        account_id, action, channel, ev, best_ev,
        case when mode = 'bau' or n_allowed = 1 then 1.0
             when rnk = 1 then 1 - getvariable('epsilon')
             else getvariable('epsilon') / (n_allowed - 1) end as propensity,
        case when mode = 'bau' then 'bau' when rnk = 1 then 'greedy' else 'explore' end as pick,
    from ranked
    where rnk = case
        when mode <> 'bau' and n_allowed > 1 and explore_draw < getvariable('epsilon')
            then 2 + floor(explore_draw / getvariable('epsilon') * (n_allowed - 1))::integer
        else 1 end
),

timing_only as (
    -- candidates kept out only by caps/cooldowns: the account waits until the earliest one frees up
    select account_id, min(until_at) as until_at
    from (
        select account_id, action, channel, max(until_at) as until_at, bool_and(until_at is not null) as timing
        from exclusions where action is not null group by all
    )
    where timing
    group by account_id
),

decided as (
    select
        a.*,
        case
            when b.outcome is not null then b.outcome
            when c.action is null and t.until_at is not null then 'wait'
            when c.action is null then 'none'
            when a.mode <> 'bau' and c.best_ev <= 0 then 'wait'
            else c.action
        end as nba_action,
        case when b.outcome is null and c.action is not null and not (a.mode <> 'bau' and c.best_ev <= 0)
             then c.channel end as nba_channel,
        c.ev, c.propensity, c.pick,
        coalesce(b.rule_id,
            case when c.action is null and t.until_at is not null then 'WAIT-CAPS'
                 when c.action is null then 'FAILCLOSED-NO-PERMITTED-ACTION'
                 when a.mode <> 'bau' and c.best_ev <= 0 then 'POLICY-NEGATIVE-EV' end) as decision_rule,
        coalesce(b.until_at, case when c.action is null then t.until_at end) as wait_until,
    from accounts as a
    left join blocked as b using (account_id)
    left join chosen as c using (account_id)
    left join timing_only as t using (account_id)
),

toned as (
    select
        decided.*,
        case
            when vulnerability_flag or segment = 'hardship_plan' then 'supportive'
            else ['supportive', 'friendly', 'neutral', 'firm'][least(
                list_position(['supportive', 'friendly', 'neutral', 'firm'], coalesce(st.tone, 'neutral')),
                list_position(['supportive', 'friendly', 'neutral', 'firm'], coalesce(max_tone, 'neutral')))]
        end as tone,
    from decided
    left join tmp_segment_tone as st using (segment)
),

why_not as (
    select account_id,
        to_json(list({'action': action, 'channel': channel, 'rule_id': rule_id, 'reason': reason}
                     order by action nulls first, channel, rule_id))::varchar as why_not,
    from exclusions
    group by account_id
),

final as (
    select
        d.as_of,
        left(sha256(concat_ws('|', d.as_of, d.account_id, d.nba_action, coalesce(d.nba_channel, ''),
                              getvariable('policy_version'))), 24) as action_key,
        d.account_id,
        d.customer_id,
        d.nba_action as action,
        d.nba_channel as channel,
        tp.template_id,
        case when d.nba_channel is not null then d.tone end as tone,
        d.timezone,
        case when d.nba_channel is not null then d.start_local end as send_window_start_local,
        case when d.nba_channel is not null then d.end_local end as send_window_end_local,
        case when d.nba_channel is not null then d.start_utc end as send_window_start_utc,
        case when d.nba_channel is not null then d.end_utc end as send_window_end_utc,
        case
            when d.nba_action = 'offer_plan' then to_json({
                'installments': getvariable('plan_installments'),
                'installment_amount': round(d.balance / getvariable('plan_installments'), 2),
                'total': d.balance, 'currency': d.currency})::varchar
            when d.nba_action = 'payment_link' then to_json({
                'amount': d.past_due_amount, 'currency': d.currency})::varchar
        end as offer_terms,
        case when d.nba_channel is not null then
            row_number() over (partition by d.nba_channel is not null order by d.ev desc, d.account_id)
        end::integer as priority,
        d.ev as expected_value,
        case when d.nba_channel is not null then d.propensity else 1.0 end as propensity,
        getvariable('policy_version') as policy_version,
        concat_ws(';', 'promise_kept=' || d.promise_kept_model, 'pay=' || d.pay_model) as model_versions,
        d.segment,
        d.experiment_arm,
        concat_ws('; ', 'segment=' || d.segment, 'risk=' || d.risk_tier, 'dpd_bucket=' || d.dpd_bucket,
                  'arm=' || d.experiment_arm, 'pick=' || d.pick, 'rule=' || d.decision_rule,
                  'score=' || nullif(d.score_reasons, ''),
                  case when d.dq_hold then 'data_quality_hold' end,
                  case when d.vulnerability_flag then 'vulnerability_hold' end) as reason_codes,
        coalesce(wn.why_not, '[]') as why_not,
        case when d.nba_channel is not null then d.start_utc else d.wait_until end as next_allowed_contact_at,
    from toned as d
    left join tmp_templates as tp
        on tp.action = d.nba_action and tp.channel = d.nba_channel and tp.tone = d.tone
        and tp.language = case when d.language in (select language from tmp_templates) then d.language else 'en' end
        and tp.without_amount = d.dq_hold
    left join why_not as wn using (account_id)
)

select * from final
