-- int_decision_accounts: one row per account with a fct_account_features row at as_of.
-- State decide needs: scores, customer locale, active holds, data-quality hold, pack key, segment, arm.
-- risk_tier is work_scores.risk_tier (one source of truth with the scores); computed here with the same
-- thresholds (models.score) only when a score row lacks it, 'unscored' without a score. A promise stays
-- pending through its grace (kept if paid by due_date + promise_grace_days, docs/TABLES.md).
-- Variables: as_of (DATE), as_of_end (TIMESTAMPTZ, as_of + 1 day), policy_version, tier_low, tier_high_below,
-- promise_grace_days, stop_holds (rule_packs.STOP_HOLDS), champion_below / challenger_below (catalog.ARMS).
with

features as (
    select * from fct_account_features where as_of = getvariable('as_of')
),

scores as (
    select * from work_scores where as_of = getvariable('as_of')
),

customers as (
    select
        customer_id,
        country,
        nullif(trim(timezone), '') as timezone,
        lower(left(coalesce(language, 'en'), 2)) as language,
        coalesce(nullif(trim(phone), '') is not null, false) as has_phone,
        coalesce(nullif(trim(email), '') is not null, false) as has_email,
        coalesce(whatsapp_opt_in, false) as whatsapp_opt_in,
    from stg_customers
),

active_holds as (
    select
        h.kind,
        h.account_id,
        coalesce(h.customer_id, a.customer_id) as customer_id,
    from stg_holds as h
    left join stg_accounts as a on a.account_id = h.account_id
    where h.starts_at < getvariable('as_of_end')
      and (h.ends_at is null or h.ends_at >= getvariable('as_of_end'))
),

account_holds as (
    -- disputes and hardship plans bind the account they name; every other hold binds the person.
    -- Two equi-joins: one join on "this account, or this person's" would run as a nested loop.
    select
        account_id,
        list_distinct(list(kind order by kind)) as hold_kinds,
    from (
        select f.account_id, h.kind
        from features as f
        join active_holds as h
            on h.account_id = f.account_id
        union all
        select f.account_id, h.kind
        from features as f
        join active_holds as h
            on h.customer_id = f.customer_id
            and (h.account_id is null or h.kind not in ('dispute', 'hardship_plan'))
    ) as bound
    group by account_id
),

dq_holds as (
    select distinct account_id from data_quality_holds
),

joined as (
    select
        f.as_of,
        f.account_id,
        f.customer_id,
        f.jurisdiction,
        f.currency,
        f.balance,
        f.dpd,
        coalesce(f.past_due_amount, f.balance) as past_due_amount,
        f.open_promise_due_date,
        c.country,
        c.timezone,
        coalesce(c.language, 'en') as language,
        coalesce(c.has_phone, false) as has_phone,
        coalesce(c.has_email, false) as has_email,
        coalesce(c.whatsapp_opt_in, false) as whatsapp_opt_in,
        s.p_pay_30d,
        s.risk_tier as score_risk_tier,
        s.p_promise_kept,
        s.promise_kept_model,
        s.pay_model,
        concat_ws(',', s.reason_1, s.reason_2, s.reason_3) as score_reasons,
        coalesce(ah.hold_kinds, []) as hold_kinds,
        dq.account_id is not null as dq_hold,
        pp.policy_key,
    from features as f
    left join customers as c on c.customer_id = f.customer_id
    left join scores as s on s.account_id = f.account_id
    left join account_holds as ah on ah.account_id = f.account_id
    left join dq_holds as dq on dq.account_id = f.account_id
    left join tmp_pack_pairs as pp on pp.country = c.country and pp.jurisdiction = f.jurisdiction
),

classified as (
    select
        *,
        case
            when p_pay_30d is null then 'unscored'
            when score_risk_tier is not null then score_risk_tier
            when p_pay_30d >= getvariable('tier_low') then 'low'
            when p_pay_30d >= getvariable('tier_high_below') then 'medium'
            else 'high'
        end as risk_tier,
        case
            when dpd is null or dpd <= 0 then 'current'
            when dpd <= 30 then '1-30'
            when dpd <= 60 then '31-60'
            when dpd <= 90 then '61-90'
            else '90+'
        end as dpd_bucket,
        list_has_any(hold_kinds, getvariable('stop_holds')) as hard_hold,
        list_contains(hold_kinds, 'vulnerability') as vulnerability_flag,
        open_promise_due_date is not null
            and open_promise_due_date + getvariable('promise_grace_days') >= getvariable('as_of') as promise_pending,
        ('0x' || left(md5('arm|' || account_id), 8))::ubigint % 100 as arm_bucket,
        ('0x' || left(md5(concat_ws('|', 'explore', as_of, account_id, getvariable('policy_version'))), 8))::ubigint
            / 4294967296.0 as explore_draw,
        -- independent draw for the pick among non-agent alternatives when the agent queue is full
        ('0x' || left(md5(concat_ws('|', 'fallback', as_of, account_id, getvariable('policy_version'))), 8))::ubigint
            / 4294967296.0 as fallback_draw,
    from joined
),

final as (
    select
        *,
        case
            when hard_hold then 'hold_stop'
            when balance <= 0 then 'paid'
            when list_contains(hold_kinds, 'hardship_plan') then 'hardship_plan'
            when promise_pending then 'promise_pending'
            when vulnerability_flag then 'vulnerable'
            when dpd_bucket = 'current' then 'current'
            when dpd_bucket = '1-30' and risk_tier = 'high' then 'early_high_risk'
            when dpd_bucket = '1-30' then 'early_digital'
            when dpd_bucket = '31-60' then 'mid_stage'
            when dpd_bucket = '61-90' then 'late_stage'
            else 'recovery'
        end as segment,
        case
            when arm_bucket < getvariable('champion_below') then 'champion'
            when arm_bucket < getvariable('challenger_below') then 'challenger'
            else 'control'
        end as experiment_arm,
        -- bau: the control arm and unscored accounts follow the treatment path deterministically
        case when p_pay_30d is null or experiment_arm = 'control' then 'bau' else experiment_arm end as mode,
        case dpd_bucket when '1-30' then dpd when '31-60' then dpd - 30
            when '61-90' then dpd - 60 when '90+' then dpd - 90 else 0 end as path_day,
    from classified
)

select * from final
