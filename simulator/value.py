"""The true effect of one contact per channel: engagement, extra payment probability, value net of cost.

Ground truth (`truth_accounts`) and the oracle policy call the same function, so the oracle
is exactly as good as the truth says and a channel model can be scored against it.
"""

from __future__ import annotations

import numpy as np

from simulator import behaviour as B
from simulator import params as P

# an engaged contact's nudge decays geometrically, so its lift lasts 1/(1-decay) days
NUDGE_DAYS = 1.0 / (1.0 - B.NUDGE_DECAY)
BEST_HOURS = (10, 19)  # the two send hours considered: morning people vs evening people


def keep_baseline(reason: np.ndarray) -> np.ndarray:
    """P(keep) of a typical promise of this reason (amount within capacity, no broken history)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(P.KEEP_LOGIT)[reason]))


def channel_effects(reason: np.ndarray, affinity: np.ndarray, evening: np.ndarray, fatigue: np.ndarray,
                    days_unpaid: np.ndarray, past_due: np.ndarray, capacity: np.ndarray, fx: np.ndarray,
                    reachable: np.ndarray) -> dict[str, np.ndarray]:
    """Per account and channel (n, 6): engagement, extra P(pay) and value net of cost in USD.

    `affinity` and `reachable` are (n, 6); amounts are local cents; `fx` is local units per USD.
    The value is p_extra × min(past_due, capacity) − unit cost, at the better of the two send hours.
    """
    n = len(reason)
    stale = reason == P.STALE
    engage = np.zeros((n, 6))
    hour = np.zeros((n, 6), dtype=np.int64)
    for h in BEST_HOURS:
        p = B.engagement_probability(affinity, reason[:, None], np.full((n, 6), h), evening[:, None],
                                     fatigue[:, None])
        better = p > engage
        engage = np.where(better, p, engage)
        hour = np.where(better, h, hour)
    engage = np.where(reachable & ~stale[:, None], engage, 0.0)
    early = days_unpaid <= B.EARLY_DAYS
    h0 = np.where(early, np.asarray(P.HAZARD_EARLY)[reason], np.asarray(P.HAZARD_LATE)[reason])
    lift = np.minimum(0.9, h0 * np.asarray(P.NUDGE_GAIN)[reason] * NUDGE_DAYS)
    promise = np.asarray(P.P_PROMISE_ON_RPC)[reason] * keep_baseline(reason)
    is_call = np.isin(np.arange(6), P.CALLS)[None, :]
    answered = engage * np.where(np.arange(6) == P.AGENT_CALL, 1.4, 1.0)[None, :]
    p_extra = np.where(is_call, np.minimum(answered, 0.95) * (lift + promise)[:, None],
                       engage * lift[:, None])
    p_extra = np.clip(p_extra, 0.0, 1.0)
    amount_usd = np.minimum(past_due, capacity) / 100.0 / fx
    cost = np.asarray(P.CHANNEL_COST_USD)[None, :] * np.ones((n, 1))
    cost[:, P.AGENT_CALL] = np.where(answered[:, P.AGENT_CALL] > 0.5, P.CHANNEL_COST_USD[P.AGENT_CALL],
                                     answered[:, P.AGENT_CALL] * P.CHANNEL_COST_USD[P.AGENT_CALL]
                                     + (1 - answered[:, P.AGENT_CALL]) * P.AGENT_ATTEMPT_COST_USD)
    value = p_extra * amount_usd[:, None] - cost
    return {"engage": engage, "p_extra": p_extra, "value_usd": value, "hour": hour}
