"""Population stability index (PSI) of a score between two scoring dates (DOMAIN.md §6)."""

from __future__ import annotations

import math
from typing import Sequence

# Empty bins would make the log undefined; a small floor is the usual convention.
PSI_FLOOR = 1e-4

# (upper bound inclusive, band, what to do) — bands from E. M. Lewis, DOMAIN.md §6.
PSI_BANDS = (
    (0.10, "stable", "no action"),
    (0.25, "investigate", "look at segments and features that moved"),
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
    value = 0.0
    for e, a in zip(expected, actual):
        e_share = max(e / e_total, PSI_FLOOR)
        a_share = max(a / a_total, PSI_FLOOR)
        value += (a_share - e_share) * math.log(a_share / e_share)
    return value


def psi_band(value: float | None) -> str:
    """'stable' (< 0.10), 'investigate' (0.10–0.25), 'act' (> 0.25), or 'n/a' for None."""
    if value is None:
        return "n/a"
    if value < PSI_BANDS[0][0]:
        return PSI_BANDS[0][1]
    if value <= PSI_BANDS[1][0]:
        return PSI_BANDS[1][1]
    return PSI_BANDS[2][1]


def psi_advice(band: str) -> str:
    """The suggested follow-up for a PSI band."""
    return {b: advice for _, b, advice in PSI_BANDS}.get(band, "no previous scoring date to compare")
