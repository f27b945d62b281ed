"""Publishing: all output tables for an as_of change together, reruns replace, exports exist."""

from datetime import date

import duckdb
import pytest

from recobro.publish import PUBLISHED_TABLES, PublishError, publish

AS_OF = date(2026, 10, 31)


def _work_tables(con, as_of, n=3, action="remind"):
    con.execute("create or replace table work_scores as select ?::date as as_of, 'A' || i as account_id, "
                "'C' || i as customer_id, 0.5 as p_pay_30d from range(?) t(i)", [as_of, n])
    con.execute("create or replace table work_segments as select as_of, account_id, customer_id, "
                "'early' as segment from work_scores")
    con.execute("create or replace table work_next_best_actions as select as_of, 'k' || account_id as action_key, "
                "account_id, customer_id, ? as action from work_scores", [action])
    con.execute("create or replace table work_suppressions as select as_of, account_id, customer_id, "
                "'hold_dispute' as rule_id from work_scores limit 1")


def test_publish_moves_work_tables_and_exports_parquet(con, settings):
    _work_tables(con, AS_OF)
    summary = publish(con, settings, AS_OF)
    assert summary.rows == {"scores": 3, "segments": 3, "next_best_actions": 3, "suppressions": 1}
    for name in PUBLISHED_TABLES:
        path = settings.exports_dir / AS_OF.isoformat() / f"{name}.parquet"
        assert path.is_file()
        assert duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0] == summary.rows[name]


def test_rerun_replaces_instead_of_duplicating_and_keeps_other_days(con, settings):
    _work_tables(con, date(2026, 10, 30), n=2)
    publish(con, settings, date(2026, 10, 30))
    _work_tables(con, AS_OF, n=3)
    publish(con, settings, AS_OF)
    _work_tables(con, AS_OF, n=3, action="wait")
    publish(con, settings, AS_OF)
    rows = con.execute("select as_of, action, count(*) from next_best_actions group by all order by all").fetchall()
    assert rows == [(date(2026, 10, 30), "remind", 2), (AS_OF, "wait", 3)]


def test_failure_mid_publish_leaves_previous_tables_intact(con, settings):
    _work_tables(con, AS_OF, n=3)
    publish(con, settings, AS_OF)
    _work_tables(con, AS_OF, n=5, action="wait")
    # a work table with a new column (added to the published table) and a value the published type
    # cannot hold: the last insert fails, after the other tables were already replaced in the transaction
    con.execute("create or replace table work_suppressions as select as_of, account_id, customer_id, "
                "'x' as rule_id, 'extra' as not_a_column from work_scores")
    con.execute("create or replace table work_next_best_actions as select as_of, 'k' || account_id as action_key, "
                "account_id, customer_id, 'wait' as action from work_scores")
    con.execute("alter table suppressions add column strict_number integer")
    con.execute("alter table work_suppressions add column strict_number varchar")
    con.execute("update work_suppressions set strict_number = 'not a number'")
    with pytest.raises(duckdb.Error):
        publish(con, settings, AS_OF)
    assert con.execute("select count(*), min(action) from next_best_actions").fetchall() == [(3, "remind")]
    assert con.execute("select count(*) from scores").fetchall() == [(3,)]
    assert "not_a_column" not in {r[0] for r in con.execute("describe suppressions").fetchall()}  # rolled back


def test_new_work_columns_are_added_to_published_tables(con, settings):
    _work_tables(con, date(2026, 10, 30), n=2)
    publish(con, settings, date(2026, 10, 30))
    _work_tables(con, AS_OF, n=3)
    con.execute("alter table work_scores add column best_channel varchar default 'sms'")
    publish(con, settings, AS_OF)
    rows = con.execute("select as_of, best_channel, count(*) from scores group by all order by all").fetchall()
    assert rows == [(date(2026, 10, 30), None, 2), (AS_OF, "sms", 3)]


def test_missing_or_mismatched_work_tables_are_refused(con, settings):
    with pytest.raises(PublishError, match="work_scores is missing"):
        publish(con, settings, AS_OF)
    _work_tables(con, date(2026, 10, 30))
    with pytest.raises(PublishError, match="another as_of"):
        publish(con, settings, AS_OF)
