"""The day loop: balances, BAU contacts, promises and payments, vectorised across accounts.

Within a day the order is fixed: placements and charges, hold changes, reversals, contacts
(which may create promises or immediate payments), then payments. Contacts come before
payments so that a promise made today can never be "kept" by a payment that was already
going to happen, which keeps the shared kept definition exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recobro.contract import CONSENT_STATUSES, ENTRY_TYPES, PROMISE_CHANNELS
from simulator import behaviour as B
from simulator import params as P
from simulator import policy
from simulator.events import EventLog
from simulator.holds import BLOCKS_CONTACT, BLOCKS_PAYMENT, Holds, account_interval, hold_mask
from simulator.payments import PaymentBook
from simulator.world import World

ENTRY = {name: i for i, name in enumerate(ENTRY_TYPES)}
STATUS = {name: i for i, name in enumerate(CONSENT_STATUSES)}
PCHANNEL = {name: i for i, name in enumerate(PROMISE_CHANNELS)}
OUT = policy.OUTCOME
ENGAGED = np.array([OUT["opened"], OUT["clicked"], OUT["replied"], OUT["rpc"], OUT["promise"]])


@dataclass
class History:
    """Event logs (one row per event) and the account state at the end of the last day."""

    ledger: dict[str, np.ndarray]
    contacts: dict[str, np.ndarray]
    promises: dict[str, np.ndarray]
    consents: dict[str, np.ndarray]
    state: dict[str, np.ndarray]  # per account at end_date
    allowed: np.ndarray  # (n_customers, 6) channels still usable at end_date
    fatigue: np.ndarray  # per customer at end_date


def simulate_history(rng: np.random.Generator, world: World, holds: Holds) -> History:
    """Run the portfolio day by day over the window and return every event it produced."""
    sim = _Simulation(rng, world, holds)
    for d in range(world.days):
        sim.step(d)
    return sim.result()


class _Simulation:
    def __init__(self, rng: np.random.Generator, world: World, holds: Holds) -> None:
        self.rng, self.world = rng, world
        acc, cus = world.accounts, world.customers
        n, self.n_cust = len(acc), len(cus)
        self.cust = acc.customer
        self.reason = cus.reason[acc.customer]
        self.country = cus.country[acc.customer]
        self.fx = np.array([P.FX[c] for c in P.COUNTRIES])[self.country]
        self.book = PaymentBook(rng, n)
        self.past_due = np.zeros(n, dtype=np.int64)
        self.oldest = np.full(n, -1, dtype=np.int64)  # day the oldest unpaid amount fell due
        self.written_off = np.zeros(n, dtype=bool)
        self.nudge = np.zeros(n)
        self.promise_until = np.full(n, -1, dtype=np.int64)  # last day of the open promise window
        self.broken = np.zeros(n, dtype=np.int64)
        self.resolved = np.zeros(n, dtype=bool)
        self.first_heavy = np.full(n, -1, dtype=np.int64)  # first RPC or promise
        self.fatigue = np.zeros(self.n_cust)
        self.allowed = np.column_stack([
            cus.phone != "", cus.email != "", cus.whatsapp_opt_in, cus.phone != "", cus.phone != "",
            np.ones(self.n_cust, dtype=bool)])
        self.contact_block = hold_mask(holds, world, BLOCKS_CONTACT)
        self.pay_block = hold_mask(holds, world, BLOCKS_PAYMENT)
        self.vulnerable = hold_mask(holds, world, ("vulnerability",))
        self.plan_start, self.plan_end = account_interval(holds, n, "hardship_plan")
        self.dispute_start, self.dispute_end = account_interval(holds, n, "dispute")
        self.payday = B.payday_matrix(world.start, world.days + 40)
        self.payday_cum = np.cumsum(self.payday, axis=1)
        revokers = np.flatnonzero(rng.random(self.n_cust) < 0.015)
        self.rev_cust, self.rev_channel = revokers, rng.choice(P.DIGITAL, size=len(revokers))
        self.rev_day = rng.integers(0, world.days, size=len(revokers))
        self.contacts = EventLog("account", "day", "channel", "outcome", "propensity", "minute", "band")
        self.promises = EventLog("account", "day", "contact", "amount", "due_day", "channel",
                                 "agent", "p_keep", "kept")
        self.consents = EventLog("customer", "channel", "day", "status", "source", "contact", "minute")

    # -- one day ---------------------------------------------------------------------------
    def step(self, d: int) -> None:
        self.book.paid_today[:] = False
        self._place(d)
        self._charge_cycle(d)
        self._resolve_disputes(d)
        self._revoke_consents(d)
        self._sync(self.book.reverse_due(d), d)
        self._contact(d)
        self._sync(self.book.pay_scheduled(d), d)
        self._pay_plans(d)
        self._pay_on_own(d)
        self._write_off(d)
        self.nudge *= B.NUDGE_DECAY
        self.fatigue *= B.FATIGUE_DECAY

    def _live(self, d: int) -> np.ndarray:
        return (self.world.accounts.placed_day <= d) & ~self.written_off & (self.book.balance > 0)

    def _sync(self, changed: np.ndarray, d: int) -> None:
        """Keep past-due consistent after the payment book moved balances (payments, reversals)."""
        if len(changed) == 0:
            return
        bal, book = self.book.balance[changed], self.book
        paid = book.last_delta[changed]  # positive = money received
        self.past_due[changed] = np.clip(self.past_due[changed] - paid, 0, bal)
        due = self.past_due[changed] > 0
        self.oldest[changed] = np.where(due, np.where(self.oldest[changed] < 0, d, self.oldest[changed]), -1)
        book.mark_cures(changed[~due], d)

    def _place(self, d: int) -> None:
        acc = self.world.accounts
        idx = np.flatnonzero(acc.placed_day == d)
        self.book.charge(idx, d, acc.principal[idx], ENTRY["charge"])
        first = np.minimum(acc.instalment[idx], acc.principal[idx])
        self.book.marker(idx, d, first)
        self.past_due[idx] = first
        self.oldest[idx] = d

    def _charge_cycle(self, d: int) -> None:
        acc, live = self.world.accounts, self._live(d)
        phase = d - acc.placed_day
        due_now = live & (phase > 0) & (phase % 30 == 0)
        amount = np.minimum(acc.instalment, self.book.balance - self.past_due)
        idx = np.flatnonzero(due_now & (amount > 0))
        self.book.marker(idx, d, amount[idx])
        self.past_due[idx] += amount[idx]
        self.oldest[idx] = np.where(self.oldest[idx] < 0, d, self.oldest[idx])

        rate = np.array([P.MONTHLY_INTEREST[p] for p in P.PRODUCTS])[acc.product]
        idx = np.flatnonzero(live & (phase % 30 == 15) & (self.past_due > 0) & (rate > 0))
        self._add_due(idx, d, np.round(self.book.balance[idx] * rate[idx]).astype(np.int64), "interest")
        fee = np.array([P.LATE_FEE_USD[p] for p in P.PRODUCTS])[acc.product] * self.fx * 100
        late = live & (phase % 30 == 5) & (self.past_due > 0) & (self.rng.random(len(live)) < 0.5)
        idx = np.flatnonzero(late)
        self._add_due(idx, d, np.round(fee[idx], -2).astype(np.int64), "fee")

    def _add_due(self, idx: np.ndarray, d: int, amount: np.ndarray, kind: str) -> None:
        keep = amount > 0
        idx, amount = idx[keep], amount[keep]
        self.book.charge(idx, d, amount, ENTRY[kind])
        self.past_due[idx] += amount

    def _resolve_disputes(self, d: int) -> None:
        # a settled dispute sometimes ends in a credit; never while a promise is open,
        # because a credit would make a kept promise's payment impossible
        idx = np.flatnonzero((self.dispute_end == d) & self._live(d) & (self.promise_until < d))
        self.resolved[idx] = True
        credit = idx[self.rng.random(len(idx)) < 0.3]
        share = self.rng.uniform(0.2, 1.0, size=len(credit))
        amount = -np.round(self.book.balance[credit] * share, -2).astype(np.int64)
        amount = np.maximum(amount, -self.book.balance[credit])
        self.book.charge(credit, d, amount, ENTRY["adjustment"])
        self.past_due[credit] = np.minimum(self.past_due[credit], self.book.balance[credit])
        self.oldest[credit] = np.where(self.past_due[credit] > 0, self.oldest[credit], -1)

    def _revoke_consents(self, d: int) -> None:
        sel = self.rev_day == d
        cust, ch = self.rev_cust[sel], self.rev_channel[sel]
        cust, ch = cust[self.allowed[cust, ch]], ch[self.allowed[cust, ch]]
        self.allowed[cust, ch] = False
        self.consents.add(customer=cust, channel=ch, day=d, status=STATUS["revoked"], source="customer_request",
                          contact=-1, minute=self.rng.integers(8 * 60, 22 * 60, size=len(cust)))

    # -- contacts and promises -------------------------------------------------------------
    def _contact(self, d: int) -> None:
        cus, rng = self.world.customers, self.rng
        elig = self._live(d) & (self.past_due > 0) & ~self.contact_block[:, d] & (self.promise_until < d)
        idx = np.flatnonzero(elig)
        cust = self.cust[idx]
        dpd = d - self.oldest[idx] + 1
        p_contact, p_channel = policy.bau_action_probabilities(dpd, self.vulnerable[idx, d], self.allowed[cust])
        contacted, channel, propensity = policy.draw_bau_actions(rng, p_contact, p_channel)
        contacted, prior_none = policy.one_contact_per_customer(cust, p_contact, contacted)
        propensity = propensity * prior_none
        idx, cust, dpd = idx[contacted], cust[contacted], dpd[contacted]
        channel, propensity = channel[contacted], propensity[contacted]
        minute = policy.draw_local_minute(rng, channel)
        reason, fatigue = self.reason[idx], self.fatigue[cust]
        p_engage = B.engagement_probability(cus.affinity[cust, channel], reason, minute // 60,
                                            cus.evening[cust], fatigue)
        outcome = policy.draw_outcomes(rng, channel, p_engage, reason == P.STALE,
                                       B.opt_out_probability(fatigue, reason),
                                       B.complaint_probability(fatigue, reason))
        promised = (outcome == OUT["rpc"]) & (rng.random(len(idx)) < np.asarray(P.P_PROMISE_ON_RPC)[reason])
        outcome[promised] = OUT["promise"]
        rows = self.contacts.add(account=idx, day=d, channel=channel, outcome=outcome, propensity=propensity,
                                 minute=minute, band=policy.dpd_band(dpd))
        heavy = np.isin(outcome, [OUT["rpc"], OUT["promise"]]) & (self.first_heavy[idx] < 0)
        self.first_heavy[idx[heavy]] = d
        self.fatigue += np.bincount(cust, minlength=self.n_cust)
        engaged = np.isin(outcome, ENGAGED)
        lift = np.where(engaged, 1.0, np.where(outcome == OUT["delivered"], 0.3, 0.0))
        self.nudge[idx] += np.asarray(P.NUDGE_GAIN)[reason] * lift

        opt = outcome == OUT["opt_out"]
        self.allowed[cust[opt], channel[opt]] = False
        self.consents.add(customer=cust[opt], channel=channel[opt], day=d, status=STATUS["opt_out"],
                          source="contact_reply", contact=rows[opt], minute=minute[opt])

        # a click on a payment link either pays on the spot or books a self-service promise
        clicked = outcome == OUT["clicked"]
        u = rng.random(len(idx))
        reluctant = (reason == P.DISPUTER) | (reason == P.WONT_PAY)
        pay_now = clicked & (u < np.where(reluctant, 0.1, 0.45))
        self_service = clicked & ~pay_now & (u < 0.8)
        a = idx[pay_now]
        cap = self.world.accounts.capacity[a]
        amount = np.where(cap >= self.past_due[a], self.past_due[a],
                          np.maximum(cap * rng.uniform(0.5, 1.0, len(a)), 100)).astype(np.int64)
        self._sync(self.book.pay(a, d, np.minimum(amount, self.past_due[a]), lag=1, method="payment_link"), d)
        calls = np.flatnonzero(promised)
        agent = np.where(channel[calls] == P.AGENT_CALL, rng.integers(1, 60, len(calls)), -1)
        self._promise(d, idx[calls], channel[calls], rows[calls], agent)
        ss = np.flatnonzero(self_service)
        self._promise(d, idx[ss], np.full(len(ss), PCHANNEL["self_service"]), rows[ss], np.full(len(ss), -1))

    def _promise(self, d: int, a: np.ndarray, channel: np.ndarray, contact: np.ndarray, agent: np.ndarray) -> None:
        rng, n = self.rng, len(a)
        if n == 0:
            return
        self_service = channel == PCHANNEL["self_service"]
        past_due, cap = self.past_due[a], self.world.accounts.capacity[a]
        # agents ask for the whole past-due amount and short debtors often agree anyway
        asked = np.where((cap >= past_due) | (rng.random(n) < 0.5), past_due, cap * rng.uniform(0.5, 1.0, n))
        chosen = np.minimum(past_due, cap * rng.uniform(0.6, 1.0, n))
        amount = np.ceil(np.where(self_service, chosen, asked) / 100) * 100
        amount = np.clip(amount, 100, past_due).astype(np.int64)
        due = d + np.where(self_service, rng.integers(2, 15, n), rng.integers(3, 11, n))
        country = self.country[a]
        payday_in_window = (self.payday_cum[country, due] - self.payday_cum[country, d]) > 0
        p_keep = B.keep_probability(self.reason[a], amount, cap, self_service, self.broken[a],
                                    payday_in_window, rng.normal(0.0, P.KEEP_NOISE_SD, n))
        kept = rng.random(n) < p_keep
        self.promises.add(account=a, day=d, contact=contact, amount=amount, due_day=due, channel=channel,
                          agent=agent, p_keep=p_keep, kept=kept)
        self.promise_until[a] = due + P.PROMISE_GRACE_DAYS
        self.broken[a] += ~kept
        # a broken promise sometimes brings a token payment well short of the tolerance
        partial = ~kept & (rng.random(n) < 0.35)
        amount = np.where(kept, amount, np.where(partial, np.floor(amount * rng.uniform(0.2, 0.8, n)), 0))
        self.book.schedule(a, d, due, amount.astype(np.int64))

    # -- payments --------------------------------------------------------------------------
    def _pay_plans(self, d: int) -> None:
        on_plan = (self.plan_start <= d) & (d < self.plan_end) & ((d - self.plan_start) % 30 == 0)
        idx = np.flatnonzero(on_plan & self._live(d) & (self.promise_until < d) & ~self.book.paid_today)
        idx = idx[self.rng.random(len(idx)) < 0.85]
        cap = self.world.accounts.capacity[idx]
        amount = np.maximum(np.round(cap * self.rng.uniform(0.6, 1.0, len(idx)), -2), 100).astype(np.int64)
        self._sync(self.book.pay(idx, d, amount, lag=None, method="direct_debit"), d)

    def _pay_on_own(self, d: int) -> None:
        in_plan = (self.plan_start <= d) & (d < self.plan_end)
        can = (self._live(d) & (self.past_due > 0) & ~self.pay_block[:, d] & (self.promise_until < d)
               & ~self.book.paid_today & ~in_plan)
        idx = np.flatnonzero(can)
        r = self.reason[idx]
        h = B.payment_hazard(r, d - self.oldest[idx], self.payday[self.country[idx], d],
                             self.nudge[idx], self.resolved[idx])
        pays = self.rng.random(len(idx)) < h
        idx, r = idx[pays], r[pays]
        past_due, cap = self.past_due[idx], self.world.accounts.capacity[idx]
        p_full = np.asarray(P.P_FULL)[r] * np.minimum(1.0, cap / np.maximum(past_due, 1))
        u = self.rng.random(len(idx))
        partial = np.ceil(past_due * self.rng.uniform(0.2, 0.7, len(idx)) / 100) * 100
        amount = np.where(u < p_full, past_due, partial)
        # organised debtors with spare capacity sometimes clear the whole balance
        payoff = (u < 0.15) & (r == P.FORGETFUL) & (cap >= self.book.balance[idx])
        amount = np.where(payoff, self.book.balance[idx], amount).astype(np.int64)
        self._sync(self.book.pay(idx, d, amount, lag=None, method=None, reversible=True), d)

    def _write_off(self, d: int) -> None:
        phase = d - self.world.accounts.placed_day
        idx = np.flatnonzero(self._live(d) & (phase == 150) & ~self.book.ever_paid & (self.promise_until < d))
        idx = idx[self.rng.random(len(idx)) < 0.5]
        self.book.charge(idx, d, self.book.balance[idx], ENTRY["write_off"])
        self.written_off[idx] = True
        self.book.rev_day[idx] = -1
        self.past_due[idx] = 0
        self.oldest[idx] = -1

    def result(self) -> History:
        state = {"past_due": self.past_due, "oldest": self.oldest, "written_off": self.written_off,
                 "promise_until": self.promise_until, "broken": self.broken, "resolved": self.resolved,
                 "first_heavy": self.first_heavy, **self.book.state()}
        return History(self.book.log.columns(), self.contacts.columns(), self.promises.columns(),
                       self.consents.columns(), state, self.allowed, self.fatigue)
