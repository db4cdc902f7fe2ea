"""Views of long graphs: the reverse table, the derivation and the DOT text of a chain.

The chain is ``v_k = sin(v_{k-1}) + v_{k-1}``, whose adjoints in symbols grow with the
depth.  The reverse table must take under a second at depth 800 (text and Markdown) and
grow at most as n^1.2; ``to_dot`` (with a Gradient) and ``derivation`` must be linear up
to 100,000 nodes (they print numbers, not the growing symbolic adjoints, above
``printing.SYMBOLIC_NODES`` / ``dot.NUMERIC_ABOVE`` nodes), and ``to_dot`` of 100,000
nodes should take a few seconds (it prints one definition per shape, not per node).
The exponent is fitted on log time against log size.  ``python -m symtrace --help``
start-up is measured too: it imports the package, so SymPy (the console script
``symtrace`` does not: ``bench_cli.py``).
"""

from __future__ import annotations

import subprocess
import sys
import time

import sympy

from symtrace import Trace

from common import best_time, fit_exponent, ms, table


def chain(n: int) -> tuple[Trace, sympy.Symbol]:
    t = Trace()
    v = t.input("x", 0.5)
    for k in range(n):
        v = t.define(f"v{k}", sympy.sin(v) + v)
    return t, v


def _measure(sizes: list[int], what: str) -> list[float]:
    times = []
    for n in [50, *sizes]:  # the first run warms SymPy's caches up and is not counted
        t, y = chain(n)
        if what == "table text":
            times.append(best_time(lambda t=t, y=y: t.table(y).to_text(), repeats=1))
        elif what == "table markdown":
            times.append(best_time(lambda t=t, y=y: t.table(y).to_markdown(), repeats=1))
        elif what == "to_dot(grad)":
            times.append(best_time(lambda t=t, y=y: t.to_dot(t.grad(y)), repeats=1))
        else:
            times.append(best_time(lambda t=t, y=y: str(t.derivation(y)), repeats=1))
    return times[1:]


def _startup(args: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "symtrace", *args], capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def run(quick: bool = False) -> tuple[str, list[str]]:
    small = [100, 200, 400, 800]
    big = [2_000, 8_000] if quick else [10_000, 30_000, 100_000]
    cases = [
        ("table text", small),
        ("table markdown", small),
        ("to_dot(grad)", big),
        ("derivation", big),
    ]
    rows, notes = [], []
    for what, sizes in cases:
        times = _measure(sizes, what)
        exponent = fit_exponent([float(n) for n in sizes], times)
        rows.append(
            [
                what,
                ", ".join(f"{n:,}" for n in sizes),
                ", ".join(ms(s) for s in times),
                f"n^{exponent:.2f}",
            ]
        )
        target = 1.2 if what.startswith("table") else 1.1
        verdict = "meets" if exponent <= target else "misses"
        extra = f", {ms(times[-1])} at depth {sizes[-1]:,}"
        notes.append(f"Chain {what}: grows as n^{exponent:.2f} ({verdict} n^{target}){extra}.")
    startup = {}
    for args in (["--version"], ["--help"]):
        startup[args[0]] = _startup(args)
        rows.append([f"python -m symtrace {args[0]}", "", ms(startup[args[0]]), ""])
    notes.append(
        f"python -m symtrace --help takes {ms(startup['--help'])}: it imports the package "
        "(SymPy); the console script `symtrace` answers without it (next section)."
    )
    header = ["view of a chain", "depths", "times", "growth"]
    return table(header, rows), notes
