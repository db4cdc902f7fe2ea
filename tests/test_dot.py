"""The DOT text of a trace: labels printed once per shape, clusters by layer and neuron.

``to_dot`` prints each family of definitions that differ only in names once and puts
the names in; these tests pin that every label is still exactly what SymPy's printer
writes for that node, whatever the names' alphabetical order, constants or unevaluated
forms.  (Its speed is measured in ``benchmarks/bench_views.py``.)
"""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
import sympy

import symtrace as st
import symtrace.examples
from symtrace import notation as nt
from symtrace.dot import quote
from symtrace.examples import EXAMPLES
from symtrace.exercise import loads


def _first_lines(dot: str) -> dict[int, str]:
    """Node index -> the first line of its label (still DOT-quoted)."""
    out = {}
    for line in dot.splitlines():
        line = line.strip()
        if line.startswith("n") and " [label=" in line and "->" not in line:
            index, rest = line.split(" [label=", 1)
            out[int(index[1:])] = rest.split("\\n", 1)[0].split('", ', 1)[0]
    return out


def _expected(t: st.Trace) -> dict[int, str]:
    out = {}
    for i, eq in enumerate(t.graph.equations):
        name = nt.name(eq.symbol, "text")
        text = (
            f"{name} (input)"
            if eq.definition is None
            else f"{name} = {nt.expr(eq.definition, 'text')}"
        )
        out[i] = quote(text).removesuffix('"')
    return out


def _assert_labels_as_printed(t: st.Trace) -> None:
    shown, expected = _first_lines(t.to_dot()), _expected(t)
    assert shown.keys() == expected.keys()
    for i, text in expected.items():
        assert shown[i] == text, (t.graph.equations[i], shown[i], text)


def test_labels_match_the_printer_for_every_order_of_names() -> None:
    # the same shapes with their names in every alphabetical order: the printer sorts
    # terms by name (b - a is written -a + b), so a shared template must follow it
    t = st.Trace()
    names = ["z", "a", "m_2", "x_1", "alpha", "B"]
    syms = t.inputs(" ".join(names), values=(0.5, 1.5, -2, 3, 0.25, 4))
    shapes = [
        lambda p, q: p - q,
        lambda p, q: p * q + p,
        lambda p, q: sympy.sin(p) / q,
        lambda p, q: 3 * p - 2 * q,
        lambda p, q: st.relu(p - q),
        lambda p, q: sympy.Max(p, q),
        lambda p, q: p**2 * q + sympy.Rational(1, 3) * q,
        lambda p, q: 0.1 * p + sympy.Float("0.1", 30) * q,
        lambda p, q: -p * sympy.exp(-q),
    ]
    k = 0
    for shape in shapes:
        for p, q in itertools.permutations(syms, 2):
            t.define(f"u{k}", shape(p, q))
            k += 1
    _assert_labels_as_printed(t)


def test_labels_match_the_printer_on_every_example_and_unevaluated_definitions() -> None:
    for build in EXAMPLES.values():
        _assert_labels_as_printed(build()[0])
    # the parser keeps nested functions as written: log(exp(a)) is not simplified
    exercise = loads(
        'output = "L"\n[inputs]\na = 1\nb = 2\n[define]\n'
        'u = "log(exp(a))"\nv = "log(exp(b))"\nw = "exp(log(b)) + a"\nL = "u*v + w"\n'
    )
    t = exercise.trace
    assert "log(exp(a))" in t.to_dot()
    _assert_labels_as_printed(t)


# ------------------------------------------------------------------- clusters


def _clusters(t: st.Trace, dot: str) -> dict[str, tuple[str, ...]]:
    """Node name -> the titles of the clusters drawn around it in ``dot``."""
    out: dict[str, tuple[str, ...]] = {}
    stack: list[str] = []
    for line in dot.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            stack.append("")
        elif line.startswith("label=") and stack and not stack[-1]:
            stack[-1] = line.split('"')[1]
        elif line == "}" and stack:
            stack.pop()
        elif " [label=" in line and "->" not in line:
            out[t.graph.equations[int(line.split(" ", 1)[0][1:])].name] = tuple(stack)
    return out


def scalar_mlp() -> tuple[st.Trace, sympy.Symbol]:
    """A 2-2-1 tanh network named by the layer_neuron convention (z1_2, w1_2_1, ...)."""
    t = st.Trace()
    x = t.inputs("x1 x2", values=(0.5, -1.0))
    h = []
    for j in (1, 2):
        w = t.inputs(f"w1_{j}_1 w1_{j}_2", values=(0.25 * j, -0.5))
        b = t.input(f"b1_{j}", 0.1)
        z = t.define(f"z1_{j}", w[0] * x[0] + w[1] * x[1] + b)
        h.append(t.define(f"h1_{j}", sympy.tanh(z)))
    v = t.inputs("w2_1_1 w2_1_2", values=(1.0, -1.0))
    o = t.define("z2_1", v[0] * h[0] + v[1] * h[1])
    return t, t.define("L", (o - 1) ** 2)


def test_layer_neuron_names_are_grouped_in_nested_clusters() -> None:
    t, L = scalar_mlp()
    dot = t.to_dot(t.grad(L))
    where = _clusters(t, dot)
    for j in (1, 2):
        neuron = ("layer 1", f"neuron {j}")
        assert where[f"z1_{j}"] == where[f"h1_{j}"] == where[f"b1_{j}"] == neuron
        assert where[f"w1_{j}_1"] == where[f"w1_{j}_2"] == neuron
    assert where["z2_1"] == where["w2_1_2"] == ("layer 2", "neuron 1")
    assert where["x1"] == where["x2"] == where["L"] == ()  # used by several, or by none
    assert dot.count("subgraph cluster_") == 5  # two layers, three neurons
    assert dot.count('label="layer 1"') == 1 and dot.count('label="neuron 2"') == 1
    # the node statements of one neuron are in one block; the edges are unchanged
    assert [line for line in dot.splitlines() if "->" in line] == [
        line for line in t.to_dot(t.grad(L), clusters="none").splitlines() if "->" in line
    ]
    assert "subgraph" not in t.to_dot(clusters="none")


def test_unnamed_insides_join_the_neuron_that_uses_them() -> None:
    # micrograd style: only each neuron's output is labelled; the weights, products and
    # partial sums (generated names v1, v2, ...) are used by that neuron only
    xs = [st.Value(v, label=f"x{i}") for i, v in enumerate((2.0, -1.0), 1)]
    outs = []
    for j in (1, 2):
        w = [st.Value(0.5 * j), st.Value(-0.25)]
        act = sum((wi * xi for wi, xi in zip(w, xs, strict=True)), st.Value(0.1))
        out = act.tanh()
        out.label = f"h1_{j}"
        outs.append(out)
    y = outs[0] * outs[1]
    y.label = "y"
    t = y.trace()
    groups = _clusters(t, t.to_dot())
    inside = [n for n, g in groups.items() if g == ("layer 1", "neuron 1")]
    assert len(inside) == 8  # 2 weights, a bias, 2 products, 2 sums, the output
    assert groups["x1"] == groups["x2"] == groups["y"] == ()
    assert sum(g == ("layer 1", "neuron 2") for g in groups.values()) == 8


def test_explicit_clusters_by_mapping_or_function() -> None:
    t, _ = st.examples.seed000_micrograd()
    dot = t.to_dot(clusters={"product": ["e"], ("sum", "inner"): [t["d"]]})
    where = _clusters(t, dot)
    assert where["e"] == ("product",) and where["d"] == ("sum", "inner")
    assert where["a"] == where["b"] == ("product",)  # used only by e
    assert where["c"] == ("sum", "inner") and where["L"] == where["f"] == ()
    by_name = t.to_dot(clusters=lambda name: "inputs" if name in "abcf" else None)
    assert {n for n, g in _clusters(t, by_name).items() if g} == {"a", "b", "c", "f"}
    assert "subgraph" not in t.to_dot()  # no name follows the layer_neuron convention


def test_bad_clusters_are_clear_errors() -> None:
    t, _ = st.examples.seed000_micrograd()
    with pytest.raises(st.OptionValueError, match="clusters must be 'auto', 'none'"):
        t.to_dot(clusters=3)
    with pytest.raises(st.OptionValueError, match="non-empty title"):
        t.to_dot(clusters={(): ["e"]})
    with pytest.raises(st.OptionValueError, match="non-empty title"):
        t.to_dot(clusters=lambda name: 7)
    with pytest.raises(st.NotANodeError, match="no node named 'nope'"):
        t.to_dot(clusters={"x": ["nope"]})


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' program not installed")
def test_dot_program_draws_the_clusters() -> None:
    t, L = scalar_mlp()
    done = subprocess.run(
        ["dot", "-Tsvg"], input=t.to_dot(t.grad(L)).encode(), capture_output=True, check=False
    )
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()
    svg = done.stdout.decode()
    assert svg.count('class="cluster"') == 5 and ">neuron 2</text>" in svg
