"""Channel response model (issue 5): training data, estimator conventions, and scoring against the truth.

One small portfolio (2,500 accounts x 180 days) is simulated, ingested, turned into
`train_channel_response` and fitted once for the module. The policy comparisons play 30 days
forward on the same world and luck, changing only the channel of the accounts BAU contacts.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from recobro.contract import CHANNELS

AS_OF = date(2026, 10, 31)
ACCOUNTS, DAYS, SEED = 2_500, 180, 8


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    import duckdb

    from ingestion import load_delivery
    from models.channel import fit_channel_model
    from models.channel_data import channel_costs, channel_training_set, load_training_frame
    from models.channel_eval import scoring_frame
    from simulator import simulate, simulate_world

    work = tmp_path_factory.mktemp("channel")
    simulate(ACCOUNTS, DAYS, SEED, work / "delivery", work / "truth", end_date=AS_OF, fmt="parquet")
    con = duckdb.connect()
    load_delivery(con, work / "delivery", validate=False)
    channel_training_set(con, AS_OF)
    frame = load_training_frame(con)
    out = {"con": con, "frame": frame, "costs": channel_costs(con), "scoring": scoring_frame(con, AS_OF),
           "truth": pd.read_parquet(work / "truth" / "truth_accounts.parquet"),
           "model": fit_channel_model(frame),
           "world": simulate_world(ACCOUNTS, DAYS, SEED, AS_OF)[:3]}
    yield out
    con.close()


def value_of(portfolio, model=None):
    from models.channel_data import account_costs

    s = portfolio["scoring"]
    model = model or portfolio["model"]
    costs = account_costs(s["currency"], portfolio["costs"])
    return model.incremental_value(s, s["past_due_amount"].astype(float), costs)


# -- training data ---------------------------------------------------------------------------
def test_training_set_built_in_account_batches_equals_one_statement(portfolio, monkeypatch):
    """Batched features (a big spine: `features.build.FEATURE_BATCH_ROWS`) change no row or value."""
    from features import build
    from models.channel_data import channel_training_set, load_training_frame

    con, whole = portfolio["con"], portfolio["frame"]
    monkeypatch.setattr(build, "FEATURE_BATCH_ROWS", 2_000)
    channel_training_set(con, AS_OF)
    batched = load_training_frame(con)
    pd.testing.assert_frame_equal(batched, whole)
    # feature_spine is whole again afterwards (the label SQL reads it): one row per decision day - 1,
    # more than ten batches' worth, covering every training row
    rows, keys = con.execute("select count(*), count(distinct (account_id, as_of)) from feature_spine").fetchall()[0]
    assert rows == keys > 10 * 2_000
    assert con.execute("select count(*) from train_channel_response as t anti join feature_spine as s "
                       "on s.account_id = t.account_id and s.as_of = t.decision_date - 1").fetchall() == [(0,)]
    with pytest.raises(ValueError, match="batch_rows"):
        build.account_features(con, "select 'a' as account_id, current_date as as_of, null as promise_id",
                               "t", batch_rows=0)


def test_capped_training_set_is_the_whole_set_of_a_hash_sample_of_accounts(portfolio):
    """`max_rows` cuts decisions before the features are built; kept accounts keep every row and value."""
    from features.build import training_sample
    from models.channel_data import TABLE, channel_training_set, load_training_frame

    con, whole = portfolio["con"], portfolio["frame"]
    full = training_sample(con, TABLE)
    assert full["account_share"] == 1.0 and full["rows_kept"] == full["rows_before"] >= len(whole)
    try:
        channel_training_set(con, AS_OF, max_rows=full["rows_before"] // 4)
        capped = load_training_frame(con)
        record = training_sample(con, TABLE)
    finally:
        channel_training_set(con, AS_OF)
    assert record["rows_before"] == full["rows_before"] and record["account_share"] == pytest.approx(0.25, abs=1e-4)
    assert 0.15 < len(capped) / len(whole) < 0.35
    kept = set(capped["account_id"])
    assert len(kept) <= record["accounts_kept"] < 0.35 * full["accounts_before"]
    expected = whole[whole["account_id"].isin(kept)].reset_index(drop=True)
    pd.testing.assert_frame_equal(capped, expected)


def test_training_rows_are_matured_decisions_with_logged_propensities(portfolio):
    f = portfolio["frame"]
    assert set(f["arm"]) == {"none", *CHANNELS}
    assert (pd.to_datetime(f["decision_date"]) + pd.Timedelta(days=29) <= pd.Timestamp(AS_OF)).all()
    contacts = f[f["arm"] != "none"]
    assert contacts["propensity"].between(0, 1, inclusive="right").all()
    assert f.loc[f["arm"] == "none", "propensity"].isna().all()
    assert f["paid_share_30d"].between(0, 1).all() and (f["past_due_amount"] > 0).all()
    assert not f.duplicated(["account_id", "decision_date"]).any()


def test_features_are_as_of_the_day_before_the_decision(portfolio):
    """A row's features equal fct_account_features built at decision_date - 1 for that account."""
    from features.build import account_features

    con, f = portfolio["con"], portfolio["frame"]
    row = f[f["arm"] == "voice"].iloc[len(f[f["arm"] == "voice"]) // 2]
    spine = (f"select '{row['account_id']}' as account_id, date '{row['decision_date']:%Y-%m-%d}' - 1 as as_of,"
             " null as promise_id")
    account_features(con, spine, "work_check")
    check = con.sql("select * from work_check").df().iloc[0]
    for c in ("dpd", "attempts_30d", "payments_90d", "days_since_last_contact"):
        assert (pd.isna(check[c]) and pd.isna(row[c])) or check[c] == row[c], c


# -- estimator conventions -------------------------------------------------------------------
def test_estimator_follows_sklearn_conventions(portfolio):
    from models.channel import ChannelResponseModel

    f = portfolio["frame"].iloc[::3]
    m = ChannelResponseModel(n_estimators=20, seed=3)
    assert m.get_params()["seed"] == 3 and not [k for k in vars(m) if k.endswith("_")]
    fitted = m.fit(f, f["paid_share_30d"], f["arm"], f["propensity"], sample_weight=f["none_sample_weight"])
    assert fitted is m
    fitted_attrs = {k for k in vars(m) if k.endswith("_")}
    assert {"models_", "weights_", "propensity_", "feature_names_", "n_features_in_"} <= fitted_attrs
    again = ChannelResponseModel(n_estimators=20, seed=3).fit(
        f, f["paid_share_30d"], f["arm"], f["propensity"], sample_weight=f["none_sample_weight"])
    pd.testing.assert_frame_equal(m.predict_outcomes(f.head(200)), again.predict_outcomes(f.head(200)))
    with pytest.raises(ValueError):
        m.set_params(bogus=1)


def test_fit_rejects_bad_inputs(portfolio):
    from models.channel import ChannelResponseModel

    f = portfolio["frame"].head(2000)
    with pytest.raises(ValueError, match="propensities"):
        ChannelResponseModel().fit(f, f["paid_share_30d"], f["arm"], None)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ChannelResponseModel().fit(f, f["paid_share_30d"] * 3 + 0.5, f["arm"], f["propensity"])
    with pytest.raises(ValueError, match="not in"):
        ChannelResponseModel().fit(f, f["paid_share_30d"], f["arm"].replace("sms", "pigeon"), f["propensity"])


def test_ipw_weights_are_clipped_finite_and_normalised(portfolio):
    m, f = portfolio["model"], portfolio["frame"]
    assert np.isfinite(m.weights_).all() and (m.weights_ > 0).all()
    assert (m.propensity_ >= m.min_propensity).all() and (m.propensity_ <= 1).all()
    for arm in f["arm"].unique():
        w = m.weights_[(f["arm"] == arm).to_numpy()]
        assert w.mean() == pytest.approx(1.0)
        assert w.max() / np.median(w) <= m.max_weight + 1e-9


# -- behaviour -------------------------------------------------------------------------------
def test_best_channel_is_none_when_no_channel_pays_for_itself(portfolio):
    m, s = portfolio["model"], portfolio["scoring"].head(300)
    costs = {c: 1e9 for c in CHANNELS}
    assert (m.best_channel(s, np.ones(len(s)), costs) == "none").all()
    value = m.incremental_value(s, s["past_due_amount"].astype(float), {c: 0.0 for c in CHANNELS})
    best = m.best_channel(s, s["past_due_amount"].astype(float), {c: 0.0 for c in CHANNELS})
    top = value.max(axis=1)
    assert (best[top <= 0] == "none").all()
    chosen = best[top > 0]
    picked = [value.at[i, c] for i, c in chosen.items()]
    assert np.all(np.asarray(picked) > 0) and np.allclose(picked, top[top > 0])
    only_email = pd.DataFrame(False, index=s.index, columns=list(CHANNELS)).assign(email=True)
    assert set(m.best_channel(s, s["past_due_amount"].astype(float), {c: 0.0 for c in CHANNELS},
                              allowed=only_email)) <= {"email", "none"}


def test_incremental_value_scales_with_stake_and_nets_cost(portfolio):
    m, s = portfolio["model"], portfolio["scoring"].head(100)
    one = m.incremental_value(s, np.ones(len(s)), {c: 0.0 for c in CHANNELS})
    pd.testing.assert_frame_equal(m.incremental_value(s, np.full(len(s), 2.0), {c: 0.5 for c in CHANNELS}),
                                  2 * one - 0.5)


def test_predicted_incremental_value_correlates_with_truth(portfolio):
    """Rank agreement with truth_accounts' per-channel incremental value (local units) at as_of."""
    from models.channel_eval import truth_agreement

    agreement = truth_agreement(value_of(portfolio).set_index(portfolio["scoring"]["account_id"]), portfolio["truth"])
    print(agreement)
    assert agreement["accounts"] > 500
    assert agreement["spearman_pooled"] > 0
    assert agreement["within_account_rank_corr"] > 0


@pytest.fixture(scope="module")
def played(portfolio):
    from models.channel_data import account_costs
    from models.channel_eval import (channel_swap_values, model_values, oracle_values, per_account,
                                     random_values)

    s, m = portfolio["scoring"], portfolio["model"]
    cost = per_account(s, account_costs(s["currency"], portfolio["costs"]), ACCOUNTS)
    choosers = {"bau": None, "oracle": oracle_values, "random": random_values,
                "model": model_values(per_account(s, m.uplift(s), ACCOUNTS), cost)}
    values = channel_swap_values(*portfolio["world"], choosers, days=30, seeds=(11, 12))
    print(values.round(3).to_string())
    return values


def test_channel_swap_harness_is_consistent(played):
    """Same accounts each day (BAU's), so contacts match; the EV score puts BAU at 0 and the oracle at 1."""
    assert played.loc["bau", "ev_gain_usd"] == 0
    assert played.loc["oracle", "ev_captured"] == pytest.approx(1.0)
    assert abs(played.loc["random", "ev_captured"]) < 0.25
    assert (played["violations"] == 0).all()


def test_model_channel_choice_beats_random_and_gains_on_the_truth(played):
    """Minimum functionality of the channel choice: better realised net (recovered minus contact cost)
    than random channels, and a positive truth-scored gain over BAU's channels on the contacts sent.
    (Its realised net against BAU's is not asserted: the harness repeats the as_of choice on every BAU
    contact day, and the path learner's repeated agent calls land on either side of BAU between runs.)"""
    assert played.loc["model", "net_usd"] > played.loc["random", "net_usd"]
    assert played.loc["model", "ev_gain_usd"] > 0


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "issue 5 target not met: on 2,500 accounts the path learner's channel choice captures ~0.53 of the oracle's "
    "truth-scored gain (ev_captured) and realises ~0.24 of its realised gain over BAU; at 20,000 accounts "
    "(`python -m benchmarks channel`) 0.57 and 0.36, against the 'SMS whenever allowed' rule's 0.28 and 0.51. In "
    "the card's one-contact protocol it captures 0.46 (recession 0.47), where a scorer fitted to the truth itself "
    "on the model's features reaches 0.60, and 0.72 only when also given the birth year the feature policy forbids "
    "(`--ceiling-accounts 100000`). The realised share is low because the "
    "play-forward repeats the model's as_of choice on every BAU contact day, so an account it would call is "
    "called again after a broken promise. Strict, so the suite fails loudly when the model reaches the target "
    "and this mark must go; an error other than the assertion fails it too"))
def test_model_captures_seventy_percent_of_oracle_gain(played):
    assert played.loc["model", "ev_captured"] >= 0.7
    net = played["net_usd"]
    assert (net["model"] - net["bau"]) / (net["oracle"] - net["bau"]) >= 0.7


def test_score_channels_gives_one_row_per_account_with_every_channel(portfolio):
    from models.channel import score_channels

    s = portfolio["scoring"]
    out = score_channels(s, portfolio["model"], portfolio["costs"])
    assert len(out) == len(s) and out["account_id"].is_unique
    assert {f"incremental_value_{c}" for c in CHANNELS} <= set(out.columns)
    assert set(out["best_channel"]) <= {"none", *CHANNELS}
    no_debt = (s["past_due_amount"].astype(float) <= 0).to_numpy()
    assert (out.loc[no_debt, "best_channel"] == "none").all()  # nothing past due: only costs remain


# -- wiring: MLflow registry, scoring into work_channel_values, promotion gate ---------------------------------
def test_train_registers_scores_and_gates_the_channel_model(portfolio, settings):
    """First version -> @champion; same data -> reused; scoring fails closed without a champion and writes
    account x channel values with the model version; a different challenger passes or fails the
    off-policy gate with readable reasons."""
    from mlflow import MlflowClient

    from features.build import fct_account_features
    from models.channel_score import work_channel_values
    from models.channel_train import channel_costs_usd, train_channel_model
    from models.promotion import promote_challenger
    from models.registry import ModelNotFound, version_by_alias

    con = portfolio["con"]
    fct_account_features(con, AS_OF)
    with pytest.raises(ModelNotFound, match="recobro_channel_response"):
        work_channel_values(con, settings, AS_OF)

    first = train_channel_model(con, settings, AS_OF)
    assert (first.name, first.alias, first.reused) == ("recobro_channel_response", "champion", False)
    assert {"heldout_policy_value", "heldout_logged_value", "heldout_gain", "heldout_ess"} <= set(first.metrics)
    assert first.metrics["heldout_ess"] > 10
    again = train_channel_model(con, settings, AS_OF)
    assert again.reused and again.version == first.version
    run = MlflowClient().get_run(first.run_id)
    assert run.data.params["data_rows"] == str(len(portfolio["frame"]))
    assert not any("account_id" in v or "ACC-" in v for v in run.data.params.values())

    assert work_channel_values(con, settings, AS_OF) == "work_channel_values"
    values = con.sql("select * from work_channel_values").df()
    n = con.sql(f"select count(*) from fct_account_features where as_of = date '{AS_OF}'").fetchall()[0][0]
    assert len(values) == n * len(CHANNELS) and not values.duplicated(["account_id", "channel"]).any()
    assert (values["channel_model"] == f"recobro_channel_response/{first.version}").all()
    assert np.allclose(values["net_value_usd"], values["uplift"] * values["stake_usd"] - values["cost_usd"])
    assert values.groupby("channel")["cost_usd"].first().to_dict() == channel_costs_usd()

    second = train_channel_model(con, settings, AS_OF, params={"arm_estimators": 20})
    assert second.alias == "challenger" and second.version != first.version
    decision = promote_challenger(con, settings, "channel_response", AS_OF)
    assert any("held-out value per contact" in r and "champion" in r for r in decision.reasons)
    champion = str(version_by_alias("recobro_channel_response", "champion").version)
    assert champion == (second.version if decision.promoted else first.version)


def test_heterogeneity_shrinks_per_account_effects_towards_the_channel_average(portfolio):
    """heterogeneity=1 is the fitted per-account model; 0 leaves one effect per channel (the same for every
    account away from the [0, 1] clip); 0.5 halves the spread around it. (A channel whose contacts never
    engage - letters - brings nothing through its own path under the default path learner.)"""
    m, s = portfolio["model"], portfolio["scoring"].head(400)
    default = m.heterogeneity
    try:
        full = m.set_params(heterogeneity=1.0).uplift(s)
        half = m.set_params(heterogeneity=0.5).uplift(s)
        flat = m.set_params(heterogeneity=0.0).uplift(s)
        outcomes = m.predict_outcomes(s)
    finally:
        m.set_params(heterogeneity=default)
    varying = full[[c for c in CHANNELS if c != "letter"]]
    assert (varying.std() > 0).all()
    inside = ((outcomes > 0) & (outcomes < 1)).all(axis=1)
    assert inside.mean() > 0.5
    assert flat[inside].std().max() < 1e-9
    spread = full[inside].std() > 1e-12
    assert spread.sum() >= 5
    assert (half[inside].std()[spread] < full[inside].std()[spread]).all()


def test_truth_agreement_gives_no_rank_correlation_for_a_channel_scored_alike_for_everyone():
    import warnings

    from models.channel_eval import truth_agreement

    rng = np.random.default_rng(0)
    ids = [f"ACC-{i:06d}" for i in range(1, 201)]
    truth = pd.DataFrame({"account_id": ids, "past_due": 100.0}
                         | {f"incremental_value_{c}": rng.normal(size=200) for c in CHANNELS})
    predicted = pd.DataFrame({c: truth[f"incremental_value_{c}"].to_numpy() for c in CHANNELS}, index=ids)
    predicted[CHANNELS[-1]] = 0.0  # an arm the model could not learn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = truth_agreement(predicted, truth)
    assert np.isnan(out["spearman_per_channel"][CHANNELS[-1]])
    assert all(abs(out["spearman_per_channel"][c] - 1.0) < 1e-9 for c in CHANNELS[:-1])
    assert abs(out["spearman_per_channel_mean"] - 1.0) < 1e-9
