"""Value + gradient at 10^6 points: symtrace compiled vs PyTorch, JAX, lambdify, NumPy.

Functions: seed 002's ``sin(pi*x1**(x2**x1)) + cos(pi*log(x1))`` on x1, x2 in
[1.1, 1.5], and seed 003's ``(12 - x*exp(y))/(45 + x*y*exp(-x))`` on x, y in [0.5, 3].
Everything in float64 on the CPU, on one thread (PyTorch is set to one thread, like
NumPy); every peer's numbers are checked against symtrace's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import sympy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import best_time, ms, optional, ratio, table
from examples import seed002_graph, seed003_tensor


def _cases() -> list[dict[str, Any]]:
    return [
        {
            "name": "seed 002: sin(π·x1^(x2^x1)) + cos(π·log x1)",
            "build": seed002_graph,
            "domain": (1.1, 1.5, 1.1, 1.5),
            "np": lambda a, b: np.sin(np.pi * a ** (b**a)) + np.cos(np.pi * np.log(a)),
            "torch": lambda m, a, b: m.sin(m.pi * a ** (b**a)) + m.cos(m.pi * m.log(a)),
            "jax": lambda m, a, b: m.sin(m.pi * a ** (b**a)) + m.cos(m.pi * m.log(a)),
        },
        {
            "name": "seed 003: (12 − x·e^y)/(45 + x·y·e^−x)",
            "build": seed003_tensor,
            "domain": (0.5, 3.0, 0.5, 3.0),
            "np": lambda a, b: (12 - a * np.exp(b)) / (45 + a * b * np.exp(-a)),
            "torch": lambda m, a, b: (12 - a * m.exp(b)) / (45 + a * b * m.exp(-a)),
            "jax": lambda m, a, b: (12 - a * m.exp(b)) / (45 + a * b * m.exp(-a)),
        },
    ]


def run(quick: bool = False) -> tuple[str, list[str]]:
    n = 200_000 if quick else 1_000_000
    repeats = 3 if quick else 7
    torch = optional("torch")
    jax = optional("jax")
    if torch is not None:
        torch.set_num_threads(1)  # single-threaded, like NumPy (and symtrace on NumPy)
    notes: list[str] = []
    rows = []
    for case in _cases():
        print(f"  {case['name']}")
        row, note = _measure(case, n, repeats, torch, jax)
        rows.append(row)
        notes.append(note)
    header = [
        f"function ({n:,} points)",
        "symtrace numpy",
        "symtrace, unchunked",
        "NumPy forward only",
        "symtrace / forward",
        "PyTorch autograd",
        "PyTorch / symtrace",
        "jax.jit(vmap(value_and_grad))",
        "JAX / symtrace",
        "lambdify(diff, cse=True)",
        "lambdify / symtrace",
    ]
    return table(header, rows), notes


def _measure(
    case: dict[str, Any], n: int, repeats: int, torch: Any, jax: Any
) -> tuple[list[str], str]:
    """One function's row of the table and its note on the targets."""
    t, y = case["build"]()
    rng = np.random.default_rng(0)
    lo1, hi1, lo2, hi2 = case["domain"]
    x1, x2 = rng.uniform(lo1, hi1, n), rng.uniform(lo2, hi2, n)
    fn = t.compile(y)
    ref_v, ref_g = fn(x1, x2)
    sym = best_time(lambda fn=fn: fn(x1, x2), repeats)
    whole = t.compile(y, chunk=0)
    sym_whole = best_time(lambda: whole(x1, x2), repeats)
    fwd = best_time(lambda c=case: c["np"](x1, x2), repeats)

    a, b = t.input_nodes
    expr = t.expand(y)
    grads = [sympy.diff(expr, a), sympy.diff(expr, b)]
    lam = sympy.lambdify([a, b], [expr, *grads], modules="numpy", cse=True)
    lam_t = best_time(lambda lam=lam: lam(x1, x2), repeats)
    _check(lam(x1, x2), ref_v, ref_g, "lambdify", 1e-9)

    torch_t = None
    if torch is not None:

        def torch_vg(c: dict[str, Any] = case) -> Any:
            ta = torch.tensor(x1, requires_grad=True)
            tb = torch.tensor(x2, requires_grad=True)
            f = c["torch"](torch, ta, tb)
            f.backward(torch.ones_like(f))
            return f.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()

        torch_t = best_time(torch_vg, repeats)
        _check(torch_vg(), ref_v, ref_g, "torch", 1e-9)

    jax_t = None
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy

        def scalar(ab: Any, c: dict[str, Any] = case) -> Any:
            return c["jax"](jnp, ab[0], ab[1])

        vg = jax.jit(jax.vmap(jax.value_and_grad(scalar)))
        ab = jnp.stack([jnp.asarray(x1), jnp.asarray(x2)], axis=1)

        def jax_vg(vg: Any = vg, ab: Any = ab) -> Any:
            v, g = vg(ab)
            return v.block_until_ready(), g.block_until_ready()

        jax_vg()  # compile
        jax_t = best_time(jax_vg, repeats)
        v, g = jax_vg()
        _check((np.asarray(v), np.asarray(g[:, 0]), np.asarray(g[:, 1])), ref_v, ref_g, "jax", 1e-9)

    row = [
        case["name"],
        ms(sym),
        ms(sym_whole),
        ms(fwd),
        ratio(sym, fwd),
        ms(torch_t),
        ratio(torch_t, sym),
        ms(jax_t),
        ratio(jax_t, sym),
        ms(lam_t),
        ratio(lam_t, sym),
    ]
    met_fwd = sym <= 2 * fwd
    met_torch = torch_t is None or sym <= torch_t
    note = (
        f"{case['name']}: value+gradient is {sym / fwd:.2f}× the NumPy forward pass "
        f"(target ≤ 2×: {'met' if met_fwd else 'not met'})"
        + (
            f"; PyTorch takes {torch_t / sym:.2f}× symtrace's time "
            f"(target ≥ 1×: {'met' if met_torch else 'not met'})"
            if torch_t is not None
            else ""
        )
    )
    return row, note


def _check(got: Any, ref_v: Any, ref_g: Any, who: str, rel: float = 1e-12) -> None:
    v, *g = got
    for a, b in zip([v, *g], [ref_v, *ref_g], strict=True):
        err = np.max(np.abs(np.asarray(a) - b) / np.maximum(np.abs(b), 1e-300))
        if err > rel:
            raise SystemExit(f"{who} disagrees with symtrace: relative error {err:.2e}")


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
