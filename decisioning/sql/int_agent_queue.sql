-- int_agent_queue: one row per account × allowed human-agent candidate (channel agent_call), for accounts the
-- policy would act on (bau, or best EV > 0). Human agents are scarce: at most `agent_capacity` first picks get a
-- slot per as_of, across all arms. Queue order: vulnerable accounts first (an agent is their only permitted
-- route), then expected value desc, then account_id — a strict total order, so the allocation is deterministic.
--
-- has_slot says whether this candidate WOULD get a slot if the account picked it, given every other account's
-- realised first pick: it beats the capacity-th best key among the others. For an account holding rank r in
-- the realised queue that cut-off is key (capacity + 1) when r <= capacity, else key (capacity); for an account
-- not in the queue it is key (capacity). This makes the logged propensities exact (see work_next_best_actions).
-- Variables: agent_capacity.
with

agent_candidates as (
    select
        c.account_id, c.action, c.channel, c.ev, c.p_first, c.first_pick,
        a.vulnerability_flag,
        {'vulnerable_last': case when a.vulnerability_flag then 0 else 1 end, 'neg_ev': -c.ev,
         'account_id': c.account_id} as queue_key,
    from int_action_candidates as c
    join int_decision_accounts as a using (account_id)
    where c.is_agent and (c.mode = 'bau' or c.best_ev > 0)
),

demand as (
    select account_id, queue_key, row_number() over (order by queue_key) as queue_position,
    from agent_candidates
    where first_pick
),

cutoffs as (
    select
        any_value(queue_key) filter (where queue_position = getvariable('agent_capacity')) as kth_key,
        any_value(queue_key) filter (where queue_position = getvariable('agent_capacity') + 1) as next_key,
    from demand
),

final as (
    select
        c.account_id, c.action, c.channel, c.ev, c.p_first, c.first_pick, c.vulnerability_flag,
        d.queue_position,
        getvariable('agent_capacity') > 0 and coalesce(c.queue_key < case
            when d.queue_position <= getvariable('agent_capacity') then k.next_key
            else k.kth_key end, true) as has_slot,
    from agent_candidates as c
    cross join cutoffs as k
    left join demand as d using (account_id)
)

select * from final
