"""Access to the DuckDB warehouse: one writer at a time, readers read-only, SQL from files."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from recobro.settings import Settings


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse's write lock."""


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; waits up to `settings.busy_timeout_s` for another writer to finish.

    `settings.warehouse_memory_limit` (e.g. "8GB") caps DuckDB's memory; past it DuckDB spills to disk.
    """
    path = settings.warehouse_path
    if read_only and not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist yet; run `recobro ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {} if settings.warehouse_memory_limit is None else {"memory_limit": settings.warehouse_memory_limit}
    deadline = time.monotonic() + settings.busy_timeout_s
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            con.execute("set timezone = 'UTC'")
            return con
        except (duckdb.ParserException, duckdb.InvalidInputException) as exc:
            if not config:
                raise
            raise ValueError(f"warehouse_memory_limit {settings.warehouse_memory_limit!r} is not a DuckDB memory "
                             f"size such as '8GB' or '512MB' ({exc})") from exc
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"warehouse {path} is busy: another recobro process is writing to it "
                    f"(waited {settings.busy_timeout_s:.0f}s). Try again when it finishes."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def warehouse(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def read_sql(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchall()[0][0])


def row_count(con: duckdb.DuckDBPyConnection, name: str, where: str = "", params: list | None = None) -> int:
    sql = f"select count(*) from {name}" + (f" where {where}" if where else "")
    return int(con.execute(sql, params or []).fetchall()[0][0])
