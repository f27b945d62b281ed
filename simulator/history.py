"""The day loop: balances, BAU contacts, promises and payments, vectorised across accounts.

Within a day the order is fixed: placements and charges, hold changes, reversals, contacts
(which may create promises or immediate payments), then payments. Contacts come before
payments so that a promise made today can never be "kept" by a payment that was already
going to happen, which keeps the shared kept definition exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recobro.contract import CONSENT_STATUSES, ENTRY_TYPES
from simulator import behaviour as B
from simulator import params as P
from simulator.contacts import ContactSteps
from simulator.events import EventLog
from simulator.holds import BLOCKS_CONTACT, BLOCKS_PAYMENT, Holds, account_interval, hold_mask
from simulator.payments import PaymentBook
from simulator.rules import RuleBook
from simulator.world import World

ENTRY = {name: i for i, name in enumerate(ENTRY_TYPES)}
STATUS = {name: i for i, name in enumerate(CONSENT_STATUSES)}


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
    disclosures: dict[str, np.ndarray]  # hardship disclosed on a call: account, day, plan end day
    # per promise: P(kept) given the observable history (simulator.observable), when it was asked for
    p_keep_observable: np.ndarray | None = None
    # (reason, capacity_ratio) per customer drawn from the posterior given the whole observable history
    latent_samples: dict[str, np.ndarray] | None = None


def simulate_history(rng: np.random.Generator, world: World, holds: Holds, observe=None, seed: int = 0) -> History:
    """Run the portfolio day by day over the window and return every event it produced.

    With `observe` (the world's Scenario) the loop also computes each promise's P(kept) given its
    observable history and draws latent traits from their posterior at the end, with `seed`
    (`simulator.observable`); the history itself is the same.
    """
    if observe is not None:
        from simulator.observable import ObservedSimulation

        sim = ObservedSimulation(rng, world, holds, observe, sample_seed=seed)
    else:
        sim = _Simulation(rng, world, holds)
    for d in range(world.days):
        sim.step(d)
    return sim.result()


class _Simulation(ContactSteps):
    def __init__(self, rng: np.random.Generator, world: World, holds: Holds) -> None:
        self.rng, self.world = rng, world
        acc, cus = world.accounts, world.customers
        n, self.n_cust = len(acc), len(cus)
        self.cust = acc.customer
        self.reason = cus.reason[acc.customer]
        self.country = cus.country[acc.customer]
        self.fx = np.asarray(P.FX_BY_COUNTRY)[self.country]
        self.book = PaymentBook(rng, n)
        self.past_due = np.zeros(n, dtype=np.int64)
        self.oldest = np.full(n, -1, dtype=np.int64)  # day the oldest unpaid amount fell due
        self.written_off = np.zeros(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)
        self.rate = np.array([P.MONTHLY_INTEREST[p] for p in P.PRODUCTS])[acc.product]
        self.fee = np.round(np.array([P.LATE_FEE_USD[p] for p in P.PRODUCTS])[acc.product] * self.fx * 100, -2)
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
        self.rules = RuleBook(self.n_cust, 0)
        self.payday = B.payday_matrix(world.start, world.days + 40)
        self.payday_cum = np.cumsum(self.payday, axis=1)
        revokers = np.flatnonzero(rng.random(self.n_cust) < 0.015)
        self.rev_cust, self.rev_channel = revokers, rng.choice(P.DIGITAL, size=len(revokers))
        self.rev_day = rng.integers(0, world.days, size=len(revokers))
        self.contacts = EventLog("account", "day", "channel", "outcome", "propensity", "minute", "band", "inbound")
        self.promises = EventLog("account", "day", "contact", "amount", "due_day", "channel",
                                 "agent", "p_keep", "kept")
        self.consents = EventLog("customer", "channel", "day", "status", "source", "contact", "minute")
        self.disclosures = EventLog("account", "day", "end", "minute")

    # -- one day ---------------------------------------------------------------------------
    def step(self, d: int) -> None:
        self.book.paid_today[:] = False
        self._place(d)
        self._charge_cycle(d)
        self._resolve_disputes(d)
        self._revoke_consents(d)
        self._sync(self.book.reverse_due(d), d)
        self.rules.new_day(d)
        self._contact(d)
        self._inbound(d)
        self._sync(self.book.pay_scheduled(d), d)
        self._pay_plans(d)
        self._pay_on_own(d)
        self._write_off(d)
        self.nudge *= B.NUDGE_DECAY
        self.fatigue *= B.FATIGUE_DECAY

    def _live(self, d: int) -> np.ndarray:
        # `active` = placed and not written off; kept up to date by _place and _write_off
        return self.active & (self.book.balance > 0)

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
        self.active[idx] = True
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

        rate = self.rate
        idx = np.flatnonzero(live & (phase % 30 == 15) & (self.past_due > 0) & (rate > 0))
        self._add_due(idx, d, np.round(self.book.balance[idx] * rate[idx]).astype(np.int64), "interest")
        idx = np.flatnonzero(live & (phase % 30 == 5) & (self.past_due > 0))
        idx = idx[self.rng.random(len(idx)) < 0.5]
        self._add_due(idx, d, self.fee[idx].astype(np.int64), "fee")

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
        self.consents.add(customer=cust, channel=ch, day=d, status=STATUS["revoked"], source=2,
                          contact=-1, minute=self.rng.integers(8 * 60, 22 * 60, size=len(cust)))

    # -- payments --------------------------------------------------------------------------
    def _pay_plans(self, d: int) -> None:
        on_plan = (self.plan_start <= d) & (d < self.plan_end) & ((d - self.plan_start) % 30 == 0)
        idx = np.flatnonzero(on_plan & self._live(d) & (self.promise_until < d) & ~self.book.paid_today)
        idx = idx[self.rng.random(len(idx)) < P.PLAN_DEBIT]
        cap = self.world.accounts.capacity[idx]
        amount = np.maximum(np.round(cap * self.rng.uniform(*B.PLAN_DEBIT_CAPACITY_SHARE, len(idx)), -2), 100).astype(np.int64)
        self._sync(self.book.pay(idx, d, amount, lag=None, method="direct_debit"), d)

    def _can_pay_on_own(self, d: int) -> np.ndarray:
        """Mask of the accounts whose debtor may pay on their own today: past due, no payment block,
        no promise or hardship plan running, nothing paid today."""
        in_plan = (self.plan_start <= d) & (d < self.plan_end)
        return (self._live(d) & (self.past_due > 0) & ~self.pay_block[d] & (self.promise_until < d)
                & ~self.book.paid_today & ~in_plan)

    def _pay_on_own(self, d: int) -> None:
        idx = np.flatnonzero(self._can_pay_on_own(d))
        r = self.reason[idx]
        h = B.payment_hazard(r, d - self.oldest[idx], self.payday[self.country[idx], d],
                             self.nudge[idx], self.resolved[idx])
        pays = self.rng.random(len(idx)) < h
        idx, r = idx[pays], r[pays]
        past_due, cap = self.past_due[idx], self.world.accounts.capacity[idx]
        p_full = np.asarray(P.P_FULL)[r] * np.minimum(1.0, cap / np.maximum(past_due, 1))
        u = self.rng.random(len(idx))
        partial = np.ceil(past_due * self.rng.uniform(*B.OWN_PARTIAL_SHARE, len(idx)) / 100) * 100
        amount = np.where(u < p_full, past_due, partial)
        # organised debtors with spare capacity sometimes clear the whole balance
        payoff = (u < B.OWN_PAYOFF) & (r == P.FORGETFUL) & (cap >= self.book.balance[idx])
        amount = np.where(payoff, self.book.balance[idx], amount).astype(np.int64)
        self._sync(self.book.pay(idx, d, amount, lag=None, method=None, reversible=True), d)

    def _write_off(self, d: int) -> None:
        phase = d - self.world.accounts.placed_day
        idx = np.flatnonzero(self._live(d) & (phase == 150) & ~self.book.ever_paid & (self.promise_until < d))
        idx = idx[self.rng.random(len(idx)) < 0.5]
        self.book.charge(idx, d, self.book.balance[idx], ENTRY["write_off"])
        self.written_off[idx] = True
        self.active[idx] = False
        self.book.rev_day[idx] = -1
        self.past_due[idx] = 0
        self.oldest[idx] = -1

    def result(self) -> History:
        state = {"past_due": self.past_due, "oldest": self.oldest, "written_off": self.written_off,
                 "promise_until": self.promise_until, "broken": self.broken, "resolved": self.resolved,
                 "first_heavy": self.first_heavy, **self.book.state()}
        return History(self.book.log.columns(), self.contacts.columns(), self.promises.columns(),
                       self.consents.columns(), state, self.allowed, self.fatigue, self.disclosures.columns())
