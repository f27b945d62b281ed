-- promise-kept rate over promises whose grace period (due_date + $promise_grace_days) ended in the 30 days
-- that end $posting_lag_days before as_of: a payment made on the last day of grace can post that
-- many days later, so a younger promise would be counted broken before its payment arrives (the
-- training labels wait the same, features.build.PAYMENT_POSTING_LAG_DAYS). Kept (docs/TABLES.md):
-- visible, unreversed payments with effective_date between created_at::date and due_date + $promise_grace_days
-- reach $promise_kept_share of promised_amount (recobro.contract).
with params as (
    select
        cast($as_of as date) - $posting_lag_days as grace_end_date,
        cast($as_of as date) - $posting_lag_days - 29 as grace_start_date,
        cast(cast($as_of as date) + 1 as timestamptz) as window_end,
),

promises as (
    select * from {promises}
),

payments as (
    select * from {payments}
),

matured as (
    select promises.*
    from promises, params
    where promises.created_at < params.window_end
      and promises.due_date + $promise_grace_days <= params.grace_end_date
      and promises.due_date + $promise_grace_days >= params.grace_start_date
),

paid as (
    select
        matured.promise_id,
        matured.channel,
        coalesce(sum(payments.amount), 0) >= $promise_kept_share * any_value(matured.promised_amount) as is_kept,
    from matured
    left join payments
        on payments.account_id = matured.account_id
        and payments.effective_date between cast(matured.created_at as date) and matured.due_date + $promise_grace_days
    group by matured.promise_id, matured.channel
),

final as (
    select
        coalesce(channel, 'all channels') as channel,
        grouping(channel) = 1 as is_total,
        count(*) as matured_promises,
        count(*) filter (where is_kept) as kept_promises,
        count(*) filter (where is_kept) / nullif(count(*), 0) as promise_kept_rate,
    from paid
    group by grouping sets ((channel), ())
    order by is_total, channel
)

select * from final
