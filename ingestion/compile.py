"""Generate the per-table SQL of a load from the contract and the rule list.

Every statement is set-based; temp tables are named `ingest_<step>_<table>` and live only for
the load's transaction.
"""

from __future__ import annotations

from recobro.contract import PERSONAL_COLUMNS, TABLES, Column

from ingestion.rules import PHONE_CHANNELS, Rule, rules_for


def _phone(expr: str) -> str:
    # E.164: drop spaces, dashes, dots and brackets; keep the leading '+'.
    return rf"regexp_replace({expr}, '[\s\-\.\(\)]', '', 'g')"


def _normalised(table: str, col: Column) -> str:
    raw = f"{col.name}__raw"
    if col.name == "phone":
        return _phone(raw)
    if col.name == "email":
        return f"lower({raw})"
    if table == "consents" and col.name == "contact_point":
        return (f"case when lower(channel__raw) = 'email' then lower({raw}) "
                f"when lower(channel__raw) in {PHONE_CHANNELS} then {_phone(raw)} else {raw} end")
    if col.type == "VARCHAR":
        return raw
    return f"try_cast({raw} as {col.type})"


def typed_sql(table: str) -> str:
    """`ingest_typed_<table>`: one row per source row; typed, normalised contract columns,
    each beside its trimmed source text `<col>__raw`, plus `_payload` (hash of the typed row)."""
    cols = TABLES[table].columns
    raws = ", ".join(f"nullif(trim({c.name}), '') as {c.name}__raw" for c in cols)
    typed = ", ".join(f"{_normalised(table, c)} as {c.name}" for c in cols)
    return f"""
create or replace temp table ingest_typed_{table} as
with src as (select _source_row, {raws} from ingest_src_{table}),
typed as (select *, {typed} from src)
select *, {payload_sql(table)} as _payload from typed
"""


def payload_sql(table: str, alias: str = "") -> str:
    """Expression hashing a row's contract columns. Payloads are only compared between rows
    of the same key, so a 64-bit hash is enough to tell an exact duplicate from a conflict."""
    prefix = f"{alias}." if alias else ""
    return f"hash({', '.join(prefix + c.name for c in TABLES[table].columns)})"


def failures_sql(table: str) -> str:
    """`ingest_fail_<table>`: one row per failing source row and rule (row rules only)."""
    parts = [
        f"select t._source_row, '{r.column}' as column_name, '{r.rule_id}' as rule_id, "
        f"'{_quote(r.description)}' as reason from ingest_typed_{table} t where {r.predicate}"
        for r in rules_for(table) if r.predicate is not None
    ]
    return f"create or replace temp table ingest_fail_{table} as\n" + "\nunion all\n".join(parts)


def classify_sql(table: str) -> str:
    """`ingest_class_<table>`: one row per rule-passing source row with its fate:
    accepted, duplicate (same key and payload, in the file or warehouse) or key_conflict."""
    key = TABLES[table].key
    return f"""
create or replace temp table ingest_class_{table} as
with passing as (
    select t._source_row, t.{key} as key, t._payload
    from ingest_typed_{table} t
    where not exists (select 1 from ingest_fail_{table} f where f._source_row = t._source_row)
),
in_file as (
    select key, count(distinct _payload) as n_payloads, min(_source_row) as first_row
    from passing group by key
),
in_warehouse as (
    select r.{key} as key, {payload_sql(table, 'r')} as _payload
    from raw_{table} r where r.{key} in (select key from passing)
),
final as (
    select
        p._source_row,
        p.key,
        case
            when w.key is not null and w._payload = p._payload then 'duplicate'
            when w.key is not null then 'key_conflict'
            when f.n_payloads > 1 then 'key_conflict'
            when p._source_row > f.first_row then 'duplicate'
            else 'accepted'
        end as fate,
        case
            when w.key is not null then 'key already loaded with a different payload'
            else 'key repeats in the file with different payloads'
        end as conflict_reason,
    from passing p
    join in_file f on f.key = p.key
    left join in_warehouse w on w.key = p.key
)
select * from final
"""


def quarantine_sql(table: str) -> str:
    """Insert rule failures and key conflicts into `quarantine`, personal values redacted."""
    cols = TABLES[table].columns
    record = ", ".join(
        f"{c.name} := case when t.{c.name}__raw is null then null else '<redacted>' end"
        if c.name in PERSONAL_COLUMNS else f"{c.name} := t.{c.name}__raw"
        for c in cols
    )
    key = TABLES[table].key
    return f"""
insert into quarantine
with fails as (
    select _source_row, column_name, rule_id, reason from ingest_fail_{table}
    union all
    select _source_row, '{key}', 'key_conflict', conflict_reason
    from ingest_class_{table} where fate = 'key_conflict'
)
select $load_id, '{table}', $source_file, f._source_row, f.column_name, f.rule_id, f.reason,
       to_json(struct_pack({record}))::varchar
from fails f join ingest_typed_{table} t on t._source_row = f._source_row
"""


def insert_raw_sql(table: str) -> str:
    """Append the accepted rows to `raw_<table>` with their audit columns."""
    names = [c.name for c in TABLES[table].columns]
    return f"""
insert into raw_{table} ({', '.join(names)}, _load_id, _arrived_at, _source_file, _source_row)
select {', '.join('t.' + n for n in names)}, $load_id, $arrived_at, $source_file, t._source_row
from ingest_typed_{table} t
join ingest_class_{table} c on c._source_row = t._source_row and c.fate = 'accepted'
order by t._source_row
"""


def duplicates_sql(table: str) -> str:
    """Record exact duplicates in `duplicate_audit` (one row per duplicate source row)."""
    return f"""
insert into duplicate_audit
select $load_id, '{table}', $source_file, _source_row, key
from ingest_class_{table} where fate = 'duplicate'
"""


def _quote(text: str) -> str:
    return text.replace("'", "''")


def drop_temp_sql(table: str) -> list[str]:
    return [f"drop table if exists ingest_{step}_{table}" for step in ("src", "typed", "fail", "class")]
