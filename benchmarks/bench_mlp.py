"""Repeated numeric gradient of micrograd's 2-16-16-1 tanh MLP over 100 points.

The loss ``sum((mlp(x) - y)**2)`` over 100 points is a ~65,000-node scalar graph.
A training loop needs its gradient w.r.t. the 337 parameters again and again:

* micrograd and PyTorch scalar autograd rebuild the graph and backpropagate each time;
* symtrace traces it once, compiles it (``backend="math"``: one straight-line Python
  function of ~65,000 nodes), then calls it with new parameter values;
* symtrace, vectorised: one point's graph (~1,000 nodes) compiled with NumPy, called on
  the 100 points at once (per-point gradients summed);
* CasADi SX builds the expression once and calls its compiled gradient Function.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from symtrace import Value

from bench_value import make_data, make_mlp, micrograd_value_class
from common import best_time, ms, optional, table


def _sym_loss(cls: Any, data: list[tuple[list[float], float]]) -> Any:
    model = make_mlp(cls, [2, 16, 16, 1])
    return sum(((model(x) - y) ** 2 for x, y in data), cls(0.0))


def _one_point_trace() -> Any:
    """The MLP's squared error at one point whose coordinates and label are inputs."""
    model = make_mlp(Value, [2, 16, 16, 1])
    x1, x2, y = Value(0.0, label="x1"), Value(0.0, label="x2"), Value(0.0, label="y")
    return ((model([x1, x2]) - y) ** 2).trace(name="loss")


def run(quick: bool = False) -> tuple[str, list[str]]:
    points = 20 if quick else 100
    repeats = 3 if quick else 5
    data = make_data(points)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))  # micrograd's build_topo
    rows: list[list[str]] = []
    notes: list[str] = []

    t0 = time.perf_counter()
    loss = _sym_loss(Value, data)
    trace = loss.trace(name="L")
    t_trace = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn = trace.compile("L", backend="math")
    t_compile = time.perf_counter() - t0
    params = [float(v) for v in (trace.input_values[s] for s in trace.input_nodes)]
    value, _grads = fn(*params)
    sym = best_time(lambda: fn(*params), repeats)
    nodes = len(trace)

    mg_cls = micrograd_value_class()
    mg = None
    if mg_cls is None:
        print("  note: micrograd is not installed; its row is skipped")
    else:

        def micrograd_grad() -> Any:
            out = _sym_loss(mg_cls, data)
            out.backward()
            return out

        mg_loss = micrograd_grad()
        assert abs(mg_loss.data - value) <= 1e-9 * abs(value), (mg_loss.data, value)
        mg = best_time(micrograd_grad, repeats)

    torch = optional("torch")
    torch_t = None
    if torch is not None:
        torch.set_num_threads(1)

        class TorchValue:
            """Scalar tensors behind micrograd's interface (``.tanh``, ``**``)."""

            def __new__(cls, v: float) -> Any:
                return torch.tensor(float(v), dtype=torch.float64, requires_grad=True)

        def torch_grad() -> Any:
            out = _sym_loss(TorchValue, data)
            out.backward()
            return out

        out = torch_grad()
        assert abs(out.item() - value) <= 1e-9 * abs(value)
        torch_t = best_time(torch_grad, repeats)

    casadi = optional("casadi")
    cas = None
    if casadi is not None:
        ws: list[tuple[Any, float]] = []
        expr = _sym_loss(_CasadiLeaf(casadi, ws), data).e
        syms = casadi.vertcat(*[s for s, _ in ws])
        f = casadi.Function("g", [syms], [expr, casadi.gradient(expr, syms)])
        x0 = np.array([v for _, v in ws])
        cv, _ = f(x0)
        assert abs(float(cv) - value) <= 1e-9 * abs(value), (float(cv), value)
        cas = best_time(lambda: f(x0), repeats)

    # Vectorised: one point's graph, NumPy over all points at once.
    one = _one_point_trace()
    vfn = one.compile("loss")
    names = [s.name for s in one.input_nodes]
    xs = np.array([p for p, _ in data])
    ys = np.array([lab for _, lab in data])
    args = {n: one.input_values[s] for n, s in zip(names, one.input_nodes, strict=True)}
    args.update(x1=xs[:, 0], x2=xs[:, 1], y=ys)

    def vectorised() -> Any:
        v, g = vfn(**args)
        return v.sum(), [gi.sum() for gi in g]

    vv, _ = vectorised()
    assert abs(vv - (value - 0.0)) <= 1e-9 * abs(value), (vv, value)
    vec = best_time(vectorised, repeats)

    def speed(t: float | None) -> str:
        return "—" if t is None or mg is None else f"{mg / t:.1f}×"

    rows.append(["micrograd (rebuild + backward)", ms(mg), speed(mg), "—"])
    rows.append(["PyTorch scalar autograd (rebuild + backward)", ms(torch_t), speed(torch_t), "—"])
    rows.append(["CasADi SX Function (built once)", ms(cas), speed(cas), "—"])
    rows.append(
        [
            f"symtrace compiled, math, {nodes:,}-node program",
            ms(sym),
            speed(sym),
            f"trace {ms(t_trace)}, compile {ms(t_compile)}",
        ]
    )
    rows.append(
        [
            f"symtrace compiled, NumPy, one point's {len(one):,} nodes × {points} points",
            ms(vec),
            speed(vec),
            "—",
        ]
    )
    if mg is not None:
        notes.append(
            f"MLP gradient over {points} points: symtrace compiled is {mg / sym:.0f}× faster than "
            f"micrograd (math backend) and {mg / vec:.0f}× (NumPy, vectorised over points); "
            f"target ≥ 20×: {'met' if mg / sym >= 20 else 'not met'}"
        )
    header = [
        f"gradient of the MLP loss over {points} points",
        "time per gradient",
        "speed-up vs micrograd",
        "one-off cost",
    ]
    return table(header, rows), notes


class _CasadiLeaf:
    """A 'Value class' whose constructor makes a CasADi SX symbol per parameter."""

    def __init__(self, casadi: Any, store: list[tuple[Any, float]]) -> None:
        self.casadi = casadi
        self.store = store

    def __call__(self, v: float) -> Any:
        s = self.casadi.SX.sym(f"p{len(self.store)}")
        self.store.append((s, float(v)))
        return _SX(s)


class _SX:
    """An SX expression with micrograd's ``tanh`` method and number arithmetic."""

    __slots__ = ("e",)

    def __init__(self, e: Any) -> None:
        self.e = e

    @staticmethod
    def _e(o: Any) -> Any:
        return o.e if isinstance(o, _SX) else o

    def __add__(self, o: Any) -> _SX:
        return _SX(self.e + self._e(o))

    __radd__ = __add__

    def __sub__(self, o: Any) -> _SX:
        return _SX(self.e - self._e(o))

    def __rsub__(self, o: Any) -> _SX:
        return _SX(self._e(o) - self.e)

    def __mul__(self, o: Any) -> _SX:
        return _SX(self.e * self._e(o))

    __rmul__ = __mul__

    def __pow__(self, k: float) -> _SX:
        return _SX(self.e**k)

    def tanh(self) -> _SX:
        import casadi

        return _SX(casadi.tanh(self.e))


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
