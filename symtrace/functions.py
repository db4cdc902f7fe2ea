"""The functions of symtrace definitions, on scalars and elementwise on matrices.

``relu`` and ``sigmoid`` are real SymPy functions that SymPy lacks.  They
differentiate through SymPy's own ``fdiff`` rule table like every built-in function,
print as ``relu(x)`` / ``sigmoid(x)``, and evaluate on numbers.

Kink convention (PyTorch's): ``relu'(0) = 0``.  SymPy's ``Abs`` already follows it
(``sign(0) = 0``); ``Max``/``Min`` split a tie evenly (``Heaviside(0) = 1/2``), as
``torch.maximum`` does.

>>> import sympy
>>> x = sympy.Symbol("x", real=True)
>>> sympy.diff(relu(x), x)
Heaviside(x, 0)
>>> sympy.diff(sigmoid(x), x)
(1 - sigmoid(x))*sigmoid(x)
>>> relu(-3), relu(2), sigmoid(0)
(0, 2, 1/2)

The elementwise functions (:func:`tanh`, :func:`sigmoid`, :func:`relu`, :func:`exp`,
:func:`log`, :func:`sqrt`, :func:`square`, :func:`abs`) give the SymPy scalar
function of a scalar and a :class:`~symtrace.matrices.Apply` of a matrix; the matrix
operations (:func:`hadamard`, :func:`sum`, :func:`mean`, :func:`trace`, :func:`ones`,
:func:`softmax`, :func:`log_softmax`, :func:`cross_entropy`, :func:`mse`) build the
expressions of :mod:`symtrace.matrices`, whose rule table differentiates them.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.function import ArgumentIndexError

from .errors import ShapeError
from .matrices import (
    Apply,
    Hadamard,
    LogSoftmax,
    Softmax,
    SoftmaxCrossEntropy,
    Str,
    Sum,
    SumAxis,
    is_matrix,
    typed,
)

__all__ = [
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


class relu(sympy.Function):
    """Rectified linear unit, ``max(0, x)``, with ``relu'(0) = 0``; elementwise on a matrix.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> relu(x).diff(x), relu(-1.5), relu(x).rewrite(sympy.Max)
    (Heaviside(x, 0), 0, Max(0, x))
    """

    is_real = True

    def __new__(cls, x: Any, **options: Any) -> Any:
        if is_matrix(x):
            return Apply(Str("relu"), x)
        return super().__new__(cls, x, **options)

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.Max(0, x)

    def _eval_is_nonnegative(self) -> bool:
        return True


class sigmoid(sympy.Function):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``; elementwise on a matrix.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> sigmoid(x).diff(x), sigmoid(x).rewrite(sympy.exp), sigmoid(2.0)
    ((1 - sigmoid(x))*sigmoid(x), 1/(1 + exp(-x)), 0.880797077977882)
    """

    def __new__(cls, x: Any, **options: Any) -> Any:
        if is_matrix(x):
            return Apply(Str("sigmoid"), x)
        return super().__new__(cls, x, **options)

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        if x.is_zero:
            return sympy.Rational(1, 2)
        if x.is_Float:
            return 1 / (1 + sympy.exp(-x))
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-x))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)


# ------------------------------------------------------- elementwise on matrices


def _elementwise(name: str, scalar: Any, x: Any) -> Any:
    return Apply(Str(name), x) if is_matrix(x) else scalar(x)


def tanh(x: Any) -> Any:
    """``tanh`` of a scalar, or elementwise of a matrix.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> a, z = t.input("a", 0), t.input("z", shape=(2, 1))
    >>> st.tanh(a), st.tanh(z)
    (tanh(a), tanh(z))
    """
    return _elementwise("tanh", sympy.tanh, x)


def exp(x: Any) -> Any:
    """``exp`` of a scalar, or elementwise of a matrix.

    >>> import symtrace as st
    >>> st.exp(st.Trace().input("z", shape=(2, 2)))
    exp(z)
    """
    return _elementwise("exp", sympy.exp, x)


def log(x: Any) -> Any:
    """The natural logarithm of a scalar, or elementwise of a matrix.

    >>> import symtrace as st
    >>> st.log(st.Trace().input("p", shape=(3, 1)))
    log(p)
    """
    return _elementwise("log", sympy.log, x)


def sqrt(x: Any) -> Any:
    """The square root of a scalar, or elementwise of a matrix.

    >>> import symtrace as st
    >>> st.sqrt(st.Trace().input("v", shape=(3, 1)))
    sqrt(v)
    """
    return _elementwise("sqrt", sympy.sqrt, x)


def square(x: Any) -> Any:
    """``x**2`` of a scalar, or elementwise of a matrix (``Z ⊙ Z``).

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> st.square(t.input("a")), st.square(t.input("Z", shape=(2, 2)))
    (a**2, square(Z))
    """
    return _elementwise("square", lambda v: v**2, x)


def abs(x: Any) -> Any:
    """``|x|`` of a scalar, or elementwise of a matrix.

    >>> import symtrace as st
    >>> st.abs(st.Trace().input("Z", shape=(2, 2)))
    abs(Z)
    """
    return _elementwise("abs", sympy.Abs, x)


def _same_shape(op: str, a: Any, b: Any) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ShapeError(
            f"{op}({typed(a)}, {typed(b)}): shapes {tuple(a.shape)} and {tuple(b.shape)} "
            "do not match"
        )


def hadamard(a: Any, b: Any) -> Any:
    """The entrywise product ``a ⊙ b`` of two matrices of one shape (``a*b`` of scalars).

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> A, B = t.input("A", shape=(2, 2)), t.input("B", shape=(2, 2))
    >>> st.hadamard(A, B)
    A⊙B
    """
    if not is_matrix(a) and not is_matrix(b):
        return a * b
    if not (is_matrix(a) and is_matrix(b)):
        raise ShapeError(f"hadamard({a}, {b}) needs two matrices; for a scalar use a * B")
    _same_shape("hadamard", a, b)
    return Hadamard(a, b)


def sum(a: Any, axis: int | None = None) -> Any:
    """The sum of every entry (a scalar), or over ``axis`` 0 (a row) or 1 (a column).

    ``st.sum(dZ, axis=0)`` is the bias gradient of a batch, the batch sum.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> A = t.input("A", [[1, 2], [3, 4]])
    >>> t.value(st.sum(A)), t.value(st.sum(A, axis=0))
    (10.0, array([[4., 6.]]))
    """
    if not is_matrix(a):
        return a
    if axis is None:
        return Sum(a)
    if axis not in (0, 1):
        raise ShapeError(f"sum({a}, axis={axis!r}): axis must be 0 (rows) or 1 (columns)")
    return SumAxis(a, sympy.Integer(axis))


def mean(a: Any, axis: int | None = None) -> Any:
    """The mean of every entry (a scalar), or over ``axis`` 0 or 1.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> t.value(st.mean(t.input("A", [[1, 2], [3, 4]])))
    2.5
    """
    if not is_matrix(a):
        return a
    r, c = (int(d) for d in a.shape)
    n = r * c if axis is None else (r if axis == 0 else c)
    return sympy.Rational(1, n) * sum(a, axis)


def trace(a: Any) -> Any:
    """The trace of a square matrix, ``Σ_i A_ii`` (a scalar).

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> t.value(st.trace(t.input("A", [[1, 2], [3, 4]])))
    5.0
    """
    if not is_matrix(a):
        return a
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"trace({a}): {tuple(a.shape)} is not square")
    return sympy.Trace(a)


def ones(rows: int, cols: int) -> Any:
    """The all-ones matrix ``1`` of shape ``(rows, cols)``: ``st.ones(N, 1) @ b``
    broadcasts a bias row ``b`` over a batch of N rows.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> b = t.input("b", [[1, 2]])
    >>> t.value(st.ones(3, 1) @ b)
    array([[1., 2.],
           [1., 2.],
           [1., 2.]])
    """
    return sympy.OneMatrix(rows, cols)


def _vector(op: str, z: Any) -> None:
    if not is_matrix(z):
        raise ShapeError(f"{op}({z}) needs a column vector (k, 1) or a batch (N, k)")


def softmax(z: Any) -> Any:
    """Softmax of a column vector ``(k, 1)``, or row-wise on a batch ``(N, k)``.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> t.value(st.softmax(t.input("z", [0.0, 0.0]))).ravel()
    array([0.5, 0.5])
    """
    _vector("softmax", z)
    return Softmax(z)


def log_softmax(z: Any) -> Any:
    """``log(softmax(z))``, computed stably; column vector or row-wise on a batch.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> t.value(st.log_softmax(t.input("z", [0.0, 0.0]))).ravel()
    array([-0.69314718, -0.69314718])
    """
    _vector("log_softmax", z)
    return LogSoftmax(z)


def cross_entropy(p: Any, y: Any) -> Any:
    """``−Σ y ⊙ log p`` for probabilities ``p`` and one-hot targets ``y`` (a scalar).

    ``cross_entropy(softmax(z), y)`` is fused: its adjoint w.r.t. ``z`` is ``p − y``
    (rows or columns of ``y`` summing to 1).  Of scalars: ``−y log p``.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> z, y = t.input("z", [1.0, 2.0]), t.input("y", [0.0, 1.0])
    >>> L = t.define("L", st.cross_entropy(st.softmax(z), y))
    >>> L, t.grad(L)[z]
    (L, softmax(z) - y)
    """
    if not is_matrix(p) and not is_matrix(y):
        return -y * sympy.log(p)
    if not (is_matrix(p) and is_matrix(y)):
        raise ShapeError(f"cross_entropy({p}, {y}) needs two matrices of one shape")
    _same_shape("cross_entropy", p, y)
    if isinstance(p, Softmax) and not isinstance(p, LogSoftmax):
        return SoftmaxCrossEntropy(p.args[0], y)
    return -Sum(Hadamard(y, Apply(Str("log"), p)))


def mse(a: Any, b: Any) -> Any:
    """The mean squared error ``mean((a − b) ⊙ (a − b))``; of scalars ``(a − b)**2``.

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> a, b = t.input("a", [1.0, 2.0]), t.input("b", [0.0, 0.0])
    >>> t.value(st.mse(a, b))
    2.5
    """
    if not is_matrix(a) and not is_matrix(b):
        return (a - b) ** 2
    if not (is_matrix(a) and is_matrix(b)):
        raise ShapeError(f"mse({a}, {b}) needs two matrices of one shape")
    _same_shape("mse", a, b)
    return mean(square(a - b))
