"""dispatch: read-only warehouse, send-time re-checks, idempotent SQLite outbox, wait/none never sent."""

from __future__ import annotations

import datetime as dt
import sqlite3

import duckdb
import pytest

from decisioning import decide
from dispatcher import ChannelAdapter, DryRunAdapter, dispatch, open_warehouse
from recobro.warehouse import connect
from test_decide import AS_OF, build_world


@pytest.fixture
def published(settings):
    """A warehouse with decided and 'published' next_best_actions; the writer is closed afterwards."""
    con = connect(settings)
    build_world(con, [{"id": "a1"}, {"id": "a2"}, {"id": "a3", "jurisdiction": "CO"},
                      {"id": "paid", "balance": 0}, {"id": "pr", "promise_due": AS_OF + dt.timedelta(days=2)}])
    decide(con, settings, AS_OF)
    con.execute("create table next_best_actions as select * from work_next_best_actions")
    actionable = con.execute("select count(*) from next_best_actions where action not in ('wait', 'none')"
                             ).fetchall()[0][0]
    con.close()
    return actionable


def outbox_rows(settings):
    with sqlite3.connect(settings.outbox_path) as db:
        return db.execute("select action_key, account_id, channel, state, reason, planned_at from outbox "
                          "order by account_id").fetchall()


def test_dry_run_is_idempotent_and_skips_wait_none(settings, published):
    first = dispatch(settings, AS_OF)
    assert first.new == published == 3 and first.existing == 0
    assert first.not_actionable == 2 and first.states["dry_run"] == 3
    rows = outbox_rows(settings)
    assert {r[1] for r in rows} == {"a1", "a2", "a3"}  # paid (none) and promise (wait) never reach the outbox
    assert all(r[3] == "dry_run" for r in rows)
    assert not any("@" in str(v) or "+1000" in str(v) for r in rows for v in r)  # no contact points stored
    second = dispatch(settings, AS_OF)
    assert second.new == 0 and second.existing == 3
    assert len(outbox_rows(settings)) == 3
    assert "0 new, 3 already there" in str(second)


def test_hold_after_decide_is_suppressed_at_send_time(settings, published):
    con = connect(settings)
    con.execute("insert into raw_holds values ('late', 'ca2', null, 'dispute', '2026-03-21 22:00+00', null, "
                "'l', now(), 'f', 1)")
    con.close()
    summary = dispatch(settings, AS_OF)
    rows = {r[1]: r for r in outbox_rows(settings)}
    assert rows["a2"][3] == "suppressed" and rows["a2"][4].startswith("HOLD-DISPUTE")
    assert rows["a1"][3] == "dry_run"
    assert summary.suppressed_by_rule["HOLD-DISPUTE"] == 1


def test_opt_out_after_decide_and_now_outside_window(settings, published):
    con = connect(settings)
    channel = con.execute("select channel from next_best_actions where account_id = 'a1'").fetchall()[0][0]
    con.execute("insert into raw_consents values ('late', 'ca1', ?, 'cp', 'opt_out', '2026-03-21 23:00+00', "
                "'app', 'l', now(), 'f', 1)", [channel])
    con.close()
    # 03:00 in New York on the planned day: outside every window
    summary = dispatch(settings, AS_OF, now=dt.datetime(2026, 3, 22, 7, tzinfo=dt.timezone.utc))
    rows = {r[1]: r for r in outbox_rows(settings)}
    assert rows["a1"][4].startswith("CONSENT-OPT-OUT")
    assert rows["a2"][4].startswith("WINDOW")
    assert summary.states["suppressed"] == 3


def test_consent_tie_resolved_like_decide(settings, published):
    """Two consents at the same instant: the higher consent_id wins at send time, as in decide."""
    con = connect(settings)
    channel = {r[0]: r[1] for r in con.execute("select account_id, channel from next_best_actions").fetchall()}
    at = "2026-03-21 23:00+00"
    con.execute(f"insert into raw_consents values ('tie-1', 'ca1', ?, 'cp', 'granted', '{at}', 'app', 'l', now(), 'f', 1), "
                f"('tie-2', 'ca1', ?, 'cp', 'opt_out', '{at}', 'app', 'l', now(), 'f', 1), "
                f"('tie-1b', 'ca2', ?, 'cp', 'opt_out', '{at}', 'app', 'l', now(), 'f', 1), "
                f"('tie-2b', 'ca2', ?, 'cp', 'granted', '{at}', 'app', 'l', now(), 'f', 1)",
                [channel["a1"], channel["a1"], channel["a2"], channel["a2"]])
    con.close()
    dispatch(settings, AS_OF)
    rows = {r[1]: r for r in outbox_rows(settings)}
    assert rows["a1"][3] == "suppressed" and rows["a1"][4].startswith("CONSENT-OPT-OUT")
    assert rows["a2"][3] == "dry_run"


def test_frequency_caps_from_own_counters(settings, published):
    con = connect(settings)  # publish a second, different action for the same customer on the same day
    con.execute("insert into next_best_actions select * replace ('extra-key' as action_key) "
                "from next_best_actions where account_id = 'a3'")
    con.close()
    summary = dispatch(settings, AS_OF)
    states = [r[3] for r in outbox_rows(settings) if r[1] == "a3"]
    assert sorted(states) == ["dry_run", "suppressed"]  # CO: at most one contact a day
    assert any(k.startswith("CAP-") for k in summary.suppressed_by_rule)


def test_warehouse_opened_read_only(settings, published):
    con = open_warehouse(settings)
    try:
        with pytest.raises(duckdb.Error, match="(?i)read.only"):
            con.execute("create table should_fail (x integer)")
    finally:
        con.close()


def test_dry_run_adapter_satisfies_protocol():
    adapter = DryRunAdapter()
    assert isinstance(adapter, ChannelAdapter) and not adapter.needs_contact_point
