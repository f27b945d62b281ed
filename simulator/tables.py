"""Turn the world and its history into the seven contract tables (recobro.contract.TABLES).

Conventions handed to the writer: timestamps are naive `datetime64[s]` in UTC, dates are
`datetime64[D]`, and DECIMAL(18,s) columns hold integers in units of 10^-s (cents for
money, 1/10000 for contact cost). Nulls are None (strings) or NaT.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recobro.contract import CHANNELS, CONSENT_STATUSES, CONTACT_OUTCOMES, ENTRY_TYPES, PROMISE_CHANNELS
from simulator import params as P
from simulator import policy
from simulator.history import History
from simulator.holds import ACCOUNT_LEVEL, OPEN, Holds
from simulator.payments import METHODS
from simulator.world import World

MINUTE = np.timedelta64(1, "m")
DAY = np.timedelta64(1, "D")
CONNECTED = np.isin(np.arange(len(CONTACT_OUTCOMES)),
                    [CONTACT_OUTCOMES.index(o) for o in ("rpc", "promise", "complaint", "opt_out")])


STR = pd.StringDtype("pyarrow", na_value=np.nan)


def text(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as a pandas column, without copying through Python objects."""
    return pd.array(values, dtype=STR)


def labels(names, codes: np.ndarray, valid: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Strings looked up from a small vocabulary by integer code (null where `valid` is False)."""
    out = pc.take(pa.array(list(names), pa.string()), pa.array(np.asarray(codes, dtype=np.int64)))
    if valid is not None:
        out = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), out, pa.scalar(None, pa.string()))
    return text(out)


def ids(prefix: str, numbers: np.ndarray, width: int = 7, valid: np.ndarray | None = None):
    """`PREFIX-0000042` style ids for row numbers (0-based in, 1-based out); null where not `valid`."""
    digits = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64) + 1), pa.string())
    out = pc.binary_join_element_wise(f"{prefix}-", pc.utf8_lpad(digits, width, "0"), "")
    if valid is not None:
        out = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), out, pa.scalar(None, pa.string()))
    return text(out)


def currency_codes(world: World, account: np.ndarray) -> np.ndarray:
    """Country index of each account's customer (index into P.COUNTRIES, hence P.CURRENCY)."""
    return world.customers.country[world.accounts.customer[account]]


CURRENCIES = tuple(P.CURRENCY[c] for c in P.COUNTRIES)


def utc(world: World, day: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """UTC instants from a day offset and a minute of the UTC day."""
    base = np.datetime64(world.start, "D")
    return (base + day.astype("timedelta64[D]")).astype("datetime64[s]") + minute.astype("timedelta64[m]")


def utc_from_customer_local(world: World, day: np.ndarray, minute: np.ndarray, cust: np.ndarray) -> np.ndarray:
    """UTC instants from a local day offset and local minute of customers `cust` (zones resolved once per customer)."""
    zones, zone = np.unique(world.customers.timezone.astype(str), return_inverse=True)
    return utc(world, day, minute) - local_offsets(world, zones)[zone[cust], day].astype("timedelta64[m]")


def local_offsets(world: World, zones: np.ndarray, extra_days: int = 0) -> np.ndarray:
    """(n_zones, days) UTC offset in minutes at local noon of each day.

    Contacts happen between 07:00 and 23:00 local, after any 01:00-03:00 DST switch, so the
    noon offset is exact for them and a per-row timezone conversion is not needed.
    """
    n_days = world.days + extra_days
    noon = utc(world, np.arange(n_days), np.full(n_days, 12 * 60))
    out = np.zeros((len(zones), n_days), dtype=np.int64)
    for k, zone in enumerate(zones):
        local = pd.DatetimeIndex(noon).tz_localize(zone)
        out[k] = (local.tz_localize(None) - local.tz_convert("UTC").tz_localize(None)).total_seconds() // 60
    return out


def customers_table(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """One row per customer."""
    c = world.customers
    n = len(c)
    return pd.DataFrame({
        "customer_id": ids("CUS", np.arange(n)),
        "country": labels(P.COUNTRIES, c.country),
        "region": c.region, "timezone": c.timezone,
        "language": labels([P.LANGUAGE[x] for x in P.COUNTRIES], c.country),
        "birth_year": c.birth_year.astype(np.int32),
        "created_at": utc(world, c.created_day, rng.integers(0, 24 * 60, n)),
        "phone": np.where(c.phone == "", None, c.phone),
        "email": np.where(c.email == "", None, c.email),
        "whatsapp_opt_in": c.whatsapp_opt_in,
    })


def accounts_table(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """One row per account; placed_at is 06:00 UTC of the day the first instalment was missed."""
    a = world.accounts
    country = currency_codes(world, np.arange(len(a)))
    return pd.DataFrame({
        "account_id": ids("ACC", np.arange(len(a))),
        "customer_id": ids("CUS", a.customer),
        "product": labels(P.PRODUCTS, a.product),
        "currency": labels(CURRENCIES, country),
        "opened_at": utc(world, a.opened_day, rng.integers(0, 24 * 60, len(a))),
        "placed_at": utc(world, a.placed_day, np.full(len(a), 6 * 60)),
        "principal": a.principal,
        "jurisdiction": labels(P.COUNTRIES, country),
    })


def ledger_table(world: World, history: History) -> pd.DataFrame:
    """One row per ledger entry that had posted by the end of end_date (later postings are not delivered)."""
    L = history.ledger
    arrived = L["day"] + L["lag"] <= world.days - 1
    order = np.flatnonzero(arrived)
    order = order[np.lexsort((order, L["account"][order], L["day"][order]))]
    number = np.full(len(L["day"]), -1, dtype=np.int64)
    number[order] = np.arange(len(order))
    reverses = L["reverses"][order].astype(np.int64)
    method = L["method"][order].astype(np.int64)
    acc = L["account"][order].astype(np.int64)
    rev_number = number[np.maximum(reverses, 0)]
    return pd.DataFrame({
        "entry_id": ids("LED", np.arange(len(order)), width=9),
        "account_id": ids("ACC", acc),
        "posted_at": utc(world, L["day"][order] + L["lag"][order], L["minute"][order]),
        "effective_date": (np.datetime64(world.start, "D") + L["day"][order].astype("timedelta64[D]")),
        "entry_type": labels(ENTRY_TYPES, L["type"][order]),
        "amount": L["amount"][order].astype(np.int64),
        "currency": labels(CURRENCIES, currency_codes(world, acc)),
        "reverses_entry_id": ids("LED", rev_number, width=9, valid=(reverses >= 0) & (rev_number >= 0)),
        "payment_method": labels(METHODS, np.maximum(method, 0), valid=method >= 0),
    })


def contacts_table(world: World, history: History) -> pd.DataFrame:
    """One row per BAU contact attempt, in the order they happened (row number = contact number)."""
    C, cus = history.contacts, world.customers
    acc, ch, out = C["account"].astype(np.int64), C["channel"].astype(np.int64), C["outcome"].astype(np.int64)
    cust = world.accounts.customer[acc]
    started = utc_from_customer_local(world, C["day"].astype(np.int64), C["minute"].astype(np.int64), cust)
    country = cus.country[cust]
    fx = np.asarray(P.FX_BY_COUNTRY)[country]
    usd = np.asarray(P.CHANNEL_COST_USD)[ch]
    usd = np.where((ch == P.AGENT_CALL) & ~CONNECTED[out], P.AGENT_ATTEMPT_COST_USD, usd)
    account_id = ids("ACC", acc)
    return pd.DataFrame({
        "contact_id": ids("CTC", np.arange(len(acc)), width=9),
        "account_id": account_id,
        "customer_id": ids("CUS", cust),
        "channel": labels(CHANNELS, ch),
        "direction": labels(("outbound", "inbound"), C["inbound"].astype(np.int64)),
        "started_at": started,
        "template_id": text(policy.template_ids(ch, C["band"].astype(np.int64), country)),
        "outcome": labels(CONTACT_OUTCOMES, out),
        # cost in the account's currency so cost per unit collected needs no FX table
        "cost": np.round(usd * fx * 10_000 * (1 - C["inbound"])).astype(np.int64),
        "action_key": text(policy.action_keys(world.start, C["day"].astype(np.int64), account_id, ch,
                                              C["inbound"].astype(bool))),
        "propensity": np.where(C["inbound"] > 0, np.nan, np.round(C["propensity"].astype(float), 6)),
    })


def promises_table(rng: np.random.Generator, history: History, contacts: pd.DataFrame,
                   world: World) -> pd.DataFrame:
    """One row per promise; created_at is the contact's time (self-service: a few minutes later)."""
    Pm = history.promises
    n = len(Pm["account"])
    acc = Pm["account"].astype(np.int64)
    channel = Pm["channel"].astype(np.int64)
    created = contacts["started_at"].to_numpy()[Pm["contact"].astype(np.int64)]
    delay = np.where(channel == PROMISE_CHANNELS.index("self_service"), rng.integers(2, 30, n), 0)
    agent = Pm["agent"].astype(np.int64)
    agent_id = pc.binary_join_element_wise(
        "AGT-", pc.utf8_lpad(pc.cast(pa.array(np.maximum(agent, 0)), pa.string()), 3, "0"), "")
    return pd.DataFrame({
        "promise_id": ids("PRM", np.arange(n)),
        "account_id": ids("ACC", acc),
        "created_at": created + delay.astype("timedelta64[m]"),
        "promised_amount": Pm["amount"].astype(np.int64),
        "currency": labels(CURRENCIES, currency_codes(world, acc)),
        "due_date": np.datetime64(world.start, "D") + Pm["due_day"].astype("timedelta64[D]"),
        "channel": labels(PROMISE_CHANNELS, channel),
        "agent_id": text(pc.if_else(pa.array(agent >= 0), agent_id, pa.scalar(None, pa.string()))),
    })


def holds_table(world: World, holds: Holds) -> pd.DataFrame:
    """One row per hold; account-level kinds carry account_id only, the rest customer_id only."""
    acc_level = np.isin(holds.kind, ACCOUNT_LEVEL)
    owner = holds.owner
    ends = np.where(holds.end_day < OPEN, holds.end_day, 0)
    ends_at = utc(world, ends, holds.start_minute).astype("datetime64[s]")
    ends_at[holds.end_day >= OPEN] = np.datetime64("NaT")
    order = np.lexsort((owner, holds.start_day))
    return pd.DataFrame({
        "hold_id": ids("HLD", np.arange(len(order))),
        "customer_id": ids("CUS", owner[order], valid=~acc_level[order]),
        "account_id": ids("ACC", owner[order], valid=acc_level[order]),
        "kind": holds.kind[order],
        "starts_at": utc(world, holds.start_day, holds.start_minute)[order],
        "ends_at": ends_at[order],
    })


def consents_table(world: World, history: History, customers: pd.DataFrame,
                   contacts: pd.DataFrame) -> pd.DataFrame:
    """Grants at customer creation (one per reachable channel), then opt-outs and revocations."""
    c = world.customers
    postal = np.asarray(pc.binary_join_element_wise("postal-address-on-file:", pa.array(customers["customer_id"].array).cast(pa.string()), ""))
    point = np.column_stack([c.phone, c.email, c.phone, c.phone, c.phone, postal.astype(object)])
    granted = np.column_stack([c.phone != "", c.email != "", c.whatsapp_opt_in, c.phone != "",
                               c.phone != "", np.ones(len(c), dtype=bool)])
    gc, gch = np.nonzero(granted)
    created = customers["created_at"].to_numpy()
    E = history.consents
    ec, ech = E["customer"].astype(np.int64), E["channel"].astype(np.int64)
    contact = E["contact"].astype(np.int64)
    from_contact = contacts["started_at"].to_numpy()[np.maximum(contact, 0)] + MINUTE
    when = np.where(contact >= 0, from_contact, utc(world, E["day"].astype(np.int64), E["minute"].astype(np.int64)))
    source_codes = ("onboarding", "contact_reply", "customer_request")
    cust = np.concatenate([gc, ec])
    ch = np.concatenate([gch, ech])
    status = np.concatenate([np.zeros(len(gc), dtype=np.int64), E["status"].astype(np.int64)])
    source = np.concatenate([np.zeros(len(gc), dtype=np.int64), E["source"].astype(np.int64)])
    effective = np.concatenate([created[gc], when.astype("datetime64[s]")])
    order = np.lexsort((ch, cust, effective))
    cust, ch = cust[order], ch[order]
    return pd.DataFrame({
        "consent_id": ids("CNS", np.arange(len(order))),
        "customer_id": ids("CUS", cust),
        "channel": labels(CHANNELS, ch),
        "contact_point": point[cust, ch],
        "status": labels(CONSENT_STATUSES, status[order]),
        "effective_at": effective[order],
        "source": labels(source_codes, source[order]),
    })
