"""Simulator: determinism, the input contract, ground-truth separation and behaviour bands."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from recobro.contract import PERSONAL_COLUMNS, TABLES
from simulator import simulate

END = date(2026, 10, 31)
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    """One 2,000-account, 90-day delivery shared by the read-only tests of this module."""
    root = tmp_path_factory.mktemp("sim")
    counts = simulate(2000, 90, seed=5, out_dir=root / "out", truth_dir=root / "truth", end_date=END)
    read = lambda folder, name: pd.read_csv(root / folder / f"{name}.csv", dtype=str, keep_default_na=False)
    tables = {name: read("out", name) for name in TABLES}
    truth = {name: read("truth", name) for name in ("truth_customers", "truth_accounts", "truth_promises")}
    return {"root": root, "counts": counts, "tables": tables, "truth": truth}


def _promises_with_paid(delivery) -> pd.DataFrame:
    """Promises joined to truth, with the payments the shared kept definition counts."""
    t = delivery["tables"]
    p = t["promises"].merge(delivery["truth"]["truth_promises"], on=["promise_id", "account_id"])
    p["start"] = pd.to_datetime(p["created_at"]).dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    p["end"] = pd.to_datetime(p["due_date"]) + pd.Timedelta(days=3)
    pay = t["ledger"][t["ledger"]["entry_type"] == "payment"]
    pay = pay.assign(eff=pd.to_datetime(pay["effective_date"]), amt=pay["amount"].astype(float))
    m = p.merge(pay[["account_id", "eff", "amt"]], on="account_id", how="left")
    m["amt"] = np.where((m["eff"] >= m["start"]) & (m["eff"] <= m["end"]), m["amt"], 0.0)
    p["paid"] = p["promise_id"].map(m.groupby("promise_id")["amt"].sum())
    p["promised"] = p["promised_amount"].astype(float)
    p["kept"] = p["kept"] == "true"
    return p[p["matured"] == "true"]


def _local_hours(contacts: pd.DataFrame, customers: pd.DataFrame) -> np.ndarray:
    c = contacts.merge(customers[["customer_id", "timezone"]], on="customer_id")
    started = pd.to_datetime(c["started_at"])
    hours = np.empty(len(c))
    for zone, idx in c.groupby("timezone").groups.items():
        hours[c.index.get_indexer(idx)] = started[idx].dt.tz_convert(zone).dt.hour
    return hours


def test_same_seed_gives_byte_identical_files(tmp_path):
    for fmt in ("csv", "parquet"):
        for run in ("a", "b"):
            simulate(300, 30, seed=42, out_dir=tmp_path / fmt / run / "out",
                     truth_dir=tmp_path / fmt / run / "truth", fmt=fmt)
        files_a = sorted(p.relative_to(tmp_path / fmt / "a") for p in (tmp_path / fmt / "a").rglob("*.*"))
        files_b = sorted(p.relative_to(tmp_path / fmt / "b") for p in (tmp_path / fmt / "b").rglob("*.*"))
        assert files_a == files_b and len(files_a) == 11
        for rel in files_a:
            assert (tmp_path / fmt / "a" / rel).read_bytes() == (tmp_path / fmt / "b" / rel).read_bytes(), rel


def test_different_seed_gives_a_different_portfolio(tmp_path):
    simulate(300, 30, seed=1, out_dir=tmp_path / "s1", truth_dir=tmp_path / "t1")
    simulate(300, 30, seed=2, out_dir=tmp_path / "s2", truth_dir=tmp_path / "t2")
    for name in ("accounts", "ledger", "contacts"):
        assert (tmp_path / "s1" / f"{name}.csv").read_bytes() != (tmp_path / "s2" / f"{name}.csv").read_bytes()


def test_every_contract_table_has_exact_columns_and_valid_values(delivery):
    for name, spec in TABLES.items():
        frame = delivery["tables"][name]
        assert list(frame.columns) == spec.column_names, name
        assert len(frame) == delivery["counts"][name] > 0, name
        assert frame[spec.key].is_unique, name
        for col in spec.columns:
            values = frame[col.name]
            present = values[values != ""]
            if col.required:
                assert len(present) == len(values), f"{name}.{col.name} has nulls"
            if col.enum:
                assert set(present) <= set(col.enum), f"{name}.{col.name}: {set(present) - set(col.enum)}"
            if col.type == "TIMESTAMPTZ":
                assert present.str.match(TS).all(), f"{name}.{col.name}"
            if col.type == "DATE":
                assert present.str.match(DAY).all(), f"{name}.{col.name}"
            if col.type.startswith("DECIMAL"):
                places = int(col.type.split(",")[1].rstrip(")"))
                assert present.str.match(rf"^-?\d+\.\d{{{places}}}$").all(), f"{name}.{col.name}"


def test_money_rows_carry_the_account_currency_and_ids_resolve(delivery):
    t = delivery["tables"]
    currency = t["accounts"].set_index("account_id")["currency"]
    country_currency = {"CO": "COP", "MX": "MXN", "ES": "EUR", "US": "USD", "UK": "GBP"}
    assert (t["accounts"]["jurisdiction"].map(country_currency) == t["accounts"]["currency"]).all()
    for name in ("ledger", "promises"):
        assert (t[name]["account_id"].map(currency) == t[name]["currency"]).all(), name
    assert set(t["accounts"]["customer_id"]) <= set(t["customers"]["customer_id"])
    assert set(t["contacts"]["account_id"]) <= set(t["accounts"]["account_id"])
    assert t["customers"]["phone"].replace("", "+12025550100").str.match(r"^\+\d{8,15}$").all()
    assert t["customers"]["email"].replace("", "x@example.com").str.endswith("@example.com").all()


def test_ledger_follows_the_sign_convention_and_reversals_point_at_payments(delivery):
    ledger = delivery["tables"]["ledger"]
    amount = ledger["amount"].astype(float)
    assert (amount[ledger["entry_type"] != "adjustment"] > 0).all()
    assert pd.to_datetime(ledger["posted_at"]).dt.date.ge(pd.to_datetime(ledger["effective_date"]).dt.date).all()
    assert (pd.to_datetime(ledger["posted_at"]) < pd.Timestamp("2026-11-01", tz="UTC")).all()
    rev = ledger[ledger["entry_type"] == "reversal"]
    assert len(rev) > 0
    kinds = ledger.set_index("entry_id")["entry_type"]
    assert (rev["reverses_entry_id"].map(kinds) == "payment").all()
    effect = {"charge": 1, "fee": 1, "interest": 1, "adjustment": 1, "payment": -1, "write_off": -1,
              "installment_due": 0, "reversal": 1}
    balance = (amount * ledger["entry_type"].map(effect)).groupby(ledger["account_id"]).sum()
    assert (balance > -0.005).all(), "no account may be paid below zero"


def test_truth_stays_out_of_the_delivery(delivery, tmp_path):
    root = delivery["root"]
    assert sorted(p.name for p in (root / "out").iterdir()) == sorted(f"{n}.csv" for n in TABLES)
    assert sorted(p.name for p in (root / "truth").iterdir()) == [
        "truth_accounts.csv", "truth_customers.csv", "truth_messiness.json", "truth_promises.csv"]
    for frame in delivery["truth"].values():
        assert not PERSONAL_COLUMNS & set(frame.columns)
    with pytest.raises(ValueError):
        simulate(10, 5, seed=1, out_dir=tmp_path / "same", truth_dir=tmp_path / "same")


def test_kept_promises_meet_the_shared_kept_definition_and_broken_ones_do_not(delivery):
    p = _promises_with_paid(delivery)
    assert p["kept"].sum() > 50 and (~p["kept"]).sum() > 50
    kept, broken = p[p["kept"]], p[~p["kept"]]
    assert (kept["paid"] >= 0.95 * kept["promised"] - 0.005).all()
    assert (broken["paid"] < 0.95 * broken["promised"]).all()


def test_promise_kept_rate_is_in_band_and_self_service_keeps_more(delivery):
    p = _promises_with_paid(delivery)
    assert 0.40 <= p["kept"].mean() <= 0.65
    by_channel = p.groupby(p["channel"] == "self_service")["kept"].mean()
    assert by_channel[True] > by_channel[False]


def test_self_cure_share_is_plausible_and_driven_by_reason(delivery):
    acc = delivery["truth"]["truth_accounts"]
    acc = acc[acc["cure_observable"] == "true"]
    cured = acc["self_cured_30d"] == "true"
    assert 0.35 <= cured.mean() <= 0.65  # DOMAIN §4: early self-cure 40-60%
    by_reason = cured.groupby(acc["reason"]).mean()
    assert by_reason["forgetful"] > 0.6 > 0.2 > by_reason["chronic_hardship"]


def test_contacts_mostly_in_local_daytime_with_valid_propensities(delivery):
    t = delivery["tables"]
    hours = _local_hours(t["contacts"], t["customers"])
    assert ((hours >= 8) & (hours < 21)).mean() >= 0.95
    outbound = t["contacts"][t["contacts"]["direction"] == "outbound"]
    inbound = t["contacts"][t["contacts"]["direction"] == "inbound"]
    prop = outbound["propensity"].astype(float)
    assert ((prop > 0) & (prop <= 1)).all()
    assert outbound["action_key"].str.fullmatch(r"[0-9a-f]{24}").all()
    # debtors who get in touch themselves: no policy action, no propensity, no cost
    assert len(inbound) > 0 and (inbound["propensity"] == "").all() and (inbound["action_key"] == "").all()


def test_outbound_contacts_keep_to_their_pack_hours_days_and_holidays(delivery):
    """The client's dialer obeys the rule packs, as the truth's BAU does: every outbound contact starts
    inside its country's hours, on a day the pack allows, never on a holiday (local time)."""
    from decisioning import effective_policy, load_rule_packs
    from simulator.rules import default_rules_dir

    packs = load_rule_packs(default_rules_dir())
    t = delivery["tables"]
    c = t["contacts"][t["contacts"]["direction"] == "outbound"].merge(
        t["customers"][["customer_id", "country", "timezone"]], on="customer_id")
    assert len(c) > 1000
    started = pd.to_datetime(c["started_at"])
    for (country, zone), rows in c.groupby(["country", "timezone"]).groups.items():
        pol = effective_policy([packs[country]])
        local = started[rows].dt.tz_convert(zone)
        for when in local:
            span = pol.hours[when.weekday()]
            assert span is not None and when.date() not in pol.holidays, (country, when)
            assert span[0] <= when.time().replace(second=0) <= span[1], (country, when)


def test_history_breaks_no_rule_of_its_pack():
    """Replayed day by day through the rule book, the history's outbound contacts break no cap,
    cool-down, one-channel-a-week, consent, hold or vulnerability rule (inbound ones count as the
    play-forward counts them)."""
    from datetime import timedelta

    from simulator import simulate_world
    from simulator.holds import BLOCKS_CONTACT, hold_mask
    from simulator.rules import RuleBook

    world, holds, history, *_ = simulate_world(3000, 90, seed=4)
    c = {k: np.asarray(v) for k, v in history.contacts.items()}
    cust_of, country_of = world.accounts.customer, world.customers.country[world.accounts.customer]
    flags = {kind: hold_mask(holds, world, (kind,)) for kind in (*BLOCKS_CONTACT, "vulnerability")}
    everyone = np.ones((len(world.customers), 6), dtype=bool)  # consent: opt-outs are checked apart
    book, broken = RuleBook(len(world.customers), 0), []
    for d in range(world.days):
        book.new_day(d)
        on = world.start + timedelta(days=d)
        for inbound in (0, 1):
            sel = (c["day"] == d) & (c["inbound"] == inbound)
            a, ch = c["account"][sel].astype(np.int64), c["channel"][sel].astype(np.int64)
            if not inbound:
                none = np.zeros(len(a), dtype=bool)
                day_flags = {k: v[d, a] for k, v in flags.items()} | {"paid": none, "promise_pending": none}
                found = book.check(on, cust_of[a], country_of[a], ch, c["minute"][sel].astype(np.int64),
                                   everyone, day_flags)
                broken += [(rule, int(mask.sum())) for mask, rule, *_ in found]
            book.record(cust_of[a], ch, c["outcome"][sel].astype(np.int64), inbound=bool(inbound))
    assert (c["inbound"] == 0).sum() > 5000
    assert broken == []
    assert (book.week == book.counts.sum(axis=0)).all() and book.week.sum() > 0  # the rolling 7-day sum


def test_stale_contact_data_never_reaches_the_debtor(delivery):
    t, truth = delivery["tables"], delivery["truth"]
    stale = set(truth["truth_customers"].query("reason == 'stale_contact'")["customer_id"])
    outcomes = t["contacts"][t["contacts"]["customer_id"].isin(stale)]["outcome"]
    assert len(outcomes) > 0
    assert set(outcomes) <= {"failed", "bounced", "wrong_party", "no_answer", "delivered"}
    assert {"wrong_party", "bounced"} <= set(outcomes)


def test_opt_outs_are_recorded_and_respected(delivery):
    t = delivery["tables"]
    c, consents = t["contacts"], t["consents"]
    opt = c[c["outcome"] == "opt_out"]
    recorded = consents[consents["status"] == "opt_out"]
    assert len(opt) > 0 and len(recorded) == len(opt)
    first_opt = opt.groupby(["customer_id", "channel"])["started_at"].min().rename("opted")
    outbound = c[c["direction"] == "outbound"]  # a debtor may still write in after opting out
    later = outbound.join(first_opt, on=["customer_id", "channel"], how="inner")
    assert not (pd.to_datetime(later["started_at"]) > pd.to_datetime(later["opted"])).any()
    assert (consents["status"] == "granted").sum() >= len(t["customers"])


def test_no_contact_while_a_dispute_is_open(delivery):
    t = delivery["tables"]
    disputes = t["holds"][t["holds"]["kind"] == "dispute"]
    assert len(disputes) > 0 and (disputes["customer_id"] == "").all()
    c = t["contacts"].merge(disputes[["account_id", "starts_at", "ends_at"]], on="account_id")
    started = pd.to_datetime(c["started_at"])
    ends = pd.to_datetime(c["ends_at"].replace("", "2100-01-01T00:00:00+00:00"))
    # holds apply from the day they start, so compare whole days
    inside = (started.dt.date > pd.to_datetime(c["starts_at"]).dt.date) & (started.dt.date < ends.dt.date)
    assert not inside.any()


def test_one_contact_per_customer_keeps_the_first_and_corrects_propensity():
    from simulator.policy import one_contact_per_customer

    keep, factor = one_contact_per_customer(np.array([0, 0, 1]), np.array([0.5, 0.5, 0.2]),
                                            np.array([True, True, True]))
    assert keep.tolist() == [True, False, True]
    assert np.allclose(factor, [1.0, 0.5, 1.0])


def test_parquet_delivery_casts_to_the_contract_types_in_duckdb(tmp_path):
    import duckdb

    simulate(200, 20, seed=9, out_dir=tmp_path / "out", truth_dir=tmp_path / "truth", fmt="parquet")
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    for name, spec in TABLES.items():
        path = tmp_path / "out" / f"{name}.parquet"
        described = dict(con.execute(f"select column_name, column_type from (describe select * from '{path}')").fetchall())
        assert list(described) == spec.column_names, name
        for col in spec.columns:
            expected = "TIMESTAMP WITH TIME ZONE" if col.type == "TIMESTAMPTZ" else col.type
            assert described[col.name] == expected, f"{name}.{col.name}: {described[col.name]}"


def test_truth_has_per_channel_effects_net_of_cost(delivery):
    acc = delivery["truth"]["truth_accounts"]
    live = acc[acc["balance"].astype(float) > 0]
    base = live["p_pay_30d_no_contact"].astype(float)
    for ch in ("sms", "email", "whatsapp", "voice", "agent_call", "letter"):
        assert (live[f"p_pay_30d_after_{ch}"].astype(float) >= base - 1e-9).all(), ch
    value = {ch: live[f"incremental_value_{ch}"].astype(float) for ch in ("sms", "agent_call", "letter")}
    stale = live["reason"] == "stale_contact"
    # contacting stale data only costs; somebody is worth an SMS; letters rarely pay for themselves
    assert (value["sms"][stale] <= 0).all() and (value["sms"] > 0).any()
    assert (value["letter"] > 0).mean() < (value["sms"] > 0).mean()


@pytest.mark.parametrize("n_accounts", [1, 5, 12])
def test_tiny_portfolios_simulate(tmp_path, n_accounts):
    """A portfolio too small to give every country a customer still writes a whole delivery."""
    counts = simulate(n_accounts, 20, 3, tmp_path / "d", tmp_path / "t")
    assert counts["accounts"] == n_accounts
    assert {p.stem for p in (tmp_path / "d").iterdir()} >= set(TABLES)


def test_knowable_keep_probability_integrates_out_only_the_noise():
    """`p_keep_knowable` rebuilds each promise's keep inputs; what is left of p_keep is the N(0, sd) noise."""
    from simulator import behaviour as B
    from simulator import params as P
    from simulator import simulate_world
    from simulator import truth as T

    world, _, history, *_ = simulate_world(3000, 150, 8, END)
    inputs = T.keep_inputs(world, history.promises)
    p_keep = history.promises["p_keep"].astype(float)
    p_zero = B.keep_probability(noise=np.zeros(len(p_keep)), **inputs)
    implied = np.log(p_keep / (1 - p_keep)) - np.log(p_zero / (1 - p_zero))
    assert len(p_keep) > 1000
    assert abs(implied.mean()) < 0.05 and abs(implied.std() - P.KEEP_NOISE_SD) < 0.05
    # a wrong broken-promise count or payday window would leave steps of 0.5 or 0.3 in the residual
    for name in ("broken_before", "payday_in_window", "self_service"):
        assert abs(np.corrcoef(implied, inputs[name].astype(float))[0, 1]) < 0.08, name
    assert inputs["broken_before"].max() >= 1 and inputs["payday_in_window"].any()
    # the quadrature matches a Monte Carlo average over the noise
    rng = np.random.default_rng(0)
    draws = rng.normal(0.0, P.KEEP_NOISE_SD, (400, 1))
    mc = np.mean([B.keep_probability(noise=np.full(len(p_keep), z), **inputs) for z in draws[:, 0]], axis=0)
    knowable = T.keep_probability_knowable(inputs)
    assert np.abs(knowable - mc).max() < 0.02
    # averaging over the noise pulls probabilities towards 1/2, never past it
    away = np.abs(p_zero - 0.5) > 1e-6
    assert (np.sign(knowable - 0.5) == np.sign(p_zero - 0.5))[away].all()
    assert (np.abs(knowable - 0.5) <= np.abs(p_zero - 0.5) + 1e-9).all()


def test_truth_promises_carry_the_knowable_probability(delivery):
    t = delivery["truth"]["truth_promises"]
    p, p_know = t["p_keep"].astype(float), t["p_keep_knowable"].astype(float)
    assert ((p_know > 0) & (p_know < 1)).all()
    assert abs(p_know.mean() - (t["kept"] == "true").mean()) < 0.05
    assert p_know.std() < p.std()  # the noise only spreads the probabilities out
