"""Run every benchmark at the sizes the issues set, or one: `python -m benchmarks [NAME [ARGS...]]`.

`python -m benchmarks` (what `make bench` runs) uses ISSUE_SIZES: 1M accounts for simulation,
ingest and models, 100k for the feature build's side-by-side comparison, then `recobro train`'s
work on a 1M-account portfolio (about 13 minutes of it). On 2 cores it takes about 30 minutes
(29 min 7 s at 8c6ac27), and it prints its own peak memory after each benchmark (the channel
benchmark's, which led until its feature build ran in batches, measured 5.9 GiB alone: its
1M-decision training, `python -m benchmarks channel --skip-policy`, 5.4 GiB). `python -m benchmarks
NAME` runs one benchmark with its own, smaller defaults unless arguments are given; `--quick` runs
all of them so.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks import peak_rss_gib


#: the runs (argument lists) per benchmark for the sizes named in the issues' "done when" lists
ISSUE_SIZES = {
    "simulate": [[]],  # 100k and 1M accounts x 180 days
    "ingest": [["--accounts", "1000000", "--expectations"]],  # GE (suite, Data Docs, import) timed too
    # batched against one statement, side by side (the one-statement baseline would not fit at 1M);
    # then `recobro train`'s work on a 1M-account portfolio: capped training sets and the three models
    "features": [["--accounts", "100000"], ["--accounts", "1000000", "--modes", "batched", "--train"]],
    "models": [["--rows", "1000000"]],
    # policy value at 20k accounts, what the features support (truth of a 100k portfolio), training time at 1M rows
    "channel": [["--ceiling-accounts", "100000"]],
}


def available() -> list[str]:
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__ + "\navailable: " + ", ".join(names))
        return 0
    if argv and argv[0] != "--quick":
        if argv[0] not in names:
            print(f"unknown benchmark {argv[0]!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return run(argv[0], argv[1:])
    quick = argv[:1] == ["--quick"]
    status = 0
    for name in names:
        for args in [[]] if quick else ISSUE_SIZES.get(name, [[]]):
            print(f"\n=== benchmark: {name} {' '.join(args)} ===", flush=True)
            status |= run(name, args)
    return status


def run(name: str, args: list[str]) -> int:
    """One benchmark's `main(args)`, then this process's peak memory so far (children report their own)."""
    status = importlib.import_module(f"benchmarks.bench_{name}").main(args)
    print(f"=== {name} done; peak memory of this process so far {peak_rss_gib():.2f} GiB "
          "(children report their own) ===", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
