-- promise rate = promises made in the 30-day window / outbound right-party contacts in it,
-- by channel. Self-service promises have no conversation behind them, so the
-- 'all assisted channels' row leaves them out of the numerator.
with params as (
    select
        cast(cast($as_of as date) - 29 as timestamptz) as window_start,
        cast(cast($as_of as date) + 1 as timestamptz) as window_end,
),

promises as (
    select * from {promises}
),

contacts as (
    select * from {contacts}
),

promises_made as (
    select
        promises.channel,
        count(*) as promises,
    from promises, params
    where promises.created_at >= params.window_start
      and promises.created_at < params.window_end
    group by promises.channel
),

rpcs as (
    select
        contacts.channel,
        count(*) as rpcs,
    from contacts, params
    where contacts.direction = 'outbound'
      and contacts.outcome in ('rpc', 'promise')
      and contacts.started_at >= params.window_start
      and contacts.started_at < params.window_end
    group by contacts.channel
),

by_channel as (
    select
        channel,
        false as is_total,
        coalesce(promises_made.promises, 0) as promises,
        coalesce(rpcs.rpcs, 0) as rpcs,
    from promises_made
    full outer join rpcs using (channel)
),

total as (
    select
        'all assisted channels' as channel,
        true as is_total,
        coalesce(sum(promises) filter (where channel <> 'self_service'), 0) as promises,
        coalesce(sum(rpcs), 0) as rpcs,
    from by_channel
),

final as (
    select
        *,
        promises / nullif(rpcs, 0) as promise_rate,
    from (select * from by_channel union all select * from total)
    order by is_total, channel
)

select * from final
