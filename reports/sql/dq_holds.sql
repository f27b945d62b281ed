-- accounts currently on a data-quality hold (a quarantined money row)
with holds as (
    select account_id from data_quality_holds
),

final as (
    select count(distinct account_id) as accounts_on_hold,
    from holds
)

select * from final
