"""Model behaviour tests and the model card on a small simulated portfolio (Made-With-ML style).

One portfolio (3,000 accounts x 240 days) is simulated, ingested, featurised and trained once
for the module (~30 s): directional, invariance and minimum-functionality checks on the
trained promise_kept and pay_30d champions, then the model card against the simulator's truth.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from recobro.settings import Settings

AS_OF = date(2026, 10, 31)
ACCOUNTS, DAYS, SEED = 3_000, 240, 5


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    from features.build import fct_account_features, training_set
    from ingestion import load_delivery
    from models.registry import load_champion
    from models.channel_data import channel_training_set
    from models.channel_train import train_channel_model
    from models.train import train_models
    from recobro.warehouse import connect
    from simulator import simulate

    home = tmp_path_factory.mktemp("portfolio") / "home"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("RECOBRO_CONFIG", "RECOBRO_MLFLOW_TRACKING_URI", "RECOBRO_MLFLOW_ARTIFACTS_DIR"):
            mp.delenv(var, raising=False)
        mp.setenv("RECOBRO_HOME", str(home))
        settings = Settings.load(config_file=home / "absent.toml").ensure_dirs()
        simulate(ACCOUNTS, DAYS, SEED, home / "delivery", settings.truth_dir, end_date=AS_OF, observable_truth=True)
        con = connect(settings)
        load_delivery(con, home / "delivery", validate=False)
        for target in ("pay_30d", "promise_kept"):
            training_set(con, target, AS_OF)
        fct_account_features(con, AS_OF)
        trained = {t.target: t for t in train_models(con, settings, AS_OF)}
        channel_training_set(con, AS_OF)
        trained["channel_response"] = train_channel_model(con, settings, AS_OF)
        yield {"settings": settings, "con": con, "trained": trained,
               "promise": load_champion(settings, "recobro_promise_kept")[0],
               "pay": load_champion(settings, "recobro_pay_propensity")[0]}
        con.close()


def promise_rows(portfolio):
    return portfolio["con"].sql("select * from train_promise_kept order by promise_id").df()


def account_rows(portfolio):
    return portfolio["con"].sql("select * from fct_account_features where balance > 0 order by account_id").df()


def test_directional_broken_promise_yesterday_never_raises_p_kept(portfolio):
    X = promise_rows(portfolio)
    model = portfolio["promise"]
    before = model.predict_proba(X)[:, 1]
    # a promise broken yesterday was also unpaid at its due date and lowers the share kept:
    # every feature that records it moves
    after = model.predict_proba(X.assign(
        promises_broken=X["promises_broken"] + 1, days_since_last_broken_promise=1.0,
        promises_unpaid_at_due=X["promises_unpaid_at_due"] + 1,
        promise_kept_rate=X["promises_kept"] / (X["promises_kept"] + X["promises_broken"] + 1)))[:, 1]
    up = after - before
    # holds for every row because training constrains all four (models.train.MONOTONE_CONSTRAINTS)
    assert (up <= 1e-12).all(), f"{np.mean(up > 1e-12):.1%} of promises rose, by up to {up.max():.4f}"
    # and the model does use it: a model that ignored broken promises would leave every row unchanged.
    # How much it lowers depends on how many promises have a broken history (a quarter at this size).
    assert up.mean() < 0 and (up < -0.001).any()


def test_directional_more_days_past_due_lowers_payment(portfolio):
    X = account_rows(portfolio)
    pay = portfolio["pay"]
    later = pay.predict_proba(X.assign(dpd=X["dpd"] + 60, past_due_installments=X["past_due_installments"] + 2))[:, 1]
    assert later.mean() < pay.predict_proba(X)[:, 1].mean()


def test_invariance_identifiers_change_nothing(portfolio):
    from models.score import score_frame

    X = account_rows(portfolio)
    base = score_frame(X, portfolio["promise"], portfolio["pay"])
    renamed = X.assign(account_id="ACC-X" + X["account_id"].str[-6:],
                       customer_id=X["customer_id"].sample(frac=1, random_state=1).to_numpy())
    other = score_frame(renamed, portfolio["promise"], portfolio["pay"])
    cols = ["p_promise_kept", "p_pay_30d", "risk_tier", "reason_1", "reason_2", "reason_3"]
    assert base[cols].equals(other[cols])
    P = promise_rows(portfolio)
    np.testing.assert_array_equal(portfolio["promise"].predict_proba(P),
                                  portfolio["promise"].predict_proba(P.assign(promise_id="PRM-X", account_id="ACC-X")))


def _assign(row, values: dict) -> None:
    for name, value in values.items():
        row[name] = value


def test_minimum_functionality_good_payer_beats_bad_payer(portfolio):
    X = account_rows(portfolio)
    typical = X.median(numeric_only=True)
    # (items assigned one by one: `Series.update` skips NaN values, and NaN means "never happened")
    good = typical.copy()
    _assign(good, {"dpd": 3, "past_due_installments": 0, "past_due_to_principal": 0.0, "payments_30d": 2,
                 "payments_90d": 4, "payments_total": 8, "paid_share_of_principal": 0.6,
                 "payment_amount_30d_to_principal": 0.1, "payment_amount_90d_to_principal": 0.25,
                 "days_since_last_payment": 3, "promises_made": 3, "promises_kept": 3, "promises_broken": 0,
                 "promise_kept_rate": 1.0, "days_since_last_broken_promise": np.nan,
                 # the behaviour that goes with it: pays early, in full, soon after placement
                 "past_due_to_instalment": 0.0, "payment_to_instalment_avg": 1.0, "payment_to_instalment_max": 1.5,
                 "full_payment_share": 1.0, "clearing_payment_share": 1.0, "payments_per_30d_placed": 1.5,
                 "early_payment_share": 1.0, "days_after_due_avg": 3, "days_to_first_payment": 4,
                 "promises_unpaid_at_due": 0, "days_since_placement": 120, "has_open_promise": 0})
    bad = typical.copy()
    _assign(bad, {"dpd": 170, "past_due_installments": 6, "past_due_to_principal": 0.5, "payments_30d": 0,
                "payments_90d": 0, "payments_total": 0, "paid_share_of_principal": 0.0,
                "payment_amount_30d_to_principal": 0.0, "payment_amount_90d_to_principal": 0.0,
                "days_since_last_payment": np.nan, "promises_made": 3, "promises_kept": 0, "promises_broken": 3,
                "promise_kept_rate": 0.0, "days_since_last_broken_promise": 5,
                "past_due_to_instalment": 6.0, "payment_to_instalment_avg": np.nan, "payment_to_instalment_max": np.nan,
                "full_payment_share": np.nan, "clearing_payment_share": np.nan, "payments_per_30d_placed": 0.0,
                "early_payment_share": np.nan, "days_after_due_avg": np.nan, "days_to_first_payment": np.nan,
                "promises_unpaid_at_due": 3,
                # a debtor 170 days past due has been in collections at least that long
                "days_since_placement": 170, "has_open_promise": 0})
    import pandas as pd

    rows = pd.DataFrame([good, bad])
    for model in (portfolio["pay"], portfolio["promise"]):
        p_good, p_bad = model.predict_proba(rows)[:, 1]
        assert p_good > p_bad + 0.1, (model.feature_names_[:3], p_good, p_bad)


def test_inventory_record_is_on_the_registered_models(portfolio):
    from mlflow import MlflowClient

    from models.inventory import read_inventory

    for t in portfolio["trained"].values():
        record = read_inventory(t.name)
        assert {"purpose", "owner", "prohibited_uses", "limits", "features", "feature_policy"} <= set(record)
        assert "dpd" in record["features"].split(",") and "GDPR art. 22" in record["prohibited_uses"]
        description = MlflowClient().get_registered_model(t.name).description
        assert "**Prohibited uses.**" in description and "**Owner.**" in description


@pytest.fixture(scope="module")
def cards(portfolio):
    """The model cards of the three champions (`recobro models card`), written once."""
    from models.card import model_card

    settings = portfolio["settings"]
    return model_card(portfolio["con"], settings, AS_OF, settings.truth_dir)


def test_model_card_against_truth(portfolio, cards):
    from mlflow import MlflowClient

    folder = cards
    for t in (portfolio["trained"]["promise_kept"], portfolio["trained"]["pay_30d"]):
        text = (folder / f"{t.name}.md").read_text(encoding="utf-8")
        data = json.loads((folder / f"{t.name}.json").read_text(encoding="utf-8"))
        for section in ("## Inventory record", "## Out-of-time back-test", "## Calibration",
                        "## Against the simulator's truth", "## Feature policy", "rules_baseline",
                        "logistic_regression", "Prohibited uses"):
            assert section in text, section
        assert "Feature policy check: **passed**" in text and data["forbidden_features"] == []
        m = data["metrics"]
        assert m["model"]["auc"] > 0.6 and m["model"]["ece"] < 0.1
        assert m["model"]["auc"] > m["rules_baseline"]["auc"]
        assert sum(r["rows"] for r in data["reliability"]) == data["rows"]["out_of_time"]
        truth = data["truth"]
        assert truth["comparable"]
        if t.target == "promise_kept":
            assert "Bayes AUC" in text and truth["rows"] > 100
            assert truth["bayes_auc"] > truth["model_auc"] - 0.02  # nobody beats the truth by much
            # the Bayes reference on observables: every promise explained, between the model and the latent truth
            assert "Bayes AUC on what a lender observes" in text and truth["observable_rows"] == truth["rows"]
            assert truth["model_auc"] < truth["observable_auc"] < truth["bayes_auc_knowable"] + 0.02
            assert truth["observable_gap"] == pytest.approx(truth["observable_auc"] - truth["model_auc"])
        else:
            assert "Bayes expected AUC" in text and truth["realised_labels"] is False
            assert truth["bayes_expected_auc"] > truth["model_expected_auc"]
            assert truth["model_spearman"] > 0.3
            # both references: no contact, and the model's own question (payment under the BAU policy)
            bau = truth["bau"]
            assert truth["model_question"] == "p_pay_30d_bau" and bau["available"] and bau["runs"] >= 4
            assert "Bayes expected AUC (BAU)" in text and "model's own question" in text
            by_runs = list(bau["bayes_expected_auc_by_runs"].values())
            assert by_runs[0] < by_runs[-1]  # more runs, less noise, a higher AUC
            assert by_runs[0] < bau["bayes_expected_auc"] < bau["bayes_expected_auc_self"] + 0.01
            assert bau["bayes_expected_auc"] > bau["model_expected_auc"] > 0.6
            assert bau["mean_p"] > truth["mean_p_true"]  # contacts help
            # on observables: ranking by the posterior mean cannot beat ranking by the truth it averages
            assert truth["model_expected_auc"] < truth["observable_expected_auc"] < truth["bayes_expected_auc"]
            obs_runs = list(bau["observable_expected_auc_by_runs"].values())
            assert obs_runs == sorted(obs_runs) and obs_runs[-1] < bau["observable_expected_auc"]
            assert bau["model_expected_auc"] < bau["observable_expected_auc"] < bau["bayes_expected_auc"]
            assert "Bayes expected AUC (BAU) on what a lender observes" in text
        artifacts = {a.path for a in MlflowClient().list_artifacts(t.run_id, "model_card")}
        assert f"model_card/{t.name}.md" in artifacts
        text_lower = text.lower()
        assert "acc-0" not in text_lower and "cus-0" not in text_lower  # no row identifiers


def test_channel_model_card_scores_the_choice_on_truth(portfolio, cards):
    from mlflow import MlflowClient

    t = portfolio["trained"]["channel_response"]
    text = (cards / f"{t.name}.md").read_text(encoding="utf-8")
    data = json.loads((cards / f"{t.name}.json").read_text(encoding="utf-8"))
    for section in ("## Inventory record", "## Held-out value, without truth", "## Channel choice against the "
                    "simulator's truth", "## Feature policy", "Captured share of the oracle's gain"):
        assert section in text, section
    assert data["heldout"]["heldout_policy_value"] == pytest.approx(t.metrics["heldout_policy_value"])
    truth = data["truth"]
    assert truth["comparable"] and truth["rows"] > 200
    v = truth["mean_value_usd"]
    # the oracle takes each account's best reachable channel: no policy can beat it on average
    assert all(v["oracle"] >= v[p] for p in ("model", "logged", "sms_first", "random"))
    assert truth["captured_share"]["model"] == pytest.approx((v["model"] - v["logged"]) / (v["oracle"] - v["logged"]))
    assert v["model"] > v["random"]  # the model ranks channels better than chance
    assert sum(truth["model_channel_mix"].values()) == pytest.approx(1.0)
    assert f"model_card/{t.name}.md" in {a.path for a in MlflowClient().list_artifacts(t.run_id, "model_card")}
    assert "acc-0" not in text.lower() and "cus-0" not in text.lower()


def test_runs_record_the_training_sample_and_a_capped_set_keeps_whole_accounts(portfolio):
    """Each run logs the account sample its set came from; a cap keeps every row of the accounts it keeps."""
    import mlflow

    from features.build import training_sample, training_set

    con = portfolio["con"]
    for target, table in (("pay_30d", "train_pay_30d"), ("promise_kept", "train_promise_kept"),
                          ("channel_response", "train_channel_response")):
        record = training_sample(con, table)
        params = mlflow.get_run(portfolio["trained"][target].run_id).data.params
        assert params["sample_account_share"] == "1.0" and params["sample_max_rows"] == "3000000"
        assert params["sample_rows_kept"] == params["sample_rows_before"] == str(record["rows_before"])
    for target in ("pay_30d", "promise_kept"):
        table = f"train_{target}"
        whole = con.sql(f"select * from {table} order by all").df()
        rows_before = training_sample(con, table)["rows_before"]
        try:
            training_set(con, target, AS_OF, max_rows=rows_before // 3)
            capped = con.sql(f"select * from {table} order by all").df()
            record = training_sample(con, table)
        finally:
            training_set(con, target, AS_OF)
        assert record["account_share"] == pytest.approx(1 / 3, abs=1e-4) and 0.2 < len(capped) / len(whole) < 0.46
        kept = set(capped["account_id"])
        assert capped.equals(whole[whole["account_id"].isin(kept)].reset_index(drop=True)), target


def test_channel_choice_values_by_hand():
    """Three accounts: one scored, one whose last logged channel is no longer reachable, one never contacted."""
    import pandas as pd

    from models.channel_card import choice_values
    from recobro.contract import CHANNELS

    values = {"sms": [4.0, 1.0, 1.0], "email": [1.0, 9.0, 1.0], "whatsapp": [9.0, 1.0, 1.0]}
    frame = pd.DataFrame({"account_id": ["A", "B", "C"], "currency": "USD", "last_channel": ["email", "voice", None],
                          **{f"p_respond_{c}": [0.2, 0.2, 0.2] if c in values else 0.0 for c in CHANNELS},
                          **{f"incremental_value_{c}": values.get(c, [50.0] * 3) for c in CHANNELS}})
    predicted = np.tile([3.0, 1.0, 2.0, 99.0, 99.0, 99.0], (3, 1))  # prefers sms, then whatsapp; voice is unreachable
    out = choice_values(frame, predicted)
    assert out["rows"] == 1 and out["rows_without_logged_choice"] == 2
    assert out["mean_value_usd"] == {"oracle": 9.0, "model": 4.0, "logged": 1.0, "sms_first": 4.0,
                                     "random": pytest.approx(14 / 3)}
    assert out["captured_share"]["model"] == pytest.approx(3 / 8) and out["oracle_agreement"] == 0.0
