-- Counts of one table in one load: rows_in = accepted + quarantined + duplicate.
with fates as (
    select _source_row, fate from ingest_class_{table}
    union all
    select distinct _source_row, 'quarantined' as fate from ingest_fail_{table}
),
final as (
    select
        count(*) filter (where fate = 'accepted') as rows_accepted,
        count(distinct _source_row) filter (where fate in ('quarantined', 'key_conflict')) as rows_quarantined,
        count(*) filter (where fate = 'duplicate') as rows_duplicate,
    from fates
)
select * from final
