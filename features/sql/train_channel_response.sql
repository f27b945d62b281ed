-- train_channel_response: one row per eligible logged decision (int_channel_decisions) with the
-- account features as of the day before the decision (work_channel_features, built from
-- fct_account_features.sql over the spine (account_id, decision_date - 1)), the arm taken, its
-- logged propensity, its cost, and the outcome over the 30 days from the decision day:
-- payments with effective_date in [decision_date, decision_date + 29], known at $as_of
-- (posted by then and not reversed by then). The simulator plays contacts before payments
-- within a day, so a payment on the decision day can follow the contact.
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

blocked as (
    select distinct
        decisions.account_id,
        decisions.decision_date,
    from decisions
    inner join holds
        on (holds.account_id = decisions.account_id
            or (holds.account_id is null and holds.customer_id = decisions.customer_id))
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
        features.* exclude (account_id, as_of, customer_id, currency, balance, past_due_amount),
    from decisions
    inner join features
        on features.account_id = decisions.account_id
        and features.as_of = decisions.decision_date - 1
    left join paid
        on paid.account_id = decisions.account_id
        and paid.decision_date = decisions.decision_date
    anti join blocked
        on blocked.account_id = decisions.account_id
        and blocked.decision_date = decisions.decision_date
    where features.balance > 0
        and features.past_due_amount > 0
        and (decisions.channel <> 'none' or features.has_open_promise = 0)
)

select * from final
