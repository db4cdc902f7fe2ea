"""Safe parser for untrusted expression text (exercise files, student answers, CLI arguments).

Text becomes a SymPy expression without ``eval``, ``exec``, ``compile``, ``sympify``,
``parse_expr`` or ``lambdify``: :func:`parse_expression` reads it with :func:`ast.parse`,
walks the tree iteratively against a whitelist and builds the result from SymPy
constructors (``Add``, ``Mul``, ``Pow`` and the function classes below).

>>> import sympy
>>> a, b, e = sympy.symbols("a b e", real=True)
>>> names = {"a": a, "b": b, "e": e}
>>> parse_expression("e*b + sigmoid(a)/2", names)
b*e + sigmoid(a)/2
>>> parse_expression("0.1*a - e", names)       # decimals are exact: 0.1 is 1/10
a/10 - e
>>> parse_expression("a.__class__", names)
Traceback (most recent call last):
    ...
symtrace.errors.ParseError: attribute access is not allowed (line 1, column 1): 'a.__class__'; ...
>>> parse_number("0.73")                       # value and half a unit of the last digit
(73/100, 1/200)

What the text may contain
-------------------------
* numbers: integers stay exact ``Integer``; a decimal such as ``0.1`` or ``2.5e-3`` becomes
  the exact ``Rational`` of the digits as written (students write decimals meaning decimals,
  so ``0.1`` is ``1/10``, not the binary float ``0.1000000000000000055...``);
* the names in ``names`` (each mapped to a SymPy expression, normally a ``Symbol``), and the
  constants ``pi`` and ``E`` (:data:`CONSTANTS`).  A name in ``names`` shadows a constant;
  ``e`` is *not* Euler's number (exercises use ``e`` as a node name).  Names starting with
  ``_`` are always rejected;
* ``+ - * / **``, unary ``-`` and ``+``, parentheses (``^`` is rejected with a hint to use
  ``**``);
* calls of the functions in :data:`FUNCTIONS`, positional arguments only:

  ========================================  ===============================  =========
  name(s)                                   SymPy                            arguments
  ========================================  ===============================  =========
  ``exp``, ``log``, ``ln`` (= ``log``)      ``exp``, ``log`` (natural)       1
  ``sqrt``                                  ``sqrt`` (``Pow(x, 1/2)``)       1
  ``sin cos tan asin acos atan``            same names                       1
  ``sinh cosh tanh``                        same names                       1
  ``sigmoid``, ``relu``                     :mod:`symtrace.functions`        1
  ``abs``                                   ``Abs``                          1
  ``max``, ``min``                          ``Max``, ``Min``                 2 or more
  ========================================  ===============================  =========

Everything else (attributes, subscripts, lambdas, comprehensions, strings and f-strings,
keyword or starred arguments, comparisons, ``and``/``or``/``not``, conditional expressions,
``:=``, tuples, booleans, complex numbers, ...) is rejected with a :class:`ParseError` that
names the construct, quotes it, gives its line and column, and says what to write instead.
Comments (``# ...``) are ignored.

Limits (:class:`ParseLimits`), checked cheapest first
-----------------------------------------------------
1. the length of the text, before anything else;
2. one pass over the raw characters, before :func:`ast.parse`: nesting of brackets and
   prefix operators (``(((...)))``, ``----a``), the number of operators and operands (at
   most one per AST node, so never more than ``max_nodes`` in an accepted expression), the
   digits of every number literal, and quotes (strings are never parsed).  Python's parser
   hits ``RecursionError`` / ``MemoryError`` on deep input; such input never reaches it
   (and those errors, like ``SyntaxError`` and ``ValueError``, become :class:`ParseError`);
3. an iterative walk of the AST: node count and nesting depth.  A chain ``a + b - c + ...``
   or ``a * b / c * ...`` counts as one level, since it becomes one flat ``Add`` / ``Mul``;
4. while building, before SymPy sees a node: ``|exponent| <= max_exponent`` for every
   numeric exponent, an estimate of the digits of every rational SymPy would compute
   (``9**9**9``, ``(10**30)**64``) at most ``max_result_digits``, and the digits of numbers
   under fractional powers (SymPy factors them) at most ``max_root_digits`` in total.

Constants must be real and defined
----------------------------------
Every part without symbols is also evaluated with mpmath (30 digits) *before* SymPy builds
it, and rejected if undefined (``1/0``, ``log(0)``, ``tan(pi/2)``), not real (``sqrt(-2)``,
``asin(pi)``, ``(-8)**(1/3)``: SymPy's principal roots are complex) or beyond
``10**max_result_digits`` in size (``exp(6e9)`` is short to write, but comparing it with
anything needs billions of digits).

What SymPy simplifies while parsing
-----------------------------------
SymPy's automatic simplification asks its assumptions system questions that can take
seconds, or hang, for nested functions (``tan(tanh(cosh(a - b)**10))``, complex constants).
So the parser lets SymPy simplify only the cheap cases: arithmetic (``+ - * / **``) of
names, rationals, ``pi``, ``E`` and functions of those, and functions whose argument has no
function in it (``exp(-x)``, ``relu(-3)``, ``sin(pi/6)``, ``log(x) - ln(x)`` all simplify).
Anything more nested is built as written (``evaluate=False``): ``log(exp(a))`` stays
``log(exp(a))``.  ``max``/``min`` are simplified only when every argument is a number:
SymPy compares every pair of arguments (seconds for a few dozen); ``max(a, b)`` still
equals ``sympy.Max(a, b)``.  Expressions from untrusted text should not be passed to
``expand``, ``simplify`` or assumption queries without limits of their own:
``(a + b + c + d)**1000`` is a short, valid expression whose expansion never ends.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

import mpmath
import sympy

from .errors import OptionValueError, ParseError
from .functions import relu, sigmoid
from .nodes import NodeSymbol

__all__ = [
    "CONSTANTS",
    "DEFAULT_LIMITS",
    "FUNCTIONS",
    "ParseLimits",
    "parse_expression",
    "parse_number",
    "replace_unevaluated",
]


@dataclass(frozen=True)
class ParseLimits:
    """Size limits for :func:`parse_expression` (see the module docstring for the order).

    Every field must be a positive int.  The defaults are generous for exercises and keep
    a rejection, or a parse, well under a second.

    >>> ParseLimits(max_length=80).max_length
    80
    >>> ParseLimits(max_depth=0)
    Traceback (most recent call last):
        ...
    symtrace.errors.OptionValueError: ParseLimits.max_depth must be a positive int, got 0
    """

    max_length: int = 10_000  # characters of the text
    max_nodes: int = 2_000  # AST expression nodes
    max_depth: int = 100  # nesting of the AST, and of brackets and prefix operators
    max_int_digits: int = 100  # digits of a number literal
    max_exponent: int = 1_000  # |numerator| and denominator of a numeric exponent in **
    max_result_digits: int = 1_000  # digits of rationals computed; |log10| of constants
    max_root_digits: int = 100  # total digits of numbers under fractional powers

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if type(value) is not int or value < 1:
                raise OptionValueError(f"ParseLimits.{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = ParseLimits()

#: The functions an expression may call: name in the text -> SymPy function.
FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "exp": sympy.exp,
        "log": sympy.log,
        "ln": sympy.log,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "tanh": sympy.tanh,
        "sigmoid": sigmoid,
        "relu": relu,
        "abs": sympy.Abs,
        "max": sympy.Max,
        "min": sympy.Min,
        "asin": sympy.asin,
        "acos": sympy.acos,
        "atan": sympy.atan,
        "sinh": sympy.sinh,
        "cosh": sympy.cosh,
    }
)

#: Named constants; a name in ``names`` shadows them.
CONSTANTS: Mapping[str, sympy.Expr] = MappingProxyType({"pi": sympy.pi, "E": sympy.E})

_VARIADIC = frozenset({"max", "min"})  # at least 2 arguments; every other function takes 1
_MP = mpmath.MPContext()  # private precision, independent of mpmath.mp
_MP.dps = 30
_IMAG_TOLERANCE = _MP.mpf(10) ** -15
#: mpmath counterparts of FUNCTIONS, to check that constants are real and defined
_APPROXIMATE: dict[str, Callable[..., Any]] = {
    "exp": _MP.exp,
    "log": lambda x: _MP.log(_MP.mpc(x)),
    "ln": lambda x: _MP.log(_MP.mpc(x)),
    "sqrt": lambda x: _MP.sqrt(_MP.mpc(x)),
    "sin": _MP.sin,
    "cos": _MP.cos,
    "tan": _MP.tan,
    "tanh": _MP.tanh,
    "sigmoid": lambda x: 1 / (1 + _MP.exp(-x)),
    "relu": lambda x: max(x, 0),
    "abs": abs,
    "max": max,
    "min": min,
    "asin": lambda x: _MP.asin(_MP.mpc(x)),
    "acos": lambda x: _MP.acos(_MP.mpc(x)),
    "atan": _MP.atan,
    "sinh": _MP.sinh,
    "cosh": _MP.cosh,
}
_LOG10_2 = math.log10(2)
_UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
_ALLOWED = (
    "an expression may use numbers, the names the exercise defines, + - * / ** and "
    "parentheses, and the functions " + ", ".join(FUNCTIONS)
)
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_NEWLINE = re.compile(r"\r\n|\r|\n")

# Rejected constructs: AST class -> (what it is, what to write instead).
_NOT_ALLOWED: dict[type, tuple[str, str]] = {
    ast.Attribute: ("attribute access", "expressions cannot reach into objects; " + _ALLOWED),
    ast.Subscript: ("subscript", "indexing is not supported; " + _ALLOWED),
    ast.Lambda: ("lambda", "write the expression itself"),
    ast.ListComp: ("list comprehension", "write one expression"),
    ast.SetComp: ("set comprehension", "write one expression"),
    ast.DictComp: ("dict comprehension", "write one expression"),
    ast.GeneratorExp: ("generator expression", "write one expression"),
    ast.Compare: ("comparison", "an expression is a formula with a value, not a condition"),
    ast.BoolOp: ("'and'/'or'", "use max, min, relu or abs for piecewise formulas"),
    ast.IfExp: ("conditional expression", "use max, min, relu or abs for piecewise formulas"),
    ast.NamedExpr: ("assignment expression ':='", "define each name in its own entry"),
    ast.Tuple: ("tuple", "write one expression; function arguments go inside f(...)"),
    ast.List: ("list", "write one expression; use parentheses (not brackets) for grouping"),
    ast.Set: ("set", "write one expression; use parentheses (not braces) for grouping"),
    ast.Dict: ("dict", "write one expression"),
    ast.Starred: ("starred expression", "write the arguments out"),
    ast.Await: ("await", _ALLOWED),
    ast.Yield: ("yield", _ALLOWED),
    ast.YieldFrom: ("yield", _ALLOWED),
    ast.Slice: ("slice", _ALLOWED),
}
_OPERATORS: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)


class _Value(NamedTuple):
    """A built subexpression and the bookkeeping that keeps SymPy's evaluation cheap."""

    expr: sympy.Expr
    digits: float  # bound on the digits of the rationals SymPy may compute for it
    root: float  # total digits of numbers under fractional or symbolic powers in it
    # 0: only names, rationals, pi, E and + - * / ** ("plain"); 1: also functions of plain
    # arguments; 2: functions of anything else.  SymPy simplifies a node only if this is
    # cheap: functions of plain arguments, arithmetic of level <= 1 operands.
    level: int
    approx: Any  # numeric value (an mpmath number) if it has no symbols, else None


class _Plan(NamedTuple):
    """One node of the walk: its operands (chains flattened) and their inverse flags."""

    kids: list[ast.expr]
    flags: list[bool]  # for + - chains: subtract; for * / chains: divide


def parse_expression(
    text: str,
    names: Mapping[str, sympy.Expr],
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    lineno: int | None = None,
) -> sympy.Expr:
    """Parse untrusted ``text`` into a SymPy expression over the symbols in ``names``.

    ``names`` maps each name the text may use to its SymPy expression (normally a
    ``Symbol``).  ``lineno`` is the line of a file on which ``text`` starts; errors then
    report file lines.  Every rejection is a :class:`~symtrace.errors.ParseError` (no
    other exception escapes) with ``text``, ``lineno`` (1-based), ``col_offset``
    (0-based, in characters) and a message quoting the offending part.

    >>> import sympy
    >>> x, y = sympy.symbols("x y", real=True)
    >>> parse_expression("exp(-x) + max(x, y)**2", {"x": x, "y": y})
    Max(x, y)**2 + exp(-x)
    >>> parse_expression("2*x - y/4", {"x": x, "y": y})
    2*x - y/4
    >>> parse_expression("x ^ 2", {"x": x})
    Traceback (most recent call last):
        ...
    symtrace.errors.ParseError: operator '^' is not allowed (line 1, column 3): 'x ^ 2'; for ...
    >>> parse_expression("g*x", {"x": x, "y": y}, lineno=7)
    Traceback (most recent call last):
        ...
    symtrace.errors.ParseError: unknown name 'g' (line 7, column 1); this exercise defines x, y
    """
    shape = _shape(text, names, limits)
    if shape is not None:
        built = _shaped(*shape)
        if built is not None:
            return built
    return _Parser(text, names, limits, lineno).parse()


# -- expressions of one shape -----------------------------------------------------------
#
# SymPy's canonical form of an expression depends on its symbols only through their
# assumptions and the order of their names: ``Add`` and ``Mul`` sort their arguments
# by comparing names, and a function's ``eval`` asks ``could_extract_minus_sign``,
# which compares ``sort_key``s.  So ``0.5*x7 + sin(x7 + y)`` and ``0.5*x8 + sin(x8 + y)``
# parse to one tree, names apart: a generated exercise's 10,000 definitions often
# have a handful of shapes.  Each shape is parsed once, over stand-in symbols named
# in the same alphabetical order as the real ones (with their class and assumptions),
# and every text of that shape becomes that tree with the real symbols put in, built
# without evaluation (nothing is left to evaluate: the tree is canonical already).
# ``tests/test_parsing.py`` checks this against the parse from scratch over random
# expressions and names (every built tree equal, argument order included).

_SHAPES: dict[tuple[Any, ...], sympy.Expr | None] = {}
_UNSEEN: Any = object()  # not looked up yet
SHAPES = 4_096
"""How many expression shapes :func:`parse_expression` remembers (it forgets them all
when full)."""
_STAND_IN = "ж"  # stand-in names: never in the ASCII texts that are reshaped
_WORD = re.compile(r"[0-9.][0-9A-Za-z_.]*|[A-Za-z_][A-Za-z0-9_]*")
_SYMBOLS = (sympy.Symbol, NodeSymbol)  # exact types whose stand-ins can be made
_REBUILT = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Max, sympy.Min, sympy.Function)


def _shape(
    text: Any, names: Mapping[str, Any], limits: ParseLimits
) -> tuple[tuple[Any, ...], dict[str, Any], list[Any], ParseLimits] | None:
    """The shape of ``text``: a key, the stand-ins by name, the real symbols by rank, and
    the limits to parse the stand-in text with; None when the text is to be parsed as
    it is (not ASCII, too long, a word that is not a name of ``names``, a function or a
    constant, a name bound to something other than a plain real symbol, two symbols of
    one name, a name starting with ``_``)."""
    if not isinstance(text, str) or len(text) > limits.max_length or not text.isascii():
        return None
    used: dict[str, Any] = {}
    for m in _WORD.finditer(text):
        word = m.group()
        if word[0] in "0123456789." or word in FUNCTIONS:
            continue
        value = names.get(word) if word[0] != "_" else None  # _names are rejected
        if value is None:
            if word in CONSTANTS:
                continue
            return None  # an unknown name or a keyword: the parser says what is wrong
        if type(value) not in _SYMBOLS:
            return None
        used[word] = value
    symbols = sorted(set(used.values()), key=lambda s: s.name)
    if len({s.name for s in symbols}) < len(symbols):
        return None
    width = len(str(len(symbols)))
    rank = {s: k for k, s in enumerate(symbols)}
    mark = {w: f"{_STAND_IN}{rank[v]:0{width}d}" for w, v in used.items()}

    def stand_in(m: re.Match[str]) -> str:
        return mark.get(m.group(), m.group())

    template = _WORD.sub(stand_in, text)
    kinds = tuple((type(s), tuple(sorted(s._assumptions_orig.items()))) for s in symbols)
    stand_ins = {
        f"{_STAND_IN}{k:0{width}d}": _stand_in(k, width, kind) for k, kind in enumerate(kinds)
    }
    relaxed = replace(limits, max_length=max(len(template), 1))
    return (template, kinds, limits), stand_ins, symbols, relaxed


@functools.lru_cache(maxsize=1024)
def _stand_in(k: int, width: int, kind: tuple[type, tuple[tuple[str, Any], ...]]) -> Any:
    cls, assumptions = kind
    name = f"{_STAND_IN}{k:0{width}d}"
    if cls is NodeSymbol:
        return NodeSymbol(name, 0, **dict(assumptions))
    return sympy.Symbol(name, **dict(assumptions))


def _shaped(
    key: tuple[Any, ...], stand_ins: dict[str, Any], symbols: list[Any], limits: ParseLimits
) -> sympy.Expr | None:
    """The expression of a shape with ``symbols`` put in for its stand-ins (by rank), or
    None when the shape does not parse (the caller parses the text itself, for the
    error) or holds a part that cannot be built unevaluated as it is."""
    tree = _SHAPES.get(key, _UNSEEN)  # None: seen, and not to be reused
    if tree is _UNSEEN:
        try:
            tree = _Parser(key[0], stand_ins, limits, None).parse()
        except ParseError:
            return None
        ranked = list(stand_ins.values())
        if replace_unevaluated(tree, dict(zip(ranked, ranked, strict=True))) != tree:
            tree = None
        if len(_SHAPES) >= SHAPES:
            _SHAPES.clear()
        _SHAPES[key] = tree
    if tree is None:
        return None
    return replace_unevaluated(tree, dict(zip(stand_ins.values(), symbols, strict=True)))


def replace_unevaluated(tree: Any, new: Mapping[Any, Any]) -> Any:
    """``tree`` with the parts in ``new`` (symbols) replaced and every compound part
    built again without evaluation, its arguments in their order (iterative
    post-order); None if a compound part is not an ``Add``, ``Mul``, ``Pow``, ``Max``,
    ``Min`` or function (which take ``evaluate=False``).

    Unlike ``xreplace``, SymPy simplifies nothing; unlike ``xreplace`` inside
    ``sympy.evaluate(False)``, no unevaluated part lands in SymPy's cache under the
    arguments of an evaluated one (``evaluate=False`` is part of the cache's key).

    >>> import sympy
    >>> x, t = sympy.symbols("x t")
    >>> replace_unevaluated(sympy.sin(x) + x, {x: -t})   # xreplace gives -t - sin(t)
    -t + sin(-t)
    >>> replace_unevaluated(sympy.Integral(x, x), {x: t}) is None
    True
    """
    done: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        args = node.args
        if node in new:
            done[id(node)] = new[node]
        elif not args:
            done[id(node)] = node
        elif not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in args)
        elif isinstance(node, _REBUILT):
            done[id(node)] = node.func(*(done[id(a)] for a in args), evaluate=False)
        else:
            return None
    return done[id(tree)]


def parse_number(
    text: str, *, limits: ParseLimits = DEFAULT_LIMITS
) -> tuple[sympy.Rational, sympy.Rational]:
    """Read a number as written: its exact value and half a unit of its last written digit.

    The second item is the tolerance a written answer is judged to: ``0.73`` stands for
    anything in ``[0.725, 0.735]``.  Accepted: an optional sign, digits with an optional
    decimal point, an optional exponent (``-1.5e-3``); surrounding whitespace is ignored.
    Anything else (``1/2``, ``nan``, ``inf``, ``0x10``, ``1_000``) is a
    :class:`~symtrace.errors.ParseError`.

    >>> parse_number("0.73")
    (73/100, 1/200)
    >>> parse_number("2")
    (2, 1/2)
    >>> parse_number("-1.5e-3")
    (-3/2000, 1/20000)
    >>> parse_number("1/2")
    Traceback (most recent call last):
        ...
    symtrace.errors.ParseError: '1/2' is not a number literal (line 1, column 1); write digits ...
    """
    if not isinstance(text, str):
        raise ParseError(
            f"expected the number as text (str), got {type(text).__name__}; "
            "pass the number as it was written",
            "",
            1,
            0,
        )
    if len(text) > limits.max_length:
        raise ParseError(
            f"number text is {len(text)} characters long; the limit is {limits.max_length}",
            text,
            1,
            0,
        )
    stripped = text.strip()
    value_and_unit = _decimal(stripped, limits)
    if isinstance(value_and_unit, str):
        start = len(text) - len(text.lstrip())
        raise ParseError(
            f"{_quote(stripped)} is not a number literal (line 1, column {start + 1}); "
            f"{value_and_unit}",
            text,
            1,
            start,
        )
    return value_and_unit


def _decimal(text: str, limits: ParseLimits) -> tuple[sympy.Rational, sympy.Rational] | str:
    """Exact value and half-unit of a plain decimal literal, or the reason it is not one."""
    match = _DECIMAL.fullmatch(text)
    usage = "write digits with an optional sign, decimal point and exponent, e.g. -1.5e-3"
    if match is None:
        return usage
    sign, whole, frac, exponent = match.groups()
    frac = frac or ""
    if not whole and not frac:
        return usage
    digits = len(whole.lstrip("0") + frac)
    if digits > limits.max_int_digits:
        return f"it has {digits} digits; the limit is {limits.max_int_digits}"
    power = 0
    if exponent is not None:
        if len(exponent.lstrip("+-").lstrip("0")) > len(str(limits.max_exponent)):
            return f"its exponent is too large; the limit is {limits.max_exponent}"
        power = int(exponent)
        if abs(power) > limits.max_exponent:
            return f"its exponent {power} is too large; the limit is {limits.max_exponent}"
    mantissa = int((whole + frac) or "0")
    scale = power - len(frac)
    unit = sympy.Integer(10) ** scale
    value = sympy.Integer(-mantissa if sign == "-" else mantissa) * unit
    return value, unit / 2


def _quote(fragment: str, width: int = 40) -> str:
    """``repr`` of a fragment of source, shortened to about ``width`` characters."""
    if len(fragment) > width:
        fragment = fragment[: width - 3] + "..."
    return repr(fragment)


def _digits(number: sympy.Rational) -> float:
    """log10 bound of a rational's numerator and denominator (0 for 0 and +-1)."""
    return max(int(number.p).bit_length() - 1, int(number.q).bit_length() - 1, 0) * _LOG10_2


class _Parser:
    """State of one :func:`parse_expression` call."""

    def __init__(
        self,
        text: str,
        names: Mapping[str, sympy.Expr],
        limits: ParseLimits,
        lineno: int | None,
    ) -> None:
        self.text = text
        self.names = names
        self.limits = limits
        self.line_shift = (lineno - 1) if lineno is not None else 0
        self.line_starts = [0]

    # -- errors ---------------------------------------------------------------------

    def fail_at(self, index: int, what: str, hint: str = "", quote: str | None = None) -> NoReturn:
        """Raise a ParseError at character ``index`` of the text."""
        line = bisect.bisect_right(self.line_starts, index)
        col = index - self.line_starts[line - 1]
        if quote is None:
            quote = self.text[index : index + 20]
        where = f"line {line + self.line_shift}, column {col + 1}"
        message = f"{what} ({where})"
        if quote:
            message += f": {_quote(quote)}"
        if hint:
            message += f"; {hint}"
        raise ParseError(message, self.text, line + self.line_shift, col)

    def fail(
        self, node: ast.expr | ast.keyword, what: str, hint: str = "", quote: bool = True
    ) -> NoReturn:
        """Raise a ParseError at an AST node."""
        start = self.index(node.lineno, node.col_offset)
        fragment = (ast.get_source_segment(self.text, node) or "") if quote else ""
        self.fail_at(start, what, hint, fragment)

    def index(self, lineno: int, col_bytes: int) -> int:
        """Character index of an AST position (its column counts UTF-8 bytes)."""
        start = self.line_starts[lineno - 1]
        end = self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)
        line = self.text[start:end]
        if line.isascii():
            return start + col_bytes
        return start + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    # -- the pipeline ---------------------------------------------------------------

    def parse(self) -> sympy.Expr:
        text = self.text
        if not isinstance(text, str):
            raise ParseError(
                f"expected the expression as text (str), got {type(text).__name__}", "", 1, 0
            )
        limits = self.limits
        head = text[: limits.max_length + 1]
        self.line_starts += [m.end() for m in _NEWLINE.finditer(head)]
        if len(text) > limits.max_length:
            self.fail_at(
                limits.max_length,
                f"expression is {len(text)} characters long; the limit is {limits.max_length}",
                "split it into several named steps",
                "",
            )
        if not text.strip():
            self.fail_at(0, "empty expression", "write a formula such as a*b + c", "")
        self.scan()
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            line = min(max(exc.lineno or 1, 1), len(self.line_starts))
            col = max((exc.offset or 1) - 1, 0)
            index = min(self.line_starts[line - 1] + col, len(text))
            self.fail_at(
                index,
                f"syntax error: {exc.msg}",
                "write products with * (2*x), powers with ** (x**2), and balance brackets",
            )
        except (ValueError, RecursionError, MemoryError) as exc:
            self.fail_at(0, f"cannot read the expression: {type(exc).__name__}: {exc}", "", "")
        plans = self.walk(tree.body)
        try:
            return self.build(tree.body, plans)
        except ParseError:
            raise
        except Exception as exc:  # SymPy failing in an unforeseen way must not leak out
            self.fail(tree.body, f"cannot build the expression ({type(exc).__name__}: {exc})")

    def scan(self) -> None:
        """One pass over the raw characters: nesting, operator/operand count, literals."""
        text, limits = self.text, self.limits
        level = 0  # brackets and prefix operators around the current position
        outer: list[int] = []  # level at each open bracket
        run = 0  # consecutive + - ~ (prefix operators nest)
        tokens = 0  # operators and operands: at most one per AST node
        word = (0, 0)  # span of the last identifier (a string prefix such as f, b, rb)
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            start = i
            if ch in "'\"":  # strings never reach ast.parse (nor its escape warnings)
                self.fail_string(start, word)
            elif ch == "#":  # a comment, to the end of the line
                while i < n and text[i] not in "\r\n":
                    i += 1
            elif ch in "+-~":
                run += 1
                tokens += 1
                i += 1
                if level + run > limits.max_depth:
                    self.fail_at(
                        start,
                        f"expression nested more than {limits.max_depth} levels deep",
                        "simplify the expression or split it into named steps",
                    )
            elif ch in "([{":
                outer.append(level)
                level += run + 1
                run = 0
                i += 1
                if level > limits.max_depth:
                    self.fail_at(
                        start,
                        f"brackets nested more than {limits.max_depth} levels deep",
                        "simplify the expression or split it into named steps",
                    )
            elif ch in ")]}":
                level = outer.pop() if outer else 0
                run = 0
                i += 1
            elif ch.isspace():
                i += 1
            elif "0" <= ch <= "9" or (ch == "." and text[i + 1 : i + 2].isdigit()):
                i, digits = self.scan_number(i)
                tokens += 1
                run = 0
                if digits > limits.max_int_digits:
                    self.fail_at(
                        start,
                        f"number literal with {digits} digits; the limit is "
                        f"{limits.max_int_digits}",
                        "use fewer digits",
                        text[start:i],
                    )
            elif ch == "_" or ch.isalpha():
                i += 1
                while i < n and (text[i].isalnum() or text[i] == "_"):
                    i += 1
                word = (start, i)
                tokens += 1
                run = 0
            elif ch in "*/":
                i += 2 if text.startswith(ch + ch, i) else 1
                tokens += 1
                run = 0
            else:
                i += 1
                run = 0
            if tokens > limits.max_nodes:
                self.fail_at(
                    start,
                    f"expression too large: more than {limits.max_nodes} operators and operands",
                    "split it into several named steps",
                )

    def fail_string(self, index: int, word: tuple[int, int]) -> NoReturn:
        """Reject a string literal, naming its kind by its prefix (``f``, ``b``, ``r``)."""
        prefix = self.text[word[0] : word[1]].lower() if word[1] == index else ""
        if prefix and set(prefix) <= set("fbru") and len(prefix) <= 2:
            index = word[0]
        else:
            prefix = ""
        kind = "f-string" if "f" in prefix else "bytes literal" if "b" in prefix else "string"
        end = self.text.find(self.text[index + len(prefix)], index + len(prefix) + 1)
        self.fail_at(
            index,
            f"{kind} is not allowed",
            "write the expression without quotes",
            self.text[index : end + 1 if end >= 0 else index + 20],
        )

    def scan_number(self, i: int) -> tuple[int, int]:
        """End of the number literal starting at ``i`` and its count of mantissa digits."""
        text, n = self.text, len(self.text)
        prefixed = text[i : i + 2].lower() in ("0x", "0o", "0b")
        j = i + 2 if prefixed else i
        digits = 0
        in_exponent = False
        while j < n:
            ch = text[j]
            if ch.isalnum() or ch in "_.":
                if not prefixed and ch in "eE":
                    in_exponent = True
                elif ch not in "_." and not in_exponent:
                    digits += 1
            elif not (ch in "+-" and not prefixed and text[j - 1] in "eE"):
                break
            j += 1
        return j, digits

    def walk(self, root: ast.expr) -> dict[int, _Plan]:
        """Check every node against the whitelist, outermost and leftmost first.

        Returns the plan (operands) of each node, keyed by ``id``.  Iterative.
        """
        limits = self.limits
        plans: dict[int, _Plan] = {}
        stack: list[tuple[ast.expr, int]] = [(root, 1)]
        count = 0
        while stack:
            node, depth = stack.pop()
            if depth > limits.max_depth:
                self.fail(
                    node,
                    f"expression nested more than {limits.max_depth} levels deep",
                    "simplify the expression or split it into named steps",
                )
            plan, nodes = self.check(node)
            count += nodes
            if count > limits.max_nodes:
                self.fail(
                    node,
                    f"expression too large: more than {limits.max_nodes} nodes",
                    "split it into several named steps",
                )
            plans[id(node)] = plan
            stack.extend((kid, depth + 1) for kid in reversed(plan.kids))
        return plans

    def check(self, node: ast.expr) -> tuple[_Plan, int]:
        """Validate one node; return its plan and the number of AST nodes it stands for."""
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op is ast.Pow:
                return _Plan([node.left, node.right], [False, False]), 1
            if op not in (*_ADDITIVE, *_MULTIPLICATIVE):
                self.fail_operator(node)
            group = _ADDITIVE if op in _ADDITIVE else _MULTIPLICATIVE
            kids: list[ast.expr] = []
            flags: list[bool] = []
            current: ast.expr = node
            nodes = 0
            while isinstance(current, ast.BinOp) and isinstance(current.op, group):
                kids.append(current.right)
                flags.append(isinstance(current.op, (ast.Sub, ast.Div)))
                current = current.left
                nodes += 1
            kids.append(current)
            flags.append(False)
            return _Plan(kids[::-1], flags[::-1]), nodes
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                return _Plan([node.operand], [False]), 1
            if isinstance(node.op, ast.Not):
                self.fail(node, "'not' is not allowed", _ALLOWED)
            self.fail(node, "operator '~' is not allowed", _ALLOWED)
        if isinstance(node, ast.Constant):
            self.check_constant(node)
            return _Plan([], []), 1
        if isinstance(node, ast.Name):
            self.check_name(node)
            return _Plan([], []), 1
        if isinstance(node, ast.Call):
            self.check_call(node)
            return _Plan(list(node.args), [False] * len(node.args)), 2
        what, hint = _NOT_ALLOWED.get(type(node), (type(node).__name__, _ALLOWED))
        self.fail(node, f"{what} is not allowed", hint)

    def fail_operator(self, node: ast.BinOp) -> NoReturn:
        symbol = _OPERATORS.get(type(node.op), type(node.op).__name__)
        left, right = node.left, node.right
        start = self.index(left.end_lineno or left.lineno, left.end_col_offset or 0)
        found = self.text.find(symbol, start, self.index(right.lineno, right.col_offset))
        hint = "for powers write **, e.g. x**2" if symbol == "^" else _ALLOWED
        self.fail_at(
            found if found >= 0 else start,
            f"operator {symbol!r} is not allowed",
            hint,
            ast.get_source_segment(self.text, node) or "",
        )

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self.fail(node, f"boolean {value} is not allowed", "write a number such as 1 or 0")
        if isinstance(value, int | float):
            return
        if isinstance(value, complex):
            what, hint = "complex number", "expressions are real-valued; write a real number"
        else:  # None, ...; strings are rejected before parsing
            what, hint = f"constant {value!r}", _ALLOWED
        self.fail(node, f"{what} is not allowed", hint)

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            self.fail(node, "names starting with '_' are not allowed", "rename the node")
        if name in self.names:
            self.value_of(node)  # checks that it is a SymPy expression
            return
        if name in CONSTANTS:
            return
        if name in FUNCTIONS:
            self.fail(node, f"function {name!r} must be called", f"write {name}(x)")
        known = [str(k) for k in self.names if isinstance(k, str)]
        listed = ", ".join(known[:30]) + (f" and {len(known) - 30} more" if len(known) > 30 else "")
        hint = f"this exercise defines {listed}" if known else "this exercise defines no names"
        close = difflib.get_close_matches(name, [*known, *CONSTANTS, *FUNCTIONS], n=1)
        if close:
            hint += f"; did you mean {close[0]!r}?"
        try:
            self.fail(node, f"unknown name {name!r}", hint, quote=False)
        except ParseError as exc:
            exc.unknown_name = name  # for callers' hints (exercise: "defined later")
            raise

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name) or func.id.startswith("_"):
            self.fail(
                func,
                "only the listed functions can be called",
                "allowed functions: " + ", ".join(FUNCTIONS),
            )
        name = func.id
        if name not in FUNCTIONS:
            if name in self.names or name in CONSTANTS:
                self.fail(
                    node,
                    f"{name!r} is not a function",
                    f"for a product write {name}*(...)",
                )
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = "allowed functions: " + ", ".join(FUNCTIONS)
            if close:
                hint = f"did you mean {close[0]!r}? " + hint
            self.fail(func, f"unknown function {name!r}", hint, quote=False)
        for keyword in node.keywords:
            self.fail(
                keyword,
                f"keyword argument in a call of {name!r} is not allowed",
                f"pass arguments by position, e.g. {name}(x)",
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "starred argument is not allowed", "write the arguments out")
        count = len(node.args)
        if name in _VARIADIC and count < 2:
            self.fail(node, f"{name} needs at least 2 arguments, got {count}", f"{name}(a, b)")
        if name not in _VARIADIC and count != 1:
            self.fail(node, f"{name} takes 1 argument, got {count}", f"write {name}(x)")

    def value_of(self, node: ast.Name) -> sympy.Expr:
        value = self.names[node.id]
        # type(), not isinstance(): isinstance consults a foreign object's __class__
        if not issubclass(type(value), sympy.Expr):
            self.fail(
                node,
                f"name {node.id!r} is bound to a {type(value).__name__}, not a SymPy expression",
                "map each name to a sympy.Symbol",
            )
        return value

    # -- building -------------------------------------------------------------------

    def build(self, root: ast.expr, plans: dict[int, _Plan]) -> sympy.Expr:
        """Build the SymPy expression bottom-up, leftmost first (iterative post-order)."""
        values: dict[int, _Value] = {}
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            plan = plans[id(node)]
            if not ready:
                stack.append((node, True))
                stack.extend((kid, False) for kid in reversed(plan.kids))
                continue
            value = self.build_node(node, plan, [values.pop(id(kid)) for kid in plan.kids])
            values[id(node)] = self.check_value(node, value)
        return values[id(root)].expr

    def check_value(self, node: ast.expr, value: _Value) -> _Value:
        """Reject undefined and non-real constants; pin exact rationals."""
        expr = value.expr
        if any(expr is undefined for undefined in _UNDEFINED):
            self.fail(
                node,
                f"the value is undefined ({expr})",
                "check for division by zero or a function used outside its domain",
            )
        if not issubclass(type(expr), sympy.Expr):
            self.fail(node, f"result is a {type(expr).__name__}, not an expression")
        if expr.is_Rational:
            return value._replace(approx=_MP.mpf(int(expr.p)) / int(expr.q), level=0)
        return value

    def approximate(self, node: ast.expr, plan: _Plan, kids: list[_Value]) -> Any:
        """The numeric value of a node without symbols, checked, before SymPy builds it."""
        xs = [k.approx for k in kids]
        if not kids or any(x is None for x in xs):
            return None
        try:
            if isinstance(node, ast.UnaryOp):
                approx = -xs[0] if isinstance(node.op, ast.USub) else xs[0]
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                approx = _MP.power(_MP.mpc(xs[0]), xs[1])
            elif isinstance(node, ast.BinOp) and isinstance(node.op, _ADDITIVE):
                signed = zip(xs, plan.flags, strict=True)
                approx = _MP.fsum(-x if minus else x for x, minus in signed)
            elif isinstance(node, ast.BinOp):
                approx = _MP.mpf(1)
                for x, divide in zip(xs, plan.flags, strict=True):
                    approx = approx / x if divide else approx * x
            else:
                assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                approx = _APPROXIMATE[node.func.id](*xs)
        except (ZeroDivisionError, ValueError, ArithmeticError):
            self.fail(node, "the value is undefined", "check for division by zero")
        return self.check_approx(node, approx)

    def check_approx(self, node: ast.expr, approx: Any) -> Any:
        """Reject constants that are undefined, not real, or too large to evaluate."""
        if not _MP.isfinite(approx):
            self.fail(node, "the value is undefined", "check for division by zero")
        real, imag = _MP.re(approx), _MP.im(approx)
        magnitude = _MP.log10(abs(approx)) if approx else 0
        if abs(magnitude) > self.limits.max_result_digits:
            # exp(6e9) is short to write, but comparing or evaluating it needs 2.6e9 digits
            self.fail(
                node,
                f"the value is about 10**{_MP.nstr(magnitude, 3)}: too large or too small, "
                f"the limit is 10**{self.limits.max_result_digits}",
                "use smaller numbers",
            )
        if abs(imag) > _IMAG_TOLERANCE * (1 + abs(real)):
            self.fail(
                node,
                f"the value is not a real number (about {_MP.nstr(approx, 4)})",
                "expressions are real-valued: check the domains of sqrt, log, asin, acos "
                "and of fractional powers",
            )
        return real

    def check_size(self, node: ast.expr, digits: float, root: float) -> None:
        limits = self.limits
        if digits > limits.max_result_digits:
            self.fail(
                node,
                f"numbers too large: about {digits:.0f} digits, the limit is "
                f"{limits.max_result_digits}",
                "use smaller numbers or exponents",
            )
        if root > limits.max_root_digits:
            self.fail(
                node,
                f"roots of numbers too large: about {root:.0f} digits under fractional "
                f"powers, the limit is {limits.max_root_digits}",
                "use smaller numbers",
            )

    def build_node(self, node: ast.expr, plan: _Plan, kids: list[_Value]) -> _Value:
        digits = sum(k.digits for k in kids)
        root = sum(k.root for k in kids)
        level = max((k.level for k in kids), default=0)
        evaluate = level <= 1
        # limits first, then the numeric value (if no symbols), then SymPy
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            digits, root = self.power_limits(node, kids[0], kids[1])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "sqrt":
                root += digits
            self.check_size(node, digits, root)
        elif isinstance(node, ast.BinOp):
            self.check_size(node, digits, root)
        approx = self.approximate(node, plan, kids)
        if isinstance(node, ast.Constant):
            return self.build_constant(node)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return _Value(self.value_of(node), 0.0, 0.0, 0, None)
            constant = CONSTANTS[node.id]
            approx = +_MP.pi if constant is sympy.pi else +_MP.e
            return _Value(constant, 0.0, 0.0, 0, approx)
        if isinstance(node, ast.UnaryOp):
            (operand,) = kids
            if isinstance(node.op, ast.USub):
                expr = sympy.Mul(sympy.S.NegativeOne, operand.expr, evaluate=evaluate)
                return operand._replace(expr=expr, approx=approx)
            return operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exponent = kids
            return self.build_power(base, exponent, digits, root, approx)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, _ADDITIVE):
                terms = [
                    sympy.Mul(sympy.S.NegativeOne, k.expr, evaluate=evaluate) if minus else k.expr
                    for k, minus in zip(kids, plan.flags, strict=True)
                ]
                expr = sympy.Add(*terms, evaluate=evaluate)
                return _Value(expr, digits, root, level, approx)
            factors = []
            for kid, k, divide in zip(plan.kids, kids, plan.flags, strict=True):
                if divide and k.expr is sympy.S.Zero:
                    self.fail(kid, "division by zero", "check the denominator")
                inverse = sympy.Pow(k.expr, sympy.S.NegativeOne, evaluate=evaluate)
                factors.append(inverse if divide else k.expr)
            return _Value(sympy.Mul(*factors, evaluate=evaluate), digits, root, level, approx)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # by check()
        name = node.func.id
        args = [k.expr for k in kids]
        # SymPy's Max/Min compare every pair of arguments, and its simplification of
        # functions of complicated arguments can take seconds: keep to the cheap cases
        evaluate = all(a.is_Rational for a in args) if name in _VARIADIC else level == 0
        expr = FUNCTIONS[name](*args, evaluate=evaluate)
        return _Value(expr, digits, root, min(level + 1, 2), approx)

    def build_constant(self, node: ast.Constant) -> _Value:
        value = node.value
        if isinstance(value, int):
            if abs(value) >= 10**self.limits.max_int_digits:
                self.fail(
                    node,
                    f"integer literal with more than {self.limits.max_int_digits} digits",
                    "use fewer digits",
                )
            number = sympy.Integer(value)
        else:
            source = (ast.get_source_segment(self.text, node) or "").replace("_", "")
            parsed = _decimal(source, self.limits)
            if isinstance(parsed, str):
                self.fail(node, "number literal not accepted", parsed)
            number = parsed[0]
        digits = _digits(number)
        self.check_size(node, digits, 0.0)
        return _Value(number, digits, 0.0, 0, None)  # check_value() sets approx

    def power_limits(self, node: ast.BinOp, base: _Value, exponent: _Value) -> tuple[float, float]:
        """Check the exponent and the size of a power; return its digits and root digits."""
        limits = self.limits
        exp = exponent.expr
        root = base.root + exponent.root
        if exp.is_Rational:
            if abs(exp.p) > limits.max_exponent or exp.q > limits.max_exponent:
                self.fail(
                    node.right,
                    f"exponent {exp} is too large; the limit is {limits.max_exponent}",
                    "use a smaller exponent",
                )
            digits = base.digits * max(abs(float(exp)), 1.0) + exponent.digits
            if exp.q != 1:
                root += base.digits
        else:
            digits = base.digits + exponent.digits
            root += digits
        self.check_size(node, digits, root)
        if base.expr is sympy.S.Zero and exponent.approx is not None and exponent.approx < 0:
            self.fail(node, "division by zero", "0 to a negative power is undefined")
        return digits, root

    def build_power(
        self,
        base: _Value,
        exponent: _Value,
        digits: float,
        root: float,
        approx: Any,
    ) -> _Value:
        exp = exponent.expr
        level = max(base.level, exponent.level)
        # E**x is exp(x): simplified, like exp, only for a plain x
        evaluate = level == 0 or (level == 1 and base.expr is not sympy.E)
        expr = sympy.Pow(base.expr, exp, evaluate=evaluate)
        return _Value(expr, digits, root, level if evaluate else 2, approx)
