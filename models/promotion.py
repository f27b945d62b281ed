"""Promotion gate: a challenger becomes champion only after an out-of-time back-test (SR 11-7).

`promote_challenger` scores the champion, the challenger and the rules baseline on exactly the
same rows — those of the last ~20% of as_of dates of `train_<target>` before `as_of`, the
period `models.train` holds out — and promotes only when the challenger

1. beats the champion on AUC and on log loss,
2. beats the rules baseline (`models.baseline.RulesBaseline`, fitted on the earlier rows) on
   AUC and on log loss, and
3. keeps its score distribution stable: PSI of the challenger's out-of-time scores against
   the champion's training-baseline score distribution < 0.10; 0.10-0.25 only with
   `allow_psi_investigate=True`; above 0.25 never.

Every decision, passed or refused, is recorded in MLflow: an MLflow run `promotion-<target>-<as_of>`
(metrics + `decision.json`) and `recobro.promotion.*` tags on the challenger version.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from models.registry import (REGISTERED_NAMES, ModelNotFound, ensure_experiment, load_champion, promote,
                             use_tracking, version_by_alias)

log = logging.getLogger(__name__)
TAG = "recobro.promotion."


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of one promotion gate: promoted or not, and every reason, readable."""

    name: str
    target: str
    as_of: str
    challenger_version: str
    champion_version: str | None
    promoted: bool
    reasons: list[str]
    metrics: dict = field(default_factory=dict)
    psi: float | None = None
    psi_band: str | None = None
    eval_rows: int = 0
    run_id: str | None = None

    def summary(self) -> str:
        verdict = "PROMOTED" if self.promoted else "REFUSED"
        head = (f"{self.name} v{self.challenger_version} {verdict} "
                f"(champion was v{self.champion_version}, {self.eval_rows} out-of-time rows, as_of {self.as_of})")
        return "\n".join([head, *(f"  - {r}" for r in self.reasons)])


def target_of(name: str) -> str:
    """The target (`promise_kept`, `pay_30d`) of registered model `name`."""
    for target, registered in REGISTERED_NAMES.items():
        if registered == name:
            return target
    raise ValueError(f"unknown registered model {name!r}; expected one of {sorted(REGISTERED_NAMES.values())}")


def champion_score_baseline(champion_version, champion, fit_df: pd.DataFrame) -> tuple[dict, str]:
    """The champion's training-baseline score distribution: the artifact logged at training, else
    recomputed from the champion's scores on the earlier (non-evaluation) rows. Returns (baseline, source)."""
    import mlflow.artifacts

    from models.evaluate import score_baseline
    from models.train import SCORE_BASELINE_ARTIFACT

    try:
        return mlflow.artifacts.load_dict(f"runs:/{champion_version.run_id}/{SCORE_BASELINE_ARTIFACT}"), "training run"
    except Exception:  # registries from before the artifact existed
        return score_baseline(champion.predict_proba(fit_df)[:, 1]), "recomputed on the pre-evaluation rows"


def _compare(label: str, mine: dict, theirs: dict, min_auc_gain: float) -> list[tuple[bool, str]]:
    auc_ok = mine["auc"] > theirs["auc"] + min_auc_gain
    ll_ok = mine["log_loss"] < theirs["log_loss"]
    return [
        (auc_ok, f"{'PASS' if auc_ok else 'FAIL'}: AUC {mine['auc']:.4f} vs {label} {theirs['auc']:.4f} "
                 f"({'beats' if auc_ok else 'does not beat'} it{f' by > {min_auc_gain}' if min_auc_gain else ''})"),
        (ll_ok, f"{'PASS' if ll_ok else 'FAIL'}: log loss {mine['log_loss']:.4f} vs {label} {theirs['log_loss']:.4f} "
                f"({'lower' if ll_ok else 'not lower'})"),
    ]


def back_test(con, as_of, target: str, challenger, champion=None, *, logistic_regression: bool = False) -> dict:
    """Out-of-time metrics of challenger, champion and rules baseline on the same rows; with
    `logistic_regression`, also of a logistic regression on the challenger's features, fit on the
    same earlier rows (the model card's baseline).

    Returns {"fit_df", "eval_df", "models": {name: fitted model}, "scores": {name: p}, "metrics": {name: metrics}}.
    """
    from models.baseline import LogisticBaseline, RulesBaseline
    from models.evaluate import classification_metrics
    from models.train import out_of_time_split, read_training_set

    models = {"challenger": challenger, **({"champion": champion} if champion is not None else {})}
    features = list(dict.fromkeys(f for m in models.values() for f in m.feature_names_))
    df, _ = read_training_set(con, target, as_of, features)
    fit_df, eval_df = out_of_time_split(df)
    if logistic_regression:
        models["logistic_regression"] = LogisticBaseline(features=list(challenger.feature_names_)).fit(
            fit_df, fit_df["label"])
    models["rules_baseline"] = RulesBaseline().fit(fit_df, fit_df["label"])
    y = eval_df["label"].to_numpy()
    scores = {k: m.predict_proba(eval_df)[:, 1] for k, m in models.items()}
    metrics = {k: classification_metrics(y, p) for k, p in scores.items()}
    return {"fit_df": fit_df, "eval_df": eval_df, "models": models, "scores": scores, "metrics": metrics}


def promote_challenger(con, settings, name: str, as_of, *, allow_psi_investigate: bool = False,
                       min_auc_gain: float = 0.0) -> PromotionDecision:
    """Back-test `name@challenger` against `name@champion` and the rules baseline; promote if it passes.

    Input: `train_<target>` rows before `as_of` (the out-of-time evaluation rows are rebuilt from
    it). On success the champion becomes `previous_champion` and the challenger `champion`
    (`models.registry.promote`); `models.registry.rollback` undoes it. Raises ModelNotFound when
    there is no challenger. Returns the decision, which is also recorded in MLflow.
    """
    from models.evaluate import PSI_ACT, PSI_STABLE, population_stability_index, psi_band

    name = REGISTERED_NAMES.get(name, name)  # a target name ("pay_30d") is accepted too
    target = target_of(name)
    if target == "channel_response":
        return promote_channel_challenger(con, settings, name, as_of)
    use_tracking(settings)
    challenger, challenger_version = load_champion(settings, name, alias="challenger")
    try:
        champion, champion_version = load_champion(settings, name)
        champion_mv = version_by_alias(name, "champion")
    except ModelNotFound:
        champion, champion_version, champion_mv = None, None, None
    if champion_version == challenger_version:
        raise ValueError(f"{name}@challenger and @champion are the same version {challenger_version}")

    bt = back_test(con, as_of, target, challenger, champion)
    metrics, checks = bt["metrics"], []
    if champion is not None:
        checks += _compare(f"champion v{champion_version}", metrics["challenger"], metrics["champion"], min_auc_gain)
    else:
        checks.append((True, "PASS: no champion to beat (first model of this name)"))
    checks += _compare("rules baseline", metrics["challenger"], metrics["rules_baseline"], 0.0)

    psi = band = None
    if champion is None:
        checks.append((True, "PASS: score PSI not checked: no champion training baseline to compare with"))
    else:
        baseline, source = champion_score_baseline(champion_mv, champion, bt["fit_df"])
        psi = population_stability_index(baseline, bt["scores"]["challenger"])
        own = population_stability_index(baseline, bt["scores"]["champion"])
        band = psi_band(psi)
        allowed = psi < PSI_STABLE or (band == "investigate" and allow_psi_investigate)
        why = {"stable": f"stable (< {PSI_STABLE})",
               "investigate": f"in the investigate band {PSI_STABLE}-{PSI_ACT}"
                              + (", allowed by override" if allow_psi_investigate else
                                 "; refused without allow_psi_investigate"),
               "act": f"above {PSI_ACT}: refused whatever the override"}[band]
        checks.append((allowed, f"{'PASS' if allowed else 'FAIL'}: score PSI {psi:.4f} vs champion's training "
                                f"baseline ({source}) is {why}; the champion itself scores PSI {own:.4f} on these rows"))
        metrics["psi"] = {"challenger": psi, "champion": own}

    promoted = all(ok for ok, _ in checks)
    decision = PromotionDecision(
        name=name, target=target, as_of=str(as_of), challenger_version=challenger_version,
        champion_version=champion_version, promoted=promoted, reasons=[r for _, r in checks],
        metrics=metrics, psi=psi, psi_band=band, eval_rows=len(bt["eval_df"]))
    decision = record_decision(settings, decision)
    if promoted:
        promote(name, "challenger", settings=settings)
    log.info("%s", decision.summary())
    return decision


def promote_channel_challenger(con, settings, name: str, as_of, *, min_gain: float = 0.0) -> PromotionDecision:
    """Gate for the channel response model: off-policy value on the held-out decisions, no truth needed.

    On the last ~20% of decision dates of `train_channel_response` (rebuilt by the train flow), the
    challenger's channel choice must be worth more per contact (SNIPS, USD) than the champion's, and more
    than the logged policy's channels on the same contacts. Recorded like the classifiers' decisions.
    """
    from models.channel_data import load_training_frame
    from models.channel_train import off_policy_value
    from models.estimator import later_slice
    from models.train import EVALUATION_FRACTION

    use_tracking(settings)
    challenger, challenger_version = load_champion(settings, name, alias="challenger")
    try:
        champion, champion_version = load_champion(settings, name)
    except ModelNotFound:
        champion, champion_version = None, None
    if champion_version == challenger_version:
        raise ValueError(f"{name}@challenger and @champion are the same version {challenger_version}")
    frame = load_training_frame(con)
    frame = frame[pd.to_datetime(frame["decision_date"]) < pd.Timestamp(as_of)]
    held = frame[later_slice(frame["decision_date"], EVALUATION_FRACTION)]
    metrics = {"challenger": off_policy_value(challenger, held)}
    if champion is not None:
        metrics["champion"] = off_policy_value(champion, held)
    mine = metrics["challenger"]
    checks = []
    if champion is not None:
        theirs = metrics["champion"]
        ok = mine["policy_value"] > theirs["policy_value"] + min_gain
        checks.append((ok, f"{'PASS' if ok else 'FAIL'}: held-out value per contact {mine['policy_value']:.4f} USD "
                           f"vs champion v{champion_version} {theirs['policy_value']:.4f} (SNIPS)"))
    else:
        checks.append((True, "PASS: no champion to beat (first model of this name)"))
    ok = mine["policy_value"] > mine["logged_value"]
    checks.append((ok, f"{'PASS' if ok else 'FAIL'}: held-out value per contact {mine['policy_value']:.4f} USD vs "
                       f"the logged channels {mine['logged_value']:.4f} (effective sample size {mine['ess']:.0f})"))
    promoted = all(k for k, _ in checks)
    decision = PromotionDecision(
        name=name, target="channel_response", as_of=str(as_of), challenger_version=challenger_version,
        champion_version=champion_version, promoted=promoted, reasons=[r for _, r in checks], metrics=metrics,
        eval_rows=len(held))
    decision = record_decision(settings, decision)
    if promoted:
        promote(name, "challenger", settings=settings)
    log.info("%s", decision.summary())
    return decision


def record_decision(settings, decision: PromotionDecision) -> PromotionDecision:
    """Log the decision as an MLflow run and as tags on the challenger version; returns it with run_id."""
    import mlflow
    from mlflow import MlflowClient

    experiment_id = ensure_experiment(settings)
    flat = {f"{model}_{k}": v for model, m in decision.metrics.items() if model != "psi"
            for k, v in m.items() if np.isfinite(v)}
    if decision.psi is not None:
        flat.update(psi_challenger=decision.metrics["psi"]["challenger"], psi_champion=decision.metrics["psi"]["champion"])
    verdict = "promoted" if decision.promoted else "refused"
    with mlflow.start_run(experiment_id=experiment_id,
                          run_name=f"promotion-{decision.target}-{decision.as_of}") as run:
        mlflow.set_tags({"recobro.kind": "promotion", "recobro.target": decision.target,
                         TAG + "decision": verdict, TAG + "challenger_version": decision.challenger_version,
                         TAG + "champion_version": str(decision.champion_version)})
        mlflow.log_params({"as_of": decision.as_of, "eval_rows": decision.eval_rows})
        mlflow.log_metrics(flat)
        mlflow.log_dict({**asdict(decision), "run_id": run.info.run_id}, "decision.json")
        mlflow.log_text(decision.summary() + "\n", "decision.txt")
    client = MlflowClient()
    tags = {"decision": verdict, "as_of": decision.as_of, "run_id": run.info.run_id,
            "champion_version": str(decision.champion_version), "reasons": "\n".join(decision.reasons)[:5000]}
    for key, value in tags.items():
        client.set_model_version_tag(decision.name, decision.challenger_version, TAG + key, value)
    return PromotionDecision(**{**asdict(decision), "run_id": run.info.run_id})
