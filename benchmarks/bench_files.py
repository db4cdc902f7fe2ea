"""Loading and checking exercise files as they grow: linear, up to the 1 MB limit.

Issue 16 measured quadratic loading (a 190 KB file in 13.6 s).  Here chains of
definitions with an answer per node are loaded and checked at growing sizes; the fitted
exponent of time against size should stay near 1.  The hostile shapes (dotted keys,
FIFOs, too many answers) are guarded in ``tests/test_exercise_limits.py``.
"""

from __future__ import annotations

import sys

from symtrace.exercise import MAX_NODES, loads

from common import best_time, fit_exponent, ms, table


def chain(n: int) -> str:
    lines = ['output = "L"', "[inputs]", "x0 = 1", "[define]"]
    lines += [f'x{i} = "x{i - 1} + 1"' for i in range(1, n)]
    lines += [f'L = "x{n - 1}*2"', "[answers]"]
    lines += [f'"dL/dx{i}" = 2' for i in range(0, n, max(1, n // 1000))]
    return "\n".join(lines) + "\n"


def run(quick: bool = False) -> tuple[str, list[str]]:
    sizes = [500, 1000, 2000] if quick else [1000, 2500, 5000, MAX_NODES - 1]
    rows, loads_t, checks_t, nbytes = [], [], [], []
    for n in sizes:
        text = chain(n)
        load_time = best_time(lambda text=text: loads(text), repeats=1)
        ex = loads(text)
        check_time = best_time(ex.check, repeats=1)
        rows.append([f"{n:,}", f"{len(text) / 1000:.0f} KB", ms(load_time), ms(check_time)])
        loads_t.append(load_time)
        checks_t.append(check_time)
        nbytes.append(len(text))
    k_load, k_check = fit_exponent(nbytes, loads_t), fit_exponent(nbytes, checks_t)
    notes = [
        f"Loading grows as size^{k_load:.2f} and checking as size^{k_check:.2f} (1 is linear)."
    ]
    return table(["nodes", "file", "load", "check"], rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
