"""Ground truth for evaluation: latent traits and the probabilities the simulator used.

Only ids and latent quantities: no phone, email, name or region, so truth files can sit
next to benchmark results without spreading personal data. Never loaded into the warehouse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS
from simulator import behaviour as B
from simulator import params as P
from simulator.history import History
from simulator.value import channel_effects
from simulator.world import World

RESPONSE_HOURS = np.arange(9, 21)
HORIZON = 30


def truth_customers(world: World, customers: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: reason for non-payment, capacity and channel traits."""
    c = world.customers
    frame = pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy(),
        "reason": np.asarray(P.REASONS, dtype=object)[c.reason],
        # monthly capacity to pay, as a multiple of the monthly instalment
        "capacity": np.round(c.capacity_ratio, 4),
        "income_cycle": np.where([P.QUINCENA[P.COUNTRIES[i]] for i in c.country], "quincena", "month_end"),
        "evening_responsiveness": np.round(c.evening, 4),
        "vulnerable": c.vulnerable,
    })
    for k, ch in enumerate(CHANNELS):
        frame[f"affinity_{ch}"] = np.round(c.affinity[:, k], 4)
    return frame


def truth_accounts(world: World, history: History, accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per account at as_of = end_date: state, pay and response probabilities, cure flags."""
    a, c, s = world.accounts, world.customers, history.state
    end = world.days - 1
    cust, reason = a.customer, c.reason[a.customer]
    live = (a.placed_day <= end) & ~s["written_off"] & (s["balance"] > 0)
    days_unpaid = np.where(s["oldest"] >= 0, end - s["oldest"], 0)
    payday = B.payday_matrix(world.start, world.days + HORIZON)[c.country[cust]][:, world.days:]
    p_pay = B.p_pay_within(reason, days_unpaid, payday, s["resolved"], HORIZON)
    p_pay = np.where(live, p_pay, 0.0)
    # a promise payment already booked arrives whatever the contact strategy does
    booked = ((s["sched_day"] > end) & (s["sched_day"] <= end + HORIZON)).any(axis=1)
    p_pay = np.where(booked, 1.0, p_pay)

    fatigue = history.fatigue[cust] * B.FATIGUE_DECAY
    frame = pd.DataFrame({
        "account_id": accounts["account_id"].to_numpy(),
        "customer_id": accounts["customer_id"].to_numpy(),
        "as_of": np.full(len(a), np.datetime64(world.end, "D")),
        "reason": np.asarray(P.REASONS, dtype=object)[reason],
        "capacity_monthly": np.round(a.capacity / 100.0, 2),
        "balance": np.round(s["balance"] / 100.0, 2),
        "past_due": np.round(s["past_due"] / 100.0, 2),
        "dpd": np.where(s["oldest"] >= 0, end - s["oldest"] + 1, 0),
        "p_pay_30d_no_contact": np.round(p_pay, 6),
    })
    reachable = history.allowed[cust] & (reason != P.STALE)[:, None]
    for k, ch in enumerate(CHANNELS):
        p = np.mean([B.engagement_probability(c.affinity[cust, k], reason, np.full(len(a), h),
                                              c.evening[cust], fatigue) for h in RESPONSE_HOURS], axis=0)
        frame[f"p_respond_{ch}"] = np.round(np.where(reachable[:, k] & live, p, 0.0), 6)
    fx = np.array([P.FX[x] for x in P.COUNTRIES])[c.country[cust]]
    # contacted on the first day after as_of: that day's instalment (charged before contacts) counts
    phase = end + 1 - a.placed_day
    next_due = np.where((phase > 0) & (phase % 30 == 0), 0, 30 - np.mod(phase, 30))
    effects = channel_effects(reason, c.affinity[cust], c.evening[cust], fatigue,
                              np.where(s["oldest"] >= 0, days_unpaid + 1, 0), s["past_due"], a.capacity, fx,
                              reachable & live[:, None], payday=payday, broken=s["broken"],
                              resolved=s["resolved"], next_due=next_due,
                              instalment=np.minimum(a.instalment, s["balance"] - s["past_due"]))
    survive = np.divide(1.0 - effects["p_pay"], (1.0 - effects["p_pay_base"])[:, None],
                        out=np.ones_like(effects["p_pay"]), where=effects["p_pay_base"][:, None] < 1.0)
    for k, ch in enumerate(CHANNELS):
        # P(pays within 30 days) if contacted once today on this channel; value net of its cost, local units.
        # A promise can displace a self-payment, but a contact lowering P(pay) is not reported (floored at 0)
        p_after = 1.0 - (1.0 - p_pay) * np.clip(survive[:, k], 0.0, 1.0)
        frame[f"p_pay_30d_after_{ch}"] = np.round(np.where(live, p_after, 0.0), 6)
        frame[f"incremental_value_{ch}"] = np.round(np.where(live, effects["value_usd"][:, k] * fx, 0.0), 4)
    frame["cure_observable"], frame["cured_30d"], frame["self_cured_30d"] = cure_flags(world, history)
    return frame


def cure_flags(world: World, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per account: (30 days since placement are observed, cured within them, cured with light contact only)."""
    a, s = world.accounts, history.state
    observable = a.placed_day <= world.days - 1 - 30
    cure = s["first_cure"]
    cured = observable & (cure >= 0) & (cure - a.placed_day <= 30)
    heavy = s["first_heavy"]
    # cured before any right-party call or promise: reminders at most ("light contact")
    return observable, cured, cured & ((heavy < 0) | (heavy > cure))


def truth_promises(world: World, history: History, promises: pd.DataFrame) -> pd.DataFrame:
    """One row per promise: the keep probability used, the outcome, and whether it has matured."""
    Pm = history.promises
    closes = Pm["due_day"].astype(np.int64) + P.PROMISE_GRACE_DAYS + P.MAX_POST_LAG_DAYS
    return pd.DataFrame({
        "promise_id": promises["promise_id"].to_numpy(),
        "account_id": promises["account_id"].to_numpy(),
        "p_keep": np.round(Pm["p_keep"].astype(float), 6),
        "kept": Pm["kept"].astype(bool),
        # every payment of the window (due + grace, plus posting lag) is in this delivery
        "matured": closes <= world.days - 1,
    })
