"""symtrace: see every step of backpropagation, symbolically and numerically.

Each named intermediate is a SymPy Symbol bound to its defining expression, so the
derivative of an output with respect to any node (``dL/dd = f``) comes from the chain
rule over the recorded equations, and the numbers come from the same structure.

>>> import symtrace as st
>>> t = st.Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b)
>>> d = t.define("d", e + c)
>>> L = t.define("L", d * f)
>>> t.diff(L, d), t.grad(L).value(d)
(f, -2.0)
"""

from .blocks import Block
from .check import Answer, Report
from .compile import CompiledFunction
from .derivatives import Gradient, Path, Paths, Step, Tangents
from .errors import (
    BackendUnavailableError,
    DuplicateNameError,
    EvaluationError,
    ExerciseError,
    GraphvizError,
    InvalidNameError,
    InvalidValueError,
    MissingValueError,
    NodeKeyError,
    NonRealValueError,
    NotANodeError,
    OptionError,
    OptionValueError,
    ParseError,
    PathExplosionError,
    StateError,
    SymtraceError,
    TraceError,
    UnknownSymbolError,
    UsageError,
)
from .exercise import Exercise
from .functions import relu, sigmoid
from .nodes import NodeSymbol
from .trace import Trace
from .value import Value

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "BackendUnavailableError",
    "Block",
    "CompiledFunction",
    "DuplicateNameError",
    "EvaluationError",
    "Exercise",
    "ExerciseError",
    "Gradient",
    "GraphvizError",
    "InvalidNameError",
    "InvalidValueError",
    "MissingValueError",
    "NodeKeyError",
    "NodeSymbol",
    "NonRealValueError",
    "NotANodeError",
    "OptionError",
    "OptionValueError",
    "ParseError",
    "Path",
    "PathExplosionError",
    "Paths",
    "Report",
    "StateError",
    "Step",
    "SymtraceError",
    "Tangents",
    "Trace",
    "TraceError",
    "UnknownSymbolError",
    "UsageError",
    "Value",
    "__version__",
    "relu",
    "sigmoid",
]
