"""Channel response model (issue 5): per channel, the expected incremental 30-day payment of one
contact through it versus no contact, net of the channel's cost, learned off-policy from the
logged contact history and its recorded propensities.

    X = load_training_frame(con)                       # models.channel_data
    model = ChannelResponseModel().fit(X, X["paid_share_30d"], X["arm"], X["propensity"],
                                       sample_weight=X["none_sample_weight"])
    value = model.incremental_value(F, stake=F["past_due_amount"], costs=account_costs(F["currency"], costs))
    best = model.best_channel(F, stake=..., costs=...)     # a channel, or "none"

Why off-policy weighting: the historical (BAU) policy chose channels by days past due, so agent
calls went to late, low-paying accounts; a model of "who paid after each channel" would credit
the channel with the account mix. Each arm's outcome model is fit with inverse-propensity weights
(1 / P(arm | account) under the logged policy, clipped), which reweights that arm's rows to look
like the whole eligible population. The logged propensity is used for contact arms; the history
does not log "no contact", so P(no contact | x) is estimated with a classifier on eligible
account-days (contacted vs not). `learner='path'` (default, below) and `learner='response'` build on
the residual learner; `learner='residual'` fits one pooled baseline and per-arm models of the deviation from
it; `learner='t'` is the plain T-learner (one outcome model per arm). Channel effects are a few points (DOMAIN.md §4): differencing two independent models
is mostly noise, the shared baseline removes most of it, and the arm models are kept short
(`arm_estimators`, default 10 boosting rounds) so each arm's deviation is shrunk towards the
pooled baseline: with six noisy per-channel estimates, an unshrunk argmax picks whichever
channel's noise is largest (the winner's curse). `heterogeneity` (0..1) shrinks each account's
deviation further towards the arm's population-average deviation (`arm_means_`): 0 keeps only the
per-channel average effect, 1 the fitted per-account one.

`learner='path'` (default): uplift_c(x) = P(engaged | contacted on c, x) x V_c(x) x (1 - mu_0(x)),
where V_c(x) is the share of the past-due amount one engaged contact on c brings through its own
path within 30 days: the payments toward a promise booked on it, a payment link paid on the spot, a
hardship plan's direct debits after a disclosure (`train_channel_response.direct_share_30d`), and
mu_0 the no-contact outcome (money the debtor would have paid anyway is not the contact's). Business as
usual never contacts while a promise or plan runs, so that money is read without follow-ups mixed
in. The 30-day outcome the other learners use credits each contact with what BAU's follow-up
contacts brought after it, and that hides what the truth values most: an answered agent call to a
debtor short of the past due is a promise for all of it, or a plan. Measured on the simulator's
truth (seed 0, 20k accounts, the card's one-contact protocol): path 0.46 of the oracle's gain,
SMS-first 0.30; on the recession scenario, not used to choose it, 0.47 / 0.13 (the response learner
0.21 / 0.11 on the history before its dialer obeyed the rule packs; `python -m benchmarks channel`
plays it forward at 0.16 ev_captured against path's 0.57).
See `_fit_path` for what it leaves out.

`learner='response'`: uplift_c(x) = theta_c x P(engaged | contacted on c, x). Measured
against the simulator's truth as it then stood, the residual learner's per-account channel differences
were noise (its choices captured 0.40 of the oracle's truth-scored gain, below "SMS whenever allowed"
at 0.51) while most of the oracle's gain came from knowing which channel each debtor engages with.
(Since the truth took the history's promise terms it also prizes agent calls to debtors short of the
past due, which logs under BAU's follow-up contacts do not show: see benchmarks/bench_channel.py.) Engagement
(answered, opened, clicked, replied) is logged on every contact, so a pooled LightGBM classifier
(channel as a categorical, plus that channel's own 90-day response rate and attempts) learns it with
far less noise than a payment outcome; what one engagement is worth in paid share, theta_c, is one
number per channel, estimated by a doubly robust (AIPW) projection of the payment outcome using the
logged propensities and the residual learner's unshrunk arm models as the outcome nuisances (see
`_fit_response`). The no-contact outcome is the residual learner's. `heterogeneity` (default 1 for
this learner) scales P(engaged)'s spread around each channel's mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.build import FEATURE_COLUMNS
from models.channel_data import ARMS
from models.estimator import as_matrix

LEARNERS = ("path", "response", "residual", "t")
OBJECTIVES = {"paid_share_30d": "cross_entropy", "paid_30d": "binary", "responded": "binary"}


class ChannelResponseModel:
    """IPW-weighted multi-arm outcome learner on LightGBM: arms are 'none' + each channel.

    `fit(X, y, arm, propensity, sample_weight=None, response=None)`: `y` in [0, 1] (share of the
    past-due amount paid in 30 days, or paid-anything); `arm` is 'none' or a channel; `propensity` is
    the logged P(this arm) (NaN for 'none': then estimated); `response` (learner='response' only) is
    1 where the logged contact was engaged with (default: X's `engaged`, else `responded`). `weighting='ipw'` weights each row by
    1 / max(propensity, `min_propensity`), capped at `max_weight` x the arm's median weight and
    normalised to mean 1 within the arm; `weighting='none'` is the naive, uncorrected learner.
    """

    def __init__(self, features=None, arms=ARMS, learner: str = "path", weighting: str = "ipw",
                 min_propensity: float = 0.01,
                 max_weight: float = 10.0, objective: str = "cross_entropy", n_estimators: int = 60,
                 learning_rate: float = 0.05, num_leaves: int = 7, min_child_samples: int = 200,
                 reg_lambda: float = 5.0, arm_estimators: int | None = 10, heterogeneity: float | None = None,
                 response_estimators: int = 200, response_min_child_samples: int = 400,
                 seed: int = 7, num_threads: int = 2):
        self.features = features
        self.arms = arms
        self.learner = learner
        self.weighting = weighting
        self.min_propensity = min_propensity
        self.max_weight = max_weight
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.arm_estimators = arm_estimators
        self.heterogeneity = heterogeneity
        self.response_estimators = response_estimators
        self.response_min_child_samples = response_min_child_samples
        self.seed = seed
        self.num_threads = num_threads

    _PARAMS = ("features", "arms", "learner", "weighting", "min_propensity", "max_weight", "objective", "n_estimators",
               "learning_rate", "num_leaves", "min_child_samples", "reg_lambda", "arm_estimators", "heterogeneity",
               "response_estimators", "response_min_child_samples", "seed", "num_threads")

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params) -> "ChannelResponseModel":
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def _lgb_params(self, objective: str) -> dict:
        return {"objective": objective, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples, "lambda_l2": self.reg_lambda, "seed": self.seed,
                "deterministic": True, "num_threads": self.num_threads, "force_row_wise": True,
                "verbosity": -1}

    # fitting ------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y, arm, propensity=None, sample_weight=None,
            response=None, direct=None) -> "ChannelResponseModel":
        import lightgbm as lgb

        if self.weighting not in ("ipw", "none"):
            raise ValueError(f"weighting must be 'ipw' or 'none', not {self.weighting!r}")
        if self.weighting == "ipw" and propensity is None:
            raise ValueError("weighting='ipw' needs the logged propensities")
        y = np.asarray(y, dtype="float64")
        arm = np.asarray(arm, dtype=object)
        unknown = set(np.unique(arm)) - set(self.arms)
        if unknown:
            raise ValueError(f"arms {sorted(unknown)} are not in {self.arms}")
        if np.any((y < 0) | (y > 1)) or np.isnan(y).any():
            raise ValueError("y must lie in [0, 1]")
        base = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        self.feature_names_ = list(self.features if self.features is not None else FEATURE_COLUMNS)
        M = as_matrix(X, self.feature_names_)
        contacted = arm != "none"
        if self.weighting == "ipw":
            p = np.asarray(propensity, dtype="float64").copy()
            if "none" in self.arms and (~contacted).any():
                data = lgb.Dataset(M, contacted.astype(int), weight=base, feature_name=self.feature_names_)
                self.contact_model_ = lgb.train(self._lgb_params("binary"), data, num_boost_round=100)
                p[~contacted] = 1.0 - self.contact_model_.predict(M[~contacted])
            self.propensity_ = np.clip(p, self.min_propensity, 1.0)
            if not np.isfinite(self.propensity_).all():
                raise ValueError("propensities must be finite for weighting='ipw'")
            weights = base / self.propensity_
        else:
            self.propensity_ = None
            weights = base.copy()
        self.weights_ = self._clip_weights(weights, arm)
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, not {self.learner!r}")
        engages = self.learner in ("response", "path")
        if engages and response is None:
            # the training frame carries it: `engaged` (train_channel_response), else `responded`
            column = next((c for c in ("engaged", "responded") if c in X), None)
            if column is not None:
                response = pd.to_numeric(X[column], errors="coerce").astype("float64").fillna(0.0).to_numpy()
        if engages and response is None:
            raise ValueError(f"learner={self.learner!r} needs the per-contact engagement outcome (`response`)")
        if engages and "none" not in self.arms:
            raise ValueError(f"learner={self.learner!r} measures effects against the no-contact arm: arms need 'none'")
        if self.learner == "path" and direct is None and "direct_share_30d" in X:
            direct = pd.to_numeric(X["direct_share_30d"], errors="coerce").astype("float64").fillna(0.0).to_numpy()
        if self.learner == "path" and direct is None:
            raise ValueError("learner='path' needs the money each contact's own path brought (`direct`, "
                             "train_channel_response.direct_share_30d)")
        target, objective, rounds = y, self.objective, self.n_estimators
        self.base_model_ = None
        if self.learner in ("residual", "response", "path"):
            # one pooled baseline for every arm (weighted so each arm counts as the whole population),
            # then each arm learns only its small deviation from it: far less variance than
            # differencing two independently fit outcome models
            data = lgb.Dataset(M, y, weight=self.weights_, feature_name=self.feature_names_)
            self.base_model_ = lgb.train(self._lgb_params(self.objective), data, num_boost_round=self.n_estimators)
            target, objective = y - self.base_model_.predict(M), "regression"
            rounds = self.arm_estimators if self.arm_estimators is not None else max(10, self.n_estimators // 2)
        self.models_ = {}
        self.arm_rows_ = {}
        for a in self.arms:
            sel = arm == a
            if sel.sum() < 2 * self.min_child_samples:
                continue  # too few decisions on this arm to learn from: it will be unavailable
            data = lgb.Dataset(M[sel], target[sel], weight=self.weights_[sel], feature_name=self.feature_names_)
            self.models_[a] = lgb.train(self._lgb_params(objective), data, num_boost_round=rounds)
            self.arm_rows_[a] = int(sel.sum())
        if "none" in self.arms and "none" not in self.models_:
            raise ValueError("the no-contact arm needs rows: incremental value is measured against it")
        # each arm's population-average deviation (weighted: the whole eligible population), the point
        # that `heterogeneity` < 1 shrinks per-account deviations towards
        self.arm_means_ = {a: float(np.average(self.models_[a].predict(M), weights=self.weights_))
                           for a in self.models_}
        self.response_model_ = None
        self.path_model_ = None
        if self.learner == "response":
            self._fit_response(X, M, y, arm, base, np.asarray(response, dtype="float64"))
        if self.learner == "path":
            self._fit_path(X, M, arm, np.asarray(response, dtype="float64"), np.asarray(direct, dtype="float64"))
        self.n_features_in_ = len(self.feature_names_)
        return self

    # the 'response' learner ---------------------------------------------------------------
    def _response_matrix(self, X: pd.DataFrame, M: pd.DataFrame, channel: np.ndarray) -> pd.DataFrame:
        """Features of the pooled engagement model: the account's features, the channel, and that
        channel's own contact history (its 90-day response rate and attempts) in shared columns."""
        own_rate = np.full(len(X), np.nan)
        own_attempts = np.full(len(X), np.nan)
        for k, c in enumerate(self.arms):
            sel = channel == k
            if not sel.any():
                continue
            for col, out in ((f"response_rate_{c}_90d", own_rate), (f"attempts_{c}_90d", own_attempts)):
                if col in X:
                    out[sel] = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype="float64")[sel]
        R = M.copy()
        R["_channel"] = channel.astype("float64")
        R["_own_response_rate"] = own_rate
        R["_own_attempts"] = own_attempts
        return R

    def _fit_engagement(self, X, M, arm, response) -> None:
        """Pooled engagement classifier P(engaged | contacted on c, x) over the logged contacts."""
        import lightgbm as lgb

        channels = [a for a in self.arms if a != "none"]
        index = {a: k for k, a in enumerate(self.arms)}
        contact = np.isin(arm, channels) & np.isfinite(response)
        code = np.array([index.get(a, -1) for a in arm])
        self.response_channels_ = [c for c in channels if c in self.models_ and response[contact & (arm == c)].sum() > 0]
        learn = contact & np.isin(arm, self.response_channels_)
        R = self._response_matrix(X[learn], M[learn], code[learn])
        params = {**self._lgb_params("binary"), "min_data_in_leaf": self.response_min_child_samples}
        data = lgb.Dataset(R, (response[learn] > 0).astype(int), feature_name=list(R.columns),
                           categorical_feature=["_channel"])
        self.response_model_ = lgb.train(params, data, num_boost_round=self.response_estimators)

    def _fit_response(self, X, M, y, arm, base, response) -> None:
        """Engagement model, then one effect per engagement per channel (`theta_`) by a doubly robust
        projection.

        Effect structure: uplift_c(x) = theta_c * P(engaged | contacted on c, x). Engagement (opened,
        clicked, replied, answered) is observed on every logged contact, is a far stronger signal than
        the 30-day payment and is where the per-account differences between channels live (channel
        affinity, stale contact data, fatigue); theta_c, the money one engagement on c moves, is one
        number per channel, so six noisy per-channel payment models are never differenced per account.
        A channel whose contacts never engage (letters) gets P = 1: its effect is a constant.

        theta_c is the weighted least-squares slope, through the origin, of the AIPW pseudo-outcome
        mu_c(x) - mu_0(x) + 1[A=c] (y - mu_c(x)) / e_c(x) - 1[A=none] (y - mu_0(x)) / e_0(x) on
        P(engaged | c, x) over all eligible account-days; mu are the residual learner's unshrunk arm
        outcome models, e the logged (contacts) or estimated (no contact) propensities.
        """
        self._fit_engagement(X, M, arm, response)
        channels = [a for a in self.arms if a != "none"]
        # doubly robust pseudo-outcomes on every row (population weight = sample weight)
        mu = self._arm_outcomes(M, heterogeneity=1.0)
        e = self.propensity_ if self.propensity_ is not None else np.ones(len(y))
        none_term = np.where(arm == "none", (y - mu["none"]) / e, 0.0)
        p = self._engagement(X, M)
        self.response_means_ = {c: float(np.average(p[c], weights=base)) for c in p}
        self.theta_ = {}
        for c in channels:
            if c not in self.models_:
                continue
            tau = mu[c] - mu["none"] + np.where(arm == c, (y - mu[c]) / e, 0.0) - none_term
            self.theta_[c] = float(np.sum(base * tau * p[c]) / np.sum(base * p[c] ** 2))

    def _fit_path(self, X, M, arm, response, direct) -> None:
        """Engagement model, then what one engagement on c brings through its own path, per account.

        Effect structure: uplift_c(x) = P(engaged | contacted on c, x) x V_c(x), where V_c(x) is the
        expected share of the past-due amount that an engaged contact's own path pays within 30 days
        (`direct`: the payments toward a promise it booked, a payment link paid on the spot, a
        disclosed hardship plan's direct debits). Business as usual does not contact while a promise
        or a plan runs, so that money is read from the logs without later contacts mixed in; the
        30-day outcome the other learners regress on credits every contact with what the follow-ups
        after it brought, and so cannot see that an answered call to a debtor short of the past due
        is worth a promise for all of it, or a plan. V is one pooled LightGBM regression over the
        engaged logged contacts (channel as a categorical, plus its own 90-day response history),
        weighted like the arms (IPW on the logged propensity), so it describes the whole eligible
        population. A channel none of whose contacts engage (letters) brings nothing by this path.
        The path's money is incremental only where the debtor would not have paid within 30 days anyway,
        so `predict_outcomes` scales it by 1 - the no-contact outcome (the residual learner's 'none' arm).
        Left out: the nudge an engaged contact gives the debtor's own payments (short-lived, and in the
        logs inseparable from the follow-ups; in an exploratory check, not a repo command, a 3- or 7-day
        own-payment model of engaged against unengaged contacts added nothing on the simulator's truth).
        """
        import lightgbm as lgb

        if np.any((direct < 0) | (direct > 1)) or np.isnan(direct).any():
            raise ValueError("direct must lie in [0, 1]")
        self._fit_engagement(X, M, arm, response)
        index = {a: k for k, a in enumerate(self.arms)}
        engaged = np.isin(arm, self.response_channels_) & (np.nan_to_num(response) > 0)
        code = np.array([index.get(a, -1) for a in arm])
        R = self._response_matrix(X[engaged], M[engaged], code[engaged])
        params = {**self._lgb_params("cross_entropy"), "num_leaves": 15}
        data = lgb.Dataset(R, direct[engaged], weight=self.weights_[engaged], feature_name=list(R.columns),
                           categorical_feature=["_channel"])
        self.path_model_ = lgb.train(params, data, num_boost_round=self.response_estimators)
        # each channel's population-average effect, the point `heterogeneity` < 1 shrinks towards
        p, v = self._engagement(X, M), self._path_values(X, M)
        kept = 1.0 - self._arm_outcomes(M, heterogeneity=1.0)["none"]
        self.response_means_ = {c: float(np.average(p[c] * v[c] * kept)) for c in p}

    def _per_channel(self, model, X: pd.DataFrame, M: pd.DataFrame | None, default: float) -> dict:
        """`model`'s prediction per contact channel on the pooled (features, channel) matrix; `default`
        for the channels whose contacts never engage."""
        M = as_matrix(X, self.feature_names_) if M is None else M
        out = {}
        for c in self.models_:
            if c == "none":
                continue
            if c in self.response_channels_:
                code = np.full(len(X), list(self.arms).index(c))
                out[c] = model.predict(self._response_matrix(X, M, code))
            else:
                out[c] = np.full(len(X), default)
        return out

    def _path_values(self, X: pd.DataFrame, M: pd.DataFrame) -> dict:
        """V_c(x): share of the past due one engaged contact on c brings through its own path (0 for
        channels that never engage)."""
        return self._per_channel(self.path_model_, X, M, 0.0)

    def _engagement(self, X: pd.DataFrame, M: pd.DataFrame | None = None) -> dict:
        """P(engaged | contacted on c, x) per channel with a model (1 for channels that never engage)."""
        return self._per_channel(self.response_model_, X, M, 1.0)

    def _clip_weights(self, weights: np.ndarray, arm: np.ndarray) -> np.ndarray:
        """Cap each arm's weights at `max_weight` x its median, then normalise to mean 1 in the arm."""
        out = np.empty_like(weights)
        for a in np.unique(arm):
            sel = arm == a
            w = weights[sel]
            w = np.minimum(w, self.max_weight * np.median(w))
            out[sel] = w / w.mean()
        return out

    # prediction ---------------------------------------------------------------------------
    def _heterogeneity(self) -> float:
        h = getattr(self, "heterogeneity", 1.0)
        if h is None:  # the learner's default
            return 1.0 if getattr(self, "learner", "residual") in ("response", "path") else 0.25
        return float(h)

    def _arm_outcomes(self, M: pd.DataFrame, heterogeneity: float) -> dict:
        """Outcome per arm from the pooled baseline and the arms' (shrunk) deviations: (n,) arrays."""
        base = self.base_model_.predict(M) if self.base_model_ is not None else 0.0
        means = getattr(self, "arm_means_", {})
        out = {}
        for a in self.arms:
            if a not in self.models_:
                out[a] = np.full(len(M), np.nan)
                continue
            dev = self.models_[a].predict(M)
            if heterogeneity != 1.0:
                dev = means[a] + heterogeneity * (dev - means[a])
            out[a] = np.clip(base + dev, 0.0, 1.0)
        return out

    def predict_outcomes(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected outcome (e.g. share of past-due paid in 30 days) per arm: one row per row of X.

        Arms without a model (too few logged decisions) are NaN. With learner='response' a channel's
        outcome is the no-contact outcome plus theta_c x P(engaged | c, x), whose spread around the
        channel's population mean is scaled by `heterogeneity`.
        """
        M = as_matrix(X, self.feature_names_)
        h = self._heterogeneity()
        if getattr(self, "response_model_", None) is None:
            return pd.DataFrame(self._arm_outcomes(M, h), index=X.index)[list(self.arms)]
        out = self._arm_outcomes(M, 1.0)
        none = out["none"]
        p = self._engagement(X, M)
        path = self._path_values(X, M) if getattr(self, "path_model_", None) is not None else None
        for c in p:
            if path is not None:
                # P(engaged) x V; the path's money counts only where the debtor would not have paid
                # within 30 days anyway: 1 - the no-contact outcome
                effect, theta = p[c] * path[c] * (1.0 - none), 1.0
            else:
                effect, theta = p[c], self.theta_[c]  # response: theta x P(engaged)
            if h != 1.0:  # shrink the spread towards the population-average effect
                effect = self.response_means_[c] + h * (effect - self.response_means_[c])
            out[c] = np.clip(none + theta * effect, 0.0, 1.0)
        return pd.DataFrame(out, index=X.index)[list(self.arms)]

    def uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per channel: expected outcome if contacted once on it minus with no contact."""
        out = self.predict_outcomes(X)
        if "none" not in out:
            raise ValueError("uplift needs the no-contact arm; this model was fit without it")
        return out[[a for a in self.arms if a != "none"]].sub(out["none"], axis=0)

    def incremental_value(self, X: pd.DataFrame, stake, costs) -> pd.DataFrame:
        """Per row and channel: uplift x `stake` − cost, in the stake's (local) currency.

        `stake`: per-row amount the outcome scales to (past-due amount for a paid-share model).
        `costs`: a per-channel mapping/Series, or a per-row DataFrame with one column per channel
        (see `models.channel_data.account_costs`). NaN = channel not available.
        """
        up = self.uplift(X)
        stake = np.asarray(stake, dtype="float64")[:, None]
        if isinstance(costs, pd.DataFrame):
            cost = costs.reindex(columns=up.columns).to_numpy(dtype="float64")
        else:
            cost = np.array([float(pd.Series(costs).get(c, np.nan)) for c in up.columns])[None, :]
        return pd.DataFrame(up.to_numpy() * stake - cost, index=X.index, columns=up.columns)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Uplift per channel as an (n, channels) array: what an MLflow pyfunc wrapper serves."""
        return self.uplift(X).to_numpy()

    def best_channel(self, X: pd.DataFrame, stake, costs, allowed: pd.DataFrame | None = None) -> pd.Series:
        """Argmax channel of net incremental value; 'none' when no allowed channel is positive."""
        value = self.incremental_value(X, stake, costs)
        if allowed is not None:
            value = value.where(allowed.reindex(columns=value.columns, fill_value=False).to_numpy())
        v = value.to_numpy()
        filled = np.where(np.isnan(v), -np.inf, v)
        best = filled.argmax(axis=1)
        top = filled[np.arange(len(v)), best]
        return pd.Series(np.where(top > 0, value.columns.to_numpy()[best], "none"), index=X.index, name="channel")

    def __repr__(self) -> str:
        return f"ChannelResponseModel(weighting={self.weighting!r}, objective={self.objective!r})"


def fit_channel_model(frame: pd.DataFrame, target: str = "paid_share_30d", **params) -> ChannelResponseModel:
    """Fit on a `train_channel_response` frame (one row per logged decision)."""
    params.setdefault("objective", OBJECTIVES[target])
    model = ChannelResponseModel(**params)
    arm = frame["arm"]
    if "none" not in set(model.arms):
        frame = frame[frame["arm"] != "none"]
        arm = frame["arm"]
    # the engagement (`engaged`, else `responded`) and path (`direct_share_30d`) columns are read by fit
    return model.fit(frame, frame[target].astype(float), arm, frame["propensity"],
                     sample_weight=frame["none_sample_weight"])


def score_channels(features: pd.DataFrame, model: ChannelResponseModel, costs: pd.DataFrame,
                   allowed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-channel score columns for `scores`: one row per row of `features` (account x as_of).

    `features`: `fct_account_features` rows (needs account_id, currency, past_due_amount and the
    model's features); `costs`: `models.channel_data.channel_costs(con)`. Columns: account_id,
    uplift_<channel> (expected extra share of the past-due amount paid in 30 days),
    incremental_value_<channel> (local currency, net of the unit cost), best_channel ('none' when
    no allowed channel pays for itself).
    """
    from models.channel_data import account_costs

    stake = features["past_due_amount"].astype("float64")
    cost = account_costs(features["currency"], costs)
    up = model.uplift(features)
    value = model.incremental_value(features, stake, cost)
    out = pd.DataFrame({"account_id": features["account_id"].to_numpy()}, index=features.index)
    for c in up.columns:
        out[f"uplift_{c}"] = up[c]
    for c in value.columns:
        out[f"incremental_value_{c}"] = value[c]
    out["best_channel"] = model.best_channel(features, stake, cost, allowed=allowed)
    return out
