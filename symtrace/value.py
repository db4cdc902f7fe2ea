"""Value: the micrograd-compatible front end.

:class:`Value` runs micrograd-style code unchanged (numbers, ``+ - * / **``,
``tanh``/``exp``/``relu``/``log``/``sigmoid``, ``backward()``, ``.grad``) at
micrograd's speed or better, and on request shows the same graph symbolically: its
:class:`~symtrace.Trace`, each node's definition, each node's symbolic gradient.

How it stays fast:

* An operation is stored as data on the result, ``(op kind, parent tuple, exponent)``;
  there are no ``_backward`` closures, so a graph has no reference cycles and is freed
  by reference counting alone (micrograd's closures make the cyclic garbage collector
  walk every graph, 4-10x slower).
* ``backward`` is one reverse loop over a topological order, dispatching on the op kind
  through a small table of local-derivative rules over plain floats.  The order is
  creation order: a Value is always created after its parents, so sorting the graph
  by a creation counter is a topological order -- iterative (no recursion limit) and
  the same on every run.
* No SymPy object is made during arithmetic or ``backward``: the trace is built the
  first time a symbolic view is asked for, then cached.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import math
import numbers
import operator
import re
import warnings
import weakref
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

import sympy

from .derivatives import Gradient
from .errors import InvalidNameError, InvalidValueError, NotANodeError, StateError, UsageError
from .functions import relu as _sym_relu
from .functions import sigmoid as _sym_sigmoid
from .trace import Trace

__all__ = ["Value"]

_new = object.__new__
_creation = itertools.count()  # a Value is created after its parents: a topological order
_by_creation = operator.attrgetter("_n")
_label_epoch = 0  # bumped whenever a label changes, so cached traces know they are stale


class Value:
    """A scalar with a gradient, recorded for backpropagation (micrograd's ``Value``).

    The lecture example: build ``L = (a*b + c) * f``, backpropagate, read the grads,
    then ask the same graph for its symbolic derivatives.

    >>> a = Value(2.0, label="a")
    >>> b = Value(-3.0, label="b")
    >>> c = Value(10.0, label="c")
    >>> e = a * b; e.label = "e"
    >>> d = e + c; d.label = "d"
    >>> f = Value(-2.0, label="f")
    >>> L = d * f; L.label = "L"
    >>> L
    Value(data=-8.0, grad=0.0)
    >>> L.backward()
    >>> a.grad, b.grad, c.grad, f.grad, e.grad, d.grad
    (6.0, -4.0, -2.0, 4.0, -2.0, -2.0)
    >>> t = L.trace()
    >>> t.nodes
    (a, b, c, e, d, f, L)
    >>> t.diff(L.symbol, d.symbol)
    f
    >>> e.expr, d.grad_expr, a.grad_expr
    (a*b, f, b*f)

    Differences from micrograd, all deliberate:

    * ``backward()`` accumulates into the leaves' ``grad`` as micrograd and PyTorch do
      (zero the grads before each step); a computed node's ``grad`` is the last
      sweep's (PyTorch's numbers: micrograd compounds them over repeated calls).
    * ``grad`` is a float: it starts at ``0.0`` and ``backward()`` seeds ``1.0`` (micrograd
      starts at the int ``0``).  ``data`` keeps the number type given, as micrograd's does:
      ``Value(2) ** 3`` has ``data`` 8 (an int), Fractions stay exact, NumPy scalars are
      kept; ``tanh``, ``exp``, ``log`` and ``sigmoid`` give floats.
    * ``a - b``, ``a / b`` and ``-a`` are recorded as one step each (ops ``'-'``,
      ``'/'``, ``'neg'``), not decomposed into ``a + b*(-1)`` and ``a * b**-1``: the
      trace shows the steps the user wrote.  Numerically ``a / b`` is one division.
    * ``relu``'s gradient at 0 is 0 (PyTorch's convention); ``tanh`` uses
      :func:`math.tanh`, which does not overflow for large arguments.
    * A fractional power of a negative number raises :class:`ValueError` instead of
      producing a complex ``data``.

    ``_prev`` (the set of children) and ``_op`` (``'+'``, ``'*'``, ``'**2'``,
    ``'tanh'``, ``'ReLU'``, ...) are there for micrograd's graph-drawing code;
    ``node._backward()`` applies that node's local chain-rule step once (as in the
    lecture's manual backprop).

    A node made by hand, ``Value(data, children, op)``, behaves as micrograd's: it has no
    backward rule until one is assigned (``node._backward = fn``), so no gradient flows
    through it to its children, whatever ``op`` says.  With a rule assigned and ``op`` an
    op symtrace knows (``'+'``, ``'tanh'``, ``'**2'``, ...) it traces as that op; with a
    rule and an op it does not know, :meth:`trace` raises
    :class:`~symtrace.errors.UsageError` (the rule is Python code it cannot read).
    Without a rule the node is traced as an input holding its ``data``, with a warning:
    the trace then agrees with ``.grad`` (nothing flows past it).

    >>> a = Value(2.0, label="a")
    >>> s = Value(a.data + 1, (a,), "+1")   # by hand, no _backward
    >>> s.backward(); a.grad
    0.0
    """

    __slots__ = (
        "__dict__",  # extra attributes (optimizer state such as ``v.m``), ``vars(v)``
        "__weakref__",
        "_arg",
        "_cache",
        "_custom",
        "_kind",
        "_label",
        "_n",
        "_opname",
        "_parents",
        "_root",
        "data",
        "grad",
    )

    data: Any  # the number as given: int, float, Fraction, a NumPy scalar
    grad: float
    _parents: tuple[Value, ...]
    _kind: str
    _n: int
    _arg: Any
    _label: str
    _opname: str
    _custom: Callable[[], None]
    _root: weakref.ref[Value]
    _cache: _Traced

    def __init__(
        self,
        data: float,
        _children: Iterable[Value] = (),
        _op: str = "",
        label: str = "",
    ) -> None:
        self.data = _as_number(data, "Value(data)")
        self.grad = 0.0
        self._parents = parents = tuple(_children)
        for p in parents:
            if not isinstance(p, Value):
                raise UsageError(f"Value children must be Values, got {type(p).__name__} {p!r}")
        self._n = next(_creation)
        self._label = label
        # A node made by hand has no backward rule until one is assigned (micrograd's
        # default _backward does nothing), whatever its op is called.
        self._kind = "custom" if parents else "leaf"
        if _op:
            self._opname = _op

    # ---------------------------------------------------------------- micrograd API

    @property
    def label(self) -> str:
        """The node's name in traces (``''`` for none; then a name is generated)."""
        return getattr(self, "_label", "")

    @label.setter
    def label(self, value: str) -> None:
        global _label_epoch
        self._label = value
        _label_epoch += 1

    @property
    def _prev(self) -> set[Value]:
        """The children (parents in the graph), as a set, as micrograd has it."""
        return set(self._parents)

    @property
    def _op(self) -> str:
        """The op that produced this node, spelled as micrograd does (``'+'``, ``'**2'``)."""
        name = getattr(self, "_opname", None)
        if name is not None:
            return name
        if self._kind == "pow":
            return f"**{self._arg}"
        return _OP_SPELLING[self._kind]

    @property
    def _backward(self) -> Callable[[], None]:
        """Apply this node's local chain-rule step once: add into its parents' grads."""
        rule = _BACKWARD[self._kind]
        if rule is None:
            return _nothing
        return functools.partial(rule, self)

    @_backward.setter
    def _backward(self, fn: Callable[[], None]) -> None:
        self._opname = self._op  # traces still read the op from its micrograd spelling
        self._custom = fn
        self._kind = "custom"

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # Pickling: the slots and extra attributes, without the per-process parts (the
    # weak reference to the last output, the cached trace); ``_n`` is renumbered on
    # loading, parents first, so the creation order stays a topological order in the
    # new process.
    _UNPICKLED = ("_root", "_cache", "__weakref__", "__dict__")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(getattr(self, "__dict__", {}))
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name not in self._UNPICKLED and hasattr(self, name):
                    state[name] = getattr(self, name)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._n = next(_creation)

    def __add__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else _constant(other)
        if o is None:
            return NotImplemented
        out = _new(Value)
        out.data = self.data + o.data
        out.grad = 0.0
        out._parents = (self, o)
        out._kind = "add"
        out._n = next(_creation)
        return out

    def __radd__(self, other: float) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        return self._result(c.data + self.data, (c, self), "add")

    def __sub__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else _constant(other)
        if o is None:
            return NotImplemented
        out = _new(Value)
        out.data = self.data - o.data
        out.grad = 0.0
        out._parents = (self, o)
        out._kind = "sub"
        out._n = next(_creation)
        return out

    def __rsub__(self, other: float) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        return self._result(c.data - self.data, (c, self), "sub")

    def __mul__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else _constant(other)
        if o is None:
            return NotImplemented
        out = _new(Value)
        out.data = self.data * o.data
        out.grad = 0.0
        out._parents = (self, o)
        out._kind = "mul"
        out._n = next(_creation)
        return out

    def __rmul__(self, other: float) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        return self._result(c.data * self.data, (c, self), "mul")

    def __truediv__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else _constant(other)
        if o is None:
            return NotImplemented
        return self._result(self.data / o.data, (self, o), "div")

    def __rtruediv__(self, other: float) -> Value:
        c = _constant(other)
        if c is None:
            return NotImplemented
        return self._result(c.data / self.data, (c, self), "div")

    def __neg__(self) -> Value:
        return self._result(-self.data, (self,), "neg")

    def __pow__(self, other: float) -> Value:
        if isinstance(other, Value):
            raise UsageError(
                "Value ** Value is not supported: the exponent must be an int or float "
                "constant. For x**y with a Value y, write (y * x.log()).exp()."
            )
        if not isinstance(other, int | float) or isinstance(other, bool):
            if not isinstance(other, numbers.Real):
                return NotImplemented
            other = int(other) if isinstance(other, numbers.Integral) else float(other)
        data = self.data**other
        if isinstance(data, complex):
            raise ValueError(
                f"math domain error: ({self.data}) ** {other} is not a real number "
                "(a negative number to a fractional power)"
            )
        out = self._result(data, (self,), "pow")
        out._arg = other
        return out

    def __rpow__(self, other: float) -> Value:
        raise UsageError(
            f"{other!r} ** Value is not supported: the exponent must be an int or float "
            "constant. For c**x with a Value x, write (x * math.log(c)).exp()."
        )

    def tanh(self) -> Value:
        """Hyperbolic tangent.

        >>> x = Value(0.5); y = x.tanh(); y.backward()
        >>> round(y.data, 6), round(x.grad, 6)
        (0.462117, 0.786448)
        """
        return self._result(math.tanh(self.data), (self,), "tanh")

    def exp(self) -> Value:
        """Exponential (:class:`OverflowError` past ``exp(709)``, as :func:`math.exp`).

        >>> x = Value(1.0); y = x.exp(); y.backward()
        >>> y.data == x.grad == math.e
        True
        """
        return self._result(math.exp(self.data), (self,), "exp")

    def log(self) -> Value:
        """Natural logarithm (:class:`ValueError` for ``data <= 0``, as :func:`math.log`).

        >>> x = Value(4.0); y = x.log(); y.backward()
        >>> x.grad
        0.25
        """
        return self._result(math.log(self.data), (self,), "log")

    def relu(self) -> Value:
        """``max(0, x)``; its gradient at 0 is 0 (PyTorch's convention).

        >>> x = Value(0.0); y = x.relu(); y.backward()
        >>> y.data, x.grad
        (0.0, 0.0)
        """
        x = self.data
        return self._result(0 if x < 0 else x, (self,), "relu")  # micrograd's, types kept

    def sigmoid(self) -> Value:
        """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow.

        >>> x = Value(0.0); y = x.sigmoid(); y.backward()
        >>> y.data, x.grad
        (0.5, 0.25)
        """
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            z = math.exp(x)
            s = z / (1.0 + z)
        return self._result(s, (self,), "sigmoid")

    def _result(self, data: float, parents: tuple[Value, ...], kind: str) -> Value:
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out._parents = parents
        out._kind = kind
        out._n = next(_creation)
        return out

    def backward(self) -> None:
        """Add d(self)/d(node) into ``grad`` of every node upstream, by one reverse sweep.

        As in micrograd and PyTorch, ``backward()`` accumulates into the leaves (the
        Values made with ``Value(...)``: parameters and inputs): two losses'
        ``backward()`` sum their gradients, a hand-set grad is added to, and a training
        loop zeroes the grads first (``zero_grad``).  Nodes computed from others hold
        this sweep's gradient, as PyTorch computes it (micrograd would also add into
        them, compounding a second call).  Iterative: any depth works.

        >>> a = Value(3.0)
        >>> b = a + a
        >>> b.backward()
        >>> a.grad
        2.0
        >>> c = a * 4
        >>> c.backward(); a.grad         # 2 from b, 4 from c
        6.0
        """
        order = _topological(self)
        root = weakref.ref(self)
        for v in order:
            if v._parents:
                v.grad = 0.0  # this sweep's gradient; leaves accumulate
            v._root = root
        self.grad = 1.0
        rules = _BACKWARD
        for v in reversed(order):
            rule = rules[v._kind]
            if rule is not None:
                rule(v)

    # -------------------------------------------------------------- symbolic views

    def trace(self, name: str | None = None) -> Trace:
        """The :class:`~symtrace.Trace` of everything upstream of this Value.

        Nodes come in creation order.  Leaves the user created become inputs (their
        ``data`` is the input's value); numbers wrapped by an operator (the ``1`` in
        ``a + 1``) are inlined as SymPy numbers.  Labels become node names (a label
        that is not an identifier is made one, with a warning; a label used twice gets
        ``_2``, ``_3`` ... with a warning); unlabeled nodes are named ``v1``, ``v2``,
        ... avoiding every label.  ``name`` overrides this Value's own name.

        The trace is cached on this Value (rebuilt when a leaf's ``data``, a label or
        ``name`` changes): treat it as read-only.  The last trace built for an output is
        the one its upstream Values' :attr:`symbol`, :attr:`expr` and
        :attr:`grad_expr` refer to.

        >>> x = Value(3.0, label="x")
        >>> y = (2 * x + 1).tanh()
        >>> t = y.trace(name="y")
        >>> [(s, t.definition(s)) for s in t.nodes]
        [(x, x), (v1, 2*x), (v2, v1 + 1), (y, tanh(v2))]
        >>> t.value(t["v2"])
        7.0
        """
        return self._traced(name).trace

    @property
    def symbol(self) -> sympy.Expr:
        """This Value's Symbol (a SymPy number for an inlined constant).

        Named as in the trace of the output of the last ``backward()`` through this
        Value (the trace ``grad_expr`` is in), or else as in ``self.trace()``.

        >>> x = Value(1.0, label="x"); y = x.exp()
        >>> x.symbol, y.symbol
        (x, v1)
        """
        return self._context().symbols[id(self)]

    @property
    def expr(self) -> sympy.Expr:
        """This Value's definition in terms of its parents' Symbols.

        An input is its own Symbol; an inlined constant is a SymPy number.  Named as
        :attr:`symbol` is.

        >>> x = Value(1.0, label="x"); y = 3 / x; z = y ** 2
        >>> y.expr, z.expr
        (3/x, v1**2)
        """
        return self._context().exprs[id(self)]

    @property
    def grad_expr(self) -> sympy.Expr:
        """Symbolic d(output)/d(self), the output being the last ``backward()`` through self.

        Compact form, in the symbols of ``output.trace()``, written as by hand
        (``tanh' = 1 - y**2`` with the node ``y`` itself); ``grad`` is its value.

        >>> x = Value(0.5, label="x"); u = 3 * x; y = u.tanh(); y.label = "y"
        >>> y.backward()
        >>> u.grad_expr, x.grad_expr
        (1 - y**2, 3*(1 - y**2))
        >>> u.symbol, u.expr
        (v1, 3*x)
        """
        ref = getattr(self, "_root", None)
        root = None if ref is None else ref()
        if root is None:
            raise StateError(
                "grad_expr needs a backward() first: call output.backward() on a Value "
                "computed from this one (and keep the output alive)"
                if ref is None
                else "the output of the last backward() through this Value no longer "
                "exists; keep a reference to it, or call backward() again"
            )
        traced = root._current()
        if traced.kinds[id(self)] == "const":
            raise NotANodeError(
                f"{self!r} is a number wrapped by an operator and is inlined in the trace "
                "as a constant; it has no symbolic gradient of its own"
            )
        return traced.gradient()[traced.symbols[id(self)]]

    def _context(self) -> _Traced:
        """The trace this Value is shown in: its last backward output's, else its own."""
        ref = getattr(self, "_root", None)
        root = None if ref is None else ref()
        return (root if root is not None else self)._current()

    def _current(self) -> _Traced:
        """This output's cached trace (as last named), rebuilt if stale."""
        cached = getattr(self, "_cache", None)
        return self._traced(None if cached is None else cached.name)

    def _traced(self, name: str | None) -> _Traced:
        cached = getattr(self, "_cache", None)
        if cached is None or cached.name != name or not cached.fresh(self):
            cached = self._cache = _build(self, name)
        return cached


# ------------------------------------------------------------------------ helpers


def _nothing() -> None:
    """The ``_backward`` of a leaf."""


def _as_number(x: Any, what: str) -> Any:
    """``x`` itself, if it is a real number (int, float, Fraction, a NumPy scalar)."""
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        return x
    raise InvalidValueError(
        f"{what} must be a real number (int, float, Fraction or a NumPy scalar), got "
        f"{type(x).__name__} {_short(x)}; a Value holds one number (for an array, make "
        "one Value per entry)"
    )


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _constant(x: object) -> Value | None:
    """Wrap a plain number met inside an operator (``None`` if ``x`` is not one)."""
    arg: Any
    if type(x) is float:
        arg = x
    elif isinstance(x, numbers.Integral):
        arg = int(x)
    elif isinstance(x, Fraction):
        arg = x
    elif isinstance(x, numbers.Real):
        arg = float(x)
    else:
        return None
    v = _new(Value)
    v.data = x  # the number as given: micrograd's arithmetic keeps its type
    v.grad = 0.0
    v._parents = ()
    v._kind = "const"
    v._arg = arg  # for the trace: an int, a Fraction or a float
    v._n = next(_creation)
    return v


def _topological(root: Value, cut: Callable[[Value], bool] | None = None) -> list[Value]:
    """Every Value upstream of ``root`` (itself included), parents before children;
    the parents of a Value for which ``cut`` is true are left out (unless reached
    another way)."""
    seen = {root}
    order = [root]
    stack = [root]
    pop, push, add, keep = stack.pop, stack.append, seen.add, order.append
    while stack:
        v = pop()
        if cut is not None and cut(v):
            continue
        for p in v._parents:
            if p not in seen:
                add(p)
                push(p)
                keep(p)
    order.reverse()  # mostly parents first already: the sort has little to do
    order.sort(key=_by_creation)
    return order


# Ops: the names micrograd's user code passes as ``_op`` -> (kind, number of parents).
_KINDS: dict[str, tuple[str, int]] = {
    "+": ("add", 2),
    "-": ("sub", 2),
    "*": ("mul", 2),
    "/": ("div", 2),
    "neg": ("neg", 1),
    "tanh": ("tanh", 1),
    "exp": ("exp", 1),
    "log": ("log", 1),
    "ReLU": ("relu", 1),
    "relu": ("relu", 1),
    "sigmoid": ("sigmoid", 1),
}
_OP_SPELLING = {kind: op for op, (kind, _) in _KINDS.items()} | {
    "relu": "ReLU",
    "leaf": "",
    "const": "",
    "custom": "",
}
_POW_OP = re.compile(r"\*\*\s*(\S+)")


def _kind_of(op: str, n_parents: int) -> tuple[str, Any]:
    """The kind (and exponent) for a node made by hand as ``Value(data, children, op)``."""
    if n_parents == 0:
        return "leaf", None
    if op in _KINDS and _KINDS[op][1] == n_parents:
        return _KINDS[op][0], None
    m = _POW_OP.fullmatch(op)
    if m and n_parents == 1:
        try:
            p = float(m.group(1))
        except ValueError:
            return "custom", None
        return "pow", int(p) if p.is_integer() and "." not in m.group(1) else p
    return "custom", None


# Local derivative rules over floats: add d(v)/d(parent) * v.grad into each parent.


def _d_add(v: Value) -> None:
    a, b = v._parents
    g = v.grad
    a.grad += g
    b.grad += g


def _d_sub(v: Value) -> None:
    a, b = v._parents
    g = v.grad
    a.grad += g
    b.grad -= g


def _d_mul(v: Value) -> None:
    a, b = v._parents
    g = v.grad
    a.grad += b.data * g
    b.grad += a.data * g


def _d_div(v: Value) -> None:  # v = a / b: dv/da = 1/b, dv/db = -v/b
    a, b = v._parents
    g = v.grad / b.data
    a.grad += g
    b.grad -= v.data * g


def _d_neg(v: Value) -> None:
    v._parents[0].grad -= v.grad


def _d_pow(v: Value) -> None:
    a = v._parents[0]
    p = v._arg
    a.grad += p * a.data ** (p - 1) * v.grad


def _d_tanh(v: Value) -> None:  # tanh' = 1 - tanh**2
    t = v.data
    v._parents[0].grad += (1.0 - t * t) * v.grad


def _d_exp(v: Value) -> None:
    v._parents[0].grad += v.data * v.grad


def _d_log(v: Value) -> None:
    a = v._parents[0]
    a.grad += v.grad / a.data


def _d_relu(v: Value) -> None:  # relu'(0) = 0
    if v.data > 0.0:
        v._parents[0].grad += v.grad


def _d_sigmoid(v: Value) -> None:  # sigmoid' = s (1 - s)
    s = v.data
    v._parents[0].grad += s * (1.0 - s) * v.grad


def _d_custom(v: Value) -> None:
    """A hand-made node's own ``_backward``; without one, no gradient flows through it
    (micrograd's default ``_backward`` does nothing)."""
    fn = getattr(v, "_custom", None)
    if fn is not None:
        fn()


_BACKWARD: dict[str, Callable[[Value], None] | None] = {
    "leaf": None,
    "const": None,
    "add": _d_add,
    "sub": _d_sub,
    "mul": _d_mul,
    "div": _d_div,
    "neg": _d_neg,
    "pow": _d_pow,
    "tanh": _d_tanh,
    "exp": _d_exp,
    "log": _d_log,
    "relu": _d_relu,
    "sigmoid": _d_sigmoid,
    "custom": _d_custom,
}


# ---------------------------------------------------------------- symbolic side


def _number(x: float) -> sympy.Expr:
    """A Python number as a SymPy number: exact when it is an integer or k/2**j, j <= 10."""
    if isinstance(x, numbers.Integral):
        return sympy.Integer(int(x))
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    x = float(x)
    if math.isfinite(x):
        q = Fraction(x)
        if q.denominator <= 1024:
            return sympy.Rational(q.numerator, q.denominator)
    return sympy.Float(x)


# Op kind -> its SymPy expression, from the parents' symbols and the exponent.
_SYMPY: dict[str, Callable[[tuple[sympy.Expr, ...], Any], sympy.Expr]] = {
    "add": lambda p, _: sympy.Add(*p),
    "sub": lambda p, _: p[0] - p[1],
    "mul": lambda p, _: sympy.Mul(*p),
    "div": lambda p, _: p[0] / p[1],
    "neg": lambda p, _: -p[0],
    "pow": lambda p, k: sympy.Pow(p[0], _number(k)),
    "tanh": lambda p, _: sympy.tanh(p[0]),
    "exp": lambda p, _: sympy.exp(p[0]),
    "log": lambda p, _: sympy.log(p[0]),
    "relu": lambda p, _: _sym_relu(p[0]),
    "sigmoid": lambda p, _: _sym_sigmoid(p[0]),
}


class _Traced:
    """A Value's trace plus the maps from each upstream Value (by ``id``) to its parts.

    Keyed by ``id`` so that the cache (held by the output) does not point back at the
    output: no reference cycle.  The ids stay valid while the output is alive.
    """

    __slots__ = (
        "_gradient",
        "data",
        "epoch",
        "exprs",
        "kinds",
        "leaves",
        "name",
        "output",
        "symbols",
        "trace",
    )

    def __init__(
        self,
        trace: Trace,
        name: str | None,
        output: sympy.Symbol,
        symbols: dict[int, sympy.Expr],
        exprs: dict[int, sympy.Expr],
        kinds: dict[int, str],
        leaves: tuple[Value, ...],
    ) -> None:
        self.trace = trace
        self.name = name
        self.output = output
        self.symbols = symbols
        self.exprs = exprs
        self.kinds = kinds
        self.leaves = leaves  # the input Values other than the output itself
        self.data = tuple(v.data for v in leaves)
        self.epoch = _label_epoch
        self._gradient: Gradient | None = None

    def fresh(self, output: Value) -> bool:
        """Whether no label and no input's data changed since the trace was built."""
        if self.epoch != _label_epoch or tuple(v.data for v in self.leaves) != self.data:
            return False
        return not (
            output._kind in ("leaf", "const")
            and self.trace.input_values[self.output] != output.data
        )

    def gradient(self) -> Gradient:
        if self._gradient is None:
            self._gradient = self.trace.grad(self.output)
        return self._gradient


def _names(order: list[Value], output: Value, name: str | None) -> dict[int, str]:
    """Node names for the non-constant Values of ``order``; warns about relabeling."""
    named = [v for v in order if v._kind != "const" or v is output]
    base, renamed = _label_names(named, output, name)
    names, used, dups = _distinct_names(named, output, name, base)
    counter = itertools.count(1)
    for v in named:  # unlabeled Values get v1, v2, ...
        if id(v) not in names:
            n = f"v{next(counter)}"
            while n in used:
                n = f"v{next(counter)}"
            names[id(v)] = n
    if renamed:
        warnings.warn(
            "labels that are not identifiers were renamed in the trace: "
            + ", ".join(f"{a!r} -> {b or '(generated name)'!r}" for a, b in renamed),
            UserWarning,
            stacklevel=5,
        )
    if dups:
        warnings.warn(
            "several Values share a label; they get distinct names in the trace: "
            + "; ".join(f"label {s!r} -> {', '.join(ns)}" for s, ns in dups.items()),
            UserWarning,
            stacklevel=5,
        )
    return names


def _label_names(
    named: list[Value], output: Value, name: str | None
) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """The name each Value asks for (``name`` for the output, else its label made an
    identifier), and the ``(label, identifier)`` pairs of the labels that changed."""
    base: dict[int, str] = {}
    renamed: list[tuple[str, str]] = []
    if name is not None:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise InvalidNameError(f"trace(name={name!r}): the name must be an identifier")
        base[id(output)] = name
    for v in named:
        label = v.label
        if id(v) in base or not label:
            continue
        if not isinstance(label, str):
            label = str(label)
        s = _identifier(label)
        if s != label:
            renamed.append((label, s))
        if s:
            base[id(v)] = s
    return base, renamed


def _distinct_names(
    named: list[Value], output: Value, name: str | None, base: dict[int, str]
) -> tuple[dict[int, str], set[str], dict[str, list[str]]]:
    """Distinct names for the Values in ``base``: the first to ask for a name keeps it,
    the rest get ``_2``, ``_3``, ...  Also the names used, and each shared label's names.
    """
    names: dict[int, str] = {}
    used: set[str] = set()
    dups: dict[str, list[str]] = {}
    if name is not None:
        names[id(output)] = name
        used.add(name)
    for v in named:  # first come keeps the plain name
        plain = base.get(id(v))
        if plain is not None and id(v) not in names and plain not in used:
            names[id(v)] = plain
            used.add(plain)
    used.update(base.values())
    for v in named:  # the rest get suffixes
        plain = base.get(id(v))
        if plain is None or id(v) in names:
            continue
        k = 2
        while f"{plain}_{k}" in used:
            k += 1
        names[id(v)] = f"{plain}_{k}"
        used.add(names[id(v)])
        dups.setdefault(plain, [plain]).append(names[id(v)])
    return names, used, dups


def _identifier(label: str) -> str:
    """``label`` made a valid node name (``''`` when nothing is left of it)."""
    if label.isidentifier() and not keyword.iskeyword(label) and not label.startswith("__"):
        return label
    s = "".join(c if ("a" + c).isidentifier() else "_" for c in label)
    s = re.sub("_+", "_", s).strip("_")
    if not s:
        return ""
    if not s.isidentifier():  # starts with a digit
        s = "v_" + s
    if keyword.iskeyword(s):
        s += "_"
    return s


def _without_rule(v: Value) -> bool:
    """Whether ``v`` was made by hand with children and given no ``_backward``."""
    return v._kind == "custom" and getattr(v, "_custom", None) is None


def _build(output: Value, name: str | None) -> _Traced:
    """Translate the graph upstream of ``output`` into a new Trace."""
    order = _topological(output, cut=_without_rule)
    names = _names(order, output, name)
    t = Trace()
    symbols: dict[int, sympy.Expr] = {}
    exprs: dict[int, sympy.Expr] = {}
    kinds: dict[int, str] = {}
    leaves: list[Value] = []
    hand_made: list[str] = []
    for v in order:
        kind = v._kind
        key = id(v)
        kinds[key] = kind
        if kind == "const" and v is not output:
            symbols[key] = exprs[key] = _number(v._arg)
            continue
        if kind in ("leaf", "const"):
            symbols[key] = exprs[key] = t.input(names[key], v.data)
            if v is not output:
                leaves.append(v)
            continue
        arg = getattr(v, "_arg", None)
        if _without_rule(v):
            # made by hand without a backward rule: no gradient flows past it (as in
            # micrograd), so it is an input holding its data, and its parents are cut off
            hand_made.append(names[key])
            symbols[key] = exprs[key] = t.input(names[key], v.data)
            if v is not output:
                leaves.append(v)
            continue
        if kind == "custom":  # a hand-made node: trace the op its micrograd spelling names
            kind, arg = _kind_of(v._op, len(v._parents))
        rule = _SYMPY.get(kind)
        if rule is None:
            raise UsageError(
                f"cannot trace op {v._op!r} of {v!r}: symbolic views know the ops "
                f"{', '.join(repr(k) for k in _KINDS)} and '**<number>'"
            )
        rhs = rule(tuple(symbols[id(p)] for p in v._parents), arg)
        exprs[key] = rhs
        symbols[key] = t.define(names[key], rhs)
    if hand_made:
        warnings.warn(
            f"Values made by hand with no _backward ({', '.join(hand_made)}) are traced as "
            "inputs holding their data: no gradient flows through them, as in micrograd "
            "(assign node._backward to give one a rule)",
            UserWarning,
            stacklevel=4,
        )
    return _Traced(t, name, symbols[id(output)], symbols, exprs, kinds, tuple(leaves))
