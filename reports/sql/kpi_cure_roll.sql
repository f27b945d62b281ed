-- cure and roll by starting DPD bucket: accounts past due in the latest snapshot at least
-- 30 days before as_of, followed to as_of. cure = current (dpd 0) at as_of;
-- roll = a worse bucket at as_of. Accounts missing at as_of are left out.
with params as (
    select
        cast($as_of as date) as as_of,
        (select max(as_of) from fct_account_features where as_of <= cast($as_of as date) - 30)
            as start_as_of,
),

snapshots as (
    select as_of, account_id, dpd from fct_account_features
),

bucketed as (
    select
        as_of,
        account_id,
        case
            when dpd is null or dpd <= 0 then 0
            when dpd <= 30 then 1
            when dpd <= 60 then 2
            when dpd <= 90 then 3
            else 4
        end as bucket,
    from snapshots
),

start_state as (
    select bucketed.account_id, bucketed.bucket
    from bucketed, params
    where bucketed.as_of = params.start_as_of and bucketed.bucket > 0
),

end_state as (
    select bucketed.account_id, bucketed.bucket
    from bucketed, params
    where bucketed.as_of = params.as_of
),

final as (
    select
        any_value(params.start_as_of) as start_as_of,
        start_state.bucket,
        ['current', '1-30', '31-60', '61-90', '90+'][start_state.bucket + 1] as dpd_bucket,
        count(*) as accounts,
        count(*) filter (where end_state.bucket = 0) / count(*) as cure_rate,
        count(*) filter (where end_state.bucket > start_state.bucket) / count(*) as roll_rate,
    from start_state
    inner join end_state using (account_id)
    cross join params
    group by start_state.bucket
    order by start_state.bucket
)

select * from final
