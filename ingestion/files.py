"""Find a delivery's files, hash them, and stage each one as an all-VARCHAR table.

The schema contract is enforced here: a file that cannot be read, has no data rows, or lacks
a required column raises `ContractError` before any row is judged.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recobro.contract import LOAD_ORDER, TABLES

from ingestion.errors import ContractError

SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class DeliveryFile:
    table: str
    path: Path
    sha256: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def delivery_files(delivery_dir: Path) -> tuple[list[DeliveryFile], list[str]]:
    """The known table files of a delivery in LOAD_ORDER, and the names of files ignored."""
    delivery_dir = Path(delivery_dir)
    if not delivery_dir.is_dir():
        raise ContractError(f"delivery {delivery_dir} is not a folder")
    by_table: dict[str, list[Path]] = {}
    unknown: list[str] = []
    for path in sorted(p for p in delivery_dir.iterdir() if not p.name.startswith(".")):
        name, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and suffix in SUFFIXES and name in TABLES:
            by_table.setdefault(name, []).append(path)
        else:
            unknown.append(path.name)
    for name, paths in by_table.items():
        if len(paths) > 1:
            raise ContractError(f"{delivery_dir.name}: table {name} is delivered twice "
                                f"({', '.join(p.name for p in paths)}); send one file per table")
    if not by_table:
        raise ContractError(f"delivery {delivery_dir} holds none of the tables {', '.join(LOAD_ORDER)} "
                            f"as .csv or .parquet (found: {', '.join(unknown) or 'nothing'})")
    files = [DeliveryFile(n, by_table[n][0], file_sha256(by_table[n][0])) for n in LOAD_ORDER if n in by_table]
    return files, unknown


def safe_reason(exc: Exception) -> str:
    """DuckDB's error text without the offending line, which may hold personal data, and
    without its list of fixes; the line number stays."""
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("Possible fixes") or line.strip().startswith("file ="):
            break
        if line.strip() and not line.startswith("Original Line"):
            kept.append(line.strip())
    reason = " ".join(kept)
    match = re.search(r"CSV Error on Line: (\d+)", reason)
    if match:
        reason += f" (data row {int(match.group(1)) - 1})"
    return reason


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [name.strip() for name in next(csv.reader(fh), [])]


def _reader(path: Path, header: list[str]) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}')"
    # No sniffing: the header is read above and the dialect is fixed, so a malformed row is an
    # error with its line number rather than a reason to guess another header.
    columns = ", ".join("'{}': 'VARCHAR'".format(name.replace("'", "''")) for name in header)
    return (f"read_csv('{quoted}', columns = {{{columns}}}, header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"')")


def _source_columns(con: duckdb.DuckDBPyConnection, f: DeliveryFile) -> list[str]:
    if f.path.stat().st_size == 0:
        raise ContractError(f"{f.path.name}: file is empty (expected a header row and data rows)")
    try:
        if f.path.suffix.lower() == ".csv":
            return _csv_header(f.path)
        return [row[0] for row in con.execute(f"describe select * from {_reader(f.path, [])}").fetchall()]
    except (duckdb.Error, UnicodeDecodeError, csv.Error) as exc:
        raise ContractError(f"{f.path.name}: cannot be read as {f.path.suffix[1:]}: {safe_reason(exc)}") from exc


def stage_file(con: duckdb.DuckDBPyConnection, f: DeliveryFile) -> tuple[str, int]:
    """Create temp table `ingest_src_<table>`: one VARCHAR column per contract column plus
    `_source_row` (1-based data row in the file). Returns (table name, rows_in).

    Grain: one row per data row of the file. Optional columns absent from the file are null;
    columns outside the contract are ignored.
    """
    table = TABLES[f.table]
    header = _source_columns(con, f)
    present = {c.strip().lower(): c for c in header}
    missing = [c.name for c in table.columns if c.required and c.name not in present]
    if missing:
        raise ContractError(f"{f.path.name}: required column(s) {', '.join(missing)} missing "
                            f"(table {f.table}; header has {len(present)} column(s))")
    selects = [
        f'cast("{present[c.name]}" as varchar) as {c.name}' if c.name in present else f"null::varchar as {c.name}"
        for c in table.columns
    ]
    target = f"ingest_src_{f.table}"
    try:
        # An empty over () numbers rows in scan order: DuckDB preserves insertion order for file scans.
        con.execute(f"create or replace temp table {target} as "
                    f"select row_number() over () as _source_row, {', '.join(selects)} from {_reader(f.path, header)}")
    except duckdb.Error as exc:
        raise ContractError(f"{f.path.name}: cannot be read: {safe_reason(exc)}") from exc
    rows_in = int(con.execute(f"select count(*) from {target}").fetchall()[0][0])
    if rows_in == 0:
        raise ContractError(f"{f.path.name}: header only, no data rows (table {f.table})")
    return target, rows_in
