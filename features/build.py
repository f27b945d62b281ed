"""Point-in-time features: staging views, `fct_account_features`, training sets, reason-code catalog.

The SQL lives in `features/sql/<table>.sql`, one file per table. `fct_account_features.sql` reads a
spine table `feature_spine(account_id, as_of, promise_id)`; scoring passes every placed account
at one `as_of`, training passes many past `(account, as_of)` pairs, so both use one definition.
Connections run with `timezone = 'UTC'`; `as_of` is a DATE meaning the end of that day, UTC.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from importlib.resources import files

import yaml

from recobro import contract
from recobro.warehouse import table_exists

log = logging.getLogger(__name__)

STG_TABLES = ("customers", "accounts", "ledger", "promises", "contacts", "holds", "consents")
INT_VIEWS = ("int_ledger_effects", "int_contact_events", "int_promise_payments")
TARGETS = ("pay_30d", "promise_kept")
# Spine rows per feature-build batch (`account_features`). The point-in-time joins grow with
# spine rows x events per account: at 100k simulated accounts (1.2M channel decisions) the four
# tables `recobro train` reads peak at 11.9 GiB in one statement and 4.5 GiB in batches of accounts
# (`python -m benchmarks features --accounts 100000`).
FEATURE_BATCH_ROWS = 200_000
# Candidate rows a training set keeps at most (about: whole accounts are kept or left out). A
# bigger set is built from a fixed hash sample of its accounts, so the feature build, the frame
# handed to LightGBM and the fit follow this number and not the portfolio: a simulated portfolio
# has ~23 candidate channel decisions per account, so up to ~100k accounts every row is kept, and
# at 1M accounts (23.5M decisions) a ~0.13 sample (`python -m benchmarks features --accounts 1000000
# --modes batched --train`). `training_max_rows` in `recobro.toml` overrides it; 0 keeps every row.
# What was kept: `training_samples`.
TRAINING_MAX_ROWS = 3_000_000
TRAINING_SAMPLES_TABLE = "training_samples"
LABEL_HORIZON_DAYS = 30
# How many days after its effective date a payment can still be posted (card and transfer
# settlement, agent cash). A label window closes only this long after its last day: until then
# a payment made in time may not have arrived, and the label would say "not paid" for a debtor
# who paid. The simulator posts within 3 days; real ledgers settle within a few business days.
PAYMENT_POSTING_LAG_DAYS = 5

# Numeric model features. Money enters only as ratios (accounts hold different currencies).
# Not here on purpose: personal data, age/birth year, country, jurisdiction (a key), and any
# vulnerability or health hold.
FEATURE_COLUMNS = [
    "balance_to_principal", "past_due_to_principal", "dpd", "past_due_installments",
    "balance_change_30d_to_principal", "fees_interest_90d_to_principal",
    "days_since_placement", "account_age_days",
    "payments_30d", "payments_90d", "payments_total",
    "payment_amount_30d_to_principal", "payment_amount_90d_to_principal", "paid_share_of_principal",
    "days_since_last_payment", "payday_payment_share", "reversed_payments_total",
    "promises_made", "promises_90d", "promises_kept", "promises_broken", "promise_kept_rate",
    "days_since_last_broken_promise", "has_open_promise",
    "attempts_7d", "attempts_30d", "attempts_90d",
    "attempts_sms_90d", "attempts_email_90d", "attempts_whatsapp_90d",
    "attempts_voice_90d", "attempts_agent_call_90d", "attempts_letter_90d",
    "response_rate_sms_90d", "response_rate_email_90d", "response_rate_whatsapp_90d",
    "response_rate_voice_90d", "response_rate_agent_call_90d",
    "inbound_contacts_90d", "evening_response_share", "days_since_last_response",
    "days_since_last_contact", "opt_outs_total", "complaints_total", "consent_opt_outs_total",
    "disputes_total", "hardship_plans_total",
    "customer_tenure_days", "customer_accounts",
]

# Behaviour that reveals the latent reason for non-payment (DOMAIN.md §4): capacity (payments
# against the instalment), organisation (payment timing), engagement and promise-making over the
# whole history, contact data that fails. Kept apart from FEATURE_COLUMNS, which the channel
# response model also reads: that model opts in separately.
BEHAVIOUR_FEATURE_COLUMNS = [
    "instalment_to_principal", "past_due_to_instalment", "payment_to_instalment_avg",
    "payment_to_instalment_max", "full_payment_share", "payments_per_30d_placed",
    "early_payment_share", "days_after_due_avg", "mid_month_payment_share", "clearing_payment_share",
    "days_to_first_payment", "response_payment_rate",
    "attempts_total", "response_rate_total", "call_rpc_rate", "promise_per_conversation_rate",
    "click_rate_digital", "failed_attempt_rate", "wrong_party_total", "inbound_contacts_total",
    "promises_unpaid_at_due",
]

# Features of the promise being scored. In train_promise_kept they describe the row's promise;
# in fct_account_features the latest open promise, and are null when there is none (LightGBM
# routes nulls down a learned branch, so a "no open promise" score is still defined).
PROMISE_FEATURE_COLUMNS = [
    "promise_amount_to_balance", "promise_horizon_days",
    "promise_channel_self_service", "promise_channel_agent_call", "promise_channel_voice",
    "promise_channel_messaging", "promise_channel_written",
    "promise_amount_to_past_due", "promise_amount_to_instalment", "promise_amount_to_largest_payment",
    "promise_window_month_end_paydays", "promise_window_mid_month_paydays", "promise_from_inbound",
]

# Holds open at as_of (a dispute, bankruptcy or death stops payments on one's own; a hardship plan
# replaces them with its debits). Kept out of FEATURE_COLUMNS, which the channel model reads.
HOLD_STATUS_COLUMNS = ["payment_block_open", "hardship_plan_open"]

KEY_COLUMNS = ["as_of", "account_id", "customer_id", "jurisdiction", "currency", "product"]
STATE_COLUMNS = [
    "balance", "dpd", "past_due_amount", "last_payment_at", "open_promise_due_date",
    "days_since_last_contact", "data_quality_hold", "promise_id",
]

# Event-time columns the point-in-time check moves or drops (due_date is a plan, not an event).
EVENT_TIME_COLUMNS = {
    "raw_customers": ("created_at",),
    "raw_accounts": ("placed_at", "opened_at"),
    "raw_ledger": ("posted_at", "effective_date"),
    "raw_promises": ("created_at",),
    "raw_contacts": ("started_at",),
    "raw_holds": ("starts_at", "ends_at"),
    "raw_consents": ("effective_at",),
}


def sql_text(name: str) -> str:
    """The SQL of table `name` from `features/sql/<name>.sql`."""
    return (files("features") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def feature_columns(target: str) -> list[str]:
    """Model feature names for `target` (`pay_30d` or `promise_kept`), in column order."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    return (FEATURE_COLUMNS + BEHAVIOUR_FEATURE_COLUMNS + HOLD_STATUS_COLUMNS
            + (PROMISE_FEATURE_COLUMNS if target == "promise_kept" else []))


def feature_catalog() -> dict:
    """`{feature: {en_high, en_low, es_high, es_low}}` phrases for SHAP reason codes."""
    text = (files("features") / "catalog.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _as_date(as_of) -> date:
    """Accept a date, a datetime or an ISO string for `as_of`."""
    if isinstance(as_of, str):
        return date.fromisoformat(as_of[:10])
    return date(as_of.year, as_of.month, as_of.day)


def stg_views(con) -> list[str]:
    """Create or replace `stg_<name>` over each `raw_<name>` and the `int_` views built on them.

    Grain: 1:1 with the raw tables. Audit columns are dropped except `_arrived_at`; personal
    columns survive only in `stg_customers` and `stg_consents`. Returns the view names.
    """
    con.execute("set timezone = 'UTC'")
    # the kept definition's two numbers are read here, at call time, from the contract
    con.execute(sql_text("macros").format(promise_grace_days=int(contract.PROMISE_GRACE_DAYS),
                                          promise_kept_share=float(contract.PROMISE_KEPT_SHARE)))
    names = []
    for table in STG_TABLES:
        con.execute(f"create or replace view stg_{table} as\n{sql_text(f'stg_{table}')}")
        names.append(f"stg_{table}")
    if table_exists(con, "data_quality_holds"):
        dq_sql = sql_text("int_data_quality_holds")
    else:  # ingestion has not run yet: an empty stand-in with the same columns
        dq_sql = ("select cast(null as varchar) as account_id, cast(null as varchar) as load_id, "
                  "cast(null as varchar) as rule_id, cast(null as timestamptz) as created_at where false")
    con.execute(f"create or replace view int_data_quality_holds as\n{dq_sql}")
    for view in INT_VIEWS:
        con.execute(f"create or replace view {view} as\n{sql_text(view)}")
    return names + ["int_data_quality_holds", *INT_VIEWS]


def account_features(con, spine_sql: str, table: str, params: dict | None = None, sql: str | None = None,
                     batch_rows: int | None = None) -> str:
    """Build temp table `table` from `fct_account_features.sql` over the spine `spine_sql` selects.

    `spine_sql` returns `account_id, as_of[, promise_id]`. Grain: one row per spine row.
    `sql` replaces the feature SQL (the point-in-time check uses it to test other definitions).
    A spine of more than `batch_rows` rows (default `FEATURE_BATCH_ROWS`) is built in account
    partitions, each account's rows in one batch, so memory follows the batch, not the spine.
    The temp table `feature_spine` holds the whole spine afterwards (the label SQL reads it).
    """
    batch_rows = FEATURE_BATCH_ROWS if batch_rows is None else batch_rows
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    con.execute(f"""
        create or replace temp table feature_spine as
        select account_id, cast(as_of as date) as as_of, cast(promise_id as varchar) as promise_id
        from ({spine_sql}) as spine
    """, params or {})
    feature_sql = sql or sql_text("fct_account_features")
    rows = con.execute("select count(*) from feature_spine").fetchall()[0][0]
    batches = max(1, -(-rows // batch_rows))
    if batches == 1:
        con.execute(f"create or replace temp table {table} as\n{feature_sql}")
        return table
    con.execute("drop table if exists feature_spine_whole")
    con.execute("alter table feature_spine rename to feature_spine_whole")
    try:
        for batch in range(batches):
            con.execute("""
                create or replace temp table feature_spine as
                select * from feature_spine_whole where hash(account_id) % $batches = $batch
            """, {"batches": batches, "batch": batch})
            verb = f"create or replace temp table {table} as" if batch == 0 else f"insert into {table}"
            con.execute(f"{verb}\n{feature_sql}")
    finally:
        con.execute("drop table if exists feature_spine")
        con.execute("alter table feature_spine_whole rename to feature_spine")
    return table


def sample_training_accounts(con, work_table: str, max_rows: int | None) -> dict:
    """Keep a fixed hash sample of the accounts in `work_table` so that about `max_rows` rows remain.

    `work_table` holds every candidate row (one per training row, with `account_id`): the share is
    taken of what it holds, so sampling an already sampled table cuts nothing. Rows of left-out
    accounts are deleted, and each kept account keeps all its rows. The sample is the accounts whose
    salted hash's top 32 bits fall below share x 2^32, so a run with more rows keeps a subset of the
    accounts a smaller share would (the out-of-time comparison of two models sees the same people).
    `max_rows` None or 0 keeps everything. Returns the counts before and kept, the share and the cap,
    for `record_training_sample`.
    """
    if max_rows is not None and max_rows < 0:
        raise ValueError("max_rows must be 0 (no cap) or more")
    rows, accounts = con.execute(f"select count(*), count(distinct account_id) from {work_table}").fetchall()[0]
    share = 1.0 if not max_rows or rows <= max_rows else max_rows / rows
    if share < 1.0:
        con.execute(f"delete from {work_table} where not {_IN_SAMPLE}", {"threshold": int(share * 2**32)})
    kept_rows, kept_accounts = con.execute(
        f"select count(*), count(distinct account_id) from {work_table}").fetchall()[0]
    return {"rows_before": rows, "accounts_before": accounts, "rows_kept": kept_rows,
            "accounts_kept": kept_accounts, "account_share": share, "max_rows": int(max_rows or 0)}


def record_training_sample(con, training_table: str, as_of: date, sample: dict) -> None:
    """Replace `training_table`'s row of `training_samples` with `sample` (call once the table is built)."""
    if sample["account_share"] < 1.0:
        log.info("%s: built from %d of %d accounts (%d of %d candidate rows; training_max_rows %d)", training_table,
                 sample["accounts_kept"], sample["accounts_before"], sample["rows_kept"], sample["rows_before"],
                 sample["max_rows"])
    con.execute(f"""
        create table if not exists {TRAINING_SAMPLES_TABLE} (
            table_name varchar primary key, as_of date, rows_before bigint, accounts_before bigint,
            rows_kept bigint, accounts_kept bigint, account_share double, max_rows bigint)
    """)
    con.execute(f"insert or replace into {TRAINING_SAMPLES_TABLE} values "
                "($table_name, $as_of, $rows_before, $accounts_before, $rows_kept, $accounts_kept, "
                "$account_share, $max_rows)", {"table_name": training_table, "as_of": _as_date(as_of), **sample})


# A salted hash, so the sample does not line up with the feature build's `hash(account_id) % n` batches.
_IN_SAMPLE = "(hash(account_id || ':training-sample') >> 32) < $threshold"


def training_sample(con, training_table: str) -> dict | None:
    """`training_table`'s row of `training_samples` (see `sample_training_accounts`), or None."""
    if not table_exists(con, TRAINING_SAMPLES_TABLE):
        return None
    rel = con.sql(f"select * from {TRAINING_SAMPLES_TABLE} where table_name = $t", params={"t": training_table})
    rows = rel.fetchall()
    return dict(zip(rel.columns, rows[0])) if rows else None


def _placed_accounts_spine() -> str:
    return """
        select account_id, cast($as_of as date) as as_of, null as promise_id
        from stg_accounts
        where placed_at < timezone('UTC', cast($as_of as date) + interval 1 day)
    """


def fct_account_features(con, as_of: date) -> str:
    """Replace the `as_of` rows of `fct_account_features`; returns the table name.

    Input: `raw_*` tables via `stg_*`/`int_*` views. Grain: one row per account placed at or
    before `as_of`, per `as_of`. Rebuilding an `as_of` replaces its rows in one transaction.
    """
    as_of = _as_date(as_of)
    stg_views(con)
    account_features(con, _placed_accounts_spine(), "work_account_features", {"as_of": as_of})
    table = "fct_account_features"
    if not table_exists(con, table):
        con.execute(f"create table {table} as select * from work_account_features limit 0")
    old = [r[0] for r in con.execute(f"select column_name from (describe {table})").fetchall()]
    new = [r[0] for r in con.execute("select column_name from (describe work_account_features)").fetchall()]
    if old != new:
        # rows built by an earlier feature SQL would mix two definitions in one table: start it afresh
        dates = con.execute(f"select count(distinct as_of) from {table}").fetchall()[0][0]
        log.warning("the feature SQL changed (%d columns were %d); %s is rebuilt from as_of %s on, dropping "
                    "the rows of %d earlier as_of dates: rebuild any of them you need", len(new), len(old),
                    table, as_of, dates)
        con.execute(f"create or replace table {table} as select * from work_account_features limit 0")
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {table} where as_of = ?", [as_of])
        con.execute(f"insert into {table} select * from work_account_features")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    con.execute("drop table if exists work_account_features")
    return table


def _snapshot_dates(con, as_of: date, max_snapshots: int | None) -> list[date]:
    """Weekly snapshots from as_of - 30 days - the posting lag backwards while any account had been placed."""
    first = con.execute("select min(cast(placed_at as date)) from stg_accounts").fetchall()[0][0]
    snapshots: list[date] = []
    day = as_of - timedelta(days=LABEL_HORIZON_DAYS + PAYMENT_POSTING_LAG_DAYS)
    while first is not None and day >= first and (max_snapshots is None or len(snapshots) < max_snapshots):
        snapshots.append(day)
        day -= timedelta(days=7)
    return sorted(snapshots)


def training_set(con, target: str, as_of: date, *, max_snapshots: int | None = None,
                 max_rows: int | None = TRAINING_MAX_ROWS) -> str:
    """Create or replace `train_<target>` from snapshots before `as_of` whose labels matured by it.

    `pay_30d`: one row per account open (balance > 0) per weekly snapshot (as_of - 35, - 42, ...: 30
    days of label window plus PAYMENT_POSTING_LAG_DAYS; at most `max_snapshots`, newest first); label 1
    if a payment is effective in the 30 days after.
    `promise_kept`: one row per promise whose grace ended more than PAYMENT_POSTING_LAG_DAYS before
    `as_of`; features as of the day
    before the promise was made, plus the promise's own features; label per docs/TABLES.md.
    Columns: `as_of, account_id, [promise_id], <feature_columns(target)>, label INTEGER`.
    More than `max_rows` candidate rows (snapshots, or promises) are cut to a hash sample of
    accounts first (`sample_training_accounts`), before any feature is built.
    """
    as_of = _as_date(as_of)
    columns = feature_columns(target)
    stg_views(con)
    table = f"train_{target}"
    if target == "pay_30d":
        snapshots = _snapshot_dates(con, as_of, max_snapshots)
        con.execute("""
            create or replace temp table work_training_spine as
            select accounts.account_id, snapshots.as_of, null as promise_id
            from stg_accounts as accounts
            inner join (select unnest(cast($snapshots as date[])) as as_of) as snapshots
                on accounts.placed_at < timezone('UTC', snapshots.as_of + interval 1 day)
        """, {"snapshots": snapshots})
        sample = sample_training_accounts(con, "work_training_spine", max_rows)
        account_features(con, "select * from work_training_spine", "work_training_features")
        con.execute(f"create or replace temp table work_labels as\n{sql_text('label_pay_30d')}", {"as_of": as_of})
        con.execute(f"""
            create or replace table {table} as
            select f.as_of, f.account_id, {", ".join(f"f.{c}" for c in columns)}, l.label
            from work_training_features as f
            inner join work_labels as l on l.account_id = f.account_id and l.as_of = f.as_of
            where f.balance > 0
            order by f.as_of, f.account_id
        """)
    else:
        con.execute(f"create or replace temp table work_labels as\n{sql_text('label_promise_kept')}",
                    {"as_of": as_of, "posting_lag_days": PAYMENT_POSTING_LAG_DAYS})
        sample = sample_training_accounts(con, "work_labels", max_rows)
        spine = "select account_id, feature_as_of as as_of, promise_id from work_labels"
        account_features(con, spine, "work_training_features")
        con.execute(f"""
            create or replace table {table} as
            select f.as_of, f.account_id, l.promise_id, {", ".join(f"f.{c}" for c in columns)}, l.label
            from work_training_features as f
            inner join work_labels as l on l.promise_id = f.promise_id
            order by f.as_of, f.account_id, l.promise_id
        """)
    record_training_sample(con, table, as_of, sample)
    for work in ("work_training_features", "work_labels", "work_training_spine"):
        con.execute(f"drop table if exists {work}")
    return table


def _move_future_events(con, as_of: date, mode: str, shift_days: int) -> None:
    cutoff = as_of + timedelta(days=1)
    for table, cols in EVENT_TIME_COLUMNS.items():
        for col in cols:
            is_date = con.execute(
                "select data_type from information_schema.columns where table_name = ? and column_name = ?",
                [table, col],
            ).fetchall()[0][0] == "DATE"
            after = f"{col} >= cast($cutoff as date)" if is_date else f"{col} >= timezone('UTC', cast($cutoff as timestamp))"
            if mode == "shift":
                moved = f"{col} + {shift_days}" if is_date else f"{col} + to_days({shift_days})"
                con.execute(f"update {table} set {col} = {moved} where {after}", {"cutoff": cutoff})
            elif col == "ends_at":  # the hold has not ended yet as far as as_of knows
                con.execute(f"update {table} set {col} = null where {after}", {"cutoff": cutoff})
            else:
                con.execute(f"delete from {table} where {after}", {"cutoff": cutoff})


def point_in_time_changes(con, as_of: date, sql: str | None = None, shift_days: int = 400) -> dict[str, list[str]]:
    """Which feature columns at `as_of` change when events after `as_of` move or disappear.

    Builds features over every placed account (with `sql`, default `fct_account_features.sql`),
    then, inside a transaction that is rolled back, (a) moves every event time after `as_of`
    `shift_days` further into the future and (b) deletes every event after `as_of`, and rebuilds.
    Returns `{"shift": [...], "drop": [...]}` column names that differ; both empty = no leak seen.
    The raw tables are left unchanged.
    """
    as_of = _as_date(as_of)
    stg_views(con)

    def build() -> "object":
        account_features(con, _placed_accounts_spine(), "work_pit_features", {"as_of": as_of}, sql)
        return con.execute("select * from work_pit_features order by all").df()

    baseline = build()
    changes: dict[str, list[str]] = {}
    for mode in ("shift", "drop"):
        con.execute("begin transaction")
        try:
            _move_future_events(con, as_of, mode, shift_days)
            moved = build()
        finally:
            con.execute("rollback")
        if list(moved.columns) != list(baseline.columns) or len(moved) != len(baseline):
            changes[mode] = ["<rows or columns>"]
            continue
        changes[mode] = [
            c for c in baseline.columns
            if not baseline[c].reset_index(drop=True).equals(moved[c].reset_index(drop=True))
        ]
    con.execute("drop table if exists work_pit_features")
    return changes
