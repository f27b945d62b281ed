"""The Bayes reference on observables (simulator.observable): exact pieces, and a calibrated posterior."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from simulator import behaviour as B
from simulator import observable as O
from simulator import params as P
from simulator import policy


# every threshold `policy.outcomes_from_uniforms` compares its second uniform with
V_BREAKS = np.array([0.0, 0.03, 0.04, 0.06, 0.3, 0.45, 0.55, 0.6, 0.7, 0.8, 0.98, 0.985, 1.0])


def integrated_outcome_law(channel, p_engage, stale, p_opt_out, p_complaint) -> np.ndarray:
    """(n, n_outcomes): P(each outcome) of `policy.outcomes_from_uniforms`, by exact integration.

    Its three uniforms are only compared with thresholds, so the unit cube splits into cells on
    which the outcome is constant: the function itself is evaluated once at every cell's midpoint.
    """
    n = len(channel)
    ones, zeros = np.ones(n), np.zeros(n)
    u_cuts = np.sort(np.column_stack([zeros, np.minimum(p_engage, 1), np.minimum(1.4 * p_engage, 1), ones]), axis=1)
    w_cuts = np.column_stack([zeros, p_opt_out, np.minimum(p_opt_out + p_complaint, 1), ones])
    nv = len(V_BREAKS) - 1
    # cell (i, j, k) of contact m sits at flat position ((m * 3 + i) * nv + j) * 3 + k
    i, j, k = (x.ravel() for x in np.meshgrid(np.arange(3), np.arange(nv), np.arange(3), indexing="ij"))
    u = ((u_cuts[:, i] + u_cuts[:, i + 1]) / 2).ravel()
    du = (u_cuts[:, i + 1] - u_cuts[:, i]).ravel()
    w = ((w_cuts[:, k] + w_cuts[:, k + 1]) / 2).ravel()
    dw = (w_cuts[:, k + 1] - w_cuts[:, k]).ravel()
    v = np.tile((V_BREAKS[j] + V_BREAKS[j + 1]) / 2, n)
    dv = np.tile(V_BREAKS[j + 1] - V_BREAKS[j], n)
    cells = len(i)
    rep = [np.repeat(np.asarray(x), cells) for x in (channel, p_engage, stale, p_opt_out, p_complaint)]
    o = policy.outcomes_from_uniforms(*rep, u, v, w)
    flat = np.repeat(np.arange(n), cells) * len(O.OUT) + o
    return np.bincount(flat, weights=du * dv * dw, minlength=n * len(O.OUT)).reshape(n, len(O.OUT))


def test_integrated_outcome_law_is_the_law_of_the_drawn_outcomes():
    """Integrating over the threshold cells gives the frequencies of outcomes_from_uniforms' draws;
    dropping one of the thresholds (say stale voice calls' 0.45) would move mass between outcomes."""
    rng = np.random.default_rng(0)
    configs = [(ch, e, stale, opt, comp) for ch in range(6) for e in (0.05, 0.4, 0.8)
               for stale in (False, True) for opt, comp in ((0.002, 0.0005), (0.15, 0.08))]
    ch, e, stale, opt, comp = (np.array(c) for c in zip(*configs))
    exact = integrated_outcome_law(ch, e, stale, opt, comp)
    assert np.allclose(exact.sum(axis=1), 1.0)
    draws = 40_000
    rep = [np.repeat(x, draws) for x in (ch, e, stale, opt, comp)]
    n = len(rep[0])
    drawn = policy.outcomes_from_uniforms(*rep, rng.random(n), rng.random(n), rng.random(n))
    freq = np.bincount(np.repeat(np.arange(len(configs)), draws) * len(O.OUT) + drawn,
                       minlength=len(configs) * len(O.OUT)).reshape(len(configs), len(O.OUT)) / draws
    assert np.abs(freq - exact).max() < 0.01


def test_the_closed_form_outcome_law_is_the_integrated_one():
    rng = np.random.default_rng(2)
    n = 5_000
    args = (rng.integers(0, 6, n), rng.random(n) * 0.95, rng.random(n) < 0.2, rng.random(n) * 0.2, rng.random(n) * 0.1)
    assert np.abs(O.outcome_law(*args) - integrated_outcome_law(*args)).max() < 1e-12


def test_promise_amount_probability_is_the_law_of_promise_amount():
    rng = np.random.default_rng(1)
    draws = 200_000
    for past_due, capacity, self_service in ((250_00, 400_00, False), (250_00, 90_00, False),
                                             (250_00, 90_00, True), (999_50, 500_00, True), (80, 5_00, False)):
        amounts = B.promise_amount(np.full(draws, past_due), np.full(draws, capacity), np.full(draws, self_service),
                                   rng.random(draws), rng.random(draws), rng.random(draws))
        values, counts = np.unique(amounts, return_counts=True)
        p = O.promise_amount_probability(values, np.full(len(values), past_due),
                                         np.full((len(values), 1), capacity), np.full(len(values), self_service))[:, 0]
        assert np.abs(p - counts / draws).max() < 0.005, (past_due, capacity, self_service)
        # and no probability for amounts the law never produces
        everything = np.unique(np.r_[np.arange(100, past_due, 100), past_due])
        total = O.promise_amount_probability(everything, np.full(len(everything), past_due),
                                             np.full((len(everything), 1), capacity),
                                             np.full(len(everything), self_service))[:, 0].sum()
        assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("past_due, balance, capacity", [(250_00, 900_00, 180_00), (250_00, 900_00, 400_00),
                                                         (90_00, 91_00, 300_00), (60, 60, 1_000)])
def test_payment_amount_probabilities_sum_to_one_over_every_possible_amount(past_due, balance, capacity):
    cap = np.array([[[capacity]]])
    # a payment-link payment: whole cents from 100 up to the past due
    link = np.arange(min(100, past_due), past_due + 1)
    total = O.link_payment_probability(link, np.full(len(link), past_due), np.broadcast_to(cap, (len(link), 1, 1)))
    assert total.sum() == pytest.approx(1.0, abs=1e-9)
    # a plan debit: whole units from 100, capped at the balance
    debit = np.unique(np.minimum(np.r_[np.arange(100, balance + 100, 100), balance], balance))
    total = O.plan_debit_probability(debit, np.full(len(debit), balance), np.broadcast_to(cap, (len(debit), 1, 1)))
    assert total.sum() == pytest.approx(1.0, abs=1e-9)


def test_own_payment_classes_sum_to_one():
    """The whole past due, the whole balance and 'something else' are the three classes of a payment."""
    cap = np.broadcast_to(np.array([[[100_00], [300_00], [900_00]]]).reshape(1, 1, 3), (3, 6, 3))
    past_due, balance = np.full(3, 250_00), np.full(3, 800_00)
    amount = np.array([250_00, 800_00, 123_00])  # all, payoff, partial
    p = O.own_payment_probability(amount, past_due, balance, cap)
    assert np.allclose(p.sum(axis=0), 1.0)
    assert (p[1, [r for r in range(6) if r != P.FORGETFUL]] == 0).all()  # only the forgetful pay it all off


@pytest.fixture(scope="module")
def observed():
    from simulator import simulate_world
    from simulator.truth import keep_inputs, keep_probability_knowable

    world, holds, history, table_rng, _ = simulate_world(3_000, 180, 11, date(2026, 10, 31), observe=True)
    _, _, plain, _, _ = simulate_world(3_000, 180, 11, date(2026, 10, 31))
    know = keep_probability_knowable(keep_inputs(world, history.promises))
    return {"world": world, "holds": holds, "history": history, "plain": plain, "know": know, "table_rng": table_rng}


def test_the_observer_draws_nothing_so_the_history_is_the_same(observed):
    history, plain = observed["history"], observed["plain"]
    for log in ("promises", "contacts", "ledger"):
        for column, values in getattr(plain, log).items():
            assert np.array_equal(getattr(history, log)[column], values, equal_nan=True), (log, column)
    assert plain.p_keep_observable is None and len(history.p_keep_observable) == len(plain.promises["kept"])


def test_observable_keep_probability_is_calibrated_against_the_knowable_one(observed):
    """E[p_keep_knowable | observable history] = p_keep_observable: within each decile of the posterior the
    knowable truth averages to it. A main likelihood term with the wrong odds (P_PROMISE_ON_RPC reversed,
    say: 0.07 off in one decile) biases the posterior and fails this."""
    from sklearn.metrics import roc_auc_score

    p_obs, know = observed["history"].p_keep_observable, observed["know"]
    kept = observed["history"].promises["kept"].astype(bool)
    assert np.isfinite(p_obs).all() and len(p_obs) > 1000
    edges = np.quantile(p_obs, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, p_obs, side="right") - 1, 0, 9)
    gaps = [abs(know[decile == i].mean() - p_obs[decile == i].mean()) for i in range(10)]
    assert max(gaps) < 0.03, gaps
    assert abs(p_obs.mean() - know.mean()) < 0.01
    # the history says a lot (far better than no information at all) and less than the latent traits
    assert 0.70 < roc_auc_score(kept, p_obs) < roc_auc_score(kept, know)


def test_observable_pay_truth_averages_the_knowable_truth_over_the_posterior(observed):
    """p_pay_30d_no_contact_observable is E[p_pay_30d_no_contact_knowable | observable history]: calibrated
    against it, ranking below it; the BAU version's mean matches the BAU truth's (both Monte Carlo)."""
    from models.evaluate import expected_auc
    from simulator import tables
    from simulator.truth import truth_accounts

    world, history = observed["world"], observed["history"]
    frame = truth_accounts(world, history, tables.accounts_table(observed["table_rng"], world), observed["holds"],
                           bau_runs=8, seed=11)
    live = frame[frame["balance"] > 0]
    obs = live["p_pay_30d_no_contact_observable"].to_numpy()
    know = live["p_pay_30d_no_contact_knowable"].to_numpy()
    assert abs(obs.mean() - know.mean()) < 0.01
    edges = np.quantile(obs, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, obs, side="right") - 1, 0, 9)
    assert max(abs(know[decile == i].mean() - obs[decile == i].mean()) for i in range(10)) < 0.03
    assert 0.7 < expected_auc(obs, know) < expected_auc(know, know)
    assert abs(live["p_pay_30d_bau_observable"].mean() - live["p_pay_30d_bau"].mean()) < 0.02
    paid = live[[f"bau_observable_paid_q{q}" for q in range(1, 5)]].sum(axis=1) / 8
    assert np.allclose(paid, live["p_pay_30d_bau_observable"], atol=1e-6)
    draws = history.latent_samples
    assert len(draws["reason"]) == 32 and draws["affinity"].shape == (32, *world.customers.affinity.shape)
    assert ((draws["affinity"] >= 0.01) & (draws["affinity"] <= 0.9)).all()


def test_simulate_command_adds_the_observable_truth_only_when_asked(tmp_path):
    import os

    import pandas as pd

    from pipelines.cli import main

    saved = dict(os.environ)  # main() prepares Prefect through os.environ
    try:
        for flag in ([], ["--observable-truth"]):
            name = "with" if flag else "without"
            code = main(["simulate", "--accounts", "300", "--days", "60", "--seed", "1", "--bau-truth-runs", "4", *flag,
                         "--out", str(tmp_path / name / "out"), "--truth-dir", str(tmp_path / name / "truth")])
            assert code == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    promises = {n: pd.read_csv(tmp_path / n / "truth" / "truth_promises.csv") for n in ("with", "without")}
    accounts = {n: pd.read_csv(tmp_path / n / "truth" / "truth_accounts.csv") for n in ("with", "without")}
    assert "p_keep_observable" not in promises["without"] and "p_pay_30d_bau_observable" not in accounts["without"]
    assert promises["with"]["p_keep_observable"].between(0, 1).all()
    assert {"p_pay_30d_no_contact_observable", "p_pay_30d_bau_observable", "bau_observable_paid_q4"} <= set(accounts["with"])
    # the delivery itself does not depend on the flag
    for table in ("ledger", "contacts", "promises"):
        assert (tmp_path / "with" / "out" / f"{table}.csv").read_bytes() == (tmp_path / "without" / "out" / f"{table}.csv").read_bytes()
