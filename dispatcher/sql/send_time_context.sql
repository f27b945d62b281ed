-- send_time_context: one row per actionable published NBA row (action not wait/none) at $as_of, with the
-- holds, consent and data-quality hold in force at the planned send time ($now, else the window start).
-- Read by dispatcher.checks.send_time_context on the read-only warehouse connection.
with
nba as (
    select *, coalesce(cast($now as timestamptz), send_window_start_utc) as planned_at
    from next_best_actions
    where as_of = $as_of and action not in ('wait', 'none')
),
holds as (
    select h.kind, h.account_id, coalesce(h.customer_id, a.customer_id) as customer_id, h.starts_at, h.ends_at
    from stg_holds as h left join stg_accounts as a on a.account_id = h.account_id
),
sends as (
    select distinct account_id, customer_id, planned_at from nba
),
bound_holds as (
    -- holds in force at the planned time: disputes and hardship plans bind the account they name, every
    -- other hold binds the person. Two equi-joins: one join on "this account, or this person's" would
    -- run as a nested loop
    select s.account_id, s.customer_id, s.planned_at, h.kind
    from sends as s join holds as h on h.account_id = s.account_id
    where h.starts_at <= s.planned_at and (h.ends_at is null or h.ends_at > s.planned_at)
    union
    select s.account_id, s.customer_id, s.planned_at, h.kind
    from sends as s join holds as h
        on h.customer_id = s.customer_id and (h.account_id is null or h.kind not in ('dispute', 'hardship_plan'))
    where h.starts_at <= s.planned_at and (h.ends_at is null or h.ends_at > s.planned_at)
),
hold_lists as (
    select account_id, customer_id, planned_at, list(kind) as hold_kinds from bound_holds group by all
),
medium_consents as (
    select customer_id, case when channel in ('voice', 'agent_call') then 'call' else channel end as medium,
        status, effective_at, consent_id
    from stg_consents
)
select
    n.action_key, n.as_of, n.account_id, n.customer_id, n.action, n.channel, n.template_id, n.offer_terms,
    n.planned_at, n.send_window_start_utc, n.send_window_end_utc, n.timezone,
    c.country, a.jurisdiction, coalesce(c.whatsapp_opt_in, false) as whatsapp_opt_in,
    hold_lists.hold_kinds,
    -- the latest consent before the planned time; on a timestamp tie the higher consent_id wins, as in decide
    (select arg_max(k.status, (k.effective_at, k.consent_id)) from medium_consents as k
        where k.customer_id = n.customer_id and k.effective_at <= n.planned_at
          and k.medium = case when n.channel in ('voice', 'agent_call') then 'call' else n.channel end) as consent,
    n.account_id in (select account_id from data_quality_holds) as dq_hold,
from nba as n
left join stg_customers as c on c.customer_id = n.customer_id
left join stg_accounts as a on a.account_id = n.account_id
left join hold_lists
    on hold_lists.account_id = n.account_id
    and hold_lists.customer_id is not distinct from n.customer_id
    and hold_lists.planned_at is not distinct from n.planned_at
order by n.priority nulls last, n.action_key
