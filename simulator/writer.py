"""Write tables as CSV or Parquet with byte-stable formatting.

CSV spelling follows DESIGN.md §3: ISO-8601 UTC timestamps with `+00:00`, `YYYY-MM-DD`
dates, decimals with a point and fixed places, `true`/`false`, empty for null.
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


def write_table(frame: pd.DataFrame, folder: Path, name: str, types: dict[str, str], fmt: str) -> int:
    """Write `frame` (columns in `types` order) to `folder/name.<fmt>`; returns the row count."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        text = pd.DataFrame({col: csv_strings(frame[col].to_numpy(), t) for col, t in types.items()})
        text.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    elif fmt == "parquet":
        arrays = [arrow_array(frame[col].to_numpy(), t) for col, t in types.items()]
        pq.write_table(pa.Table.from_arrays(arrays, names=list(types)), folder / f"{name}.parquet")
    else:
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    return len(frame)


def decimal_strings(values: np.ndarray, scale: int) -> np.ndarray:
    """'-12.30' style strings from integers in units of 10^-scale."""
    v = values.astype(np.int64)
    a = np.abs(v)
    whole = (a // 10**scale).astype(str)
    frac = np.char.zfill((a % 10**scale).astype(str), scale)
    return np.char.add(np.char.add(np.where(v < 0, "-", ""), whole), np.char.add(".", frac)).astype(object)


def csv_strings(values: np.ndarray, type_: str) -> np.ndarray:
    """The CSV text of one column (object array, '' for null)."""
    m = _DECIMAL.fullmatch(type_)
    if m:
        return decimal_strings(values, int(m.group(2)))
    if type_ == "TIMESTAMPTZ":
        v = values.astype("datetime64[s]")
        text = np.char.add(np.datetime_as_string(v, unit="s"), "+00:00").astype(object)
        text[np.isnat(v)] = ""
        return text
    if type_ == "DATE":
        v = values.astype("datetime64[D]")
        text = np.datetime_as_string(v, unit="D").astype(object)
        text[np.isnat(v)] = ""
        return text
    if type_ == "BOOLEAN":
        return np.where(values.astype(bool), "true", "false").astype(object)
    if type_ == "DOUBLE":
        v = values.astype(float)
        return np.where(np.isnan(v), "", np.char.mod("%.6g", v)).astype(object)
    text = values.astype(str).astype(object)
    text[pd.isna(values)] = ""
    return text


def arrow_array(values: np.ndarray, type_: str) -> pa.Array:
    """The Parquet (Arrow) array of one column, typed as the contract says."""
    m = _DECIMAL.fullmatch(type_)
    if m:
        return pc.cast(pa.array(decimal_strings(values, int(m.group(2))).tolist(), pa.string()),
                       pa.decimal128(int(m.group(1)), int(m.group(2))))
    if type_ == "TIMESTAMPTZ":
        return pa.array(values.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC"))
    if type_ == "DATE":
        return pa.array(values.astype("datetime64[D]")).cast(pa.date32())
    simple = {"BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "BIGINT": pa.int64()}
    if type_ in simple:
        return pa.array(values, type=simple[type_])
    text = values.astype(str).astype(object)
    text[pd.isna(values)] = None
    return pa.array(text, type=pa.string())
