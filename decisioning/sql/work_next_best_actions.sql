-- work_next_best_actions: one row per account × as_of (wait/none included), DESIGN.md §4 columns.
-- Picks, among the (action, channel) candidates no rule excludes, the highest expected value
-- (champion/challenger priors) or the treatment-path step (control arm, unscored accounts), with
-- ε-greedy exploration drawn from a hash so reruns are identical (int_action_candidates). A first pick that
-- needs a human agent gets one only within the daily agent capacity (int_agent_queue); otherwise the account
-- falls back to its non-agent pick (ε-greedy over the non-agent alternatives, independent draw) when that is
-- worth sending, else waits (rule CAPACITY-AGENT-QUEUE: a capacity decision, not a compliance suppression).
--
-- propensity = the probability the policy chose the logged action, given the other accounts' picks (which fix
-- the queue cut-off, so whether each agent candidate would get a slot is known: has_slot):
--   agent action a (has a slot)        p_first(a)
--   non-agent action x                 p_first(x) + [fallback_ok] · bumped_mass · p_fallback(x)
--                                      (p_fallback = 0 for escalate: never a capacity fallback)
--   wait CAPACITY-AGENT-QUEUE          bumped_mass                (fallback not worth sending)
-- with bumped_mass = Σ p_first(a) over agent candidates without a slot. They sum to 1 per account; bau rows are
-- deterministic (1.0). Other wait/none rows keep 1.0 (no randomness reaches them).
with

accounts as (
    select
        a.*,
        w.start_local, w.end_local, w.start_utc, w.end_utc,
        p.max_tone,
    from int_decision_accounts as a
    left join tmp_send_windows as w on w.policy_key = a.policy_key and w.timezone = a.timezone
    left join tmp_policy as p on p.policy_key = a.policy_key
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

queue as (
    select * from int_agent_queue
),

first_choice as (
    select * from int_action_candidates where first_pick
),

fallback_choice as (
    select * from int_action_candidates where fallback_pick
),

chosen as (
    select
        f.account_id, f.mode, f.best_ev, m.bumped,
        case when not m.bumped then f.action when f.fallback_ok then fb.action end as action,
        case when not m.bumped then f.channel when f.fallback_ok then fb.channel end as channel,
        case when m.bumped and f.fallback_ok then fb.ev else f.ev end as ev,
        case when m.bumped and f.fallback_ok then fb.value_source else f.value_source end as value_source,
        case when m.bumped and f.fallback_ok then fb.channel_model else f.channel_model end as channel_model,
        case
            when m.bumped and f.fallback_ok then fb.p_first + m.bumped_mass * fb.p_fallback
            when m.bumped then m.bumped_mass
            when not f.is_agent and f.fallback_ok then f.p_first + m.bumped_mass * coalesce(f.p_fallback, 0)
            else f.p_first
        end as propensity,
        case when f.mode = 'bau' then 'bau'
             when m.bumped and f.fallback_ok then if(fb.fallback_rnk = 1, 'fallback-greedy', 'fallback-explore')
             when m.bumped then 'capacity'
             when f.rnk = 1 then 'greedy' else 'explore' end as pick,
    from first_choice as f
    left join fallback_choice as fb using (account_id)
    cross join lateral (
        select coalesce(bool_or(first_pick), false) as bumped, coalesce(sum(p_first), 0) as bumped_mass,
        from queue as q
        where q.account_id = f.account_id and not q.has_slot
    ) as m
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
            when c.bumped and c.action is null then 'wait'
            when c.action is null and t.until_at is not null then 'wait'
            when c.action is null then 'none'
            when a.mode <> 'bau' and c.best_ev <= 0 then 'wait'
            else c.action
        end as nba_action,
        case when b.outcome is null and c.action is not null and not (a.mode <> 'bau' and c.best_ev <= 0)
             then c.channel end as nba_channel,
        c.ev, c.pick, c.bumped, c.value_source, c.channel_model,
        case when b.outcome is null and (c.action is not null or c.bumped) then c.propensity end as propensity,
        coalesce(b.rule_id,
            case when c.bumped then 'CAPACITY-AGENT-QUEUE'
                 when c.action is null and t.until_at is not null then 'WAIT-CAPS'
                 when c.action is null then 'FAILCLOSED-NO-PERMITTED-ACTION'
                 when a.mode <> 'bau' and c.best_ev <= 0 then 'POLICY-NEGATIVE-EV' end) as decision_rule,
        coalesce(b.until_at,
            case when c.bumped and c.action is null then getvariable('as_of_end')
                 when c.action is null then t.until_at end) as wait_until,
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

capacity_why_not as (
    -- agent candidates of accounts bumped from the queue: excluded by capacity, not by a compliance rule
    select q.account_id, q.action, q.channel, 'CAPACITY-AGENT-QUEUE' as rule_id,
        'human agent capacity of ' || getvariable('agent_capacity') || ' calls per day reached'
            || coalesce(' (queue position ' || m.queue_position || ')', '') as reason,
    from queue as q
    join (select account_id, max(queue_position) as queue_position from queue group by all) as m using (account_id)
    join chosen as c using (account_id)
    where c.bumped and not q.has_slot
),

why_not as (
    select account_id,
        to_json(list({'action': action, 'channel': channel, 'rule_id': rule_id, 'reason': reason}
                     order by action nulls first, channel, rule_id))::varchar as why_not,
    from (
        select account_id, action, channel, rule_id, reason from exclusions
        union all
        select account_id, action, channel, rule_id, reason from capacity_why_not
    )
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
        case when d.nba_channel is not null or d.decision_rule = 'CAPACITY-AGENT-QUEUE' then d.propensity
             else 1.0 end as propensity,
        getvariable('policy_version') as policy_version,
        concat_ws(';', 'promise_kept=' || d.promise_kept_model, 'pay=' || d.pay_model,
                  case when d.nba_channel is not null then 'channel=' || d.channel_model end) as model_versions,
        d.segment,
        d.experiment_arm,
        concat_ws('; ', 'segment=' || d.segment, 'risk=' || d.risk_tier, 'dpd_bucket=' || d.dpd_bucket,
                  'arm=' || d.experiment_arm, 'pick=' || d.pick, 'rule=' || d.decision_rule,
                  case when d.nba_channel is not null then 'value=' || d.value_source end,
                  case when d.dq_hold then 'data_quality_hold' end,
                  case when d.vulnerability_flag then 'vulnerability_hold' end,
                  -- last, so reasons added after decide (nba_score_reasons.sql) land in the same place
                  'score=' || nullif(d.score_reasons, '')) as reason_codes,
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
