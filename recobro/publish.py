"""Publish a day's decisions: `work_*` tables become the output contract tables in one transaction.

Readers (the dispatcher, analysts) never see a half-written as_of: the delete and insert of all
four tables commit together. Parquet exports are written to a temporary name and renamed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from recobro.settings import Settings
from recobro.warehouse import table_exists

PUBLISHED_TABLES = ("scores", "segments", "next_best_actions", "suppressions")


class PublishError(RuntimeError):
    """The work tables for an as_of are missing or disagree with it."""


@dataclass
class PublishSummary:
    as_of: date
    rows: dict[str, int] = field(default_factory=dict)
    exports: dict[str, Path] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"published as_of {self.as_of}:"]
        lines += [f"  {name:<18} {n:>9,} rows  -> {self.exports.get(name, '')}" for name, n in self.rows.items()]
        return "\n".join(lines)


def _check_work_tables(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    for name in PUBLISHED_TABLES:
        work = f"work_{name}"
        if not table_exists(con, work):
            raise PublishError(f"cannot publish as_of {as_of}: table {work} is missing (run score and decide first)")
        other = con.execute(f"select count(*) from {work} where as_of is distinct from ?", [as_of]).fetchall()[0][0]
        if other:
            raise PublishError(f"cannot publish as_of {as_of}: {work} holds {other} rows for another as_of")
    if not con.execute("select count(*) from work_scores").fetchall()[0][0]:
        raise PublishError(f"cannot publish as_of {as_of}: work_scores is empty")


def _add_new_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Columns that work_<name> has and the published table lacks (a newer release) are added, null
    for earlier as_of dates; columns are never dropped or retyped."""
    have = {r[0] for r in con.execute(f"describe {name}").fetchall()}
    for column, type_, *_ in con.execute(f"describe work_{name}").fetchall():
        if column not in have:
            con.execute(f'alter table {name} add column "{column}" {type_}')


def publish(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date) -> PublishSummary:
    """Replace the as_of rows of scores, segments, next_best_actions and suppressions atomically.

    Input: work_<table> for as_of. Output: the four published tables (grain as in DESIGN.md §4)
    and `<exports_dir>/<as_of>/<table>.parquet`.
    """
    _check_work_tables(con, as_of)
    summary = PublishSummary(as_of=as_of)
    con.execute("begin transaction")
    try:
        for name in PUBLISHED_TABLES:
            con.execute(f"create table if not exists {name} as select * from work_{name} limit 0")
            _add_new_columns(con, name)
            con.execute(f"delete from {name} where as_of = ?", [as_of])
            con.execute(f"insert into {name} by name select * from work_{name}")
            summary.rows[name] = con.execute(f"select count(*) from {name} where as_of = ?", [as_of]).fetchall()[0][0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    summary.exports = export_parquet(con, settings, as_of)
    return summary


def export_parquet(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date) -> dict[str, Path]:
    """Write each published table's as_of rows to `<exports_dir>/<as_of>/<table>.parquet`."""
    out_dir = Path(settings.exports_dir) / as_of.isoformat()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in PUBLISHED_TABLES:
        final = out_dir / f"{name}.parquet"
        tmp = out_dir / f".{name}.parquet.tmp"
        # a total order so the same table gives the same file on every run
        con.execute(
            f"copy (select * from {name} where as_of = ? order by all) to '{tmp}' (format parquet)",
            [as_of],
        )
        os.replace(tmp, final)
        written[name] = final
    return written
