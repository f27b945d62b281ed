"""Generate the per-table SQL of a load from the contract and the rule list.

Every statement is set-based; temp tables are named `ingest_<step>_<table>` and live only for
the load's transaction. A table's rows to judge are this delivery's rows (`_is_new`) plus the
rows still waiting in `pending_<table>` for a parent; `_rid` numbers them within the load.
"""

from __future__ import annotations

import re

from recobro.contract import PERSONAL_COLUMNS, TABLES, Column

from ingestion.rules import PARENT_RULES, PHONE_CHANNELS, rules_for

_PARENT = "(" + ", ".join(f"'{r}'" for r in PARENT_RULES) + ")"
META = "_load_id, _source_file, _source_row, _arrived_at"


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
        channel = source_text(table, "channel")
        return (f"case when lower({channel}) = 'email' then lower({raw}) "
                f"when lower({channel}) in {PHONE_CHANNELS} then {_phone(raw)} else {raw} end")
    if col.type == "VARCHAR":
        return raw
    return f"try_cast({raw} as {col.type})"


def _plain(table: str, col: Column) -> bool:
    """A VARCHAR column kept as its trimmed text: its typed value *is* its source text."""
    return col.type == "VARCHAR" and _normalised(table, col) == f"{col.name}__raw"


def source_text(table: str, column: str) -> str:
    """The column of `ingest_typed_<table>` holding `column`'s trimmed source text."""
    col = next(c for c in TABLES[table].columns if c.name == column)
    return column if _plain(table, col) else f"{column}__raw"


def _predicate(table: str, predicate: str) -> str:
    # plain text columns are stored once, under their contract name
    for col in TABLES[table].columns:
        if _plain(table, col):
            predicate = predicate.replace(f"t.{col.name}__raw", f"t.{col.name}")
    return predicate


def pending_ddl(table: str) -> str:
    """`pending_<table>`: rows waiting for a parent, as canonical source text, with their origin."""
    cols = ", ".join(f"{c.name} varchar" for c in TABLES[table].columns)
    return (f"create table if not exists pending_{table} (_load_id varchar, _source_file varchar, "
            f"_source_row bigint, _arrived_at timestamptz, {cols})")


def _trimmed(expr: str) -> str:
    """`nullif(trim(expr), '')`, calling trim only where it can change the text. DuckDB's trim
    strips Unicode space separators (all non-ASCII except ' ') and walks and copies every string:
    it cost more than parsing the file. Pure-ASCII text (strlen = length) holding no space is
    returned as it is; the test is two cheap scans."""
    needs_trim = f"contains({expr}, ' ') or strlen({expr}) <> length({expr})"
    return f"nullif(case when {needs_trim} then trim({expr}) else {expr} end, '')"


def _row_rules(table: str):
    """The rules of `table` that a row can fail on its own, in the bit order of `_fails`."""
    rules = [r for r in rules_for(table) if r.predicate is not None]
    assert len(rules) < 63, f"{table}: the rule bitmask holds at most 62 rules"
    return rules


def _needs_lookup(predicate: str) -> bool:
    """A predicate that reads another table or a value list (DuckDB plans those as joins)."""
    return re.search(r"\bin\s*\(|\bexists\b|\bselect\b", predicate, re.IGNORECASE) is not None


def _fail_bits(table: str, lookup: bool) -> str:
    """`_fails` bits of the scan rules (lookup=False) or of the lookup rules (lookup=True)."""
    return " | ".join(f"(case when {_predicate(table, r.predicate)} then {1 << i} else 0 end)"
                      for i, r in enumerate(_row_rules(table)) if _needs_lookup(r.predicate) == lookup) or "0"


def _row_columns(table: str) -> str:
    """The contract columns of a judged row, each typed column with its source text beside it."""
    return ", ".join(c.name if _plain(table, c) else f"{c.name}__raw, {c.name}" for c in TABLES[table].columns)


def _judged_select(table: str, source: str, origin_cols: str = "") -> str:
    """Rows of `source` typed and judged by the scan rules: a projection with no join, so a table
    filled from it keeps the source's row order. `origin_cols` are carried over from the source
    (a pending row's load, file, row and arrival); a new row has none: its origin is this load's."""
    cols = TABLES[table].columns
    raws = ", ".join(f"{_trimmed(c.name)} as {source_text(table, c.name)}" for c in cols)
    typed = ", ".join(f"{_normalised(table, c)} as {c.name}" for c in cols if not _plain(table, c))
    kept = ", ".join(c.name if _plain(table, c)
                     else f"case when _fails <> 0 then {c.name}__raw end as {c.name}__raw, {c.name}" for c in cols)
    carried = f"{origin_cols}, " if origin_cols else ""
    return f"""
with src as (select {carried}{raws} from {source}),
typed as (select *, {typed} from src),
judged as (select *, ({_fail_bits(table, lookup=False)})::bigint as _fails from typed t)
select {carried}{kept}, _fails from judged"""


def typed_scan_sql(table: str) -> str:
    """`ingest_rows_<table>` from one scan of the file (`ingest_src_<table>`), typed and judged by
    the scan rules. The scan has no join, so the table keeps the file's order and a row's rowid
    gives its data row in the file (DuckDB's rowid is the materialised row_number()); that is why
    no staged copy of the file is needed to number its rows. `typed_sql` completes the table."""
    return f"create or replace temp table ingest_rows_{table} as {_judged_select(table, f'ingest_src_{table}')}"


def typed_sql(table: str, first_rowid: int, pending: bool = True) -> list[str]:
    """Statements completing `typed_scan_sql`'s table and exposing it as view `ingest_typed_<table>`:
    the rows still waiting in `pending_<table>` are typed into `ingest_waiting_<table>`; rules that
    look something up (parents, value lists, time-zone names), which DuckDB plans as joins that
    reorder rows, are applied to both by an update of the failing rows; `first_rowid` is the
    scanned table's first rowid; `pending=False` (nothing waits) skips the update of the empty
    `ingest_waiting_<table>`, which would still hash every parent key.

    Columns of the view: `_rid` (the file row for this delivery's rows, negative for pending rows),
    `_is_new`, origin columns (null for this delivery's rows: see `origin`), typed and normalised
    contract columns; `_fails`, a bitmask of the row rules the row fails (bit i = rule i of
    `_row_rules`, 0 for a clean row; `failures_sql` unpacks it); `<col>__raw`, the trimmed source
    text of each typed column, kept only where a scan rule failed (otherwise the typed value
    stands in for it, see `_record`); plain text columns appear once (see `source_text`). A row's
    payload hash (`payload_sql`) is computed only where it is compared (`classify_sql`).
    """
    rows, waiting = f"ingest_rows_{table}", f"ingest_waiting_{table}"
    position = f"(rowid - {int(first_rowid)} + 1)"
    lookups = _fail_bits(table, lookup=True)
    statements = [f"create or replace temp table {waiting} as {_judged_select(table, f'pending_{table}', META)}"]
    if lookups != "0":
        statements += [f"""
update {t} set _fails = {t}._fails | failing.bits
from (select rowid as row_id, ({lookups})::bigint as bits from {t} t) as failing
where failing.bits <> 0 and {t}.rowid = failing.row_id""" for t in ((rows, waiting) if pending else (rows,))]
    columns = _row_columns(table)
    statements.append(f"""
create or replace temp view ingest_typed_{table} as
select {position} as _rid, true as _is_new, null::varchar as _load_id, null::varchar as _source_file,
       {position} as _source_row, null::timestamptz as _arrived_at, {columns}, _fails
from {rows}
union all
select -(rowid + 1) as _rid, false as _is_new, {META}, {columns}, _fails
from {waiting}""")
    return statements


def origin(column: str, alias: str = "t") -> str:
    """A row's load, file or arrival: its own for a pending row, this load's for a new one."""
    param = {"_load_id": "$load_id", "_source_file": "$source_file", "_arrived_at": "$arrived_at"}[column]
    return f"coalesce({alias}.{column}, {param})"


def payload_sql(table: str, alias: str = "") -> str:
    """Expression hashing a row's contract columns. Payloads are only compared between rows
    of the same key, so a 64-bit hash is enough to tell an exact duplicate from a conflict."""
    prefix = f"{alias}." if alias else ""
    return f"hash({', '.join(prefix + c.name for c in TABLES[table].columns)})"


def failures_sql(table: str) -> str:
    """`ingest_fail_<table>`: one row per failing row and rule (row rules only), unpacked from
    the `_fails` bitmask of `ingest_typed_<table>`; clean rows (the vast majority) are skipped."""
    rules = _row_rules(table)
    meta = ", ".join(f"({i}, '{r.column}', '{r.rule_id}', '{_quote(r.description)}')"
                     for i, r in enumerate(rules)) or "(0, '', '', '')"
    # each failing row lists its set bits, then joins the rules on that number (a key join)
    return f"""
create or replace temp table ingest_fail_{table} as
with failing as (
    select _rid, unnest(list_filter(range({max(len(rules), 1)}), lambda i: (_fails >> i) & 1 = 1)) as rule_no
    from ingest_typed_{table}
    where _fails <> 0
),
rules (rule_no, column_name, rule_id, reason) as (values {meta})
select f._rid, r.column_name, r.rule_id, r.reason
from failing f
inner join rules r on r.rule_no = f.rule_no
"""


def classify_sql(table: str) -> str:
    """`ingest_class_<table>`: one row per row to judge that is NOT simply accepted, with its fate:
    duplicate (same key and payload, in the load or warehouse), key_conflict, pending (waits for
    a parent) or quarantined. Every other row of `ingest_typed_<table>` is accepted; keeping only
    the exceptions keeps this table small. `in_warehouse` marks keys already in raw_<table>;
    `moves_raw` marks keys whose warehouse row is now in conflict and leaves raw_<table>. Payloads
    are hashed only for the rows whose key repeats or is known: after the joins that find them."""
    key = TABLES[table].key
    payload = payload_sql(table, "passing")
    return f"""
create or replace temp table ingest_class_{table} as
with failed as (
    select _rid, bool_and(rule_id in {_PARENT}) as only_parent from ingest_fail_{table} group by _rid
),
passing as not materialized (
    select t.*, t.{key} as key
    from ingest_typed_{table} t anti join failed f on f._rid = t._rid
),
-- keys that repeat: found first by a 64-bit hash (grouping integers is several times cheaper
-- than grouping strings), then confirmed on the key itself among those few candidates
repeated_hash as (
    select hash(key) as h from passing group by h having count(*) > 1
),
repeated as (
    select key, min({payload}) <> max({payload}) as differs, min(_rid) as first_rid
    from passing semi join repeated_hash r on r.h = hash(passing.key)
    group by key having count(*) > 1
),
in_warehouse as (
    select r.{key} as key, {payload_sql(table, 'r')} as _payload
    from raw_{table} r semi join passing p on p.key = r.{key}
),
conflicted as (
    select k.key from key_conflicts k semi join passing p on p.key = k.key where k.table_name = '{table}'
),
judged as (
    select
        p._rid,
        p._is_new,
        p.key,
        case
            when c.key is not null then 'key_conflict'
            when w.key is not null and w._payload = {payload_sql(table, 'p')} then 'duplicate'
            when w.key is not null then 'key_conflict'
            when f.differs then 'key_conflict'
            when p._rid > f.first_rid then 'duplicate'
            else 'accepted'
        end as fate,
        case
            when c.key is not null then 'key is in conflict: it was delivered with different payloads'
            when w.key is not null then 'key already loaded with a different payload: both versions quarantined'
            else 'key repeats in the load with different payloads'
        end as conflict_reason,
        w.key is not null as in_warehouse,
        c.key is null and w.key is not null and w._payload <> {payload_sql(table, 'p')} as moves_raw,
    from passing p
    left join repeated f on f.key = p.key
    left join in_warehouse w on w.key = p.key
    left join conflicted c on c.key = p.key
    where f.key is not null or w.key is not null or c.key is not null
),
final as (
    select * from judged where fate <> 'accepted'
    union all
    select f._rid, t._is_new, null, case when f.only_parent then 'pending' else 'quarantined' end, null, false, false
    from failed f join ingest_typed_{table} t on t._rid = f._rid
)
select * from final
"""


def _record(table: str, alias: str, from_typed: bool) -> str:
    """JSON of a row's source text (from ingest_typed) or values (from raw) with personal values
    redacted. A row that failed no scan rule (quarantined for a lookup rule or a key conflict) kept
    no source text: its typed values, which that text parsed to, stand in for it."""
    parts = []
    for c in TABLES[table].columns:
        text = source_text(table, c.name)
        value = (f"{alias}.{c.name}::varchar" if not from_typed
                 else f"{alias}.{text}" if text == c.name else f"coalesce({alias}.{text}, {alias}.{c.name}::varchar)")
        parts.append(f"{c.name} := case when {value} is null then null else '<redacted>' end"
                     if c.name in PERSONAL_COLUMNS else f"{c.name} := {value}")
    return f"to_json(struct_pack({', '.join(parts)}))::varchar"


def quarantine_sql(table: str) -> str:
    """Insert into `quarantine`: every failure of this delivery's rows; for re-judged pending rows,
    their new non-parent failures; every key conflict. Personal values are redacted."""
    key = TABLES[table].key
    return f"""
insert into quarantine
with fails as (
    select f._rid, f.column_name, f.rule_id, f.reason
    from ingest_fail_{table} f
    join ingest_typed_{table} t on t._rid = f._rid
    join ingest_class_{table} c on c._rid = f._rid
    where t._is_new or (c.fate = 'quarantined' and f.rule_id not in {_PARENT})
    union all
    select _rid, '{key}', 'key_conflict', conflict_reason
    from ingest_class_{table} where fate = 'key_conflict'
)
select $load_id, '{table}', {origin('_source_file')}, t._source_row, f.column_name, f.rule_id, f.reason,
       {_record(table, 't', True)}
from fails f join ingest_typed_{table} t on t._rid = f._rid
"""


def conflict_sql(table: str) -> list[str]:
    """Keys delivered with two payloads: the warehouse version joins the new one in quarantine,
    leaves raw_<table>, and the key is listed in `key_conflicts` so no later version wins."""
    key = TABLES[table].key
    moving = f"select key from ingest_class_{table} where moves_raw"
    return [
        f"""insert into quarantine
select $load_id, '{table}', r._source_file, r._source_row, '{key}', 'key_conflict',
       'key delivered again with a different payload: both versions quarantined', {_record(table, 'r', False)}
from raw_{table} r where r.{key} in ({moving})""",
        f"""insert into key_conflicts
select distinct '{table}', key, $load_id from ingest_class_{table}
where fate = 'key_conflict' and key not in (select key from key_conflicts where table_name = '{table}')""",
        f"delete from raw_{table} where {key} in ({moving})",
    ]


def pending_sql(table: str) -> list[str]:
    """Rewrite `pending_<table>` with the rows still waiting; log the ones that stopped waiting."""
    # a waiting row failed only parent rules, so it kept no source text: its typed values, which
    # that text parsed to, are written as canonical text (they parse back to the same values)
    cols = ", ".join(f"t.{c.name}" if _plain(table, c) else f"coalesce(t.{c.name}__raw, t.{c.name}::varchar)"
                     for c in TABLES[table].columns)
    return [
        f"""insert into pending_resolutions
select '{table}', {origin('_load_id')}, {origin('_source_file')}, t._source_row, $load_id, coalesce(c.fate, 'accepted')
from ingest_typed_{table} t left join ingest_class_{table} c on c._rid = t._rid
where not t._is_new and coalesce(c.fate, 'accepted') <> 'pending'""",
        f"delete from pending_{table}",
        f"""insert into pending_{table}
select {origin('_load_id')}, {origin('_source_file')}, t._source_row, {origin('_arrived_at')}, {cols}
from ingest_typed_{table} t join ingest_class_{table} c on c._rid = t._rid and c.fate = 'pending'""",
    ]


def insert_raw_sql(table: str) -> str:
    """Append the accepted rows to `raw_<table>` with their audit columns (a released pending row
    keeps the load, file, row and arrival time it came with)."""
    names = [c.name for c in TABLES[table].columns]
    return f"""
insert into raw_{table} ({', '.join(names)}, _load_id, _arrived_at, _source_file, _source_row)
select {', '.join('t.' + n for n in names)}, {origin('_load_id')}, {origin('_arrived_at')}, {origin('_source_file')},
       t._source_row
from ingest_typed_{table} t
anti join ingest_class_{table} c on c._rid = t._rid
"""


def duplicates_sql(table: str) -> str:
    """Record exact duplicates in `duplicate_audit` (one row per duplicate row)."""
    return f"""
insert into duplicate_audit
select $load_id, '{table}', {origin('_source_file')}, t._source_row, c.key
from ingest_class_{table} c join ingest_typed_{table} t on t._rid = c._rid
where c.fate = 'duplicate'
"""


def _quote(text: str) -> str:
    return text.replace("'", "''")


def drop_temp_sql(table: str) -> list[str]:
    return [f"drop view if exists ingest_src_{table}", f"drop view if exists ingest_typed_{table}"] + [
        f"drop table if exists ingest_{step}_{table}" for step in ("rows", "waiting", "fail", "class")]
