"""One rendering protocol for every view object (Gradient, Tangents, Paths, Derivation,
tables, Report).

A view is rendered by ``_render(fmt, **options)`` for ``fmt`` in ``"text"``,
``"markdown"``, ``"latex"``; this mixin turns it into ``str(v)``, ``v.to_text()``,
``v.to_markdown()``, ``v.to_latex()``, ``sympy.latex(v)`` (through SymPy's printer
hook ``_latex``) and rich display in Jupyter (``_repr_latex_``, ``_repr_markdown_``,
``_repr_mimebundle_``).
IPython is never imported here.  Every output is in Unicode's composed form (NFC), so
that what a reader copies from one view matches what another printed (``ȧ`` is one
character everywhere, not ``a`` followed by a combining dot in one table only).

Result objects (``Gradient``, ``Tangents``, ``Paths``, ``Report``) live below the
printing layer, so their default ``_render`` hands them to
:func:`symtrace.printing.render`.  That is symtrace's one lazy import of its own code
(as SymPy's ``_print_helpers.py`` does): printing imports the results it prints, so
the results cannot import printing at module level.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["Renderable"]

FORMATS = ("text", "markdown", "latex")


class Renderable:
    """Mixin giving a view every output format from its ``_render`` method."""

    __slots__ = ()

    def _render(self, fmt: str, **options: Any) -> str:
        from . import printing  # the one lazy import of symtrace's own code (see above)

        return printing.render(self, fmt, **options)

    def _composed(self, fmt: str, **options: Any) -> str:
        return unicodedata.normalize("NFC", self._render(fmt, **options))

    def to_text(self, **options: Any) -> str:
        """Plain Unicode text."""
        return self._composed("text", **options)

    def to_markdown(self, **options: Any) -> str:
        """GitHub-flavoured Markdown (tables, inline ``$...$`` math)."""
        return self._composed("markdown", **options)

    def to_latex(self, **options: Any) -> str:
        """LaTeX source (an environment that compiles inside a document)."""
        return self._composed("latex", **options)

    def __str__(self) -> str:
        return self.to_text()

    def _latex(self, printer: Any) -> str:  # sympy.latex(view)
        return self.to_latex()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython's plain text
        p.text(self.to_text())

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": self.to_text(),
            "text/markdown": self.to_markdown(),
            "text/latex": self.to_latex(),
        }
