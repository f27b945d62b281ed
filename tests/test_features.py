"""Feature layer: hand-computed features, point-in-time safety, labels, training sets, catalog.

One small portfolio, built in SQL below. Account a1 (placed 2024-01-01, principal 1000):
charge 1000; installments of 100 due 01-15, 02-15, 03-15 (and 04-15, in the future);
payments 100 on 01-20, 100 on 02-20 (reversed on 02-25), 30 on 03-10, 50 effective 03-30 but
posted only on 04-02 (late), 80 on 04-20 (future); fee 20 on 03-01.
At as_of 2024-03-31: balance 1000 - 100 - 100 + 100 + 20 - 30 = 890; valid payments 100 + 30 = 130
cover the 01-15 installment only, so DPD counts from 02-15: 45 days; past due 300 - 130 = 170.
"""

from __future__ import annotations

from datetime import date

import pytest

from features import build
from recobro.contract import PERSONAL_COLUMNS, create_raw_tables

AS_OF = date(2024, 3, 31)
TRAIN_AS_OF = date(2024, 4, 10)

FIXTURE_SQL = """
insert into raw_customers (customer_id, country, region, timezone, language, birth_year, created_at,
                           phone, email, whatsapp_opt_in) values
    ('c1', 'CO', 'ANT', 'America/Bogota', 'es', 1990, '2023-01-01 00:00:00+00', '+573001112233', 'ana@example.com', true),
    ('c2', 'UK', 'LDN', 'Europe/London', 'en', 1970, '2023-06-01 00:00:00+00', '+447700900123', 'bob@example.com', false);

insert into raw_accounts (account_id, customer_id, product, currency, opened_at, placed_at, principal, jurisdiction) values
    ('a1', 'c1', 'credit_card', 'COP', '2023-06-01 00:00:00+00', '2024-01-01 08:00:00+00', 1000, 'CO'),
    ('a2', 'c2', 'personal_loan', 'GBP', '2023-07-01 00:00:00+00', '2024-02-01 08:00:00+00', 500, 'UK'),
    ('a3', 'c2', 'telco', 'GBP', '2023-08-01 00:00:00+00', '2024-05-01 08:00:00+00', 300, 'UK');

insert into raw_ledger (entry_id, account_id, posted_at, effective_date, entry_type, amount, currency, reverses_entry_id) values
    ('e1', 'a1', '2024-01-01 10:00:00+00', '2024-01-01', 'charge', 1000, 'COP', null),
    ('e2', 'a1', '2024-01-15 01:00:00+00', '2024-01-15', 'installment_due', 100, 'COP', null),
    ('e3', 'a1', '2024-02-15 01:00:00+00', '2024-02-15', 'installment_due', 100, 'COP', null),
    ('e4', 'a1', '2024-03-15 01:00:00+00', '2024-03-15', 'installment_due', 100, 'COP', null),
    ('e5', 'a1', '2024-04-15 01:00:00+00', '2024-04-15', 'installment_due', 100, 'COP', null),
    ('e6', 'a1', '2024-01-20 12:00:00+00', '2024-01-20', 'payment', 100, 'COP', null),
    ('e7', 'a1', '2024-02-20 12:00:00+00', '2024-02-20', 'payment', 100, 'COP', null),
    ('e8', 'a1', '2024-02-25 12:00:00+00', '2024-02-25', 'reversal', 100, 'COP', 'e7'),
    ('e9', 'a1', '2024-03-01 12:00:00+00', '2024-03-01', 'fee', 20, 'COP', null),
    ('e10', 'a1', '2024-04-02 09:00:00+00', '2024-03-30', 'payment', 50, 'COP', null),
    ('e11', 'a1', '2024-03-10 12:00:00+00', '2024-03-10', 'payment', 30, 'COP', null),
    ('e12', 'a1', '2024-04-20 12:00:00+00', '2024-04-20', 'payment', 80, 'COP', null),
    ('f1', 'a2', '2024-02-01 10:00:00+00', '2024-02-01', 'charge', 500, 'GBP', null),
    ('f2', 'a2', '2024-02-15 10:00:00+00', '2024-02-15', 'installment_due', 200, 'GBP', null),
    ('f3', 'a2', '2024-03-20 10:00:00+00', '2024-03-20', 'write_off', 500, 'GBP', null);

insert into raw_promises (promise_id, account_id, created_at, promised_amount, currency, due_date, channel) values
    ('p1', 'a1', '2024-01-10 12:00:00+00', 100, 'COP', '2024-01-18', 'sms'),
    ('p2', 'a1', '2024-02-18 12:00:00+00', 100, 'COP', '2024-02-22', 'agent_call'),
    ('p3', 'a1', '2024-03-29 12:00:00+00', 60, 'COP', '2024-04-01', 'self_service'),
    ('p4', 'a1', '2024-03-05 12:00:00+00', 30, 'COP', '2024-03-10', 'whatsapp');

insert into raw_contacts (contact_id, account_id, customer_id, channel, direction, started_at, outcome) values
    ('k1', 'a1', 'c1', 'sms', 'outbound', '2024-03-28 20:00:00+00', 'clicked'),
    ('k2', 'a1', 'c1', 'sms', 'outbound', '2024-03-29 20:00:00+00', 'delivered'),
    ('k3', 'a1', 'c1', 'voice', 'outbound', '2024-03-30 23:30:00+00', 'rpc'),
    ('k4', 'a1', 'c1', 'sms', 'outbound', '2024-04-05 15:00:00+00', 'replied'),
    ('k5', 'a1', 'c1', 'whatsapp', 'inbound', '2024-02-10 14:00:00+00', 'replied'),
    ('k6', 'a1', 'c1', 'email', 'outbound', '2024-03-01 14:00:00+00', 'opt_out');

insert into raw_holds (hold_id, customer_id, account_id, kind, starts_at, ends_at) values
    ('h1', null, 'a1', 'dispute', '2024-02-01 00:00:00+00', '2024-02-10 00:00:00+00'),
    ('h2', 'c1', null, 'vulnerability', '2024-03-01 00:00:00+00', null),
    ('h3', 'c1', null, 'hardship_plan', '2024-04-03 00:00:00+00', '2024-06-01 00:00:00+00');

insert into raw_consents (consent_id, customer_id, channel, contact_point, status, effective_at, source) values
    ('s1', 'c1', 'sms', '+573001112233', 'granted', '2023-01-01 00:00:00+00', 'onboarding'),
    ('s2', 'c1', 'email', 'ana@example.com', 'opt_out', '2024-03-02 00:00:00+00', 'email_link');
"""


@pytest.fixture
def portfolio(con):
    """The warehouse connection with the small portfolio above loaded into raw_*."""
    create_raw_tables(con)
    con.execute(FIXTURE_SQL)
    build.stg_views(con)
    return con


def features_at(con, as_of: date) -> dict[str, dict]:
    build.fct_account_features(con, as_of)
    df = con.execute("select * from fct_account_features where as_of = ?", [as_of]).df()
    return {row["account_id"]: row for row in df.to_dict("records")}


def test_hand_computed_balance_dpd_and_payments(portfolio):
    feats = features_at(portfolio, AS_OF)
    assert set(feats) == {"a1", "a2"}  # a3 is placed after as_of
    a1 = feats["a1"]
    assert float(a1["balance"]) == 890.0
    assert a1["dpd"] == 45
    assert float(a1["past_due_amount"]) == 170.0
    assert a1["past_due_installments"] == 2
    assert a1["payments_total"] == 2  # e7 was reversed, e10 not yet posted
    assert a1["reversed_payments_total"] == 1
    assert a1["payments_30d"] == 1 and a1["payments_90d"] == 2
    assert str(a1["last_payment_at"])[:10] == "2024-03-10"
    assert a1["days_since_last_payment"] == 21
    assert a1["paid_share_of_principal"] == pytest.approx(0.13)
    assert a1["balance_to_principal"] == pytest.approx(0.89)
    effects = dict(portfolio.execute(
        "select entry_id, balance_effect from int_ledger_effects where account_id = 'a1'").fetchall())
    assert (effects["e7"], effects["e8"], effects["e5"], effects["e9"]) == (-100, 100, 0, 20)
    # a2 was written off: nothing is past due on a zero balance
    assert float(feats["a2"]["balance"]) == 0.0 and feats["a2"]["dpd"] == 0


def test_late_posted_payment_is_invisible_until_posted(portfolio):
    before = features_at(portfolio, date(2024, 4, 1))["a1"]
    after = features_at(portfolio, date(2024, 4, 2))["a1"]
    assert before["payments_total"] == 2
    assert after["payments_total"] == 3
    assert float(after["balance"]) == 840.0
    assert after["dpd"] == 47 and float(after["past_due_amount"]) == 120.0


def test_contacts_promises_and_holds(portfolio):
    a1 = features_at(portfolio, AS_OF)["a1"]
    assert a1["attempts_7d"] == 3 and a1["attempts_90d"] == 4
    assert a1["attempts_sms_90d"] == 2 and a1["response_rate_sms_90d"] == pytest.approx(0.5)
    assert a1["response_rate_voice_90d"] == pytest.approx(1.0)
    assert a1["inbound_contacts_90d"] == 1
    assert a1["evening_response_share"] == pytest.approx(1 / 3)  # k3 is 18:30 in Bogota
    assert a1["days_since_last_contact"] == 1
    assert a1["opt_outs_total"] == 1 and a1["consent_opt_outs_total"] == 1
    # p1 and p4 kept, p2 broken (its payment was reversed), p3 still open
    assert (a1["promises_made"], a1["promises_kept"], a1["promises_broken"]) == (4, 2, 1)
    assert a1["promise_kept_rate"] == pytest.approx(2 / 3)
    assert a1["days_since_last_broken_promise"] == 35
    assert str(a1["open_promise_due_date"])[:10] == "2024-04-01" and a1["promise_id"] == "p3"
    assert a1["promise_channel_self_service"] == 1
    assert a1["disputes_total"] == 1 and a1["hardship_plans_total"] == 0


def test_holds_open_at_as_of(portfolio):
    """A hold counts as open from its start until its end; a customer-level plan covers every account."""
    opened = {d: features_at(portfolio, d)["a1"] for d in (date(2024, 2, 5), date(2024, 2, 10), AS_OF, date(2024, 4, 10))}
    assert [opened[d]["payment_block_open"] for d in sorted(opened)] == [1, 0, 0, 0]  # dispute h1: Feb 1-10
    assert [opened[d]["hardship_plan_open"] for d in sorted(opened)] == [0, 0, 0, 1]  # plan h3 from Apr 3
    assert opened[date(2024, 4, 10)]["hardship_plans_total"] == 1


def test_behaviour_features_by_hand(portfolio):
    a1 = features_at(portfolio, AS_OF)["a1"]
    # instalment 100; valid payments 100 (01-20) and 30 (03-10); e7 reversed, e10 not yet posted
    assert a1["payment_to_instalment_avg"] == pytest.approx(0.65) and a1["payment_to_instalment_max"] == 1.0
    assert a1["past_due_to_instalment"] == pytest.approx(1.7)
    assert a1["full_payment_share"] == pytest.approx(0.5)
    # 01-20 clears the 01-15 instalment; after 03-10 paid 130 < 220 due (two instalments + fee)
    assert a1["clearing_payment_share"] == pytest.approx(0.5)
    assert a1["days_to_first_payment"] == 19
    # 5 days after the 01-15 due date (early), 24 days after 02-15 (late)
    assert a1["early_payment_share"] == pytest.approx(0.5) and a1["days_after_due_avg"] == pytest.approx(14.5)
    assert a1["mid_month_payment_share"] == 0.0
    # attempts k1, k2, k3, k6 (k4 is after as_of): k1 clicked, k3 rpc
    assert a1["attempts_total"] == 4 and a1["response_rate_total"] == pytest.approx(0.5)
    assert a1["call_rpc_rate"] == 1.0 and a1["promise_per_conversation_rate"] == 0.0
    assert a1["click_rate_digital"] == pytest.approx(1 / 3) and a1["failed_attempt_rate"] == 0.0
    assert a1["inbound_contacts_total"] == 1 and a1["wrong_party_total"] == 0
    # no visible payment within 3 days of k1, k3 or k5 (e10 on 03-30 is posted only on 04-02)
    assert a1["response_payment_rate"] == 0.0
    # p2 (due 02-22) was paid and reversed; p1 and p4 paid; p3 not due yet
    assert a1["promises_unpaid_at_due"] == 1
    # the open promise p3: 60 against instalment 100, past due 170, largest payment 100; window 03-30..04-01
    assert a1["promise_amount_to_instalment"] == pytest.approx(0.6)
    assert a1["promise_amount_to_past_due"] == pytest.approx(60 / 170)
    assert a1["promise_amount_to_largest_payment"] == pytest.approx(0.6)
    assert (a1["promise_window_month_end_paydays"], a1["promise_window_mid_month_paydays"]) == (2, 0)
    assert a1["promise_from_inbound"] == 0


def test_point_in_time_future_events_do_not_change_features(portfolio):
    assert build.point_in_time_changes(portfolio, AS_OF) == {"shift": [], "drop": []}
    # the raw tables are left as they were
    assert portfolio.execute("select max(posted_at) from raw_ledger").fetchall()[0][0].year == 2024


def test_point_in_time_check_flags_leaking_sql(portfolio):
    leaky_last_payment = """
        select spine.account_id, spine.as_of,
            (select max(effective_date) from stg_ledger as l
             where l.account_id = spine.account_id and l.entry_type = 'payment') as last_payment_at,
        from feature_spine as spine
    """
    changes = build.point_in_time_changes(portfolio, AS_OF, sql=leaky_last_payment)
    assert changes["shift"] == ["last_payment_at"] and changes["drop"] == ["last_payment_at"]
    # forgetting arrival time (posted_at) lets the late payment e10 in: the drop check sees it
    no_arrival = build.sql_text("fct_account_features").replace(
        "and ledger.posted_at < spine.visible_before", "")
    assert "payments_total" in build.point_in_time_changes(portfolio, AS_OF, sql=no_arrival)["drop"]


def test_rebuilding_an_as_of_replaces_its_rows(portfolio):
    for as_of in (AS_OF, AS_OF, date(2024, 4, 2), AS_OF):
        build.fct_account_features(portfolio, as_of)
    counts = dict(portfolio.execute(
        "select as_of, count(*) from fct_account_features group by as_of").fetchall())
    assert counts == {AS_OF: 2, date(2024, 4, 2): 2}


def test_promise_kept_training_set(portfolio):
    table = build.training_set(portfolio, "promise_kept", TRAIN_AS_OF)
    df = portfolio.execute(f"select * from {table} order by promise_id").df()
    assert dict(zip(df.promise_id, df.label)) == {"p1": 1, "p2": 0, "p3": 0, "p4": 1}
    assert list(df.columns) == ["as_of", "account_id", "promise_id", *build.feature_columns("promise_kept"), "label"]
    p1 = df.set_index("promise_id").loc["p1"]
    assert str(p1["as_of"])[:10] == "2024-01-09"  # the day before the promise
    assert p1["promise_amount_to_balance"] == pytest.approx(0.1)
    assert p1["promise_horizon_days"] == 8
    # features are as of the day before: p3's own day and later payments are unseen
    p3 = df.set_index("promise_id").loc["p3"]
    assert p3["promises_made"] == 3 and p3["has_open_promise"] == 0
    # p3's grace ends 04-04; a payment made on its last day may post up to 5 days later, so on
    # 04-09 its label has not matured and it is left out (it is in on 04-10, above)
    assert build.PAYMENT_POSTING_LAG_DAYS == 5
    build.training_set(portfolio, "promise_kept", date(2024, 4, 9))
    ids = {r[0] for r in portfolio.execute("select promise_id from train_promise_kept").fetchall()}
    assert ids == {"p1", "p2", "p4"}


def test_kept_definition_is_read_from_the_contract(portfolio, monkeypatch):
    """Labels and promise-history features take grace and kept share from recobro.contract alone."""
    from recobro import contract

    def labels():
        build.training_set(portfolio, "promise_kept", TRAIN_AS_OF)
        return dict(portfolio.execute("select promise_id, label from train_promise_kept order by 1").fetchall())

    def kept_broken():
        a1 = features_at(portfolio, AS_OF)["a1"]
        return a1["promises_kept"], a1["promises_broken"]

    assert labels() == {"p1": 1, "p2": 0, "p3": 0, "p4": 1}
    assert kept_broken() == (2, 1)  # p1 and p4 kept, p2 broken (its payment was reversed)
    # one day of grace: p1's payment on 01-20 comes after its due date 01-18 + 1
    monkeypatch.setattr(contract, "PROMISE_GRACE_DAYS", 1)
    build.stg_views(portfolio)
    assert labels() == {"p1": 0, "p2": 0, "p3": 0, "p4": 1}
    assert kept_broken() == (1, 2)
    # paying exactly the promised amount no longer keeps a promise when more than all of it is asked
    monkeypatch.setattr(contract, "PROMISE_GRACE_DAYS", 3)
    monkeypatch.setattr(contract, "PROMISE_KEPT_SHARE", 1.01)
    build.stg_views(portfolio)
    assert labels() == {"p1": 0, "p2": 0, "p3": 0, "p4": 0}
    assert kept_broken() == (0, 3)


def test_pay_30d_training_set_has_only_matured_labels(portfolio):
    table = build.training_set(portfolio, "pay_30d", TRAIN_AS_OF)
    df = portfolio.execute(f"select * from {table}").df()
    snapshots = sorted({d.date() if hasattr(d, "date") else d for d in df.as_of})
    # the newest window (03-06, 04-05] closed 5 days (the posting lag) before 04-10: a payment
    # effective on its last day has had time to post
    assert snapshots[-1] == date(2024, 3, 6)
    assert all((TRAIN_AS_OF - s).days >= 30 + build.PAYMENT_POSTING_LAG_DAYS for s in snapshots)
    labels = {(r["account_id"], str(r["as_of"])[:10]): r["label"] for r in df.to_dict("records")}
    assert labels[("a1", "2024-03-06")] == 1  # 03-10 payment (and the late-posted 03-30 one)
    assert labels[("a1", "2024-01-17")] == 1  # 01-20 payment
    assert labels[("a1", "2024-01-24")] == 0  # only the reversed 02-20 payment in the window
    assert ("a2", "2024-02-07") in labels and ("a2", "2024-01-31") not in labels  # placed 02-01
    assert list(df.columns) == ["as_of", "account_id", *build.feature_columns("pay_30d"), "label"]


def test_no_personal_or_protected_columns(portfolio):
    build.fct_account_features(portfolio, AS_OF)
    forbidden = set(PERSONAL_COLUMNS) | {"birth_year", "age", "country", "timezone", "language"}
    for table in ("fct_account_features", build.training_set(portfolio, "pay_30d", TRAIN_AS_OF),
                  build.training_set(portfolio, "promise_kept", TRAIN_AS_OF), "stg_ledger", "stg_contacts"):
        cols = {r[0] for r in portfolio.execute(f"select column_name from (describe {table})").fetchall()}
        assert not cols & forbidden, table
    assert {"phone", "email"} <= {r[0] for r in portfolio.execute("describe stg_customers").fetchall()}
    model_features = set(build.feature_columns("promise_kept"))
    assert not {c for c in model_features if "vulnerab" in c or "jurisdiction" in c or "country" in c}


def test_feature_columns_exist_and_have_reason_phrases(portfolio):
    build.fct_account_features(portfolio, AS_OF)
    types = dict(portfolio.execute("select column_name, column_type from (describe fct_account_features)").fetchall())
    catalog = build.feature_catalog()
    for name in build.feature_columns("promise_kept"):
        assert name in types and types[name] in {"DOUBLE", "INTEGER", "BIGINT"}, name
        assert set(catalog[name]) == {"en_high", "en_low", "es_high", "es_low"}, name
    assert types["balance"] == "DECIMAL(18,2)" and types["dpd"] == "INTEGER"
    with pytest.raises(ValueError, match="unknown target"):
        build.training_set(portfolio, "cure_60d", TRAIN_AS_OF)


def test_changed_feature_sql_rebuilds_the_table_instead_of_failing(tmp_path, caplog):
    """A warehouse built by an earlier release (other feature columns) gets the new shape, with a warning."""
    import duckdb

    from features.build import fct_account_features
    from recobro.contract import create_raw_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_tables(con)
    con.execute("create table fct_account_features (as_of date, account_id varchar, retired_feature double)")
    con.execute("insert into fct_account_features values ('2026-01-01', 'old', 1.0)")
    with caplog.at_level("WARNING", logger="features.build"):
        fct_account_features(con, date(2026, 3, 1))
    columns = [r[0] for r in con.execute("describe fct_account_features").fetchall()]
    assert "retired_feature" not in columns and "dpd" in columns
    assert con.execute("select count(*) from fct_account_features where account_id = 'old'").fetchall()[0][0] == 0
    assert "feature SQL changed" in caplog.text and "1 earlier as_of dates" in caplog.text


def test_feature_and_training_sql_join_on_keys(portfolio, plan_recorder):
    """No statement of the feature layer joins without an equality key (tests/conftest.PlanRecorder):
    such a join grows with rows x rows. The pay_30d spine is meant: accounts x a few snapshot dates."""
    from models.channel_data import channel_training_set

    rec = plan_recorder(portfolio, allowed={"create or replace temp table work_training_spine as"})
    build.fct_account_features(rec, AS_OF)
    for target in build.TARGETS:
        build.training_set(rec, target, TRAIN_AS_OF)
    channel_training_set(rec, TRAIN_AS_OF)
    assert any("work_channel_response" in head for head in rec.explained)
    assert len(rec.explained) > 20
    assert rec.slow == {}


def test_training_sample_keeps_whole_accounts_of_a_nested_hash_sample():
    """The row cap: about max_rows rows stay, each account all or nothing, a smaller share a subset."""
    import duckdb

    con = duckdb.connect()

    def sample(max_rows):
        con.execute("create or replace temp table work as "
                    "select 'acc-' || (i // 3) as account_id, i % 3 as k from range(30000) t(i)")
        record = build.sample_training_accounts(con, "work", max_rows)
        build.record_training_sample(con, "train_x", AS_OF, record)
        return {"table_name": "train_x", "as_of": AS_OF, **record}, \
            {r[0] for r in con.execute("select account_id from work").fetchall()}

    assert sample(0)[0]["account_share"] == 1.0 and sample(0)[0]["rows_kept"] == 30_000
    assert sample(30_000)[0]["rows_kept"] == 30_000

    half, half_accounts = sample(15_000)
    assert half["account_share"] == 0.5 and 13_500 < half["rows_kept"] < 16_500
    assert half["rows_before"] == 30_000 and half["accounts_before"] == 10_000 and half["max_rows"] == 15_000
    assert half["rows_kept"] == 3 * half["accounts_kept"] == 3 * len(half_accounts)  # whole accounts only
    assert con.execute("select count(*) from work group by account_id having count(*) <> 3").fetchall() == []

    quarter, quarter_accounts = sample(7_500)
    assert quarter_accounts < half_accounts and 0.4 < quarter["rows_kept"] / half["rows_kept"] < 0.6
    # one record per training table, the latest build's
    assert build.training_sample(con, "train_x") == quarter
    assert build.training_sample(con, "train_y") is None
    with pytest.raises(ValueError, match="max_rows"):
        build.sample_training_accounts(con, "work", -1)
