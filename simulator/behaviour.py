"""Debtor behaviour as pure, vectorised functions (DOMAIN.md §4).

The history loop and the ground-truth tables call the same functions, so the truth reported
for an account is the probability the simulator actually used, not a re-derivation.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import numpy as np

from simulator import params as P

EARLY_DAYS = 10
NUDGE_DECAY = 0.6  # a reminder's lift fades within a few days
FATIGUE_DECAY = 0.85  # per day; recent contacts weigh most
NUDGE_CAP = 3.0  # most a nudge can multiply the hazard by, minus one
# after a click on a payment link: P(pays on the spot) (reluctant: disputers, won't-pay), and the
# cumulative share that pays or books a self-service promise; a payment there is the past due if
# capacity covers it, else capacity times U(LINK_CAPACITY_SHARE)
LINK_PAY_NOW, LINK_PAY_NOW_RELUCTANT, LINK_PAY_OR_PROMISE = 0.45, 0.1, 0.8
LINK_CAPACITY_SHARE = (0.5, 1.0)
# a payment on the debtor's own that is not the whole past due is U(OWN_PARTIAL_SHARE) of it; a
# forgetful debtor whose capacity covers the balance pays it all off with P OWN_PAYOFF
OWN_PARTIAL_SHARE, OWN_PAYOFF = (0.2, 0.7), 0.15
PLAN_DEBIT_CAPACITY_SHARE = (0.6, 1.0)  # a hardship plan's monthly direct debit, times capacity


def payday_matrix(start: date, n_days: int) -> np.ndarray:
    """(n_countries, n_days) bool: the day is a payday or one of the two days after it."""
    out = np.zeros((len(P.COUNTRIES), n_days), dtype=bool)
    for d in range(n_days):
        day = start + timedelta(days=d)
        last = calendar.monthrange(day.year, day.month)[1]
        month_end = day.day == last or day.day <= 2
        quincena = 15 <= day.day <= 17
        for ci, code in enumerate(P.COUNTRIES):
            out[ci, d] = month_end or (P.QUINCENA[code] and quincena)
    return out


def payment_hazard(reason: np.ndarray, days_unpaid: np.ndarray, payday: np.ndarray,
                   nudge: np.ndarray, resolved: np.ndarray) -> np.ndarray:
    """Daily probability that a past-due debtor pays something today (one value per account)."""
    early = np.asarray(P.HAZARD_EARLY)[reason]
    late = np.asarray(P.HAZARD_LATE)[reason]
    h = np.where(days_unpaid <= EARLY_DAYS, early, late)
    # a disputer whose dispute was settled pays like an organised debtor
    h = np.where(resolved & (reason == P.DISPUTER), h * 4.0, h)
    # repeated nudges saturate: the tenth reminder this week adds little to the third
    h = h * np.where(payday, 2.2, 1.0) * (1.0 + NUDGE_CAP * np.tanh(nudge / NUDGE_CAP))
    return np.clip(h, 0.0, 0.9)


def hour_factor(hour: np.ndarray, evening: np.ndarray) -> np.ndarray:
    """Multiplier on engagement for the local hour: evening people answer after 18:00."""
    return np.where(hour >= 18, 0.7 + 0.8 * evening,
                    np.where(hour < 12, 1.05 - 0.3 * evening, 0.9))


def engagement_probability(affinity: np.ndarray, reason: np.ndarray, hour: np.ndarray,
                           evening: np.ndarray, fatigue: np.ndarray) -> np.ndarray:
    """Probability that a delivered contact is engaged with (opened, clicked, answered)."""
    p = affinity * np.asarray(P.RESPONSE_MULT)[reason] * hour_factor(hour, evening)
    p = p / (1.0 + 0.35 * fatigue)
    return np.clip(p, 0.0, 0.95)


def opt_out_probability(fatigue: np.ndarray, reason: np.ndarray) -> np.ndarray:
    """Probability a contact ends in an opt-out; grows with recent contact volume."""
    base = 0.002 + 0.004 * fatigue
    return np.clip(np.where(reason == P.WONT_PAY, 2.0 * base, base), 0.0, 0.2)


def complaint_probability(fatigue: np.ndarray, reason: np.ndarray) -> np.ndarray:
    """Probability a contact ends in a complaint; disputers and pressured debtors complain."""
    base = 0.0005 + 0.0015 * fatigue
    heavy = (reason == P.DISPUTER) | (reason == P.CHRONIC)
    return np.clip(np.where(heavy, 3.0 * base, base), 0.0, 0.1)


def gets_in_touch(reason: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Mask of the past-due debtors who contact the agency on their own today, from one uniform each."""
    return u < np.asarray(P.P_INBOUND)[reason]


def inbound_contact(reason: np.ndarray, u_channel: np.ndarray, u_promise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Channel (agent call or WhatsApp) of each debtor-initiated contact and whether it ends in a promise.

    Such a contact always reaches the right party; a promise made on it is an agent's, not self-service.
    """
    channel = np.where(u_channel < P.INBOUND_CALL_SHARE, P.AGENT_CALL, P.WHATSAPP)
    promised = u_promise < np.asarray(P.P_PROMISE_ON_RPC)[reason] * P.INBOUND_PROMISE_MULT
    return channel, promised


def can_disclose(reason: np.ndarray, plan_start: np.ndarray) -> np.ndarray:
    """Mask of the debtors who may disclose hardship on an answered call without a promise (then with
    P_DISCLOSE_ON_RPC): a hardship reason and no hardship plan so far (`plan_start` < 0)."""
    return np.isin(reason, [P.TEMPORARY, P.CHRONIC]) & (np.asarray(plan_start) < 0)


def promise_amount(past_due: np.ndarray, capacity: np.ndarray, self_service: np.ndarray, u_ask: np.ndarray,
                   u_call: np.ndarray, u_self: np.ndarray) -> np.ndarray:
    """Promised amount in local cents, from three uniforms per promise.

    A self-service debtor chooses what they can: 60-100% of capacity, at most the past-due amount.
    An agent (or voice flow) asks for the whole past-due amount; a debtor short of it agrees anyway
    half the time (u_ask < 0.5) and otherwise offers 50-100% of capacity. Rounded up to a whole unit,
    at least 1 and at most the past due.
    """
    asked = np.where((capacity >= past_due) | (u_ask < 0.5), past_due, capacity * (0.5 + 0.5 * u_call))
    chosen = np.minimum(past_due, capacity * (0.6 + 0.4 * u_self))
    amount = np.ceil(np.where(self_service, chosen, asked) / 100) * 100
    return np.clip(amount, 100, past_due).astype(np.int64)


def keep_probability(reason: np.ndarray, promised: np.ndarray, capacity: np.ndarray,
                     self_service: np.ndarray, broken_before: np.ndarray, payday_in_window: np.ndarray,
                     noise: np.ndarray) -> np.ndarray:
    """Probability that a promise is kept; `noise` is the debtor's unobservable circumstance."""
    stretch = np.maximum(0.0, promised / np.maximum(capacity, 1) - 1.0)
    logit = (np.asarray(P.KEEP_LOGIT)[reason] + 0.8 * self_service - 1.2 * np.minimum(stretch, 3.0)
             - 0.5 * np.minimum(broken_before, 4) + 0.3 * payday_in_window + noise)
    return 1.0 / (1.0 + np.exp(-logit))


def p_pay_within(reason: np.ndarray, days_unpaid: np.ndarray, payday: np.ndarray,
                 resolved: np.ndarray, horizon: int) -> np.ndarray:
    """Probability of at least one payment within `horizon` days with no contact at all.

    `payday` is (n, horizon) bool for the days after as_of; nudges are zero by construction.
    """
    survive = np.ones(len(reason))
    zero = np.zeros(len(reason))
    for t in range(horizon):
        h = payment_hazard(reason, days_unpaid + t + 1, payday[:, t], zero, resolved)
        survive *= 1.0 - h
    return 1.0 - survive
