"""Errors raised by symtrace.

Every error symtrace raises on purpose is a :class:`SymtraceError`, and also an instance
of the built-in exception a Python programmer would expect, so ``except ValueError``
keeps working.  Each message names the culprit and says how to fix it.

Hierarchy::

    SymtraceError
    ├── TraceError (ValueError)              building a trace
    │   ├── InvalidNameError                 a name that is not an identifier
    │   ├── DuplicateNameError               a name used twice in one trace
    │   ├── UnknownSymbolError               a Symbol this trace did not create
    │   ├── NotANodeError                    differentiating w.r.t. a non-node expression
    │   │   └── NodeKeyError (+ KeyError)    a node a result (Gradient, ...) does not hold
    │   ├── ShapeError                       matrix shapes that do not fit the operation
    │   └── InvalidExpressionError (+ TypeError)  a definition that is not an expression
    ├── EvaluationError (ArithmeticError)    numbers
    │   ├── MissingValueError (+ LookupError)  inputs without values
    │   ├── InvalidValueError (+ TypeError)    a value that is not a real number
    │   └── NonRealValueError                complex, infinite or undefined result
    ├── UsageError (TypeError)               an argument of the wrong type or number
    │   └── OptionError                      an unknown keyword option
    ├── OptionValueError (ValueError)        an option or argument outside its choices
    ├── StateError (RuntimeError)            asked before what it needs has happened
    ├── PathExplosionError (ValueError)      too many paths to list
    ├── ParseError (ValueError)              untrusted expression text rejected
    ├── ExerciseError (ValueError)           an exercise file is invalid
    ├── GraphvizError (RuntimeError)         Graphviz failed to render a drawing
    └── BackendUnavailableError (ImportError)  optional dependency missing
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "DuplicateNameError",
    "EvaluationError",
    "ExerciseError",
    "GraphvizError",
    "InvalidExpressionError",
    "InvalidNameError",
    "InvalidValueError",
    "MissingValueError",
    "NodeKeyError",
    "NonRealValueError",
    "NotANodeError",
    "OptionError",
    "OptionValueError",
    "ParseError",
    "PathExplosionError",
    "ShapeError",
    "StateError",
    "SymtraceError",
    "TraceError",
    "UnknownSymbolError",
    "UsageError",
]


class SymtraceError(Exception):
    """Base class of every error symtrace raises on purpose.

    >>> import symtrace as st
    >>> try:
    ...     st.Trace().diff("L", "a")
    ... except st.SymtraceError as err:
    ...     print(type(err).__name__)
    NotANodeError
    """


class TraceError(SymtraceError, ValueError):
    """A trace could not be built or queried as asked.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> x = t.input("x")
    >>> y = t.define("y", 2 * x)
    >>> t.set(y=1)
    Traceback (most recent call last):
    ...
    symtrace.errors.TraceError: y is defined as 2*x; only inputs take values (inputs: x)
    """


class InvalidNameError(TraceError):
    """A node name is not a valid identifier (letters, digits, ``_``; not a keyword).

    >>> import symtrace as st
    >>> st.Trace().input("2x")
    Traceback (most recent call last):
    ...
    symtrace.errors.InvalidNameError: invalid node name '2x': use letters, digits and '_' ...
    """


class DuplicateNameError(TraceError):
    """A name is already used by another node of the same trace.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> _ = t.input("a")
    >>> t.input("a")
    Traceback (most recent call last):
    ...
    symtrace.errors.DuplicateNameError: name 'a' is already used in this trace (an input); ...
    """


class UnknownSymbolError(TraceError):
    """An expression uses a Symbol that this trace did not create.

    This includes a user's own ``Symbol('a')`` when the trace has its own ``a``, and a
    node of another trace.

    >>> import sympy
    >>> import symtrace as st
    >>> t = st.Trace()
    >>> _ = t.input("a")
    >>> t.define("b", 2 * sympy.Symbol("a"))
    Traceback (most recent call last):
    ...
    symtrace.errors.UnknownSymbolError: definition of 'b' uses a, which this trace did not ...
    """


class NotANodeError(TraceError):
    """A derivative was asked with respect to an expression that is not a node.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> a, b = t.inputs("a b")
    >>> t.diff(t.define("y", a * b + 1), a * b)
    Traceback (most recent call last):
    ...
    symtrace.errors.NotANodeError: a*b is not a node of this trace. Derivatives are taken ...
    """


class ShapeError(TraceError):
    """Matrix shapes that do not fit an operation (or a value of the wrong shape).

    The message names the operation and both shapes, with a hint when a transpose
    would fix it.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> W = t.input("W", shape=(2, 3))
    >>> x = t.input("x", shape=(2, 1))
    >>> W @ x
    Traceback (most recent call last):
    ...
    symtrace.errors.ShapeError: W @ x: (2, 3) @ (2, 1) do not align; W.T @ x would be (3, 1)
    """


class InvalidExpressionError(TraceError, TypeError):
    """A definition or a query is not an expression in the trace's nodes.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> t.define("y", [1, 2])
    Traceback (most recent call last):
    ...
    symtrace.errors.InvalidExpressionError: definition of 'y': expected a SymPy expression ...
    """


class NodeKeyError(NotANodeError, KeyError):
    """A result (a :class:`~symtrace.Gradient`, :class:`~symtrace.Tangents`) was asked
    for a node it does not hold, such as one added to the trace after it was made.

    It is a :class:`KeyError`, so a result's mapping protocol (``in``, ``get``) works.

    >>> import symtrace as st
    >>> issubclass(st.NodeKeyError, st.NotANodeError), issubclass(st.NodeKeyError, KeyError)
    (True, True)
    """


class EvaluationError(SymtraceError, ArithmeticError):
    """A numeric value could not be computed.

    >>> import sympy
    >>> import symtrace as st
    >>> t = st.Trace()
    >>> x = t.input("x", -1)
    >>> try:
    ...     t.value(t.define("y", sympy.log(x)))
    ... except st.EvaluationError as err:
    ...     print(type(err).__name__, "-", err)
    NonRealValueError - node y = log(x) at x = -1.0: the result is not real (math domain error)
    """


class MissingValueError(EvaluationError, LookupError):
    """Some inputs needed for a numeric result have no value.

    ``missing`` holds their names, in trace order.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> a, b = t.inputs("a b", values=(1, None))
    >>> try:
    ...     t.value(a + b)
    ... except st.MissingValueError as err:
    ...     print(err.missing)
    ('b',)
    """

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class InvalidValueError(EvaluationError, TypeError):
    """A value given for an input is not a real number.

    >>> import symtrace as st
    >>> st.Trace().input("x", "2")
    Traceback (most recent call last):
    ...
    symtrace.errors.InvalidValueError: value for input 'x' must be a real number, got '2' ...
    """


class NonRealValueError(EvaluationError):
    """A node's value (or derivative) is complex, infinite or undefined at these inputs.

    >>> import sympy
    >>> import symtrace as st
    >>> t = st.Trace()
    >>> x = t.input("x", 0)
    >>> t.value(t.define("y", 1 / x))
    Traceback (most recent call last):
    ...
    symtrace.errors.NonRealValueError: node y = 1/x at x = 0.0: division by zero
    """


class UsageError(SymtraceError, TypeError):
    """A function, method or operator got an argument of the wrong type, or the wrong
    number of arguments.

    >>> import symtrace as st
    >>> st.Trace.from_expr("x*y")
    Traceback (most recent call last):
    ...
    symtrace.errors.UsageError: from_expr: expr must be a SymPy expression (or a number), ...
    """


class OptionError(UsageError):
    """A keyword option that the function (or view) does not take; the message lists the
    options it does take.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> x = t.input("x", 1)
    >>> t.derivation(t.define("y", 2 * x), digits=3)
    Traceback (most recent call last):
    ...
    symtrace.errors.OptionError: derivation() got unexpected option 'digits'; valid options ...
    """


class OptionValueError(SymtraceError, ValueError):
    """An option or argument has a value outside its choices or range: an unknown
    backend or output format, a precision of 0, a limit that is not positive.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> x = t.input("x", 1)
    >>> t.compile(t.define("y", 2 * x), backend="fortran")
    Traceback (most recent call last):
    ...
    symtrace.errors.OptionValueError: unknown backend 'fortran'; choose one of ...
    """


class StateError(SymtraceError, RuntimeError):
    """Something was asked for before what it needs has happened, or after it is gone:
    a :class:`~symtrace.Value`'s ``grad_expr`` before any ``backward()``.

    >>> import symtrace as st
    >>> st.Value(2.0).grad_expr
    Traceback (most recent call last):
    ...
    symtrace.errors.StateError: grad_expr needs a backward() first: call output.backward() ...
    """


class PathExplosionError(SymtraceError, ValueError):
    """There are more paths between two nodes than the ``limit`` allows.

    >>> import sympy
    >>> import symtrace as st
    >>> t = st.Trace()
    >>> s = x = t.input("x")
    >>> for i in range(3):
    ...     s = t.define(f"s{i}", sympy.sin(s) + t.define(f"q{i}", s**2))
    >>> len(t.paths(s, x))
    8
    >>> t.paths(s, x, limit=5)
    Traceback (most recent call last):
    ...
    symtrace.errors.PathExplosionError: there are 8 paths from s2 to x, more than limit=5; ...
    """


class ParseError(SymtraceError, ValueError):
    """Expression text was rejected by symtrace's safe parser.

    ``text`` is the offending source, ``lineno``/``col_offset`` (1-based line,
    0-based column, as in :mod:`ast`) point at the offending part when known.
    ``unknown_name`` is the name when the text uses one that is not defined (callers
    add hints, e.g. "defined later"), else ``None``.

    >>> from symtrace.parsing import parse_expression
    >>> parse_expression("a.real", {})
    Traceback (most recent call last):
    ...
    symtrace.errors.ParseError: ...
    >>> try:
    ...     parse_expression("2*q", {})
    ... except ParseError as err:
    ...     print(err.unknown_name)
    q
    """

    def __init__(
        self,
        message: str,
        text: str = "",
        lineno: int | None = None,
        col_offset: int | None = None,
        unknown_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.text = text
        self.lineno = lineno
        self.col_offset = col_offset
        self.unknown_name = unknown_name


class ExerciseError(SymtraceError, ValueError):
    """An exercise file is unreadable or invalid.

    >>> from symtrace.exercise import loads
    >>> loads('output = "L"')
    Traceback (most recent call last):
    ...
    symtrace.errors.ExerciseError: ...
    """


class GraphvizError(SymtraceError, RuntimeError):
    """Graphviz's layout program ran but failed to render a drawing; the message has
    its exit status and error output.

    >>> import symtrace as st
    >>> issubclass(st.GraphvizError, RuntimeError)
    True
    """


class BackendUnavailableError(SymtraceError, ImportError):
    """An optional dependency (numpy, jax, torch, graphviz, ...) is not installed.

    The message names the ``pip install`` command that provides it.

    >>> import symtrace as st
    >>> issubclass(st.BackendUnavailableError, ImportError)
    True
    """
