"""Reason codes: TreeSHAP on the LightGBM booster, top-k features per row, phrases in en / es.

A reason code is `<feature>:high`, `<feature>:low` or `<feature>:missing`, where high/low
compares the row's value with the training median stored on the estimator
(`feature_reference_`). The signed SHAP value (log-odds) says whether the feature pushed
the score up or down; it is returned alongside the code.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from models.estimator import as_matrix

CATALOG = Path(__file__).resolve().parent.parent / "features" / "catalog.yaml"
_FALLBACK = {"en": {"high": "{f} high", "low": "{f} low", "missing": "{f} missing"},
             "es": {"high": "{f} alto", "low": "{f} bajo", "missing": "{f} sin dato"}}


def shap_values(model, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """TreeSHAP values, shape (n_rows, n_features), and the expected value, both in log-odds.

    LightGBM's own path-dependent TreeSHAP (`predict(pred_contrib=True)`): the same values as
    `shap.TreeExplainer` on the booster (identical in tests), about 1.5x faster and without
    shap's per-call set-up, which matters when thousands of actioned accounts need reasons.
    """
    M = as_matrix(X, model.feature_names_)
    # the last column is the expected value, the same on every row: read it off one all-missing row
    probe = pd.DataFrame(np.nan, index=[0], columns=M.columns) if M.empty else M
    contrib = np.asarray(model.booster_.predict(probe, pred_contrib=True))
    return (contrib[:0, :-1] if M.empty else contrib[:, :-1]), float(contrib[0, -1])


def top_reasons(model, X: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Top-k reasons per row of X (same index): `reason_1..k` codes and `shap_1..k` values.

    Features are ranked by |SHAP|; ties keep the feature order. Grain: one row per row of X.
    """
    names = model.feature_names_
    M = as_matrix(X, names)
    values, _ = shap_values(model, M)
    ref = getattr(model, "feature_reference_", None) or M.median().to_dict()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    raw = M.to_numpy()
    out = {}
    for r in range(min(k, len(names))):
        j = order[:, r]
        v = raw[np.arange(len(M)), j]
        refs = np.array([ref.get(names[i], np.nan) for i in j], dtype="float64")
        direction = np.where(np.isnan(v), "missing", np.where(v > refs, "high", "low"))
        out[f"reason_{r + 1}"] = [f"{names[i]}:{d}" for i, d in zip(j, direction)]
        out[f"shap_{r + 1}"] = values[np.arange(len(M)), j]
    return pd.DataFrame(out, index=X.index)


@functools.lru_cache(maxsize=4)
def load_catalog(path: str = str(CATALOG)) -> dict[str, dict]:
    """Feature phrases from features/catalog.yaml as {feature: {en_high: ..., ...}}; {} if absent.

    Accepts a mapping keyed by feature, or a list of entries with a `name` (or `code`) key,
    optionally under a top-level `features:` key.
    """
    p = Path(path)
    if not p.is_file():
        return {}
    import yaml

    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if isinstance(doc, dict) and "features" in doc:
        doc = doc["features"]
    if isinstance(doc, list):
        return {str(e.get("name") or e.get("code")): e for e in doc if isinstance(e, dict)}
    return {str(k): v for k, v in doc.items() if isinstance(v, dict)}


def reason_phrase(code: str, lang: str = "en", catalog: dict | None = None) -> str:
    """One code (`dpd:high`) as a phrase in `lang` ('en' or 'es'), falling back to '<feature> high'."""
    lang = lang if lang in _FALLBACK else "en"
    feature, _, direction = code.partition(":")
    direction = direction or "high"
    entry = (load_catalog() if catalog is None else catalog).get(feature, {})
    phrase = entry.get(f"{lang}_{direction}")
    return str(phrase) if phrase else _FALLBACK[lang][direction].format(f=feature)


def reasons_text(codes, lang: str = "en", catalog: dict | None = None) -> str | None:
    """Codes joined as phrases with '; ' (None codes skipped; None if nothing is left)."""
    phrases = [reason_phrase(c, lang, catalog) for c in codes if c]
    return "; ".join(phrases) if phrases else None
