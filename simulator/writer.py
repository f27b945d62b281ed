"""Write tables as CSV or Parquet with byte-stable formatting, through Arrow and DuckDB.

CSV spelling follows DESIGN.md §3: ISO-8601 UTC timestamps with `+00:00`, `YYYY-MM-DD`
dates, decimals with a point and fixed places, `true`/`false`, empty for null. Columns
become Arrow arrays first (`arrow_table`), so messiness can be injected on the exact
strings (or typed values) that will be written, and DuckDB's COPY writes the CSV
(quoting only where needed, in row order, far faster than pandas).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def inferred_types(frame: pd.DataFrame, date_columns: tuple[str, ...] = ("as_of",)) -> dict[str, str]:
    """DuckDB-style type per column of a frame that has no contract (the truth tables).

    pandas keeps dates as datetime64[s], so date columns are named rather than guessed.
    """
    out = {}
    for name, dtype in frame.dtypes.items():
        kind = np.dtype(dtype).kind if not isinstance(dtype, pd.StringDtype) else "O"
        out[name] = {"f": "DOUBLE", "b": "BOOLEAN", "i": "BIGINT", "u": "BIGINT"}.get(kind, "VARCHAR")
        if kind == "M":
            out[name] = "DATE" if name in date_columns else "TIMESTAMPTZ"
    return out


def arrow_table(frame: pd.DataFrame, types: dict[str, str], fmt: str) -> pa.Table:
    """`frame` (columns in `types` order) as Arrow: CSV text columns, or typed Parquet columns."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    convert = csv_strings if fmt == "csv" else arrow_array
    return pa.table({col: convert(frame[col], t) for col, t in types.items()})


def write_arrow(table: pa.Table, folder: Path, name: str, fmt: str) -> int:
    """Write an `arrow_table` result to `folder/name.<fmt>`; returns the row count."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        import pyarrow.csv as pcsv

        try:  # fast path: nothing needs quoting (clean deliveries); the header is written unquoted by hand
            with open(path, "wb") as fh:
                fh.write((",".join(table.column_names) + "\n").encode())
                pcsv.write_csv(table, fh, pcsv.WriteOptions(include_header=False, quoting_style="none"))
            return table.num_rows
        except pa.ArrowInvalid:
            pass  # a value holds a comma, quote or newline: let DuckDB quote where needed
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("set preserve_insertion_order = true")
            con.register("frame", table)
            con.execute(f"copy frame to '{path}' (format csv, header true, delimiter ',')")
        finally:
            con.close()
    else:
        pq.write_table(table, path)
    return table.num_rows


def write_table(frame: pd.DataFrame, folder: Path, name: str, types: dict[str, str], fmt: str) -> int:
    """Write `frame` (columns in `types` order) to `folder/name.<fmt>`; returns the row count."""
    return write_arrow(arrow_table(frame, types, fmt), folder, name, fmt)


def _values(series) -> np.ndarray:
    return series.to_numpy() if isinstance(series, pd.Series) else np.asarray(series)


def text_array(series) -> pa.Array:
    """A string column as Arrow (null for None/NaN), without a trip through Python objects if possible."""
    if isinstance(series, pd.Series) and isinstance(series.dtype, pd.StringDtype):
        arr = pa.array(series.array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        return arr.cast(pa.string())
    return pa.array(_values(series), type=pa.string(), from_pandas=True)


def decimal_strings(values: np.ndarray, scale: int) -> pa.Array:
    """'-12.30' style strings from integers in units of 10^-scale."""
    v = np.asarray(values).astype(np.int64)
    a = np.abs(v)
    whole = pc.cast(pa.array(a // 10**scale), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(a % 10**scale), pa.string()), scale, "0")
    sign = pa.array(np.where(v < 0, "-", ""))
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


def csv_strings(series, type_: str) -> pa.Array:
    """The CSV text of one column (Arrow strings, null for missing)."""
    m = _DECIMAL.fullmatch(type_)
    if m:
        return decimal_strings(_values(series), int(m.group(2)))
    if type_ == "TIMESTAMPTZ":
        # cast, not strftime: Arrow's strftime is an order of magnitude slower
        v = pc.cast(pa.array(_values(series).astype("datetime64[s]"), from_pandas=True), pa.string())
        return pc.binary_join_element_wise(pc.replace_substring(v, " ", "T", max_replacements=1), "+00:00", "")
    if type_ == "DATE":
        v = pa.array(_values(series).astype("datetime64[D]"), from_pandas=True).cast(pa.date32())
        return pc.cast(v, pa.string())
    if type_ == "BOOLEAN":
        return pa.array(np.where(_values(series).astype(bool), "true", "false"))
    if type_ == "DOUBLE":
        return pc.cast(pa.array(_values(series).astype(float), from_pandas=True), pa.string())
    if type_ in ("INTEGER", "BIGINT"):
        return pc.cast(pa.array(_values(series), from_pandas=True), pa.string())
    return text_array(series)


def arrow_array(series, type_: str) -> pa.Array:
    """The Parquet (Arrow) array of one column, typed as the contract says."""
    m = _DECIMAL.fullmatch(type_)
    if m:
        return pc.cast(decimal_strings(_values(series), int(m.group(2))),
                       pa.decimal128(int(m.group(1)), int(m.group(2))))
    if type_ == "TIMESTAMPTZ":
        v = pa.array(_values(series).astype("datetime64[us]"), from_pandas=True)
        return v.cast(pa.timestamp("us", tz="UTC"))
    if type_ == "DATE":
        return pa.array(_values(series).astype("datetime64[D]"), from_pandas=True).cast(pa.date32())
    simple = {"BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "BIGINT": pa.int64()}
    if type_ in simple:
        return pa.array(_values(series), type=simple[type_], from_pandas=True)
    return text_array(series)
