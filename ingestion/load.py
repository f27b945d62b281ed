"""`load_delivery`: one delivery folder in, typed raw tables + quarantine + audit out.

The whole delivery loads in one DuckDB transaction: a contract error or a failed batch rule
leaves the warehouse as it was, and so does a crash (readers never see half a delivery).
Tables load in LOAD_ORDER so a child's reference rules see this delivery's accepted parents;
rows still waiting for a parent from an earlier load are judged again with every load, which
makes the final tables independent of the order deliveries arrive in.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from recobro.contract import LOAD_ORDER, create_raw_tables
from recobro.warehouse import read_sql, row_count

from ingestion import compile as sql
from ingestion.batch import BatchCheck, BatchThresholds, raise_if_failed, record_checks, table_checks
from ingestion.errors import BatchRuleError, ContractError
from ingestion.files import DeliveryFile, delivery_files, empty_stage, file_sha256, read_error, stage_file
from ingestion.manifest import MANIFEST_NAME, Manifest, delivery_manifest
from ingestion.persons import customer_persons
from ingestion.summary import LoadSummary, TableLoad

SQL_DIR = Path(__file__).parent / "sql"
log = logging.getLogger(__name__)


def load_id_for(files: list[DeliveryFile], manifest_sha: str = "") -> str:
    """Deterministic id of a load: the same files (by content) and manifest give the same id."""
    text = "\n".join(f"{f.table}:{f.sha256}" for f in sorted(files, key=lambda f: f.table))
    text += f"\nmanifest:{manifest_sha}" if manifest_sha else ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def create_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw_<name>, pending_<name> and audit tables if they do not exist."""
    create_raw_tables(con)
    for name in LOAD_ORDER:
        con.execute(sql.pending_ddl(name))
    con.execute(read_sql(SQL_DIR / "audit_tables.sql"))


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    delivery_dir: Path,
    arrived_at: datetime | None = None,
    validate: bool = True,
    *,
    thresholds: BatchThresholds | None = None,
    data_docs_dir: Path | None = None,
) -> LoadSummary:
    """Load one delivery folder into the warehouse.

    Input: a folder with any of the seven input tables as `<name>.csv` / `<name>.parquet`, and
    optionally `delivery.yaml` (see `ingestion.manifest`). Output tables: `raw_<name>` (one row
    per accepted row), `quarantine` (one row per rejected row and rule), `pending_<name>` (rows
    waiting for a parent), `duplicate_audit`, `key_conflicts`, `load_audit` (one row per load x
    table), `batch_rule_results`, `data_quality_holds` (one row per account with a quarantined
    money row), `customer_persons` (one row per customer), and with `validate=True`
    `ge_results` (one row per load x expectation) plus Data Docs in `data_docs_dir` if given.
    A delivery whose files were all loaded before (same load_id) is skipped.
    Raises `ContractError` (a file breaks the contract) or `BatchRuleError` (the delivery fails
    a batch rule, thresholds from `thresholds`); nothing is loaded then.
    """
    delivery_dir = Path(delivery_dir)
    files, unknown = delivery_files(delivery_dir)
    manifest = delivery_manifest(delivery_dir)
    manifest_path = delivery_dir / MANIFEST_NAME
    load_id = load_id_for(files, file_sha256(manifest_path) if manifest_path.is_file() else "")
    arrived_at = _as_utc(arrived_at or datetime.now(timezone.utc))
    limits = thresholds or BatchThresholds()
    con.execute("set timezone = 'UTC'")
    con.execute("set preserve_insertion_order = true")  # source rows are numbered by insertion order
    create_ingest_tables(con)
    for name in unknown:
        log.warning("delivery %s: ignoring unknown file %s", delivery_dir.name, name)

    previous = previous_load(con, load_id, delivery_dir.name, unknown)
    if previous is not None:
        log.info("load %s already loaded; skipping delivery %s", load_id, delivery_dir.name)
        return previous

    if validate:
        from ingestion.expectations import start_import

        ge_import = start_import()  # overlaps the SQL below
    checks: list[BatchCheck] = []
    con.begin()
    try:
        summary = _load_tables(con, files, manifest, load_id, arrived_at, delivery_dir.name, limits, checks)
        summary.unknown_files = unknown
        raise_if_failed(delivery_dir.name, checks)
        record_checks(con, load_id, delivery_dir.name, checks, arrived_at)
        con.execute(read_sql(SQL_DIR / "data_quality_holds.sql"), {"load_id": load_id, "arrived_at": arrived_at})
        summary.data_quality_holds = row_count(con, "data_quality_holds", "load_id = ?", [load_id])
        if any(t.table == "customers" for t in summary.tables):
            customer_persons(con)
        if validate:
            from ingestion.expectations import validate_load

            ge_import.join()
            summary.ge_failures = validate_load(con, load_id, [t.table for t in summary.tables], data_docs_dir)
        con.commit()
    except BatchRuleError:
        con.rollback()
        con.begin()
        record_checks(con, load_id, delivery_dir.name, checks, arrived_at)
        con.commit()
        raise
    except BaseException:
        con.rollback()
        raise
    log.info("%s", summary)
    return summary


def _load_tables(con, files: list[DeliveryFile], manifest: Manifest, load_id: str, arrived_at: datetime,
                 delivery: str, limits: BatchThresholds, checks: list[BatchCheck]) -> LoadSummary:
    by_table = {f.table: f for f in files}
    summary = LoadSummary(load_id, delivery, "loaded")
    for name in LOAD_ORDER:
        f = by_table.get(name)
        if f is None:
            if not row_count(con, f"pending_{name}"):
                continue
            empty_stage(con, name)
            source_file = None
        else:
            source_file = f"{delivery}/{f.path.name}"
            stage_file(con, f, manifest)
        counts = judge_table(con, name, load_id, source_file, arrived_at, f, manifest)
        summary.released[name], summary.pending[name] = counts["rows_released"], row_count(con, f"pending_{name}")
        if f is not None:
            result = TableLoad(name, source_file, f.sha256, counts["rows_in"], counts["rows_accepted"],
                               counts["rows_quarantined"], counts["rows_duplicate"], counts["rows_pending"],
                               counts["rows_released"])
            if not result.reconciles:
                raise RuntimeError(f"ingestion bug: counts of {source_file} do not reconcile: {result}")
            checks += table_checks(con, name, source_file, result.rows_in, counts["rows_duplicate_in_file"],
                                   counts["rows_rejected_all"] > 0, arrived_at, limits)
            _audit(con, result, load_id, delivery, arrived_at)
            summary.tables.append(result)
        con.execute(";\n".join(sql.drop_temp_sql(name)))
    return summary


def judge_table(con: duckdb.DuckDBPyConnection, table: str, load_id: str, source_file: str | None,
                arrived_at: datetime, f: DeliveryFile | None = None, manifest: Manifest = Manifest()) -> dict[str, int]:
    """Judge the staged rows of one table plus its pending rows; write raw, quarantine, pending,
    duplicate and conflict tables. Returns the counts of `sql/load_counts.sql`."""
    params = {"load_id": load_id, "source_file": source_file, "arrived_at": arrived_at}
    try:
        con.execute(sql.typed_scan_sql(table))  # reads the file, in file order
    except duckdb.Error as exc:
        if f is None:
            raise
        raise read_error(f, exc, manifest) from exc
    # rows were inserted in file order, so rowid - first + 1 is the data row (rowids of a table
    # created inside a transaction start at a large offset)
    first, last, n = con.execute(f"select min(rowid), max(rowid), count(*) from ingest_rows_{table}").fetchall()[0]
    if n and last - first + 1 != n:
        raise RuntimeError(f"ingestion bug: rowids of ingest_rows_{table} have gaps; source rows cannot be numbered")
    for statement in sql.typed_sql(table, first or 0, pending=row_count(con, f"pending_{table}") > 0):
        con.execute(statement)
    con.execute(sql.failures_sql(table))
    con.execute(sql.classify_sql(table))
    cursor = con.execute(read_sql(SQL_DIR / "load_counts.sql").format(table=table))
    counts = {d[0]: int(v) for d, v in zip(cursor.description, cursor.fetchall()[0])}
    if f is not None and counts["rows_in"] == 0:
        raise ContractError(f"{f.path.name}: header only, no data rows (table {table})")
    def run(statement: str) -> None:
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement} or None)

    if counts["rows_rejected_all"]:
        run(sql.quarantine_sql(table))
    if counts["rows_conflict"]:
        for statement in sql.conflict_sql(table):
            run(statement)
    if counts["rows_duplicate_all"]:
        run(sql.duplicates_sql(table))
    run(sql.insert_raw_sql(table))
    if counts["rows_pending_work"]:
        for statement in sql.pending_sql(table):
            run(statement)
    return counts


def _audit(con, result: TableLoad, load_id: str, delivery: str, arrived_at: datetime) -> None:
    con.execute(
        "insert into load_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded')",
        [load_id, delivery, result.table, result.source_file, result.file_sha256, result.rows_in,
         result.rows_accepted, result.rows_quarantined, result.rows_duplicate, arrived_at],
    )


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
    holds = row_count(con, "data_quality_holds", "load_id = ?", [load_id])
    return LoadSummary(load_id, delivery, "skipped", tables, unknown, holds)


def _as_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("arrived_at must be timezone-aware (a naive time is ambiguous)")
    return ts.astimezone(timezone.utc)
