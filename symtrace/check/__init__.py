"""Grading hand-worked backprop: :func:`check` compares a student's answers with the trace.

Each answer is judged ``correct``, ``wrong`` or ``carried``.  *Carried* means: wrong, but
exactly what the chain rule gives from the student's own earlier answers (their upstream
gradient, their node values, their local partials), so the step itself was right and the
mistake lies upstream.  The report's ``first_error`` is the root mistake: the earliest
``wrong`` answer in the order a student works (forward values first, then backward from
the output, each node's gradient before the local partials of its definition, then
forward-mode tangents).

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b); d = t.define("d", e + c); L = t.define("L", d * f)
>>> r = t.check({"dL/dd": -2, "∂d/∂e": -1, "dL/de": 2, "dL/da": "b*f"}, output=L)
>>> [(k, ans.verdict) for k, ans in r.items()]
[('dL/dd', 'correct'), ('∂d/∂e', 'wrong'), ('dL/de', 'carried'), ('dL/da', 'correct')]
>>> r.first_error, r.score, r.ok
('∂d/∂e', 0.5, False)
>>> print(r["dL/de"].explanation)
carried: with your ∂d/∂e = -1, dL/de = dL/dd · ∂d/∂e = (-2) · (-1) = 2, which is what you
wrote: this step is right, the mistake is upstream (first error: ∂d/∂e). Correct:
dL/de = dL/dd · ∂d/∂e = (-2) · 1 = -2.

Answer keys
-----------
``"d"``
    the value of node ``d``;
``"dL/dd"``, ``"∂L/∂d"``, ``"grad:d"``
    the gradient of the output with respect to ``d``;
``"∂d/∂e"``, ``"dd/de"``, ``"local:d/e"``
    the local partial of ``d``'s own definition with respect to its parent ``e``;
``"tangent[a]:d"``
    the forward-mode tangent ``dd/da`` (``d`` differentiated through the graph w.r.t. ``a``).

A fraction ``dY/dX`` (or ``∂Y/∂X``) is read by one rule: if ``Y`` is the output it is the
gradient ``dY/dX``; otherwise, if ``X`` is a parent of ``Y`` it is the local partial of
``Y``'s definition; otherwise it is the total derivative of ``Y`` w.r.t. ``X`` through the
graph (the tangent ``tangent[X]:Y``).
Node names may be written as the views print them (``dL/dx₁`` for ``x1`` or ``x_1``;
an error names both when the trace has both).

Claims
------
* numbers (``int``, ``Fraction``, SymPy numbers exactly; ``float`` within ``rel_tol`` /
  ``abs_tol``, default ``1e-6`` / ``1e-9``);
* numeric strings, judged to their written precision: ``"0.73"`` stands for anything
  within ``±0.005`` (half a unit of the last written digit); integer strings (``"-2"``)
  are exact;
* symbolic expressions (SymPy expressions in the trace's symbols, or strings read by the
  safe parser :func:`symtrace.parsing.parse_expression` with the trace's node names),
  judged by symbolic equivalence (compact form in node symbols or expanded form in the
  inputs both count), with a numeric second opinion at the trace's values and at a few
  nearby random points;
* ``None`` or ``""``: left blank (listed in ``Report.blank``, counted as not correct).

At a kink (``relu`` at 0, ``abs`` at 0, a tie in ``max``/``min``) any value between the
one-sided derivatives is accepted, with a note; symtrace's own convention is PyTorch's
(``relu'(0) = 0``).

Layout
------
:mod:`~symtrace.check.keys`
    answer keys: :func:`parse_key` and the :data:`~symtrace.check.keys.Quantity`
    records it returns (:class:`NodeValue`, :class:`NodeGradient`,
    :class:`LocalPartial`, :class:`NodeTangent`; :class:`Kind` names them);
:mod:`~symtrace.check.claims`
    claims: :func:`read_claim` and :class:`Claim`;
:mod:`~symtrace.check.worlds`
    the numeric worlds (correct, at kinks, the student's, random points), all computed
    by symtrace's own forward and reverse loops with a ``write`` hook;
:mod:`~symtrace.check.grader`
    verdicts, diagnosis of slips, carried errors, and :func:`check`;
:mod:`~symtrace.check.report`
    :class:`Answer` and :class:`Report`, their text and JSON.
"""

from .claims import ANSWER_LIMITS, Claim, read_claim
from .grader import check
from .keys import (
    KINDS,
    Kind,
    LocalPartial,
    NodeGradient,
    NodeTangent,
    NodeValue,
    Quantity,
    parse_key,
)
from .report import SCHEMA, VERDICTS, Answer, Report

__all__ = [
    "ANSWER_LIMITS",
    "KINDS",
    "SCHEMA",
    "VERDICTS",
    "Answer",
    "Claim",
    "Kind",
    "LocalPartial",
    "NodeGradient",
    "NodeTangent",
    "NodeValue",
    "Quantity",
    "Report",
    "check",
    "parse_key",
    "read_claim",
]
