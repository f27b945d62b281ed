"""Append-only, columnar event logs filled by the history loop one day at a time."""

from __future__ import annotations

import numpy as np


class EventLog:
    """Columns appended as whole arrays per day; `columns()` concatenates them once at the end."""

    def __init__(self, *names: str) -> None:
        self._parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
        self.size = 0

    def add(self, **values) -> np.ndarray:
        """Append rows (scalars broadcast); returns the row numbers the new rows got."""
        n = max((np.size(v) for v in values.values() if np.ndim(v) > 0), default=1)
        if set(values) != set(self._parts):
            raise ValueError(f"expected columns {sorted(self._parts)}, got {sorted(values)}")
        if n == 0:
            return np.empty(0, dtype=np.int64)
        for name, v in values.items():
            self._parts[name].append(np.broadcast_to(np.asarray(v), (n,)).copy())
        rows = np.arange(self.size, self.size + n)
        self.size += n
        return rows

    def columns(self) -> dict[str, np.ndarray]:
        """Each column as one array, in append order (row number = position)."""
        return {name: (np.concatenate(parts) if parts else np.empty(0)) for name, parts in self._parts.items()}
