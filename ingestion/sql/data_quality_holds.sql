-- One row per account with a quarantined money row (ledger or promises) in this load.
-- A row only waiting for its account (known_account) is not a wrong amount: no hold for it.
insert into data_quality_holds
with money_fails as (
    select
        json_extract_string(record_json, '$.account_id') as account_id,
        rule_id,
    from quarantine
    where load_id = $load_id
      and table_name in ('ledger', 'promises')
      and rule_id <> 'known_account'
),
final as (
    select
        account_id,
        $load_id as load_id,
        string_agg(distinct rule_id, ',' order by rule_id) as rule_id,
        $arrived_at as created_at,
    from money_fails
    where account_id is not null
    group by account_id
)
select * from final
