"""Scoring: `fct_account_features` for one as_of -> `work_scores` (grain: account x as_of).

Both champions are loaded from the registry (fail closed: no champion, no scores). Reason
codes come from TreeSHAP on the pay-propensity model, because `risk_tier` is derived from
`p_pay_30d`; they explain why an account's payment propensity is what it is.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from models.registry import REGISTERED_NAMES, load_champion

#: risk_tier from p_pay_30d: high risk when payment within 30 days is unlikely.
HIGH_RISK_BELOW = 0.20
LOW_RISK_FROM = 0.50
REASONS = 3
KEYS = ("as_of", "account_id", "customer_id")
SQL_DIR = Path(__file__).resolve().parent / "sql"


class ModelScoreMismatch(RuntimeError):
    """Reasons were asked of a model other than the one that produced the scores."""


TIERS = ("high", "medium", "low")


def risk_tier_codes(p_pay: np.ndarray) -> np.ndarray:
    """Index into TIERS: 'high' below HIGH_RISK_BELOW, 'low' from LOW_RISK_FROM, 'medium' between."""
    return np.where(p_pay < HIGH_RISK_BELOW, 0, np.where(p_pay >= LOW_RISK_FROM, 2, 1))


def risk_tier(p_pay: np.ndarray) -> np.ndarray:
    """'high' below HIGH_RISK_BELOW, 'low' from LOW_RISK_FROM, 'medium' between."""
    return np.asarray(TIERS)[risk_tier_codes(np.asarray(p_pay))]


def _explain_predicate(con, explain_accounts: str | None) -> str:
    """SQL on fct_account_features saying which rows get SHAP reasons: all (None), those whose
    account_id is in a table named `explain_accounts`, or those matching it as an SQL predicate."""
    if explain_accounts is None:
        return "true"
    from recobro.warehouse import table_exists

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", explain_accounts) and table_exists(con, explain_accounts):
        return f"cast(account_id as varchar) in (select cast(account_id as varchar) from {explain_accounts})"
    return f"coalesce(({explain_accounts}), false)"


def reason_columns(pay_model, features: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """reason_1..3 codes and reasons_text for each row of `features` (same index), from TreeSHAP."""
    from models.explain import reasons_text, top_reasons

    reasons = top_reasons(pay_model, features, k=REASONS)
    cols = [f"reason_{r}" for r in range(1, REASONS + 1)]
    for c in cols:
        if c not in reasons:  # a model with fewer features than REASONS
            reasons[c] = None
    codes = reasons[cols].to_numpy()
    # one phrase per distinct combination of codes, not per row: combinations recur across accounts
    combos, inverse = np.unique(codes.astype(str), axis=0, return_inverse=True)
    texts = np.array([reasons_text(tuple(c for c in combo if c != "None"), lang) for combo in combos], dtype=object)
    return reasons[cols].assign(reasons_text=texts[inverse.ravel()])


def score_frame(features: pd.DataFrame, promise_model, pay_model, explain: np.ndarray | None = None,
                lang: str = "en") -> pd.DataFrame:
    """Probabilities, risk tier and reasons for a frame of account features (same row order).

    Columns the promise model needs but the frame lacks (promise-level features, unknown at
    account scoring time) are treated as missing, exactly as LightGBM saw nulls in training.
    """
    from models.estimator import as_matrix

    matrices = [as_matrix(features, m.feature_names_).to_numpy() for m in (promise_model, pay_model)]
    return score_matrices(features.loc[:, list(KEYS)], *matrices, promise_model, pay_model, explain, lang)


def score_matrices(keys: pd.DataFrame, promise_matrix: np.ndarray, pay_matrix: np.ndarray, promise_model,
                   pay_model, explain: np.ndarray | None = None, lang: str = "en") -> pd.DataFrame:
    """`score_frame` on float matrices whose columns are each model's `feature_names_` in order,
    one row per row of `keys` (as_of, account_id, customer_id)."""
    out = keys.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(p_promise_kept=np.nan, p_pay_30d=np.nan, risk_tier=None, reason_1=None,
                          reason_2=None, reason_3=None, reasons_text=None)
    out["p_promise_kept"] = promise_model.predict_proba(promise_matrix)[:, 1]
    out["p_pay_30d"] = pay_model.predict_proba(pay_matrix)[:, 1]
    out["risk_tier"] = risk_tier(out["p_pay_30d"].to_numpy())
    for r in range(1, REASONS + 1):
        out[f"reason_{r}"] = None
    out["reasons_text"] = None
    explain = np.ones(len(out), dtype=bool) if explain is None else np.asarray(explain, dtype=bool)
    if explain.any():
        chosen = pd.DataFrame(pay_matrix[explain], columns=list(pay_model.feature_names_))
        reasons = reason_columns(pay_model, chosen, lang)
        out.loc[explain, list(reasons.columns)] = reasons.to_numpy()
    return out


def _matrix(columns: dict[str, np.ndarray], names, rows: int) -> np.ndarray:
    """Float64 matrix (column-major) of `names` from DuckDB's fetchnumpy columns (NULL -> NaN; absent -> NaN)."""
    out = np.empty((rows, len(names)), dtype="float64", order="F")  # column by column; LightGBM reads either order
    for j, name in enumerate(names):
        column = columns.get(name)
        if column is None:
            out[:, j] = np.nan
        elif isinstance(column, np.ma.MaskedArray):  # DuckDB hands NULLs over as a mask
            out[:, j] = column.data
            out[np.ma.getmaskarray(column), j] = np.nan
        else:
            out[:, j] = column
    return out


def score_accounts(con, settings, as_of, explain_accounts: str | None = None) -> str:
    """Create or replace `work_scores` from `fct_account_features` at `as_of`; returns the table name.

    Grain: one row per account in fct_account_features at as_of. `explain_accounts` limits
    SHAP reasons (tens of times the cost of a prediction) to a table of account_ids or an SQL
    predicate; other rows get null reasons. Raises ModelNotFound when a champion is missing.
    """
    promise_model, promise_version = load_champion(settings, REGISTERED_NAMES["promise_kept"])
    pay_model, pay_version = load_champion(settings, REGISTERED_NAMES["pay_30d"])
    wanted = set(promise_model.feature_names_) | set(pay_model.feature_names_)
    available = [r[0] for r in con.execute("describe fct_account_features").fetchall()]
    casts = [f'cast("{c}" as double) as "{c}"' for c in sorted(wanted) if c in available]
    # columns straight to numpy (no DataFrame of features, ids stay in DuckDB): reading is a large
    # share of a scoring run
    columns = con.execute(
        f"select rowid as _row{''.join(', ' + c for c in casts)}, "
        f"{_explain_predicate(con, explain_accounts)} as _explain "
        f"from fct_account_features where as_of = cast(? as date)", [str(as_of)]
    ).fetchnumpy()
    rows = len(columns["_row"])
    keys = pd.DataFrame({"_row": np.asarray(columns["_row"])})
    explain = np.ma.filled(columns["_explain"], False).astype(bool)
    scores = score_matrices(keys, _matrix(columns, promise_model.feature_names_, rows),
                            _matrix(columns, pay_model.feature_names_, rows), promise_model, pay_model, explain)
    del columns
    numbers = scores[["_row", "p_promise_kept", "p_pay_30d"]].assign(risk_tier=pd.Categorical.from_codes(
        risk_tier_codes(scores["p_pay_30d"].to_numpy()), categories=list(TIERS)))
    reasons = scores.loc[explain, ["_row", *(f"reason_{r}" for r in range(1, REASONS + 1)), "reasons_text"]]
    con.execute("set variable promise_kept_model = ?", [f"{REGISTERED_NAMES['promise_kept']}/{promise_version}"])
    con.execute("set variable pay_model = ?", [f"{REGISTERED_NAMES['pay_30d']}/{pay_version}"])
    con.register("_recobro_scores", numbers)
    con.register("_recobro_reasons", reasons)
    try:
        con.execute((SQL_DIR / "work_scores.sql").read_text(encoding="utf-8"))
    finally:
        con.unregister("_recobro_scores")
        con.unregister("_recobro_reasons")
    return "work_scores"


def add_reasons(con, settings, as_of, explain_accounts: str) -> int:
    """Fill the reasons of `work_scores` rows at `as_of` chosen by `explain_accounts` (a table of
    account_ids or an SQL predicate on fct_account_features) that have none yet; returns how many.

    For the daily flow: probabilities for every account first, then decide, then reasons only for
    the accounts that got an action. Fails closed if the pay-propensity champion is no longer the
    version that scored those rows (ModelScoreMismatch): their reasons would explain another model.
    """
    pay_model, pay_version = load_champion(settings, REGISTERED_NAMES["pay_30d"])
    label = f"{REGISTERED_NAMES['pay_30d']}/{pay_version}"
    features = con.execute(
        f"select * from fct_account_features where as_of = cast($as_of as date) "
        f"and {_explain_predicate(con, explain_accounts)} and cast(account_id as varchar) in "
        f"(select account_id from work_scores where as_of = cast($as_of as date) and reason_1 is null)",
        {"as_of": str(as_of)}).df()
    if features.empty:
        return 0
    scored_by = {r[0] for r in con.execute(
        "select distinct pay_model from work_scores where as_of = cast(? as date)", [str(as_of)]).fetchall()}
    if scored_by != {label}:
        raise ModelScoreMismatch(f"work_scores at {as_of} were scored by {sorted(scored_by)} but the champion is now "
                                 f"{label}; rescore before adding reasons")
    reasons = reason_columns(pay_model, features).assign(account_id=features["account_id"].astype(str).to_numpy())
    con.register("_recobro_reasons", reasons)
    try:
        con.execute("update work_scores as s set reason_1 = r.reason_1, reason_2 = r.reason_2, "
                    "reason_3 = r.reason_3, reasons_text = r.reasons_text from _recobro_reasons as r "
                    "where s.account_id = r.account_id and s.as_of = cast(? as date)", [str(as_of)])
    finally:
        con.unregister("_recobro_reasons")
    return len(reasons)
