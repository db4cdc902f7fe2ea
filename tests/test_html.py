"""The HTML explorer without a browser: the page parses, is self-contained, embeds
round-tripping JSON, escapes free text, and falls back to its own layout without dot."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

import symtrace.html as sh
from symtrace import Trace
from symtrace.cli import main
from symtrace.examples import micrograd_lecture
from symtrace.exercise import load

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script> & </title><img src=x onerror=alert(1)>'


class Collect(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in: dict[str, str | None] | None = None
        self.title = ""
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append((self._in, ""))
        self._title = tag == "title" and not self.title

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None
        self._title = False

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._title:
            self.title += data


def parse(page: str) -> Collect:
    c = Collect()
    c.feed(page)
    c.close()
    return c


def embedded(page: str) -> dict:
    c = parse(page)
    (text,) = [t for a, t in c.scripts if a.get("type") == "application/json"]
    return json.loads(text)


@pytest.fixture(scope="module")
def page() -> str:
    return sh.to_html(micrograd_lecture().grad("L"), title="seed 000", layout="layered")


def test_the_page_parses_and_has_the_hooks(page: str) -> None:
    c = parse(page)
    nodes = [a["data-node"] for t, a in c.tags if "data-node" in a]
    assert nodes == ["a", "b", "c", "f", "e", "d", "L"]
    actions = {a["data-action"] for t, a in c.tags if "data-action" in a}
    assert {"step-reverse", "step-forward", "reset"} <= actions
    assert any(a.get("id") == "details" for t, a in c.tags)
    edges = {(a["data-from"], a["data-to"]) for t, a in c.tags if "data-from" in a}
    assert edges == {("a", "e"), ("b", "e"), ("e", "d"), ("c", "d"), ("d", "L"), ("f", "L")}
    assert all(a.get("tabindex") == "0" for t, a in c.tags if "data-node" in a)


def test_the_page_is_self_contained(page: str) -> None:
    assert not re.search(r"https?://", page)
    for tag, attrs in parse(page).tags:
        assert tag not in ("link", "img", "iframe", "object", "embed")
        if tag == "script":
            assert "src" not in attrs
        for name in ("src", "href"):
            assert attrs.get(name) in (None,) or attrs[name].startswith("#")


def test_the_embedded_json_round_trips(page: str) -> None:
    data = embedded(page)
    expected = sh.explorer_data(micrograd_lecture().grad("L"), title="seed 000")
    assert data == json.loads(json.dumps(expected))
    adjoints = {n["name"]: n["adjoint"] for n in data["nodes"]}
    assert adjoints == {"a": "6", "b": "-4", "c": "-2", "f": "4", "e": "-2", "d": "-2", "L": "1"}
    assert data["reverse"] == ["L", "d", "e", "f", "c", "b", "a"]
    (path,) = next(n for n in data["nodes"] if n["name"] == "a")["paths"]["listed"]
    assert path["nodes"] == ["L", "d", "e", "a"]
    assert data["forward"]["a"]["values"] == {"a": "1", "e": "-3", "d": "-3", "L": "6"}


def test_math_is_sympys_presentation_mathml(page: str) -> None:
    data = embedded(page)
    e = next(n for n in data["nodes"] if n["name"] == "e")
    assert (
        e["definitionMath"]
        == "<math><mrow><mi>a</mi><mo>&InvisibleTimes;</mo><mi>b</mi></mrow></math>"
    )


def test_hostile_titles_and_report_texts_are_escaped() -> None:
    t = micrograd_lecture()
    report = t.check({"dL/da": 5}, output="L")
    page = sh.to_html(t.grad("L"), title=HOSTILE, report=report, layout="layered")
    assert "<script>alert" not in page and "<img" not in page
    assert parse(page).title == HOSTILE  # shown as text
    json_text = next(s for a, s in parse(page).scripts if a.get("type") == "application/json")
    assert "<" not in json_text and ">" not in json_text and "&" not in json_text
    data = embedded(page)
    assert data["title"] == HOSTILE
    (answer,) = next(n for n in data["nodes"] if n["name"] == "a")["answers"]
    assert answer["verdict"] == "wrong" and answer["claimed"] == "5"


def test_the_json_block_cannot_be_closed_early() -> None:
    text = sh._json_script({"t": "</script><!-- & \u2028"})
    assert "</" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text) == {"t": "</script><!-- & \u2028"}


def test_answers_are_marked_with_text_not_only_colour() -> None:
    ex = load(ROOT / "examples" / "seed000.toml")
    report = ex.check(load(ROOT / "examples" / "seed000-carried.toml").answers)
    page = sh.to_html(ex.trace.grad(ex.output), report=report, layout="layered")
    assert "✗ ∂d/∂e wrong" in page and "↳ dL/de carried" in page and "✓ L correct" in page
    assert 'class="node inner v-wrong" data-node="d"' in page
    assert 'class="node inner v-carried" data-node="e"' in page


def test_without_dot_the_layered_layout_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sh.shutil, "which", lambda name: None)
    assert sh.find_dot() is None
    page = sh.to_html(micrograd_lecture().grad("L"))
    assert 'data-layout="layered"' in page
    with pytest.raises(sh.BackendUnavailableError, match="graphviz"):
        sh.to_html(micrograd_lecture().grad("L"), layout="dot")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' program not installed")
def test_with_dot_graphviz_lays_the_graph_out() -> None:
    page = sh.to_html(micrograd_lecture().grad("L"))
    assert 'data-layout="dot"' in page
    assert len(re.findall(r'<g class="edge"', page)) == 6


def test_layered_layout_puts_parents_left_of_consumers() -> None:
    t = micrograd_lecture()
    data = sh.explorer_data(t.grad("L"))
    names = [n["name"] for n in data["nodes"]]
    parents = {n["name"]: n["parents"] for n in data["nodes"]}
    boxes, width, height = sh._layered(names, parents, {n: (60.0, 40.0) for n in names})
    for child, ps in parents.items():
        for p in ps:
            assert boxes[p][0] < boxes[child][0]
    for x, y, w, h in boxes.values():
        assert 0 <= x - w / 2 and x + w / 2 <= width and 0 <= y - h / 2 and y + h / 2 <= height


def test_nodes_that_do_not_reach_the_output() -> None:
    t = Trace()
    x, z = t.inputs("x z", values=(3, 1))
    y = t.define("y", x**2)
    t.define("w", z + 1)
    data = sh.explorer_data(t.grad(y))
    w = next(n for n in data["nodes"] if n["name"] == "w")
    assert data["reverse"] == ["y", "x"] and w["reaches"] is False and w["adjoint"] == "0"


def test_a_trace_without_values_still_renders() -> None:
    t = Trace()
    a, b = t.inputs("a b")
    t.define("e", a * b)
    data = sh.explorer_data(t.grad("e"))
    assert [n["value"] for n in data["nodes"]] == [None, None, None]
    assert data["nodes"][0]["adjointText"] == "b"
    assert "data-node" in sh.to_html(t.grad("e"), layout="layered")


def test_bad_options_are_rejected() -> None:
    g = micrograd_lecture().grad("L")
    with pytest.raises(ValueError, match="layout"):
        sh.to_html(g, layout="circle")
    with pytest.raises(ValueError, match="precision"):
        sh.to_html(g, precision=0)


def test_explorer_shows_in_a_sandboxed_iframe(tmp_path: Path) -> None:
    ex = sh.explore(micrograd_lecture().grad("L"), layout="layered")
    frame = ex._repr_html_()
    assert frame.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in frame
    (srcdoc,) = [a["srcdoc"] for t, a in parse(frame).tags if t == "iframe"]
    assert srcdoc == ex.html
    assert ex.save(tmp_path / "p.html").read_text(encoding="utf-8") == ex.html


def test_cli_writes_the_page_and_marks_a_submission(tmp_path: Path, capsys) -> None:
    out = tmp_path / "page.html"
    key, sub = ROOT / "examples" / "seed000.toml", ROOT / "examples" / "seed000-carried.toml"
    assert main(["html", str(key), "-o", str(out), "--answers", str(sub)]) == 0
    data = embedded(out.read_text(encoding="utf-8"))
    assert data["title"] == "micrograd lecture, manual backprop example 1"
    assert data["report"]["firstError"] == "∂d/∂e"
    assert data["report"]["counts"] == {"correct": 3, "wrong": 1, "carried": 3}
    assert f"wrote {out}" in capsys.readouterr().err
    assert main(["html", str(key)]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main(["html", str(tmp_path / "missing.toml")]) == 2


def test_cli_takes_a_key_and_an_answers_only_submission(tmp_path: Path) -> None:
    """`symtrace html KEY --answers SUBMISSION`: the class workflow's files work too."""
    key = ROOT / "tests" / "classroom" / "key.toml"
    sub = tmp_path / "sub.toml"
    sub.write_text('student = "zoe"\n[answers]\nL = 1\n', encoding="utf-8")
    out = tmp_path / "page.html"
    assert main(["html", str(key), "-o", str(out), "--answers", str(sub)]) == 0
    data = embedded(out.read_text(encoding="utf-8"))
    marked = [a for n in data["nodes"] for a in n["answers"]]
    assert [a["key"] for a in marked] == ["L"] and marked[0]["verdict"] in {"correct", "wrong"}
    assert data["report"]["blank"], "the questions zoe left out are listed as blank"


def test_matrix_nodes_show_their_matrices_and_vjp_rules() -> None:
    """A tanh layer: each node's matrix value and adjoint, each edge's VJP rule."""
    import symtrace as st

    t = st.Trace()
    W = t.input("W", [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    x = t.input("x", [[1.0], [2.0], [3.0]])
    b = t.input("b", [[0.5], [-0.5]])
    y = t.input("y", [[1.0], [0.0]])
    z = t.define("z", W @ x + b)
    h = t.define("h", st.tanh(z))
    L = t.define("L", st.sum(st.square(h - y)))
    g = t.grad(L)
    data = embedded(t.to_html(L))
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["W"]["adjoint"] == st.notation.number(g.value(W))
    assert nodes["W"]["chain"].startswith("dL/dW = dL/dz · ∂z/∂W = z̄ xᵀ = 2 ")
    labels = {(e["from"], e["to"]): e["label"] for e in data["edges"]}
    assert labels[("W", "z")] == "∂z/∂W = z̄ xᵀ" and labels[("x", "z")] == "∂z/∂x = Wᵀ z̄"
    assert data["forward"] == {}  # forward mode is for scalar traces
    assert "Lambda" not in json.dumps(data)
    del h
