-- int_action_candidates: one row per account not blocked outright × (action, channel) no rule excludes, valued.
-- Two picks per account, each ε-greedy with a hash draw (reruns identical; bau = treatment path, no exploration):
--   first pass  over all allowed candidates            -> p_first, first_pick    (draw: explore_draw)
--   fallback    over the non-agent candidates only     -> p_fallback, fallback_pick (draw: fallback_draw)
-- The fallback is used when the first pick needs a human agent and the agent queue is full (int_agent_queue).
-- fallback_ok: the fallback may be sent (best non-agent EV > 0; bau: its path step's EV > 0), else the account waits.
-- Value (USD): for the actions and arms the catalog hands to the channel model (model_actions, model_arms), the
-- model's net incremental value of contacting through that channel (work_channel_values.net_value_usd), so the
-- argmax over the channels the rules allow is the model's best channel; otherwise, and where the model has no row,
-- the catalog prior stake_usd * uplift - cost_usd (also for vulnerable accounts, which the rules route to trained
-- humans). The prior still orders actions on one channel (equal model value).
-- Variables: epsilon, as_of, model_actions, model_arms.
with

accounts as (
    select a.*, coalesce(fx.rate, 0) as fx_to_usd,
    from int_decision_accounts as a
    left join tmp_fx as fx on fx.currency = a.currency
),

exclusions as (
    select * from int_action_exclusions
),

channel_values as (
    select account_id, channel, net_value_usd, channel_model
    from work_channel_values
    where as_of = getvariable('as_of')
),

allowed as (
    select
        a.account_id, a.mode, a.explore_draw, a.fallback_draw, a.path_day,
        c.action, c.channel, c.cost_usd,
        case when a.mode = 'challenger' then c.uplift_challenger else c.uplift_champion end as uplift,
        c.channel = 'agent_call' as is_agent,
        -- an adverse step is never the answer to a staffing shortage: escalation is no fallback
        c.channel <> 'agent_call' and c.action <> 'escalate' as can_fall_back,
        t.step_day,
        coalesce(a.p_pay_30d, 0) * greatest(
            case when c.action = 'offer_plan' then a.balance else a.past_due_amount end, 0
        ) * a.fx_to_usd as stake_usd,
        -- vulnerable accounts are routed to trained humans by rule, never priced out of that route by a model
        case when list_contains(getvariable('model_actions'), c.action)
                  and list_contains(getvariable('model_arms'), a.mode) and not a.vulnerability_flag
             then v.net_value_usd end as model_ev,
        v.channel_model,
    from accounts as a
    cross join tmp_candidates as c
    left join tmp_treatment_path as t on t.segment = a.segment and t.action = c.action and t.channel = c.channel
    left join channel_values as v on v.account_id = a.account_id and v.channel = c.channel
    where a.account_id not in (select account_id from exclusions where outcome is not null)
      and not exists (
          select 1 from exclusions as x
          where x.account_id = a.account_id and x.action = c.action and x.channel = c.channel
      )
),

priced as (
    select
        *,
        stake_usd * uplift - cost_usd as prior_ev,
        coalesce(model_ev, stake_usd * uplift - cost_usd) as ev,
        case when model_ev is not null then 'model' else 'prior' end as value_source,
    from allowed
),

valued as (
    select
        *,
        -- the policy's preference order: EV (champion/challenger), else the treatment path step that is due;
        -- last the catalog prior, which orders actions on one channel when the model values them equally
        [case when mode <> 'bau' then -ev else 0 end,
         case when step_day is null then 2 when step_day <= path_day then 0 else 1 end,
         coalesce(case when step_day <= path_day then -step_day else step_day end, 0),
         -prior_ev]::double[] as pref,
    from priced
),

ranked as (
    select
        *,
        count(*) over acct as n_allowed,
        max(ev) over acct as best_ev,
        row_number() over (partition by account_id order by pref, action, channel) as rnk,
        count(*) filter (where can_fall_back) over acct as n_fallback,
        max(ev) filter (where can_fall_back) over acct as best_fallback_ev,
        case when can_fall_back then
            row_number() over (partition by account_id, can_fall_back order by pref, action, channel) end as fallback_rnk,
    from valued
    window acct as (partition by account_id)
),

picked as (
    select
        *,
        case when mode = 'bau' then (rnk = 1)::integer
             when n_allowed = 1 then 1.0
             when rnk = 1 then 1 - getvariable('epsilon')
             else getvariable('epsilon') / (n_allowed - 1) end as p_first,
        case when not can_fall_back then null
             when mode = 'bau' then (fallback_rnk = 1)::integer
             when n_fallback = 1 then 1.0
             when fallback_rnk = 1 then 1 - getvariable('epsilon')
             else getvariable('epsilon') / (n_fallback - 1) end as p_fallback,
        rnk = case
            when mode <> 'bau' and n_allowed > 1 and explore_draw < getvariable('epsilon')
                then 2 + floor(explore_draw / getvariable('epsilon') * (n_allowed - 1))::integer
            else 1 end as first_pick,
        coalesce(fallback_rnk = case
            when mode <> 'bau' and n_fallback > 1 and fallback_draw < getvariable('epsilon')
                then 2 + floor(fallback_draw / getvariable('epsilon') * (n_fallback - 1))::integer
            else 1 end, false) as fallback_pick,
        coalesce(case when mode = 'bau' then max(ev) filter (where fallback_rnk = 1) over (partition by account_id)
                      else best_fallback_ev end > 0, false) as fallback_ok,
    from ranked
),

final as (
    select
        account_id, action, channel, mode, is_agent, ev, prior_ev, value_source,
        case when value_source = 'model' then channel_model end as channel_model, best_ev, n_allowed, rnk, p_first,
        first_pick, n_fallback, fallback_rnk, p_fallback, fallback_pick, fallback_ok,
    from picked
)

select * from final
