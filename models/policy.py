"""Feature policy: personal and protected data never reach a model (DOMAIN.md §5, DESIGN.md §3)."""

from __future__ import annotations

from recobro.contract import PERSONAL_COLUMNS

#: Columns that must never be in a training table or a feature list: the contract's personal
#: columns plus protected and locating attributes.
FORBIDDEN_COLUMNS = PERSONAL_COLUMNS | frozenset({
    "birth_year", "age", "country", "language", "region", "first_name", "last_name", "timezone",
})
#: Prefixes of special-category columns (may lower intensity elsewhere; never a model input).
FORBIDDEN_PREFIXES = ("vulnerability", "health")


class FeaturePolicyViolation(ValueError):
    """A training column or feature is personal or protected data."""


def forbidden_columns(columns) -> list[str]:
    """The subset of `columns` the policy forbids, in input order."""
    return [c for c in columns
            if c.lower() in FORBIDDEN_COLUMNS or c.lower().startswith(FORBIDDEN_PREFIXES)]


def check_feature_policy(columns, where: str = "training data") -> None:
    """Raise `FeaturePolicyViolation` naming every forbidden column found in `columns`."""
    bad = forbidden_columns(columns)
    if bad:
        raise FeaturePolicyViolation(
            f"{where} contains personal or protected columns {bad}; these may never be model "
            "inputs (DOMAIN.md §5). Remove them from the feature SQL / training table."
        )
