"""Play-forward: common random numbers, reference policies ranked as expected, rule-pack violations,
debtors who get in touch on their own."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from simulator import params as P
from simulator import simulate_world
from simulator.holds import BLOCKS_CONTACT, open_holds_at_end
from simulator.playforward import Actions, play_forward
from simulator.policy import OUTCOME
from simulator.reference import POLICIES, actions_from_nba, compare_policies
from simulator.rules import RuleBook


@pytest.fixture(scope="module")
def world():
    return simulate_world(3000, 100, seed=21)[:3]


def test_same_policy_and_seed_give_identical_results(world):
    a = play_forward(*world, POLICIES["bau"], days=10, seed=5)
    b = play_forward(*world, POLICIES["bau"], days=10, seed=5)
    assert a.summary == b.summary and np.array_equal(a.recovered, b.recovered)


def test_common_random_numbers_untouched_accounts_pay_the_same(world):
    """An account no policy contacts meets identical luck under both policies."""
    w, holds, history = world
    base = play_forward(*world, POLICIES["no_contact"], days=20, seed=3)
    target = np.flatnonzero(history.state["past_due"] > 0)[:50]

    def some(state):
        idx = target[state.eligible[target]]
        return Actions(idx, np.full(len(idx), 1), np.full(len(idx), 12 * 60)) if state.day == 0 else Actions.none()

    other = play_forward(*world, some, days=20, seed=3)
    untouched = np.ones(len(base.recovered), dtype=bool)
    untouched[target] = False
    # customers of contacted accounts share fatigue; compare only other customers' accounts
    touched_cust = np.isin(w.accounts.customer, w.accounts.customer[target])
    same = untouched & ~touched_cust
    assert np.array_equal(base.recovered[same], other.recovered[same])
    assert other.summary["contacts"] > 0


def test_oracle_beats_bau_beats_random_on_net_recovery():
    frame = compare_policies(4000, 120, seed=3, days=30, policies=("oracle", "bau", "random", "no_contact"))
    net = frame.set_index("policy")["net_usd"]
    assert net["oracle"] > net["bau"] > net["random"] > net["no_contact"]
    assert (frame["violations"] == 0).all()
    assert {"recovered_local_COP", "recovered_local_USD", "recovered_local_EUR"} <= set(frame.columns)


def test_a_policy_that_ignores_the_rule_pack_is_reported(world):
    res = play_forward(*world, POLICIES["ignore_rules"], days=7, seed=2)
    v = res.violations
    assert len(v) == res.summary["violations"] > 0
    assert {"hours", "cap:calls:per_7d"} & set(v["rule_id"]) and "hold:dispute" in set(v["rule_id"])
    assert set(v["rule_pack"]) <= {"CO", "MX", "ES", "US", "UK"}
    # CO never on Sundays or holidays; ES never on weekends
    co_sunday = v[(v["rule_pack"] == "CO") & (pd.to_datetime(v["date"]).dt.weekday == 6)]
    assert len(co_sunday) == 0 or set(co_sunday["rule_id"]) & {"hours:closed_day", "holiday"}


def test_nba_tables_drive_the_same_engine(world):
    w = world[0]
    first = w.end + timedelta(days=1)
    eligible = np.flatnonzero(world[2].state["past_due"] > 0)[:20]
    nba = pd.DataFrame({
        "account_id": [f"ACC-{i + 1:07d}" for i in eligible], "action": "remind", "channel": "email",
        "send_window_start_utc": pd.Timestamp(first) + pd.Timedelta(hours=17),
    })
    actions = actions_from_nba(nba, w, first)
    assert np.array_equal(actions.account, eligible) and (actions.channel == 1).all()
    res = play_forward(*world, {first: nba}, days=3, seed=1)
    assert res.summary["contacts"] == 20


def test_every_reference_policy_runs_on_a_tiny_portfolio():
    tiny = simulate_world(6, 20, seed=1)[:3]
    for name, fn in POLICIES.items():
        res = play_forward(*tiny, fn, days=3, seed=0)
        assert res.summary["contact_cost_usd"] >= 0, name


def test_debtors_get_in_touch_on_their_own_as_often_as_in_the_history(world):
    """Inbound contacts, their promises and payments are played; they are not the policy's contacts."""
    w, holds, history = world
    c = history.contacts
    recent = c["day"].astype(np.int64) >= w.days - 30
    inbound = recent & c["inbound"].astype(bool)
    history_promise_share = (c["outcome"][inbound] == OUTCOME["promise"]).mean()
    runs = [play_forward(*world, POLICIES["bau"], days=30, seed=s).summary for s in range(4)]
    per_run = np.mean([r["inbound"] for r in runs])
    assert 0.6 * inbound.sum() < per_run < 1.6 * inbound.sum()
    promise_share = sum(r["inbound_promises"] for r in runs) / sum(r["inbound"] for r in runs)
    assert abs(promise_share - history_promise_share) < 0.15
    none = play_forward(*world, POLICIES["no_contact"], days=30, seed=1).summary
    assert none["inbound"] > 0 and none["inbound_promises_kept"] > 0
    assert none["contacts"] == none["promises"] == none["violations"] == 0 and none["contact_cost_usd"] == 0


def test_inbound_contacts_change_only_the_callers_money_and_never_under_a_hold(world, monkeypatch):
    """Same luck with and without inbound contacts: only accounts that got in touch pay differently,
    and accounts under a contact-blocking hold never do (the history blocks their inbound contacts too)."""
    w, holds, history = world
    with_inbound = play_forward(*world, POLICIES["no_contact"], days=30, seed=7)
    monkeypatch.setattr(P, "P_INBOUND", (0.0,) * len(P.REASONS))
    without = play_forward(*world, POLICIES["no_contact"], days=30, seed=7)
    assert without.summary["inbound"] == 0
    changed = with_inbound.recovered != without.recovered
    assert 0 < changed.sum() <= with_inbound.summary["inbound"]
    assert with_inbound.recovered.sum() > without.recovered.sum()
    flags = open_holds_at_end(holds, w)
    blocked = np.any([flags[k] for k in BLOCKS_CONTACT], axis=0)
    assert blocked.sum() > 20 and not changed[blocked].any()


def test_an_inbound_phone_conversation_starts_the_call_cooldown_but_counts_toward_no_cap():
    book = RuleBook(n_customers=1, start_day=0)
    book.new_day(0)
    book.record(np.array([0]), np.array([P.AGENT_CALL]), np.array([OUTCOME["promise"]]), inbound=True)
    assert book.counts.sum() == 0 and book.week.sum() == 0
    book.new_day(1)
    us = np.array([P.COUNTRIES.index("US")])
    flags = {k: np.zeros(1, dtype=bool) for k in (*BLOCKS_CONTACT, "vulnerability", "paid", "promise_pending")}
    found = book.check(date(2026, 11, 3), np.array([0]), us, np.array([P.VOICE]), np.array([12 * 60]),
                       np.ones((1, 6), dtype=bool), flags)
    assert [rule for _, rule, _, _ in found] == ["call_cooldown"]


def test_promises_are_made_on_the_history_terms(world, monkeypatch):
    """The play-forward draws promised amounts as the history does (`behaviour.promise_amount`): a debtor
    short of the past due who promises on a call promises all of it about half the time, as agents ask."""
    from simulator import behaviour as B

    seen = []
    real = B.promise_amount

    def spy(past_due, capacity, self_service, *uniforms):
        amount = real(past_due, capacity, self_service, *uniforms)
        seen.append(pd.DataFrame({"past_due": past_due, "capacity": capacity, "self_service": self_service,
                                  "amount": amount}))
        return amount

    monkeypatch.setattr(B, "promise_amount", spy)
    for seed in range(3):
        play_forward(*world, POLICIES["bau"], days=30, seed=seed)
    made = pd.concat(seen, ignore_index=True)
    short_call = made[~made["self_service"] & (made["capacity"] < made["past_due"])]
    assert len(short_call) > 50
    assert 0.35 < (short_call["amount"] == short_call["past_due"]).mean() < 0.65
    own = made[made["self_service"]]
    assert len(own) > 0 and (own["amount"] <= own["past_due"]).all()


def test_hardship_is_disclosed_on_calls_as_in_the_history(world):
    """An answered call without a promise sometimes ends in a hardship plan, as in the history: the plan
    pauses contact, so no policy contact reaches that account again within the play-forward."""
    w, holds, history = world
    disclosed_last_30 = (history.disclosures["day"].astype(np.int64) >= w.days - 30).sum()
    assert disclosed_last_30 > 5
    seen = []

    def bau_watching(state):
        actions = POLICIES["bau"](state)
        seen.append((state.day, state.sim._disclosed_plan(state.sim.d)[actions.account].sum(),
                     state.eligible[state.sim.plan_start >= w.days].sum()))
        return actions

    runs = [play_forward(*world, bau_watching if s == 0 else POLICIES["bau"], days=30, seed=s).summary
            for s in range(4)]
    per_run = np.mean([r["disclosures"] for r in runs])
    # the history's BAU obeys the same packs, but the play-forward keeps holds and plans open for its horizon
    assert 0.3 * disclosed_last_30 < per_run < 1.6 * disclosed_last_30
    assert all(contacted == 0 and eligible == 0 for _, contacted, eligible in seen)
