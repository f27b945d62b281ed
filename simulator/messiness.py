"""Messiness knobs: the faults real deliveries carry, injected at seeded rates and recorded.

`simulate(..., messiness={"duplicates": 0.01, "naive_timestamps": 0.002})` writes the messy
rows into the delivery and `truth_dir/truth_messiness.json` lists what was injected (counts
per kind and table, plus the affected keys) so ingestion tests can check conservation:
e.g. raw ledger rows = delivered rows − duplicates − malformed.

Row-level faults (duplicates, late-arriving payments, extra reversals, customers sharing a
phone) work in both formats. Text faults (malformed values, naive timestamps, comma
decimals) only exist in CSV; for Parquet they are recorded as zero.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simulator.world import World

DUPLICATE_TABLES = ("ledger", "contacts", "consents")
TIMESTAMP_COLUMNS = {"ledger": "posted_at", "contacts": "started_at", "customers": "created_at",
                     "promises": "created_at", "consents": "effective_at"}
DECIMAL_COLUMNS = {"ledger": "amount", "promises": "promised_amount", "accounts": "principal"}
# one malformed value per row, cycling through these (table, column, bad value)
MALFORMED = (("ledger", "amount", "12.3O"), ("ledger", "effective_date", "2026-02-30"),
             ("ledger", "entry_type", "paymnt"), ("contacts", "started_at", "yesterday"),
             ("contacts", "outcome", "PROMISE!"), ("promises", "due_date", "31/12/2026"))
KEYS = {"customers": "customer_id", "accounts": "account_id", "ledger": "entry_id", "contacts": "contact_id",
        "promises": "promise_id", "holds": "hold_id", "consents": "consent_id"}


@dataclass(frozen=True)
class Messiness:
    """Rates per kind of fault (share of eligible rows); all zero = a clean delivery."""

    duplicates: float = 0.0  # exact duplicate rows in ledger, contacts, consents
    late_payments: float = 0.0  # payments posted 5-30 days after their effective date
    reversals: float = 0.0  # extra reversal rows of earlier payments
    malformed: float = 0.0  # rows of ledger, contacts, promises with one unparseable value (CSV only)
    naive_timestamps: float = 0.0  # timestamps without the +00:00 offset (CSV only)
    mixed_decimals: float = 0.0  # '1234,50' decimal commas (CSV only)
    shared_phones: float = 0.0  # customers given the phone of another customer (duplicate people)

    @classmethod
    def of(cls, value) -> "Messiness":
        """From None, a dict of rates, or a Messiness; unknown kinds raise ValueError."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown messiness kinds {sorted(unknown)}")
        out = cls(**value)
        if any(not 0.0 <= r <= 0.5 for r in asdict(out).values()):
            raise ValueError("messiness rates must be between 0 and 0.5")
        return out

    @property
    def active(self) -> bool:
        return any(asdict(self).values())


class Injection:
    """What was injected: counts and keys per (kind, table)."""

    def __init__(self, mess: Messiness) -> None:
        self.mess = mess
        self.keys: dict[str, dict[str, list[str]]] = {}

    def record(self, kind: str, table: str, keys) -> None:
        self.keys.setdefault(kind, {}).setdefault(table, []).extend(str(k) for k in keys)

    def write(self, folder: Path, scenario: str) -> int:
        """Write `truth_messiness.json`; returns the number of injected faults."""
        counts = {k: {t: len(v) for t, v in by.items()} for k, by in self.keys.items()}
        doc = {"scenario": scenario, "rates": asdict(self.mess), "counts": counts, "keys": self.keys}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "truth_messiness.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        return sum(sum(c.values()) for c in counts.values())


def _pick(rng: np.random.Generator, candidates: np.ndarray, rate: float) -> np.ndarray:
    """A sorted random subset of `candidates` of size round(rate * len)."""
    k = int(round(rate * len(candidates)))
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


def share_phones(rng: np.random.Generator, world: World, rate: float, inj: Injection) -> None:
    """Give some customers the phone of another customer of the same country (one person, two ids)."""
    c = world.customers
    has = np.flatnonzero(c.phone != "")
    takers = _pick(rng, has, rate)
    for k in takers:
        same = has[(c.country[has] == c.country[k]) & (has != k)]
        if len(same):
            c.phone[k] = c.phone[same[rng.integers(0, len(same))]]
            inj.record("shared_phones", "customers", [f"CUS-{k + 1:07d}"])


def late_payments(rng: np.random.Generator, ledger: pd.DataFrame, end: np.datetime64, rate: float,
                  inj: Injection) -> pd.DataFrame:
    """Post some payments 5-30 days after their effective date (still inside the delivery)."""
    pay = np.flatnonzero(ledger["entry_type"].to_numpy() == "payment")
    eff = ledger["effective_date"].to_numpy().astype("datetime64[s]")
    posted = ledger["posted_at"].to_numpy().astype("datetime64[s]")
    last = (end + np.timedelta64(1, "D")).astype("datetime64[s]") - np.timedelta64(1, "s")
    room = pay[(last - eff[pay]) >= np.timedelta64(6, "D")]
    rows = _pick(rng, room, rate)
    lag = rng.integers(5, 31, len(rows)).astype("timedelta64[D]") + rng.integers(0, 1440, len(rows)).astype("timedelta64[m]")
    new = np.minimum(eff[rows] + lag, last)
    moved = rows[new > posted[rows]]
    posted[moved] = new[new > posted[rows]]
    ledger = ledger.copy()
    ledger["posted_at"] = posted
    inj.record("late_payments", "ledger", ledger["entry_id"].to_numpy()[moved])
    return ledger


def extra_reversals(rng: np.random.Generator, ledger: pd.DataFrame, end: np.datetime64, rate: float,
                    inj: Injection) -> pd.DataFrame:
    """Append reversal rows for payments that were not reversed yet (returned payments)."""
    types = ledger["entry_type"].to_numpy()
    already = set(ledger["reverses_entry_id"].dropna())
    ids = ledger["entry_id"].to_numpy()
    pay = np.flatnonzero((types == "payment") & ~np.isin(ids, list(already)))
    rows = _pick(rng, pay, rate)
    last = (end + np.timedelta64(1, "D")).astype("datetime64[s]") - np.timedelta64(1, "s")
    posted = np.minimum(ledger["posted_at"].to_numpy()[rows].astype("datetime64[s]")
                        + rng.integers(1, 6, len(rows)).astype("timedelta64[D]"), last)
    start = len(ledger)
    new_ids = [f"LED-{start + i + 1:09d}" for i in range(len(rows))]
    extra = pd.DataFrame({
        "entry_id": new_ids, "account_id": ledger["account_id"].to_numpy()[rows], "posted_at": posted,
        "effective_date": posted.astype("datetime64[D]"), "entry_type": "reversal",
        "amount": ledger["amount"].to_numpy()[rows], "currency": ledger["currency"].to_numpy()[rows],
        "reverses_entry_id": ids[rows], "payment_method": None,
    })
    inj.record("reversals", "ledger", new_ids)
    return pd.concat([ledger, extra], ignore_index=True) if len(rows) else ledger


def duplicate_rows(rng: np.random.Generator, table: pa.Table, name: str, rate: float,
                   inj: Injection) -> tuple[pa.Table, np.ndarray]:
    """Repeat some rows right after themselves (exact copies); returns the table and both copies' positions."""
    rows = _pick(rng, np.arange(table.num_rows), rate)
    order = np.sort(np.concatenate([np.arange(table.num_rows), rows]), kind="stable")
    inj.record("duplicates", name, table.column(KEYS[name]).take(pa.array(rows)).to_pylist())
    return table.take(pa.array(order)), np.flatnonzero(np.isin(order, rows))


def _replace(table: pa.Table, column: str, rows: np.ndarray, values) -> pa.Table:
    col = np.asarray(table.column(column).to_pandas(), dtype=object)
    col[rows] = values
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(col, type=pa.string(), from_pandas=True))


def text_faults(rng: np.random.Generator, tables: dict[str, pa.Table], mess: Messiness,
                protected: dict[str, np.ndarray], inj: Injection) -> dict[str, pa.Table]:
    """Malformed values, naive timestamps and comma decimals on CSV text; each row gets at most one."""
    out = dict(tables)
    used = {name: set(np.asarray(rows).tolist()) for name, rows in protected.items()}

    def free(name: str, column: str) -> np.ndarray:
        t = out[name]
        ok = np.asarray(pc.is_valid(t.column(column)).to_numpy(zero_copy_only=False))
        rows = np.flatnonzero(ok)
        return rows[~np.isin(rows, list(used.get(name, ())))]

    for name, column, bad in MALFORMED:
        if name not in out:
            continue
        per_table = sum(1 for t, _, _ in MALFORMED if t == name)
        rows = _pick(rng, free(name, column), mess.malformed / per_table)
        used.setdefault(name, set()).update(rows.tolist())
        out[name] = _replace(out[name], column, rows, bad)
        inj.record("malformed", name, out[name].column(KEYS[name]).take(pa.array(rows)).to_pylist())
    for name, column in TIMESTAMP_COLUMNS.items():
        if name not in out:
            continue
        rows = _pick(rng, free(name, column), mess.naive_timestamps)
        used.setdefault(name, set()).update(rows.tolist())
        values = np.asarray(out[name].column(column).take(pa.array(rows)).to_pylist(), dtype=object)
        out[name] = _replace(out[name], column, rows, [v.replace("+00:00", "") for v in values])
        inj.record("naive_timestamps", name, out[name].column(KEYS[name]).take(pa.array(rows)).to_pylist())
    for name, column in DECIMAL_COLUMNS.items():
        if name not in out:
            continue
        rows = _pick(rng, free(name, column), mess.mixed_decimals)
        used.setdefault(name, set()).update(rows.tolist())
        values = out[name].column(column).take(pa.array(rows)).to_pylist()
        out[name] = _replace(out[name], column, rows, [v.replace(".", ",") for v in values])
        inj.record("mixed_decimals", name, out[name].column(KEYS[name]).take(pa.array(rows)).to_pylist())
    return out


def parse_messiness(text: str | None) -> Messiness:
    """`'duplicates=0.01,naive_timestamps=0.002'` (the CLI's --messiness) as a Messiness."""
    if not text:
        return Messiness()
    pairs = (part.split("=", 1) for part in text.split(",") if part.strip())
    return Messiness.of({k.strip(): float(v) for k, v in pairs})
