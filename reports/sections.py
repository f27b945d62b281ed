"""The report's sections, each a dict of aggregate rows for the template.

Every function takes an open DuckDB connection and `as_of`, reads only aggregates (no
per-account rows, no personal columns) and returns `available=False` with a reason when
the tables it needs do not exist yet, so a young warehouse still gets a report.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from features.build import PAYMENT_POSTING_LAG_DAYS
from recobro import contract
from reports import plots
from reports.monitoring import psi, psi_advice, psi_band
from reports.queries import has_table, history_relation, run_sql, sql_relation

PUBLISHED = {
    "scores": {"as_of", "account_id", "p_pay_30d", "p_promise_kept", "promise_kept_model", "pay_model"},
    "segments": {"as_of", "account_id", "segment", "risk_tier", "vulnerability_flag", "experiment_arm"},
    "next_best_actions": {"as_of", "account_id", "action", "channel", "expected_value", "propensity",
                          "experiment_arm"},
    "suppressions": {"as_of", "account_id", "rule_id", "rule_pack", "rule_pack_version"},
}
RISK_TIERS = ("low", "medium", "high")


def _missing(*tables: str) -> dict:
    return {"available": False, "reason": "not available yet: missing " + ", ".join(tables)}


def _history(con, as_of: dt.date, *names: str) -> tuple[dict[str, str], list[str]]:
    rels = {n: history_relation(con, n, as_of) for n in names}
    return {n: r for n, r in rels.items() if r}, [f"raw_{n}" for n, r in rels.items() if r is None]


def eligible_accounts(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[int | None, str]:
    """Accounts eligible for scoring: `fct_account_features` rows at as_of if built, else placed accounts."""
    if has_table(con, "fct_account_features", {"as_of", "account_id"}):
        rel = f"(select account_id from fct_account_features where as_of = date '{as_of.isoformat()}')"
        source = "fct_account_features"
    else:
        accounts = history_relation(con, "accounts", as_of)
        if accounts is None:
            return None, "no accounts table"
        rel = (f"(select account_id from {accounts} "
               f"where placed_at < cast(date '{as_of.isoformat()}' + 1 as timestamptz))")
        source = "accounts placed by as_of"
    rows = run_sql(con, "header_eligible", relations={"eligible": rel})
    return int(rows[0]["eligible_accounts"]), source


def header_section(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict:
    """Scored vs eligible accounts and the model versions that scored them."""
    eligible, eligible_source = eligible_accounts(con, as_of)
    models = run_sql(con, "header_scored", {"as_of": as_of}) if has_table(con, "scores", PUBLISHED["scores"]) else []
    scored = sum(r["accounts"] for r in models)
    return {
        "eligible": eligible,
        "eligible_source": eligible_source,
        "scored": scored,
        "coverage": scored / eligible if eligible else None,
        "models": models,
    }


def kpi_section(con: duckdb.DuckDBPyConnection, as_of: dt.date, eligible: int | None) -> dict:
    """DOMAIN.md §3 KPIs over the 30 days ending at as_of, by channel and by currency."""
    rels, missing = _history(con, as_of, "contacts", "promises", "ledger", "accounts")
    if "ledger" in rels:
        rels["payments"] = sql_relation("visible_payments", rels)
    params = {"as_of": as_of, "eligible_accounts": eligible, "posting_lag_days": PAYMENT_POSTING_LAG_DAYS,
              "promise_grace_days": contract.PROMISE_GRACE_DAYS, "promise_kept_share": contract.PROMISE_KEPT_SHARE}
    out: dict = {
        "available": True,
        "window_start": as_of - dt.timedelta(days=29),
        "window_end": as_of,
        "kept_window_start": as_of - dt.timedelta(days=29 + PAYMENT_POSTING_LAG_DAYS),
        "kept_window_end": as_of - dt.timedelta(days=PAYMENT_POSTING_LAG_DAYS),
        "missing": missing,
    }
    out["contacts"] = run_sql(con, "kpi_contacts", params, rels) if "contacts" in rels else []
    out["promises"] = (run_sql(con, "kpi_promises", params, rels)
                       if {"contacts", "promises"} <= rels.keys() else [])
    out["promise_kept"] = (run_sql(con, "kpi_promise_kept", params, rels)
                           if {"promises", "ledger"} <= rels.keys() else [])
    out["recovery"] = (run_sql(con, "kpi_recovery", params, rels)
                       if {"accounts", "ledger", "contacts"} <= rels.keys() else [])
    totals = {
        "contacts": next((r for r in out["contacts"] if r["is_total"]), {}),
        "promises": next((r for r in out["promises"] if r["is_total"]), {}),
        "promise_kept": next((r for r in out["promise_kept"] if r["is_total"]), {}),
    }
    out["headline"] = [
        ("Contact rate", totals["contacts"].get("contact_rate"), "pct"),
        ("RPC rate", totals["contacts"].get("rpc_rate"), "pct"),
        ("Promise rate", totals["promises"].get("promise_rate"), "pct"),
        ("Promise-kept rate", totals["promise_kept"].get("promise_kept_rate"), "pct"),
        ("Opt-out rate", totals["contacts"].get("opt_out_rate"), "pct"),
        ("Complaint rate", totals["contacts"].get("complaint_rate"), "pct"),
        ("Attempts / account / week", totals["contacts"].get("attempts_per_account_week"), "dec2"),
    ]
    if len(out["recovery"]) == 1:
        only = out["recovery"][0]
        out["headline"].insert(4, (f"Recovery rate, 30 days ({only['currency']})",
                                   only["recovery_rate_30d"], "pct"))
    out["cure_roll"] = (run_sql(con, "kpi_cure_roll", {"as_of": as_of})
                        if has_table(con, "fct_account_features", {"as_of", "account_id", "dpd"}) else [])
    out["cure_roll_png"] = plots.cure_roll_png(out["cure_roll"])
    return out


def decisions_section(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict:
    """Today's next-best-actions, suppressions, segments x risk tier and experiment arms."""
    params = {"as_of": as_of}
    out: dict = {"available": True}
    if has_table(con, "next_best_actions", PUBLISHED["next_best_actions"]):
        out["actions"] = run_sql(con, "decisions_actions", params)
        out["actions_png"] = plots.actions_by_channel_png(out["actions"])
    else:
        out["actions"], out["actions_png"] = None, None
    out["suppressions"] = (run_sql(con, "decisions_suppressions", params)
                           if has_table(con, "suppressions", PUBLISHED["suppressions"]) else None)
    if has_table(con, "segments", PUBLISHED["segments"]):
        out["segments"] = segment_pivot(run_sql(con, "decisions_segments", params))
        out["arms"] = (run_sql(con, "decisions_arms", params)
                       if has_table(con, "next_best_actions", PUBLISHED["next_best_actions"]) else None)
    else:
        out["segments"], out["arms"] = None, None
    return out


def segment_pivot(rows: list[dict]) -> dict:
    """Long (segment, risk_tier, accounts) rows -> a segment x tier grid with totals."""
    tiers = list(RISK_TIERS) + sorted({r["risk_tier"] for r in rows} - set(RISK_TIERS))
    grid: dict[str, dict] = {}
    for r in rows:
        row = grid.setdefault(r["segment"], {"segment": r["segment"], "vulnerable": 0, "total": 0})
        row[r["risk_tier"]] = r["accounts"]
        row["total"] += r["accounts"]
        row["vulnerable"] += r["vulnerable_accounts"]
    return {"tiers": tiers, "rows": list(grid.values())}


def model_health_section(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict:
    """Score distributions at as_of and PSI of p_pay_30d against the previous scoring date."""
    if not has_table(con, "scores", PUBLISHED["scores"]):
        return _missing("scores")
    previous = run_sql(con, "model_previous_as_of", {"as_of": as_of})[0]["previous_as_of"]
    bins = run_sql(con, "model_score_bins", {"as_of": as_of, "previous_as_of": previous})
    psi_value = None
    if previous is not None:
        psi_value = psi(plots.bin_counts(bins, previous, "p_pay_30d"), plots.bin_counts(bins, as_of, "p_pay_30d"))
    band = psi_band(psi_value)
    return {
        "available": True,
        "summary": run_sql(con, "model_score_summary", {"as_of": as_of}),
        "previous_as_of": previous,
        "psi": psi_value,
        "psi_band": band,
        "psi_advice": psi_advice(band),
        "histogram_png": plots.score_histograms_png(bins, as_of, previous),
    }


def data_quality_section(con: duckdb.DuckDBPyConnection) -> dict:
    """The last load per table from `load_audit`, and quarantined rows by rule."""
    out: dict = {"available": True}
    audit_cols = {"load_id", "delivery", "table_name", "rows_in", "rows_accepted",
                  "rows_quarantined", "rows_duplicate", "status", "arrived_at"}
    has_audit = has_table(con, "load_audit", audit_cols)
    out["last_load"] = run_sql(con, "dq_load_audit") if has_audit else None
    if has_table(con, "quarantine", {"load_id", "table_name", "column_name", "rule_id"}):
        audit = ("load_audit" if has_audit else
                 "(select cast(null as varchar) as load_id, cast(null as timestamptz) as arrived_at where false)")
        out["quarantine"] = run_sql(con, "dq_quarantine", relations={"load_audit": audit})
    else:
        out["quarantine"] = None
    if has_table(con, "data_quality_holds", {"account_id"}):
        out["holds"] = run_sql(con, "dq_holds")[0]["accounts_on_hold"]
    else:
        out["holds"] = None
    return out
