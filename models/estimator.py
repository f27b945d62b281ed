"""`CalibratedLGBMClassifier`: LightGBM binary classifier + out-of-time probability calibration.

Follows scikit-learn's estimator conventions: `__init__` only stores parameters, `fit`
returns `self`, fitted state ends in `_`. Grain of X: one row per scored unit (account or
promise) per as_of; the estimator selects its own feature columns by name, so extra key
columns (account_id, customer_id, ...) in X are ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def later_slice(as_of, fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of the rows whose `as_of` falls in the last ~`fraction` of distinct dates.

    The split is by date, never by row, so the later slice is genuinely out-of-time.
    """
    dates = pd.to_datetime(pd.Series(np.asarray(as_of)))
    distinct = np.sort(dates.dropna().unique())
    if len(distinct) < 2:
        raise ValueError(
            f"out-of-time split needs at least 2 distinct as_of dates, got {len(distinct)}"
        )
    n_later = min(len(distinct) - 1, max(1, int(round(fraction * len(distinct)))))
    cutoff = distinct[-n_later]
    return (dates >= cutoff).to_numpy()


def as_matrix(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The feature matrix as float64 in `columns` order; absent columns become all-NaN."""
    out = {c: (pd.to_numeric(X[c], errors="coerce").astype("float64") if c in X
               else pd.Series(np.nan, index=X.index, dtype="float64")) for c in columns}
    return pd.DataFrame(out, index=X.index, columns=columns)


class CalibratedLGBMClassifier:
    """LightGBM binary classifier whose probabilities are calibrated on a later time slice.

    `fit(X, y, as_of=...)` trains the booster on the earlier dates and fits the calibrator
    (Platt/sigmoid by default, or isotonic) on the last `calibration_fraction` of as_of dates.
    Platt is the default: it is monotone, so it keeps the booster's ranking (isotonic steps
    create ties that cost AUC and blur the NBA ordering), and it is stable on small slices. Without
    `as_of`, rows are assumed to be in time order and the last fraction of rows is used.
    `monotone_constraints` maps a feature to +1 (score may only rise with it) or -1 (only fall);
    features not named are unconstrained. Platt calibration is monotone, so it keeps them.
    """

    def __init__(self, features=None, n_estimators: int = 200, learning_rate: float = 0.05,
                 num_leaves: int = 15, min_child_samples: int = 40, reg_lambda: float = 1.0,
                 calibration: str = "sigmoid", calibration_fraction: float = 0.2,
                 seed: int = 7, num_threads: int = 2, monotone_constraints: dict | None = None,
                 feature_fraction: float | None = None):
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.seed = seed
        self.num_threads = num_threads
        self.monotone_constraints = monotone_constraints
        self.feature_fraction = feature_fraction

    # scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in (
            "features", "n_estimators", "learning_rate", "num_leaves", "min_child_samples",
            "reg_lambda", "calibration", "calibration_fraction", "seed", "num_threads",
            "monotone_constraints", "feature_fraction")}

    def set_params(self, **params) -> "CalibratedLGBMClassifier":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def lgb_params(self, feature_names=None) -> dict:
        """The LightGBM parameters, fixed for bit-for-bit reproducible training."""
        params = {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda, "seed": self.seed, "deterministic": True,
            "num_threads": self.num_threads, "force_row_wise": True, "verbosity": -1,
        }
        if self.feature_fraction is not None:  # a random share of features per tree: steadier on few rows
            params["feature_fraction"] = self.feature_fraction
        if self.monotone_constraints and feature_names is not None:
            params["monotone_constraints"] = [int(self.monotone_constraints.get(f, 0)) for f in feature_names]
        return params

    def fit(self, X: pd.DataFrame, y, as_of=None) -> "CalibratedLGBMClassifier":
        import lightgbm as lgb

        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(f"calibration must be 'isotonic' or 'sigmoid', not {self.calibration!r}")
        y = np.asarray(y, dtype="int64")
        self.feature_names_ = list(self.features) if self.features is not None else [
            c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        M = as_matrix(X, self.feature_names_)
        if as_of is not None:
            late = later_slice(as_of, self.calibration_fraction)
        else:
            late = np.zeros(len(M), dtype=bool)
            late[int(round(len(M) * (1 - self.calibration_fraction))):] = True
        if len(np.unique(y[~late])) < 2 or len(np.unique(y[late])) < 2:
            raise ValueError("both the fit slice and the calibration slice need both label values")
        data = lgb.Dataset(M[~late], y[~late], feature_name=self.feature_names_, free_raw_data=True)
        self.booster_ = lgb.train(self.lgb_params(self.feature_names_), data, num_boost_round=self.n_estimators)
        self.calibrator_ = self._fit_calibrator(self.booster_.predict(M[late], raw_score=True), y[late])
        self.feature_reference_ = M[~late].median().to_dict()
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.feature_names_)
        self.n_fit_rows_, self.n_calibration_rows_ = int((~late).sum()), int(late.sum())
        return self

    def _fit_calibrator(self, margin: np.ndarray, y: np.ndarray):
        if self.calibration == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(margin, y)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y)

    # prediction -------------------------------------------------------------------------
    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Raw LightGBM margin (log-odds before calibration); SHAP values add up to this.

        X is a frame (columns found by name, absent ones missing) or a float matrix whose columns
        are `feature_names_` in order (scoring builds that once, without a frame in between)."""
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(self.feature_names_):
                raise ValueError(f"expected a matrix of {len(self.feature_names_)} columns "
                                 f"(feature_names_ in order), got shape {X.shape}")
            return self.booster_.predict(X, raw_score=True)
        return self.booster_.predict(as_matrix(X, self.feature_names_), raw_score=True)

    def predict_uncalibrated(self, X: pd.DataFrame) -> np.ndarray:
        """P(label = 1) straight from the booster, for comparing against the calibrated score."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): columns P(label = 0), P(label = 1)."""
        margin = self.decision_function(X)
        if self.calibration == "isotonic":
            p = self.calibrator_.predict(margin)
        else:
            p = self.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")

    def __repr__(self) -> str:
        return f"CalibratedLGBMClassifier(calibration={self.calibration!r}, n_estimators={self.n_estimators})"
