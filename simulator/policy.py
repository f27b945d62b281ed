"""The business-as-usual (BAU) contact policy that generated the historical contacts.

It is deliberately randomised and its probabilities are logged as `propensity`, so the
history supports off-policy evaluation of the policies recobro proposes later.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recobro.contract import CHANNELS, CONTACT_OUTCOMES
from simulator import params as P

OUTCOME = {name: i for i, name in enumerate(CONTACT_OUTCOMES)}
# what the BAU rule meant by each channel, in the next-best-action vocabulary
ACTION_BY_CHANNEL = ("remind", "remind", "payment_link", "remind", "agent_call", "escalate")
TONE_BY_BAND = ("friendly", "neutral", "firm", "firm")
# local hour weights 07..22; digital sends lean to the evening, calls to office hours
HOURS = np.arange(7, 23)
_DIGITAL_HOURS = np.array([0.5, 4, 6, 6, 6, 5, 5, 5, 6, 6, 7, 9, 10, 8, 1.0, 0.5])
_CALL_HOURS = np.array([0.3, 3, 8, 9, 9, 6, 7, 8, 8, 8, 7, 6, 4, 1, 0.4, 0.3])
_LETTER_HOURS = np.array([0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0])


def dpd_band(dpd: np.ndarray) -> np.ndarray:
    """Band 0..3 of days past due (1-7, 8-30, 31-90, 91+)."""
    return np.searchsorted(np.asarray(P.DPD_BANDS), dpd, side="left")


def bau_action_probabilities(dpd: np.ndarray, vulnerable: np.ndarray,
                             allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per eligible account: P(contact today) and P(channel | contact), shape (n,) and (n, 6).

    Channels the customer cannot be reached on (no consent, opted out, no contact point)
    are removed and the rest renormalised; an account with no channel left gets p = 0.
    Looked up from a table of every (band, vulnerable, reachable channels) combination.
    """
    contact_table, channel_table = _bau_tables()
    code = (dpd_band(dpd) * 2 + vulnerable.astype(np.int64)) * 64 + allowed.astype(np.int64) @ (1 << np.arange(6))
    return contact_table[code], channel_table[code]


@lru_cache(maxsize=1)
def _bau_tables() -> tuple[np.ndarray, np.ndarray]:
    """P(contact) (512,) and P(channel | contact) (512, 6) by (band, vulnerable, allowed bitmask)."""
    band, vulnerable, bits = np.divmod(np.arange(512), 128)[0], (np.arange(512) // 64) % 2 == 1, np.arange(512) % 64
    allowed = (bits[:, None] >> np.arange(6)) & 1
    mix = np.asarray(P.CHANNEL_MIX_BY_BAND)[band]
    mix = np.where(vulnerable[:, None], np.asarray(P.VULNERABLE_MIX)[None, :], mix) * allowed
    total = mix.sum(axis=1)
    p_channel = np.divide(mix, total[:, None], out=np.zeros_like(mix), where=total[:, None] > 0)
    p_contact = np.asarray(P.P_CONTACT_BY_BAND)[band] * np.where(vulnerable, P.VULNERABLE_CONTACT_MULT, 1.0)
    return np.where(total > 0, p_contact, 0.0), p_channel


def draw_bau_actions(rng: np.random.Generator, p_contact: np.ndarray,
                     p_channel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contacted bool, channel index, propensity of the chosen action) per eligible account."""
    contacted = rng.random(len(p_contact)) < p_contact
    cum = np.cumsum(p_channel, axis=1)
    u = rng.random(len(p_contact))[:, None] * cum[:, -1:]
    channel = np.minimum((u >= cum).sum(axis=1), len(CHANNELS) - 1)
    propensity = p_contact * p_channel[np.arange(len(channel)), channel]
    return contacted, channel, propensity


def one_contact_per_customer(customer: np.ndarray, p_contact: np.ndarray,
                             contacted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BAU contacts a person at most once a day, trying their accounts in account order.

    `customer` must be sorted. Returns (kept contact mask, factor on the propensity): an
    account is contacted only if none of the customer's earlier accounts was, so its true
    propensity is its own times P(no earlier account drawn).
    """
    if len(customer) == 0:
        return contacted, np.ones(0)
    start = np.r_[True, customer[1:] != customer[:-1]]
    group = np.cumsum(start) - 1
    log_q = np.log1p(-np.minimum(p_contact, 1 - 1e-12))
    before = np.cumsum(log_q) - log_q
    prior_none = np.exp(before - before[start][group])
    earlier = np.cumsum(contacted) - contacted
    first = (earlier - earlier[start][group]) == 0
    return contacted & first, prior_none


def draw_local_minute(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Minute of the local day each contact is meant to start; some fall outside 08:00-21:00, and the
    dialer moves them into the pack's hours (history `_within_rules`, `reference._send_minute`)."""
    minute = np.empty(len(channel), dtype=np.int64)
    groups = (("digital", np.isin(channel, P.DIGITAL), _DIGITAL_HOURS),
              ("call", np.isin(channel, P.CALLS), _CALL_HOURS),
              ("letter", channel == P.LETTER, _LETTER_HOURS))
    for _, mask, weights in groups:
        n = int(mask.sum())
        hours = rng.choice(HOURS, size=n, p=weights / weights.sum())
        minute[mask] = hours * 60 + rng.integers(0, 60, size=n)
    return minute


def template_ids(channel: np.ndarray, band: np.ndarray, country: np.ndarray) -> pa.Array:
    """Template id per contact, e.g. `sms_remind_friendly_es_v1` (Arrow strings)."""
    n_ch, n_band, n_lang = len(CHANNELS), len(TONE_BY_BAND), len(P.COUNTRIES)
    vocab = [f"{CHANNELS[c]}_{ACTION_BY_CHANNEL[c]}_{TONE_BY_BAND[b]}_{P.LANGUAGE[P.COUNTRIES[k]]}_v1"
             for c in range(n_ch) for b in range(n_band) for k in range(n_lang)]
    code = (np.asarray(channel) * n_band + np.asarray(band)) * n_lang + np.asarray(country)
    return pc.take(pa.array(vocab), pa.array(code.astype(np.int64)))


def action_keys(start: date, day: np.ndarray, account_ids, channel: np.ndarray,
                inbound: np.ndarray | None = None) -> pa.Array:
    """Deterministic action key: sha256 of as_of|account_id|action|channel|policy_version, 24 hex.

    Hashed in DuckDB (one vectorised pass); inbound contacts were not actions, so they get null.
    """
    import duckdb

    as_of = pc.cast(pa.array(np.datetime64(start, "D") + np.asarray(day).astype("timedelta64[D]")).cast(pa.date32()),
                    pa.string())
    frame = pa.table({
        "as_of": as_of, "account_id": pa.array(account_ids), "action": pc.take(pa.array(ACTION_BY_CHANNEL), pa.array(channel)),
        "channel": pc.take(pa.array(CHANNELS), pa.array(channel)),
        "inbound": pa.array(np.zeros(len(day), dtype=bool) if inbound is None else np.asarray(inbound, dtype=bool)),
    })
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        con.register("frame", frame)
        out = con.sql(
            "select case when inbound then null else substr(sha256(concat_ws('|', as_of, account_id, action,"
            f" channel, '{P.POLICY_VERSION}')), 1, 24) end as k from frame").to_arrow_table()
    finally:
        con.close()
    return out.column("k").combine_chunks()


def draw_outcomes(rng: np.random.Generator, channel: np.ndarray, p_engage: np.ndarray,
                  stale: np.ndarray, p_opt_out: np.ndarray, p_complaint: np.ndarray) -> np.ndarray:
    """Outcome index (into CONTACT_OUTCOMES) per contact.

    Calls answered by the debtor come back as `rpc`; the history loop upgrades some to
    `promise`. Stale contact data only ever fails or reaches someone else.
    """
    n = len(channel)
    u, v = rng.random(n), rng.random(n)
    return outcomes_from_uniforms(channel, p_engage, stale, p_opt_out, p_complaint, u, v, lambda: rng.random(n))


def outcomes_from_uniforms(channel: np.ndarray, p_engage: np.ndarray, stale: np.ndarray, p_opt_out: np.ndarray,
                           p_complaint: np.ndarray, u: np.ndarray, v: np.ndarray, w) -> np.ndarray:
    """`draw_outcomes` with the uniforms given (play-forward passes common random numbers).

    `w` is an array or a callable returning one (drawn after u and v, as the history always did).
    """
    n = len(channel)
    engaged = u < p_engage
    out = np.full(n, OUTCOME["delivered"])
    is_sms, is_email, is_wa = channel == P.SMS, channel == P.EMAIL, channel == P.WHATSAPP
    is_call, is_letter = np.isin(channel, P.CALLS), channel == P.LETTER

    out[is_sms & engaged] = np.where(v[is_sms & engaged] < 0.3, OUTCOME["replied"], OUTCOME["clicked"])
    out[is_email & engaged] = np.where(v[is_email & engaged] < 0.6, OUTCOME["opened"], OUTCOME["clicked"])
    wa = is_wa & engaged
    out[wa] = np.select([v[wa] < 0.3, v[wa] < 0.6], [OUTCOME["opened"], OUTCOME["replied"]], OUTCOME["clicked"])
    out[is_email & (v > 0.98)] = OUTCOME["bounced"]
    out[(is_sms | is_wa) & (v > 0.985)] = OUTCOME["failed"]
    # agents redial and leave fewer calls unanswered than the voice dialer
    answered = is_call & (u < p_engage * np.where(channel == P.AGENT_CALL, 1.4, 1.0))
    call_rest = np.select([v < 0.03, v < 0.06], [OUTCOME["wrong_party"], OUTCOME["failed"]], OUTCOME["no_answer"])
    out[is_call] = np.where(answered[is_call], OUTCOME["rpc"], call_rest[is_call])
    out[is_letter] = np.where(v[is_letter] < 0.04, OUTCOME["failed"], OUTCOME["delivered"])

    w = w() if callable(w) else w
    reachable = ~np.isin(out, [OUTCOME["failed"], OUTCOME["bounced"], OUTCOME["no_answer"], OUTCOME["wrong_party"]])
    out[reachable & ~is_letter & (w < p_opt_out)] = OUTCOME["opt_out"]
    out[reachable & ~is_letter & (w >= p_opt_out) & (w < p_opt_out + p_complaint)] = OUTCOME["complaint"]

    stale_out = np.select(
        [is_email, is_sms | is_wa, channel == P.VOICE, channel == P.AGENT_CALL],
        [np.where(v < 0.7, OUTCOME["bounced"], OUTCOME["delivered"]),
         np.where(v < 0.55, OUTCOME["failed"], OUTCOME["delivered"]),
         np.select([v < 0.45, v < 0.8], [OUTCOME["wrong_party"], OUTCOME["no_answer"]], OUTCOME["failed"]),
         np.where(v < 0.6, OUTCOME["wrong_party"], OUTCOME["no_answer"])],
        np.where(v < 0.6, OUTCOME["failed"], OUTCOME["delivered"]))
    return np.where(stale, stale_out, out)
