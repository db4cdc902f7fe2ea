"""Decompose a plain SymPy expression into a Trace of named primitive steps.

:func:`from_expr` (also :meth:`Trace.from_expr <symtrace.Trace.from_expr>`) turns an
expression someone already has into the "break it into terms ``t_1 ... t_7``" form
of hand-worked backpropagation: one equation per operation, each operation as SymPy
holds it.

How an expression becomes steps:

* Every Add, Mul, Pow and function (``log``, ``sin``, ``exp``, ...) is one step, with
  all its arguments: SymPy stores ``x*y*(x + y)`` as one product of three factors, so
  that is one step ``t2 = x*y*t1``, not two binary ones.  The steps show the
  expression the user wrote, as SymPy holds it.
* Constants stay inline: numbers, ``pi``, ``sqrt(2)`` and any other subexpression
  without symbols are written into the step that uses them (``t3 = 2*t1``).
* A numeric coefficient stays inline too: in a sum, ``x - y`` (SymPy's
  ``x + (-1)*y``) is the single step ``t1 = x - y`` and ``x - 2*sin(y)`` is
  ``t2 = x - 2*t1``; a lone ``-u`` is one step ``t = -u``.
* In a product, a factor with a negative number as exponent is a denominator:
  ``a/b`` is one step, and ``a/b**2`` is the steps ``t1 = b**2``, ``t2 = a/t1``.
* A subexpression that occurs more than once becomes one node, used by each step
  that needs it (common subexpressions are shared).
* The expression's free symbols become the inputs, sorted by name unless ``inputs``
  gives the order.  The trace cannot reuse the user's own Symbols (each trace owns
  its nodes, see :mod:`symtrace.nodes`): the inputs are the trace's Symbols with the
  same names, reached as ``t["x"]``.

The decomposition is faithful: ``t.expand(t[name])`` equals the original expression
written in the trace's input Symbols, ``expr.xreplace({s: t[s.name] for s in
expr.free_symbols})`` (exactly ``expr`` when its symbols are ``real=True``, like the
trace's own).  Each step is checked against the subexpression it stands for when it
is made.  Expressions built with ``evaluate=False`` are decomposed as SymPy
evaluates their steps.  The traversal is iterative (an explicit stack), whatever
the depth of the expression.

>>> import sympy
>>> from symtrace import Trace
>>> x1, x2 = sympy.symbols("x1 x2", real=True)
>>> t = from_expr(Trace(), sympy.log(x1 * x2 * (x1 + x2)) / (x1 - x2) ** 2, values=(2, 10))
>>> for node in t.nodes:
...     print(node, "=", t.definition(node))
x1 = x1
x2 = x2
t1 = x1 + x2
t2 = t1*x1*x2
t3 = log(t2)
t4 = x1 - x2
t5 = t4**2
y = t3/t5
>>> t.expand(t["y"])
log(x1*x2*(x1 + x2))/(x1 - x2)**2
>>> g = t.grad("y")
>>> g.value("x1"), g.value("x2")
(0.03052332912763..., -0.01854416246097...)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import sympy

from .errors import DuplicateNameError, InvalidNameError, TraceError, UsageError
from .graph import Builder

__all__ = ["from_expr"]


@cache
def _hole(k: int) -> sympy.Dummy:
    """The ``k``-th placeholder for a child step in a template (real, like nodes)."""
    return sympy.Dummy(f"h{k}", real=True)


class _Plan:
    """How one subexpression becomes one step: a template over placeholders."""

    __slots__ = ("children", "template")

    def __init__(self, template: sympy.Expr, children: tuple[sympy.Expr, ...]) -> None:
        self.template = template
        self.children = children


def _is_leaf(e: sympy.Expr) -> bool:
    """A constant (no symbols) or an input Symbol: written inline, never a step."""
    return e.is_Symbol or not e.free_symbols


def _negative_exponent(f: sympy.Expr) -> bool:
    return bool(f.is_Pow and f.exp.is_Number and f.exp.is_negative)


class _Planner:
    """Builds the plan of each subexpression (cached) and checks it is faithful."""

    def __init__(self) -> None:
        self.plans: dict[sympy.Expr, _Plan] = {}

    def plan(self, e: sympy.Expr) -> _Plan:
        cached = self.plans.get(e)
        if cached is None:
            cached = self._faithful(e)
            self.plans[e] = cached
        return cached

    def _faithful(self, e: sympy.Expr) -> _Plan:
        holes: dict[sympy.Expr, sympy.Dummy] = {}

        def ref(a: sympy.Expr) -> sympy.Expr:
            if _is_leaf(a):
                return a
            h = holes.get(a)
            if h is None:
                h = holes[a] = _hole(len(holes))
            return h

        template = self._template(e, ref)
        back = {h: a for a, h in holes.items()}
        if template is not None and template.xreplace(back) == e:
            return _Plan(template, tuple(holes))
        # The readable form did not rebuild e exactly: one step per argument instead.
        holes.clear()
        template = e.func(*(ref(a) for a in e.args))
        return _Plan(template, tuple(holes))

    @staticmethod
    def _template(e: sympy.Expr, ref: Any) -> sympy.Expr | None:
        if not all(isinstance(a, sympy.Expr) for a in e.args):
            return None  # Piecewise and friends: handled argument by argument
        if e.is_Add:
            terms = []
            for term in e.args:
                if term.is_Mul:
                    consts = [f for f in term.args if not f.free_symbols]
                    rest = [f for f in term.args if f.free_symbols]
                    if consts and rest:
                        inner = rest[0] if len(rest) == 1 else sympy.Mul(*rest)
                        terms.append(sympy.Mul(*consts, ref(inner)))
                        continue
                terms.append(ref(term))
            return sympy.Add(*terms)
        if e.is_Mul:
            # Numerator first, then denominators: the steps come in reading order.
            factors = [ref(f) for f in e.args if not _negative_exponent(f)]
            for f in e.args:
                if _negative_exponent(f):
                    den = f.base if f.exp == -1 else sympy.Pow(f.base, -f.exp)
                    factors.append(sympy.Pow(ref(den), -1))
            return sympy.Mul(*factors)
        return e.func(*(ref(a) for a in e.args))


def _as_expr(obj: Any, what: str) -> sympy.Expr:
    if isinstance(obj, bool) or not isinstance(obj, int | float | sympy.Expr):
        raise UsageError(
            f"from_expr: {what} must be a SymPy expression (or a number), got "
            f"{type(obj).__name__} {obj!r}; build it with SymPy, e.g. "
            "x = sympy.Symbol('x', real=True); expr = sympy.sin(x) * x"
        )
    if isinstance(obj, int):
        return sympy.Integer(obj)
    if isinstance(obj, float):
        return sympy.Float(obj)
    return obj


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_out``, ``name_out2``, ... whichever is not taken."""
    if name not in taken:
        return name
    candidates = (f"{name}_out{k if k > 1 else ''}" for k in itertools.count(1))
    return next(c for c in candidates if c not in taken)


def _outputs(expr: Any, name: Any) -> list[tuple[str, sympy.Expr]]:
    """The (name, expression) of each output."""
    if isinstance(expr, Mapping):
        pairs = [(k, _as_expr(v, f"the output {k!r}")) for k, v in expr.items()]
    elif isinstance(expr, Sequence) and not isinstance(expr, str):
        exprs = [_as_expr(e, f"output {i}") for i, e in enumerate(expr, 1)]
        if isinstance(name, str):
            names = [f"{name}{i}" for i in range(1, len(exprs) + 1)]
        else:
            names = list(name)
            if len(names) != len(exprs):
                raise TraceError(
                    f"from_expr: {len(exprs)} expressions but {len(names)} names {names}; "
                    "give one name per expression (or one string, numbered y1, y2, ...)"
                )
        pairs = list(zip(names, exprs, strict=True))
    else:
        if not isinstance(name, str):
            raise UsageError(f"from_expr: name must be a string for one expression, got {name!r}")
        pairs = [(name, _as_expr(expr, "expr"))]
    if not pairs:
        raise TraceError("from_expr: no expression given")
    for n, _ in pairs:
        if not isinstance(n, str):
            raise InvalidNameError(f"from_expr: output names must be strings, got {n!r}")
    seen: set[str] = set()
    for n, _ in pairs:
        if n in seen:
            raise DuplicateNameError(f"from_expr: the output name {n!r} is given twice")
        seen.add(n)
    return pairs


def _input_names(free: Iterable[sympy.Symbol], inputs: Any) -> list[str]:
    """The inputs' names in trace order; checks the free symbols have distinct names."""
    by_name: dict[str, sympy.Symbol] = {}
    for s in free:
        other = by_name.setdefault(s.name, s)
        if other != s:
            raise TraceError(
                f"from_expr: the expression has two different Symbols named {s.name!r} "
                f"({sympy.srepr(other)} and {sympy.srepr(s)}, e.g. with different "
                "assumptions); a trace names each input once, so rename one of them"
            )
    if inputs is None:
        return sorted(by_name)
    if isinstance(inputs, str):
        inputs = inputs.replace(",", " ").split()
    names = []
    for s in inputs:
        if isinstance(s, sympy.Symbol):
            names.append(s.name)
        elif isinstance(s, str):
            names.append(s)
        else:
            raise UsageError(f"from_expr: inputs must be Symbols or names, got {s!r}")
    missing = sorted(set(by_name) - set(names))
    if missing:
        raise TraceError(
            f"from_expr: the expression uses {', '.join(missing)}, which inputs={names} "
            "leaves out; list every free symbol (extra inputs are allowed)"
        )
    return names


def from_expr(
    trace: Builder,
    expr_or_exprs: Any,
    name: str | Sequence[str] | None = None,
    inputs: Iterable[sympy.Symbol | str] | str | None = None,
    *,
    names: Mapping[sympy.Expr, str] | None = None,
    values: Sequence[Any] | Mapping[Any, Any] | None = None,
    prefix: str = "t",
) -> Builder:
    """Fill the empty ``trace`` with the primitive steps of a plain SymPy expression.

    Users call it as :meth:`Trace.from_expr(expr, ...) <symtrace.Trace.from_expr>`,
    which passes a new :class:`~symtrace.Trace`; this module sits below the trace
    facade, so it fills the trace it is given and returns it.

    ``expr_or_exprs`` is one expression (its node is named ``name``), a sequence of
    expressions (named by the sequence ``name``, or ``y1, y2, ...`` from a string
    ``name``), or a mapping ``{name: expression}``.  Without ``name`` the output is
    ``y`` (``y1, y2, ...``), or ``y_out`` (``y_out2``, ...) when an input is already
    called that.  Intermediate steps are named
    ``t1, t2, ...`` (``prefix``), skipping every name already taken; ``names`` maps
    subexpressions to the names you want for them instead.  ``inputs`` orders the
    inputs (Symbols or names; default: sorted by name; unused extra inputs are
    allowed) and ``values`` gives their values (a sequence in that order, or a mapping
    from Symbol or name).  See the module docstring for the rules.

    >>> import sympy
    >>> from symtrace import Trace
    >>> x, y = sympy.symbols("x y", real=True)
    >>> z = (12 - x * sympy.exp(y)) / (45 + x * y * sympy.exp(-x))
    >>> t = from_expr(Trace(), z, name="z", values={x: 3, y: 5})
    >>> [f"{s} = {t.definition(s)}" for s in t.nodes if not t.is_input(s)]
    ['t1 = exp(y)', 't2 = t1*x', 't3 = 12 - t2', 't4 = -x', 't5 = exp(t4)', 't6 = t5*x*y',
     't7 = t6 + 45', 'z = t3/t7']
    >>> g = t.grad("z")
    >>> g.value("x"), g.value("y")
    (-3.347297773010..., -9.701769566414...)

    Shared subexpressions are one node, several outputs share one trace:

    >>> t = from_expr(Trace(), {"u": sympy.sin(x) ** 2, "v": sympy.sin(x) * y})
    >>> [(s, t.definition(s)) for s in t.nodes]
    [(x, x), (y, y), (t1, sin(x)), (u, t1**2), (v, t1*y)]
    """
    outputs = _outputs(expr_or_exprs, "y" if name is None else name)
    if not isinstance(prefix, str) or not prefix.isidentifier():
        raise InvalidNameError(f"from_expr: prefix must be an identifier, got {prefix!r}")
    free: set[sympy.Symbol] = set()
    for _, e in outputs:
        free |= e.free_symbols
    input_names = _input_names(free, inputs)
    if isinstance(values, Mapping):
        values = {k.name if isinstance(k, sympy.Symbol) else k: v for k, v in values.items()}

    t = trace
    t.inputs(input_names, values=values)
    to_trace = {s: t[s.name] for s in free}
    roots = [(n, _in_trace(e, to_trace)) for n, e in outputs]
    taken = set(input_names)
    if name is None and not isinstance(expr_or_exprs, Mapping):
        roots = [(_free_name(n, taken), e) for n, e in roots]
    for n, _ in roots:
        if n in taken:
            raise DuplicateNameError(
                f"from_expr: the output name {n!r} is also an input of the expression; "
                f"pass another name, e.g. name={n + '_out'!r}"
            )
    taken |= {n for n, _ in roots}
    chosen, named = _chosen_names(roots, names or {}, to_trace, taken)
    nodes = _define_steps(t, roots, chosen, _fresh_names(prefix, taken, t))
    unused = [key for key, e in named if e not in nodes]
    if unused:
        raise TraceError(
            f"from_expr: names= names {', '.join(map(str, unused))}, which "
            f"{'is' if len(unused) == 1 else 'are'} not a step: SymPy holds "
            f"{'it' if len(unused) == 1 else 'them'} inside a larger sum or product. "
            f"The steps are {', '.join(f'{s} = {t.definition(s)}' for s in nodes.values())}"
        )
    return t


def _in_trace(e: sympy.Expr, to_trace: dict[sympy.Symbol, sympy.Symbol]) -> sympy.Expr:
    """``e`` in the trace's own input Symbols."""
    return e.xreplace(to_trace) if to_trace else e


def _chosen_names(
    roots: list[tuple[str, sympy.Expr]],
    names: Mapping[Any, str],
    to_trace: dict[sympy.Symbol, sympy.Symbol],
    taken: set[str],
) -> tuple[dict[sympy.Expr, str], list[tuple[Any, sympy.Expr]]]:
    """The names that output roots and user-named subexpressions get when they are
    built, and the ``(key, expression)`` pairs of ``names``; ``taken`` gains the names
    ``names`` gives."""
    chosen: dict[sympy.Expr, str] = {}
    for n, e in roots:
        if not _is_leaf(e):
            chosen.setdefault(e, n)
    wanted: dict[sympy.Expr, str] = {}
    named: list[tuple[Any, sympy.Expr]] = []
    for key, step_name in names.items():
        e = _in_trace(_as_expr(key, f"the names key {key!r}"), to_trace)
        if e in chosen:
            raise TraceError(
                f"from_expr: {key} is an output (named {chosen[e]!r}); it cannot also be "
                f"named {step_name!r} in names="
            )
        if step_name in taken:
            raise DuplicateNameError(f"from_expr: the name {step_name!r} in names= is already used")
        if _is_leaf(e):
            raise TraceError(
                f"from_expr: names= can only name steps, and {key} is "
                + ("an input" if e.is_Symbol else "a constant, written inline")
            )
        if e in wanted:
            raise TraceError(
                f"from_expr: names= names {key} twice ({wanted[e]!r} and {step_name!r})"
            )
        wanted[e] = step_name
        named.append((key, e))
        taken.add(step_name)
    return chosen | wanted, named


def _fresh_names(prefix: str, taken: set[str], t: Builder) -> Iterator[str]:
    """``t1, t2, ...`` (``prefix``), skipping names taken or already in the trace."""
    counter = 0
    while True:
        counter += 1
        candidate = f"{prefix}{counter}"
        if candidate not in taken and candidate not in t:
            yield candidate


def _define_steps(
    t: Builder,
    roots: list[tuple[str, sympy.Expr]],
    chosen: dict[sympy.Expr, str],
    fresh: Iterator[str],
) -> dict[sympy.Expr, sympy.Symbol]:
    """Define every step of every root in ``t``, children first, and each output; the
    node of each step's expression."""
    planner = _Planner()
    nodes: dict[sympy.Expr, sympy.Symbol] = {}
    for out_name, root in roots:
        stack: list[tuple[sympy.Expr, bool]] = [] if _is_leaf(root) else [(root, False)]
        while stack:  # post-order over the expression DAG, children first
            e, ready = stack.pop()
            if e in nodes:
                continue
            step = planner.plan(e)
            if not ready:
                stack.append((e, True))
                stack.extend((c, False) for c in reversed(step.children) if c not in nodes)
                continue
            rhs = step.template.xreplace({_hole(k): nodes[c] for k, c in enumerate(step.children)})
            nodes[e] = t.define(chosen.get(e) or next(fresh), rhs)
        if out_name not in t:  # the output is an input, a constant, or an earlier output
            t.define(out_name, nodes.get(root, root))
    return nodes
