"""The static world: customers with latent traits, and the accounts placed into collections.

Everything here is drawn once, before the history runs; `history.py` evolves state on top.
Arrays are indexed by customer number or account number (0..n-1), never by id string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from simulator import params as P
from simulator.scenarios import SCENARIOS, Scenario

ACCOUNTS_PER_CUSTOMER = 1.15


@dataclass
class Customers:
    """One entry per customer (arrays of equal length)."""

    country: np.ndarray  # index into P.COUNTRIES
    region: np.ndarray  # region name
    timezone: np.ndarray  # IANA name
    birth_year: np.ndarray
    created_day: np.ndarray  # day offset from the history start (negative: before it)
    phone: np.ndarray  # E.164 or "" when missing
    email: np.ndarray  # "" when missing
    whatsapp_opt_in: np.ndarray
    reason: np.ndarray  # index into P.REASONS
    capacity_ratio: np.ndarray  # monthly capacity / monthly instalment
    evening: np.ndarray  # 0..1, how much more the debtor engages in the evening
    affinity: np.ndarray  # (n, 6) base engagement probability per channel
    vulnerable: np.ndarray

    def __len__(self) -> int:
        return len(self.country)


@dataclass
class Accounts:
    """One entry per account (arrays of equal length)."""

    customer: np.ndarray  # customer number
    product: np.ndarray  # index into P.PRODUCTS
    principal: np.ndarray  # cents, local currency
    instalment: np.ndarray  # cents due each 30 days
    opened_day: np.ndarray
    placed_day: np.ndarray  # 0..days-1: day the first instalment was missed
    capacity: np.ndarray  # cents per month the debtor could pay towards this account

    def __len__(self) -> int:
        return len(self.customer)


@dataclass
class World:
    start: date  # calendar date of day 0
    days: int
    customers: Customers
    accounts: Accounts

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


def build_world(rng: np.random.Generator, n_accounts: int, days: int, end_date: date,
                scenario: Scenario | None = None) -> World:
    """Draw customers and accounts for a portfolio of `n_accounts` placed over `days` days."""
    scenario = scenario or SCENARIOS["default"]
    n_customers = max(1, int(round(n_accounts / ACCOUNTS_PER_CUSTOMER)))
    n_customers = min(n_customers, n_accounts)
    customers = build_customers(rng, n_customers, days, scenario)
    accounts = build_accounts(rng, customers, n_accounts, days, scenario)
    return World(start=end_date - timedelta(days=days - 1), days=days, customers=customers, accounts=accounts)


def build_customers(rng: np.random.Generator, n: int, days: int, scenario: Scenario) -> Customers:
    """One row per customer: demographics, contact points and the latent reason for non-payment."""
    country = rng.choice(len(P.COUNTRIES), size=n, p=scenario.normalised("country_weights"))
    region = np.empty(n, dtype=object)
    timezone = np.empty(n, dtype=object)
    phone = np.empty(n, dtype=object)
    for ci, code in enumerate(P.COUNTRIES):
        idx = np.flatnonzero(country == ci)
        if len(idx) == 0:  # draws of size 0 consume no randomness, so skipping keeps streams aligned
            continue
        options = P.REGIONS[code]
        pick = rng.integers(0, len(options), size=len(idx))
        region[idx] = np.asarray([o[0] for o in options], dtype=object)[pick]
        timezone[idx] = np.asarray([o[1] for o in options], dtype=object)[pick]
        digits = P.PHONE_DIGITS[code]
        numbers = rng.integers(0, 10**digits, size=len(idx))
        phone[idx] = np.char.add(P.PHONE_PREFIX[code], np.char.zfill(numbers.astype(str), digits)).astype(object)
    phone[rng.random(n) < scenario.p_phone_missing] = ""
    email = np.char.add(np.char.add("user", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
                        "@example.com").astype(object)
    email[rng.random(n) < scenario.p_email_missing] = ""

    birth_year = rng.integers(*scenario.birth_years, size=n)
    latam = np.isin(country, [P.COUNTRIES.index("CO"), P.COUNTRIES.index("MX")])
    whatsapp_opt_in = (rng.random(n) < np.where(latam, *scenario.whatsapp_opt_in)) & (phone != "")

    reason = rng.choice(len(P.REASONS), size=n, p=scenario.normalised("reason_weights"))
    capacity_ratio = (np.asarray(P.CAPACITY_MEDIAN)[reason] * rng.lognormal(0.0, 0.5, size=n)
                      * scenario.capacity_scale)
    evening = rng.beta(2.0, 2.0, size=n)
    affinity = channel_affinity(rng, 2026 - birth_year)
    vulnerable = (reason == P.CHRONIC) & (rng.random(n) < scenario.p_vulnerable_chronic)
    created_day = -rng.integers(60, 3650, size=n)
    return Customers(country, region, timezone, birth_year, created_day, phone, email,
                     whatsapp_opt_in, reason, capacity_ratio, evening, affinity, vulnerable)


AFFINITY_SD = 0.35  # sd of the log of a debtor's affinity around their age's level
AFFINITY_RANGE = (0.01, 0.9)


def affinity_level(age: np.ndarray) -> np.ndarray:
    """(n, 6) typical engagement probability per channel at each age: the young text, the old pick up the phone."""
    young = np.clip((60.0 - age) / 40.0, 0.0, 1.0)[:, None]
    base = np.array([0.20, 0.20, 0.20, 0.12, 0.20, 0.05])
    slope = np.array([0.20, 0.08, 0.40, -0.18, -0.22, -0.10])  # shift from oldest to youngest
    old_level = base - np.minimum(slope, 0)
    return old_level + slope * young


def channel_affinity(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """(n, 6) base engagement probability per channel: the age's level times a lognormal draw."""
    aff = affinity_level(age)
    aff = aff * rng.lognormal(0.0, AFFINITY_SD, size=aff.shape)
    return np.clip(aff, *AFFINITY_RANGE)


def build_accounts(rng: np.random.Generator, customers: Customers, n: int, days: int,
                   scenario: Scenario) -> Accounts:
    """One row per account: product, principal in local cents, instalment and placement day."""
    n_cust = len(customers)
    # every customer holds at least one account; the rest go to random customers
    customer = np.sort(np.concatenate([np.arange(n_cust), rng.integers(0, n_cust, size=n - n_cust)]))
    product = rng.choice(len(P.PRODUCTS), size=n, p=scenario.normalised("product_weights"))
    low = np.array([P.PRINCIPAL_USD[p][0] for p in P.PRODUCTS])[product]
    high = np.array([P.PRINCIPAL_USD[p][1] for p in P.PRODUCTS])[product]
    usd = np.exp(rng.uniform(np.log(low), np.log(high)))
    fx = np.asarray(P.FX_BY_COUNTRY)[customers.country[customer]]
    # COP and similar large-unit currencies are quoted in round hundreds
    step = np.where(fx > 100, 10000, 1)
    principal = (np.round(usd * fx * 100 / step) * step).astype(np.int64)
    n_inst = np.array([P.N_INSTALMENTS[p] for p in P.PRODUCTS])[product]
    instalment = np.ceil(principal / n_inst).astype(np.int64)
    placed_day = rng.integers(0, days, size=n)
    opened_day = placed_day - rng.integers(45, 1500, size=n)
    opened_day = np.maximum(opened_day, customers.created_day[customer])
    capacity = (customers.capacity_ratio[customer] * instalment).astype(np.int64)
    return Accounts(customer, product, principal, instalment, opened_day, placed_day, capacity)
