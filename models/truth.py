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
  Truth files without `p_keep_knowable` fall back to p_keep.
- pay_30d: `truth_accounts.p_pay_30d_no_contact` is the probability of a payment in the 30 days
  *after* the simulation's end date, had nobody been contacted; it is 1 where an open promise's
  payment is already booked, an outcome drawn with the keep noise. `p_pay_30d_no_contact_knowable`
  averages that outcome instead and is the reference when present. Those 30 days are never
  simulated, so no realised label exists: the comparison uses the expected AUC when outcomes
  are Bernoulli(truth), for the model and for the truth itself (the Bayes AUC).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


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
    truth = truth.loc[truth["matured"].astype(bool),
                      ["promise_id", "p_keep", "kept", *(["p_keep_knowable"] if knowable else [])]]
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
        if knowable:
            out[f"{k}_expected_auc_knowable"] = expected_auc(s, p_know)
    if "model" in scores:
        out["gap_with_noise"] = out["bayes_auc"] - out["model_auc"]
        # the gap that counts: to the best AUC anyone could reach without seeing the per-promise noise
        out["gap"] = out.get("bayes_auc_knowable", out["bayes_auc"]) - out["model_auc"]
        out["expected_gap"] = (out.get("bayes_expected_auc_knowable", out["bayes_expected_auc"])
                               - out.get("model_expected_auc_knowable", out["model_expected_auc"]))
    return out


def pay_truth(features: pd.DataFrame, scores: dict[str, np.ndarray], truth_dir) -> dict:
    """Model rankings against `truth_accounts.p_pay_30d_no_contact` on the truth's as_of.

    `features` has account_id (the accounts scored at the truth's as_of, open balance);
    `scores` maps a model label to probabilities on its rows. Only live accounts (truth p > 0)
    are compared. Returns counts, expected AUCs, the Bayes expected AUC, rank correlation.
    """
    from scipy.stats import spearmanr

    from models.evaluate import expected_auc

    truth = read_truth(truth_dir, "truth_accounts")
    # the knowable column averages an open promise's payment over its keep noise instead of
    # reading the outcome the simulator already drew; older truth files lack it
    reference = next(c for c in ("p_pay_30d_no_contact_knowable", "p_pay_30d_no_contact") if c in truth.columns)
    truth = truth[list(dict.fromkeys(["account_id", "as_of", "p_pay_30d_no_contact", reference]))]
    rows = features[["account_id"]].reset_index(drop=True).assign(
        **{f"score_{k}": v for k, v in scores.items()}).merge(truth, on="account_id", how="inner")
    rows = rows[rows["p_pay_30d_no_contact"] > 0]
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
    return out


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
