-- int_action_exclusions: one row per account × excluded (action, channel) × rule; action and channel are
-- null when the rule blocks the whole account (holds, paid, promise, fail-closed). `outcome` is what a
-- whole-account block turns the NBA into ('none' | 'wait'); `is_compliance` rows become work_suppressions;
-- `until_at` is when a timing rule (cap, cooldown) stops binding.
-- Variables: blocking_holds (rule_packs.BLOCKING_HOLDS, in priority order), call_channels (rule_packs.CALL_CHANNELS),
-- as_of_end, promise_grace_days.
with

accounts as (
    select
        a.*,
        w.window_date, w.start_utc, w.end_utc,
        coalesce(p.pack_version, '') as pack_version,
        coalesce(a.policy_key, a.jurisdiction, a.country, 'unknown') as pack_label,
    from int_decision_accounts as a
    left join tmp_send_windows as w on w.policy_key = a.policy_key and w.timezone = a.timezone
    left join tmp_policy as p on p.policy_key = a.policy_key
),

hold_rows as (
    select account_id, unnest(hold_kinds) as kind, pack_label, pack_version from accounts
),

blocks as (
    select
        account_id, 'HOLD-' || upper(replace(kind, '_', '-')) as rule_id, pack_label, pack_version,
        'active ' || replace(kind, '_', ' ') || ' hold: no collection contact' as reason,
        'none' as outcome,
        list_position(getvariable('blocking_holds'), kind) as priority,
        cast(null as timestamptz) as until_at,
        true as is_compliance,
    from hold_rows
    where list_contains(getvariable('blocking_holds'), kind)
    union all
    select account_id, 'HOLD-PAID', pack_label, pack_version, 'balance is zero or negative', 'none', 8, null, true
    from accounts where balance <= 0
    union all
    select account_id, 'FAILCLOSED-UNKNOWN-PACK', pack_label, pack_version,
        'no rule pack for country ' || coalesce(country, '?') || ' / jurisdiction ' || coalesce(jurisdiction, '?')
            || ': no automated contact, route to agent review', 'none', 9, null, true
    from accounts where policy_key is null
    union all
    select account_id, 'FAILCLOSED-NO-TIMEZONE', pack_label, pack_version,
        'customer timezone missing or invalid: no send window, route to agent review', 'none', 10, null, true
    from accounts where policy_key is not null and start_utc is null
    union all
    select account_id, 'HOLD-PROMISE-PENDING', pack_label, pack_version,
        'open promise due ' || open_promise_due_date || ': wait until due date + grace', 'wait', 11,
        cast(open_promise_due_date + getvariable('promise_grace_days') + 1 as timestamptz), true
    from accounts where promise_pending
    union all
    select account_id, 'POLICY-NOT-PAST-DUE', pack_label, pack_version,
        'nothing past due: no collection contact needed', 'wait', 12, null, false
    from accounts where dpd_bucket = 'current' and balance > 0
),

open_accounts as (
    select * from accounts where account_id not in (select account_id from blocks)
),

consents as (
    select customer_id, medium, status
    from (
        select
            customer_id,
            case when list_contains(getvariable('call_channels'), channel) then 'call' else channel end as medium,
            status,
            row_number() over (
                partition by customer_id, case when list_contains(getvariable('call_channels'), channel) then 'call' else channel end
                order by effective_at desc, consent_id desc
            ) as rn,
        from stg_consents
        where effective_at < getvariable('as_of_end')
    )
    where rn = 1
),

contacts as (
    select customer_id, channel, direction, outcome, started_at
    from stg_contacts
    where started_at < getvariable('as_of_end')
),

cands as (
    select
        a.account_id, a.customer_id, a.policy_key, a.pack_label, a.pack_version, a.segment, a.path_day,
        a.vulnerability_flag, a.dq_hold, a.has_phone, a.has_email, a.whatsapp_opt_in, a.start_utc,
        a.timezone, a.window_date,
        c.action, c.channel, c.quotes_amount, c.contact_point,
        case when list_contains(getvariable('call_channels'), c.channel) then 'call' else c.channel end as medium,
    from open_accounts as a
    cross join tmp_candidates as c
),

cap_hits as (
    select
        a.account_id, pc.cap_group, pc.period, pc.limit_n, pc.rule_pack, pc.rule_pack_version,
        count(ct.started_at) as n,
        list(ct.started_at order by ct.started_at desc) as times,
    from open_accounts as a
    join tmp_policy_caps as pc on pc.policy_key = a.policy_key
    join tmp_channel_groups as g on g.cap_group = pc.cap_group
    left join contacts as ct
        on ct.customer_id = a.customer_id
        and ct.channel = g.channel
        and ct.direction = 'outbound'
        and case pc.period
            when 'day' then timezone(a.timezone, ct.started_at)::date = a.window_date
            else ct.started_at > a.start_utc - interval 7 day
        end
    group by all
    having count(ct.started_at) >= pc.limit_n
),

rule_hits as (
    select account_id, action, channel, 'SAFE-VULNERABILITY' as rule_id, pack_label as rule_pack,
        pack_version as rule_pack_version,
        'vulnerability hold: trained human (agent_call, supportive) only' as reason, true as is_compliance,
        cast(null as timestamptz) as until_at
    from cands where vulnerability_flag and action <> 'agent_call'
    union all
    select account_id, action, channel, 'POLICY-SEGMENT', pack_label, pack_version,
        'action not in the ' || segment || ' strategy', false, null
    from cands
    where not vulnerability_flag
      and action not in (select action from tmp_segment_actions as s where s.segment = cands.segment)
    union all
    select account_id, action, channel, 'POLICY-ADVERSE-RULE-ONLY', pack_label, pack_version,
        'escalation only by rule (recovery path day 31+), never on a score', false, null
    from cands where action = 'escalate' and (segment <> 'recovery' or path_day < 31)
    union all
    select account_id, action, channel, 'HOLD-DATA-QUALITY', pack_label, pack_version,
        'data-quality hold: never quote an amount that may be wrong', true, null
    from cands where dq_hold and quotes_amount
    union all
    select account_id, action, channel, 'FAILCLOSED-NO-CONTACT-POINT', pack_label, pack_version,
        'no ' || contact_point || ' on file for ' || channel, true, null
    from cands
    where (contact_point = 'phone' and not has_phone) or (contact_point = 'email' and not has_email)
    union all
    select c.account_id, c.action, c.channel, 'CONSENT-OPT-OUT', c.pack_label, c.pack_version,
        'customer ' || k.status || ' for ' || c.medium, true, null
    from cands as c
    join consents as k on k.customer_id = c.customer_id and k.medium = c.medium
    where k.status in ('opt_out', 'revoked')
    union all
    select account_id, action, channel, 'CONSENT-WHATSAPP-OPT-IN', pack_label, pack_version,
        'whatsapp needs the customer''s opt-in', true, null
    from cands where channel = 'whatsapp' and not whatsapp_opt_in
    union all
    select c.account_id, c.action, c.channel, 'FAILCLOSED-NO-CONSENT', pc.rule_pack, pc.rule_pack_version,
        c.channel || ' needs an explicit granted consent (none on record)', true, null
    from cands as c
    join tmp_policy_consent as pc on pc.policy_key = c.policy_key and pc.channel = c.channel
    left join consents as k on k.customer_id = c.customer_id and k.medium = c.medium
    where c.channel <> 'whatsapp' and k.status is distinct from 'granted'
    union all
    select c.account_id, c.action, c.channel,
        'CAP-' || upper(replace(h.cap_group, '_', '-')) || '-' || upper(h.period), h.rule_pack, h.rule_pack_version,
        h.cap_group || ' cap ' || h.limit_n || ' per ' || h.period || ' reached (' || h.n || ' sent)', true,
        case when h.limit_n = 0 then null
             when h.period = 'day' then c.start_utc + interval 1 day
             else h.times[h.limit_n] + interval 7 day end
    from cands as c
    join tmp_channel_groups as g on g.channel = c.channel
    join cap_hits as h on h.account_id = c.account_id and h.cap_group = g.cap_group
    union all
    select c.account_id, c.action, c.channel, 'SINGLE-CHANNEL-7D', p.single_pack, p.single_version,
        'already contacted through another channel within 7 days', true,
        max(ct.started_at) + interval 7 day
    from cands as c
    join tmp_policy as p on p.policy_key = c.policy_key and p.single_pack is not null
    join contacts as ct
        on ct.customer_id = c.customer_id and ct.direction = 'outbound' and ct.channel <> c.channel
        and ct.started_at > c.start_utc - interval 7 day
    group by all
    union all
    select account_id, action, channel, 'CALL-COOLDOWN-AFTER-CONVERSATION', cooldown_pack, cooldown_version,
        'no call within ' || cooldown_days || ' days after a phone conversation', true,
        last_conversation_at + cooldown_days * interval 1 day
    from (
        select c.account_id, c.action, c.channel, p.cooldown_pack, p.cooldown_version, p.cooldown_days,
            max(ct.started_at) as last_conversation_at,
        from cands as c
        join tmp_policy as p on p.policy_key = c.policy_key and p.cooldown_days > 0
        join contacts as ct
            on ct.customer_id = c.customer_id and list_contains(getvariable('call_channels'), ct.channel)
            and ct.outcome in ('rpc', 'promise')
            and ct.started_at > c.start_utc - p.cooldown_days * interval 1 day
        where list_contains(getvariable('call_channels'), c.channel)
        group by all
    )
),

final as (
    select
        account_id, cast(null as varchar) as action, cast(null as varchar) as channel, rule_id,
        pack_label as rule_pack, pack_version as rule_pack_version, reason, outcome, priority,
        is_compliance, until_at,
    from blocks
    union all
    select
        account_id, action, channel, rule_id, rule_pack, rule_pack_version, reason,
        cast(null as varchar) as outcome, cast(null as integer) as priority, is_compliance, until_at,
    from rule_hits
)

select * from final
