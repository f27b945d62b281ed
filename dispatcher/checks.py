"""Send-time re-checks (DOMAIN.md §5: every rule again just before sending), read from the warehouse read-only.

`send_time_context` returns one row per actionable published NBA row for as_of with what the checks need;
`recheck` applies holds, consent, send window and frequency caps (from the dispatcher's own counters)
and returns None when the item may go, or the suppression reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from decisioning.rule_packs import BLOCKING_HOLDS, CALL_CHANNELS, EffectivePolicy, RulePack, effective_policy
from dispatcher.outbox import Outbox
from recobro.contract import CHANNELS
from recobro.warehouse import table_exists

QUOTES_AMOUNT = ("payment_link", "offer_plan", "escalate")
#: holds that stop any contact at send time, the same set decide blocks on (a vulnerability hold
#: routes to trained agents instead)
HARD_HOLDS = BLOCKING_HOLDS

CONTEXT_SQL = Path(__file__).resolve().parent / "sql" / "send_time_context.sql"


def send_time_context(con: duckdb.DuckDBPyConnection, as_of: dt.date, now: dt.datetime | None) -> list[dict]:
    """One dict per actionable NBA row (action not wait/none) for as_of, with holds/consent at planned time."""
    sql = CONTEXT_SQL.read_text(encoding="utf-8")
    sql = sql if table_exists(con, "data_quality_holds") else sql.replace(
        "n.account_id in (select account_id from data_quality_holds)", "false")
    cur = con.execute(sql, {"as_of": as_of, "now": now})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def policy_for(packs: dict[str, RulePack], country: str | None, jurisdiction: str | None) -> EffectivePolicy | None:
    if country not in packs or jurisdiction not in packs:
        return None
    return effective_policy([packs[country], packs[jurisdiction]])


def _local(ts: dt.datetime, tz: str | None) -> dt.datetime | None:
    try:
        return ts.astimezone(ZoneInfo(tz)).replace(tzinfo=None) if tz else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recheck(item: dict, policy: EffectivePolicy | None, outbox: Outbox, mode: str) -> str | None:
    """None when the item may be sent now; otherwise the reason it is suppressed (rule id first)."""
    holds = set(item["hold_kinds"] or [])
    blocking = [kind for kind in HARD_HOLDS if kind in holds]  # in decide's priority order
    if blocking:
        return f"HOLD-{blocking[0].upper().replace('_', '-')}: hold active at send time"
    if "vulnerability" in holds and item["action"] != "agent_call":
        return "SAFE-VULNERABILITY: vulnerable customers go to trained humans only"
    if item["dq_hold"] and item["action"] in QUOTES_AMOUNT:
        return "HOLD-DATA-QUALITY: would quote an amount under a data-quality hold"
    if policy is None:
        return "FAILCLOSED-UNKNOWN-PACK: no rule pack for customer country / account jurisdiction"
    channel, consent = item["channel"], item["consent"]
    if consent in ("opt_out", "revoked"):
        return f"CONSENT-OPT-OUT: customer {consent} for {channel}"
    if channel == "whatsapp" and not item["whatsapp_opt_in"]:
        return "CONSENT-WHATSAPP-OPT-IN: no whatsapp opt-in"
    if channel in policy.consent_required and channel != "whatsapp" and consent != "granted":
        return f"FAILCLOSED-NO-CONSENT: {channel} needs a granted consent"
    planned, start, end = item["planned_at"], item["send_window_start_utc"], item["send_window_end_utc"]
    local = _local(planned, item["timezone"]) if planned else None
    if start is None or end is None or local is None:
        return "FAILCLOSED-NO-WINDOW: no send window or timezone"
    if not (start <= planned <= end) or not policy.allows(local):
        return f"WINDOW: planned {local:%Y-%m-%d %H:%M} local is outside the allowed send window"
    day = local.date()
    groups = {channel: (channel,), "all_channels": CHANNELS}
    if channel in CALL_CHANNELS:
        groups["calls"] = CALL_CHANNELS
    for group, channels in groups.items():
        for period, (n, pack, _version) in policy.caps.get(group, {}).items():
            first = day - dt.timedelta(days=0 if period == "per_day" else 6)
            if outbox.count(item["customer_id"], channels, first, day, mode) >= n:
                return f"CAP-{group.upper().replace('_', '-')}-{period.upper()}: {pack} cap of {n} reached"
    return None
