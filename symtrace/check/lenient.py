"""Reading what students write: a text-to-text normaliser in front of the safe parser.

:func:`normalise` rewrites an answer as students type or paste it into the syntax that
:func:`symtrace.parsing.parse_expression` reads, and nothing more: implicit
multiplication (``2a``, ``b f``, ``2(a + b)``, ``(a)(b)``), ``^`` for a power, ``·``,
``×``, ``÷``, the minus sign ``−``, superscript powers (``x²``), subscripts (``x₁`` is
``x1``, as the views print node names) and simple LaTeX (``\\frac{a}{b}``, ``\\cdot``,
``x^{2}``, ``\\sigma(z)``, ``\\tanh``, ``\\left( \\right)``).

It never evaluates anything and adds no name that the text does not contain, except the
whitelisted functions its LaTeX commands stand for (:data:`LATEX_FUNCTIONS`): the result
goes through the same parser with the same limits, so it cannot widen what is accepted.
Text longer than the answer limit is returned unchanged (the parser rejects it), and the
work is linear in the length of the text.

>>> normalise("2a"), normalise("b f"), normalise("2(a + b)"), normalise("(a)(b)")
('2*a', 'b*f', '2*(a + b)', '(a)*(b)')
>>> normalise("x^2 − 3·y"), normalise("x₁ × 2"), normalise("\\\\frac{a}{b}")
('x**2 - 3*y', 'x1 * 2', '((a)/(b))')
>>> normalise("\\\\sigma(z)(1-\\\\sigma(z))"), normalise("e^{2}")
('sigmoid(z)*(1-sigmoid(z))', 'e**(2)')
>>> normalise("∂L/∂x₁", key=True)
'∂L/∂x1'
"""

from __future__ import annotations

import re

from ..parsing import FUNCTIONS
from .claims import ANSWER_LIMITS
from .keys import SUBSCRIPT_DIGITS

__all__ = ["LATEX_FUNCTIONS", "normalise", "normalise_matrix"]

#: LaTeX commands read as one of the parser's functions or operators.
LATEX_FUNCTIONS = {
    "\\sigma": "sigmoid",
    "\\tanh": "tanh",
    "\\exp": "exp",
    "\\log": "log",
    "\\ln": "log",
    "\\sin": "sin",
    "\\cos": "cos",
    "\\max": "max",
    "\\min": "min",
    "\\operatorname{relu}": "relu",
    "\\mathrm{relu}": "relu",
    "\\text{relu}": "relu",
}
_LATEX_OPERATORS = {
    "\\cdot": "*",
    "\\times": "*",
    "\\div": "/",
    "\\left": "",
    "\\right": "",
    "\\,": "",
    "\\;": "",
    "\\!": "",
    "\\partial": "∂",
}
_CHARACTERS = str.maketrans(
    {
        "−": "-",
        "–": "-",
        "·": "*",
        "⋅": "*",
        "∙": "*",
        "×": "*",
        "÷": "/",
        "$": "",
        **SUBSCRIPT_DIGITS,
    }
)
_SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6"}
_SUPERSCRIPTS |= {"⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"}
_SUPER_RUN = re.compile("[" + "".join(_SUPERSCRIPTS) + "]+")
_LATEX_COMMAND = re.compile(r"\\(?:operatorname|mathrm|text)\{relu\}|\\[A-Za-z]+|\\[,;!]")
_TOKEN = re.compile(
    r"(?P<num>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)


def normalise(text: str, *, key: bool = False) -> str:
    """``text`` in the parser's syntax (see the module docstring); ``key=True`` for an
    answer key (``∂L/∂x₁``): only characters and LaTeX, no multiplication inserted."""
    if len(text) > ANSWER_LIMITS.max_length:
        return text
    out = _latex(text.strip().translate(_CHARACTERS))
    out = _SUPER_RUN.sub(lambda m: "**" + _power("".join(_SUPERSCRIPTS[c] for c in m[0])), out)
    if key:
        return out.replace(" ", "")
    return _implicit(out.replace("^", "**"))


def _power(digits: str) -> str:
    return digits if digits.isdigit() else f"({digits})"


def _latex(text: str) -> str:
    """LaTeX commands replaced, ``\\frac{A}{B}`` as ``((A)/(B))``, braces as parentheses."""
    if "\\" not in text and "{" not in text:
        return text

    def command(m: re.Match[str]) -> str:
        word = m[0]
        if word in LATEX_FUNCTIONS:
            return LATEX_FUNCTIONS[word]
        if word in _LATEX_OPERATORS:
            return _LATEX_OPERATORS[word]
        if word == "\\frac":
            return "\\frac"
        if word == "\\sqrt":
            return "sqrt"
        return word  # left for the parser to reject

    text = _LATEX_COMMAND.sub(command, text)
    text = _fractions(text)
    return text.replace("{", "(").replace("}", ")")


def _fractions(text: str) -> str:
    """``\\frac{A}{B}`` as ``((A)/(B))``, by one left-to-right scan with a stack.

    After ``\\frac`` the next brace group is its numerator, the one after that its
    denominator; other braces are plain parentheses.  The scan is linear in the text.
    """
    out: list[str] = []
    stack: list[str] = []  # per open brace: "num", "den" or "plain"
    expect = ""  # the kind of group the next "{" opens: "num", "den" or ""
    i, n = 0, len(text)
    while i < n:
        if text.startswith("\\frac", i):
            out.append("(")
            expect = "num"
            i += 5
            continue
        ch = text[i]
        if ch == "{":
            stack.append(expect or "plain")
            out.append("(")
            expect = ""
        elif ch == "}" and stack:
            kind = stack.pop()
            out.append(")")
            if kind == "num":
                out.append("/")
                expect = "den"
            elif kind == "den":
                out.append(")")
        elif not ch.isspace():
            expect = "" if expect and ch != "{" else expect
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _implicit(text: str) -> str:
    """``*`` inserted where a product is written without it (``2a``, ``b f``, ``)(``)."""
    out: list[str] = []
    prev: tuple[str, str] | None = None  # the last token that is not a space
    space = ""
    for m in _TOKEN.finditer(text):
        kind, tok = m.lastgroup or "other", m[0]
        if kind == "space":
            space += tok
            continue
        if prev is not None and _ends_operand(prev) and _starts_operand(kind, tok, prev):
            space = "*"  # "b f" is b*f: the space becomes the operator
        out.append(space)
        out.append(tok)
        space = ""
        prev = (kind, tok)
    out.append(space)
    return "".join(out)


def _ends_operand(tok: tuple[str, str]) -> bool:
    kind, text = tok
    return kind in ("num", "name") or text == ")"


def _starts_operand(kind: str, text: str, prev: tuple[str, str]) -> bool:
    if kind in ("num", "name"):
        # "2a" and "b f" and ")x", but "a 2" stays an error and "2e" is read as 2*e.
        return not (kind == "num" and prev[0] == "name")
    if text == "(":
        return not (prev[0] == "name" and prev[1] in FUNCTIONS)
    return False


# ------------------------------------------------------------------ matrix formulas

_MATRIX_CHARACTERS = str.maketrans(
    {"−": "-", "–": "-", "∘": "⊙", "⊤": "ᵀ", "$": "", **SUBSCRIPT_DIGITS}
)
_MATRIX_LATEX = {
    "\\odot": "⊙",
    "\\circ": "⊙",
    "\\top": "ᵀ",
    "\\intercal": "ᵀ",
    "\\left": "",
    "\\right": "",
    "\\,": "",
    "\\;": "",
    "\\!": "",
}
_MATRIX_COMMAND = re.compile("|".join(re.escape(k) for k in sorted(_MATRIX_LATEX, key=len)[::-1]))
# A^T, A^{T}, A^{\top}, A^\top, A^ᵀ, A^{\mathsf{T}}: the transpose (a power of a matrix
# is never valid text, so ^ followed by a lone T, ᵀ or \top means only this)
_TRANSPOSE = re.compile(r"\^\s*(?:\{\s*(?:\\mathsf\{T\}|\\mathrm\{T\}|T|ᵀ)\s*\}|T(?!\w)|ᵀ)")


def normalise_matrix(text: str, names: frozenset[str] | set[str] = frozenset()) -> str:
    r"""A matrix formula in the matrix parser's syntax, rewriting only what has one
    meaning in matrix notation: the minus sign ``−``, subscripts (``W₂`` for ``W2``), the
    transpose written as in print (``A^T``, ``A^{T}``, ``A^\top``, ``A⊤``: ``Aᵀ``; not
    when ``T`` is one of ``names``), the entrywise product ``∘``, ``\odot``, ``\circ``
    (``⊙``), ``\left``/``\right`` and ``$``.

    Everything the scalar reading also does and that is ambiguous for matrices is left
    for the parser to reject with its own message: implicit multiplication and ``·``,
    ``×`` (in matrix notation a juxtaposition is the matrix product, for a scalar the
    scaling; the text does not say which), ``^2`` and ``²`` (a matrix power, or NumPy's
    entrywise square) and the decimal comma (a comma separates the entries of a row).

    >>> normalise_matrix("W₂^T @ δ"), normalise_matrix("(h − y) ∘ h^{\\top}")
    ('W2ᵀ @ δ', '(h - y) ⊙ hᵀ')
    >>> normalise_matrix("\\left(X^T \\odot X^T\\right)"), normalise_matrix("a^T", {"T"})
    ('(Xᵀ ⊙ Xᵀ)', 'a^T')
    >>> normalise_matrix("2 delta x^T"), normalise_matrix("[[0,5, 1]]")
    ('2 delta xᵀ', '[[0,5, 1]]')
    """
    if len(text) > ANSWER_LIMITS.max_length:
        return text
    out = text.strip().translate(_MATRIX_CHARACTERS)
    if "\\" in out:
        out = _MATRIX_COMMAND.sub(lambda m: _MATRIX_LATEX[m[0]], out)
    if "T" not in names:
        out = _TRANSPOSE.sub("ᵀ", out)
    return out
