"""The safe parser: what it accepts, what it rejects (fast, without running anything), where."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symtrace.parsing
from symtrace.errors import ParseError
from symtrace.functions import relu, sigmoid
from symtrace.nodes import NodeSymbol
from symtrace.parsing import (
    CONSTANTS,
    DEFAULT_LIMITS,
    FUNCTIONS,
    ParseLimits,
    parse_expression,
    parse_number,
)

from guards import HANG_TIMEOUT, finishes_within

NAMES = {name: sympy.Symbol(name, real=True) for name in "a b c d e f L x".split()}
a, b, c, d, e, f, L, x = NAMES.values()
R = sympy.Rational
NESTED_FUNCTIONS = (
    "((asin(cosh(relu(relu(-(sigmoid(21.70))**(-1)))))--exp((asin((a*E*pi*b)))**(1/2))-min(sinh"
    "(pi),sin(E),atan(pi),(b)**(10)))/sinh(((b/b/34/a/pi)/sigmoid(sqrt(acos(tan(c))))/min((2.86"
    ")**(10),atan(a),-8,tanh(6))/(max(E,c,a,pi)*sin(b)*atan(E)*cosh(6.19))))/((min(min(b,c,E,5)"
    ",abs(a))*asin(max(b,pi,c))*exp(cosh(3.44))*cosh((b)**(1/3))*log(tan(c))))**(1/3)/exp(cosh("
    "(tan(sqrt((abs(max(pi,a,E))-max((3*8.15),log(b))-((pi+b+c)/log(a))))))**(1/2)))/(sin(exp(l"
    "og(abs(((9.95)**((b)**(2))*(a-a-c-b)*(1/55)*(4-72-E-c-c)*sqrt(a)))))))**(1/2))"
)


def rejected(text: str, names: object = None, **kwargs: object) -> ParseError:
    """Parse ``text``; assert a ParseError, raised without hanging (a safety bound)."""
    names = NAMES if names is None else names
    with pytest.raises(ParseError) as info:
        finishes_within(HANG_TIMEOUT, parse_expression, text, names, **kwargs)
    error = info.value
    assert error.text == text
    assert isinstance(error.lineno, int) and error.lineno >= 1
    assert isinstance(error.col_offset, int) and error.col_offset >= 0
    return error


# -- what is accepted -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a*b", a * b),
        ("e + c", e + c),  # e is the exercise's node, not Euler's number
        ("d*f", d * f),
        ("f*b", f * b),
        ("exp(-x)", sympy.exp(-x)),
        ("sigmoid(x)", sigmoid(x)),
        ("relu(x)", relu(x)),
        ("max(a, b)", sympy.Max(a, b)),
        ("min(a, b, 3)", sympy.Min(a, b, 3)),
        ("abs(x)", sympy.Abs(x)),
        ("x**2", x**2),
        ("sqrt(x)", sympy.sqrt(x)),
        ("-a", -a),
        ("+a", a),
        ("2.5*a", R(5, 2) * a),
        ("pi*x", sympy.pi * x),
        ("E**x", sympy.exp(x)),
        ("ln(x) - log(x)", sympy.S.Zero),
        ("a - b - c", a - b - c),
        ("a - (b - c)", a - b + c),
        ("a/b/c", a / (b * c)),
        ("a/(b/c)", a * c / b),
        ("-2**2", sympy.Integer(-4)),  # ** binds tighter than unary minus, as in Python
        ("2**3**2", sympy.Integer(512)),  # ** is right-associative
        ("2**-1", R(1, 2)),
        ("(a +\n b)*c", (a + b) * c),
        (
            "tanh(a) + sin(b)*cos(c) - tan(d)",
            sympy.tanh(a) + sympy.sin(b) * sympy.cos(c) - sympy.tan(d),
        ),
        (
            "asin(x) + acos(x) + atan(x) + sinh(x) + cosh(x)",
            sympy.asin(x) + sympy.acos(x) + sympy.atan(x) + sympy.sinh(x) + sympy.cosh(x),
        ),
        ("1_000 + 0x10 + 1e3", sympy.Integer(2016)),
        ("max(1, 2.5)", R(5, 2)),  # numbers only: evaluated
    ],
)
def test_parses_to_the_sympy_expression_built_directly(text: str, expected: sympy.Expr) -> None:
    result = parse_expression(text, NAMES)
    assert result == expected
    assert isinstance(result, sympy.Expr)


def test_decimals_are_exact_rationals_as_written() -> None:
    assert parse_expression("0.1", NAMES) == R(1, 10)
    assert isinstance(parse_expression("0.1", NAMES), sympy.Rational)
    assert parse_expression("0.1 + 0.2", NAMES) == R(3, 10)
    assert parse_expression("1.5e-3", NAMES) == R(3, 2000)
    assert parse_expression(".5 + 5.", NAMES) == R(11, 2)
    assert not parse_expression("0.1*a", NAMES).atoms(sympy.Float)


def test_integers_stay_exact() -> None:
    big = "9" * 100  # the largest literal the default limits allow
    assert parse_expression(big, NAMES) == sympy.Integer(10**100 - 1)
    assert parse_expression("2**1000", NAMES) == sympy.Integer(2**1000)


def test_every_listed_function_is_callable_by_its_name() -> None:
    assert set(FUNCTIONS) == set(
        "exp log ln sqrt sin cos tan tanh sigmoid relu abs max min asin acos atan sinh cosh".split()
    )
    assert FUNCTIONS["abs"] is sympy.Abs and FUNCTIONS["ln"] is sympy.log
    assert FUNCTIONS["relu"] is relu and FUNCTIONS["sigmoid"] is sigmoid
    for name, function in FUNCTIONS.items():
        if name in ("max", "min"):
            assert parse_expression(f"{name}(a, b, c)", NAMES) == function(a, b, c)
        else:
            assert parse_expression(f"{name}(x)", NAMES) == function(x)
            assert "takes 1 argument" in str(rejected(f"{name}(a, b)"))
            assert "takes 1 argument" in str(rejected(f"{name}()"))
    assert "at least 2 arguments" in str(rejected("max(a)"))


def test_constants_and_shadowing() -> None:
    assert dict(CONSTANTS) == {"pi": sympy.pi, "E": sympy.E}
    assert parse_expression("E + pi", NAMES) == sympy.E + sympy.pi
    own_e, own_pi = sympy.Symbol("E", real=True), sympy.Symbol("pi", real=True)
    assert parse_expression("E + pi", {"E": own_e, "pi": own_pi}) == own_e + own_pi
    # lower-case e is never Euler's number: without a node e it is an unknown name
    assert "unknown name 'e'" in str(rejected("e", {"a": a}))


def test_max_min_of_symbols_are_built_unevaluated() -> None:
    # SymPy's pairwise simplification of Max/Min takes seconds for a few dozen arguments.
    assert isinstance(parse_expression("max(a, a + 1)", NAMES), sympy.Max)
    text = "max(" + ", ".join(f"a + {i}*b" for i in range(300)) + ")"
    result = finishes_within(HANG_TIMEOUT, parse_expression, text, NAMES)
    assert len(result.args) == 300


def test_functions_of_complicated_arguments_are_not_simplified() -> None:
    # SymPy's simplification of e.g. tan(tanh(...)) can take many seconds; only functions
    # of names, numbers, pi and E (with + - * / **) are simplified while parsing
    assert parse_expression("relu(a**2) + abs(-a)", NAMES) == a**2 + sympy.Abs(a)
    assert parse_expression("abs(exp(a))", NAMES) == sympy.Abs(sympy.exp(a), evaluate=False)
    assert parse_expression("sin(pi/6) + sigmoid(0) + relu(-3)", NAMES) == 1
    assert parse_expression("log(exp(a))", NAMES) == sympy.log(sympy.exp(a), evaluate=False)
    # found by random search: 18 s and 2.4 s in SymPy's assumptions when fully simplified
    for text in [
        "tan(tanh(((cos((a-pi-a))/acos((c+E))/cosh((c-7-b))/(E+E+c+pi)))**(10)))",
        NESTED_FUNCTIONS,
    ]:
        result = finishes_within(HANG_TIMEOUT, parse_expression, text, NAMES)
        assert result.free_symbols <= {a, b, c} and isinstance(result, sympy.Expr)


def test_constants_must_be_real_and_defined() -> None:
    for text in ("asin(pi)", "sqrt(-1)", "log(-2)", "acos(2)", "sqrt(pi - 4)", "(-8)**(1/3)"):
        assert "not a real number" in str(rejected(text))
    # a complex constant deep inside is caught where it appears, before SymPy stalls on it
    error = rejected("log(cosh((asin(pi))**(1/2)))")
    assert "'asin(pi)'" in str(error) and error.col_offset == 10
    for text in ("1/0", "1/(pi - pi)", "0**-1", "log(0)", "tan(pi/2)"):
        message = str(rejected(text))
        assert "zero" in message or "undefined" in message
    assert parse_expression("sqrt(sin(pi))", NAMES) == 0


def test_comments_are_ignored_and_strings_rejected_before_parsing() -> None:
    assert parse_expression("a*b  # it's the product (of a and b", NAMES) == a * b
    assert str(rejected("'s'")).startswith("string is not allowed")
    assert str(rejected('f"{a}"')).startswith("f-string is not allowed")
    assert str(rejected("rb'x'")).startswith("bytes literal is not allowed")
    assert rejected("a + 'x'").col_offset == 4


def test_long_sums_and_products_are_flat() -> None:
    # a chain counts as one level of nesting and is built with one Add / Mul call (a left
    # fold would take seconds; benchmarks/bench_parsing.py measures the time)
    total = finishes_within(HANG_TIMEOUT, parse_expression, " + ".join(["a", "b"] * 450), NAMES)
    assert total == 450 * a + 450 * b
    assert finishes_within(HANG_TIMEOUT, parse_expression, "*".join(["a"] * 900), NAMES) == a**900


# -- what is rejected -------------------------------------------------------------------

TOUCHED: list[str] = []


class Bait:
    """A value in ``names`` that records any use: evaluating a rejected text would touch it."""

    def __getattribute__(self, name: str) -> object:
        TOUCHED.append(name)
        return object.__getattribute__(self, name)

    def _touch(self, *args: object, **kwargs: object) -> Bait:
        TOUCHED.append("operator")
        return self

    __call__ = __getitem__ = __add__ = __radd__ = __mul__ = __rmul__ = _touch
    __pow__ = __rpow__ = __neg__ = __sub__ = __rsub__ = __truediv__ = __rtruediv__ = _touch

    def __index__(self) -> int:
        TOUCHED.append("__index__")
        return 0

    def __float__(self) -> float:
        TOUCHED.append("__float__")
        return 0.0

    def __bool__(self) -> bool:
        TOUCHED.append("__bool__")
        return True

    def __repr__(self) -> str:
        TOUCHED.append("__repr__")
        return "Bait()"

    __str__ = __repr__


CORPUS = {
    "subclasses": "().__class__.__bases__[0].__subclasses__()",
    "import": "__import__('os').system('touch CANARY')",
    "open": "open('CANARY', 'w')",
    "lambda": "lambda: 1",
    "comprehension": "[x for x in a]",
    "fstring": 'f"{a}"',
    "fstring-call": "f\"{__import__('os').system('touch CANARY')}\"",
    "tower": "9**9**9",
    "nested-powers": "(((10**30)**64)**64)**64",
    "deep-parens": "(" * 100_000 + "a" + ")" * 100_000,
    "deep-minus": "-" * 100_000 + "a",
    "10MB": "a+" * 5_000_000,
    "underscore": "_a",
    "dunder": "__a__",
    "attribute": "a.real",
    "subscript": "a[0]",
    "open-call": "open('x')",
    "getattr": "getattr(a, 'b')",
    "keyword": "exp(x=1)",
    "ifexp": "a if b else c",
    "and": "a and b",
    "compare": "a < b",
    "complex": "1j",
    "bool": "True",
    "str": "'s'",
    "bytes": "b'b'",
    "xor": "a ^ b",
    "tuple": "(a, b)",
    "star": "*a",
    "star-arg": "max(*a)",
    "walrus": "(x := 1)",
    "div-zero": "1/0",
    "div-zero-expr": "a/(b - b)",
    "zero-power": "0**-1",
    "log-zero": "log(0)",
    "huge-exponent": "10**(10**10)",
    "exponent": "2**100000",
    "int-5000-digits": "7" * 5000,
    "exp-log-power": "exp(log(10)*10**99)",
    "e-log-power": "E**(log(10)*10**99)",
    "roots-of-big": "sqrt(" + "3" * 90 + ") * sqrt(" + "7" * 90 + ")",
    "huge-magnitude": "tan(exp(6143561946.29))",
    "complex-constant": "log(cosh((asin(pi))**(1/2)))",
    "max-pairs": "max(" + ", ".join(f"a + {i}" for i in range(300)) + ") + a ^ b",
    "non-identifier": "$a",
    "juxtaposition": "2x",
    "empty": "",
    "whitespace": " \t\n ",
    "bait-attribute": "bait.__class__",
    "bait-call": "bait()",
    "bait-subscript": "bait[0]",
    "bait-operator": "bait + 1",
    "bait-function": "exp(bait)",
    "null-byte": "a\x00",
    "surrogate": "a\ud800",
    "not": "not a",
    "semicolon": "a; b",
    "unknown-function": "g(a)",
    "bare-function": "exp",
    "node-called": "a(b)",
    "ellipsis": "...",
    "none": "None",
    "set": "{a}",
    "list": "[a]",
}


@pytest.mark.parametrize("template", CORPUS.values(), ids=CORPUS.keys())
def test_security_corpus_is_rejected_fast_and_runs_nothing(template: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    text = template.replace("CANARY", str(canary))
    names = {**NAMES, "bait": Bait()}
    TOUCHED.clear()
    rejected(text, names)
    assert not canary.exists()
    assert TOUCHED == []


def test_names_must_map_to_sympy_expressions(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    # a string would be sympified -- that is, evaluated -- by a careless builder
    payload = f"__import__('os').system('touch {canary}')"
    error = rejected("a + 1", {"a": payload})
    assert "'a' is bound to a str, not a SymPy expression" in str(error)
    assert not canary.exists()
    assert "bound to a float" in str(rejected("a", {"a": 1.5}))
    assert "not allowed" in str(rejected("_a", {"_a": sympy.Symbol("_a")}))


def test_non_text_input_is_a_parse_error() -> None:
    for value in (b"a", None, 3):
        with pytest.raises(ParseError):
            parse_expression(value, NAMES)  # type: ignore[arg-type]


def test_no_eval_exec_or_non_ast_compile_during_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec called")

    def ast_only(
        source: object, filename: object, mode: str, flags: int = 0, *rest: object, **kw: object
    ) -> object:
        assert flags & ast.PyCF_ONLY_AST, "compile() used for more than an AST"
        return real_compile(source, filename, mode, flags, *rest, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", ast_only)
    assert parse_expression("exp(-a)*b + max(c, 2.5)", NAMES) == sympy.exp(-a) * b + sympy.Max(
        c, R(5, 2)
    )
    rejected("__import__('os').system('echo pwned')")


def test_module_source_calls_no_evaluating_function() -> None:
    source = Path(symtrace.parsing.__file__).read_text()
    forbidden = {"eval", "exec", "compile", "sympify", "parse_expr", "lambdify", "S", "simplify"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if isinstance(func, ast.Attribute) and ast.unparse(func.value) == "re":
                continue  # re.compile compiles a regular expression, not code
            assert name not in forbidden, f"line {node.lineno} calls {name}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a.real", ["attribute access", "'a.real'"]),
        ("a[0]", ["subscript"]),
        ("lambda: 1", ["lambda"]),
        ("[x for x in a]", ["list comprehension"]),
        ('f"{a}"', ["f-string"]),
        ("exp(x=1)", ["keyword argument", "'x=1'"]),
        ("a if b else c", ["conditional expression"]),
        ("a and b", ["'and'/'or'"]),
        ("a < b", ["comparison"]),
        ("1j", ["complex number"]),
        ("True", ["boolean"]),
        ("'s'", ["string"]),
        ("sqrt(-2)", ["not a real number"]),
        ("exp(10**5)", ["too large"]),
        ("a ^ b", ["'^'", "**"]),
        ("(a, b)", ["tuple"]),
        ("(x := 1)", ["':='"]),
        ("1/0", ["division by zero"]),
        ("log(0)", ["undefined"]),
        ("9**9**9", ["exponent 387420489", "limit is 1000"]),
        ("7" * 101, ["101 digits", "limit is 100"]),
        ("", ["empty expression"]),
        ("g(a)", ["unknown function 'g'", "exp, log"]),
        ("Exp(a)", ["did you mean 'exp'"]),
        ("a(b)", ["'a' is not a function", "a*(...)"]),
        ("a +", ["syntax error"]),
    ],
)
def test_messages_name_the_construct_and_quote_it(text: str, words: list[str]) -> None:
    message = str(rejected(text))
    assert "line 1, column " in message
    for word in words:
        assert word in message


def test_unknown_name_lists_the_known_names() -> None:
    error = rejected("a + g")
    assert str(error).startswith("unknown name 'g' (line 1, column 5)")
    assert "this exercise defines a, b, c, d, e, f, L, x" in str(error)
    assert "did you mean 'exp'" in str(rejected("ep", {"a": a}))


# -- positions ----------------------------------------------------------------------------


def test_position_points_at_the_offending_part() -> None:
    error = rejected("a + b.c", {"a": a, "b": b})
    assert (error.lineno, error.col_offset) == (1, 4)
    assert "line 1, column 5" in str(error) and "'b.c'" in str(error)
    error = rejected("a ^ b")
    assert error.col_offset == 2
    error = rejected("2**(a + 10**2000)")
    assert error.col_offset is not None and error.col_offset > 0


def test_lineno_argument_shifts_reported_lines() -> None:
    error = rejected("a + b.c", {"a": a, "b": b}, lineno=7)
    assert error.lineno == 7 and "line 7, column 5" in str(error)
    error = rejected("(a +\n  b.c)", {"a": a, "b": b}, lineno=7)
    assert (error.lineno, error.col_offset) == (8, 2)
    error = rejected("a +", lineno=3)
    assert error.lineno == 3


def test_columns_count_characters_not_utf8_bytes() -> None:
    accent = sympy.Symbol("é", real=True)
    error = rejected("é + b.c", {"é": accent, "b": b})
    assert error.col_offset == 4
    assert parse_expression("2*é", {"é": accent}) == 2 * accent


# -- limits -------------------------------------------------------------------------------


def test_default_limits() -> None:
    assert DEFAULT_LIMITS == ParseLimits()
    assert (DEFAULT_LIMITS.max_length, DEFAULT_LIMITS.max_nodes, DEFAULT_LIMITS.max_depth) == (
        10_000,
        2_000,
        100,
    )
    assert (DEFAULT_LIMITS.max_int_digits, DEFAULT_LIMITS.max_exponent) == (100, 1_000)
    with pytest.raises(ValueError, match="max_depth"):
        ParseLimits(max_depth=0)


def test_length_limit_is_checked_first() -> None:
    limits = ParseLimits(max_length=10)
    assert parse_expression("a + b + c", NAMES, limits=limits) == a + b + c
    assert "limit is 10" in str(rejected("a + b + c + d", limits=limits))


def test_depth_limit_on_raw_text_and_tree() -> None:
    assert parse_expression("-" * 50 + "a", NAMES) == a
    assert parse_expression("(" * 99 + "a" + ")" * 99, NAMES) == a
    assert "nested" in str(rejected("(" * 101 + "a" + ")" * 101))
    assert "nested" in str(rejected("-" * 101 + "a"))
    assert "nested" in str(rejected("**".join(["a"] * 150)))  # right-associative: deep tree
    limits = ParseLimits(max_depth=5)
    assert "nested" in str(rejected("exp(exp(exp(exp(exp(a)))))", limits=limits))


def test_node_limit() -> None:
    assert "too large" in str(rejected("+".join(["a"] * 1_500)))
    limits = ParseLimits(max_nodes=10)
    assert parse_expression("a*b + c*d", NAMES, limits=limits) == a * b + c * d
    assert "too large" in str(rejected("a*b + c*d + e*f + a*b", limits=limits))


def test_exponent_limits() -> None:
    assert parse_expression("x**1000", NAMES) == x**1000
    assert "exponent 1001" in str(rejected("x**1001"))
    assert "exponent" in str(rejected("x**(1/1001)"))
    assert "numbers too large" in str(rejected("(10**30)**64"))
    limits = ParseLimits(max_exponent=10)
    assert "exponent 11" in str(rejected("a**11", limits=limits))


# -- fuzzing ------------------------------------------------------------------------------

SOUP = ["a", "b", "(", ")", "+", "-", "*", "/", "**", ",", "exp", "max", "1", "2.5", "_", "."]


def parse_or_reject(text: str) -> sympy.Expr | None:
    """The contract: a SymPy expression or a ParseError with a position, nothing else."""
    try:
        result = parse_expression(text, {"a": a, "b": b})
    except ParseError as error:
        assert error.text == text
        assert isinstance(error.lineno, int) and isinstance(error.col_offset, int)
        return None
    assert isinstance(result, sympy.Expr)
    return result


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text(text: str) -> None:
    parse_or_reject(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab()[]{}+-*/^%.,_:=<>!~@&|'\"\\ \n\t019eEjx", max_size=200))
def test_fuzz_python_punctuation(text: str) -> None:
    parse_or_reject(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SOUP), st.sampled_from(["", " "])), max_size=60))
def test_fuzz_token_soup(tokens: list[tuple[str, str]]) -> None:
    parse_or_reject("".join(token + space for token, space in tokens))


ORACLE = {
    "a": a,
    "b": b,
    "exp": sympy.exp,
    "max": sympy.Max,
    "ONE": sympy.Integer(1),
    "TWO_AND_A_HALF": R(5, 2),
}
POINT = {a: R(7, 10), b: R(-13, 10)}


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SOUP[:-2]), max_size=40))
def test_accepted_soup_equals_pythons_own_reading(tokens: list[str]) -> None:
    """Precedence, associativity and signs: whatever parses equals Python's reading of it."""
    result = parse_or_reject(" ".join(tokens))
    if result is None:
        return
    names = {"1": "ONE", "2.5": "TWO_AND_A_HALF"}
    oracle_text = " ".join(names.get(token, token) for token in tokens)
    # trusted text built from the fixed tokens above; builtins removed
    oracle = eval(oracle_text, {"__builtins__": {}}, ORACLE)
    expected = sympy.sympify(oracle).evalf(30, subs=POINT)
    if expected.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return  # a pole at the sample point
    assert abs(result.evalf(30, subs=POINT) - expected) <= 1e-20 * (1 + abs(expected))


# -- expressions of one shape: parsed once, the names put in ------------------------------

# Names whose alphabetical order is easy to get wrong (x10 < x9, X < a, E and pi shadow
# the constants, exp is also a function), as trace nodes and as plain symbols with other
# assumptions.
POOL = "a b c e x1 x2 x9 x10 x99 X Y aa ab y_1 y_10 E pi exp".split()
SYMBOLS = {n: NodeSymbol(n, 7) for n in POOL} | {
    "p1": sympy.Symbol("p1", positive=True),
    "p2": sympy.Symbol("p2", positive=True),
}
SLOTS = 4
_LEAVES = st.one_of(
    st.integers(0, SLOTS - 1).map(lambda k: f"{{{k}}}"),
    st.sampled_from(["0", "1", "2", "3", "12", "0.5", "2.25", "1e-3", "pi", "E", "0.10"]),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    one = st.sampled_from(sorted(set(FUNCTIONS) - {"max", "min"}))
    return st.one_of(
        st.tuples(children, st.sampled_from(" + - * / ".split()), children).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        st.tuples(children, st.sampled_from(["2", "3", "-1", "(1/2)", "(-2)"])).map(
            lambda t: f"({t[0]})**{t[1]}"
        ),
        st.tuples(children, children).map(lambda t: f"({t[0]})**({t[1]})"),
        children.map(lambda t: f"-({t})"),
        st.tuples(one, children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["max", "min"]), st.lists(children, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


SHAPES = st.recursive(_LEAVES, _combine, max_leaves=10)


def _from_scratch(text: str, names: dict[str, object]) -> object:
    """The parse without the shape cache, or its error message."""
    try:
        return symtrace.parsing._Parser(text, names, DEFAULT_LIMITS, None).parse()
    except ParseError as error:
        return str(error)


def _parsed(text: str, names: dict[str, object]) -> object:
    try:
        return parse_expression(text, names)
    except ParseError as error:
        return str(error)


@settings(max_examples=400, deadline=None)
@given(
    SHAPES,
    st.permutations(range(SLOTS)),
    st.lists(st.sampled_from(sorted(SYMBOLS)), min_size=SLOTS, max_size=SLOTS, unique=True),
    st.lists(st.sampled_from(sorted(SYMBOLS)), min_size=SLOTS, max_size=SLOTS, unique=True),
)
def test_a_shape_parsed_once_gives_the_tree_parsed_from_scratch(
    shape: str, ranks: list[int], first: list[str], second: list[str]
) -> None:
    """Two texts of one shape whose names are in the same alphabetical order: the second
    is the first's tree with its names put in, unevaluated.  Both equal the parse from
    scratch (SymPy's evaluation of the text), argument order and classes included, or
    fail with the same message."""
    for chosen in (first, second):
        in_order = sorted(chosen)
        text = shape.format(*(in_order[r] for r in ranks))
        got, expected = _parsed(text, SYMBOLS), _from_scratch(text, SYMBOLS)
        assert got == expected, text
        if isinstance(expected, sympy.Basic):
            assert sympy.srepr(got) == sympy.srepr(expected), text


def test_a_chain_of_one_shape_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a generated chain parses its one shape once (SymPy's evaluation of a
    definition takes milliseconds); every definition still equals its parse from
    scratch."""
    names = {f"x{i}": NodeSymbol(f"x{i}", 3) for i in range(300)} | {"y": NodeSymbol("y", 3)}
    texts = [
        f"0.5*x{i} + 0.25*sin(x{i} + y) - 0.125*cos(x{i}*y) + 0.0625*tanh(x{i} - y)"
        for i in range(300)
    ]
    expected = [_from_scratch(text, names) for text in texts]
    calls = []
    parse = symtrace.parsing._Parser.parse
    monkeypatch.setattr(
        symtrace.parsing._Parser, "parse", lambda self: calls.append(self.text) or parse(self)
    )
    monkeypatch.setattr(symtrace.parsing, "_SHAPES", {})
    got = [parse_expression(text, names) for text in texts]
    assert got == expected
    assert len(calls) == 1 and "x" not in calls[0]  # the shape, over stand-in names


@pytest.mark.parametrize(
    "text",
    ["_a + b", "a + g", "exp*a", "a.real", "a if b else c", "(a + b", "a # comment", "x1e5"],
)
def test_texts_not_of_a_known_shape_are_parsed_as_they_are(text: str) -> None:
    """An unknown word, a rejected construct or a name bound to something else: the
    result, or the error and its position, is that of the parse from scratch."""
    names = {**NAMES, "exp": NodeSymbol("exp", 1), "x1e5": NodeSymbol("x1e5", 1)}
    assert _parsed(text, names) == _from_scratch(text, names)


# -- parse_number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "half_unit"),
    [
        ("0.73", R(73, 100), R(1, 200)),
        ("2", 2, R(1, 2)),
        ("-1.5e-3", R(-3, 2000), R(1, 20000)),
        ("+4", 4, R(1, 2)),
        ("1.50", R(3, 2), R(1, 200)),
        ("1e3", 1000, 500),
        ("2.5E+2", 250, 5),
        (".5", R(1, 2), R(1, 20)),
        ("5.", 5, R(1, 2)),
        ("-0", 0, R(1, 2)),
        ("  0.73\n", R(73, 100), R(1, 200)),
    ],
)
def test_parse_number(text: str, value: object, half_unit: object) -> None:
    parsed = parse_number(text)
    assert parsed == (value, half_unit)
    assert all(isinstance(item, sympy.Rational) for item in parsed)


def test_parse_number_tolerance_is_the_written_precision() -> None:
    value, tolerance = parse_number("0.73")
    true = sympy.Rational(7310585786, 10**10)  # sigmoid(1) to 10 digits
    assert abs(value - true) <= tolerance
    value, tolerance = parse_number("0.74")
    assert abs(value - true) > tolerance
    value, tolerance = parse_number("0.7311")
    assert abs(value - true) <= tolerance


@pytest.mark.parametrize(
    "text",
    [
        "1/2",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "",
        "   ",
        "1e",
        "e5",
        ".",
        "--1",
        "+-1",
        "1_000",
        "0x10",
        "1.2.3",
        "1,5",
        "1 2",
        "\u0661",
        "1j",
        "2*3",
        "1e99999999",
        "1e1001",
        "1" * 101,
        "a",
        "(1)",
    ],
)
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_number(text)
    assert info.value.text == text


def test_parse_number_rejects_non_text() -> None:
    with pytest.raises(ParseError, match="str"):
        parse_number(0.73)  # type: ignore[arg-type]
