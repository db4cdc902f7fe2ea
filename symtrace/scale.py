"""Scale-out: a compiled NumPy function applied chunk by chunk to Dask arrays.

Each chunk is an ordinary NumPy call of the compiled function, so the work spreads
over whatever Dask scheduler runs the graph: threads on one machine, or a
``dask.distributed`` cluster for billions of points.  Needs the optional ``dask``
extra (``pip install "symtrace[dask]"``).

.. requires: dask, numpy

>>> import dask.array as da
>>> from symtrace import Trace
>>> t = Trace()
>>> x, y = t.inputs("x y")
>>> z = t.define("z", x * y + x)
>>> fn = t.compile(z)
>>> xs = da.linspace(0.0, 1.0, 6, chunks=3)
>>> value, (dx, dy) = map_blocks(fn, x=xs, y=2.0)
>>> value.compute(scheduler="synchronous")
array([0. , 0.6, 1.2, 1.8, 2.4, 3. ])
>>> dy.compute(scheduler="synchronous")
array([0. , 0.2, 0.4, 0.6, 0.8, 1. ])
"""

from __future__ import annotations

from typing import Any

from .compile import CompiledFunction
from .errors import BackendUnavailableError, UsageError

__all__ = ["map_blocks"]


def map_blocks(fn: CompiledFunction, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Apply ``fn`` (compiled with ``backend="numpy"``) block by block to Dask arrays.

    Arguments are given as to ``fn`` itself (positionally in ``fn.inputs`` order, or
    by name).  Dask arrays are broadcast against each other and rechunked alike;
    other values (numbers, small NumPy arrays that broadcast against every chunk) are
    passed unchanged to every call; inputs not given keep ``fn``'s defaults.  The
    result has ``fn``'s shape — ``(value, grads)`` or ``(values, grads)`` — with lazy
    Dask arrays in place of NumPy arrays; compute them together
    (``dask.compute(value, *grads)``) so that each chunk is evaluated once.
    """
    try:
        import dask.array as da
        import numpy as np
    except ImportError:
        raise BackendUnavailableError(
            'symtrace.scale needs Dask: pip install "symtrace[dask]"'
        ) from None
    if not isinstance(fn, CompiledFunction) or fn.backend != "numpy":
        raise UsageError(
            "map_blocks needs a function compiled with backend='numpy' "
            "(t.compile(y, backend='numpy'))"
        )
    names = [s.name for s in fn.inputs]
    if len(args) > len(names):
        raise UsageError(f"expected at most {len(names)} inputs ({', '.join(names)})")
    given = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise UsageError(f"unexpected input {name!r}; the inputs are {', '.join(names)}")
        if name in given:
            raise UsageError(f"input {name!r} given twice (positionally and by name)")
        given[name] = value
    lazy = {n: v for n, v in given.items() if isinstance(v, da.Array)}
    fixed = {n: v for n, v in given.items() if n not in lazy}
    if not lazy:
        return fn(**fixed)
    keys = list(lazy)
    arrays = da.broadcast_arrays(*lazy.values())
    chunks = arrays[0].chunks
    arrays = [a.rechunk(chunks) for a in arrays]
    width = 1 + len(fn.wrt)
    count = len(fn.outputs) * width

    def block(*parts: Any) -> Any:
        values, grads = fn(**dict(zip(keys, parts, strict=True)), **fixed)
        if len(fn.outputs) == 1:
            flat = [values, *grads]
        else:
            flat = [r for v, g in zip(values, grads, strict=True) for r in (v, *g)]
        return np.stack([np.broadcast_to(r, parts[0].shape) for r in flat])

    stacked = da.map_blocks(
        block,
        *arrays,
        new_axis=0,
        chunks=((count,), *chunks),
        dtype=np.float64,
        meta=np.empty((0,) * (arrays[0].ndim + 1), dtype=np.float64),
    )
    flat = [stacked[k] for k in range(count)]
    if len(fn.outputs) == 1:
        return flat[0], tuple(flat[1:])
    blocks = [flat[k * width : (k + 1) * width] for k in range(len(fn.outputs))]
    return tuple(b[0] for b in blocks), tuple(tuple(b[1:]) for b in blocks)
