"""P(kept) of each promise given what its lender could observe: the Bayes reference on observables.

`truth_promises.p_keep_knowable` knows the debtor's latent reason for not paying and their
capacity, which no lender sees. A model can only learn what the history reveals about them.
This module computes that directly. It re-runs the history loop with the same seed (it draws
nothing, so the history is the same). At every draw whose odds depend on the reason or on the
capacity, it adds the log-probability of what happened under each hypothesis: the 6 reasons ×
`GRID` capacities. The draws are payments on the debtor's own and their amounts, contact outcomes,
promises on a call, hardship disclosures, payment-link clicks, inbound contacts, promised amounts,
plan debits, kept promises and holds (from their start day). Contact outcomes also depend on the
debtor's affinity for the channel: they are weighed under `AFFINITY_POINTS` quantiles of its prior
given the debtor's age, which is integrated out per channel. At each new promise, the posterior
over the hypotheses gives

    p_keep_observable = sum over h of P(h | history) * keep_probability_knowable(h, promise)

and at the end of the window `latent_samples` draws (reason, capacity, affinities) per customer
from the posterior, for the pay references (`truth.observable_pay_truth`).

Everything the observer uses beyond the lender's view makes it an upper bound: the Bayes
AUC on observables is at most the AUC of `p_keep_observable`, because conditioning on more
never lowers the best AUC. The extras are:
- the debtor's evening responsiveness (drawn independently of the reason);
- each promise's kept outcome from the day after its grace ends, before late postings arrive.

The grids are the only approximation the other way: a hypothesis is a grid cell, not the exact
capacity or affinity. `promises_without_support` counts promises whose history no hypothesis
explains; `GRID` is fine enough that it is zero on the tests' portfolios.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import norm

from recobro.contract import PROMISE_CHANNELS
from simulator import behaviour as B
from simulator import holds as H
from simulator import params as P
from simulator import policy
from simulator.history import _Simulation
from simulator.truth import keep_probability_knowable
from simulator.world import AFFINITY_RANGE, AFFINITY_SD, affinity_level

GRID = 129  # capacity hypotheses per reason (log-spacing 0.031, about 3% apart)
CELL_POINTS = 5  # points per grid cell at which an amount's likelihood is averaged
AFFINITY_POINTS = 8  # affinity hypotheses per customer and channel
CAPACITY_SD = 0.5  # world.build_customers: capacity_ratio = median * lognormal(0, 0.5) * capacity_scale
REASON = np.arange(len(P.REASONS))
OUT = policy.OUTCOME
SELF_SERVICE = PROMISE_CHANNELS.index("self_service")


def _log(p) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.clip(p, 0.0, None))


def _per_reason(f, n: int) -> np.ndarray:
    """(n, 6): f(reason array) for each hypothesised reason."""
    return np.column_stack([f(np.full(n, r)) for r in REASON])


def _mass(lo, hi, a, b) -> np.ndarray:
    """P(X in (lo, hi]) for X ~ U(a, b), elementwise (a point mass at a when b == a)."""
    width = b - a
    inside = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / np.where(width > 0, width, 1.0)
    return np.where(width > 0, inside, ((lo < a) & (a <= hi)).astype(float))


def _lead(x, like: np.ndarray) -> np.ndarray:
    """A per-event (n,) array shaped to broadcast against `like`, whose trailing axes are hypotheses."""
    return np.asarray(x)[(slice(None),) + (None,) * (like.ndim - 1)]


def _started(first, lo: int, hi: int, days: int) -> np.ndarray:
    """P(first + rng.integers(lo, hi) < days): the hold drawn with that start falls inside the window."""
    return np.clip(days - np.asarray(first) - lo, 0, hi - lo) / (hi - lo)


def outcome_law(channel, p_engage, stale, p_opt_out, p_complaint) -> np.ndarray:
    """(n, n_outcomes): P(each outcome) of `policy.outcomes_from_uniforms` given its probabilities, in
    closed form (its thresholds, read off the function; tests/test_observable.py integrates the function
    itself over its threshold cells and holds the two equal)."""
    n = len(channel)
    e = np.asarray(p_engage, dtype=float)
    out = np.zeros((n, len(OUT)))

    def put(mask, outcome, p):
        out[mask, OUT[outcome]] += np.broadcast_to(p, (n,))[mask]

    sms, email, wa = channel == P.SMS, channel == P.EMAIL, channel == P.WHATSAPP
    voice, agent, letter = channel == P.VOICE, channel == P.AGENT_CALL, channel == P.LETTER
    # texts: failed above v 0.985; engaged (u < e) replies (v < 0.3) or clicks
    put(sms, "failed", 0.015); put(sms, "replied", 0.3 * e); put(sms, "clicked", 0.685 * e); put(sms, "delivered", 0.985 * (1 - e))
    put(wa, "failed", 0.015); put(wa, "opened", 0.3 * e); put(wa, "replied", 0.3 * e); put(wa, "clicked", 0.385 * e)
    put(wa, "delivered", 0.985 * (1 - e))
    put(email, "bounced", 0.02); put(email, "opened", 0.6 * e); put(email, "clicked", 0.38 * e); put(email, "delivered", 0.98 * (1 - e))
    a = np.where(agent, np.minimum(1.4 * e, 1.0), e)
    calls = voice | agent
    put(calls, "rpc", a); put(calls, "wrong_party", 0.03 * (1 - a)); put(calls, "failed", 0.03 * (1 - a))
    put(calls, "no_answer", 0.94 * (1 - a))
    put(letter, "failed", 0.04); put(letter, "delivered", 0.96)
    # an outcome that reached someone (not a letter) turns into an opt-out or a complaint on the third uniform
    reach = np.array([o not in ("failed", "bounced", "no_answer", "wrong_party") for o in policy.OUTCOME])
    reached = np.where(letter, 0.0, out[:, reach].sum(axis=1))
    keep = np.where(letter, 1.0, 1.0 - np.minimum(p_opt_out + p_complaint, 1.0))
    out[:, reach] *= keep[:, None]
    out[:, OUT["opt_out"]] += reached * p_opt_out
    out[:, OUT["complaint"]] += reached * (np.minimum(p_opt_out + p_complaint, 1.0) - p_opt_out)
    # stale contact data: the channel's failure pattern, whatever the debtor would have done
    st = np.zeros((n, len(OUT)))
    for mask, pairs in ((email, (("bounced", 0.7), ("delivered", 0.3))),
                        (sms | wa, (("failed", 0.55), ("delivered", 0.45))),
                        (voice, (("wrong_party", 0.45), ("no_answer", 0.35), ("failed", 0.2))),
                        (agent, (("wrong_party", 0.6), ("no_answer", 0.4))),
                        (letter, (("failed", 0.6), ("delivered", 0.4)))):
        for o, p in pairs:
            st[mask, OUT[o]] = p
    return np.where(np.asarray(stale)[:, None], st, out)


def promise_amount_probability(amount, past_due, capacity, self_service) -> np.ndarray:
    """P(behaviour.promise_amount returns `amount`) for each capacity; amount, past_due, self_service
    are (n,), capacity (n, ...) with the hypotheses on the trailing axes."""
    amount, past_due, ss = (_lead(x, capacity) for x in (amount, past_due, self_service))
    c = capacity.astype(float)
    # the amount is clip(ceil(x / 100) * 100, 100, past_due): the x that give it lie in (lo, hi]
    top = amount >= past_due
    lo = np.where(top, 100.0 * (np.ceil(past_due / 100) - 1), amount - 100.0)
    lo = np.where((amount <= 100) & ~top, -np.inf, lo)
    lo = np.where(top & (past_due <= 100), -np.inf, lo)
    hi = np.where(top, np.inf, amount.astype(float))
    chosen = _mass(lo, hi, 0.6 * c, c)  # self-service: min(past_due, capacity * U(0.6, 1))
    asked_all = np.where(c >= past_due, 1.0, 0.5)  # a call asks for the past due; short debtors agree half the time
    offered = _mass(lo, hi, 0.5 * c, c)
    return np.where(ss, chosen, asked_all * top + (1 - asked_all) * offered)


def link_payment_probability(amount, past_due, capacity) -> np.ndarray:
    """P(a payment-link payment of `amount`): the past due if capacity covers it, else capacity * U(0.5, 1),
    truncated to whole cents, at least 100 and at most the past due."""
    amount, past_due = _lead(amount, capacity), _lead(past_due, capacity)
    c = capacity.astype(float)
    full = (c >= past_due) | (past_due <= 100)
    lo = np.where(amount <= 100, -np.inf, amount.astype(float))
    low, high = B.LINK_CAPACITY_SHARE
    part = np.where(amount >= 100, _mass(lo, amount + 1.0, low * c, high * c), 0.0)
    return np.where(amount >= past_due, full.astype(float), np.where(full, 0.0, part))


def plan_debit_probability(amount, balance, capacity) -> np.ndarray:
    """P(a hardship-plan debit of `amount`): max(round(capacity * U(0.6, 1), -2), 100), capped at the balance."""
    amount, balance = _lead(amount, capacity).astype(float), _lead(balance, capacity).astype(float)
    c = capacity.astype(float)
    capped = amount >= balance
    lo = np.where(capped, np.ceil(balance / 100) * 100 - 50, np.where(amount <= 100, -np.inf, amount - 50))
    hi = np.where(capped, np.inf, amount + 50)
    low, high = B.PLAN_DEBIT_CAPACITY_SHARE
    p = _mass(lo, hi, low * c, high * c)
    return np.where(capped & (balance <= 100), 1.0, p)


def own_payment_probability(amount, past_due, balance, capacity) -> np.ndarray:
    """P(the amount class of a payment on the debtor's own) per hypothesis: the whole past due (P_FULL,
    scaled by capacity), the whole balance (a forgetful debtor with the capacity, 15%), or a partial amount
    (20-70% of the past due, whose density does not depend on the hypothesis)."""
    amount, past_due, balance = (_lead(x, capacity) for x in (amount, past_due, balance))
    c = capacity.astype(float)
    by_reason = (slice(None),) + (None,) * (capacity.ndim - 2)  # the reason axis is capacity's second
    p_full = np.asarray(P.P_FULL)[by_reason] * np.minimum(1.0, c / np.maximum(past_due, 1))
    payoff = B.OWN_PAYOFF * (REASON == P.FORGETFUL)[by_reason] * (c >= balance)
    # a partial amount rounds up to whole units and can land on the past due itself
    whole = (past_due % 100) == 0
    low, high = B.OWN_PARTIAL_SHARE
    partial_is_all = np.where(whole, _mass(past_due - 100.0, past_due.astype(float), low * past_due, high * past_due), 0.0)
    is_all = amount == past_due
    all_p = p_full - payoff + payoff * (balance == past_due) + (1 - p_full) * partial_is_all
    return np.where(is_all, all_p, np.where(amount == balance, payoff, 1 - p_full))


class ObservedSimulation(_Simulation):
    """The history loop plus an observer that keeps, per customer, the log-likelihood of their history
    under every (reason, capacity) hypothesis; `p_keep_observable[row]` is filled as each promise is made."""

    def __init__(self, rng, world, holds, scenario, draws: int = 32, sample_seed: int = 0) -> None:
        super().__init__(rng, world, holds)
        self.draws, self.sample_seed = draws, sample_seed
        n_cust = len(world.customers.reason)
        # capacity hypotheses: an even grid of the lognormal factor's log over +-4 sd, weighted by its density
        z = np.linspace(-4.0, 4.0, GRID) * CAPACITY_SD
        self.ratio = np.asarray(P.CAPACITY_MEDIAN)[:, None] * np.exp(z)[None, :] * scenario.capacity_scale
        self.grid_step = step = z[1] - z[0]
        self.cell = np.exp(((np.arange(CELL_POINTS) + 0.5) / CELL_POINTS - 0.5) * step)
        grid_weight = norm.pdf(z / CAPACITY_SD)
        self.log_prior = (np.log(np.asarray(scenario.normalised("reason_weights")))[:, None]
                          + np.log(grid_weight / grid_weight.sum())[None, :])
        self.ll_reason = np.zeros((n_cust, len(REASON)))
        # affinity hypotheses per customer and channel: AFFINITY_POINTS quantiles of the lognormal around
        # the age's level (world.channel_affinity); contact outcomes are weighed under each
        age = 2026 - world.customers.birth_year
        self.affinity_level = affinity_level(age)
        self.affinity_z = norm.ppf((np.arange(AFFINITY_POINTS) + 0.5) / AFFINITY_POINTS)
        self.affinity_grid = np.clip(self.affinity_level[:, :, None] * np.exp(AFFINITY_SD * self.affinity_z),
                                     *AFFINITY_RANGE)
        self.ll_contact = np.zeros((n_cust, len(REASON), len(REASON), AFFINITY_POINTS))  # customer, channel, reason, q
        self.ll_capacity = np.zeros((n_cust, len(REASON), GRID))
        self.p_keep_observable: list[tuple[np.ndarray, np.ndarray]] = []
        self.promises_without_support = 0
        self._made: list[tuple] = []  # promises made today, settled once the day's contact evidence is in
        self._kept: dict[int, list[tuple]] = {}  # day the outcome is known -> (accounts, log P(outcome | h))
        self.holds, self.hold_draws = holds, self._hold_draws(holds, scenario)
        self._holds_day, self._holds_ll, self.today = -1, None, 0

    # -- evidence bookkeeping ------------------------------------------------------------------
    def _capacity(self, accounts: np.ndarray) -> np.ndarray:
        """(n, 6, GRID) capacity in cents of each account under each hypothesis (as world.build_accounts)."""
        return self._capacity_cells(accounts, np.ones(1))[..., 0]

    def _capacity_cells(self, accounts: np.ndarray, spread=None) -> np.ndarray:
        """(n, 6, GRID, points): capacities spread over each grid point's cell (by default `self.cell`)."""
        spread = self.cell if spread is None else spread
        inst = self.world.accounts.instalment[accounts].astype(float)
        return (self.ratio[None, :, :, None] * spread[None, None, None, :] * inst[:, None, None, None]).astype(np.int64)

    def _add_cells(self, accounts: np.ndarray, p: np.ndarray) -> None:
        """Add the log of a capacity term averaged over each grid point's cell: amounts pin capacity to
        narrow intervals (two plan debits, say), which a grid point alone would miss."""
        self._add(accounts, _log(p.mean(axis=-1)))

    def _reason_evidence(self, c, holds: np.ndarray) -> np.ndarray:
        """(len(c), 6): log P(evidence | reason) for customers c, the affinities integrated out per channel."""
        contact = self.ll_contact[c]
        top = contact.max(axis=-1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        mixed = _log(np.exp(contact - top).mean(axis=-1)) + top[..., 0]
        return self.ll_reason[c] + holds[c] + mixed.sum(axis=1)

    def _add(self, accounts: np.ndarray, logp: np.ndarray) -> None:
        if len(accounts) == 0:
            return
        target = self.ll_reason if logp.ndim == 2 else self.ll_capacity
        np.add.at(target, self.cust[accounts], logp)

    def _hold_draws(self, holds, scenario) -> list[tuple]:
        """holds.draw_holds' draws as (owner level, has it, its start day, P(drawn | reason), base day, start
        offsets lo..hi-1): a hold is seen from its start day; before, all one sees is that it has not started."""
        acc, cus = self.world.accounts, self.world.customers
        first = np.full(len(cus.reason), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(first, acc.customer, acc.placed_day)
        r = REASON
        uk = cus.country == P.COUNTRIES.index("UK")
        hardship = np.isin(r, [P.TEMPORARY, P.CHRONIC])
        kinds = [("dispute", "account", H.p_dispute(r), acc.placed_day, H.DISPUTE_START),
                 ("hardship_plan", "account", H.p_hardship_plan(r), acc.placed_day, H.PLAN_START),
                 ("vulnerability", "customer", np.where(r == P.CHRONIC, scenario.p_vulnerable_chronic, 0.0), first,
                  H.VULNERABILITY_START),
                 ("breathing_space", "customer", np.where(uk[:, None] & hardship[None, :], H.P_BREATHING_SPACE, 0.0),
                  first, H.BREATHING_SPACE_START),
                 *((kind, "customer", np.where(H.stubborn(r), p_stubborn, p_base), first, H.RARE_START)
                   for kind, (p_base, p_stubborn) in H.RARE.items())]
        draws = []
        for kind, level, p, base, (lo, hi) in kinds:
            n = len(base)
            has, start = np.zeros(n, dtype=bool), np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
            sel = holds.kind == kind
            has[holds.owner[sel]], start[holds.owner[sel]] = True, holds.start_day[sel]
            draws.append((level, has, start, np.broadcast_to(p, (n, len(REASON))), base, lo, hi))
        return draws

    def _holds_at(self, d: int) -> np.ndarray:
        """(n_customers, 6): log P(the holds seen by day d | reason), disputes' closings included."""
        if self._holds_day != d:
            out = np.zeros(self.ll_reason.shape)
            for level, has, start, p, base, lo, hi in self.hold_draws:
                seen = has & (start <= d)
                logp = np.where(seen[:, None], _log(p), _log(1 - p * _started(base, lo, hi, d + 1)[:, None]))
                if level == "account":
                    np.add.at(out, self.cust, logp)
                else:
                    out += logp
            # a dispute seen by day d closes within DISPUTE_LENGTH days with P p_dispute_closes
            q = H.p_dispute_closes(REASON)[None, :]
            disputes = (self.holds.kind == "dispute") & (self.holds.start_day <= d)
            start, closed = self.holds.start_day[disputes], self.holds.end_day[disputes] <= d
            logp = np.where(closed[:, None], _log(q), _log(1 - q * _started(start, *H.DISPUTE_LENGTH, d + 1)[:, None]))
            np.add.at(out, self.cust[self.holds.owner[disputes]], logp)
            self._holds_day, self._holds_ll = d, out
        return self._holds_ll

    # -- the day, with an observer around each step that draws on the reason or the capacity ------
    def step(self, d: int) -> None:
        self.today = d
        for accounts, logp in self._kept.pop(d, []):
            self._add(accounts, logp)
        super().step(d)

    def _pay_on_own(self, d: int) -> None:
        idx = np.flatnonzero(self._can_pay_on_own(d))
        before, past_due = self.book.balance[idx].copy(), self.past_due[idx].copy()
        nudge = self.nudge[idx] / np.asarray(P.NUDGE_GAIN)[self.reason[idx]]  # per unit of NUDGE_GAIN
        unpaid, payday, resolved = d - self.oldest[idx], self.payday[self.country[idx], d], self.resolved[idx]
        super()._pay_on_own(d)
        paid = self.book.balance[idx] < before
        h = _per_reason(lambda r: B.payment_hazard(r, unpaid, payday, nudge * np.asarray(P.NUDGE_GAIN)[r], resolved),
                        len(idx))
        self._add(idx, np.where(paid[:, None], _log(h), _log(1 - h)))
        a = idx[paid]
        amount = before[paid] - self.book.balance[a]
        self._add_cells(a, own_payment_probability(amount, past_due[paid], before[paid], self._capacity_cells(a)))

    def _pay_plans(self, d: int) -> None:
        before = self.book.balance.copy()
        super()._pay_plans(d)
        a = np.flatnonzero(self.book.balance < before)
        self._add_cells(a, plan_debit_probability(before[a] - self.book.balance[a], before[a], self._capacity_cells(a)))

    def _contact(self, d: int) -> None:
        first_row, first_promise = self.contacts.size, self.promises.size
        fatigue, plan_start = self.fatigue.copy(), self.plan_start.copy()
        balance, past_due = self.book.balance.copy(), self.past_due.copy()
        super()._contact(d)
        rows = self.contacts.since(first_row)
        a, channel, outcome = rows["account"].astype(np.int64), rows["channel"].astype(np.int64), rows["outcome"]
        n, cust, cus = len(a), self.cust[rows["account"].astype(np.int64)], self.world.customers
        made = self.promises.since(first_promise)
        self_service = np.zeros(n, dtype=bool)
        ss_rows = made["contact"][made["channel"] == SELF_SERVICE].astype(np.int64) - first_row
        self_service[ss_rows] = True
        paid_now = self.book.balance[a] < balance[a]
        disclosed = (plan_start[a] < 0) & (self.plan_start[a] == d + 1)
        base = np.where(outcome == OUT["promise"], OUT["rpc"], outcome)
        # every contact under every (reason, affinity) hypothesis at once, as (n, 6, AFFINITY_POINTS)
        shape = (n, len(REASON), AFFINITY_POINTS)
        rr = np.broadcast_to(REASON[None, :, None], shape).ravel()
        f, each = np.broadcast_to(fatigue[cust][:, None, None], shape).ravel(), (slice(None), None, None)
        p_engage = B.engagement_probability(
            np.broadcast_to(self.affinity_grid[cust, channel][:, None, :], shape).ravel(), rr,
            np.broadcast_to((rows["minute"] // 60)[each], shape).ravel(),
            np.broadcast_to(cus.evening[cust][each], shape).ravel(), f)
        law = outcome_law(np.broadcast_to(channel[each], shape).ravel(), p_engage, rr == P.STALE,
                          B.opt_out_probability(f, rr), B.complaint_probability(f, rr))
        p_outcome = law[np.arange(len(rr)), np.broadcast_to(base[each], shape).ravel()].reshape(shape)
        np.add.at(self.ll_contact, (cust, channel), _log(p_outcome))
        logp = np.empty((n, len(REASON)))
        for r in REASON:
            rr = np.full(n, r)
            p = np.ones(n)
            promise = P.P_PROMISE_ON_RPC[r]
            p = np.where(outcome == OUT["promise"], p * promise, np.where(outcome == OUT["rpc"], p * (1 - promise), p))
            tell = P.P_DISCLOSE_ON_RPC * B.can_disclose(rr, plan_start[a])
            p = np.where(outcome == OUT["rpc"], p * np.where(disclosed, tell, 1 - tell), p)
            pay_now = B.LINK_PAY_NOW_RELUCTANT if r in (P.DISPUTER, P.WONT_PAY) else B.LINK_PAY_NOW
            click = np.where(paid_now, pay_now, np.where(self_service, B.LINK_PAY_OR_PROMISE - pay_now, 1 - B.LINK_PAY_OR_PROMISE))
            logp[:, r] = _log(np.where(outcome == OUT["clicked"], p * click, p))
        self._add(a, logp)
        payers = a[paid_now]
        self._add_cells(payers, link_payment_probability(balance[payers] - self.book.balance[payers],
                                                         past_due[payers], self._capacity_cells(payers)))
        self._settle_promises()

    def _inbound(self, d: int) -> None:
        idx = np.flatnonzero(self._can_get_in_touch(d))
        first_row = self.contacts.size
        super()._inbound(d)
        rows = self.contacts.since(first_row)
        touched = np.zeros(len(self.cust), dtype=bool)
        promised = np.zeros(len(self.cust), dtype=bool)
        touched[rows["account"].astype(np.int64)] = True
        promised[rows["account"][rows["outcome"] == OUT["promise"]].astype(np.int64)] = True
        p_in = np.asarray(P.P_INBOUND)[None, :]
        p_promise = np.asarray(P.P_PROMISE_ON_RPC)[None, :] * P.INBOUND_PROMISE_MULT
        t, pr = touched[idx][:, None], promised[idx][:, None]
        self._add(idx, np.where(t, _log(p_in) + _log(np.where(pr, p_promise, 1 - p_promise)), _log(1 - p_in)))
        self._settle_promises()

    def _promise(self, d: int, a: np.ndarray, channel: np.ndarray, contact: np.ndarray, agent: np.ndarray) -> None:
        first = self.promises.size
        past_due, broken = self.past_due[a].copy(), self.broken[a].copy()
        super()._promise(d, a, channel, contact, agent)
        if len(a) == 0:
            return
        made = self.promises.since(first)
        amount, due = made["amount"].astype(np.int64), made["due_day"].astype(np.int64)
        self_service = channel == SELF_SERVICE
        capacity = self._capacity(a)
        country = self.country[a]
        shape = capacity.shape
        keep = keep_probability_knowable({
            "reason": np.broadcast_to(REASON[None, :, None], shape).ravel(),
            "promised": np.broadcast_to(amount[:, None, None], shape).ravel(),
            "capacity": capacity.ravel(),
            "self_service": np.broadcast_to(self_service[:, None, None], shape).ravel(),
            "broken_before": np.broadcast_to(broken[:, None, None], shape).ravel(),
            "payday_in_window": np.broadcast_to(
                ((self.payday_cum[country, due] - self.payday_cum[country, d]) > 0)[:, None, None], shape).ravel(),
        }).reshape(shape)
        amount_p = promise_amount_probability(amount, past_due, self._capacity_cells(a), self_service).mean(axis=-1)
        amount_logp = _log(amount_p)
        self._made.append((np.arange(first, self.promises.size), a, amount_logp, keep,
                           made["kept"].astype(bool), due + P.PROMISE_GRACE_DAYS + 1))

    def _settle_promises(self) -> None:
        """Posterior P(kept) of today's promises, once the evidence of the contacts they came from is in."""
        for rows, a, amount_logp, keep, kept, known in self._made:
            self._add(a, amount_logp)
            c = self.cust[a]
            logpost = (self.log_prior[None] + self._reason_evidence(c, self._holds_at(self.today))[:, :, None]
                       + self.ll_capacity[c])
            top = logpost.max(axis=(1, 2), keepdims=True)
            supported = np.isfinite(top[:, 0, 0])
            self.promises_without_support += int((~supported).sum())
            post = np.exp(logpost - np.where(np.isfinite(top), top, 0.0))
            p = (post * keep).sum(axis=(1, 2)) / np.maximum(post.sum(axis=(1, 2)), 1e-300)
            self.p_keep_observable.append((rows, np.where(supported, p, np.nan)))
            for day in np.unique(known):
                on = known == day
                self._kept.setdefault(int(day), []).append(
                    (a[on], np.where(kept[on][:, None, None], _log(keep[on]), _log(1 - keep[on]))))
        self._made = []

    def latent_samples(self, draws: int, seed: int) -> dict[str, np.ndarray]:
        """`draws` samples per customer of (reason, capacity_ratio) from the posterior given the whole
        observable history: {"reason": (draws, n_customers) int, "capacity_ratio": (draws, n_customers)}.

        Each capacity is spread uniformly in log over its grid cell. A customer whose history no
        hypothesis explains (`customers_without_support`) is sampled from the prior.
        """
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0B5]))
        n_cust, n_hyp = len(self.ll_reason), len(REASON) * GRID
        reason = np.empty((draws, n_cust), dtype=np.int64)
        ratio = np.empty((draws, n_cust))
        affinity = np.empty((draws, n_cust, len(REASON)))
        self.customers_without_support = 0
        holds = self._holds_at(self.world.days - 1)  # every hold that started inside the window
        for lo in range(0, n_cust, 2_000):  # bounded memory: (2,000, 6 * GRID) at a time
            c = slice(lo, min(lo + 2_000, n_cust))
            logpost = (self.log_prior[None] + self._reason_evidence(c, holds)[:, :, None]
                       + self.ll_capacity[c]).reshape(-1, n_hyp)
            top = logpost.max(axis=1, keepdims=True)
            lost = ~np.isfinite(top[:, 0])
            self.customers_without_support += int(lost.sum())
            logpost[lost] = self.log_prior.ravel()
            cdf = np.cumsum(np.exp(logpost - logpost.max(axis=1, keepdims=True)), axis=1)
            for k in range(draws):
                u = rng.random(len(cdf)) * cdf[:, -1]
                h = np.minimum((cdf < u[:, None]).sum(axis=1), n_hyp - 1)
                reason[k, c] = h // GRID
                ratio[k, c] = self.ratio[h // GRID, h % GRID] * np.exp((rng.random(len(h)) - 0.5) * self.grid_step)
                affinity[k, c] = self._affinity_draw(rng, np.arange(c.start, c.stop), h // GRID)
        return {"reason": reason, "capacity_ratio": ratio, "affinity": affinity}

    def _affinity_draw(self, rng, customers: np.ndarray, reason: np.ndarray) -> np.ndarray:
        """(n, 6) affinities drawn from their posterior given each customer's reason: a quantile cell by
        its contact evidence, then a point of the lognormal inside the cell."""
        ll = self.ll_contact[customers, :, reason]  # (n, 6 channels, AFFINITY_POINTS)
        w = np.exp(ll - np.where(np.isfinite(ll.max(axis=-1, keepdims=True)), ll.max(axis=-1, keepdims=True), 0.0))
        w = np.where(w.sum(axis=-1, keepdims=True) > 0, w, 1.0)  # no support: the prior
        cdf = np.cumsum(w, axis=-1)
        q = np.minimum((cdf < rng.random(cdf.shape[:2])[..., None] * cdf[..., -1:]).sum(axis=-1), AFFINITY_POINTS - 1)
        z = norm.ppf((q + rng.random(q.shape)) / AFFINITY_POINTS)
        return np.clip(self.affinity_level[customers] * np.exp(AFFINITY_SD * z), *AFFINITY_RANGE)

    def result(self):
        out = np.full(self.promises.size, np.nan)
        for rows, p in self.p_keep_observable:
            out[rows] = p
        return replace(super().result(), p_keep_observable=out,
                       latent_samples=self.latent_samples(self.draws, self.sample_seed))
