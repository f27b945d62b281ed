"""Promotion gate, rollback and fail-closed scoring on the synthetic tables of test_models.py.

One registry per module, used in file order: a crippled champion (features with no signal),
a full challenger that must be promoted, crippled challengers that must be refused, then the
registry is damaged on purpose (alias deleted, version deleted) to check scoring fails closed.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_models import AS_OF, FEATURES, synthetic_warehouse, write

PAY = "recobro_pay_propensity"
WEAKER = ["dpd", "payments_90d", "days_since_last_payment", "contacts_30d"]  # no balance


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from models.train import train_models

    with synthetic_warehouse(tmp_path_factory, "promotion") as (settings, con):
        con.execute("create table keep_train_pay_30d as select * from train_pay_30d")
        train_models(con, settings, AS_OF, targets=("promise_kept",), feature_columns=FEATURES.get)
        [crippled] = train_models(con, settings, AS_OF, targets=("pay_30d",), feature_columns=lambda t: WEAKER)
        assert (crippled.version, crippled.alias) == ("1", "champion")
        yield {"settings": settings, "con": con}


def train_challenger(env, features=None, shuffle_labels: bool = False):
    from models.train import train_models

    con = env["con"]
    if shuffle_labels:
        df = con.sql("select * from keep_train_pay_30d").df()
        write(con, "train_pay_30d", df.assign(label=np.random.default_rng(0).permutation(df["label"].to_numpy())))
    [t] = train_models(con, env["settings"], AS_OF, targets=("pay_30d",),
                       feature_columns=(lambda _: features) if features else FEATURES.get)
    con.execute("create or replace table train_pay_30d as select * from keep_train_pay_30d")
    assert t.alias == "challenger" and not t.reused
    return t


def test_better_challenger_is_promoted_and_decision_recorded(env):
    from mlflow import MlflowClient

    from models.promotion import promote_challenger
    from models.registry import load_champion, version_by_alias

    t = train_challenger(env)
    decision = promote_challenger(env["con"], env["settings"], PAY, AS_OF)
    assert decision.promoted, decision.summary()
    assert (decision.challenger_version, decision.champion_version) == (t.version, "1")
    assert decision.psi is not None and decision.eval_rows > 0
    m = decision.metrics
    assert m["challenger"]["auc"] > m["champion"]["auc"] and m["challenger"]["auc"] > m["rules_baseline"]["auc"]
    assert all(r.startswith("PASS") for r in decision.reasons) and any("PSI" in r for r in decision.reasons)
    assert load_champion(env["settings"], PAY)[1] == t.version
    assert str(version_by_alias(PAY, "previous_champion").version) == "1"
    assert version_by_alias(PAY, "challenger") is None
    client = MlflowClient()
    tags = client.get_model_version(PAY, t.version).tags
    assert tags["recobro.promotion.decision"] == "promoted" and "PASS: AUC" in tags["recobro.promotion.reasons"]
    run = client.get_run(decision.run_id)
    assert run.data.tags["recobro.promotion.decision"] == "promoted"
    assert run.data.metrics["challenger_auc"] == pytest.approx(m["challenger"]["auc"])
    assert "decision.json" in {a.path for a in client.list_artifacts(decision.run_id)}


@pytest.mark.parametrize("how", ["shuffled_labels", "single_feature"])
def test_worse_challenger_is_refused_with_reasons(env, how):
    from mlflow import MlflowClient

    from models.promotion import promote_challenger
    from models.registry import load_champion, version_by_alias

    champion = load_champion(env["settings"], PAY)[1]
    t = train_challenger(env, shuffle_labels=True) if how == "shuffled_labels" else train_challenger(env, ["dpd"])
    decision = promote_challenger(env["con"], env["settings"], PAY, AS_OF)
    assert not decision.promoted
    assert any(r.startswith("FAIL: AUC") and f"champion v{champion}" in r for r in decision.reasons), decision.reasons
    assert load_champion(env["settings"], PAY)[1] == champion
    assert str(version_by_alias(PAY, "challenger").version) == t.version  # kept for inspection
    tags = MlflowClient().get_model_version(PAY, t.version).tags
    assert tags["recobro.promotion.decision"] == "refused" and "FAIL: AUC" in tags["recobro.promotion.reasons"]
    if how == "shuffled_labels":  # no better than a handful of rules either
        assert any(r.startswith("FAIL") and "rules baseline" in r for r in decision.reasons)


def test_psi_bands_gate_promotion(env, monkeypatch):
    import models.evaluate
    from models.promotion import promote_challenger
    from models.registry import load_champion, set_alias

    settings = env["settings"]
    champion = load_champion(settings, PAY)[1]
    t = train_challenger(env, FEATURES["pay_30d"][::-1])  # same information, a new fingerprint
    # back to the weaker champion, so that only PSI can stop the challenger
    set_alias(PAY, "champion", "1", settings=settings)
    for psi, override, promoted in ((0.30, True, False), (0.15, False, False), (0.15, True, True)):
        monkeypatch.setattr(models.evaluate, "population_stability_index", lambda *a, v=psi: v)
        d = promote_challenger(env["con"], settings, PAY, AS_OF, allow_psi_investigate=override)
        assert d.promoted is promoted, d.summary()
        assert d.psi_band == ("act" if psi > 0.25 else "investigate")
        assert any("PSI" in r and ("PASS" if promoted else "FAIL") in r for r in d.reasons)
    assert load_champion(settings, PAY)[1] == t.version
    set_alias(PAY, "champion", champion, settings=settings)


def test_psi_matches_known_values():
    from models.evaluate import population_stability_index, psi_band, score_baseline

    rng = np.random.default_rng(0)
    base = score_baseline(rng.beta(2, 5, 20_000))
    assert len(base["shares"]) == 10 and abs(sum(base["shares"]) - 1) < 1e-9
    assert population_stability_index(base, rng.beta(2, 5, 20_000)) < 0.01
    assert population_stability_index(base, rng.beta(5, 2, 20_000)) > 0.25
    assert [psi_band(v) for v in (0.05, 0.1, 0.25, 0.3)] == ["stable", "investigate", "investigate", "act"]


def test_rollback_restores_previous_champion(env):
    from models.registry import ModelNotFound, load_champion, promote, rollback, version_by_alias

    settings = env["settings"]
    current = load_champion(settings, PAY)[1]
    previous = str(version_by_alias(PAY, "previous_champion").version)
    assert rollback(PAY, settings=settings) == previous
    assert load_champion(settings, PAY)[1] == previous
    assert str(version_by_alias(PAY, "rolled_back").version) == current
    with pytest.raises(ModelNotFound, match="no previous_champion"):
        rollback(PAY, settings=settings)
    from models.registry import set_alias

    set_alias(PAY, "challenger", current, settings=settings)
    assert promote(PAY, settings=settings) == current  # and forward again


def test_scoring_fails_closed_when_alias_deleted(env):
    from mlflow import MlflowClient

    from models.registry import ModelNotFound, set_alias
    from models.score import score_accounts

    version = MlflowClient().get_model_version_by_alias(PAY, "champion").version
    MlflowClient().delete_registered_model_alias(PAY, "champion")
    with pytest.raises(ModelNotFound, match=rf"{PAY}@champion.*has no alias 'champion'.*refusing to score"):
        score_accounts(env["con"], env["settings"], AS_OF)
    set_alias(PAY, "champion", version, settings=env["settings"])
    assert score_accounts(env["con"], env["settings"], AS_OF) == "work_scores"


def test_scoring_fails_closed_when_champion_artifacts_are_gone(env, tmp_path):
    import shutil
    from pathlib import Path
    from urllib.parse import urlparse

    from mlflow import MlflowClient

    from models.registry import ModelNotFound, set_alias
    from models.score import score_accounts

    client = MlflowClient()
    good = client.get_model_version_by_alias(PAY, "champion").version
    victim = client.get_model_version_by_alias(PAY, "previous_champion")
    source = Path(urlparse(client.get_model_version_download_uri(PAY, victim.version)).path)
    shutil.move(source, tmp_path / "moved")
    set_alias(PAY, "champion", victim.version, settings=env["settings"])
    with pytest.raises(ModelNotFound, match=rf"points at version {victim.version}.*could not be loaded"):
        score_accounts(env["con"], env["settings"], AS_OF)
    shutil.move(tmp_path / "moved", source)
    set_alias(PAY, "champion", good, settings=env["settings"])


def test_scoring_fails_closed_when_champion_version_deleted(env):
    from mlflow import MlflowClient

    from models.registry import ModelNotFound
    from models.score import score_accounts

    client = MlflowClient()
    version = client.get_model_version_by_alias(PAY, "champion").version
    client.delete_model_version(PAY, version)
    with pytest.raises(ModelNotFound, match=rf"{PAY}@champion.*a deleted version loses its aliases"):
        score_accounts(env["con"], env["settings"], AS_OF)
