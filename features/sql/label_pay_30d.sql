-- label_pay_30d: one row per feature_spine row (account_id, as_of = snapshot).
-- label = 1 when a payment with effective_date in (snapshot, snapshot + 30 days] is known at
-- $as_of (the training date: posted before its end and not reversed by then).
-- The caller only passes snapshots with snapshot + 30 + the posting lag <= $as_of
-- (features.build.PAYMENT_POSTING_LAG_DAYS), so every payment of the window has had time to post.
with

spine as (
    select distinct
        account_id,
        cast(as_of as date) as as_of,
    from feature_spine
),

payments as (
    select * from int_ledger_effects
    where entry_type = 'payment'
),

known_payments as (
    select * from payments
    where known_unreversed(posted_at, reversal_posted_at, reversal_effective_date, $as_of)
),

paid_in_window as (
    select distinct
        spine.account_id,
        spine.as_of,
    from spine
    inner join known_payments
        on known_payments.account_id = spine.account_id
        and known_payments.effective_date > spine.as_of
        and known_payments.effective_date <= spine.as_of + 30
),

final as (
    select
        spine.account_id,
        spine.as_of,
        cast(paid_in_window.account_id is not null as integer) as label,
    from spine
    left join paid_in_window
        on paid_in_window.account_id = spine.account_id
        and paid_in_window.as_of = spine.as_of
)

select * from final
