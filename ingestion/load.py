"""`load_delivery`: one delivery folder in, typed raw tables + quarantine + audit out.

The whole delivery loads in one DuckDB transaction: a contract error leaves the warehouse
as it was. Tables load in LOAD_ORDER so a child's reference rules see this delivery's
accepted parents.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from recobro.contract import LOAD_ORDER, create_raw_tables
from recobro.warehouse import read_sql

from ingestion import compile as sql
from ingestion.files import DeliveryFile, delivery_files, stage_file
from ingestion.summary import LoadSummary, TableLoad

SQL_DIR = Path(__file__).parent / "sql"
log = logging.getLogger(__name__)


def load_id_for(files: list[DeliveryFile]) -> str:
    """Deterministic id of a load: the same files (by content) give the same id."""
    text = "\n".join(f"{f.table}:{f.sha256}" for f in sorted(files, key=lambda f: f.table))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def create_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw_<name> tables and the audit tables if they do not exist."""
    create_raw_tables(con)
    con.execute(read_sql(SQL_DIR / "audit_tables.sql"))


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    delivery_dir: Path,
    arrived_at: datetime | None = None,
    validate: bool = True,
) -> LoadSummary:
    """Load one delivery folder into the warehouse.

    Input: a folder with any of the seven input tables as `<name>.csv` / `<name>.parquet`.
    Output tables: `raw_<name>` (one row per accepted source row), `quarantine` (one row per
    rejected row and rule), `duplicate_audit` (one row per exact duplicate), `load_audit`
    (one row per load x table), `data_quality_holds` (one row per account with a quarantined
    money row), and with `validate=True` `ge_results` (one row per load x expectation).
    A delivery whose files were all loaded before (same load_id) is skipped.
    Raises `ContractError` when a file breaks the schema contract; nothing is loaded then.
    """
    delivery_dir = Path(delivery_dir)
    files, unknown = delivery_files(delivery_dir)
    load_id = load_id_for(files)
    arrived_at = _as_utc(arrived_at or datetime.now(timezone.utc))
    con.execute("set timezone = 'UTC'")
    create_ingest_tables(con)
    for name in unknown:
        log.warning("delivery %s: ignoring unknown file %s", delivery_dir.name, name)

    previous = previous_load(con, load_id, delivery_dir.name, unknown)
    if previous is not None:
        log.info("load %s already loaded; skipping delivery %s", load_id, delivery_dir.name)
        return previous

    con.begin()
    try:
        tables = [load_table(con, f, load_id, arrived_at, delivery_dir.name) for f in files]
        con.execute(read_sql(SQL_DIR / "data_quality_holds.sql"), {"load_id": load_id, "arrived_at": arrived_at})
        holds = int(con.execute("select count(*) from data_quality_holds where load_id = ?", [load_id])
                    .fetchall()[0][0])
        ge_failures = None
        if validate:
            from ingestion.expectations import validate_load

            ge_failures = validate_load(con, load_id, [t.table for t in tables])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    summary = LoadSummary(load_id, delivery_dir.name, "loaded", tables, unknown, holds, ge_failures)
    log.info("%s", summary)
    return summary


def load_table(con: duckdb.DuckDBPyConnection, f: DeliveryFile, load_id: str,
               arrived_at: datetime, delivery: str) -> TableLoad:
    """Judge and load one table file; returns its counts (also written to `load_audit`)."""
    source_file = f"{delivery}/{f.path.name}"
    _, rows_in = stage_file(con, f)
    for statement in (sql.typed_sql, sql.failures_sql, sql.classify_sql):
        con.execute(statement(f.table))
    params = {"load_id": load_id, "source_file": source_file}
    con.execute(sql.quarantine_sql(f.table), params)
    con.execute(sql.duplicates_sql(f.table), params)
    con.execute(sql.insert_raw_sql(f.table), {**params, "arrived_at": arrived_at})
    accepted, quarantined, duplicate = con.execute(
        read_sql(SQL_DIR / "load_counts.sql").format(table=f.table)).fetchall()[0]
    result = TableLoad(f.table, source_file, f.sha256, rows_in, int(accepted), int(quarantined), int(duplicate))
    if not result.reconciles:
        raise RuntimeError(f"ingestion bug: counts of {source_file} do not reconcile: {result}")
    con.execute(
        "insert into load_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded')",
        [load_id, delivery, f.table, source_file, f.sha256, result.rows_in, result.rows_accepted,
         result.rows_quarantined, result.rows_duplicate, arrived_at],
    )
    for statement in sql.drop_temp_sql(f.table):
        con.execute(statement)
    return result


def previous_load(con: duckdb.DuckDBPyConnection, load_id: str, delivery: str,
                  unknown: list[str]) -> LoadSummary | None:
    """The summary of an earlier load with this load_id, marked `skipped`; None if there is none."""
    rows = con.execute(
        "select table_name, source_file, file_sha256, rows_in, rows_accepted, rows_quarantined, rows_duplicate "
        "from load_audit where load_id = ? and status = 'loaded'",
        [load_id],
    ).fetchall()
    if not rows:
        return None
    tables = sorted((TableLoad(*r) for r in rows), key=lambda t: LOAD_ORDER.index(t.table))
    holds = int(con.execute("select count(*) from data_quality_holds where load_id = ?", [load_id]).fetchall()[0][0])
    return LoadSummary(load_id, delivery, "skipped", tables, unknown, holds)


def _as_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("arrived_at must be timezone-aware (a naive time is ambiguous)")
    return ts.astimezone(timezone.utc)
