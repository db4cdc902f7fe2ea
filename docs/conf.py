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
