"""The features-ceiling diagnostic (models.channel_ceiling): the truth-distilled scorer learns the
truth's channel ranking from features, ignores accounts the truth does not value, and the card's
frame keeps the right accounts in scoring order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.channel_ceiling import card_frame, distilled_values, truth_value_usd
from recobro.contract import CHANNELS


def _portfolio(n: int, seed: int, past_due_share: float = 0.8) -> dict:
    """Accounts whose true value favours SMS when f1 > f2 and agent calls otherwise."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.random(n), rng.random(n)
    ids = [f"ACC-{i:07d}" for i in range(1, n + 1)]
    past_due = np.where(rng.random(n) < past_due_share, 100.0, 0.0)
    truth = {"account_id": ids, "past_due": past_due}
    for c in CHANNELS:
        truth[f"incremental_value_{c}"] = np.zeros(n)
    truth["incremental_value_sms"] = 2.0 * f1
    truth["incremental_value_agent_call"] = 2.0 * f2
    truth = pd.DataFrame(truth)
    # accounts with nothing past due carry absurd values: a scorer that learnt from them would fail
    truth.loc[past_due == 0, "incremental_value_letter"] = 1e6
    scoring = pd.DataFrame({"account_id": ids, "currency": "USD", "f1": f1, "f2": f2})
    accounts = pd.DataFrame({"account_id": ids, "currency": "USD", "last_channel": "email"})
    return {"scoring": scoring, "truth": truth, "accounts": accounts}


def test_distilled_scorer_ranks_channels_like_the_truth_and_learns_only_from_valued_accounts():
    source, target = _portfolio(4000, seed=1), _portfolio(1000, seed=2)
    predicted, r2 = distilled_values(source, target["scoring"], ["f1", "f2"])
    value, past_due = truth_value_usd(target)
    assert predicted.shape == (1000, len(CHANNELS))
    agree = (predicted[past_due].argmax(axis=1) == value[past_due].argmax(axis=1)).mean()
    assert agree > 0.9
    assert r2["sms"] > 0.9 and r2["agent_call"] > 0.9
    assert np.abs(predicted[:, CHANNELS.index("letter")]).max() < 1.0


def test_card_frame_keeps_the_past_due_accounts_and_their_scoring_rows():
    p = _portfolio(50, seed=3, past_due_share=0.5)
    p["scoring"] = p["scoring"].iloc[::-1].reset_index(drop=True)  # scoring order is not account order
    frame, rows = card_frame(p)
    expected = p["scoring"]["account_id"].isin(p["truth"].loc[p["truth"]["past_due"] > 0, "account_id"])
    assert list(rows) == list(np.flatnonzero(expected.to_numpy()))
    assert list(frame["account_id"]) == list(p["scoring"]["account_id"].iloc[rows])
    assert (frame["past_due"] > 0).all() and set(frame["last_channel"]) == {"email"}
