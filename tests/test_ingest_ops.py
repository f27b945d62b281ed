"""Ingestion in operation: late parents, conflicts across deliveries, person keys, batch rules,
Data Docs, a second writer, and a load killed with SIGKILL part-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ingestion import BatchRuleError, BatchThresholds, load_delivery
from tests.test_ingest import (ACCOUNTS, ARRIVED, CONSENTS_HEAD, CUSTOMERS, HOLDS_HEAD, LEDGER, LEDGER_HEAD,
                               write_delivery)

ROOT = Path(__file__).resolve().parent.parent


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def test_child_before_parent_waits_and_is_released(con, tmp_path):
    early = load_delivery(con, write_delivery(tmp_path, "ledger_first", ledger=LEDGER), ARRIVED, validate=False)
    assert early.table("ledger").rows_pending == 4 and early.data_quality_holds == 0
    assert rows(con, "select count(*) from raw_ledger") == [(0,)]
    assert rows(con, "select count(*) from pending_ledger") == [(4,)]

    later = load_delivery(con, write_delivery(tmp_path, "parents", customers=CUSTOMERS, accounts=ACCOUNTS),
                          ARRIVED + timedelta(days=1), validate=False)
    assert later.released == {"customers": 0, "accounts": 0, "ledger": 4}
    assert rows(con, "select count(*) from pending_ledger") == [(0,)]
    # a released row keeps where and when it came from
    assert rows(con, "select distinct _load_id, _arrived_at from raw_ledger") == [(early.load_id, ARRIVED)]
    assert rows(con, "select count(*), min(fate), min(resolved_by_load_id) from pending_resolutions") == [
        (4, "accepted", later.load_id)]


def test_conflict_across_deliveries_is_the_same_in_either_order(tmp_path):
    import duckdb

    one = write_delivery(tmp_path, "one", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER)
    two = write_delivery(tmp_path, "two", ledger=LEDGER_HEAD + "E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,99,COP,,\n")
    states = []
    for order in ((one, two), (two, one)):
        con = duckdb.connect()
        for folder in order:
            load_delivery(con, folder, ARRIVED, validate=False)
        states.append((rows(con, "select entry_id from raw_ledger order by 1"),
                       rows(con, "select table_name, key from key_conflicts"),
                       rows(con, "select account_id from data_quality_holds order by 1")))
    assert states[0] == states[1] == ([("E2",), ("E3",), ("E4",)], [("ledger", "E1")], [("A1",)])


def test_customers_sharing_a_contact_point_get_one_person_key(con, tmp_path):
    customers = CUSTOMERS + ("C4,CO,Cali,America/Bogota,es,1970,2024-01-01T10:00:00Z,+573001234567,,true\n"
                             "C5,US,NY,America/New_York,en,,2024-01-01T10:00:00Z,,ANA@example.com,false\n"
                             "C0,US,NY,America/New_York,en,,2024-01-01T10:00:00Z,,zed@example.com,false\n")
    load_delivery(con, write_delivery(tmp_path, "d", customers=customers), ARRIVED, validate=False)
    # C1 has +57 300-123-4567 and Ana@Example.COM: C4 shares the phone, C5 the email (after normalising)
    assert rows(con, "select customer_id, person_key, n_customers from customer_persons order by 1") == [
        ("C0", "C0", 1), ("C1", "C1", 3), ("C2", "C2", 1), ("C3", "C3", 1), ("C4", "C1", 3), ("C5", "C1", 3)]
    assert rows(con, "select column_name from information_schema.columns where table_name = 'customer_persons' "
                     "order by 1") == [("customer_id",), ("n_customers",), ("person_key",)]


def test_batch_rules_stop_the_load_and_are_recorded(con, tmp_path):
    twice = LEDGER + "".join(LEDGER.splitlines(keepends=True)[1:]) * 2
    folder = write_delivery(tmp_path, "dups", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=twice)
    with pytest.raises(BatchRuleError, match=r"duplicate_rate \(ledger\): dups/ledger\.csv: 8 of 12 rows") as err:
        load_delivery(con, folder, ARRIVED, validate=False)
    assert [c.rule_id for c in err.value.failed] == ["duplicate_rate"]
    assert rows(con, "select count(*) from raw_customers") == [(0,)]
    assert rows(con, "select rule_id, passed from batch_rule_results where not passed") == [("duplicate_rate", False)]
    loaded = load_delivery(con, folder, ARRIVED, validate=False, thresholds=BatchThresholds(max_duplicate_rate=0.7))
    assert loaded.table("ledger").rows_duplicate == 8

    future = LEDGER_HEAD + "E7,A1,2024-03-09T00:00:00Z,2024-03-09,fee,1,COP,,\n"
    with pytest.raises(BatchRuleError, match=r"freshness \(ledger\).*newest posted_at is \+7\.8 days"):
        load_delivery(con, write_delivery(tmp_path, "future", ledger=future), ARRIVED, validate=False)


def test_a_much_smaller_delivery_than_the_previous_one_is_stopped(con, tmp_path):
    many = LEDGER_HEAD + "".join(f"F{i},A1,2024-02-02T00:00:00Z,2024-02-02,fee,1,COP,,\n" for i in range(60))
    load_delivery(con, write_delivery(tmp_path, "big", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=many), ARRIVED,
                  validate=False)
    limits = BatchThresholds(row_ratio_min_previous=50, min_row_ratio=0.2)
    with pytest.raises(BatchRuleError, match=r"row_count \(ledger\): ledger: 4 rows against 60"):
        load_delivery(con, write_delivery(tmp_path, "small", ledger=LEDGER), ARRIVED, validate=False, thresholds=limits)
    assert rows(con, "select count(*) from raw_ledger") == [(60,)]


def test_data_docs_are_built_without_personal_data(con, settings, tmp_path):
    consents = CONSENTS_HEAD + "S1,C1,email,Ana@Example.COM,granted,2024-02-10T12:00:00Z,web\n"
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER, consents=consents)
    docs = settings.home / "data_docs"
    summary = load_delivery(con, folder, ARRIVED, validate=True, data_docs_dir=docs)
    assert summary.ge_failures == 0
    pages = list(docs.rglob("*.html"))
    assert (docs / "index.html").exists() and any(summary.load_id in str(p) for p in pages)
    text = "\n".join(p.read_text(errors="replace") for p in pages).lower()
    assert "recobro_ledger" in text
    for personal in ("ana@example.com", "b@example.com", "3001234567", "2125550100", "555 0100", "300-123"):
        assert personal not in text


def test_expectations_count_every_bad_accepted_row(con, tmp_path):
    """GE re-checks every accepted row: rows planted past the SQL rules are all counted, with the
    row condition applied, and GE's own settings are left as they were."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    from ingestion.expectations import accepted_frame, fingerprinted_columns, ge_columns, validate_load

    holds = HOLDS_HEAD + "H1,C1,,dispute,2024-02-10T12:00:00Z,2024-03-10T12:00:00Z\n"
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER, holds=holds)
    load_id = load_delivery(con, folder, ARRIVED, validate=False).load_id
    con.execute("insert into raw_ledger select * from raw_ledger where entry_id = 'E2'")  # key repeated
    con.execute("update raw_ledger set amount = -1 where entry_id in ('E1', 'E3')")  # E3 is an adjustment
    con.execute("update raw_ledger set currency = 'XXX' where entry_id = 'E4'")
    # account_id reaches GE as a fingerprint (an id only checked for missing or repeated values)
    con.execute("update raw_ledger set account_id = null where entry_id = 'E3'")
    con.execute("update raw_holds set ends_at = starts_at - interval 1 day")
    threshold = engine.HASH_THRESHOLD
    con.execute("select 1 union all select 2").fetchone()  # a caller's unfinished result does not get in the way

    assert validate_load(con, load_id, ["ledger", "holds"]) == 5
    assert engine.HASH_THRESHOLD == threshold
    failed = rows(con, "select table_name, expectation, column_name, unexpected_count from ge_results "
                       "where load_id = ? and not success order by all", [load_id])
    assert failed == [("holds", "expect_column_pair_values_a_to_be_greater_than_b", "ends_at,starts_at", 1),
                      ("ledger", "expect_column_values_to_be_between", "amount", 1),
                      ("ledger", "expect_column_values_to_be_in_set", "currency", 1),
                      ("ledger", "expect_column_values_to_be_unique", "entry_id", 2),
                      ("ledger", "expect_column_values_to_not_be_null", "account_id", 1)]
    assert rows(con, "select count(*) from ge_results where load_id = ?", [load_id]) == [(17,)]
    # the frame holds every accepted row and only the columns an expectation reads
    frame = accepted_frame(con, "customers", load_id)
    assert len(frame) == 3 and list(frame.columns) == ge_columns("customers")
    assert not {"phone", "email", "birth_year"} & set(frame.columns)
    # fingerprints: null where the id is null, equal where the ids are equal, else different
    ledger = accepted_frame(con, "ledger", load_id)
    assert "entry_id" in fingerprinted_columns("ledger") and "entry_type" not in fingerprinted_columns("ledger")
    assert ledger["account_id"].isna().sum() == 1 and ledger["entry_id"].isna().sum() == 0
    assert ledger["entry_id"].nunique() == len(ledger) - 1 == rows(con, "select count(distinct entry_id) from raw_ledger")[0][0]


def _script(body: str) -> str:
    return textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from recobro.settings import Settings
        from recobro.warehouse import connect, WarehouseBusy
        settings = Settings.load(config_file=Path('/nonexistent'))
    """) + textwrap.dedent(body)


def test_second_writer_gets_a_clear_busy_message(settings):
    env = {**os.environ, "RECOBRO_HOME": str(settings.home), "RECOBRO_BUSY_TIMEOUT_S": "1"}
    holder = subprocess.Popen([sys.executable, "-c", _script("""
        con = connect(settings)
        print('holding', flush=True)
        sys.stdin.read()
    """)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-c", _script("""
            for read_only in (False, True):
                try:
                    connect(settings, read_only=read_only)
                except WarehouseBusy as exc:
                    print(exc)
        """)], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0 and "Traceback" not in second.stderr
        assert second.stdout.count("is busy: another recobro process is writing to it") == 2
        assert time.monotonic() - started < 30
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def big_delivery(folder: Path, n: int) -> Path:
    """A delivery of n customers, n accounts and 20 n ledger rows, written by DuckDB in a second."""
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect()
    ts = "'2024-02-0' || (1 + i % 9) || 'T10:00:00Z'"
    queries = {
        "customers": f"select 'C' || i as customer_id, 'CO' as country, 'Cali' as region, 'America/Bogota' as timezone, "
                     f"'es' as language, 1980 as birth_year, {ts} as created_at, '+5730' || (10000000 + i) as phone, "
                     f"'u' || (i % ({n} - 7)) || '@example.com' as email, true as whatsapp_opt_in from range({n}) t(i)",
        "accounts": f"select 'A' || i as account_id, 'C' || i as customer_id, 'telco' as product, 'COP' as currency, "
                    f"{ts} as opened_at, {ts} as placed_at, (i % 997) || '.50' as principal, 'CO' as jurisdiction "
                    f"from range({n}) t(i)",
        "ledger": f"select 'E' || i as entry_id, 'A' || (i % {n}) as account_id, {ts} as posted_at, "
                  f"'2024-02-0' || (1 + i % 9) as effective_date, case when i % 5 = 0 then 'payment' else 'charge' end "
                  f"as entry_type, case when i % 1000 = 7 then '-1' else (1 + i % 97) || '.25' end as amount, "
                  f"'COP' as currency, null as reverses_entry_id, null as payment_method from range({20 * n}) t(i)",
    }
    for table, query in queries.items():
        con.execute(f"copy ({query}) to '{folder / (table + '.csv')}' (header)")
    return folder


LOAD = """
    import duckdb
    from datetime import datetime, timezone
    from ingestion import load_delivery
    con = connect(settings)
    con.execute("set enable_progress_bar = false")
    print('loading', flush=True)
    load_delivery(con, Path(sys.argv[1]), datetime(2024, 3, 1, 6, tzinfo=timezone.utc), validate=False)
    con.close()
    print('done', flush=True)
"""


def _load_in_subprocess(home: Path, delivery: Path, kill_after: float | None = None) -> float:
    env = {**os.environ, "RECOBRO_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", _script(LOAD), str(delivery)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "loading"
    started = time.monotonic()
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return time.monotonic() - started
    out, err = proc.communicate(timeout=120)
    assert out.strip() == "done" and proc.returncode == 0, err[-2000:]
    return time.monotonic() - started


def _all_tables(path: Path) -> dict[str, tuple]:
    """Every table of a warehouse as (row count, order-independent sum of row hashes)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        names = [n for (n,) in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'main' order by 1").fetchall()]
        return {n: con.execute(f"select count(*), sum(hash(t)) from {n} t").fetchall()[0] for n in names}


def test_kill_9_mid_load_then_rerun_equals_a_clean_run(tmp_path):
    delivery = big_delivery(tmp_path / "big", 40_000)
    clean_home = tmp_path / "clean"
    duration = _load_in_subprocess(clean_home, delivery)
    clean = _all_tables(clean_home / "warehouse.duckdb")
    assert clean["raw_ledger"][0] > 750_000 and clean["quarantine"][0] > 0

    for attempt, fraction in enumerate((0.5, 0.2)):  # the second try only if the first load won the race
        killed_home = tmp_path / f"killed{attempt}"
        _load_in_subprocess(killed_home, delivery, kill_after=duration * fraction)
        after_kill = _all_tables(killed_home / "warehouse.duckdb")
        loaded = {after_kill.get(t, (0,))[0] for t in ("raw_customers", "raw_accounts", "raw_ledger", "load_audit")}
        # a reader sees the delivery entirely or not at all, never part of it
        assert loaded == {0} or after_kill == clean, "a reader saw a half-loaded delivery"
        if loaded == {0}:
            break
    assert loaded == {0}, "the load finished before it could be killed"
    _load_in_subprocess(killed_home, delivery)
    assert _all_tables(killed_home / "warehouse.duckdb") == clean


def test_source_rows_are_file_rows_in_a_multi_chunk_file(tmp_path):
    """A file DuckDB reads on several threads still numbers every row by its place in the file
    (entry E<i> is data row i + 1), in raw_ledger and in quarantine, in a warehouse on disk."""
    import duckdb

    delivery = big_delivery(tmp_path / "big", 40_000)  # ledger: 800,000 rows, ~50 MB
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_delivery(con, delivery, ARRIVED, validate=False)
        wrong_raw = con.execute("select count(*), count(*) filter (where _source_row <> substr(entry_id, 2)::bigint + 1) "
                                "from raw_ledger").fetchall()[0]
        wrong_quarantined = con.execute(
            "select count(*), count(*) filter (where source_row <> (record_json::json ->> 'entry_id')[2:]::bigint + 1) "
            "from quarantine where table_name = 'ledger'").fetchall()[0]
    assert wrong_raw[0] > 750_000 and wrong_raw[1] == 0
    assert wrong_quarantined[0] > 0 and wrong_quarantined[1] == 0
