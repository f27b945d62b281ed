-- score histograms: 10 equal-width bins on [0, 1] per score and scoring date
with scores_at as (
    select as_of, p_pay_30d, p_promise_kept
    from scores
    where as_of = cast($as_of as date) or as_of = cast($previous_as_of as date)
),

long as (
    select as_of, 'p_pay_30d' as score, p_pay_30d as p from scores_at
    union all
    select as_of, 'p_promise_kept' as score, p_promise_kept as p from scores_at
),

final as (
    select
        as_of,
        score,
        least(greatest(cast(floor(p * 10) as integer), 0), 9) as bin,
        count(*) as accounts,
    from long
    where p is not null
    group by all
    order by as_of, score, bin
)

select * from final
