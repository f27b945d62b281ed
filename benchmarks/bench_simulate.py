"""Simulator at scale: `python -m benchmarks simulate [--sizes 100000,1000000] [--days 180]`.

Each size runs in its own child process (so peak memory is that run's alone): wall time,
CPU seconds and the child's own peak resident memory (`benchmarks.peak_rss_gib`, the child's
VmHWM: the parent's RUSAGE_CHILDREN would report the largest child any earlier benchmark started,
and the child's own ru_maxrss includes the parent's peak, which it inherits at exec) of
`simulator.simulate(n, days, seed)` writing a CSV delivery plus truth into a temporary
folder. Sizes run side by side in the same invocation, so the scaling ratio (time per
account at the largest size over the smallest) is comparable on a shared, noisy machine.
Targets (issue 3): 1,000,000 accounts x 180 days under 3 minutes and 8 GiB, scaling linearly.
The BAU truth (`truth_accounts.p_pay_30d_bau`, 32 BAU play-forwards by default) is an evaluation
aid, not part of the portfolio: it is left out here (`bau_truth_runs=0`); at 20k accounts it adds
about 10 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 180.0
TARGET_GIB = 8.0

_CHILD = """
import json, sys, time
from pathlib import Path
from benchmarks import peak_rss_gib
from simulator import simulate
n, days, seed, folder, scenario = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
t = time.perf_counter()
counts = simulate(n, days, seed, folder / "delivery", folder / "truth", scenario=scenario, bau_truth_runs=0)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": sum(v for k, v in counts.items() if not k.startswith("truth")),
                  "peak_gib": peak_rss_gib()}))
"""


def run_one(n: int, days: int, seed: int, scenario: str) -> dict:
    """Simulate one size in a child process; wall/CPU seconds, peak RSS in GiB and rows written."""
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(days), str(seed), tmp, scenario],
                              capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1])
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"simulate({n}) failed:\n{proc.stderr[-2000:]}")
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "accounts": n, "wall_s": round(wall, 1), "simulate_s": round(inner["seconds"], 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "peak_gib": round(inner["peak_gib"], 2), "rows": inner["rows"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated account counts, ascending")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="default")
    args = parser.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    results = [run_one(n, args.days, args.seed, args.scenario) for n in sizes]
    print(f"{'accounts':>10} {'wall s':>8} {'simulate s':>10} {'cpu s':>8} {'peak GiB':>9} {'rows':>12} {'us/acct':>8}")
    for r in results:
        print(f"{r['accounts']:>10,} {r['wall_s']:>8} {r['simulate_s']:>10} {r['cpu_s']:>8} {r['peak_gib']:>9} "
              f"{r['rows']:>12,} {1e6 * r['simulate_s'] / r['accounts']:>8.1f}")
    small, large = results[0], results[-1]
    if len(results) > 1:
        ratio = (large["simulate_s"] / large["accounts"]) / (small["simulate_s"] / small["accounts"])
        print(f"scaling: time per account at {large['accounts']:,} is {ratio:.2f}x that at {small['accounts']:,}"
              " (1.0 = linear)")
    ok = large["accounts"] < 1_000_000 or (large["simulate_s"] <= TARGET_SECONDS and large["peak_gib"] <= TARGET_GIB)
    print(f"target at 1,000,000 x {args.days} days: <= {TARGET_SECONDS:.0f} s and <= {TARGET_GIB:.0f} GiB -> "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
