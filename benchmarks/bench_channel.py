"""Channel response model against the simulator's truth, and its training time at scale:
`python -m benchmarks channel [--accounts N] [--days D] [--seed S] [--scenario NAME] [--play-seeds 11,12,13]
[--learner path|response|residual|t] [--empirical] [--train-rows N] [--skip-policy]`.

Simulates a portfolio, ingests it, builds `train_channel_response`, fits the IPW channel model
(`models.channel`), an unweighted ablation and a naive "who answered" response model, then:

- rank agreement of predicted per-channel incremental value with `truth_accounts`;
- 30-day play-forward on the same world and luck where every policy contacts BAU's accounts
  with BAU's send minute and only the channel differs: BAU, oracle (truth's argmax), model,
  unweighted, naive_response, sms_first, random. Reported: realised net (USD), its captured
  share (model − BAU) / (oracle − BAU), and `ev_captured`, the same share scored with the
  truth's value function on the contacts actually sent (free of play-forward luck);
- with `--empirical`: the simulator's realised value of one contact per channel (play-forward,
  common random numbers) next to the truth file's formula, per channel on average;
- with `--ceiling-accounts N`: `models.channel_ceiling.features_ceiling`, what a scorer on the
  model's own features captures when it is fitted to the truth of a second portfolio of N accounts
  (one contact per account at as_of, the channel card's protocol), next to the model fitted on each
  portfolio's logs and the SMS-first rule: whether the gap to the oracle is the learner's or the features';
  and the same scorer given the birth year the feature policy forbids: what the policy costs;
- training at scale (`--train-rows`, default 1,000,000; 0 skips): a small portfolio's
  `train_channel_response` resampled to that many rows (`benchmarks.bench_models.resample_table`),
  then `models.channel_train.train_channel_model` (fit, held-out off-policy evaluation, MLflow
  logging and registration) and the bare `fit_channel_model` inside it, wall and CPU seconds.

The default size is 20,000 accounts: at 3,000 the training set is too small for six per-channel
effects of a few points each, and the captured share moves by tens of points between seeds.
Measured on the default scenario, seed 5, play seeds 11-13 (the history's dialer obeys the rule packs,
as the play-forward's policies must): the default path learner (`models.channel`, uplift =
P(engaged | c, x) x what an engaged contact's own path pays x (1 - the no-contact outcome)) gets
ev_captured 0.57 and a realised share of 0.36; the response learner (uplift = theta_c x
P(engaged | c, x), `--learner response`) 0.16 and 0.39; the one-line "SMS whenever allowed" rule 0.28
and 0.51; the naive "who answers" model 0.49 and 0.21. The two measures disagree on agent calls. The
truth values one isolated contact and prizes an answered agent call to a hardship debtor (a promise
for the whole past due, or a disclosed plan's direct debit). The play-forward repeats the model's
choice, fixed at as_of, on every one of BAU's contact days for 30 days. So an account the model would
call is called again after a broken promise, while the oracle re-reads the account's state each day.
In an exploratory count on 5,000 accounts (not a repo command, on the earlier history), the path model
called 1,698 accounts (818 of them three times or more), the oracle 851. The channel card's one-contact
protocol (seed 0, 20k accounts): path 0.46, SMS-first 0.30; recession 0.47 / 0.13. With
`--ceiling-accounts 100000`, the model captures 0.51 (0.54 trained on the 100k portfolio's own logs)
and a scorer fitted to the truth on the model's own features 0.60: the learner is within 0.06-0.10 of
what the features allow. The same scorer given the forbidden birth year (`distilled_with_age`, a
diagnostic only) captures 0.72: most of the rest is the price of the feature policy.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks channel")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--play-seeds", default="11,12,13")
    parser.add_argument("--learner", default="path", choices=("path", "response", "residual", "t"))
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--empirical", action="store_true")
    parser.add_argument("--train-rows", type=int, default=1_000_000, help="training-time rows (0: skip)")
    parser.add_argument("--train-accounts", type=int, default=3_000, help="simulated accounts behind the resampling")
    parser.add_argument("--skip-policy", action="store_true", help="only the training-time measurement")
    parser.add_argument("--ceiling-accounts", type=int, default=0,
                        help="also estimate what the model's features support, distilling the truth of a "
                             "second portfolio of this many accounts (0: skip)")
    args = parser.parse_args(argv)
    if not args.skip_policy:
        policy_comparison(args)
    if args.ceiling_accounts:
        features_ceiling(args)
    if args.train_rows:
        training_time(args.train_rows, args.train_accounts, args.days, args.seed)
    return 0


def policy_comparison(args) -> None:
    """Print the model against BAU, the oracle and the ablations on one simulated portfolio."""
    import numpy as np
    import pandas as pd

    from models.channel_eval import empirical_channel_values, evaluate_against_truth

    start = time.perf_counter()
    seeds = tuple(int(s) for s in args.play_seeds.split(","))
    r = evaluate_against_truth(args.accounts, args.days, args.seed, play_seeds=seeds,
                               model_params={"learner": args.learner}, scenario=args.scenario)
    print(f"portfolio: {args.accounts:,} accounts x {args.days} days, seed {args.seed}, scenario {args.scenario}, "
          f"play seeds {seeds}")
    truth = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r["truth"].items()
             if k != "spearman_per_channel"}
    print("training rows per arm:", r["rows"])
    print("truth agreement (IPW model):", json.dumps(truth))
    print("  per-channel Spearman:", {k: round(v, 3) for k, v in r["truth"]["spearman_per_channel"].items()})
    print("  unweighted pooled Spearman:", round(r["truth_unweighted"]["spearman_pooled"], 3))
    print(r["policy"].round(3).to_string())
    print("captured share of oracle's realised gain:", {k: round(v, 3) for k, v in r["captured"].items()})
    if args.empirical:
        from datetime import date

        from simulator import params as P
        from simulator import simulate_world

        world, holds, history, _, _ = simulate_world(args.accounts, args.days, args.seed, date(2026, 10, 31),
                                                      scenario=args.scenario)
        emp = empirical_channel_values(world, holds, history)
        print("realised value of one contact (USD, mean over contactable accounts):")
        print(pd.DataFrame({"realised": emp.mean(), "contactable": emp.notna().sum(),
                            "unit_cost": np.asarray(P.CHANNEL_COST_USD)}).round(3).to_string())
    print(f"elapsed {time.perf_counter() - start:.1f}s")


def features_ceiling(args) -> None:
    """Print `models.channel_ceiling.features_ceiling`: the card-protocol captured share of the model,
    of the model fitted on the bigger portfolio's logs, of the truth-distilled scorer and of SMS-first."""
    from models.channel_ceiling import features_ceiling as ceiling

    start = time.perf_counter()
    r = ceiling(args.accounts, args.ceiling_accounts, args.days, args.seed, args.scenario, {"learner": args.learner})
    print(f"features ceiling (card protocol: one contact per account at as_of, truth-valued; {r['rows']:,} accounts; "
          f"source portfolio {args.ceiling_accounts:,} accounts, seed {args.seed + 1}):")
    for name, share in r["captured"].items():
        print(f"  {name:<18} captured {share:6.3f}  mean net value {r['mean_value_usd'][name]:8.3f} USD")
    print(f"  oracle {r['mean_value_usd']['oracle']:.3f} USD, logged channel {r['mean_value_usd']['logged']:.3f} USD; "
          "distilled fit R^2 on the source: " + ", ".join(f"{c} {v:.2f}" for c, v in r["distilled_r2_source"].items()))
    print("  distilled_with_age is a diagnostic of the feature policy's price: the birth year it adds is forbidden "
          "as a model input")
    print(f"elapsed {time.perf_counter() - start:.1f}s")


def training_time(rows: int, accounts: int, days: int, seed: int) -> None:
    """Time `train_channel_model` on `rows` resampled decisions (temporary RECOBRO_HOME and MLflow store)."""
    import tempfile
    from datetime import date
    from pathlib import Path

    from benchmarks import home_settings
    from benchmarks.bench_models import CPU_SECONDS, _timed, resample_table
    from ingestion import load_delivery
    from models.channel import fit_channel_model
    from models.channel_data import TABLE, channel_training_set, load_training_frame
    from models.channel_train import train_channel_model
    from recobro.warehouse import connect
    from simulator import simulate

    as_of = date(2026, 10, 31)
    with tempfile.TemporaryDirectory(prefix="bench_channel_") as tmp:
        home = Path(tmp)
        settings = home_settings(home)
        t = time.perf_counter()
        simulate(accounts, days, seed, home / "delivery", settings.truth_dir, end_date=as_of, fmt="parquet")
        con = connect(settings)
        load_delivery(con, home / "delivery", validate=False)
        channel_training_set(con, as_of)
        # resample_table keys rows by (as_of, account_id): decision_date plays as_of for the draw
        con.execute(f"alter table {TABLE} rename column decision_date to as_of")
        resample_table(con, TABLE, rows, seed)
        con.execute(f"alter table {TABLE} rename column as_of to decision_date")
        print(f"channel training: {accounts:,} accounts x {days} days resampled to {rows:,} decisions "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
        trained, seconds = _timed(train_channel_model, con, settings, as_of)
        frame = load_training_frame(con)
        _, fit_seconds = _timed(fit_channel_model, frame)
        print(f"train channel_response rows {len(frame):>9,}  train_channel_model {seconds:7.1f} s "
              f"(cpu {CPU_SECONDS['train_channel_model']:.1f} s); bare fit_channel_model {fit_seconds:6.1f} s "
              f"(cpu {CPU_SECONDS['fit_channel_model']:.1f} s); held-out SNIPS gain "
              f"{trained.metrics.get('heldout_gain', float('nan')):.3f} USD per contact")
        con.close()
