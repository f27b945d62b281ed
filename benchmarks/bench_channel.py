"""Channel response model against the simulator's truth: `python -m benchmarks channel [--accounts N]
[--days D] [--seed S] [--play-seeds 11,12,13] [--learner residual|t] [--empirical]`.

Simulates a portfolio, ingests it, builds `train_channel_response`, fits the IPW channel model
(`models.channel`), an unweighted ablation and a naive "who answered" response model, then:

- rank agreement of predicted per-channel incremental value with `truth_accounts`;
- 30-day play-forward on the same world and luck where every policy contacts BAU's accounts
  with BAU's send minute and only the channel differs: BAU, oracle (truth's argmax), model,
  unweighted, naive_response, sms_first, random. Reported: realised net (USD), its captured
  share (model − BAU) / (oracle − BAU), and `ev_captured`, the same share scored with the
  truth's value function on the contacts actually sent (free of play-forward luck);
- with `--empirical`: the simulator's realised value of one contact per channel (play-forward,
  common random numbers) next to the truth file's formula, per channel on average.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks channel")
    parser.add_argument("--accounts", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--play-seeds", default="11,12,13")
    parser.add_argument("--learner", default="residual", choices=("residual", "t"))
    parser.add_argument("--empirical", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from models.channel_eval import empirical_channel_values, evaluate_against_truth

    start = time.perf_counter()
    seeds = tuple(int(s) for s in args.play_seeds.split(","))
    r = evaluate_against_truth(args.accounts, args.days, args.seed, play_seeds=seeds,
                               model_params={"learner": args.learner})
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

        world, holds, history, _, _ = simulate_world(args.accounts, args.days, args.seed, date(2026, 10, 31))
        emp = empirical_channel_values(world, holds, history)
        print("realised value of one contact (USD, mean over contactable accounts):")
        print(pd.DataFrame({"realised": emp.mean(), "contactable": emp.notna().sum(),
                            "unit_cost": np.asarray(P.CHANNEL_COST_USD)}).round(3).to_string())
    print(f"elapsed {time.perf_counter() - start:.1f}s")
    return 0
