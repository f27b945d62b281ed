"""Named portfolio scenarios: who the debtors are, as frozen data instead of module constants.

`simulate(..., scenario="recession")` picks one by name; a `Scenario` can also be passed
directly (e.g. `replace(SCENARIOS["default"], capacity_scale=0.5)`). Behaviour laws
(hazards, keep probabilities, channel effects) stay in `params.py`: a scenario changes the
population, not how a given debtor behaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator import params as P


@dataclass(frozen=True)
class Scenario:
    """The population mix of one portfolio (weights need not sum to 1; they are normalised)."""

    name: str
    country_weights: tuple[float, ...] = P.COUNTRY_WEIGHTS  # order of P.COUNTRIES
    reason_weights: tuple[float, ...] = P.REASON_WEIGHTS  # order of P.REASONS
    capacity_scale: float = 1.0  # multiplies every debtor's capacity to pay
    birth_years: tuple[int, int] = (1946, 2007)  # uniform, [low, high)
    p_phone_missing: float = 0.03
    p_email_missing: float = 0.08
    whatsapp_opt_in: tuple[float, float] = (0.75, 0.35)  # (CO/MX, elsewhere)
    p_vulnerable_chronic: float = 0.4  # share of chronic-hardship debtors flagged vulnerable
    product_weights: tuple[float, ...] = P.PRODUCT_WEIGHTS  # order of P.PRODUCTS
    description: str = ""

    def normalised(self, field: str) -> tuple[float, ...]:
        """One of the weight tuples scaled to sum to 1."""
        w = getattr(self, field)
        total = float(sum(w))
        if total <= 0 or any(x < 0 for x in w):
            raise ValueError(f"scenario {self.name}: {field} must be non-negative with a positive sum")
        return tuple(x / total for x in w)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("default", description="Mixed five-country portfolio calibrated to DOMAIN.md §4."),
    Scenario(
        "recession",
        reason_weights=(0.20, 0.36, 0.20, 0.06, 0.10, 0.08), capacity_scale=0.6, p_vulnerable_chronic=0.5,
        description="Hardship-heavy recession: more temporary and chronic hardship, capacity cut by 40%.",
    ),
    Scenario(
        "young_digital",
        birth_years=(1988, 2007), p_phone_missing=0.01, p_email_missing=0.02, whatsapp_opt_in=(0.9, 0.6),
        product_weights=(0.25, 0.05, 0.20, 0.05, 0.45),
        description="Young, digital-first debtors (mostly BNPL and cards) who answer messages, not calls.",
    ),
    Scenario(
        "poor_contact_data",
        reason_weights=(0.30, 0.20, 0.08, 0.05, 0.12, 0.25), p_phone_missing=0.15, p_email_missing=0.30,
        whatsapp_opt_in=(0.5, 0.2),
        description="Bought or aged debt: a quarter of contact points are stale, many are missing.",
    ),
    Scenario(
        "latam",
        country_weights=(0.55, 0.45, 0.0, 0.0, 0.0),
        description="Colombia and Mexico only: quincena paydays, WhatsApp-heavy, Ley 2300 / CONDUSEF rules.",
    ),
)}


def scenario_named(scenario: str | Scenario) -> Scenario:
    """The scenario object for a name (or the object itself); raises ValueError for unknown names."""
    if isinstance(scenario, Scenario):
        return scenario
    try:
        return SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {sorted(SCENARIOS)}") from None
