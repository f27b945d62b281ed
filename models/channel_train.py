"""Training and registering the channel response model (issue 5): `train_channel_response` ->
one MLflow run and one version of `recobro_channel_response` (alias `champion` first, then `challenger`).

The logging conventions are `models.train`'s (fingerprint tag, reuse of an identical
champion/challenger, data fingerprint not rows, no input example, inventory record); its helpers
are imported, not copied. The model is fit on the earlier ~80% of decision dates and evaluated on
the rest without the truth: a self-normalised inverse-propensity (SNIPS) estimate of the value per
contact of sending every held-out contact through the model's best channel, next to what the
logged policy's channels realised on the same contacts, plus the outcome fit of the logged arm.
The registered model is exactly the evaluated one.
"""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pandas as pd

from models.channel import ChannelResponseModel, fit_channel_model
from models.channel_data import TABLE, load_training_frame
from models.estimator import as_matrix, later_slice
from models.inventory import record_inventory
from models.policy import check_feature_policy
from models.registry import REGISTERED_NAMES, ensure_experiment, use_tracking, version_by_alias
from models.train import (EVALUATION_FRACTION, FINGERPRINT_TAG, TrainedModel, code_version, data_fingerprint,
                          reused_version, sample_params)

log = logging.getLogger(__name__)

TARGET = "channel_response"
OUTCOME = "paid_share_30d"
#: the model's parameters when none are given (see models.channel for why the arm models are short)
DEFAULT_PARAMS: dict = {}


def channel_costs_usd() -> dict[str, float]:
    """Unit cost per channel in USD from the strategy catalog (one source for decide and the model)."""
    from decisioning.catalog import channel_cost_usd

    return channel_cost_usd()


def fx_to_usd(currency: pd.Series) -> np.ndarray:
    """Rough rate to USD per row (catalog FX_TO_USD; NaN for an unknown currency)."""
    from decisioning.catalog import FX_TO_USD

    return currency.map(FX_TO_USD).astype("float64").to_numpy()


def net_value_usd(model: ChannelResponseModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per row and channel: uplift x past-due amount in USD - the channel's catalog cost (USD).

    Grain: one row per row of `frame` (needs currency, past_due_amount and the model's features).
    """
    up = model.uplift(frame)
    stake = frame["past_due_amount"].astype("float64").clip(lower=0).to_numpy() * fx_to_usd(frame["currency"])
    costs = channel_costs_usd()
    cost = np.array([costs.get(c, np.nan) for c in up.columns])
    return pd.DataFrame(up.to_numpy() * stake[:, None] - cost[None, :], index=frame.index, columns=up.columns)


def off_policy_value(model: ChannelResponseModel, frame: pd.DataFrame) -> dict:
    """Truth-free held-out evaluation of the model's channel choice on logged contacts (USD per contact).

    Among contacted rows, the model's policy keeps the contact and picks the argmax channel of
    `net_value_usd`. Its value is estimated by SNIPS with weights 1 / P(channel | contacted, x) =
    P̂(contact | x) / logged propensity (the logged propensity is P(contact and this channel)).
    `logged_value` is the mean realised net of the logged channels on the same rows; `gain` the
    difference; `ess` the effective sample size of the matched rows; `match_rate` the share of
    contacts whose logged channel is the model's choice; `outcome_rmse` the fit of the predicted
    outcome of the logged arm (every held-out row, including no-contact days).
    """
    outcomes = model.predict_outcomes(frame)
    arms = frame["arm"].to_numpy()
    logged_pred = outcomes.to_numpy()[np.arange(len(frame)), [outcomes.columns.get_loc(a) for a in arms]]
    y = frame[OUTCOME].astype("float64").to_numpy()
    sq = (logged_pred - y) ** 2 * frame["none_sample_weight"].to_numpy()
    out = {"outcome_rmse": float(np.sqrt(np.nansum(sq) / frame["none_sample_weight"].sum()))}
    c = frame[frame["arm"] != "none"]
    if c.empty:
        return {**out, "policy_value": np.nan, "logged_value": np.nan, "gain": np.nan, "ess": 0.0, "match_rate": np.nan}
    value = net_value_usd(model, c)
    choice = value.columns.to_numpy()[np.nan_to_num(value.to_numpy(), nan=-np.inf).argmax(axis=1)]
    costs = channel_costs_usd()
    realised = (c[OUTCOME].astype("float64").to_numpy() * c["past_due_amount"].astype("float64").to_numpy()
                * fx_to_usd(c["currency"]) - c["arm"].map(costs).astype("float64").to_numpy())
    p_contact = (model.contact_model_.predict(as_matrix(c, model.feature_names_)) if getattr(model, "contact_model_", None) is not None
                 else np.ones(len(c)))
    p_channel = np.clip(c["propensity"].astype("float64").to_numpy() / np.clip(p_contact, 1e-3, 1), 1e-3, 1)
    w = (choice == c["arm"].to_numpy()) / p_channel
    ok = np.isfinite(realised)
    w, realised = w[ok], realised[ok]
    policy = float((w * realised).sum() / w.sum()) if w.sum() > 0 else np.nan
    logged = float(realised.mean())
    return {**out, "policy_value": policy, "logged_value": logged, "gain": policy - logged,
            "ess": float(w.sum() ** 2 / (w ** 2).sum()) if w.sum() > 0 else 0.0,
            "match_rate": float(np.mean(choice[ok] == c["arm"].to_numpy()[ok]))}


def fit_and_evaluate_channel(frame: pd.DataFrame, params: dict | None = None):
    """Fit on the earlier decision dates, evaluate on the last ~20% -> (model, metrics)."""
    late = later_slice(frame["decision_date"], EVALUATION_FRACTION)
    fit_rows, eval_rows = frame[~late], frame[late]
    model = fit_channel_model(fit_rows, target=OUTCOME, **(params or {}))
    metrics = {f"heldout_{k}": v for k, v in off_policy_value(model, eval_rows).items()}
    metrics.update(fit_rows=int(len(fit_rows)), eval_rows=int(len(eval_rows)),
                   **{f"fit_rows_{a}": int(n) for a, n in model.arm_rows_.items()})
    return model, metrics


def _fingerprint_frame(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The training rows in `models.train.data_fingerprint`'s shape (as_of = decision date, label = outcome)."""
    keep = ["decision_date", "account_id", "arm", "propensity", "none_sample_weight", "past_due_amount", "currency",
            OUTCOME, *[c for c in ("engaged", "responded") if c in frame], *features]
    return frame[keep].rename(columns={"decision_date": "as_of"}).assign(label=frame[OUTCOME])


def train_channel_model(con, settings, as_of, params: dict | None = None, table: str = TABLE) -> TrainedModel:
    """Train, log and register `recobro_channel_response` from `train_channel_response` (or reuse it).

    Input grain: one row per logged decision (account x decision day). Returns what `models.train`
    returns for the other targets.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    name = REGISTERED_NAMES[TARGET]
    frame = load_training_frame(con, table)
    check_feature_policy(list(frame.columns), where=f"table {table}")
    if frame.empty:
        raise ValueError(f"{table} has no matured decisions before {as_of}")
    params = {**DEFAULT_PARAMS, **(params or {})}
    model_params = ChannelResponseModel(**params).get_params()
    features = list(model_params.pop("features") or _default_features())
    model_params["arms"] = list(model_params["arms"])
    check_feature_policy(features, where=f"feature list for {TARGET}")
    fp_data = data_fingerprint(_fingerprint_frame(frame, features))
    fingerprint = hashlib.sha256(json.dumps(
        {"target": TARGET, "data": fp_data["sha256"], "features": features, "params": model_params,
         "costs": channel_costs_usd(), "evaluation_fraction": EVALUATION_FRACTION}, sort_keys=True).encode()).hexdigest()

    use_tracking(settings)
    experiment_id = ensure_experiment(settings)
    reused = reused_version(name, TARGET, fingerprint, features)
    if reused is not None:
        return reused

    model, metrics = fit_and_evaluate_channel(frame, {**params, "features": features})
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{TARGET}-{as_of}") as run:
        mlflow.log_params({**{k: (json.dumps(v) if isinstance(v, list) else v) for k, v in model_params.items()
                              if v is not None},
                           "target": TARGET, "outcome": OUTCOME, "as_of": str(as_of), "n_features": len(features),
                           "evaluation_fraction": EVALUATION_FRACTION, **sample_params(con, table),
                           **{f"data_{k}": v for k, v in fp_data.items()}})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)})
        mlflow.set_tags({FINGERPRINT_TAG: fingerprint, "recobro.target": TARGET,
                         "recobro.code_version": code_version(), "mlflow.source.git.commit": code_version()})
        mlflow.log_dict({"features": features}, "features.json")
        mlflow.log_dict(fp_data, "data_fingerprint.json")
        mlflow.log_dict({"channel_cost_usd": channel_costs_usd()}, "channel_costs.json")
        logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
        import lightgbm

        info = mlflow.sklearn.log_model(
            model, name="model", serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            input_example=None,
            pip_requirements=[f"lightgbm=={lightgbm.__version__}", "cloudpickle", "pandas", "numpy"],
        )
    mv = mlflow.register_model(info.model_uri, name, tags={FINGERPRINT_TAG: fingerprint})
    alias = "challenger" if version_by_alias(name, "champion") is not None else "champion"
    MlflowClient().set_registered_model_alias(name, alias, str(mv.version))
    record_inventory(name, TARGET, features)
    log.info("%s: registered %s v%s as %s (held-out SNIPS gain %.4f USD per contact)", TARGET, name, mv.version,
             alias, metrics.get("heldout_gain", np.nan))
    return TrainedModel(TARGET, name, str(mv.version), run.info.run_id, alias, False, metrics)


def _default_features() -> list[str]:
    from features.build import FEATURE_COLUMNS

    return list(FEATURE_COLUMNS)
