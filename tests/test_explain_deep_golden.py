"""``symtrace explain`` of a deep chain, compared with the text written before explaining
was made faster (issue 16: each expression printed once, reused across the views).

``tests/explain_golden/deep-chain.toml`` is ``benchmarks/bench_files.py``'s ``deep(25)`` with a
title: deep enough that results are named instead of repeated (``printing.REFERENCE_SIZE``)
and cells are cut across lines.  The goldens were written by the code before the change.
``families.toml`` (36 definitions of three forms, nodes named ``p``, ``k`` and ``alpha_``
around the inputs ``m`` and ``alpha``, so that the alphabetical order of the names, and
so the order SymPy prints them in, changes from node to node, and names are one to three
columns wide) pins the printing of each family of definitions once (issue 16); its
goldens were written by the code before that change.
After an intended change of the explanation, regenerate them and review the diff::

    python tests/test_explain_deep_golden.py
    git diff tests/explain_golden/
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symtrace.cli import explain

GOLDEN = Path(__file__).resolve().parent / "explain_golden"
EXERCISES = ("deep-chain", "families")
FORMATS = {"text": "explain.txt", "latex": "explain.tex"}


def _explain(fmt: str, exercise: str = "deep-chain") -> str:
    """The explanation as ``symtrace explain`` writes it (the title is the file's)."""
    return explain(str(GOLDEN / f"{exercise}.toml"), fmt)


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_explanation_of_a_deep_chain_is_unchanged(fmt: str, exercise: str) -> None:
    expected = (GOLDEN / f"{exercise}-{FORMATS[fmt]}").read_text(encoding="utf-8")
    assert _explain(fmt, exercise) == expected


def test_printing_twice_gives_the_same_text() -> None:
    # the second explanation prints from the remembered strings
    assert _explain("text") == _explain("text")


if __name__ == "__main__":
    for exercise in EXERCISES:
        for fmt, name in FORMATS.items():
            (GOLDEN / f"{exercise}-{name}").write_text(_explain(fmt, exercise), encoding="utf-8")
