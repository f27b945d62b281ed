-- int_channel_decisions: one row per logged outbound decision of the contact policy,
-- account x decision_date (the customer's local date), for decisions whose 30-day outcome
-- window has matured by $as_of: it ended and its payments have had time to post
-- (decision_date + 29 + $posting_lag_days <= $as_of).
-- arm = the channel contacted, or 'none' for a sampled account-day with no outbound contact
-- (the history logs contacts only; the no-contact arm's propensity is estimated at fit time,
-- and eligibility of these days is checked against features and holds in train_channel_response).
-- $none_sample keeps one no-contact account-day in $none_sample (deterministic hash), and
-- none_sample_weight undoes that sampling.
with

contacts as (
    select * from stg_contacts
),

accounts as (
    select * from stg_accounts
),

customers as (
    select
        customer_id,
        timezone,
    from stg_customers
),

outbound as (
    -- logged policy decisions only: inbound contacts were not chosen and carry no propensity
    select
        contacts.contact_id,
        contacts.account_id,
        contacts.customer_id,
        contacts.channel,
        contacts.propensity,
        cast(contacts.cost as double) as cost,
        contacts.outcome in ('rpc', 'promise', 'replied', 'clicked') as responded,
        cast(timezone(coalesce(customers.timezone, 'UTC'), contacts.started_at) as date) as decision_date,
    from contacts
    left join customers
        on customers.customer_id = contacts.customer_id
    where contacts.direction = 'outbound'
        and contacts.propensity is not null
        and contacts.propensity > 0
),

contact_decisions as (
    -- two attempts on one account and day are one decision: keep the first logged
    select * from outbound
    qualify row_number() over (partition by account_id, decision_date order by contact_id) = 1
),

account_days as (
    select
        accounts.account_id,
        accounts.customer_id,
        cast(day as date) as decision_date,
    from accounts,
        generate_series(
            cast(accounts.placed_at as date) + 1,
            cast($as_of as date) - 29 - $posting_lag_days,
            interval 1 day
        ) as days(day)
),

no_contact_decisions as (
    select
        null as contact_id,
        account_days.account_id,
        account_days.customer_id,
        'none' as channel,
        cast(null as double) as propensity,
        0.0 as cost,
        false as responded,
        account_days.decision_date,
    from account_days
    anti join outbound
        on outbound.account_id = account_days.account_id
        and outbound.decision_date = account_days.decision_date
    where hash(account_days.account_id || cast(account_days.decision_date as varchar)) % $none_sample = 0
),

final as (
    select *, 1.0 as none_sample_weight from contact_decisions
    where decision_date <= cast($as_of as date) - 29 - $posting_lag_days
    union all by name
    select *, cast($none_sample as double) as none_sample_weight from no_contact_decisions
)

select * from final
