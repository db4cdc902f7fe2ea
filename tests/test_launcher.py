"""The console script's launcher: ``--help``, ``-h`` and ``--version`` without SymPy.

``symtrace --help`` used to take over half a second, most of it ``import sympy``.  The
launcher (``symtrace_launcher.py``, outside the package) answers those from the one
argument parser before anything of symtrace loads.  These tests run it in a child
process and look at what the child imported; the time it takes is measured in
``benchmarks/bench_cli.py``, not here.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import symtrace
import symtrace_launcher
from symtrace import cli, generate, templates

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("demo", "check", "explain", "new", "html", "grade", "variants", "sheet")

# Runs the launcher in a fresh interpreter, then reports its output, its status and
# which of symtrace's, SymPy's and NumPy's modules it imported.
CHILD = """
import contextlib, io, json, sys
import symtrace_launcher
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = symtrace_launcher.main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "numpy", "symtrace"))
sys.__stdout__.write(json.dumps({"status": status, "out": out.getvalue(), "heavy": heavy}))
"""


def launch(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "COLUMNS": "100", "PATH": ""},
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def in_process(*argv: str) -> tuple[int, str]:
    """What ``symtrace.cli.main`` prints for ``argv``, in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(list(argv))
    return status, out.getvalue()


@pytest.mark.parametrize(
    "argv", [("--help",), ("-h",), ("--version",)] + [(c, "-h") for c in SUBCOMMANDS]
)
def test_help_and_version_import_neither_sympy_nor_symtrace(
    argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    child = launch(*argv)
    assert child["status"] == 0
    assert child["heavy"] == []  # not sympy, not numpy, not the symtrace package
    # One parser: the launcher prints exactly what symtrace.cli prints.
    monkeypatch.setenv("COLUMNS", "100")
    assert in_process(*argv) == (0, child["out"])


def test_the_help_names_every_subcommand() -> None:
    text = launch("--help")["out"]
    assert isinstance(text, str) and text.startswith("usage: symtrace")
    for command in SUBCOMMANDS:
        assert f"    {command} " in text


def test_version_is_the_package_version() -> None:
    assert launch("--version")["out"] == f"symtrace {symtrace.__version__}\n"
    assert symtrace.__version__ == symtrace_launcher.__version__


def test_usage_errors_end_in_the_launcher_too() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, "frobnicate"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    result = json.loads(child.stdout)
    assert result["status"] == 2 and result["heavy"] == []
    assert "invalid choice: 'frobnicate'" in child.stderr


def test_a_command_that_works_goes_on_to_the_package() -> None:
    child = launch("demo")
    assert child["status"] == 0
    assert child["out"] == cli.demo()
    assert "sympy" in child["heavy"] and "symtrace.cli" in child["heavy"]


def test_the_template_names_are_the_generators() -> None:
    # Repeated in the launcher as plain data so that --help needs no SymPy.
    assert symtrace_launcher.SCALAR_TEMPLATES == generate.TEMPLATES
    assert symtrace_launcher.MATRIX_TEMPLATES == templates.TEMPLATES


def test_pyproject_takes_the_version_and_the_script_from_the_launcher() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["symtrace"] == "symtrace_launcher:main"
    assert project["project"]["dynamic"] == ["version"]
    setuptools = project["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "symtrace_launcher.__version__"}
    assert "symtrace_launcher" in setuptools["py-modules"]
