"""Checking and differentiating 100,000-node graphs: build, grad, check, diff.

Two graphs, each size in a fresh process (no cache carries over from a smaller one):

* a **chain** ``x_{i+1} = x_i*y + cos(x_i)`` / ``sin(x_i)*y + x_0`` (alternating), where
  the input ``y`` feeds every node: a wrong ``dL/dy`` makes the checker look for a
  fan-out slip among 100,000 consumers;
* a **DAG** where each node uses the two before it (``sin(p)*q`` / ``p/2 + q*cos(p)``),
  whose compact adjoints share their parts (printed in full they grow exponentially).

Stages: building with ``Trace.define`` one node at a time as a user does, with SymPy
expressions and with definitions written as text (read by the safe parser); ``grad``
with every value (the forward sweep of values included); ``check`` of six answers
(three right, three wrong: a value, a gradient, and ``dL/d(input)``: in the chain
``dL/dy`` without the contribution through one of its 100,000 consumers, a fan-out slip
the checker must name; in the DAG, whose deep adjoints underflow to 0, a number off by
1); ``t.diff(L, middle node)``, the compact adjoint.  PyTorch's forward + backward of
the same graph (scalar tensors) is the peer for the gradient.  ``Trace.from_expr`` is
not measured: the inlined expression of a deep chain is nested beyond SymPy's recursion
limit, that of the DAG is exponential.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from typing import Any

from common import fit_exponent, ms, ratio, table

STAGES = ["define (SymPy)", "define (text)", "grad + values", "check (6 answers)", "diff(L, x_mid)"]


def _chain_step(i: int, x: Any, y: Any, x0: Any, fns: Any) -> Any:
    return x * y + fns.cos(x) if i % 2 == 0 else fns.sin(x) * y + x0


def _dag_step(i: int, p: Any, q: Any, fns: Any) -> Any:
    return fns.sin(p) * q if i % 2 else p / 2 + q * fns.cos(p)


def _chain_text(i: int) -> str:
    x = "x0" if i == 0 else f"x{i}"
    return f"{x}*y + cos({x})" if i % 2 == 0 else f"sin({x})*y + x0"


def _dag_text(i: int) -> str:
    def name(k: int) -> str:  # the k-th node: a, b, x1, x2, ...
        return "ab"[k] if k < 2 else f"x{k - 1}"

    p, q = name(i + 1), name(i)
    return f"sin({p})*{q}" if i % 2 else f"{p}/2 + {q}*cos({p})"


def build(kind: str, n: int, text: bool = False) -> tuple[Any, list[Any]]:
    """The graph ``kind`` ("chain" or "dag") of ``n`` defined nodes, built with
    ``Trace.define`` (SymPy expressions, or text when ``text``); its trace and nodes."""
    import sympy

    from symtrace import Trace

    t = Trace()
    if kind == "chain":
        xs = [t.input("x0", 0.5), t.input("y", 0.7)]
        x = xs[0]
        for i in range(n):
            rhs = _chain_text(i) if text else _chain_step(i, x, xs[1], xs[0], sympy)
            x = t.define(f"x{i + 1}", rhs)
            xs.append(x)
    else:
        xs = [t.input("a", 0.3), t.input("b", 0.6)]
        for i in range(n):
            rhs = _dag_text(i) if text else _dag_step(i, xs[-1], xs[-2], sympy)
            xs.append(t.define(f"x{i + 1}", rhs))
    return t, xs


def _torch(kind: str, n: int) -> float | None:
    """PyTorch forward + backward of the same graph (scalar tensors), best of 2."""
    try:
        import torch
    except ImportError:
        return None
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        if kind == "chain":
            x0 = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
            y = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
            x = x0
            for i in range(n):
                x = _chain_step(i, x, y, x0, torch)
            x.backward()
        else:
            a = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
            xs = [a, b]
            for i in range(n):
                xs.append(_dag_step(i, xs[-1], xs[-2], torch))
            xs[-1].backward()
        best = min(best, time.perf_counter() - t0)
    return best


def _measure(kind: str, n: int, queue: Any) -> None:
    out: dict[str, Any] = {}
    build(kind, 50, text=True)  # first-call costs (the parser, SymPy's caches) are not counted
    build(kind, 50)
    t0 = time.perf_counter()
    build(kind, n, text=True)
    out["define (text)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    t, xs = build(kind, n)
    out["define (SymPy)"] = time.perf_counter() - t0
    L, mid, wide = xs[-1], xs[len(xs) // 2], xs[1] if kind == "chain" else xs[0]
    quarter, third = xs[len(xs) // 4], xs[len(xs) // 3]
    t0 = time.perf_counter()
    g = t.grad(L)
    values = {s: g.value(s) for s in t.nodes}
    out["grad + values"] = time.perf_counter() - t0
    slip = kind == "chain"  # y feeds every node; the DAG's adjoints underflow to 0
    c = t.consumers(wide)[-1]  # the contribution through c is left out below
    through_c = values[c] * g.local_values(t.graph.index(c))[t.parents(c).index(wide)]
    if not slip:
        through_c = -1.0
    answers = {  # three right, three wrong
        f"{L}": repr(t.value(L)),
        f"d{L}/d{mid}": repr(values[mid]),
        f"d{L}/d{quarter}": repr(values[quarter]),
        f"{third}": repr(t.value(third) + 1.0),
        f"d{L}/d{third}": repr(values[third] * 2.0 + 1.0),
        f"d{L}/d{wide}": repr(values[wide] - through_c),
    }
    t0 = time.perf_counter()
    report = t.check(answers)
    out["check (6 answers)"] = time.perf_counter() - t0
    got = [report[k].verdict for k in answers]
    fan_out = report[f"d{L}/d{wide}"].mistake == "fan-out"
    if got != ["correct"] * 3 + ["wrong"] * 3 or fan_out != slip:
        raise AssertionError(f"{kind} of {n} nodes: verdicts {got}")
    t0 = time.perf_counter()
    t.diff(L, mid)
    out["diff(L, x_mid)"] = time.perf_counter() - t0
    out["torch"] = _torch(kind, n)
    queue.put(out)


def measure(kind: str, n: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(kind, n, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result  # type: ignore[no-any-return]


def run(quick: bool = False) -> tuple[str, list[str]]:
    sizes = [2_500, 5_000, 10_000] if quick else [25_000, 50_000, 100_000]
    rows, notes = [], []
    for kind in ("chain", "dag"):
        results = []
        for n in sizes:
            print(f"  {kind} of {n:,} nodes")
            results.append(measure(kind, n))
        for n, r in zip(sizes, results, strict=True):
            peer = r["torch"]
            rows.append(
                [
                    f"{kind}, {n:,} nodes",
                    *(ms(r[s]) for s in STAGES),
                    ms(peer),
                    ratio(r["grad + values"], peer),
                ]
            )
        exps = [fit_exponent(sizes, [r[s] for r in results]) for s in STAGES]
        rows.append([f"{kind}: exponent k (∝ n^k)", *(f"{k:.2f}" for k in exps), "", ""])
        last = results[-1]
        notes.append(
            f"{kind.capitalize()} of {sizes[-1]:,} nodes: "
            + ", ".join(f"{s} {ms(last[s])}" for s in STAGES)
            + f"; fitted exponents {', '.join(f'{k:.2f}' for k in exps)} (1 = linear)."
        )
    header = ["graph", *STAGES, "PyTorch forward + backward", "grad / PyTorch"]
    return table(header, rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
