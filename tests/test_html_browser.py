"""The HTML explorer in a real headless browser (Chromium through Playwright), asserted on
the DOM and on network requests, never on pixels.

Needs ``pip install playwright`` and a Chromium: Debian's ``apt-get install chromium`` (found
at /usr/bin/chromium, or set SYMTRACE_CHROMIUM to its path), or ``playwright install
chromium``.  Without one the tests skip and say so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import symtrace.html as sh
from symtrace.examples import micrograd_lecture
from symtrace.exercise import load

ROOT = Path(__file__).resolve().parent.parent
HOW = (
    "no headless browser: pip install playwright, then apt-get install chromium "
    "(or set SYMTRACE_CHROMIUM=/path/to/chromium, or run: playwright install chromium)"
)
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def _chromium() -> str | None:
    found = os.environ.get("SYMTRACE_CHROMIUM")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = found or shutil.which(name)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason=HOW)
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        except Exception as exc:  # no browser binary, or it cannot start here
            pytest.skip(f"{HOW} ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """open_page(html) -> page; records every request and every script error."""
    pages = []

    def opener(text: str) -> Any:
        path = tmp_path / f"page{len(pages)}.html"
        path.write_text(text, encoding="utf-8")
        page = browser.new_page(viewport={"width": 1300, "height": 800})
        page.requests, page.errors = [], []
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(path.as_uri())
        pages.append((page, path))
        return page

    yield opener
    for page, path in pages:
        assert page.errors == [], page.errors
        assert page.requests == [path.as_uri()], "the page made network requests"
        page.close()


def seed000(**options: Any) -> str:
    return sh.to_html(micrograd_lecture().grad("L"), **options)


def shown(page: Any, attr: str = "data-adjoint") -> dict[str, str]:
    return page.eval_on_selector_all(
        f"#graph [{attr}]",
        f"els => Object.fromEntries(els.map(e => [e.getAttribute('{attr}'), e.textContent]))",
    )


@pytest.mark.parametrize("layout", ["layered", "auto"])
def test_clicking_a_shows_its_adjoint(open_page: Any, layout: str) -> None:
    page = open_page(seed000(layout=layout))
    page.click('[data-node="a"]')
    assert page.text_content('#details [data-adjoint="a"]') == "6"
    details = page.inner_text("#details")
    assert "dL/da = dL/de · ∂e/∂a = f · b = (-2) · (-3) = 6" in details
    assert "L → d → e → a" in details
    assert page.eval_on_selector("#details math", "m => m.namespaceURI").endswith("MathML")


def test_stepping_the_reverse_sweep(open_page: Any) -> None:
    page = open_page(seed000())
    order = ["L", "d", "e", "f", "c", "b", "a"]
    numbers = {"L": "1", "d": "-2", "e": "-2", "f": "4", "c": "-2", "b": "-4", "a": "6"}
    assert shown(page) == numbers  # at first: every adjoint
    for n in range(1, len(order) + 1):
        page.click('[data-action="step-reverse"]')
        assert shown(page) == {k: numbers[k] for k in order[:n]}, f"after {n} steps"
    page.click('[data-action="reset"]')
    assert shown(page) == {}
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert shown(page) == {"L": "1", "d": "-2", "e": "-2"}
    active = page.eval_on_selector_all(
        ".edge.active", "es => es.map(e => e.dataset.from + e.dataset.to)"
    )
    assert active == ["ed"]  # e's adjoint comes from its consumer d
    page.keyboard.press("ArrowLeft")
    assert shown(page) == {"L": "1", "d": "-2"}


def test_the_details_panel_follows_the_sweep(open_page: Any) -> None:
    page = open_page(seed000())
    page.click('[data-action="step-reverse"]')
    page.click('[data-node="a"]')
    assert page.locator("[data-adjoint]").count() == 1  # only L's, in the graph
    assert "not computed yet" in page.inner_text("#details")


def test_stepping_the_forward_sweep(open_page: Any) -> None:
    page = open_page(seed000())
    page.select_option('[data-action="wrt"]', "b")
    for _ in range(3):
        page.click('[data-action="step-forward"]')
    assert shown(page, "data-tangent") == {"b": "1", "e": "2", "d": "2"}
    assert shown(page) == {}  # adjoint slots show tangents in forward mode
    page.click('[data-action="show-all"]')
    assert shown(page, "data-tangent") == {"b": "1", "e": "2", "d": "2", "L": "-4"}


def test_path_highlighting_marks_the_right_edges(open_page: Any) -> None:
    page = open_page(seed000())
    on_path = "es => es.map(e => e.dataset.from + '>' + e.dataset.to).sort()"
    page.click('[data-node="a"]')
    assert page.eval_on_selector_all(".edge.on-path", on_path) == ["a>e", "d>L", "e>d"]
    page.click('[data-node="d"]')
    assert page.eval_on_selector_all(".edge.on-path", on_path) == ["d>L"]
    page.click('[data-node="L"]')
    assert page.eval_on_selector_all(".edge.on-path", on_path) == []


def test_keyboard_focus_selects_a_node(open_page: Any) -> None:
    page = open_page(seed000())
    page.focus('[data-node="f"]')
    assert page.text_content('#details [data-adjoint="f"]') == "4"
    page.keyboard.press("Tab")
    assert page.inner_text("#details h2") == "Node e"


def test_a_hostile_title_is_shown_as_text(open_page: Any) -> None:
    page = open_page(seed000(title=HOSTILE))
    assert page.inner_text("h1") == HOSTILE
    assert page.title() == HOSTILE
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0


def test_a_report_is_marked_on_the_graph(open_page: Any) -> None:
    ex = load(ROOT / "examples" / "seed000.toml")
    report = ex.check(load(ROOT / "examples" / "seed000-carried.toml").answers)
    page = open_page(sh.to_html(ex.trace.grad(ex.output), report=report))
    assert "↳ dL/de carried" in page.text_content('[data-node="e"]')
    assert "✗ ∂d/∂e wrong" in page.text_content('.edge[data-from="e"][data-to="d"]')
    page.click('[data-node="e"]')
    assert "carried dL/de: you wrote 2" in page.inner_text("#details")


def test_a_fifty_node_mlp_pans_zooms_and_steps(open_page: Any) -> None:
    from symtrace import Value

    xs = [Value(v, label=f"x{i}") for i, v in enumerate([0.5, -1.0, 2.0])]
    hidden = []
    for j in range(4):
        z = Value(0.1 * j, label=f"b{j}")
        for i, x in enumerate(xs):
            z = z + Value(0.3 - 0.2 * i + 0.1 * j, label=f"w{j}{i}") * x
        hidden.append(z.tanh())
    out = Value(0.0, label="c")
    for j, h in enumerate(hidden):
        out = out + Value(0.5 - 0.3 * j, label=f"v{j}") * h
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    t = loss.trace()
    assert len(t.nodes) >= 50
    page = open_page(sh.to_html(t.grad("loss")))
    assert page.locator("[data-node]").count() == len(t.nodes)
    assert shown(page)["x0"] == sh.nt.number(xs[0].grad)
    before = page.get_attribute("#graph", "viewBox")
    page.click('[data-action="zoom-in"]')
    assert page.get_attribute("#graph", "viewBox") != before
    page.click('[data-action="fit"]')
    page.click('[data-action="reset"]')
    page.click('[data-action="step-reverse"]')
    assert shown(page) == {"loss": "1"}
