"""Benchmarks: each `benchmarks/bench_<name>.py` has `main(argv) -> int` and prints its numbers.

`make bench` (or `python -m benchmarks`) runs them all; `python -m benchmarks NAME [args]` runs one.
Numbers are reported as ratios measured side by side in the same run where a baseline exists,
because the machine is shared and noisy.
"""


def peak_rss_gib() -> float:
    """This process's own peak resident memory, GiB.

    On Linux it is `VmHWM` from /proc/self/status, the high-water mark of this process's memory
    since it started its program. Not `getrusage(RUSAGE_SELF).ru_maxrss`: a child inherits at exec
    the peak of the process that started it (a benchmark child started by a 10 GiB parent reports
    10 GiB). Elsewhere, ru_maxrss, which macOS reports in bytes and the BSDs in KiB.
    """
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def home_settings(home):
    """Settings rooted in `home`, a benchmark's own RECOBRO_HOME (no config file), folders created.
    Sets RECOBRO_HOME, so a child process or a flow started afterwards sees the same home."""
    import os
    from pathlib import Path

    from recobro.settings import Settings

    os.environ["RECOBRO_HOME"] = str(home)
    os.environ.pop("RECOBRO_CONFIG", None)
    return Settings.load(config_file=Path(home) / "absent.toml").ensure_dirs()
