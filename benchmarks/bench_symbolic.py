"""Symbolic gradients: symtrace's adjoints vs ``sympy.diff`` on the inlined expression.

* Chains ``x_{i+1} = sin(x_i)*x_i + x_0``: symtrace's adjoint program (every local
  partial of every node, which is what the reverse sweep multiplies together) and every
  compact adjoint ``g[x]`` (inherently quadratic in total size: ``g[x_i]`` is a
  product over the ``n - i`` nodes above it), at depths 100..1000 with the fitted
  exponent, SymPy's cache cleared before each run; plain
  ``sympy.diff`` of the inlined expression at depths 5..15, each in a subprocess with a
  time limit.
* The micrograd 2-16-16-1 MLP on one point (~1,000 nodes): trace + every symbolic
  adjoint; numeric gradient at new inputs (``t.set`` then ``grad(...).value``) vs
  micrograd's forward + backward.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from typing import Any

import sympy
from sympy.core.cache import clear_cache

from symtrace import Trace, Value

from bench_value import make_mlp, micrograd_value_class
from common import best_time, fit_exponent, loop_time, ms, table


def chain(depth: int) -> tuple[Trace, sympy.Symbol, sympy.Symbol]:
    t = Trace()
    x0 = t.input("x0", 0.5)
    x = x0
    for i in range(depth):
        x = t.define(f"x{i + 1}", sympy.sin(x) * x + x0)
    return t, x0, x


def _inlined_diff(depth: int, queue: Any) -> None:
    x0 = sympy.Symbol("x0", real=True)
    x = x0
    for _ in range(depth):
        x = sympy.sin(x) * x + x0
    t0 = time.perf_counter()
    d = sympy.diff(x, x0)
    queue.put((time.perf_counter() - t0, sympy.count_ops(d, visual=False)))


def inlined(depth: int, timeout: float) -> tuple[float, int] | None:
    """Time of ``sympy.diff`` of the inlined depth-N chain, or None past ``timeout``."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_inlined_diff, args=(depth, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None
    return queue.get() if not queue.empty() else None  # type: ignore[no-any-return]


def run(quick: bool = False) -> tuple[str, list[str]]:
    depths = [100, 200, 400] if quick else [100, 200, 400, 700, 1000]
    timeout = 10.0 if quick else 30.0
    notes: list[str] = []
    rows: list[list[str]] = []
    t_prog, t_all = [], []
    for n in depths:
        t0 = time.perf_counter()
        t, _, y = chain(n)
        build = time.perf_counter() - t0

        def program(t: Trace = t) -> None:
            t.graph.clear_symbolic_caches()
            clear_cache()  # cold: SymPy's own cache would hide the work on a rerun
            for eq in t.graph.equations:
                t.graph.local_partials(eq.index)  # () for an input

        prog = best_time(program, 3)

        def every(t: Trace = t, y: sympy.Symbol = y) -> None:
            clear_cache()
            g = t.grad(y)
            for node in t.nodes:
                g[node]

        allt = best_time(every, 1 if n > 400 else 3)
        t_prog.append(prog + build)
        t_all.append(allt)
        rows.append([f"chain, depth {n}", ms(build), ms(prog), ms(allt), "—"])
    e_prog = fit_exponent(depths, t_prog)
    e_all = fit_exponent(depths, t_all)
    rows.append(
        ["fitted exponent (time ∝ depth^k)", "", f"k = {e_prog:.2f}", f"k = {e_all:.2f}", ""]
    )
    for n in [5, 8, 10, 12, 15] if not quick else [5, 8, 10]:
        got = inlined(n, timeout)
        if got is None:
            rows.append([f"chain, depth {n}", "—", "—", "—", f"did not finish in {timeout:.0f} s"])
            break
        seconds, ops = got
        t, _x0, y = chain(n)
        allt = best_time(lambda t=t, y=y: [t.grad(y)[s] for s in t.nodes], 3)
        rows.append([f"chain, depth {n}", "—", "—", ms(allt), f"{ms(seconds)} ({ops:,} ops)"])
    i200 = depths.index(200)
    notes.append(
        f"Depth-200 chain: trace + adjoint program {ms(t_prog[i200])}, every compact adjoint "
        f"{ms(t_all[i200])} (target < 0.5 s: {'met' if t_all[i200] < 0.5 else 'not met'}); "
        f"exponents {e_prog:.2f} (program) and {e_all:.2f} (every compact adjoint)."
    )
    header = [
        "graph",
        "trace",
        "adjoint program (all local partials)",
        "every compact adjoint g[x]",
        "sympy.diff on the inlined expression",
    ]
    text = table(header, rows)
    mlp_text, mlp_notes = _mlp()
    return text + "\n\n" + mlp_text, notes + mlp_notes


def _mlp() -> tuple[str, list[str]]:
    def build() -> tuple[Trace, Any]:
        model = make_mlp(Value, [2, 16, 16, 1])
        x1, x2, y = Value(0.3, label="x1"), Value(-0.7, label="x2"), Value(1.0, label="y")
        t = ((model([x1, x2]) - y) ** 2).trace(name="loss")
        return t, t["loss"]

    def symbolic() -> int:
        t, out = build()
        g = t.grad(out)
        return sum(1 for s in t.nodes if g[s] is not None)

    t_sym = best_time(symbolic, 3)
    t, out = build()
    t.grad(out).value(t["x1"])
    k = [0]

    def numeric() -> None:
        k[0] += 1
        t.set(x1=0.3 + 1e-3 * k[0], x2=-0.7)
        g = t.grad(out)
        for s in t.input_nodes:
            g.value(s)

    t_num = loop_time(numeric)
    mg_cls = micrograd_value_class()
    t_mg = None
    if mg_cls is not None:
        model = make_mlp(mg_cls, [2, 16, 16, 1])

        def mg() -> None:
            loss = (model([mg_cls(0.3), mg_cls(-0.7)]) - 1.0) ** 2
            loss.backward()

        t_mg = loop_time(mg)
    rows = [
        [f"MLP 2-16-16-1, one point ({len(t):,} nodes)", ms(t_sym), ms(t_num), ms(t_mg)],
    ]
    notes = [
        f"MLP on one point: trace + every symbolic adjoint {ms(t_sym)} (target < 0.5 s: "
        f"{'met' if t_sym < 0.5 else 'not met'}); numeric gradient after t.set {ms(t_num)}"
        + (
            f" vs micrograd forward + backward {ms(t_mg)} "
            f"({'faster' if t_num < t_mg else 'slower'})"
            if t_mg is not None
            else ""
        )
    ]
    header = [
        "graph",
        "trace + every symbolic adjoint",
        "numeric gradient after t.set (steady state)",
        "micrograd forward + backward (steady state)",
    ]
    return table(header, rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
