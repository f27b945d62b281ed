"""Register the rule packs and strategy catalog as small temp tables the decide SQL joins to.

Grain of each table is stated where it is built; all are TEMP tables (never part of the warehouse).
"""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import pandas as pd

from decisioning import catalog
from decisioning.rule_packs import CALL_CHANNELS, EffectivePolicy, RulePack, effective_policy
from decisioning.send_windows import send_window_rows
from recobro.contract import CHANNELS


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple], columns: list[str],
                types: dict[str, str] | None = None) -> None:
    frame = pd.DataFrame(rows, columns=columns)
    for col, typ in (types or {}).items():
        frame[col] = frame[col].astype(typ)
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace temp table {name} as select * from _frame")
    finally:
        con.unregister("_frame")


def effective_policies(packs: dict[str, RulePack]) -> dict[str, EffectivePolicy]:
    """Every single pack and every pair of packs, merged strictest-wins, keyed by policy key."""
    out = {}
    for a, b in itertools.product(packs, repeat=2):
        policy = effective_policy([packs[a], packs[b]])
        out[policy.key] = policy
    return out


def register_policy_tables(con: duckdb.DuckDBPyConnection, packs: dict[str, RulePack]) -> dict[str, EffectivePolicy]:
    """tmp_pack_pairs (country × jurisdiction), tmp_policy, tmp_policy_caps, tmp_policy_consent, catalog tables."""
    policies = effective_policies(packs)
    pairs = [(c, j, "+".join(sorted({c, j}))) for c, j in itertools.product(packs, repeat=2)]
    _temp_table(con, "tmp_pack_pairs", pairs, ["country", "jurisdiction", "policy_key"])
    _temp_table(con, "tmp_policy", [
        (p.key, p.version, *(p.single_channel_per_7d or (None, None)), *p.call_cooldown, p.max_tone)
        for p in policies.values()
    ], ["policy_key", "pack_version", "single_pack", "single_version", "cooldown_days", "cooldown_pack",
        "cooldown_version", "max_tone"], {"single_pack": "object", "single_version": "object"})
    period = {"per_day": "day", "per_7d": "7d"}
    _temp_table(con, "tmp_policy_caps", [
        (p.key, group, period[k], n, pack, version)
        for p in policies.values() for group, limits in p.caps.items() for k, (n, pack, version) in limits.items()
    ], ["policy_key", "cap_group", "period", "limit_n", "rule_pack", "rule_pack_version"])
    _temp_table(con, "tmp_policy_consent", [
        (p.key, ch, pack, version) for p in policies.values() for ch, (pack, version) in p.consent_required.items()
    ], ["policy_key", "channel", "rule_pack", "rule_pack_version"])
    groups = [(ch, ch) for ch in CHANNELS] + [(ch, "calls") for ch in CALL_CHANNELS] + [(ch, "all_channels") for ch in CHANNELS]
    _temp_table(con, "tmp_channel_groups", groups, ["channel", "cap_group"])
    return policies


def register_catalog_tables(con: duckdb.DuckDBPyConnection) -> None:
    """tmp_candidates, tmp_segment_actions, tmp_treatment_path, tmp_segment_paths, tmp_segment_tone,
    tmp_templates, tmp_fx: the strategy catalog (decisioning.catalog) as tables."""
    _temp_table(con, "tmp_candidates", list(catalog.CANDIDATES), list(catalog.CANDIDATE_COLUMNS),
                {"contact_point": "object"})
    _temp_table(con, "tmp_segment_actions",
                [(s, a) for s, (actions, _) in catalog.SEGMENTS.items() for a in actions], ["segment", "action"])
    _temp_table(con, "tmp_treatment_path",
                [(s, day, a, c) for s, (_, path) in catalog.SEGMENTS.items() for day, a, c in path],
                ["segment", "step_day", "action", "channel"])
    _temp_table(con, "tmp_segment_paths", [
        (s, f"{s}: " + " > ".join(f"{c}{'' if a == c else '+' + a} d{day}" for day, a, c in path))
        for s, (_, path) in catalog.SEGMENTS.items()
    ], ["segment", "treatment_path"])
    _temp_table(con, "tmp_segment_tone", list(catalog.SEGMENT_TONE.items()), ["segment", "tone"])
    _temp_table(con, "tmp_templates", catalog.template_rows(),
                ["action", "channel", "tone", "language", "without_amount", "template_id"])
    _temp_table(con, "tmp_fx", list(catalog.FX_TO_USD.items()), ["currency", "rate"])


def register_send_windows(con: duckdb.DuckDBPyConnection, policies: dict[str, EffectivePolicy], as_of: dt.date) -> None:
    """tmp_send_windows: one row per (policy_key, timezone) on int_decision_accounts with a window."""
    pairs = con.execute(
        "select distinct policy_key, timezone from int_decision_accounts "
        "where policy_key is not null and timezone is not null"
    ).fetchall()
    rows = send_window_rows(policies, pairs, as_of)
    _temp_table(con, "tmp_send_windows", rows,
                ["policy_key", "timezone", "window_date", "start_local", "end_local", "start_utc", "end_utc"])
    if not rows:  # keep column types when empty
        con.execute("""create or replace temp table tmp_send_windows (policy_key varchar, timezone varchar,
            window_date date, start_local timestamp, end_local timestamp, start_utc timestamptz, end_utc timestamptz)""")
    else:
        con.execute("""create or replace temp table tmp_send_windows as select policy_key, timezone,
            window_date::date as window_date, start_local::timestamp as start_local, end_local::timestamp as end_local,
            start_utc::timestamptz as start_utc, end_utc::timestamptz as end_utc from tmp_send_windows""")
