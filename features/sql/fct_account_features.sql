-- fct_account_features: one row per feature_spine row (account_id, as_of, promise_id).
-- The same SQL serves scoring (a spine of every placed account at one as_of) and training
-- (many past as_of per account), so both share one definition.
-- Point-in-time: every event is filtered against its spine row's as_of ("end of that day, UTC"):
-- ledger by posted_at < as_of + 1 day and effective_date <= as_of; contacts by started_at;
-- promises by created_at (a promise is kept or broken only once promise_grace_end(due_date) < as_of);
-- holds by starts_at; consents by effective_at.
-- promise_id: the promise the promise-level features describe; the spine's own promise in
-- training, else the latest open promise (null if none).
-- Money features are ratios to principal or balance: accounts hold different currencies.
with

spine_rows as (
    select distinct
        account_id,
        cast(as_of as date) as as_of,
        promise_id,
    from feature_spine
),

spine_keys as (
    -- an integer spine_id keeps the big joins and group-bys cheap
    select
        row_number() over () as spine_id,
        account_id,
        as_of,
        timezone('UTC', as_of + interval 1 day) as visible_before,
        -- windows are whole days ending with as_of: "7d" is as_of - 6 .. as_of
        timezone('UTC', as_of - interval 6 day) as since_7d,
        timezone('UTC', as_of - interval 29 day) as since_30d,
        timezone('UTC', as_of - interval 89 day) as since_90d,
    from (select distinct account_id, as_of from spine_rows) as distinct_keys
),

accounts as (
    select * from stg_accounts
),

customers as (
    select
        customer_id,
        created_at,
    from stg_customers
),

ledger as (
    select * from int_ledger_effects
),

contacts as (
    select * from int_contact_events
),

promises as (
    select * from stg_promises
),

promise_payments as (
    select * from int_promise_payments
),

holds as (
    select * from stg_holds
),

consents as (
    select
        customer_id,
        status,
        effective_at,
    from stg_consents
),

quality_holds as (
    select * from int_data_quality_holds
),

spine as (
    select
        spine_keys.*,
        accounts.customer_id,
        accounts.jurisdiction,
        accounts.currency,
        accounts.product,
        accounts.principal,
        accounts.opened_at,
        accounts.placed_at,
    from spine_keys
    inner join accounts
        on accounts.account_id = spine_keys.account_id
),

visible_ledger as (
    select
        spine.spine_id,
        spine.as_of,
        ledger.entry_id,
        ledger.entry_type,
        ledger.effective_date,
        ledger.amount,
        ledger.balance_effect,
        coalesce(
            ledger.reversal_posted_at < spine.visible_before
            and ledger.reversal_effective_date <= spine.as_of,
            false
        ) as is_reversed,
    from spine
    inner join ledger
        on ledger.account_id = spine.account_id
        and ledger.posted_at < spine.visible_before
        and ledger.effective_date <= spine.as_of
),

ledger_stats as (
    select
        spine_id,
        sum(balance_effect) as balance,
        sum(balance_effect) filter (where effective_date <= as_of - 30) as balance_30d_ago,
        sum(amount) filter (
            where entry_type in ('fee', 'interest') and effective_date > as_of - 90
        ) as fees_interest_90d,
        sum(amount) filter (where entry_type = 'payment' and not is_reversed) as paid_total,
        count(*) filter (where entry_type = 'payment' and not is_reversed) as payments_total,
        count(*) filter (
            where entry_type = 'payment' and not is_reversed and effective_date > as_of - 30
        ) as payments_30d,
        count(*) filter (
            where entry_type = 'payment' and not is_reversed and effective_date > as_of - 90
        ) as payments_90d,
        sum(amount) filter (
            where entry_type = 'payment' and not is_reversed and effective_date > as_of - 30
        ) as paid_30d,
        sum(amount) filter (
            where entry_type = 'payment' and not is_reversed and effective_date > as_of - 90
        ) as paid_90d,
        -- paydays: the quincena (15th) and month end, with the day after each
        count(*) filter (
            where entry_type = 'payment' and not is_reversed
                and (day(effective_date) in (1, 15, 16) or effective_date = last_day(effective_date))
        ) as payday_payments,
        count(*) filter (where entry_type = 'payment' and is_reversed) as reversed_payments_total,
        max(effective_date) filter (where entry_type = 'payment' and not is_reversed) as last_payment_at,
        -- the monthly instalment: the first marker is the full instalment, later ones may be capped by the balance
        max(amount) filter (where entry_type = 'installment_due' and not is_reversed) as instalment,
        max(amount) filter (where entry_type = 'payment' and not is_reversed) as largest_payment,
        count(*) filter (
            where entry_type = 'payment' and not is_reversed and day(effective_date) between 15 and 17
        ) as mid_month_payments,
    from visible_ledger
    group by spine_id
),

payment_sizes as (
    -- how each payment compares with the instalment: capacity shows in partial vs full payments
    select
        visible_ledger.spine_id,
        count(*) filter (where covers(visible_ledger.amount, ledger_stats.instalment)) as full_payments,
    from visible_ledger
    inner join ledger_stats
        on ledger_stats.spine_id = visible_ledger.spine_id
    where visible_ledger.entry_type = 'payment'
        and not visible_ledger.is_reversed
    group by visible_ledger.spine_id
),

payment_clearing as (
    -- payments after which everything due so far (instalments, fees, interest) is paid: a debtor
    -- with capacity clears the arrears, one short of money pays part
    select
        spine_id,
        count(*) filter (where entry_type = 'payment' and covers(paid_so_far, due_so_far)) as clearing_payments,
        min(effective_date) filter (where entry_type = 'payment') as first_payment_date,
    from (
        select
            spine_id,
            entry_type,
            effective_date,
            sum(case when entry_type = 'payment' then amount else 0 end) over running as paid_so_far,
            sum(case when entry_type in ('installment_due', 'fee', 'interest') then amount else 0 end) over running as due_so_far,
        from visible_ledger
        where not is_reversed
            and entry_type in ('payment', 'installment_due', 'fee', 'interest')
        window running as (
            partition by spine_id
            order by effective_date, case when entry_type = 'payment' then 1 else 0 end, entry_id
            rows between unbounded preceding and current row
        )
    ) as running_totals
    group by spine_id
),

payment_timing as (
    -- days from the latest instalment due date to each payment: prompt payers pay early in the cycle
    select
        payments.spine_id,
        count(*) filter (where payments.effective_date - dues.effective_date <= 10) as early_payments,
        avg(payments.effective_date - dues.effective_date) as days_after_due_avg,
    from (
        select spine_id, effective_date from visible_ledger
        where entry_type = 'payment' and not is_reversed
    ) as payments
    asof inner join (
        select spine_id, effective_date from visible_ledger
        where entry_type = 'installment_due' and not is_reversed
    ) as dues
        on dues.spine_id = payments.spine_id
        and payments.effective_date >= dues.effective_date
    group by payments.spine_id
),

installments as (
    -- installments due before as_of, oldest first, with the running amount due
    select
        spine_id,
        effective_date,
        sum(amount) over (
            partition by spine_id
            order by effective_date, entry_id
            rows between unbounded preceding and current row
        ) as cumulative_due,
    from visible_ledger
    where entry_type = 'installment_due'
        and not is_reversed
        and effective_date < as_of
),

delinquency as (
    -- payments cover installments oldest first; the first uncovered one sets DPD
    select
        installments.spine_id,
        min(installments.effective_date) filter (
            where installments.cumulative_due > coalesce(ledger_stats.paid_total, 0)
        ) as oldest_unpaid_due_date,
        count(*) filter (
            where installments.cumulative_due > coalesce(ledger_stats.paid_total, 0)
        ) as past_due_installments,
        greatest(max(installments.cumulative_due) - coalesce(ledger_stats.paid_total, 0), 0) as past_due_raw,
    from installments
    left join ledger_stats
        on ledger_stats.spine_id = installments.spine_id
    group by installments.spine_id, ledger_stats.paid_total
),

visible_contacts as (
    select
        spine.spine_id,
        spine.since_7d,
        spine.since_30d,
        spine.since_90d,
        contacts.started_at,
        contacts.channel,
        contacts.direction,
        contacts.outcome,
        contacts.is_attempt,
        contacts.is_response,
        contacts.local_hour,
    from spine
    inner join contacts
        on contacts.account_id = spine.account_id
        and contacts.started_at < spine.visible_before
),

contact_stats as (
    select
        spine_id,
        count(*) filter (where is_attempt and started_at >= since_7d) as attempts_7d,
        count(*) filter (where is_attempt and started_at >= since_30d) as attempts_30d,
        count(*) filter (where is_attempt and started_at >= since_90d) as attempts_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'sms') as attempts_sms_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'email') as attempts_email_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'whatsapp') as attempts_whatsapp_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'voice') as attempts_voice_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'agent_call') as attempts_agent_call_90d,
        count(*) filter (where is_attempt and started_at >= since_90d and channel = 'letter') as attempts_letter_90d,
        count(*) filter (where is_attempt and is_response and started_at >= since_90d and channel = 'sms') as responses_sms_90d,
        count(*) filter (where is_attempt and is_response and started_at >= since_90d and channel = 'email') as responses_email_90d,
        count(*) filter (where is_attempt and is_response and started_at >= since_90d and channel = 'whatsapp') as responses_whatsapp_90d,
        count(*) filter (where is_attempt and is_response and started_at >= since_90d and channel = 'voice') as responses_voice_90d,
        count(*) filter (where is_attempt and is_response and started_at >= since_90d and channel = 'agent_call') as responses_agent_call_90d,
        count(*) filter (where direction = 'inbound' and started_at >= since_90d) as inbound_contacts_90d,
        count(*) filter (where is_response) as responses_total,
        count(*) filter (where is_response and local_hour between 18 and 23) as evening_responses,
        count(*) filter (where outcome = 'opt_out') as opt_outs_total,
        count(*) filter (where outcome = 'complaint') as complaints_total,
        max(started_at) as last_contact_at,
        max(started_at) filter (where is_response) as last_response_at,
        -- whole-history engagement: pooled over channels, so a few months of contacts say more
        count(*) filter (where is_attempt) as attempts_total,
        count(*) filter (where is_attempt and is_response) as attempt_responses_total,
        count(*) filter (where is_attempt and channel in ('voice', 'agent_call')) as call_attempts_total,
        count(*) filter (
            where is_attempt and channel in ('voice', 'agent_call') and outcome in ('rpc', 'promise')
        ) as call_rpcs_total,
        count(*) filter (where outcome in ('rpc', 'promise')) as conversations_total,
        count(*) filter (where outcome = 'promise') as promise_outcomes_total,
        count(*) filter (where is_attempt and channel in ('sms', 'email', 'whatsapp')) as digital_attempts_total,
        count(*) filter (
            where is_attempt and channel in ('sms', 'email', 'whatsapp') and outcome = 'clicked'
        ) as digital_clicks_total,
        -- contact data that does not reach the debtor
        count(*) filter (where is_attempt and outcome in ('failed', 'bounced', 'wrong_party')) as failed_attempts_total,
        count(*) filter (where outcome = 'wrong_party') as wrong_party_total,
        count(*) filter (where direction = 'inbound') as inbound_contacts_total,
    from visible_contacts
    group by spine_id
),

nudged_payments as (
    -- responses followed by a payment within 3 days: how much a reminder moves this debtor
    select
        responses.spine_id,
        count(distinct responses.started_at) as responses_followed_by_payment,
    from visible_contacts as responses
    inner join visible_ledger as payments
        on payments.spine_id = responses.spine_id
        and payments.entry_type = 'payment'
        and not payments.is_reversed
        and payments.effective_date >= cast(responses.started_at as date)
        and payments.effective_date <= cast(responses.started_at as date) + 3
    where responses.is_response
    group by responses.spine_id
),

visible_promises as (
    select
        spine.spine_id,
        spine.as_of,
        spine.visible_before,
        promises.promise_id,
        promises.created_at,
        promises.due_date,
        promises.promised_amount,
        promises.created_at >= spine.since_90d as is_recent,
        promise_grace_end(promises.due_date) < spine.as_of as is_matured,
        promises.due_date < spine.as_of as is_past_due_date,
    from spine
    inner join promises
        on promises.account_id = spine.account_id
        and promises.created_at < spine.visible_before
),

promise_paid as (
    -- payments known at as_of and not reversed by then, towards each promise: paid_amount counts them
    -- all (read once the promise matured), paid_so_far those effective by as_of (read once its due date passed)
    select
        visible_promises.promise_id,
        visible_promises.spine_id,
        sum(promise_payments.amount) as paid_amount,
        sum(promise_payments.amount) filter (where promise_payments.effective_date <= visible_promises.as_of)
            as paid_so_far,
    from visible_promises
    inner join promise_payments
        on promise_payments.promise_id = visible_promises.promise_id
        and known_unreversed(promise_payments.posted_at, promise_payments.reversal_posted_at,
                             promise_payments.reversal_effective_date, visible_promises.as_of)
    where visible_promises.is_matured or visible_promises.is_past_due_date
    group by visible_promises.promise_id, visible_promises.spine_id
),

promise_outcomes as (
    select
        visible_promises.*,
        visible_promises.is_matured
            and covers(coalesce(promise_paid.paid_amount, 0), visible_promises.promised_amount) as is_kept,
        visible_promises.is_matured
            and not covers(coalesce(promise_paid.paid_amount, 0), visible_promises.promised_amount) as is_broken,
        -- due date passed and not (yet) paid in full: a promise made in the grace days after it
        -- still knows the last one was missed
        visible_promises.is_past_due_date
            and not covers(coalesce(promise_paid.paid_so_far, 0), visible_promises.promised_amount) as is_unpaid_at_due,
    from visible_promises
    left join promise_paid
        on promise_paid.promise_id = visible_promises.promise_id
        and promise_paid.spine_id = visible_promises.spine_id
),

promise_stats as (
    select
        spine_id,
        count(*) as promises_made,
        count(*) filter (where is_recent) as promises_90d,
        count(*) filter (where is_kept) as promises_kept,
        count(*) filter (where is_broken) as promises_broken,
        count(*) filter (where is_unpaid_at_due) as promises_unpaid_at_due,
        max(promise_grace_end(due_date)) filter (where is_broken) as last_broken_grace_end,
        max(due_date) filter (where not is_matured) as open_promise_due_date,
        arg_max(promise_id, created_at) filter (where not is_matured) as open_promise_id,
    from promise_outcomes
    group by spine_id
),

visible_holds as (
    -- open_now: the hold still covers the end of as_of (no end, or an end after it)
    select spine.spine_id, holds.kind, coalesce(holds.ends_at >= spine.visible_before, true) as open_now,
    from spine
    inner join holds
        on holds.account_id = spine.account_id
        and holds.starts_at < spine.visible_before
    union all
    select spine.spine_id, holds.kind, coalesce(holds.ends_at >= spine.visible_before, true) as open_now,
    from spine
    inner join holds
        on holds.account_id is null
        and holds.customer_id = spine.customer_id
        and holds.starts_at < spine.visible_before
),

hold_stats as (
    select
        spine_id,
        count(*) filter (where kind = 'dispute') as disputes_total,
        count(*) filter (where kind = 'hardship_plan') as hardship_plans_total,
        -- holds under which the debtor does not pay on their own, and a hardship plan, open now
        count(*) filter (where kind in ('dispute', 'bankruptcy', 'deceased') and open_now) > 0 as payment_block_open,
        count(*) filter (where kind = 'hardship_plan' and open_now) > 0 as hardship_plan_open,
    from visible_holds
    group by spine_id
),

consent_stats as (
    select
        spine.spine_id,
        count(*) as consent_opt_outs_total,
    from spine
    inner join consents
        on consents.customer_id = spine.customer_id
        and consents.effective_at < spine.visible_before
        and consents.status in ('revoked', 'opt_out')
    group by spine.spine_id
),

customer_stats as (
    select
        spine.spine_id,
        count(*) as customer_accounts,
    from spine
    inner join accounts
        on accounts.customer_id = spine.customer_id
        and accounts.placed_at < spine.visible_before
    group by spine.spine_id
),

quality_hold_stats as (
    select distinct
        spine.spine_id,
    from spine
    inner join quality_holds
        on quality_holds.account_id = spine.account_id
        and quality_holds.created_at < spine.visible_before
),

promise_windows as (
    -- paydays between a promise's day and its due date (a plan known when the promise is made):
    -- month end (last day, 1st, 2nd) everywhere, the quincena (15th-17th) where wages also land then;
    -- and whether the debtor got in touch to make it (the promise's own contact, at its creation)
    select
        window_days.promise_id,
        count(*) filter (where day(window_day) <= 2 or window_day = last_day(window_day)) as month_end_paydays,
        count(*) filter (where day(window_day) between 15 and 17) as mid_month_paydays,
        coalesce(bool_or(promise_contacts.direction = 'inbound'), false) as from_inbound,
    from (
        select
            promise_id,
            cast(unnest(generate_series(
                cast(cast(created_at as date) + 1 as timestamp), cast(due_date as timestamp), interval 1 day
            )) as date) as window_day,
        from promises
        where promise_id in (
            select coalesce(spine_rows.promise_id, promise_stats.open_promise_id)
            from spine_rows
            left join spine_keys
                on spine_keys.account_id = spine_rows.account_id and spine_keys.as_of = spine_rows.as_of
            left join promise_stats
                on promise_stats.spine_id = spine_keys.spine_id
        )
    ) as window_days
    left join promises
        on promises.promise_id = window_days.promise_id
    left join contacts as promise_contacts
        on promise_contacts.account_id = promises.account_id
        and promise_contacts.started_at = promises.created_at
        and promise_contacts.outcome = 'promise'
    group by window_days.promise_id
),

account_state as (
    select
        spine.*,
        cast(coalesce(ledger_stats.balance, 0) as decimal(18, 2)) as balance,
        ledger_stats.balance_30d_ago,
        ledger_stats.fees_interest_90d,
        ledger_stats.paid_total,
        ledger_stats.paid_30d,
        ledger_stats.paid_90d,
        coalesce(ledger_stats.payments_total, 0) as payments_total,
        coalesce(ledger_stats.payments_30d, 0) as payments_30d,
        coalesce(ledger_stats.payments_90d, 0) as payments_90d,
        coalesce(ledger_stats.payday_payments, 0) as payday_payments,
        coalesce(ledger_stats.reversed_payments_total, 0) as reversed_payments_total,
        ledger_stats.last_payment_at,
        ledger_stats.instalment,
        ledger_stats.largest_payment,
        coalesce(ledger_stats.mid_month_payments, 0) as mid_month_payments,
        coalesce(payment_sizes.full_payments, 0) as full_payments,
        coalesce(payment_timing.early_payments, 0) as early_payments,
        coalesce(payment_clearing.clearing_payments, 0) as clearing_payments,
        payment_clearing.first_payment_date,
        coalesce(nudged_payments.responses_followed_by_payment, 0) as responses_followed_by_payment,
        payment_timing.days_after_due_avg,
        delinquency.oldest_unpaid_due_date,
        coalesce(delinquency.past_due_installments, 0) as past_due_installments_raw,
        coalesce(delinquency.past_due_raw, 0) as past_due_raw,
        customers.created_at as customer_created_at,
    from spine
    left join ledger_stats
        on ledger_stats.spine_id = spine.spine_id
    left join delinquency
        on delinquency.spine_id = spine.spine_id
    left join payment_sizes
        on payment_sizes.spine_id = spine.spine_id
    left join payment_timing
        on payment_timing.spine_id = spine.spine_id
    left join payment_clearing
        on payment_clearing.spine_id = spine.spine_id
    left join nudged_payments
        on nudged_payments.spine_id = spine.spine_id
    left join customers
        on customers.customer_id = spine.customer_id
),

final as (
    select
        s.as_of,
        s.account_id,
        s.customer_id,
        s.jurisdiction,
        s.currency,
        s.product,
        -- state read by decide
        s.balance,
        -- a settled or written-off account is not past due, whatever the schedule says
        cast(case when s.balance > 0 then date_diff('day', s.oldest_unpaid_due_date, s.as_of) else 0 end as integer) as dpd,
        cast(case when s.balance > 0 then least(s.past_due_raw, s.balance) else 0 end as decimal(18, 2)) as past_due_amount,
        s.last_payment_at,
        ps.open_promise_due_date,
        cast(date_diff('day', cast(cs.last_contact_at as date), s.as_of) as integer) as days_since_last_contact,
        quality_hold_stats.spine_id is not null as data_quality_hold,
        coalesce(spine_rows.promise_id, ps.open_promise_id) as promise_id,
        -- balance and delinquency
        cast(s.balance / nullif(s.principal, 0) as double) as balance_to_principal,
        cast(case when s.balance > 0 then least(s.past_due_raw, s.balance) else 0 end / nullif(s.principal, 0) as double) as past_due_to_principal,
        case when s.balance > 0 then s.past_due_installments_raw else 0 end as past_due_installments,
        cast((s.balance - coalesce(s.balance_30d_ago, 0)) / nullif(s.principal, 0) as double) as balance_change_30d_to_principal,
        cast(coalesce(s.fees_interest_90d, 0) / nullif(s.principal, 0) as double) as fees_interest_90d_to_principal,
        date_diff('day', cast(s.placed_at as date), s.as_of) as days_since_placement,
        date_diff('day', cast(s.opened_at as date), s.as_of) as account_age_days,
        -- payments
        s.payments_30d,
        s.payments_90d,
        s.payments_total,
        cast(coalesce(s.paid_30d, 0) / nullif(s.principal, 0) as double) as payment_amount_30d_to_principal,
        cast(coalesce(s.paid_90d, 0) / nullif(s.principal, 0) as double) as payment_amount_90d_to_principal,
        cast(coalesce(s.paid_total, 0) / nullif(s.principal, 0) as double) as paid_share_of_principal,
        date_diff('day', s.last_payment_at, s.as_of) as days_since_last_payment,
        cast(s.payday_payments as double) / nullif(s.payments_total, 0) as payday_payment_share,
        s.reversed_payments_total,
        -- promises
        coalesce(ps.promises_made, 0) as promises_made,
        coalesce(ps.promises_90d, 0) as promises_90d,
        coalesce(ps.promises_kept, 0) as promises_kept,
        coalesce(ps.promises_broken, 0) as promises_broken,
        cast(ps.promises_kept as double) / nullif(ps.promises_kept + ps.promises_broken, 0) as promise_kept_rate,
        -- never broke a promise sorts past any real gap (3650 days), not as missing: models constrain this
        -- feature to be monotone, and LightGBM's monotone constraints do not govern missing values
        coalesce(date_diff('day', ps.last_broken_grace_end, s.as_of), 3650) as days_since_last_broken_promise,
        cast(ps.open_promise_due_date is not null as integer) as has_open_promise,
        -- contacts: intensity, responsiveness by channel, timing
        coalesce(cs.attempts_7d, 0) as attempts_7d,
        coalesce(cs.attempts_30d, 0) as attempts_30d,
        coalesce(cs.attempts_90d, 0) as attempts_90d,
        coalesce(cs.attempts_sms_90d, 0) as attempts_sms_90d,
        coalesce(cs.attempts_email_90d, 0) as attempts_email_90d,
        coalesce(cs.attempts_whatsapp_90d, 0) as attempts_whatsapp_90d,
        coalesce(cs.attempts_voice_90d, 0) as attempts_voice_90d,
        coalesce(cs.attempts_agent_call_90d, 0) as attempts_agent_call_90d,
        coalesce(cs.attempts_letter_90d, 0) as attempts_letter_90d,
        cast(cs.responses_sms_90d as double) / nullif(cs.attempts_sms_90d, 0) as response_rate_sms_90d,
        cast(cs.responses_email_90d as double) / nullif(cs.attempts_email_90d, 0) as response_rate_email_90d,
        cast(cs.responses_whatsapp_90d as double) / nullif(cs.attempts_whatsapp_90d, 0) as response_rate_whatsapp_90d,
        cast(cs.responses_voice_90d as double) / nullif(cs.attempts_voice_90d, 0) as response_rate_voice_90d,
        cast(cs.responses_agent_call_90d as double) / nullif(cs.attempts_agent_call_90d, 0) as response_rate_agent_call_90d,
        coalesce(cs.inbound_contacts_90d, 0) as inbound_contacts_90d,
        cast(cs.evening_responses as double) / nullif(cs.responses_total, 0) as evening_response_share,
        date_diff('day', cast(cs.last_response_at as date), s.as_of) as days_since_last_response,
        coalesce(cs.opt_outs_total, 0) as opt_outs_total,
        coalesce(cs.complaints_total, 0) as complaints_total,
        coalesce(consent_stats.consent_opt_outs_total, 0) as consent_opt_outs_total,
        -- dispute and hardship-plan history (never vulnerability or health)
        coalesce(hold_stats.disputes_total, 0) as disputes_total,
        coalesce(hold_stats.hardship_plans_total, 0) as hardship_plans_total,
        cast(coalesce(hold_stats.payment_block_open, false) as integer) as payment_block_open,
        cast(coalesce(hold_stats.hardship_plan_open, false) as integer) as hardship_plan_open,
        -- tenure
        date_diff('day', cast(s.customer_created_at as date), s.as_of) as customer_tenure_days,
        coalesce(customer_stats.customer_accounts, 0) as customer_accounts,
        -- behaviour that reveals why the debtor is not paying (capacity, organisation, engagement,
        -- contact data); amounts enter as ratios to the account's own instalment
        cast(s.instalment / nullif(s.principal, 0) as double) as instalment_to_principal,
        cast(case when s.balance > 0 then least(s.past_due_raw, s.balance) else 0 end / nullif(s.instalment, 0) as double) as past_due_to_instalment,
        cast(s.paid_total / nullif(s.payments_total, 0) / nullif(s.instalment, 0) as double) as payment_to_instalment_avg,
        cast(s.largest_payment / nullif(s.instalment, 0) as double) as payment_to_instalment_max,
        cast(s.full_payments as double) / nullif(s.payments_total, 0) as full_payment_share,
        cast(s.payments_total as double) * 30 / (date_diff('day', cast(s.placed_at as date), s.as_of) + 1) as payments_per_30d_placed,
        cast(s.early_payments as double) / nullif(s.payments_total, 0) as early_payment_share,
        cast(s.days_after_due_avg as double) as days_after_due_avg,
        cast(s.mid_month_payments as double) / nullif(s.payments_total, 0) as mid_month_payment_share,
        cast(s.clearing_payments as double) / nullif(s.payments_total, 0) as clearing_payment_share,
        date_diff('day', cast(s.placed_at as date), s.first_payment_date) as days_to_first_payment,
        cast(s.responses_followed_by_payment as double) / nullif(cs.responses_total, 0) as response_payment_rate,
        coalesce(cs.attempts_total, 0) as attempts_total,
        cast(cs.attempt_responses_total as double) / nullif(cs.attempts_total, 0) as response_rate_total,
        cast(cs.call_rpcs_total as double) / nullif(cs.call_attempts_total, 0) as call_rpc_rate,
        cast(cs.promise_outcomes_total as double) / nullif(cs.conversations_total, 0) as promise_per_conversation_rate,
        cast(cs.digital_clicks_total as double) / nullif(cs.digital_attempts_total, 0) as click_rate_digital,
        cast(cs.failed_attempts_total as double) / nullif(cs.attempts_total, 0) as failed_attempt_rate,
        coalesce(cs.wrong_party_total, 0) as wrong_party_total,
        coalesce(cs.inbound_contacts_total, 0) as inbound_contacts_total,
        coalesce(ps.promises_unpaid_at_due, 0) as promises_unpaid_at_due,
        -- the promise being scored: the spine's promise in training, else the latest open one
        cast(focal.promised_amount / nullif(s.balance, 0) as double) as promise_amount_to_balance,
        date_diff('day', cast(focal.created_at as date), focal.due_date) as promise_horizon_days,
        cast(focal.channel = 'self_service' as integer) as promise_channel_self_service,
        cast(focal.channel = 'agent_call' as integer) as promise_channel_agent_call,
        cast(focal.channel = 'voice' as integer) as promise_channel_voice,
        cast(focal.channel in ('sms', 'whatsapp') as integer) as promise_channel_messaging,
        cast(focal.channel in ('email', 'letter') as integer) as promise_channel_written,
        cast(focal.promised_amount
            / nullif(case when s.balance > 0 then least(s.past_due_raw, s.balance) end, 0) as double) as promise_amount_to_past_due,
        cast(focal.promised_amount / nullif(s.instalment, 0) as double) as promise_amount_to_instalment,
        cast(focal.promised_amount / nullif(s.largest_payment, 0) as double) as promise_amount_to_largest_payment,
        cast(focal_windows.from_inbound as integer) as promise_from_inbound,
        cast(case when focal.promise_id is not null then coalesce(focal_windows.month_end_paydays, 0) end as integer) as promise_window_month_end_paydays,
        cast(case when focal.promise_id is not null then coalesce(focal_windows.mid_month_paydays, 0) end as integer) as promise_window_mid_month_paydays,
    from spine_rows
    inner join account_state as s
        on s.account_id = spine_rows.account_id and s.as_of = spine_rows.as_of
    left join promise_stats as ps
        on ps.spine_id = s.spine_id
    left join contact_stats as cs
        on cs.spine_id = s.spine_id
    left join hold_stats
        on hold_stats.spine_id = s.spine_id
    left join consent_stats
        on consent_stats.spine_id = s.spine_id
    left join customer_stats
        on customer_stats.spine_id = s.spine_id
    left join quality_hold_stats
        on quality_hold_stats.spine_id = s.spine_id
    left join promises as focal
        on focal.promise_id = coalesce(spine_rows.promise_id, ps.open_promise_id)
    left join promise_windows as focal_windows
        on focal_windows.promise_id = focal.promise_id
)

select * from final
