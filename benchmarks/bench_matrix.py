"""A 784-128-10 tanh MLP with softmax + cross-entropy on a batch, in matrix nodes.

Compiled value + every parameter gradient (one NumPy program, ``t.compile``) against
PyTorch CPU autograd (same thread count) and a hand-written NumPy forward + backward;
and the one-off cost of tracing the network and building every symbolic matrix adjoint.
Run alone with ``python benchmarks/bench_matrix.py``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import symtrace as st

from common import blas_threads, interleaved_best, ms, optional, ratio, table


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


def _symbolic_time(vals: dict[str, np.ndarray], repeats: int) -> float:
    """Best time of tracing the network and building every symbolic parameter adjoint
    (``t.grad`` also computes the forward values it keeps)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        t, params = _trace(vals)
        g = t.grad("J")
        _ = [g[p] for p in params]
        best = min(best, time.perf_counter() - t0)
    return best


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def run(quick: bool = False) -> tuple[str, list[str]]:
    n = 256 if quick else 1024
    repeats = 15 if quick else 30
    vals = _data(n, 784, 128, 10)
    sym_repeats = 3 if quick else 5
    t_symbolic = _symbolic_time(vals, sym_repeats)
    t, params = _trace(vals)
    f = t.compile("J", wrt=params)
    args = [vals[name] for name in f.inputs]
    hand_args = [vals[k] for k in ("X", "W1", "b1", "W2", "b2", "Y")]
    fns = {"sym": lambda: f(*args), "hand": lambda: _numpy(*hand_args)}
    torch = optional("torch")
    if torch is not None:
        tv = {k: torch.tensor(v) for k, v in vals.items()}
        ps = [tv[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")]

        def torch_step() -> None:
            for p in ps:
                p.grad = None
            H = torch.tanh(tv["X"] @ ps[0] + ps[1])
            J = torch.nn.functional.cross_entropy(H @ ps[2] + ps[3], tv["Y"], reduction="sum")
            J.backward()

        fns["torch"] = torch_step
    counts = sorted({1, os.cpu_count() or 1})
    rows, notes, hows = [], [], set()
    for threads in counts:
        with blas_threads(threads) as how:
            hows.add(how)
            if torch is not None:
                before = torch.get_num_threads()
                torch.set_num_threads(threads)
            try:
                best = interleaved_best(fns, repeats)
            finally:
                if torch is not None:
                    torch.set_num_threads(before)
        sym, hand, peer = best["sym"], best["hand"], best.get("torch")
        rows.append(
            [
                str(threads),
                ms(sym),
                ms(hand),
                ratio(sym, hand),
                ms(peer),
                ratio(sym, peer),
            ]
        )
        vs_peer = "" if peer is None else f": {_met(sym <= peer)}"
        notes.append(
            f"matrix MLP, {threads} thread{'s' if threads > 1 else ''}: compiled / hand NumPy "
            f"{ratio(sym, hand)} (target ≤ 1.1×: {_met(sym <= 1.1 * hand)}), / PyTorch "
            f"{ratio(sym, peer)} (target ≤ 1.0×{vs_peer})"
        )
    header = [
        f"784-128-10 MLP, batch {n:,}: threads",
        "symtrace compiled (one NumPy program)",
        "hand-written NumPy forward + backward",
        "symtrace / NumPy",
        "PyTorch CPU autograd",
        "symtrace / PyTorch",
    ]
    text = (
        f"Best of {repeats}, the three run in turn (the order rotating). Threads: PyTorch's "
        f"`set_num_threads` and NumPy's BLAS threads, set alike ({'; '.join(sorted(hows))}).\n\n"
    )
    text += table(header, rows)
    text += (
        f"\n\nTracing and every symbolic matrix adjoint: {ms(t_symbolic)} (best of {sym_repeats})."
    )
    notes.append(
        f"matrix MLP: tracing and every symbolic adjoint {ms(t_symbolic)} "
        f"(target < 0.2 s: {_met(t_symbolic < 0.2)})"
    )
    return text, notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
