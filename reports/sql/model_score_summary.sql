-- distribution summary of each score at as_of
with scores_at as (
    select p_pay_30d, p_promise_kept
    from scores
    where as_of = cast($as_of as date)
),

long as (
    select 'p_pay_30d' as score, p_pay_30d as p from scores_at
    union all
    select 'p_promise_kept' as score, p_promise_kept as p from scores_at
),

final as (
    select
        score,
        count(p) as scored,
        avg(p) as mean,
        quantile_cont(p, 0.1) as p10,
        quantile_cont(p, 0.5) as median,
        quantile_cont(p, 0.9) as p90,
    from long
    group by score
    order by score
)

select * from final
