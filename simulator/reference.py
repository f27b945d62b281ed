"""Reference contact policies for `play_forward`, and the comparison the CLI prints.

- `bau`: the historical business-as-usual rules (DPD-band contact rates and channel mix),
  sent inside the rule pack's hours;
- `random_policy`: the same contact volume with random channels and targets;
- `oracle`: the channel with the highest true incremental value net of cost (simulator.value),
  contacted only when that value is positive;
- `no_contact`, `sms_reminder` (calibration), and `ignore_rules` (breaks the rule pack on purpose).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS
from simulator import params as P
from simulator import policy as bau_rules
from simulator.playforward import Actions, DayState


def _send_minute(state: DayState, account: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The wanted local minute clipped into the pack's window; mask False where the pack is closed today."""
    win = state.window[account]
    open_ = win[:, 0] >= 0
    return np.clip(wanted, win[:, 0], win[:, 1]), open_


def _one_per_customer(state: DayState, account: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Mask keeping each customer's highest-scoring account (ties: lowest account number)."""
    if len(account) == 0:
        return np.zeros(0, dtype=bool)
    cust = state.world.accounts.customer[account]
    order = np.lexsort((account, -score, cust))
    first = np.r_[True, cust[order][1:] != cust[order][:-1]]
    keep = np.zeros(len(account), dtype=bool)
    keep[order[first]] = True
    return keep


def _finish(state: DayState, account: np.ndarray, channel: np.ndarray, wanted: np.ndarray,
            score: np.ndarray) -> Actions:
    minute, open_ = _send_minute(state, account, wanted)
    a = Actions(account, channel, minute).take(open_)
    a = a.take(_one_per_customer(state, a.account, score[open_]))
    return a.take(state.compliant(a))


def no_contact(state: DayState) -> Actions:
    """Contact nobody (the control arm)."""
    return Actions.none()


def bau(state: DayState) -> Actions:
    """Business-as-usual: the history's DPD-band rules, in the pack's hours."""
    idx = np.flatnonzero(state.eligible)
    cust = state.world.accounts.customer[idx]
    p_contact, p_channel = bau_rules.bau_action_probabilities(state.dpd[idx], state.vulnerable[idx],
                                                              state.allowed[cust])
    contacted, channel, _ = bau_rules.draw_bau_actions(state.rng, p_contact, p_channel)
    minute = bau_rules.draw_local_minute(state.rng, channel)
    return _finish(state, idx[contacted], channel[contacted], minute[contacted], -idx[contacted].astype(float))


def random_policy(state: DayState) -> Actions:
    """BAU's expected daily volume, spent on random open accounts, random consented channels and hours.

    Open accounts include those already back to current: only the rules constrain it, not days past due.
    """
    elig = np.flatnonzero(state.eligible)
    p_contact, _ = bau_rules.bau_action_probabilities(state.dpd[elig], state.vulnerable[elig],
                                                      state.allowed[state.world.accounts.customer[elig]])
    pool = np.flatnonzero(state.balance > 0)
    k = min(len(pool), int(state.rng.poisson(p_contact.sum())))
    idx = np.sort(state.rng.choice(pool, size=k, replace=False))
    ok = state.allowed[state.world.accounts.customer[idx]]
    weights = state.rng.random(ok.shape) * ok
    channel = weights.argmax(axis=1)
    idx, channel = idx[weights.max(axis=1) > 0], channel[weights.max(axis=1) > 0]
    minute = state.rng.integers(8 * 60, 21 * 60, len(idx))
    return _finish(state, idx, channel, minute, state.rng.random(len(idx)))


def oracle(state: DayState) -> Actions:
    """Best channel by true incremental value net of cost; nobody when no channel pays for itself."""
    from simulator.value import channel_effects

    w, idx = state.world, np.flatnonzero(state.eligible)
    cust = w.accounts.customer[idx]
    fx = np.asarray(P.FX_BY_COUNTRY)[w.customers.country[cust]]
    reachable = state.allowed[cust] & state.sim.reachable[cust]
    fx_eff = channel_effects(w.customers.reason[cust], w.customers.affinity[cust], w.customers.evening[cust],
                             state.fatigue[cust], state.dpd[idx] - 1, state.past_due[idx], w.accounts.capacity[idx],
                             fx, reachable, can_disclose=state.sim.can_disclose(idx))
    value = np.where(reachable, fx_eff["value_usd"], -np.inf)
    if state.vulnerable.any():  # vulnerable customers only through trained agents
        vul = state.vulnerable[idx]
        value[vul] = np.where(np.arange(6) == P.AGENT_CALL, value[vul], -np.inf)
    channel = value.argmax(axis=1)
    best = value[np.arange(len(idx)), channel]
    go = best > 0
    hour = fx_eff["hour"][np.arange(len(idx)), channel]
    return _finish(state, idx[go], channel[go], hour[go] * 60, best[go])


def sms_reminder(state: DayState) -> Actions:
    """One SMS reminder per past-due account, on the first day its rule pack allows (Cadena & Schoar style)."""
    done = state.memo.setdefault("reminded", np.zeros(len(state.eligible), dtype=bool))
    idx = np.flatnonzero(state.eligible & ~done)
    a = _finish(state, idx, np.full(len(idx), P.SMS), np.full(len(idx), 12 * 60), -idx.astype(float))
    done[a.account] = True
    return a


def ignore_rules(state: DayState) -> Actions:
    """Call every past-due account at 21:30 local each day, holds, opt-outs and caps notwithstanding."""
    idx = np.flatnonzero(state.past_due > 0)
    return Actions(idx, np.full(len(idx), P.VOICE), np.full(len(idx), 21 * 60 + 30))


POLICIES = {"bau": bau, "random": random_policy, "oracle": oracle, "no_contact": no_contact,
            "sms_reminder": sms_reminder, "ignore_rules": ignore_rules}


def actions_from_nba(nba: pd.DataFrame, world, on: date) -> Actions:
    """Actions from a `next_best_actions` table (docs/TABLES.md) for one day; wait/none rows are skipped.

    The local minute comes from `send_window_start_utc` in each customer's timezone.
    """
    from simulator.tables import local_offsets

    rows = nba[nba["channel"].notna() & ~nba["action"].isin(["wait", "none"])]
    account = rows["account_id"].str.slice(4).astype(np.int64).to_numpy() - 1
    channel = np.array([CHANNELS.index(c) for c in rows["channel"]], dtype=np.int64)
    start = pd.to_datetime(rows["send_window_start_utc"], utc=True).dt.tz_localize(None).to_numpy()
    zones, zone = np.unique(world.customers.timezone.astype(str), return_inverse=True)
    d = (on - world.start).days
    offsets = local_offsets(world, zones, extra_days=d + 2 - world.days)[:, d]
    local = start + offsets[zone[world.accounts.customer[account]]].astype("timedelta64[m]")
    minute = ((local - local.astype("datetime64[D]")) // np.timedelta64(1, "m")).astype(np.int64)
    return Actions(account, channel, minute)


def compare_policies(n_accounts: int = 20_000, history_days: int = 120, seed: int = 0, days: int = 30,
                     policies=("oracle", "bau", "random", "no_contact"), scenario="default") -> pd.DataFrame:
    """One row per policy: recovered, cost, net, complaints, opt-outs, inbound contacts and violations over `days` days.

    All policies start from the same simulated history and meet the same luck (common random numbers).
    This is what `recobro simulate compare` prints.
    """
    from simulator import simulate_world
    from simulator.playforward import play_forward

    world, holds, history, _, _ = simulate_world(n_accounts, history_days, seed, scenario=scenario)
    rows = []
    for name in policies:
        fn = POLICIES[name] if isinstance(name, str) else name
        res = play_forward(world, holds, history, fn, days=days, seed=seed + 1)
        s = res.summary
        rows.append({"policy": name if isinstance(name, str) else getattr(fn, "__name__", "policy"),
                     **{k: s[k] for k in ("recovered_usd", "contact_cost_usd", "net_usd", "contacts",
                                          "complaints", "opt_outs", "promises", "promises_kept", "inbound",
                                          "cure_rate", "violations")},
                     **{f"recovered_local_{c}": v for c, v in s["recovered_by_currency"].items()}})
    return pd.DataFrame(rows)


def render_comparison(frame: pd.DataFrame) -> str:
    """`compare_policies` output as a Markdown table, best net recovery first."""
    cols = ["policy", "net_usd", "recovered_usd", "contact_cost_usd", "contacts", "complaints", "opt_outs",
            "promises", "inbound", "cure_rate", "violations"]
    frame = frame.sort_values("net_usd", ascending=False)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(f"{row[c]:,.2f}" if isinstance(row[c], float) else str(row[c])
                                       for c in cols) + " |")
    return "\n".join(lines) + "\n"
