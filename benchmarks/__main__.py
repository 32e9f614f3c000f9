"""``make bench``: run every ``benchmarks/bench_*.py`` in turn (or the ones named), each printing
what it measured. ``python -m benchmarks validation payments`` runs two of them."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    available = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = argv or available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr
        )
        return 2
    failures = 0
    for name in chosen:
        print(f"\n=== benchmark: {name} ===", flush=True)
        started = time.perf_counter()
        code = importlib.import_module(f"benchmarks.bench_{name}").main([])
        print(f"=== {name}: done in {time.perf_counter() - started:.1f} s (exit {code}) ===", flush=True)
        failures += bool(code)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
