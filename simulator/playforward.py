"""Play a contact policy forward from the end of a simulated history, with common random numbers.

    world, holds, history, *_ = simulate_world(5000, 120, seed=3)
    bau = play_forward(world, holds, history, reference.bau, days=30, seed=11)
    orc = play_forward(world, holds, history, reference.oracle, days=30, seed=11)

Every random draw of the debtors' side (engagement, outcome, promise, keep, payment) is a
uniform indexed by (seed, forward day, stream, account), drawn whether or not the account
is contacted, so two policies meet the same customers with the same luck and their
difference is the policy's effect. A policy is a callable `policy(state) -> Actions` (or a
next-best-action DataFrame: account_id, action, channel, send_window_start_utc), or a dict
{date: NBA DataFrame}. Contacts are played as sent; every rule they break is reported.

Debtors also get in touch on their own, as in the history (`behaviour.gets_in_touch`): these
inbound contacts are not the policy's, so they cost it nothing, count toward no cap and break
no rule, but their promises and payments are played and their phone conversations start the
call cool-down. A promise draws its terms from the day's promise streams whoever started the
conversation (an account makes at most one promise a day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS
from simulator import behaviour as B
from simulator import params as P
from simulator import policy as bau_rules
from simulator.holds import BLOCKS_CONTACT, BLOCKS_PAYMENT, account_interval, open_holds_at_end
from simulator.rules import RuleBook, violations_frame

OUT = bau_rules.OUTCOME
ENGAGED = [OUT[k] for k in ("opened", "clicked", "replied", "rpc", "promise")]
CONNECTED = [OUT[k] for k in ("rpc", "promise", "complaint", "opt_out")]
STREAMS = ("engage", "outcome", "opt", "promise", "click", "amount", "due", "keep", "partial", "share",
           "sched", "pay", "full", "plan")
# debtors who get in touch on their own; drawn after the keep noise, so the streams above keep their values
INBOUND_STREAMS = ("inbound", "inbound_channel", "inbound_promise")
# whether a debtor short of the past due agrees to an agent's ask for all of it; then whether a hardship
# debtor reached on a call discloses hardship, and the plan's length: drawn last, likewise
ASK_STREAMS = ("ask", "disclose", "plan_length")


@dataclass
class Actions:
    """Contacts to send today: account numbers, channel indices, local minute of the day."""

    account: np.ndarray
    channel: np.ndarray
    minute: np.ndarray

    @classmethod
    def none(cls) -> "Actions":
        e = np.zeros(0, dtype=np.int64)
        return cls(e, e, e)

    def take(self, mask: np.ndarray) -> "Actions":
        return Actions(self.account[mask], self.channel[mask], self.minute[mask])


@dataclass
class DayState:
    """What a policy sees on one forward day. `world` carries latent traits: only an oracle reads them."""

    day: int  # forward day, 0-based
    date: date
    world: object
    eligible: np.ndarray  # live, past due, no contact-blocking hold, no promise pending
    past_due: np.ndarray
    balance: np.ndarray
    dpd: np.ndarray
    allowed: np.ndarray  # (n_customers, 6) channels with consent and no opt-out
    vulnerable: np.ndarray
    fatigue: np.ndarray  # per customer
    rng: np.random.Generator  # the policy's own randomness, apart from the debtors' luck
    window: np.ndarray = field(repr=False, default=None)  # (n_accounts, 2) allowed local minutes; -1 closed
    sim: object = field(repr=False, default=None)
    memo: dict = field(repr=False, default_factory=dict)  # the policy's own memory across days

    def compliant(self, actions: Actions) -> np.ndarray:
        """Mask of the actions that break no rule of the active rule pack."""
        return self.sim.broken_rules(actions, self.date, record=False) == 0


@dataclass
class PlayResult:
    """Totals of one played-forward policy; `violations` has one row per broken rule."""

    summary: dict
    violations: pd.DataFrame
    recovered: np.ndarray  # per account, local cents


def play_forward(world, holds, history, policy, days: int = 30, seed: int = 0, rules_dir=None) -> PlayResult:
    """Simulate `days` more days under `policy` from the end of `history` (inputs are not modified)."""
    sim = _Forward(world, holds, history, seed, days, rules_dir)
    policy_rng = np.random.default_rng([seed, 10**6])
    for t in range(days):
        sim.step(t, policy, policy_rng)
    return sim.result()


class _Forward:
    def __init__(self, world, holds, history, seed: int, days: int, rules_dir) -> None:
        acc, cus = world.accounts, world.customers
        self.world, self.seed, self.n = world, seed, len(acc)
        s = history.state
        self.cust, self.reason = acc.customer, cus.reason[acc.customer]
        self.country = cus.country[acc.customer]
        self.fx = np.asarray(P.FX_BY_COUNTRY)[self.country]
        self.balance, self.past_due, self.oldest = s["balance"].copy(), s["past_due"].copy(), s["oldest"].copy()
        self.promise_until, self.broken = s["promise_until"].copy(), s["broken"].copy()
        self.resolved = s["resolved"].copy()
        self.sched_day, self.sched_amt = s["sched_day"].copy(), s["sched_amt"].copy()
        self.active = ~s["written_off"] & (acc.placed_day < world.days)
        self.allowed, self.fatigue = history.allowed.copy(), history.fatigue.copy()
        self.nudge = np.zeros(self.n)
        self.flags = open_holds_at_end(holds, world)
        self.contact_block = np.any([self.flags[k] for k in BLOCKS_CONTACT], axis=0)
        self.pay_block = np.any([self.flags[k] for k in BLOCKS_PAYMENT], axis=0)
        self.plan_start, self.plan_end = account_interval(holds, self.n, "hardship_plan")
        self.payday = B.payday_matrix(world.start, world.days + days + 1)
        self.reachable = np.column_stack([cus.phone != "", cus.email != "", cus.phone != "", cus.phone != "",
                                          cus.phone != "", np.ones(len(cus), dtype=bool)])
        self.rules = RuleBook(len(cus), world.days, rules_dir)
        self.rules.seed_history(history.contacts, self.cust, world.days)
        self.recovered = np.zeros(self.n, dtype=np.int64)
        self.past_due_start = self.past_due.copy()
        self.cured = np.zeros(self.n, dtype=bool)
        self.paid_any = np.zeros(self.n, dtype=bool)
        self.tot = dict(contacts=0, cost_usd=0.0, complaints=0, opt_outs=0, promises=0, promises_kept=0,
                        inbound=0, inbound_promises=0, inbound_promises_kept=0, disclosures=0)
        self.viol: list[dict] = []
        self.memo: dict = {}

    # -- helpers ---------------------------------------------------------------------------
    def _luck(self, t: int) -> dict[str, np.ndarray]:
        """The debtors' uniforms for forward day t: one per account per stream, policy-independent."""
        rng = np.random.default_rng([self.seed, t])
        luck = {name: rng.random(self.n) for name in STREAMS}
        luck["noise"] = rng.normal(0.0, P.KEEP_NOISE_SD, self.n)
        luck |= {name: rng.random(self.n) for name in INBOUND_STREAMS}
        return luck | {name: rng.random(self.n) for name in ASK_STREAMS}

    def _eligible(self, d: int) -> np.ndarray:
        """Live, past due, no contact-blocking hold (nor a plan disclosed since) and no promise pending:
        who may be contacted today."""
        return (self.active & (self.balance > 0) & (self.past_due > 0) & ~self.contact_block
                & ~self._disclosed_plan(d) & (self.promise_until < d))

    def _disclosed_plan(self, d: int) -> np.ndarray:
        """Per account: a hardship plan disclosed during the play-forward covers day d."""
        return (self.plan_start >= self.world.days) & (self.plan_start <= d) & (d < self.plan_end)

    def _pay(self, idx: np.ndarray, amount: np.ndarray) -> None:
        amount = np.minimum(amount.astype(np.int64), self.balance[idx])
        keep = amount > 0
        idx, amount = idx[keep], amount[keep]
        np.add.at(self.balance, idx, -amount)
        np.add.at(self.recovered, idx, amount)
        np.subtract.at(self.past_due, idx, amount)
        self.past_due[idx] = np.clip(self.past_due[idx], 0, self.balance[idx])
        self.paid_any[idx] = True
        self.paid_today[idx] = True
        done = idx[self.past_due[idx] == 0]
        self.oldest[done] = -1
        self.cured[done] = True

    def _window(self, on: date) -> np.ndarray:
        return self.rules.windows(on)[self.country]

    def broken_rules(self, a: Actions, on: date, record: bool) -> np.ndarray:
        """Number of rules each action breaks; with `record`, also logs them as violations."""
        cust = self.cust[a.account]
        flags = {k: self.flags[k][a.account] for k in self.flags} | {
            "paid": self.balance[a.account] <= 0, "promise_pending": self.promise_until[a.account] >= self.d}
        flags["hardship_plan"] = flags["hardship_plan"] | self._disclosed_plan(self.d)[a.account]
        found = self.rules.check(on, cust, self.country[a.account], a.channel, a.minute, self.allowed, flags)
        count = np.zeros(len(a.account), dtype=np.int64)
        for mask, rule, pack, version in found:
            count += mask
            if record:
                for i in np.flatnonzero(mask):
                    self.viol.append(dict(date=on, account_id=f"ACC-{a.account[i] + 1:07d}",
                                          customer_id=f"CUS-{cust[i] + 1:07d}", channel=CHANNELS[a.channel[i]],
                                          local_minute=int(a.minute[i]), rule_id=rule, rule_pack=pack,
                                          rule_pack_version=version))
        return count

    # -- one day ---------------------------------------------------------------------------
    def step(self, t: int, policy, policy_rng: np.random.Generator) -> None:
        d = self.d = self.world.days + t
        on = self.world.start + timedelta(days=d)
        u = self._luck(t)
        self.paid_today = np.zeros(self.n, dtype=bool)
        self.rules.new_day(d)
        live = self.active & (self.balance > 0)
        phase = d - self.world.accounts.placed_day
        due = np.flatnonzero(live & (phase > 0) & (phase % 30 == 0))
        amount = np.minimum(self.world.accounts.instalment[due], self.balance[due] - self.past_due[due])
        self.past_due[due] += np.maximum(amount, 0)
        self.oldest[due] = np.where(self.oldest[due] < 0, d, self.oldest[due])
        for slot in (0, 1):
            idx = np.flatnonzero(self.sched_day[:, slot] == d)
            self._pay(idx, self.sched_amt[idx, slot])

        state = DayState(t, on, self.world, self._eligible(d), self.past_due, self.balance,
                         np.where(self.oldest >= 0, d - self.oldest + 1, 0), self.allowed,
                         self.flags["vulnerability"], self.fatigue, policy_rng, self._window(on), self, self.memo)
        actions = _as_actions(policy(state) if callable(policy) else policy.get(on), self.world, on)
        self.broken_rules(actions, on, record=True)
        self._contact(actions, u, d)
        self.rules.record(self.cust[actions.account], actions.channel, self._outcome)
        self._inbound(u, d)

        in_plan = (self.plan_start >= 0) & (self.plan_start <= d) & (d < self.plan_end)
        live = self.active & (self.balance > 0)
        plan = np.flatnonzero(in_plan & ((d - self.plan_start) % 30 == 0) & live & (self.promise_until < d)
                              & ~self.paid_today & (u["plan"] < P.PLAN_DEBIT))
        cap = self.world.accounts.capacity[plan]
        self._pay(plan, np.maximum(np.round(cap * (0.6 + 0.4 * u["share"][plan]), -2), 100))
        idx = np.flatnonzero(live & (self.past_due > 0) & ~self.pay_block & (self.promise_until < d)
                             & ~self.paid_today & ~in_plan)
        r = self.reason[idx]
        h = B.payment_hazard(r, d - self.oldest[idx], self.payday[self.country[idx], d], self.nudge[idx],
                             self.resolved[idx])
        idx, r = idx[u["pay"][idx] < h], r[u["pay"][idx] < h]
        past_due, cap = self.past_due[idx], self.world.accounts.capacity[idx]
        p_full = np.asarray(P.P_FULL)[r] * np.minimum(1.0, cap / np.maximum(past_due, 1))
        partial = np.ceil(past_due * (0.2 + 0.5 * u["share"][idx]) / 100) * 100
        self._pay(idx, np.where(u["full"][idx] < p_full, past_due, partial))
        self.nudge *= B.NUDGE_DECAY
        self.fatigue *= B.FATIGUE_DECAY

    def _contact(self, a: Actions, u: dict[str, np.ndarray], d: int) -> None:
        cus = self.world.customers
        idx, ch, cust = a.account, a.channel, self.cust[a.account]
        reason, fatigue = self.reason[idx], self.fatigue[cust]
        unwanted = ~self.allowed[cust, ch]  # contacting after an opt-out annoys
        p_eng = B.engagement_probability(cus.affinity[cust, ch], reason, a.minute // 60, cus.evening[cust], fatigue)
        p_eng = np.where(self.reachable[cust, ch], p_eng, 0.0)
        out = bau_rules.outcomes_from_uniforms(
            ch, p_eng, (reason == P.STALE) | ~self.reachable[cust, ch],
            B.opt_out_probability(fatigue, reason) * np.where(unwanted, 3.0, 1.0),
            B.complaint_probability(fatigue, reason) * np.where(unwanted, 5.0, 1.0),
            u["engage"][idx], u["outcome"][idx], u["opt"][idx])
        promised = (out == OUT["rpc"]) & (u["promise"][idx] < np.asarray(P.P_PROMISE_ON_RPC)[reason])
        out[promised] = OUT["promise"]
        self._outcome = out
        self._disclose(idx[(out == OUT["rpc"]) & (u["disclose"][idx] < P.P_DISCLOSE_ON_RPC)], u, d)
        usd = np.asarray(P.CHANNEL_COST_USD)[ch]
        usd = np.where((ch == P.AGENT_CALL) & ~np.isin(out, CONNECTED), P.AGENT_ATTEMPT_COST_USD, usd)
        self.tot["contacts"] += len(idx)
        self.tot["cost_usd"] += float(usd.sum())
        self.tot["complaints"] += int((out == OUT["complaint"]).sum())
        opt = out == OUT["opt_out"]
        self.tot["opt_outs"] += int(opt.sum())
        self.allowed[cust[opt], ch[opt]] = False
        np.add.at(self.fatigue, cust, 1.0)
        # a message "delivered" to stale contact data reached somebody else: it nudges nobody
        lift = np.where(np.isin(out, ENGAGED), 1.0, np.where((out == OUT["delivered"]) & (reason != P.STALE), 0.3, 0.0))
        np.add.at(self.nudge, idx, np.asarray(P.NUDGE_GAIN)[reason] * lift)
        clicked = out == OUT["clicked"]
        reluctant = (reason == P.DISPUTER) | (reason == P.WONT_PAY)
        pay_now = clicked & (u["click"][idx] < np.where(reluctant, 0.1, 0.45)) & ~self.pay_block[idx]
        a_now = idx[pay_now]
        cap = self.world.accounts.capacity[a_now]
        self._pay(a_now, np.where(cap >= self.past_due[a_now], self.past_due[a_now],
                                  np.maximum(cap * (0.5 + 0.5 * u["share"][a_now]), 100)))
        self_service = clicked & ~pay_now & (u["click"][idx] < 0.8)
        self._promise(np.unique(idx[promised]), False, u, d)
        self._promise(np.unique(idx[self_service]), True, u, d)

    def can_disclose(self, account: np.ndarray) -> np.ndarray:
        """Per account: a hardship debtor with no hardship plan yet, who may disclose hardship on a call."""
        return B.can_disclose(self.reason[account], self.plan_start[account])

    def _disclose(self, a: np.ndarray, u: dict[str, np.ndarray], d: int) -> None:
        """Hardship disclosed on a call, as in the history: a hardship plan from tomorrow (60-119 days)
        pauses contact and own payments; its monthly direct debit starts tomorrow."""
        a = np.unique(a[self.can_disclose(a)])
        self.plan_start[a] = d + 1
        self.plan_end[a] = d + 1 + 60 + np.floor(u["plan_length"][a] * 60).astype(np.int64)
        self.tot["disclosures"] += len(a)

    def _inbound(self, u: dict[str, np.ndarray], d: int) -> None:
        """Debtors who get in touch themselves (after today's policy contacts, as in the history)."""
        idx = np.flatnonzero(self._eligible(d))
        idx = idx[B.gets_in_touch(self.reason[idx], u["inbound"][idx])]
        reason = self.reason[idx]
        channel, promised = B.inbound_contact(reason, u["inbound_channel"][idx], u["inbound_promise"][idx])
        self.tot["inbound"] += len(idx)
        self.rules.record(self.cust[idx], channel, np.where(promised, OUT["promise"], OUT["rpc"]), inbound=True)
        self.nudge[idx] += np.asarray(P.NUDGE_GAIN)[reason]
        self._promise(idx[promised], False, u, d, tally="inbound_promises")

    def _promise(self, a: np.ndarray, self_service: bool, u: dict[str, np.ndarray], d: int,
                 tally: str = "promises") -> None:
        a = a[(self.past_due[a] > 0) & (self.promise_until[a] < d)]
        if len(a) == 0:
            return
        past_due, cap = self.past_due[a], self.world.accounts.capacity[a]
        amount = B.promise_amount(past_due, cap, np.full(len(a), self_service), u["ask"][a], u["amount"][a],
                                  u["amount"][a])
        due = d + (2 + np.floor(u["due"][a] * 13) if self_service else 3 + np.floor(u["due"][a] * 8)).astype(np.int64)
        window = self.payday[self.country[a], d + 1:].cumsum(axis=1)
        payday = window[np.arange(len(a)), np.minimum(due - d - 1, window.shape[1] - 1)] > 0
        p_keep = B.keep_probability(self.reason[a], amount, cap, np.full(len(a), self_service), self.broken[a],
                                    payday, u["noise"][a])
        kept = u["keep"][a] < p_keep
        self.tot[tally] += len(a)
        self.tot[f"{tally}_kept"] += int(kept.sum())
        self.promise_until[a] = due + P.PROMISE_GRACE_DAYS
        self.broken[a] += ~kept
        partial = ~kept & (u["partial"][a] < 0.35)
        pay = np.where(kept, amount, np.where(partial, np.floor(amount * (0.2 + 0.6 * u["share"][a])), 0))
        self.sched_day[a, 0] = np.where(pay > 0, d + 1 + np.floor(u["sched"][a] * (due - d)).astype(np.int64), -1)
        self.sched_amt[a, 0] = pay.astype(np.int64)
        self.sched_day[a, 1] = -1

    def result(self) -> PlayResult:
        by_currency = {}
        for k, code in enumerate(P.COUNTRIES):
            sel = self.country == k
            if sel.any():
                by_currency[P.CURRENCY[code]] = round(float(self.recovered[sel].sum()) / 100.0, 2)
        usd = float((self.recovered / 100.0 / self.fx).sum())
        owed = self.past_due_start > 0
        viol = violations_frame(self.viol)
        summary = {
            "recovered_by_currency": by_currency, "recovered_usd": round(usd, 2),
            "contact_cost_usd": round(self.tot["cost_usd"], 2), "net_usd": round(usd - self.tot["cost_usd"], 2),
            **{k: v for k, v in self.tot.items() if k != "cost_usd"},
            "cure_rate": float(self.cured[owed].mean()) if owed.any() else 0.0,
            "paid_rate": float(self.paid_any[owed].mean()) if owed.any() else 0.0,
            "violations": len(viol),
            "violations_by_rule": viol["rule_id"].value_counts().sort_index().to_dict() if len(viol) else {},
        }
        return PlayResult(summary, viol, self.recovered)


def _as_actions(plan, world, on: date) -> Actions:
    """Actions from an `Actions`, None, or a next-best-action table for one day."""
    if plan is None:
        return Actions.none()
    if isinstance(plan, Actions):
        return plan
    from simulator.reference import actions_from_nba

    return actions_from_nba(plan, world, on)
