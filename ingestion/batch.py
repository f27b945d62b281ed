"""Batch rules: checks on a whole delivery that stop the load before anything is published.

Row rules (`ingestion.rules`) quarantine single rows; a batch rule judges the delivery as a
whole: a column no row can parse (the file's schema is wrong), a table far smaller than the
previous delivery's, events from the future (a clock or time-zone error), too many exact
duplicates. Every check is written to `batch_rule_results`, also for rejected loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from ingestion.compile import source_text
from ingestion.errors import BatchRuleError

# The column whose newest value says how fresh a table's delivery is.
EVENT_TIME = {"ledger": "posted_at", "promises": "created_at", "contacts": "started_at"}


@dataclass(frozen=True)
class BatchThresholds:
    """Limits of the batch rules; the defaults only stop deliveries that are clearly broken.

    - `max_unparseable_share`: a column fails `schema_types` when more than this share of its
      non-empty values do not parse as the contract type (default: every value fails).
    - `min_row_ratio` / `row_ratio_min_previous`: `row_count` fails when a table has fewer than
      `min_row_ratio` x the rows of the previous delivery of that table, compared only when the
      previous delivery had at least `row_ratio_min_previous` rows (small deliveries vary).
    - `max_future`: `freshness` fails when the newest event is this far after the arrival time;
      `max_age`, when set, also fails deliveries whose newest event is older than that.
    - `max_duplicate_rate`: `duplicate_rate` fails when exact duplicates *within* the delivery
      exceed this share of a table's rows (re-sending rows loaded before is normal).
    """

    max_unparseable_share: float = 0.999999
    min_row_ratio: float = 0.1
    row_ratio_min_previous: int = 1000
    max_future: timedelta = timedelta(days=1)
    max_age: timedelta | None = None
    max_duplicate_rate: float = 0.5


@dataclass(frozen=True)
class BatchCheck:
    table: str
    rule_id: str
    observed: float | None
    threshold: float | None
    passed: bool
    detail: str


def table_checks(con: duckdb.DuckDBPyConnection, table: str, source_file: str, rows_in: int,
                 duplicates_in_file: int, any_failure: bool, arrived_at: datetime,
                 limits: BatchThresholds) -> list[BatchCheck]:
    """The batch checks of one staged table (reads `ingest_typed_<table>` and `ingest_fail_<table>`)."""
    schema = (_schema_types(con, table, source_file, limits) if any_failure else
              BatchCheck(table, "schema_types", 0.0, limits.max_unparseable_share, True, f"{source_file}: every row parses"))
    checks = [schema, _row_count(con, table, rows_in, limits),
              BatchCheck(table, "duplicate_rate", duplicates_in_file / rows_in, limits.max_duplicate_rate,
                         duplicates_in_file / rows_in <= limits.max_duplicate_rate,
                         f"{source_file}: {duplicates_in_file} of {rows_in} rows repeat another row of the file")]
    if table in EVENT_TIME:
        checks.append(_freshness(con, table, source_file, arrived_at, limits))
    return checks


def _schema_types(con, table: str, source_file: str, limits: BatchThresholds) -> BatchCheck:
    rows = con.execute(f"""
        select f.column_name, count(*) as n_fail, min(t._source_row) as first_row
        from ingest_fail_{table} f join ingest_typed_{table} t on t._rid = f._rid
        where t._is_new and f.rule_id = 'parseable_type'
        group by f.column_name order by f.column_name""").fetchall()
    worst = (0.0, "")
    for column, n_fail, first_row in rows:
        # a value is present when its text is (failing rows keep their text) or it parsed (clean rows)
        present = f"{source_text(table, column)} is not null or {column} is not null"
        n_values = con.execute(f"select count(*) filter ({present}) from ingest_typed_{table} "
                               "where _is_new").fetchall()[0][0]
        share = n_fail / max(n_values, 1)
        if share > worst[0]:
            worst = (share, f"{source_file}: column {column}: {n_fail} of {n_values} values do not parse "
                            f"as the contract type (first at data row {first_row})")
    return BatchCheck(table, "schema_types", worst[0], limits.max_unparseable_share,
                      worst[0] <= limits.max_unparseable_share, worst[1] or f"{source_file}: every column parses")


def _row_count(con, table: str, rows_in: int, limits: BatchThresholds) -> BatchCheck:
    previous = con.execute(
        "select rows_in from load_audit where table_name = ? and status = 'loaded' "
        "order by arrived_at desc, load_id desc limit 1", [table]).fetchall()
    if not previous or previous[0][0] < limits.row_ratio_min_previous:
        return BatchCheck(table, "row_count", None, limits.min_row_ratio, True,
                          "no previous delivery large enough to compare with")
    ratio = rows_in / previous[0][0]
    return BatchCheck(table, "row_count", ratio, limits.min_row_ratio, ratio >= limits.min_row_ratio,
                      f"{table}: {rows_in} rows against {previous[0][0]} in the previous delivery")


def _freshness(con, table: str, source_file: str, arrived_at: datetime, limits: BatchThresholds) -> BatchCheck:
    column = EVENT_TIME[table]
    newest = con.execute(f"select max({column}) from ingest_typed_{table} where _is_new").fetchall()[0][0]
    if newest is None:
        return BatchCheck(table, "freshness", None, None, True, f"{source_file}: no parseable {column}")
    ahead = (newest - arrived_at).total_seconds() / 86400
    passed = newest - arrived_at <= limits.max_future
    if limits.max_age is not None:
        passed = passed and arrived_at - newest <= limits.max_age
    return BatchCheck(table, "freshness", ahead, limits.max_future.total_seconds() / 86400, passed,
                      f"{source_file}: newest {column} is {ahead:+.1f} days from the arrival time")


def record_checks(con: duckdb.DuckDBPyConnection, load_id: str, delivery: str, checks: list[BatchCheck],
                  checked_at: datetime) -> None:
    """Append the checks to `batch_rule_results`."""
    if checks:
        con.executemany("insert into batch_rule_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (load_id, delivery, c.table, c.rule_id, c.observed, c.threshold, c.passed, c.detail, checked_at)
            for c in checks])


def raise_if_failed(delivery: str, checks: list[BatchCheck]) -> None:
    failed = [c for c in checks if not c.passed]
    if failed:
        lines = "\n".join(f"  - {c.rule_id} ({c.table}): {c.detail} [observed {c.observed:.4g}, "
                          f"limit {c.threshold:.4g}]" for c in failed)
        raise BatchRuleError(f"delivery {delivery}: {len(failed)} batch rule(s) failed; nothing was loaded\n{lines}",
                             failed)
