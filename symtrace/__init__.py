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

Layers: a module imports only from its own floor or below, there are no import
cycles, and no module reads another module's ``_private`` names
(``tests/test_layers.py`` checks all three against this table)::

    floor 0  errors nodes matrices functions shapes codegen parsing matrix_parsing graph
    floor 0  display handforms
    floor 1  evaluation derivatives compile programs
    floor 2  notation printing dot html check
    floor 3  decompose blocks entrywise
    floor 4  trace
    floor 5  value exercise variants grade generate templates examples testing scale cli __main__

Floor 0 is vocabulary and data (the :class:`~symtrace.graph.Graph` of equation
records and its internal API, the rendering protocol every result shares, and the
hand-style forms results are written in), floor 1 the interpreters (short loops over
the equations), floor 2 the views and the checker (they read results), floor 3 the
builders the facade uses, floor 4 the :class:`Trace` facade, floor 5 front ends and
tools.  The package itself (this module) sits on top and re-exports the public names.

One module lives outside the package, beside it: ``symtrace_launcher``, the console
script.  It imports the standard library only, so that ``symtrace --help`` and
``--version`` need no SymPy; it holds the command line's one argument parser (which
``cli`` uses) and the version (which this module re-exports), and it imports
``symtrace.cli`` inside its ``main``, once a command does work.  The same test checks
it.
"""

# The version is written once, in the launcher (the console script reads it there
# without importing the package).
from symtrace_launcher import __version__

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
    InvalidExpressionError,
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
    ShapeError,
    StateError,
    SymtraceError,
    TraceError,
    UnknownSymbolError,
    UsageError,
)
from .exercise import Exercise
from .functions import (
    abs,
    cross_entropy,
    exp,
    hadamard,
    log,
    log_softmax,
    mean,
    mse,
    ones,
    relu,
    sigmoid,
    softmax,
    sqrt,
    square,
    sum,
    tanh,
)
from .functions import trace as _matrix_trace
from .matrices import MatrixNode
from .nodes import NodeSymbol
from .trace import Trace
from .value import Value

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
    "InvalidExpressionError",
    "InvalidNameError",
    "InvalidValueError",
    "MatrixNode",
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
    "ShapeError",
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
    "abs",
    "cross_entropy",
    "exp",
    "hadamard",
    "log",
    "log_softmax",
    "mean",
    "mse",
    "ones",
    "relu",
    "sigmoid",
    "softmax",
    "sqrt",
    "square",
    "sum",
    "tanh",
    "trace",
]

# ``st.trace`` is the trace of a matrix; it shadows the name of the submodule
# ``symtrace.trace``, which stays importable (``from symtrace.trace import Trace``)
# through ``sys.modules``.
trace = _matrix_trace
