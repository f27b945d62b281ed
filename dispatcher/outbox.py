"""The dispatcher's own SQLite store: `outbox` (one row per action_key) and `counters` (caps).

Grain: outbox — one row per action_key ever seen; counters — one row per customer × channel × local
day × mode ('dry_run' | 'live'), so dry runs never consume live frequency caps.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

SCHEMA = """
create table if not exists outbox (
    action_key text primary key,
    as_of text not null,
    account_id text not null,
    channel text,
    template_id text,
    planned_at text,
    state text not null check (state in ('dry_run', 'sent', 'suppressed', 'failed')),
    reason text,
    created_at text not null
);
create table if not exists counters (
    customer_id text not null,
    channel text not null,
    day text not null,
    mode text not null,
    n integer not null,
    primary key (customer_id, channel, day, mode)
);
"""


class Outbox:
    """Thin wrapper over the SQLite file at `settings.outbox_path`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def existing_keys(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found |= {r[0] for r in self.db.execute(f"select action_key from outbox where action_key in ({marks})", chunk)}
        return found

    def record(self, row: dict) -> bool:
        """Insert one outbox row; False when the action_key is already there (idempotency)."""
        cur = self.db.execute(
            "insert or ignore into outbox (action_key, as_of, account_id, channel, template_id, planned_at, state, "
            "reason, created_at) values (:action_key, :as_of, :account_id, :channel, :template_id, :planned_at, "
            ":state, :reason, :created_at)", row)
        return cur.rowcount == 1

    def count(self, customer_id: str, channels: tuple[str, ...], first_day: dt.date, last_day: dt.date,
              mode: str) -> int:
        marks = ",".join("?" * len(channels))
        return int(self.db.execute(
            f"select coalesce(sum(n), 0) from counters where customer_id = ? and channel in ({marks}) "
            "and day between ? and ? and mode = ?",
            [customer_id, *channels, first_day.isoformat(), last_day.isoformat(), mode]).fetchone()[0])

    def bump(self, customer_id: str, channel: str, day: dt.date, mode: str) -> None:
        self.db.execute(
            "insert into counters values (?, ?, ?, ?, 1) on conflict (customer_id, channel, day, mode) "
            "do update set n = n + 1", [customer_id, channel, day.isoformat(), mode])

    def commit(self) -> None:
        self.db.commit()
