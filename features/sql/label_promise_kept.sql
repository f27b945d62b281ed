-- label_promise_kept: one row per promise created on or before $as_of whose grace has ended
-- and whose payments have had time to post (promise_grace_end(due_date) + $posting_lag_days < $as_of), so the
-- label has matured: a payment effective on the last day of grace may post days later.
-- label = 1 when payments with effective_date between created_at::date and promise_grace_end(due_date),
-- known at $as_of (posted before its end, not reversed by then), cover promised_amount (macros.sql).
-- feature_as_of = the day before the promise was made, so the promise's own day never leaks
-- into its features.
with

promises as (
    select * from stg_promises
),

promise_payments as (
    select * from int_promise_payments
),

matured_promises as (
    select * from promises
    where created_at < timezone('UTC', cast($as_of as date) + interval 1 day)
        and promise_grace_end(due_date) + $posting_lag_days < cast($as_of as date)
),

paid as (
    select
        promise_id,
        sum(amount) as paid_amount,
    from promise_payments
    where known_unreversed(posted_at, reversal_posted_at, reversal_effective_date, $as_of)
    group by promise_id
),

final as (
    select
        matured_promises.promise_id,
        matured_promises.account_id,
        cast(matured_promises.created_at as date) - 1 as feature_as_of,
        cast(
            covers(coalesce(paid.paid_amount, 0), matured_promises.promised_amount) as integer
        ) as label,
    from matured_promises
    left join paid
        on paid.promise_id = matured_promises.promise_id
)

select * from final
