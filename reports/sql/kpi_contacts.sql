-- outbound contact attempts in the 30-day window (as_of - 29 .. as_of, whole UTC days),
-- by channel, plus one 'all channels' row.
-- contact = the attempt reached a person or an inbox (not failed, bounced or unanswered);
-- rpc = right-party contact (a promise outcome implies one).
with params as (
    select
        cast(cast($as_of as date) - 29 as timestamptz) as window_start,
        cast(cast($as_of as date) + 1 as timestamptz) as window_end,
        cast($eligible_accounts as double) as eligible_accounts,
        30.0 / 7 as window_weeks,
),

contacts as (
    select * from {contacts}
),

attempts as (
    select
        contacts.channel,
        contacts.account_id,
        contacts.outcome not in ('failed', 'bounced', 'no_answer') as is_contact,
        contacts.outcome in ('rpc', 'promise') as is_rpc,
        contacts.outcome = 'opt_out' as is_opt_out,
        contacts.outcome = 'complaint' as is_complaint,
    from contacts, params
    where contacts.direction = 'outbound'
      and contacts.started_at >= params.window_start
      and contacts.started_at < params.window_end
),

by_channel as (
    select
        coalesce(channel, 'all channels') as channel,
        grouping(channel) = 1 as is_total,
        count(*) as attempts,
        count(*) filter (where is_contact) as contacts,
        count(*) filter (where is_rpc) as rpcs,
        count(*) filter (where is_opt_out) as opt_outs,
        count(*) filter (where is_complaint) as complaints,
        -- no cost here: contact costs are in each account's currency and are summed per currency
        -- in kpi_recovery, never across currencies
        count(distinct account_id) as accounts_attempted,
    from attempts
    group by grouping sets ((channel), ())
),

final as (
    select
        by_channel.*,
        by_channel.contacts / nullif(by_channel.attempts, 0) as contact_rate,
        by_channel.rpcs / nullif(by_channel.attempts, 0) as rpc_rate,
        by_channel.opt_outs / nullif(by_channel.attempts, 0) as opt_out_rate,
        by_channel.complaints / nullif(by_channel.attempts, 0) as complaint_rate,
        by_channel.attempts / nullif(params.eligible_accounts, 0) / params.window_weeks
            as attempts_per_account_week,
    from by_channel, params
    order by is_total, attempts desc, channel
)

select * from final
