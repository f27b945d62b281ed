"""Training data and unit costs for the channel response model (issue 5), built in DuckDB.

`channel_training_set(con, as_of)` -> table `train_channel_response`: one row per eligible logged
decision (account x decision day: a contact on a channel, or a sampled day with no contact), the
account features as of the day before, the arm, its logged propensity and the 30-day outcome.
`channel_costs(con)` -> mean logged unit cost per currency and channel (local units).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from features.build import (FEATURE_COLUMNS, PAYMENT_POSTING_LAG_DAYS, TRAINING_MAX_ROWS, _as_date,
                            account_features, record_training_sample, sample_training_accounts, sql_text,
                            stg_views)
from recobro.contract import CHANNELS

ARMS = ("none",) + CHANNELS
TABLE = "train_channel_response"


def channel_training_set(con, as_of: date, *, none_sample: int = 3, max_rows: int | None = TRAINING_MAX_ROWS) -> str:
    """Create or replace `train_channel_response` from decisions whose 30-day outcome matured by `as_of`.

    Input: `raw_*` via `stg_*`/`int_*`. Grain: one row per eligible account x decision day.
    Columns: decision_date, account_id, customer_id, contact_id, arm ('none' or a channel),
    propensity (logged; null for 'none'), none_sample_weight, cost (local), responded, currency,
    balance, past_due_amount, paid_amount_30d, paid_30d, paid_share_30d, the feature columns, then
    engaged (the contact was answered, opened, clicked or replied to; false for 'none').
    More than `max_rows` decisions are cut to a hash sample of accounts before the features are
    built (`features.build.sample_training_accounts`); None or 0 keeps them all.
    """
    as_of = _as_date(as_of)
    if none_sample < 1:
        raise ValueError("none_sample must be at least 1")
    stg_views(con)
    params = {"as_of": as_of, "none_sample": int(none_sample), "posting_lag_days": PAYMENT_POSTING_LAG_DAYS}
    con.execute(f"create or replace temp table work_channel_decisions as\n{sql_text('int_channel_decisions')}",
                params)
    sample = sample_training_accounts(con, "work_channel_decisions", max_rows)
    spine = "select distinct account_id, decision_date - 1 as as_of, null as promise_id from work_channel_decisions"
    account_features(con, spine, "work_channel_features")
    con.execute(f"create or replace temp table work_channel_response as\n{sql_text('train_channel_response')}",
                {"as_of": as_of})
    # engaged: the logged contact reached the debtor and was engaged with (answered, opened, clicked,
    # replied) - `responded` leaves out opened emails and messages; false on no-contact days
    con.execute(f"""
        create or replace table {TABLE} as
        select t.*, coalesce(c.engaged, false) as engaged
        from work_channel_response as t
        left join (
            select contact_id, bool_or(outcome in ('rpc', 'promise', 'replied', 'clicked', 'opened')) as engaged
            from stg_contacts group by contact_id
        ) as c on c.contact_id = t.contact_id
        order by t.decision_date, t.account_id
    """)
    record_training_sample(con, TABLE, as_of, sample)
    con.execute("drop table if exists work_channel_response")
    con.execute("drop table if exists work_channel_decisions")
    con.execute("drop table if exists work_channel_features")
    return TABLE


def channel_costs(con) -> pd.DataFrame:
    """Mean logged cost of one outbound contact, local units: one row per currency, one column per channel.

    Costs come from the contact history (`stg_contacts.cost`), so they follow whatever the user's
    delivery records; a channel never used in a currency is NaN (the caller decides: usually
    "not available").
    """
    frame = con.sql("""
        select accounts.currency, contacts.channel, avg(cast(contacts.cost as double)) as cost
        from stg_contacts as contacts
        inner join stg_accounts as accounts on accounts.account_id = contacts.account_id
        where contacts.direction = 'outbound' and contacts.cost is not null
        group by all
    """).df()
    table = frame.pivot(index="currency", columns="channel", values="cost")
    return table.reindex(columns=list(CHANNELS))


def account_costs(currency: pd.Series, costs: pd.DataFrame) -> pd.DataFrame:
    """Per-row local unit cost by channel (n x 6) from each row's currency and `channel_costs`."""
    out = costs.reindex(currency.to_numpy()).reset_index(drop=True)
    out.index = currency.index
    return out


def load_training_frame(con, table: str = TABLE) -> pd.DataFrame:
    """The training table as a DataFrame (the model boundary)."""
    return con.sql(f"select * from {table} order by decision_date, account_id, arm").df()


__all__ = ["ARMS", "FEATURE_COLUMNS", "TABLE", "account_costs", "channel_costs", "channel_training_set",
           "load_training_frame"]
