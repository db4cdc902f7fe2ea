"""Activation functions that SymPy lacks, as real SymPy functions.

They differentiate through SymPy's own ``fdiff`` rule table like every built-in
function, print as ``relu(x)`` / ``sigmoid(x)``, and evaluate on numbers.

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
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.function import ArgumentIndexError

__all__ = ["relu", "sigmoid"]


class relu(sympy.Function):
    """Rectified linear unit, ``max(0, x)``, with ``relu'(0) = 0``.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> relu(x).diff(x), relu(-1.5), relu(x).rewrite(sympy.Max)
    (Heaviside(x, 0), 0, Max(0, x))
    """

    is_real = True

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
    """Logistic sigmoid, ``1 / (1 + exp(-x))``.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> sigmoid(x).diff(x), sigmoid(x).rewrite(sympy.exp), sigmoid(2.0)
    ((1 - sigmoid(x))*sigmoid(x), 1/(1 + exp(-x)), 0.880797077977882)
    """

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
