"""Feature and training-set build at scale: `python -m benchmarks features [--accounts 20000] [--train]`.

One portfolio is simulated (parquet) and ingested; then, in a child process per mode so each peak
memory is the child's own (`benchmarks.peak_rss_gib`), the warehouse builds what `recobro train`
and daily scoring read: `fct_account_features` at as_of, `train_pay_30d` (weekly snapshots),
`train_promise_kept` and `train_channel_response` (one row per logged decision). Modes:

- `batched`: `features.build.account_features` as shipped, a big spine built in account
  partitions of `FEATURE_BATCH_ROWS` spine rows;
- `one_statement`: the same SQL over the whole spine in one statement (the baseline: how the
  build ran before batching).

Both modes run side by side on the same delivery, and their tables must be identical (row counts
and an order-independent checksum of every table). It prints per table the seconds, rows and the
child's peak memory so far, then the ratios batched / one statement.

Measured at 100k accounts x 180 days (`python -m benchmarks features --accounts 100000`, what
`make bench` runs): batched 71.6 s and 4.48 GiB, one statement 65.9 s and 11.92 GiB (1.09x the
time, 0.38x the memory), identical tables. The one-statement peak grows with the spine (the channel
training set's 1.2M decisions), so at 1M accounts it would not fit this 24 GiB machine.
`--modes batched` runs the shipped build alone, and `--train` then trains the three models on its
tables, in the same child and with MLflow under its own home, as `recobro train` does. Training
sets keep about `features.build.TRAINING_MAX_ROWS` candidate rows, a hash sample of whole accounts.
Measured at 1M accounts x 180 days (`python -m benchmarks features --accounts 1000000 --modes
batched --train`, the second run `make bench` makes; full `make bench` at 8c6ac27, 29 min): the
four tables in 397.4 s, peaking at 9.53 GiB; train_pay_30d from a 0.343 sample of 8.7M candidate
rows (2.4M rows), train_channel_response from a 0.128 sample of 23.5M candidate decisions (1.55M
rows); the three models trained and registered in 226.0 s (target <= 300 s), so `recobro train`'s
work took 576.8 s. Without a cap the same build had not finished after 35 minutes (DuckDB at
18.8 GiB, spilling). At 100k accounts nothing is sampled (2.35M candidate decisions < 3M).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"batched": None, "one_statement": 10**12}  # spine rows per batch (None: the shipped default)
TABLES = ("fct_account_features", "train_pay_30d", "train_promise_kept", "train_channel_response")

_CHILD = """
import json, sys, time
from datetime import date
from pathlib import Path
from benchmarks import home_settings, peak_rss_gib
from features import build
from ingestion import load_delivery
from models.channel_data import channel_training_set
from recobro.warehouse import connect
folder, mode, batch_rows = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if batch_rows != "default":
    build.FEATURE_BATCH_ROWS = int(batch_rows)
con = connect(home_settings(folder / mode))
as_of = date.fromisoformat(sys.argv[4])
out = {"batch_rows": build.FEATURE_BATCH_ROWS}
t = time.perf_counter()
load_delivery(con, folder / "delivery", validate=False)
out["load"] = {"seconds": time.perf_counter() - t, "peak_gib": peak_rss_gib()}
steps = {"fct_account_features": lambda: build.fct_account_features(con, as_of),
         "train_pay_30d": lambda: build.training_set(con, "pay_30d", as_of),
         "train_promise_kept": lambda: build.training_set(con, "promise_kept", as_of),
         "train_channel_response": lambda: channel_training_set(con, as_of)}
for table, step in steps.items():
    t = time.perf_counter()
    step()
    seconds = time.perf_counter() - t
    rows, checksum = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {table} as t").fetchall()[0]
    out[table] = {"seconds": seconds, "rows": rows, "checksum": str(checksum), "peak_gib": peak_rss_gib()}
out["samples"] = {t: {k: build.training_sample(con, t)[k] for k in ("rows_before", "account_share")}
                  for t in list(steps)[1:]}
if sys.argv[5] == "train":
    from models.channel_train import train_channel_model
    from models.train import train_models
    settings = home_settings(folder / mode)
    fits = {"promise_kept": lambda: train_models(con, settings, as_of, targets=("promise_kept",))[0],
            "pay_30d": lambda: train_models(con, settings, as_of, targets=("pay_30d",))[0],
            "channel_response": lambda: train_channel_model(con, settings, as_of)}
    out["train"] = {}
    for target, fit in fits.items():
        t = time.perf_counter()
        trained = fit()
        out["train"][target] = {"seconds": time.perf_counter() - t, "reused": trained.reused,
                                "model": trained.model_ref, "peak_gib": peak_rss_gib()}
con.close()
print(json.dumps(out))
"""


def run_mode(folder: Path, mode: str, as_of: str, batch_rows: int | None = None, train: bool = False) -> dict:
    """Build every table in a child process; its timings, row counts, checksums and peak memory.
    `batch_rows` overrides the batched mode's spine rows per batch; `train` then trains the three
    models on the tables built (MLflow under the child's own home), as `recobro train` does."""
    rows = batch_rows if mode == "batched" and batch_rows else MODES[mode]
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(folder), mode, "default" if rows is None else str(rows), as_of,
                           "train" if train else "build"],
                          capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        raise RuntimeError(f"feature build ({mode}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks features", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--batch-rows", type=int, default=None,
                        help="spine rows per batch in the batched mode (default: FEATURE_BATCH_ROWS)")
    parser.add_argument("--modes", default="batched,one_statement", help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--train", action="store_true",
                        help="then train the three models on the batched tables, as `recobro train` does")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    if unknown := sorted(set(modes) - set(MODES)):
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    from datetime import date

    from simulator import simulate

    as_of = date(2026, 10, 31)
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        simulate(args.accounts, args.days, args.seed, folder / "delivery", folder / "truth", end_date=as_of,
                 fmt="parquet", bau_truth_runs=0)
        print(f"feature build: {args.accounts:,} accounts x {args.days} days simulated in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        for mode in modes:
            results[mode] = run_mode(folder, mode, as_of.isoformat(), args.batch_rows, args.train and mode == "batched")
            r = results[mode]
            print(f"\n{mode} (spine rows per batch {r['batch_rows']:,}): load {r['load']['seconds']:.1f} s")
            print(f"  {'table':<24} {'rows':>11} {'seconds':>8} {'peak GiB so far':>16}")
            for table in TABLES:
                print(f"  {table:<24} {r[table]['rows']:>11,} {r[table]['seconds']:>8.1f} {r[table]['peak_gib']:>16.2f}")
            print(f"  {'all four':<24} {'':>11} {sum(r[x]['seconds'] for x in TABLES):>8.1f} "
                  f"{r[TABLES[-1]]['peak_gib']:>16.2f}", flush=True)
            sampled = {k: v for k, v in r["samples"].items() if v["account_share"] < 1}
            for table, v in sampled.items():
                print(f"  {table}: a {v['account_share']:.3f} hash sample of accounts "
                      f"({v['rows_before']:,} candidate rows; training_max_rows)")
            if "train" in r:
                fit = sum(v["seconds"] for v in r["train"].values())
                print(f"  {'registered model':<36} {'seconds':>8} {'peak GiB so far':>16}  (the first includes"
                      " creating the MLflow store)")
                for v in r["train"].values():
                    print(f"  {v['model']:<36} {v['seconds']:>8.1f} {v['peak_gib']:>16.2f}"
                          + ("  (reused)" if v["reused"] else ""))
                built = sum(r[x]["seconds"] for x in TABLES[1:])
                print(f"  {'the three models':<36} {fit:>8.1f}\n"
                      f"  recobro train (training sets {built:.1f} s + models {fit:.1f} s): {built + fit:.1f} s",
                      flush=True)
    if {"batched", "one_statement"} <= set(results):
        b, o = results["batched"], results["one_statement"]
        same = all((b[x]["rows"], b[x]["checksum"]) == (o[x]["rows"], o[x]["checksum"]) for x in TABLES)
        print(f"\nbatched / one statement: time {sum(b[x]['seconds'] for x in TABLES) / sum(o[x]['seconds'] for x in TABLES):.2f}x, "
              f"peak memory {b[TABLES[-1]]['peak_gib'] / o[TABLES[-1]]['peak_gib']:.2f}x; "
              f"tables identical (rows and checksums): {'yes' if same else 'NO'}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
