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
    │   └── NotANodeError                    differentiating w.r.t. a non-node expression
    ├── EvaluationError (ArithmeticError)    numbers
    │   ├── MissingValueError (+ LookupError)  inputs without values
    │   ├── InvalidValueError (+ TypeError)    a value that is not a real number
    │   └── NonRealValueError                complex, infinite or undefined result
    ├── PathExplosionError (ValueError)      too many paths to list
    ├── ParseError (ValueError)              untrusted expression text rejected
    ├── ExerciseError (ValueError)           an exercise file is invalid
    └── BackendUnavailableError (ImportError)  optional dependency missing
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "DuplicateNameError",
    "EvaluationError",
    "ExerciseError",
    "InvalidNameError",
    "InvalidValueError",
    "MissingValueError",
    "NonRealValueError",
    "NotANodeError",
    "ParseError",
    "PathExplosionError",
    "SymtraceError",
    "TraceError",
    "UnknownSymbolError",
]


class SymtraceError(Exception):
    """Base class of every error symtrace raises on purpose."""


class TraceError(SymtraceError, ValueError):
    """A trace could not be built or queried as asked."""


class InvalidNameError(TraceError):
    """A node name is not a valid identifier (letters, digits, ``_``; not a keyword)."""


class DuplicateNameError(TraceError):
    """A name is already used by another node of the same trace."""


class UnknownSymbolError(TraceError):
    """An expression uses a Symbol that this trace did not create.

    This includes a user's own ``Symbol('a')`` when the trace has its own ``a``, and a
    node of another trace.
    """


class NotANodeError(TraceError):
    """A derivative was asked with respect to an expression that is not a node."""


class EvaluationError(SymtraceError, ArithmeticError):
    """A numeric value could not be computed."""


class MissingValueError(EvaluationError, LookupError):
    """Some inputs needed for a numeric result have no value.

    ``missing`` holds their names, in trace order.
    """

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class InvalidValueError(EvaluationError, TypeError):
    """A value given for an input is not a real number."""


class NonRealValueError(EvaluationError):
    """A node's value (or derivative) is complex, infinite or undefined at these inputs."""


class PathExplosionError(SymtraceError, ValueError):
    """There are more paths between two nodes than the ``limit`` allows."""


class ParseError(SymtraceError, ValueError):
    """Expression text was rejected by symtrace's safe parser.

    ``text`` is the offending source, ``lineno``/``col_offset`` (1-based line,
    0-based column, as in :mod:`ast`) point at the offending part when known.
    """

    def __init__(
        self,
        message: str,
        text: str = "",
        lineno: int | None = None,
        col_offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.text = text
        self.lineno = lineno
        self.col_offset = col_offset


class ExerciseError(SymtraceError, ValueError):
    """An exercise file is unreadable or invalid."""


class BackendUnavailableError(SymtraceError, ImportError):
    """An optional dependency (numpy, jax, torch, graphviz, ...) is not installed."""
