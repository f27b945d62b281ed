"""Baselines a champion must beat: a transparent rules score and a logistic regression.

`RulesBaseline` is the "simple rules baseline" of DOMAIN.md §6 (SR 11-7 back-test): a points
score a collections analyst can read off a sheet — recent payment, days-past-due bucket, past
promise-keeping — turned into a probability by a one-variable logistic fit (Platt), so it can
be compared on log loss as well as AUC. `LogisticBaseline` is a logistic regression on the
same features as the model, to show what the boosted trees add over a linear score.

Both follow scikit-learn conventions and select their own columns by name, like
`CalibratedLGBMClassifier`; a column absent from X counts as missing (no points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.estimator import as_matrix

#: The rules, in the order an analyst reads them: (description, column, test, points).
RULES = (
    ("paid in the last 30 days", "payments_30d", lambda v: v > 0, 2.0),
    ("paid in the last 90 days", "payments_90d", lambda v: v > 0, 1.0),
    ("0-30 days past due", "dpd", lambda v: v <= 30, 2.0),
    ("31-60 days past due", "dpd", lambda v: (v > 30) & (v <= 60), 1.0),
    ("more than 90 days past due", "dpd", lambda v: v > 90, -1.0),
    ("kept at least half of past promises", "promise_kept_rate", lambda v: v >= 0.5, 1.0),
    ("broke a promise in the last 30 days", "days_since_last_broken_promise", lambda v: v <= 30, -1.0),
)
RULE_COLUMNS = tuple(dict.fromkeys(c for _, c, _, _ in RULES))


def rules_points(X: pd.DataFrame) -> np.ndarray:
    """The rules score of each row of X (sum of the points of the rules it meets; NaN meets none)."""
    M = as_matrix(X, list(RULE_COLUMNS))
    points = np.zeros(len(M))
    with np.errstate(invalid="ignore"):
        for _, column, test, value in RULES:
            v = M[column].to_numpy()
            points += np.where(np.isnan(v), False, test(np.nan_to_num(v, nan=0.0))) * value
    return points


class RulesBaseline:
    """Points from `RULES`, mapped to P(label = 1) by a logistic fit on the points alone."""

    def __init__(self, rules=RULES):
        self.rules = rules

    def get_params(self, deep: bool = True) -> dict:
        return {"rules": self.rules}

    def set_params(self, **params) -> "RulesBaseline":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: pd.DataFrame, y) -> "RulesBaseline":
        from sklearn.linear_model import LogisticRegression

        points = rules_points(X).reshape(-1, 1)
        self.calibrator_ = LogisticRegression(C=1e6).fit(points, np.asarray(y, dtype="int64"))
        self.feature_names_ = list(RULE_COLUMNS)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return rules_points(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict_proba(rules_points(X).reshape(-1, 1))[:, 1]
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")

    def describe(self) -> list[str]:
        """The rules as readable lines, e.g. '+2 paid in the last 30 days'."""
        return [f"{points:+g} {text}" for text, _, _, points in self.rules]


class LogisticBaseline:
    """Logistic regression on `features` (median-imputed with missing flags, standardised)."""

    def __init__(self, features=None, C: float = 1.0, max_iter: int = 1000):
        self.features = features
        self.C = C
        self.max_iter = max_iter

    def get_params(self, deep: bool = True) -> dict:
        return {"features": self.features, "C": self.C, "max_iter": self.max_iter}

    def set_params(self, **params) -> "LogisticBaseline":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: pd.DataFrame, y) -> "LogisticBaseline":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.feature_names_ = list(self.features) if self.features is not None else [
            c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and c != "label"]
        M = as_matrix(X, self.feature_names_)
        self.pipeline_ = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter))
        self.pipeline_.fit(M, np.asarray(y, dtype="int64"))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.pipeline_.predict_proba(as_matrix(X, self.feature_names_))[:, 1]
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")
