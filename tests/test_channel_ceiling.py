"""The features-ceiling diagnostic (models.channel_ceiling) and the frame it shares with the
channel card: the truth-distilled scorer learns the truth's channel ranking from features, and the
frame keeps exactly the past-due accounts with their features, logged channel and truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.channel_card import past_due_accounts
from models.channel_ceiling import account_birth_years, distilled_values, truth_value_usd
from recobro.contract import CHANNELS


def _portfolio(n: int, seed: int, past_due_share: float = 0.8) -> dict:
    """Accounts whose true value favours SMS when f1 > f2 and agent calls otherwise."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.random(n), rng.random(n)
    ids = [f"ACC-{i:07d}" for i in range(1, n + 1)]
    truth = {"account_id": ids, "past_due": np.where(rng.random(n) < past_due_share, 100.0, 0.0)}
    for c in CHANNELS:
        truth[f"incremental_value_{c}"] = np.zeros(n)
    truth["incremental_value_sms"] = 2.0 * f1
    truth["incremental_value_agent_call"] = 2.0 * f2
    scoring = pd.DataFrame({"account_id": ids, "currency": "USD", "f1": f1, "f2": f2})
    accounts = pd.DataFrame({"account_id": ids, "currency": "EUR", "last_channel": "email"})
    return {"scoring": scoring, "truth": pd.DataFrame(truth), "accounts": accounts}


def test_distilled_scorer_ranks_channels_like_the_truth():
    source, target = (past_due_accounts(p["scoring"], p["accounts"], p["truth"])
                      for p in (_portfolio(4000, seed=1), _portfolio(1000, seed=2)))
    predicted, r2 = distilled_values(source, target, ["f1", "f2"])
    value = truth_value_usd(target)
    assert predicted.shape == (len(target), len(CHANNELS))
    assert (predicted.argmax(axis=1) == value.argmax(axis=1)).mean() > 0.9
    assert r2["sms"] > 0.9 and r2["agent_call"] > 0.9


def test_past_due_accounts_keeps_the_past_due_ones_with_features_logged_channel_and_truth():
    p = _portfolio(50, seed=3, past_due_share=0.5)
    p["accounts"] = p["accounts"].iloc[:40]  # accounts the warehouse lacks are left out
    frame = past_due_accounts(p["scoring"], p["accounts"], p["truth"])
    expected = p["truth"].iloc[:40].query("past_due > 0")["account_id"]
    assert list(frame["account_id"]) == list(expected)
    assert (frame["currency"] == "USD").all()  # the features' column wins over the accounts' one
    assert set(frame["last_channel"]) == {"email"} and {"f1", "incremental_value_sms"} <= set(frame.columns)


def test_account_birth_years_gives_each_account_its_customers_birth_year(tmp_path):
    pd.DataFrame({"account_id": ["A1", "A2", "A3"], "customer_id": ["C1", "C1", "C2"]}).to_parquet(
        tmp_path / "accounts.parquet")
    pd.DataFrame({"customer_id": ["C1", "C2"], "birth_year": ["1980", ""]}).to_parquet(tmp_path / "customers.parquet")
    frame = account_birth_years(tmp_path)
    assert list(frame.columns) == ["account_id", "birth_year"]
    assert frame["birth_year"].tolist()[:2] == [1980, 1980] and np.isnan(frame["birth_year"].iloc[2])


def test_features_ceiling_scores_every_scorer_on_one_simulated_portfolio(tmp_path, monkeypatch):
    """`python -m benchmarks channel --ceiling-accounts N` end to end, at a small size: every scorer
    is scored on the same accounts, none beats the oracle (the share's upper bound), and the
    simulated portfolios' files are removed afterwards."""
    import tempfile

    from models.channel_ceiling import features_ceiling

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    r = features_ceiling(n_accounts=2000, source_accounts=2000, history_days=90, seed=5)
    assert list(tmp_path.iterdir()) == []
    assert r["rows"] > 500
    assert set(r["captured"]) == {"model", "model_source_logs", "distilled", "distilled_with_age", "sms_first"}
    # the birth year reached the diagnostic's fit (an all-missing column would leave it the distilled scorer)
    assert r["mean_value_usd"]["distilled_with_age"] != r["mean_value_usd"]["distilled"]
    assert all(np.isfinite(v) and v <= 1.0 + 1e-9 for v in r["captured"].values())
    assert r["mean_value_usd"]["oracle"] >= max(r["mean_value_usd"][k] for k in r["captured"])
    assert set(r["distilled_r2_source"]) == set(CHANNELS)
