"""Population stability index (PSI) of a score between two scoring dates (DOMAIN.md §6).

The formula, the floor and the band thresholds are `models.evaluate`'s (the promotion gate's),
so the report and the gate can never disagree on what "stable" means.
"""

from __future__ import annotations

import math
from typing import Sequence

from models.evaluate import PSI_ACT, PSI_STABLE, psi_of_shares
from models.evaluate import psi_band as _psi_band

# (upper bound inclusive, band, what to do) — bands from E. M. Lewis, DOMAIN.md §6.
PSI_BANDS = (
    (PSI_STABLE, "stable", "no action"),
    (PSI_ACT, "investigate", "look at segments and features that moved"),
    (math.inf, "act", "recalibrate or retrain; check the input data"),
)


def psi(expected: Sequence[float], actual: Sequence[float]) -> float | None:
    """PSI = sum((a - e) * ln(a / e)) over bins of two histograms (counts or shares).

    Returns None when either histogram is empty or their lengths differ.
    """
    if len(expected) != len(actual) or not expected:
        return None
    e_total, a_total = float(sum(expected)), float(sum(actual))
    if e_total <= 0 or a_total <= 0:
        return None
    return psi_of_shares([e / e_total for e in expected], [a / a_total for a in actual])


def psi_band(value: float | None) -> str:
    """'stable' (< 0.10), 'investigate' (0.10–0.25), 'act' (> 0.25), or 'n/a' for None."""
    return "n/a" if value is None else _psi_band(value)


def psi_advice(band: str) -> str:
    """The suggested follow-up for a PSI band."""
    return {b: advice for _, b, advice in PSI_BANDS}.get(band, "no previous scoring date to compare")
