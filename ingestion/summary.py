"""What a load did, per table: counts only, never row values (no personal data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableLoad:
    """Counts of one table file in one load; rows_in = accepted + quarantined + duplicate."""

    table: str
    source_file: str
    file_sha256: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    rows_pending: int = 0  # of rows_quarantined: waiting for a parent, judged again on every load
    rows_released: int = 0  # rows of earlier loads that stopped waiting in this load and were accepted

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_accepted + self.rows_quarantined + self.rows_duplicate


@dataclass
class LoadSummary:
    """The result of `load_delivery`.

    status is `loaded`, or `skipped` when the same files (same load_id) were loaded before;
    a skipped summary repeats the earlier counts and writes nothing.
    """

    load_id: str
    delivery: str
    status: str
    tables: list[TableLoad] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    data_quality_holds: int = 0
    ge_failures: int | None = None  # None when validation was not run
    released: dict[str, int] = field(default_factory=dict)  # pending rows of earlier loads accepted now
    pending: dict[str, int] = field(default_factory=dict)  # rows waiting for a parent after this load

    def table(self, name: str) -> TableLoad:
        return next(t for t in self.tables if t.table == name)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)

    def __str__(self) -> str:
        head = ("table", "rows_in", "accepted", "quarantined", "duplicate", "pending", "released")
        rows = [(t.table, t.rows_in, t.rows_accepted, t.rows_quarantined, t.rows_duplicate, t.rows_pending,
                 t.rows_released) for t in self.tables]
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
        fmt = "  ".join(("{:<%d}" if i == 0 else "{:>%d}") % w for i, w in enumerate(widths))
        lines = [f"load {self.load_id} ({self.delivery}): {self.status}", fmt.format(*head)]
        lines += [fmt.format(*r) for r in rows]
        if self.data_quality_holds:
            lines.append(f"data-quality holds: {self.data_quality_holds} account(s)")
        if self.ge_failures is not None:
            lines.append(f"great expectations: {self.ge_failures} failed expectation(s)")
        if any(self.released.values()):
            lines.append("released from pending: " + ", ".join(f"{k} {v}" for k, v in self.released.items() if v))
        if any(self.pending.values()):
            lines.append("waiting for a parent: " + ", ".join(f"{k} {v}" for k, v in self.pending.items() if v))
        if self.unknown_files:
            lines.append(f"ignored files: {', '.join(self.unknown_files)}")
        return "\n".join(lines)
