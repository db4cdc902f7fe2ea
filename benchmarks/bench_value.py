"""Numeric forward + backward of symtrace.Value against micrograd's own Value, same run.

The workload is micrograd's classic demo: a 2-16-16-1 MLP with tanh hidden layers over
100 points, loss = sum of (out - y)**2 (about 65,000 nodes).  Each repeat builds the
graph and runs ``backward()``; the best of several repeats is reported, with the
cyclic garbage collector on (as in real use).

    python benchmarks/bench_value.py [--repeats 7] [--points 100]

micrograd (PyPI ``micrograd`` 0.1.0) has no ``tanh``; the benchmark gives its Value one
written in micrograd's own closure style, as the lecture does.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from symtrace.value import Value


def make_data(n: int, seed: int = 0) -> list[tuple[list[float], float]]:
    """``n`` points in the plane labelled +1 inside the unit circle, -1 outside."""
    rng = random.Random(seed)
    pts = []
    for _ in range(n):
        x = [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)]
        pts.append((x, 1.0 if x[0] ** 2 + x[1] ** 2 < 1.0 else -1.0))
    return pts


def make_mlp(cls: Any, sizes: Sequence[int], seed: int = 1) -> Callable[[list[Any]], Any]:
    """A tanh MLP (linear last layer) over Values of class ``cls``, as a function."""
    rng = random.Random(seed)
    layers = [
        [([cls(rng.uniform(-1, 1)) for _ in range(nin)], cls(0.0)) for _ in range(nout)]
        for nin, nout in itertools.pairwise(sizes)
    ]

    def forward(x: list[Any]) -> Any:
        for k, layer in enumerate(layers):
            last = k == len(layers) - 1
            outs = []
            for w, b in layer:
                act = sum((wi * xi for wi, xi in zip(w, x, strict=True)), b)
                outs.append(act if last else act.tanh())
            x = outs
        return x[0]

    return forward


def loss_and_backward(cls: Any, data: list[tuple[list[float], float]]) -> tuple[float, int]:
    """Build the MLP loss over ``data`` and backpropagate; return (loss, node count)."""
    model = make_mlp(cls, [2, 16, 16, 1])
    loss = sum(((model(x) - y) ** 2 for x, y in data), cls(0.0))
    loss.backward()
    return loss.data, count_nodes(loss)


def count_nodes(root: Any) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in stack.pop()._prev:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def micrograd_value_class() -> Any:
    """micrograd's own Value, given a closure-style ``tanh``; None if not installed."""
    try:
        from micrograd.engine import Value as MGValue  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None

    def tanh(self: Any) -> Any:  # micrograd's style: a closure per node
        t = math.tanh(self.data)
        out = MGValue(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    if not hasattr(MGValue, "tanh"):
        MGValue.tanh = tanh
    return MGValue


def run(quick: bool = False, points: int = 100, repeats: int = 7) -> tuple[str, list[str]]:
    """symtrace.Value vs micrograd's Value, forward + backward: (Markdown table, notes)."""
    import sys

    if quick:
        points, repeats = 20, 3
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # micrograd's build_topo
    data = make_data(points)
    ours_loss, nodes = loss_and_backward(Value, data)
    ours = best_time(lambda: loss_and_backward(Value, data), repeats)
    header = (
        "| workload | nodes | symtrace.Value | micrograd | symtrace / micrograd |\n"
        "|---|---|---|---|---|"
    )
    mg_cls = micrograd_value_class()
    if mg_cls is None:
        row = f"| MLP 2-16-16-1 tanh, {points} points | {nodes:,} | {ours * 1e3:.1f} ms | — | — |"
        return f"{header}\n{row}", ["micrograd is not installed (pip install micrograd)"]
    mg_loss, _ = loss_and_backward(mg_cls, data)
    if not math.isclose(ours_loss, mg_loss, rel_tol=1e-9):
        raise SystemExit(f"losses differ: symtrace {ours_loss!r} vs micrograd {mg_loss!r}")
    theirs = best_time(lambda: loss_and_backward(mg_cls, data), repeats)
    row = (
        f"| MLP 2-16-16-1 tanh, {points} points, forward + backward | {nodes:,} "
        f"| {ours * 1e3:.1f} ms | {theirs * 1e3:.1f} ms | {ours / theirs:.2f}× |"
    )
    note = (
        f"symtrace.Value forward + backward costs {ours / theirs:.2f}× micrograd's own "
        f"(target ≤ 1×: {'met' if ours <= theirs else 'not met'})"
    )
    return f"best of {repeats}, cyclic GC on\n\n{header}\n{row}", [note]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--points", type=int, default=100)
    args = ap.parse_args(argv)
    text, notes = run(points=args.points, repeats=args.repeats)
    print(text)
    print("\n".join(notes))


if __name__ == "__main__":
    main()
