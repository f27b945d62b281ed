"""Turn the world and its history into the seven contract tables (recobro.contract.TABLES).

Conventions handed to the writer: timestamps are naive `datetime64[s]` in UTC, dates are
`datetime64[D]`, and DECIMAL(18,s) columns hold integers in units of 10^-s (cents for
money, 1/10000 for contact cost). Nulls are None (strings) or NaT.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

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


def ids(prefix: str, numbers: np.ndarray, width: int = 7) -> np.ndarray:
    """`PREFIX-0000042` style ids for row numbers (0-based in, 1-based out)."""
    return np.array([f"{prefix}-{i + 1:0{width}d}" for i in numbers], dtype=object)


def utc(world: World, day: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """UTC instants from a day offset and a minute of the UTC day."""
    base = np.datetime64(world.start, "D")
    return (base + day.astype("timedelta64[D]")).astype("datetime64[s]") + minute.astype("timedelta64[m]")


def utc_from_local(world: World, day: np.ndarray, minute: np.ndarray, tz: np.ndarray) -> np.ndarray:
    """UTC instants from a local day offset and local minute in each row's IANA timezone."""
    local = utc(world, day, minute)
    out = np.empty(len(local), dtype="datetime64[s]")
    for zone in np.unique(tz):
        sel = tz == zone
        idx = pd.DatetimeIndex(local[sel]).tz_localize(zone, ambiguous=np.zeros(sel.sum(), dtype=bool),
                                                      nonexistent="shift_forward")
        out[sel] = idx.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    return out


def customers_table(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """One row per customer."""
    c = world.customers
    n = len(c)
    return pd.DataFrame({
        "customer_id": ids("CUS", np.arange(n)),
        "country": np.asarray(P.COUNTRIES, dtype=object)[c.country],
        "region": c.region, "timezone": c.timezone,
        "language": np.array([P.LANGUAGE[x] for x in P.COUNTRIES], dtype=object)[c.country],
        "birth_year": c.birth_year.astype(np.int32),
        "created_at": utc(world, c.created_day, rng.integers(0, 24 * 60, n)),
        "phone": np.where(c.phone == "", None, c.phone),
        "email": np.where(c.email == "", None, c.email),
        "whatsapp_opt_in": c.whatsapp_opt_in,
    })


def accounts_table(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """One row per account; placed_at is 06:00 UTC of the day the first instalment was missed."""
    a, c = world.accounts, world.customers
    country = np.asarray(P.COUNTRIES, dtype=object)[c.country[a.customer]]
    return pd.DataFrame({
        "account_id": ids("ACC", np.arange(len(a))),
        "customer_id": ids("CUS", a.customer),
        "product": np.asarray(P.PRODUCTS, dtype=object)[a.product],
        "currency": np.array([P.CURRENCY[x] for x in country], dtype=object),
        "opened_at": utc(world, a.opened_day, rng.integers(0, 24 * 60, len(a))),
        "placed_at": utc(world, a.placed_day, np.full(len(a), 6 * 60)),
        "principal": a.principal,
        "jurisdiction": country,
    })


def ledger_table(world: World, history: History, accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per ledger entry that had posted by the end of end_date (later postings are not delivered)."""
    L = history.ledger
    arrived = L["day"] + L["lag"] <= world.days - 1
    order = np.flatnonzero(arrived)
    order = order[np.lexsort((order, L["account"][order], L["day"][order]))]
    entry_id = np.full(len(L["day"]), None, dtype=object)
    entry_id[order] = ids("LED", np.arange(len(order)), width=9)
    reverses = L["reverses"][order]
    method = L["method"][order]
    return pd.DataFrame({
        "entry_id": entry_id[order],
        "account_id": accounts["account_id"].to_numpy()[L["account"][order]],
        "posted_at": utc(world, L["day"][order] + L["lag"][order], L["minute"][order]),
        "effective_date": (np.datetime64(world.start, "D") + L["day"][order].astype("timedelta64[D]")),
        "entry_type": np.asarray(ENTRY_TYPES, dtype=object)[L["type"][order]],
        "amount": L["amount"][order].astype(np.int64),
        "currency": accounts["currency"].to_numpy()[L["account"][order]],
        "reverses_entry_id": np.where(reverses >= 0, entry_id[np.maximum(reverses, 0)], None),
        "payment_method": np.where(method >= 0, np.asarray(METHODS, dtype=object)[np.maximum(method, 0)], None),
    })


def contacts_table(world: World, history: History, accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per BAU contact attempt, in the order they happened (row number = contact number)."""
    C, cus = history.contacts, world.customers
    acc, ch, out = C["account"].astype(np.int64), C["channel"].astype(np.int64), C["outcome"].astype(np.int64)
    cust = world.accounts.customer[acc]
    started = utc_from_local(world, C["day"], C["minute"], cus.timezone[cust])
    fx = np.array([P.FX[c] for c in P.COUNTRIES])[cus.country[cust]]
    usd = np.asarray(P.CHANNEL_COST_USD)[ch]
    usd = np.where((ch == P.AGENT_CALL) & ~CONNECTED[out], P.AGENT_ATTEMPT_COST_USD, usd)
    language = np.array([P.LANGUAGE[x] for x in P.COUNTRIES], dtype=object)[cus.country[cust]]
    as_of = (np.datetime64(world.start, "D") + C["day"].astype("timedelta64[D]")).astype(str)
    account_id = accounts["account_id"].to_numpy()[acc]
    return pd.DataFrame({
        "contact_id": ids("CTC", np.arange(len(acc)), width=9),
        "account_id": account_id,
        "customer_id": ids("CUS", cust),
        "channel": np.asarray(CHANNELS, dtype=object)[ch],
        "direction": "outbound",
        "started_at": started,
        "template_id": policy.template_ids(ch, C["band"].astype(np.int64), language),
        "outcome": np.asarray(CONTACT_OUTCOMES, dtype=object)[out],
        # cost in the account's currency so cost per unit collected needs no FX table
        "cost": np.round(usd * fx * 10_000).astype(np.int64),
        "action_key": policy.action_keys(as_of, account_id, ch),
        "propensity": np.round(C["propensity"].astype(float), 6),
    })


def promises_table(rng: np.random.Generator, history: History, accounts: pd.DataFrame,
                   contacts: pd.DataFrame, start: date) -> pd.DataFrame:
    """One row per promise; created_at is the contact's time (self-service: a few minutes later)."""
    Pm = history.promises
    n = len(Pm["account"])
    acc = Pm["account"].astype(np.int64)
    channel = Pm["channel"].astype(np.int64)
    created = contacts["started_at"].to_numpy()[Pm["contact"].astype(np.int64)]
    delay = np.where(channel == PROMISE_CHANNELS.index("self_service"), rng.integers(2, 30, n), 0)
    agent = Pm["agent"].astype(np.int64)
    return pd.DataFrame({
        "promise_id": ids("PRM", np.arange(n)),
        "account_id": accounts["account_id"].to_numpy()[acc],
        "created_at": created + delay.astype("timedelta64[m]"),
        "promised_amount": Pm["amount"].astype(np.int64),
        "currency": accounts["currency"].to_numpy()[acc],
        "due_date": np.datetime64(start, "D") + Pm["due_day"].astype("timedelta64[D]"),
        "channel": np.asarray(PROMISE_CHANNELS, dtype=object)[channel],
        "agent_id": np.where(agent >= 0, np.array([f"AGT-{x:03d}" for x in agent], dtype=object), None),
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
        "customer_id": np.where(acc_level, None, ids("CUS", owner))[order],
        "account_id": np.where(acc_level, ids("ACC", owner), None)[order],
        "kind": holds.kind[order],
        "starts_at": utc(world, holds.start_day, holds.start_minute)[order],
        "ends_at": ends_at[order],
    })


def consents_table(world: World, history: History, customers: pd.DataFrame,
                   contacts: pd.DataFrame) -> pd.DataFrame:
    """Grants at customer creation (one per reachable channel), then opt-outs and revocations."""
    c = world.customers
    point = np.column_stack([c.phone, c.email, c.phone, c.phone, c.phone,
                             np.array([f"postal-address-on-file:{x}" for x in customers["customer_id"]],
                                      dtype=object)])
    granted = np.column_stack([c.phone != "", c.email != "", c.whatsapp_opt_in, c.phone != "",
                               c.phone != "", np.ones(len(c), dtype=bool)])
    gc, gch = np.nonzero(granted)
    created = customers["created_at"].to_numpy()
    E = history.consents
    ec, ech = E["customer"].astype(np.int64), E["channel"].astype(np.int64)
    contact = E["contact"].astype(np.int64)
    from_contact = contacts["started_at"].to_numpy()[np.maximum(contact, 0)] + MINUTE
    when = np.where(contact >= 0, from_contact, utc(world, E["day"].astype(np.int64), E["minute"].astype(np.int64)))
    frame = pd.DataFrame({
        "customer": np.concatenate([gc, ec]),
        "channel": np.concatenate([gch, ech]),
        "status": np.concatenate([np.full(len(gc), "granted", dtype=object),
                                  np.asarray(CONSENT_STATUSES, dtype=object)[E["status"].astype(np.int64)]]),
        "effective_at": np.concatenate([created[gc], when.astype("datetime64[s]")]),
        "source": np.concatenate([np.full(len(gc), "onboarding", dtype=object), E["source"].astype(object)]),
    })
    frame = frame.sort_values(["effective_at", "customer", "channel"], kind="stable", ignore_index=True)
    cust, ch = frame["customer"].to_numpy(), frame["channel"].to_numpy()
    return pd.DataFrame({
        "consent_id": ids("CNS", np.arange(len(frame))),
        "customer_id": customers["customer_id"].to_numpy()[cust],
        "channel": np.asarray(CHANNELS, dtype=object)[ch],
        "contact_point": point[cust, ch],
        "status": frame["status"].to_numpy(),
        "effective_at": frame["effective_at"].to_numpy(),
        "source": frame["source"].to_numpy(),
    })
