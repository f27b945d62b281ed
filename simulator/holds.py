"""Holds drawn up front from the latent reasons, and the daily masks the history loop reads.

Disputes and hardship plans belong to one account; vulnerability, bankruptcy, deceased,
cease, attorney and breathing space belong to the customer and cover all their accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recobro.contract import HOLD_KINDS
from simulator import params as P
from simulator.world import World

OPEN = 10**6  # end day of a hold that is still open
KIND_CODES = HOLD_KINDS
ACCOUNT_LEVEL = ("dispute", "hardship_plan")
# kinds that stop contact (vulnerability changes how, not whether)
BLOCKS_CONTACT = tuple(k for k in KIND_CODES if k != "vulnerability")
# kinds during which the debtor does not pay on their own
BLOCKS_PAYMENT = ("dispute", "deceased", "bankruptcy")


@dataclass
class Holds:
    """One entry per hold: `owner` is an account number for account-level kinds, else a customer."""

    kind: np.ndarray  # kind name
    owner: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray  # OPEN when still open
    start_minute: np.ndarray  # minute of the UTC day the hold was recorded

    def __len__(self) -> int:
        return len(self.kind)


# The draws' laws, which simulator.observable weighs too: P(drawn | reason) per owner, and the
# rng.integers(lo, hi) range of the start (days after placement, or after the customer's first placement)
DISPUTE_START, DISPUTE_LENGTH, PLAN_START = (1, 25), (10, 60), (7, 45)
VULNERABILITY_START, BREATHING_SPACE_START, RARE_START = (0, 20), (10, 60), (5, 120)
P_BREATHING_SPACE = 0.08  # UK hardship debtors
RARE = {"bankruptcy": (0.002, 0.015), "deceased": (0.0015, 0.0015),  # (base, stubborn) probability
        "cease": (0.003, 0.03), "attorney": (0.002, 0.02)}


def p_dispute(reason: np.ndarray) -> np.ndarray:
    """Disputers contest most accounts soon after placement; a few others contest too."""
    return np.where(reason == P.DISPUTER, 0.85, 0.01)


def p_dispute_closes(reason: np.ndarray) -> np.ndarray:
    return np.where(reason == P.DISPUTER, 0.55, 0.9)


def p_hardship_plan(reason: np.ndarray) -> np.ndarray:
    return np.select([reason == P.TEMPORARY, reason == P.CHRONIC], [0.30, 0.25], 0.0)


def stubborn(reason: np.ndarray) -> np.ndarray:
    """The reasons with a higher rate of the rare holds (bankruptcy, cease, attorney)."""
    return (reason == P.WONT_PAY) | (reason == P.DISPUTER) | (reason == P.CHRONIC)


def draw_holds(rng: np.random.Generator, world: World) -> Holds:
    """Every hold that starts inside the history window."""
    acc, cus = world.accounts, world.customers
    reason_acc = cus.reason[acc.customer]
    first_placed = np.full(len(cus), OPEN)
    np.minimum.at(first_placed, acc.customer, acc.placed_day)
    rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(kind: str, owners: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        rows.append((kind, owners, start, end))

    owners = np.flatnonzero(rng.random(len(acc)) < p_dispute(reason_acc))
    start = acc.placed_day[owners] + rng.integers(*DISPUTE_START, len(owners))
    closes = rng.random(len(owners)) < p_dispute_closes(reason_acc[owners])
    add("dispute", owners, start, np.where(closes, start + rng.integers(*DISPUTE_LENGTH, len(owners)), OPEN))

    owners = np.flatnonzero(rng.random(len(acc)) < p_hardship_plan(reason_acc))
    start = acc.placed_day[owners] + rng.integers(*PLAN_START, len(owners))
    add("hardship_plan", owners, start, start + rng.integers(60, 120, len(owners)))

    owners = np.flatnonzero(cus.vulnerable)
    add("vulnerability", owners, first_placed[owners] + rng.integers(*VULNERABILITY_START, len(owners)),
        np.full(len(owners), OPEN))

    uk = cus.country == P.COUNTRIES.index("UK")
    hardship = (cus.reason == P.TEMPORARY) | (cus.reason == P.CHRONIC)
    owners = np.flatnonzero(uk & hardship & (rng.random(len(cus)) < P_BREATHING_SPACE))
    start = first_placed[owners] + rng.integers(*BREATHING_SPACE_START, len(owners))
    add("breathing_space", owners, start, start + 60)

    for kind, (p_base, p_stubborn) in RARE.items():
        owners = np.flatnonzero(rng.random(len(cus)) < np.where(stubborn(cus.reason), p_stubborn, p_base))
        add(kind, owners, first_placed[owners] + rng.integers(*RARE_START, len(owners)), np.full(len(owners), OPEN))

    kind = np.concatenate([np.full(len(o), k, dtype=object) for k, o, _, _ in rows])
    owner = np.concatenate([o for _, o, _, _ in rows]).astype(np.int64)
    start = np.concatenate([s for _, _, s, _ in rows]).astype(np.int64)
    end = np.concatenate([e for _, _, _, e in rows]).astype(np.int64)
    # only what has happened by the end of the window is known
    keep = start < world.days
    end = np.where(end < world.days, end, OPEN)
    minute = rng.integers(13 * 60, 22 * 60, size=len(kind))
    return Holds(kind[keep], owner[keep], start[keep], end[keep], minute[keep])


def with_disclosed_plans(holds: Holds, disclosures: dict[str, np.ndarray], days: int) -> Holds:
    """`holds` plus one hardship_plan hold per hardship disclosed during the history (from the next day)."""
    start = disclosures["day"].astype(np.int64) + 1
    known = start < days  # a plan agreed on the last day starts after the delivery
    n = int(known.sum())
    if n == 0:
        return holds
    end = disclosures["end"].astype(np.int64)[known]
    return Holds(np.concatenate([holds.kind, np.full(n, "hardship_plan", dtype=object)]),
                 np.concatenate([holds.owner, disclosures["account"].astype(np.int64)[known]]),
                 np.concatenate([holds.start_day, start[known]]),
                 np.concatenate([holds.end_day, np.where(end < days, end, OPEN)]),
                 np.concatenate([holds.start_minute, disclosures["minute"].astype(np.int64)[known]]))


def hold_mask(holds: Holds, world: World, kinds: tuple[str, ...]) -> np.ndarray:
    """(days, n_accounts) bool: some hold of `kinds` covers the account on that day.

    Day-major so the history loop reads one contiguous row per day.
    """
    n_acc, days = len(world.accounts), world.days
    sel = np.flatnonzero(np.isin(holds.kind, kinds))
    hold, target = _hold_accounts(holds, world, sel)
    start = holds.start_day[sel][hold]
    end = np.minimum(holds.end_day[sel][hold], days)
    diff = np.zeros((days + 1, n_acc), dtype=np.int16)
    np.add.at(diff, (start, target), 1)
    np.add.at(diff, (end, target), -1)
    return np.cumsum(diff[:days], axis=0, dtype=np.int16) > 0


def _hold_accounts(holds: Holds, world: World, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `sel`, account number) pairs: every account each selected hold covers."""
    acc_level = np.isin(holds.kind[sel], ACCOUNT_LEVEL)
    bounds = np.searchsorted(world.accounts.customer, np.arange(len(world.customers) + 1))
    owner = holds.owner[sel]
    first = np.where(acc_level, owner, bounds[np.where(acc_level, 0, owner)])
    count = np.where(acc_level, 1, bounds[np.where(acc_level, 0, owner) + 1] - first)
    hold = np.repeat(np.arange(len(sel)), count)
    target = np.repeat(first, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    return hold, target


def open_holds_at_end(holds: Holds, world: World) -> dict[str, np.ndarray]:
    """Per hold kind, an account mask of holds still open on the last day (they stay open after it)."""
    out = {}
    for kind in KIND_CODES:
        sel = np.flatnonzero((holds.kind == kind) & (holds.end_day >= world.days) & (holds.start_day < world.days))
        _, target = _hold_accounts(holds, world, sel)
        mask = np.zeros(len(world.accounts), dtype=bool)
        mask[target] = True
        out[kind] = mask
    return out


def account_interval(holds: Holds, n_accounts: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(start_day, end_day) per account of its account-level hold of `kind`; -1/-1 when none."""
    start = np.full(n_accounts, -1, dtype=np.int64)
    end = np.full(n_accounts, -1, dtype=np.int64)
    sel = holds.kind == kind
    start[holds.owner[sel]] = holds.start_day[sel]
    end[holds.owner[sel]] = holds.end_day[sel]
    return start, end
