"""Sphinx configuration for the symtrace documentation (MyST Markdown)."""

from __future__ import annotations

import symtrace

project = "symtrace"
author = "symtrace developers"
copyright = "2026, symtrace developers"
release = symtrace.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    # MathJax served from the built site, not a CDN: formulas render offline and on school
    # networks that block CDNs.
    "sphinx-mathjax-offline",
]
myst_enable_extensions = ["amsmath", "colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}

html_theme = "furo"
html_title = "symtrace"

# ---------------------------------------------------------------------------------------
# The HTML explorer of each tutorial's example, written at build time into docs/_explorers
# (git-ignored) and copied to the site as explorers/<example>.html; the tutorials link it.
EXPLORERS = {
    "seed000_micrograd": "The micrograd lecture's example: L = (a·b + c)·f",
    "seed001_log": "Finite differences versus reverse mode: log(x1·x2·(x1 + x2)) / (x1 − x2)²",
    "seed002_graph": "Forward and reverse mode: sin(π·x1^(x2^x1)) + cos(π·log x1)",
    "seed003_tensor": "A gradient graph: (12 − x·e^y) / (45 + x·y·e^−x)",
}


def _write_explorers() -> str:
    from pathlib import Path

    from symtrace.examples import EXAMPLES
    from symtrace.html import to_html

    root = Path(__file__).resolve().parent / "_explorers"
    (root / "explorers").mkdir(parents=True, exist_ok=True)
    for name, title in EXPLORERS.items():
        trace, output = EXAMPLES[name]()
        page = to_html(trace.grad(output), title=title)
        (root / "explorers" / f"{name}.html").write_text(page, encoding="utf-8")
    return str(root)


html_extra_path = [_write_explorers()]
exclude_patterns.append("_explorers")
