"""How much of the oracle's gain a channel score on the model's own features could capture (issue 5).

The channel card shows what the model's choice captures. It does not say why the rest is missed:
the learner, or what the features know. `features_ceiling` separates the two on the simulator.

Two portfolios are simulated for one scenario: the evaluation one and a source one (the next seed,
usually larger). On the source portfolio, one LightGBM regression per channel learns the truth's own
net incremental value (USD) from the channel model's features at as_of. No learner gets more from
the logs, because this one is shown the very quantity the oracle ranks by. Its choices on the
evaluation portfolio estimate the most that these features support. The estimate is a floor of
that ceiling: it grows with the source portfolio.

Each scorer is scored in the card's protocol (`channel_card.choice_values`): one contact per
account at as_of, through the channel the scorer ranks first among the reachable ones, valued by
the truth. The scorers are the distilled one, the channel model fitted on each portfolio's logs,
and the SMS-first rule (and the oracle and the last logged channel, which define the share).

One more scorer prices the feature policy: `distilled_with_age` is the distilled scorer given the
customer's birth year as well. In the simulator, as DOMAIN.md describes debtors, age drives which
channel a person engages with, and the features see it only through a few logged responses. The policy
forbids age as a model input (`models.policy`), so this scorer is a diagnostic only: it runs on
simulated portfolios, is never registered and never scores an account. It shows how much of the
gap to the oracle is the price of the policy, so that nobody reads it as a learner's fault, and
nobody closes it by giving a model the customer's age.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS


def truth_value_usd(frame: pd.DataFrame) -> np.ndarray:
    """(rows, channels) truth net incremental value in USD of a `channel_card.past_due_accounts` frame."""
    from models.channel_train import fx_to_usd

    value = np.column_stack([frame[f"incremental_value_{c}"].to_numpy(dtype="float64") for c in CHANNELS])
    return value * fx_to_usd(frame["currency"])[:, None]


def account_birth_years(delivery: Path) -> pd.DataFrame:
    """account_id and its customer's birth_year, read from a simulated delivery's parquet files."""
    accounts = pd.read_parquet(delivery / "accounts.parquet", columns=["account_id", "customer_id"])
    customers = pd.read_parquet(delivery / "customers.parquet", columns=["customer_id", "birth_year"])
    frame = accounts.merge(customers, on="customer_id", how="left")
    return frame.assign(birth_year=pd.to_numeric(frame["birth_year"], errors="coerce"))[["account_id", "birth_year"]]


def distilled_values(source: pd.DataFrame, target: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, dict]:
    """Per channel: a regression of the `source` accounts' truth value (USD) on `features`
    (`models.truth.truth_booster`), applied to the `target` accounts; both are
    `channel_card.past_due_accounts` frames. Returns the (target rows, channels) predictions and
    the R^2 per channel on the source (in sample)."""
    from models.estimator import as_matrix
    from models.truth import truth_booster

    value = truth_value_usd(source)
    X, T = as_matrix(source, features), as_matrix(target, features)
    out, r2 = np.zeros((len(target), len(CHANNELS))), {}
    for k, c in enumerate(CHANNELS):
        booster = truth_booster(source, value[:, k], features, objective="regression")
        out[:, k] = booster.predict(T)
        y = value[:, k]
        r2[c] = float(1.0 - np.mean((booster.predict(X) - y) ** 2) / np.var(y)) if np.var(y) > 0 else float("nan")
    return out, r2


def features_ceiling(n_accounts: int = 20_000, source_accounts: int = 100_000, history_days: int = 180,
                     seed: int = 5, scenario: str = "default", model_params: dict | None = None) -> dict:
    """Captured share of the oracle's gain over the logged channel, in the card's protocol, on the
    evaluation portfolio (`seed`) for: the channel model fitted on its own logs (`model`) and on the
    source portfolio's (`model_source_logs`, seed + 1, `source_accounts`), the truth-distilled scorer
    (`distilled`), the same given the forbidden birth year (`distilled_with_age`, a diagnostic) and
    the SMS-first rule. Also the rows scored and the distilled fit's R^2."""
    from models.channel import fit_channel_model
    from models.channel_card import choice_values, past_due_accounts
    from models.channel_eval import simulated_portfolio
    from models.channel_train import net_value_usd

    params = dict(model_params or {})
    with tempfile.TemporaryDirectory(prefix="recobro-ceiling-") as scratch:
        portfolios = {"evaluation": (n_accounts, seed), "source": (source_accounts, seed + 1)}
        evaluation, source = (simulated_portfolio(n, history_days, s, scenario, Path(scratch) / k)
                              for k, (n, s) in portfolios.items())
        birth_year = {k: account_birth_years(Path(scratch) / k / "delivery") for k in portfolios}
    frame = past_due_accounts(evaluation["scoring"], evaluation["accounts"], evaluation["truth"])
    model = fit_channel_model(evaluation["train"], **params)
    features = list(model.feature_names_)
    scorers = {
        "model": net_value_usd(model, frame)[list(CHANNELS)].to_numpy(),
        "model_source_logs": net_value_usd(fit_channel_model(source["train"], **params),
                                           frame)[list(CHANNELS)].to_numpy(),
    }
    source_frame = past_due_accounts(source["scoring"], source["accounts"], source["truth"])
    scorers["distilled"], r2 = distilled_values(source_frame, frame, features)
    # the policy's price (diagnostic only, see the module docstring): the same fit, with the birth year
    scorers["distilled_with_age"], _ = distilled_values(
        source_frame.merge(birth_year["source"], on="account_id", how="left"),
        frame.merge(birth_year["evaluation"], on="account_id", how="left"), features + ["birth_year"])
    result = {"rows": 0, "captured": {}, "mean_value_usd": {}, "distilled_r2_source": r2,
              "accounts": {"evaluation": n_accounts, "source": source_accounts}}
    for name, predicted in scorers.items():
        card = choice_values(frame, predicted)
        if not card.get("comparable"):
            return result
        result["rows"] = card["rows"]
        result["captured"][name] = card["captured_share"]["model"]
        result["mean_value_usd"][name] = card["mean_value_usd"]["model"]
    result["captured"]["sms_first"] = card["captured_share"]["sms_first"]
    result["mean_value_usd"].update({p: card["mean_value_usd"][p] for p in ("oracle", "logged", "sms_first")})
    return result
