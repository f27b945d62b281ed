-- Counts of one table in one load. `ingest_class_<table>` holds only the rows that were not
-- accepted, so accepted = rows judged - the others. For this delivery's rows:
-- rows_in = accepted + quarantined (incl. pending and key conflicts) + duplicate.
with judged as (
    select count(*) filter (where _is_new) as n_new, count(*) filter (where not _is_new) as n_old
    from ingest_typed_{table}
),
exceptions as (
    select
        count(*) filter (where _is_new) as new_not_accepted,
        count(*) filter (where not _is_new and fate <> 'accepted') as old_not_accepted,
        count(*) filter (where _is_new and fate in ('quarantined', 'pending', 'key_conflict')) as rows_quarantined,
        count(*) filter (where _is_new and fate = 'duplicate') as rows_duplicate,
        count(*) filter (where _is_new and fate = 'duplicate' and not in_warehouse) as rows_duplicate_in_file,
        count(*) filter (where _is_new and fate = 'pending') as rows_pending,
        -- which later statements have work to do
        count(*) filter (where fate = 'key_conflict') as rows_conflict,
        count(*) filter (where fate = 'duplicate') as rows_duplicate_all,
        count(*) filter (where fate in ('quarantined', 'pending', 'key_conflict')) as rows_rejected_all,
        count(*) filter (where fate = 'pending') as rows_pending_all,
    from ingest_class_{table}
),
final as (
    select
        j.n_new as rows_in,
        j.n_new - e.new_not_accepted as rows_accepted,
        e.rows_quarantined,
        e.rows_duplicate,
        e.rows_duplicate_in_file,
        e.rows_pending,
        j.n_old - e.old_not_accepted as rows_released,
        j.n_old + e.rows_pending_all as rows_pending_work,
        e.rows_conflict,
        e.rows_duplicate_all,
        e.rows_rejected_all,
    from judged j, exceptions e
)
select * from final
