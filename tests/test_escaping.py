"""Text from an exercise file is escaped for the format it lands in (issue 16):
LaTeX cannot read files, Markdown carries no raw HTML, terminals get no escape codes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from symtrace.cli import explain
from symtrace.exercise import load
from symtrace.notation import latex_escape, markdown_escape, terminal_safe

ESC = "\x1b"


def hostile(tmp_path: Path, target: str) -> Path:
    f = tmp_path / "hostile.toml"
    f.write_text(
        f'title = "T \\\\input{{{target}}} <script>alert(1)</script> \\u001b[31mred"\n'
        f'description = "D \\\\input{{{target}}}\\n\\n\\\\include{{{target}}} $x$ # % & '
        '<img src=x onerror=alert(1)> \\u001b]0;pwned\\u0007 \\u202e"\n'
        f"# a comment \\input{{{target}}}\n"
        'output = "L"\n[inputs]\na = 2\n[define]\nL = "a*3"\n[answers]\n"dL/da" = 3\n',
        encoding="utf-8",
    )
    return f


def test_escapers_neutralise_what_they_must() -> None:
    assert "\\input" not in latex_escape(r"\input{/etc/passwd}")
    assert ESC not in latex_escape(ESC + "[31m") and ESC not in terminal_safe(ESC + "[31m")
    assert "<" not in markdown_escape("<script>") and "\u202e" not in terminal_safe("\u202e")
    assert terminal_safe("a\nb\tc") == "a\nb\tc" and terminal_safe("a\nb", False) == "a b"


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_explain_carries_no_control_characters_or_html(tmp_path: Path, fmt: str) -> None:
    out = explain(str(hostile(tmp_path, "/etc/passwd")), fmt)
    assert ESC not in out and "\x07" not in out and "\u202e" not in out
    if fmt == "markdown":  # (in LaTeX and text, "<script>" is only text)
        assert "<script>" not in out and "<img" not in out
    if fmt == "latex":
        assert "\\input{" not in out and "\\include{" not in out


def test_reports_carry_no_control_characters_or_html(tmp_path: Path) -> None:
    r = load(hostile(tmp_path, "/etc/passwd")).check()
    for text in (r.to_text(), r.to_markdown(), r.to_latex()):
        assert ESC not in text and "\u202e" not in text
    assert "<script>" not in r.to_markdown()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_compiled_latex_of_a_hostile_file_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.tex"
    secret.write_text("SECRETMARKERSIXTEEN\n")
    for target in (str(secret), "/etc/passwd"):
        body = explain(str(hostile(tmp_path, target)), "latex")
        doc = tmp_path / "doc.tex"
        doc.write_text(
            "\\documentclass{article}\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
            + body
            + "\n\\end{document}\n",
            encoding="utf-8",
        )
        run = subprocess.run(
            [
                "pdflatex",
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-no-shell-escape",
                "doc.tex",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = (tmp_path / "doc.log").read_text(errors="replace")
        assert run.returncode == 0, log[-2000:]
        assert f"({target}" not in log.replace("\n", "")  # pdflatex logs "(FILE" on open
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True
            ).stdout
            assert "SECRETMARKERSIXTEEN" not in text and "root:" not in text
            assert "input" in text  # the text itself is shown
