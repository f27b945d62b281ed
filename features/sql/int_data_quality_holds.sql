-- int_data_quality_holds: one row per account with a quarantined money row (from ingestion).
-- features.build.stg_views swaps in an empty stand-in when data_quality_holds does not exist yet.
with

source as (
    select * from data_quality_holds
),

final as (
    select
        account_id,
        load_id,
        rule_id,
        cast(created_at as timestamptz) as created_at,
    from source
)

select * from final
