"""Append-only, columnar event logs filled by the history loop one day at a time."""

from __future__ import annotations

import numpy as np


# compact storage for the columns that are small codes: a million-account history logs
# tens of millions of events, so int8/int32 instead of int64 saves gigabytes
COMPACT = {"day": np.int32, "channel": np.int8, "outcome": np.int8, "band": np.int8, "inbound": np.int8,
           "type": np.int8, "lag": np.int8, "minute": np.int16, "method": np.int8, "status": np.int8,
           "source": np.int8, "account": np.int32, "customer": np.int32, "due_day": np.int32}


class EventLog:
    """Columns appended as whole arrays per day; `columns()` concatenates them once at the end."""

    def __init__(self, *names: str) -> None:
        self._parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
        self._dtypes = {n: COMPACT.get(n) for n in names}
        self.size = 0

    def add(self, **values) -> np.ndarray:
        """Append rows (scalars broadcast); returns the row numbers the new rows got."""
        n = max((np.size(v) for v in values.values() if np.ndim(v) > 0), default=1)
        if set(values) != set(self._parts):
            raise ValueError(f"expected columns {sorted(self._parts)}, got {sorted(values)}")
        if n == 0:
            return np.empty(0, dtype=np.int64)
        for name, v in values.items():
            self._parts[name].append(np.broadcast_to(np.asarray(v, dtype=self._dtypes[name]), (n,)).copy())
        rows = np.arange(self.size, self.size + n)
        self.size += n
        return rows

    def since(self, row: int) -> dict[str, np.ndarray]:
        """Each column's rows from row number `row` on, read from the latest parts only (cheap for a day's rows)."""
        out = {}
        for name, parts in self._parts.items():
            tail, have = [], self.size
            for part in reversed(parts):
                if have <= row:
                    break
                tail.append(part)
                have -= len(part)
            joined = np.concatenate(tail[::-1]) if tail else np.empty(0, dtype=self._dtypes[name])
            out[name] = joined[row - have:]
        return out

    def columns(self) -> dict[str, np.ndarray]:
        """Each column as one array, in append order (row number = position)."""
        out = {}
        for name in list(self._parts):
            parts = self._parts[name]
            out[name] = np.concatenate(parts) if parts else np.empty(0, dtype=self._dtypes[name])
            self._parts[name] = [out[name]]  # keep one copy, not the parts and the whole
        return out
