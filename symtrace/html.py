"""An interactive HTML explorer of a gradient: one self-contained page, no network access.

:func:`to_html` turns a :class:`~symtrace.Gradient` into one HTML file: the graph as
inline SVG (laid out by Graphviz's ``dot`` when it is installed, by a simple layered
layout otherwise), math as MathML from SymPy's own printer, and a little plain
JavaScript.  Click (or focus with the keyboard) a node to see its definition, value,
the local partials on its edges, its adjoint, the chain-rule step that made it and its
paths to the output; step through the reverse sweep (or the forward sweep, tangents
w.r.t. a chosen input) one node at a time.  Given a :class:`~symtrace.Report`, each
answer is marked on the graph as correct (✓), wrong (✗) or carried (↳).

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b); d = t.define("d", e + c); L = t.define("L", d * f)
>>> page = to_html(t.grad(L), title="seed 000")
>>> page.startswith("<!DOCTYPE html>"), 'data-node="a"' in page, "https://" in page
(True, True, False)
>>> explorer_data(t.grad(L))["nodes"][0]["adjoint"]
'6'

Stable hooks for tests and scripts: every node's element carries ``data-node="NAME"``;
wherever an adjoint is shown once computed, the element carries ``data-adjoint="NAME"``
(tangents: ``data-tangent="NAME"``) with the number as its text; the step controls carry
``data-action="step-reverse"``, ``"step-forward"``, ``"step-back"``, ``"reset"`` and
``"show-all"``; the detail panel is ``id="details"``; edges carry ``data-from`` and
``data-to`` and get the class ``on-path`` when they lie on a highlighted path.

Only public methods of the gradient and of its trace are used, so this module sits on
the views' floor: it never imports the Trace facade.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import sympy
from sympy.printing.mathml import mathml

from . import notation as nt
from .check.keys import LocalPartial, parse_key
from .check.matrix import MatrixAnswer, matrix_text
from .derivatives import Gradient, MatrixStep, Paths, Tangents, vjp_rules
from .errors import (
    BackendUnavailableError,
    EvaluationError,
    OptionValueError,
    PathExplosionError,
)
from .evaluation import ValueCache

__all__ = [
    "LAYOUTS",
    "Explorer",
    "explore",
    "explorer_data",
    "find_dot",
    "iframe",
    "to_html",
]

LAYOUTS = ("auto", "dot", "layered")
"""``layout=`` choices: ``"auto"`` (Graphviz when ``dot`` is found, else layered)."""

PATH_LIMIT = 12  # paths listed per node; more are counted, not listed
TANGENT_INPUTS = 16  # default: tangents w.r.t. the first this many inputs
SYMBOLIC_TANGENT_NODES = 120  # larger traces: numeric tangents only
BIG_GRAPH = 40  # more nodes: edge labels shown only on highlighted edges
_CHAR, _LINE, _PAD = 7.4, 16.0, 10.0  # monospace 12px: character width, line height (px)
_MAX_LABEL = 44


# ------------------------------------------------------------------------- data


def _math(expr: Any) -> str:
    """SymPy's presentation MathML, wrapped in a ``<math>`` element (no namespace URL).

    Matrix expressions are written as symtrace prints them (``z̄ xᵀ``, ``h ⊙ h``), as
    MathML text: SymPy's MathML printer knows neither symtrace's matrix operations nor
    its notation."""
    if isinstance(expr, sympy.Basic) and expr.has(sympy.MatrixSymbol):
        return f"<math><mtext>{html.escape(nt.expr(expr, 'text'))}</mtext></math>"
    return f"<math>{mathml(sympy.sympify(expr, strict=True), printer='presentation')}</math>"


def _num(fn: Any, precision: int) -> str | None:
    """``fn()`` written as a number (a small grid for a matrix), or ``None`` when there
    are no values."""
    try:
        v = fn()
    except EvaluationError:
        return None
    if v is None:
        return None
    if isinstance(v, np.ndarray | sympy.MatrixBase):
        return nt.number(v, precision)
    return nt.number(float(v), precision)


def _clip(text: str, limit: int = _MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chain_text(lhs: str, steps: Sequence[Any], precision: int, ends: Any, tangent: bool) -> str:
    """``dL/de = dL/dd · ∂d/∂e = f · 1 = (-2) · 1 = -2`` for one node's steps.

    Reverse (``ends = (y, node)``): a sum over consumers ``c`` of ``∂y/∂c · ∂c/∂node``;
    forward (``ends = (node, x)``): a sum over parents ``p`` of ``∂node/∂p · ∂p/∂x``.
    """
    top, bottom = ends
    if any(isinstance(s, MatrixStep) for s in steps):
        return _matrix_chain_text(lhs, steps, precision, ends)
    structure = [
        f"{nt.partial(top, s.via, 'text')} · {nt.derivative(s.via, bottom, 'text')}"
        if tangent
        else f"{nt.derivative(top, s.via, 'text')} · {nt.partial(s.via, bottom, 'text')}"
        for s in steps
    ]
    pairs = [(s.local, s.upstream) if tangent else (s.upstream, s.local) for s in steps]
    values = [
        (s.local_value, s.upstream_value) if tangent else (s.upstream_value, s.local_value)
        for s in steps
    ]
    parts = [
        lhs,
        " + ".join(structure),
        " + ".join(nt.expr_product(list(f), "text") for f in pairs),
    ]
    if all(s.value is not None for s in steps):
        parts.append(" + ".join(nt.number_product(list(v), precision, "text") for v in values))
        parts.append(nt.number(sum(s.value for s in steps), precision))
    return " = ".join(parts)


def _matrix_chain_text(lhs: str, steps: Sequence[Any], precision: int, ends: Any) -> str:
    """``dL/dW = dL/dz · ∂z/∂W = z̄ xᵀ = 2 (…) xᵀ = [[…]]``: through matrix equations
    the chain rule is a vector-Jacobian product, written with the consumer's adjoint."""
    top, bottom = ends
    rules = [nt.expr(s.local, "text") for s in steps]
    parts = [
        lhs,
        " + ".join(
            f"{nt.derivative(top, s.via, 'text')} · {nt.partial(s.via, bottom, 'text')}"
            for s in steps
        ),
        " + ".join(rules),
        " + ".join(nt.expr(s.term, "text") for s in steps),
    ]
    if all(s.value is not None for s in steps):
        parts.append(nt.number(sum(s.value for s in steps), precision))
    return " = ".join(parts)


def explorer_data(
    gradient: Gradient,
    *,
    title: str | None = None,
    report: Mapping[str, Any] | None = None,
    tangents_for: Iterable[Any] | None = None,
    precision: int = nt.DEFAULT_PRECISION,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (strings, lists, dicts).

    Numbers are text written to ``precision`` significant digits (``None`` when the
    inputs have no values); math is MathML text.  See :func:`to_html` for the options.

    >>> from symtrace.examples import micrograd_lecture
    >>> data = explorer_data(micrograd_lecture().grad("L"), tangents_for=["a"])
    >>> [n["name"] for n in data["nodes"]], data["reverse"]
    (['a', 'b', 'c', 'f', 'e', 'd', 'L'], ['L', 'd', 'e', 'f', 'c', 'b', 'a'])
    >>> data["nodes"][4]["chain"]
    'dL/de = dL/dd · ∂d/∂e = f · 1 = (-2) · 1 = -2'
    >>> data["forward"]["a"]["order"], data["forward"]["a"]["values"]["L"]
    (['a', 'e', 'd', 'L'], '6')
    """
    graph, cache = gradient.graph, gradient.value_cache()
    y = gradient.output
    nodes = graph.symbols[: gradient.size]
    eqs = graph.equations
    reaching = {graph.symbols[i] for i in graph.ancestors([gradient.anchor])}
    answers: dict[str, list[dict[str, Any]]] = {}
    edge_answers: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, ans in (report or {}).items():
        if isinstance(ans, MatrixAnswer):
            item, node, edge = _matrix_answer(graph, y, key, ans)
        else:
            item = {
                "key": str(key),
                "verdict": str(ans.verdict),
                "kind": str(ans.kind),
                "claimed": str(ans.claimed),
                "expected": None if ans.expected is None else nt.number(ans.expected, precision),
                "explanation": str(ans.explanation),
                "details": None,
            }
            node = str(ans.node)
            edge = (str(ans.wrt), str(ans.of)) if ans.kind == "local" and ans.wrt else None
        answers.setdefault(node, []).append(item)
        if edge is not None:
            edge_answers.setdefault(edge, []).append(item)

    out_nodes, edges = [], []
    for i, n in enumerate(nodes):
        is_input, rhs = eqs[i].is_input, eqs[i].rhs
        steps = gradient.steps(n) if n in reaching and n != y else ()
        entry: dict[str, Any] = {
            "name": n.name,
            "label": nt.name(n, "text"),
            "kind": "output" if n == y else "input" if is_input else "inner",
            "definition": None if is_input else nt.expr(rhs, "text"),
            "definitionMath": None if is_input else _math(rhs),
            "nameMath": _math(n),
            "value": _num(lambda i=i: cache.floats([i])[i], precision),
            "reaches": n in reaching,
            "adjoint": _num(lambda n=n: gradient.value(n), precision),
            "adjointText": nt.expr(gradient[n], "text"),
            "adjointMath": _math(gradient[n]),
            "adjointLabel": nt.derivative(y, n, "text"),
            "parents": [graph.symbols[p].name for p in eqs[i].parents],
            "consumers": [graph.symbols[c].name for c in graph.consumers[i] if c < gradient.size],
            "steps": [s.via.name for s in steps],
            "chain": _chain_text(nt.derivative(y, n, "text"), steps, precision, (y, n), False)
            if steps
            else None,
            "answers": answers.get(n.name, []),
            "paths": _paths(gradient, cache, n, precision) if n in reaching else None,
        }
        out_nodes.append(entry)
        matrix_eq = eqs[i].kind == "matrix" and eqs[i].definition is not None
        rules = vjp_rules(graph, i) if matrix_eq else None
        for k, pi in enumerate(eqs[i].parents):
            p = graph.symbols[pi]
            if rules is not None:  # the edge carries its VJP rule (z̄ xᵀ), no number
                local, value = rules.get(p, sympy.S.Zero), None
            else:
                local = graph.local_partials(i)[k]
                value = _num(lambda i=i, k=k: gradient.local_values(i)[k], precision)
            label = f"{nt.partial(n, p, 'text')} = {nt.expr(local, 'text')}"
            if value is not None and not local.is_number:
                label += f" = {value}"
            edges.append(
                {
                    "from": p.name,
                    "to": n.name,
                    "label": label,
                    "symbol": nt.partial(n, p, "text"),
                    "partial": nt.expr(local, "text"),
                    "partialMath": _math(local),
                    "value": value,
                    "answers": edge_answers.get((p.name, n.name), []),
                }
            )
    inputs = [graph.symbols[i] for i in graph.input_indices if i < gradient.size]
    chosen = inputs[:TANGENT_INPUTS] if tangents_for is None else list(tangents_for)
    if graph.has_matrices:
        chosen = []  # forward mode is for scalar traces (see Trace.tangents)
    by_name = {n.name: n for n in nodes}
    forward = {}
    for x in chosen:
        xs = by_name[x] if isinstance(x, str) else x
        forward[xs.name] = _forward(
            Tangents(graph, cache, graph.index(xs)),
            precision,
            symbolic=len(nodes) <= SYMBOLIC_TANGENT_NODES,
        )
    index = {n: i for i, n in enumerate(nodes)}
    return {
        "title": title,
        "output": y.name,
        "nodes": out_nodes,
        "edges": edges,
        "reverse": [n.name for n in sorted(reaching, key=index.__getitem__, reverse=True)],
        "forward": forward,
        "report": _report_summary(report),
    }


def _paths(
    gradient: Gradient, cache: ValueCache, n: sympy.Symbol, precision: int
) -> dict[str, Any]:
    graph = gradient.graph
    if graph.has_matrices:
        return {"listed": [], "note": "paths are listed for scalar traces (t.entrywise())"}
    try:
        found = Paths(graph, cache, gradient.anchor, graph.index(n), limit=PATH_LIMIT)
    except PathExplosionError as exc:
        return {"listed": [], "note": str(exc).split(";")[0]}
    listed = []
    for p in found:
        values = getattr(p, "factor_values", None)
        text = " → ".join(nt.name(s, "text") for s in p.nodes)
        if p.factors:
            text += ": " + nt.expr_product(list(p.factors), "text")
            if values is not None:
                text += " = " + nt.number_product(list(values), precision, "text")
                text += " = " + nt.number(p.value, precision)
        listed.append({"nodes": [s.name for s in p.nodes], "text": text})
    return {"listed": listed, "note": None}


def _forward(tan: Tangents, precision: int, symbolic: bool) -> dict[str, Any]:
    x, graph = tan.wrt, tan.graph
    order = [graph.symbols[i] for i in tan.downstream]
    values, texts, steps, chains = {}, {}, {}, {}
    for n in order:
        values[n.name] = _num(lambda n=n: tan.value(n), precision)
        ss = tan.steps(n) if n != x else ()
        steps[n.name] = [s.via.name for s in ss]
        if symbolic:
            texts[n.name] = nt.expr(tan[n], "text")
            if ss:
                chains[n.name] = _chain_text(
                    nt.derivative(n, x, "text"), ss, precision, (n, x), True
                )
    return {
        "order": [n.name for n in order],
        "values": values,
        "texts": texts,
        "steps": steps,
        "chains": chains,
        "label": {n.name: nt.derivative(n, x, "text") for n in order},
    }


def _matrix_answer(
    graph: Any, output: Any, key: str, ans: MatrixAnswer
) -> tuple[dict[str, Any], str, tuple[str, str] | None]:
    """A graded matrix answer as the page shows it, the node it belongs to and, for a
    local partial, its edge: what was written (each wrong entry marked ✗) and the
    explanation's first line; its step, shapes and both matrices under it."""
    q = parse_key(graph, key, output)
    if isinstance(q, LocalPartial):
        parent, child = graph.symbols[q.parent].name, graph.symbols[q.node].name
        node, edge = parent, (parent, child)
    else:
        node, edge = graph.symbols[q.node].name, None
    head, _, rest = ans.explanation.partition("\n")
    item = {
        "key": key,
        "verdict": ans.verdict,
        "kind": ans.kind,
        "claimed": "nothing" if ans.given is None else matrix_text(ans.given, ans.entries),
        "expected": matrix_text(ans.expected),
        "explanation": head,
        "details": rest.strip("\n") or None,
    }
    return item, node, edge


def _report_summary(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    counts = {v: 0 for v in ("correct", "wrong", "carried")}
    for ans in report.values():
        counts[str(ans.verdict)] = counts.get(str(ans.verdict), 0) + 1
    return {
        "title": getattr(report, "title", None),
        "firstError": getattr(report, "first_error", None),
        "counts": counts,
        "blank": list(getattr(report, "blank", ())),
    }


# ----------------------------------------------------------------------- layout

Box = tuple[float, float, float, float]  # centre x, centre y, width, height (px)


def find_dot() -> str | None:
    """The path of Graphviz's ``dot`` program, or ``None``."""
    return shutil.which("dot")


def _node_lines(node: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """The text lines of a node's box (the slot line sized for its widest content)."""
    head = (
        f"{node['label']}  (input)"
        if node["kind"] == "input"
        else (f"{node['label']} = {node['definition']}")
    )
    lines = [_clip(head), f"= {node['value']}" if node["value"] is not None else ""]
    slots = [f"{node['adjointLabel']} = {node['adjoint']}"]
    for fw in data["forward"].values():
        if node["name"] in fw["values"]:
            slots.append(f"{fw['label'][node['name']]} = {fw['values'][node['name']]}")
    lines.append(max(slots, key=len))
    if node["answers"]:
        lines.append(_marks(node["answers"]))
    return lines


_MARK = {"correct": "✓", "wrong": "✗", "carried": "↳"}


def _marks(answers: Sequence[Mapping[str, Any]]) -> str:
    return "  ".join(f"{_MARK.get(a['verdict'], '?')} {a['key']} {a['verdict']}" for a in answers)


def _worst(answers: Sequence[Mapping[str, Any]]) -> str:
    """The class for a node's border: its worst verdict (wrong, then carried)."""
    verdicts = {a["verdict"] for a in answers}
    worst = next((v for v in ("wrong", "carried", "correct") if v in verdicts), None)
    return f"v-{worst}" if worst else ""


def _size(lines: Sequence[str]) -> tuple[float, float]:
    width = max(len(s) for s in lines) * _CHAR + 2 * _PAD + 8
    return max(width, 60.0), len(lines) * _LINE + _PAD


def _layered(
    names: Sequence[str],
    parents: Mapping[str, Sequence[str]],
    sizes: Mapping[str, tuple[float, float]],
) -> tuple[dict[str, Box], float, float]:
    """A left-to-right layered layout: longest-path layers, barycentre ordering."""
    layer: dict[str, int] = {}
    for n in names:  # evaluation order: parents first
        layer[n] = 1 + max((layer[p] for p in parents[n]), default=-1)
    consumers: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for p in parents[n]:
            consumers[p].append(n)
    for n in reversed(names):  # pull inputs (and dangling nodes) next to their first consumer
        if not parents[n] and consumers[n]:
            layer[n] = min(layer[c] for c in consumers[n]) - 1
    columns: dict[int, list[str]] = {}
    for n in names:
        columns.setdefault(layer[n], []).append(n)
    keys = sorted(columns)
    pos = {n: float(i) for col in columns.values() for i, n in enumerate(col)}
    for sweep in range(8):  # barycentre ordering, alternating directions
        order = keys if sweep % 2 == 0 else keys[::-1]
        for k in order:
            col = columns[k]
            for n in col:
                nbrs = [*parents[n], *consumers[n]]
                if nbrs:
                    pos[n] = sum(pos[m] for m in nbrs) / len(nbrs)
            col.sort(key=lambda n: pos[n])
            for i, n in enumerate(col):
                pos[n] = float(i)
    boxes: dict[str, Box] = {}
    x, gap_x, gap_y = 20.0, 70.0, 22.0
    heights = {
        k: sum(sizes[n][1] for n in col) + gap_y * (len(col) - 1) for k, col in columns.items()
    }
    total_h = max(heights.values(), default=0.0) + 40
    for k in keys:
        col = columns[k]
        w = max(sizes[n][0] for n in col)
        y = (total_h - heights[k]) / 2
        for n in col:
            nw, nh = sizes[n]
            boxes[n] = (x + w / 2, y + nh / 2, nw, nh)
            y += nh + gap_y
        x += w + gap_x
    return boxes, x - gap_x + 20, total_h


def _dot_layout(
    names: Sequence[str],
    edges: Sequence[tuple[str, str, str]],
    sizes: Mapping[str, tuple[float, float]],
    program: str,
) -> tuple[dict[str, Box], dict[tuple[str, str], tuple[str, tuple[float, float]]], float, float]:
    """Ask ``dot -Tplain`` where boxes of the given sizes and the edges go."""
    ids = {n: f"n{i}" for i, n in enumerate(names)}
    lines = [
        "digraph g {",
        "rankdir=LR; nodesep=0.25; ranksep=0.6;",
        'node [shape=box, fixedsize=true, label=""];',
        'edge [fontname="Courier", fontsize=10];',
    ]
    for n in names:
        w, h = sizes[n]
        lines.append(f"{ids[n]} [width={w / 72:.3f}, height={h / 72:.3f}];")
    for p, c, label in edges:  # a placeholder label of the same length reserves room
        lines.append(
            f'{ids[p]} -> {ids[c]} [label="{"x" * len(label)}"];'
            if label
            else f"{ids[p]} -> {ids[c]};"
        )
    lines.append("}")
    done = subprocess.run(
        [program, "-Tplain"], input="\n".join(lines), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise BackendUnavailableError(f"dot failed: {done.stderr.strip()[:200]}")
    back = {v: k for k, v in ids.items()}
    boxes: dict[str, Box] = {}
    routes: dict[tuple[str, str], tuple[str, tuple[float, float]]] = {}
    width = height = 0.0
    for line in done.stdout.splitlines():
        f = line.split()
        if f[0] == "graph":
            width, height = float(f[2]) * 72, float(f[3]) * 72
        elif f[0] == "node":
            x, y = float(f[2]) * 72, height - float(f[3]) * 72
            boxes[back[f[1]]] = (x, y, float(f[4]) * 72, float(f[5]) * 72)
        elif f[0] == "edge":
            k = int(f[3])
            pts = [(float(f[4 + 2 * j]) * 72, height - float(f[5 + 2 * j]) * 72) for j in range(k)]
            d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f} C" + " ".join(
                f"{px:.1f},{py:.1f}" for px, py in pts[1:]
            )
            if len(f) > 8 + 2 * k:  # labelled: label, x, y, style, colour
                at = (float(f[5 + 2 * k]) * 72, height - float(f[6 + 2 * k]) * 72 + 3)
            else:
                at = pts[len(pts) // 2]
            routes.setdefault((back[f[1]], back[f[2]]), (d, at))
    return boxes, routes, width, height


def _curve(a: Box, b: Box) -> tuple[str, tuple[float, float]]:
    x0, y0 = a[0] + a[2] / 2, a[1]
    x1, y1 = b[0] - b[2] / 2 - 9, b[1]
    dx = max(30.0, (x1 - x0) / 2)
    d = f"M{x0:.1f},{y0:.1f} C{x0 + dx:.1f},{y0:.1f} {x1 - dx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
    return d, ((x0 + x1) / 2, (y0 + y1) / 2 - 4)


# -------------------------------------------------------------------------- SVG


def _svg(data: Mapping[str, Any], layout: str) -> tuple[str, str]:
    """The graph as inline SVG, and the name of the layout used."""
    nodes = data["nodes"]
    names = [n["name"] for n in nodes]
    parents = {n["name"]: n["parents"] for n in nodes}
    lines = {n["name"]: _node_lines(n, data) for n in nodes}
    sizes = {k: _size(v) for k, v in lines.items()}
    big = len(nodes) > BIG_GRAPH  # edge labels only on highlighted edges: no room reserved
    labels = [
        (e["from"], e["to"], "" if big else f"{_clip(e['label'])}  {_marks(e['answers'])}")
        for e in data["edges"]
    ]
    program = find_dot() if layout in ("auto", "dot") else None
    if layout == "dot" and program is None:
        raise BackendUnavailableError(
            "layout='dot' needs Graphviz's dot program (e.g. apt-get install graphviz); "
            "layout='layered' needs nothing"
        )
    routes: dict[tuple[str, str], tuple[str, tuple[float, float]]] = {}
    if program is not None:
        boxes, routes, width, height = _dot_layout(names, labels, sizes, program)
        used = "dot"
    else:
        boxes, width, height = _layered(names, parents, sizes)
        used = "layered"
    esc = html.escape
    out = [
        f'<svg id="graph" viewBox="-12 -12 {width + 24:.0f} {height + 24:.0f}" '
        f'data-layout="{used}" role="group" aria-label="computation graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
        '<g id="viewport">',
    ]
    for e in data["edges"]:
        key = (e["from"], e["to"])
        d, (lx, ly) = routes.get(key) or _curve(boxes[e["from"]], boxes[e["to"]])
        mark = f"  {_marks(e['answers'])}" if e["answers"] else ""
        out.append(
            f'<g class="edge" data-from="{esc(e["from"])}" data-to="{esc(e["to"])}">'
            f'<path d="{d}" marker-end="url(#arrow)"/>'
            f'<text class="elabel" x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">'
            f"{esc(_clip(e['label']))}{esc(mark)}</text></g>"
        )
    for n in nodes:
        x, y, w, h = boxes[n["name"]]
        left, top = x - w / 2, y - h / 2
        name = esc(n["name"])
        verdicts = _worst(n["answers"])
        what = {"input": "input", "output": "output", "inner": "definition"}[n["kind"]]
        aria = f"node {n['label']}, {what}" + (f", {_marks(n['answers'])}" if n["answers"] else "")
        rx = {"input": 0, "inner": 12, "output": 4}[n["kind"]]
        shape = f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}"/>'
        if n["kind"] == "output":  # a double border: outputs read as outputs without colour
            shape += (
                f'<rect class="inner-border" x="{left + 3:.1f}" y="{top + 3:.1f}" '
                f'width="{w - 6:.1f}" height="{h - 6:.1f}" rx="2"/>'
            )
        out.append(
            f'<g class="node {n["kind"]} {verdicts}" data-node="{name}" tabindex="0" '
            f'role="button" aria-label="{esc(aria)}"><title>{esc(aria)}</title>{shape}'
        )
        for k, text in enumerate(lines[n["name"]]):
            ty = top + _PAD / 2 + _LINE * (k + 0.75)
            cls = ["head", "val", "slot", "marks"][k]
            content = "" if cls == "slot" else esc(text)
            slot = f' data-slot="{name}"' if cls == "slot" else ""
            out.append(
                f'<text class="{cls}" x="{left + _PAD:.1f}" y="{ty:.1f}"{slot}>{content}</text>'
            )
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out), used


# ------------------------------------------------------------------------- page


def _json_script(data: Any) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` as ``\\u003c`` etc."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def to_html(
    gradient: Gradient,
    *,
    title: str | None = None,
    report: Mapping[str, Any] | None = None,
    tangents_for: Iterable[Any] | None = None,
    precision: int = nt.DEFAULT_PRECISION,
    layout: str = "auto",
) -> str:
    """The explorer of ``gradient`` (``trace.grad(y)``) as one self-contained HTML page.

    ``title`` heads the page (any text: it is escaped); ``report`` (a
    :class:`~symtrace.Report` of the same trace) marks each answer on its node (and a
    local partial's answer on its edge); ``tangents_for`` lists the inputs offered for
    forward mode (default: the first 16 inputs); ``precision`` is the number of
    significant digits; ``layout`` is ``"auto"``, ``"dot"`` (Graphviz, an error when
    ``dot`` is missing) or ``"layered"`` (built in).

    >>> from symtrace.examples import micrograd_lecture
    >>> page = to_html(micrograd_lecture().grad("L"), title="<script>alert(1)</script>")
    >>> "<script>alert" in page, "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    (False, True)
    """
    if layout not in LAYOUTS:
        raise OptionValueError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise OptionValueError(f"precision must be a positive integer, got {precision!r}")
    data = explorer_data(
        gradient, title=title, report=report, tangents_for=tangents_for, precision=precision
    )
    svg, _ = _svg(data, layout)
    heading = html.escape(title if title is not None else f"Backward pass of {data['output']}")
    big = "big" if len(data["nodes"]) > BIG_GRAPH else ""
    options = "".join(
        f'<option value="{html.escape(x)}">{html.escape(x)}</option>' for x in data["forward"]
    )
    summary = ""
    if data["report"] is not None:
        c = data["report"]["counts"]
        summary = html.escape(
            f"Answers: {c['correct']} ✓ correct, {c['wrong']} ✗ wrong, {c['carried']} ↳ carried"
            + (f", {len(data['report']['blank'])} blank" if data["report"]["blank"] else "")
            + (
                f"; first error: {data['report']['firstError']}"
                if data["report"]["firstError"]
                else ""
            )
        )
        summary = f'<p id="summary">{summary}</p>'
    return _page(
        title=heading,
        css=_CSS,
        js=_JS,
        svg=svg,
        data=_json_script(data),
        big=big,
        options=options,
        summary=summary,
        output=html.escape(data["output"]),
        forward_disabled="" if data["forward"] else " disabled",
    )


def iframe(page: str, height: int = 640) -> str:
    """``page`` inside a sandboxed ``<iframe srcdoc>``, for a notebook cell's output."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ccc" '
        f'title="symtrace explorer"></iframe>'
    )


class Explorer:
    """An explorer page: ``.html`` is the text, ``.save(path)`` writes it, and Jupyter
    shows it inline (in a sandboxed iframe).

    >>> from symtrace.examples import micrograd_lecture
    >>> ex = explore(micrograd_lecture().grad("L"))
    >>> ex.html.startswith("<!DOCTYPE html>"), ex._repr_html_().startswith("<iframe")
    (True, True)
    """

    def __init__(self, page: str, height: int = 640) -> None:
        self.html = page
        self.height = height

    def save(self, path: str | FilePath) -> FilePath:
        """Write the page (UTF-8) and return the path."""
        p = FilePath(path)
        p.write_text(self.html, encoding="utf-8")
        return p

    def _repr_html_(self) -> str:
        return iframe(self.html, self.height)

    def __repr__(self) -> str:
        return f"<Explorer ({len(self.html):,} characters of HTML)>"


def explore(gradient: Gradient, *, height: int = 640, **options: Any) -> Explorer:
    """:func:`to_html` wrapped in an :class:`Explorer` for Jupyter."""
    return Explorer(to_html(gradient, **options), height=height)


def _page(
    *,
    title: str,
    css: str,
    js: str,
    svg: str,
    data: str,
    big: str,
    options: str,
    summary: str,
    output: str,
    forward_disabled: str,
) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{css}</style>
</head>
<body class="{big}">
<header><h1>{title}</h1>{summary}
<div id="controls" role="toolbar" aria-label="sweep controls">
<button type="button" data-action="step-reverse" title="next step of the reverse sweep \
(→)">Reverse step ▸</button>
<label>Forward mode w.r.t. <select data-action="wrt"{forward_disabled}>{options}</select></label>
<button type="button" data-action="step-forward" title="next step of the forward sweep"\
{forward_disabled}>Forward step ▸</button>
<button type="button" data-action="step-back" title="one step back (←)">◂ Back</button>
<button type="button" data-action="reset" title="start the sweep again">Reset</button>
<button type="button" data-action="show-all" title="show every result">Show all</button>
<button type="button" data-action="zoom-in" aria-label="zoom in">+</button>
<button type="button" data-action="zoom-out" aria-label="zoom out">−</button>
<button type="button" data-action="fit">Fit</button>
<span id="status" aria-live="polite"></span>
</div>
<p class="legend">Boxes: inputs; rounded: intermediate nodes; double border: the output \
{output}. Click or Tab to a node for its details; → / ← step the sweep. Marks: ✓ correct, \
✗ wrong, ↳ carried (wrong only because of an earlier mistake).</p>
</header>
<main>
<div id="canvas">{svg}</div>
<aside id="details" aria-live="polite"><p>Select a node.</p></aside>
</main>
<script type="application/json" id="symtrace-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#111}
header{padding:.5rem 1rem;border-bottom:1px solid #ddd}
h1{font-size:1.2rem;margin:.2rem 0}
.legend,#summary{margin:.3rem 0;font-size:.85rem;color:#333}
#controls{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
button,select{font:inherit;font-size:.9rem;padding:.15rem .5rem}
#status{font-size:.9rem;margin-left:.5rem}
main{display:flex;height:calc(100vh - 8.5rem);min-height:360px}
#canvas{flex:1;overflow:hidden;cursor:grab;border-right:1px solid #ddd}
#canvas svg{width:100%;height:100%;display:block}
#details{width:26rem;max-width:45%;overflow:auto;padding:0 1rem;font-size:.92rem}
#details h2{font-size:1.05rem}
#details dt{font-weight:600;margin-top:.5rem}
#details dd{margin:0 0 0 .5rem}
#details li{margin:.2rem 0}
#details pre.answer-details{white-space:pre;overflow-x:auto;font-size:.85rem;margin:.3rem 0}
.math{display:inline-block;max-width:100%;overflow-x:auto;vertical-align:middle}
.node{cursor:pointer}
.node rect{fill:#f8fafc;stroke:#475569;stroke-width:1.2}
.node.input rect{fill:#dbeafe}
.node.output rect{fill:#fde68a}
.node rect.inner-border{fill:none}
.node text{font:12px ui-monospace,monospace;fill:#111}
.node text.head{font-weight:600}
.node text.slot{fill:#1d4ed8}
.node.v-wrong rect:first-of-type{stroke:#b91c1c;stroke-width:3;stroke-dasharray:6 3}
.node.v-carried rect:first-of-type{stroke:#c2410c;stroke-width:3;stroke-dasharray:2 2}
.node.v-correct rect:first-of-type{stroke:#15803d;stroke-width:2.5}
.node.current rect{fill:#bbf7d0}
.node.selected rect:first-of-type,.node:focus rect:first-of-type{stroke:#111;stroke-width:3.5}
.node:focus{outline:none}
.edge path{fill:none;stroke:#64748b;stroke-width:1.3}
.edge text{font:10px ui-monospace,monospace;fill:#475569}
.big .edge text{display:none}
.edge.on-path path{stroke:#d97706;stroke-width:4}
.edge.active path{stroke:#2563eb;stroke-width:3;stroke-dasharray:7 3}
.edge.on-path text,.edge.active text{display:inline;fill:#111;font-weight:600}
marker path{fill:#64748b}
.verdict-correct::before{content:"✓ "}
.verdict-wrong::before{content:"✗ "}
.verdict-carried::before{content:"↳ "}
.verdict-wrong{color:#b91c1c}.verdict-carried{color:#c2410c}.verdict-correct{color:#15803d}
"""

# Plain JavaScript, no framework: state is (mode, step); render() redraws from it.
_JS = r"""
"use strict";
const data = JSON.parse(document.getElementById("symtrace-data").textContent);
const byName = new Map(data.nodes.map(n => [n.name, n]));
const svg = document.getElementById("graph");
const details = document.getElementById("details");
const wrtSelect = document.querySelector('[data-action="wrt"]');
const state = {mode: "reverse", step: null, selected: null};  // step null: show everything

function order() {
  return state.mode === "reverse" ? data.reverse : data.forward[wrtSelect.value].order;
}
function known(name) {  // is this node's result shown at the current step?
  const o = order(), k = o.indexOf(name);
  return k >= 0 && (state.step === null || k < state.step);
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function math(markup) {  // MathML from SymPy's printer (node names are identifiers)
  const span = el("span", {class: "math"});
  span.innerHTML = markup;
  return span;
}
function result(name) {  // [label, number text, attribute] of the current mode
  const n = byName.get(name);
  if (state.mode === "reverse") return [n.adjointLabel, n.adjoint, "data-adjoint"];
  const fw = data.forward[wrtSelect.value];
  return [fw.label[name], fw.values[name], "data-tangent"];
}
function edgesOf(name) {  // the edges the current step uses
  if (state.mode === "reverse") return byName.get(name).steps.map(c => [name, c]);
  return (data.forward[wrtSelect.value].steps[name] || []).map(p => [p, name]);
}
function edge(from, to) {
  return svg.querySelector(`.edge[data-from="${CSS.escape(from)}"][data-to="${CSS.escape(to)}"]`);
}

function render() {
  const o = order(), n = state.step === null ? o.length : state.step;
  const current = state.step === null || n === 0 ? null : o[n - 1];
  for (const slot of svg.querySelectorAll("[data-slot]")) {
    const name = slot.dataset.slot;
    slot.removeAttribute("data-adjoint");
    slot.removeAttribute("data-tangent");
    slot.textContent = "";
    if (!known(name)) continue;
    const [label, value, attr] = result(name);
    if (value === null) continue;
    const num = document.createElementNS(svg.namespaceURI, "tspan");
    num.setAttribute(attr, name);
    num.textContent = value;
    slot.append(label + " = ", num);
  }
  for (const g of svg.querySelectorAll(".node")) {
    g.classList.toggle("current", g.dataset.node === current);
  }
  for (const e of svg.querySelectorAll(".edge.active")) e.classList.remove("active");
  if (current) for (const [a, b] of edgesOf(current)) edge(a, b)?.classList.add("active");
  const what = state.mode === "reverse"
    ? "reverse sweep" : `forward sweep w.r.t. ${wrtSelect.value}`;
  document.getElementById("status").textContent = state.step === null
    ? `all ${o.length} results of the ${what}`
    : `${what}: step ${n} of ${o.length}` + (current ? ` (${current})` : "");
  showDetails();
}

function highlightPaths(name) {  // edges p→c with c reaching the output and p reached from name
  const down = new Set([name]), up = new Set([data.output]);
  for (const n of data.nodes) if (n.parents.some(p => down.has(p))) down.add(n.name);
  for (const n of [...data.nodes].reverse()) if (n.consumers.some(c => up.has(c))) up.add(n.name);
  for (const e of svg.querySelectorAll(".edge")) {
    const on = name !== null && down.has(e.dataset.from) && up.has(e.dataset.to);
    e.classList.toggle("on-path", on);
  }
}

function showDetails() {
  const name = state.selected;
  if (name === null) return;
  const n = byName.get(name), dl = el("dl");
  const row = (term, ...dd) => dl.append(el("dt", {}, term), el("dd", {}, ...dd));
  details.replaceChildren(el("h2", {}, `Node ${n.label}`), dl);
  if (n.definition === null) row("Definition", "an input (its value is given)");
  else row("Definition", math(n.nameMath), " = ", math(n.definitionMath));
  if (n.value !== null) row("Value", n.value);
  if (n.parents.length) {
    const ul = el("ul");
    for (const e of data.edges.filter(e => e.to === name)) {
      const li = el("li", {}, e.symbol + " = ", math(e.partialMath));
      if (e.value !== null) li.append(" = " + e.value);
      for (const a of e.answers) {
        li.append(" ", el("span", {class: "verdict-" + a.verdict}, `${a.verdict} (${a.key})`));
      }
      ul.append(li);
    }
    row("Local partials (on its incoming edges)", ul);
  }
  if (known(name) && state.mode === "reverse" && n.adjoint !== null) {
    const number = el("span", {"data-adjoint": name}, n.adjoint);
    row(`Adjoint ${n.adjointLabel}`, math(n.adjointMath), " = ", number);
  } else if (state.mode === "reverse") {
    const why = n.reaches ? "not computed yet at this step"
      : `0 (${name} does not reach ${data.output})`;
    row(`Adjoint ${n.adjointLabel}`, why);
  } else {
    const fw = data.forward[wrtSelect.value];
    if (!(name in fw.values)) row("Tangent", `0 (${name} does not depend on ${wrtSelect.value})`);
    else if (!known(name)) row(`Tangent ${fw.label[name]}`, "not computed yet at this step");
    else {
      const number = el("span", {"data-tangent": name}, fw.values[name]);
      row(`Tangent ${fw.label[name]}`, fw.texts[name] ? fw.texts[name] + " = " : "", number);
      if (fw.chains[name]) row("Chain-rule step", fw.chains[name]);
    }
  }
  if (state.mode === "reverse" && n.chain && known(name)) row("Chain-rule step", n.chain);
  if (n.paths) {
    const ul = el("ul");
    for (const p of n.paths.listed) ul.append(el("li", {}, p.text));
    if (n.paths.note) ul.append(el("li", {}, n.paths.note));
    row(`Paths from ${data.output} to ${name} (highlighted)`, ul);
  }
  if (n.answers.length) {
    const ul = el("ul");
    for (const a of n.answers) {
      const li = el("li", {}, el("strong", {class: "verdict-" + a.verdict}, a.verdict),
        ` ${a.key}: you wrote ${a.claimed}`, el("br"), a.explanation);
      if (a.details) li.append(el("pre", {class: "answer-details"}, a.details));
      ul.append(li);
    }
    row("Answers", ul);
  }
}

function select(name) {
  state.selected = name;
  for (const g of svg.querySelectorAll(".node")) {
    g.classList.toggle("selected", g.dataset.node === name);
  }
  highlightPaths(name);
  showDetails();
}

function step(mode) {
  if (state.mode !== mode || state.step === null) { state.mode = mode; state.step = 0; }
  state.step = Math.min(state.step + 1, order().length);
  render();
}
const actions = {
  "step-reverse": () => step("reverse"),
  "step-forward": () => step("forward"),
  "step-back": () => {
    if (state.step !== null) state.step = Math.max(state.step - 1, 0);
    render();
  },
  "reset": () => { state.step = 0; render(); },
  "show-all": () => { state.step = null; render(); },
  "zoom-in": () => zoom(0.8), "zoom-out": () => zoom(1.25), "fit": () => fit(),
};
document.getElementById("controls").addEventListener("click", ev => {
  const b = ev.target.closest("button[data-action]");
  if (b) actions[b.dataset.action]();
});
wrtSelect.addEventListener("change", () => {
  if (state.mode === "forward") { state.step = 0; render(); }
});

svg.addEventListener("click", ev => {
  const g = ev.target.closest("[data-node]");
  if (g) select(g.dataset.node);
});
svg.addEventListener("focusin", ev => {
  const g = ev.target.closest("[data-node]");
  if (g) select(g.dataset.node);
});
document.addEventListener("keydown", ev => {
  if (ev.target.tagName === "SELECT") return;
  if (ev.key === "ArrowRight") { step(state.mode); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft") { actions["step-back"](); ev.preventDefault(); }
  else if ((ev.key === "Enter" || ev.key === " ") && ev.target.dataset?.node) {
    select(ev.target.dataset.node); ev.preventDefault();
  }
});

// Pan (drag) and zoom (wheel, buttons) by moving the viewBox.
const full = svg.viewBox.baseVal, home = [full.x, full.y, full.width, full.height];
let view = [...home];
function setView(v) { view = v; svg.setAttribute("viewBox", v.map(x => x.toFixed(1)).join(" ")); }
function zoom(f, cx, cy) {
  const [x, y, w, h] = view;
  cx = cx ?? x + w / 2; cy = cy ?? y + h / 2;
  setView([cx - (cx - x) * f, cy - (cy - y) * f, w * f, h * f]);
}
function fit() { setView([...home]); }
svg.addEventListener("wheel", ev => {
  ev.preventDefault();
  const p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
  const q = p.matrixTransform(svg.getScreenCTM().inverse());
  zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, q.x, q.y);
}, {passive: false});
let drag = null;
svg.addEventListener("pointerdown", ev => {
  if (ev.target.closest("[data-node]")) return;
  drag = [ev.clientX, ev.clientY, ...view];
});
svg.addEventListener("pointermove", ev => {
  if (!drag) return;
  const s = view[2] / svg.clientWidth;
  const [x0, y0, x, y] = drag;
  setView([x - (ev.clientX - x0) * s, y - (ev.clientY - y0) * s, view[2], view[3]]);
});
addEventListener("pointerup", () => { drag = null; });
render();
"""
