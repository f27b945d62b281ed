"""Model cards: one markdown page per champion, logged to the champion's MLflow run.

The channel response model's card is `models.channel_card`'s. A promise_kept or pay_30d card
holds the inventory record (SR 11-7), the out-of-time back-test of the champion next to a
logistic regression on the same features and the rules baseline, ECE and a reliability table,
the distance to the Bayes AUC measured on the simulator's truth (split by a scorer fitted to the
truth itself into the learner's part and the features' part), and the feature policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from models.registry import REGISTERED_NAMES, load_champion, use_tracking, version_by_alias

TARGETS = ("promise_kept", "pay_30d", "channel_response")
METRICS = ("auc", "log_loss", "brier", "ece", "mean_p")


def card_data(con, settings, as_of, truth_dir, target: str) -> dict:
    """Everything one card shows, as plain numbers and strings (also written as JSON next to the card)."""
    from models.baseline import RulesBaseline
    from models.evaluate import reliability_table
    from models.inventory import inventory_record
    from models.policy import forbidden_columns
    from models.promotion import back_test
    from models.truth import (account_features_at, pay_distilled, pay_truth, promise_distilled, promise_truth,
                              truth_as_of)

    name = REGISTERED_NAMES[target]
    model, version = load_champion(settings, name)
    mv = version_by_alias(name, "champion")
    features = list(model.feature_names_)
    # the champion's out-of-time back-test, as the promotion gate runs it, plus a logistic regression
    bt = back_test(con, as_of, target, model, logistic_regression=True)
    fit_df, eval_df = bt["fit_df"], bt["eval_df"]
    shown = {"challenger": "model"}  # the card's name for the champion it describes
    models = {shown.get(k, k): m for k, m in bt["models"].items()}
    scores = {shown.get(k, k): p for k, p in bt["scores"].items()}
    data = {
        "name": name, "version": version, "run_id": mv.run_id, "target": target, "as_of": str(as_of),
        "inventory": inventory_record(target, features),
        "rules": RulesBaseline().describe(),
        "rows": {"fit": int(len(fit_df)), "out_of_time": int(len(eval_df)),
                 "out_of_time_from": str(pd.Timestamp(eval_df["as_of"].min()).date()),
                 "out_of_time_to": str(pd.Timestamp(eval_df["as_of"].max()).date())},
        "metrics": {shown.get(k, k): m for k, m in bt["metrics"].items()},
        "reliability": reliability_table(eval_df["label"].to_numpy(), scores["model"]).to_dict(orient="records"),
        "forbidden_features": forbidden_columns(features),
    }
    if target == "promise_kept":
        data["truth"] = promise_truth(eval_df, {**scores, **promise_distilled(fit_df, eval_df, features, truth_dir)},
                                      truth_dir)
    else:
        when = truth_as_of(truth_dir)
        accounts = account_features_at(con, when, features) if when is not None else pd.DataFrame()
        truth_scores = ({**{k: m.predict_proba(accounts)[:, 1] for k, m in models.items()},
                         **pay_distilled(accounts, features, truth_dir)} if len(accounts) else {})
        data["truth"] = pay_truth(accounts, truth_scores, truth_dir) if len(accounts) else {"comparable": False}
    return data


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, (float, np.floating)) and np.isfinite(v) else str(v)


def _table(rows: list[dict], columns: list[str]) -> list[str]:
    head = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return head + ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]


def _truth_lines(data: dict) -> list[str]:
    t = data["truth"]
    if not t.get("comparable"):
        return ["Not comparable: no truth rows join this model's evaluation rows "
                f"({t.get('rows', 0)} rows joined)."]
    models = ("model", "logistic_regression", "rules_baseline")
    if data["target"] == "promise_kept":
        lines = [f"{t['rows']} matured out-of-time promises join `truth_promises` (of {t['eval_rows']}); "
                 f"the training label agrees with the simulator's `kept` on {t['label_agrees_with_truth']:.1%}.", ""]
        rows = [{"scorer": "truth (p_keep, with the per-promise noise)", "AUC (realised)": t["bayes_auc"],
                 "expected AUC": t["bayes_expected_auc"]}]
        if "bayes_auc_knowable" in t:
            lines += [
                f"**Bayes AUC: {t['bayes_auc_knowable']:.4f}**, the AUC of `p_keep_knowable`; model AUC on the same rows "
                f"{t['model_auc']:.4f} -> gap **{t['gap']:.4f}**.", "",
                "`p_keep_knowable` is the simulator's keep probability with the per-promise noise "
                "(N(0, KEEP_NOISE_SD), drawn fresh for each promise and observable by nobody) integrated out. It knows "
                "every latent trait of the debtor (reason for non-payment, capacity), which the model must infer from "
                "behaviour, but not the noise, which is outcome randomness: it is the best probability anyone could "
                "state when the promise is made, so it is the Bayes reference. The AUC of `p_keep` as drawn, "
                f"{t['bayes_auc']:.4f} (gap {t['gap_with_noise']:.4f}), also scores that noise and no predictor can reach it.", "",
                f"Calibration floor: the knowable truth's own ECE on these rows is {t['bayes_ece_knowable']:.4f} "
                "(sampling noise of the realised labels); a model ECE near it is as calibrated as these rows can show.", ""]
            rows.append({"scorer": "truth (p_keep_knowable, the Bayes reference)", "AUC (realised)": t["bayes_auc_knowable"],
                         "expected AUC": t["bayes_expected_auc_knowable"]})
        else:  # truth files written before p_keep_knowable existed
            lines += [f"**Bayes AUC** (AUC of the true p_keep on the realised labels, which includes the per-promise "
                      f"noise): **{t['bayes_auc']:.4f}**; model AUC on the same rows {t['model_auc']:.4f} -> gap "
                      f"**{t['gap']:.4f}**.", ""]
        if "observable_auc" in t:
            lines += [f"**Bayes AUC on what a lender observes: {t['observable_auc']:.4f}**, the AUC of "
                      "`p_keep_observable`: the keep probability averaged over the debtor's latent reason and capacity "
                      "as their observable history (payments, contacts, promises, holds) weighs them, computed by "
                      "re-running the simulator with an observer (`simulator.observable`). It is an upper bound: the "
                      "observer is also told the debtor's evening responsiveness. "
                      f"Model AUC on the same {t['observable_rows']} rows {t['observable_model_auc']:.4f} -> gap "
                      f"**{t['observable_gap']:.4f}**."
                      + (f" The remaining {t['unobservable_gap']:.4f} up to the Bayes AUC above needs the latent "
                         "traits themselves: no model of the observable history can close it."
                         if "unobservable_gap" in t else ""), ""]
            rows.append({"scorer": "truth (p_keep_observable, Bayes on observables)", "AUC (realised)": t["observable_auc"],
                         "ECE (labels)": t["observable_ece"]})
        if "model_ece_vs_truth" in t:
            lines += [f"**Calibration against the truth**: the model's ECE measured against `p_keep_knowable` (the "
                      f"same 10 bins, the true probability in place of its 0/1 draw) is **{t['model_ece_vs_truth']:.4f}**; "
                      f"against the realised labels it is {t['model_ece']:.4f}, next to the floor above.", ""]
        if "truth_distilled_auc" in t:
            models += ("truth_distilled",)
            lines += [f"**What these features support**: a LightGBM fitted to `p_keep_knowable` itself (not to the "
                      "labels) on the fit period's promises, with the model's features, scores AUC "
                      f"**{t['truth_distilled_auc']:.4f}** here (`truth_distilled`). Of the model's gap to the Bayes AUC, "
                      f"{t['truth_distilled_auc'] - t['model_auc']:.4f} is the learner's (model vs truth_distilled) and "
                      f"{t.get('bayes_auc_knowable', t['bayes_auc']) - t['truth_distilled_auc']:.4f} is what the features "
                      "do not carry.", ""]
        rows += [{"scorer": k, "AUC (realised)": t[f"{k}_auc"], "expected AUC": t[f"{k}_expected_auc"],
                  "ECE (labels)": t[f"{k}_ece"], "ECE (vs truth)": t.get(f"{k}_ece_vs_truth", "")} for k in models]
        return lines + _table(rows, ["scorer", "AUC (realised)", "expected AUC", "ECE (labels)", "ECE (vs truth)"])
    if "truth_distilled_expected_auc" in t:
        models += ("truth_distilled",)
    lines = [f"{t['rows']} live accounts at the truth's as_of {t['truth_as_of']}, scored with features at that date. "
             "The simulator stops at that date, so the 30 days after it are never realised: there is no label. "
             "The comparison uses the **expected AUC** when outcomes are Bernoulli(truth). The truth is "
             "`p_pay_30d_no_contact` (payment had nobody been contacted) while the model predicts payment under "
             "the logged contact policy, so its mean is expected to sit above the truth's. The two rank accounts "
             "differently too (a reminder moves a forgetful debtor, not a disputer), so part of this gap is the "
             "difference between the two questions, not the model: "
             + (f"`p_pay_30d_bau`, the truth of the model's own question ({t['bau']['runs']}-run estimate), "
                f"scores {t['bau_truth_expected_auc']:.4f} "
                f"here ({t['bayes_expected_auc'] - t['bau_truth_expected_auc']:.4f} below the Bayes expected AUC). "
                "The comparison with the model's own question follows the table." if "bau_truth_expected_auc" in t else
                "a perfect predictor of payment under the logged policy scores well below the Bayes expected AUC "
                "here."), "",
             f"**Bayes expected AUC**: **{t['bayes_expected_auc']:.4f}**; model {t['model_expected_auc']:.4f} -> "
             f"gap **{t['expected_gap']:.4f}**. Mean truth p {t['mean_p_true']:.4f}. Truth column: `{t['reference']}`"
             + (" (an open promise's payment averaged over its keep noise rather than read from the outcome the "
                f"simulator drew; with the drawn outcome the Bayes expected AUC would be {t['bayes_expected_auc_drawn']:.4f})."
                if t["reference"].endswith("_knowable") else "."), ""]
    if "observable_gap" in t:
        lines += [f"**Bayes expected AUC on what a lender observes: {t['observable_expected_auc']:.4f}** "
                  "(`p_pay_30d_no_contact_observable`: the same truth averaged over the debtor's reason and capacity "
                  "as their observable history weighs them; an upper bound, as on the promise card); model gap to it "
                  f"**{t['observable_gap']:.4f}**. The remaining {t['unobservable_gap']:.4f} needs the latent traits.", ""]
    rows = [{"scorer": f"truth ({t['reference']})", "expected AUC": t["bayes_expected_auc"], "spearman": 1.0,
             "mean p": t["mean_p_true"]}]
    if "bau_truth_expected_auc" in t:
        rows.append({"scorer": "truth of the model's question (p_pay_30d_bau)",
                     "expected AUC": t["bau_truth_expected_auc"], "mean p": t["bau"]["mean_p"]})
    rows += [{"scorer": k, "expected AUC": t[f"{k}_expected_auc"], "spearman": t[f"{k}_spearman"],
              "mean p": t[f"{k}_mean_p"]} for k in models]
    lines += _table(rows, ["scorer", "expected AUC", "spearman", "mean p"])
    return lines + [""] + _bau_lines(t, models)


def _bau_lines(t: dict, models) -> list[str]:
    """The pay_30d comparison against `p_pay_30d_bau`, the model's own question, when the truth has it."""
    b = t.get("bau", {})
    if not b.get("available"):
        return ["The truth files have no `p_pay_30d_bau` (written before it existed, or with "
                "`--bau-truth-runs 0`), so the model is compared with the no-contact question only."]
    by_runs = b.get("bayes_expected_auc_by_runs", {})
    lines = [
        "### Against the model's own question: payment under the logged (BAU) policy", "",
        "The model is trained on history under the logged contact policy, so the question it answers is "
        "`p_pay_30d_bau`: P(payment in the 30 days after as_of | the BAU policy keeps running). The simulator "
        f"estimates it as the share of {b['runs']} BAU play-forwards in which the account pays (Monte Carlo "
        f"standard error {_fmt(b['mean_se'])} per account on average), so this truth is itself noisy. Scored "
        "against itself the estimate is flattered by its noise "
        f"({b['bayes_expected_auc_self']:.4f}); the average of k runs scored against the other runs is unbiased "
        "for a k-run truth ("
        + ", ".join(f"{k} runs {v:.4f}" for k, v in by_runs.items())
        + "), and its deficit shrinks as 1/k, so the Bayes expected AUC is extrapolated to infinitely many runs.", ""]
    if "bayes_expected_auc" in b:
        lines += [f"**Bayes expected AUC (BAU)**: **{b['bayes_expected_auc']:.4f}**; model {b['model_expected_auc']:.4f} "
                  f"-> gap **{b['expected_gap']:.4f}**. Mean truth p {b['mean_p']:.4f}. This is the reference for "
                  "the model's own question; the no-contact comparison above asks what would happen with no contact "
                  "at all.", "", f"**Calibration against this truth**: the model's ECE against `p_pay_30d_bau` (10 bins, each "
                  f"averaging thousands of accounts' Monte Carlo estimates) is **{b['model_ece_vs_truth']:.4f}**.", ""]
        if "truth_distilled_expected_auc" in b:
            lines += [f"**What these features support**: LightGBMs fitted to `p_pay_30d_bau` itself (not to labels) with "
                      "the model's features, cross-fitted over five folds of these accounts, score expected AUC "
                      f"**{b['truth_distilled_expected_auc']:.4f}** (`truth_distilled`). Of the model's gap, "
                      f"{b['truth_distilled_expected_auc'] - b['model_expected_auc']:.4f} is the learner's and "
                      f"{b['bayes_expected_auc'] - b['truth_distilled_expected_auc']:.4f} is what the features do not "
                      "carry.", ""]
        if "observable_gap" in b:
            lines += [f"**Bayes expected AUC (BAU) on what a lender observes: {b['observable_expected_auc']:.4f}**: "
                      "BAU play-forwards of worlds whose debtors' reason and capacity are drawn from their posterior "
                      "given the observable history (`p_pay_30d_bau_observable`, one draw per run, extrapolated to "
                      "infinitely many runs from "
                      + ", ".join(f"{k} runs {v:.4f}" for k, v in b["observable_expected_auc_by_runs"].items())
                      + f"); an upper bound, as on the promise card. Model gap to it **{b['observable_gap']:.4f}**; "
                      f"the remaining {b['unobservable_gap']:.4f} needs the latent traits.", ""]
    else:
        lines += [f"Too few runs to extrapolate the truth's noise away: the model's expected AUC "
                  f"{b['model_expected_auc']:.4f} is to be read against the noisy truth's "
                  f"{b['bayes_expected_auc_self']:.4f}, an overstatement.", ""]
    rows = ([{"scorer": "truth (p_pay_30d_bau, extrapolated to no Monte Carlo noise)",
              "expected AUC": b["bayes_expected_auc"], "mean p": b["mean_p"]}] if "bayes_expected_auc" in b else [])
    rows += [{"scorer": f"truth ({k} runs, against the other runs)", "expected AUC": v} for k, v in by_runs.items()]
    rows += [{"scorer": f"truth (p_pay_30d_bau against itself, {b['runs']} runs)",
              "expected AUC": b["bayes_expected_auc_self"], "spearman": 1.0, "mean p": b["mean_p"]}]
    rows += [{"scorer": k, "expected AUC": b[f"{k}_expected_auc"], "spearman": b[f"{k}_spearman"],
              "mean p": t[f"{k}_mean_p"], "ECE (vs truth)": b[f"{k}_ece_vs_truth"]} for k in models]
    return lines + _table(rows, ["scorer", "expected AUC", "spearman", "mean p", "ECE (vs truth)"])


def render_card(data: dict) -> str:
    """The card of `card_data` as markdown."""
    from models.inventory import inventory_markdown

    m, r = data["metrics"], data["rows"]
    policy = ("**passed**, no personal, protected or vulnerability feature is an input"
              if not data["forbidden_features"] else f"**VIOLATED** by {data['forbidden_features']}")
    lines = [
        f"# Model card: {data['name']} v{data['version']} ({data['target']})", "",
        f"Champion at as_of {data['as_of']}; MLflow run `{data['run_id']}`.", "",
        "## Inventory record (SR 11-7)", "", inventory_markdown(data["inventory"]), "",
        "## Out-of-time back-test", "",
        f"Fitted on {r['fit']} rows; evaluated on {r['out_of_time']} rows with as_of from {r['out_of_time_from']} "
        f"to {r['out_of_time_to']} (the last ~20% of dates, never seen in fitting). Baselines are fitted on the "
        "same earlier rows.", "",
        *_table([{"model": k, **v} for k, v in m.items()], ["model", *METRICS, "label_rate"]), "",
        f"Gain over the rules baseline: AUC {m['model']['auc'] - m['rules_baseline']['auc']:+.4f}; over "
        f"logistic regression: AUC {m['model']['auc'] - m['logistic_regression']['auc']:+.4f}.", "",
        "Rules baseline (points, then a one-variable logistic fit): " + "; ".join(data["rules"]) + ".", "",
        "## Calibration (out-of-time)", "",
        f"Expected calibration error (10 equal-width bins): **{m['model']['ece']:.4f}**.", "",
        *_table(data["reliability"], ["bin", "rows", "mean_predicted", "observed_rate", "gap"]), "",
        "## Against the simulator's truth", "", *_truth_lines(data), "",
        "## Feature policy", "",
        f"Feature policy check: {policy}. {data['inventory']['feature_policy']}", "",
    ]
    return "\n".join(lines)


def model_card(con, settings, as_of, truth_dir, targets=TARGETS, log_to_mlflow: bool = True) -> Path:
    """Write `<reports_dir>/model_cards/<as_of>/<name>.md` (+ `.json`) per champion; returns the folder.

    Input: `train_<target>` rows before `as_of`, the champions, the truth files in `truth_dir`.
    Each card is also logged to its champion's MLflow run under `model_card/`.
    """
    from mlflow import MlflowClient

    from models.channel_card import TARGET as CHANNEL, channel_card_data, render_channel_card

    use_tracking(settings)
    folder = Path(settings.reports_dir) / "model_cards" / str(as_of)
    folder.mkdir(parents=True, exist_ok=True)
    for target in targets:
        if target == CHANNEL:
            data = channel_card_data(con, settings, as_of, truth_dir)
            text = render_channel_card(data)
        else:
            data = card_data(con, settings, as_of, truth_dir, target)
            text = render_card(data)
        md = folder / f"{data['name']}.md"
        md.write_text(text, encoding="utf-8")
        (folder / f"{data['name']}.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        if log_to_mlflow:
            MlflowClient().log_artifact(data["run_id"], str(md), "model_card")
            MlflowClient().log_artifact(data["run_id"], str(md.with_suffix(".json")), "model_card")
    return folder
