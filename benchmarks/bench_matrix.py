"""A 784-128-10 tanh MLP with softmax + cross-entropy on a batch, in matrix nodes.

Compiled value + every parameter gradient (one NumPy program, ``t.compile``) against
PyTorch CPU autograd (same thread count) and a hand-written NumPy forward + backward;
and the one-off cost of tracing the network and building every symbolic matrix adjoint.
Run alone with ``python benchmarks/bench_matrix.py``.
"""

from __future__ import annotations

import time

import numpy as np

import symtrace as st

from common import best_time, ms, optional, ratio, table


def _data(n: int, d: int, m: int, k: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "X": rng.standard_normal((n, d)),
        "W1": rng.standard_normal((d, m)) * 0.05,
        "b1": np.zeros((1, m)),
        "W2": rng.standard_normal((m, k)) * 0.1,
        "b2": np.zeros((1, k)),
        "Y": np.eye(k)[rng.integers(0, k, n)],
    }


def _trace(vals: dict[str, np.ndarray]) -> tuple[st.Trace, list[st.MatrixNode]]:
    t = st.Trace()
    n = {name: t.input(name, v) for name, v in vals.items()}
    N = vals["X"].shape[0]
    H = t.define("H", st.tanh(n["X"] @ n["W1"] + st.ones(N, 1) @ n["b1"]))
    Z = t.define("Z", H @ n["W2"] + st.ones(N, 1) @ n["b2"])
    t.define("J", st.cross_entropy(st.softmax(Z), n["Y"]))
    return t, [n["W1"], n["b1"], n["W2"], n["b2"]]


def _numpy(X, W1, b1, W2, b2, Y):  # type: ignore[no-untyped-def]  # noqa: N803
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    Zs = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Zs)
    P /= P.sum(axis=1, keepdims=True)
    J = -float((Y * (Zs - np.log(np.exp(Zs).sum(axis=1, keepdims=True)))).sum())
    dZ = P - Y
    dW2, db2 = H.T @ dZ, dZ.sum(axis=0, keepdims=True)
    dH = dZ @ W2.T * (1 - H * H)
    return J, [X.T @ dH, dH.sum(axis=0, keepdims=True), dW2, db2]


def run(quick: bool = False) -> tuple[str, list[str]]:
    n = 256 if quick else 1024
    vals = _data(n, 784, 128, 10)
    t0 = time.perf_counter()
    t, params = _trace(vals)
    g = t.grad("J")
    _ = [g[p] for p in params]
    t_symbolic = time.perf_counter() - t0
    f = t.compile("J", wrt=params)
    args = [vals[name] for name in f.inputs]
    sym = best_time(lambda: f(*args), 7)
    hand = best_time(lambda: _numpy(*(vals[k] for k in ("X", "W1", "b1", "W2", "b2", "Y"))), 7)
    torch = optional("torch")
    peer = None
    if torch is not None:
        tv = {k: torch.tensor(v) for k, v in vals.items()}

        def torch_step() -> None:
            ps = [tv[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")]
            H = torch.tanh(tv["X"] @ ps[0] + ps[1])
            J = torch.nn.functional.cross_entropy(H @ ps[2] + ps[3], tv["Y"], reduction="sum")
            J.backward()

        peer = best_time(torch_step, 7)
    rows = [
        ["symtrace compiled (one NumPy program)", ms(sym), "1.00×"],
        ["hand-written NumPy forward + backward", ms(hand), ratio(sym, hand)],
        ["PyTorch CPU autograd", ms(peer), ratio(sym, peer)],
    ]
    text = table([f"784-128-10 MLP, batch {n}", "time", "symtrace / peer"], rows)
    text += f"\n\nTracing and every symbolic matrix adjoint: {ms(t_symbolic)}."
    notes = [
        f"matrix MLP: compiled / hand NumPy {ratio(sym, hand)} (target ≤ 1.1×), "
        f"/ PyTorch {ratio(sym, peer)} (target ≤ 1.0×), symbolic {ms(t_symbolic)} (< 0.2 s)"
    ]
    return text, notes


if __name__ == "__main__":
    text, notes = run()
    print(text)
    print("\n".join(notes))
