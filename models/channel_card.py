"""The channel response model's card: held-out value without truth, and its channel choice scored on
the simulator's truth.

The champion `recobro_channel_response` ranks the channels of each account by predicted net
incremental value (USD). The card scores one contact per account at the truth's as_of, through the
channel each policy picks among the channels the truth marks reachable, with the truth's own
net incremental value (`truth_accounts.incremental_value_<channel>`, converted to USD):

- `oracle`: the truth's best channel (the most anyone could get from the channel choice);
- `model`: the champion's best channel;
- `logged`: the channel of the account's last outbound contact in the history, the stand-in for
  business as usual's choice (accounts business as usual never contacted have none and are left
  out of every policy's average, so all policies are scored on the same accounts);
- `sms_first`: the first reachable channel in the order sms, email, whatsapp, ... (a one-line rule);
- `random`: the average over the reachable channels.

`captured_share` = (model - logged) / (oracle - logged): the share of the oracle's gain over the
logged choice that the model's choice captures. This is the one-contact, expected-value form of
the benchmark's play-forward measure (`python -m benchmarks channel`), which also lets the choice
change what happens over the next 30 days.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS

TARGET = "channel_response"
POLICIES = ("oracle", "model", "logged", "sms_first", "random")
SQL_DIR = Path(__file__).resolve().parent / "sql"


def channel_card_data(con, settings, as_of, truth_dir) -> dict:
    """Everything the channel card shows, as plain numbers and strings."""
    from mlflow import MlflowClient

    from features.build import stg_views
    from models.channel_train import net_value_usd
    from models.inventory import inventory_record
    from models.policy import forbidden_columns
    from models.registry import REGISTERED_NAMES, load_champion, version_by_alias
    from models.truth import account_features_at, read_truth, truth_as_of

    name = REGISTERED_NAMES[TARGET]
    model, version = load_champion(settings, name)
    run_id = version_by_alias(name, "champion").run_id
    features = list(model.feature_names_)
    metrics = MlflowClient().get_run(run_id).data.metrics
    data = {"name": name, "version": version, "run_id": run_id, "target": TARGET, "as_of": str(as_of),
            "inventory": inventory_record(TARGET, features), "forbidden_features": forbidden_columns(features),
            "heldout": {k: v for k, v in sorted(metrics.items()) if k.startswith("heldout_")},
            "rows": {k: int(v) for k, v in sorted(metrics.items()) if k.startswith(("fit_rows", "eval_rows"))}}
    when = truth_as_of(truth_dir)
    if when is None:
        data["truth"] = {"comparable": False, "rows": 0}
        return data
    stg_views(con)
    frame = account_features_at(con, when, list(dict.fromkeys([*features, "past_due_amount"])))
    con.execute("set variable as_of = cast(? as date)", [str(when)])
    accounts = con.execute((SQL_DIR / "channel_card_accounts.sql").read_text(encoding="utf-8")).df()
    frame = past_due_accounts(frame, accounts, read_truth(truth_dir, "truth_accounts"))
    predicted = net_value_usd(model, frame)[list(CHANNELS)].to_numpy(dtype="float64") if len(frame) else None
    data["truth"] = {"truth_as_of": str(when), **choice_values(frame, predicted)}
    return data


def past_due_accounts(features: pd.DataFrame, accounts: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per account with something past due at the truth's as_of: its `features` (the model's
    inputs), `accounts` (currency and last logged channel, channel_card_accounts.sql; columns that
    `features` already has are taken from `features`) and `truth` (truth_accounts)."""
    extra = accounts.drop(columns=[c for c in accounts.columns if c in features.columns and c != "account_id"])
    frame = features.merge(extra, on="account_id", how="inner").merge(
        truth, on="account_id", how="inner", suffixes=("", "_truth"))
    return frame[frame["past_due"] > 0].reset_index(drop=True)


def choice_values(frame: pd.DataFrame, predicted: np.ndarray) -> dict:
    """Truth-scored value per account (USD) of each policy's channel, and the model's captured share.

    `frame`: one row per account with currency, last_channel, p_respond_<channel> (0 = not
    reachable) and incremental_value_<channel> (local currency); `predicted`: (rows, channels)
    predicted net value in USD. Accounts with no reachable channel, or whose last logged channel
    is no longer reachable, are left out (counted in `rows_without_logged_choice`).
    """
    from models.channel_eval import truth_agreement
    from models.channel_train import fx_to_usd

    if frame.empty:
        return {"rows": 0, "rows_past_due": 0, "rows_without_logged_choice": 0, "comparable": False}
    reachable = np.column_stack([frame[f"p_respond_{c}"].to_numpy(dtype="float64") > 0 for c in CHANNELS])
    fx = fx_to_usd(frame["currency"])
    value = np.column_stack([frame[f"incremental_value_{c}"].to_numpy(dtype="float64") for c in CHANNELS]) * fx[:, None]
    logged = frame["last_channel"].map({c: k for k, c in enumerate(CHANNELS)}).to_numpy()
    has_logged = ~pd.isna(logged)
    logged_k = np.where(has_logged, logged, 0).astype(int)
    keep = reachable.any(axis=1) & np.isfinite(fx) & has_logged & reachable[np.arange(len(frame)), logged_k]
    out = {"rows": int(keep.sum()), "rows_past_due": int(len(frame)),
           "rows_without_logged_choice": int((reachable.any(axis=1) & ~keep).sum()), "comparable": bool(keep.sum() > 0)}
    if not out["comparable"]:
        return out
    reachable, value, logged_k, predicted = reachable[keep], value[keep], logged_k[keep], predicted[keep]
    r = np.arange(len(value))
    masked = np.where(reachable, value, -np.inf)
    pick = {
        "oracle": masked.argmax(axis=1),
        "model": np.where(reachable, np.nan_to_num(predicted, nan=-np.inf), -np.inf).argmax(axis=1),
        "logged": logged_k,
        "sms_first": reachable.argmax(axis=1),  # the first True in CHANNELS order
    }
    per_account = {p: value[r, k] for p, k in pick.items()}
    per_account["random"] = np.where(reachable, value, 0).sum(axis=1) / reachable.sum(axis=1)
    out["mean_value_usd"] = {p: float(per_account[p].mean()) for p in POLICIES}
    gain = out["mean_value_usd"]["oracle"] - out["mean_value_usd"]["logged"]
    out["captured_share"] = {p: (out["mean_value_usd"][p] - out["mean_value_usd"]["logged"]) / gain if gain > 0 else None
                             for p in ("model", "sms_first", "random")}
    out["oracle_agreement"] = float((pick["model"] == pick["oracle"]).mean())
    out["model_channel_mix"] = {c: float((pick["model"] == k).mean()) for k, c in enumerate(CHANNELS)}
    out["oracle_channel_mix"] = {c: float((pick["oracle"] == k).mean()) for k, c in enumerate(CHANNELS)}
    if len(value) < 3:  # too few accounts for a rank correlation
        return out
    ids = frame.loc[keep, "account_id"].to_numpy()
    truth_usd = pd.DataFrame(np.where(reachable, value, np.nan), columns=[f"incremental_value_{c}" for c in CHANNELS])
    out["agreement"] = truth_agreement(pd.DataFrame(predicted, index=ids, columns=list(CHANNELS)),
                                       truth_usd.assign(account_id=ids, past_due=1.0))
    return out


def render_channel_card(data: dict) -> str:
    """The channel card of `channel_card_data` as markdown."""
    from models.card import _table
    from models.inventory import inventory_markdown

    policy = ("**passed**, no personal, protected or vulnerability feature is an input"
              if not data["forbidden_features"] else f"**VIOLATED** by {data['forbidden_features']}")
    h = data["heldout"]
    lines = [
        f"# Model card: {data['name']} v{data['version']} ({data['target']})", "",
        f"Champion at as_of {data['as_of']}; MLflow run `{data['run_id']}`.", "",
        "## Inventory record (SR 11-7)", "", inventory_markdown(data["inventory"]), "",
        "## Held-out value, without truth", "",
        "Fitted on the earlier decision dates; on the later ones, a self-normalised inverse-propensity (SNIPS) "
        "estimate of the value per contact had every held-out contact gone through the model's best channel, "
        "next to what the logged channels realised on the same contacts (the promotion gate's measure).", "",
        *_table([{"metric": k, "value": v} for k, v in h.items()], ["metric", "value"]), "",
        "Training rows per arm (decisions; `none` = eligible account-days with no contact): "
        + ", ".join(f"{k.removeprefix('fit_rows_')} {v:,}" for k, v in data["rows"].items() if k.startswith("fit_rows_"))
        + f"; {data['rows'].get('fit_rows', 0):,} fitted, {data['rows'].get('eval_rows', 0):,} held out.", "",
        "## Channel choice against the simulator's truth", "", *_truth_lines(data["truth"]), "",
        "## Feature policy", "",
        f"Feature policy check: {policy}. {data['inventory']['feature_policy']}", "",
    ]
    return "\n".join(lines)


def _truth_lines(t: dict) -> list[str]:
    from models.card import _table

    if not t.get("comparable"):
        return [f"Not comparable: {t.get('rows', 0)} accounts with something past due, a reachable channel and a "
                "logged channel to compare with at the truth's as_of."]
    v, c = t["mean_value_usd"], t["captured_share"]
    lines = [
        f"{t['rows']} accounts with something past due at {t['truth_as_of']} and a reachable last logged channel "
        f"({t['rows_without_logged_choice']} more with a reachable channel but no usable logged one are left out). "
        "Each policy sends one contact per account through the channel it picks among the reachable ones; the "
        "truth's net incremental value of that contact (USD, after the channel's cost) is averaged.", "",
        f"**Captured share of the oracle's gain over the logged choice: {c['model']:.1%}** "
        f"(model {v['model']:.3f} USD per account, logged {v['logged']:.3f}, oracle {v['oracle']:.3f}). "
        f"The one-line SMS-first rule captures {c['sms_first']:.1%}; a random reachable channel {c['random']:.1%}. "
        f"The model picks the oracle's channel for {t['oracle_agreement']:.1%} of the accounts.", "",
    ]
    rows = [{"policy": p, "mean net value (USD)": v[p], "captured share": c.get(p, "")} for p in v]
    lines += _table(rows, ["policy", "mean net value (USD)", "captured share"]) + [""]
    mix = [{"channel": ch, "model picks": t["model_channel_mix"][ch], "oracle picks": t["oracle_channel_mix"][ch]}
           for ch in CHANNELS]
    lines += _table(mix, ["channel", "model picks", "oracle picks"]) + [""]
    a = t.get("agreement")
    lines += [] if a is None else [f"Predicted vs true value over (account, channel): Spearman {a['spearman_pooled']:.3f}; within an account, "
              f"rank correlation of the channels {a['within_account_rank_corr']:.3f}."]
    return lines
