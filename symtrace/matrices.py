"""Matrix- and vector-valued nodes: their Symbol type, operations and VJP rule table.

A matrix node is a :class:`MatrixNode`, a SymPy ``MatrixSymbol`` owned by one trace
(like :class:`~symtrace.nodes.NodeSymbol`).  Definitions are SymPy matrix expressions
(``W @ x + b``: ``MatMul``, ``MatAdd``, ``Transpose``, scalar × matrix) and symtrace's
own operations, which SymPy lacks or prints badly: elementwise functions
(:class:`Apply`, printed ``tanh(z)``), the Hadamard product ``⊙``, sums, softmax and the
fused softmax + cross-entropy.

:data:`RULES` is the one table, operation → (forward, vjp).  Both are written once in
matrix notation over an *ops* namespace: :data:`NUMERIC` (NumPy float64) gives the
numbers, :data:`SYMBOLIC` (SymPy matrix expressions) the compact adjoints in node
symbols.  ``C = A B`` gives ``Ā += C̄ Bᵀ``, ``B̄ += Aᵀ C̄``; ``H = f(Z)`` gives
``Z̄ += H̄ ⊙ f'(Z)``; ``s = Σ A`` gives ``Ā += s̄ 1``.  SymPy's ``diff`` is never taken
with respect to a ``MatrixSymbol``.

>>> W, x, b = MatrixNode("W", 2, 3, 1), MatrixNode("x", 3, 1, 1), MatrixNode("b", 2, 1, 1)
>>> z = MatrixNode("z", 2, 1, 1)
>>> pulled = pullback(W @ x + b, Bar(z), out=z)
>>> pulled[W], pulled[x], pulled[b]
(zbar*x.T, W.T*zbar, zbar)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.core.symbol import Str
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from .errors import InvalidExpressionError, InvalidValueError, ShapeError, TraceError

__all__ = [
    "EXACT",
    "FUNCTIONS",
    "NUMERIC",
    "RULES",
    "SYMBOLIC",
    "Apply",
    "Bar",
    "Checked",
    "ExactOps",
    "Hadamard",
    "LogSoftmax",
    "MatrixNode",
    "Minus",
    "OneMinus",
    "Rule",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Str",
    "Sum",
    "SumAxis",
    "broadcast",
    "check_definition",
    "check_power",
    "evaluate",
    "has_matrix",
    "is_matrix",
    "matrix_value",
    "pullback",
    "typed",
]


def is_matrix(expr: Any) -> bool:
    """Whether ``expr`` is matrix-valued (a SymPy matrix expression or explicit matrix)."""
    return bool(getattr(expr, "is_Matrix", False))


def has_matrix(expr: sympy.Basic) -> bool:
    """Whether ``expr`` is or uses a matrix (then the rule table handles it)."""
    return is_matrix(expr) or any(isinstance(s, sympy.MatrixSymbol) for s in expr.free_symbols)


def _shape(expr: Any) -> tuple[int, int]:
    return tuple(int(d) for d in expr.shape)  # type: ignore[return-value]


class _OperatorText(StrPrinter):
    """Matrix expressions as they are typed: ``W @ x + c``, ``x.T``."""

    def _print_MatMul(self, expr: Any) -> str:
        coeff, mats = expr.as_coeff_matrices()
        text = " @ ".join(self.parenthesize(m, precedence(expr)) for m in mats)
        return text if coeff == 1 else f"{self.parenthesize(coeff, precedence(expr))}*{text}"

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Func'], strict=True)}.T"


_TEXT = _OperatorText()


def typed(expr: Any) -> str:
    """A matrix expression as it is typed in Python, for messages: ``W @ x + c``."""
    return str(_TEXT.doprint(expr))


def _transposed(expr: Any) -> str:
    if isinstance(expr, sympy.Transpose):
        return typed(expr.arg)
    return typed(sympy.Transpose(expr)) if is_matrix(expr) else f"{expr}.T"


def _hint(op: str, a: Any, b: Any) -> str:
    """The message of a shape mismatch, with a transpose hint when one fits."""
    sa, sb = _shape(a), _shape(b)
    ta, tb = typed(a), typed(b)
    if op == "@":
        msg = f"{ta} @ {tb}: {sa} @ {sb} do not align"
        if sa[0] == sb[0]:
            return f"{msg}; {_transposed(a)} @ {tb} would be ({sa[1]}, {sb[1]})"
        if sa[1] == sb[1]:
            return f"{msg}; {ta} @ {_transposed(b)} would be ({sa[0]}, {sb[0]})"
        return msg
    msg = f"{ta} {op} {tb}: {sa} {op} {sb} do not match"
    if sa == sb[::-1]:
        return f"{msg}; {ta} {op} {_transposed(b)} would be {sa}"
    if op in "+-":
        return f"{msg} (a row (1, k) or a column (N, 1) is broadcast over an (N, k) matrix)"
    return msg


def broadcast(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` and ``b`` for ``a + b``, a row ``(1, k)`` or column ``(N, 1)`` broadcast over
    the other, an ``(N, k)`` matrix, as NumPy does: the row becomes ``1 b`` (``ones(N,
    1) @ b``), the column ``c 1`` (``c @ ones(1, k)``), so its VJP is the matrix
    product's, the sum over the broadcast axis.  Other shapes are returned as they are.

    >>> Z, b = MatrixNode("Z", 3, 2, 1), MatrixNode("b", 1, 2, 1)
    >>> broadcast(Z, b)
    (Z, 1*b)
    """
    if not (is_matrix(a) and is_matrix(b)):
        return a, b
    (ra, ca), (rb, cb) = _shape(a), _shape(b)
    if (ra, ca) == (rb, cb):
        return a, b
    if rb == 1 and cb == ca and ra > 1:
        return a, sympy.MatMul(sympy.OneMatrix(ra, 1), b)
    if ra == 1 and ca == cb and rb > 1:
        return sympy.MatMul(sympy.OneMatrix(rb, 1), a), b
    if cb == 1 and rb == ra and ca > 1:
        return a, sympy.MatMul(b, sympy.OneMatrix(1, ca))
    if ca == 1 and ra == rb and cb > 1:
        return sympy.MatMul(a, sympy.OneMatrix(1, cb)), b
    return a, b


def check_power(base: Any, exponent: Any) -> None:
    """Raise a clear error unless ``base ** exponent`` is a power the rule table
    evaluates: a whole exponent ``n ≥ 1`` of a square matrix (``A @ … @ A``, n factors).

    >>> A, B = MatrixNode("A", 2, 2, 1), MatrixNode("B", 2, 3, 1)
    >>> check_power(A, 3)
    >>> check_power(B, 2)
    Traceback (most recent call last):
        ...
    symtrace.errors.ShapeError: B**2: a matrix power needs a square matrix, B is (2, 3); ...
    >>> check_power(A, sympy.Rational(1, 2))
    Traceback (most recent call last):
        ...
    symtrace.errors.InvalidExpressionError: A**(1/2): only a whole power n >= 1 ...
    """
    text = typed(base)
    shown = f"({exponent})" if str(exponent).startswith("-") or "/" in str(exponent) else exponent
    what = f"{text if isinstance(base, sympy.MatrixSymbol) else f'({text})'}**{shown}"
    whole = (
        isinstance(exponent, int | sympy.Integer)
        and not isinstance(exponent, bool)
        and exponent >= 1
    )
    if not whole:
        raise InvalidExpressionError(
            f"{what}: only a whole power n >= 1 of a square matrix is supported (the matrix "
            f"product of n factors, {text} @ {text} for n = 2); for the entrywise square write "
            f"st.square({text}); inverses and roots are not supported"
        )
    r, c = _shape(base)
    if r != c:
        raise ShapeError(
            f"{what}: a matrix power needs a square matrix, {text} is ({r}, {c}); for the "
            f"entrywise square write st.square({text}), for a Gram matrix {text}.T @ {text}"
        )


def check_definition(expr: Any) -> None:
    """Raise a clear error if the matrix definition ``expr`` holds an operation the rule
    table cannot evaluate (an inverse, a matrix power that is not whole and positive),
    so that ``define`` refuses it rather than a later ``value`` or ``grad``.

    >>> A = MatrixNode("A", 2, 2, 1)
    >>> check_definition(A @ A @ A + A.T)
    >>> check_definition(sympy.Inverse(A) @ A.T)
    Traceback (most recent call last):
        ...
    symtrace.errors.TraceError: Inverse of a matrix is not supported in a matrix definition; ...
    """
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, sympy.Symbol | sympy.MatrixSymbol | Str) or not has_matrix(e):
            continue
        _forward_rule(e.func)
        if isinstance(e, sympy.MatPow):
            check_power(e.args[0], e.args[1])
        stack.extend(a for a in e.args if isinstance(a, sympy.Basic))


def _checked(op: str, a: Any, b: Any, build: Callable[[Any, Any], Any]) -> Any:
    """``build(a, b)``, SymPy's own operation, after a broadcast (``+``, ``-``); a shape
    mismatch is a :class:`~symtrace.errors.ShapeError` naming both shapes."""
    x, y = a, b
    if op in "+-":
        if is_matrix(a) != is_matrix(b):
            m, k = (a, b) if is_matrix(a) else (b, a)
            raise ShapeError(
                f"{typed(a)} {op} {typed(b)}: a {_shape(m)} matrix and a scalar cannot be "
                f"{'added' if op == '+' else 'subtracted'}; write {k} * st.ones{_shape(m)} "
                f"for the matrix whose every entry is {k}"
            )
        x, y = broadcast(a, b)
    try:
        return build(x, y)
    except SympyShapeError:
        raise ShapeError(_hint(op, a, b)) from None


class Checked:
    """Matrix operators that check shapes and broadcast: ``+ - @ *`` with SymPy's own
    results, but a mismatch raises :class:`~symtrace.errors.ShapeError` (naming both
    shapes, with a transpose hint where one fits) and a row ``(1, k)`` or column
    ``(N, 1)`` added to an ``(N, k)`` matrix is broadcast (:func:`broadcast`).

    A priority above SymPy's matrix expressions' makes SymPy hand an operation to
    these operators whenever either side is a node or a symtrace operation, so
    ``(W @ x) + c`` is checked by ``c``; an operation between two plain SymPy
    expressions (``(A @ B) + (C @ D)``) is SymPy's own.
    """

    __slots__ = ()

    _op_priority = 12.0

    def __matmul__(self, other: Any) -> Any:
        return _checked("@", self, other, MatrixExpr.__matmul__)

    def __rmatmul__(self, other: Any) -> Any:
        return _checked("@", other, self, lambda a, b: MatrixExpr.__rmatmul__(b, a))

    def __mul__(self, other: Any) -> Any:
        op = "@" if is_matrix(other) else "*"
        return _checked(op, self, other, MatrixExpr.__mul__)

    def __rmul__(self, other: Any) -> Any:
        op = "@" if is_matrix(other) else "*"
        return _checked(op, other, self, lambda a, b: MatrixExpr.__rmul__(b, a))

    def __pow__(self, other: Any) -> Any:
        check_power(self, other)
        return MatrixExpr.__pow__(self, other)

    def __add__(self, other: Any) -> Any:
        return _checked("+", self, other, MatrixExpr.__add__)

    def __radd__(self, other: Any) -> Any:
        return _checked("+", other, self, lambda a, b: MatrixExpr.__radd__(b, a))

    def __sub__(self, other: Any) -> Any:
        return _checked("-", self, other, MatrixExpr.__sub__)

    def __rsub__(self, other: Any) -> Any:
        return _checked("-", other, self, lambda a, b: MatrixExpr.__rsub__(b, a))


class MatrixNode(Checked, sympy.MatrixSymbol):
    """A matrix node: a ``MatrixSymbol`` owned by one :class:`~symtrace.Trace`.

    Equal only to itself (the trace token is part of its identity), so a hand-made
    ``MatrixSymbol("W", 2, 3)`` or another trace's ``W`` is detected.  Its operators
    check shapes and broadcast a bias row or column (:class:`Checked`).

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> W = t.input("W", [[1, 2], [3, 4]])
    >>> W, W.shape, W == sympy.MatrixSymbol("W", 2, 2)
    (W, (2, 2), False)
    """

    __slots__ = ("trace_token",)

    trace_token: int

    def __new__(cls, name: str, rows: int, cols: int, trace_token: int) -> MatrixNode:
        obj: MatrixNode = sympy.MatrixSymbol.__new__(cls, name, rows, cols)
        obj.trace_token = trace_token
        return obj

    def __getnewargs__(self) -> tuple[str, int, int, int]:
        return (self.name, int(self.shape[0]), int(self.shape[1]), self.trace_token)

    def _hashable_content(self) -> tuple[Any, ...]:
        return (*sympy.MatrixSymbol._hashable_content(self), self.trace_token)

    def doit(self, **hints: Any) -> MatrixNode:
        return self


# ------------------------------------------------------------------ operations


class _Printed:
    """symtrace's own printing, also for printers with their own print method
    (symtrace's Unicode printer), which would otherwise fall back to SymPy's
    printing of a same-named class (``Sum``)."""

    def _sympystr(self, printer: Any) -> str:
        raise NotImplementedError

    def _unicodestr(self, printer: Any) -> str:
        return self._sympystr(printer)


class _Op(_Printed, Checked, MatrixExpr):
    """A matrix-valued symtrace operation; the shape is its last argument's."""

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[-1].shape

    def doit(self, **hints: Any) -> Any:
        args = [a.doit(**hints) if isinstance(a, sympy.Basic) else a for a in self.args]
        if all(
            isinstance(a, Str) or not is_matrix(a) or isinstance(a, sympy.MatrixBase) for a in args
        ):
            return _exact(self.func, args)
        return self.func(*args)


class Apply(_Op):
    """An elementwise function of a matrix, ``f(Z)``; printed ``tanh(z)``.

    >>> Z = MatrixNode("z", 2, 1, 1)
    >>> Apply(Str("tanh"), Z), Apply(Str("tanh"), Z).shape
    (tanh(z), (2, 1))
    """

    precedence = 70

    @property
    def fname(self) -> str:
        return str(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"{self.fname}({printer._print(self.args[1])})"

    def _latex(self, printer: Any) -> str:
        name = self.fname
        head = f"\\{name}" if name in ("tanh", "exp", "log") else f"\\operatorname{{{name}}}"
        if name == "square":
            return f"{printer.parenthesize(self.args[1], 1000)}^{{\\odot 2}}"
        if name == "sqrt":
            return f"\\sqrt{{{printer._print(self.args[1])}}}"
        return f"{head}\\left({printer._print(self.args[1])}\\right)"


class OneMinus(_Op):
    """``1 − X`` entrywise (``1`` the all-ones matrix), printed in that order."""

    precedence = 40

    def _sympystr(self, printer: Any) -> str:
        return f"1 - {printer.parenthesize(self.args[0], 41)}"

    def _latex(self, printer: Any) -> str:
        return f"1 - {printer.parenthesize(self.args[0], 41)}"


class Minus(_Op):
    """``A − B``, printed in that order (SymPy's ``MatAdd`` would print ``−B + A``)."""

    precedence = 40

    def _sympystr(self, printer: Any) -> str:
        a, b = self.args
        return f"{printer.parenthesize(a, 40)} - {printer.parenthesize(b, 41)}"

    def _latex(self, printer: Any) -> str:
        a, b = self.args
        return f"{printer.parenthesize(a, 40)} - {printer.parenthesize(b, 41)}"


class Hadamard(_Op):
    """The entrywise product ``A ⊙ B`` (same shapes).

    >>> A, B = MatrixNode("A", 2, 2, 1), MatrixNode("B", 2, 2, 1)
    >>> Hadamard(A, B)
    A⊙B
    """

    def __new__(cls, *args: Any) -> Any:
        for a in args[1:]:
            if _shape(a) != _shape(args[0]):
                raise ShapeError(_hint("⊙", args[0], a))
        return MatrixExpr.__new__(cls, *args)

    precedence = 45

    def _sympystr(self, printer: Any) -> str:
        return "⊙".join(printer.parenthesize(a, 45) for a in self.args)

    def _latex(self, printer: Any) -> str:
        return " \\odot ".join(printer.parenthesize(a, 45) for a in self.args)


class SumAxis(_Op):
    """``Σ`` over one axis: axis 0 sums the rows away (a row ``(1, c)``), axis 1 the columns."""

    @property
    def shape(self) -> tuple[Any, Any]:
        r, c = self.args[0].shape
        return (1, c) if int(self.args[1]) == 0 else (r, 1)

    def _sympystr(self, printer: Any) -> str:
        return f"sum({printer._print(self.args[0])}, axis={self.args[1]})"

    def _latex(self, printer: Any) -> str:
        idx = "i" if int(self.args[1]) == 0 else "j"
        return f"\\sum_{{{idx}}} {printer.parenthesize(self.args[0], 1000)}"


class Softmax(_Op):
    """Softmax of a column vector ``(k, 1)``, or row-wise on a batch ``(N, k)``."""

    def _sympystr(self, printer: Any) -> str:
        return f"softmax({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return f"\\operatorname{{softmax}}\\left({printer._print(self.args[0])}\\right)"


class LogSoftmax(Softmax):
    """``log(softmax(Z))``, computed stably."""

    def _sympystr(self, printer: Any) -> str:
        return f"log_softmax({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return f"\\operatorname{{log\\,softmax}}\\left({printer._print(self.args[0])}\\right)"


_SUBSCRIPT_DIGITS = set("₀₁₂₃₄₅₆₇₈₉")


class Bar(_Op):
    """The adjoint ``Z̄`` of a matrix expression as a symbol (the rules' upstream)."""

    def _sympystr(self, printer: Any) -> str:
        return f"{printer._print(self.args[0])}bar"

    def _unicodestr(self, printer: Any) -> str:
        # The bar goes on the letter, before a subscript: z̄₂, not z₂̄.
        text = printer._print(self.args[0])
        end = len(text)
        while end > 1 and text[end - 1] in _SUBSCRIPT_DIGITS:
            end -= 1
        return f"{text[:end]}\u0304{text[end:]}"

    def _latex(self, printer: Any) -> str:
        return f"\\bar{{{printer._print(self.args[0])}}}"


class Sum(_Printed, sympy.Expr):
    """The sum of every entry of a matrix, a scalar."""

    is_real = True

    def __new__(cls, arg: Any) -> Any:
        return sympy.Expr.__new__(cls, arg)

    def doit(self, **hints: Any) -> Any:
        a = self.args[0].doit(**hints)
        return sympy.Add(*a) if isinstance(a, sympy.MatrixBase) else Sum(a)

    def _sympystr(self, printer: Any) -> str:
        return f"sum({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return f"\\sum {printer.parenthesize(self.args[0], 1000)}"


class SoftmaxCrossEntropy(_Printed, sympy.Expr):
    """``−Σ Y ⊙ log softmax(Z)``, fused: its VJP is ``softmax(Z) − Y``.

    The rule assumes each target column (row, on a batch) sums to 1 (one-hot).
    """

    is_real = True

    def doit(self, **hints: Any) -> Any:
        z, y = (a.doit(**hints) for a in self.args)
        if isinstance(z, sympy.MatrixBase) and isinstance(y, sympy.MatrixBase):
            return -Sum(Hadamard(y, LogSoftmax(z))).doit()
        return self.func(z, y)

    def _sympystr(self, printer: Any) -> str:
        z, y = (printer._print(a) for a in self.args)
        return f"cross_entropy(softmax({z}), {y})"

    def _latex(self, printer: Any) -> str:
        z, y = (printer._print(a) for a in self.args)
        return (
            f"\\operatorname{{CE}}\\left(\\operatorname{{softmax}}\\left({z}\\right), {y}\\right)"
        )


def _exact(func: Any, args: list[Any]) -> Any:
    """An operation on explicit SymPy matrices, evaluated exactly."""
    if func is Apply:
        return args[1].applyfunc(FUNCTIONS[str(args[0])].exact)
    if func is Hadamard:
        return functools.reduce(lambda a, b: a.multiply_elementwise(b), args)
    if func is Minus:
        return args[0] - args[1]
    if func is OneMinus:
        return sympy.ones(*args[0].shape) - args[0]
    return sympy.ImmutableMatrix(_forward_rule(func).forward(EXACT, args, None))


# ------------------------------------------------------------------ ops namespaces


class _NumericOps:
    """NumPy float64 matrices (2-D arrays) and Python floats."""

    matmul = staticmethod(lambda a, b: a @ b)
    T = staticmethod(lambda a: a.T)
    had = staticmethod(lambda a, b: a * b)
    scale = staticmethod(lambda s, a: s * a)
    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    one_minus = staticmethod(lambda a: 1.0 - a)
    div = staticmethod(lambda a, b: a / b)
    sum = staticmethod(lambda a: float(a.sum()))
    ones = staticmethod(lambda r, c: np.ones((r, c)))
    eye = staticmethod(lambda n: np.eye(n))
    trace = staticmethod(lambda a: float(np.trace(a)))

    @staticmethod
    def sum_axis(a: Any, axis: int) -> Any:
        return a.sum(axis=axis, keepdims=True)

    @staticmethod
    def softmax(z: Any) -> Any:
        ax = 0 if z.shape[1] == 1 else 1
        e = np.exp(z - z.max(axis=ax, keepdims=True))
        return e / e.sum(axis=ax, keepdims=True)

    @staticmethod
    def log_softmax(z: Any) -> Any:
        ax = 0 if z.shape[1] == 1 else 1
        m = z - z.max(axis=ax, keepdims=True)
        return m - np.log(np.exp(m).sum(axis=ax, keepdims=True))

    @staticmethod
    def apply(name: str, z: Any) -> Any:
        return FUNCTIONS[name].numeric(z)

    @staticmethod
    def is_zero(a: Any) -> bool:
        return False


class ExactOps(_NumericOps):
    """Explicit SymPy matrices, for exact values; ``scalar_functions`` (name → SymPy
    function) replaces the default scalar form of elementwise functions."""

    def __init__(self, scalar_functions: Mapping[str, Any] | None = None) -> None:
        self.scalar_functions = dict(scalar_functions or {})

    matmul = staticmethod(lambda a, b: a * b)
    one_minus = staticmethod(lambda a: sympy.ones(*a.shape) - a)
    had = staticmethod(lambda a, b: a.multiply_elementwise(b))
    sum = staticmethod(lambda a: sympy.Add(*a))
    ones = staticmethod(lambda r, c: sympy.ones(r, c))
    eye = staticmethod(lambda n: sympy.eye(n))
    trace = staticmethod(lambda a: a.trace())

    @staticmethod
    def sum_axis(a: Any, axis: int) -> Any:
        r, c = a.shape
        return sympy.ones(1, r) * a if axis == 0 else a * sympy.ones(c, 1)

    @staticmethod
    def softmax(z: Any) -> Any:
        e = z.applyfunc(sympy.exp)
        if z.shape[1] == 1:
            return e / sympy.Add(*e)
        rows = [e.row(i) / sympy.Add(*e.row(i)) for i in range(e.shape[0])]
        return sympy.Matrix.vstack(*rows)

    @staticmethod
    def log_softmax(z: Any) -> Any:
        return ExactOps.softmax(z).applyfunc(sympy.log)

    def apply(self, name: str, z: Any) -> Any:  # type: ignore[override]
        return z.applyfunc(self.scalar_functions.get(name, FUNCTIONS[name].exact))


def _coefficient(a: Any) -> tuple[Any, Any]:
    """``(s, M)`` with ``a = s M`` for a scalar ``s`` (1 when there is none)."""
    if isinstance(a, sympy.MatMul) and not is_matrix(a.args[0]):
        rest = a.args[1:]
        return a.args[0], rest[0] if len(rest) == 1 else sympy.MatMul(*rest)
    return sympy.S.One, a


def _symbolic_zero(a: Any) -> bool:
    return a == 0 or isinstance(a, sympy.ZeroMatrix)


class _SymbolicOps:
    """SymPy matrix expressions in node symbols, with the obvious simplifications."""

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return sympy.MatMul(a, b).doit()

    @staticmethod
    def T(a: Any) -> Any:
        return a.T

    @staticmethod
    def had(a: Any, b: Any) -> Any:
        # (s A) ⊙ (t B) = (s t) (A ⊙ B); 1 ⊙ B = B
        s, ma = _coefficient(a)
        t, mb = _coefficient(b)
        if isinstance(ma, sympy.OneMatrix):
            m = mb
        elif isinstance(mb, sympy.OneMatrix):
            m = ma
        else:
            m = Hadamard(ma, mb)
        return _SymbolicOps.scale(s * t, m)

    @staticmethod
    def scale(s: Any, a: Any) -> Any:
        t, m = _coefficient(a)
        s = s * t
        if s == 1:
            return m
        if s == 0:
            return sympy.ZeroMatrix(*m.shape)
        return sympy.MatMul(s, m)

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(Minus)
    one_minus = staticmethod(OneMinus)
    sum = staticmethod(Sum)
    ones = staticmethod(lambda r, c: sympy.OneMatrix(r, c))
    eye = staticmethod(lambda n: sympy.Identity(n))
    trace = staticmethod(sympy.Trace)
    sum_axis = staticmethod(lambda a, axis: SumAxis(a, sympy.Integer(axis)))
    softmax = staticmethod(Softmax)
    log_softmax = staticmethod(LogSoftmax)

    @staticmethod
    def div(a: Any, b: Any) -> Any:
        return Hadamard(a, Apply(Str("reciprocal"), b))

    @staticmethod
    def apply(name: str, z: Any) -> Any:
        return Apply(Str(name), z)

    @staticmethod
    def bar(expr: Any) -> Any:
        return Bar(expr)

    is_zero = staticmethod(_symbolic_zero)


NUMERIC = _NumericOps()
EXACT = ExactOps()
SYMBOLIC = _SymbolicOps()


# ------------------------------------------------------------------ functions


@dataclass(frozen=True)
class Function:
    """An elementwise function: NumPy, exact (SymPy scalar) and ``f'`` in matrix notation.

    ``derivative(ops, Z, H)`` gives ``f'(Z)`` entrywise, using the output ``H = f(Z)``
    where that reads best (``1 − H ⊙ H`` for tanh).
    """

    numeric: Callable[[Any], Any]
    exact: Callable[[Any], Any]
    derivative: Callable[[Any, Any, Any], Any]


def _ones_like(ops: Any, a: Any) -> Any:
    return ops.ones(*_shape(a))


def _num_sigmoid(z: Any) -> Any:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


FUNCTIONS: dict[str, Function] = {
    "tanh": Function(np.tanh, sympy.tanh, lambda o, z, h: o.one_minus(o.had(h, h))),
    "sigmoid": Function(
        _num_sigmoid,
        lambda v: 1 / (1 + sympy.exp(-v)),
        lambda o, z, h: o.had(h, o.one_minus(h)),
    ),
    "relu": Function(
        lambda z: np.maximum(z, 0.0),
        lambda v: sympy.Max(0, v),
        lambda o, z, h: o.apply("step", z),
    ),
    "step": Function(
        lambda z: (z > 0).astype(float),
        lambda v: sympy.Heaviside(v, 0),
        lambda o, z, h: o.scale(0, _ones_like(o, h)),
    ),
    "exp": Function(np.exp, sympy.exp, lambda o, z, h: h),
    "log": Function(np.log, sympy.log, lambda o, z, h: o.apply("reciprocal", z)),
    "sqrt": Function(
        np.sqrt, sympy.sqrt, lambda o, z, h: o.scale(sympy.Rational(1, 2), o.apply("reciprocal", h))
    ),
    "square": Function(np.square, lambda v: v**2, lambda o, z, h: o.scale(2, z)),
    "abs": Function(np.abs, sympy.Abs, lambda o, z, h: o.apply("sign", z)),
    "sign": Function(np.sign, sympy.sign, lambda o, z, h: o.scale(0, _ones_like(o, h))),
    "reciprocal": Function(
        lambda z: 1.0 / z,
        lambda v: 1 / v,
        lambda o, z, h: o.scale(-1, o.had(h, h)),
    ),
}
"""The elementwise functions, name → :class:`Function`."""


# ------------------------------------------------------------------ the rule table


@dataclass(frozen=True)
class Rule:
    """One operation: ``forward(ops, args, node)`` its value from its arguments' values;
    ``vjp(ops, bar, args, out, node)`` each argument's adjoint contribution (``None``
    for none) from the output's adjoint ``bar``, the arguments and the output."""

    forward: Callable[[Any, list[Any], Any], Any]
    vjp: Callable[[Any, Any, list[Any], Any, Any], list[Any]]


def _matmul_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    # C = s · M1 … Mk: M̄j = (s M1…Mj-1)ᵀ C̄ (Mj+1…Mk)ᵀ; s̄ = Σ C̄ ⊙ (M1…Mk)
    mats = [k for k, a in enumerate(node.args) if is_matrix(a)]
    scal = [k for k, a in enumerate(node.args) if not is_matrix(a)]
    s = functools.reduce(lambda x, y: x * y, [args[k] for k in scal], 1)
    grads: list[Any] = [None] * len(args)
    for j, k in enumerate(mats):
        g = ops.scale(s, bar)
        if j > 0:
            left = functools.reduce(ops.matmul, [args[m] for m in mats[:j]])
            g = ops.matmul(ops.T(left), g)
        if j < len(mats) - 1:
            right = functools.reduce(ops.matmul, [args[m] for m in mats[j + 1 :]])
            g = ops.matmul(g, ops.T(right))
        grads[k] = g
    if scal:
        prod = functools.reduce(ops.matmul, [args[m] for m in mats])
        whole = ops.sum(ops.had(bar, prod))
        for k in scal:
            if node.args[k].free_symbols:
                others = [args[m] for m in scal if m != k]
                grads[k] = functools.reduce(lambda x, y: x * y, others, whole)
    return grads


def _matmul_forward(ops: Any, args: list[Any], node: Any) -> Any:
    mats = [a for a, n in zip(args, node.args, strict=True) if is_matrix(n)]
    scal = [a for a, n in zip(args, node.args, strict=True) if not is_matrix(n)]
    prod = functools.reduce(ops.matmul, mats)
    return ops.scale(functools.reduce(lambda x, y: x * y, scal), prod) if scal else prod


def _mul_forward(ops: Any, args: list[Any], node: Any) -> Any:
    return functools.reduce(lambda x, y: x * y, args)


def _mul_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    return [
        functools.reduce(lambda x, y: x * y, [a for m, a in enumerate(args) if m != k], bar)
        for k in range(len(args))
    ]


def _power(node: Any) -> int:
    """The exponent of a matrix power, checked (:func:`check_power`)."""
    check_power(node.args[0], node.args[1])
    return int(node.args[1])


def _matpow_forward(ops: Any, args: list[Any], node: Any) -> Any:
    return functools.reduce(ops.matmul, [args[0]] * _power(node))


def _matpow_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    # C = Aⁿ = A … A: Ā = Σₖ (Aᵀ)ᵏ C̄ (Aᵀ)ⁿ⁻¹⁻ᵏ, the product rule over the n factors
    n = _power(node)
    bind = getattr(ops, "bind", lambda v: v)  # code: each power of Aᵀ computed once
    powers = [None, bind(ops.T(args[0]))]
    for _ in range(2, n):
        powers.append(bind(ops.matmul(powers[-1], powers[1])))
    terms = []
    for k in range(n):
        term = bar if k == 0 else ops.matmul(powers[k], bar)
        terms.append(term if k == n - 1 else ops.matmul(term, powers[n - 1 - k]))
    return [functools.reduce(ops.add, terms), None]


def _softmax_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    # Z̄ = P ⊙ (P̄ − broadcast Σ_k P ⊙ P̄), summed per column vector or per batch row
    r, c = _shape(out)
    pb = ops.had(out, bar)
    if c == 1:
        return [ops.sub(pb, ops.had(out, ops.matmul(ops.ones(r, 1), ops.sum_axis(pb, 0))))]
    return [ops.sub(pb, ops.had(out, ops.matmul(ops.sum_axis(pb, 1), ops.ones(1, c))))]


def _log_softmax_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    # Z̄ = Ā − softmax(Z) ⊙ broadcast Σ_k Ā
    r, c = _shape(out)
    p = ops.softmax(args[0])
    if c == 1:
        return [ops.sub(bar, ops.had(p, ops.matmul(ops.ones(r, 1), ops.sum_axis(bar, 0))))]
    return [ops.sub(bar, ops.had(p, ops.matmul(ops.sum_axis(bar, 1), ops.ones(1, c))))]


def _sum_axis_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    r, c = _shape(args[0])
    if int(node.args[1]) == 0:  # bar is (1, c): every row gets it
        return [ops.matmul(ops.ones(r, 1), bar), None]
    return [ops.matmul(bar, ops.ones(1, c)), None]


def _ce_forward(ops: Any, args: list[Any], node: Any) -> Any:
    z, y = args
    return -ops.sum(ops.had(y, ops.log_softmax(z)))


def _ce_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    z, y = args
    return [ops.scale(bar, ops.sub(ops.softmax(z), y)), ops.scale(-bar, ops.log_softmax(z))]


def _constant(ops: Any, args: list[Any], node: Any) -> Any:
    r, c = _shape(node)
    if isinstance(node, sympy.Identity):
        return ops.eye(r)
    if isinstance(node, sympy.ZeroMatrix):
        return ops.scale(0, ops.ones(r, c))
    return ops.ones(r, c)


def _no_vjp(ops: Any, bar: Any, args: list[Any], out: Any, node: Any) -> list[Any]:
    return [None] * len(args)


RULES: dict[Any, Rule] = {
    # C = A + B: Ā += C̄, B̄ += C̄
    sympy.MatAdd: Rule(
        lambda o, a, n: functools.reduce(o.add, a), lambda o, bar, a, out, n: [bar] * len(a)
    ),
    # C = s A B: Ā += s C̄ Bᵀ, B̄ += s Aᵀ C̄
    sympy.MatMul: Rule(_matmul_forward, _matmul_vjp),
    # C = Aⁿ (n ≥ 1, A square): Ā += Σₖ (Aᵀ)ᵏ C̄ (Aᵀ)ⁿ⁻¹⁻ᵏ
    sympy.MatPow: Rule(_matpow_forward, _matpow_vjp),
    # C = Aᵀ: Ā += C̄ᵀ
    sympy.Transpose: Rule(lambda o, a, n: o.T(a[0]), lambda o, bar, a, out, n: [o.T(bar)]),
    # H = f(Z): Z̄ += H̄ ⊙ f'(Z)
    Apply: Rule(
        lambda o, a, n: o.apply(str(n.args[0]), a[1]),
        lambda o, bar, a, out, n: [
            None,
            o.had(bar, FUNCTIONS[str(n.args[0])].derivative(o, a[1], out)),
        ],
    ),
    # C = 1 − A: Ā += −C̄
    OneMinus: Rule(lambda o, a, n: o.one_minus(a[0]), lambda o, bar, a, out, n: [o.scale(-1, bar)]),
    # C = A − B: Ā += C̄, B̄ += −C̄
    Minus: Rule(
        lambda o, a, n: o.sub(a[0], a[1]), lambda o, bar, a, out, n: [bar, o.scale(-1, bar)]
    ),
    # C = A ⊙ B: Ā += C̄ ⊙ B, B̄ += C̄ ⊙ A
    Hadamard: Rule(
        lambda o, a, n: functools.reduce(o.had, a),
        lambda o, bar, a, out, n: [
            functools.reduce(o.had, [x for m, x in enumerate(a) if m != k], bar)
            for k in range(len(a))
        ],
    ),
    # s = Σ A: Ā += s̄ 1
    Sum: Rule(
        lambda o, a, n: o.sum(a[0]),
        lambda o, bar, a, out, n: [o.scale(bar, o.ones(*_shape(n.args[0])))],
    ),
    # c = Σ_i A (axis 0): Ā += 1 c̄ (the bias batch sum runs the other way)
    SumAxis: Rule(lambda o, a, n: o.sum_axis(a[0], int(n.args[1])), _sum_axis_vjp),
    # s = tr A: Ā += s̄ I
    sympy.Trace: Rule(
        lambda o, a, n: o.trace(a[0]),
        lambda o, bar, a, out, n: [o.scale(bar, o.eye(_shape(n.args[0])[0]))],
    ),
    # P = softmax(Z): Z̄ = P ⊙ (P̄ − 1 (Pᵀ P̄))
    Softmax: Rule(lambda o, a, n: o.softmax(a[0]), _softmax_vjp),
    LogSoftmax: Rule(lambda o, a, n: o.log_softmax(a[0]), _log_softmax_vjp),
    # L = −Σ Y ⊙ log softmax(Z): Z̄ = L̄ (softmax(Z) − Y)
    SoftmaxCrossEntropy: Rule(_ce_forward, _ce_vjp),
    sympy.OneMatrix: Rule(_constant, _no_vjp),
    sympy.Identity: Rule(_constant, _no_vjp),
    sympy.ZeroMatrix: Rule(_constant, _no_vjp),
    # scalar structure around matrix reductions (L = sum(...) + λ/2 · sum(W ⊙ W))
    sympy.Add: Rule(
        lambda o, a, n: functools.reduce(lambda x, y: x + y, a),
        lambda o, bar, a, out, n: [bar] * len(a),
    ),
    sympy.Mul: Rule(_mul_forward, _mul_vjp),
    sympy.Pow: Rule(
        lambda o, a, n: a[0] ** a[1],
        lambda o, bar, a, out, n: [bar * a[1] * a[0] ** (a[1] - 1), None],
    ),
}
"""The VJP rule table: operation (a SymPy class) → :class:`Rule`."""


def _forward_rule(func: Any) -> Rule:
    rule = RULES.get(func)
    if rule is None:
        raise TraceError(
            f"{func.__name__} of a matrix is not supported in a matrix definition; "
            "supported: " + ", ".join(sorted(k.__name__ for k in RULES))
        )
    return rule


# ------------------------------------------------------------------ the two walks


def _leaf(expr: Any) -> bool:
    return isinstance(expr, sympy.Symbol | sympy.MatrixSymbol) or (
        not is_matrix(expr) and not expr.free_symbols
    )


def evaluate(expr: Any, lookup: Callable[[Any], Any], ops: Any = NUMERIC) -> Any:
    """The value of a (matrix) expression whose node symbols have ``lookup(symbol)`` values.

    >>> A = MatrixNode("A", 2, 2, 1)
    >>> evaluate(Sum(Hadamard(A, A)), lambda s: np.eye(2) * 3)
    18.0
    """
    memo: dict[Any, Any] = {}
    return _eval(expr, lookup, ops, memo)


def _eval(expr: Any, lookup: Callable[[Any], Any], ops: Any, memo: dict[Any, Any]) -> Any:
    got = memo.get(expr)
    if got is not None:
        return got
    if isinstance(expr, sympy.Symbol | sympy.MatrixSymbol):
        v = lookup(expr)
    elif not has_matrix(expr):
        v = _scalar(expr, lookup, ops)
    else:
        rule = _forward_rule(expr.func)
        args = [
            _eval(a, lookup, ops, memo)
            if isinstance(a, sympy.Basic) and not isinstance(a, Str)
            else a
            for a in expr.args
        ]
        v = rule.forward(ops, args, expr)
    memo[expr] = v
    return v


def _scalar(expr: Any, lookup: Callable[[Any], Any], ops: Any) -> Any:
    custom = getattr(ops, "scalar", None)
    if custom is not None:  # an ops namespace with its own scalar values (code)
        return custom(expr, lookup)
    if not expr.free_symbols:
        return expr if isinstance(ops, ExactOps) else float(expr)
    subs = {s: lookup(s) for s in expr.free_symbols}
    if isinstance(ops, ExactOps):
        return expr.xreplace(subs)
    return float(expr.xreplace({s: sympy.Float(v) for s, v in subs.items()}))


def pullback(
    expr: Any,
    bar: Any,
    *,
    out: Any = None,
    lookup: Callable[[Any], Any] | None = None,
    ops: Any = SYMBOLIC,
) -> dict[Any, Any]:
    """Each node symbol's adjoint contribution from ``expr``'s adjoint ``bar``.

    With ``ops=SYMBOLIC`` the arguments are the subexpressions themselves (``out`` is
    the node symbol that names ``expr``, so ``h = tanh(z)`` gives ``1 − h ⊙ h``); with
    ``ops=NUMERIC`` ``lookup`` gives the node values and ``out`` the value of ``expr``.
    The walk is over one definition (shallow), never over the graph.
    """
    memo: dict[Any, Any] = {}
    numeric = ops is not SYMBOLIC

    def val(e: Any) -> Any:
        if not numeric:
            return e
        return _eval(e, lookup, ops, memo)  # type: ignore[arg-type]

    if numeric and out is not None:
        memo[expr] = out
    found: dict[Any, list[Any]] = {}
    stack: list[tuple[Any, Any, Any]] = [(expr, bar, out if out is not None else expr)]
    while stack:
        e, b, o = stack.pop()
        if isinstance(e, sympy.Symbol | sympy.MatrixSymbol):
            found.setdefault(e, []).append(b)
            continue
        if not e.free_symbols:
            continue
        if not has_matrix(e):  # a scalar subexpression of scalar nodes
            for s in e.free_symbols:
                d = sympy.diff(e, s)  # scalar diff w.r.t. a scalar Symbol
                dv = d if not numeric else _scalar(d, lookup, ops)  # type: ignore[arg-type]
                found.setdefault(s, []).append(b * dv)
            continue
        rule = _forward_rule(e.func)
        args = [val(a) if not isinstance(a, Str) else a for a in e.args]
        grads = rule.vjp(ops, b, args, val(e) if numeric else o, e)
        bind = getattr(ops, "bind", None)  # code: name an adjoint used more than once
        for a, g in zip(e.args, grads, strict=True):
            if g is None or isinstance(a, Str) or not a.free_symbols or ops.is_zero(g):
                continue  # nothing to propagate (a constant such as 1 or I)
            leaf = isinstance(a, sympy.Symbol | sympy.MatrixSymbol)
            stack.append((a, g if bind is None or leaf else bind(g), a))
    return {
        s: (bs[0] if len(bs) == 1 else functools.reduce(ops.add, bs)) for s, bs in found.items()
    }


# ------------------------------------------------------------------ values


def matrix_value(name: str, value: Any, dims: tuple[int, int] | None) -> Any:
    """A value given for matrix input ``name``: a float64 array, or a SymPy matrix if exact.

    Nested lists of ints/Fractions and SymPy matrices stay exact (``ImmutableMatrix``);
    floats and NumPy arrays become float64 arrays.  A 1-D list is a column vector.
    """
    if isinstance(value, sympy.MatrixBase):
        m = sympy.ImmutableMatrix(value)
        if any(not (v.is_number and v.is_extended_real and v.is_finite) for v in m):
            raise InvalidValueError(f"value for input {name!r} must be real and finite: {m}")
        out: Any = m
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"value for input {name!r} is not a matrix: {exc}") from None
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.size == 0:
            raise ShapeError(
                f"value for input {name!r} must be a 2-D matrix (rows, cols), got shape {arr.shape}"
            )
        if arr.dtype.kind in "iub" and arr.dtype.kind != "b":
            out = sympy.ImmutableMatrix(arr.tolist())
        elif arr.dtype.kind == "f":
            out = arr.astype(np.float64)
        else:
            raise InvalidValueError(
                f"value for input {name!r} must hold real numbers, got dtype {arr.dtype}"
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise InvalidValueError(f"value for input {name!r} must be finite")
    shape = _shape(out)
    if dims is not None and shape != dims:
        raise ShapeError(f"value for input {name!r} has shape {shape}, but {name} is {dims}")
    return out


def as_float(value: Any) -> Any:
    """A matrix value as a float64 array (a copy for exact values)."""
    if isinstance(value, np.ndarray):
        return value
    return np.array(value.evalf().tolist(), dtype=np.float64)


def as_exact(value: Any) -> Any:
    """A matrix value as a SymPy ``ImmutableMatrix`` (floats become ``Float``)."""
    if isinstance(value, sympy.MatrixBase):
        return sympy.ImmutableMatrix(value)
    return sympy.ImmutableMatrix([[sympy.Float(float(v)) for v in row] for row in value.tolist()])


def finite(value: Any) -> bool:
    """Whether a float or float array is finite everywhere."""
    if isinstance(value, np.ndarray):
        return bool(np.all(np.isfinite(value)))
    return isinstance(value, float | int) and math.isfinite(value)


def dims_of(value: Any) -> tuple[int, int] | None:
    """The shape of a matrix value or expression; ``None`` for a scalar."""
    return _shape(value) if is_matrix(value) or isinstance(value, np.ndarray) else None
