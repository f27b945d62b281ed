"""Scoring: `fct_account_features` for one as_of -> `work_scores` (grain: account x as_of).

Both champions are loaded from the registry (fail closed: no champion, no scores). Reason
codes come from TreeSHAP on the pay-propensity model, because `risk_tier` is derived from
`p_pay_30d`; they explain why an account's payment propensity is what it is.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from models.registry import REGISTERED_NAMES, load_champion

#: risk_tier from p_pay_30d: high risk when payment within 30 days is unlikely.
HIGH_RISK_BELOW = 0.20
LOW_RISK_FROM = 0.50
REASONS = 3
KEYS = ("as_of", "account_id", "customer_id")

_COLUMNS = """
    cast(as_of as date) as as_of, cast(account_id as varchar) as account_id,
    cast(customer_id as varchar) as customer_id, cast(p_promise_kept as double) as p_promise_kept,
    cast(p_pay_30d as double) as p_pay_30d, cast(risk_tier as varchar) as risk_tier,
    cast(promise_kept_model as varchar) as promise_kept_model, cast(pay_model as varchar) as pay_model,
    cast(reason_1 as varchar) as reason_1, cast(reason_2 as varchar) as reason_2,
    cast(reason_3 as varchar) as reason_3, cast(reasons_text as varchar) as reasons_text
"""


def risk_tier(p_pay: np.ndarray) -> np.ndarray:
    """'high' below HIGH_RISK_BELOW, 'low' from LOW_RISK_FROM, 'medium' between."""
    return np.where(p_pay < HIGH_RISK_BELOW, "high", np.where(p_pay >= LOW_RISK_FROM, "low", "medium"))


def _explain_mask(con, as_of, accounts: pd.Series, explain_accounts: str | None) -> np.ndarray:
    """Which rows get SHAP reasons: all (None), those in a table named `explain_accounts`
    (column account_id), or those matching it as an SQL predicate on fct_account_features."""
    if explain_accounts is None:
        return np.ones(len(accounts), dtype=bool)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", explain_accounts) and explain_accounts in tables:
        sql = f"select distinct cast(account_id as varchar) from {explain_accounts}"
        chosen = {r[0] for r in con.execute(sql).fetchall()}
    else:
        sql = (f"select distinct cast(account_id as varchar) from fct_account_features "
               f"where as_of = cast(? as date) and ({explain_accounts})")
        chosen = {r[0] for r in con.execute(sql, [str(as_of)]).fetchall()}
    return accounts.isin(chosen).to_numpy()


def score_frame(features: pd.DataFrame, promise_model, pay_model, explain: np.ndarray | None = None,
                lang: str = "en") -> pd.DataFrame:
    """Probabilities, risk tier and reasons for a frame of account features (same row order).

    Columns the promise model needs but the frame lacks (promise-level features, unknown at
    account scoring time) are treated as missing, exactly as LightGBM saw nulls in training.
    """
    from models.explain import reasons_text, top_reasons

    out = features.loc[:, list(KEYS)].copy()
    if features.empty:
        return out.assign(p_promise_kept=np.nan, p_pay_30d=np.nan, risk_tier=None, reason_1=None,
                          reason_2=None, reason_3=None, reasons_text=None)
    out["p_promise_kept"] = promise_model.predict_proba(features)[:, 1]
    out["p_pay_30d"] = pay_model.predict_proba(features)[:, 1]
    out["risk_tier"] = risk_tier(out["p_pay_30d"].to_numpy())
    for r in range(1, REASONS + 1):
        out[f"reason_{r}"] = None
    out["reasons_text"] = None
    explain = np.ones(len(features), dtype=bool) if explain is None else explain
    if explain.any():
        reasons = top_reasons(pay_model, features[explain], k=REASONS)
        cols = [c for c in reasons.columns if c.startswith("reason_")]
        out.loc[explain, cols] = reasons[cols].to_numpy()
        out.loc[explain, "reasons_text"] = [reasons_text(codes, lang) for codes in reasons[cols].itertuples(index=False)]
    return out


def score_accounts(con, settings, as_of, explain_accounts: str | None = None) -> str:
    """Create or replace `work_scores` from `fct_account_features` at `as_of`; returns the table name.

    Grain: one row per account in fct_account_features at as_of. `explain_accounts` limits
    SHAP reasons (about 160x the cost of a prediction) to a table of account_ids or an SQL
    predicate; other rows get null reasons. Raises ModelNotFound when a champion is missing.
    """
    promise_model, promise_version = load_champion(settings, REGISTERED_NAMES["promise_kept"])
    pay_model, pay_version = load_champion(settings, REGISTERED_NAMES["pay_30d"])
    wanted = set(promise_model.feature_names_) | set(pay_model.feature_names_)
    available = [r[0] for r in con.execute("describe fct_account_features").fetchall()]
    casts = [f'cast("{c}" as double) as "{c}"' for c in sorted(wanted) if c in available]
    features = con.execute(
        f"select cast(as_of as date) as as_of, cast(account_id as varchar) as account_id, "
        f"cast(customer_id as varchar) as customer_id{''.join(', ' + c for c in casts)} "
        f"from fct_account_features where as_of = cast(? as date) order by account_id", [str(as_of)]
    ).df()
    explain = _explain_mask(con, as_of, features["account_id"], explain_accounts)
    scores = score_frame(features, promise_model, pay_model, explain)
    scores["promise_kept_model"] = f"{REGISTERED_NAMES['promise_kept']}/{promise_version}"
    scores["pay_model"] = f"{REGISTERED_NAMES['pay_30d']}/{pay_version}"
    con.register("_recobro_scores", scores)
    try:
        con.execute(f"create or replace table work_scores as select {_COLUMNS} from _recobro_scores")
    finally:
        con.unregister("_recobro_scores")
    return "work_scores"
