"""Find a delivery's files, hash them, and stage each one as an all-VARCHAR table.

The schema contract is enforced here: a file that cannot be read, has no data rows, lacks a
required column, is not in the declared encoding or delimiter, or holds a Parquet column of an
incompatible type raises `ContractError` before any row is judged. Staging also applies what
the delivery's manifest declares (decimal comma, zone of naive timestamps), so every later step
sees one canonical text form.
"""

from __future__ import annotations

import csv
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recobro.contract import LOAD_ORDER, TABLES, Column

from ingestion.errors import ContractError
from ingestion.manifest import MANIFEST_NAME, Manifest
from ingestion.rules import OFFSET_REGEX

SUFFIXES = (".csv", ".parquet")
# Parquet physical types each contract type accepts (VARCHAR is parsed row by row).
_NUMERIC = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
            "USMALLINT", "UINTEGER", "UBIGINT")
_COMPATIBLE = {"TIMESTAMPTZ": ("TIMESTAMP",), "DATE": ("DATE",), "BOOLEAN": ("BOOLEAN",)}


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
        elif path.name != MANIFEST_NAME:
            unknown.append(path.name)
    for name, paths in by_table.items():
        if len(paths) > 1:
            raise ContractError(f"{delivery_dir.name}: table {name} is delivered twice "
                                f"({', '.join(p.name for p in paths)}); send one file per table")
    if not by_table:
        raise ContractError(f"delivery {delivery_dir} holds none of the tables {', '.join(LOAD_ORDER)} "
                            f"as .csv or .parquet (found: {', '.join(unknown) or 'nothing'})")
    names = [n for n in LOAD_ORDER if n in by_table]
    # hashing is ~2 s of one core at 1M accounts: hash the files side by side (hashlib frees the GIL)
    with ThreadPoolExecutor(max_workers=min(4, len(names)) or 1) as pool:
        hashes = list(pool.map(file_sha256, (by_table[n][0] for n in names)))
    files = [DeliveryFile(n, by_table[n][0], h) for n, h in zip(names, hashes)]
    return files, unknown


def safe_reason(exc: Exception) -> str:
    """DuckDB's error text without the offending line, which may hold personal data, and
    without its list of fixes; the line number stays."""
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("Possible") or line.strip().startswith("file ="):
            break
        if line.strip() and not line.startswith("Original Line"):
            kept.append(line.strip())
    reason = " ".join(kept)
    match = re.search(r"CSV Error on Line: (\d+)", reason)
    if match:
        reason += f" (data row {int(match.group(1)) - 1})"
    return reason


def _csv_header(path: Path, m: Manifest) -> list[str]:
    encoding = "utf-8-sig" if m.encoding == "utf-8" else m.encoding
    with path.open("rb") as fh:  # only the first line: a bad byte further down is reported with its line
        first = fh.readline().decode(encoding)
    header = [name.strip() for name in next(csv.reader([first], delimiter=m.delimiter), [])]
    if header and header[0].startswith("\ufeff"):  # a BOM inside a Latin-1 declared file
        header[0] = header[0][1:]
    if len(header) == 1:
        other = next((d for d in (";", ",", "\t", "|") if d != m.delimiter and d in header[0]), None)
        if other:
            raise ContractError(
                f"{path.name}: line 1 (header) has one column but contains {other!r}: the file looks delimited by "
                f"{other!r}, the delivery declares {m.delimiter!r}; declare `delimiter` in {MANIFEST_NAME}")
    return header


def _csv_cells(line: bytes, m: Manifest) -> list[bytes]:
    """The cells of one physical CSV line as bytes, honouring quotes. Latin-1 maps each byte to one
    character, so quotes and delimiters (ASCII, never inside a UTF-8 sequence) keep their places."""
    text = line.rstrip(b"\r\n").decode("latin-1")
    return [cell.encode("latin-1") for cell in next(csv.reader([text], delimiter=m.delimiter), [])]


def _undecodable_cell(path: Path, line_no: int, m: Manifest) -> str:
    """Where on physical line `line_no` (1-based) the bytes stop being UTF-8: 'line L, column C'."""
    with path.open("rb") as fh:
        header = fh.readline()
        line = header
        for _ in range(line_no - 1):
            line = fh.readline()
    names = [cell.decode("utf-8", "replace").lstrip("\ufeff").strip() for cell in _csv_cells(header, m)]
    for i, cell in enumerate(_csv_cells(line, m)):
        try:
            cell.decode("utf-8")
        except UnicodeDecodeError:
            return f"line {line_no}, column {names[i] if i < len(names) else i + 1}"
    return f"line {line_no}"


def _reader(path: Path, header: list[str], m: Manifest) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}')"
    # No sniffing: the header is read above and the dialect is fixed, so a malformed row is an
    # error with its line number rather than a reason to guess another header.
    columns = ", ".join("'{}': 'VARCHAR'".format(name.replace("'", "''")) for name in header)
    delim = m.delimiter.replace("'", "''")
    return (f"read_csv('{quoted}', columns = {{{columns}}}, header = true, auto_detect = false, "
            f"delim = '{delim}', quote = '\"', escape = '\"', encoding = '{m.encoding}')")


def _parquet_types(con: duckdb.DuckDBPyConnection, f: DeliveryFile) -> dict[str, str]:
    rows = con.execute(f"describe select * from {_reader(f.path, [], Manifest())}").fetchall()
    return {row[0]: row[1] for row in rows}


def _check_parquet_type(f: DeliveryFile, col: Column, found: str) -> None:
    expected = col.type.split("(")[0]
    if found == "VARCHAR" or found == "NULL" or expected == "VARCHAR":
        return
    allowed = _NUMERIC if expected in ("DECIMAL", "DOUBLE", "INTEGER") else _COMPATIBLE.get(expected, (expected,))
    if not found.startswith(allowed):
        raise ContractError(f"{f.path.name}: column {col.name} has Parquet type {found}, the contract expects "
                            f"{col.type} (table {f.table}; all rows)")


def _source_columns(con: duckdb.DuckDBPyConnection, f: DeliveryFile, m: Manifest) -> list[str]:
    if f.path.stat().st_size == 0:
        raise ContractError(f"{f.path.name}: file is empty (expected a header row and data rows)")
    try:
        if f.path.suffix.lower() == ".csv":
            return _csv_header(f.path, m)
        types = _parquet_types(con, f)
    except UnicodeDecodeError as exc:
        raise ContractError(f"{f.path.name}: line 1 (header) is not {m.encoding} text "
                            f"(declare `encoding` in {MANIFEST_NAME})") from exc
    except (duckdb.Error, csv.Error) as exc:
        raise ContractError(f"{f.path.name}: cannot be read as {f.path.suffix[1:]}: {safe_reason(exc)}") from exc
    by_name = {c.name: c for c in TABLES[f.table].columns}
    for name, found in types.items():
        if name.strip().lower() in by_name:
            _check_parquet_type(f, by_name[name.strip().lower()], found)
    return list(types)


def _canonical(col: Column, source: str, is_csv: bool, m: Manifest) -> str:
    """SQL turning one source column into canonical text: decimal point, explicit offsets."""
    expr = f'cast("{source}" as varchar)'
    if is_csv and m.decimal_separator == "," and col.type.startswith(("DECIMAL", "DOUBLE")):
        # a '.' in a decimal-comma file is a thousands separator or a mistake: never guess, let it fail to parse
        expr = f"case when contains({expr}, '.') then 'ambiguous ' || {expr} else replace({expr}, ',', '.') end"
    if col.type == "TIMESTAMPTZ" and m.timezone_for_naive_timestamps:
        tz = m.timezone_for_naive_timestamps.replace("'", "''")
        expr = (f"case when regexp_matches(trim({expr}), '{OFFSET_REGEX}') then {expr} "
                f"else coalesce(cast(timezone('{tz}', try_cast(trim({expr}) as timestamp)) as varchar), {expr}) end")
    return expr


def stage_file(con: duckdb.DuckDBPyConnection, f: DeliveryFile, m: Manifest) -> str:
    """Create temp view `ingest_src_<table>` over one file: one VARCHAR column per contract
    column, in canonical text (decimal point, explicit offsets). Returns the view's name. Raises
    `ContractError` for a missing required column, or (via `read_error`) if DuckDB cannot bind
    the file; errors inside the data surface when the view is first scanned (`judge_table`).

    Grain: one row per data row of the file, in file order. Optional columns absent from the
    file are null; columns outside the contract are ignored. The view has no row number: the
    typing step's table gets the file's row order and numbers rows by rowid (`compile.typed_scan_sql`).
    """
    table = TABLES[f.table]
    header = _source_columns(con, f, m)
    present = {c.strip().lower(): c for c in header}
    missing = [c.name for c in table.columns if c.required and c.name not in present]
    if missing:
        raise ContractError(f"{f.path.name}: required column(s) {', '.join(missing)} missing "
                            f"(table {f.table}; header has {len(present)} column(s))")
    is_csv = f.path.suffix.lower() == ".csv"
    selects = [
        f"{_canonical(c, present[c.name], is_csv, m)} as {c.name}" if c.name in present
        else f"null::varchar as {c.name}"
        for c in table.columns
    ]
    target = f"ingest_src_{f.table}"
    try:
        con.execute(f"create or replace temp view {target} as select {', '.join(selects)} "
                    f"from {_reader(f.path, header, m)}")
    except duckdb.Error as exc:
        raise read_error(f, exc, m) from exc
    return target


def read_error(f: DeliveryFile, exc: Exception, m: Manifest) -> ContractError:
    """The ContractError for a file DuckDB could not read: file, line and (for bad bytes) column."""
    reason = safe_reason(exc)
    line = re.search(r"CSV Error on Line: (\d+)", reason)
    if line and "unicode" in reason.lower():
        where = _undecodable_cell(f.path, int(line.group(1)), m)
        return ContractError(f"{f.path.name}: {where} (data row {int(line.group(1)) - 1}) is not {m.encoding} "
                             f"text; declare `encoding: latin-1` in {MANIFEST_NAME} if the file is Latin-1")
    return ContractError(f"{f.path.name}: cannot be read: {reason}")


def empty_stage(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """An empty `ingest_src_<table>` for a table this delivery lacks (its pending rows still get judged)."""
    cols = ", ".join(f"null::varchar as {c.name}" for c in TABLES[table].columns)
    con.execute(f"create or replace temp view ingest_src_{table} as select {cols} where false")
    return f"ingest_src_{table}"
