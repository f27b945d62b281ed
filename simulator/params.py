"""Scenario constants of the default world: who the debtors are and how channels behave.

Figures are chosen so the default scenario lands inside the magnitudes in DOMAIN.md §4
(early self-cure 40–60%, promise-kept roughly 40–65%) and the costs of §7. A later,
richer scenario overrides these rather than editing the behaviour code.
"""

from __future__ import annotations

from recobro.contract import CHANNELS, PRODUCTS, PROMISE_GRACE_DAYS  # noqa: F401 (re-exported)

# index order of channels used by every array in the simulator (matches the contract)
SMS, EMAIL, WHATSAPP, VOICE, AGENT_CALL, LETTER = range(len(CHANNELS))
DIGITAL = (SMS, EMAIL, WHATSAPP)
CALLS = (VOICE, AGENT_CALL)

COUNTRIES = ("CO", "MX", "ES", "US", "UK")
COUNTRY_WEIGHTS = (0.30, 0.25, 0.15, 0.20, 0.10)
CURRENCY = {"CO": "COP", "MX": "MXN", "ES": "EUR", "US": "USD", "UK": "GBP"}
LANGUAGE = {"CO": "es", "MX": "es", "ES": "es", "US": "en", "UK": "en"}
# local units per USD; amounts are drawn in USD and converted so each country looks local
FX = {"CO": 4000.0, "MX": 18.0, "ES": 0.92, "US": 1.0, "UK": 0.79}
FX_BY_COUNTRY = tuple(FX[c] for c in COUNTRIES)  # indexed by a country code (position in COUNTRIES)
# quincena (15th and month end) is the LatAm payday; elsewhere wages land at month end
QUINCENA = {"CO": True, "MX": True, "ES": False, "US": False, "UK": False}
# (region, IANA timezone) per country; US regions carry their own zone
REGIONS = {
    "CO": (("Bogota D.C.", "America/Bogota"), ("Antioquia", "America/Bogota"),
           ("Valle del Cauca", "America/Bogota"), ("Atlantico", "America/Bogota")),
    "MX": (("CDMX", "America/Mexico_City"), ("Jalisco", "America/Mexico_City"),
           ("Nuevo Leon", "America/Monterrey"), ("Puebla", "America/Mexico_City")),
    "ES": (("Madrid", "Europe/Madrid"), ("Cataluna", "Europe/Madrid"),
           ("Andalucia", "Europe/Madrid"), ("Valencia", "Europe/Madrid")),
    "US": (("NY", "America/New_York"), ("FL", "America/New_York"), ("TX", "America/Chicago"),
           ("IL", "America/Chicago"), ("CA", "America/Los_Angeles")),
    "UK": (("England", "Europe/London"), ("Scotland", "Europe/London"), ("Wales", "Europe/London")),
}
# E.164 prefixes inside reserved/fictional ranges where one exists (US 555-01xx, UK Ofcom drama)
PHONE_PREFIX = {"CO": "+57300", "MX": "+5255", "ES": "+34600", "US": "+1202555", "UK": "+447700900"}
PHONE_DIGITS = {"CO": 7, "MX": 8, "ES": 6, "US": 4, "UK": 3}

REASONS = ("forgetful", "temporary_hardship", "chronic_hardship", "disputer", "wont_pay", "stale_contact")
FORGETFUL, TEMPORARY, CHRONIC, DISPUTER, WONT_PAY, STALE = range(len(REASONS))
REASON_WEIGHTS = (0.36, 0.24, 0.09, 0.06, 0.13, 0.12)
# median monthly capacity as a multiple of the customer's monthly instalment
CAPACITY_MEDIAN = (2.5, 0.7, 0.3, 1.5, 1.2, 1.5)
# daily payment hazard while past due, first 10 days of an unpaid instalment / afterwards
HAZARD_EARLY = (0.100, 0.035, 0.008, 0.010, 0.003, 0.045)
HAZARD_LATE = (0.022, 0.012, 0.005, 0.006, 0.002, 0.010)
# share of hazard payments that clear the whole past-due amount (scaled by capacity)
P_FULL = (0.92, 0.45, 0.15, 0.80, 0.30, 0.85)
# how strongly an engaged contact lifts the hazard, and how much the debtor engages at all
NUDGE_GAIN = (2.5, 1.5, 0.6, 0.3, 0.4, 1.5)
RESPONSE_MULT = (1.3, 1.0, 0.8, 0.6, 0.35, 1.0)
P_PROMISE_ON_RPC = (0.55, 0.60, 0.45, 0.10, 0.30, 0.40)
# share of right-party calls without a promise in which a hardship debtor discloses hardship (-> plan)
P_DISCLOSE_ON_RPC = 0.25
# share of a hardship plan's monthly direct debits that go through (each 60-100% of capacity)
PLAN_DEBIT = 0.85
# daily probability a past-due debtor gets in touch on their own (inbound call or message)
P_INBOUND = (0.004, 0.003, 0.002, 0.001, 0.0003, 0.0)
INBOUND_CALL_SHARE = 0.6  # inbound contacts that are calls to an agent; the rest are WhatsApp messages
INBOUND_PROMISE_MULT = 1.3  # a debtor who gets in touch promises more readily than one who is reached
# log-odds of keeping a promise before amount, channel and history adjustments
KEEP_LOGIT = (1.3, 0.5, -0.5, -1.2, -1.4, 0.4)
KEEP_NOISE_SD = 0.6  # idiosyncratic, never observable: keeps a model's AUC realistic

PRODUCT_WEIGHTS = (0.35, 0.20, 0.20, 0.15, 0.10)
PRINCIPAL_USD = {  # (low, high) of a log-uniform draw
    "credit_card": (300, 6000), "personal_loan": (1000, 15000), "telco": (30, 300),
    "utility": (40, 400), "bnpl": (50, 900),
}
N_INSTALMENTS = {"credit_card": 10, "personal_loan": 12, "telco": 1, "utility": 1, "bnpl": 4}
MONTHLY_INTEREST = {"credit_card": 0.025, "personal_loan": 0.015, "telco": 0.0, "utility": 0.0, "bnpl": 0.0}
LATE_FEE_USD = {"credit_card": 15.0, "personal_loan": 10.0, "telco": 5.0, "utility": 4.0, "bnpl": 3.0}

# DOMAIN §7 unit costs in USD (agent call: connected vs attempt); converted to local currency
CHANNEL_COST_USD = (0.03, 0.001, 0.05, 0.25, 2.5, 0.9)
AGENT_ATTEMPT_COST_USD = 0.4

# BAU policy: daily contact probability by DPD band, then channel mix by band
DPD_BANDS = (7, 30, 90)  # upper bounds of bands 0..2; band 3 is 91+
P_CONTACT_BY_BAND = (0.30, 0.35, 0.30, 0.20)
CHANNEL_MIX_BY_BAND = (
    (0.30, 0.28, 0.25, 0.12, 0.03, 0.02),
    (0.22, 0.15, 0.20, 0.25, 0.13, 0.05),
    (0.12, 0.10, 0.12, 0.30, 0.26, 0.10),
    (0.08, 0.10, 0.08, 0.30, 0.29, 0.15),
)
# vulnerable customers go to trained humans, at lower intensity
VULNERABLE_MIX = (0.0, 0.25, 0.0, 0.0, 0.55, 0.20)
VULNERABLE_CONTACT_MULT = 0.5
POLICY_VERSION = "bau-sim-1"

MAX_POST_LAG_DAYS = 3
