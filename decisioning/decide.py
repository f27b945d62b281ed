"""decide: segments, contact policy and next-best-actions for one as_of.

`decide(con, settings, as_of, agent_capacity=None)` reads work_scores, fct_account_features, stg_* views,
data_quality_holds (absent = empty) and the rule packs; it replaces work_segments, work_next_best_actions and
work_suppressions (columns: docs/TABLES.md). Grain: one segment and one NBA row per account with a
fct_account_features row at as_of; one suppression row per account × suppressed action/channel × rule.
Human-agent actions (channel agent_call) are capped at `agent_capacity` per as_of (default
`catalog.AGENT_CALLS_PER_DAY`); see sql/int_agent_queue.sql and sql/work_next_best_actions.sql.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from decisioning import catalog
from decisioning.policy_tables import register_catalog_tables, register_policy_tables, register_send_windows
from decisioning.rule_packs import BLOCKING_HOLDS, CALL_CHANNELS, STOP_HOLDS, load_rule_packs
from recobro.settings import Settings
from recobro.warehouse import read_sql, table_exists

SQL_DIR = Path(__file__).resolve().parent / "sql"
log = logging.getLogger(__name__)


@dataclass
class DecideSummary:
    """What one decide run wrote."""

    as_of: dt.date
    accounts: int = 0
    actions: Counter = field(default_factory=Counter)  # (action, channel or '-') -> accounts
    suppressions: Counter = field(default_factory=Counter)  # rule_id -> rows
    segments: Counter = field(default_factory=Counter)
    arms: Counter = field(default_factory=Counter)
    policy_version: str = catalog.POLICY_VERSION
    agent_capacity: int = catalog.AGENT_CALLS_PER_DAY
    agent_demand: int = 0  # accounts whose first pick needed a human agent (queue length)
    agent_overflow: int = 0  # of those, accounts over capacity (fell back to a non-agent action or wait)

    def __str__(self) -> str:
        lines = [f"decide {self.as_of} ({self.policy_version}): {self.accounts} accounts"]
        lines.append("  actions:")
        lines += [f"    {a:<13} {c:<11} {n:>7}" for (a, c), n in sorted(self.actions.items())]
        lines.append(f"  agent queue: {self.agent_demand} wanted, capacity {self.agent_capacity}, "
                     f"{self.agent_overflow} over capacity (non-agent fallback or wait)")
        lines.append("  segments: " + ", ".join(f"{k}={v}" for k, v in sorted(self.segments.items())))
        lines.append("  arms: " + ", ".join(f"{k}={v}" for k, v in sorted(self.arms.items())))
        lines.append("  suppressions by rule:")
        lines += [f"    {r:<36} {n:>7}" for r, n in self.suppressions.most_common()]
        return "\n".join(lines)


def _set_variables(con: duckdb.DuckDBPyConnection, as_of: dt.date, agent_capacity: int) -> None:
    # one definition each, shared with the stages that own them (imported here, not at module import)
    from recobro.contract import PROMISE_GRACE_DAYS
    from models.score import HIGH_RISK_BELOW, LOW_RISK_FROM

    arm_edges = _arm_edges(catalog.ARMS)
    values = {
        "as_of": (as_of, "date"),
        "as_of_end": (dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), dt.timezone.utc), "timestamptz"),
        "policy_version": (catalog.POLICY_VERSION, "varchar"),
        "tier_low": (LOW_RISK_FROM, "double"),
        "tier_high_below": (HIGH_RISK_BELOW, "double"),
        "agent_capacity": (agent_capacity, "integer"),
        "epsilon": (catalog.EPSILON, "double"),
        "promise_grace_days": (PROMISE_GRACE_DAYS, "integer"),
        "plan_installments": (catalog.PLAN_INSTALLMENTS, "integer"),
        "blocking_holds": (list(BLOCKING_HOLDS), "varchar[]"),
        "stop_holds": (list(STOP_HOLDS), "varchar[]"),
        "call_channels": (list(CALL_CHANNELS), "varchar[]"),
        "champion_below": (arm_edges[0], "integer"),
        "challenger_below": (arm_edges[1], "integer"),
        "model_actions": (list(catalog.MODEL_VALUED_ACTIONS), "varchar[]"),
        "model_arms": (list(catalog.MODEL_VALUE_ARMS), "varchar[]"),
    }
    for name, (value, typ) in values.items():
        con.execute(f"set variable {name} = cast(? as {typ})", [value])


def _arm_edges(arms) -> tuple[int, int]:
    """Hash-bucket upper bounds (of 100) of the champion and challenger arms; control takes the rest."""
    names = tuple(name for name, _ in arms)
    shares = [int(share) for _, share in arms]
    if names != ("champion", "challenger", "control") or sum(shares) != 100 or min(shares) < 0:
        raise ValueError(f"catalog.ARMS must split 100 buckets over champion, challenger, control; got {arms}")
    return shares[0], shares[0] + shares[1]


def _ensure_optional_inputs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create empty temp stand-ins for optional inputs that are absent; returns the names created."""
    created = []
    if not table_exists(con, "data_quality_holds"):
        con.execute("create or replace temp table data_quality_holds (account_id varchar, load_id varchar, "
                    "rule_id varchar, created_at timestamptz)")
        created.append("data_quality_holds")
    if not table_exists(con, "work_channel_values"):
        # no channel scoring run (the daily flow always runs it, and it fails closed without a champion):
        # every candidate keeps its catalog prior, and model_versions names no channel model
        log.warning("work_channel_values is missing: valuing every candidate with the catalog priors")
        con.execute("create or replace temp table work_channel_values (as_of date, account_id varchar, "
                    "customer_id varchar, channel varchar, uplift double, stake_usd double, cost_usd double, "
                    "net_value_usd double, channel_model varchar)")
        created.append("work_channel_values")
    return created


def _build(con: duckdb.DuckDBPyConnection, name: str, temp: bool = False) -> None:
    kind = "temp table" if temp else "table"
    con.execute(f"create or replace {kind} {name} as\n" + read_sql(SQL_DIR / f"{name}.sql"))


def decide(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date,
           agent_capacity: int | None = None) -> DecideSummary:
    """Build work_segments, work_next_best_actions and work_suppressions for `as_of`; returns counts.

    `agent_capacity`: human-agent calls available today (default `catalog.AGENT_CALLS_PER_DAY`).
    """
    capacity = catalog.AGENT_CALLS_PER_DAY if agent_capacity is None else int(agent_capacity)
    if capacity < 0:
        raise ValueError(f"agent_capacity must be >= 0, got {agent_capacity}")
    packs = load_rule_packs(settings.rule_packs_dir)
    _set_variables(con, as_of, capacity)
    stand_ins = _ensure_optional_inputs(con)
    if "work_channel_values" not in stand_ins and not con.execute(
            "select count(*) from work_channel_values where as_of = ?", [as_of]).fetchall()[0][0]:
        log.warning("work_channel_values has no rows for %s (stale channel scoring?): catalog priors only", as_of)
    policies = register_policy_tables(con, packs)
    register_catalog_tables(con)
    _build(con, "int_decision_accounts", temp=True)
    register_send_windows(con, policies, as_of)
    _build(con, "int_action_exclusions", temp=True)
    for name in ("int_action_candidates", "int_agent_queue"):
        _build(con, name, temp=True)
    con.execute("begin transaction")
    try:
        for name in ("work_segments", "work_next_best_actions", "work_suppressions"):
            _build(con, name)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in stand_ins:  # a later real table of that name must not be shadowed by the stand-in
            con.execute(f"drop table if exists temp.main.{name}")
    return _summarise(con, as_of, capacity)


#: SQL predicate on fct_account_features: the accounts decide gave something to send
ACTIONED = ("cast(account_id as varchar) in "
            "(select account_id from work_next_best_actions where action not in ('wait', 'none'))")


def explain_actions(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> int:
    """SHAP reasons for the accounts that got an action, added after decide to `work_scores` and to
    their rows' reason codes in `work_next_best_actions`; returns how many accounts were explained.

    Scoring gives every account its probabilities; explaining costs tens of predictions per
    account, so the daily flow explains only what is acted on (DESIGN: reasons for actioned accounts).
    """
    from models.score import add_reasons

    explained = add_reasons(con, settings, as_of, ACTIONED)
    con.execute("set variable as_of = cast(? as date)", [as_of])
    con.execute((SQL_DIR / "nba_score_reasons.sql").read_text(encoding="utf-8"))
    return explained


def _summarise(con: duckdb.DuckDBPyConnection, as_of: dt.date, capacity: int) -> DecideSummary:
    summary = DecideSummary(as_of=as_of, agent_capacity=capacity)
    summary.agent_demand, summary.agent_overflow = con.execute(
        "select count(*), count(*) filter (where not has_slot) from int_agent_queue where first_pick").fetchone()
    for action, channel, n in con.execute(
        "select action, coalesce(channel, '-'), count(*) from work_next_best_actions group by all"
    ).fetchall():
        summary.actions[(action, channel)] = n
        summary.accounts += n
    summary.suppressions.update(dict(con.execute(
        "select rule_id, count(*) from work_suppressions group by all").fetchall()))
    summary.segments.update(dict(con.execute("select segment, count(*) from work_segments group by all").fetchall()))
    summary.arms.update(dict(con.execute(
        "select experiment_arm, count(*) from work_segments group by all").fetchall()))
    return summary
