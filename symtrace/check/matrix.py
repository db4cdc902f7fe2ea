"""Grading hand-worked *matrix* backprop: shapes, entries, equivalence, named mistakes.

:func:`check_matrix` is what ``t.check`` runs on a trace with matrix nodes.  Each answer
(a node's value ``"h"``, a gradient ``"dL/dW"``, or a local partial with a matrix form,
``"∂h/∂z"`` of an elementwise step, shaped like ``z``) is a matrix literal (nested lists of
numbers or numeric strings, or the text ``"[[0.08, 0.08], ...]"``) or a formula in the
trace's nodes (``"sum(delta, axis=0)"``, read by
:func:`symtrace.matrix_parsing.parse_matrix_expression`, never evaluated).  It is judged

1. **shape** first: a wrong shape is wrong, the verdict naming both shapes;
2. **value**, entry by entry, each to its written precision (``"0.0822"`` stands for
   ``±0.00005``; a float by its shortest repr; ints exactly), with a score: the share
   of right entries;
3. a formula also by **symbolic equivalence**: its value must equal the correct one at
   random matrices of the right shapes too (near the exercise's values).

A wrong answer is compared with the named mistakes of matrix backprop (:data:`MISTAKES`),
each built from the chain-rule step (its VJP rule) of the node: the step with one change.

>>> import symtrace as st
>>> t = st.Trace()
>>> W = t.input("W", [[1.0, 2.0], [3.0, 4.0]]); x = t.input("x", [[1.0], [-1.0]])
>>> z = t.define("z", W @ x); L = t.define("L", st.sum(st.square(z)) / 2)
>>> r = t.check({"dL/dW": "z @ x.T", "dL/dx": "W @ z"}, output=L)
>>> [(k, a.verdict, a.mistake) for k, a in r.items()]
[('dL/dW', 'correct', None), ('dL/dx', 'wrong', 'missing-transpose')]
>>> print(r["dL/dx"].explanation)
... # doctest: +ELLIPSIS
wrong: missing transpose: ... (yours is W · dL/dz; the step is dL/dx = Wᵀ · dL/dz); ...
  step: dL/dx = Wᵀ · dL/dz
        (2×1) = (2×2) · (2×1)
  expected: [[-4], [-6]]
  yours:    [[-3 ✗], [-7 ✗]]
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .. import matrices
from ..derivatives import Gradient
from ..errors import ExerciseError, MissingValueError, ParseError, SymtraceError, UsageError
from ..evaluation import ValueCache
from ..graph import Graph, NodeLike
from ..matrix_parsing import parse_matrix_expression, uses_matrices
from ..notation import as_written, latex_escape
from ..parsing import parse_expression, parse_number
from .keys import LocalPartial, NodeGradient, NodeTangent, NodeValue, parse_key
from .report import Report

__all__ = [
    "MISTAKES",
    "MatrixAnswer",
    "MatrixReport",
    "check_matrix",
    "latex_matrix",
    "latex_text",
    "matrix_text",
    "read_matrix_claim",
    "scalar_report",
]

MISTAKES: Mapping[str, str] = {
    "transposed": "transposed result",
    "wrong-order": "product in the wrong order",
    "missing-transpose": "missing transpose",
    "elementwise-for-matmul": "elementwise product instead of the matrix product",
    "matmul-for-elementwise": "matrix product instead of the elementwise product",
    "missing-batch-sum": "missing sum over the batch",
    "missing-mean": "missing 1/N of the mean",
    "missing-minus-y": "softmax + cross-entropy gradient without the − y",
}
"""The named mistakes: id → name."""

_WORLDS = 3


@dataclass(frozen=True)
class MatrixAnswer:
    """One graded matrix answer.

    ``verdict`` is ``correct``, ``wrong``, ``carried`` (wrong, but what the step gives
    from the student's own earlier answers: their values of the parents for a node value,
    their forward values and upstream gradients for a gradient) or ``blank``;
    ``entries`` marks each entry right (``True``) or wrong when the shape is right;
    ``score`` is the share of right entries; ``mistake`` a :data:`MISTAKES` id or
    ``None``; ``sources`` (a carried answer's) the wrong answers, node values or
    gradients, whose numbers it follows."""

    key: str
    kind: str
    verdict: str
    expected_shape: tuple[int, int]
    given_shape: tuple[int, int] | None
    expected: list[list[float]]
    given: list[list[float]] | None
    entries: list[list[bool]] | None
    score: float
    mistake: str | None
    explanation: str
    step: tuple[str, str] | None = None
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record."""
        return {
            "key": self.key,
            "kind": self.kind,
            "verdict": self.verdict,
            "expected_shape": list(self.expected_shape),
            "given_shape": None if self.given_shape is None else list(self.given_shape),
            "expected": as_written(_json_rows(self.expected)),
            "given": None if self.given is None else as_written(_json_rows(self.given)),
            "entries": self.entries,
            "score": self.score,
            "mistake": self.mistake,
            "mistake_name": None if self.mistake is None else MISTAKES[self.mistake],
            "step": None if self.step is None else list(self.step),
            "sources": list(self.sources),
            "explanation": self.explanation,
        }


def _json_rows(m: list[list[float]]) -> list[list[float | None]]:
    """A matrix for JSON, which has no NaN or infinity: such entries are ``null``."""
    return [[v if math.isfinite(v) else None for v in row] for row in m]


@dataclass(frozen=True)
class MatrixReport(Mapping[str, MatrixAnswer]):
    """The graded answers of a matrix exercise, by key; text, Markdown, LaTeX, JSON."""

    answers: dict[str, MatrixAnswer]
    title: str | None = None
    source: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> MatrixAnswer:
        return self.answers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.answers)

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def score(self) -> float:
        """The mean of the answers' scores (partly right matrices count in part)."""
        if not self.answers:
            return 1.0
        return sum(a.score for a in self.answers.values()) / len(self.answers)

    @property
    def ok(self) -> bool:
        """Whether every answer is correct."""
        return all(a.verdict == "correct" for a in self.answers.values())

    @property
    def first_error(self) -> str | None:
        """The root mistake: the first answer that is wrong (not carried, not blank)."""
        return next((k for k, a in self.answers.items() if a.verdict == "wrong"), None)

    def to_text(self) -> str:
        """Plain text: one block per answer, then the score."""
        head = [self.title] if self.title else []
        body = [f"{k}: {a.explanation}" for k, a in self.answers.items()]
        return "\n".join([*head, *body, f"score: {self.score:.2f}"])

    def to_markdown(self) -> str:
        """Markdown: a table of verdicts, then each explanation in a code block."""
        out = [f"## {self.title}", ""] if self.title else []
        out += ["| answer | verdict | mistake | score |", "| --- | --- | --- | --- |"]
        for k, a in self.answers.items():
            m = MISTAKES[a.mistake] if a.mistake else ""
            out.append(f"| `{k}` | {a.verdict} | {m} | {a.score:.2f} |")
        for k, a in self.answers.items():
            out += ["", f"### `{k}`", "", "```text", a.explanation, "```"]
        out += ["", f"**score: {self.score:.2f}**"]
        return "\n".join(out)

    def to_latex(self) -> str:
        """LaTeX in running text (compiles with ``amsmath`` alone): the title, each
        answer's verdict and explanation, its expected matrix and yours as ``bmatrix``
        with the wrong entries boxed, then the score."""
        out = ["\\begin{flushleft}"]
        if self.title:
            out.append(f"\\textbf{{{latex_text(self.title)}}}\\par")
        for k, a in self.answers.items():
            said = [
                latex_text(line.strip())
                for line in a.explanation.splitlines()
                if not line.strip().startswith(("expected:", "yours:"))
            ]  # the verdict and why, then the step and its shapes; the matrices follow
            out.append(f"\\textbf{{{latex_text(k)}}}: " + "\\\\\n".join(said))
            shown = f"\\text{{expected: }}{latex_matrix(a.expected, None)}"
            if a.given is not None:
                shown += f"\\quad\\text{{yours: }}{latex_matrix(a.given, a.entries, 'box')}"
            out.append(f"\\[{shown}\\]")
        out += [f"\\textbf{{score: {self.score:.2f}}}", "\\end{flushleft}"]
        return "\n".join(out)

    def to_json(self, indent: int | None = 2) -> str:
        """JSON: ``{"score", "ok", "first_error", "answers": [...]}``."""
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready record (``to_json`` writes it)."""
        return {
            "schema": "symtrace.matrix-report/1",
            "title": self.title,
            "source": self.source,
            "score": self.score,
            "ok": self.ok,
            "first_error": self.first_error,
            "answers": [a.to_dict() for a in self.answers.values()],
        }

    def render(self, fmt: str) -> str:
        """``text``, ``markdown``, ``latex`` or ``json``."""
        if fmt == "json":
            return self.to_json(indent=None) + "\n"
        return {"text": self.to_text, "markdown": self.to_markdown, "latex": self.to_latex}[
            fmt
        ]() + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def _repr_markdown_(self) -> str:  # Jupyter
        return self.to_markdown()


def scalar_report(report: Report | MatrixReport, what: str) -> Report:
    """``report``, which ``what`` needs to be a scalar trace's :class:`Report`."""
    if isinstance(report, MatrixReport):
        raise UsageError(
            f"{what} is not available for exercises with matrix nodes yet; "
            "grade them with t.check(...) or Exercise.check()"
        )
    return report


# ------------------------------------------------------------------ formatting


def _num(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def matrix_text(m: list[list[float]], marks: list[list[bool]] | None = None) -> str:
    """A matrix as one line of text, ``[[0.08217, -0.0226 ✗], [0.08267 ✗, -0.02274]]``:
    each entry that ``marks`` says is wrong followed by ✗."""
    rows = []
    for i, row in enumerate(m):
        cells = []
        for j, v in enumerate(row):
            bad = marks is not None and not marks[i][j]
            cells.append(_num(v) + (" ✗" if bad else ""))
        rows.append("[" + ", ".join(cells) + "]")
    return "[" + ", ".join(rows) + "]"


def latex_matrix(
    m: list[list[float]], marks: list[list[bool]] | None = None, wrong: str = "red"
) -> str:
    """A matrix as ``bmatrix`` (needs ``amsmath``), the entries ``marks`` says are wrong
    in red (``\\color{red}``, needs the ``color`` package) or, with ``wrong="box"``,
    boxed (``\\boxed``, amsmath only)."""
    rows = []
    for i, row in enumerate(m):
        cells = []
        for j, v in enumerate(row):
            cell = _num(v)
            if marks is not None and not marks[i][j]:
                cell = f"\\boxed{{{cell}}}" if wrong == "box" else f"{{\\color{{red}}{cell}}}"
            cells.append(cell)
        rows.append(" & ".join(cells))
    return "\\begin{bmatrix}" + " \\\\ ".join(rows) + "\\end{bmatrix}"


def _dims(shape: tuple[int, int]) -> str:
    return f"({shape[0]}×{shape[1]})"


def _factor_text(e: Any, output: str) -> str:
    if isinstance(e, matrices.Bar):
        return f"d{output}/d{e.args[0]}"
    if isinstance(e, sympy.Transpose):
        inner = _factor_text(e.args[0], output)
        return f"{inner}ᵀ" if isinstance(e.args[0], sympy.MatrixSymbol) else f"({inner})ᵀ"
    if isinstance(e, sympy.OneMatrix):
        return "1ᵀ" if e.shape[0] == 1 and e.shape[1] != 1 else "1"
    if isinstance(e, matrices.OneMinus):
        return f"(1 − {_factor_text(e.args[0], output)})"
    if isinstance(e, sympy.MatMul):
        return " · ".join(_grouped(a, output) for a in e.args)
    if isinstance(e, matrices.Hadamard):
        return " ⊙ ".join(_grouped(a, output) for a in e.args)
    text = str(e)
    for bar in e.atoms(matrices.Bar) if isinstance(e, sympy.Basic) else ():
        text = text.replace(str(bar), f"d{output}/d{bar.args[0]}")
    return text


def _grouped(e: Any, output: str) -> str:
    text = _factor_text(e, output)
    if isinstance(e, sympy.MatAdd | sympy.Add | matrices.Minus | matrices.Hadamard):
        return f"({text})"
    return text


def _step_text(key_node: str, output: str, local: Any) -> tuple[str, str]:
    """The chain-rule step ``dL/dW = dL/dz · xᵀ`` and the shapes written under it."""
    left = f"d{output}/d{key_node}"
    right = _factor_text(local, output)
    line = f"{left} = {right}"
    if isinstance(local, sympy.MatMul) and matrices.is_matrix(local):
        factors = [a for a in local.args if matrices.is_matrix(a)]
        if len(factors) < 2:
            return line, ""
        shapes = " · ".join(_dims(matrices.dims_of(a) or (1, 1)) for a in factors)
    else:
        return line, ""
    lhs = _dims(matrices.dims_of(local) or (1, 1))
    pad = " " * max(0, len(left) - len(lhs))
    return line, f"{pad}{lhs} = {shapes}"


# ------------------------------------------------------------------ claims


@dataclass
class _Claim:
    value: np.ndarray | None = None  # at the trace's values
    halves: np.ndarray | None = None  # written half-units (numbers) or None (formula)
    expr: Any = None  # a formula
    text: str = ""


def _entry(v: Any, key: str) -> tuple[float, float]:
    if isinstance(v, bool):
        raise ExerciseError(f"answer {key!r}: a matrix entry is a number, got {v!r}")
    if isinstance(v, int | Fraction):
        return float(v), 0.0
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ExerciseError(f"answer {key!r}: entries must be finite, got {v!r}")
        value, half = parse_number(repr(v))
        return float(value), float(half)
    if isinstance(v, str):
        value, half = parse_number(v.replace("_", ""))
        if not math.isfinite(float(value)):
            raise ExerciseError(f"answer {key!r}: entries must be finite, got {v!r}")
        return float(value), float(half)
    if isinstance(v, sympy.Basic) and v.is_number:
        return float(v), 0.0
    raise ExerciseError(f"answer {key!r}: a matrix entry is a number, got {type(v).__name__}")


def _literal(rows: Any, key: str) -> _Claim:
    if isinstance(rows, np.ndarray):
        arr = np.atleast_2d(np.asarray(rows, dtype=float))
        if rows.ndim == 1:
            arr = arr.reshape(-1, 1)
        return _Claim(arr, np.zeros_like(arr))
    if not rows or not all(isinstance(r, list | tuple) for r in rows):
        rows = [[v] for v in rows]  # a flat list is a column vector
    width = len(rows[0])
    if width == 0 or any(len(r) != width for r in rows):
        raise ExerciseError(
            f"answer {key!r}: ragged matrix: rows of lengths {', '.join(str(len(r)) for r in rows)}"
        )
    if len(rows) * width > 10_000:
        raise ExerciseError(f"answer {key!r}: more than 10,000 entries")
    pairs = [[_entry(v, key) for v in r] for r in rows]
    return _Claim(
        np.array([[p[0] for p in r] for r in pairs]), np.array([[p[1] for p in r] for r in pairs])
    )


def read_matrix_claim(graph: Graph, key: str, raw: Any) -> _Claim:
    """A matrix answer read (literal or formula), or a clear error; never evaluated."""
    if isinstance(raw, list | tuple | np.ndarray):
        return _literal(raw, key)
    if isinstance(raw, sympy.MatrixBase):
        return _literal(raw.tolist(), key)
    if isinstance(raw, int | float | Fraction) and not isinstance(raw, bool):
        return _literal([[raw]], key)
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            expr = parse_matrix_expression(text, {})
            if isinstance(expr, sympy.MatrixBase):
                value = np.array(expr.tolist(), dtype=float)
                if not np.all(np.isfinite(value)):
                    raise ExerciseError(f"answer {key!r}: entries must be finite, got {text!r}")
                return _Claim(value, _literal_halves(text), text=text)
        try:
            value, half = parse_number(text)
            return _Claim(np.array([[float(value)]]), np.array([[float(half)]]), text=text)
        except ParseError:
            pass
        names = graph.names()
        if uses_matrices(text, names):
            expr = parse_matrix_expression(text, names)
            _evaluable(graph, key, expr)
        else:
            expr = parse_expression(text, names)
        return _Claim(expr=expr, text=text)
    if isinstance(raw, sympy.Basic):
        return _Claim(expr=raw, text=str(raw))
    raise ExerciseError(
        f"answer {key!r}: expected a matrix (a list of rows), a formula or a number, "
        f"got {type(raw).__name__}"
    )


def _evaluable(graph: Graph, key: str, expr: Any) -> None:
    """Raise :class:`~symtrace.errors.ExerciseError` when the matrix formula ``expr``
    holds an operation the rule table cannot evaluate (tried on matrices of ones of the
    nodes' shapes: nothing of the student's is run, only symtrace's own evaluator)."""

    def ones(s: Any) -> Any:
        dims = graph.equations[graph.index(s)].dims
        return np.ones(dims) if dims is not None else 1.0

    try:
        with np.errstate(all="ignore"):
            matrices.evaluate(expr, ones)
    except SymtraceError as exc:
        raise ExerciseError(f"answer {key!r}: {exc}") from None


def _literal_halves(text: str) -> np.ndarray:
    """Half a unit of the last written digit of each entry of a literal's text."""

    tree = ast.parse(text, mode="eval").body
    rows = tree.elts if all(isinstance(e, ast.List) for e in tree.elts) else [tree]  # type: ignore[attr-defined]
    out = []
    for row in rows:
        cells = row.elts if isinstance(row, ast.List) else [row]
        line = []
        for cell in cells:
            inner = cell.operand if isinstance(cell, ast.UnaryOp) else cell
            seg = ast.get_source_segment(text, inner) or "0"
            try:
                line.append(float(parse_number(seg)[1]))
            except ParseError:
                line.append(0.0)
        out.append(line)
    arr = np.array(out, dtype=float)
    return arr.T if len(rows) == 1 and not isinstance(tree.elts[0], ast.List) else arr  # type: ignore[attr-defined]


# ------------------------------------------------------------------ worlds


def _as_array(v: Any) -> np.ndarray:
    if isinstance(v, np.ndarray):
        return v.astype(float)
    if isinstance(v, sympy.MatrixBase):
        return np.array(v.evalf().tolist(), dtype=float)
    return np.array([[float(v)]])


class _Worlds:
    """The trace's values and a few random ones (near them), every node evaluated."""

    def __init__(self, graph: Graph, cache: ValueCache, seed: int = 12) -> None:
        self.graph = graph
        rng = np.random.default_rng(seed)
        self.symbolic = False  # some input has a shape and no value: drawn at random
        try:
            fvals: list[Any] = list(cache.floats(range(len(graph))))
        except MissingValueError:
            self.symbolic = True
            fvals = []
            for i, eq in enumerate(graph.equations):
                if not eq.is_input:
                    fvals.append(self._eval(eq.definition, fvals))
                    continue
                try:
                    fvals.append(cache.floats([i])[i])
                except MissingValueError:
                    fvals.append(rng.standard_normal(eq.dims) if eq.dims else rng.standard_normal())
        self.values: list[list[Any]] = [fvals]
        for _ in range(_WORLDS):
            vals: list[Any] = []
            for i, eq in enumerate(graph.equations):
                if eq.is_input:
                    v = fvals[i]
                    assert v is not None
                    noise = rng.standard_normal(np.shape(v))
                    # signs kept (logs and square roots stay defined), zeros moved
                    vals.append(v * np.exp(0.3 * noise) + np.where(v == 0, 0.1 * noise, 0.0))
                else:
                    vals.append(self._eval(eq.definition, vals))
            self.values.append(vals)

    def _eval(self, expr: Any, vals: list[Any]) -> Any:
        graph = self.graph
        return matrices.evaluate(expr, lambda s: vals[graph.index(s)])

    def at(self, expr: Any) -> list[np.ndarray]:
        """``expr``'s value in every world (the trace's first)."""
        with np.errstate(all="ignore"):
            return [_as_array(self._eval(expr, vals)) for vals in self.values]


# ------------------------------------------------------------------ mistakes


def _terms(graph: Graph, g: Gradient, i: int) -> list[tuple[Any, Any, Any]]:
    """Each consumer's (local VJP expression, bar, its replacement) for node ``i``."""
    out = []
    sym = graph.symbols[i]
    for c in graph.consumers[i]:
        eq = graph.equations[c]
        if g[eq.symbol] == 0:
            continue
        if eq.dims is None:
            bar: Any = sympy.S.One
            local = matrices.pullback(eq.definition, bar, out=eq.symbol).get(sym)
            repl = g[eq.symbol]
        else:
            bar = matrices.Bar(eq.symbol)
            local = matrices.pullback(eq.definition, bar, out=eq.symbol).get(sym)
            repl = g[eq.symbol]
        if local is not None:
            out.append((local, bar, repl))
    return out


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    # a world where both are undefined (log of a perturbed entry < 0) does not count
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))


def _mutations(local: Any) -> list[tuple[str, Any]]:
    """The named mistakes of one VJP term: (id, the term with that mistake)."""
    out: list[tuple[str, Any]] = []
    if matrices.is_matrix(local):
        out.append(("transposed", sympy.Transpose(local).doit()))
    for sub in sympy.preorder_traversal(local):
        if isinstance(sub, sympy.MatMul):
            mats = [a for a in sub.args if matrices.is_matrix(a)]
            scal = [a for a in sub.args if not matrices.is_matrix(a)]
            coeff = sympy.Mul(*scal)
            if len(mats) == 2:
                a, b = mats
                if any(isinstance(m, sympy.OneMatrix) for m in (a, b)):
                    other = b if isinstance(a, sympy.OneMatrix) else a
                    out.append(("missing-batch-sum", local.xreplace({sub: coeff * other})))
                    continue
                for x, y in ((b, a), (sympy.Transpose(b).doit(), sympy.Transpose(a).doit())):
                    with contextlib.suppress(SymtraceError, ValueError, TypeError):
                        out.append(("wrong-order", local.xreplace({sub: coeff * (x @ y)})))
                for m in (a, b):
                    if isinstance(m, sympy.Transpose):
                        plain = m.args[0]
                        x, y = (plain, b) if m is a else (a, plain)
                        with contextlib.suppress(SymtraceError, ValueError, TypeError):
                            out.append(
                                ("missing-transpose", local.xreplace({sub: coeff * (x @ y)}))
                            )
                for x, y in ((a, b), (a, sympy.Transpose(b).doit())):
                    if x.shape == y.shape:
                        out.append(
                            (
                                "elementwise-for-matmul",
                                local.xreplace({sub: coeff * matrices.Hadamard(x, y)}),
                            )
                        )
        if isinstance(sub, matrices.Hadamard) and len(sub.args) == 2:
            a, b = sub.args
            for x, y in ((a, b), (a, sympy.Transpose(b).doit())):
                with contextlib.suppress(SymtraceError, ValueError, TypeError):
                    out.append(("matmul-for-elementwise", local.xreplace({sub: x @ y})))
        if isinstance(sub, matrices.Minus | sympy.MatAdd):
            if isinstance(sub, matrices.Minus):
                first, rest = sub.args[0], [sub.args[1]]
            else:
                first, rest = sub.args[0], list(sub.args[1:])
            if any(isinstance(f, matrices.Softmax) for f in sympy.preorder_traversal(first)):
                out.append(("missing-minus-y", local.xreplace({sub: first})))
            del rest
    return out


def _mean_factors(graph: Graph) -> set[int]:
    ns = set()
    for eq in graph.equations:
        if eq.definition is None:
            continue
        for r in eq.definition.atoms(sympy.Rational):
            if r.p == 1 and r.q > 1:
                ns.add(int(r.q))
    return ns


# ------------------------------------------------------------------ grading


def check_matrix(
    graph: Graph,
    cache: ValueCache,
    answers: Mapping[str, Any],
    output: NodeLike | None = None,
    *,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
    title: str | None = None,
    source: str | None = None,
    lines: Mapping[str, int] | None = None,
    **_options: Any,
) -> MatrixReport:
    """Grade matrix answers: node values (``"h"``) and gradients (``"dL/dW"``)."""
    out = len(graph) - 1 if output is None else graph.index(output)
    if graph.equations[out].dims is not None:
        raise ExerciseError(
            f"the output {graph.symbols[out]} is a matrix; gradients are of a scalar output"
        )
    g = Gradient(graph, cache, out)
    worlds = _Worlds(graph, cache)
    means = _mean_factors(graph)
    results: dict[str, MatrixAnswer] = {}
    grads: dict[int, str] = {}
    values: dict[int, str] = {}
    compare: dict[str, Any] = {}
    for key, raw in answers.items():
        q = parse_key(graph, key, graph.symbols[out])
        step = None
        terms: list[tuple[Any, Any, Any]] = []
        if isinstance(q, NodeTangent):
            raise ExerciseError(
                f"answer {key!r}: a tangent (forward mode) is not graded in a trace with "
                f"matrix nodes; ask for the gradient 'd{graph.symbols[out]}/d"
                f"{graph.symbols[q.wrt]}' (reverse mode) instead"
            )
        if isinstance(q, LocalPartial):
            sym = graph.symbols[q.parent]
            truth, step = _local(graph, worlds, key, q, str(graph.symbols[out]))
            kind = "local"
        elif isinstance(q, NodeValue):
            sym = graph.symbols[q.node]
            truth = sym
            kind = "value"
        else:
            sym = graph.symbols[q.node]
            truth = g[sym]
            kind, terms = "gradient", _terms(graph, g, q.node)
        results[key] = _grade(
            graph,
            worlds,
            key,
            raw,
            kind,
            sym,
            truth,
            terms,
            str(graph.symbols[out]),
            means,
            rel_tol,
            abs_tol,
            compare,
            step,
        )
        if isinstance(q, NodeGradient):
            grads[q.node] = key
        elif isinstance(q, NodeValue):
            values[q.node] = key
    _carry(graph, worlds.values[0], g, out, results, grads, values, compare)
    return MatrixReport(results, title=title, source=source, lines=dict(lines or {}))


def _local(
    graph: Graph, worlds: _Worlds, key: str, q: LocalPartial, output: str
) -> tuple[Any, tuple[str, str]]:
    """The local partial ``∂c/∂p`` where it has a matrix form, and its step: for a scalar
    ``c``, shaped like ``p`` (the gradient of ``c``'s definition); for ``c`` elementwise
    in ``p`` (same shape, each entry of ``c`` depending on the same entry of ``p`` only),
    the entrywise derivative ``D``, shaped like ``p``, with ``c̄ ⊙ D`` the VJP
    (``∂h/∂z = 1 − h ⊙ h`` for ``h = tanh(z)``).  Anything else (a Jacobian with four
    indices) is an :class:`~symtrace.errors.ExerciseError` saying what to ask for."""
    eq = graph.equations[q.node]
    c, p = graph.symbols[q.node], graph.symbols[q.parent]
    pdims = graph.equations[q.parent].dims
    left = f"∂{c}/∂{p}"
    if eq.dims is None:
        local = matrices.pullback(eq.definition, sympy.S.One, out=c).get(p)
        if local is not None:
            return local, (f"{left} = {_factor_text(local, output)}", "")
    elif eq.dims == pdims:
        local = matrices.pullback(eq.definition, sympy.OneMatrix(*eq.dims), out=c).get(p)
        if local is not None and _entrywise(graph, worlds, q, local):
            return local, (f"{left} = {_factor_text(local, output)}", "")
    if eq.dims == pdims:
        why = f"an entry of {c} depends on several entries of {p}: the Jacobian is not diagonal"
    else:
        why = (
            f"{c} is {_dims(eq.dims or (1, 1))} and {p} is {_dims(pdims or (1, 1))}: the "
            f"Jacobian ∂{c}ᵢⱼ/∂{p}ₖₗ has four indices"
        )
    raise ExerciseError(
        f"answer {key!r}: {left} has no matrix form in {_value_step(eq)} ({why}); ask "
        f"instead for the gradient 'd{output}/d{p}' (its step is the VJP of {c}'s "
        "definition), or for the local partial of an elementwise step (∂h/∂z for h = "
        "tanh(z) is 1 − h ⊙ h, shaped like z)"
    )


def _entrywise(graph: Graph, worlds: _Worlds, q: LocalPartial, local: Any) -> bool:
    """Whether node ``q.node`` is elementwise in ``q.parent``: its VJP of random
    upstream matrices ``R`` is ``R ⊙ local`` (a diagonal Jacobian)."""
    fvals = worlds.values[0]
    eq = graph.equations[q.node]
    diag = worlds.at(local)[0]
    rng = np.random.default_rng(7)
    for _ in range(2):
        up = rng.standard_normal(eq.dims)
        try:
            vjp = _step_value(graph, fvals, q.node, q.parent, up)
        except (SymtraceError, ValueError, TypeError):
            return False
        if vjp is None or not _close(np.asarray(vjp, dtype=float), up * diag):
            return False
    return True


def _carry(
    graph: Graph,
    fvals: Any,
    g: Gradient,
    out: int,
    results: dict[str, MatrixAnswer],
    grads: dict[int, str],
    values: dict[int, str],
    compare: dict[str, Any],
) -> None:
    """Mark ``carried`` the wrong answers that are right from the student's own earlier
    answers: a node value that its definition gives from their values of its parents, a
    gradient that the chain rule gives from their upstream gradients and their forward
    values (unanswered ones computed from theirs by the correct steps).  The step is
    right, the mistake is upstream; each carried answer names the root mistakes it
    follows from (``sources``: the wrong answers whose numbers it used)."""
    n = len(graph)
    theirs_f: list[Any] = list(fvals)
    sources_f: list[frozenset[str]] = [frozenset()] * n
    with np.errstate(all="ignore"):
        for i in range(min(out + 1, n)):
            eq = graph.equations[i]
            used: frozenset[str] = frozenset().union(*(sources_f[p] for p in eq.parents))
            computed = fvals[i]
            if used:  # a parent holds the student's own (wrong) number
                try:
                    computed = matrices.evaluate(eq.definition, lambda s: theirs_f[graph.index(s)])
                except (SymtraceError, ValueError, TypeError):
                    computed = None
            theirs_f[i], sources_f[i] = computed, used
            key = values.get(i)
            if key is not None:
                theirs_f[i], sources_f[i] = _follow(
                    results, key, computed, used, compare, _value_step(eq), eq.dims is not None
                )
    theirs: dict[int, Any] = {out: 1.0}
    sources_b: dict[int, frozenset[str]] = {out: frozenset()}
    for i in range(out - 1, -1, -1):
        total: Any = None
        used = frozenset()
        ok = True
        for c in graph.consumers[i]:
            if c > out or g[graph.symbols[c]] == 0:
                continue
            if c not in theirs:
                ok = False
                break
            try:
                term = _step_value(graph, theirs_f, c, i, theirs[c])
            except (SymtraceError, ValueError, TypeError):
                term = None
            if term is None:
                ok = False
                break
            total = term if total is None else total + term
            forward = (sources_f[n] for n in _step_nodes(graph, c, i))
            used = used.union(sources_b[c], *forward)
        derived = total if ok and total is not None else None
        key = grads.get(i)
        if key is not None:
            a = results[key]
            step = a.step[0] if a.step else None
            matrix = graph.equations[i].dims is not None
            theirs_i, sources_i = _follow(results, key, derived, used, compare, step, matrix)
        else:
            theirs_i, sources_i = derived, used
        if theirs_i is not None:
            theirs[i], sources_b[i] = theirs_i, sources_i


def _value_step(eq: Any) -> str:
    """A node value's step, ``z = W · x + b``, in the exercise's names."""
    d = eq.definition
    if isinstance(d, sympy.MatAdd):
        return f"{eq.symbol} = " + " + ".join(_factor_text(a, "") for a in d.args)
    return f"{eq.symbol} = {_factor_text(d, '')}" if d is not None else str(eq.symbol)


def _follow(
    results: dict[str, MatrixAnswer],
    key: str,
    derived: Any,
    used: frozenset[str],
    compare: dict[str, Any],
    step: str | None,
    matrix: bool,
) -> tuple[Any, frozenset[str]]:
    """The number the student's later steps start from at the answer ``key`` (theirs,
    when readable and of the right shape), and the root mistakes behind it; a wrong
    answer that equals ``derived`` (what the step gives from their earlier numbers,
    which ``used`` wrong answers) is marked ``carried`` in ``results``.  ``matrix``: the
    node holds a matrix (else a scalar, written as a 1×1 answer)."""
    a = results[key]
    if a.given is None or a.given_shape != a.expected_shape:
        return derived, used
    given = np.array(a.given, dtype=float)
    mine = given if matrix else float(given[0, 0])
    if a.verdict != "wrong":
        return mine, frozenset()
    right_here = a.entries is not None and all(all(row) for row in a.entries)
    if right_here or not used or derived is None or not _carries(derived, given, compare[key]):
        return mine, frozenset({key})  # wrong in general only, or wrong on its own
    first = next(k for k in results if k in used)
    kinds = {results[k].kind for k in used}
    values = [k for k in results if k in used and results[k].kind == "value"]
    if values:
        with_what = "with your " + ", ".join(values)
        if "gradient" in kinds:
            with_what += " and your upstream gradients"
    else:
        with_what = "with your upstream gradients"
    rest = "\n" + a.explanation.split("\n", 1)[1] if "\n" in a.explanation else ""
    results[key] = replace(
        a,
        verdict="carried",
        mistake=None,
        sources=tuple(k for k in results if k in used),
        explanation=(
            f"carried: {with_what},{' ' + step if step else ''} gives what you wrote: this "
            f"step is right, the mistake is upstream (first error: {first})." + rest
        ),
    )
    return mine, used


def _carries(derived: Any, given: np.ndarray, same: Any) -> bool:
    """Whether ``given`` is what the step gives (``derived``), to the answer's written
    precision, or within 0.5% of its largest entry: the upstream numbers were rounded as
    written, and their error propagates."""
    mine = np.atleast_2d(np.asarray(derived, dtype=float))
    if mine.shape != given.shape:
        return False
    scale = float(np.abs(mine).max()) or 1.0
    return bool(same(mine, given)) or bool(np.all(np.abs(mine - given) <= 5e-3 * scale))


def _local_vjp(graph: Graph, c: int, i: int) -> tuple[Any, Any]:
    """The VJP term of node ``c`` for its parent ``i`` in symbols, with a placeholder
    for the upstream gradient dL/dc (``None`` for a scalar ``c``: the term is the local
    partial), or ``(None, None)`` when ``i`` does not reach ``c``'s value."""
    eq = graph.equations[c]
    sym = graph.symbols[i]
    if eq.dims is None:
        return matrices.pullback(eq.definition, sympy.S.One, out=eq.symbol).get(sym), None
    bar = matrices.Bar(eq.symbol)
    local = matrices.pullback(eq.definition, bar, out=eq.symbol).get(sym)
    if local is None:
        return None, None
    ph = sympy.MatrixSymbol(f"up{c}", *eq.dims)
    return local.xreplace({bar: ph}), ph


def _step_nodes(graph: Graph, c: int, i: int) -> list[int]:
    """The nodes whose forward values the VJP of ``c`` for ``i`` uses (``o`` in
    ``dL/do ⊙ o ⊙ (1 − o)``)."""
    local, _ = _local_vjp(graph, c, i)
    if local is None:
        return []
    found = (graph.find(s) for s in local.free_symbols)
    return sorted(n for n in found if n is not None)


def _step_value(graph: Graph, fvals: Any, c: int, i: int, up: Any) -> Any:
    """The chain-rule term ``dL/dc · ∂c/∂node_i`` at the values, with ``up`` for dL/dc."""
    local, ph = _local_vjp(graph, c, i)
    if local is None:
        return None
    with np.errstate(all="ignore"):
        if ph is None:
            value = matrices.evaluate(local, lambda s: fvals[graph.index(s)])
            return float(np.asarray(up).reshape(-1)[0]) * value
        up_arr = np.asarray(up, dtype=float)
        return matrices.evaluate(local, lambda s: up_arr if s == ph else fvals[graph.index(s)])


def _grade(
    graph: Graph,
    worlds: _Worlds,
    key: str,
    raw: Any,
    kind: str,
    sym: Any,
    truth: Any,
    terms: list[tuple[Any, Any, Any]],
    output: str,
    means: set[int],
    rel_tol: float,
    abs_tol: float,
    compare: dict[str, Any],
    step: tuple[str, str] | None = None,
) -> MatrixAnswer:
    expected_all = worlds.at(truth)
    expected = expected_all[0]
    eshape = (int(expected.shape[0]), int(expected.shape[1]))
    if len(terms) == 1:
        step = _step_text(str(sym), output, terms[0][0])
    base = {
        "key": key,
        "kind": kind,
        "expected_shape": eshape,
        "expected": expected.tolist(),
        "step": step,
    }
    step_lines = ""
    if step:
        step_lines = f"\n  step: {step[0]}" + (f"\n        {step[1]}" if step[1] else "")
    exp_line = f"\n  expected: {truth if worlds.symbolic else matrix_text(expected.tolist())}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return MatrixAnswer(
            **base, verdict="blank", given_shape=None, given=None, entries=None, score=0.0,
            mistake=None, explanation="blank" + step_lines + exp_line,
        )  # fmt: skip
    claim = read_matrix_claim(graph, key, raw)
    if worlds.symbolic and claim.expr is None:
        return MatrixAnswer(
            **base, verdict="wrong", given_shape=None, given=None, entries=None, score=0.0,
            mistake=None, explanation="wrong: this exercise's inputs are symbolic (a shape, "
            "no value): answer with a formula in its node names" + step_lines,
        )  # fmt: skip
    if claim.expr is not None:
        given_all = worlds.at(claim.expr)
    else:
        assert claim.value is not None
        given_all = [claim.value]
    given = given_all[0]
    gshape = (int(given.shape[0]), int(given.shape[1]))
    if claim.halves is not None:
        halves = claim.halves

        def same(a: np.ndarray, b: np.ndarray) -> bool:  # b the answer, to its last digit
            if a.shape != b.shape:
                return False
            tol = 2 * halves + np.maximum(abs_tol, rel_tol * np.abs(a)) + 1e-12
            return bool(np.all(np.abs(a - b) <= tol))
    else:
        same = _close
    compare[key] = same
    mistake, wrong_text = _diagnose(worlds, terms, truth, given_all, means, gshape, same, output)
    shape_name = f"shaped like {sym}" if kind in ("gradient", "local") else "its shape"
    if gshape != eshape:
        why = (
            f"wrong shape: yours is {gshape[0]}×{gshape[1]}, but {key} is "
            f"{eshape[0]}×{eshape[1]} ({shape_name})"
        )
        expl = (
            "wrong: "
            + (_named(mistake, key, sym, output, step, wrong_text) + "; " if mistake else "")
            + why
        )
        return MatrixAnswer(
            **base, verdict="wrong", given_shape=gshape, given=given.tolist(), entries=None,
            score=0.0, mistake=mistake, explanation=expl + step_lines + exp_line
            + f"\n  yours:    {claim.text if worlds.symbolic else matrix_text(given.tolist())}",
        )  # fmt: skip
    if claim.halves is not None:
        tol = claim.halves + np.maximum(abs_tol, rel_tol * np.abs(expected)) + 1e-12
        ok = np.abs(given - expected) <= tol
    else:
        ok = np.isclose(given, expected, rtol=rel_tol, atol=abs_tol)
    entries: list[list[bool]] | None = ok.tolist()
    general = claim.expr is None or all(
        _close(a, b) for a, b in zip(given_all[1:], expected_all[1:], strict=True)
    )
    score = float(ok.mean())
    if bool(ok.all()) and general:
        return MatrixAnswer(
            **base, verdict="correct", given_shape=gshape, given=given.tolist(), entries=entries,
            score=1.0, mistake=None, explanation="correct" + step_lines,
        )  # fmt: skip
    if worlds.symbolic:  # no numbers of the exercise: no entries to be right
        why = f"not equal to {truth} (at random matrices of the inputs' shapes)"
        score, entries = 0.0, None
    elif bool(ok.all()):
        why = "right at these values, but not equal to the gradient in general (at random "
        why += f"matrices of the same shapes it differs from {truth})"
        score = 0.0
    else:
        bad = int((~ok).sum())
        why = f"{bad} of {ok.size} entries wrong (marked ✗)"
    expl = (
        "wrong: "
        + (_named(mistake, key, sym, output, step, wrong_text) + "; " if mistake else "")
        + why
    )
    mine = claim.text if worlds.symbolic else matrix_text(given.tolist(), entries)
    expl += step_lines + exp_line + f"\n  yours:    {mine}"
    return MatrixAnswer(
        **base, verdict="wrong", given_shape=gshape, given=given.tolist(), entries=entries,
        score=score, mistake=mistake, explanation=expl,
    )  # fmt: skip


def _diagnose(
    worlds: _Worlds,
    terms: list[tuple[Any, Any, Any]],
    truth: Any,
    given_all: list[np.ndarray],
    means: set[int],
    gshape: tuple[int, int],
    same: Any,
    output: str,
) -> tuple[str | None, str | None]:
    """The named mistake the answer matches, if any (in every world it was evaluated in),
    and the mistaken step in the exercise's names (when the node has one step)."""
    n = len(given_all)
    full = [t[0].xreplace({t[1]: t[2]}) if t[1] != 1 else t[2] * t[0] for t in terms]
    candidates: list[tuple[str, Any, Any]] = []
    for k, (local, bar, repl) in enumerate(terms):
        others = full[:k] + full[k + 1 :]
        shown = None if others else local
        for name, wrong in _mutations(local):
            term = wrong.xreplace({bar: repl}) if bar != 1 else repl * wrong
            if others and matrices.dims_of(term) != matrices.dims_of(others[0]):
                continue
            cand = sympy.Add(*others, term) if others else term
            candidates.append((name, cand, None if shown is None else wrong))
        if bar != 1:  # a mistake upstream, in the gradient this step starts from
            for name, wrong in _mutations(repl):
                if name == "missing-minus-y":
                    term = local.xreplace({bar: wrong})
                    candidates.append((name, sympy.Add(*others, term) if others else term, None))
    if terms and len(terms) == 1 and matrices.is_matrix(truth):
        local = terms[0][0]
        candidates.insert(0, ("transposed", sympy.Transpose(full[0]), sympy.Transpose(local)))
    for name, cand, wrong_local in candidates:
        try:
            values = worlds.at(cand)[:n]
        except (SymtraceError, ValueError, TypeError, AttributeError, KeyError):
            continue
        if values[0].shape == gshape and all(
            same(v, g) for v, g in zip(values, given_all, strict=True)
        ):
            if name == "transposed" and gshape[0] == gshape[1] and _close(values[0], values[0].T):
                continue
            text = None if wrong_local is None else _factor_text(wrong_local, output)
            return name, text
    expected = worlds.at(truth)[:n]
    for m in sorted(means):
        if not _close(expected[0], 0 * expected[0]) and all(
            same(m * e, g) for g, e in zip(given_all, expected, strict=True)
        ):
            return "missing-mean", str(m)
    return None, None


def _named(
    mistake: str,
    key: str,
    sym: Any,
    output: str,
    step: tuple[str, str] | None,
    wrong_text: str | None,
) -> str:
    # a row bias (1, k) is repeated down the rows of the batch, a column (N, 1) across its
    # columns (X @ W + b, W @ X + c): the batch sum runs over that axis
    rows, cols = (int(d) for d in getattr(sym, "shape", (1, 1)))
    across, axis = ("columns", 1) if cols == 1 and rows > 1 else ("rows", 0)
    what = {
        "transposed": f"your matrix is the transpose of {key}, which is shaped like {sym}",
        "wrong-order": "the factors of the product are in the wrong order (the upstream "
        "gradient goes on the side its shape needs: δ xᵀ, not xᵀ δ)",
        "missing-transpose": "a transpose is missing: the adjoint flows back through the "
        "transposed weight (Wᵀ δ, not W δ)",
        "elementwise-for-matmul": "you took the entrywise product ⊙ where the step is a "
        "matrix product @",
        "matmul-for-elementwise": "you took a matrix product @ where the step is the "
        "entrywise product ⊙ (an elementwise function's derivative multiplies entrywise)",
        "missing-batch-sum": f"the bias is broadcast over the {across} of the batch, so "
        f"d{output}/d{sym} adds up every {across[:-1]}'s contribution (sum(dZ, axis={axis}))",
        "missing-mean": f"{output} is a mean, so its gradients carry its factor "
        f"1/{wrong_text or 'N'}; yours is {wrong_text or 'N'} times too large",
        "missing-minus-y": "after softmax, the gradient of cross-entropy is p − y: "
        "yours is p, the − y (the one-hot targets) is missing",
    }[mistake]
    where = ""
    if step and mistake != "missing-mean":
        where = f" (the step: {step[0]})"
        if wrong_text:
            where = f" (yours is {wrong_text}; the step is {step[0]})"
    return f"{MISTAKES[mistake]}: {what}{where}"


def latex_text(text: str) -> str:
    """Running text for LaTeX: :func:`~symtrace.notation.latex_escape`, and characters
    pdflatex has no glyph for (a student's ``x₁``, any script) written as code points."""
    escaped = latex_escape(text)
    return "".join(
        ch if ord(ch) < 128 else MATH_TEXT.get(ch, f"\\texttt{{U+{ord(ch):04X}}}") for ch in escaped
    )


MATH_TEXT = {
    "ᵀ": "$^{\\mathsf{T}}$",
    "⊙": "$\\odot$",
    "×": "$\\times$",
    "✗": "$\\times$",
    "δ": "$\\delta$",
    "Σ": "$\\Sigma$",
}
"""The symbols of a matrix explanation (``Wᵀ · δ``, ``(2×1)``, a wrong entry's ✗), as
LaTeX math in running text."""
