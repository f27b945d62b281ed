"""dispatch: act on published next_best_actions for one as_of, from a separate process.

Opens the warehouse read-only, re-checks every actionable row at send time, and writes one outbox row
per action_key to the SQLite store at `settings.outbox_path` (state dry_run | sent | suppressed | failed).
A second run for the same as_of inserts nothing and reports the rows as existing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import duckdb

from decisioning.rule_packs import load_rule_packs
from dispatcher.adapters import ChannelAdapter, DryRunAdapter, SendRequest
from dispatcher.checks import policy_for, recheck, send_time_context
from dispatcher.outbox import Outbox
from recobro.settings import Settings
from recobro.warehouse import connect

CONTACT_POINT = {"sms": "phone", "voice": "phone", "whatsapp": "phone", "agent_call": "phone", "email": "email"}


@dataclass
class DispatchSummary:
    """What one dispatch run did; counts are of actionable rows (wait/none are never sent)."""

    as_of: dt.date
    dry_run: bool
    actionable: int = 0
    not_actionable: int = 0
    new: int = 0
    existing: int = 0
    states: Counter = field(default_factory=Counter)  # state -> new rows
    by_channel: Counter = field(default_factory=Counter)  # (action, channel) -> new rows sent/dry_run
    suppressed_by_rule: Counter = field(default_factory=Counter)

    @property
    def suppressed(self) -> int:
        return self.states["suppressed"]

    def __str__(self) -> str:
        mode = "dry run" if self.dry_run else "live"
        lines = [f"dispatch {self.as_of} ({mode}): {self.actionable} actionable, {self.not_actionable} wait/none",
                 f"  outbox: {self.new} new, {self.existing} already there (not resent)",
                 "  states: " + (", ".join(f"{k}={v}" for k, v in sorted(self.states.items())) or "-")]
        lines += [f"    {a:<13} {c:<11} {n:>7}" for (a, c), n in sorted(self.by_channel.items())]
        lines += [f"  suppressed {r:<34} {n:>7}" for r, n in self.suppressed_by_rule.most_common()]
        return "\n".join(lines)


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The dispatcher's only way into the warehouse: read-only."""
    return connect(settings, read_only=True)


def _contact_point(con: duckdb.DuckDBPyConnection, customer_id: str, channel: str) -> str | None:
    column = CONTACT_POINT.get(channel)
    if column is None:
        return None
    rows = con.execute(f"select {column} from stg_customers where customer_id = ?", [customer_id]).fetchall()
    return rows[0][0] if rows else None


def dispatch(settings: Settings, as_of: dt.date, dry_run: bool = True, now: dt.datetime | None = None,
             adapters: dict[str, ChannelAdapter] | None = None) -> DispatchSummary:
    """Re-check and send (or record, in dry run) the published NBA rows for `as_of`; see module docstring."""
    packs = load_rule_packs(settings.rule_packs_dir)
    if dry_run:
        dry = DryRunAdapter()
        adapters = {ch: dry for ch in dry.channels}
    adapters = adapters or {}
    mode = "dry_run" if dry_run else "live"
    if now is None and not dry_run:
        now = dt.datetime.now(dt.timezone.utc)
    summary = DispatchSummary(as_of=as_of, dry_run=dry_run)
    con = open_warehouse(settings)
    outbox = Outbox(settings.outbox_path)
    try:
        summary.not_actionable = int(con.execute(
            "select count(*) from next_best_actions where as_of = ? and action in ('wait', 'none')",
            [as_of]).fetchall()[0][0])
        items = send_time_context(con, as_of, now)
        summary.actionable = len(items)
        seen = outbox.existing_keys([i["action_key"] for i in items])
        created = dt.datetime.now(dt.timezone.utc).isoformat()
        for item in items:
            if item["action_key"] in seen:
                summary.existing += 1
                continue
            policy = policy_for(packs, item["country"], item["jurisdiction"])
            reason = recheck(item, policy, outbox, mode)
            state = "suppressed"
            if reason is None:
                state, reason = _send(con, item, adapters.get(item["channel"]), dry_run)
            row = {k: item[k] for k in ("action_key", "account_id", "channel", "template_id")}
            row.update(as_of=str(item["as_of"]), state=state, reason=reason, created_at=created,
                       planned_at=item["planned_at"].isoformat() if item["planned_at"] else None)
            if outbox.record(row):
                summary.new += 1
                summary.states[state] += 1
                if state == "suppressed":
                    summary.suppressed_by_rule[reason.split(":")[0]] += 1
                elif state in ("dry_run", "sent"):
                    summary.by_channel[(item["action"], item["channel"])] += 1
                    local_day = item["planned_at"].astimezone(ZoneInfo(item["timezone"])).date()
                    outbox.bump(item["customer_id"], item["channel"], local_day, mode)
            outbox.commit()
    finally:
        outbox.close()
        con.close()
    return summary


def _send(con, item: dict, adapter: ChannelAdapter | None, dry_run: bool) -> tuple[str, str | None]:
    if adapter is None:
        return "failed", f"no adapter for channel {item['channel']}"
    contact_point = None
    if not dry_run and adapter.needs_contact_point:
        contact_point = _contact_point(con, item["customer_id"], item["channel"])  # read now, never stored
        if not contact_point and item["channel"] in CONTACT_POINT:
            return "suppressed", "FAILCLOSED-NO-CONTACT-POINT: no contact point at send time"
    request = SendRequest(
        action_key=item["action_key"], account_id=item["account_id"], customer_id=item["customer_id"],
        action=item["action"], channel=item["channel"], template_id=item["template_id"],
        planned_at=item["planned_at"], offer_terms=item["offer_terms"], contact_point=contact_point)
    result = adapter.send(request)
    if not result.ok:
        return "failed", result.error or "adapter reported failure"
    return ("dry_run" if dry_run else "sent"), None
