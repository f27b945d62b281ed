-- work_scores_channel_values: add to work_scores (account x as_of) the channel model's net incremental
-- value per channel in USD (DESIGN §4: scores carry per-channel incremental value) and the best channel,
-- the argmax of those values before any contact rule ('none' when no channel is worth its cost).
-- The channel actually chosen is next_best_actions.channel: decide takes the argmax over the channels
-- the rules allow. Re-running replaces these columns. Variables: as_of.
create or replace table work_scores as
with

scores as (
    select columns(lambda c: not (c like 'value\_%\_usd' escape '\' or c in ('best_channel', 'channel_model')))
    from work_scores
),

values_by_account as (
    select
        account_id,
        max(net_value_usd) filter (where channel = 'sms') as value_sms_usd,
        max(net_value_usd) filter (where channel = 'email') as value_email_usd,
        max(net_value_usd) filter (where channel = 'whatsapp') as value_whatsapp_usd,
        max(net_value_usd) filter (where channel = 'voice') as value_voice_usd,
        max(net_value_usd) filter (where channel = 'agent_call') as value_agent_call_usd,
        max(net_value_usd) filter (where channel = 'letter') as value_letter_usd,
        case when max(net_value_usd) > 0 then arg_max(channel, net_value_usd) else 'none' end as best_channel,
        any_value(channel_model) as channel_model,
    from work_channel_values
    where as_of = getvariable('as_of')
    group by account_id
)

select scores.*, values_by_account.* exclude (account_id)
from scores
left join values_by_account on values_by_account.account_id = scores.account_id
