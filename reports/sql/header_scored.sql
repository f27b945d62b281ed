-- accounts scored at as_of, by the pair of model versions that scored them
with scores_at as (
    select
        account_id,
        promise_kept_model,
        pay_model,
    from scores
    where as_of = cast($as_of as date)
),

final as (
    select
        coalesce(promise_kept_model, 'unknown') as promise_kept_model,
        coalesce(pay_model, 'unknown') as pay_model,
        count(distinct account_id) as accounts,
    from scores_at
    group by all
    order by accounts desc, promise_kept_model, pay_model
)

select * from final
