"""Doctests that need an optional extra skip cleanly when it is not installed.

A docstring whose examples import an optional third-party package (NumPy, Dask, JAX,
PyTorch, Graphviz, IPython, ...) says so with a reST comment line, which the rendered
docs do not show::

    .. requires: numpy, dask

When one of the named top-level modules cannot be imported, that docstring's doctest is
reported as skipped ("requires numpy") instead of failed; every other doctest runs as
usual.  pytest has no such doctest flag of its own, hence this hook.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

REQUIRES = re.compile(r"^[ \t]*\.\. requires:[ \t]*(.+?)[ \t]*$", re.M)


def missing_modules(docstring: str | None) -> list[str]:
    """The modules named on ``.. requires:`` lines of ``docstring`` that are not installed."""
    names = [
        name.strip()
        for match in REQUIRES.finditer(docstring or "")
        for name in match.group(1).split(",")
    ]
    return [name for name in names if name and importlib.util.find_spec(name) is None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.dtest is not None:
            missing = missing_modules(item.dtest.docstring)
            if missing:
                reason = f"requires {', '.join(missing)} (an optional extra)"
                item.add_marker(pytest.mark.skip(reason=reason))
