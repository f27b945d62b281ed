-- accounts eligible for scoring at as_of ({eligible} is chosen by reports.queries)
with eligible as (
    select account_id from {eligible}
),

final as (
    select count(distinct account_id) as eligible_accounts,
    from eligible
)

select * from final
