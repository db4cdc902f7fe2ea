"""Big graphs: tracing, the adjoint program, numbers (reverse and forward) and compiling at up
to 100,000 nodes (the size tests/test_scale.py used to run).

The graph is the chain ``x_{i+1} = sin(x_i)*x_i + x_0`` (every node also feeds the
output through ``x_0``'s fan-out).  Each size runs in a fresh process, whose peak
resident memory (above the interpreter with symtrace imported) is reported.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
from typing import Any

from common import fit_exponent, ms, table

STAGES = [
    "trace",
    "adjoint program",
    "value + numeric gradient",
    "forward tangents",
    "compile (numpy)",
    "compiled call",
]


def _peak_bytes() -> float:
    """Peak resident memory of this process (VmHWM), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            lines = f.read().splitlines()
        for line in lines:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _reset_peak() -> None:
    # A spawned process inherits its parent's peak; Linux resets it on "5".
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


def _measure(n: int, queue: Any) -> None:
    import sympy

    from symtrace import Trace

    _reset_peak()
    base = _peak_bytes()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    t = Trace()
    x0 = t.input("x0", 0.5)
    x = x0
    for i in range(n):
        x = t.define(f"x{i + 1}", sympy.sin(x) * x + x0)
    out["trace"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for eq in t.graph.equations:
        t.graph.local_partials(eq.index)  # () for an input
    out["adjoint program"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    t.value(x)
    reverse = t.grad(x).value(x0)
    out["value + numeric gradient"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    forward = t.tangents(x0).value(x)
    out["forward tangents"] = time.perf_counter() - t0
    if abs(forward - reverse) > 1e-9 * max(1.0, abs(reverse)):  # the two modes must agree
        raise AssertionError(f"chain of {n} nodes: tangent {forward} != adjoint {reverse}")
    t0 = time.perf_counter()
    fn = t.compile(x)
    out["compile (numpy)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn()
    out["compiled call"] = time.perf_counter() - t0
    out["memory"] = _peak_bytes() - base
    queue.put(out)


def measure(n: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(n, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result  # type: ignore[no-any-return]


def run(quick: bool = False) -> tuple[str, list[str]]:
    sizes = [5_000, 10_000, 20_000] if quick else [25_000, 50_000, 100_000]
    results = []
    for n in sizes:
        print(f"  chain of {n:,} nodes")
        results.append(measure(n))
    rows = []
    for n, r in zip(sizes, results, strict=True):
        rows.append([f"{n:,}", *(ms(r[s]) for s in STAGES), f"{r['memory'] / 2**20:.0f} MB"])
    exps = [fit_exponent(sizes, [r[s] for r in results]) for s in STAGES]
    mem_exp = fit_exponent(sizes, [max(r["memory"], 1.0) for r in results])
    rows.append(["exponent k (∝ n^k)", *(f"{k:.2f}" for k in exps), f"{mem_exp:.2f}"])
    notes = [
        f"Chain of {sizes[-1]:,} nodes: "
        + ", ".join(f"{s} {ms(results[-1][s])}" for s in STAGES)
        + f"; fitted exponents {', '.join(f'{k:.2f}' for k in exps)} (1 = linear)."
    ]
    return table(["nodes", *STAGES, "peak memory"], rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
