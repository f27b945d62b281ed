"""Next allowed send window per (effective policy, timezone), in local time and UTC.

Grain: one row per distinct (policy_key, timezone) pair present on as_of — a few dozen even for a large
portfolio, so a plain Python loop over pairs is the vectorised form here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from decisioning.rule_packs import EffectivePolicy

SEARCH_DAYS = 31  # Colombia around Easter has the longest run of closed days; a month is ample


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_window(policy: EffectivePolicy, timezone: str | None, after: dt.date) -> tuple | None:
    """First allowed window on a local date strictly after `after`, or None (unknown tz, nothing open).

    Returns (window_date, start_local, end_local, start_utc, end_utc); local values are naive,
    UTC values are timezone-aware.
    """
    zone = _zone(timezone)
    if zone is None:
        return None
    for offset in range(1, SEARCH_DAYS + 1):
        day = after + dt.timedelta(days=offset)
        span = policy.hours[day.weekday()]
        if span is None or day in policy.holidays:
            continue
        start_local = dt.datetime.combine(day, span[0])
        end_local = dt.datetime.combine(day, span[1])
        start_utc = start_local.replace(tzinfo=zone).astimezone(dt.timezone.utc)
        end_utc = end_local.replace(tzinfo=zone).astimezone(dt.timezone.utc)
        return day, start_local, end_local, start_utc, end_utc
    return None


def send_window_rows(policies: dict[str, EffectivePolicy], pairs: list[tuple[str, str]], as_of: dt.date) -> list[tuple]:
    """Rows (policy_key, timezone, window_date, start_local, end_local, start_utc, end_utc) for known pairs."""
    rows = []
    for key, tz in pairs:
        window = next_window(policies[key], tz, as_of) if key in policies else None
        if window is not None:
            rows.append((key, tz, *window))
    return rows
