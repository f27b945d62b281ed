-- int_promise_payments: one row per promise × payment that falls in the promise's window
-- (effective_date between created_at::date and promise_grace_end(due_date)), see docs/TABLES.md.
-- Visibility (posted_at, reversal times) is applied by the reader at its own as_of, so
-- fct_account_features (promise history) and label_promise_kept share this one definition.
with

promises as (
    select * from stg_promises
),

payments as (
    select * from int_ledger_effects
    where entry_type = 'payment'
),

final as (
    select
        promises.promise_id,
        promises.account_id,
        payments.entry_id,
        payments.amount,
        payments.posted_at,
        payments.effective_date,
        payments.reversal_posted_at,
        payments.reversal_effective_date,
    from promises
    inner join payments
        on payments.account_id = promises.account_id
        and payments.effective_date >= cast(promises.created_at as date)
        and payments.effective_date <= promise_grace_end(promises.due_date)
)

select * from final
