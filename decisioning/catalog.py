"""Strategy defaults a collections team tunes: candidate actions, costs, uplift priors, treatment paths, templates.

These are business settings, not compliance rules (those live in the rule packs). Costs are DOMAIN.md §7
midpoints in USD; amounts at stake are converted to USD with the rough `FX_TO_USD` rates so that expected
values are comparable across currencies (a deployment overrides them).
"""

from __future__ import annotations

POLICY_VERSION = "nba-2026.1"
EPSILON = 0.05  # exploration share, spread over the allowed alternatives to the greedy choice

FX_TO_USD = {"USD": 1.0, "COP": 1 / 4000, "MXN": 1 / 18.0, "GBP": 1.27, "EUR": 1.08}

# action, channel, cost (USD), uplift prior champion, uplift prior challenger, quotes an amount, needs
# contact point. Uplift = extra probability that the amount at stake gets paid because of this contact
# (SMS ~+8%: Cadena & Schoar, NBER WP 17020; email small: Kuan et al. PNAS 2025).
CANDIDATES = (
    ("remind", "sms", 0.03, 0.08, 0.07, False, "phone"),
    ("remind", "email", 0.001, 0.02, 0.02, False, "email"),
    ("remind", "whatsapp", 0.05, 0.07, 0.09, False, "phone"),
    ("remind", "voice", 0.25, 0.05, 0.04, False, "phone"),
    ("payment_link", "sms", 0.03, 0.10, 0.09, True, "phone"),
    ("payment_link", "email", 0.001, 0.03, 0.03, True, "email"),
    ("payment_link", "whatsapp", 0.05, 0.11, 0.14, True, "phone"),
    ("offer_plan", "email", 0.001, 0.03, 0.03, True, "email"),
    ("offer_plan", "whatsapp", 0.05, 0.06, 0.08, True, "phone"),
    ("offer_plan", "agent_call", 2.50, 0.16, 0.16, True, "phone"),
    ("agent_call", "agent_call", 2.50, 0.14, 0.12, False, "phone"),
    ("escalate", "letter", 0.90, 0.05, 0.05, True, None),
)
CANDIDATE_COLUMNS = ("action", "channel", "cost_usd", "uplift_champion", "uplift_challenger",
                     "quotes_amount", "contact_point")


def channel_cost_usd() -> dict[str, float]:
    """Unit cost of one contact per channel (USD): the one cost source for decide and the channel model."""
    costs: dict[str, float] = {}
    for _, channel, cost, *_ in CANDIDATES:
        if costs.setdefault(channel, cost) != cost:
            raise ValueError(f"catalog gives channel {channel!r} two costs: {costs[channel]} and {cost}")
    return costs


# The channel response model (models.channel, scored into work_channel_values) values a contact through a
# channel: expected extra payment within 30 days versus no contact, net of the channel's cost. These actions take
# that value in the arms below; the catalog's uplift prior then only orders actions on the same channel (the
# logged history the model learns from does not separate the message from the channel). Escalation is an adverse
# step reached by rule only and keeps its prior; the challenger arm keeps the catalog priors, so the randomised
# experiment measures the model's policy against the prior-based one.
MODEL_VALUED_ACTIONS = ("remind", "payment_link", "offer_plan", "agent_call")
MODEL_VALUE_ARMS = ("champion",)

# Segment -> (actions strategy allows, treatment path as (path day, action, channel) steps).
# The path day is days past due counted from the start of the segment's DPD bucket; the control
# arm follows the path (business as usual), champion and challenger optimise expected value.
SEGMENTS = {
    "early_digital": (("remind", "payment_link"),
                      ((1, "remind", "sms"), (4, "payment_link", "whatsapp"), (10, "agent_call", "agent_call"))),
    "early_high_risk": (("remind", "payment_link", "agent_call"),
                        ((1, "remind", "sms"), (3, "payment_link", "sms"), (7, "agent_call", "agent_call"))),
    "mid_stage": (("remind", "payment_link", "offer_plan", "agent_call"),
                  ((1, "payment_link", "email"), (5, "offer_plan", "whatsapp"), (10, "agent_call", "agent_call"))),
    "late_stage": (("payment_link", "offer_plan", "agent_call"),
                   ((1, "offer_plan", "email"), (7, "agent_call", "agent_call"))),
    # escalation is an adverse step: only a rule (dpd > 120 in this path) puts it in reach, never a score
    "recovery": (("offer_plan", "agent_call", "escalate"),
                 ((1, "agent_call", "agent_call"), (31, "escalate", "letter"))),
    "vulnerable": (("agent_call",), ((1, "agent_call", "agent_call"),)),
}

# Tone per segment before the pack's max_tone cap; vulnerability and hardship are always supportive.
SEGMENT_TONE = {"early_digital": "friendly", "early_high_risk": "neutral", "mid_stage": "neutral",
                "late_stage": "firm", "recovery": "firm", "vulnerable": "supportive"}

# Risk tier comes from work_scores.risk_tier (models.score: high < HIGH_RISK_BELOW <= medium < LOW_RISK_FROM <= low
# on p_pay_30d); decide recomputes it with those same constants only when a score row lacks it.

# Human agents are scarce capacity (DOMAIN.md §7): at most this many agent_call-channel actions per as_of, across
# all arms. Vulnerable accounts (agents are their only permitted route) queue first, then expected value desc.
AGENT_CALLS_PER_DAY = 400
ARMS = (("champion", 80), ("challenger", 10), ("control", 10))
TEMPLATE_LANGUAGES = ("en", "es")
PLAN_INSTALLMENTS = 3


def template_id(action: str, channel: str, tone: str, language: str, without_amount: bool = False) -> str:
    """The message template for action × channel × tone × language (unsupported language -> 'en')."""
    lang = (language or "en")[:2].lower()
    lang = lang if lang in TEMPLATE_LANGUAGES else "en"
    return f"{action}.{channel}.{tone}.{lang}" + (".no_amount" if without_amount else "")


def template_rows() -> list[tuple]:
    """Every known template as (action, channel, tone, language, without_amount, template_id)."""
    from decisioning.rule_packs import TONES

    return [
        (a, c, t, lang, w, template_id(a, c, t, lang, w))
        for a, c, *_ in CANDIDATES for t in TONES for lang in TEMPLATE_LANGUAGES for w in (False, True)
    ]
