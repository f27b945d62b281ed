"""The active contact rule packs (decisioning/rules/*.yaml) applied to simulated contacts: the
history's dialer drops what they forbid, and the play-forward reports every rule a policy breaks.

`RuleBook.check` names every rule a batch of contacts would break (hours and days in the
customer's local time, holidays, frequency caps, single channel per week, call cool-down,
consent and opt-outs, hard holds, paid accounts, pending promises); `RuleBook.record`
updates the counters once the contacts are sent. Customers' country is the account's
jurisdiction in the simulator, so one pack applies to each account.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS
from simulator import params as P
from simulator.holds import BLOCKS_CONTACT

CONVERSATION = (4, 6)  # outcome codes rpc, promise (CONTACT_OUTCOMES order)
GROUPS = {**{ch: (k,) for k, ch in enumerate(CHANNELS)}, "calls": P.CALLS, "all_channels": tuple(range(6))}


def default_rules_dir() -> Path:
    import decisioning

    return Path(decisioning.__file__).parent / "rules"


class RuleBook:
    """One effective policy per country plus rolling per-customer contact counters."""

    def __init__(self, n_customers: int, start_day: int, rules_dir: Path | None = None) -> None:
        from decisioning import effective_policy, load_rule_packs

        packs = load_rule_packs(rules_dir or default_rules_dir())
        self.policies = [effective_policy([packs[c]]) for c in P.COUNTRIES]
        self.counts = np.zeros((7, n_customers, 6), dtype=np.int16)  # ring buffer by day % 7
        self.week = np.zeros((n_customers, 6), dtype=np.int16)  # sum of the ring buffer, kept up to date
        self.last_conversation = np.full(n_customers, -10**6, dtype=np.int64)
        self.day = start_day

    def seed_history(self, contacts: dict[str, np.ndarray], customer_of_account: np.ndarray, days: int) -> None:
        """Count the history's last 6 days of outbound contacts and its phone conversations."""
        day, inbound = contacts["day"].astype(np.int64), contacts["inbound"].astype(bool)
        cust = customer_of_account[contacts["account"].astype(np.int64)]
        ch, out = contacts["channel"].astype(np.int64), contacts["outcome"].astype(np.int64)
        recent = ~inbound & (day >= days - 6)
        np.add.at(self.counts, (day[recent] % 7, cust[recent], ch[recent]), 1)
        np.add.at(self.week, (cust[recent], ch[recent]), 1)
        talk = np.isin(ch, P.CALLS) & np.isin(out, CONVERSATION)
        np.maximum.at(self.last_conversation, cust[talk], day[talk])

    def new_day(self, d: int) -> None:
        self.day = d
        self.week -= self.counts[d % 7]
        self.counts[d % 7] = 0

    def window(self, country: int, on: date) -> tuple[int, int] | None:
        """(first, last) allowed local minute for a country's pack on a date; None when closed."""
        pol = self.policies[country]
        span = pol.hours[on.weekday()]
        if on in pol.holidays or span is None:
            return None
        return span[0].hour * 60 + span[0].minute, span[1].hour * 60 + span[1].minute

    def windows(self, on: date) -> np.ndarray:
        """(n_countries, 2) allowed local minutes per country on a date; (-1, -1) where the pack is closed."""
        return np.array([self.window(k, on) or (-1, -1) for k in range(len(P.COUNTRIES))])

    def check(self, on: date, cust: np.ndarray, country: np.ndarray, channel: np.ndarray, minute: np.ndarray,
              allowed: np.ndarray, account_flags: dict[str, np.ndarray]) -> list[tuple[np.ndarray, str, str, str]]:
        """Rules broken by a batch of contacts sent today: a list of (row mask, rule_id, pack, version).

        Rows are counted in order, so a customer's second contact today can break a per-day cap
        the first did not. `account_flags` holds per-row booleans: holds by kind, 'vulnerability',
        'paid', 'promise_pending'.
        """
        n, d = len(cust), self.day
        out: list[tuple[np.ndarray, str, str, str]] = []
        before = _earlier_in_batch(cust, channel)  # (n, 6) same-customer rows earlier in this batch
        used = self.week[cust] + before  # (n, 6) contacts in the last 7 days so far
        today = self.counts[d % 7][cust] + before  # (n, 6) contacts today so far
        is_call = np.isin(np.arange(6), P.CALLS)
        for k, pol in enumerate(self.policies):
            rows = np.flatnonzero(country == k)  # each pack's rules are worked out on its own rows only
            if len(rows) == 0:
                continue

            def add(broken: np.ndarray, rule: str, pack: str, version: str) -> None:
                if broken.any():
                    mask = np.zeros(n, dtype=bool)
                    mask[rows[broken]] = True
                    out.append((mask, rule, pack, version))

            ch, c, week, day = channel[rows], cust[rows], used[rows], today[rows]
            every = np.ones(len(rows), dtype=bool)
            win = self.window(k, on)
            if on in pol.holidays:
                add(every, "holiday", pol.key, pol.version)
            elif win is None:
                add(every, "hours:closed_day", pol.key, pol.version)
            else:
                add((minute[rows] < win[0]) | (minute[rows] > win[1]), "hours", pol.key, pol.version)
            for group, limits in pol.caps.items():
                members = np.asarray(GROUPS[group])
                in_group = np.isin(np.arange(6), members)[ch]
                for limit, so_far in (("per_day", day), ("per_7d", week)):
                    if limit in limits:
                        cap, pack, version = limits[limit]
                        add(in_group & (so_far[:, members].sum(axis=1) >= cap), f"cap:{group}:{limit}", pack, version)
            if pol.single_channel_per_7d:
                other = week.sum(axis=1) - week[np.arange(len(rows)), ch]
                add(other > 0, "single_channel_per_7d", *pol.single_channel_per_7d)
            cooldown, pack, version = pol.call_cooldown
            if cooldown > 0:
                add(is_call[ch] & (d - self.last_conversation[c] < cooldown), "call_cooldown", pack, version)
            add(~allowed[c, ch], "consent", pol.key, pol.version)
            for kind in BLOCKS_CONTACT:
                add(account_flags[kind][rows], f"hold:{kind}", pol.key, pol.version)
            add(account_flags["vulnerability"][rows] & (ch != P.AGENT_CALL), "hold:vulnerability",
                pol.key, pol.version)
            add(account_flags["paid"][rows], "hold:paid", pol.key, pol.version)
            add(account_flags["promise_pending"][rows], "hold:promise_pending", pol.key, pol.version)
        return out

    def record(self, cust: np.ndarray, channel: np.ndarray, outcome: np.ndarray, inbound: bool = False) -> None:
        """Count today's sent contacts and remember phone conversations (for caps and cool-downs).

        Contacts the debtor started (`inbound`) count toward no cap, but a phone conversation is one
        whoever called, as in `seed_history`.
        """
        if not inbound:
            np.add.at(self.counts, (self.day % 7, cust, channel), 1)
            np.add.at(self.week, (cust, channel), 1)
        talk = np.isin(channel, P.CALLS) & np.isin(outcome, CONVERSATION)
        self.last_conversation[cust[talk]] = self.day


def _earlier_in_batch(cust: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """(n, 6) counts of rows of the same customer and channel that come earlier in the batch."""
    n = len(cust)
    out = np.zeros((n, 6), dtype=np.int64)
    if n == 0:
        return out
    order = np.lexsort((np.arange(n), cust))
    c = cust[order]
    start = np.r_[True, c[1:] != c[:-1]]
    onehot = np.zeros((n, 6), dtype=np.int64)
    onehot[np.arange(n), channel[order]] = 1
    cum = np.cumsum(onehot, axis=0) - onehot
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    base = cum[group_start]
    out[order] = cum - base
    return out


def violations_frame(rows: list[dict]) -> pd.DataFrame:
    """One row per (played-forward contact, broken rule)."""
    cols = ["date", "account_id", "customer_id", "channel", "local_minute", "rule_id", "rule_pack",
            "rule_pack_version"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
