"""Hand-style forms: an expression written the way a person works it by hand.

The engine's expressions are right but not how a course writes them.  A hand-style
form is the same expression, equal to it at every point of the trace (each node *is*
its definition), with three rewrites:

* a node's own value is written as the node: with ``o = tanh(n)``, ``tanh'`` is
  ``1 - o**2``, not ``1 - tanh(n)**2``; with ``s = sigmoid(z)`` the sigmoid's is
  ``s*(1 - s)``; with ``e = exp(z)`` it is ``e``;
* a quotient node cancels where it can: with the softmax probability ``p2 = e2/S``,
  ``e2*(e2/S - 1)/(S*p2)`` is ``p2 - 1`` (cross-entropy's ``p - y``) and
  ``e1*e2/(S**2*p2)`` is ``e1/S`` (``p1`` when a node ``p1 = e1/S`` exists);
* common factors come out of sums: ``2*o - 2*y`` is ``2*(o - y)``.

A rewrite is kept only when it does not make the expression longer.  ``t.diff``,
``g[node]`` and ``g.steps(node)`` return these forms and every view prints them;
``g.expanded(node)`` (inputs only), the engine's sweeps and the numbers do not use
them.

>>> import sympy
>>> n, o, y = sympy.symbols("n o y")
>>> hand_local(2 * (1 - sympy.tanh(n) ** 2) * (o - y) * 1, {sympy.tanh(n): o})
2*(1 - o**2)*(o - y)
>>> e1, e2, S, p2 = sympy.symbols("e1 e2 S p2")
>>> names = {e2 / S: p2}
>>> hand_local(e2 * (-1 + e2 / S) / (S * p2), names), hand_local(e1 * e2 / (S**2 * p2), names)
(p2 - 1, e1/S)
>>> hand_local(e2 * (-1 / e2 + 1 / S), names)
p2 - 1
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from .shapes import size_at_most

__all__ = ["HandNames", "hand", "hand_local", "hand_names", "is_quotient", "replace_shared"]


def is_quotient(d: Any) -> bool:
    """Whether ``d`` is a quotient of symbols (``e2/S``, ``a*b/c**2``): a product of
    symbols and their integer powers with at least one negative power."""
    if not isinstance(d, sympy.Mul):
        return False
    negative = False
    for f in d.args:
        base, power = f.as_base_exp()
        if not isinstance(base, sympy.Symbol) or not power.is_Integer:
            return False
        negative = negative or bool(power < 0)
    return negative


class HandNames(dict[sympy.Expr, sympy.Symbol]):
    """What :func:`hand_names` returns: a dict (definition -> node) that also keeps, once
    built, its quotient definitions by symbol (any mapping works where this is taken)."""

    quotients: tuple[dict[sympy.Symbol, list[Any]], dict[sympy.Symbol, sympy.Expr]] | None = None


def hand_names(equations: Sequence[Any]) -> HandNames:
    """The definitions that name a node, mapped to the node: function applications
    (``tanh(n)`` for ``o = tanh(n)``) and quotients (``e2/S`` for ``p2 = e2/S``), the
    first node of each definition: how a hand-written derivation refers to a value it
    already has.

    ``equations`` are a graph's records (each with ``symbol`` and ``definition``).
    """
    out = HandNames()
    for eq in equations:
        d = eq.definition
        if d is not None and (isinstance(d, sympy.Function) or is_quotient(d)) and d not in out:
            out[d] = eq.symbol
    return out


def hand(e: Any, names: Mapping[sympy.Expr, sympy.Symbol]) -> Any:
    """``e`` with every node's own value written as the node, as by hand.

    ``tanh' = 1 - tanh(n)**2`` becomes ``1 - o**2`` for ``o = tanh(n)``, the sigmoid's
    ``(1 - sigmoid(z))*sigmoid(z)`` becomes ``s*(1 - s)``, ``exp(z)`` the node itself.

    >>> n, o = sympy.symbols("n o")
    >>> hand(1 - sympy.tanh(n) ** 2, {sympy.tanh(n): o})
    1 - o**2
    """
    if not names or not isinstance(e, sympy.Basic):
        return e
    if size_at_most(e, HAND_LIMIT):
        return e.xreplace(names if isinstance(names, dict) else dict(names))
    return replace_shared(e, names)


def replace_shared(
    e: Any,
    mapping: Mapping[Any, Any],
    done: dict[sympy.Basic, sympy.Basic] | None = None,
) -> Any:
    """``e.xreplace(mapping)``, the same expression, with each distinct subexpression
    rewritten once and without recursion (``done`` remembers them and may be shared by
    several calls).

    The adjoint of a node in the middle of a graph where nodes have several consumers
    shares its parts (``dL/dx₃`` is in ``dL/dx₂`` and ``dL/dx₁``): a tree walk such as
    ``xreplace`` visits each part once per path to it, which grows exponentially with
    the depth, and recurses once per level.  A function of one Symbol renamed to a
    Symbol with the same assumptions (``cos(_p0)`` to ``cos(x₅)``: a node and its
    placeholder are both real) is built without evaluating it again, since its
    evaluation saw such a Symbol already; SymPy's evaluation of ``cos(x)`` (it looks for
    multiples of ``I`` and ``pi``) was most of the cost of building a node and of the
    symbolic reverse sweep (local partials mapped back to the nodes).

    >>> x, y, p0, p1 = sympy.symbols("x y _p0 _p1", real=True)
    >>> replace_shared(sympy.cos(p0) * p1 + p0**2, {p0: x, p1: y})
    x**2 + y*cos(x)
    """
    if done is None:
        done = {}
    stack: list[sympy.Basic] = [e]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
            continue
        if node in mapping:
            done[node] = mapping[node]
            stack.pop()
            continue
        if not node.args:
            done[node] = node
            stack.pop()
            continue
        pending = [a for a in node.args if a not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        args = tuple(done[a] for a in node.args)
        if all(a is b for a, b in zip(args, node.args, strict=True)):
            done[node] = node
        elif len(args) == 1 and isinstance(node, sympy.Function) and _alike(node.args[0], args[0]):
            done[node] = node.func(args[0], evaluate=False)
        else:
            done[node] = node.func(*args)
    return done[e]


def _alike(old: sympy.Basic, new: sympy.Basic) -> bool:
    """Whether ``old`` and ``new`` are Symbols with the same assumptions, so that a
    function of one evaluates as a function of the other."""
    return (
        isinstance(old, sympy.Symbol)
        and isinstance(new, sympy.Symbol)
        and old.assumptions0 == new.assumptions0
    )


def hand_local(e: Any, names: Mapping[sympy.Expr, sympy.Symbol]) -> Any:
    """An expression as by hand (the module docstring's three rewrites).

    >>> o, y = sympy.symbols("o y")
    >>> hand_local(2 * o - 2 * y, {}), hand_local(hand_local(2 * o - 2 * y, {}), {})
    (2*(o - y), 2*(o - y))
    """
    out = hand(e, names)
    if not isinstance(out, sympy.Basic) or not size_at_most(out, HAND_LIMIT):
        return out  # a long compact form (deep in a long chain): factoring would cost more
    if out.has(sympy.MatrixSymbol):
        return out  # matrix adjoints print in their own matrix form
    return _common_out(_cancel_quotients(out, names))


def _common_out(e: sympy.Expr) -> sympy.Expr:
    """The common factors of each sum taken out: the integer content and the powers
    every term shares (``2*o - 2*y`` is ``2*(o - y)``, ``4*a**2*b + 2*b*t`` is
    ``2*b*(2*a**2 + t)``, ``-o/v + 1/v`` is ``(1 - o)/v``, ``-x - y`` is
    ``-(x + y)``), in the sums inside products
    and sums too.  One pass over the expression (``sympy.factor_terms``, which finds the
    same factors, costs 1-20 ms on a gradient of a small network)."""
    if isinstance(e, sympy.Mul) and any(isinstance(a, sympy.Add | sympy.Mul) for a in e.args):
        args = [_common_out(a) if isinstance(a, sympy.Add) else a for a in e.args]
        if all(a is b for a, b in zip(args, e.args, strict=True)):
            return e  # nothing to take out: no need to build the product again
        return _product(args)
    if not isinstance(e, sympy.Add):
        return e
    terms = [_common_out(t) if isinstance(t, sympy.Mul) else t for t in e.args]
    if any(t is not u for t, u in zip(terms, e.args, strict=True)):
        e = sympy.Add(*terms)
        if not isinstance(e, sympy.Add):
            return e
    split = [t.as_coeff_Mul() for t in e.args]
    content = 1
    if all(c.is_Integer for c, _ in split):
        content = math.gcd(*(int(c) for c, _ in split))
        if all(c < 0 for c, _ in split):
            content = -content  # -x - y is -(x + y)
    powers = [_powers(rest) for _, rest in split]
    common = []
    for base in powers[0]:
        exps = [p.get(base, 0) for p in powers]
        if not all(getattr(x, "is_Integer", False) for x in exps):
            continue
        if all(x > 0 for x in exps):
            common.append(base ** min(exps))
        elif all(x < 0 for x in exps):
            common.append(base ** max(exps))
    if content == 1 and not common:
        return e
    factor = sympy.Mul(content, *common)
    return _product([factor, sympy.Add(*[t / factor for t in e.args])])


def _powers(term: sympy.Expr) -> dict[sympy.Expr, Any]:
    """The factors of a product as base -> integer power (``exp(x)`` is a base)."""
    out: dict[sympy.Expr, Any] = {}
    for f in sympy.Mul.make_args(term):
        base, power = (f.base, f.exp) if f.is_Pow and f.exp.is_Integer else (f, sympy.S.One)
        out[base] = out.get(base, 0) + power
    return out


def _product(args: list[sympy.Expr]) -> sympy.Expr:
    """``Mul(*args)``, but a number stays outside a sum (SymPy distributes ``2*(o - y)``
    into ``2*o - 2*y``)."""
    out = sympy.Mul(*args)
    return sympy.Mul(*args, evaluate=False) if isinstance(out, sympy.Add) else out


HAND_LIMIT = 400
"""Expressions with more tree nodes than this keep the first rewrite only (a node's
value as the node, linear time): a compact adjoint deep in a long chain is as long as
the chain."""
_CANCEL_LIMIT = 60
"""Expressions with more operations than this are not searched for quotients to cancel
(distributing a product of sums could swell them)."""


def _quotients(
    names: Mapping[sympy.Expr, sympy.Symbol],
) -> tuple[dict[sympy.Symbol, list[Any]], dict[sympy.Symbol, sympy.Expr]]:
    """The quotient definitions of ``names``: ``(definition, node)`` pairs by each symbol
    they use, and each quotient node's definition; built once per :class:`HandNames`."""
    if isinstance(names, HandNames) and names.quotients is not None:
        return names.quotients
    by_symbol: dict[sympy.Symbol, list[Any]] = {}
    definition: dict[sympy.Symbol, sympy.Expr] = {}
    for d, node in names.items():
        if is_quotient(d):
            definition[node] = d
            for s in d.free_symbols:
                by_symbol.setdefault(s, []).append((d, node))
    if isinstance(names, HandNames):
        names.quotients = (by_symbol, definition)
    return by_symbol, definition


def _cancel_quotients(e: sympy.Expr, names: Mapping[sympy.Expr, sympy.Symbol]) -> sympy.Expr:
    """``e`` with its quotient nodes written out, the products distributed and the
    quotients recognised again (``e2*(e2/S - 1)/(S*p2)`` and ``e2*(1/S - 1/e2)`` are
    ``p2 - 1``), if that is shorter."""
    index, definition = _quotients(names)
    if not index:
        return e
    syms = e.free_symbols
    nodes = {q: definition[q] for q in syms if q in definition}
    if not nodes and not any(s in index for s in syms):
        return e
    before = sympy.count_ops(e)
    if before > _CANCEL_LIMIT:
        return e
    out = sympy.expand_mul(e.xreplace(nodes))
    present = out.free_symbols
    seen = set()
    for s in sorted(present, key=str):
        for d, node in index.get(s, ()):
            if node not in seen and d.free_symbols <= present:
                seen.add(node)
                out = out.subs(d, node)
    return out if sympy.count_ops(out) < before else e
