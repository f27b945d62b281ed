"""Model training and scoring at scale: `python -m benchmarks models [--rows N] [--score-rows N]`.

A small portfolio is simulated, ingested and featurised once; its `train_*` tables and the
scoring snapshot are then resampled (rows drawn with replacement, new ids) to the requested
sizes, so every column is a real feature with a realistic distribution. Reported:

- training time per target (`models.train.train_models`: fit, calibration, evaluation, plots,
  MLflow logging and registration) and the bare LightGBM fit inside it;
- the scoring stage (`models.score.score_accounts`: features read from DuckDB, both champions
  loaded from the registry, `work_scores` written) without reason codes, next to a bare
  `booster.predict` of both boosters on the same matrices, side by side in the same run (target
  <= 1.5x); the same stage with SHAP reason codes for the actioned accounts (`--actioned`,
  default 30%; target <= 60 s at 1M); and TreeSHAP by per-leaf tables next to LightGBM's own
  pred_contrib on the same rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

AS_OF = date(2026, 10, 31)


def _timed(fn, *args, repeat: int = 1, **kwargs):
    """(result, best wall seconds of `repeat` calls). CPU seconds of all calls go to CPU_SECONDS."""
    best, out = float("inf"), None
    cpu = time.process_time()
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    CPU_SECONDS[fn.__name__] = (time.process_time() - cpu) / repeat
    return out, best


#: CPU seconds (all threads) per call of the last timed function of each name: the machine is
#: shared, so wall time alone can mislead.
CPU_SECONDS: dict[str, float] = {}


def build_portfolio(home: Path, accounts: int, days: int, seed: int):
    """Simulate, ingest and featurise one portfolio under `home`; returns (settings, con)."""
    from benchmarks import home_settings
    from features.build import fct_account_features, training_set
    from ingestion import load_delivery
    from recobro.warehouse import connect
    from simulator import simulate

    settings = home_settings(home)
    # the BAU truth (32 play-forwards) is not used here
    simulate(accounts, days, seed, home / "delivery", settings.truth_dir, end_date=AS_OF, bau_truth_runs=0)
    con = connect(settings)
    load_delivery(con, home / "delivery", validate=False)
    for target in ("pay_30d", "promise_kept"):
        training_set(con, target, AS_OF)
    fct_account_features(con, AS_OF)
    return settings, con


def resample_table(con, table: str, rows: int, seed: int) -> int:
    """Replace `table` by `rows` rows drawn with replacement (ids made unique); returns the count."""
    n = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    import pandas as pd

    draw = np.sort(np.random.default_rng(seed).integers(0, n, rows))
    con.register("bench_draw", pd.DataFrame({"i": draw, "k": np.arange(rows)}))
    ids = {c: f"{c} || '-' || cast(d.k as varchar) as {c}" for c in ("account_id", "promise_id", "customer_id")
           if c in [r[0] for r in con.execute(f"describe {table}").fetchall()]}
    replace = f"replace ({', '.join(ids.values())})" if ids else ""
    con.execute(f"""create or replace table {table} as
                    with src as (select *, row_number() over (order by as_of, account_id) - 1 as i from {table})
                    select src.* exclude (i) {replace} from src join bench_draw as d using (i)
                    order by as_of, account_id""")
    con.unregister("bench_draw")
    return rows


def bench_training(con, settings) -> dict:
    from models.estimator import CalibratedLGBMClassifier
    from models.train import default_feature_columns, read_training_set, train_models

    out = {}
    for target in ("pay_30d", "promise_kept"):
        [trained], seconds = _timed(train_models, con, settings, AS_OF, targets=(target,))
        df, features = read_training_set(con, target, AS_OF, default_feature_columns(target))
        _, fit_seconds = _timed(CalibratedLGBMClassifier(features=features).fit, df, df["label"], as_of=df["as_of"])
        out[target] = {"rows": len(df), "train_models_s": seconds, "bare_fit_s": fit_seconds,
                       "train_models_cpu_s": CPU_SECONDS["train_models"], "bare_fit_cpu_s": CPU_SECONDS["fit"],
                       "auc": trained.metrics.get("auc", float("nan"))}
    return out


def bench_scoring(con, settings, actioned: float, seed: int, shap_rows: int = 20_000) -> dict:
    """The scoring stage (`models.score.score_accounts`: read features, both champions, write
    `work_scores`) without and with reason codes, next to a bare `booster.predict` of both boosters
    on the same matrices, and TreeSHAP by per-leaf tables next to LightGBM's pred_contrib on
    `shap_rows` rows, all in one run."""
    from models.estimator import as_matrix
    from models.explain import shap_values
    from models.registry import REGISTERED_NAMES, load_champion
    from models.score import score_accounts

    promise, _ = load_champion(settings, REGISTERED_NAMES["promise_kept"])
    pay, _ = load_champion(settings, REGISTERED_NAMES["pay_30d"])
    X = con.execute("select * from fct_account_features order by account_id").df()
    Mp, Mq = as_matrix(X, promise.feature_names_), as_matrix(X, pay.feature_names_)
    chosen = np.random.default_rng(seed).random(len(X)) < actioned
    con.register("bench_chosen", X.loc[chosen, ["account_id"]])
    con.execute("create or replace table bench_actioned as select account_id from bench_chosen")
    con.execute("create or replace table bench_none as select account_id from bench_chosen limit 0")
    con.unregister("bench_chosen")

    def bare_predict(Mp, Mq):
        return promise.booster_.predict(Mp), pay.booster_.predict(Mq)

    def shap_tables(M):
        return shap_values(pay, M)

    def shap_lightgbm(M):
        return pay.booster_.predict(M, pred_contrib=True)

    _, bare_s = _timed(bare_predict, Mp, Mq, repeat=3)
    bare_cpu = CPU_SECONDS["bare_predict"]
    shap_values(pay, Mq.iloc[:10])  # compile and build the leaf tables once, as a scoring process does
    _, stage_s = _timed(score_accounts, con, settings, AS_OF, explain_accounts="bench_none", repeat=3)
    stage_cpu = CPU_SECONDS["score_accounts"]
    _, reasons_s = _timed(score_accounts, con, settings, AS_OF, explain_accounts="bench_actioned")
    reasons_cpu = CPU_SECONDS["score_accounts"]
    explained = con.execute("select count(reason_1) from work_scores").fetchall()[0][0]
    sample = Mq.iloc[:shap_rows]
    _, tables_s = _timed(shap_tables, sample)
    _, lightgbm_s = _timed(shap_lightgbm, sample)
    return {"rows": len(X), "actioned": int(chosen.sum()), "explained": int(explained),
            "bare_predict_s": bare_s, "bare_predict_cpu_s": bare_cpu,
            "stage_s": stage_s, "stage_cpu_s": stage_cpu, "stage_with_reasons_s": reasons_s,
            "stage_with_reasons_cpu_s": reasons_cpu, "shap_rows": len(sample), "shap_tables_s": tables_s,
            "shap_lightgbm_s": lightgbm_s}


def main(argv: list[str]) -> int:
    """Print training and scoring times at the requested size (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks models", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="training rows per target (issue target: 1000000)")
    ap.add_argument("--score-rows", type=int, default=None, help="accounts scored (default: --rows)")
    ap.add_argument("--actioned", type=float, default=0.3, help="share of scored accounts given reason codes")
    ap.add_argument("--accounts", type=int, default=3_000, help="simulated accounts behind the resampling")
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--home", type=Path, default=None, help="working folder (default: a temporary one)")
    args = ap.parse_args(argv)
    score_rows = args.score_rows or args.rows
    with tempfile.TemporaryDirectory(prefix="bench_models_") as tmp:
        home = args.home or Path(tmp)
        t = time.perf_counter()
        settings, con = build_portfolio(home, args.accounts, args.days, args.seed)
        for table, rows in (("train_pay_30d", args.rows), ("train_promise_kept", args.rows),
                            ("fct_account_features", score_rows)):
            resample_table(con, table, rows, args.seed)
        print(f"portfolio: {args.accounts} accounts x {args.days} days simulated and resampled to "
              f"{args.rows:,} training rows per target, {score_rows:,} scored accounts "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
        training = bench_training(con, settings)
        for target, r in training.items():
            print(f"train {target:<13} rows {r['rows']:>9,}  train_models {r['train_models_s']:7.1f} s "
                  f"(cpu {r['train_models_cpu_s']:.1f} s); bare calibrated LightGBM fit {r['bare_fit_s']:6.1f} s "
                  f"(cpu {r['bare_fit_cpu_s']:.1f} s); out-of-time AUC {r['auc']:.3f}")
        s = bench_scoring(con, settings, args.actioned, args.seed)
        print(f"score {s['rows']:,} accounts (both models); reasons for {s['explained']:,} actioned ({args.actioned:.0%}):")
        print(f"  bare booster.predict x2 (matrices given)        {s['bare_predict_s']:8.2f} s  (cpu {s['bare_predict_cpu_s']:.1f} s)")
        print(f"  scoring stage, probabilities (score_accounts)   {s['stage_s']:8.2f} s  ratio "
              f"{s['stage_s'] / s['bare_predict_s']:.2f}x (target <= 1.5x); cpu ratio "
              f"{s['stage_cpu_s'] / s['bare_predict_cpu_s']:.2f}x")
        print(f"  scoring stage, with reason codes                {s['stage_with_reasons_s']:8.2f} s  (target <= 60 s; "
              f"cpu {s['stage_with_reasons_cpu_s']:.1f} s)")
        print(f"  TreeSHAP on {s['shap_rows']:,} rows: per-leaf tables {s['shap_tables_s']:.2f} s vs LightGBM pred_contrib "
              f"{s['shap_lightgbm_s']:.2f} s -> {s['shap_lightgbm_s'] / s['shap_tables_s']:.1f}x faster")
        con.close()
    return 0
