-- the latest scoring date before as_of (the PSI baseline), null if none
with earlier as (
    select as_of from scores where as_of < cast($as_of as date)
),

final as (
    select max(as_of) as previous_as_of from earlier
)

select * from final
