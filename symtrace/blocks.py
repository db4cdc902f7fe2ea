"""Reusable function blocks: a SymPy-valued Python function that adds one node per call.

Tutorials build composite functions from named blocks, ``f = f_1(f_2(x1, f_2(x2,
x1)), f_3(x1))`` (seed 002's ``Function``).  :meth:`Trace.function
<symtrace.Trace.function>` wraps such a Python function as a :class:`Block`.  The
function is called once, on Symbols named after its parameters, to get the block's
body and its symbolic partials; each call of the block on nodes of the trace then
adds **one** node, defined as the body with the arguments put in for the
parameters.  So the node's local partials are the block's partials at the
arguments, and the same block used twice gives two nodes (``f_2``, ``f_2_2``).

>>> import sympy
>>> from symtrace import Trace
>>> t = Trace()
>>> x1, x2 = t.inputs("x1 x2", values=(2, 3))
>>> f1 = t.function(lambda x, y: x * y, name="f1")
>>> f2 = t.function(lambda x, y: sympy.cos(sympy.pi * x) / sympy.sin(x), name="f2")
>>> f3 = t.function(lambda x, y: sympy.log(x) / y, name="f3")
>>> f = f1(f2(x1, x2), f3(x1, x2))
>>> t.nodes, t.definition(f), t.definition("f3")
((x1, x2, f2, f3, f1), f2*f3, log(x1)/x2)
>>> g = t.grad(f)
>>> g.value(x1), g.value(x2)
(0.2995807603238..., -0.0846987477622...)
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import sympy

from .errors import InvalidNameError, TraceError, UsageError
from .graph import Builder
from .nodes import NodeSymbol

__all__ = ["Block"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Block:
    """A SymPy-valued function of several arguments; each call adds one node to ``trace``.

    ``fn`` takes only positional parameters and builds its result with SymPy
    (``sympy.sin``, ``sympy.pi``, not :mod:`math`).  It may also use nodes of
    ``trace`` (a weight ``w`` in ``lambda x: w*x``): they become parents of every
    call's node, but the block's :attr:`partials` are w.r.t. its parameters only.

    ``name`` (default: the function's ``__name__``, or ``"f"`` for a lambda) names the
    first call's node; later calls get ``name_2``, ``name_3``, ... (skipping names
    already used), unless the call passes ``name=``.

    >>> import sympy
    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x1, x2 = t.inputs("x1 x2", values=(2, 3))
    >>> f_2 = t.function(lambda x, y: x**y, name="f_2")
    >>> f_2.params, f_2.expr, f_2.partials
    (('x', 'y'), x**y, mappingproxy({'x': x**y*y/x, 'y': x**y*log(x)}))
    >>> u = f_2(x2, x1)
    >>> v = f_2(x1, u)
    >>> f_2.calls
    (f_2, f_2_2)
    >>> t.definition(v), t.partial(v, u)
    (x1**f_2, x1**f_2*log(x1))
    >>> f_2(x1)
    Traceback (most recent call last):
    ...
    symtrace.errors.UsageError: f_2() takes 2 arguments (x, y) but 1 was given
    """

    def __init__(self, trace: Builder, fn: Callable[..., Any], name: str | None = None) -> None:
        if not callable(fn):
            raise UsageError(f"function(): expected a Python function, got {fn!r}")
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError) as err:
            raise UsageError(f"function(): cannot read the parameters of {fn!r}: {err}") from None
        params = []
        for p in signature.parameters.values():
            if p.kind not in _POSITIONAL:
                raise UsageError(
                    f"function(): parameter {p.name!r} of {fn!r} is {p.kind.description}; a "
                    "block needs a fixed list of positional parameters, e.g. lambda x, y: ..."
                )
            params.append(p.name)
        if name is None:
            fname = getattr(fn, "__name__", "")
            name = fname if fname.isidentifier() else "f"
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
            raise InvalidNameError(
                f"function(): invalid block name {name!r}; use letters, digits and '_', "
                "e.g. name='f_1'"
            )
        self._trace = trace
        self._fn = fn
        self._name = name
        self._params = tuple(params)
        self._symbols = tuple(sympy.Symbol(p, real=True) for p in params)
        self._expr = self._body(fn)
        self._partials = MappingProxyType(
            {p: sympy.diff(self._expr, s) for p, s in zip(params, self._symbols, strict=True)}
        )
        self._calls: list[NodeSymbol] = []

    def _body(self, fn: Callable[..., Any]) -> sympy.Expr:
        try:
            body = fn(*self._symbols)
        except TypeError as err:
            raise UsageError(
                f"function(): calling {self._name} on SymPy Symbols {self._params} failed "
                f"({err}); build the result with SymPy functions and constants "
                "(sympy.sin, sympy.pi), not math.sin or math.pi"
            ) from err
        if isinstance(body, numbers.Number) and not isinstance(body, bool | complex):
            body = sympy.Integer(body) if isinstance(body, int) else sympy.Float(body)
        if not isinstance(body, sympy.Expr):
            raise UsageError(
                f"function(): {self._name}{self._params} returned {type(body).__name__} "
                f"{body!r}; a block must return a SymPy expression"
            )
        own = set(self._symbols)
        for s in sorted(body.free_symbols - own, key=str):
            if s not in self._trace:
                raise TraceError(
                    f"function(): {self._name}'s body {body} uses {s}, which is neither a "
                    f"parameter ({', '.join(self._params)}) nor a node of this trace; add it "
                    "as a parameter, or use the trace's node (t[name])"
                )
        return body

    # ------------------------------------------------------------------ calling

    def __call__(self, *args: Any, name: str | None = None) -> NodeSymbol:
        """Add the node ``name = block(*args)`` to the trace; return its Symbol.

        Arguments are nodes of the trace, numbers, or SymPy expressions in nodes (an
        expression is written into the node's definition; pass a node to keep the
        node's local partials equal to :attr:`partials`).
        """
        n = len(self._params)
        if len(args) != n:
            raise UsageError(
                f"{self._name}() takes {n} argument{'s' if n != 1 else ''} "
                f"({', '.join(self._params)}) but {len(args)} "
                f"{'was' if len(args) == 1 else 'were'} given"
            )
        values = [self._argument(a, p) for a, p in zip(args, self._params, strict=True)]
        rhs = self._expr.xreplace(dict(zip(self._symbols, values, strict=True)))
        node = self._trace.define(self._next_name() if name is None else name, rhs)
        self._calls.append(node)
        return node

    def _argument(self, arg: Any, param: str) -> sympy.Expr:
        if isinstance(arg, bool) or not isinstance(arg, numbers.Real | sympy.Expr):
            hint = (
                f"; use the node's Symbol, t[{arg!r}]"
                if isinstance(arg, str)
                else " (a node of the trace, a number or a SymPy expression in nodes)"
            )
            raise UsageError(
                f"{self._name}(): argument {param} is {type(arg).__name__} {arg!r}{hint}"
            )
        if isinstance(arg, sympy.Expr):
            return arg
        return sympy.Integer(arg) if isinstance(arg, numbers.Integral) else sympy.Float(arg)

    def _next_name(self) -> str:
        k = len(self._calls) + 1
        while True:
            candidate = self._name if k == 1 else f"{self._name}_{k}"
            if candidate not in self._trace:
                return candidate
            k += 1

    # ---------------------------------------------------------------- inspection

    @property
    def trace(self) -> Builder:
        """The trace the calls add nodes to."""
        return self._trace

    @property
    def name(self) -> str:
        """The block's name, the first call's node name."""
        return self._name

    @property
    def params(self) -> tuple[str, ...]:
        """The parameter names, from the function's signature."""
        return self._params

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The parameters as (real) SymPy Symbols, the ones :attr:`expr` is written in."""
        return self._symbols

    @property
    def expr(self) -> sympy.Expr:
        """The block's body: the function applied to :attr:`symbols`."""
        return self._expr

    @property
    def partials(self) -> Mapping[str, sympy.Expr]:
        """Symbolic partial of :attr:`expr` w.r.t. each parameter, by parameter name."""
        return self._partials

    @property
    def calls(self) -> tuple[NodeSymbol, ...]:
        """The nodes the calls have added, in call order."""
        return tuple(self._calls)

    def __repr__(self) -> str:
        calls = len(self._calls)
        return (
            f"<Block {self._name}({', '.join(self._params)}) = {self._expr}, "
            f"{calls} call{'s' if calls != 1 else ''}>"
        )
