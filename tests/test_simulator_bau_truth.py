"""Ground truth under the BAU policy: `truth_accounts.p_pay_30d_bau` and the card's use of it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from simulator import simulate, simulate_world

END = date(2026, 10, 31)


@pytest.fixture(scope="module")
def small_world():
    """A 2,000-account, 120-day history kept in memory (world, holds, history)."""
    world, holds, history, *_ = simulate_world(2000, 120, 4, END)
    return world, holds, history


def _live(world, history) -> np.ndarray:
    s = history.state
    return (world.accounts.placed_day <= world.days - 1) & ~s["written_off"] & (s["balance"] > 0)


def test_bau_truth_columns_are_probabilities_and_the_delivery_does_not_depend_on_them(tmp_path):
    simulate(600, 60, 2, tmp_path / "a" / "out", tmp_path / "a" / "truth", END, bau_truth_runs=0)
    simulate(600, 60, 2, tmp_path / "b" / "out", tmp_path / "b" / "truth", END, bau_truth_runs=6)
    for f in sorted((tmp_path / "a" / "out").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / "out" / f.name).read_bytes(), f.name
    without = pd.read_csv(tmp_path / "a" / "truth" / "truth_accounts.csv")
    with_bau = pd.read_csv(tmp_path / "b" / "truth" / "truth_accounts.csv")
    assert "p_pay_30d_bau" not in without.columns
    # the earlier columns are untouched; the new ones follow them
    pd.testing.assert_frame_equal(with_bau[without.columns], without)
    p, se = with_bau["p_pay_30d_bau"], with_bau["p_pay_30d_bau_se"]
    assert p.between(0, 1).all() and (with_bau["bau_runs"] == 6).all()
    # six runs split 2, 2, 1, 1 over the quarters; the estimate is their paying runs over six
    quarters = with_bau[[f"bau_paid_q{q}" for q in range(1, 5)]].to_numpy()
    assert (quarters >= 0).all() and (quarters <= [2, 2, 1, 1]).all()
    assert np.allclose(quarters.sum(axis=1) / 6, p, atol=1e-5)
    assert np.allclose(se, np.sqrt(p * (1 - p) / 5), atol=1e-5)
    dead = with_bau["p_pay_30d_no_contact"] == 0
    assert (p[dead] == 0).all() and p[~dead].gt(0).any()


def test_contacts_raise_the_chance_of_payment_on_the_default_scenario(small_world):
    from simulator import truth as T

    world, holds, history = small_world
    live = _live(world, history)
    p_bau = T.p_pay_bau(world, holds, history, runs=16, seed=4).sum(axis=0) / 16
    accounts = pd.DataFrame({"account_id": np.arange(len(live)), "customer_id": world.accounts.customer})
    no_contact = T.truth_accounts(world, history, accounts, holds)["p_pay_30d_no_contact_knowable"].to_numpy()
    assert live.sum() > 500
    assert p_bau[live].mean() > no_contact[live].mean() + 0.03
    assert np.corrcoef(p_bau[live], no_contact[live])[0, 1] > 0.5  # the same debtors, a different policy


def test_bau_truth_agrees_with_a_realised_play_forward(small_world):
    """Eight fresh BAU play-forwards (other seeds) pay at the rate the 16-run truth states.

    Accounts are grouped by the no-contact truth, which is free of Monte Carlo noise: grouping
    by the noisy estimate itself would select its errors (regression to the mean).
    """
    from simulator import truth as T
    from simulator.playforward import play_forward
    from simulator.reference import bau

    world, holds, history = small_world
    live = _live(world, history)
    p_bau = T.p_pay_bau(world, holds, history, runs=16, seed=4).sum(axis=0) / 16
    fresh = np.mean([play_forward(world, holds, history, bau, days=T.HORIZON, seed=900_000 + k).recovered > 0
                     for k in range(8)], axis=0)
    accounts = pd.DataFrame({"account_id": np.arange(len(live)), "customer_id": world.accounts.customer})
    no_contact = T.truth_accounts(world, history, accounts, holds)["p_pay_30d_no_contact_knowable"].to_numpy()[live]
    p, y = p_bau[live], fresh[live]
    var = p * (1 - p) * (1 / 16 + 1 / 8)  # both estimates' Monte Carlo variance per account
    assert abs(y.mean() - p.mean()) < 4 * np.sqrt(var.sum()) / len(p)
    bins = np.digitize(no_contact, np.quantile(no_contact, np.linspace(0.2, 0.8, 4)))
    for b in np.unique(bins):
        sel = bins == b
        err = np.sqrt(var[sel].sum() + 1e-2) / sel.sum()
        assert abs(y[sel].mean() - p[sel].mean()) < 4 * err, b
    # and it is not merely the average: per account, the truth predicts the fresh runs
    assert np.corrcoef(p, y)[0, 1] > 0.5


def _truth_dir(tmp_path, bau: bool):
    """Six accounts of truth_accounts, with or without the BAU columns (older truth files lack them)."""
    frame = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(6)], "as_of": ["2026-10-31"] * 6,
        "p_pay_30d_no_contact": [0.1, 0.2, 0.3, 0.5, 0.7, 0.0],
        "p_pay_30d_no_contact_knowable": [0.1, 0.2, 0.3, 0.5, 0.7, 0.0],
    })
    if bau:
        frame = frame.assign(balance=[5.0, 1.0, 2.0, 3.0, 4.0, 0.0],
                             p_pay_30d_bau=[0.25, 0.25, 0.5, 0.75, 1.0, 0.0],
                             p_pay_30d_bau_se=[0.29, 0.29, 0.33, 0.29, 0.0, 0.0], bau_runs=4,
                             bau_paid_q1=[1, 0, 1, 1, 1, 0], bau_paid_q2=[0, 1, 1, 1, 1, 0],
                             bau_paid_q3=[0, 0, 0, 1, 1, 0], bau_paid_q4=[0, 0, 0, 0, 1, 0])
    folder = tmp_path / ("bau" if bau else "old")
    folder.mkdir()
    frame.to_csv(folder / "truth_accounts.csv", index=False)
    return folder


@pytest.mark.parametrize("bau", [False, True])
def test_pay_truth_reports_the_bau_reference_when_the_truth_has_it(tmp_path, bau):
    from models.card import _bau_lines
    from models.truth import pay_truth

    features = pd.DataFrame({"account_id": [f"A{i}" for i in range(6)]})
    scores = {"model": np.array([0.2, 0.1, 0.4, 0.6, 0.9, 0.5])}
    out = pay_truth(features, scores, _truth_dir(tmp_path, bau))
    assert out["rows"] == 5 and out["comparable"]  # the dead account (truth 0) is left out
    text = "\n".join(_bau_lines(out, ("model",)))
    if not bau:
        assert out["bau"] == {"available": False} and out["model_question"] is None
        assert "no `p_pay_30d_bau`" in text
        return
    b = out["bau"]
    assert out["model_question"] == "p_pay_30d_bau" and b["runs"] == 4
    assert list(b["bayes_expected_auc_by_runs"]) == ["1", "2", "3"]  # one run per quarter
    assert b["expected_gap"] == pytest.approx(b["bayes_expected_auc"] - b["model_expected_auc"])
    assert 0.5 < b["model_expected_auc"] < 1
    assert "Bayes expected AUC (BAU)" in text and "model's own question" in text


def test_noisy_truth_extrapolates_to_the_noise_free_bayes_auc():
    """32 Bernoulli runs of a known p: self-scoring flatters, k-run cross-scoring understates, the fit recovers it."""
    from models.evaluate import expected_auc
    from models.truth import noisy_truth_aucs

    rng = np.random.default_rng(3)
    p = rng.beta(1.2, 1.2, 6000)
    runs = rng.random((32, len(p))) < p
    rows = pd.DataFrame({f"bau_paid_q{q + 1}": runs[8 * q:8 * q + 8].sum(axis=0) for q in range(4)})
    by_runs = noisy_truth_aucs(rows, 32)
    bayes, noisy = expected_auc(p, p), runs.mean(axis=0)
    assert list(by_runs) == [8, 16, 24]
    assert by_runs[8] < by_runs[16] < by_runs[24] < bayes < expected_auc(noisy, noisy)
    k = np.array(list(by_runs), dtype=float)
    slope, intercept = np.polyfit(1 / k, list(by_runs.values()), 1)
    assert abs(intercept - bayes) < 0.005 < bayes - by_runs[24]


def test_simulate_command_sets_the_bau_truth_runs(settings, tmp_path, capsys):
    import os

    from pipelines.cli import main

    saved = dict(os.environ)  # main() prepares Prefect through os.environ
    try:
        for runs in ("0", "3"):
            code = main(["simulate", "--accounts", "40", "--days", "20", "--seed", "1", "--bau-truth-runs", runs,
                         "--out", str(tmp_path / runs / "out"), "--truth-dir", str(tmp_path / runs / "truth")])
            assert code == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert "p_pay_30d_bau" not in pd.read_csv(tmp_path / "0" / "truth" / "truth_accounts.csv").columns
    assert (pd.read_csv(tmp_path / "3" / "truth" / "truth_accounts.csv")["bau_runs"] == 3).all()


def test_calibration_against_the_truth_has_no_label_noise(tmp_path):
    """A model that states the true probability has label ECE at the noise floor but zero ECE
    against the truth; one that is 0.05 too high shows 0.05 against the truth."""
    from models.truth import promise_truth

    rng = np.random.default_rng(5)
    p = rng.beta(2, 2, 3000)
    kept = rng.random(len(p)) < p
    ids = [f"P{i}" for i in range(len(p))]
    pd.DataFrame({"promise_id": ids, "matured": True, "p_keep": p, "p_keep_knowable": p, "kept": kept}).to_csv(
        tmp_path / "truth_promises.csv", index=False)
    eval_df = pd.DataFrame({"promise_id": ids, "label": kept.astype(int)})
    out = promise_truth(eval_df, {"model": p, "too_high": np.clip(p + 0.05, 0, 1)}, tmp_path)
    assert out["model_ece"] == pytest.approx(out["bayes_ece_knowable"]) and out["model_ece"] > 0.005
    assert out["model_ece_vs_truth"] == pytest.approx(0.0, abs=1e-12)
    assert out["too_high_ece_vs_truth"] == pytest.approx(0.05, abs=0.005)


def test_the_truth_distilled_promise_scorer_learns_the_knowable_probability_from_features(tmp_path):
    """Fitted to p_keep_knowable on the fit rows, it ranks held-out promises like the truth does, and
    it sees nothing where the truth has no knowable probability."""
    from sklearn.metrics import roc_auc_score

    from models.truth import promise_distilled

    rng = np.random.default_rng(11)
    n = 4000
    f1, f2 = rng.normal(size=n), rng.normal(size=n)  # f2 is irrelevant
    p = 1 / (1 + np.exp(-2 * f1))
    ids = [f"P{i}" for i in range(n)]
    pd.DataFrame({"promise_id": ids, "matured": True, "p_keep": p, "p_keep_knowable": p}).to_csv(
        tmp_path / "truth_promises.csv", index=False)
    frame = pd.DataFrame({"promise_id": ids, "f1": f1, "f2": f2})
    fit_df, eval_df = frame.iloc[:3000], frame.iloc[3000:]
    scores = promise_distilled(fit_df, eval_df, ["f1", "f2"], tmp_path)["truth_distilled"]
    assert len(scores) == len(eval_df) and np.corrcoef(scores, p[3000:])[0, 1] > 0.98
    kept = rng.random(n)[3000:] < p[3000:]
    assert roc_auc_score(kept, scores) == pytest.approx(roc_auc_score(kept, p[3000:]), abs=0.01)
    pd.DataFrame({"promise_id": ids, "matured": True, "p_keep": p}).to_csv(tmp_path / "truth_promises.csv", index=False)
    assert promise_distilled(fit_df, eval_df, ["f1", "f2"], tmp_path) == {}


def test_the_truth_distilled_pay_scorer_is_cross_fitted_on_the_bau_truth(tmp_path):
    """Every account gets a score from folds that never saw its own truth, and the scores follow the
    BAU truth; without `p_pay_30d_bau` there is nothing to fit."""
    from models.truth import pay_distilled

    rng = np.random.default_rng(3)
    n = 3000
    f1 = rng.normal(size=n)
    p = 1 / (1 + np.exp(-1.5 * f1))
    ids = [f"ACC-{i:07d}" for i in range(n)]
    noisy = rng.binomial(32, p) / 32  # a 32-run Monte Carlo estimate, as the simulator writes it
    pd.DataFrame({"account_id": ids, "p_pay_30d_bau": noisy}).to_csv(tmp_path / "truth_accounts.csv", index=False)
    accounts = pd.DataFrame({"account_id": ids, "f1": f1, "f2": rng.normal(size=n)})
    scores = pay_distilled(accounts, ["f1", "f2"], tmp_path)["truth_distilled"]
    assert np.isfinite(scores).all() and np.corrcoef(scores, p)[0, 1] > 0.97
    pd.DataFrame({"account_id": ids}).to_csv(tmp_path / "truth_accounts.csv", index=False)
    assert pay_distilled(accounts, ["f1", "f2"], tmp_path) == {}
