-- work_suppressions: one row per account × suppressed (action, channel) × compliance rule, as_of;
-- action and channel are null when the rule suppresses every contact (holds, fail-closed).
with

exclusions as (
    select * from int_action_exclusions where is_compliance
),

accounts as (
    select as_of, account_id, customer_id from int_decision_accounts
),

final as (
    select
        a.as_of,
        x.account_id,
        a.customer_id,
        x.action,
        x.channel,
        x.rule_id,
        x.rule_pack,
        x.rule_pack_version,
        x.reason,
    from exclusions as x
    join accounts as a using (account_id)
)

select * from final
