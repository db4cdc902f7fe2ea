"""Views: derivations, evaluation-trace tables, paths, graphs, Jupyter display.

Numbers in views must be the engine's numbers (compared exactly with ``Gradient.value``,
``Tangents.value``, ``Step.value``, ``Trace.value``) and, for the published examples,
the numbers the sources print (compared with the tolerance of their printed digits).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from test_views_golden import CATALOGUE, survey

import symtrace
from symtrace import BackendUnavailableError, MissingValueError, Trace
from symtrace import dot as dotmod
from symtrace.notation import check_format
from symtrace.printing import Table

from examples import seed000_micrograd, seed002_graph

HERE = Path(__file__).resolve().parent
HAS_DOT = shutil.which("dot") is not None
LATEX = shutil.which("pdflatex") or shutil.which("latex")


def lines(view: object) -> list[str]:
    return str(view).splitlines()


# ------------------------------------------------------------------ derivations


def test_backward_step_is_written_symbols_first_then_numbers() -> None:
    t, L = seed000_micrograd()
    text = lines(t.derivation(L))
    assert text[0] == "Backward pass for L at a = 2, b = -3, c = 10, f = -2"
    assert "dL/de = dL/dd · ∂d/∂e = f · 1 = f = (-2) · 1 = -2" in text
    assert "dL/dd = f = -2" in text
    assert "dL/da = dL/de · ∂e/∂a = f · b = b*f = (-2) · (-3) = 6" in text
    assert text[1] == "dL/dL = 1"  # reverse order: the output first


def test_node_with_several_consumers_shows_the_sum() -> None:
    t, y = survey()
    text = lines(t.derivation(y))
    x2 = next(s for s in text if s.startswith("dv₅/dx₂"))
    assert x2 == (
        "dv₅/dx₂ = dv₅/dv₂ · ∂v₂/∂x₂ + dv₅/dv₃ · ∂v₃/∂x₂ = 1 · x₁ + (-1) · cos(x₂) "
        "= x₁ - cos(x₂) = 1 · 2 + (-1) · 0.283662 = 1.71634"
    )
    # b = a + a: one consumer using a twice is one local partial, 2.
    t2 = Trace()
    a = t2.input("a", 3)
    b = t2.define("b", a + a)
    assert lines(t2.derivation(b))[-1] == "db/da = 2"


def test_forward_derivation() -> None:
    t, L = seed000_micrograd()
    d = t.derivation(L, mode="forward", wrt="a")
    assert lines(d) == [
        "Forward pass with respect to a, toward L at a = 2, b = -3, c = 10, f = -2",
        "da/da = 1",
        "de/da = b = -3",
        "dd/da = ∂d/∂e · de/da = 1 · b = b = 1 · (-3) = -3",
        "dL/da = ∂L/∂d · dd/da = f · b = b*f = (-2) · (-3) = 6",
    ]
    assert d.wrt == t["a"] and d.mode == "forward"


def test_derivation_options() -> None:
    t, L = seed000_micrograd()
    d = t.derivation(L, nodes=["e"])
    assert lines(d)[1:] == ["dL/de = dL/dd · ∂d/∂e = f · 1 = f = (-2) · 1 = -2"]
    assert lines(d.to_text(symbolic_only=True))[1:] == ["dL/de = dL/dd · ∂d/∂e = f · 1 = f"]
    assert lines(d.to_text(numeric_only=True))[1:] == ["dL/de = dL/dd · ∂d/∂e = (-2) · 1 = -2"]
    assert lines(t.derivation(L, nodes=["f"], expanded=True))[1] == "dL/df = a*b + c = 4"
    assert lines(t.derivation(L, nodes=["f"]))[1] == "dL/df = d = 4"
    s, y = survey()
    assert lines(s.derivation(y, nodes=["x2"], precision=3, numeric_only=True))[1].endswith(
        "= 1 · 2 + (-1) · 0.284 = 1.72"
    )
    # A node y does not depend on is 0; nodes are shown in the pass's order.
    t3 = Trace()
    p, q = t3.inputs("p q", values=(1, 2))
    r = t3.define("r", 3 * p)
    assert lines(t3.derivation(r, nodes=[q, p, r]))[1:] == ["dr/dr = 1", "dr/dq = 0", "dr/dp = 3"]


def test_derivation_rejects_bad_options_clearly() -> None:
    t, L = seed000_micrograd()
    with pytest.raises(TypeError, match=r"unexpected option 'digits'.*precision=6"):
        t.derivation(L, digits=3)
    with pytest.raises(TypeError, match="unexpected option 'colour'"):
        t.derivation(L).to_latex(colour="red")
    with pytest.raises(ValueError, match="cannot both be True"):
        t.derivation(L, symbolic_only=True, numeric_only=True)
    with pytest.raises(ValueError, match="precision"):
        t.derivation(L, precision=0)
    with pytest.raises(TypeError, match="needs wrt="):
        t.derivation(L, mode="forward")
    with pytest.raises(ValueError, match="mode must be"):
        t.derivation(L, mode="sideways")
    with pytest.raises(TypeError, match="takes no wrt="):
        t.derivation(L, wrt="a")
    with pytest.raises(ValueError, match="unknown format 'html'"):
        check_format("html")  # every view checks its format with notation.check_format


def test_derivation_without_values_is_symbolic() -> None:
    t = Trace()
    a, b = t.inputs("a b")
    e = t.define("e", a * b)
    d = t.derivation(e)
    assert lines(d) == ["Backward pass for e", "de/de = 1", "de/db = a", "de/da = b"]
    with pytest.raises(MissingValueError):
        d.to_text(numeric_only=True)


def test_subscripts_and_greek_names_print_properly() -> None:
    t = Trace()
    x1, w12, alpha = t.inputs("x_1 w_12 alpha", values=(1, 2, 3))
    y = t.define("y", alpha * w12 * x1)
    text = str(t.derivation(y))
    assert "dy/dx₁ = α*w₁₂ = 6" in text
    assert "dy/dα" in text
    latex = t.derivation(y).to_latex()
    assert r"\frac{\mathrm{d} y}{\mathrm{d} x_{1}} &= \alpha w_{12} = 6" in latex
    assert r"\mathrm{d} w_{12}" in latex
    table = t.table(y, mode="reverse").to_latex()
    assert r"\bar{x}_{1} = \alpha w_{12} \bar{y}" in table


# ----------------------------------------------------------------------- tables


def _survey_oracle() -> dict[str, float]:
    """Independent numbers for the survey example (math module, not symtrace)."""
    x1, x2 = 2.0, 5.0
    return {
        "v1": math.log(x1),
        "v2": x1 * x2,
        "v3": math.sin(x2),
        "v4": math.log(x1) + x1 * x2,
        "v5": math.log(x1) + x1 * x2 - math.sin(x2),
        "dy/dx1": 1 / x1 + x2,
        "dy/dx2": x1 - math.cos(x2),
    }


def test_survey_primal_trace_has_the_survey_numbers() -> None:
    t, y = survey()
    rows = {str(r.node): r for r in t.table(y, mode="forward").rows}
    # The survey prints three decimals: v1=0.693, v2=10, v3=-0.959, v4=10.693, v5=11.652.
    for name, printed in {
        "v1": 0.693,
        "v2": 10,
        "v3": -0.959,
        "v4": 10.693,
        "v5": 11.652,
    }.items():
        assert rows[name].value == pytest.approx(printed, abs=5e-4)
        assert rows[name].value == pytest.approx(_survey_oracle()[name], rel=1e-14)
    text = lines(t.table(y, mode="forward"))
    assert text[3] == "x₁    input       2"
    assert text[5] == "v₁    log(x₁)     0.693147"


def test_survey_tangent_and_adjoint_traces_have_the_survey_numbers() -> None:
    t, y = survey()
    fwd = {str(r.node): r for r in t.table(y, mode="forward", wrt="x1").rows}
    assert fwd["v5"].derivative_value == pytest.approx(5.5, rel=1e-15)  # ẏ = 5.5
    assert fwd["v1"].derivative_value == 0.5
    assert fwd["v3"].derivative_value == 0.0
    assert str(fwd["v2"].derivative) == "x1*xdot_2 + x2*xdot_1"  # printed x₁*ẋ₂ + x₂*ẋ₁
    rev = {str(r.node): r for r in t.table(y, mode="reverse").rows}
    oracle = _survey_oracle()
    assert rev["x1"].derivative_value == pytest.approx(5.5, rel=1e-15)
    assert rev["x2"].derivative_value == pytest.approx(1.716, abs=5e-4)
    assert rev["x2"].derivative_value == pytest.approx(oracle["dy/dx2"], rel=1e-14)
    assert rev["x2"].contributions == pytest.approx((2.0, -math.cos(5.0)), rel=1e-14)
    text = str(t.table(y, mode="reverse"))
    rows = {row.split()[0]: row.split("  ") for row in text.splitlines()[3:]}
    cells = [c.strip() for c in rows["x₁"] if c.strip()]
    assert cells == ["x₁", "2", "x̄₁ = v̄₁/x₁ + v̄₂*x₂", "0.5 + 5", "5.5"]
    cells = [c.strip() for c in rows["x₂"] if c.strip()]
    assert cells == ["x₂", "5", "x̄₂ = v̄₂*x₁ + v̄₃*cos(x₂)", "2 - 0.283662", "1.71634"]


@pytest.mark.parametrize("mode, wrt", [("forward", None), ("forward", "x1"), ("reverse", None)])
def test_table_numbers_are_the_engines_numbers(mode: str, wrt: str | None) -> None:
    t, y = survey()
    tab = t.table(y, mode=mode, wrt=wrt)
    sweep = None if wrt is None and mode == "forward" else tab.sweep
    assert tab.rows
    for r in tab.rows:
        assert r.value == t.value(r.node)  # exactly: read, not recomputed
        if sweep is not None:
            assert r.derivative_value == sweep.value(r.node)
            assert r.contributions == tuple(s.value for s in sweep.steps(r.node))
    # Printed at 17 significant digits, every number reads back as the engine's float.
    text = tab.to_text(precision=17)
    for r in tab.rows:
        assert repr_17(r.value) in text
        if sweep is not None:
            assert repr_17(r.derivative_value) in text


def repr_17(v: float | None) -> str:
    assert v is not None
    s = symtrace.notation.number(v, 17)
    assert float(s) == v
    return s


def test_table_modes_and_errors() -> None:
    t, y = survey()
    assert t.table(y, mode="forward").mode == "primal"
    assert t.table(y, mode="primal").mode == "primal"
    assert isinstance(t.table(y), Table) and t.table(y).mode == "reverse"
    with pytest.raises(TypeError, match="takes no wrt="):
        t.table(y, mode="reverse", wrt="x1")
    with pytest.raises(ValueError, match="mode must be"):
        t.table(y, mode="both")
    with pytest.raises(TypeError, match="unexpected option 'rows'"):
        t.table(y, rows=3)
    sub = t.table(y, nodes=["x1", "v1"])
    assert [ln.split()[0] for ln in lines(sub)[3:]] == ["v₁", "x₁"]


def test_markdown_table_is_a_pipe_table_with_math() -> None:
    t, y = survey()
    md = t.table(y, mode="reverse").to_markdown().splitlines()
    assert md[2] == "| node | value | adjoint | terms | adjoint value |"
    assert md[3] == "|---|---|---|---|---|"
    assert md[4] == r"| $v_{5}$ | $11.6521$ | $\bar{v}_{5} = 1$ |  | $1$ |"
    assert all(row.count(" | ") == 4 for row in md[4:])


# ------------------------------------------------------------------------ paths


def test_seed002_paths_table_reproduces_section_2_3() -> None:
    t, f = seed002_graph()
    paths = t.paths(f, "x_1")
    expected = [7238.22947387088, 11023.8236395328, -1.29038221381431]
    assert [p.value for p in paths] == pytest.approx(expected, rel=1e-12)
    assert paths.value == pytest.approx(18260.7627311899, rel=1e-12)
    assert paths.value == pytest.approx(t.grad(f).value("x_1"), rel=1e-12)
    text = paths.to_text(precision=15)
    for number in ("7238.22947387088", "11023.8236395328", "-1.29038221381431", "18260.7627311899"):
        assert number in text
    rows = text.splitlines()
    assert rows[3].startswith("f → v → x₁      pi*cos(pi*v) · u*x₁**u/x₁ ")
    assert rows[-1].startswith("df/dx₁ = sum")
    assert "f \\to v \\to u \\to x_{1}" in paths.to_latex()


def test_paths_without_values_are_symbolic() -> None:
    t = Trace()
    a = t.input("a")
    b = t.define("b", a**2)
    c = t.define("c", b * a)
    text = lines(t.paths(c, a))
    assert text[1].split() == ["path", "factors", "product"]
    assert text[-1].split() == ["dc/da", "=", "sum", "2*a**2", "+", "b"]


# --------------------------------------------------- Gradient, Tangents, Trace


def test_gradient_tangents_and_trace_render() -> None:
    t, L = seed000_micrograd()
    g = t.grad(L)
    assert lines(g) == [
        "Gradient of L at a = 2, b = -3, c = 10, f = -2",
        "dL/dL = 1",
        "dL/dd = f = -2",
        "dL/de = f = -2",
        "dL/df = d = 4",
        "dL/dc = f = -2",
        "dL/db = a*f = -4",
        "dL/da = b*f = 6",
    ]
    assert lines(g.to_text(expanded=True, nodes=["f"]))[1] == "dL/df = a*b + c = 4"
    assert lines(t.tangents("b"))[1:] == [
        "db/db = 1",
        "de/db = a = 2",
        "dd/db = a = 2",
        "dL/db = a*f = -4",
    ]
    assert lines(t)[4:] == ["e = a*b = -6", "d = c + e = 4", "L = d*f = -8"]
    assert sympy.latex(g) == g.to_latex()
    empty = Trace()
    assert str(empty) == "(empty trace)"
    partial = Trace()
    partial.input("x")
    assert str(partial) == "x (input)"


# ---------------------------------------------------------------------- Jupyter


def test_jupyter_reprs() -> None:
    t, L = seed000_micrograd()
    for view in (t.derivation(L), t.table(L), t.grad(L), t.tangents("a"), t.paths(L, "a"), t):
        bundle = view._repr_mimebundle_()
        assert bundle["text/plain"] == str(view)
        assert bundle["text/markdown"] == view._repr_markdown_() == view.to_markdown()
        assert bundle["text/latex"] == view._repr_latex_() == view.to_latex()


def test_ipython_is_not_imported() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from test_views_golden import catalogue\n"
        "catalogue()\n"
        "assert 'IPython' not in sys.modules and 'graphviz' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=HERE.parent, check=True)


# ------------------------------------------------------------------------ LaTeX


def latex_structure_errors(src: str) -> list[str]:
    """Unbalanced braces, \\left/\\right or \\begin/\\end in LaTeX source."""
    errors = []
    body = re.sub(r"(?m)%.*$", "", src.replace(r"\\", "  ").replace(r"\{", "").replace(r"\}", ""))
    depth = 0
    for ch in body:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            errors.append("} without {")
            depth = 0
    if depth:
        errors.append(f"{depth} unclosed {{")
    if len(re.findall(r"\\left\b", body)) != len(re.findall(r"\\right\b", body)):
        errors.append("\\left/\\right mismatch")
    stack: list[str] = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            errors.append(f"\\end{{{env}}} does not close the open environment")
    errors += [f"\\begin{{{env}}} never ended" for env in stack]
    if any(ord(ch) > 127 for ch in src):
        errors.append("non-ASCII character")
    return errors


LATEX_OUTPUTS = sorted(name for name in CATALOGUE if name.endswith(".tex"))


def test_structural_checker_catches_mistakes() -> None:
    assert latex_structure_errors(r"\begin{align*} a &= \frac{1}{2} \end{align*}") == []
    assert latex_structure_errors(r"\begin{align*} \frac{1}{2 \end{align*}")
    assert latex_structure_errors(r"\begin{align*} x \end{array}")
    assert latex_structure_errors(r"\left( x")


@pytest.mark.parametrize("name", LATEX_OUTPUTS)
def test_latex_is_well_formed(name: str) -> None:
    assert latex_structure_errors(CATALOGUE[name]) == []


@pytest.mark.skipif(LATEX is None, reason="no TeX installation (pdflatex/latex)")
def test_latex_compiles(tmp_path: Path) -> None:
    body = "\n\n".join(f"% {name}\n{CATALOGUE[name]}" for name in LATEX_OUTPUTS)
    doc = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n"
        "\\usepackage[margin=5mm,paperwidth=120cm,paperheight=200cm]{geometry}\n"
        f"\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )
    (tmp_path / "views.tex").write_text(doc, encoding="ascii")
    assert LATEX is not None
    done = subprocess.run(
        [LATEX, "-interaction=nonstopmode", "-halt-on-error", "views.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]


# -------------------------------------------------------------------------- DOT


def test_dot_text_shows_names_definitions_values_adjoints_and_partials() -> None:
    t, L = seed000_micrograd()
    dot = t.to_dot(t.grad(L))
    assert dot.startswith("digraph symtrace {\n  rankdir=LR;")
    assert 'n0 [label="a (input)\\n= 2\\ndL/da = b*f = 6", shape=box' in dot
    assert 'n4 [label="e = a*b\\n= -6\\ndL/de = f = -2", shape=ellipse];' in dot
    assert 'n6 [label="L = d*f\\n= -8\\ndL/dL = 1", shape=doubleoctagon' in dot
    assert '  n5 -> n6 [label="∂L/∂d = f = -2"];' in dot
    assert '  n0 -> n4 [label="∂e/∂a = b = -3"];' in dot  # says what it is
    assert dot.endswith("}")
    plain = t.to_dot()
    assert "dL/d" not in plain and 'label="e = a*b\\n= -6"' in plain


@pytest.mark.parametrize(
    "how, label",
    [
        ("both", "∂e/∂a = b = -3"),
        ("symbolic", "∂e/∂a = b"),
        ("numeric", "∂e/∂a = -3"),
        ("none", None),
    ],
)
def test_dot_edge_labels(how: str, label: str | None) -> None:
    t, _ = seed000_micrograd()
    dot = t.to_dot(edge_labels=how)
    if label is None:
        assert "  n0 -> n4;" in dot
    else:
        assert f'  n0 -> n4 [label="{label}"];' in dot


def test_dot_options_are_checked() -> None:
    t, _ = seed000_micrograd()
    with pytest.raises(TypeError, match="unexpected option 'colour'"):
        t.to_dot(colour="red")
    with pytest.raises(ValueError, match="edge_labels must be one of"):
        t.to_dot(edge_labels="all")
    with pytest.raises(TypeError, match="must be a Gradient"):
        t.to_dot(42)
    other, y = seed000_micrograd()
    with pytest.raises(ValueError, match="different Trace"):
        t.to_dot(other.grad(y))
    assert "shape=doubleoctagon" in t.to_dot(outputs=["e"]).splitlines()[8]


def test_dot_quoting_escapes_quotes_and_backslashes() -> None:
    assert dotmod.quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert dotmod.quote("x\ny") == '"x\\ny"'
    t, _ = seed000_micrograd()
    assert t.to_dot(name='my "graph"').startswith('digraph "my \\"graph\\"" {')


def test_dot_is_deterministic_across_hash_seeds() -> None:
    code = (
        "import sys, hashlib; sys.path.insert(0, 'tests')\n"
        "from test_views_golden import catalogue\n"
        "c = catalogue()\n"
        "print(hashlib.sha256(repr(sorted(c.items())).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {"PYTHONHASHSEED": seed, "PATH": ""}
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=HERE.parent,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program not installed")
@pytest.mark.parametrize("name", sorted(n for n in CATALOGUE if n.endswith(".dot")))
def test_dot_program_accepts_the_output(name: str) -> None:
    done = subprocess.run(
        ["dot", "-Tsvg"], input=CATALOGUE[name].encode(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"<svg" in done.stdout
    assert not done.stderr, done.stderr.decode()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program not installed")
def test_render_svg_and_png() -> None:
    t, L = seed000_micrograd()
    svg = dotmod.to_svg(t, t.grad(L))
    assert "<svg" in svg and "dL/da = b*f = 6" in svg
    assert dotmod.render(t, "png").startswith(b"\x89PNG")
    bundle = dotmod.graph(t)._repr_mimebundle_()
    assert bundle["text/plain"] == t.to_dot() and "<svg" in bundle["image/svg+xml"]


def test_render_without_graphviz_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # the package is not installed
    monkeypatch.setattr(dotmod.shutil, "which", lambda name: None)  # nor the program
    t, L = seed000_micrograd()
    with pytest.raises(BackendUnavailableError, match="apt install graphviz") as info:
        dotmod.to_svg(t, t.grad(L))
    assert info.value.dot == t.to_dot(t.grad(L))  # type: ignore[attr-defined]
    assert isinstance(info.value, ImportError)
    assert info.value.__cause__ is None
    g = dotmod.graph(t)
    assert g._repr_mimebundle_() == {"text/plain": t.to_dot()}
