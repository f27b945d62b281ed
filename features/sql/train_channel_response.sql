-- train_channel_response: one row per eligible logged decision (int_channel_decisions) with the
-- account features as of the day before the decision (work_channel_features, built from
-- fct_account_features.sql over the spine (account_id, decision_date - 1)), the arm taken, its
-- logged propensity, its cost, and the outcome over the 30 days from the decision day:
-- payments with effective_date in [decision_date, decision_date + 29], known at $as_of
-- (posted by then and not reversed by then). The simulator plays contacts before payments
-- within a day, so a payment on the decision day can follow the contact.
-- direct_paid_30d is the money the contact's own path brought in those 30 days, the part a contact
-- causes that later contacts cannot take credit for: payments toward a promise booked on the contact
-- (a call's promise, or a self-service one after a click), a payment link paid on the spot after a
-- click, and the direct debits of a hardship plan disclosed on an answered call (its hold starts
-- within two days). Business as usual does not contact an account while a promise or a plan runs,
-- so this money is read without follow-up contacts mixed in.
-- Eligible = the logged policy could have contacted: open balance, something past due, no open
-- promise, no contact-blocking hold that day (every hold kind except vulnerability).
with

decisions as (
    select * from work_channel_decisions
),

features as (
    select * from work_channel_features
),

holds as (
    select * from stg_holds
    where kind <> 'vulnerability'
),

payments as (
    select * from int_ledger_effects
    where entry_type = 'payment'
        and known_unreversed(posted_at, reversal_posted_at, reversal_effective_date, $as_of)
),

contacts as (
    -- one row per contact: when it started and how it ended
    select
        contact_id,
        min(started_at) as started_at,
        bool_or(outcome = 'promise') as promised,
        bool_or(outcome = 'clicked') as clicked,
        bool_or(outcome = 'rpc') as answered,
    from stg_contacts
    group by contact_id
),

decision_contacts as (
    select
        decisions.account_id,
        decisions.decision_date,
        contacts.started_at,
        contacts.promised,
        contacts.clicked,
        contacts.answered,
    from decisions
    inner join contacts
        on contacts.contact_id = decisions.contact_id
),

-- the three paths: one row per payment a path claims (account x decision day x entry)
promise_path as (
    select
        decision_contacts.account_id,
        decision_contacts.decision_date,
        payments.entry_id,
        payments.amount,
    from decision_contacts
    inner join stg_promises as promises
        on promises.account_id = decision_contacts.account_id
        and promises.created_at >= decision_contacts.started_at
        and promises.created_at < decision_contacts.started_at + interval 1 day
    inner join int_promise_payments as promise_payments
        on promise_payments.promise_id = promises.promise_id
    inner join payments
        on payments.entry_id = promise_payments.entry_id
        and payments.effective_date <= decision_contacts.decision_date + 29
    where decision_contacts.promised or decision_contacts.clicked
),

link_path as (
    select
        decision_contacts.account_id,
        decision_contacts.decision_date,
        payments.entry_id,
        payments.amount,
    from decision_contacts
    inner join payments
        on payments.account_id = decision_contacts.account_id
        and payments.payment_method = 'payment_link'
        and payments.effective_date between cast(decision_contacts.started_at as date) - 1
            and cast(decision_contacts.started_at as date) + 1
    where decision_contacts.clicked
),

plan_path as (
    select
        decision_contacts.account_id,
        decision_contacts.decision_date,
        payments.entry_id,
        payments.amount,
    from decision_contacts
    inner join stg_holds as plans
        on plans.account_id = decision_contacts.account_id
        and plans.kind = 'hardship_plan'
        and cast(plans.starts_at as date) between cast(decision_contacts.started_at as date)
            and cast(decision_contacts.started_at as date) + 2
    inner join payments
        on payments.account_id = decision_contacts.account_id
        and payments.effective_date >= cast(plans.starts_at as date)
        and payments.effective_date <= decision_contacts.decision_date + 29
    where decision_contacts.answered
),

direct_paths as (
    -- `union` keeps one row per payment: a payment two paths claim counts once
    select account_id, decision_date, sum(amount) as paid_amount
    from (
        select * from promise_path
        union
        select * from link_path
        union
        select * from plan_path
    ) as paths
    group by all
),

blocked as (
    -- a hold names an account, or a customer (account_id null) and then covers all their accounts;
    -- two equi-joins, since one join on "account or customer" runs as a nested loop
    select distinct
        decisions.account_id,
        decisions.decision_date,
    from decisions
    inner join holds
        on holds.account_id = decisions.account_id
        and cast(holds.starts_at as date) <= decisions.decision_date
        and (holds.ends_at is null or cast(holds.ends_at as date) > decisions.decision_date)
    union
    select
        decisions.account_id,
        decisions.decision_date,
    from decisions
    inner join holds
        on holds.customer_id = decisions.customer_id
        and holds.account_id is null
        and cast(holds.starts_at as date) <= decisions.decision_date
        and (holds.ends_at is null or cast(holds.ends_at as date) > decisions.decision_date)
),

paid as (
    select
        decisions.account_id,
        decisions.decision_date,
        sum(payments.amount) as paid_amount_30d,
    from decisions
    inner join payments
        on payments.account_id = decisions.account_id
        and payments.effective_date >= decisions.decision_date
        and payments.effective_date <= decisions.decision_date + 29
    group by all
),

final as (
    select
        decisions.decision_date,
        decisions.account_id,
        decisions.customer_id,
        decisions.contact_id,
        decisions.channel as arm,
        decisions.propensity,
        decisions.none_sample_weight,
        decisions.cost,
        decisions.responded,
        features.currency,
        cast(features.balance as double) as balance,
        cast(features.past_due_amount as double) as past_due_amount,
        cast(coalesce(paid.paid_amount_30d, 0) as double) as paid_amount_30d,
        cast(coalesce(paid.paid_amount_30d, 0) > 0 as integer) as paid_30d,
        least(1.0, cast(coalesce(paid.paid_amount_30d, 0) as double)
            / cast(features.past_due_amount as double)) as paid_share_30d,
        cast(coalesce(direct_paths.paid_amount, 0) as double) as direct_paid_30d,
        least(1.0, cast(coalesce(direct_paths.paid_amount, 0) as double)
            / cast(features.past_due_amount as double)) as direct_share_30d,
        features.* exclude (account_id, as_of, customer_id, currency, balance, past_due_amount),
    from decisions
    inner join features
        on features.account_id = decisions.account_id
        and features.as_of = decisions.decision_date - 1
    left join paid
        on paid.account_id = decisions.account_id
        and paid.decision_date = decisions.decision_date
    left join direct_paths
        on direct_paths.account_id = decisions.account_id
        and direct_paths.decision_date = decisions.decision_date
    anti join blocked
        on blocked.account_id = decisions.account_id
        and blocked.decision_date = decisions.decision_date
    where features.balance > 0
        and features.past_due_amount > 0
        and (decisions.channel <> 'none' or features.has_open_promise = 0)
)

select * from final
