"""Scoring the channel response model: `fct_account_features` at as_of -> `work_channel_values`.

Grain: one row per account x channel x as_of. The champion `recobro_channel_response@champion` is
loaded from the registry and fails closed (no champion, no values: `ModelNotFound`). Values are in
USD so decide can compare them with the catalog's costs and priors across currencies.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.channel_train import TARGET, channel_costs_usd, fx_to_usd
from models.registry import REGISTERED_NAMES, load_champion
from recobro.warehouse import table_exists

TABLE = "work_channel_values"
SQL_DIR = Path(__file__).resolve().parent / "sql"
_COLUMNS = """
    cast(as_of as date) as as_of, cast(account_id as varchar) as account_id,
    cast(customer_id as varchar) as customer_id, cast(channel as varchar) as channel,
    cast(uplift as double) as uplift, cast(stake_usd as double) as stake_usd, cast(cost_usd as double) as cost_usd,
    cast(net_value_usd as double) as net_value_usd, cast(channel_model as varchar) as channel_model
"""


def channel_value_frame(features: pd.DataFrame, model) -> pd.DataFrame:
    """Long frame (account x channel) of uplift, stake (past-due amount in USD), catalog cost and net value.

    `features`: as_of, account_id, customer_id, currency, past_due_amount and the model's features.
    """
    up = model.uplift(features)
    stake = features["past_due_amount"].astype("float64").fillna(0).clip(lower=0).to_numpy() \
        * fx_to_usd(features["currency"])
    costs = channel_costs_usd()
    frames = []
    for channel in up.columns:
        cost = costs.get(channel)
        frames.append(pd.DataFrame({
            "as_of": features["as_of"].to_numpy(), "account_id": features["account_id"].to_numpy(),
            "customer_id": features["customer_id"].to_numpy(), "channel": channel,
            "uplift": up[channel].to_numpy(), "stake_usd": stake, "cost_usd": cost,
            "net_value_usd": up[channel].to_numpy() * stake - (cost if cost is not None else float("nan")),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def work_channel_values(con, settings, as_of) -> str:
    """Create or replace `work_channel_values` for `as_of` from `fct_account_features`; returns the table name.

    Columns: as_of, account_id, customer_id, channel, uplift (extra share of the past-due amount paid in
    30 days), stake_usd, cost_usd, net_value_usd (uplift x stake_usd - cost_usd), channel_model
    ('name/version'). Also adds each account's per-channel `value_<channel>_usd`, `best_channel` and
    `channel_model` to `work_scores` (models/sql/work_scores_channel_values.sql), so the published scores
    carry them (when work_scores exists). Raises ModelNotFound when the channel champion is missing.
    """
    name = REGISTERED_NAMES[TARGET]
    model, version = load_champion(settings, name)
    available = {r[0] for r in con.execute("describe fct_account_features").fetchall()}
    casts = "".join(f', cast("{c}" as double) as "{c}"' for c in model.feature_names_ if c in available)
    features = con.execute(
        "select cast(as_of as date) as as_of, cast(account_id as varchar) as account_id, "
        "cast(customer_id as varchar) as customer_id, cast(currency as varchar) as currency, "
        f"cast(past_due_amount as double) as past_due_amount{casts} "
        "from fct_account_features where as_of = cast(? as date) order by account_id", [str(as_of)]
    ).df()
    values = channel_value_frame(features, model) if len(features) else pd.DataFrame(
        columns=["as_of", "account_id", "customer_id", "channel", "uplift", "stake_usd", "cost_usd", "net_value_usd"])
    values["channel_model"] = f"{name}/{version}"
    con.register("_recobro_channel_values", values)
    try:
        con.execute(f"create or replace table {TABLE} as select {_COLUMNS} from _recobro_channel_values "
                    "order by account_id, channel")
    finally:
        con.unregister("_recobro_channel_values")
    if table_exists(con, "work_scores"):  # the daily flow scores accounts first
        con.execute("set variable as_of = cast(? as date)", [str(as_of)])
        con.execute((SQL_DIR / "work_scores_channel_values.sql").read_text(encoding="utf-8"))
    return TABLE
