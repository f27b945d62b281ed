"""The true effect of one contact per channel: engagement, P(pay), expected money and value net of cost.

Ground truth (`truth_accounts`) and the oracle policy call the same function, so the oracle
is exactly as good as the truth says and a channel model can be scored against it.

The expectation follows the mechanics of `simulator.playforward` (and the history loop, which
shares them) over `HORIZON` days starting on the contact day, account by account:

- outcome of the contact: `policy.outcomes_from_uniforms` (engagement, click / reply / open split,
  failures and bounces, opt-out and complaint overrides, calls answered 1.4x more by agents);
- nudge: an engaged outcome adds NUDGE_GAIN, a merely delivered one 0.3 x NUDGE_GAIN; it decays
  by NUDGE_DECAY a day and multiplies the hazard through `behaviour.payment_hazard` (saturating
  tanh, payday factor, 0.9 cap), on the contact day itself and after;
- payment link: a click pays on the spot with P 0.45 (0.1 for disputers and won't-pay), the
  past-due amount if capacity allows, else about 3/4 of capacity; otherwise P 0.35 (0.7) of a
  self-service promise;
- promise (call RPC or self-service): amount, due day, keep probability (`behaviour.keep_probability`,
  integrated over the unobservable noise), kept payment or a 35% chance of a partial one; while
  the promise window is open (through due + grace) the debtor does not pay on their own, so the
  displaced self-payments are lost, and self-payment resumes afterwards on what is left;
- hardship disclosed on an answered call without a promise (P_DISCLOSE_ON_RPC, hardship debtors with no
  plan yet): a hardship plan whose first direct debit comes the next day and which pauses contact and
  own payments for longer than the horizon;
- self-payment: each day the remaining past-due amount is paid with the day's hazard, in full
  with P_FULL x min(1, capacity / past due), else 20-70% of it; expected money is tracked as
  past_due x (1 - prod(1 - hazard x expected share paid)).

The value is E[money recovered within HORIZON | contact] - E[... | no contact] minus the expected
unit cost (an agent call costs the connected rate only when answered). Left out (they do not
depend on the channel, or are second order for one contact): instalments falling due inside
the horizon, balance caps below the past-due amount, hardship-plan and held accounts (the
oracle never contacts them), a contact's fatigue and opt-out effect on later contacts, and
the debtors' own inbound contacts (`behaviour.gets_in_touch`, at most 0.4% a day), which the
play-forward plays on every path: a contact's promise or payment displaces some of them, so
this value overstates what a contact realises by about 6% (5-9% per channel on 10k accounts),
much alike across channels, so the ranking stands.
Stale contact data earns nothing here: see `channel_effects`.
"""

from __future__ import annotations

import numpy as np

from simulator import behaviour as B
from simulator import params as P

HORIZON = 30
BEST_HOURS = (10, 19)  # the two send hours considered: morning people vs evening people
DELIVERED_LIFT = 0.3  # nudge of a delivered but not engaged contact, as a share of an engaged one's
PARTIAL_SHARE = 0.45  # mean share of past due in a partial self-payment (uniform 20-70%)
PAY_NOW = (0.45, 0.10)  # P(pay on the spot | clicked): others, disputer / won't pay
SELF_SERVICE = (0.35, 0.70)  # P(self-service promise | clicked, not paid on the spot)
PROMISE_PARTIAL = 0.35  # P(a broken promise still pays part) ...
PROMISE_PARTIAL_SHARE = 0.5  # ... of this mean share (uniform 20-80%)
PLAN_DEBIT_SHARE = 0.8  # mean hardship-plan direct debit as a share of capacity (uniform 60-100%)
ASKED_FULL = 0.5  # P(a debtor short of the past due agrees to an agent's ask for all of it)
CALL_DUE = np.arange(3, 11)  # promise due day after a call: d + 3 .. d + 10
SELF_SERVICE_DUE = np.arange(2, 15)  # self-service promise: d + 2 .. d + 14
# outcome split by the second uniform v, per channel: P(failed or bounced), P(clicked | engaged, not failed)
FAIL_SHARE = (0.015, 0.02, 0.015, 0.0, 0.0, 0.04)
CLICK_SHARE = (0.685, 0.38, 0.385, 0.0, 0.0, 0.0)


def _expected_keep(reason, amount, capacity, self_service: bool, broken, payday_in_window):
    """`behaviour.keep_probability` averaged over the N(0, KEEP_NOISE_SD) noise (probit approximation)."""
    p = B.keep_probability(reason, amount, capacity, np.full(len(reason), self_service), broken,
                           payday_in_window, np.zeros(len(reason)))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    logit = np.log(p) - np.log1p(-p)
    return 1.0 / (1.0 + np.exp(-logit / np.sqrt(1.0 + np.pi * P.KEEP_NOISE_SD ** 2 / 8.0)))


def _payday_days(payday: np.ndarray | None, fx: np.ndarray, n: int) -> np.ndarray:
    """(n, HORIZON) payday indicator from the contact day on, or its mean rate by country when unknown.

    Callers without a date (the oracle) get the long-run share of payday days: 3 a month where
    wages land at month end, 6 where the quincena also pays; the country is read off `fx`.
    """
    if payday is not None:
        out = np.asarray(payday, dtype=float)[:, :HORIZON]
        if out.shape[1] < HORIZON:
            out = np.pad(out, ((0, 0), (0, HORIZON - out.shape[1])))
        return out
    rates = np.array([(6.0 if P.QUINCENA[c] else 3.0) / 30.44 for c in P.COUNTRIES])
    fxs = np.asarray(P.FX_BY_COUNTRY)
    country = np.abs(np.log(np.maximum(fx, 1e-9))[:, None] - np.log(fxs)[None, :]).argmin(axis=1)
    return np.repeat(rates[country][:, None], HORIZON, axis=1) if n else np.zeros((0, HORIZON))


def _next_instalment(n: int, next_due, instalment) -> tuple[np.ndarray, np.ndarray]:
    if next_due is None or instalment is None:
        return np.full(n, HORIZON, dtype=np.int64), np.zeros(n)
    return np.asarray(next_due, dtype=np.int64), np.maximum(np.asarray(instalment, dtype=float), 0.0)


def outcome_money(reason: np.ndarray, days_unpaid: np.ndarray, past_due: np.ndarray, capacity: np.ndarray,
                  fx: np.ndarray, payday: np.ndarray | None = None, broken: np.ndarray | None = None,
                  resolved: np.ndarray | None = None, next_due: np.ndarray | None = None,
                  instalment: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per contact outcome: (expected money recovered within HORIZON in local cents, P(no payment)).

    Outcomes: "none" (no contact), "delivered" (0.3 nudge), "engaged" (full nudge), "pay_now" (clicked
    and paid on the spot), "self_service" (clicked, self-service promise), "call_promise" (promise on an
    answered call). Day 0 is the contact day, with `days_unpaid` days since the oldest unpaid amount fell due.
    With `next_due` (days from the contact day, before its contact) and `instalment` (local cents), the
    next instalment falls due inside the horizon: added to what is unpaid, or, on an account back to
    current by then, owed afresh with the early hazard.

    A daily mean-field recursion: the accounts still behind (group "old": original oldest due day),
    those cured before the instalment and behind on it (group "new") and those current, each with
    its probability and expected past-due amount; a day's payment clears the expected share.
    """
    n = len(reason)
    reason = np.asarray(reason)
    pd_ = np.asarray(past_due, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    broken = np.zeros(n) if broken is None else np.asarray(broken)
    resolved = np.zeros(n, dtype=bool) if resolved is None else np.asarray(resolved, dtype=bool)
    pay_days = _payday_days(payday, np.asarray(fx, dtype=float), n)
    tau, inst = _next_instalment(n, next_due, instalment)
    t = np.arange(HORIZON)
    # hazards and nudge gain day-major, (HORIZON, n): each day of the recursion reads one contiguous row
    early, late = np.asarray(P.HAZARD_EARLY)[reason][None, :], np.asarray(P.HAZARD_LATE)[reason][None, :]
    factor = np.where((resolved & (reason == P.DISPUTER))[None, :], 4.0, 1.0) * (1.0 + 1.2 * pay_days.T)
    du_old = np.asarray(days_unpaid)[None, :] + t[:, None]
    h_old = np.where(du_old <= B.EARLY_DAYS, early, late) * factor
    h_new = np.where(t[:, None] - tau[None, :] <= B.EARLY_DAYS, early, late) * factor
    gain = np.asarray(P.NUDGE_GAIN)[reason][None, :] * B.NUDGE_DECAY ** t[:, None]
    p_full_r = np.asarray(P.P_FULL)[reason]
    behind = pd_ > 0
    due_days = set(np.unique(tau[(tau >= 0) & (tau < HORIZON)]).tolist())
    first_due = min(due_days, default=HORIZON)  # before it the "new" group is empty and pays nothing

    def hazards(lift: float) -> tuple[np.ndarray, np.ndarray]:
        """Capped daily hazards of the old and new groups under a nudge of `lift` (share of an engaged one's)."""
        mult = 1.0 + B.NUDGE_CAP * np.tanh(lift * gain / B.NUDGE_CAP)
        return np.minimum(h_old * mult, 0.9), np.minimum(h_new * mult, 0.9)

    def pay_own(h: np.ndarray, m: np.ndarray, r: np.ndarray, money: np.ndarray):
        """One day of own payments by a group: (money, what is left, P(still behind))."""
        p_full = p_full_r * np.minimum(1.0, cap * np.maximum(m, 1e-12) / np.maximum(r, 1.0))
        hf = h * (p_full + (1.0 - p_full) * PARTIAL_SHARE)
        return money + hf * r, r * (1.0 - hf), m * (1.0 - h * p_full)

    def play(nudged: tuple[np.ndarray, np.ndarray], now: np.ndarray | None = None, promise: tuple | None = None):
        """Expected money and P(no payment) of one path under `nudged` hazards; `promise` = (day paid, amount,
        P(kept), P(paid), share paid, resume day), its day one number for every account."""
        ho, hn = nudged
        m_old, r_old = behind.astype(float), pd_.copy()
        m_new, r_new = np.zeros(n), np.zeros(n)
        money, no_pay = np.zeros(n), np.ones(n)
        for d in range(HORIZON):
            if d in due_days:
                i = np.flatnonzero(tau == d)
                m_cur = 1.0 - m_old[i] - m_new[i]
                r_old[i] = r_old[i] + m_old[i] * inst[i]
                r_new[i] = r_new[i] + m_cur * inst[i]
                m_new[i] = m_new[i] + m_cur
            if promise is not None:
                day, amount, kept, paid, paid_share, resume = promise
                if d == day:
                    pay = np.minimum(amount * paid_share, r_old)
                    money, r_old = money + pay, r_old - pay
                    m_old = m_old - np.where(amount >= r_old + pay - 0.5, kept * m_old, 0.0)
                    no_pay = no_pay * (1.0 - paid)
                if d < resume:
                    continue
            if d == 0 and now is not None:
                money, r_old = money + now, r_old - now
                m_old = np.where(now >= pd_, 0.0, m_old)
                no_pay = np.zeros(n)
                continue
            money, r_old, m_old = pay_own(ho[d], m_old, r_old, money)
            no_pay = no_pay * (1.0 - np.where(behind, ho[d], 0.0))
            if d >= first_due:
                money, r_new, m_new = pay_own(hn[d], m_new, r_new, money)
        return money, no_pay

    engaged = hazards(1.0)  # every path after an engaged contact: computed once
    out = {"none": play(hazards(0.0)), "delivered": play(hazards(DELIVERED_LIFT)), "engaged": play(engaged)}
    # clicked and paid on the spot: the past due if capacity covers it, else about 3/4 of capacity
    now = np.where(cap >= pd_, pd_, np.minimum(pd_, np.maximum(0.75 * cap, 100.0)))
    out["pay_now"] = play(engaged, now=now)
    cum_payday = np.cumsum(pay_days[:, 1:], axis=1)
    # promised amounts at the mean uniforms of `behaviour.promise_amount`: a self-service debtor chooses 80% of
    # capacity (at most the past due); on a call, a debtor short of the past due is asked for all of it and
    # agrees half the time, else offers 75% of capacity: two equally likely amounts
    offered = np.where(cap >= pd_, pd_, 0.75 * cap)
    terms = (("self_service", True, SELF_SERVICE_DUE, ((1.0, np.minimum(pd_, 0.8 * cap)),)),
             ("call_promise", False, CALL_DUE, ((ASKED_FULL, pd_), (1.0 - ASKED_FULL, offered))))
    for name, self_service, dues, amounts in terms:
        money, none = np.zeros(n), np.zeros(n)
        for (weight, wanted), k in ((w, k) for w in amounts for k in dues):
            amount = np.clip(np.ceil(wanted / 100.0) * 100.0, 100.0, np.maximum(pd_, 100.0))
            # a payday among days 1..k; with a rate, P(at least one) = 1 - prod(1 - rate)
            if payday is not None:
                in_window = (cum_payday[:, k - 1] > 0).astype(float)
            else:
                in_window = 1.0 - np.prod(1.0 - pay_days[:, 1:k + 1], axis=1)
            keep = (in_window * _expected_keep(reason, amount, cap, self_service, broken, np.ones(n))
                    + (1 - in_window) * _expected_keep(reason, amount, cap, self_service, broken, np.zeros(n)))
            share = keep + (1.0 - keep) * PROMISE_PARTIAL * PROMISE_PARTIAL_SHARE
            p_paid = keep + (1.0 - keep) * PROMISE_PARTIAL
            # paid on a uniform day in 1..k; the window runs through due + grace, own payments resume after
            day = (k + 2) // 2
            m, z = play(engaged, promise=(day, amount, keep, p_paid, share, k + P.PROMISE_GRACE_DAYS + 1))
            money, none = money + weight * m, none + weight * z
        out[name] = (money / len(dues), none / len(dues))
    # hardship disclosed on a call: a plan from the next day, whose first direct debit (60-100% of capacity,
    # P.PLAN_DEBIT of them go through) comes that day; contact and own payments pause for the plan's 60+
    # days, past the horizon (here from the contact day itself, one day early)
    out["disclose"] = play(engaged, promise=(1, PLAN_DEBIT_SHARE * cap, P.PLAN_DEBIT, P.PLAN_DEBIT, P.PLAN_DEBIT, HORIZON))
    return out


def outcome_probabilities(engage: np.ndarray, reason: np.ndarray, fatigue: np.ndarray,
                          can_disclose: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """(n, 6) probability of each outcome path of `outcome_money` per channel (the rest: no effect).

    `can_disclose` (n,) marks the debtors who would disclose hardship on an answered call without a
    promise (P_DISCLOSE_ON_RPC): hardship reasons with no hardship plan yet; by default every hardship debtor.
    """
    n = len(reason)
    if can_disclose is None:
        can_disclose = B.can_disclose(reason, np.full(n, -1))
    ch = np.arange(6)[None, :]
    # opt-outs and complaints replace any outcome that reached the debtor, except letters
    q = np.clip(B.opt_out_probability(fatigue, reason) + B.complaint_probability(fatigue, reason), 0.0, 1.0)
    q = np.where(ch == P.LETTER, 0.0, q[:, None])
    fail, click = np.asarray(FAIL_SHARE)[None, :], np.asarray(CLICK_SHARE)[None, :]
    is_call = np.isin(ch, P.CALLS)
    answered = np.minimum(1.0, engage * np.where(ch == P.AGENT_CALL, 1.4, 1.0))
    reached = np.where(is_call, answered, engage * (1.0 - fail)) * (1.0 - q)  # engaged, answered
    clicked = np.where(is_call, 0.0, reached * click)
    reluctant = ((reason == P.DISPUTER) | (reason == P.WONT_PAY))[:, None]
    pay_now = clicked * np.where(reluctant, PAY_NOW[1], PAY_NOW[0])
    self_service = clicked * np.where(reluctant, SELF_SERVICE[1], SELF_SERVICE[0])
    call_promise = np.where(is_call, reached * np.asarray(P.P_PROMISE_ON_RPC)[reason][:, None], 0.0)
    disclose = np.where(is_call & np.asarray(can_disclose, dtype=bool)[:, None],
                        (reached - call_promise) * P.P_DISCLOSE_ON_RPC, 0.0)
    engaged = reached - pay_now - self_service - call_promise - disclose
    delivered = np.where(is_call, 0.0, (1.0 - engage) * (1.0 - fail) * (1.0 - q))
    delivered = np.where(ch == P.LETTER, 1.0 - fail, delivered) * np.ones((n, 1))
    engaged = np.where(ch == P.LETTER, 0.0, engaged)
    return {"delivered": delivered, "engaged": engaged, "pay_now": pay_now, "self_service": self_service,
            "call_promise": call_promise, "disclose": disclose,
            "answered": np.where(is_call, answered, 0.0) * np.ones((n, 1))}


def channel_effects(reason: np.ndarray, affinity: np.ndarray, evening: np.ndarray, fatigue: np.ndarray,
                    days_unpaid: np.ndarray, past_due: np.ndarray, capacity: np.ndarray, fx: np.ndarray,
                    reachable: np.ndarray, payday: np.ndarray | None = None, broken: np.ndarray | None = None,
                    resolved: np.ndarray | None = None, next_due: np.ndarray | None = None,
                    instalment: np.ndarray | None = None, can_disclose: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per account and channel (n, 6): engagement, P(pay within HORIZON), extra money and value net of cost.

    `affinity` and `reachable` are (n, 6); amounts are local cents; `fx` is local units per USD;
    `days_unpaid` counts from the oldest unpaid due day to the contact day. `payday` (n, >= HORIZON),
    bool from the contact day on, is optional: without it the country's mean payday rate is used.
    `can_disclose` (n,): see `outcome_probabilities` (callers that know past hardship plans pass it).
    Returns engage, p_pay (contacted), p_pay_base (not contacted), p_extra = p_pay - p_pay_base,
    money_usd (expected extra money recovered), value_usd (money_usd - expected cost) and the send
    hour, the better of BEST_HOURS for engagement. Stale contact data gets no engagement and no
    effect: the message reaches somebody else (the play-forward still nudges the debtor on a
    "delivered" outcome of stale data; that is a simulator quirk the truth does not reward).
    """
    n = len(reason)
    reason = np.asarray(reason)
    stale = reason == P.STALE
    engage = np.zeros((n, 6))
    hour = np.zeros((n, 6), dtype=np.int64)
    for h in BEST_HOURS:
        p = B.engagement_probability(affinity, reason[:, None], np.full((n, 6), h), evening[:, None],
                                     fatigue[:, None])
        better = p > engage
        engage = np.where(better, p, engage)
        hour = np.where(better, h, hour)
    hour = np.where(hour == 0, BEST_HOURS[0], hour)
    live = reachable & ~stale[:, None]
    engage = np.where(live, engage, 0.0)
    money = outcome_money(reason, days_unpaid, past_due, capacity, fx, payday, broken, resolved, next_due, instalment)
    prob = outcome_probabilities(engage, reason, np.asarray(fatigue, dtype=float), can_disclose)
    base_money, base_none = money["none"]
    extra = np.zeros((n, 6))
    p_none = np.zeros((n, 6))
    untouched = np.ones((n, 6))
    for name in ("delivered", "engaged", "pay_now", "self_service", "call_promise", "disclose"):
        m, z = money[name]
        extra += prob[name] * (m - base_money)[:, None]
        p_none += prob[name] * z[:, None]
        untouched -= prob[name]
    p_none += untouched * base_none[:, None]
    extra = np.where(live, extra, 0.0)
    p_pay = np.where(live, 1.0 - p_none, (1.0 - base_none)[:, None])
    money_usd = extra / 100.0 / np.asarray(fx, dtype=float)[:, None]
    cost = np.asarray(P.CHANNEL_COST_USD, dtype=float)[None, :] * np.ones((n, 1))
    # an agent call is charged as connected when answered (RPC, promise, complaint, opt-out), else an attempt
    answered = prob["answered"][:, P.AGENT_CALL]
    cost[:, P.AGENT_CALL] = answered * P.CHANNEL_COST_USD[P.AGENT_CALL] + (1 - answered) * P.AGENT_ATTEMPT_COST_USD
    p_base = 1.0 - base_none
    return {"engage": engage, "p_pay": p_pay, "p_pay_base": p_base, "p_extra": p_pay - p_base[:, None],
            "money_usd": money_usd, "value_usd": money_usd - cost, "hour": hour}
