"""Evaluation against the simulator's ground truth: how far each model is from the Bayes AUC.

The truth files (`truth_promises`, `truth_accounts` in `truth_dir`) are read with a private
in-memory DuckDB connection and never enter the warehouse. Only ids and latent probabilities
are read; nothing personal.

- promise_kept: `truth_promises.p_keep` is the probability the simulator used for each
  promise, including a per-promise noise draw nobody can observe; `p_keep_knowable` is the
  same probability with that noise integrated out (it still knows the debtor's latent reason
  and capacity). Promise ids join to `train_promise_kept.promise_id`. On the matured
  out-of-time promises the Bayes AUC is the AUC of p_keep_knowable against the realised labels
  (`gap`); the AUC of p_keep is kept as `bayes_auc` / `gap_with_noise`, an unreachable bound.
  Truth files without `p_keep_knowable` fall back to p_keep. `promise_distilled` fits the model's
  features to p_keep_knowable on the fit period: what these features support at best. With
  `p_keep_observable` (simulate --observable-truth) the card also scores the Bayes reference on the
  observable history: `observable_gap` is the model's distance to it, `unobservable_gap` the part of
  the gap to p_keep_knowable that only the debtor's latent traits close.
- pay_30d: `truth_accounts.p_pay_30d_no_contact` is the probability of a payment in the 30 days
  *after* the simulation's end date, had nobody been contacted; it is 1 where an open promise's
  payment is already booked, an outcome drawn with the keep noise. `p_pay_30d_no_contact_knowable`
  averages that outcome instead and is the reference when present. Those 30 days are never
  simulated, so no realised label exists: the comparison uses the expected AUC when outcomes
  are Bernoulli(truth), for the model and for the truth itself (the Bayes AUC).
- pay_30d under BAU: the model is trained on history under the logged (BAU) contact policy, so
  its own question is `truth_accounts.p_pay_30d_bau`, P(payment in those 30 days | BAU keeps
  running), estimated from `bau_runs` simulated play-forwards. That truth is itself noisy: the
  expected AUC of the estimate against itself is inflated by the noise, while scoring the
  average of k of the runs against the average of the others (`bau_paid_q1..4`, paying runs per
  quarter of the runs) is unbiased for a k-run truth. Its Monte Carlo variance shrinks as 1/k, and
  so does its AUC deficit (checked with 128 runs on the default scenario: the extrapolations from
  8/16, 16/32 and 64/96 runs agree within 0.0006), so the Bayes expected AUC is extrapolated to
  k = infinity from the k-run values. Older truth files lack the columns.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from models.estimator import as_matrix


def read_truth(truth_dir, name: str) -> pd.DataFrame:
    """`truth_dir/<name>.parquet` or `.csv` as a DataFrame (FileNotFoundError if neither exists)."""
    import duckdb

    truth_dir = Path(truth_dir)
    for ext, reader in (("parquet", "read_parquet"), ("csv", "read_csv_auto")):
        path = truth_dir / f"{name}.{ext}"
        if path.is_file():
            with duckdb.connect() as con:
                return con.execute(f"select * from {reader}(?)", [str(path)]).df()
    raise FileNotFoundError(f"no {name}.parquet or {name}.csv in {truth_dir}")


def promise_truth(eval_df: pd.DataFrame, scores: dict[str, np.ndarray], truth_dir) -> dict:
    """Model AUCs next to the Bayes AUC on the out-of-time promises the truth marks as matured.

    `eval_df` has promise_id and label; `scores` maps a model label to its probabilities on
    eval_df's rows. Returns counts, AUCs on realised labels, expected AUCs and the gap.
    """
    from sklearn.metrics import roc_auc_score

    from models.evaluate import expected_auc, expected_calibration_error

    truth = read_truth(truth_dir, "truth_promises")
    knowable = "p_keep_knowable" in truth.columns  # truth files written before it lack the column
    observable = "p_keep_observable" in truth.columns  # only with `recobro simulate --observable-truth`
    truth = truth.loc[truth["matured"].astype(bool),
                      ["promise_id", "p_keep", "kept", *(["p_keep_knowable"] if knowable else []),
                       *(["p_keep_observable"] if observable else [])]]
    rows = eval_df[["promise_id", "label"]].reset_index(drop=True).assign(
        **{f"score_{k}": v for k, v in scores.items()}).merge(truth, on="promise_id", how="inner")
    out = {"rows": int(len(rows)), "eval_rows": int(len(eval_df)), "comparable": len(rows) > 0}
    if rows.empty or rows["label"].nunique() < 2:
        out["comparable"] = False
        return out
    y, p_true = rows["label"].to_numpy(), rows["p_keep"].to_numpy(dtype="float64")
    out.update(label_agrees_with_truth=float((rows["kept"].astype(bool) == (y == 1)).mean()),
               mean_p_true=float(p_true.mean()), label_rate=float(y.mean()),
               bayes_auc=float(roc_auc_score(y, p_true)), bayes_expected_auc=expected_auc(p_true, p_true))
    if knowable:
        p_know = rows["p_keep_knowable"].to_numpy(dtype="float64")
        out.update(reference="p_keep_knowable", mean_p_knowable=float(p_know.mean()),
                   # the true probabilities' own ECE on these rows: the sampling-noise floor of ECE
                   bayes_ece_knowable=expected_calibration_error(y, p_know),
                   bayes_auc_knowable=float(roc_auc_score(y, p_know)),
                   bayes_expected_auc_knowable=expected_auc(p_know, p_know))
    for k in scores:
        s = rows[f"score_{k}"].to_numpy()
        out[f"{k}_auc"] = float(roc_auc_score(y, s))
        out[f"{k}_expected_auc"] = expected_auc(s, p_true)
        out[f"{k}_ece"] = expected_calibration_error(y, s)
        if knowable:
            out[f"{k}_expected_auc_knowable"] = expected_auc(s, p_know)
            # calibration against the probability itself instead of its 0/1 draws: the same
            # binned ECE without the labels' sampling noise (`bayes_ece_knowable` measures that noise)
            out[f"{k}_ece_vs_truth"] = expected_calibration_error(p_know, s)
    if observable and "model" in scores:
        out.update(_observable_reference(rows, y, rows["score_model"].to_numpy(), out.get("bayes_auc_knowable")))
    if "model" in scores:
        out["gap_with_noise"] = out["bayes_auc"] - out["model_auc"]
        # the gap that counts: to the best AUC anyone could reach without seeing the per-promise noise
        out["gap"] = out.get("bayes_auc_knowable", out["bayes_auc"]) - out["model_auc"]
        out["expected_gap"] = (out.get("bayes_expected_auc_knowable", out["bayes_expected_auc"])
                               - out.get("model_expected_auc_knowable", out["model_expected_auc"]))
    return out


def _observable_reference(rows: pd.DataFrame, y: np.ndarray, model: np.ndarray, bayes_auc) -> dict:
    """The model next to `p_keep_observable`, the Bayes reference on what a lender can observe (an upper
    bound on it: simulator.observable). Promises the observer could not explain (NaN) are counted and left out."""
    from sklearn.metrics import roc_auc_score

    from models.evaluate import expected_calibration_error

    p = rows["p_keep_observable"].to_numpy(dtype="float64")
    ok = np.isfinite(p)
    out = {"observable_rows": int(ok.sum()), "observable_missing": int((~ok).sum())}
    if ok.sum() == 0 or len(np.unique(y[ok])) < 2:
        return out
    out.update(observable_auc=float(roc_auc_score(y[ok], p[ok])),
               observable_model_auc=float(roc_auc_score(y[ok], model[ok])),
               observable_ece=expected_calibration_error(y[ok], p[ok]))
    # what no model of the observable history can close, and what is left to the model
    out["observable_gap"] = out["observable_auc"] - out["observable_model_auc"]
    if bayes_auc is not None:
        out["unobservable_gap"] = float(roc_auc_score(y[ok], rows["p_keep_knowable"].to_numpy()[ok])) - out["observable_auc"]
    return out


def pay_truth(features: pd.DataFrame, scores: dict[str, np.ndarray], truth_dir) -> dict:
    """Model rankings against `truth_accounts.p_pay_30d_no_contact` on the truth's as_of.

    `features` has account_id (the accounts scored at the truth's as_of, open balance);
    `scores` maps a model label to probabilities on its rows. Only live accounts (truth balance
    > 0; truth p > 0 in older files) are compared. Returns counts, expected AUCs, the Bayes
    expected AUC, rank correlation, and under "bau" the comparison with `p_pay_30d_bau`.
    """
    from scipy.stats import spearmanr

    from models.evaluate import expected_auc

    truth = read_truth(truth_dir, "truth_accounts")
    # the knowable column averages an open promise's payment over its keep noise instead of
    # reading the outcome the simulator already drew; older truth files lack it
    reference = next(c for c in ("p_pay_30d_no_contact_knowable", "p_pay_30d_no_contact") if c in truth.columns)
    bau = [c for c in truth.columns if c.startswith("bau_") or c.startswith("p_pay_30d_bau")
           or c == "p_pay_30d_no_contact_observable"]
    # live = open balance; an open dispute, bankruptcy or death can make a live account's truth 0
    live = "balance" if "balance" in truth.columns else "p_pay_30d_no_contact"
    truth = truth[list(dict.fromkeys(["account_id", "as_of", "p_pay_30d_no_contact", reference, live, *bau]))]
    rows = features[["account_id"]].reset_index(drop=True).assign(
        **{f"score_{k}": v for k, v in scores.items()}).merge(truth, on="account_id", how="inner")
    rows = rows[rows[live] > 0]
    out = {"rows": int(len(rows)), "truth_as_of": str(pd.Timestamp(truth["as_of"].iloc[0]).date()) if len(truth) else None,
           "realised_labels": False, "comparable": len(rows) > 1, "reference": reference}
    if len(rows) < 2:
        return out
    p_drawn = rows["p_pay_30d_no_contact"].to_numpy(dtype="float64")
    p_true = rows[reference].to_numpy(dtype="float64")
    out.update(mean_p_true=float(p_true.mean()), bayes_expected_auc=expected_auc(p_true, p_true),
               bayes_expected_auc_drawn=expected_auc(p_drawn, p_drawn))
    for k in scores:
        s = rows[f"score_{k}"].to_numpy()
        out[f"{k}_expected_auc"] = expected_auc(s, p_true)
        out[f"{k}_mean_p"] = float(s.mean())
        out[f"{k}_spearman"] = float(spearmanr(s, p_true).statistic)
    if "model" in scores:
        out["expected_gap"] = out["bayes_expected_auc"] - out["model_expected_auc"]
    out["bau"] = bau_truth(rows, scores) if {"p_pay_30d_bau", "bau_runs"} <= set(bau) else {"available": False}
    out["model_question"] = "p_pay_30d_bau" if out["bau"]["available"] else None
    if out["bau"]["available"]:
        # a perfect predictor of the model's own question, scored on the no-contact question
        out["bau_truth_expected_auc"] = expected_auc(rows["p_pay_30d_bau"].to_numpy(dtype="float64"), p_true)
    if "p_pay_30d_no_contact_observable" in rows:
        # the Bayes reference on what a lender observes (simulate --observable-truth): an upper bound
        out["observable_expected_auc"] = expected_auc(rows["p_pay_30d_no_contact_observable"].to_numpy(dtype="float64"),
                                                      p_true)
        out["unobservable_gap"] = out["bayes_expected_auc"] - out["observable_expected_auc"]
        if "model" in scores:
            out["observable_gap"] = out["observable_expected_auc"] - out["model_expected_auc"]
    if out["bau"]["available"] and "bau_observable_paid_q1" in rows:
        out["bau"].update(observable_bau_truth(rows, out["bau"]))
    return out


def observable_bau_truth(rows: pd.DataFrame, bau: dict) -> dict:
    """The expected AUC, against `p_pay_30d_bau`, of the BAU truth averaged over the latent traits'
    posterior given the observable history (`bau_observable_paid_q1..4`, one posterior draw per run).

    A k-run average of those runs is a noisy score; its expected AUC is computed for every k the
    quarters allow and extrapolated to k = infinity as `bau_truth` does for the truth itself.
    Returns the reference, the model's gap to it and the part of the Bayes gap no model of the
    observable history can close.
    """
    from models.evaluate import expected_auc

    cols = sorted(c for c in rows.columns if c.startswith("bau_observable_paid_q"))
    runs = int(rows["bau_runs"].iloc[0])
    sizes = np.array([len(g) for g in np.array_split(np.arange(runs), len(cols))])
    paid, weight = rows[cols].to_numpy(dtype="float64"), rows["p_pay_30d_bau"].to_numpy(dtype="float64")
    found: dict[int, list[float]] = {}
    for subset in (s for size in range(1, len(cols) + 1) for s in combinations(range(len(cols)), size)):
        k = int(sizes[list(subset)].sum())
        found.setdefault(k, []).append(expected_auc(paid[:, list(subset)].sum(axis=1) / k, weight))
    by_runs = {k: float(np.mean(v)) for k, v in sorted(found.items())}
    out = {"observable_expected_auc_by_runs": {str(k): v for k, v in by_runs.items()}}
    if len(by_runs) < 2:
        return out
    out["observable_expected_auc"] = auc_without_run_noise(by_runs)
    if "model_expected_auc" in bau:
        out["observable_gap"] = out["observable_expected_auc"] - bau["model_expected_auc"]
    if "bayes_expected_auc" in bau:
        out["unobservable_gap"] = bau["bayes_expected_auc"] - out["observable_expected_auc"]
    return out


def bau_truth(rows: pd.DataFrame, scores: dict[str, np.ndarray]) -> dict:
    """Expected AUCs against `p_pay_30d_bau` (the model's own question) on `rows` of `pay_truth`.

    Input: rows with score_<model>, p_pay_30d_bau, bau_runs and bau_paid_q1..q4. Output: each
    scorer's expected AUC, the Bayes expected AUC of a k-run truth for the k the quarters allow,
    its extrapolation to infinitely many runs (the reference), and the model's gap to it.
    """
    from scipy.stats import spearmanr

    from models.evaluate import expected_auc, expected_calibration_error

    runs = int(rows["bau_runs"].iloc[0])
    p = rows["p_pay_30d_bau"].to_numpy(dtype="float64")
    out = {"available": True, "runs": runs, "mean_p": float(p.mean()),
           "mean_se": float(rows["p_pay_30d_bau_se"].mean()) if "p_pay_30d_bau_se" in rows else float("nan"),
           # ranked and weighted by the same noisy estimate: the noise flatters it
           "bayes_expected_auc_self": expected_auc(p, p)}
    by_runs = noisy_truth_aucs(rows, runs)
    out["bayes_expected_auc_by_runs"] = {str(k): v for k, v in by_runs.items()}
    if len(by_runs) >= 2:
        out["bayes_expected_auc"] = auc_without_run_noise(by_runs)
    for name in scores:
        s = rows[f"score_{name}"].to_numpy()
        # weights linear in an unbiased estimate: the expected AUC of a fixed score is nearly unbiased
        out[f"{name}_expected_auc"] = expected_auc(s, p)
        out[f"{name}_spearman"] = float(spearmanr(s, p).statistic)
        # binned calibration against the truth of the model's question: the per-account Monte Carlo
        # error of the k-run estimate averages out within a bin (thousands of accounts each)
        out[f"{name}_ece_vs_truth"] = expected_calibration_error(p, s)
    if "model" in scores and "bayes_expected_auc" in out:
        out["expected_gap"] = out["bayes_expected_auc"] - out["model_expected_auc"]
    return out


def auc_without_run_noise(by_runs: dict[int, float]) -> float:
    """AUC(infinitely many runs) from {k: AUC of a k-run average}, fitting AUC(k) = AUC(inf) - c / k
    by least squares (at least two k)."""
    k = np.array(list(by_runs), dtype="float64")
    _, intercept = np.polyfit(1.0 / k, np.array(list(by_runs.values())), 1)
    return float(intercept)


def noisy_truth_aucs(rows: pd.DataFrame, runs: int) -> dict[int, float]:
    """{k: expected AUC of the k-run average scored against the other runs' average}, per k.

    Every proper subset of the quarters `bau_paid_q*` gives one k; values with the same k are
    averaged. The weights come from runs independent of the score, so each value is unbiased
    for the Bayes expected AUC of a k-run truth. Empty when the quarter counts are absent.
    """

    from models.evaluate import expected_auc

    cols = sorted(c for c in rows.columns if c.startswith("bau_paid_q"))
    sizes = np.array([len(g) for g in np.array_split(np.arange(runs), len(cols))]) if cols else np.zeros(0)
    if len(cols) < 2 or (sizes == 0).any():
        return {}
    paid = rows[cols].to_numpy(dtype="float64")
    found: dict[int, list[float]] = {}
    for size in range(1, len(cols)):
        for subset in combinations(range(len(cols)), size):
            inside = np.isin(np.arange(len(cols)), subset)
            k = int(sizes[inside].sum())
            score = paid[:, inside].sum(axis=1) / k
            weight = paid[:, ~inside].sum(axis=1) / (runs - k)
            found.setdefault(k, []).append(expected_auc(score, weight))
    return {k: float(np.mean(v)) for k, v in sorted(found.items())}


DISTILL_PARAMS = {"objective": "cross_entropy", "learning_rate": 0.03, "num_leaves": 15, "min_data_in_leaf": 40,
                  "lambda_l2": 1.0, "verbosity": -1, "num_threads": 2, "seed": 7, "deterministic": True}
DISTILL_ROUNDS = 600
MIN_DISTILL_ROWS = 200


def promise_distilled(fit_df: pd.DataFrame, eval_df: pd.DataFrame, features: list[str], truth_dir) -> dict:
    """{"truth_distilled": P(kept) on eval_df's rows} from a LightGBM fitted to `p_keep_knowable`
    itself (not to the 0/1 labels) on the fit period's promises, with the model's own features.

    No model learning from labels gets more out of these features: this one sees the noise-free
    probability the Bayes reference is made of. Its AUC is an estimate of the best these features
    support, which splits the model's gap to the Bayes AUC into the learner's part (model vs this)
    and the features' part (this vs Bayes). Empty when the truth lacks `p_keep_knowable` or fewer
    than MIN_DISTILL_ROWS fit promises join it.
    """
    truth = read_truth(truth_dir, "truth_promises")
    if "p_keep_knowable" not in truth.columns:
        return {}
    fit = fit_df.merge(truth[["promise_id", "p_keep_knowable"]], on="promise_id", how="inner")
    if len(fit) < MIN_DISTILL_ROWS:
        return {}
    return {"truth_distilled": truth_booster(fit, fit["p_keep_knowable"], features).predict(as_matrix(eval_df, features))}


def pay_distilled(accounts: pd.DataFrame, features: list[str], truth_dir, folds: int = 5) -> dict:
    """{"truth_distilled": P(pay in 30 days) per row of `accounts`} from LightGBMs fitted to
    `p_pay_30d_bau` itself with the model's features, cross-fitted over `folds` folds of the
    accounts (a row is never scored by a fit that saw its own truth). The pay model's counterpart
    of `promise_distilled`; empty when the truth lacks `p_pay_30d_bau` or has too few rows."""
    truth = read_truth(truth_dir, "truth_accounts")
    if "p_pay_30d_bau" not in truth.columns:
        return {}
    rows = accounts[["account_id"]].merge(truth[["account_id", "p_pay_30d_bau"]], on="account_id", how="left")
    known = rows["p_pay_30d_bau"].notna().to_numpy()
    if known.sum() < MIN_DISTILL_ROWS * folds:
        return {}
    fold = np.random.default_rng(7).integers(0, folds, len(accounts))
    out = np.full(len(accounts), np.nan)
    for k in range(folds):
        fit = known & (fold != k)
        booster = truth_booster(accounts[fit], rows.loc[fit, "p_pay_30d_bau"], features)
        out[fold == k] = booster.predict(as_matrix(accounts[fold == k], features))
    return {"truth_distilled": out}


def truth_booster(fit: pd.DataFrame, target, features: list[str], objective: str = "cross_entropy"):
    """A LightGBM booster fitted to a truth quantity `target` of `fit`'s rows (a probability with the
    default objective, or a value with objective="regression") on `features`: the "what these
    features support" scorer of the model cards and of `models.channel_ceiling`."""
    import lightgbm as lgb

    data = lgb.Dataset(as_matrix(fit, features), np.asarray(target, dtype="float64"), feature_name=list(features))
    return lgb.train({**DISTILL_PARAMS, "objective": objective}, data, num_boost_round=DISTILL_ROUNDS)


def truth_as_of(truth_dir):
    """The as_of of `truth_accounts` (the simulation's end date), or None when the file has no rows."""
    truth = read_truth(truth_dir, "truth_accounts")
    return pd.Timestamp(truth["as_of"].iloc[0]).date() if len(truth) else None


def account_features_at(con, as_of, columns) -> pd.DataFrame:
    """Account features at `as_of` for accounts with a balance: from `fct_account_features` when
    it holds that date, else built into a temp table from the feature SQL (features.build)."""
    from recobro.warehouse import table_exists

    cols = ", ".join(f'cast("{c}" as double) as "{c}"' for c in columns)
    table = "fct_account_features"
    if not table_exists(con, table) or not con.execute(
            f"select count(*) from {table} where as_of = cast(? as date)", [str(as_of)]).fetchall()[0][0]:
        from features.build import _placed_accounts_spine, account_features, stg_views

        stg_views(con)
        table = account_features(con, _placed_accounts_spine(), "work_card_features", {"as_of": as_of})
    df = con.execute(f"select cast(account_id as varchar) as account_id, {cols} from {table} "
                     f"where as_of = cast(? as date) and balance > 0 order by account_id", [str(as_of)]).df()
    con.execute("drop table if exists work_card_features")
    return df
