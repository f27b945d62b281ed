"""Ground truth for evaluation: latent traits and the probabilities the simulator used.

Only ids and latent quantities: no phone, email, name or region, so truth files can sit
next to benchmark results without spreading personal data. Never loaded into the warehouse.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS, PROMISE_CHANNELS
from simulator import behaviour as B
from simulator import params as P
from simulator.history import History
from simulator.holds import BLOCKS_PAYMENT, account_interval, open_holds_at_end
from simulator.value import PROMISE_PARTIAL, channel_effects
from simulator.world import World

RESPONSE_HOURS = np.arange(9, 21)
HORIZON = 30
#: Gauss-Hermite nodes for integrating the per-promise keep noise out of `p_keep`.
NOISE_NODES = 24
#: BAU play-forwards behind `p_pay_30d_bau`: its Monte Carlo standard error is at most 0.5/sqrt(runs).
#: 32 runs cost about 10 s for 20k accounts (about 0.3 s each), so it is on by default.
BAU_RUNS = 32
BAU_GROUPS = 4
#: the latent traits `simulator.observable` draws from their posterior (History.latent_samples)
LATENTS = ("reason", "capacity_ratio", "affinity")


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


def truth_accounts(world: World, history: History, accounts: pd.DataFrame, holds=None, *,
                   bau_runs: int = 0, seed: int = 0) -> pd.DataFrame:
    """One row per account at as_of = end_date: state, pay and response probabilities, cure flags.

    With `holds` and `bau_runs` > 0 it also estimates `p_pay_30d_bau` (see `p_pay_bau`) and
    records its run count, standard error and paying runs per quarter of the runs.
    """
    a, c, s = world.accounts, world.customers, history.state
    end = world.days - 1
    cust, reason = a.customer, c.reason[a.customer]
    live = (a.placed_day <= end) & ~s["written_off"] & (s["balance"] > 0)
    days_unpaid = np.where(s["oldest"] >= 0, end - s["oldest"], 0)
    payday = B.payday_matrix(world.start, world.days + HORIZON)[c.country[cust]][:, world.days:]
    p_pay, p_pay_knowable = no_contact_probabilities(world, history, holds, live, payday)
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
        "p_pay_30d_no_contact_knowable": np.round(p_pay_knowable, 6),
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
                              instalment=np.minimum(a.instalment, s["balance"] - s["past_due"]),
                              can_disclose=None if holds is None else B.can_disclose(
                                  reason, account_interval(holds, len(reason), "hardship_plan")[0]))
    survive = np.divide(1.0 - effects["p_pay"], (1.0 - effects["p_pay_base"])[:, None],
                        out=np.ones_like(effects["p_pay"]), where=effects["p_pay_base"][:, None] < 1.0)
    for k, ch in enumerate(CHANNELS):
        # P(pays within 30 days) if contacted once today on this channel; value net of its cost, local units.
        # A promise can displace a self-payment, but a contact lowering P(pay) is not reported (floored at 0)
        p_after = 1.0 - (1.0 - p_pay) * np.clip(survive[:, k], 0.0, 1.0)
        frame[f"p_pay_30d_after_{ch}"] = np.round(np.where(live, p_after, 0.0), 6)
        frame[f"incremental_value_{ch}"] = np.round(np.where(live, effects["value_usd"][:, k] * fx, 0.0), 4)
    frame["cure_observable"], frame["cured_30d"], frame["self_cured_30d"] = cure_flags(world, history)
    if holds is not None and bau_runs > 0:
        paid = np.where(live, p_pay_bau(world, holds, history, bau_runs, seed), 0)
        p_bau = paid.sum(axis=0) / bau_runs
        frame["p_pay_30d_bau"] = np.round(p_bau, 6)
        frame["p_pay_30d_bau_se"] = np.round(np.sqrt(p_bau * (1 - p_bau) / max(bau_runs - 1, 1)), 6)
        frame["bau_runs"] = np.full(len(a), bau_runs, dtype=np.int64)
        # paying runs per quarter of the runs: the card scores some quarters against the others to
        # measure (and extrapolate away) the Monte Carlo noise of this truth
        for q in range(BAU_GROUPS):
            frame[f"bau_paid_q{q + 1}"] = paid[q].astype(np.int64)
    if history.latent_samples is not None:
        frame = frame.assign(**observable_pay_truth(world, history, holds, live, payday, bau_runs, seed))
    return frame


def no_contact_probabilities(world: World, history: History, holds, live: np.ndarray,
                             payday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per account: (P(pays on their own in the HORIZON days | no contact), the same plus an open
    promise's payment averaged over its keep noise), both 0 where the account is not live."""
    a, s = world.accounts, history.state
    if holds is None:  # without the holds, plans and payment blocks are unknown: own payments only
        days_unpaid = np.where(s["oldest"] >= 0, world.days - 1 - s["oldest"], 0)
        p_pay = B.p_pay_within(world.customers.reason[a.customer], days_unpaid, payday, s["resolved"], HORIZON)
    else:
        p_pay = p_pay_no_contact(world, history, holds, payday)
    p_pay = np.where(live, p_pay, 0.0)
    # whether an open promise's payment was booked was drawn (with the keep noise) when the promise
    # was made: at as_of one knows the promise, not its outcome, so the knowable probability averages over it
    p_open = open_promise_payment_probability(world, history)
    has_open, p_open = live & np.isfinite(p_open), np.nan_to_num(p_open)
    return p_pay, np.where(has_open, p_open + (1.0 - p_open) * p_pay, p_pay)


def with_latents(world: World, reason: np.ndarray, capacity_ratio: np.ndarray, affinity: np.ndarray) -> World:
    """`world` with other latent traits per customer (capacities follow, as world.build_accounts computes them)."""
    a = world.accounts
    customers = replace(world.customers, reason=reason, capacity_ratio=capacity_ratio, affinity=affinity)
    return replace(world, customers=customers,
                   accounts=replace(a, capacity=(capacity_ratio[a.customer] * a.instalment).astype(np.int64)))


def observable_pay_truth(world: World, history: History, holds, live: np.ndarray, payday: np.ndarray,
                         bau_runs: int, seed: int) -> dict[str, np.ndarray]:
    """The pay truths averaged over the latent traits' posterior given the observable history.

    `history.latent_samples` holds draws of each customer's (reason, capacity) from that posterior
    (simulator.observable). `p_pay_30d_no_contact_observable` averages the knowable no-contact
    probability over them; with `bau_runs` > 0, each BAU play-forward runs on its own draw (seeds
    apart from the BAU truth's), giving `p_pay_30d_bau_observable` and its paying runs per quarter
    `bau_observable_paid_q1..4`. Like `p_keep_observable`, they are upper bounds of what can be
    known from the history: the draws' world keeps each debtor's evening responsiveness, and the
    play-forward starts from the history's booked promise payments.
    """
    draws = history.latent_samples
    k = len(draws["reason"])
    worlds = (with_latents(world, *(draws[x][i % k] for x in LATENTS)) for i in range(k))
    out = {"p_pay_30d_no_contact_observable": np.round(
        np.mean([no_contact_probabilities(w, history, holds, live, payday)[1] for w in worlds], axis=0), 6)}
    if holds is not None and bau_runs > 0:
        from simulator.playforward import play_forward
        from simulator.reference import bau

        seeds = np.random.SeedSequence([seed, 0x0B5]).generate_state(bau_runs)
        paid = np.zeros((BAU_GROUPS, len(live)), dtype=np.int64)
        for q, group in enumerate(np.array_split(np.arange(bau_runs), BAU_GROUPS)):
            for i in group:
                w = with_latents(world, *(draws[x][i % k] for x in LATENTS))
                paid[q] += play_forward(w, holds, history, bau, days=HORIZON, seed=int(seeds[i])).recovered > 0
        paid = np.where(live, paid, 0)
        out["p_pay_30d_bau_observable"] = np.round(paid.sum(axis=0) / bau_runs, 6)
        for q in range(BAU_GROUPS):
            out[f"bau_observable_paid_q{q + 1}"] = paid[q]
    return out


def p_pay_no_contact(world: World, history: History, holds, payday: np.ndarray) -> np.ndarray:
    """Per account: P(a payment in the HORIZON days after as_of | nobody is contacted).

    Input: the history's end state, its holds and the (n_accounts, HORIZON) payday matrix of the
    days after as_of. Mirrors `playforward` under `reference.no_contact` with the debtors' own
    inbound contacts left out (the play-forward's mean is about 0.01 higher with them) up to the
    first payment, before which nothing random changes the state: instalments fall due on
    schedule (a current account cannot pay on its own before its next one), a hardship plan's
    monthly direct debit replaces paying on one's own, an open dispute, bankruptcy or death
    blocks own payments, and a pending promise blocks both until its grace ends. Promise
    payments already scheduled are not counted here: the caller adds them.
    """
    a, s = world.accounts, history.state
    reason, n = world.customers.reason[a.customer], len(a.customer)
    plan_start, plan_end = account_interval(holds, n, "hardship_plan")
    flags = open_holds_at_end(holds, world)
    pay_block = np.any([flags[k] for k in BLOCKS_PAYMENT], axis=0)
    owing, oldest = s["past_due"] > 0, s["oldest"].copy()
    survive, zero = np.ones(n), np.zeros(n)
    for t in range(HORIZON):
        d = world.days + t
        phase = d - a.placed_day
        due = (phase > 0) & (phase % 30 == 0)
        oldest = np.where(due & (oldest < 0), d, oldest)
        owing |= due
        free = s["promise_until"] < d
        in_plan = (plan_start >= 0) & (plan_start <= d) & (d < plan_end)
        debit = in_plan & ((d - plan_start) % 30 == 0) & free
        own = owing & ~pay_block & free & ~in_plan
        h = B.payment_hazard(reason, np.where(oldest >= 0, d - oldest, 0), payday[:, t], zero, s["resolved"])
        survive *= 1.0 - np.where(debit, P.PLAN_DEBIT, np.where(own, h, 0.0))
    return 1.0 - survive


def p_pay_bau(world: World, holds, history: History, runs: int = BAU_RUNS, seed: int = 0) -> np.ndarray:
    """Per account, P(a payment in the HORIZON days after as_of | the BAU reference policy continues),
    as paying-run counts: a (BAU_GROUPS, n_accounts) array, row q counting the runs of the q-th
    `np.array_split` of `runs` independent `play_forward(..., reference.bau)` runs in which the
    account pays. Their sum over rows divided by `runs` is the estimate.

    The runs' seeds derive from `seed` alone and the play-forward copies its inputs, so the
    delivery does not change.
    """
    from simulator.playforward import play_forward
    from simulator.reference import bau

    if runs < 1:
        raise ValueError("runs must be at least 1")
    seeds = np.random.SeedSequence([seed, 0xBA0]).generate_state(runs)
    paid = np.zeros((BAU_GROUPS, len(world.accounts.customer)), dtype=np.int64)
    for q, group in enumerate(np.array_split(seeds, BAU_GROUPS)):
        for s in group:
            paid[q] += play_forward(world, holds, history, bau, days=HORIZON, seed=int(s)).recovered > 0
    return paid


def cure_flags(world: World, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per account: (30 days since placement are observed, cured within them, cured with light contact only)."""
    a, s = world.accounts, history.state
    observable = a.placed_day <= world.days - 1 - 30
    cure = s["first_cure"]
    cured = observable & (cure >= 0) & (cure - a.placed_day <= 30)
    heavy = s["first_heavy"]
    # cured before any right-party call or promise: reminders at most ("light contact")
    return observable, cured, cured & ((heavy < 0) | (heavy > cure))


def broken_before(account: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Per promise (in creation order): how many earlier promises of its account were not kept.

    The history loop adds one to the account's `broken` count as each unkept promise is made,
    so this is the `broken_before` that `behaviour.keep_probability` saw.
    """
    frame = pd.DataFrame({"account": np.asarray(account), "broken": ~np.asarray(kept, dtype=bool)})
    return (frame.groupby("account")["broken"].cumsum() - frame["broken"]).to_numpy(dtype=np.int64)


def keep_inputs(world: World, promises: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arguments `behaviour.keep_probability` got for each logged promise, except the noise."""
    a = promises["account"].astype(np.int64)
    day, due = promises["day"].astype(np.int64), promises["due_day"].astype(np.int64)
    country = world.customers.country[world.accounts.customer[a]]
    payday_cum = np.cumsum(B.payday_matrix(world.start, int(max(world.days, due.max(initial=0) + 1))), axis=1)
    return {
        "reason": world.customers.reason[world.accounts.customer[a]],
        "promised": promises["amount"].astype(np.int64),
        "capacity": world.accounts.capacity[a],
        "self_service": promises["channel"] == PROMISE_CHANNELS.index("self_service"),
        "broken_before": broken_before(a, promises["kept"]),
        "payday_in_window": (payday_cum[country, due] - payday_cum[country, day]) > 0,
    }


def keep_probability_knowable(inputs: dict[str, np.ndarray], noise_sd: float = P.KEEP_NOISE_SD) -> np.ndarray:
    """`behaviour.keep_probability` with its N(0, noise_sd) noise integrated out (Gauss-Hermite).

    The noise is drawn fresh per promise and observable by nobody, so it is outcome randomness:
    the best probability anyone could state at the promise's creation, knowing every latent
    trait of the debtor, is this average over it.
    """
    x, w = np.polynomial.hermite.hermgauss(NOISE_NODES)
    n = len(inputs["reason"])
    return sum(wi * B.keep_probability(noise=np.full(n, np.sqrt(2.0) * noise_sd * xi), **inputs)
               for xi, wi in zip(x, w)) / np.sqrt(np.pi)


def open_promise_payment_probability(world: World, history: History) -> np.ndarray:
    """Per account: P(its promise due after the end date brings a payment), NaN without one.

    A kept promise pays in full; a broken one brings a token payment with probability
    `value.PROMISE_PARTIAL`. Uses the keep probability with the noise integrated out.
    """
    Pm, end = history.promises, world.days - 1
    out = np.full(len(world.accounts.customer), np.nan)
    is_open = Pm["due_day"].astype(np.int64) > end
    if is_open.any():
        q = keep_probability_knowable(keep_inputs(world, Pm))[is_open]
        out[Pm["account"].astype(np.int64)[is_open]] = q + (1.0 - q) * PROMISE_PARTIAL
    return out


def truth_promises(world: World, history: History, promises: pd.DataFrame) -> pd.DataFrame:
    """One row per promise: the keep probability used, the outcome, and whether it has matured.

    `p_keep` includes the promise's unobservable noise draw (the probability the simulator
    used); `p_keep_knowable` integrates that noise out, so it is the Bayes-optimal prediction
    for someone who knows the debtor's latent reason and capacity but not the future.
    """
    Pm = history.promises
    closes = Pm["due_day"].astype(np.int64) + P.PROMISE_GRACE_DAYS + P.MAX_POST_LAG_DAYS
    return pd.DataFrame({
        "promise_id": promises["promise_id"].to_numpy(),
        "account_id": promises["account_id"].to_numpy(),
        "p_keep": np.round(Pm["p_keep"].astype(float), 6),
        "p_keep_knowable": np.round(keep_probability_knowable(keep_inputs(world, Pm)), 6),
        # with the observer on: the same probability for someone who knows only the observable history
        **({} if history.p_keep_observable is None else {"p_keep_observable": np.round(history.p_keep_observable, 6)}),
        "kept": Pm["kept"].astype(bool),
        # every payment of the window (due + grace, plus posting lag) is in this delivery
        "matured": closes <= world.days - 1,
    })
