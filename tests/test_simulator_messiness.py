"""Simulator scenarios and messiness knobs: determinism, recorded injections, truth never in the warehouse."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from recobro.contract import TABLES
from simulator import simulate
from simulator.messiness import Messiness
from simulator.scenarios import SCENARIOS, scenario_named

MESS = {"duplicates": 0.01, "late_payments": 0.05, "reversals": 0.01, "malformed": 0.01,
        "naive_timestamps": 0.01, "mixed_decimals": 0.01, "shared_phones": 0.02}


def _read(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    counts = simulate(1500, 60, seed=8, out_dir=root / "out", truth_dir=root / "truth", messiness=MESS)
    clean = simulate(1500, 60, seed=8, out_dir=root / "clean", truth_dir=root / "clean_truth")
    injected = json.loads((root / "truth" / "truth_messiness.json").read_text())
    return {"root": root, "counts": counts, "clean_counts": clean, "injected": injected}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_is_byte_identical_for_a_seed_with_messiness(tmp_path, name):
    for run in ("a", "b"):
        simulate(250, 30, seed=4, out_dir=tmp_path / run / "out", truth_dir=tmp_path / run / "truth",
                 scenario=name, messiness=MESS)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == 11
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_scenarios_change_the_population_as_named(tmp_path):
    def truth(name):
        simulate(1500, 30, seed=2, out_dir=tmp_path / name / "o", truth_dir=tmp_path / name / "t", scenario=name)
        return (_read(tmp_path / name / "t", "truth_customers"), _read(tmp_path / name / "o", "customers"))

    base_t, base_c = truth("default")
    rec_t, _ = truth("recession")
    young_t, young_c = truth("young_digital")
    poor_t, poor_c = truth("poor_contact_data")
    _, latam_c = truth("latam")
    hardship = lambda t: t["reason"].isin(["temporary_hardship", "chronic_hardship"]).mean()
    assert hardship(rec_t) > hardship(base_t) + 0.1
    assert rec_t["capacity"].astype(float).median() < base_t["capacity"].astype(float).median()
    assert young_c["birth_year"].astype(int).median() > base_c["birth_year"].astype(int).median() + 10
    assert (poor_t["reason"] == "stale_contact").mean() > 0.2 and (poor_c["email"] == "").mean() > 0.2
    assert set(latam_c["country"]) == {"CO", "MX"}
    with pytest.raises(ValueError):
        scenario_named("boom")


def test_messiness_rejects_unknown_kinds_and_defaults_to_clean():
    assert not Messiness.of(None).active
    with pytest.raises(ValueError):
        Messiness.of({"typos": 0.1})


def test_injections_are_recorded_and_conserve_rows(messy):
    root, inj = messy["root"], messy["injected"]
    counts = inj["counts"]
    assert set(counts) == set(MESS)
    dup, rev = counts["duplicates"], counts["reversals"]["ledger"]
    for name in ("ledger", "contacts", "consents"):
        extra = rev if name == "ledger" else 0
        assert messy["counts"][name] == messy["clean_counts"][name] + dup[name] + extra, name
        frame = _read(root / "out", name)
        assert frame.duplicated().sum() == dup[name], name
    ledger = _read(root / "out", "ledger")
    assert ledger["amount"].str.contains(",").sum() >= counts["mixed_decimals"]["ledger"]
    naive = ~ledger["posted_at"].str.endswith("+00:00")
    malformed_ts = 0  # ledger malformations never touch posted_at
    assert naive.sum() == counts["naive_timestamps"]["ledger"] + malformed_ts
    customers = _read(root / "out", "customers")
    shared = customers[customers["phone"] != ""]["phone"].duplicated(keep=False).sum()
    assert shared >= counts["shared_phones"]["customers"]
    late = ledger.set_index("entry_id").loc[inj["keys"]["late_payments"]["ledger"]]
    lag = (pd.to_datetime(late["posted_at"].str.slice(0, 10)) - pd.to_datetime(late["effective_date"], errors="coerce"))
    assert (lag.dropna().dt.days >= 3).mean() > 0.9


def test_clean_delivery_is_unchanged_by_the_messiness_stream(messy):
    root = messy["root"]
    for name in ("accounts", "holds", "promises"):
        clean = _read(root / "clean", name)
        out = _read(root / "out", name)
        assert len(clean) == len(out), name
    assert json.loads((root / "clean_truth" / "truth_messiness.json").read_text())["counts"] == {}


def test_ground_truth_never_lands_in_the_warehouse(messy, con):
    from ingestion import load_delivery

    load_delivery(con, messy["root"] / "out", validate=False)
    truth_cols = set()
    for name in ("truth_customers", "truth_accounts", "truth_promises"):
        truth_cols |= set(_read(messy["root"] / "truth", name).columns)
    # `reason` is also an honest warehouse column (why a row was quarantined): checked by value below
    truth_only = truth_cols - {c.name for t in TABLES.values() for c in t.columns} - {"reason"}
    assert {"p_keep", "p_pay_30d_no_contact", "capacity"} <= truth_only
    tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
    assert any(t.startswith("raw_") for t in tables)
    reasons = ("forgetful", "temporary_hardship", "chronic_hardship", "wont_pay", "stale_contact")
    for t in tables:
        cols = [r[0] for r in con.execute(f"select column_name from information_schema.columns where table_name = '{t}'").fetchall()]
        assert not truth_only & set(cols), (t, truth_only & set(cols))
        text_cols = [c for c in cols if c not in ("record_json",)]
        for c in text_cols:
            hit = con.execute(f'select count(*) from "{t}" where cast("{c}" as varchar) in {reasons}').fetchone()[0]
            assert hit == 0, (t, c)
    raw = con.execute("select count(*) from raw_ledger").fetchone()[0]
    assert 0 < raw <= messy["counts"]["ledger"]
