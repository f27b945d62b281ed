"""Scoring the channel response model against the simulator's truth (issue 5).

- `truth_agreement`: predicted vs true per-channel incremental value at as_of (`truth_accounts`).
- `channel_swap_values`: play 30 days forward with common random numbers under policies that
  contact exactly the accounts business-as-usual contacts each day and differ only in the channel:
  BAU's own, the model's argmax, the truth's argmax (oracle), or a random allowed one; and
  `captured_share` = (model − BAU) / (oracle − BAU) on net recovery.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from recobro.contract import CHANNELS

VALUE_COLUMNS = [f"incremental_value_{c}" for c in CHANNELS]
AS_OF = date(2026, 10, 31)  # the simulated portfolios' end date


def account_index(account_id: pd.Series) -> np.ndarray:
    """Simulator account number from an id like ACC-0000042."""
    return account_id.str.slice(4).astype(np.int64).to_numpy() - 1


def truth_agreement(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Agreement of predicted net incremental value (columns = channels, index = account_id) with truth.

    `truth` is `truth_accounts` (account_id, past_due, incremental_value_<channel>). Only accounts
    with something past due at as_of. Returns pooled Pearson/Spearman over (account, channel),
    the mean per-channel Spearman across accounts, the within-account Spearman of channel order,
    and the share of accounts where the predicted best channel is the true best.
    """
    t = truth.set_index("account_id")
    t = t[t["past_due"] > 0]
    ids = predicted.index.intersection(t.index)
    p = predicted.loc[ids, list(CHANNELS)].to_numpy(dtype=float)
    v = t.loc[ids, VALUE_COLUMNS].to_numpy(dtype=float)
    ok = np.isfinite(p) & np.isfinite(v)
    pooled = pd.DataFrame({"p": p[ok], "v": v[ok]})
    per_channel = {}
    for k, c in enumerate(CHANNELS):
        m = ok[:, k]
        # a channel scored the same for everyone (an arm the model could not learn) ranks nobody: NaN
        ranks = m.sum() > 2 and np.ptp(p[m, k]) > 0 and np.ptp(v[m, k]) > 0
        per_channel[c] = float(pd.Series(p[m, k]).corr(pd.Series(v[m, k]), method="spearman")) if ranks else np.nan
    rank = pd.DataFrame(p).rank(axis=1).to_numpy(), pd.DataFrame(v).rank(axis=1).to_numpy()
    orders = [np.corrcoef(a, b)[0, 1] for a, b in zip(*rank) if np.std(a) > 0 and np.std(b) > 0]
    within = np.mean(orders) if orders else np.nan  # no account whose channels differ on both sides: undefined
    best_agree = float(np.mean(np.nanargmax(np.where(ok, p, -np.inf), axis=1)
                               == np.nanargmax(np.where(ok, v, -np.inf), axis=1)))
    return {"accounts": int(len(ids)), "pearson_pooled": float(pooled["p"].corr(pooled["v"])),
            "spearman_pooled": float(pooled["p"].corr(pooled["v"], method="spearman")),
            "spearman_per_channel": per_channel,
            "spearman_per_channel_mean": float(np.nanmean(list(per_channel.values()))),
            "within_account_rank_corr": float(within), "best_channel_agreement": best_agree}


# -- channel choosers: (state, accounts) -> value per channel (n, 6), higher is better ---------
def oracle_values(state, account: np.ndarray) -> np.ndarray:
    """True incremental value net of cost (USD) with today's state: what `reference.oracle` ranks by."""
    from simulator import params as P
    from simulator.value import channel_effects

    w = state.world
    cust = w.accounts.customer[account]
    fx = np.array([P.FX[c] for c in P.COUNTRIES])[w.customers.country[cust]]
    fx_eff = channel_effects(w.customers.reason[cust], w.customers.affinity[cust], w.customers.evening[cust],
                             state.fatigue[cust], state.dpd[account] - 1, state.past_due[account],
                             w.accounts.capacity[account], fx, state.allowed[cust],
                             can_disclose=state.sim.can_disclose(account))
    return fx_eff["value_usd"]


def model_values(uplift: np.ndarray, cost: np.ndarray, stake_unit: float = 100.0):
    """Chooser from per-account predicted uplift (n_accounts, 6) and local unit cost (n_accounts, 6).

    The stake is each account's past-due amount on the day (state.past_due is in cents).
    """
    def choose(state, account: np.ndarray) -> np.ndarray:
        stake = state.past_due[account] / stake_unit
        return uplift[account] * stake[:, None] - cost[account]
    return choose


def fixed_values(score: np.ndarray):
    """Chooser from a fixed per-account score (n_accounts, 6), e.g. a response model's P(answer)."""
    def choose(state, account: np.ndarray) -> np.ndarray:
        return score[account]
    return choose


def random_values(state, account: np.ndarray) -> np.ndarray:
    return state.rng.random((len(account), len(CHANNELS)))


def channel_swap(chooser, tally: dict | None = None):
    """Policy: BAU's accounts, minutes and compliance, the channel chosen by `chooser`.

    Vulnerable accounts keep BAU's channel (they are routed by rule, not by model). A channel is a
    candidate only when the customer allows it and it breaks no rule today; if none does, BAU's.
    With `tally`, adds up the truth's value (USD, `oracle_values`) of the channel chosen, of BAU's
    channel and of the truth's best candidate over the same contacts: a noise-free score of choice.
    """
    from simulator.playforward import Actions
    from simulator.reference import bau

    def policy(state):
        a = bau(state)
        if len(a.account) == 0:
            return a
        cust = state.world.accounts.customer[a.account]
        ok = state.allowed[cust].copy()
        for c in range(len(CHANNELS)):
            ok[:, c] &= state.compliant(Actions(a.account, np.full(len(a.account), c), a.minute))
        ok[np.arange(len(a.account)), a.channel] = True  # BAU's own choice is always a candidate
        if chooser is None:
            channel = a.channel
        else:
            raw = chooser(state, a.account)
            value = np.where(ok & np.isfinite(raw), raw, -np.inf)
            channel = np.where(np.isfinite(value.max(axis=1)), value.argmax(axis=1), a.channel)
        channel = np.where(state.vulnerable[a.account], a.channel, channel)
        if tally is not None:
            truth = oracle_values(state, a.account)
            rows = np.arange(len(a.account))
            best = np.where(state.vulnerable[a.account], a.channel, np.where(ok, truth, -np.inf).argmax(axis=1))
            for key, ch in (("chosen", channel), ("bau", a.channel), ("oracle", best)):
                tally[key] = tally.get(key, 0.0) + float(truth[rows, ch].sum())
        return Actions(a.account, channel, a.minute)
    return policy


def channel_swap_values(world, holds, history, choosers: dict, days: int = 30, seeds=(11,)) -> pd.DataFrame:
    """One row per chooser (None = BAU), averaged over play `seeds` (each seed: the same luck for every
    policy): realised net, recovered and cost in USD over `days`, and `ev_captured` =
    (truth value of the chosen channels − of BAU's) / (oracle's − BAU's) over the contacts sent."""
    from simulator.playforward import play_forward

    rows = []
    for seed in np.atleast_1d(seeds):
        for name, chooser in choosers.items():
            tally: dict = {}
            s = play_forward(world, holds, history, channel_swap(chooser, tally), days=days, seed=int(seed)).summary
            rows.append({"policy": name, "seed": int(seed),
                         **{k: s[k] for k in ("net_usd", "recovered_usd", "contact_cost_usd", "contacts",
                                              "violations", "paid_rate")},
                         "ev_gain_usd": tally.get("chosen", 0.0) - tally.get("bau", 0.0),
                         "ev_oracle_gain_usd": tally.get("oracle", 0.0) - tally.get("bau", 0.0)})
    frame = pd.DataFrame(rows)
    out = frame.drop(columns="seed").groupby("policy", sort=False).mean()
    out["ev_captured"] = out["ev_gain_usd"] / out["ev_oracle_gain_usd"]
    return out


def captured_share(values: pd.DataFrame, policy: str, bau: str = "bau", oracle: str = "oracle") -> float:
    """(policy − BAU) / (oracle − BAU) on net recovery (USD)."""
    net = values["net_usd"]
    return float((net[policy] - net[bau]) / (net[oracle] - net[bau]))


def scoring_frame(con, as_of) -> pd.DataFrame:
    """Account features at `as_of` for every placed account (fct_account_features.sql), one row per account."""
    from features.build import _as_date, _placed_accounts_spine, account_features, stg_views

    stg_views(con)
    account_features(con, _placed_accounts_spine(), "work_channel_scoring", {"as_of": _as_date(as_of)})
    frame = con.sql("select * from work_channel_scoring order by account_id").df()
    con.execute("drop table if exists work_channel_scoring")
    return frame


def per_account(frame: pd.DataFrame, values: pd.DataFrame, n_accounts: int) -> np.ndarray:
    """(n_accounts, 6) array in simulator account order from per-row `values` (NaN where unscored)."""
    out = np.full((n_accounts, len(CHANNELS)), np.nan)
    out[account_index(frame["account_id"])] = values[list(CHANNELS)].to_numpy(dtype=float)
    return out


def evaluate_against_truth(n_accounts: int = 3_000, history_days: int = 180, seed: int = 5, days: int = 30,
                           play_seeds=(11,), workdir=None, none_sample: int = 3, model_params=None,
                           scenario: str = "default") -> dict:
    """Simulate, ingest, build `train_channel_response`, fit, and score against truth and by play-forward.

    Returns {"truth": truth_agreement(...), "policy": per-policy values, "captured": {policy: share},
    "rows": training rows per arm, "model": the fitted model}. Policies: bau, oracle, model (IPW
    learner, `model_params`), unweighted (same learner, no propensity correction), naive_response
    (argmax of P(answer) among contacted rows, the "who happened to answer" model), sms_first
    (SMS whenever allowed: a one-line rule, for scale), random.
    """
    from models.channel import fit_channel_model
    from models.channel_data import account_costs
    from simulator import simulate_world

    p = simulated_portfolio(n_accounts, history_days, seed, scenario, workdir, none_sample)
    train, scoring, truth, costs = p["train"], p["scoring"], p["truth"], p["costs"]
    params = dict(model_params or {})
    model = fit_channel_model(train, **params)
    unweighted = fit_channel_model(train, **{**params, "weighting": "none"})
    naive = fit_channel_model(train, target="responded",
                              **{**params, "weighting": "none", "arms": CHANNELS, "learner": "residual"})

    cost = account_costs(scoring["currency"], costs)
    stake = scoring["past_due_amount"].astype(float)
    predicted = model.incremental_value(scoring, stake, cost).set_index(scoring["account_id"])
    result = {"truth": truth_agreement(predicted, truth),
              "truth_unweighted": truth_agreement(
                  unweighted.incremental_value(scoring, stake, cost).set_index(scoring["account_id"]), truth),
              "rows": train["arm"].value_counts().to_dict(), "model": model}

    cost_arr = per_account(scoring, cost, n_accounts)
    choosers = {
        "bau": None, "oracle": oracle_values,
        "model": model_values(per_account(scoring, model.uplift(scoring), n_accounts), cost_arr),
        "unweighted": model_values(per_account(scoring, unweighted.uplift(scoring), n_accounts), cost_arr),
        "naive_response": fixed_values(per_account(scoring, naive.predict_outcomes(scoring), n_accounts)),
        "sms_first": fixed_values(np.tile(-np.arange(len(CHANNELS), dtype=float), (n_accounts, 1))),
        "random": random_values,
    }
    world, holds, history, _, _ = simulate_world(n_accounts, history_days, seed, AS_OF, scenario=scenario)
    values = channel_swap_values(world, holds, history, choosers, days=days, seeds=play_seeds)
    result["policy"] = values
    result["captured"] = {p: captured_share(values, p) for p in values.index if p not in ("bau", "oracle")}
    return result


def simulated_portfolio(n_accounts: int, history_days: int, seed: int, scenario: str = "default", workdir=None,
                        none_sample: int = 3) -> dict:
    """Simulate a portfolio up to AS_OF, ingest it into an in-memory warehouse and return its frames:
    `train` (train_channel_response), `scoring` (features at AS_OF, one row per account), `truth`
    (truth_accounts), `costs` (channel_costs) and `accounts` (channel_card_accounts.sql: currency and
    last logged channel per account). The delivery and truth files are written under `workdir`
    (kept), or under a scratch directory that is removed before returning."""
    import tempfile
    from pathlib import Path

    import duckdb

    from features.build import stg_views
    from ingestion import load_delivery
    from models.channel_card import SQL_DIR
    from models.channel_data import channel_costs, channel_training_set, load_training_frame
    from simulator import simulate

    if workdir is None:  # a scratch directory, removed once the frames are in memory
        with tempfile.TemporaryDirectory(prefix="recobro-channel-") as scratch:
            return simulated_portfolio(n_accounts, history_days, seed, scenario, scratch, none_sample)
    work = Path(workdir)
    simulate(n_accounts, history_days, seed, work / "delivery", work / "truth", end_date=AS_OF, fmt="parquet",
             scenario=scenario)
    con = duckdb.connect()
    try:
        load_delivery(con, work / "delivery", validate=False)
        channel_training_set(con, AS_OF, none_sample=none_sample)
        frames = {"train": load_training_frame(con), "costs": channel_costs(con), "scoring": scoring_frame(con, AS_OF)}
        stg_views(con)
        con.execute("set variable as_of = cast(? as date)", [str(AS_OF)])
        frames["accounts"] = con.execute((SQL_DIR / "channel_card_accounts.sql").read_text(encoding="utf-8")).df()
    finally:
        con.close()
    frames["truth"] = pd.read_parquet(work / "truth" / "truth_accounts.parquet")
    return frames


def empirical_channel_values(world, holds, history, seeds=(101, 102, 103, 104), days: int = 30,
                             contact_day: int = 1) -> pd.DataFrame:
    """Realised value of one contact today, per account and channel, by play-forward (USD).

    For each channel: contact every eligible account (one per customer, where allowed and compliant)
    once on forward day `contact_day` (default 1: the simulated history ends on a Saturday, and
    several rule packs close on Sundays) at 12:00 local and nobody on any other day, versus contacting
    nobody at all. The difference in recovered money (same luck per account: common random numbers), averaged over
    `seeds`, minus the channel's unit cost. NaN where the account could not be contacted that way.
    This is the simulator's own dynamics, as opposed to `simulator.value.channel_effects`' formula.
    """
    from simulator import params as P
    from simulator.playforward import Actions, play_forward
    from simulator.reference import _finish

    n = len(world.accounts.customer)
    fx = np.array([P.FX[c] for c in P.COUNTRIES])[world.customers.country[world.accounts.customer]]

    def force(c, sent):
        def policy(state):
            if state.day != contact_day:
                return Actions.none()
            idx = np.flatnonzero(state.eligible & state.allowed[state.world.accounts.customer, c])
            a = _finish(state, idx, np.full(len(idx), c), np.full(len(idx), 12 * 60), -idx.astype(float))
            sent[a.account] = True
            return a
        return policy

    out = np.zeros((n, len(CHANNELS)))
    for seed in seeds:
        base = play_forward(world, holds, history, lambda s: Actions.none(), days=days, seed=seed).recovered
        for c in range(len(CHANNELS)):
            sent = np.zeros(n, dtype=bool)
            rec = play_forward(world, holds, history, force(c, sent), days=days, seed=seed).recovered
            diff = (rec - base) / 100.0 / fx - P.CHANNEL_COST_USD[c]
            out[:, c] += np.where(sent, diff, np.nan) / len(seeds)
    ids = [f"ACC-{i + 1:07d}" for i in range(n)]
    return pd.DataFrame(out, index=pd.Index(ids, name="account_id"), columns=list(CHANNELS))
