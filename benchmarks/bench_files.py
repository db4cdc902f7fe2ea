"""Loading, checking and explaining exercise files as they grow: linear, up to the 1 MB limit.

Issue 16 measured quadratic loading (a 190 KB file in 13.6 s) and quadratic ``explain``
output (a 45 KB file gave 37 MB of text).  Two shapes are grown to the 1 MB file limit
and loaded, checked and explained (``symtrace explain``, text) at each size; the fitted
exponent of time (and of the explanation's length) against file size should stay near 1:

* **deep**: a chain of up to 10,000 nodes (the node limit), each definition about 90
  characters, an answer for every tenth node;
* **wide**: 150 nodes (a derivation written in symbols, below
  ``printing.SYMBOLIC_NODES``) whose definitions grow to thousands of characters each,
  so that every compact adjoint is a long product: the shape that gave 37 MB.  Half its
  answers are numbers, half are formulas (``2*cos(x10)``), judged against those long
  adjoints (15 answers of a 49 KB file took 115 s to check).

Each step is timed after a full garbage collection, as ``common.best_time`` does: what
earlier files left behind (printed text and shapes kept by the caches, two million
objects after the deep files) is not collected inside the step measured (one collection
of it takes seconds).

The hostile shapes (dotted keys, FIFOs, too many answers) are guarded in
``tests/test_exercise_limits.py``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from symtrace.cli import explain
from symtrace.exercise import MAX_FILE_BYTES, MAX_NODES, loads

from common import fit_exponent, ms, table


def deep(n: int) -> str:
    """A chain of ``n`` definitions, each mixing the previous node and an input."""
    lines = ['output = "L"', "[inputs]", "x0 = 0.5", "y = 0.3", "[define]"]
    lines += [
        f'x{i} = "0.5*x{i - 1} + 0.25*sin(x{i - 1} + y) - 0.125*cos(x{i - 1}*y) '
        f'+ 0.0625*tanh(x{i - 1} - y)"'
        for i in range(1, n)
    ]
    lines += [f'L = "x{n - 1}*2"', "[answers]"]
    lines += [f'"dL/dx{i}" = 2' for i in range(0, n, 10)]
    return "\n".join(lines) + "\n"


def wide(terms: int, n: int = 150) -> str:
    """``n`` definitions, each a sum of ``terms`` sines of the previous node; every tenth
    node's gradient answered, alternately with a number and with a formula."""
    lines = ['output = "L"', "[inputs]", "x0 = 0.5", "y = 0.3", "[define]"]
    for i in range(1, n):
        body = " + ".join(f"{0.5 / terms:.6f}*sin({k}*x{i - 1} + y)" for k in range(1, terms + 1))
        lines.append(f'x{i} = "{body}"')
    lines += [f'L = "x{n - 1}*2"', "[answers]"]
    lines += [
        f'"dL/dx{i}" = "2*cos(x{i})"' if i % 20 else f'"dL/dx{i}" = 2' for i in range(0, n, 10)
    ]
    return "\n".join(lines) + "\n"


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(text: str, folder: Path) -> tuple[float, float, float, int]:
    """Seconds to load, check and explain ``text``, and the explanation's length."""
    if len(text) > MAX_FILE_BYTES:
        raise AssertionError(f"the benchmark file is over the limit: {len(text):,} bytes")
    path = folder / "exercise.toml"
    path.write_text(text, encoding="utf-8")
    load_time, ex = _timed(lambda: loads(text))
    check_time, _ = _timed(ex.check)  # type: ignore[attr-defined]
    explain_time, out = _timed(lambda: explain(str(path)))
    return load_time, check_time, explain_time, len(str(out))


def run(quick: bool = False) -> tuple[str, list[str]]:
    shapes: dict[str, tuple[Callable[[int], str], list[int]]] = {
        "deep": (deep, [500, 1000, 2000] if quick else [1250, 2500, 5000, MAX_NODES - 2]),
        "wide": (wide, [4, 8, 16] if quick else [6, 12, 24, 45]),
    }
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, sizes) in shapes.items():
            nbytes, results = [], []
            for size in sizes:
                text = make(size)
                print(f"  {name} {size}: {len(text) / 1000:.0f} KB")
                r = measure(text, Path(tmp))
                results.append(r)
                nbytes.append(len(text))
                nodes = size + 2 if name == "deep" else 150  # x0, y and L besides
                rows.append(
                    [
                        name,
                        f"{nodes:,}",
                        f"{len(text) / 1000:.0f} KB",
                        ms(r[0]),
                        ms(r[1]),
                        ms(r[2]),
                        f"{r[3] / 1000:.0f} KB",
                    ]
                )
            ks = [fit_exponent(nbytes, [r[k] for r in results]) for k in range(4)]
            rows.append([name, "exponent k (∝ size^k)", "", *(f"{k:.2f}" for k in ks)])
            notes.append(
                f"{name.capitalize()} files up to {nbytes[-1] / 1000:.0f} KB: loading grows as "
                f"size^{ks[0]:.2f}, checking as size^{ks[1]:.2f}, explaining as "
                f"size^{ks[2]:.2f} and the explanation's length as size^{ks[3]:.2f} "
                "(1 is linear)."
            )
    header = ["shape", "nodes", "file", "load", "check", "explain", "explanation"]
    return table(header, rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
