-- Tables ingestion writes besides raw_<name>; see docs/TABLES.md "ingest".
create table if not exists quarantine (
    load_id varchar,
    table_name varchar,
    source_file varchar,
    source_row bigint,
    column_name varchar,
    rule_id varchar,
    reason varchar,
    -- the source text of the row; personal columns are redacted. A row quarantined only for a
    -- key conflict shows its typed values as text (e.g. 51.00 for a source '51')
    record_json varchar,
);

create table if not exists duplicate_audit (
    load_id varchar,
    table_name varchar,
    source_file varchar,
    source_row bigint,
    key varchar,
);

create table if not exists load_audit (
    load_id varchar,
    delivery varchar,
    table_name varchar,
    source_file varchar,
    file_sha256 varchar,
    rows_in bigint,
    rows_accepted bigint,
    rows_quarantined bigint,
    rows_duplicate bigint,
    arrived_at timestamptz,
    status varchar,
);

create table if not exists data_quality_holds (
    account_id varchar,
    load_id varchar,
    -- comma-separated rule ids of the account's quarantined money rows in this load
    rule_id varchar,
    created_at timestamptz,
);

create table if not exists ge_results (
    load_id varchar,
    table_name varchar,
    expectation varchar,
    column_name varchar,
    success boolean,
    unexpected_count bigint,
);

-- Keys delivered with two different payloads (in one load or across loads): no version wins,
-- every version is in quarantine, and later versions of the key are quarantined too.
create table if not exists key_conflicts (
    table_name varchar,
    key varchar,
    load_id varchar,
);

-- One row per pending row (waiting for a parent) that a later load judged again.
create table if not exists pending_resolutions (
    table_name varchar,
    -- the row's own load, file and row
    load_id varchar,
    source_file varchar,
    source_row bigint,
    resolved_by_load_id varchar,
    -- accepted, duplicate, key_conflict or quarantined
    fate varchar,
);

-- One row per load x batch rule x table checked (also for loads the rules rejected).
create table if not exists batch_rule_results (
    load_id varchar,
    delivery varchar,
    table_name varchar,
    rule_id varchar,
    observed double,
    threshold double,
    passed boolean,
    detail varchar,
    checked_at timestamptz,
);
