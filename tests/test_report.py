"""The analyst report: KPIs on a hand-computable fixture, self-containment, no personal data.

Fixture (as_of 2025-06-30, window 2025-06-01 .. 2025-06-30):
- 5 accounts placed by as_of (USD principal 1000 + 2000 + 500 + 1500 = 5000), 1 placed later.
- 5 outbound attempts in the window: sms opt_out, voice rpc, voice no_answer, voice promise,
  email bounced -> contact rate 3/5 = 60.0%, RPC rate 2/5 = 40.0%, opt-out 1/5 = 20.0%,
  complaint 0/5 = 0.0%, voice RPC rate 2/3 = 66.7%; attempts/account/week = 5/4/(30/7) = 0.29
  (eligible = 4). Cost 0.05 + 3 * 0.30 + 0.001 = 0.951.
- promises made in the window: P1 voice, P3 self_service -> promise rate 1/2 = 50.0%.
- matured promises (due + 3 in the 30 days to as_of - 5, the posting lag): P1 kept (100 of 100),
  P2 not kept (its 150 payment is reversed), P4 kept (48 >= 0.95 * 50) -> promise-kept rate
  2/3 = 66.7%. P5 (email, due + 3 = 06-27, unpaid so far) is too young to judge: left out.
- collected in window 100 + 48 = 148 -> recovery 148 / 5000 = 3.0%; to date + 300 = 448 -> 9.0%;
  cost per unit collected 0.951 / 148 = 0.0064.

`build_report` is imported from `reports.build`: the venv's editable install was made before
`reports/__init__.py` existed, so under pytest `reports` may resolve as a namespace package.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recobro.contract import create_raw_tables
from recobro.settings import Settings
from recobro.warehouse import warehouse
from reports.build import build_report
from reports.monitoring import psi, psi_band

AS_OF = dt.date(2025, 6, 30)
PREVIOUS = dt.date(2025, 6, 29)
PHONES = ("+15551234567", "+15559876543")
EMAILS = ("ana.perez@example.com", "bob.jones@example.org")
ACCOUNTS = ("ACC-90001", "ACC-90002", "ACC-90003", "ACC-90004", "ACC-90005")
CUSTOMERS = ("CUS-70001", "CUS-70002", "CUS-70003", "CUS-70004", "CUS-70005")
CHROMIUM = "/usr/bin/chromium"

PUBLISHED_DDL = {
    "scores": """as_of DATE, account_id VARCHAR, customer_id VARCHAR, p_promise_kept DOUBLE,
        p_pay_30d DOUBLE, risk_tier VARCHAR, promise_kept_model VARCHAR, pay_model VARCHAR,
        reason_1 VARCHAR, reason_2 VARCHAR, reason_3 VARCHAR, reasons_text VARCHAR""",
    "segments": """as_of DATE, account_id VARCHAR, customer_id VARCHAR, segment VARCHAR,
        risk_tier VARCHAR, vulnerability_flag BOOLEAN, treatment_path VARCHAR,
        experiment_arm VARCHAR, reasons VARCHAR""",
    "next_best_actions": """as_of DATE, action_key VARCHAR, account_id VARCHAR, customer_id VARCHAR,
        action VARCHAR, channel VARCHAR, template_id VARCHAR, tone VARCHAR, timezone VARCHAR,
        send_window_start_local TIMESTAMP, send_window_end_local TIMESTAMP,
        send_window_start_utc TIMESTAMPTZ, send_window_end_utc TIMESTAMPTZ, offer_terms VARCHAR,
        priority INTEGER, expected_value DOUBLE, propensity DOUBLE, policy_version VARCHAR,
        model_versions VARCHAR, segment VARCHAR, experiment_arm VARCHAR, reason_codes VARCHAR,
        why_not VARCHAR, next_allowed_contact_at TIMESTAMPTZ""",
    "suppressions": """as_of DATE, account_id VARCHAR, customer_id VARCHAR, action VARCHAR,
        channel VARCHAR, rule_id VARCHAR, rule_pack VARCHAR, rule_pack_version VARCHAR, reason VARCHAR""",
    "load_audit": """load_id VARCHAR, delivery VARCHAR, table_name VARCHAR, source_file VARCHAR,
        file_sha256 VARCHAR, rows_in BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT,
        rows_duplicate BIGINT, arrived_at TIMESTAMPTZ, status VARCHAR""",
    "quarantine": """load_id VARCHAR, table_name VARCHAR, source_file VARCHAR, source_row BIGINT,
        column_name VARCHAR, rule_id VARCHAR, reason VARCHAR, record_json VARCHAR""",
}


def _insert(con, table: str, columns: str, rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in columns.split(","))
    con.executemany(f"insert into {table} ({columns}) values ({marks})", rows)


def create_published_tables(con) -> None:
    for name, cols in PUBLISHED_DDL.items():
        con.execute(f"create table {name} ({cols})")


def load_history(con) -> None:
    """Raw history: customers/consents hold the personal values that must never leak."""
    create_raw_tables(con)
    _insert(con, "raw_customers", "customer_id, country, region, timezone, language, created_at, phone, email, whatsapp_opt_in", [
        (c, "US", "CA", "America/Los_Angeles", "en", "2024-01-01 00:00+00", PHONES[i % 2], EMAILS[i % 2], True)
        for i, c in enumerate(CUSTOMERS)])
    _insert(con, "raw_consents", "consent_id, customer_id, channel, contact_point, status, effective_at, source", [
        ("CN1", CUSTOMERS[0], "sms", PHONES[0], "opt_out", "2025-06-03 10:00+00", "reply STOP"),
        ("CN2", CUSTOMERS[1], "email", EMAILS[1], "granted", "2025-01-01 10:00+00", "web")])
    placed = "2025-01-15 00:00+00"
    _insert(con, "raw_accounts", "account_id, customer_id, product, currency, opened_at, placed_at, principal, jurisdiction", [
        (ACCOUNTS[0], CUSTOMERS[0], "credit_card", "USD", "2023-01-01 00:00+00", placed, 1000, "US"),
        (ACCOUNTS[1], CUSTOMERS[1], "personal_loan", "USD", "2023-01-01 00:00+00", placed, 2000, "US"),
        (ACCOUNTS[2], CUSTOMERS[2], "telco", "USD", "2023-01-01 00:00+00", placed, 500, "US"),
        (ACCOUNTS[3], CUSTOMERS[3], "bnpl", "USD", "2023-01-01 00:00+00", placed, 1500, "US"),
        (ACCOUNTS[4], CUSTOMERS[4], "bnpl", "USD", "2023-01-01 00:00+00", "2025-07-15 00:00+00", 900, "US")])
    _insert(con, "raw_contacts", "contact_id, account_id, customer_id, channel, direction, started_at, outcome, cost, _arrived_at", [
        ("K1", ACCOUNTS[0], CUSTOMERS[0], "sms", "outbound", "2025-06-03 09:00+00", "opt_out", 0.05, "2025-06-04 00:00+00"),
        ("K2", ACCOUNTS[0], CUSTOMERS[0], "voice", "outbound", "2025-06-04 15:00+00", "rpc", 0.30, "2025-06-05 00:00+00"),
        ("K3", ACCOUNTS[1], CUSTOMERS[1], "voice", "outbound", "2025-06-09 15:00+00", "no_answer", 0.30, "2025-06-10 00:00+00"),
        ("K4", ACCOUNTS[1], CUSTOMERS[1], "voice", "outbound", "2025-06-10 16:00+00", "promise", 0.30, "2025-06-11 00:00+00"),
        ("K5", ACCOUNTS[2], CUSTOMERS[2], "email", "outbound", "2025-06-30 23:30+00", "bounced", 0.001, "2025-06-30 23:45+00"),
        # outside the window (before it, or after as_of) or inbound: never counted
        ("K6", ACCOUNTS[2], CUSTOMERS[2], "voice", "outbound", "2025-05-31 23:59+00", "rpc", 0.30, "2025-06-01 00:00+00"),
        ("K7", ACCOUNTS[3], CUSTOMERS[3], "voice", "inbound", "2025-06-12 10:00+00", "rpc", None, "2025-06-13 00:00+00"),
        ("K8", ACCOUNTS[3], CUSTOMERS[3], "sms", "outbound", "2025-07-01 09:00+00", "complaint", 0.05, "2025-07-02 00:00+00"),
        ("K9", ACCOUNTS[3], CUSTOMERS[3], "sms", "outbound", "2025-07-01 10:00+00", "rpc", 0.05, "2025-07-01 12:00+00")])
    _insert(con, "raw_promises", "promise_id, account_id, created_at, promised_amount, currency, due_date, channel, _arrived_at", [
        ("P1", ACCOUNTS[1], "2025-06-10 16:05+00", 100, "USD", "2025-06-15", "voice", "2025-06-11 00:00+00"),
        ("P2", ACCOUNTS[0], "2025-05-20 10:00+00", 200, "USD", "2025-06-10", "sms", "2025-05-21 00:00+00"),
        ("P3", ACCOUNTS[2], "2025-06-25 10:00+00", 80, "USD", "2025-07-05", "self_service", "2025-06-26 00:00+00"),
        ("P4", ACCOUNTS[2], "2025-05-25 10:00+00", 50, "USD", "2025-06-02", "voice", "2025-05-26 00:00+00"),
        ("P5", ACCOUNTS[3], "2025-05-28 10:00+00", 70, "USD", "2025-06-24", "email", "2025-05-29 00:00+00")])
    _insert(con, "raw_ledger", "entry_id, account_id, posted_at, effective_date, entry_type, amount, currency, reverses_entry_id, _arrived_at", [
        ("L1", ACCOUNTS[1], "2025-06-16 12:00+00", "2025-06-16", "payment", 100, "USD", None, "2025-06-17 00:00+00"),
        ("L2", ACCOUNTS[0], "2025-06-12 12:00+00", "2025-06-12", "payment", 150, "USD", None, "2025-06-13 00:00+00"),
        ("L3", ACCOUNTS[0], "2025-06-14 12:00+00", "2025-06-14", "reversal", 150, "USD", "L2", "2025-06-15 00:00+00"),
        ("L4", ACCOUNTS[2], "2025-06-01 12:00+00", "2025-06-01", "payment", 48, "USD", None, "2025-06-02 00:00+00"),
        ("L5", ACCOUNTS[0], "2025-04-01 12:00+00", "2025-04-01", "payment", 300, "USD", None, "2025-04-02 00:00+00"),
        ("L6", ACCOUNTS[3], "2025-07-02 12:00+00", "2025-06-29", "payment", 999, "USD", None, "2025-07-03 00:00+00"),
        ("L7", ACCOUNTS[3], "2025-06-02 12:00+00", "2025-06-02", "charge", 20, "USD", None, "2025-06-03 00:00+00")])


def load_published(con) -> None:
    create_published_tables(con)
    model_pk, model_pay = "recobro_promise_kept/3", "recobro_pay_propensity/5"
    _insert(con, "scores", "as_of, account_id, customer_id, p_promise_kept, p_pay_30d, risk_tier, promise_kept_model, pay_model, reasons_text", [
        (AS_OF, ACCOUNTS[0], CUSTOMERS[0], 0.62, 0.15, "high", model_pk, model_pay, "x"),
        (AS_OF, ACCOUNTS[1], CUSTOMERS[1], 0.71, 0.55, "medium", model_pk, model_pay, "x"),
        (AS_OF, ACCOUNTS[2], CUSTOMERS[2], 0.33, 0.85, "low", model_pk, model_pay, "x"),
        (PREVIOUS, ACCOUNTS[0], CUSTOMERS[0], 0.60, 0.12, "high", model_pk, model_pay, "x"),
        (PREVIOUS, ACCOUNTS[1], CUSTOMERS[1], 0.70, 0.52, "medium", model_pk, model_pay, "x"),
        (PREVIOUS, ACCOUNTS[2], CUSTOMERS[2], 0.30, 0.81, "low", model_pk, model_pay, "x")])
    _insert(con, "segments", "as_of, account_id, customer_id, segment, risk_tier, vulnerability_flag, treatment_path, experiment_arm", [
        (AS_OF, ACCOUNTS[0], CUSTOMERS[0], "early_forgetful", "high", False, "digital", "champion"),
        (AS_OF, ACCOUNTS[1], CUSTOMERS[1], "early_forgetful", "medium", False, "digital", "challenger"),
        (AS_OF, ACCOUNTS[2], CUSTOMERS[2], "hardship", "low", True, "human", "control")])
    _insert(con, "next_best_actions", "as_of, action_key, account_id, customer_id, action, channel, priority, expected_value, propensity, experiment_arm", [
        (AS_OF, "k1", ACCOUNTS[0], CUSTOMERS[0], "remind", "sms", 1, 12.5, 0.8, "champion"),
        (AS_OF, "k2", ACCOUNTS[1], CUSTOMERS[1], "agent_call", "agent_call", 2, 30.0, 0.6, "challenger"),
        (AS_OF, "k3", ACCOUNTS[2], CUSTOMERS[2], "wait", None, 3, 0.0, 1.0, "control")])
    _insert(con, "suppressions", "as_of, account_id, customer_id, action, channel, rule_id, rule_pack, rule_pack_version, reason", [
        (AS_OF, ACCOUNTS[2], CUSTOMERS[2], "remind", "sms", "US-OPT-OUT", "US", "2025.1", f"opted out on {PHONES[0]}"),
        (AS_OF, ACCOUNTS[2], CUSTOMERS[2], "remind", "voice", "VULNERABLE-HUMAN", "ALL", "2025.1", "vulnerable")])
    _insert(con, "load_audit", "load_id, delivery, table_name, rows_in, rows_accepted, rows_quarantined, rows_duplicate, arrived_at, status", [
        ("load-1", "2025-06-29", "contacts", 10, 10, 0, 0, "2025-06-29 06:00+00", "ok"),
        ("load-2", "2025-06-30", "contacts", 12, 9, 2, 1, "2025-06-30 06:00+00", "ok"),
        ("load-2", "2025-06-30", "customers", 7, 6, 1, 0, "2025-06-30 06:00+00", "ok")])
    _insert(con, "quarantine", "load_id, table_name, column_name, rule_id, reason, record_json", [
        ("load-1", "contacts", "outcome", "enum_outcome", "bad outcome", "{}"),
        ("load-2", "contacts", "outcome", "enum_outcome", "bad outcome", "{}"),
        ("load-2", "contacts", "started_at", "not_null_started_at", "missing", "{}"),
        ("load-2", "customers", "phone", "e164_phone", f"phone {PHONES[1]} is not E.164",
         f'{{"phone": "{PHONES[1]}", "email": "{EMAILS[0]}"}}')])


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> tuple[Path, str]:
    """The fixture report, built once per module (plots make a build take about a second)."""
    home = tmp_path_factory.mktemp("report_home")
    settings = Settings.load(config_file=home / "absent.toml", home=home, reports_dir=home / "reports",
                             warehouse_path=home / "warehouse.duckdb").ensure_dirs()
    with warehouse(settings) as con:
        load_history(con)
        load_published(con)
        path = build_report(con, settings, AS_OF)
    return path, path.read_text(encoding="utf-8")


def _text(html: str) -> str:
    """The page's visible text, whitespace collapsed, for phrase assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, first_cell: str, table_after: str = "") -> list[str]:
    """Cells of the first table row whose first cell is `first_cell` (after `table_after`)."""
    html = html[html.index(table_after):] if table_after else html
    m = re.search(rf"<tr[^>]*>\s*<td>{re.escape(first_cell)}</td>(.*?)</tr>", html, re.S)
    assert m, f"no row {first_cell!r}"
    return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), re.S)]


def test_report_is_written_where_settings_say(report_html):
    path, html = report_html
    assert path.parts[-3:] == ("reports", "2025-06-30", "report.html")
    assert html.startswith("<!DOCTYPE html>")
    assert "Generated" in html and "2025-06-30" in html


def test_report_is_self_contained(report_html):
    _, html = report_html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html, re.I)
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    images = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(images) >= 2 and all(s.startswith("data:image/png;base64,") for s in images)


def test_header_counts_and_model_versions(report_html):
    _, html = report_html
    text = _text(html)
    assert "Accounts scored 3" in text and "Accounts eligible 4" in text
    assert "Scoring coverage 75.0%" in text
    assert "recobro_promise_kept/3" in text and "recobro_pay_propensity/5" in text


def test_kpis_match_hand_computed_values(report_html):
    _, html = report_html
    text = _text(html)
    for phrase in ("Contact rate 60.0%", "RPC rate 40.0%", "Promise rate 50.0%",
                   "Promise-kept rate 66.7%", "Opt-out rate 20.0%", "Complaint rate 0.0%",
                   "Attempts / account / week 0.29", "Recovery rate, 30 days (USD) 3.0%"):
        assert phrase in text, phrase
    funnel = 'id="kpis"'
    assert _row(html, "all channels", funnel)[:7] == ["5", "3", "60.0%", "2", "40.0%", "20.0%", "0.0%"]
    assert _row(html, "voice", funnel)[:5] == ["3", "2", "66.7%", "2", "66.7%"]
    assert _row(html, "self_service", "Promises") == ["1", "0", "n/a"]  # no RPC behind it
    assert _row(html, "voice", "Promises") == ["1", "2", "50.0%"]
    assert _row(html, "sms", "matured promises") == ["1", "0", "0.0%"]  # P2: payment reversed
    assert _row(html, "voice", "matured promises") == ["2", "2", "100.0%"]
    kept_table = html[html.index("matured promises"):html.index("</table>", html.index("matured promises"))]
    assert ">email<" not in kept_table  # P5's grace ended within the posting lag
    assert "ended from 2025-05-27 to 2025-06-25" in _text(html)
    assert _row(html, "USD", funnel) == ["4", "5,000.00", "148.00", "3.0%", "448.00", "9.0%", "0.95", "0.0064"]


def test_promise_kept_kpi_reads_the_kept_share_from_the_contract(con, monkeypatch):
    """P4 paid 48 of 50: kept at the contract's 95%, broken if the contract asked for 97%."""
    from recobro import contract
    from reports.sections import kpi_section

    load_history(con)

    def voice_kept():
        rows = kpi_section(con, AS_OF, eligible=None)["promise_kept"]
        voice = next(r for r in rows if r["channel"] == "voice")
        return voice["matured_promises"], voice["kept_promises"]

    assert voice_kept() == (2, 2)
    monkeypatch.setattr(contract, "PROMISE_KEPT_SHARE", 0.97)
    assert voice_kept() == (2, 1)


def test_decisions_and_data_quality_aggregates(report_html):
    _, html = report_html
    assert _row(html, "remind", 'id="decisions"')[:2] == ["sms", "1"]
    assert _row(html, "wait", 'id="decisions"')[:2] == ["—", "1"]
    assert _row(html, "US", 'id="decisions"') == ["2025.1", "US-OPT-OUT", "1", "1"]
    # segments x tier grid: low, medium, high, total, vulnerable
    assert _row(html, "early_forgetful") == ["0", "1", "1", "2", "0"]
    assert _row(html, "control")[:3] == ["1", "33.3%", "0"]
    assert _row(html, "contacts", 'id="data-quality"') == ["12", "9", "2", "1", "ok"]
    assert _row(html, "contacts", "Quarantined rows") == ["enum_outcome", "2", "1"]
    assert "Last load: 2025-06-30 (load-2)" in html


def test_no_personal_data_and_no_account_rows(report_html):
    _, html = report_html
    for value in PHONES + EMAILS + ACCOUNTS + CUSTOMERS:
        assert value not in html, value
    for needle in ("5551234567", "5559876543", "@example."):
        assert needle not in html


def test_model_health_shows_psi_band(report_html):
    _, html = report_html
    # every account stays in its p_pay_30d bin between the two dates -> PSI 0, stable
    assert "vs 2025-06-29" in html
    assert re.search(r'<strong>0\.000</strong>\s*<span class="band band-stable">stable</span>', html)


def test_empty_warehouse_renders_with_na(con, settings):
    path = build_report(con, settings, "2025-06-30")
    text = _text(path.read_text(encoding="utf-8"))
    assert "Contact rate n/a" in text and "RPC rate n/a" in text
    assert "Not available yet" in text


def test_empty_tables_render_with_na(con, settings):
    create_raw_tables(con)
    create_published_tables(con)
    html = build_report(con, settings, AS_OF).read_text(encoding="utf-8")
    text = _text(html)
    for label in ("Contact rate", "RPC rate", "Promise rate", "Promise-kept rate", "Attempts / account / week"):
        assert f"{label} n/a" in text, label
    assert "Scoring coverage n/a" in text
    assert "No rows for this date." in text
    assert '<span class="band band-na">n/a</span>' in html


def test_staging_view_is_preferred_and_missing_cost_is_na(con, settings):
    load_history(con)
    con.execute("create view stg_contacts as select * exclude (cost) from raw_contacts where channel = 'voice'")
    html = build_report(con, settings, AS_OF).read_text(encoding="utf-8")
    assert _row(html, "all channels", 'id="kpis"') == ["3", "2", "66.7%", "2", "66.7%", "0.0%", "0.0%", "0.18"]
    assert _row(html, "USD")[-2:] == ["n/a", "n/a"]  # no contact cost -> no cost per unit collected


def test_template_escapes_published_values(con, settings):
    create_published_tables(con)
    _insert(con, "segments", "as_of, account_id, segment, risk_tier, experiment_arm", [
        (AS_OF, ACCOUNTS[0], "<script>alert(1)</script>", "low", "champion")])
    html = build_report(con, settings, AS_OF).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cure_and_roll_by_dpd_bucket(con, settings):
    load_history(con)
    load_published(con)
    con.execute("create table fct_account_features (as_of DATE, account_id VARCHAR, dpd INTEGER)")
    start = AS_OF - dt.timedelta(days=30)
    _insert(con, "fct_account_features", "as_of, account_id, dpd", [
        (start, ACCOUNTS[0], 10), (AS_OF, ACCOUNTS[0], 0),     # 1-30 cured
        (start, ACCOUNTS[1], 20), (AS_OF, ACCOUNTS[1], 50),    # 1-30 rolled
        (start, ACCOUNTS[2], 45), (AS_OF, ACCOUNTS[2], 75),    # 31-60 rolled
        (start, ACCOUNTS[3], 0), (AS_OF, ACCOUNTS[3], 5)])     # current at start: not followed
    html = build_report(con, settings, AS_OF).read_text(encoding="utf-8")
    assert _row(html, "1-30") == ["2", "50.0%", "50.0%"]
    assert _row(html, "31-60") == ["1", "0.0%", "100.0%"]
    assert "Accounts eligible 4" in _text(html)


@pytest.mark.parametrize(("value", "band"), [
    (None, "n/a"), (0.0, "stable"), (0.0999, "stable"), (0.10, "investigate"),
    (0.25, "investigate"), (0.2501, "act"), (1.3, "act"),
])
def test_psi_bands(value, band):
    assert psi_band(value) == band


def test_psi_known_inputs():
    assert psi([50, 50], [50, 50]) == pytest.approx(0.0)
    # (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5) = 0.1733 + 0.1014
    assert psi([50, 50], [25, 75]) == pytest.approx(0.27465, abs=1e-4)
    assert psi_band(psi([50, 50], [25, 75])) == "act"
    assert psi([0, 0], [1, 1]) is None and psi([1], [1, 2]) is None
    # an empty bin is floored, not a division by zero
    assert psi([10, 0], [5, 5]) > 0.25


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report_html, tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} is absent; install Debian's chromium to run the browser test")
    path, _ = report_html
    png = tmp_path / "report.png"
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="kpis"' in dom.stdout and "RPC rate" in dom.stdout and "40.0%" in dom.stdout
    shot = subprocess.run(base + [f"--screenshot={png}", "--window-size=1280,2000", path.as_uri()],
                          capture_output=True, text=True, timeout=60)
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
