"""Benchmarks: each `benchmarks/bench_<name>.py` has `main(argv) -> int` and prints its numbers.

`make bench` (or `python -m benchmarks`) runs them all; `python -m benchmarks NAME [args]` runs one.
Numbers are reported as ratios measured side by side in the same run where a baseline exists,
because the machine is shared and noisy.
"""
