"""decide: holds, consent, fail-closed, windows, strictest pack, determinism — on tiny fixtures built here."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from decisioning import RulePackError, decide, load_rule_pack
from recobro.contract import CHANNELS, create_raw_tables

AS_OF = dt.date(2026, 3, 21)  # a Saturday: CO skips Sunday 22 and San José (Mon 23) -> Tue 24
TZ = {"US": "America/New_York", "CO": "America/Bogota", "MX": "America/Mexico_City",
      "UK": "Europe/London", "ES": "Europe/Madrid"}
CUR = {"US": "USD", "CO": "COP", "MX": "MXN", "UK": "GBP", "ES": "EUR"}
NBA_COLUMNS = [  # docs/TABLES.md, exact order
    "as_of", "action_key", "account_id", "customer_id", "action", "channel", "template_id", "tone", "timezone",
    "send_window_start_local", "send_window_end_local", "send_window_start_utc", "send_window_end_utc",
    "offer_terms", "priority", "expected_value", "propensity", "policy_version", "model_versions", "segment",
    "experiment_arm", "reason_codes", "why_not", "next_allowed_contact_at"]


def build_world(con, accounts, holds=(), consents=None, contacts=(), dq=()):
    """One customer per account (customer id = 'c' + account id). `accounts` rows are dicts with overrides."""
    create_raw_tables(con)
    for name in ("customers", "accounts", "holds", "consents", "contacts", "promises", "ledger"):
        con.execute(f"create or replace view stg_{name} as select * from raw_{name}")
    con.execute("""create or replace table fct_account_features (as_of date, account_id varchar, customer_id varchar,
        jurisdiction varchar, currency varchar, product varchar, balance decimal(18,2), dpd integer,
        past_due_amount decimal(18,2), last_payment_at timestamptz, open_promise_due_date date,
        days_since_last_contact integer)""")
    con.execute("""create or replace table work_scores (as_of date, account_id varchar, customer_id varchar,
        p_promise_kept double, p_pay_30d double, risk_tier varchar, promise_kept_model varchar, pay_model varchar,
        reason_1 varchar, reason_2 varchar, reason_3 varchar, reasons_text varchar)""")
    for a in accounts:
        acc, cust = a["id"], "c" + a["id"]
        j = a.get("jurisdiction", "US")
        country = a.get("country", j)
        con.execute("insert into raw_customers (customer_id, country, region, timezone, language, created_at, phone, "
                    "email, whatsapp_opt_in) values (?, ?, 'r', ?, ?, '2020-01-01', ?, ?, ?)",
                    [cust, country, a.get("timezone", TZ[country]), a.get("language", "en"),
                     a.get("phone", "+10000000000"), a.get("email", "x@example.com"), a.get("whatsapp", True)])
        con.execute("insert into raw_accounts (account_id, customer_id, product, currency, opened_at, placed_at, "
                    "principal, jurisdiction) values (?, ?, 'credit_card', ?, '2024-01-01', '2025-01-01', 1000, ?)",
                    [acc, cust, CUR[j], j])
        con.execute("insert into fct_account_features values (?, ?, ?, ?, ?, 'credit_card', ?, ?, ?, null, ?, 10)",
                    [AS_OF, acc, cust, j, CUR[j], a.get("balance", 500), a.get("dpd", 12),
                     a.get("past_due", 200), a.get("promise_due")])
        con.execute("insert into work_scores values (?, ?, ?, 0.5, ?, null, 'pk/1', 'pay/1', 'dpd', 'balance', "
                    "null, 'x')", [AS_OF, acc, cust, a.get("p_pay", 0.7)])
        if consents is None:
            for ch in CHANNELS:
                con.execute("insert into raw_consents values (?, ?, ?, 'cp', 'granted', '2025-01-01', 'app', "
                            "'l', now(), 'f', 1)", [f"k{acc}{ch}", cust, ch])
    for i, (cust, ch, status, when) in enumerate(consents or []):
        con.execute("insert into raw_consents values (?, ?, ?, 'cp', ?, ?, 'app', 'l', now(), 'f', 1)",
                    [f"kk{i}", cust, ch, status, when])
    for i, (cust, acc, kind) in enumerate(holds):
        con.execute("insert into raw_holds values (?, ?, ?, ?, '2026-01-01', null, 'l', now(), 'f', 1)",
                    [f"h{i}", cust, acc, kind])
    for i, (cust, acc, ch, when, outcome) in enumerate(contacts):
        con.execute("insert into raw_contacts values (?, ?, ?, ?, 'outbound', ?, null, ?, 0.01, null, null, "
                    "'l', now(), 'f', 1)", [f"ct{i}", acc, cust, ch, when, outcome])
    if dq:
        con.execute("create or replace table data_quality_holds (account_id varchar, load_id varchar, "
                    "rule_id varchar, created_at timestamptz)")
        for acc in dq:
            con.execute("insert into data_quality_holds values (?, 'l', 'money', now())", [acc])


def nba(con):
    cur = con.execute("select * from work_next_best_actions order by account_id")
    names = [d[0] for d in cur.description]
    return {row[2]: SimpleNamespace(**dict(zip(names, row))) for row in cur.fetchall()}


def test_hard_holds_give_none_with_suppression_rows(con, settings):
    build_world(con, [{"id": k} for k in ("d", "b", "x", "c", "ok")],
                holds=[("cd", None, "dispute"), ("cb", None, "bankruptcy"), ("cx", None, "deceased"),
                       ("cc", None, "cease")])
    summary = decide(con, settings, AS_OF)
    out = nba(con)
    for acc, rule in (("d", "HOLD-DISPUTE"), ("b", "HOLD-BANKRUPTCY"), ("x", "HOLD-DECEASED"), ("c", "HOLD-CEASE")):
        assert out[acc].action == "none" and out[acc].channel is None
        rules = {r[0] for r in con.execute("select rule_id from work_suppressions where account_id = ?",
                                           [acc]).fetchall()}
        assert rule in rules
        packs = con.execute("select distinct rule_pack, rule_pack_version from work_suppressions "
                            "where account_id = ?", [acc]).fetchall()
        assert packs == [("US", "2026.1")]
    assert out["ok"].action not in ("none", "wait")
    assert summary.accounts == 5 and summary.suppressions["HOLD-DISPUTE"] == 1
    assert "decide 2026-03-21" in str(summary)
    cols = [r[0] for r in con.execute("describe work_suppressions").fetchall()]
    assert cols == ["as_of", "account_id", "customer_id", "action", "channel", "rule_id", "rule_pack",
                    "rule_pack_version", "reason"]


def test_consent_opt_out_whatsapp_and_paid_and_promise(con, settings):
    build_world(con, [{"id": "o"}, {"id": "w", "whatsapp": False}, {"id": "p", "balance": 0},
                      {"id": "pr", "promise_due": AS_OF + dt.timedelta(days=3)}])
    for ch in ("sms", "voice", "agent_call", "email"):
        con.execute("insert into raw_consents values (?, 'co', ?, 'cp', 'opt_out', '2026-02-01', 'app', 'l', "
                    "now(), 'f', 1)", [f"out{ch}", ch])
    decide(con, settings, AS_OF)
    out = nba(con)
    assert out["o"].channel == "whatsapp"  # every other channel opted out
    assert out["w"].channel != "whatsapp"
    assert out["p"].action == "none" and "HOLD-PAID" in out["p"].reason_codes
    assert out["pr"].action == "wait" and out["pr"].next_allowed_contact_at is not None
    why = json.loads(out["w"].why_not)
    assert {"action": "payment_link", "channel": "whatsapp", "rule_id": "CONSENT-WHATSAPP-OPT-IN"}.items() <= \
        next(w for w in why if w["channel"] == "whatsapp" and w["action"] == "payment_link").items()
    assert con.execute("select count(*) from work_suppressions where account_id = 'o' "
                       "and rule_id = 'CONSENT-OPT-OUT'").fetchall()[0][0] > 0


def test_data_quality_and_vulnerability_limit_intensity(con, settings):
    build_world(con, [{"id": "q", "dpd": 45}, {"id": "v", "dpd": 45}],
                holds=[("cv", None, "vulnerability")], dq=["q"])
    decide(con, settings, AS_OF)
    out = nba(con)
    assert out["q"].action not in ("payment_link", "offer_plan", "escalate")
    assert out["q"].offer_terms is None
    if out["q"].action == "remind":
        assert out["q"].template_id.endswith(".no_amount")
    assert out["v"].action == "agent_call" and out["v"].tone == "supportive"
    seg = con.execute("select vulnerability_flag, segment from work_segments where account_id = 'v'").fetchall()
    assert seg == [(True, "vulnerable")]


def test_co_and_us_windows_inside_allowed_hours(con, settings):
    build_world(con, [{"id": "co", "jurisdiction": "CO"}, {"id": "us"}])
    decide(con, settings, AS_OF)
    out = nba(con)
    co, us = out["co"], out["us"]
    start, end = co.send_window_start_local, co.send_window_end_local
    assert start.date() == dt.date(2026, 3, 24)  # not Sunday 22, not the San José holiday on 23
    assert start.weekday() != 6 and (start.hour, end.hour) == (7, 19)
    assert co.send_window_start_utc == dt.datetime(2026, 3, 24, 12, tzinfo=dt.timezone.utc)
    us_start, us_end = us.send_window_start_local, us.send_window_end_local
    assert us_start.date() == dt.date(2026, 3, 22) and us_start.hour >= 8 and us_end.hour <= 21


def test_co_saturday_window(con, settings):
    friday = dt.date(2026, 3, 6)
    build_world(con, [{"id": "co", "jurisdiction": "CO"}])
    con.execute("update fct_account_features set as_of = ?", [friday])
    con.execute("update work_scores set as_of = ?", [friday])
    decide(con, settings, friday)
    co = nba(con)["co"]
    assert co.send_window_start_local == dt.datetime(2026, 3, 7, 8)
    assert co.send_window_end_local == dt.datetime(2026, 3, 7, 15)


def test_fail_closed_and_strictest_pack(con, settings):
    build_world(con, [{"id": "tz", "timezone": None}, {"id": "bad", "timezone": "Mars/Olympus"},
                      {"id": "mix", "country": "CO", "jurisdiction": "US"}])
    con.execute("update raw_customers set country = 'US' where customer_id = 'cmix'")
    con.execute("update raw_customers set country = 'CO', timezone = 'America/Bogota' where customer_id = 'cmix'")
    # customer already contacted by sms this week: CO forbids another channel in the same week
    con.execute("insert into raw_contacts values ('k1', 'mix', 'cmix', 'sms', 'outbound', '2026-03-20 15:00+00', "
                "null, 'delivered', 0.01, null, null, 'l', now(), 'f', 1)")
    decide(con, settings, AS_OF)
    out = nba(con)
    for acc in ("tz", "bad"):
        assert out[acc].action == "none" and "FAILCLOSED-NO-TIMEZONE" in out[acc].reason_codes
    mix = out["mix"]
    assert mix.send_window_start_local.date() == dt.date(2026, 3, 24)  # CO calendar wins
    start = mix.send_window_start_local
    assert (start.hour, mix.send_window_end_local.hour) == (8, 19)  # US 08:00 ∩ CO 07-19
    assert mix.channel in (None, "sms")
    rules = dict(con.execute("select rule_id, rule_pack from work_suppressions where account_id = 'mix'").fetchall())
    assert rules.get("SINGLE-CHANNEL-7D") == "CO"


def test_action_key_deterministic_and_rerun_identical(con, settings):
    build_world(con, [{"id": f"a{i}", "dpd": 5 + 20 * i, "p_pay": 0.1 * i} for i in range(6)])
    decide(con, settings, AS_OF)
    first = con.execute("select * from work_next_best_actions order by account_id").fetchall()
    decide(con, settings, AS_OF)
    assert con.execute("select * from work_next_best_actions order by account_id").fetchall() == first
    for r in con.execute("select as_of, account_id, action, channel, policy_version, action_key "
                         "from work_next_best_actions").fetchall():
        raw = f"{r[0]}|{r[1]}|{r[2]}|{r[3] or ''}|{r[4]}"
        assert r[5] == hashlib.sha256(raw.encode()).hexdigest()[:24]
    cols = [r[0] for r in con.execute("describe work_next_best_actions").fetchall()]
    assert cols == NBA_COLUMNS
    phones = con.execute("select count(*) from work_next_best_actions where reason_codes like '%+1000%' "
                         "or why_not like '%example.com%'").fetchall()[0][0]
    assert phones == 0


def test_rule_pack_loader_names_file_and_key(tmp_path):
    src = Path(__file__).resolve().parent.parent / "decisioning" / "rules" / "co.yaml"
    bad = tmp_path / "co.yaml"
    bad.write_text(src.read_text(encoding="utf-8").replace('sat: ["08:00", "15:00"]', 'sat: ["8 am", "15:00"]'))
    with pytest.raises(RulePackError, match=r"co\.yaml.*hours\.sat"):
        load_rule_pack(bad)
    bad.write_text(src.read_text(encoding="utf-8").replace("  - dispute\n", ""))
    with pytest.raises(RulePackError, match=r"co\.yaml.*hard_holds"):
        load_rule_pack(bad)
    assert load_rule_pack(src).pack == "CO"


def _policy_distribution(con, account_id):
    """Every outcome the policy could reach for one account (given the others' picks) with its probability,
    enumerated in Python from the candidate and queue tables decide leaves behind (temp tables).
    Fallback candidates are those with a fallback probability (never agents, never escalation)."""
    rows = con.execute("select action, channel, is_agent, p_first, p_fallback, fallback_ok from int_action_candidates "
                       "where account_id = ?", [account_id]).fetchall()
    slot = dict(((a, c), h) for a, c, h in con.execute(
        "select action, channel, has_slot from int_agent_queue where account_id = ?", [account_id]).fetchall())
    dist = {}
    for action, channel, is_agent, p_first, _, fallback_ok in rows:
        if is_agent and not slot[(action, channel)]:
            outcomes = [((a, c), p_first * pfb) for a, c, _, _, pfb, _ in rows if pfb is not None] if fallback_ok \
                else [(("wait", None), p_first)]
        else:
            outcomes = [((action, channel), p_first)]
        for key, p in outcomes:
            dist[key] = dist.get(key, 0.0) + p
    return dist


def test_agent_capacity_vulnerable_first_then_ev_with_coherent_fallback(con, settings):
    late = {"dpd": 75, "p_pay": 0.7}  # late_stage: offer_plan via agent_call has the best EV
    accounts = [{"id": "v", "dpd": 75, "p_pay": 0.5, "balance": 200, "past_due": 200},
                {"id": "big1", **late, "balance": 5000}, {"id": "big2", **late, "balance": 3000},
                {"id": "big3", **late, "balance": 1000}, {"id": "k1", **late, "balance": 800}]
    build_world(con, accounts, holds=[("cv", None, "vulnerability")])
    decide(con, settings, AS_OF)  # default capacity (400): every first agent pick is served
    free = nba(con)
    wanted = {a for a, r in free.items() if r.channel == "agent_call"}
    assert {"v", "k1"} <= wanted and len(wanted) >= 4

    summary = decide(con, settings, AS_OF, agent_capacity=2)
    out = nba(con)
    assert out["k1"].experiment_arm == "control"  # the control arm (BAU) queues like everyone else
    assert sum(r.channel == "agent_call" for r in out.values()) == 2
    assert (summary.agent_capacity, summary.agent_demand, summary.agent_overflow) == (2, len(wanted), len(wanted) - 2)
    queue = con.execute("select account_id from int_agent_queue where first_pick order by queue_position").fetchall()
    evs = {a: free[a].expected_value for a in wanted}
    assert [q[0] for q in queue] == ["v"] + sorted(wanted - {"v"}, key=lambda a: (-evs[a], a))
    served = {q[0] for q in queue[:2]}
    assert out["v"].action == "agent_call" and out["v"].tone == "supportive"
    for acc in wanted - served:
        r = out[acc]
        assert r.channel != "agent_call" and "rule=CAPACITY-AGENT-QUEUE" in r.reason_codes
        assert r.action != "wait" or r.next_allowed_contact_at is not None
        assert any(w["rule_id"] == "CAPACITY-AGENT-QUEUE" and w["channel"] == "agent_call"
                   for w in json.loads(r.why_not))
        if acc == "k1":  # BAU: deterministic path fallback (late_stage day 1: offer_plan by email)
            assert (r.action, r.channel, r.propensity) == ("offer_plan", "email", 1.0)
    assert con.execute("select count(*) from work_suppressions where rule_id like 'CAPACITY%'").fetchone()[0] == 0
    for acc, r in out.items():  # logged propensity = probability the policy reaches the logged action
        dist = _policy_distribution(con, acc)
        assert sum(dist.values()) == pytest.approx(1.0)
        assert r.propensity == pytest.approx(dist[(r.action if r.channel else "wait", r.channel)])

    decide(con, settings, AS_OF, agent_capacity=0)  # no agents today: the vulnerable account waits
    v = nba(con)["v"]
    assert (v.action, v.channel) == ("wait", None) and "rule=CAPACITY-AGENT-QUEUE" in v.reason_codes
    assert v.propensity == pytest.approx(_policy_distribution(con, "v")[("wait", None)])


def test_risk_tier_comes_from_scores(con, settings):
    build_world(con, [{"id": "s55", "p_pay": 0.55}, {"id": "n25", "p_pay": 0.25}, {"id": "n15", "p_pay": 0.15},
                      {"id": "s25", "p_pay": 0.25}])
    con.execute("update work_scores set risk_tier = 'low' where account_id = 's55'")
    con.execute("update work_scores set risk_tier = 'high' where account_id = 's25'")  # scoring stage wins
    decide(con, settings, AS_OF)
    seg = dict((a, (t, s)) for a, t, s in con.execute(
        "select account_id, risk_tier, segment from work_segments").fetchall())
    assert seg["s55"] == ("low", "early_digital")
    assert seg["n25"] == ("medium", "early_digital")  # no tier on the score row: models.score thresholds
    assert seg["n15"] == ("high", "early_high_risk")
    assert seg["s25"] == ("high", "early_high_risk")
    assert "risk=low" in nba(con)["s55"].reason_codes


def test_promise_pending_through_grace(con, settings):
    days = {"g0": 0, "g2": -2, "g3": -3, "g4": -4}
    build_world(con, [{"id": k, "promise_due": AS_OF + dt.timedelta(days=d)} for k, d in days.items()])
    decide(con, settings, AS_OF)
    out = nba(con)
    for acc in ("g0", "g2", "g3"):  # open until due_date + 3 days of grace (docs/TABLES.md)
        due = AS_OF + dt.timedelta(days=days[acc])
        assert out[acc].action == "wait" and "HOLD-PROMISE-PENDING" in out[acc].reason_codes
        assert out[acc].next_allowed_contact_at == dt.datetime.combine(due + dt.timedelta(days=4), dt.time(),
                                                                       dt.timezone.utc)
        assert out[acc].segment == "promise_pending"
    assert out["g4"].segment != "promise_pending" and "HOLD-PROMISE-PENDING" not in out["g4"].reason_codes


def test_agent_shortage_never_turns_into_escalation(con, settings):
    """Escalation is an adverse step: a full agent queue must not make it any more likely."""
    recovery = {"dpd": 150, "p_pay": 0.6, "past_due": 1000}
    build_world(con, [{"id": f"r{i}", **recovery, "balance": 1000 + 400 * i} for i in range(4)])
    decide(con, settings, AS_OF)
    unlimited = {a: _policy_distribution(con, a) for a in nba(con)}
    assert any(d.get(("agent_call", "agent_call"), 0) + d.get(("offer_plan", "agent_call"), 0) > 0.5
               for d in unlimited.values())

    decide(con, settings, AS_OF, agent_capacity=0)
    out = nba(con)
    assert any("rule=CAPACITY-AGENT-QUEUE" in r.reason_codes for r in out.values())
    for account, r in out.items():
        shortage = _policy_distribution(con, account)
        assert shortage.get(("escalate", "letter"), 0) == pytest.approx(unlimited[account].get(("escalate", "letter"), 0))
        if r.action == "escalate":
            assert "CAPACITY-AGENT-QUEUE" not in r.reason_codes


# -- the channel response model's values (work_channel_values) --------------------------------------------------
def _arm_bucket(account_id: str) -> int:
    return int(hashlib.md5(f"arm|{account_id}".encode()).hexdigest()[:8], 16) % 100


def _explore_draw(account_id: str) -> float:
    raw = f"explore|{AS_OF}|{account_id}|nba-2026.1"
    return int(hashlib.md5(raw.encode()).hexdigest()[:8], 16) / 4294967296.0


def champion_ids(n: int, prefix: str) -> list[str]:
    """Account ids the hash puts in the champion arm with a greedy (non-exploring) pick."""
    ids = (f"{prefix}{i}" for i in range(1000))
    return [a for a in ids if _arm_bucket(a) < 80 and _explore_draw(a) >= 0.05][:n]


def add_channel_values(con, values: dict[str, dict[str, float]], model: str = "recobro_channel_response/3"):
    """work_channel_values rows: {account: {channel: net value USD}}; unlisted channels are worth -1 USD."""
    con.execute("create or replace table work_channel_values (as_of date, account_id varchar, customer_id varchar, "
                "channel varchar, uplift double, stake_usd double, cost_usd double, net_value_usd double, "
                "channel_model varchar)")
    for acc, by_channel in values.items():
        for ch in CHANNELS:
            con.execute("insert into work_channel_values values (?, ?, ?, ?, 0, 0, 0, ?, ?)",
                        [AS_OF, acc, "c" + acc, ch, by_channel.get(ch, -1.0), model])


def test_channel_model_values_choose_the_channel(con, settings):
    a, b = champion_ids(2, "m")
    build_world(con, [{"id": a}, {"id": b}])
    decide(con, settings, AS_OF)  # no channel values: catalog priors
    prior = nba(con)
    assert all("value=prior" in r.reason_codes and "channel=" not in r.model_versions for r in prior.values())
    add_channel_values(con, {a: {"voice": 5.0, "sms": 1.0}, b: {"email": 3.0, "voice": 1.0}})
    decide(con, settings, AS_OF)
    out = nba(con)
    assert (out[a].action, out[a].channel) == ("remind", "voice")  # the only early-stage action by voice
    assert out[b].channel == "email" and out[b].action == "payment_link"  # the prior orders actions on a channel
    assert {prior[a].channel, prior[b].channel} != {"voice", "email"}  # the model changed the choice
    for acc, value in ((a, 5.0), (b, 3.0)):
        assert out[acc].expected_value == pytest.approx(value)
        assert out[acc].experiment_arm == "champion" and "value=model" in out[acc].reason_codes
        assert "channel=recobro_channel_response/3" in out[acc].model_versions
        assert out[acc].propensity == pytest.approx(1 - 0.05)  # greedy pick keeps the ε-greedy propensity


def test_a_forbidden_channel_is_never_chosen_whatever_its_value(con, settings):
    no_wa, no_sms, held, negative, vulnerable = champion_ids(5, "f")
    accounts = (no_wa, no_sms, held, negative, vulnerable)
    build_world(con, [{"id": no_wa, "whatsapp": False}, {"id": no_sms}, {"id": held}, {"id": negative},
                      {"id": vulnerable}],
                holds=[("c" + held, None, "dispute"), ("c" + vulnerable, None, "vulnerability")],
                consents=[("c" + no_sms, "sms", "opt_out", "2026-02-01")]
                + [("c" + acc, ch, "granted", "2025-01-01") for acc in accounts
                   for ch in CHANNELS if (acc, ch) != (no_sms, "sms")])
    add_channel_values(con, {no_wa: {"whatsapp": 100.0, "sms": 2.0, "email": 1.0},
                             no_sms: {"sms": 100.0, "email": 1.0},
                             held: {ch: 100.0 for ch in CHANNELS},
                             negative: {"sms": -0.01, "email": -0.001},
                             vulnerable: {"sms": 100.0, "agent_call": -5.0}})
    decide(con, settings, AS_OF)
    out = nba(con)
    assert out[no_wa].channel == "sms"
    assert out[no_sms].channel == "email"
    assert (out[held].action, out[held].channel) == ("none", None)
    # no channel pays for itself: the model's argmax is "no contact"
    assert (out[negative].action, out[negative].channel) == ("wait", None)
    assert "rule=POLICY-NEGATIVE-EV" in out[negative].reason_codes
    # vulnerability: a trained human by rule, valued by the prior, whatever the model says of SMS or of the call
    assert (out[vulnerable].action, out[vulnerable].channel) == ("agent_call", "agent_call")
    assert "value=prior" in out[vulnerable].reason_codes and out[vulnerable].tone == "supportive"
    why = {(w["channel"], w["rule_id"]) for w in json.loads(out[no_sms].why_not)}
    assert ("sms", "CONSENT-OPT-OUT") in why


def test_decide_and_dispatch_block_the_same_hold_kinds_and_arms_come_from_the_catalog(con, settings, monkeypatch):
    from decisioning import catalog
    from decisioning.decide import _arm_edges
    from decisioning.rule_packs import BLOCKING_HOLDS, STOP_HOLDS
    from dispatcher.checks import HARD_HOLDS
    from recobro.contract import HOLD_KINDS

    assert set(BLOCKING_HOLDS) == set(HARD_HOLDS) == set(HOLD_KINDS) - {"vulnerability"}
    assert set(STOP_HOLDS) == set(BLOCKING_HOLDS) - {"hardship_plan"}
    assert _arm_edges(catalog.ARMS) == (80, 90)
    with pytest.raises(ValueError, match="catalog.ARMS"):
        _arm_edges((("champion", 80), ("challenger", 30), ("control", 10)))
    build_world(con, [{"id": f"z{i}"} for i in range(40)])
    monkeypatch.setattr(catalog, "ARMS", (("champion", 0), ("challenger", 0), ("control", 100)))
    decide(con, settings, AS_OF)
    assert {r.experiment_arm for r in nba(con).values()} == {"control"}


def test_decide_and_send_time_sql_join_on_keys(con, settings, plan_recorder):
    """Every decide statement and the dispatcher's send-time context join on keys (tests/conftest.PlanRecorder):
    "this account's holds or this person's" as one join condition compared every account with every hold."""
    from dispatcher.checks import send_time_context

    build_world(con, [{"id": "a1"}, {"id": "a2"}, {"id": "a3"}],
                holds=[("ca1", None, "cease"), ("ca2", "a2", "dispute")])
    rec = plan_recorder(con)
    decide(rec, settings, AS_OF)
    con.execute("create table next_best_actions as select * from work_next_best_actions")
    # after decide: a3's person goes bankrupt, and a3 gets a dispute; both bind a3 at send time
    con.execute("insert into raw_holds values ('h8', 'ca3', null, 'bankruptcy', '2026-01-01', null, 'l', now(), 'f', 1), "
                "('h9', null, 'a3', 'dispute', '2026-01-01', null, 'l', now(), 'f', 1)")
    context = send_time_context(rec, AS_OF, None)
    assert {row["account_id"] for row in context} == {"a3"}  # a1's person asked to cease, a2 disputes
    assert sorted(context[0]["hold_kinds"]) == ["bankruptcy", "dispute"]
    assert any("int_decision_accounts" in head for head in rec.explained)
    assert len(rec.explained) > 20
    assert rec.slow == {}
