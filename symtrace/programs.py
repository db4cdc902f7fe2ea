"""Compile a trace with matrix nodes into one NumPy program (BLAS products, no loops).

The rule table of :mod:`symtrace.matrices` is run once over a *code* namespace (a
``_CodeOps``): each operation returns the NumPy source that computes it
(:class:`Code`) instead of a number, so the forward sweep and the one reverse loop
(:func:`symtrace.derivatives.reverse`, with a ``write`` hook that names each adjoint)
emit one straight-line function.  The program is as lean as a careful hand-written
one: the all-ones matrix is never built (``ones(N, 1) @ b`` is ``b`` broadcast and its
VJP ``ones(1, N) @ Z̄`` the column sum), each statement works in place on the first
new array it makes (``H = X @ W1``; ``H += b1``; ``np.tanh(H, out=H)``), transposes
stay views, softmax's exponential is computed once for the loss and for ``p − y``,
a literal factor 1 is multiplied away, and an array that would be computed twice is
named once (:func:`compile_matrix_trace`).

>>> import symtrace as st
>>> t = st.Trace()
>>> W, x = t.input("W", [[1.0, 2.0]]), t.input("x", [[3.0], [4.0]])
>>> z = t.define("z", W @ x)
>>> L = t.define("L", st.sum(st.square(z)))
>>> f = t.compile(L, wrt=[W])
>>> value, (dW,) = f(W=[[1.0, 2.0]], x=[[3.0], [4.0]])
>>> value, dW.tolist()
(121.0, [[66.0, 88.0]])
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence, Set
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from .derivatives import reverse
from .errors import MissingValueError, ShapeError, UsageError
from .graph import Graph
from .matrices import FUNCTIONS, NUMERIC, evaluate, is_matrix, pullback

__all__ = ["Code", "MatrixProgram", "assign", "compile_matrix_trace", "full", "owned"]


_BINARY = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


class Code(str):
    """NumPy source of one value, with its shape (``None`` for a scalar).

    ``actual`` is the shape of what the source evaluates to, when it is smaller than
    ``shape`` and NumPy broadcasting stands for the rest: ``()`` for a number standing
    for a matrix of that number (the all-ones matrix is ``1.0``), ``(1, c)`` for a row
    repeated down ``shape``'s rows (``ones(N, 1) @ b`` is ``b``), ``(r, 1)`` for a
    column.  ``fresh`` says that evaluating the source makes a new array of shape
    ``actual`` that nothing else holds, so the statement that names it may work in
    place (``H = X @ W``; ``H += b``; ``np.tanh(H, out=H)``).  ``op`` and ``args``
    record an elementwise operation (``"+"``, ``"-"``, ``"*"``, ``"/"``, or a NumPy
    ufunc's name) for that rewriting.  ``owned`` says that a name holds an array the
    program made (not an input's), so it may be handed back as a gradient as it is.
    """

    shape: Any
    actual: Any
    fresh: bool
    owned: bool
    op: str | None
    args: tuple[Any, ...]

    def __new__(
        cls,
        text: str,
        shape: Any = None,
        actual: Any = None,
        *,
        fresh: bool = False,
        op: str | None = None,
        args: tuple[Any, ...] = (),
        owned: bool = False,
    ) -> Code:
        obj = super().__new__(cls, text)
        obj.shape = shape
        obj.actual = (shape if shape is not None else ()) if actual is None else actual
        obj.fresh = fresh
        obj.owned = owned
        obj.op = op
        obj.args = args
        return obj

    def __mul__(self, other: Any) -> Code:
        return _binary("*", self, other)

    def __rmul__(self, other: Any) -> Code:
        return _binary("*", other, self)

    def __add__(self, other: Any) -> Code:
        return _binary("+", self, other)

    def __radd__(self, other: Any) -> Code:
        return _binary("+", other, self)

    def __sub__(self, other: Any) -> Code:
        return _binary("-", self, other)

    def __rsub__(self, other: Any) -> Code:
        return _binary("-", other, self)

    def __pow__(self, other: Any) -> Code:
        return Code(f"({self} ** {other})", self.shape, self.actual)

    def __neg__(self) -> Code:
        return Code(f"(-{self})", self.shape, self.actual, fresh=self.actual != ())


def _shape_of(a: Any) -> Any:
    return getattr(a, "shape", None)


def _actual(a: Any) -> Any:
    return getattr(a, "actual", ())


def _binary(op: str, a: Any, b: Any) -> Code:
    """``a op b`` entrywise, NumPy broadcasting the smaller operand (``1.0 * b`` is ``b``)."""
    if op == "*":
        for one, other in ((a, b), (b, a)):
            if _shape_of(one) is None and _literal(one) == 1:
                return other if isinstance(other, Code) else Code(str(other))
    actual = tuple(np.broadcast_shapes(_actual(a), _actual(b)))
    shape = _shape_of(a) if _shape_of(a) is not None else _shape_of(b)
    text = f"({a} {op} {b})"
    if actual == () and op in "+*" and isinstance(a, Code) and a.op == op:
        text = f"{a[:-1]} {op} {b})"  # a long sum of numbers stays one flat sum
    return Code(text, shape, actual, fresh=actual != (), op=op, args=(a, b))


def _literal(a: Any) -> float | None:
    """The number a piece of source is, if it is one (``1.0``, ``-1``)."""
    if isinstance(a, int | float):
        return float(a)
    try:
        return float(str(a))
    except ValueError:
        return None


def owned(code: Any) -> bool:
    """Whether ``code`` is an array the program made (new, a name of one, or its ``.T``)."""
    if not isinstance(code, Code):
        return False
    return code.fresh or code.owned or (code.op == ".T" and owned(code.args[0]))


def _owns(a: Any, actual: Any) -> bool:
    return isinstance(a, Code) and a.fresh and a.actual == actual


def assign(name: str, code: Any, lines: list[str]) -> None:
    """Append the statements that set ``name`` to ``code``, working in place on the
    first new array along the way: ``t = H * H``; ``np.subtract(1.0, t, out=t)``;
    ``t *= H_bar`` for ``H_bar * (1.0 - H * H)`` (one array instead of three).

    The walk goes down the chain of new arrays iteratively (a sum of many terms is a
    long chain), then writes the statements from the innermost out.
    """
    steps: list[str] = []  # the in-place statements, outermost first
    while isinstance(code, Code) and code.fresh and code.op is not None:
        op = code.op
        if op in _BINARY:
            a, b = code.args
            if _owns(a, code.actual):
                steps.append(f"    {name} {op}= {b}")
                code = a
                continue
            if _owns(b, code.actual):
                if op in "+*":  # a + b == b + a and a * b == b * a exactly
                    steps.append(f"    {name} {op}= {a}")
                else:
                    steps.append(f"    np.{_BINARY[op]}({a}, {name}, out={name})")
                code = b
                continue
        elif op.startswith("f_") and _owns(code.args[0], code.actual):
            steps.append(f"    {op}({name}, out={name})")
            code = code.args[0]
            continue
        break
    lines.append(f"    {name} = {code}")
    lines.extend(reversed(steps))


def full(a: Code) -> Code:
    """``a`` as an array of its own shape: a broadcast (read-only) view if it is smaller."""
    if a.actual == a.shape:
        return a
    return Code(f"np.broadcast_to({a}, {a.shape!r})", a.shape)


class _CodeOps:
    """The ops namespace whose values are NumPy source (:class:`Code`).

    Statements go to ``lines``: ``bind(code)`` names ``code`` in a temporary, so an
    adjoint used by several arguments is computed once, and the pieces of a softmax
    (the shifted input, its exponential and their sums) are written once per input and
    shared by ``softmax``, ``log_softmax`` and the fused cross-entropy's forward and
    backward.  ``share`` holds the source of values that a first writing of the program
    computed more than once (a product inside a definition that a VJP needs again):
    each is named the first time it is made.  The all-ones matrix is never built: it
    is the number ``1.0`` broadcast, ``ones(N, 1) @ b`` is ``b`` broadcast, and
    ``ones(1, N) @ Z`` is the column sum ``Z.sum(axis=0, keepdims=True)``.
    """

    def __init__(self, lines: list[str] | None = None, share: Set[str] = frozenset()) -> None:
        self.lines: list[str] = [] if lines is None else lines
        self.count = itertools.count()
        self.softmaxes: dict[str, tuple[Code, Code, Code]] = {}
        self.share = share
        self.shared: dict[str, Code] = {}
        self.made: set[str] = set()  # the source of every new array made

    def temporary(self, code: Any) -> Code:
        name = f"t{next(self.count)}"
        assign(name, code, self.lines)
        return Code(name, _shape_of(code), _actual(code), owned=owned(code))

    def bind(self, code: Any) -> Any:
        if not isinstance(code, Code) or str(code).isidentifier() or _literal(code) is not None:
            return code
        return self.temporary(code)

    def _new(self, code: Any) -> Any:
        """``code``, recorded; named once if it is one of the values to share."""
        if not (isinstance(code, Code) and code.fresh):
            return code
        text = str(code)
        self.made.add(text)
        if text not in self.share:
            return code
        got = self.shared.get(text)
        if got is None:
            got = self.shared[text] = self.temporary(code)
        return got

    def matmul(self, a: Any, b: Any) -> Any:
        (r, n), c = a.shape, b.shape[1]
        shape = (r, c)
        if a.actual == ():  # s 1(r, n) @ B = s · (the column sums of B, on every row)
            rows = b if n == 1 else self.sum_axis(b, 0)  # s is a's number, not its shape
            return self.scale(Code(str(a)), Code(str(rows), shape, rows.actual, fresh=rows.fresh))
        if b.actual == ():  # A @ s 1(n, c) = s · (the row sums of A, in every column)
            cols = a if n == 1 else self.sum_axis(a, 1)
            return self.scale(Code(str(b)), Code(str(cols), shape, cols.actual, fresh=cols.fresh))
        if r > 1 and a.actual == (1, n):  # (1 a) B = 1 (a B): a row repeated
            return self._new(Code(f"({a} @ {full(b)})", shape, (1, c), fresh=True))
        if c > 1 and b.actual == (n, 1):  # A (b 1ᵀ) = (A b) 1ᵀ: a column repeated
            return self._new(Code(f"({full(a)} @ {b})", shape, (r, 1), fresh=True))
        if n > 1 and a.actual == (r, 1):  # (a 1ᵀ) B = a (1ᵀ B)
            return self._new(Code(f"({a} @ {self.sum_axis(b, 0)})", shape, fresh=True))
        if n > 1 and b.actual == (1, c):  # A (1 b) = (A 1) b
            return self._new(Code(f"({self.sum_axis(a, 1)} @ {b})", shape, fresh=True))
        return self._new(Code(f"({full(a)} @ {full(b)})", shape, fresh=True))

    @staticmethod
    def T(a: Any) -> Code:
        shape = (a.shape[1], a.shape[0])
        if a.actual == ():
            return Code(str(a), shape, ())
        if a.op == ".T":  # (Aᵀ)ᵀ = A
            inner: Code = a.args[0]
            return inner
        return Code(f"{a}.T", shape, tuple(reversed(a.actual)), op=".T", args=(a,))

    def had(self, a: Any, b: Any) -> Any:
        if _literal(a) == 1:  # 1 ⊙ B = B
            return b if _shape_of(b) is not None else Code(str(b), _shape_of(a), ())
        if _literal(b) == 1:
            return a if _shape_of(a) is not None else Code(str(a), _shape_of(b), ())
        return self._new(_binary("*", a, b))

    def scale(self, s: Any, a: Any) -> Any:
        k = _literal(s)
        if k == 1:
            return a
        if _literal(a) == 1:  # s times the all-ones matrix: s, broadcast
            return Code(f"{s}" if k is None or k >= 0 else f"({s})", _shape_of(a), ())
        return self._new(_binary("*", s, a))

    def add(self, a: Any, b: Any) -> Any:
        return self._new(_binary("+", a, b))

    def sub(self, a: Any, b: Any) -> Any:
        return self._new(_binary("-", a, b))

    def one_minus(self, a: Any) -> Any:
        return self._new(_binary("-", Code("1.0"), a))

    def div(self, a: Any, b: Any) -> Any:
        return self._new(_binary("/", a, b))

    @staticmethod
    def sum(a: Any) -> Code:
        return Code(f"float({full(a)}.sum())")

    @staticmethod
    def ones(r: int, c: int) -> Code:
        return Code("1.0", (r, c), ())

    @staticmethod
    def eye(n: int) -> Code:
        return Code(f"np.eye({n})", (n, n), fresh=True)

    @staticmethod
    def trace(a: Any) -> Code:
        return Code(f"float(np.trace({full(a)}))")

    def sum_axis(self, a: Any, axis: int) -> Any:
        r, c = a.shape
        shape = (1, c) if axis == 0 else (r, 1)
        return self._new(Code(f"{full(a)}.sum(axis={axis}, keepdims=True)", shape, fresh=True))

    def _softmax_parts(self, z: Any) -> tuple[Code, Code, Code]:
        """``(m, e, s)``: ``m = z − max``, ``e = exp(m)`` and ``s = Σ e`` per column
        vector or batch row, written once per ``z`` (as :data:`NUMERIC` computes them)."""
        key = str(z)
        got = self.softmaxes.get(key)
        if got is None:
            z = self.bind(full(z))
            (r, c), ax = z.shape, 0 if z.shape[1] == 1 else 1
            per = (1, c) if ax == 0 else (r, 1)
            top = Code(f"{z}.max(axis={ax}, keepdims=True)", z.shape, per, fresh=True)
            m = self.temporary(_binary("-", z, top))
            e = self.temporary(Code(f"np.exp({m})", z.shape, fresh=True))
            s = self.temporary(Code(f"{e}.sum(axis={ax}, keepdims=True)", z.shape, per, fresh=True))
            got = self.softmaxes[key] = (m, e, s)
        return got

    def softmax(self, z: Any) -> Any:
        _, e, s = self._softmax_parts(z)
        return self._new(_binary("/", e, s))

    def log_softmax(self, z: Any) -> Any:
        m, _, s = self._softmax_parts(z)
        return self._new(_binary("-", m, Code(f"np.log({s})", s.shape, s.actual, fresh=True)))

    def apply(self, name: str, z: Any) -> Any:
        op = f"f_{name}" if isinstance(FUNCTIONS[name].numeric, np.ufunc) else None
        fresh = z.actual != ()
        return self._new(Code(f"f_{name}({z})", z.shape, z.actual, fresh=fresh, op=op, args=(z,)))

    @staticmethod
    def is_zero(a: Any) -> bool:
        return False

    @staticmethod
    def scalar(expr: Any, lookup: Any) -> Any:
        if not expr.free_symbols:
            return float(expr)
        names = {s: sympy.Symbol(str(lookup(s))) for s in expr.free_symbols}
        return Code(f"({_PRINTER.doprint(expr.xreplace(names))})", None)


_PRINTER = NumPyPrinter({"fully_qualified_modules": False})


def _var(graph: Graph, i: int) -> str:
    # The node's name is only a readable suffix: every name passed the graph's
    # str.isidentifier() check, so "v3_W1" is one identifier, never code.
    return f"v{i}_{graph.symbols[i].name}"


class MatrixProgram:
    """A compiled value-and-gradient function of a trace with matrix nodes.

    ``f(**values)`` (or positional values in the order of :attr:`inputs`) returns
    ``(value, [gradient per wrt node])``: a float and float64 arrays shaped like the
    nodes.  :attr:`source` is the generated NumPy program.
    """

    def __init__(self, source: str, inputs: list[str], wrt: list[str]) -> None:
        self.source = source
        self.inputs = inputs
        self.wrt = wrt
        namespace: dict[str, Any] = {"np": np, "softmax": NUMERIC.softmax}
        namespace["log_softmax"] = NUMERIC.log_softmax
        namespace.update({f"f_{n}": f.numeric for n, f in FUNCTIONS.items()})
        # source is printed by SymPy's NumPy printer from the trace's expressions; names are
        # identifiers (_var), so no text from a file or a user is executed as code
        exec(compile(source, "<symtrace matrix program>", "exec"), namespace)  # noqa: S102
        self._fn = namespace["program"]

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[float, list[Any]]:
        if args and kwargs:
            raise UsageError("give the input values positionally or by name, not both")
        if args:
            if len(args) != len(self.inputs):
                raise UsageError(f"expected {len(self.inputs)} values: {', '.join(self.inputs)}")
            kwargs = dict(zip(self.inputs, args, strict=True))
        missing = [n for n in self.inputs if n not in kwargs]
        if missing:
            raise MissingValueError(f"no value for input(s) {', '.join(missing)}", tuple(missing))
        vals = [
            np.asarray(kwargs[n], dtype=np.float64) if _is_array(kwargs[n]) else float(kwargs[n])
            for n in self.inputs
        ]
        value, grads = self._fn(*vals)
        return value, list(grads)

    def __repr__(self) -> str:
        return (
            f"<MatrixProgram of {len(self.inputs)} inputs, gradients w.r.t. {', '.join(self.wrt)}>"
        )


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray | list | tuple) or is_matrix(v)


_WRITINGS = 4  # at most this many writings look for repeated arrays


def compile_matrix_trace(graph: Graph, output: int, wrt: Sequence[int]) -> MatrixProgram:
    """One NumPy program for the value of scalar node ``output`` and its gradients.

    Written again while a writing computes some new array more than once (common
    subexpressions): the next one names it the first time it is made (a named product
    changes the source of what uses it, so a few writings may be needed).
    """
    eqs = graph.equations
    if eqs[output].dims is not None:
        raise ShapeError(f"{graph.symbols[output]} is a matrix; compile a scalar output")
    share: frozenset[str] = frozenset()
    for _ in range(_WRITINGS):
        lines, made = _program_lines(graph, output, wrt, share)
        body = "\n".join(lines)
        counts = {text: body.count(text) for text in made - share}
        again = {text for text, k in counts.items() if k > 1}
        # name the whole repeated expression, not a part that occurs only inside it
        again -= {a for a in again for b in again if a != b and a in b and counts[a] == counts[b]}
        if not again:
            break
        share |= again
    else:
        lines, _ = _program_lines(graph, output, wrt, share)
    need = graph.ancestors([output])
    return MatrixProgram(
        "\n".join(lines) + "\n",
        [graph.symbols[i].name for i in sorted(need) if eqs[i].is_input],
        [graph.symbols[w].name for w in wrt],
    )


def _program_lines(
    graph: Graph, output: int, wrt: Sequence[int], share: Set[str]
) -> tuple[list[str], set[str]]:
    """The program's lines, and the source of every new array it made."""
    eqs = graph.equations
    need = sorted(graph.ancestors([output]))
    inputs = [i for i in need if eqs[i].is_input]
    var = {i: _var(graph, i) for i in need}
    actual: dict[int, Any] = {}  # the shape a node's variable holds, if broadcast
    made: set[int] = set()  # the nodes whose variable holds an array the program made

    def code_of(sym: Any) -> Code:
        i = graph.find(sym)
        assert i is not None
        return Code(var[i], eqs[i].dims, actual.get(i), owned=i in made)

    def scalar_code(expr: Any) -> Code:
        names = {s: sympy.Symbol(var[graph.find(s)]) for s in expr.free_symbols}  # type: ignore[index]
        return Code(f"({_PRINTER.doprint(expr.xreplace(names))})", None)

    lines = [f"def program({', '.join(var[i] for i in inputs)}):"]
    ops = _CodeOps(lines, share)
    for i in need:
        eq = eqs[i]
        if eq.is_input:
            continue
        if eq.kind == "scalar":
            code = scalar_code(eq.definition)
        else:
            code = evaluate(eq.definition, code_of, ops)
        assign(var[i], code, lines)
        actual[i] = _actual(code) if eq.dims is not None else None
        if owned(code):
            made.add(i)

    def write(i: int, a: Any) -> Any:
        if _literal(a) is not None and eqs[i].dims is None:
            return a  # the seed 1.0: multiplied away, not named
        name = f"{var[i]}_bar"
        assign(name, a, lines)
        shape = eqs[i].dims
        return Code(name, shape, _actual(a) if shape is not None else None, owned=owned(a))

    def local(i: int) -> list[Code]:
        return [scalar_code(d) for d in graph.local_partials(i)]

    def pull(i: int, a: Any) -> list[Any]:
        eq = eqs[i]
        out = Code(var[i], eq.dims, actual.get(i), owned=i in made)
        got = pullback(eq.definition, a, out=out, lookup=code_of, ops=ops)
        return [got.get(graph.symbols[p]) for p in eq.parents]

    def total(terms: list[Any]) -> Any:
        return functools.reduce(ops.add, terms)

    within = graph.descendants(wrt)  # only the nodes between wrt and the output
    adj = reverse(
        graph,
        {output: Code("1.0")},
        local=local,
        total=total,
        write=write,
        pullback=pull,
        within=within,
    )
    outs = []
    for w in wrt:
        dims = eqs[w].dims
        if w not in adj:
            outs.append(f"np.zeros({dims!r})" if dims is not None else "0.0")
        elif dims is not None and _actual(adj[w]) != dims:  # a broadcast: as a full array
            outs.append(f"np.broadcast_to({adj[w]}, {dims!r}).copy()")
        elif dims is not None and not owned(adj[w]):  # an input's array: never hand it out
            outs.append(f"{adj[w]}.copy()")
        else:
            outs.append(str(adj[w]))
    lines.append(f"    return {var[output]}, [{', '.join(outs)}]")
    return lines, ops.made
