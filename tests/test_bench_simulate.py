"""The simulate benchmark's peak memory is its own child's, whatever ran before it in the process."""

import subprocess
import sys

from benchmarks.bench_simulate import run_one


def test_peak_memory_is_the_simulation_childs_own_not_an_earlier_childs():
    # an earlier, larger child (as `make bench` runs the ingest benchmark's before the simulator's)
    subprocess.run([sys.executable, "-c", "b = bytearray(1_500_000_000); b[::4096] = b'x' * len(b[::4096])"],
                   check=True)
    result = run_one(1_000, 20, 0, "default")
    assert result["rows"] > 0
    assert 0.05 < result["peak_gib"] < 1.2, result
