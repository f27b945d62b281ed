"""Run the report's SQL files (`reports/sql/*.sql`) against the warehouse.

History is read from `stg_<name>` when that view exists and carries the needed columns,
else from `raw_<name>`. Only the non-personal columns listed in `HISTORY_COLUMNS` are ever
selected. Point in time is by event time, as in the feature SQL (contacts by `started_at`,
promises by `created_at`, ledger by `posted_at`/`effective_date` in each KPI file): the load
stamp `_arrived_at` is lineage only, since a first bulk load delivers years of history at once.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"

# column -> (type used when an optional column is absent, or None when required)
HISTORY_COLUMNS: dict[str, dict[str, str | None]] = {
    "contacts": {
        "account_id": None, "channel": None, "direction": None, "started_at": None,
        "outcome": None, "cost": "DECIMAL(18,4)",
    },
    "promises": {
        "promise_id": None, "account_id": None, "created_at": None,
        "promised_amount": None, "due_date": None, "channel": None,
    },
    "ledger": {
        "entry_id": None, "account_id": None, "posted_at": None, "effective_date": None,
        "entry_type": None, "amount": None, "reverses_entry_id": "VARCHAR",
    },
    "accounts": {
        "account_id": None, "currency": None, "placed_at": None, "principal": None,
    },
}

_PARAM = re.compile(r"\$([a-z_]+)")


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """Column names of a table or view in the main schema (empty set if it does not exist)."""
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_name = ? and table_schema = 'main'",
        [table],
    ).fetchall()
    return {r[0] for r in rows}


def has_table(con: duckdb.DuckDBPyConnection, table: str, required: set[str] | None = None) -> bool:
    """True when `table` exists and has every column in `required`."""
    cols = columns_of(con, table)
    return bool(cols) and (required or set()) <= cols


def history_relation(con: duckdb.DuckDBPyConnection, name: str, as_of: dt.date) -> str | None:
    """A parenthesised subquery over stg_/raw_<name> with only the report's columns, or None."""
    wanted = HISTORY_COLUMNS[name]
    required = {c for c, fallback in wanted.items() if fallback is None}
    for source in (f"stg_{name}", f"raw_{name}"):
        cols = columns_of(con, source)
        if not cols or not required <= cols:
            continue
        select = ", ".join(
            c if c in cols else f"cast(null as {fallback}) as {c}" for c, fallback in wanted.items()
        )
        return f"(select {select} from {source})"
    return None


def sql_relation(name: str, relations: dict[str, str]) -> str:
    """`reports/sql/<name>.sql` as a parenthesised subquery, its `{placeholders}` filled from `relations`."""
    return "(" + (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8").format_map(relations) + ")"


def run_sql(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict | None = None,
    relations: dict[str, str] | None = None,
) -> list[dict]:
    """Run `reports/sql/<name>.sql` and return its rows as dicts.

    `relations` fills `{placeholders}` with table names or subqueries; `params` binds the
    `$name` parameters the file actually uses.
    """
    sql = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    if relations:
        sql = sql.format_map(relations)
    used = set(_PARAM.findall(sql))
    bound = {k: v for k, v in (params or {}).items() if k in used}
    cur = con.execute(sql, bound)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
