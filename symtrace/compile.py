"""Compiled value-and-gradient functions: one straight-line program per trace.

:meth:`Trace.compile <symtrace.Trace.compile>` writes the trace's forward sweep and its
reverse (adjoint) sweep as one Python function: one local variable per node value,
per adjoint and per shared subexpression, no loops, no SymPy at run time.  The
program comes from the equations themselves, not from an inlined ``sympy.diff``:

* forward: ``v_i = <node i's definition in its parents' variables>``;
* reverse, walking the equations backwards: each node's adjoint is the sum, over its
  consumers ``c``, of ``adjoint(c) * ∂c/∂node``, the local partials coming from the
  node's cached expression shape.

Common subexpressions are shared: a node's own value is reused in its partials
(``tanh' = 1 - v**2``, ``exp' = v``), ``sympy.cse`` runs over each shape's partials,
and every function call, whichever node it comes from, is computed once per program
(textual value numbering).  ``Float`` constants print with all 17 significant digits.

>>> from symtrace import Trace
>>> t = Trace()
>>> x, y = t.inputs("x y", values=(3, 5))
>>> u = t.define("u", x * y)
>>> z = t.define("z", u + x)
>>> fn = t.compile(z, backend="math")
>>> fn()                     # the trace's current values
(18.0, (6.0, 3.0))
>>> fn(1.0, 2.0), fn(y=0.5)  # positional in input order, or by name
((3.0, (3.0, 1.0)), (4.5, (1.5, 3.0)))
>>> print(fn.source, end='')
def _compiled(v0, v1):
    v2 = v0*v1
    v3 = v0 + v2
    g0_0 = 1 + v1
    return (v3, g0_0, v0)
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from .codegen import Backend
from .codegen import backend as get_backend
from .errors import MissingValueError, NonRealValueError, TraceError
from .nodes import NodeSymbol
from .shapes import Shape

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["CompiledFunction", "compile_trace"]

DEFAULT_CHUNK = 32_768
"""Array inputs larger than this many elements are evaluated in blocks of this size."""

_TERMS = 100  # terms per emitted sum

_SELF = sympy.Symbol("_self", real=True)
_NAME = re.compile(r"\b_(?:p\d+|c\d+|self)\b")
_TEMP = re.compile(r"\b_c\d+\b")
_IDENT = re.compile(r"[A-Za-z_]\w*\Z")


# ------------------------------------------------------------------ per-shape templates


@dataclass(frozen=True)
class _Line:
    """``name = text`` in template names (``_p<k>`` parents, ``_self``, ``_c<k>`` temps)."""

    name: str
    text: str
    deps: tuple[int, ...]  # indices of the temp lines ``text`` uses


@dataclass(frozen=True)
class _Template:
    """One shape printed for one backend, in placeholder names.

    ``value_lines`` compute temps for ``value``; ``lines`` hold the temps of the
    partials; ``partials[k]`` is ``(kind, text, deps, negative)`` with kind ``"0"``, ``"1"``,
    ``"x"`` (the partial is ``text``, an identifier or a literal) or ``"/"`` (the
    partial is ``1/text``), and ``negative`` says whether to flip its sign.
    """

    value_lines: tuple[_Line, ...]
    value: str
    lines: tuple[_Line, ...]
    partials: tuple[tuple[str, str, tuple[int, ...], bool], ...]


def _expensive(e: sympy.Basic) -> bool:
    """A subexpression worth naming once: a function call or a non-integer power."""
    if isinstance(e, sympy.Function):
        return True
    return bool(e.is_Pow and not e.exp.is_Integer)


def _fold(e: sympy.Expr) -> sympy.Expr:
    """Constant calls (``sin(2)``, ``sqrt(3)``) as double-precision Floats."""
    subs = {}
    for sub in sympy.preorder_traversal(e):
        if sub.is_number and not sub.is_Atom and _expensive(sub):
            with contextlib.suppress(TypeError):  # complex: leave it to the backend
                subs[sub] = sympy.Float(float(sub))
    return e.xreplace(subs) if subs else e


def _bases(den: sympy.Expr) -> set[sympy.Expr]:
    return {f.as_base_exp()[0] for f in sympy.Mul.make_args(den) if not f.is_number}


def _simplest(d: sympy.Expr, expr: sympy.Expr) -> sympy.Expr:
    """The cheapest of a few equal forms of the partial ``d`` of ``expr``.

    Candidates: ``d`` itself, ``factor_terms(d)`` (``y*e - x*y*e`` as ``y*e*(1 - x)``)
    and ``_self * cancel(d/expr)`` (``-a/b**2`` as ``-_self/b``), the latter only when
    it divides by nothing ``d`` does not divide by.  The node's own value replaces
    ``expr`` wherever it appears (``tanh' = 1 - _self**2``).  Chosen by operation
    count; computed once per shape.
    """
    if expr.is_Atom or d.is_Atom:
        return d
    candidates = [d, sympy.factor_terms(d)]
    try:
        q = sympy.cancel(d / expr)
    except (sympy.PolynomialError, ValueError, TypeError):  # pragma: no cover - defensive
        q = None
    if (
        q is not None
        and not q.has(sympy.zoo, sympy.nan)
        and _bases(sympy.fraction(sympy.together(q))[1]) <= _bases(sympy.fraction(d)[1])
    ):
        candidates.append(_SELF * q)
    candidates = [c.xreplace({expr: _SELF}) for c in candidates]
    return min(candidates, key=lambda c: sympy.count_ops(c))


@lru_cache(maxsize=65_536)
def _template(shape: Shape, backend_name: str, share: bool) -> _Template:
    be = get_backend(backend_name)
    doprint = be.printer.doprint
    counter = itertools.count()
    names: dict[str, int] = {}  # temp name -> line index

    def new_temp() -> sympy.Symbol:
        return sympy.Symbol(f"_c{next(counter)}", real=True)

    def line(sym: sympy.Symbol, e: sympy.Expr, into: list[_Line]) -> None:
        text = doprint(e)
        deps = tuple(names[m] for m in _TEMP.findall(text))
        names[sym.name] = len(into)
        into.append(_Line(sym.name, text, deps))

    def extract(e: sympy.Expr, into: list[_Line]) -> sympy.Expr:
        """Name every expensive proper subexpression of ``e`` (innermost first)."""
        if not share:
            return e
        mapping: dict[sympy.Basic, sympy.Symbol] = {}
        # Calls and their (non-trivial) arguments: sin(pi*v) and cos(pi*v) share pi*v.
        wanted = {
            a
            for sub in sympy.preorder_traversal(e)
            if _expensive(sub)
            for a in sub.args
            if not a.is_Atom and not a.is_number
        }
        for sub in sympy.postorder_traversal(e):
            if sub != e and sub not in mapping and (sub in wanted or _expensive(sub)):
                s = new_temp()
                line(s, sub.xreplace(mapping), into)
                mapping[sub] = s
        return e.xreplace(mapping) if mapping else e

    expr = _fold(shape.expr) if be.fold_constants else shape.expr
    value_lines: list[_Line] = []
    value = doprint(extract(expr, value_lines))
    # Temps of the value are emitted with the value; the partials use their own list.
    names.clear()

    partials = [_fold(d) if be.fold_constants else d for d in shape.partials]
    lines: list[_Line] = []
    if share:
        partials = [_simplest(d, expr) for d in partials]
        repl, partials = sympy.cse(partials, symbols=iter(new_temp, None), order="none")
        for s, e in repl:
            line(s, extract(e, lines), lines)

    def operand(e: sympy.Expr) -> tuple[str, tuple[int, ...]]:
        """An atom as printed, anything larger as a new temporary: (text, its deps)."""
        if e.is_Atom:
            text = doprint(e)
            return text, tuple(names[m] for m in _TEMP.findall(text))
        s = new_temp()
        line(s, extract(e, lines), lines)
        return s.name, (names[s.name],)

    out: list[tuple[str, str, tuple[int, ...], bool]] = []
    for d in partials:
        neg = bool(d.could_extract_minus_sign())
        if neg:
            d = -d
        if d == 0:
            out.append(("0", "0", (), False))
        elif d == 1:
            out.append(("1", "1", (), neg))
        elif d.is_Pow and d.exp == -1:
            # a * b**-1 as a / b: a division costs less than a reciprocal and a product
            out.append(("/", *operand(d.base), neg))
        else:
            out.append(("x", *operand(d), neg))
    return _Template(tuple(value_lines), value, tuple(lines), tuple(out))


# ------------------------------------------------------------------------ the program


class _Program:
    """Writes the straight-line code; placeholder names only (``v<i>``, ``g<k>_<i>``,
    ``t<n>``), never a node's own name."""

    def __init__(self, trace: Trace, be: Backend, share: bool) -> None:
        self.trace = trace
        self.be = be
        self.share = share
        self.body: list[str] = []
        self.known: dict[str, str] = {}  # rhs text -> variable holding it
        self.var: dict[int, str] = {}  # node -> variable (or literal) of its value
        self.temps = itertools.count()
        self.partial_names: dict[int, dict[int, str]] = {}  # node -> line -> variable
        self.partials: dict[int, list[str | None]] = {}

    def template(self, i: int) -> _Template:
        shape = self.trace._shapes[i]
        assert shape is not None
        try:
            return _template(shape, self.be.name, self.share)
        except PrintMethodNotImplementedError as exc:
            sym = self.trace._syms[i]
            raise TraceError(
                f"cannot compile node {sym} = {self.trace._defs[i]} for backend "
                f"{self.be.name!r}: {str(exc).splitlines()[0]}"
            ) from None

    def assign(self, name: str, text: str) -> str:
        """Emit ``name = text`` unless ``text`` is a name, a literal or already computed."""
        if _IDENT.match(text) or _is_literal(text):
            return text
        if self.share:
            have = self.known.get(text)
            if have is not None:
                return have
            self.known[text] = name
        self.body.append(f"    {name} = {text}")
        return name

    def substitute(self, text: str, mapping: Mapping[str, str]) -> str:
        return _NAME.sub(lambda m: mapping[m.group(0)], text)

    def parent_map(self, i: int) -> dict[str, str]:
        mapping = {f"_p{k}": self.var[p] for k, p in enumerate(self.trace._parents[i])}
        mapping["_self"] = self.var[i]
        return mapping

    def forward(self, i: int) -> None:
        if self.trace._defs[i] is None:
            self.var[i] = f"v{i}"
            return
        tpl = self.template(i)
        mapping = self._pmap(i)
        for ln in tpl.value_lines:
            mapping[ln.name] = self.assign(
                f"t{next(self.temps)}", self.substitute(ln.text, mapping)
            )
        self.var[i] = self.assign(f"v{i}", self.substitute(tpl.value, mapping))

    def _pmap(self, i: int) -> dict[str, str]:
        return {f"_p{k}": self.var[p] for k, p in enumerate(self.trace._parents[i])}

    def partial(self, i: int, k: int) -> tuple[str, str, bool]:
        """(kind, text, negative) of node i's partial w.r.t. its k-th parent; emits the
        temps it needs."""
        tpl = self.template(i)
        kind, text, deps, neg = tpl.partials[k]
        if kind not in ("x", "/"):
            return kind, text, neg
        done = self.partial_names.setdefault(i, {})
        need = [d for d in deps if d not in done]
        if need:  # the temps this partial needs, in order, transitively
            closure: set[int] = set()
            stack = list(need)
            while stack:
                d = stack.pop()
                if d not in closure and d not in done:
                    closure.add(d)
                    stack.extend(tpl.lines[d].deps)
            mapping = self.parent_map(i)
            mapping.update({tpl.lines[d].name: v for d, v in done.items()})
            for d in sorted(closure):
                ln = tpl.lines[d]
                done[d] = self.assign(f"t{next(self.temps)}", self.substitute(ln.text, mapping))
                mapping[ln.name] = done[d]
        mapping = self.parent_map(i)
        mapping.update({tpl.lines[d].name: v for d, v in done.items()})
        return kind, self.substitute(text, mapping), neg

    def reverse(self, out: int, k: int, relevant: set[int]) -> dict[int, tuple[bool, str]]:
        """The adjoints of ``out`` for the relevant nodes: node -> (negative, text).

        An adjoint whose terms are all negative is stored positive with a sign flag,
        which the next partials absorb: negations are never computed on their own.
        """
        parents, defs = self.trace._parents, self.trace._defs
        terms: dict[int, list[tuple[bool, str]]] = {out: []}
        adjoint: dict[int, tuple[bool, str]] = {}
        for i in sorted(relevant, reverse=True):
            ts = terms.pop(i, None)
            if ts is None:
                continue
            if i == out:
                a = (False, "1")
            elif not ts:
                continue
            else:
                neg = all(n for n, _ in ts)
                a = (neg, self.add(f"g{k}_{i}", [(n != neg, t) for n, t in ts]))
            adjoint[i] = a
            if defs[i] is None:
                continue
            for kk, p in enumerate(parents[i]):
                if p not in relevant:
                    continue
                kind, d, neg = self.partial(i, kk)
                if kind == "0":
                    continue
                terms.setdefault(p, []).append(_times(a, kind, d, neg))
        return adjoint

    def add(self, name: str, terms: list[tuple[bool, str]]) -> str:
        """Emit the sum of ``terms``, at most ``_TERMS`` per statement (Python's compiler
        recurses once per ``+``: a node with 100,000 consumers needs several lines)."""
        part = 0
        while len(terms) > _TERMS:
            head = self.assign(f"{name}_{part}", _sum(terms[:_TERMS]))
            terms = [(False, head), *terms[_TERMS:]]
            part += 1
        return self.assign(name, _sum(terms))

    def result(self, name: str, adjoint: tuple[bool, str] | None) -> str:
        """A variable or literal holding an adjoint's value."""
        if adjoint is None:
            return "0"
        neg, text = adjoint
        if not neg:
            return text
        if _is_literal(text):
            return f"-{text}" if not text.startswith("-") else text[1:]
        return self.assign(name, f"-{text}")


_LITERAL = re.compile(r"\(?-?\d+(\.\d*)?(e[+-]?\d+)?(/\d+)?\)?\Z")


def _is_literal(text: str) -> bool:
    """Whether ``text`` is a plain number (``2``, ``-0.5``, ``(1/3)``, ``1e-05``)."""
    return bool(_LITERAL.match(text))


def _times(a: tuple[bool, str], kind: str, d: str, neg: bool) -> tuple[bool, str]:
    """``(negative, text)`` of ``a * partial`` (an adjoint times a local partial)."""
    a_neg, a_text = a
    neg = neg != a_neg
    if not _IDENT.match(d):
        d = f"({d})"
    if kind == "1":
        return neg, a_text
    if kind == "/":
        return neg, f"{a_text}/{d}"
    return neg, d if a_text == "1" else f"{a_text}*{d}"


def _sum(terms: list[tuple[bool, str]]) -> str:
    """``t1 + t2 - t3``: positive terms first, so that no negation is needed."""
    pos = [t for neg, t in terms if not neg]
    negs = [t for neg, t in terms if neg]
    text = " + ".join(pos) if pos else "-" + negs.pop(0)
    return text + "".join(" - " + t for t in negs)


# -------------------------------------------------------------------- the function


class CompiledFunction:
    """A compiled value-and-gradient function of a trace (see :func:`compile_trace`).

    Call it with input values, positionally in the order of :attr:`inputs` or by
    name; inputs not given take the values they had in the trace when it was
    compiled.  With one output it returns ``(value, grads)``, ``grads`` a tuple in
    :attr:`wrt` order; with a list of outputs ``(values, grads)``, ``values`` a
    tuple and ``grads`` a tuple (one per output) of tuples (one per ``wrt`` node).
    Array inputs broadcast against each other, and every result has their common
    shape.

    :attr:`source` is the generated Python code.

    >>> import numpy as np
    >>> from symtrace.examples import micrograd_lecture
    >>> fn = micrograd_lecture().compile("L", wrt=["a", "b"])
    >>> value, (dl_da, dl_db) = fn(a=np.array([2.0, 3.0]))
    >>> value, dl_da, dl_db
    (array([-8., -2.]), array([6., 6.]), array([-4., -6.]))
    """

    def __init__(
        self,
        trace: Trace,
        outputs: tuple[int, ...],
        single: bool,
        wrt: tuple[int, ...],
        be: Backend,
        source: str,
        needed: frozenset[int],
        options: Mapping[str, Any],
    ) -> None:
        syms = trace._syms
        inputs = [i for i in range(len(syms)) if trace._defs[i] is None]
        self.inputs: tuple[NodeSymbol, ...] = tuple(syms[i] for i in inputs)
        """Every input of the trace at compile time, in trace order (the positional order)."""
        self.outputs: tuple[NodeSymbol, ...] = tuple(syms[i] for i in outputs)
        self.wrt: tuple[NodeSymbol, ...] = tuple(syms[i] for i in wrt)
        self.backend: str = be.name
        self.source: str = source
        self.defaults: dict[str, Any] = {
            syms[i].name: trace._given[i] for i in inputs if i in trace._given
        }
        """The input values captured from the trace when it was compiled."""
        self._names = tuple(s.name for s in self.inputs)
        self._position = {n: k for k, n in enumerate(self._names)}
        self._needed = frozenset(syms[i].name for i in needed)
        self._single = single
        self._n_out, self._n_wrt = len(outputs), len(wrt)
        self._be = be
        self._options = dict(options)
        self._dps: int | None = options.get("dps")
        self._build()
        defaults: list[Any] = []
        for n in self._names:
            defaults.append(self.defaults.get(n))
        self._default_list = defaults
        self._chunk = int(options.get("chunk") or 0) if be.name == "numpy" else 0

    def _build(self) -> None:
        namespace = dict(self._be.namespace)
        # Safe: ``source`` is printed by SymPy's code printers from expressions whose
        # only symbols are placeholders, with variable names of our own (v3, g0_3,
        # t7); no node name and no text from a user or a file ever reaches it.
        exec(compile(self.source, "<symtrace compiled>", "exec"), namespace)  # noqa: S102
        self._raw: Callable[..., Any] = namespace["_compiled"]
        jit = self._options.get("jit", True)
        self._call: Callable[..., Any] = self._be.wrap(self._raw) if jit else self._raw

    def __getstate__(self) -> dict[str, Any]:
        # Pickles as its source (e.g. to Dask workers); the code is rebuilt on load.
        state = dict(self.__dict__)
        for key in ("_raw", "_call", "_be"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._be = get_backend(self.backend)
        self._build()

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        n = len(self._names)
        if len(args) > n:
            raise TypeError(
                f"expected at most {n} inputs ({', '.join(self._names)}), got {len(args)}"
            )
        values = list(args) + self._default_list[len(args) :]
        given = set(self._names[: len(args)])
        for name, v in kwargs.items():
            k = self._position.get(name)
            if k is None:
                raise TypeError(
                    f"unexpected input {name!r}; the inputs are {', '.join(self._names)}"
                )
            if name in given:
                raise TypeError(f"input {name!r} given twice (positionally and by name)")
            values[k] = v
        missing = [n for n, v in zip(self._names, values, strict=True) if v is None]
        if missing:
            needed = tuple(n for n in missing if n in self._needed)
            if needed:
                raise MissingValueError(
                    f"no value for input(s) {', '.join(needed)}: pass them to the compiled "
                    f"function ({', '.join(n + '=...' for n in needed)}), or give them values "
                    "in the trace before compiling",
                    needed,
                )
            values = [0.0 if v is None else v for v in values]
        return values

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if kwargs or len(args) != len(self._names):
            args = tuple(self._arguments(args, kwargs))
        if self._dps is not None:
            import mpmath

            with mpmath.workdps(self._dps):
                return self._evaluate(args)
        return self._evaluate(args)

    def _evaluate(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        convert = self._be.convert
        vals = [convert(n, v) for n, v in zip(self._names, args, strict=True)]
        try:
            if self._chunk:
                flat = self._chunked(vals)
                if flat is not None:
                    return self._shape_results(flat)
            flat = self._call(*vals)
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            at = ", ".join(f"{n} = {v!r}" for n, v in zip(self._names, args, strict=True))
            raise NonRealValueError(
                f"the compiled function failed at {at}: {exc}. Evaluate the trace at "
                "these values (t.set(...); t.value(...)) to see which node"
            ) from None
        return self._shape_results(self._be.finalize(list(flat), vals))

    def _chunked(self, vals: list[Any]) -> list[Any] | None:
        """Evaluate NumPy inputs block by block along the first axis; None if small.

        Temporaries of a few thousand elements stay in cache and are recycled by
        the allocator; whole-array temporaries of 8 MB each cost page faults.
        """
        import numpy as np

        shape = np.broadcast_shapes(*(a.shape for a in vals))
        if not shape:
            return None
        inner = 1
        for n in shape[1:]:
            inner *= n
        rows = max(1, self._chunk // max(inner, 1))
        if rows * 2 > shape[0]:
            return None
        views = [np.broadcast_to(a, shape) for a in vals]
        finalize = self._be.finalize
        outs: list[Any] = []
        for start in range(0, shape[0], rows):
            part = [v[start : start + rows] for v in views]
            res = finalize(list(self._call(*part)), part)
            if not outs:
                outs = [np.empty(shape) for _ in res]
            for o, r in zip(outs, res, strict=True):
                o[start : start + rows] = r
        return outs

    def _shape_results(self, flat: list[Any]) -> tuple[Any, Any]:
        width = 1 + self._n_wrt
        if self._single:
            return flat[0], tuple(flat[1:])
        blocks = [flat[k * width : (k + 1) * width] for k in range(self._n_out)]
        return tuple(b[0] for b in blocks), tuple(tuple(b[1:]) for b in blocks)

    def __repr__(self) -> str:
        outs = ", ".join(map(str, self.outputs))
        return (
            f"<CompiledFunction {outs} w.r.t. ({', '.join(map(str, self.wrt))}), "
            f"backend={self.backend!r}, {self.source.count(chr(10)) - 2} statements>"
        )


def _as_indices(trace: Trace, nodes: Any, what: str) -> tuple[tuple[int, ...], bool]:
    """Indices of one node or a sequence of nodes; True when one node was given."""
    if isinstance(nodes, str | sympy.Basic):
        return (trace._idx(nodes),), True
    if isinstance(nodes, Iterable):
        out = tuple(trace._idx(n) for n in nodes)
        if not out:
            raise TypeError(f"{what}: give at least one node")
        return out, False
    return (trace._idx(nodes),), True


_OPTIONS = {
    "numpy": {"cse", "chunk"},
    "math": {"cse"},
    "mpmath": {"cse", "dps"},
    "jax": {"cse", "jit"},
}
_OPTIONS["torch"] = {"cse"}


def compile_trace(
    trace: Trace,
    outputs: Any,
    wrt: Any = None,
    backend: str = "numpy",
    **options: Any,
) -> CompiledFunction:
    """Compile the value and gradient of ``outputs`` w.r.t. ``wrt`` into one function.

    ``outputs`` is a node (or name), or a list of them; ``wrt`` a node or a list
    (default: every input, in trace order; an intermediate node gives its adjoint,
    as :meth:`Trace.diff` does).  ``backend`` is ``"numpy"`` (arrays, broadcasting),
    ``"math"`` (plain Python floats; fastest for one point), ``"mpmath"``
    (arbitrary precision, option ``dps=``), ``"jax"`` (jitted unless ``jit=False``;
    enable ``jax_enable_x64`` for doubles) or ``"torch"`` (tensors in and out).
    ``cse=False`` turns off the sharing of common subexpressions (for measuring it);
    with NumPy, arrays of more than ``chunk`` elements (default :data:`DEFAULT_CHUNK`)
    are evaluated block by block along their first axis (``chunk=0``: whole arrays).

    The input values in the trace are captured when compiling; calls may override any
    of them.  See :class:`CompiledFunction` for the call and the result shapes.

    >>> import numpy as np
    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x")
    >>> y = t.define("y", x**2 / 2)
    >>> value, (dx,) = t.compile(y)(np.array([1.0, 2.0, 3.0]))
    >>> value, dx
    (array([0.5, 2. , 4.5]), array([1., 2., 3.]))
    """
    known = _OPTIONS.get(backend)
    be = get_backend(backend)  # unknown or missing backends first
    assert known is not None
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)} for backend {backend!r}; it takes "
            f"{', '.join(sorted(known)) or 'none'}"
        )
    share = bool(options.get("cse", True))
    outs, single = _as_indices(trace, outputs, "outputs")
    if wrt is None:
        ws = tuple(i for i in range(len(trace)) if trace._defs[i] is None)
    else:
        ws, _ = _as_indices(trace, wrt, "wrt")
    run_options: dict[str, Any] = {
        "jit": options.get("jit", True),
        "chunk": options.get("chunk", DEFAULT_CHUNK),
    }
    if backend == "mpmath":
        run_options["dps"] = int(options.get("dps", 15))

    needed = trace._ancestors(outs)
    prog = _Program(trace, be, share)
    for i in sorted(needed):
        prog.forward(i)
    results: list[str] = []
    for k, o in enumerate(outs):
        region = trace._ancestors([o])
        relevant = trace._descendants(ws, region) | {o}
        adj = prog.reverse(o, k, relevant)
        results.append(prog.var[o])
        results.extend(prog.result(f"r{k}_{w}", adj.get(w)) for w in ws)
    params = ", ".join(f"v{i}" for i in range(len(trace)) if trace._defs[i] is None)
    ret = ", ".join(results) + ("," if len(results) == 1 else "")
    source = "\n".join([f"def _compiled({params}):", *prog.body, f"    return ({ret})", ""])
    needed_inputs = frozenset(i for i in needed if trace._defs[i] is None)
    return CompiledFunction(trace, outs, single, ws, be, source, needed_inputs, run_options)
