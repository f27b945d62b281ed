"""Properties of ingestion on generated deliveries: idempotent, order independent, conserving.

A small simulated delivery is split (by hypothesis) into 2-3 parts, with some rows sent in
two parts; loading the parts in every order must give the same raw tables as loading the
whole delivery at once (audit columns aside), and loading a part again changes nothing.
"""

from __future__ import annotations

import inspect
import itertools
import random
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ingestion import BatchThresholds, load_delivery
from recobro.contract import LOAD_ORDER, TABLES

END = date(2026, 10, 31)
ARRIVED = datetime(2026, 11, 1, 6, tzinfo=timezone.utc)
AUDIT = ("_load_id", "_arrived_at", "_source_file", "_source_row")


@pytest.fixture(scope="module")
def small_delivery(tmp_path_factory) -> dict[str, list[str]]:
    """The lines of a tiny simulated delivery: {table: [header, row, ...]}."""
    from simulator import simulate

    root = tmp_path_factory.mktemp("sim")
    simulate(40, 20, seed=3, out_dir=root / "d", truth_dir=root / "t", end_date=END)
    return {t: (root / "d" / f"{t}.csv").read_text().splitlines() for t in LOAD_ORDER}


def write_part(folder: Path, lines: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True)
    for table, rows in lines.items():
        if len(rows) > 1:
            (folder / f"{table}.csv").write_text("\n".join(rows) + "\n")
    return folder


def memory_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    return con


def final_state(con) -> dict[str, list[tuple]]:
    """Every raw and pending table without load-specific columns, plus conflicts and persons."""
    state = {}
    for t in LOAD_ORDER:
        cols = ", ".join(TABLES[t].column_names)
        state[f"raw_{t}"] = con.execute(f"select {cols} from raw_{t} order by all").fetchall()
        state[f"pending_{t}"] = con.execute(f"select {cols} from pending_{t} order by all").fetchall()
    state["key_conflicts"] = con.execute("select table_name, key from key_conflicts order by all").fetchall()
    state["customer_persons"] = con.execute("select * from customer_persons order by all").fetchall()
    return state


def load_all(folders: list[Path]) -> dict[str, list[tuple]]:
    con = memory_warehouse()
    for i, folder in enumerate(folders):
        summary = load_delivery(con, folder, ARRIVED.replace(hour=i), validate=False, thresholds=LIMITS)
        assert all(t.reconciles for t in summary.tables)
    return final_state(con)


LIMITS = BatchThresholds(max_duplicate_rate=1.0)


@pytest.fixture(scope="module")
def whole_state(small_delivery, tmp_path_factory) -> dict[str, list[tuple]]:
    state = load_all([write_part(tmp_path_factory.mktemp("whole") / "whole", small_delivery)])
    assert sum(len(rows) for name, rows in state.items() if name.startswith("pending_")) == 0
    return state


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n_parts=st.integers(2, 3))
def test_parts_in_every_order_give_the_same_tables(small_delivery, whole_state, tmp_path_factory, data, n_parts):
    seed = data.draw(st.integers(0, 2**32 - 1), label="split seed")
    resend = data.draw(st.floats(0, 0.3), label="share of rows sent twice")
    rng = random.Random(seed)
    parts: list[dict[str, list[str]]] = [{t: [lines[0]] for t, lines in small_delivery.items()} for _ in range(n_parts)]
    for table, lines in small_delivery.items():
        for line in lines[1:]:
            first = rng.randrange(n_parts)
            parts[first][table].append(line)
            if rng.random() < resend:  # the same row again in another delivery: an exact duplicate
                parts[(first + 1 + rng.randrange(n_parts - 1)) % n_parts][table].append(line)
    root = tmp_path_factory.mktemp("parts")
    folders = [write_part(root / f"part{i}", p) for i, p in enumerate(parts)]
    folders = [f for f in folders if any(f.iterdir())]
    for order in itertools.permutations(folders):
        assert load_all(list(order)) == whole_state, f"order {[f.name for f in order]}"


def test_loading_again_in_any_form_changes_nothing(small_delivery, tmp_path):
    con = memory_warehouse()
    folder = write_part(tmp_path / "d1", small_delivery)
    first = load_delivery(con, folder, ARRIVED, validate=False)
    before = {t: con.execute(f"select * from {t} order by all").fetchall()
              for t in [f"raw_{n}" for n in LOAD_ORDER] + ["quarantine", "load_audit", "duplicate_audit"]}
    again = load_delivery(con, folder, ARRIVED.replace(day=2), validate=False)
    copy = load_delivery(con, write_part(tmp_path / "copy", small_delivery), ARRIVED.replace(day=3), validate=False)
    assert (again.status, copy.status) == ("skipped", "skipped") and again.load_id == first.load_id == copy.load_id
    assert before == {t: con.execute(f"select * from {t} order by all").fetchall() for t in before}


def messy(lines: list[str], table: str, rng: random.Random, rate: float) -> list[str]:
    """Dirty one table's CSV lines: duplicates, naive timestamps, decimal commas, garbage, orphans,
    conflicting re-sends, reversals of existing entries."""
    head, rows = lines[0], lines[1:]
    out = [head]
    for row in rows:
        cells = row.split(",")
        roll = rng.random()
        if roll < rate:
            out += [row, row]  # exact duplicate
            continue
        if roll < 2 * rate:
            cells = [c.replace("+00:00", "") for c in cells]  # naive timestamps
        elif roll < 3 * rate and table in ("ledger", "accounts", "promises"):
            i = head.split(",").index({"ledger": "amount", "accounts": "principal", "promises": "promised_amount"}[table])
            cells[i] = '"' + cells[i].replace(".", ",") + '"'  # decimal comma, undeclared
        elif roll < 4 * rate:
            cells[1] = "??"  # malformed reference / enum
        elif roll < 5 * rate and table == "ledger":
            out.append(",".join(cells))
            cells[5] = "1.01" if cells[5] != "1.01" else "2.02"  # same key, different payload
        elif roll < 6 * rate and table == "ledger":
            out.append(row)
            cells = [f"REV-{cells[0]}", cells[1], cells[2], cells[3], "reversal", cells[5], cells[6], cells[0], ""]
        out.append(",".join(cells))
    return out


def test_messy_delivery_conserves_every_row(tmp_path):
    """At high messiness rates every source row is accepted, quarantined or a counted duplicate."""
    from simulator import simulate

    rng = random.Random(11)
    simulate(150, 30, seed=4, out_dir=tmp_path / "clean", truth_dir=tmp_path / "truth", end_date=END)
    dirty = {t: messy((tmp_path / "clean" / f"{t}.csv").read_text().splitlines(), t, rng, 0.06) for t in LOAD_ORDER}
    con = memory_warehouse()
    summary = load_delivery(con, write_part(tmp_path / "dirty", dirty), ARRIVED, validate=False, thresholds=LIMITS)
    for t in summary.tables:
        assert t.reconciles and t.rows_in == len(dirty[t.table]) - 1, t
        accepted = con.execute(f"select count(*) from raw_{t.table} where _load_id = ?", [summary.load_id]).fetchall()
        quarantined = con.execute("select count(distinct source_row) from quarantine where load_id = ? and "
                                  "source_file = ?", [summary.load_id, t.source_file]).fetchall()
        duplicates = con.execute("select count(*) from duplicate_audit where load_id = ? and source_file = ?",
                                 [summary.load_id, t.source_file]).fetchall()
        moved = con.execute(f"select count(*) from quarantine where load_id = ? and source_file = ? and "
                            f"reason like 'key delivered again%'", [summary.load_id, t.source_file]).fetchall()
        assert (accepted[0][0], quarantined[0][0], duplicates[0][0], moved[0][0]) == (
            t.rows_accepted, t.rows_quarantined, t.rows_duplicate, 0), t.table
    assert all(sum(getattr(t, c) for t in summary.tables) > 50 for c in ("rows_quarantined", "rows_duplicate"))
    rules = {r for (r,) in con.execute("select distinct rule_id from quarantine").fetchall()}
    assert {"utc_offset", "parseable_type", "key_conflict", "known_account"} <= rules
    held = con.execute("select count(*) from data_quality_holds").fetchall()[0][0]
    assert held > 0


def test_simulator_messiness_loads_with_conservation(tmp_path):
    """The simulator's own messiness knobs (when it has them) at high rates."""
    from simulator import simulate

    if "messiness" not in inspect.signature(simulate).parameters:
        pytest.skip("simulate() has no messiness= argument yet")
    rates = {"duplicates": 0.1, "late_payments": 0.1, "reversals": 0.1, "malformed": 0.1,
             "naive_timestamps": 0.1, "mixed_decimals": 0.1, "shared_phones": 0.1}
    simulate(200, 30, seed=6, out_dir=tmp_path / "d", truth_dir=tmp_path / "t", end_date=END, messiness=rates)
    con = memory_warehouse()
    summary = load_delivery(con, tmp_path / "d", ARRIVED, validate=False, thresholds=LIMITS)
    for t in summary.tables:
        lines = (tmp_path / "d" / f"{t.table}.csv").read_text().count("\n") - 1
        assert t.reconciles and t.rows_in == lines, t
    assert summary.table("ledger").rows_duplicate > 0 and summary.table("ledger").rows_quarantined > 0
    shared = con.execute("select count(*) from customer_persons where n_customers > 1").fetchall()[0][0]
    assert shared > 0
