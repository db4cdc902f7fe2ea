"""Reading answer keys: which quantity of a backprop a key such as ``"dL/dd"`` names.

A key names one of four kinds of :data:`Quantity`, each a small record of node indices:
:class:`NodeValue` (``"d"``), :class:`NodeGradient` (``"dL/dd"``, ``"grad:d"``),
:class:`LocalPartial` (``"∂d/∂e"``, ``"local:d/e"``) and :class:`NodeTangent`
(``"tangent[a]:d"``).  The rules are in the :mod:`symtrace.check` docstring.

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b = t.inputs("a b"); e = t.define("e", a * b); L = t.define("L", 2 * e)
>>> parse_key(t.graph, "dL/de", L), parse_key(t.graph, "∂e/∂a", L)
(NodeGradient(node=2), LocalPartial(node=2, parent=0))
>>> parse_key(t.graph, "e"), parse_key(t.graph, "tangent[a]:L"), parse_key(t.graph, "local:e/b")
(NodeValue(node=2), NodeTangent(node=3, wrt=0), LocalPartial(node=2, parent=1))
>>> parse_key(t.graph, "dL/da", L).kind
<Kind.GRADIENT: 'gradient'>

A key may name a node as the views print it: ``dL/dx₁`` and ``∂L/∂x₁`` name ``x1`` or
``x_1`` (:func:`spellings`), whichever the trace has; when it has both, the key is an
error that names the two.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from ..errors import ExerciseError
from ..graph import Graph, NodeLike

__all__ = [
    "KINDS",
    "SUBSCRIPT_DIGITS",
    "Kind",
    "LocalPartial",
    "NodeGradient",
    "NodeTangent",
    "NodeValue",
    "Quantity",
    "parse_key",
    "spellings",
]


class Kind(enum.Enum):
    """What an answer claims; the values are the ``Answer.kind`` strings of the report."""

    VALUE = "value"
    GRADIENT = "gradient"
    LOCAL = "local"
    TANGENT = "tangent"


KINDS = tuple(kind.value for kind in Kind)


@dataclass(frozen=True, slots=True)
class NodeValue:
    """The value of ``node``."""

    node: int
    kind: ClassVar[Kind] = Kind.VALUE


@dataclass(frozen=True, slots=True)
class NodeGradient:
    """The gradient of the output with respect to ``node`` (its adjoint)."""

    node: int
    kind: ClassVar[Kind] = Kind.GRADIENT


@dataclass(frozen=True, slots=True)
class LocalPartial:
    """The local partial ``∂node/∂parent`` of ``node``'s own definition."""

    node: int
    parent: int
    kind: ClassVar[Kind] = Kind.LOCAL


@dataclass(frozen=True, slots=True)
class NodeTangent:
    """The tangent ``d(node)/d(wrt)``: ``node`` differentiated through the graph."""

    node: int
    wrt: int
    kind: ClassVar[Kind] = Kind.TANGENT


Quantity: TypeAlias = NodeValue | NodeGradient | LocalPartial | NodeTangent
"""One number of a backprop that an answer can claim, by node index."""


SUBSCRIPT_DIGITS = {chr(0x2080 + k): str(k) for k in range(10)}
"""``₀``-``₉`` as the digits they print: the views write ``x1`` and ``x_1`` as ``x₁``."""
_SUBSCRIPTED = re.compile("^(.*?)_?([0-9]+)$")


def spellings(printed: str) -> tuple[str, ...]:
    """The node names that print as ``printed`` when it ends in subscript digits
    (``x₁``: ``x1`` and ``x_1``), or ``()``.

    >>> spellings("x₁"), spellings("W₁₂"), spellings("x")
    (('x1', 'x_1'), ('W12', 'W_12'), ())
    """
    if not printed or printed[-1] not in SUBSCRIPT_DIGITS:
        return ()
    m = _SUBSCRIPTED.match("".join(SUBSCRIPT_DIGITS.get(ch, ch) for ch in printed))
    if m is None or not m.group(1):
        return ()
    return (m.group(1) + m.group(2), f"{m.group(1)}_{m.group(2)}")


def _find(graph: Graph, key: str, name: str) -> int | None:
    """The node that ``name`` in ``key`` names, as written or as printed; ``None`` if none.
    A printed name that two nodes share is an :class:`~symtrace.errors.ExerciseError`."""
    found = {graph.index(n): n for n in spellings(name) if graph.has_name(n)}
    if len(found) > 1:
        a, b = sorted(found.values())[:2]
        raise ExerciseError(
            f"answer key {key!r}: {name} could be node {a} or node {b} (both print as "
            f"{name}); write the name as defined, {a!r} or {b!r}"
        )
    if found:
        return next(iter(found))
    return graph.index(name) if graph.has_name(name) else None


_FRACTION = re.compile(r"^\s*[d∂]\s*([^/\s]+)\s*/\s*[d∂]\s*(\S+)\s*$")
_TANGENT = re.compile(r"^\s*tangent\s*\[\s*([^\]\s]+)\s*\]\s*:\s*(\S+)\s*$")
_PREFIXED = re.compile(r"^\s*(grad|local)\s*:\s*(\S+?)\s*$")


def parse_key(graph: Graph, key: str, output: NodeLike | None = None) -> Quantity:
    """The quantity an answer key names; ``output`` (default: the last node) is the ``L``
    of ``dL/dx``.  A key that names nothing is an :class:`~symtrace.errors.ExerciseError`.
    """
    out = len(graph) - 1 if output is None else graph.index(output)
    if not isinstance(key, str):
        raise ExerciseError(f"answer key {key!r} is not a string; keys look like 'd' or 'dL/dd'")

    def node(name: str) -> int:
        found = _find(graph, key, name)
        if found is None:
            raise ExerciseError(
                f"answer key {key!r}: no node named {name!r} (nodes: {graph.names_list()})"
            )
        return found

    text = key.strip()
    value = _find(graph, key, text)
    if value is not None:
        return NodeValue(value)
    m = _TANGENT.match(text)
    if m:
        return NodeTangent(node(m.group(2)), node(m.group(1)))
    m = _PREFIXED.match(text)
    if m and m.group(1) == "grad":
        return NodeGradient(node(m.group(2)))
    if m:
        parts = m.group(2).split("/")
        if len(parts) != 2:
            raise ExerciseError(f"answer key {key!r}: write local:CHILD/PARENT, e.g. local:d/e")
        c, p = node(parts[0]), node(parts[1])
        eq = graph.equations[c]
        if p not in eq.parents:
            parents = ", ".join(graph.symbols[i].name for i in eq.parents)
            raise ExerciseError(
                f"answer key {key!r}: {parts[1]} is not used in the definition of {parts[0]} "
                f"({eq.symbol} = {eq.rhs}); a local partial needs a parent, one of: "
                f"{parents or 'none (input)'}"
            )
        return LocalPartial(c, p)
    m = _FRACTION.match(text)
    if m:
        y, x = node(m.group(1)), node(m.group(2))
        if y == out:
            return NodeGradient(x)
        if x in graph.equations[y].parents:
            return LocalPartial(y, x)
        return NodeTangent(y, x)
    raise ExerciseError(
        f"answer key {key!r} is not understood: write a node name for its value ('d'), "
        f"'dL/dd' or 'grad:d' for a gradient, '∂d/∂e' or 'local:d/e' for a local partial, "
        f"'tangent[a]:d' for a forward-mode tangent (nodes: {graph.names_list()})"
    )
