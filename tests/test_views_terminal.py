"""Views at a terminal and a REPL: wrapped text, readable reprs, ``symtrace --version``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import symtrace
from symtrace import Trace, cli
from symtrace import notation as nt
from symtrace.examples import micrograd_lecture

ROOT = Path(__file__).resolve().parent.parent


def neuron() -> tuple[Trace, sympy.Symbol]:
    t = Trace()
    x1, x2, w1, w2, b = t.inputs("x_1 x_2 w_1 w_2 b", values=(2, 0, -3, 1, 6.8813735870195432))
    n = t.define("n", x1 * w1 + x2 * w2 + b)
    o = t.define("o", sympy.tanh(n))
    return t, t.define("L", (o - 0.5) ** 2 + sympy.exp(-n) * w1 + sympy.sin(x1 * x2 + w2 * b))


def test_derivation_wraps_to_a_width_with_a_hanging_indent() -> None:
    t, L = neuron()
    d = t.derivation(L)
    assert max(map(nt.width, str(d).splitlines())) > 60  # unwrapped by default
    wrapped = d.to_text(width=60).splitlines()
    assert all(nt.width(line) <= 60 for line in wrapped[1:]), wrapped
    first = next(k for k, line in enumerate(wrapped) if line.startswith("dL/dn ="))
    assert wrapped[first + 1].startswith(" " * len("dL/dn ") + "= ") or wrapped[
        first + 1
    ].startswith(" " * len("dL/dn ") + "  ")
    # the same content, only laid out differently
    squash = " ".join(" ".join(wrapped).split())
    assert squash == " ".join(str(d).replace("\n", " ").split())


def test_gradient_wraps_too() -> None:
    t, L = neuron()
    lines = t.grad(L).to_text(width=60).splitlines()
    assert all(nt.width(line) <= 60 for line in lines[1:])


@pytest.mark.parametrize("bad", [0, 5, "80", True])
def test_width_is_validated(bad: object) -> None:
    t, L = neuron()
    with pytest.raises(ValueError, match="width"):
        t.derivation(L).to_text(width=bad)


def test_every_view_repr_shows_its_text_or_a_summary() -> None:
    t = micrograd_lecture()
    L = t["L"]
    for view in (t.derivation(L), t.table(L), t.table(L, mode="forward", wrt="a")):
        assert repr(view) == str(view)
        assert " at 0x" not in repr(view)
    for view in (t.grad(L), t.tangents("a"), t.paths(L, "a"), t, t.check({"dL/da": 6}, "L")):
        assert " object at 0x" not in repr(view)
    long = Trace()
    x = long.input("x", 0.5)
    for k in range(60):
        x = long.define(f"v{k}", sympy.sin(x))
    r = repr(long.derivation(x))
    assert r.endswith("more lines; print() it for all)") and r.count("\n") < 20


def test_report_text_wraps_to_the_terminal_width_with_hanging_indents() -> None:
    ex = ROOT / "examples" / "seed000-carried.toml"
    done = subprocess.run(
        [sys.executable, "-m", "symtrace", "check", str(ex)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert max(map(nt.width, lines)) <= cli.NOT_A_TERMINAL_WIDTH  # not a terminal: 100
    carried = next(k for k, line in enumerate(lines) if line.startswith("    carried:"))
    assert lines[carried + 1].startswith("      ")  # continuation: hanging indent


def test_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "symtrace", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"symtrace {symtrace.__version__}"
