-- recovery by currency (money is never summed across currencies):
-- collected = visible, unreversed payments since placement; principal = at placement,
-- over accounts placed by as_of. Contact cost is assumed to be in the account's currency.
with params as (
    select
        cast($as_of as date) as as_of,
        cast($as_of as date) - 29 as window_start_date,
        cast(cast($as_of as date) - 29 as timestamptz) as window_start,
        cast(cast($as_of as date) + 1 as timestamptz) as window_end,
),

accounts as (
    select * from {accounts}
),

visible_payments as (
    select * from {payments}
),

contacts as (
    select * from {contacts}
),

placed as (
    select accounts.account_id, accounts.currency, accounts.principal, accounts.placed_at
    from accounts, params
    where accounts.placed_at < params.window_end
),

payments as (
    select placed.currency, visible_payments.effective_date, visible_payments.amount
    from visible_payments
    inner join placed using (account_id)
    where visible_payments.effective_date >= cast(placed.placed_at as date)
),

collected as (
    select
        payments.currency,
        coalesce(sum(payments.amount) filter (where payments.effective_date >= params.window_start_date), 0)
            as collected_30d,
        sum(payments.amount) as collected_to_date,
    from payments, params
    group by payments.currency
),

contact_cost as (
    select
        placed.currency,
        sum(contacts.cost) as contact_cost_30d,
    from contacts
    inner join placed using (account_id)
    cross join params
    where contacts.direction = 'outbound'
      and contacts.started_at >= params.window_start
      and contacts.started_at < params.window_end
    group by placed.currency
),

portfolio as (
    select
        currency,
        count(*) as accounts,
        sum(principal) as principal,
    from placed
    group by currency
),

final as (
    select
        portfolio.currency,
        portfolio.accounts,
        portfolio.principal,
        coalesce(collected.collected_30d, 0) as collected_30d,
        coalesce(collected.collected_to_date, 0) as collected_to_date,
        contact_cost.contact_cost_30d,
        coalesce(collected.collected_30d, 0) / nullif(portfolio.principal, 0) as recovery_rate_30d,
        coalesce(collected.collected_to_date, 0) / nullif(portfolio.principal, 0) as recovery_rate_to_date,
        contact_cost.contact_cost_30d / nullif(collected.collected_30d, 0) as cost_per_unit_collected,
    from portfolio
    left join collected using (currency)
    left join contact_cost using (currency)
    order by portfolio.currency
)

select * from final
