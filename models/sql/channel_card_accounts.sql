-- channel_card_accounts: one row per account of the warehouse, with its currency and the channel of
-- its last outbound contact known by the end of $as_of (null when it had none): what business as
-- usual did with this account most recently, the card's stand-in for BAU's channel choice.
-- Inputs: stg_accounts, stg_contacts (features.build.stg_views); variable as_of.
with last_outbound as (
    select
        account_id,
        arg_max(channel, started_at) as last_channel
    from stg_contacts
    where direction = 'outbound'
        and started_at < end_of_day_utc(getvariable('as_of'))
    group by account_id
)
select
    cast(accounts.account_id as varchar) as account_id,
    cast(accounts.currency as varchar) as currency,
    cast(last_outbound.last_channel as varchar) as last_channel
from stg_accounts as accounts
left join last_outbound using (account_id)
order by account_id
