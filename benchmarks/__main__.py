"""Run every benchmark, or one: `python -m benchmarks [NAME [ARGS...]]`."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def available() -> list[str]:
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__ + "\navailable: " + ", ".join(names))
        return 0
    if argv:
        if argv[0] not in names:
            print(f"unknown benchmark {argv[0]!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return importlib.import_module(f"benchmarks.bench_{argv[0]}").main(argv[1:])
    status = 0
    for name in names:
        print(f"\n=== benchmark: {name} ===", flush=True)
        status |= importlib.import_module(f"benchmarks.bench_{name}").main([])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
