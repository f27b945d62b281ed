"""The ledger book: balances in cents, ledger rows, scheduled promise payments and reversals.

Every balance change goes through here so the ledger rows and the balance the behaviour
reads can never disagree (sign convention: docs/TABLES.md).
"""

from __future__ import annotations

import numpy as np

from recobro.contract import ENTRY_TYPES
from simulator import params as P
from simulator.events import EventLog

ENTRY = {name: i for i, name in enumerate(ENTRY_TYPES)}
METHODS = ("card", "bank_transfer", "cash", "direct_debit", "payment_link")
METHOD_WEIGHTS = (0.35, 0.30, 0.15, 0.10, 0.10)
# bank transfers and cash post a few days after the money was paid
POST_LAG = tuple(range(P.MAX_POST_LAG_DAYS + 1))
POST_LAG_WEIGHTS = (0.55, 0.25, 0.12, 0.08)
BATCH_MINUTE = 6 * 60  # the creditor's nightly batch posts charges from 06:00 UTC
P_REVERSAL = 0.02


class PaymentBook:
    """Per-account balance plus the ledger log; `last_delta` is the money received by the last change."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.balance = np.zeros(n, dtype=np.int64)
        self.last_delta = np.zeros(n, dtype=np.int64)
        self.ever_paid = np.zeros(n, dtype=bool)
        self.paid_today = np.zeros(n, dtype=bool)
        self.first_cure = np.full(n, -1, dtype=np.int64)
        self.sched_day = np.full((n, 2), -1, dtype=np.int64)
        self.sched_amt = np.zeros((n, 2), dtype=np.int64)
        self.rev_day = np.full(n, -1, dtype=np.int64)
        self.rev_amt = np.zeros(n, dtype=np.int64)
        self.rev_row = np.full(n, -1, dtype=np.int64)
        self.log = EventLog("account", "day", "type", "amount", "lag", "minute", "reverses", "method")

    def _batch_minute(self, n: int) -> np.ndarray:
        return BATCH_MINUTE + self.rng.integers(0, 60, size=n)

    def charge(self, idx: np.ndarray, d: int, amount: np.ndarray, entry_type: int) -> None:
        """Post a balance-moving non-payment entry (charge, fee, interest, adjustment, write_off)."""
        if len(idx) == 0:
            return
        self.log.add(account=idx, day=d, type=entry_type, amount=amount, lag=0,
                     minute=self._batch_minute(len(idx)), reverses=-1, method=-1)
        sign = -1 if entry_type == ENTRY["write_off"] else 1
        self.balance[idx] += sign * amount

    def marker(self, idx: np.ndarray, d: int, amount: np.ndarray) -> None:
        """Post `installment_due` schedule markers (no balance effect)."""
        if len(idx) == 0:
            return
        self.log.add(account=idx, day=d, type=ENTRY["installment_due"], amount=amount, lag=0,
                     minute=self._batch_minute(len(idx)), reverses=-1, method=-1)

    def pay(self, idx: np.ndarray, d: int, amount: np.ndarray, lag: int | None, method: str | None,
            reversible: bool = False) -> np.ndarray:
        """Post payments (capped at the balance); returns the accounts whose balance moved."""
        amount = np.minimum(amount, self.balance[idx])
        keep = amount > 0
        idx, amount = idx[keep], amount[keep]
        n = len(idx)
        if n == 0:
            return idx
        lags = self.rng.choice(POST_LAG, size=n, p=POST_LAG_WEIGHTS) if lag is None else np.full(n, lag)
        methods = (self.rng.choice(len(METHODS), size=n, p=METHOD_WEIGHTS) if method is None
                   else np.full(n, METHODS.index(method)))
        rows = self.log.add(account=idx, day=d, type=ENTRY["payment"], amount=amount, lag=lags,
                            minute=self.rng.integers(0, 24 * 60, size=n), reverses=-1, method=methods)
        self.balance[idx] -= amount
        self.last_delta[idx] = amount
        self.ever_paid[idx] = True
        self.paid_today[idx] = True
        if reversible:
            # a small share of payments bounce (returned direct debit, chargeback) a few days after posting
            r = (self.rng.random(n) < P_REVERSAL) & (self.rev_day[idx] < 0)
            a = idx[r]
            self.rev_day[a] = d + lags[r] + self.rng.integers(1, 6, size=len(a))
            self.rev_amt[a], self.rev_row[a] = amount[r], rows[r]
        return idx

    def schedule(self, idx: np.ndarray, d: int, due: np.ndarray, amount: np.ndarray) -> None:
        """Plan the payments a promise will bring: one, or two instalments, between d+1 and due."""
        keep = amount > 0
        idx, due, amount = idx[keep], due[keep], amount[keep]
        n = len(idx)
        split = (self.rng.random(n) < 0.3) & (due - d >= 3)
        first = d + 1 + np.floor(self.rng.random(n) * np.where(split, due - d - 1, due - d)).astype(np.int64)
        second = first + 1 + np.floor(self.rng.random(n) * (due - first)).astype(np.int64)
        half = np.ceil(amount / 2 / 100).astype(np.int64) * 100
        self.sched_day[idx, 0] = first
        self.sched_amt[idx, 0] = np.where(split, np.minimum(half, amount), amount)
        self.sched_day[idx, 1] = np.where(split, second, -1)
        self.sched_amt[idx, 1] = np.where(split, amount - np.minimum(half, amount), 0)

    def pay_scheduled(self, d: int) -> np.ndarray:
        """Execute promise payments falling due today; returns the accounts that paid."""
        slot0 = self.sched_day[:, 0] == d
        slot1 = self.sched_day[:, 1] == d
        idx = np.flatnonzero(slot0 | slot1)
        amount = np.where(slot0[idx], self.sched_amt[idx, 0], self.sched_amt[idx, 1])
        self.sched_day[idx[slot0[idx]], 0] = -1
        self.sched_day[idx[slot1[idx]], 1] = -1
        lags = int(self.rng.random() < 0.3)  # one batch per day: instant or next-day posting
        return self.pay(idx, d, amount, lag=lags, method=None)

    def reverse_due(self, d: int) -> np.ndarray:
        """Post today's reversals of earlier payments; returns the accounts affected."""
        idx = np.flatnonzero(self.rev_day == d)
        if len(idx) == 0:
            return idx
        self.log.add(account=idx, day=d, type=ENTRY["reversal"], amount=self.rev_amt[idx], lag=0,
                     minute=self._batch_minute(len(idx)), reverses=self.rev_row[idx], method=-1)
        self.balance[idx] += self.rev_amt[idx]
        self.last_delta[idx] = -self.rev_amt[idx]
        self.rev_day[idx] = -1
        return idx

    def mark_cures(self, idx: np.ndarray, d: int) -> None:
        """Remember the first day each account got back to current."""
        first = idx[self.first_cure[idx] < 0]
        self.first_cure[first] = d

    def state(self) -> dict[str, np.ndarray]:
        return {"balance": self.balance, "first_cure": self.first_cure, "ever_paid": self.ever_paid,
                "sched_day": self.sched_day, "sched_amt": self.sched_amt}

