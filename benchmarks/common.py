"""Helpers the benchmark cases share: timing, peers that may be missing, table rows."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Row = dict[str, str]


def best_time(fn: Callable[[], Any], repeats: int = 5, min_time: float = 0.0) -> float:
    """Best wall time of ``fn()`` over ``repeats`` runs (and at least ``min_time`` s)."""
    best = math.inf
    start = time.perf_counter()
    k = 0
    while k < repeats or time.perf_counter() - start < min_time:
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        k += 1
    return best


def interleaved_best(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best wall time of each function, the functions run in turn ``repeats`` times
    (a collection forced before each call), so a busy spell on a shared machine slows
    every contender alike and the ratios stay meaningful.  The order rotates from one
    round to the next, so no contender always runs right after the same other one (whose
    threads may still be spinning)."""
    best = dict.fromkeys(fns, math.inf)
    for fn in fns.values():  # warm up: first-call costs are not what is compared
        fn()
    names = list(fns)
    for k in range(repeats):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            fn = fns[name]
            gc.collect()
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


_OPENBLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def _openblas() -> Any:
    """The OpenBLAS library loaded in this process (NumPy's wheels ship one), or None."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1]}
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for setter in _OPENBLAS_SETTERS:
            if hasattr(lib, setter):
                return getattr(lib, setter), getattr(lib, setter.replace("set_", "get_"), None)
    return None


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[str]:
    """NumPy's BLAS limited to ``n`` threads while the block runs; yields how it was set
    (or that it could not be).  threadpoolctl is used where it is installed, otherwise
    the thread setter of the OpenBLAS that NumPy loaded."""
    import numpy  # noqa: F401  (its BLAS must be loaded to be found)

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=n, user_api="blas"):
            yield "threadpoolctl"
        return
    found = _openblas()
    if found is None:
        yield "not set: neither threadpoolctl nor an OpenBLAS was found"
        return
    setter, getter = found
    before = getter() if getter is not None else None
    setter(n)
    try:
        yield "the thread setter of the OpenBLAS NumPy loaded"
    finally:
        if before is not None:
            setter(before)


def loop_time(fn: Callable[[], Any], calls: int = 200, repeats: int = 5) -> float:
    """Steady-state time per call: the mean over ``calls`` back-to-back calls, best of
    ``repeats``, with the cyclic garbage collector running as it does in a training loop
    (unlike :func:`best_time`, which collects before each call and so hides its cost)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def optional(module: str) -> Any:
    """Import ``module`` or return None with a printed note (a peer that is not installed)."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        print(f"  note: {module} is not installed; its column is skipped")
        return None


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    return f"{a / b:.2f}×"


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def fit_exponent(sizes: list[float], times: list[float]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-12)) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den
