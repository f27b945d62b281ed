"""A corpus of broken (and oddly formatted) delivery files, each with its expected outcome:
a correct load where the format is declared and unambiguous, otherwise one clear error that
names the file (and the row and column where there is one) and loads nothing."""

from __future__ import annotations

from decimal import Decimal
from datetime import datetime, timezone

import pytest

from ingestion import BatchRuleError, ContractError, load_delivery
from tests.test_ingest import ACCOUNTS, ARRIVED, CUSTOMERS, LEDGER, LEDGER_HEAD, write_delivery

RAW = ("raw_customers", "raw_accounts", "raw_ledger", "load_audit", "quarantine")


def nothing_loaded(con) -> bool:
    from recobro.warehouse import row_count, table_exists

    return all(not table_exists(con, t) or row_count(con, t) == 0 for t in RAW)


def delivery(tmp_path, files: dict[str, bytes], manifest: str | None = None):
    folder = write_delivery(tmp_path, "d", customers=CUSTOMERS, accounts=ACCOUNTS)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    if manifest is not None:
        (folder / "delivery.yaml").write_text(manifest)
    return folder


def _parquet(tmp_path, truncate: bool = False) -> bytes:
    import duckdb

    path = tmp_path / "source.parquet"
    duckdb.connect().execute(
        f"copy (select 'E' || i as entry_id, 'A1' as account_id, timestamptz '2024-02-02 00:00:00+00' as posted_at, "
        f"date '2024-02-02' as effective_date, 'charge' as entry_type, 1.5::decimal(18,2) as amount, 'COP' as currency "
        f"from range(2000) t(i)) to '{path}'")
    data = path.read_bytes()
    return data[: len(data) // 2] if truncate else data


LATIN1_LEDGER = (LEDGER_HEAD + "E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,100.00,COP,,tarjeta\n"
                 "E2,A1,2024-02-02T00:00:00Z,2024-02-02,payment,5.00,COP,,dep\u00f3sito\n").encode("latin-1")
# the bad byte sits in a quoted cell holding the delimiter: splitting on ',' alone named payment_method
LATIN1_QUOTED_LEDGER = (LEDGER_HEAD + 'E1,A1,2024-02-02T00:00:00Z,2024-02-02,reversal,5.00,COP,"E0,dep\u00f3sito",card\n'
                        ).encode("latin-1")
SEMICOLON_LEDGER = LEDGER.replace(",", ";").replace("100.00", "100,00").encode()

# (id, files, manifest, expected error class or None, regex the message must match)
ERRORS = [
    ("missing-column", {"ledger.csv": LEDGER.replace(",amount", "").replace(",100.00", "").replace(",50,", ",")
                        .replace(",-5,", ",").encode()}, None, ContractError, r"ledger\.csv.*amount"),
    ("renamed-column", {"ledger.csv": LEDGER.replace("amount", "amt").encode()}, None, ContractError,
     r"ledger\.csv: required column\(s\) amount missing"),
    ("empty-file", {"ledger.csv": b""}, None, ContractError, r"ledger\.csv: file is empty"),
    ("header-only", {"ledger.csv": LEDGER_HEAD.encode()}, None, ContractError, r"ledger\.csv: header only"),
    ("corrupt-parquet", {"ledger.parquet": b"PAR1 garbage"}, None, ContractError, r"ledger\.parquet: cannot be read"),
    ("wrong-delimiter", {"ledger.csv": SEMICOLON_LEDGER}, None, ContractError,
     r"ledger\.csv: line 1 \(header\).*delimited by ';'.*delivery\.yaml"),
    ("undeclared-latin1", {"ledger.csv": LATIN1_LEDGER}, None, ContractError,
     r"ledger\.csv: line 3, column payment_method \(data row 2\) is not utf-8.*encoding: latin-1"),
    ("undeclared-latin1-quoted-cell", {"ledger.csv": LATIN1_QUOTED_LEDGER}, None, ContractError,
     r"ledger\.csv: line 2, column reverses_entry_id \(data row 1\) is not utf-8"),
    ("extra-field", {"ledger.csv": (LEDGER + "E9,A1,2024-02-02T00:00:00Z,2024-02-02,fee,1,COP,,,x\n").encode()},
     None, ContractError, r"ledger\.csv: cannot be read.*data row 5"),
    ("all-values-wrong-type", {"ledger.csv": LEDGER.replace("2024-02-0", "day ").encode()}, None, BatchRuleError,
     r"schema_types \(ledger\): d/ledger\.csv: column effective_date: 4 of 4 values do not parse.*data row 1"),
    ("decimal-comma-undeclared", {"ledger.csv": LEDGER.replace("100.00", '"100,00"').replace(",50,", ',"50,0",')
                                  .replace(",-5,", ',"-5,0",').replace(",50,USD,E2", ',"50,0",USD,E2').encode()},
     None, BatchRuleError, r"schema_types \(ledger\): d/ledger\.csv: column amount: 4 of 4 values"),
    ("bad-manifest", {}, "delimiter: ','\ncolour: blue\n", ContractError, r"delivery\.yaml: unknown setting"),
    ("bad-manifest-zone", {}, "timezone_for_naive_timestamps: Mars/Base\n", ContractError, r"not an IANA zone"),
]


@pytest.mark.parametrize("files, manifest, error, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_broken_file_is_one_clear_error_and_loads_nothing(con, tmp_path, files, manifest, error, message):
    with pytest.raises(error, match=message) as err:
        load_delivery(con, delivery(tmp_path, files, manifest), ARRIVED, validate=False)
    assert nothing_loaded(con)
    assert "Traceback" not in str(err.value) and "\n  file =" not in str(err.value)


def test_truncated_and_mistyped_parquet_are_contract_errors(con, tmp_path):
    folder = delivery(tmp_path, {"ledger.parquet": _parquet(tmp_path, truncate=True)})
    with pytest.raises(ContractError, match=r"ledger\.parquet: cannot be read"):
        load_delivery(con, folder, ARRIVED, validate=False)
    import pandas as pd

    pd.DataFrame({"entry_id": ["E1"], "account_id": ["A1"], "posted_at": [20240202], "effective_date": ["2024-02-02"],
                  "entry_type": ["charge"], "amount": [1.0], "currency": ["COP"]}).to_parquet(folder / "ledger.parquet")
    with pytest.raises(ContractError, match=r"ledger\.parquet: column posted_at has Parquet type BIGINT"):
        load_delivery(con, folder, ARRIVED, validate=False)
    assert nothing_loaded(con)
    (folder / "ledger.parquet").write_bytes(_parquet(tmp_path))
    assert load_delivery(con, folder, ARRIVED, validate=False).table("ledger").rows_accepted == 2000


def test_declared_latin1_semicolons_and_decimal_commas_load_correctly(con, tmp_path):
    latin = LATIN1_LEDGER.decode("latin-1").replace(",", ";").replace("100.00", "1234,5").replace("5.00", "5,25")
    folder = delivery(tmp_path, {"ledger.csv": latin.encode("latin-1")},
                      "encoding: latin-1\ndelimiter: ';'\ndecimal_separator: ','\n")
    for name in ("customers.csv", "accounts.csv"):  # the whole delivery follows the manifest
        path = folder / name
        path.write_bytes(path.read_text().replace(",", ";").replace("1000000.00", "1000000,00")
                         .replace("900.50", "900,50").encode("latin-1"))
    summary = load_delivery(con, folder, ARRIVED, validate=False)
    assert summary.rows_quarantined == 0
    rows = con.execute("select entry_id, amount, payment_method from raw_ledger order by 1").fetchall()
    assert rows == [("E1", Decimal("1234.50"), "tarjeta"), ("E2", Decimal("5.25"), "dep\u00f3sito")]
    assert con.execute("select principal from raw_accounts where account_id = 'A3'").fetchall() == [(Decimal("900.50"),)]


def test_utf8_bom_is_always_handled(con, tmp_path):
    folder = delivery(tmp_path, {"ledger.csv": b"\xef\xbb\xbf" + LEDGER.encode()})
    (folder / "customers.csv").write_bytes(b"\xef\xbb\xbf" + CUSTOMERS.encode())
    summary = load_delivery(con, folder, ARRIVED, validate=False)
    assert summary.rows_quarantined == 0 and summary.table("ledger").rows_accepted == 4
    assert con.execute("select count(*) from raw_customers where customer_id = 'C1'").fetchall() == [(1,)]


def test_decimal_point_in_decimal_comma_delivery_is_quarantined_not_guessed(con, tmp_path):
    ledger = (LEDGER_HEAD + "E1;A1;2024-02-02T00:00:00Z;2024-02-02;charge;1.234;COP;;\n"
              "E2;A1;2024-02-02T00:00:00Z;2024-02-02;charge;7;COP;;\n").replace(",", ";")
    folder = delivery(tmp_path, {"ledger.csv": ledger.encode()}, "delimiter: ';'\ndecimal_separator: ','\n")
    for name in ("customers.csv", "accounts.csv"):
        (folder / name).write_text((folder / name).read_text().replace(",", ";").replace(".00", ",00")
                                   .replace(".50", ",50"))
    summary = load_delivery(con, folder, ARRIVED, validate=False)
    assert summary.table("ledger").rows_quarantined == 1
    assert con.execute("select source_row, column_name, rule_id from quarantine").fetchall() == [
        (1, "amount", "parseable_type")]


def test_decimal_comma_without_manifest_is_quarantined(con, tmp_path):
    ledger = LEDGER_HEAD + ('E1,A1,2024-02-02T00:00:00Z,2024-02-02,charge,"12,50",COP,,\n'
                            'E2,A1,2024-02-02T00:00:00Z,2024-02-02,charge,12.50,COP,,\n')
    summary = load_delivery(con, delivery(tmp_path, {"ledger.csv": ledger.encode()}), ARRIVED, validate=False)
    assert summary.table("ledger").rows_quarantined == 1
    assert con.execute("select column_name, rule_id from quarantine").fetchall() == [("amount", "parseable_type")]


def test_naive_timestamps_use_only_the_declared_zone(con, tmp_path):
    ledger = LEDGER_HEAD + ("E1,A1,2024-02-02 09:30:00,2024-02-02,charge,1,COP,,\n"
                            "E2,A1,2024-02-02T09:30:00-03:00,2024-02-02,charge,1,COP,,\n")
    folder = delivery(tmp_path, {"ledger.csv": ledger.encode()}, "timezone_for_naive_timestamps: America/Bogota\n")
    load_delivery(con, folder, ARRIVED, validate=False)
    rows = con.execute("select entry_id, posted_at from raw_ledger order by 1").fetchall()
    assert rows == [("E1", datetime(2024, 2, 2, 14, 30, tzinfo=timezone.utc)),  # Bogota is UTC-5
                    ("E2", datetime(2024, 2, 2, 12, 30, tzinfo=timezone.utc))]  # an explicit offset wins

    undeclared = write_delivery(tmp_path, "plain", ledger=ledger.replace("E1", "E3").replace("E2", "E4"))
    summary = load_delivery(con, undeclared, ARRIVED, validate=False)
    assert summary.table("ledger").rows_quarantined == 1
    assert con.execute("select source_row, rule_id from quarantine").fetchall() == [(1, "utc_offset")]
