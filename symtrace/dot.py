"""Graphviz drawings of a trace: DOT text always, SVG/PNG when Graphviz is installed.

:func:`to_dot` (``Trace.to_dot``) needs nothing but symtrace: it returns DOT text whose
nodes show each node's name, definition and value (and, given a
:class:`~symtrace.Gradient`, its adjoint), and whose edges carry the local partials.
Inputs are boxes, outputs double octagons, everything else ellipses.  The nodes of one
neuron and of one layer are drawn in a box (a Graphviz cluster) when their names say so
(``z1_2``, ``h1_2``: :data:`LAYER_NEURON`) or when the ``clusters`` option chooses them.
The text is deterministic (evaluation order).

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b = t.inputs("a b", values=(2, -3))
>>> e = t.define("e", a * b)
>>> print(t.to_dot(t.grad(e)))
digraph symtrace {
  rankdir=LR;
  node [fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="a (input)\\n= 2\\nde/da = b = -3", shape=box, style=filled, fillcolor="#dbeafe"];
  n1 [label="b (input)\\n= -3\\nde/db = a = 2", shape=box, style=filled, fillcolor="#dbeafe"];
  n2 [label="e = a*b\\n= -6\\nde/de = 1", shape=doubleoctagon, style=filled, fillcolor="#fde68a"];
  n0 -> n2 [label="∂e/∂a = b = -3"];
  n1 -> n2 [label="∂e/∂b = a = 2"];
}

:func:`render` and :func:`to_svg` turn the DOT text into an image with the optional
``graphviz`` Python package (``pip install 'symtrace[graphviz]'``) or, without it,
the ``dot`` program directly.  When neither is available they raise
:class:`~symtrace.errors.BackendUnavailableError`, whose message says what to install
and whose ``dot`` attribute holds the DOT text.  :func:`graph` wraps the text in an
object that Jupyter shows as SVG.  These three take a :class:`~symtrace.Trace` (anything
with its ``graph`` and ``cache``) or DOT text.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import sympy

from . import notation as nt
from .derivatives import Gradient, Tangents
from .errors import (
    BackendUnavailableError,
    EvaluationError,
    GraphvizError,
    OptionError,
    OptionValueError,
    TraceError,
    UsageError,
)
from .evaluation import ValueCache, local_partial_values
from .graph import Graph as EquationGraph
from .matrices import Bar, pullback

__all__ = [
    "DOT_OPTIONS",
    "LAYER_NEURON",
    "Drawable",
    "Graph",
    "graph",
    "render",
    "to_dot",
    "to_svg",
]

NUMERIC_ABOVE = 25
"""Graphs of more nodes than this get numeric labels by default (``"auto"``): symbolic
adjoints grow with the graph and make a 30-node MLP unreadable."""

DOT_OPTIONS: dict[str, Any] = {
    "edge_labels": "auto",
    "adjoints": "auto",
    "highlight": None,
    "values": True,
    "definitions": True,
    "outputs": None,
    "precision": nt.DEFAULT_PRECISION,
    "rankdir": "LR",
    "name": "symtrace",
    "clusters": "auto",
}
"""Options of :func:`to_dot` and their defaults.

* ``edge_labels``: the local partial on each edge, ``∂e/∂a = b = -3`` (``"both"``),
  ``∂e/∂a = b`` (``"symbolic"``), ``∂e/∂a = -3`` (``"numeric"``) or nothing
  (``"none"``); ``"auto"`` (default) is ``"both"`` up to :data:`NUMERIC_ABOVE` nodes
  and ``"numeric"`` above;
* ``adjoints``: the same choices for the ``dL/dnode`` (or ``dnode/dx``) line of each
  node, when a Gradient (or Tangents) is given;
* ``highlight``: nodes to draw in red with a thick border, and the edges between them:
  a node, a list of nodes (names or Symbols) or a :class:`~symtrace.Path`
  (``t.paths(y, x)[0]``);
* ``values``: show node values (when the inputs have values);
* ``definitions``: show each node's definition;
* ``outputs``: nodes drawn as outputs (default: the Gradient's output, or else every
  node that no other node uses);
* ``precision``: significant digits;  ``rankdir``: Graphviz layout direction;
  ``name``: the graph's name;
* ``clusters``: boxes around the nodes of one layer and one neuron (Graphviz
  clusters).  ``"auto"`` (default) groups by the naming convention of
  :data:`LAYER_NEURON`: ``z1_2``, ``h1_2``, ``b1_2`` and ``w1_2_3`` are neuron 2 of
  layer 1; ``"none"`` draws no boxes; a mapping from a title (or a tuple of nested
  titles, ``("layer 1", "neuron 2")``) to nodes, or a function from a node's name to
  its title, tuple of titles or ``None``, chooses them.  A node in no cluster whose
  every consumer is in one cluster joins it (a neuron's products, partial sums and
  weights, when only its output is named).
"""

LAYER_NEURON = re.compile(r"([^\W\d_]+)(\d+)_(\d+)(?:_\d+)*")
"""The names ``clusters="auto"`` groups: letters, the layer number, ``_``, the neuron
number, optionally more ``_``-numbers (``w1_2_3``: layer 1, neuron 2, from input 3)."""

_LABEL_CHOICES = ("auto", "both", "symbolic", "numeric", "none")
_HIGHLIGHT = 'color="#dc2626", penwidth=2.5'
_INPUT = 'shape=box, style=filled, fillcolor="#dbeafe"'
_OUTPUT = 'shape=doubleoctagon, style=filled, fillcolor="#fde68a"'
_INNER = "shape=ellipse"
_CLUSTER = (  # a layer, a neuron (and anything nested deeper)
    'style="rounded,filled"; fillcolor="#f8fafc"; color="#94a3b8"; labeljust=l; '
    'fontname="Helvetica"',
    'style="rounded,dashed"; color="#64748b"; labeljust=l; fontname="Helvetica"; fontsize=11',
)


class Drawable(Protocol):
    """What :func:`render`, :func:`to_svg` and :func:`graph` draw: a Trace, or anything
    with a trace's ``graph`` and ``cache``."""

    graph: EquationGraph
    cache: ValueCache


def quote(text: str) -> str:
    """A DOT double-quoted string; lines are joined with DOT's ``\\n`` escape.

    Backslashes and double quotes are escaped, so any text is safe in a label:

    >>> print(quote('say "hi"\\\\n'))
    "say \\"hi\\"\\\\n"
    >>> print(quote("two\\nlines"))
    "two\\nlines"
    """
    lines = text.split("\n")
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def _check_rankdir(what: str, key: str, value: Any) -> None:
    if value not in ("LR", "RL", "TB", "BT"):
        raise OptionValueError(f"{what}: {key} must be 'LR', 'RL', 'TB' or 'BT', got {value!r}")


def _check_clusters(what: str, key: str, value: Any) -> None:
    if value in ("auto", "none") or isinstance(value, Mapping) or callable(value):
        return
    raise OptionValueError(
        f"{what}: {key} must be 'auto', 'none', a mapping from titles to nodes or a "
        f"function from a node's name to a title, got {value!r}"
    )


_RULES: dict[str, nt.Rule] = {
    "clusters": _check_clusters,
    "edge_labels": nt.one_of(*_LABEL_CHOICES),
    "adjoints": nt.one_of(*_LABEL_CHOICES),
    "precision": nt.check_precision,
    "rankdir": _check_rankdir,
    "name": nt.check_string,
}


def _labelled(symbolic: Any, value: float | None, how: str, precision: int) -> str:
    """``symbolic = value`` as ``how`` says; ``symbolic`` is a callable giving the
    expression, called only when it is shown (a long graph's adjoints are large)."""
    num = nt.number(value, precision) if value is not None else ""
    if how == "numeric" and num:
        return num
    sym = nt.expr(symbolic(), "text")
    if how == "symbolic" or not num:
        return sym
    if how == "numeric" or sym == num:
        return num
    return f"{sym} = {num}"


def _float(fn: Any, *args: Any) -> Any:
    try:
        v = fn(*args)
    except EvaluationError:
        return None
    return v if isinstance(v, np.ndarray) else float(v)


_MARK = 0xF0000
"""Names in a printed template are marks in Unicode's private use area (never in an
identifier, so never in a node's name), replaced by the names afterwards."""


def _mark(k: int) -> sympy.Symbol:
    return sympy.Symbol(chr(_MARK + k))


class _Text:
    """Names and definitions of one graph as text, printed once per expression shape.

    SymPy's printer orders terms and factors by comparing node names, so two
    definitions print alike, names apart, when they have one structure and their
    names are in the same alphabetical order (``sin(v3) + v3`` and ``sin(v8) + v8``).
    Each such family is printed once with marks for names; a node's text is the
    template with its own names put in.  Printing each of 100,000 nodes would take a
    minute; this takes a dictionary lookup per node.
    """

    def __init__(self, graph: EquationGraph) -> None:
        self.graph = graph
        self.names: dict[int, str] = {}
        self.templates: dict[tuple[Any, ...], str] = {}

    def name(self, i: int) -> str:
        text = self.names.get(i)
        if text is None:
            text = self.names[i] = nt.name(self.graph.symbols[i], "text")
        return text

    def with_names(self, template: str, nodes: list[int]) -> str:
        """``template`` with mark ``k`` replaced by the name of ``nodes[k]``."""
        return template.translate({_MARK + k: self.name(i) for k, i in enumerate(nodes)})

    def heads(self, fn: Any, y: int, x: int) -> str:
        """``fn(node y, node x, "text")`` (``∂y/∂x``, ``dy/dx``), from one template."""
        key = ("head", fn)
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = fn(_mark(0), _mark(1), "text")
        return self.with_names(template, [y, x])

    def definition(self, i: int) -> str:
        eq = self.graph.equations[i]
        if eq.definition is None or eq.kind == "matrix":
            return nt.expr(eq.rhs, "text")
        syms = self.graph.symbols
        ranked = sorted(eq.parents, key=lambda p: syms[p].name)
        key = nt.structure(eq.definition, {syms[p]: k for k, p in enumerate(ranked)})
        template = self.templates.get(key)
        if template is None:
            marks = {syms[p]: _mark(k) for k, p in enumerate(ranked)}
            with sympy.evaluate(False):  # the definition as it is, names apart (log(exp(a)) stays)
                marked = eq.definition.xreplace(marks)
            template = self.templates[key] = nt.expr(marked, "text")
        return self.with_names(template, ranked)


def to_dot(
    graph: EquationGraph,
    cache: ValueCache,
    gradient: Gradient | Tangents | None = None,
    **options: Any,
) -> str:
    """Graphviz DOT text of a trace's ``graph`` at ``cache``'s values (no dependency needed).

    Usually called as ``t.to_dot(gradient, ...)``.  Nodes show name, definition and
    value; with ``gradient`` (a :class:`~symtrace.Gradient` or
    :class:`~symtrace.Tangents` of this trace) also ``dy/dnode`` (or ``dnode/dx``).
    Edges go from a parent to the node using it and are labelled with the local
    partial.  Options are in :data:`DOT_OPTIONS`.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x_1")
    >>> y = t.define("y", 2 * x)
    >>> print(to_dot(t.graph, t.cache, edge_labels="symbolic", rankdir="TB"))
    digraph symtrace {
      rankdir=TB;
      node [fontname="Helvetica"];
      edge [fontname="Helvetica", fontsize=10];
      n0 [label="x₁ (input)", shape=box, style=filled, fillcolor="#dbeafe"];
      n1 [label="y = 2*x₁", shape=doubleoctagon, style=filled, fillcolor="#fde68a"];
      n0 -> n1 [label="∂y/∂x₁ = 2"];
    }
    """
    o = nt.validate_options("to_dot()", options, DOT_OPTIONS, _RULES)
    _check_gradient(graph, gradient)
    for key in ("edge_labels", "adjoints"):
        if o[key] == "auto":
            o[key] = "both" if len(graph) <= NUMERIC_ABOVE else "numeric"
    o["highlight"], o["highlight_edges"] = _highlighted(graph, o["highlight"])
    o["hand"] = nt.hand_names(graph.equations)  # tanh' written 1 - o**2, as by hand
    outputs = _outputs(graph, gradient, o["outputs"])
    lines = _preamble(o)
    edges = []
    text = _Text(graph)
    fvals = _floats(cache, len(graph))
    nodes = []
    for eq in graph.equations:
        label = _node_label(text, fvals, eq.index, gradient, o)
        style = _OUTPUT if eq.index in outputs else _INPUT if eq.is_input else _INNER
        if eq.index in o["highlight"]:
            style += ", " + _HIGHLIGHT
        nodes.append(f"n{eq.index} [label={quote(chr(10).join(label))}, {style}];")
        edges += _edges(text, fvals, eq.index, o)
    lines += _grouped(nodes, _clusters(graph, o["clusters"]))
    return "\n".join([*lines, *edges, "}"])


Titles = tuple[str, ...]


def _clusters(graph: EquationGraph, chosen: Any) -> list[Titles]:
    """Each node's cluster, as the titles from the outermost box in (``()``: none)."""
    n = len(graph)
    own: list[Titles] = [()] * n
    if isinstance(chosen, Mapping):
        for title, members in chosen.items():
            if isinstance(members, str | sympy.Basic):
                members = [members]
            for node in members:
                own[graph.index(node)] = _titles(title)
    elif callable(chosen):
        for i, eq in enumerate(graph.equations):
            got = chosen(eq.name)
            own[i] = () if got is None else _titles(got)
    elif chosen == "auto":
        for i, eq in enumerate(graph.equations):
            m = LAYER_NEURON.fullmatch(eq.name)
            if m is not None:
                own[i] = (f"layer {int(m.group(2))}", f"neuron {int(m.group(3))}")
    if not any(own):
        return own
    for i in reversed(range(n)):  # consumers first: a neuron's insides join it
        users = graph.consumers[i]
        if not own[i] and users and all(own[c] == own[users[0]] for c in users):
            own[i] = own[users[0]]
    return own


def _titles(title: Any) -> Titles:
    """A cluster given as a title or a tuple of nested titles, as a tuple of strings."""
    titles = tuple(title) if isinstance(title, tuple | list) else (title,)
    if not titles or not all(isinstance(t, str) and t for t in titles):
        raise OptionValueError(
            "to_dot(): a cluster is a non-empty title or a tuple of titles "
            f"(('layer 1', 'neuron 2')), got {title!r}"
        )
    return titles


def _grouped(nodes: list[str], clusters: list[Titles]) -> list[str]:
    """The node statements, each cluster's in one ``subgraph cluster_k`` (nested by
    titles), clusters in the order their first node comes."""
    first: dict[Titles, int] = {}
    for i, titles in enumerate(clusters):
        for depth in range(1, len(titles) + 1):
            first.setdefault(titles[:depth], i)
    order = sorted(
        range(len(nodes)),
        key=lambda i: ([first[clusters[i][:d]] for d in range(1, len(clusters[i]) + 1)], i),
    )
    out: list[str] = []
    open_: list[str] = []
    ids = {titles: k for k, titles in enumerate(first)}
    for i in order:
        titles = clusters[i]
        keep = 0
        while keep < len(open_) and keep < len(titles) and open_[keep] == titles[keep]:
            keep += 1
        while len(open_) > keep:
            open_.pop()
            out.append("  " * (len(open_) + 1) + "}")
        while len(open_) < len(titles):
            depth = len(open_) + 1
            pad = "  " * depth
            out.append(f"{pad}subgraph cluster_{ids[titles[:depth]]} {{")
            out.append(f"{pad}  label={quote(titles[depth - 1])}; {_CLUSTER[min(depth, 2) - 1]};")
            open_.append(titles[depth - 1])
        out.append("  " * (len(open_) + 1) + nodes[i])
    while open_:
        open_.pop()
        out.append("  " * (len(open_) + 1) + "}")
    return out


def _highlighted(graph: EquationGraph, chosen: Any) -> tuple[set[int], set[tuple[int, int]] | None]:
    """The node indices of the ``highlight`` option (a node, nodes, or a Path), and for a
    Path its edges (``None``: every edge between highlighted nodes)."""
    if chosen is None:
        return set(), None
    nodes = getattr(chosen, "nodes", chosen)
    if isinstance(nodes, str | sympy.Symbol):
        nodes = [nodes]
    try:
        index = [graph.index(n) for n in nodes]
    except TypeError:
        raise OptionError(
            "to_dot(): highlight must be a node, a list of nodes or a Path, "
            f"got {type(chosen).__name__}"
        ) from None
    if hasattr(chosen, "nodes"):  # a Path, from its output down to its input
        return set(index), {(index[k + 1], index[k]) for k in range(len(index) - 1)}
    return set(index), None


def _check_gradient(graph: EquationGraph, gradient: Any) -> None:
    """``gradient`` must be ``None`` or a Gradient or Tangents of ``graph``."""
    if gradient is None:
        return
    if not isinstance(gradient, Gradient | Tangents):
        raise UsageError(
            f"to_dot(): gradient must be a Gradient (t.grad(y)) or Tangents "
            f"(t.tangents(x)), got {type(gradient).__name__}"
        )
    if gradient.graph is not graph:
        raise TraceError("to_dot(): the gradient was computed on a different Trace")


def _outputs(graph: EquationGraph, gradient: Gradient | Tangents | None, chosen: Any) -> set[int]:
    """The nodes drawn as outputs: ``chosen``, the Gradient's output, or the sinks."""
    if chosen is not None:
        if isinstance(chosen, str | sympy.Symbol):
            chosen = [chosen]
        return {graph.index(n) for n in chosen}
    if isinstance(gradient, Gradient):
        return {gradient.anchor}
    return {i for i in range(len(graph)) if not graph.consumers[i]}


def _preamble(o: dict[str, Any]) -> list[str]:
    """The ``digraph`` line and the layout and font settings."""
    name = o["name"] if o["name"].isidentifier() else quote(o["name"])
    return [
        f"digraph {name} {{",
        f"  rankdir={o['rankdir']};",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]


def _floats(cache: ValueCache, n: int) -> list[Any]:
    """Every node's value (``None`` where it has none), in one forward sweep when it can."""
    try:
        return list(cache.floats(range(n)))
    except EvaluationError:  # an input without a value, a value that is not real
        return [cache.value_or_none(i) for i in range(n)]


def _node_label(
    text: _Text,
    fvals: list[Any],
    i: int,
    gradient: Gradient | Tangents | None,
    o: dict[str, Any],
) -> list[str]:
    """The lines of node ``i``'s label: name and definition, value, adjoint or tangent."""
    graph = text.graph
    eq, precision = graph.equations[i], o["precision"]
    name = text.name(i)
    if eq.dims is not None:
        name += " ∈ " + nt.shape(eq.dims, "text")
    if eq.definition is None:
        label = [f"{name} (input)"]
    elif o["definitions"]:
        label = [f"{name} = {text.definition(i)}"]
    else:
        label = [name]
    if o["values"]:
        value = fvals[i]
        if value is not None:
            label.append(f"= {nt.number(value, precision)}")
    if gradient is not None and i < gradient.size and o["adjoints"] != "none":
        sym, anchor = eq.symbol, gradient.anchor
        if isinstance(gradient, Gradient):
            head = text.heads(nt.derivative, anchor, i)
        else:
            head = text.heads(nt.derivative, i, anchor)
        dval = _float(gradient.value, sym)
        names = o["hand"]
        shown = _labelled(lambda: nt.hand(gradient[sym], names), dval, o["adjoints"], precision)
        label.append(f"{head} = {shown}")
    return label


def _edges(text: _Text, fvals: list[Any], i: int, o: dict[str, Any]) -> list[str]:
    """The edges into node ``i``, from each parent, labelled with the local partial."""
    graph = text.graph
    eq, how = graph.equations[i], o["edge_labels"]
    if eq.is_input:
        return []
    if eq.kind == "matrix":  # label each edge with its VJP rule, the adjoint a symbol
        bar = sympy.S.One if eq.dims is None else Bar(eq.symbol)
        rules = pullback(eq.definition, bar, out=eq.symbol)
        return [
            f"  n{p} -> n{i}"
            + (
                ""
                if how == "none"
                else f" [label={quote(nt.expr(rules[graph.symbols[p]], 'text'))}]"
            )
            + ";"
            for p in eq.parents
        ]
    values: tuple[float, ...] | None = None
    if how in ("both", "numeric") and all(fvals[p] is not None for p in eq.parents):
        try:
            values = local_partial_values(graph, i, fvals)
        except EvaluationError:
            values = None
    out = []
    lit = o["highlight"]
    for k, p in enumerate(eq.parents):
        attrs = []
        if how != "none":
            v = values[k] if values is not None else None
            shown = _labelled(
                lambda k=k: nt.hand_local(graph.local_partials(i)[k], o["hand"]),
                v,
                how,
                o["precision"],
            )
            attrs.append(f"label={quote(text.heads(nt.partial, i, p) + ' = ' + shown)}")
        path = o["highlight_edges"]
        if (p, i) in path if path is not None else p in lit and i in lit:
            attrs.append(_HIGHLIGHT)
        out.append(f"  n{p} -> n{i}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    return out


def _unavailable(dot: str, why: str) -> BackendUnavailableError:
    err = BackendUnavailableError(
        f"cannot render the graph: {why}. Install Graphviz (the 'dot' program: "
        "apt install graphviz, brew install graphviz or conda install graphviz) and "
        "optionally the Python package (pip install 'symtrace[graphviz]'). "
        "The DOT text is in this error's .dot attribute and from to_dot(); paste it "
        "into any Graphviz viewer."
    )
    err.dot = dot  # type: ignore[attr-defined]
    return err


def render(
    source: Drawable | str,
    format: str = "svg",
    *,
    gradient: Gradient | Tangents | None = None,
    engine: str = "dot",
    **options: Any,
) -> bytes:
    """Render a trace (or DOT text) to image bytes in ``format`` (``"svg"``, ``"png"``, ...).

    Uses the ``graphviz`` Python package when installed, else the Graphviz program
    named by ``engine`` found on ``PATH``; raises
    :class:`~symtrace.errors.BackendUnavailableError` (never an ImportError traceback)
    when neither is there.  ``options`` go to :func:`to_dot`.
    """
    if isinstance(source, str):
        if gradient is not None or options:
            raise UsageError("render(): gradient= and to_dot options need a Trace, not DOT text")
        dot = source
    else:
        dot = to_dot(source.graph, source.cache, gradient, **options)
    if not isinstance(format, str) or not format.isalnum():
        raise OptionValueError(
            f"render(): format must be a Graphviz format name like 'svg', got {format!r}"
        )
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            out: bytes = graphviz.Source(dot, engine=engine).pipe(format=format)
            return out
        except graphviz.ExecutableNotFound:
            raise _unavailable(dot, f"the Graphviz program {engine!r} is not on PATH") from None
    program = shutil.which(engine)
    if program is None:
        raise _unavailable(
            dot,
            f"neither the graphviz Python package nor the Graphviz program {engine!r} is installed",
        )
    done = subprocess.run(
        [program, f"-T{format}"], input=dot.encode("utf-8"), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise GraphvizError(
            f"Graphviz {engine} failed (exit {done.returncode}): "
            f"{done.stderr.decode('utf-8', 'replace').strip()}"
        )
    return done.stdout


def to_svg(
    source: Drawable | str, gradient: Gradient | Tangents | None = None, **options: Any
) -> str:
    """SVG text of a trace (or of DOT text); see :func:`render`."""
    if isinstance(source, str):
        return render(source, "svg").decode("utf-8")
    return render(source, "svg", gradient=gradient, **options).decode("utf-8")


class Graph:
    """DOT text that Jupyter displays as SVG when Graphviz can render it.

    ``str(g)`` and ``g.source`` are the DOT text; ``g.svg()`` the rendered SVG.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Graph: {self.source.count(' -> ')} edges>"

    def svg(self) -> str:
        """The rendered SVG (raises BackendUnavailableError without Graphviz)."""
        return to_svg(self.source)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.source}
        with contextlib.suppress(BackendUnavailableError, RuntimeError):
            bundle["image/svg+xml"] = self.svg()
        return bundle


def graph(trace: Drawable, gradient: Gradient | Tangents | None = None, **options: Any) -> Graph:
    """The :func:`to_dot` text as a :class:`Graph`, which Jupyter shows as an SVG picture."""
    return Graph(to_dot(trace.graph, trace.cache, gradient, **options))
