"""The history loop's contact steps: BAU outbound contacts (inside the rule packs), inbound contacts,
promises, disclosures.

A mixin of `history._Simulation` (kept apart so each module reads in one sitting); the
methods read and write the simulation's state arrays directly.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from recobro.contract import CONSENT_STATUSES, PROMISE_CHANNELS
from simulator import behaviour as B
from simulator import params as P
from simulator import policy
from simulator.holds import BLOCKS_CONTACT

OUT = policy.OUTCOME
ENGAGED = np.array([OUT["opened"], OUT["clicked"], OUT["replied"], OUT["rpc"], OUT["promise"]])
PCHANNEL = {name: i for i, name in enumerate(PROMISE_CHANNELS)}
STATUS = {name: i for i, name in enumerate(CONSENT_STATUSES)}


class ContactSteps:
    def _contact(self, d: int) -> None:
        cus, rng = self.world.customers, self.rng
        elig = self._live(d) & (self.past_due > 0) & ~self.contact_block[d] & (self.promise_until < d)
        idx = np.flatnonzero(elig)
        cust = self.cust[idx]
        dpd = d - self.oldest[idx] + 1
        p_contact, p_channel = policy.bau_action_probabilities(dpd, self.vulnerable[d, idx], self.allowed[cust])
        contacted, channel, propensity = policy.draw_bau_actions(rng, p_contact, p_channel)
        contacted, prior_none = policy.one_contact_per_customer(cust, p_contact, contacted)
        propensity = propensity * prior_none
        idx, cust, dpd = idx[contacted], cust[contacted], dpd[contacted]
        channel, propensity = channel[contacted], propensity[contacted]
        minute = policy.draw_local_minute(rng, channel)
        sent, minute = self._within_rules(d, idx, channel, minute)
        idx, cust, dpd, channel, propensity, minute = (x[sent] for x in (idx, cust, dpd, channel, propensity, minute))
        reason, fatigue = self.reason[idx], self.fatigue[cust]
        p_engage = B.engagement_probability(cus.affinity[cust, channel], reason, minute // 60,
                                            cus.evening[cust], fatigue)
        outcome = policy.draw_outcomes(rng, channel, p_engage, reason == P.STALE,
                                       B.opt_out_probability(fatigue, reason),
                                       B.complaint_probability(fatigue, reason))
        promised = (outcome == OUT["rpc"]) & (rng.random(len(idx)) < np.asarray(P.P_PROMISE_ON_RPC)[reason])
        outcome[promised] = OUT["promise"]
        self._disclose(d, idx[(outcome == OUT["rpc"]) & (rng.random(len(idx)) < P.P_DISCLOSE_ON_RPC)], minute)
        rows = self.contacts.add(account=idx, day=d, channel=channel, outcome=outcome, propensity=propensity,
                                 minute=minute, band=policy.dpd_band(dpd), inbound=0)
        self.rules.record(cust, channel, outcome)
        heavy = np.isin(outcome, [OUT["rpc"], OUT["promise"]]) & (self.first_heavy[idx] < 0)
        self.first_heavy[idx[heavy]] = d
        self.fatigue += np.bincount(cust, minlength=self.n_cust)
        engaged = np.isin(outcome, ENGAGED)
        # a message "delivered" to stale contact data reached somebody else: it nudges nobody
        lift = np.where(engaged, 1.0, np.where((outcome == OUT["delivered"]) & (reason != P.STALE), 0.3, 0.0))
        self.nudge[idx] += np.asarray(P.NUDGE_GAIN)[reason] * lift

        opt = outcome == OUT["opt_out"]
        self.allowed[cust[opt], channel[opt]] = False
        self.consents.add(customer=cust[opt], channel=channel[opt], day=d, status=STATUS["opt_out"],
                          source=1, contact=rows[opt], minute=minute[opt])

        # a click on a payment link either pays on the spot or books a self-service promise
        clicked = outcome == OUT["clicked"]
        u = rng.random(len(idx))
        reluctant = (reason == P.DISPUTER) | (reason == P.WONT_PAY)
        pay_now = clicked & (u < np.where(reluctant, B.LINK_PAY_NOW_RELUCTANT, B.LINK_PAY_NOW))
        self_service = clicked & ~pay_now & (u < B.LINK_PAY_OR_PROMISE)
        a = idx[pay_now]
        cap = self.world.accounts.capacity[a]
        amount = np.where(cap >= self.past_due[a], self.past_due[a],
                          np.maximum(cap * rng.uniform(*B.LINK_CAPACITY_SHARE, len(a)), 100)).astype(np.int64)
        self._sync(self.book.pay(a, d, np.minimum(amount, self.past_due[a]), lag=1, method="payment_link"), d)
        calls = np.flatnonzero(promised)
        agent = np.where(channel[calls] == P.AGENT_CALL, rng.integers(1, 60, len(calls)), -1)
        self._promise(d, idx[calls], channel[calls], rows[calls], agent)
        ss = np.flatnonzero(self_service)
        self._promise(d, idx[ss], np.full(len(ss), PCHANNEL["self_service"]), rows[ss], np.full(len(ss), -1))

    def _within_rules(self, d: int, idx: np.ndarray, channel: np.ndarray,
                      minute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sent mask, minute) for the day's drawn contacts: the client's dialer moves each into its pack's
        hours and drops those the pack forbids today (closed day, holiday, caps, one channel a week, call
        cool-down, vulnerability), as `simulator.reference.bau` does in the play-forward, so the truth's BAU
        is the policy that wrote the history. Whether a drawn contact is dropped depends only on the state,
        so the logged propensity of a sent contact stays P(drawn)."""
        on = self.world.start + timedelta(days=d)
        win = self.rules.windows(on)[self.country[idx]]  # a closed day's (-1, -1) is reported by `check`
        minute = np.clip(minute, win[:, 0], win[:, 1])
        none = np.zeros(len(idx), dtype=bool)  # eligibility already excludes holds, paid accounts, promises
        flags = {kind: none for kind in BLOCKS_CONTACT} | {
            "vulnerability": self.vulnerable[d, idx], "paid": none, "promise_pending": none}
        broken = self.rules.check(on, self.cust[idx], self.country[idx], channel, minute, self.allowed, flags)
        sent = np.ones(len(idx), dtype=bool)
        for mask, *_ in broken:
            sent &= ~mask
        return sent, minute

    def _disclose(self, d: int, a: np.ndarray, minute: np.ndarray) -> None:
        """Hardship disclosed on a call: a hardship plan (a hold) starts tomorrow and pauses contact."""
        a = a[B.can_disclose(self.reason[a], self.plan_start[a])]
        if len(a) == 0:
            return
        end = d + 1 + self.rng.integers(60, 120, len(a))
        self.plan_start[a], self.plan_end[a] = d + 1, end
        for account, last in zip(a, np.minimum(end, self.world.days)):
            self.contact_block[d + 1:last, account] = True
        self.disclosures.add(account=a, day=d, end=end, minute=self.rng.integers(13 * 60, 22 * 60, len(a)))

    def _promise(self, d: int, a: np.ndarray, channel: np.ndarray, contact: np.ndarray, agent: np.ndarray) -> None:
        rng, n = self.rng, len(a)
        if n == 0:
            return
        self_service = channel == PCHANNEL["self_service"]
        past_due, cap = self.past_due[a], self.world.accounts.capacity[a]
        amount = B.promise_amount(past_due, cap, self_service, rng.random(n), rng.random(n), rng.random(n))
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

    def _can_get_in_touch(self, d: int) -> np.ndarray:
        """Mask of the accounts whose debtor may get in touch today: past due, contact allowed, no promise running."""
        return self._live(d) & (self.past_due > 0) & ~self.contact_block[d] & (self.promise_until < d)

    def _inbound(self, d: int) -> None:
        """Debtors who get in touch themselves (call the agency or message it), often to promise."""
        idx = np.flatnonzero(self._can_get_in_touch(d))
        idx = idx[B.gets_in_touch(self.reason[idx], self.rng.random(len(idx)))]
        n = len(idx)
        if n == 0:
            return
        reason = self.reason[idx]
        channel, promised = B.inbound_contact(reason, self.rng.random(n), self.rng.random(n))
        outcome = np.where(promised, OUT["promise"], OUT["rpc"])
        minute = self.rng.integers(9 * 60, 21 * 60, size=n)
        rows = self.contacts.add(account=idx, day=d, channel=channel, outcome=outcome, propensity=np.nan,
                                 minute=minute, band=policy.dpd_band(d - self.oldest[idx] + 1), inbound=1)
        self.rules.record(self.cust[idx], channel, outcome, inbound=True)
        heavy = self.first_heavy[idx] < 0
        self.first_heavy[idx[heavy]] = d
        self.nudge[idx] += np.asarray(P.NUDGE_GAIN)[reason]
        p = np.flatnonzero(promised)
        agent = np.where(channel[p] == P.AGENT_CALL, self.rng.integers(1, 60, len(p)), -1)
        self._promise(d, idx[p], channel[p], rows[p], agent)

