"""Code printers and run-time namespaces for the backends of :mod:`symtrace.compile`.

One :class:`Backend` per target: a SymPy code printer (SymPy's own, with symtrace's
functions added and ``Float`` constants printed as ``repr(float(x))`` so they keep
every bit of a double), the namespace the generated code runs in, and how values go
in (``convert``) and come out (``finalize``).  Optional libraries are imported only
when their backend is asked for; a missing one raises
:class:`~symtrace.errors.BackendUnavailableError` with the install command.

.. requires: numpy

>>> be = backend("numpy")
>>> import sympy
>>> x = sympy.Symbol("_p0", real=True)
>>> be.printer.doprint(sympy.Float(1 / 3) * sympy.tanh(x))
'0.3333333333333333*numpy.tanh(_p0)'
>>> backend("math").printer.doprint(sympy.Heaviside(x, 0))
'_heaviside(_p0, 0)'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import MpmathPrinter

from .errors import (
    BackendUnavailableError,
    InvalidValueError,
    NonRealValueError,
    OptionValueError,
)
from .shapes import FLOAT_NAMESPACE, FloatCodePrinter

__all__ = ["BACKENDS", "Backend", "backend"]

BACKENDS = ("numpy", "math", "mpmath", "jax", "torch")
"""The backend names :func:`backend` knows, in the order the docs list them."""

_SETTINGS = {"strict": True, "fully_qualified_modules": True, "order": "none"}
# strict: refuse to print what the backend cannot compute (an unknown function);
# order="none": terms in SymPy's argument order, which prints 12 - x (one
# operation) rather than -x + 12 (two).

_INSTALL = {
    "numpy": 'pip install "symtrace[numpy]"',
    "mpmath": "pip install mpmath",
    "jax": 'pip install "symtrace[jax]"  (then jax.config.update("jax_enable_x64", True) '
    "for double precision)",
    "torch": 'pip install "symtrace[torch]"',
}


@dataclass(frozen=True)
class Backend:
    """A code printer plus the run-time pieces of one backend.

    ``convert(name, value)`` turns one input value into the backend's number type;
    ``finalize(results, args)`` turns the raw results (a list) into the backend's
    values, broadcast to the common shape of ``args`` for array backends.
    ``fold_constants`` says whether constant subexpressions (``sin(2)``) are folded
    into double-precision ``Float`` s before printing (every backend but ``mpmath``).
    """

    name: str
    printer: Any
    namespace: dict[str, Any]
    convert: Callable[[str, Any], Any]
    finalize: Callable[[list[Any], Sequence[Any]], list[Any]]
    fold_constants: bool = True
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = field(default=lambda f: f)
    call_context: Callable[[], Any] | None = None


def _reject_text(name: str, value: Any) -> None:
    if isinstance(value, str | bytes):
        raise InvalidValueError(
            f"value for input {name!r} must be a number or an array of numbers, got the "
            f"text {value!r}; strings are not parsed"
        )


def _float_number(name: str, value: Any) -> float:
    """An input value (int, float, Fraction, SymPy number, NumPy scalar) as a float."""
    _reject_text(name, value)
    if isinstance(value, sympy.Basic):
        if not value.is_number:
            raise InvalidValueError(f"value for input {name!r} must be a number, got {value}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(
            f"value for input {name!r} must be a real number, got {value!r} "
            f"({type(value).__name__})"
        )
    return float(value)


# ---------------------------------------------------------------------------- math


class _MathPrinter(FloatCodePrinter):
    """Plain Python floats: the printer the trace's own per-shape functions use."""

    def _print_Max(self, expr: sympy.Expr) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sympy.Expr) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"


def _math_convert(name: str, value: Any) -> float:
    if value.__class__ is float:
        return value
    return _float_number(name, value)


def _math_finalize(results: list[Any], args: Sequence[Any]) -> list[Any]:
    out = []
    for r in results:
        if r.__class__ is not float:
            if isinstance(r, complex):
                at = ", ".join(repr(a) for a in args)
                raise NonRealValueError(
                    f"the compiled function's result {r} is complex at inputs ({at}) (e.g. a "
                    "negative number to a fractional power)"
                )
            r = float(r)
        out.append(r)
    return out


@cache
def _math() -> Backend:
    printer = _MathPrinter(_SETTINGS)
    return Backend("math", printer, dict(FLOAT_NAMESPACE), _math_convert, _math_finalize)


# ---------------------------------------------------------------------------- numpy


def _numpy_printer_class(base: type, module: str) -> type:
    """A NumPy-style printer (NumPy or JAX) with symtrace's functions and exact floats."""

    class Printer(base):
        def _print_Float(self, expr: sympy.Float) -> str:
            return repr(float(expr))

        def _print_Pow(self, expr: sympy.Expr, rational: bool = False) -> str:
            # A general ``power`` call costs 4-10 times a multiplication or division:
            # x**-n as 1/x**n (x**2 is a fast square), x**3 and x**4 as products.
            base, n = expr.args
            if n.is_Integer and n < 0:
                if n == -1:
                    return f"(1/{self.parenthesize(base, PRECEDENCE['Pow'])})"
                return f"(1/{self._print(sympy.Pow(base, -n, evaluate=False))})"
            if n in (3, 4) and base.is_Atom:
                return "(" + "*".join([self.parenthesize(base, PRECEDENCE["Pow"])] * int(n)) + ")"
            return str(super()._print_Pow(expr, rational=rational))

        def _print_relu(self, expr: sympy.Expr) -> str:
            return f"{module}.maximum({self._print(expr.args[0])}, 0.0)"

        def _print_sigmoid(self, expr: sympy.Expr) -> str:
            # exp(-log(1 + exp(-x))): no overflow for large |x|
            return f"{module}.exp(-{module}.logaddexp(0.0, -({self._print(expr.args[0])})))"

        def _print_Heaviside(self, expr: sympy.Expr) -> str:
            at_zero = expr.args[1] if len(expr.args) > 1 else sympy.S.Half
            return f"{module}.heaviside({self._print(expr.args[0])}, {float(at_zero)!r})"

        def _print_Max(self, expr: sympy.Expr) -> str:
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"{module}.maximum({out}, {self._print(a)})"
            return out

        def _print_Min(self, expr: sympy.Expr) -> str:
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"{module}.minimum({out}, {self._print(a)})"
            return out

    return Printer


def _numpy_finalize(np: Any) -> Callable[[list[Any], Sequence[Any]], list[Any]]:
    ndarray, float64 = np.ndarray, np.float64

    def finalize(results: list[Any], args: Sequence[Any]) -> list[Any]:
        shape = np.broadcast_shapes(*(a.shape for a in args))
        out = []
        for r in results:
            if not shape:  # scalars in, NumPy scalars out (never 0-d arrays)
                out.append(r if r.__class__ is float64 else float64(r))
            elif r.__class__ is ndarray and r.shape == shape:
                out.append(r)
            else:
                out.append(np.array(np.broadcast_to(r, shape), dtype=float64))
        return out

    return finalize


@cache
def _numpy() -> Backend:
    try:
        import numpy as np
    except ImportError:
        raise BackendUnavailableError(
            f"backend 'numpy' needs NumPy: {_INSTALL['numpy']}, or use backend='math' for scalars"
        ) from None
    from sympy.printing.numpy import NumPyPrinter

    printer = _numpy_printer_class(NumPyPrinter, "numpy")(_SETTINGS)

    def convert(name: str, value: Any) -> Any:
        _reject_text(name, value)
        if isinstance(value, sympy.Basic):
            value = _float_number(name, value)
        return np.asarray(value, dtype=np.float64)

    return Backend("numpy", printer, {"numpy": np}, convert, _numpy_finalize(np))


# ---------------------------------------------------------------------------- mpmath


class _MpmathPrinter(MpmathPrinter):
    """mpmath numbers; ``Float`` constants keep their exact binary value."""

    def _print_relu(self, expr: sympy.Expr) -> str:
        x = self._print(expr.args[0])
        return f"(({x}) if ({x}) > 0 else mpmath.mpf(0))"

    def _print_sigmoid(self, expr: sympy.Expr) -> str:
        return f"(1/(1 + mpmath.exp(-({self._print(expr.args[0])}))))"

    def _print_Heaviside(self, expr: sympy.Expr) -> str:
        x = self._print(expr.args[0])
        h0 = self._print(expr.args[1] if len(expr.args) > 1 else sympy.S.Half)
        return f"(mpmath.mpf(1) if ({x}) > 0 else mpmath.mpf(0) if ({x}) < 0 else ({h0}))"


@cache
def _mpmath() -> Backend:
    try:
        import mpmath
    except ImportError:  # pragma: no cover - SymPy depends on mpmath
        raise BackendUnavailableError(f"backend 'mpmath' needs {_INSTALL['mpmath']}") from None
    printer = _MpmathPrinter(_SETTINGS)

    def convert(name: str, value: Any) -> Any:
        _reject_text(name, value)
        if isinstance(value, mpmath.mpf | int | float):
            return mpmath.mpf(value)
        if isinstance(value, Fraction):
            return mpmath.mpf(value.numerator) / value.denominator
        if isinstance(value, sympy.Basic) and value.is_number:
            digits = mpmath.mp.dps + 10
            return mpmath.mpf(sympy.Float(value.evalf(digits), digits)._mpf_)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return mpmath.mpf(float(value))
        raise InvalidValueError(
            f"value for input {name!r} must be a real number, got {value!r} "
            f"({type(value).__name__})"
        )

    def finalize(results: list[Any], args: Sequence[Any]) -> list[Any]:
        out = []
        for r in results:
            if not isinstance(r, mpmath.mpf):
                if isinstance(r, mpmath.mpc | complex):
                    raise NonRealValueError(
                        f"the compiled function's result {r} is complex at inputs "
                        f"({', '.join(str(a) for a in args)})"
                    )
                r = mpmath.mpf(r)
            out.append(r)
        return out

    return Backend(
        "mpmath",
        printer,
        {"mpmath": mpmath},
        convert,
        finalize,
        fold_constants=False,
    )


# ---------------------------------------------------------------------------- jax


@cache
def _jax() -> Backend:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise BackendUnavailableError(f"backend 'jax' needs JAX: {_INSTALL['jax']}") from None
    from sympy.printing.numpy import JaxPrinter

    printer = _numpy_printer_class(JaxPrinter, "jax.numpy")(_SETTINGS)

    def convert(name: str, value: Any) -> Any:
        _reject_text(name, value)
        if isinstance(value, sympy.Basic):
            value = _float_number(name, value)
        return jnp.asarray(value)

    def finalize(results: list[Any], args: Sequence[Any]) -> list[Any]:
        shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in args))
        dtype = jnp.result_type(*args) if args else jnp.asarray(0.0).dtype
        return [
            r
            if getattr(r, "shape", None) == shape
            else jnp.broadcast_to(jnp.asarray(r, dtype=dtype), shape)
            for r in results
        ]

    return Backend("jax", printer, {"jax": jax}, convert, finalize, wrap=jax.jit)


# ---------------------------------------------------------------------------- torch


def _torch_printer_class() -> type:
    from sympy.printing.pytorch import TorchPrinter

    class Printer(TorchPrinter):
        def _print_Float(self, expr: sympy.Float) -> str:
            return repr(float(expr))

        def _print_relu(self, expr: sympy.Expr) -> str:
            return f"torch.relu({self._print(expr.args[0])})"

        def _print_sigmoid(self, expr: sympy.Expr) -> str:
            return f"torch.sigmoid({self._print(expr.args[0])})"

        def _print_Heaviside(self, expr: sympy.Expr) -> str:
            x = self._print(expr.args[0])
            h0 = float(expr.args[1] if len(expr.args) > 1 else sympy.S.Half)
            return f"torch.where(({x}) > 0, 1.0, torch.where(({x}) < 0, 0.0, {h0!r}))"

        def _print_Max(self, expr: sympy.Expr) -> str:
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"torch.maximum({out}, torch.as_tensor({self._print(a)}))"
            return out

        def _print_Min(self, expr: sympy.Expr) -> str:
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"torch.minimum({out}, torch.as_tensor({self._print(a)}))"
            return out

    return Printer


@cache
def _torch() -> Backend:
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(
            f"backend 'torch' needs PyTorch: {_INSTALL['torch']}"
        ) from None
    printer = _torch_printer_class()(_SETTINGS)

    def convert(name: str, value: Any) -> Any:
        _reject_text(name, value)
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, sympy.Basic):
            value = _float_number(name, value)
        return torch.as_tensor(value, dtype=torch.float64)

    def finalize(results: list[Any], args: Sequence[Any]) -> list[Any]:
        shape = torch.broadcast_shapes(*(a.shape for a in args))
        dtype = args[0].dtype if args else torch.float64
        out = []
        for r in results:
            if not (isinstance(r, torch.Tensor) and r.shape == shape):
                r = torch.broadcast_to(torch.as_tensor(r, dtype=dtype), shape).clone()
            out.append(r)
        return out

    return Backend("torch", printer, {"torch": torch, "math": math}, convert, finalize)


_LOADERS: dict[str, Callable[[], Backend]] = {
    "numpy": _numpy,
    "math": _math,
    "mpmath": _mpmath,
    "jax": _jax,
    "torch": _torch,
}


def backend(name: str) -> Backend:
    """The :class:`Backend` called ``name`` (one of :data:`BACKENDS`).

    Raises :class:`~symtrace.errors.OptionValueError` (a ValueError) for an unknown name and
    :class:`~symtrace.errors.BackendUnavailableError` when its library is missing.
    """
    loader = _LOADERS.get(name)
    if loader is None:
        raise OptionValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return loader()


def available_backends() -> tuple[str, ...]:
    """The backends whose libraries are installed, in :data:`BACKENDS` order.

    >>> "math" in available_backends()
    True
    """
    out = []
    for name in BACKENDS:
        try:
            backend(name)
        except BackendUnavailableError:
            continue
        out.append(name)
    return tuple(out)
