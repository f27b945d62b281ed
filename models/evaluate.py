"""Out-of-time evaluation: metrics and the plots logged with every training run.

Grain of inputs: one row per labelled unit of the held-out (later) time slice.
Plots are built on `matplotlib.figure.Figure` directly, so no pyplot global state is touched.
"""

from __future__ import annotations

import numpy as np


def probability_bins(p: np.ndarray, bins: int = 10) -> np.ndarray:
    """Equal-width bin index (0..bins-1) of each probability; p = 1 falls in the last bin."""
    return np.minimum((np.asarray(p, dtype="float64") * bins).astype(int), bins - 1)


def expected_calibration_error(y, p, bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of (bin share) x |mean(p) - mean(y)|."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    idx = probability_bins(p, bins)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def classification_metrics(y, p) -> dict[str, float]:
    """AUC, log loss, Brier score and ECE of probabilities `p` against labels `y`."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y)
    return {
        "auc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "label_rate": float(np.mean(y)),
        "mean_p": float(np.mean(p)),
    }


def reliability_figure(y, p_calibrated, p_raw, bins: int = 10):
    """Reliability diagram: observed rate vs mean predicted probability per bin."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfect")
    y = np.asarray(y, dtype="float64")
    for label, p in (("calibrated", p_calibrated), ("uncalibrated", p_raw)):
        p = np.asarray(p, dtype="float64")
        idx = probability_bins(p, bins)
        pts = [(p[idx == b].mean(), y[idx == b].mean()) for b in range(bins) if (idx == b).any()]
        ax.plot(*zip(*pts), marker="o", label=label)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title("Reliability (out-of-time)")
    ax.legend(loc="upper left")
    return fig


def importance_figure(booster):
    """Gain importance per feature, largest at the top."""
    from matplotlib.figure import Figure

    names = booster.feature_name()
    gain = booster.feature_importance(importance_type="gain")
    order = np.argsort(gain)
    fig = Figure(figsize=(6, 0.35 * len(names) + 1.5))
    ax = fig.subplots()
    ax.barh([names[i] for i in order], gain[order])
    ax.set_xlabel("total gain")
    ax.set_title("Feature importance")
    fig.tight_layout()
    return fig


def shap_summary_figure(shap_values: np.ndarray, X, max_features: int = 20):
    """Beeswarm-style SHAP summary: one row per feature, points coloured by feature rank."""
    from matplotlib.figure import Figure

    names = list(X.columns)
    order = np.argsort(np.abs(shap_values).mean(axis=0))[-max_features:]
    fig = Figure(figsize=(7, 0.4 * len(order) + 1.5))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        v = X.iloc[:, j].to_numpy(dtype="float64")
        finite = np.isfinite(v)
        colour = np.full(len(v), 0.5)
        if finite.sum() > 1:
            colour[finite] = v[finite].argsort().argsort() / (finite.sum() - 1)
        jitter = rng.uniform(-0.3, 0.3, len(v))
        ax.scatter(shap_values[:, j], row + jitter, c=colour, cmap="coolwarm", s=4, alpha=0.6)
    ax.set_yticks(range(len(order)), [names[j] for j in order])
    ax.axvline(0, c="grey", lw=1)
    ax.set_xlabel("SHAP value (log-odds; colour: low → high feature value)")
    ax.set_title("SHAP summary (out-of-time sample)")
    fig.tight_layout()
    return fig


#: PSI bands (E. M. Lewis; DOMAIN.md §6): below STABLE stable, up to ACT investigate, above act.
#: The one definition: `reports.monitoring` (report PSI between scoring dates) uses these too.
PSI_STABLE, PSI_ACT = 0.10, 0.25
#: Empty bins would make the log undefined; shares are floored at this (the usual convention).
PSI_FLOOR = 1e-4


def psi_of_shares(expected, actual, floor: float = PSI_FLOOR) -> float:
    """PSI = sum((a - e) ln(a / e)) over bins of two share vectors of equal length, each floored."""
    e = np.maximum(np.asarray(expected, dtype="float64"), floor)
    a = np.maximum(np.asarray(actual, dtype="float64"), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def score_baseline(scores, bins: int = 10) -> dict:
    """A score distribution to monitor against: inner quantile edges and the share in each bin."""
    scores = np.asarray(scores, dtype="float64")
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1) / len(scores)
    return {"edges": [float(e) for e in edges], "shares": [float(s) for s in shares], "rows": int(len(scores))}


def population_stability_index(baseline: dict, scores, floor: float = PSI_FLOOR) -> float:
    """PSI of `scores` against a `score_baseline` dict: sum (a - e) ln(a / e) over its bins."""
    scores = np.asarray(scores, dtype="float64")
    edges = np.asarray(baseline["edges"], dtype="float64")
    actual = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1) / max(len(scores), 1)
    return psi_of_shares(baseline["shares"], actual, floor)


def psi_band(psi: float) -> str:
    """'stable' (< 0.10), 'investigate' (0.10-0.25) or 'act' (> 0.25)."""
    return "stable" if psi < PSI_STABLE else ("investigate" if psi <= PSI_ACT else "act")


def reliability_table(y, p, bins: int = 10):
    """One row per non-empty equal-width bin of p: rows, mean predicted, observed rate, gap."""
    import pandas as pd

    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    idx = probability_bins(p, bins)
    rows = [{"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "rows": int((idx == b).sum()),
             "mean_predicted": float(p[idx == b].mean()), "observed_rate": float(y[idx == b].mean())}
            for b in range(bins) if (idx == b).any()]
    table = pd.DataFrame(rows, columns=["bin", "rows", "mean_predicted", "observed_rate"])
    return table.assign(gap=table["observed_rate"] - table["mean_predicted"])


def expected_auc(score, p_true) -> float:
    """AUC of `score` expected when each outcome is Bernoulli(p_true), the truth's probabilities.

    Every row counts as a positive with weight p_true and a negative with weight 1 - p_true.
    With score = p_true this is the Bayes AUC: the best AUC any model can expect on these rows.
    """
    from sklearn.metrics import roc_auc_score

    score, p_true = np.asarray(score, dtype="float64"), np.asarray(p_true, dtype="float64")
    n = len(score)
    return float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[score, score],
                               sample_weight=np.r_[p_true, 1 - p_true]))
