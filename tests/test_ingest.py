"""Ingestion: tiny deliveries written in each test, loaded into the temporary warehouse."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingestion import ContractError, load_delivery
from ingestion.rules import all_rules

ARRIVED = datetime(2024, 3, 1, 6, 0, tzinfo=timezone.utc)

CUSTOMERS = """customer_id,country,region,timezone,language,birth_year,created_at,phone,email,whatsapp_opt_in
C1,CO,Bogota,America/Bogota,es,1980,2024-01-01T10:00:00Z,+57 300-123-4567,Ana@Example.COM,true
C2,US,NY,America/New_York,en,,2024-01-02 09:00:00-05:00,+1 212 555 0100,b@example.com,false
C3,MX,CDMX,America/Mexico_City,es,1990,2024-01-03T10:00:00+00:00,,,false
"""
ACCOUNTS = """account_id,customer_id,product,currency,opened_at,placed_at,principal,jurisdiction
A1,C1,credit_card,COP,2023-01-01T00:00:00Z,2024-02-01T00:00:00Z,1000000.00,CO
A2,C2,personal_loan,USD,2023-01-01T00:00:00Z,2024-02-01T00:00:00Z,500,US
A3,C3,telco,MXN,2023-06-01T00:00:00Z,2024-02-01T00:00:00Z,900.50,MX
"""
LEDGER_HEAD = "entry_id,account_id,posted_at,effective_date,entry_type,amount,currency,reverses_entry_id,payment_method\n"
LEDGER = LEDGER_HEAD + """E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,100.00,COP,,
E2,A2,2024-02-03T00:00:00Z,2024-02-03,payment,50,USD,,card
E3,A2,2024-02-04T00:00:00Z,2024-02-04,adjustment,-5,USD,,
E4,A2,2024-02-05T00:00:00Z,2024-02-05,reversal,50,USD,E2,
"""
PROMISES_HEAD = "promise_id,account_id,created_at,promised_amount,currency,due_date,channel,agent_id\n"
CONTACTS_HEAD = "contact_id,account_id,customer_id,channel,direction,started_at,template_id,outcome,cost,action_key,propensity\n"
HOLDS_HEAD = "hold_id,customer_id,account_id,kind,starts_at,ends_at\n"
CONSENTS_HEAD = "consent_id,customer_id,channel,contact_point,status,effective_at,source\n"


def write_delivery(root: Path, name: str, **tables: str) -> Path:
    """A delivery folder `root/name` with one CSV per keyword argument."""
    folder = root / name
    folder.mkdir(parents=True)
    for table, text in tables.items():
        (folder / f"{table}.csv").write_text(text)
    return folder


def base(tmp_path: Path, name: str = "d0") -> Path:
    return write_delivery(tmp_path, name, customers=CUSTOMERS, accounts=ACCOUNTS)


def quarantined(con, table: str) -> list[tuple]:
    return con.execute("select source_row, column_name, rule_id from quarantine where table_name = ? "
                       "order by source_row, rule_id", [table]).fetchall()


def reconciles(summary) -> bool:
    return all(t.reconciles for t in summary.tables)


def test_clean_load_types_normalises_and_audits(con, tmp_path):
    folder = write_delivery(tmp_path, "d1", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER)
    (folder / "readme.txt").write_text("not a table")
    summary = load_delivery(con, folder, ARRIVED, validate=False)

    assert summary.status == "loaded" and summary.unknown_files == ["readme.txt"]
    assert [(t.table, t.rows_in, t.rows_accepted) for t in summary.tables] == [
        ("customers", 3, 3), ("accounts", 3, 3), ("ledger", 4, 4)]
    assert summary.rows_quarantined == 0 and reconciles(summary)
    phone, email, created, row, arrived = con.execute(
        "select phone, email, created_at, _source_row, _arrived_at from raw_customers where customer_id = 'C2'"
    ).fetchall()[0]
    assert (phone, email, row, arrived) == ("+12125550100", "b@example.com", 2, ARRIVED)
    assert created == datetime(2024, 1, 2, 14, 0, tzinfo=timezone.utc)
    assert con.execute("select email from raw_customers where customer_id = 'C1'").fetchall() == [("ana@example.com",)]
    audit = con.execute("select table_name, rows_in, rows_accepted, status from load_audit order by table_name").fetchall()
    assert audit == [("accounts", 3, 3, "loaded"), ("customers", 3, 3, "loaded"), ("ledger", 4, 4, "loaded")]
    text = str(summary)
    assert "ledger" in text and "+1212" not in text and "example.com" not in text


BAD_ROWS = [
    # (table, extra CSV text, rule_id, column)
    ("customers", "C9,CO,Bogota,America/Bogota,es,1980,2024-01-01T10:00:00Z,+57 300,x@y.co,true\n", "phone_e164", "phone"),
    ("customers", "C9,CO,Bogota,Mars/Olympus,es,1980,2024-01-01T10:00:00Z,,,true\n", "known_timezone", "timezone"),
    ("customers", "C9,XX,Bogota,America/Bogota,es,1980,2024-01-01T10:00:00Z,,,true\n", "in_enum", "country"),
    ("customers", "C9,CO,Bogota,America/Bogota,es,old,2024-01-01T10:00:00Z,,,true\n", "parseable_type", "birth_year"),
    ("customers", "C9,CO,,America/Bogota,es,1980,2024-01-01T10:00:00Z,,,true\n", "not_null", "region"),
    ("accounts", "A9,C404,telco,USD,2023-01-01T00:00:00Z,2024-02-01T00:00:00Z,10,US\n", "known_customer", "customer_id"),
    ("accounts", "A9,C1,telco,XYZ,2023-01-01T00:00:00Z,2024-02-01T00:00:00Z,10,CO\n", "known_currency", "currency"),
    ("ledger", "E9,A1,2024-02-02T00:00:00Z,2024-02-02,payment,-3,COP,,\n", "amount_sign", "amount"),
    ("ledger", "E9,A1,2024-02-02T00:00:00Z,2024-02-02,adjustment,0,COP,,\n", "amount_sign", "amount"),
    ("ledger", "E9,A1,2024-02-02T00:00:00Z,2024-02-02,charge,3,USD,,\n", "account_currency", "currency"),
    ("ledger", "E9,A404,2024-02-02T00:00:00Z,2024-02-02,charge,3,USD,,\n", "known_account", "account_id"),
    ("ledger", "E9,A1,2024-02-02T00:00:00Z,2024-02-31,charge,3,COP,,\n", "parseable_type", "effective_date"),
    ("ledger", "E9,A1,2024-02-02T00:00:00Z,2024-02-02,reversal,3,COP,,\n", "reversal_target", "reverses_entry_id"),
    ("promises", "P9,A1,2024-02-10T12:00:00Z,100,COP,2024-02-09,sms,\n", "due_after_created", "due_date"),
    ("promises", "P9,A1,2024-02-10T12:00:00Z,100,USD,2024-02-19,sms,\n", "account_currency", "currency"),
    ("promises", "P9,A404,2024-02-10T12:00:00Z,100,USD,2024-02-19,sms,\n", "known_account", "account_id"),
    ("contacts", "K9,A1,C1,pigeon,outbound,2024-02-10T12:00:00Z,,delivered,,,\n", "in_enum", "channel"),
    ("contacts", "K9,A404,C1,sms,outbound,2024-02-10T12:00:00Z,,delivered,,,\n", "known_account", "account_id"),
    ("contacts", "K9,A1,C1,sms,outbound,2024-02-10T12:00:00Z,,delivered,,,1.5\n", "propensity_range", "propensity"),
    ("holds", "H9,,,dispute,2024-02-10T12:00:00Z,\n", "hold_party", "customer_id"),
    ("holds", "H9,C404,,dispute,2024-02-10T12:00:00Z,\n", "known_customer", "customer_id"),
    ("holds", "H9,,A404,dispute,2024-02-10T12:00:00Z,\n", "known_account", "account_id"),
    ("holds", "H9,C1,,dispute,2024-02-10T12:00:00Z,2024-02-01T00:00:00Z\n", "ends_after_start", "ends_at"),
    ("consents", "S9,C404,sms,+573001234567,granted,2024-02-10T12:00:00Z,web\n", "known_customer", "customer_id"),
    ("consents", "S9,C1,email,not-an-email,granted,2024-02-10T12:00:00Z,web\n", "contact_point_format", "contact_point"),
]
GOOD_ROWS = {
    "ledger": (LEDGER_HEAD, "E8,A1,2024-02-02T00:00:00Z,2024-02-02,charge,1,COP,,\n"),
    "promises": (PROMISES_HEAD, "P8,A1,2024-02-10T12:00:00-05:00,100,COP,2024-02-10,self_service,\n"),
    "contacts": (CONTACTS_HEAD, "K8,A1,C1,sms,outbound,2024-02-10T12:00:00Z,T1,delivered,0.01,k1,0.3\n"),
    "holds": (HOLDS_HEAD, "H8,,A2,dispute,2024-02-10T12:00:00Z,\n"),
    "consents": (CONSENTS_HEAD, "S8,C1,whatsapp,+57 300 123 4567,granted,2024-02-10T12:00:00Z,web\n"),
}


@pytest.mark.parametrize("table, bad, rule_id, column", BAD_ROWS, ids=[f"{r[0]}-{r[2]}" for r in BAD_ROWS])
def test_each_rule_quarantines_its_row(con, tmp_path, table, bad, rule_id, column):
    tables = {"customers": CUSTOMERS, "accounts": ACCOUNTS}
    head, good = GOOD_ROWS.get(table, ("", ""))
    tables[table] = (tables.get(table) or head + good) + bad
    summary = load_delivery(con, write_delivery(tmp_path, "d", **tables), ARRIVED, validate=False)

    counts = summary.table(table)
    assert (counts.rows_quarantined, counts.rows_accepted + 1) == (1, counts.rows_in)
    assert reconciles(summary)
    bad_row = counts.rows_in
    assert (bad_row, column, rule_id) in quarantined(con, table)
    assert con.execute(f"select count(*) from raw_{table} where _source_row = ?", [bad_row]).fetchall() == [(0,)]


def test_every_rule_id_is_exercised_by_a_test():
    tested = {(t, c, r) for t, _, r, c in BAD_ROWS} | {("customers", "created_at", "utc_offset")}
    untested = {r.rule_id for r in all_rules() if r.predicate and (r.table, r.column, r.rule_id) not in tested}
    # the generic contract rules are exercised on one column each above
    assert untested <= {"not_null", "parseable_type", "in_enum", "known_currency", "utc_offset",
                        "email_format", "known_customer", "known_account", "amount_sign"}


def test_naive_timestamp_is_quarantined_not_guessed(con, tmp_path):
    customers = CUSTOMERS + "C4,CO,Bogota,America/Bogota,es,1980,2024-01-05 10:00:00,,,true\n"
    summary = load_delivery(con, write_delivery(tmp_path, "d", customers=customers), ARRIVED, validate=False)
    assert summary.table("customers").rows_quarantined == 1
    assert quarantined(con, "customers") == [(4, "created_at", "utc_offset")]


def test_cells_are_trimmed_of_spaces_including_unicode_ones(con, tmp_path):
    # trim is skipped for pure-ASCII cells without an edge space; the result must not change
    customers = CUSTOMERS + ("C4,MX\u00a0,\u3000CDMX,America/Mexico_City,es, 1991 ,2024-01-03T10:00:00Z ,,,false\n"
                             "C5,MX,\u00a0,America/Mexico_City,es,,2024-01-03T10:00:00Z,,,false\n")
    folder = write_delivery(tmp_path, "d1", customers=customers)
    summary = load_delivery(con, folder, ARRIVED, validate=False)
    assert summary.table("customers").rows_accepted == 4
    assert con.execute("select country, region, birth_year from raw_customers where customer_id = 'C4'"
                       ).fetchall() == [("MX", "CDMX", 1991)]
    assert quarantined(con, "customers") == [(5, "region", "not_null")]  # spaces only: empty


def test_row_failing_several_rules_counts_once(con, tmp_path):
    customers = CUSTOMERS + "C4,XX,Bogota,Mars/Base,es,1980,2024-01-05 10:00:00,12,nope,maybe\n"
    summary = load_delivery(con, write_delivery(tmp_path, "d", customers=customers), ARRIVED, validate=False)
    counts = summary.table("customers")
    assert (counts.rows_in, counts.rows_accepted, counts.rows_quarantined) == (4, 3, 1)
    assert len(quarantined(con, "customers")) == 6
    record = con.execute("select record_json from quarantine limit 1").fetchall()[0][0]
    assert "<redacted>" in record and "nope" not in record


def test_ingest_sql_joins_on_keys(con, tmp_path, plan_recorder):
    """Every ingest statement joins on keys (tests/conftest.PlanRecorder): unpacking a failing row's
    rule bits was a join of failing rows x rules on a bit test; each row now lists its set bits."""
    customers = CUSTOMERS + "C4,XX,Bogota,Mars/Base,es,1980,2024-01-05 10:00:00,12,nope,maybe\n"
    rec = plan_recorder(con)
    load_delivery(rec, write_delivery(tmp_path, "d", customers=customers, accounts=ACCOUNTS, ledger=LEDGER),
                  ARRIVED, validate=False)
    assert len(quarantined(con, "customers")) == 6  # the six failed rules of C4, one row each
    assert any("ingest_fail_customers" in head for head in rec.explained)
    assert rec.slow == {}


def test_missing_column_is_a_contract_error_and_loads_nothing(con, tmp_path):
    accounts = ACCOUNTS.replace(",principal", "").replace(",1000000.00", "").replace(",500,", ",").replace(",900.50", "")
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=accounts)
    with pytest.raises(ContractError, match=r"accounts\.csv.*principal"):
        load_delivery(con, folder, ARRIVED, validate=False)
    assert con.execute("select count(*) from raw_customers").fetchall() == [(0,)]
    assert con.execute("select count(*) from load_audit").fetchall() == [(0,)]


@pytest.mark.parametrize("name, content", [
    ("ledger.csv", b""), ("ledger.csv", LEDGER_HEAD.encode()), ("ledger.parquet", b"PAR1 not really parquet"),
], ids=["empty", "header-only", "corrupt-parquet"])
def test_empty_header_only_or_corrupt_file_is_a_contract_error(con, tmp_path, name, content):
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS)
    (folder / name).write_bytes(content)
    with pytest.raises(ContractError, match=name.replace(".", r"\.")):
        load_delivery(con, folder, ARRIVED, validate=False)
    assert con.execute("select count(*) from raw_customers").fetchall() == [(0,)]


def test_malformed_csv_names_the_row_without_its_content(con, tmp_path):
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS + "C4,CO,Bogota,x,es,1,t,+5730099,a@b.co,true,extra\n")
    with pytest.raises(ContractError, match=r"customers\.csv.*data row 4") as err:
        load_delivery(con, folder, ARRIVED, validate=False)
    assert "+5730099" not in str(err.value)


def test_folder_without_tables_is_a_contract_error(con, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(ContractError, match="none of the tables"):
        load_delivery(con, folder, ARRIVED, validate=False)
    (folder / "notes.csv").write_text("a\n1\n")
    with pytest.raises(ContractError, match="notes.csv"):
        load_delivery(con, folder, ARRIVED, validate=False)


def test_exact_duplicate_is_counted_but_key_conflict_is_quarantined(con, tmp_path):
    ledger = LEDGER + ("E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,100,COP,,\n"     # same payload as row 1
                       "E5,A1,2024-02-06T00:00:00Z,2024-02-06,fee,7,COP,,\n"
                       "E5,A1,2024-02-06T00:00:00Z,2024-02-06,fee,8,COP,,\n")        # same key, new amount
    summary = load_delivery(con, write_delivery(tmp_path, "d1", customers=CUSTOMERS, accounts=ACCOUNTS,
                                                ledger=ledger), ARRIVED, validate=False)
    counts = summary.table("ledger")
    assert (counts.rows_in, counts.rows_accepted, counts.rows_quarantined, counts.rows_duplicate) == (7, 4, 2, 1)
    assert con.execute("select source_row, key from duplicate_audit").fetchall() == [(5, "E1")]
    assert quarantined(con, "ledger") == [(6, "entry_id", "key_conflict"), (7, "entry_id", "key_conflict")]

    # against the warehouse: a later delivery re-sends E1 unchanged and E2 with another amount
    later = LEDGER_HEAD + ("E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,100.00,COP,,\n"
                           "E2,A2,2024-02-03T00:00:00Z,2024-02-03,payment,51,USD,,card\n")
    summary = load_delivery(con, write_delivery(tmp_path, "d2", ledger=later), ARRIVED, validate=False)
    counts = summary.table("ledger")
    assert (counts.rows_accepted, counts.rows_quarantined, counts.rows_duplicate) == (0, 1, 1)
    # no version wins (that would depend on load order): both leave raw_ledger for quarantine
    assert con.execute("select count(*) from raw_ledger where entry_id = 'E2'").fetchall() == [(0,)]
    amounts = con.execute("select json_extract_string(record_json, '$.amount') from quarantine "
                          "where rule_id = 'key_conflict' and record_json like '%\"E2\"%' order by 1").fetchall()
    # both versions are typed values here: the warehouse row, and a new row that passed every row rule
    assert amounts == [("50.00",), ("51.00",)]
    assert ("ledger", "E2") in con.execute("select table_name, key from key_conflicts").fetchall()
    assert ("A2",) in con.execute("select account_id from data_quality_holds where load_id = ?",
                                  [summary.load_id]).fetchall()


def test_loading_the_same_delivery_twice_changes_nothing(con, tmp_path):
    bad = LEDGER + "E9,A1,2024-02-02T00:00:00Z,2024-02-02,payment,-3,COP,,\n"
    folder = write_delivery(tmp_path, "d1", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=bad)
    tables = ("raw_customers", "raw_accounts", "raw_ledger", "quarantine", "load_audit", "data_quality_holds")

    def snapshot():
        return {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}

    first = load_delivery(con, folder, ARRIVED, validate=False)
    before = snapshot()
    second = load_delivery(con, folder, datetime(2024, 3, 2, tzinfo=timezone.utc), validate=False)
    assert snapshot() == before
    assert (second.status, second.load_id) == ("skipped", first.load_id)
    assert [t.rows_in for t in second.tables] == [t.rows_in for t in first.tables]

    # the same rows in a new file (another load_id): every good row is a counted duplicate
    again = write_delivery(tmp_path, "d2", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER)
    third = load_delivery(con, again, ARRIVED, validate=False)
    assert third.load_id != first.load_id and reconciles(third)
    assert all(t.rows_duplicate == t.rows_in and t.rows_accepted == 0 for t in third.tables)
    assert {t: snapshot()[t] for t in tables[:3]} == {t: before[t] for t in tables[:3]}


def test_parquet_delivery_loads(con, tmp_path):
    import pandas as pd

    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame({
        "customer_id": ["C1", "C2"], "country": ["CO", "US"], "region": ["Bogota", "NY"],
        "timezone": ["America/Bogota", "America/New_York"], "language": ["es", "en"],
        "birth_year": [1980, None],
        "created_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 14:00"]).tz_localize("UTC"),
        "phone": ["+573001234567", None], "email": [None, "B@x.com"], "whatsapp_opt_in": [True, False],
    }).to_parquet(folder / "customers.parquet")
    pd.DataFrame({
        "customer_id": ["C3"], "country": ["CO"], "region": ["Cali"], "timezone": ["America/Bogota"],
        "language": ["es"], "created_at": pd.to_datetime(["2024-01-01 10:00"]), "whatsapp_opt_in": [True],
    }).to_parquet(folder / "consents.parquet")  # wrong table shape: consents lacks its columns
    with pytest.raises(ContractError, match=r"consents\.parquet.*consent_id"):
        load_delivery(con, folder, ARRIVED, validate=False)
    (folder / "consents.parquet").unlink()

    summary = load_delivery(con, folder, ARRIVED, validate=False)
    assert summary.table("customers").rows_accepted == 2
    rows = con.execute("select customer_id, birth_year, created_at, email from raw_customers order by 1").fetchall()
    assert rows[0][:3] == ("C1", 1980, datetime(2024, 1, 1, 10, tzinfo=timezone.utc))
    assert rows[1][3] == "b@x.com"


def test_bad_money_row_puts_its_account_on_data_quality_hold(con, tmp_path):
    ledger = LEDGER + "E9,A3,2024-02-02T00:00:00Z,2024-02-02,payment,-3,MXN,,\n"
    promises = PROMISES_HEAD + "P1,A1,2024-02-10T12:00:00Z,100,COP,2024-02-20,sms,\n"
    summary = load_delivery(con, write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS,
                                                ledger=ledger, promises=promises), ARRIVED, validate=False)
    assert summary.data_quality_holds == 1
    assert con.execute("select account_id, load_id, rule_id, created_at from data_quality_holds").fetchall() == [
        ("A3", summary.load_id, "amount_sign", ARRIVED)]


def test_great_expectations_results_are_written(con, tmp_path):
    holds = HOLDS_HEAD + "H1,C1,,dispute,2024-02-10T12:00:00Z,2024-03-10T12:00:00Z\n"
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS, ledger=LEDGER, holds=holds)
    summary = load_delivery(con, folder, ARRIVED, validate=True)

    assert summary.ge_failures == 0
    rows = con.execute("select table_name, expectation, column_name, success, unexpected_count "
                       "from ge_results where load_id = ?", [summary.load_id]).fetchall()
    assert {r[0] for r in rows} == {"customers", "accounts", "ledger", "holds"}
    assert ("ledger", "expect_column_values_to_be_between", "amount", True, 0) in rows
    assert ("accounts", "expect_column_values_to_be_in_set", "currency", True, 0) in rows
    assert not any(r[2] in ("phone", "email") for r in rows)
