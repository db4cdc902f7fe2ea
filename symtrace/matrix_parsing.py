"""The safe parser's matrix syntax: ``@``, ``.T``/``ᵀ``, ``⊙``, matrix functions, literals.

:func:`parse_matrix_expression` reads untrusted text that uses matrices into a SymPy
matrix expression, never evaluating it (no ``eval``, ``exec``, ``sympify``,
``parse_expr``, ``lambdify``): :func:`ast.parse` and a whitelist walk, as
:mod:`symtrace.parsing` does for scalars.  Every part of the text with no matrix in it
(``0.5*a``, ``exp(-b)``) is handed to :func:`symtrace.parsing.parse_expression`, so
scalar parts keep every guarantee of the scalar parser.

>>> import symtrace as st
>>> t = st.Trace()
>>> W, x, d = t.input("W", shape=(2, 3)), t.input("x", shape=(3, 1)), t.input("d", shape=(2, 1))
>>> names = {s.name: s for s in t.nodes}
>>> parse_matrix_expression("d @ x.T", names), parse_matrix_expression("Wᵀ @ d", names)
(d*x.T, W.T*d)
>>> parse_matrix_expression("sum(d ⊙ d) / 2", names)
sum(d⊙d)/2
>>> parse_matrix_expression("[[1, 2.5], [-3, 0]]", {})
Matrix([
[ 1, 5/2],
[-3,   0]])
>>> parse_matrix_expression("d * d", names)
Traceback (most recent call last):
    ...
symtrace.errors.ParseError: '*' between two matrices is ambiguous (line 1, column 1): 'd * d'; ...

The syntax
----------
* ``A @ B`` the matrix product; ``A.T`` and ``Aᵀ`` the transpose (no other attribute);
* ``A ⊙ B`` and ``hadamard(A, B)`` the entrywise product; ``A * B`` of two matrices is
  rejected as ambiguous (write ``@`` or ``⊙``), and so is ``A ** n`` (write ``square(A)``
  or ``A @ A``); a scalar times a matrix is fine, as are ``A + B``, ``A - B``, ``-A``,
  ``1 - A`` (entrywise) and ``A / s`` for a scalar ``s``; in ``A + B`` and ``A - B`` a row
  ``(1, k)`` or a column ``(N, 1)`` is broadcast over an ``(N, k)`` matrix, as in NumPy
  (``X @ W + b``, :func:`symtrace.matrices.broadcast`);
* :data:`ELEMENTWISE` functions (scalars too), and :data:`MATRIX_FUNCTIONS`:
  ``sum(A)``, ``sum(A, axis=0)`` (the only keyword), ``mean``, ``softmax``,
  ``log_softmax``, ``cross_entropy(P, Y)``, ``mse(A, B)``, ``hadamard``, ``ones(r, c)``;
* matrix literals ``[[1, 2], [3, 4]]`` (a list of rows of numbers; a flat list is a
  column vector); decimals are exact, as in the scalar parser.

Limits (:class:`MatrixLimits`): the length of the text, the nesting of brackets (before
:func:`ast.parse`), the number and depth of AST nodes, the rows, columns and entries of
a literal, and the rows, columns and entries of every matrix built (``ones(1000, 1000)
@ ones(1000, 1000)`` is short text for a 10⁶-entry matrix: rejected).  The percent sign
is rejected (``⊙`` is read as Python's ``%``), and so is ``^`` (Python's xor, which would
bind looser than ``@``), with a hint for the transpose and the powers.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import sympy
from sympy.matrices.exceptions import ShapeError as SympyShapeError

from . import functions as fn
from .errors import OptionValueError, ParseError, ShapeError
from .matrices import Checked, OneMinus, is_matrix
from .parsing import CONSTANTS, parse_expression, parse_number

__all__ = [
    "DEFAULT_MATRIX_LIMITS",
    "ELEMENTWISE",
    "MATRIX_FUNCTIONS",
    "MatrixLimits",
    "parse_matrix_expression",
    "uses_matrices",
]


@dataclass(frozen=True)
class MatrixLimits:
    """Size limits of :func:`parse_matrix_expression`; every field a positive int.

    >>> MatrixLimits(max_literal_entries=0)
    Traceback (most recent call last):
        ...
    symtrace.errors.OptionValueError: MatrixLimits.max_literal_entries must be a positive int, got 0
    """

    max_length: int = 10_000  # characters of the text
    max_nodes: int = 2_000  # AST nodes
    max_depth: int = 60  # nesting of the AST and of brackets
    max_literal_entries: int = 400  # entries of one matrix literal
    max_literal_dim: int = 100  # rows or columns of one matrix literal
    max_dim: int = 1_000  # rows or columns of any matrix built (ones(r, c), products)
    max_entries: int = 10_000  # entries of any matrix built

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionValueError(f"MatrixLimits.{name} must be a positive int, got {value!r}")


DEFAULT_MATRIX_LIMITS = MatrixLimits()

#: Elementwise functions: of a scalar the scalar function, of a matrix entrywise.
ELEMENTWISE: Mapping[str, Any] = {
    "tanh": fn.tanh,
    "sigmoid": fn.sigmoid,
    "relu": fn.relu,
    "exp": fn.exp,
    "log": fn.log,
    "sqrt": fn.sqrt,
    "square": fn.square,
    "abs": fn.abs,
}

#: Matrix functions and reductions: name -> number of positional arguments.
MATRIX_FUNCTIONS: Mapping[str, int] = {
    "sum": 1,
    "mean": 1,
    "softmax": 1,
    "log_softmax": 1,
    "cross_entropy": 2,
    "mse": 2,
    "hadamard": 2,
    "ones": 2,
}

_MATRIX_MARKS = ("@", "⊙", "ᵀ", ".T", "[")


def uses_matrices(text: str, names: Mapping[str, Any]) -> bool:
    """Whether ``text`` needs the matrix parser: it has matrix syntax (``@ ⊙ ᵀ .T [``),
    calls a matrix function, or names a matrix in ``names`` (a cheap token scan).

    >>> uses_matrices("a*b + 1", {}), uses_matrices("W @ x", {}), uses_matrices("sum(z)", {})
    (False, True, True)
    """
    if any(mark in text for mark in _MATRIX_MARKS):
        return True
    token = []
    words = set()
    for ch in text + " ":
        if ch.isalnum() or ch == "_":
            token.append(ch)
        elif token:
            words.add("".join(token))
            token = []
    return any((w in MATRIX_FUNCTIONS and w not in names) or is_matrix(names.get(w)) for w in words)


def parse_matrix_expression(
    text: str,
    names: Mapping[str, Any],
    *,
    limits: MatrixLimits = DEFAULT_MATRIX_LIMITS,
    lineno: int | None = None,
) -> Any:
    """Parse untrusted ``text`` (with matrices) over the symbols in ``names``.

    Returns a SymPy (matrix) expression, or an ``ImmutableMatrix`` for a literal.  Every
    rejection is a :class:`~symtrace.errors.ParseError` naming the construct.
    """
    return _MatrixParser(text, names, limits, lineno).parse()


class _MatrixParser:
    def __init__(
        self, text: str, names: Mapping[str, Any], limits: MatrixLimits, lineno: int | None
    ) -> None:
        self.original = text
        self.names = names
        self.scalars = {k: v for k, v in names.items() if not is_matrix(v)}
        self.limits = limits
        self.lineno = lineno

    def fail(self, message: str, node: ast.AST | None = None, hint: str = "") -> NoReturn:
        where = ""
        col = None
        if node is not None and hasattr(node, "col_offset"):
            col = node.col_offset
            line = (self.lineno or 1) + getattr(node, "lineno", 1) - 1
            where = f" (line {line}, column {col + 1})"
        quoted = self.original if len(self.original) <= 60 else self.original[:57] + "..."
        msg = f"{message}{where}: {quoted!r}" + (f"; {hint}" if hint else "")
        raise ParseError(msg, self.original, self.lineno, col)

    # -------------------------------------------------------------- pre-checks

    def parse(self) -> Any:
        text = self.original
        if not isinstance(text, str):
            raise ParseError(f"expected expression text, got {type(text).__name__}")
        if len(text) > self.limits.max_length:
            raise ParseError(
                f"expression is longer than {self.limits.max_length:,} characters", text[:60]
            )
        if "%" in text:
            self.fail("operator '%' is not allowed", hint="for the entrywise product write ⊙")
        if "^" in text:  # Python's xor, which binds looser than @: W^2 @ r is W ^ (2 @ r)
            self.fail(
                "'^' is not an operator in a matrix expression",
                hint="write Aᵀ or A.T for the transpose, square(A) (A ⊙ A) for the entrywise "
                "square, A @ A for the matrix power",
            )
        depth = 0
        for ch in text:
            if ch in "([{":
                depth += 1
                if depth > self.limits.max_depth:
                    self.fail(f"brackets are nested deeper than {self.limits.max_depth}")
            elif ch in ")]}":
                depth -= 1
        self.text = text.replace("⊙", "%").replace("ᵀ", ".T")
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            self.fail(f"invalid syntax ({type(exc).__name__})")
        self.text = self.text.strip()
        count = 0
        stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        while stack:
            node, d = stack.pop()
            count += 1
            if count > self.limits.max_nodes:
                self.fail(f"expression has more than {self.limits.max_nodes} parts")
            if d > self.limits.max_depth:
                self.fail(f"expression is nested deeper than {self.limits.max_depth}")
            stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
        return self.build(tree.body)

    # -------------------------------------------------------------- building

    def matrix_subtree(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.List | ast.Attribute | ast.Tuple):
                return True
            if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.MatMult | ast.Mod):
                return True
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and (sub.func.id in MATRIX_FUNCTIONS or sub.func.id == "square")
            ):
                return True
            if isinstance(sub, ast.Name) and is_matrix(self.names.get(sub.id)):
                return True
        return False

    def checked(self, value: Any, node: ast.AST) -> Any:
        if is_matrix(value):
            r, c = (int(d) for d in value.shape)
            lim = self.limits
            if r > lim.max_dim or c > lim.max_dim or r * c > lim.max_entries:
                self.fail(
                    f"this makes a {r}×{c} matrix, larger than the limit "
                    f"({lim.max_dim} rows or columns, {lim.max_entries:,} entries)",
                    node,
                )
        return value

    def build(self, node: ast.AST) -> Any:
        if not self.matrix_subtree(node):
            segment = ast.get_source_segment(self.text, node) or ""
            try:
                return parse_expression(segment, self.scalars)
            except ParseError as exc:
                if exc.unknown_name is not None:  # name every node, matrices too
                    col = getattr(node, "col_offset", 0) + (exc.col_offset or 0)
                    known = ", ".join(list(self.names)[:30]) or "no names"
                    raise ParseError(
                        f"unknown name {exc.unknown_name!r} (line {self.lineno or 1}, column "
                        f"{col + 1}): {self.original[:60]!r}; this exercise defines {known}",
                        self.original,
                        self.lineno,
                        col,
                        exc.unknown_name,
                    ) from None
                raise ParseError(
                    str(exc), self.original, self.lineno, exc.col_offset, exc.unknown_name
                ) from None
        return self.checked(self.build_matrix(node), node)

    def build_matrix(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id not in self.names:  # not reached: matrix_subtree saw a matrix name
                raise ParseError(
                    f"unknown name {node.id!r}", self.original, self.lineno, None, node.id
                )
            return self.names[node.id]
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                self.fail(
                    f"attribute access .{node.attr} is not allowed",
                    node,
                    "the only attribute is .T (the transpose), also written ᵀ",
                )
            value = self.build(node.value)
            if not is_matrix(value):
                self.fail("the transpose .T needs a matrix", node)
            return value.T
        if isinstance(node, ast.List):
            return self.literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        self.fail(f"{type(node).__name__} is not allowed in a matrix expression", node)

    def shape_error(self, exc: Exception, node: ast.AST) -> NoReturn:
        self.fail(f"shapes do not fit: {exc}", node)

    def binop(self, node: ast.BinOp) -> Any:
        a, b = self.build(node.left), self.build(node.right)
        ma, mb = is_matrix(a), is_matrix(b)
        op = node.op
        try:
            if isinstance(op, ast.Mult):
                if ma and mb:
                    self.fail(
                        "'*' between two matrices is ambiguous",
                        node,
                        "write A @ B for the matrix product or A ⊙ B (hadamard(A, B)) for "
                        "the entrywise product",
                    )
                return a * b
            if isinstance(op, ast.MatMult):
                if not (ma and mb):
                    self.fail("'@' needs two matrices; a scalar times a matrix is s * A", node)
                return a @ b
            if isinstance(op, ast.Mod):
                return fn.hadamard(a, b)
            if isinstance(op, ast.Add | ast.Sub):
                if isinstance(op, ast.Sub) and mb and not ma and a == 1:
                    return OneMinus(b)  # 1 - A, entrywise (the sigmoid's h ⊙ (1 - h))
                if ma != mb:
                    r, c = (int(d) for d in (a if ma else b).shape)
                    self.fail(
                        "a matrix and a scalar cannot be added",
                        node,
                        f"for the {r}×{c} matrix whose every entry is s write s * ones({r}, {c}); "
                        "a row (1, k) or a column (N, 1) is broadcast over an (N, k) matrix, "
                        "as in X @ W + b",
                    )
                # symtrace's checked operators, also between two plain SymPy expressions
                # ((X @ W) + (c @ v)): the same broadcast of a row or column, the same
                # shape messages, as when one side is a node
                if not ma:  # two scalars (sum(A) + mse(A, B))
                    return a + b if isinstance(op, ast.Add) else a - b
                return Checked.__add__(a, b) if isinstance(op, ast.Add) else Checked.__sub__(a, b)
            if isinstance(op, ast.Div):
                if mb:
                    self.fail("division by a matrix is not allowed", node)
                return a / b
            if isinstance(op, ast.Pow):
                self.fail(
                    "'**' of a matrix is ambiguous",
                    node,
                    "write square(A) (or A ⊙ A) for the entrywise square, A @ A for the "
                    "matrix power",
                )
        except (ShapeError, SympyShapeError) as exc:
            self.shape_error(exc, node)
        self.fail(f"operator {type(op).__name__} is not allowed in a matrix expression", node)

    def call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            self.fail("only named functions may be called", node)
        name = node.func.id
        if name not in ELEMENTWISE and name not in MATRIX_FUNCTIONS:
            self.fail(
                f"function {name!r} is not allowed",
                node,
                "the matrix functions are " + ", ".join(sorted([*ELEMENTWISE, *MATRIX_FUNCTIONS])),
            )
        axis = None
        for kw in node.keywords:
            if name not in ("sum", "mean") or kw.arg != "axis":
                self.fail(f"{name}() takes no keyword {kw.arg!r}", node)
            if not (isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1)):
                self.fail("axis must be 0 (over rows) or 1 (over columns)", node)
            axis = 0 if kw.value.value == 0 else 1
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail("starred arguments are not allowed", node)
        want = 1 if name in ELEMENTWISE else MATRIX_FUNCTIONS[name]
        if len(node.args) != want:
            self.fail(f"{name}() takes {want} argument(s), got {len(node.args)}", node)
        if name == "ones":
            dims = []
            for a in node.args:
                if not (isinstance(a, ast.Constant) and type(a.value) is int and a.value >= 1):
                    self.fail("ones(rows, cols) takes two positive integers", node)
                dims.append(int(a.value))
            if max(dims) > self.limits.max_dim or dims[0] * dims[1] > self.limits.max_entries:
                self.fail(f"ones{tuple(dims)} is larger than the limit", node)
            return fn.ones(*dims)
        args = [self.build(a) for a in node.args]
        try:
            if name in ELEMENTWISE:
                return ELEMENTWISE[name](args[0])
            if name in ("sum", "mean"):
                return getattr(fn, name)(args[0], axis)
            return getattr(fn, name)(*args)
        except (ShapeError, SympyShapeError) as exc:
            self.shape_error(exc, node)

    def literal(self, node: ast.List) -> Any:
        lim = self.limits
        elts = node.elts
        if len(elts) == 0:
            self.fail("an empty matrix literal", node)
        nested = [isinstance(e, ast.List) for e in elts]
        if any(nested) and not all(nested):
            self.fail("a matrix literal mixes rows and numbers", node, "write [[1, 2], [3, 4]]")
        rows = [e.elts for e in elts] if all(nested) else [[e] for e in elts]  # type: ignore[attr-defined]
        if len(rows) > lim.max_literal_dim or any(len(r) > lim.max_literal_dim for r in rows):
            self.fail(f"a matrix literal has more than {lim.max_literal_dim} rows or columns", node)
        width = len(rows[0])
        if width == 0 or any(len(r) != width for r in rows):
            self.fail(
                "ragged matrix literal: rows of lengths " + ", ".join(str(len(r)) for r in rows),
                node,
                "every row needs the same number of entries",
            )
        if len(rows) * width > lim.max_literal_entries:
            self.fail(f"a matrix literal has more than {lim.max_literal_entries} entries", node)
        return sympy.ImmutableMatrix([[self.entry(e) for e in r] for r in rows])

    def entry(self, node: ast.AST) -> Any:
        sign = 1
        inner = node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            sign = -1 if isinstance(node.op, ast.USub) else 1
            inner = node.operand
        if isinstance(inner, ast.List):
            self.fail("matrix literals nest two deep at most (a list of rows)", node)
        if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
            segment = ast.get_source_segment(self.text, inner) or ""
            try:
                return sign * parse_number(segment)[0]
            except ParseError as exc:
                self.fail(str(exc), node)
        if isinstance(inner, ast.Name) and inner.id in CONSTANTS:
            return sign * CONSTANTS[inner.id]
        self.fail("a matrix literal's entries must be numbers", node)
