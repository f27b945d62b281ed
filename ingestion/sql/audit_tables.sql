-- Tables ingestion writes besides raw_<name>; see docs/TABLES.md "ingest".
create table if not exists quarantine (
    load_id varchar,
    table_name varchar,
    source_file varchar,
    source_row bigint,
    column_name varchar,
    rule_id varchar,
    reason varchar,
    -- the source text of the row; personal columns are redacted
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
