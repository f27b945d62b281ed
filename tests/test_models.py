"""Model behaviour tests for models/: training + MLflow registry, scoring, SHAP reasons, policy.

Synthetic `train_*` and `fct_account_features` tables with a known, seeded signal are built
in DuckDB here, so these tests do not depend on features/. One registry is trained once per
module (MLflow's first sqlite migration costs a few seconds) and shared, in file order.
"""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import numpy as np
import pandas as pd
import pytest

from recobro.settings import Settings

AS_OF = "2024-12-01"
SNAPSHOTS = pd.date_range("2024-01-31", periods=10, freq="ME").date
ACCOUNT_FEATURES = ["dpd", "balance", "payments_90d", "days_since_last_payment", "contacts_30d"]
PROMISE_FEATURES = ACCOUNT_FEATURES + ["promise_amount_ratio"]
FEATURES = {"pay_30d": ACCOUNT_FEATURES, "promise_kept": PROMISE_FEATURES}
SCORE_COLUMNS = ["as_of", "account_id", "customer_id", "p_promise_kept", "p_pay_30d", "risk_tier",
                 "promise_kept_model", "pay_model", "reason_1", "reason_2", "reason_3", "reasons_text"]


def account_snapshot(rng, n: int, as_of) -> pd.DataFrame:
    """Account features at one as_of (no label)."""
    last_pay = rng.integers(1, 200, n).astype(float)
    last_pay[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame({
        "as_of": as_of, "account_id": [f"A{i:05d}" for i in range(n)],
        "customer_id": [f"C{i // 2:05d}" for i in range(n)],
        "dpd": rng.integers(1, 180, n), "balance": np.round(rng.lognormal(7, 1, n), 2),
        "payments_90d": rng.poisson(1.2, n), "days_since_last_payment": last_pay,
        "contacts_30d": rng.poisson(2, n),
    })


def labelled(rng, df: pd.DataFrame, step: int, target: str) -> pd.DataFrame:
    """Add a label with a known signal and a slow upward drift in the base rate over snapshots."""
    z = (0.3 - 0.018 * df["dpd"] + 0.7 * df["payments_90d"] - 0.4 * np.log(df["balance"] / 1000)
         + 0.06 * step)
    if target == "promise_kept":
        df = df.assign(promise_id=[f"P{step:02d}{i:05d}" for i in range(len(df))],
                       promise_amount_ratio=rng.uniform(0.05, 1.0, len(df)))
        z = z - 1.5 * df["promise_amount_ratio"] + 0.8
    return df.assign(label=(rng.random(len(df)) < 1 / (1 + np.exp(-z))).astype("int32"))


def training_table(seed: int, target: str, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = [labelled(rng, account_snapshot(rng, n, d), step, target).drop(columns="customer_id")
              for step, d in enumerate(SNAPSHOTS)]
    return pd.concat(frames, ignore_index=True)


def write(con, name: str, df: pd.DataFrame) -> None:
    con.register("_df", df)
    con.execute(f"create or replace table {name} as select * replace (cast(as_of as date) as as_of) from _df")
    con.unregister("_df")


def build_tables(con, seed: int = 11) -> None:
    write(con, "train_pay_30d", training_table(seed, "pay_30d", 500))
    write(con, "train_promise_kept", training_table(seed + 1, "promise_kept", 300))
    fct = account_snapshot(np.random.default_rng(seed + 2), 400, pd.Timestamp(AS_OF).date())
    fct = fct.assign(jurisdiction="CO", currency="COP", product="card")
    write(con, "fct_account_features", fct)


@contextmanager
def synthetic_warehouse(tmp_path_factory, name: str):
    """Settings rooted in a fresh RECOBRO_HOME, and an open warehouse holding the synthetic tables."""
    from recobro.warehouse import connect

    home = tmp_path_factory.mktemp(name) / "home"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("RECOBRO_CONFIG", "RECOBRO_MLFLOW_TRACKING_URI", "RECOBRO_MLFLOW_ARTIFACTS_DIR"):
            mp.delenv(var, raising=False)
        mp.setenv("RECOBRO_HOME", str(home))
        settings = Settings.load(config_file=home / "absent.toml").ensure_dirs()
        con = connect(settings)
        build_tables(con)
        try:
            yield settings, con
        finally:
            con.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Settings, a warehouse with synthetic tables and a registry trained once for the module."""
    from models.train import train_models

    with synthetic_warehouse(tmp_path_factory, "models") as (settings, con):
        trained = train_models(con, settings, AS_OF, feature_columns=FEATURES.get)
        yield {"settings": settings, "con": con, "trained": {t.target: t for t in trained}}


def test_training_registers_champions_and_logs_runs(env):
    from mlflow import MlflowClient

    trained = env["trained"]
    assert {t.name for t in trained.values()} == {"recobro_promise_kept", "recobro_pay_propensity"}
    client = MlflowClient()
    for t in trained.values():
        assert (t.alias, t.version, t.reused) == ("champion", "1", False)
        assert str(client.get_model_version_by_alias(t.name, "champion").version) == "1"
        run = client.get_run(t.run_id)
        assert {"auc", "log_loss", "brier", "ece"} <= set(run.data.metrics)
        assert run.data.metrics["auc"] > 0.7
        assert run.data.params["data_rows"] == str(t.metrics.get("fit_rows", 0) + t.metrics.get("calibration_rows", 0)
                                                    + t.metrics.get("eval_rows", 0))
        assert len(run.data.tags["recobro.fingerprint"]) == 64
        text = " ".join([*run.data.params, *run.data.params.values(), *run.data.tags.values()])
        assert "A0000" not in text and "C0000" not in text  # no row identifiers
        for personal in ("phone", "email", "birth_year", "country"):
            assert personal not in text
        artifacts = {a.path for a in client.list_artifacts(t.run_id)} | {
            a.path for a in client.list_artifacts(t.run_id, "plots")}
        assert {"features.json", "data_fingerprint.json", "plots/calibration.png",
                "plots/feature_importance.png", "plots/shap_summary.png"} <= artifacts
        assert not any(p.endswith((".csv", ".parquet")) for p in artifacts)


def test_champion_loads_from_models_uri(env):
    import mlflow.sklearn

    from models.registry import load_champion

    model, version = load_champion(env["settings"], "recobro_pay_propensity")
    direct = mlflow.sklearn.load_model("models:/recobro_pay_propensity@champion")
    X = env["con"].sql("select * from fct_account_features").df()
    assert version == "1"
    np.testing.assert_array_equal(model.predict_proba(X), direct.predict_proba(X))
    assert model.feature_names_ == ACCOUNT_FEATURES


def test_scoring_writes_work_scores_with_versions_and_reasons(env):
    from models.score import score_accounts

    con = env["con"]
    assert score_accounts(con, env["settings"], AS_OF) == "work_scores"
    df = con.sql("select * from work_scores order by account_id").df()
    assert list(df.columns) == SCORE_COLUMNS and len(df) == 400
    assert set(df["promise_kept_model"]) == {"recobro_promise_kept/1"}
    assert set(df["pay_model"]) == {"recobro_pay_propensity/1"}
    assert df[["reason_1", "reason_2", "reason_3", "reasons_text"]].notna().all().all()
    assert df["reason_1"].str.fullmatch(r"\w+:(high|low|missing)").all()
    assert df["reasons_text"].str.count("; ").eq(2).all()
    assert set(df["risk_tier"]) <= {"low", "medium", "high"} and df["p_pay_30d"].between(0, 1).all()
    assert df["p_promise_kept"].nunique() > 5  # promise-level features missing at scoring is fine


def test_scoring_explains_only_requested_accounts(env):
    from models.score import score_accounts

    con = env["con"]
    score_accounts(con, env["settings"], AS_OF, explain_accounts="dpd > 150")
    df = con.sql("select s.*, f.dpd from work_scores s join fct_account_features f using (account_id)").df()
    assert df.loc[df["dpd"] > 150, "reason_1"].notna().all()
    assert df.loc[df["dpd"] <= 150, ["reason_1", "reasons_text"]].isna().all().all()
    con.execute("create or replace table explain_me as select 'A00003' as account_id")
    score_accounts(con, env["settings"], AS_OF, explain_accounts="explain_me")
    assert con.sql("select count(reason_1) from work_scores").fetchall()[0][0] == 1


def test_retraining_same_data_reuses_versions_and_scores(env):
    from mlflow import MlflowClient

    from models.score import score_accounts
    from models.train import train_models

    con, settings = env["con"], env["settings"]
    score_accounts(con, settings, AS_OF)
    before = con.sql("select * from work_scores order by account_id").df()
    runs_before = len(MlflowClient().search_runs([MlflowClient().get_experiment_by_name("recobro").experiment_id]))
    again = train_models(con, settings, AS_OF, feature_columns=FEATURES.get)
    assert [(t.version, t.alias, t.reused) for t in again] == [("1", "champion", True)] * 2
    assert [t.run_id for t in again] == [env["trained"][t.target].run_id for t in again]
    runs_after = len(MlflowClient().search_runs([MlflowClient().get_experiment_by_name("recobro").experiment_id]))
    assert runs_after == runs_before
    score_accounts(con, settings, AS_OF)
    pd.testing.assert_frame_equal(before, con.sql("select * from work_scores order by account_id").df())


def test_shap_values_shape_and_additivity(env):
    from models.explain import shap_values, top_reasons
    from models.registry import load_champion

    model, _ = load_champion(env["settings"], "recobro_pay_propensity")
    X = env["con"].sql("select * from fct_account_features limit 50").df()
    values, expected = shap_values(model, X)
    assert values.shape == (50, len(ACCOUNT_FEATURES)) and isinstance(expected, float)
    np.testing.assert_allclose(values.sum(axis=1) + expected, model.decision_function(X), atol=1e-6)
    reasons = top_reasons(model, X, k=3)
    assert list(reasons.columns) == ["reason_1", "shap_1", "reason_2", "shap_2", "reason_3", "shap_3"]
    assert (reasons["shap_1"].abs() >= reasons["shap_2"].abs()).all()


def test_calibration_keeps_or_improves_ece_out_of_time(env):
    for t in env["trained"].values():
        assert t.metrics["ece"] <= t.metrics["ece_uncalibrated"] + 0.005, t.metrics
        assert t.metrics["auc"] > 0.7


def test_customer_id_is_ignored_and_dpd_lowers_payment(env):
    from models.registry import load_champion
    from models.score import score_frame

    settings = env["settings"]
    promise, _ = load_champion(settings, "recobro_promise_kept")
    pay, _ = load_champion(settings, "recobro_pay_propensity")
    X = env["con"].sql("select * from fct_account_features order by account_id").df()
    base = score_frame(X, promise, pay)
    shuffled = X.assign(customer_id=X["customer_id"].sample(frac=1, random_state=3).to_numpy())
    other = score_frame(shuffled, promise, pay)
    cols = ["p_promise_kept", "p_pay_30d", "risk_tier", "reason_1", "reason_2", "reason_3"]
    pd.testing.assert_frame_equal(base[cols], other[cols])
    later = score_frame(X.assign(dpd=X["dpd"] + 90), promise, pay)
    assert later["p_pay_30d"].mean() < base["p_pay_30d"].mean()


def test_changed_data_creates_challenger_then_promote_and_rollback(env):
    from models.registry import load_champion, promote, rollback, version_by_alias
    from models.train import train_models

    con, settings = env["con"], env["settings"]
    con.execute("create or replace table train_pay_30d as select * from train_pay_30d where account_id <> 'A00007'")
    [t] = train_models(con, settings, AS_OF, targets=("pay_30d",), feature_columns=FEATURES.get)
    assert (t.version, t.alias, t.reused) == ("2", "challenger", False)
    assert load_champion(settings, "recobro_pay_propensity")[1] == "1"
    assert promote("recobro_pay_propensity", settings=settings) == "2"
    assert str(version_by_alias("recobro_pay_propensity", "previous_champion").version) == "1"
    assert version_by_alias("recobro_pay_propensity", "challenger") is None
    assert rollback("recobro_pay_propensity", settings=settings) == "1"
    assert load_champion(settings, "recobro_pay_propensity")[1] == "1"


def test_load_champion_fails_closed(env):
    from mlflow import MlflowClient

    from models.registry import ModelNotFound, load_champion

    settings = env["settings"]
    with pytest.raises(ModelNotFound, match=r"recobro_nowhere@champion.*refusing to score"):
        load_champion(settings, "recobro_nowhere")
    MlflowClient().create_registered_model("recobro_no_alias")
    with pytest.raises(ModelNotFound, match="recobro_no_alias@champion"):
        load_champion(settings, "recobro_no_alias")


def test_personal_columns_are_refused(env):
    from models.policy import FeaturePolicyViolation
    from models.train import train_models

    con = duckdb.connect()
    write(con, "train_pay_30d", training_table(5, "pay_30d", 50).assign(age=40))
    with pytest.raises(FeaturePolicyViolation, match="age"):
        train_models(con, env["settings"], AS_OF, targets=("pay_30d",), feature_columns=FEATURES.get)
    write(con, "train_pay_30d", training_table(5, "pay_30d", 50).assign(vulnerability_flag=0))
    with pytest.raises(FeaturePolicyViolation, match="vulnerability_flag"):
        train_models(con, env["settings"], AS_OF, targets=("pay_30d",), feature_columns=lambda t: ["dpd"])


def test_estimator_follows_sklearn_conventions():
    from sklearn.base import clone

    from models.estimator import CalibratedLGBMClassifier

    df = training_table(3, "pay_30d", 200)
    est = CalibratedLGBMClassifier(features=ACCOUNT_FEATURES, n_estimators=20)
    assert not [k for k in vars(est) if k.endswith("_")]  # __init__ stores parameters only
    twin = clone(est)
    assert est.fit(df, df["label"], as_of=df["as_of"]) is est
    p = est.predict_proba(df.assign(customer_id="x"))
    assert p.shape == (len(df), 2) and np.allclose(p.sum(axis=1), 1)
    np.testing.assert_array_equal(p, twin.fit(df, df["label"], as_of=df["as_of"]).predict_proba(df))
    assert est.booster_.num_trees() == 20 and est.feature_names_ == ACCOUNT_FEATURES


def test_out_of_time_split_is_by_date():
    from models.estimator import later_slice

    dates = np.repeat(pd.date_range("2024-01-31", periods=10, freq="ME"), 3)
    late = later_slice(dates, 0.2)
    assert late.sum() == 6 and pd.Series(dates[late]).min() > pd.Series(dates[~late]).max()
    with pytest.raises(ValueError, match="2 distinct"):
        later_slice(np.repeat(dates[:1], 5))


def test_reasons_text_uses_catalog_then_falls_back():
    from models.explain import reasons_text

    catalog = {"dpd": {"en_high": "many days past due", "es_high": "muchos días de atraso"}}
    codes = ["dpd:high", "balance:low", None]
    assert reasons_text(codes, "en", catalog) == "many days past due; balance low"
    assert reasons_text(codes, "es", catalog) == "muchos días de atraso; balance bajo"
    assert reasons_text([None], "en", catalog) is None


def test_native_tree_shap_matches_shap_package(env):
    import warnings

    import shap

    from models.explain import shap_values
    from models.registry import load_champion

    model, _ = load_champion(env["settings"], "recobro_promise_kept")
    X = env["con"].sql("select * from fct_account_features limit 40").df()
    values, expected = shap_values(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(model.booster_)
        reference = np.asarray(explainer.shap_values(model_matrix(model, X)))
    np.testing.assert_allclose(values, reference.reshape(values.shape), atol=1e-9)
    assert expected == pytest.approx(float(np.ravel(explainer.expected_value)[-1]))
    empty, same = shap_values(model, X.iloc[:0])
    assert empty.shape == (0, len(model.feature_names_)) and same == pytest.approx(expected)


def model_matrix(model, X):
    from models.estimator import as_matrix

    return as_matrix(X, model.feature_names_)


def test_read_training_set_without_a_feature_list_takes_the_numeric_columns():
    """The fallback when the features package is not importable: every numeric non-key column."""
    import duckdb

    from models.train import read_training_set

    con = duckdb.connect()
    con.execute("""create table train_pay_30d as select date '2026-09-01' + (i % 3)::int as as_of,
                   'ACC-' || i as account_id, (i % 2)::int as label, i * 1.5 as balance,
                   (i % 7)::integer as dpd, 'consumer' as product
                   from range(30) t(i)""")
    df, features = read_training_set(con, "pay_30d", "2026-10-01", None)
    assert features == ["balance", "dpd"]
    assert len(df) == 30 and df["balance"].dtype == "float64"
