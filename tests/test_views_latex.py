"""Every LaTeX output compiles in a standalone A4 document, escapes text, and fits.

Each output goes in its own ``article`` document (A4, ``amsmath`` only) compiled with
``pdflatex``; the tests skip when there is none.  An MLP's derivation must fit the page
(no overfull line), and text from an exercise file (``\\input{/etc/passwd}``) must be
printed, never run.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy

from symtrace import Trace, cli
from symtrace.examples import micrograd_lecture

PDFLATEX = shutil.which("pdflatex")
needs_tex = pytest.mark.skipif(PDFLATEX is None, reason="no pdflatex")
HERE = Path(__file__).resolve().parent


def compile_latex(body: str, where: Path, name: str = "doc") -> str:
    """Compile ``body`` in an A4 article with amsmath; the log (the test fails on errors)."""
    doc = (
        "\\documentclass[a4paper]{article}\n\\usepackage{amsmath}\n"
        f"\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )
    (where / f"{name}.tex").write_text(doc, encoding="utf-8")
    assert PDFLATEX is not None
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", name],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = (where / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 0, log[-3000:]
    return log


def overfull(log: str) -> list[str]:
    return re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)


def mlp() -> tuple[Trace, sympy.Symbol]:
    """A 2-2-1 tanh network with a squared-error loss, every neuron's sum a node."""
    t = Trace()
    x1, x2, y = t.inputs("x_1 x_2 y", values=(2.0, -1.0, 0.5))
    w = t.inputs("w_11 w_12 w_21 w_22 v_1 v_2", values=(-3.0, 1.0, 0.5, -0.7, 0.8, -1.2))
    b1, b2, c = t.inputs("b_1 b_2 c", values=(6.88, 0.1, -0.2))
    n1 = t.define("n_1", w[0] * x1 + w[1] * x2 + b1)
    n2 = t.define("n_2", w[2] * x1 + w[3] * x2 + b2)
    h1 = t.define("h_1", sympy.tanh(n1))
    h2 = t.define("h_2", 1 / (1 + sympy.exp(-n2)))
    z = t.define("z", w[4] * h1 + w[5] * h2 + c)
    o = t.define("o", sympy.tanh(z))
    return t, t.define("L", (o - y) ** 2)


def views() -> dict[str, str]:
    t, L = mlp()
    lecture = micrograd_lecture()
    report = lecture.check({"dL/dd": -2, "dL/de": "f", "dL/da": 5, "dL/db": "2*a*f"}, output="L")
    return {
        "derivation": t.derivation(L).to_latex(),
        "derivation-forward": t.derivation(L, mode="forward", wrt="x_1").to_latex(),
        "table-reverse": t.table(L).to_latex(),
        "table-forward": t.table(L, mode="forward", wrt="x_1").to_latex(),
        "table-primal": t.table(L, mode="primal").to_latex(),
        "gradient": t.grad(L).to_latex(),
        "tangents": t.tangents("x_1").to_latex(),
        "paths": lecture.paths(lecture["L"], "a").to_latex(),
        "paths-mlp": t.paths(L, "x_1").to_latex(),
        "trace": t.to_latex(),
        "report": report.to_latex(),
    }


@needs_tex
@pytest.mark.parametrize("name", sorted(views()))
def test_each_latex_output_compiles_alone_on_a4(name: str, tmp_path: Path) -> None:
    log = compile_latex(views()[name], tmp_path)
    if name in ("derivation", "derivation-forward", "gradient", "trace", "report"):
        assert overfull(log) == [], f"{name} runs off the page"


def test_long_derivation_lines_are_broken_and_split_into_environments() -> None:
    t, L = mlp()
    tex = t.derivation(L).to_latex()
    assert "\n&= " in tex  # a long chain goes on below, after =
    wide = Trace()
    x = wide.input("x", 0.5)
    y = wide.define("y", sympy.Add(*(sympy.sin((k + 1) * x) for k in range(12))))
    assert "&\\quad {}+ " in wide.derivation(y).to_latex()  # a long sum cut between terms
    # each align* holds a page at most
    for env in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        assert env.count("\\\\") < 24


def test_a_repeated_half_of_a_chain_is_written_once() -> None:
    t = Trace()
    r = t.input("r", 2)
    s = t.define("s", r + 1)
    L = t.define("L", s + 0)
    line = str(t.derivation(L)).splitlines()[-1]
    assert line == "dL/dr = dL/ds · ∂s/∂r = 1 · 1 = 1"


def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(
        "title = '\\input{/etc/passwd} x^2 ~a_b 50% #1 & $'\n"
        "description = 'see \\input{/etc/hostname} and ^ ~ \\\\'\n"
        "output = 'L'\n[inputs]\na = 2\nb = -3\n[define]\nL = 'a*b'\n"
        "[answers]\nL = -6\n'dL/da' = 5\n",
        encoding="utf-8",
    )
    return path


def run_cli(*argv: str) -> str:
    out = io.StringIO()
    old = cli.sys.stdout
    cli.sys.stdout = out
    try:
        cli.main(list(argv))
    finally:
        cli.sys.stdout = old
    return out.getvalue()


@needs_tex
def test_text_from_an_exercise_file_is_escaped_not_run(tmp_path: Path) -> None:
    path = hostile(tmp_path)
    for command in ("check", "explain"):
        tex = run_cli(command, "--format", "latex", str(path))
        assert "\\input{" not in tex
        log = compile_latex(tex, tmp_path, command)
        assert "/etc/passwd" not in log.replace("\\textbackslash", "")
        assert "(/etc/" not in log  # no file was opened
        if command == "check":
            assert overfull(log) == []


def test_report_latex_is_math_where_it_is_math() -> None:
    report = micrograd_lecture().check({"dL/da": 5, "∂d/∂e": 1}, output="L")
    tex = report.to_latex()
    assert "$\\mathrm{d}L/\\mathrm{d}a$" in tex
    assert "$\\partial d/\\partial e$" in tex
    assert "$b f = 6$" in tex
    assert "\\paragraph" not in tex
