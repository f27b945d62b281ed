"""The simulate benchmark's peak memory is its own child's, whatever ran before it in the process."""

import subprocess
import sys

from benchmarks.bench_simulate import run_one


def _touch(size: int) -> bytearray:
    block = bytearray(size)
    block[::4096] = b"x" * len(block[::4096])  # touch every page, so it is resident
    return block


def test_peak_memory_is_the_simulation_childs_own_not_an_earlier_childs_nor_the_parents():
    # an earlier, larger child (as `make bench` runs the ingest benchmark's before the simulator's)
    subprocess.run([sys.executable, "-c", "b = bytearray(1_500_000_000); b[::4096] = b'x' * len(b[::4096])"],
                   check=True)
    # and a large parent: a child's ru_maxrss would include this, inherited at exec
    held = _touch(1_500_000_000)
    result = run_one(1_000, 20, 0, "default")
    del held
    assert result["rows"] > 0
    assert 0.05 < result["peak_gib"] < 1.2, result


def test_peak_rss_gib_follows_what_the_process_touches():
    code = ("from benchmarks import peak_rss_gib\n"
            "before = peak_rss_gib()\n"
            "b = bytearray(300_000_000); b[::4096] = b'x' * len(b[::4096])\n"
            "print(before, peak_rss_gib())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    before, after = map(float, out)
    assert 0.0 < before < 0.2 and 0.25 < after - before < 0.4
