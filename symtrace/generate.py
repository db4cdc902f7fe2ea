"""Random backprop exercises for worksheets: ``symtrace new --seed N``.

:func:`generate` builds a small graph with nice values (small integers when the
operations allow), every answer blank, and its answer key, reproducibly from the seed
(``random.Random(seed)``: the same seed and options give the same text).

>>> sheet = generate(seed=0, nodes=3)
>>> print(sheet.exercise, end="")  # doctest: +ELLIPSIS
# symtrace new --seed 0 (nodes=3, ops=add,mul,sub, fan_out=False)
title = "Backprop exercise, seed 0"
description = "Compute the value of every node, then the gradient dL/dx ..."
output = "L"
<BLANKLINE>
[inputs]
a = 1
b = -3
c = -1
<BLANKLINE>
[define]
p = "a*b"
q = "p*c"
L = "q*2"
<BLANKLINE>
[answers]
p = ""
q = ""
L = ""
"dL/dq" = ""
"dL/dp" = ""
"dL/dc" = ""
"dL/db" = ""
"dL/da" = ""
>>> sheet.key_report().ok
True
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mpmath
import sympy

from .check import Report
from .check.matrix import scalar_report
from .errors import ExerciseError
from .exercise import dumps, loads
from .functions import relu, sigmoid

__all__ = ["OPS", "TEMPLATES", "Worksheet", "generate", "template"]

#: The operations a generated graph may use: name -> (arity, template as written in the
#: exercise file, the same operation on SymPy values).
OPS: dict[str, tuple[int, str, Callable[..., sympy.Expr]]] = {
    "add": (2, "{0} + {1}", operator.add),
    "sub": (2, "{0} - {1}", operator.sub),
    "mul": (2, "{0}*{1}", operator.mul),
    "square": (1, "{0}**2", lambda a: a**2),
    "relu": (1, "relu({0})", relu),
    "max": (2, "max({0}, {1})", sympy.Max),
    "tanh": (1, "tanh({0})", sympy.tanh),
    "sigmoid": (1, "sigmoid({0})", sigmoid),
    "exp": (1, "exp({0})", sympy.exp),
}
DEFAULT_OPS = ("add", "mul", "sub")
_INPUT_NAMES = "abcdfghk"
_NODE_NAMES = "pqrstuvwxyz"
_MAX_ABS = 60


@dataclass(frozen=True)
class Worksheet:
    """A generated exercise (TOML text, answers blank) and its answer key (TOML text)."""

    exercise: str
    key: str
    seed: int

    def key_report(self) -> Report:
        """The answer key checked against the exercise (all correct by construction)."""
        return scalar_report(loads(self.key, source=f"key-{self.seed}").check(), "key_report")


def _value(expr: sympy.Expr) -> float:
    """The float of a value; infinite when it is too large for one (``exp(exp(...))``)."""
    try:
        return float(expr)
    except (OverflowError, TypeError, ValueError):
        return math.inf


def generate(
    seed: int,
    nodes: int = 4,
    ops: Sequence[str] = DEFAULT_OPS,
    fan_out: bool = False,
    locals: bool = False,
) -> Worksheet:
    """A random exercise with ``nodes`` definitions (the last one is ``L``).

    ``ops`` chooses from :data:`OPS`; ``fan_out`` makes at least one node feed two
    others; ``locals`` also asks for the local partial of every edge.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ExerciseError(f"seed must be an integer, got {seed!r}")
    if not 1 <= nodes <= len(_NODE_NAMES) + 1:
        raise ExerciseError(f"--nodes must be between 1 and {len(_NODE_NAMES) + 1}")
    ops = list(dict.fromkeys(ops))
    unknown = [o for o in ops if o not in OPS]
    if unknown or not ops:
        raise ExerciseError(
            f"unknown operation(s) {', '.join(unknown) or '(none given)'}; choose from "
            + ", ".join(OPS)
        )
    if fan_out and nodes < 2:
        raise ExerciseError("--fan-out needs at least 2 nodes")
    if fan_out and all(OPS[o][0] == 1 for o in ops):
        raise ExerciseError(
            f"--fan-out needs an operation of two arguments (add, sub, mul, max): with "
            f"{', '.join(ops)} alone every node has one consumer"
        )
    rng = random.Random(seed)
    if all(OPS[o][0] == 1 for o in ops):
        inputs, define = _unary_chain(rng, nodes, ops)
    else:
        inputs, define = _drawn(rng, nodes, ops, fan_out)
    options = f"nodes={nodes}, ops={','.join(ops)}, fan_out={fan_out}"
    return _worksheet(
        inputs,
        define,
        seed,
        f"Backprop exercise, seed {seed}",
        f"symtrace new --seed {seed} ({options})",
        locals,
    )


def _drawn(
    rng: random.Random, nodes: int, ops: list[str], fan_out: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """Inputs and definitions drawn at random until every value stays moderate."""
    for _attempt in range(100):
        built = _build(rng, nodes, ops, fan_out)
        if built is None:
            continue  # some value could not be kept moderate: draw the graph again
        inputs, define = built
        source = loads(dumps(inputs, define, {}, output="L"), source="generated")
        t, out = source.trace, source.output
        g = t.grad(out)
        if all(t.expand(g[x]) != 0 for x in t.input_nodes):
            break  # every input matters (no cancelling paths)
    else:
        raise ExerciseError(
            f"could not make an exercise with {nodes} nodes from {', '.join(ops)} whose "
            "values all stay moderate; use fewer nodes or other operations"
        )
    return inputs, define


# One-argument ops on floats, for the chain search: the value, or None where the step
# is not allowed (a kink, a saturated or zero derivative, a value out of range).
_UNARY_FLOAT: dict[str, Callable[[float], float | None]] = {
    "square": lambda x: x * x if x != 0 else None,
    "relu": lambda x: x if x > 0 else None,
    "tanh": lambda x: math.tanh(x) if abs(x) <= 3 else None,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)) if abs(x) <= 3 else None,
    "exp": lambda x: math.exp(x) if abs(x) <= 3 else None,
}
_MIN_ABS = 1e-3  # no value vanishes (squares of small numbers shrink fast)


def _unary_chain(
    rng: random.Random, nodes: int, ops: list[str]
) -> tuple[dict[str, int], dict[str, str]]:
    """A chain ``a -> p -> q -> ... -> L`` of one-argument ops (the only shape they can
    make), found by a depth-first search over the ops in a seeded random order, so that
    it succeeds whenever such a chain exists; else a clear error with the longest one."""
    found = _search_chain(rng, nodes, ops)
    if found is None:
        longest = next(
            (n for n in range(nodes - 1, 0, -1) if _search_chain(rng, n, ops) is not None), 0
        )
        raise ExerciseError(
            f"could not make an exercise with {nodes} nodes from {', '.join(ops)}: these "
            "operations take one argument each, so the exercise is one chain from one "
            "input, and no chain of that length keeps every value within "
            f"±{_MAX_ABS}, away from kinks and saturation (the longest has {longest} "
            "nodes); use fewer nodes, or add an operation of two arguments "
            "(add, sub, mul, max)"
        )
    start, chain = found
    names = [*_NODE_NAMES[: nodes - 1], "L"]
    define, prev = {}, "a"
    for name, op in zip(names, chain, strict=True):
        define[name] = OPS[op][1].format(prev)
        prev = name
    return {"a": start}, define


def _search_chain(rng: random.Random, nodes: int, ops: list[str]) -> tuple[int, list[str]] | None:
    """A start value and ``nodes`` ops whose every value is allowed, or ``None``."""
    starts = [-3, -2, -1, 1, 2, 3]
    rng.shuffle(starts)
    dead: set[tuple[float, int]] = set()  # (value, steps left) known to lead nowhere
    for start in starts:
        stack: list[tuple[float, list[str]]] = [(float(start), [])]
        while stack:  # iterative depth-first search
            x, chain = stack.pop()
            if len(chain) == nodes:
                return start, chain
            key = (round(x, 9), nodes - len(chain))
            if key in dead:
                continue
            dead.add(key)  # revisited only through another path: nothing new there
            order = list(ops)
            rng.shuffle(order)
            for op in order:
                y = _UNARY_FLOAT[op](x)
                if y is not None and _MIN_ABS <= abs(y) <= _MAX_ABS:
                    stack.append((y, [*chain, op]))
    return None


_DESCRIPTION = (
    "Compute the value of every node, then the gradient dL/dx of the output L with "
    "respect to every node, working backwards from L. Fill in each answer between the "
    "quotes."
)


def _worksheet(
    inputs: dict[str, Any],
    define: dict[str, str],
    seed: int,
    title: str,
    command: str,
    locals: bool,
) -> Worksheet:
    """The exercise (answers blank) and its key: every value, every ``dL/d(node)`` from
    the output down, and with ``locals`` every edge's local partial."""
    source = loads(dumps(inputs, define, {}, output="L"), source="generated")
    t, out = source.trace, source.output
    g = t.grad(out)
    key_answers: dict[str, object] = {}
    for node in t.nodes:
        if not t.is_input(node):
            key_answers[node.name] = _nice(t.value(node, exact=True))
    for node in reversed(t.nodes):
        if node != out:
            key_answers[f"dL/d{node.name}"] = _nice(g.value(node, exact=True))
    if locals:
        for node in reversed(t.nodes):
            for p in t.parents(node):
                # local:CHILD/PARENT: "∂L/∂r" would be read as the gradient dL/dr.
                key_answers[f"local:{node.name}/{p.name}"] = _nice(
                    t.value(t.partial(node, p), exact=True)
                )
    exercise_answers: dict[str, None] = dict.fromkeys(key_answers)
    exercise = f"# {command}\n" + dumps(
        inputs, define, exercise_answers, output="L", title=title, description=_DESCRIPTION
    )
    key = f"# Answer key: {command}\n" + dumps(
        inputs, define, key_answers, output="L", title=title + " (answer key)"
    )
    return Worksheet(exercise, key, seed)


# ------------------------------------------------------------------------ templates

TEMPLATES = ("neuron", "scalar-mlp", "scalar-softmax")
"""``symtrace new --template``: the shapes courses set, written with scalar nodes (every
answer one number), values out of saturation.  The matrix forms are
:data:`symtrace.templates.TEMPLATES`."""

_TEMPLATE_TITLES = {
    "neuron": "One neuron: weighted sum, sigmoid, squared error",
    "scalar-mlp": "A 2-2-1 network: tanh hidden layer, linear output, squared error",
    "scalar-softmax": "Softmax and cross-entropy over three classes",
}
_SATURATION = 2.0  # |pre-activation| at most this: tanh and sigmoid are not flat there


def template(name: str, seed: int, locals: bool = False) -> Worksheet:
    """A realistic exercise of the kind courses set, its numbers drawn from ``seed``.

    ``"neuron"``: ``z = w1*x1 + w2*x2 + b``, ``s = sigmoid(z)``, ``L = (s - y)**2/2``;
    ``"scalar-mlp"``: two tanh hidden units and a linear output with squared error;
    ``"scalar-softmax"``: logits, their softmax and the cross-entropy with a one-hot target.
    Weights and inputs are small one-decimal numbers, redrawn until every
    pre-activation is within ±2 (no saturated tanh or sigmoid, no 1e-07 gradients).

    >>> sheet = template("neuron", seed=1)
    >>> print(sheet.exercise.split("[answers]")[0], end="")  # doctest: +ELLIPSIS
    # symtrace new --template neuron --seed 1
    title = "One neuron: weighted sum, sigmoid, squared error"
    ...
    [define]
    z = "w1*x1 + w2*x2 + b"
    s = "sigmoid(z)"
    L = "(s - y)**2/2"
    <BLANKLINE>
    >>> sheet.key_report().ok
    True
    """
    if name not in TEMPLATES:
        raise ExerciseError(f"unknown template {name!r}; choose one of {', '.join(TEMPLATES)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ExerciseError(f"seed must be an integer, got {seed!r}")
    rng = random.Random(f"{name}:{seed}")
    build = {"neuron": _neuron, "scalar-mlp": _mlp, "scalar-softmax": _softmax}[name]
    for _attempt in range(200):
        inputs, define, pre = build(rng)
        if all(abs(v) <= _SATURATION for v in pre):
            break
    else:  # pragma: no cover - 200 draws of small numbers always find one
        raise ExerciseError(f"could not draw moderate numbers for the {name} template")
    return _worksheet(
        inputs,
        define,
        seed,
        _TEMPLATE_TITLES[name],
        f"symtrace new --template {name} --seed {seed}",
        locals,
    )


def _small(rng: random.Random, low: float = -1.0, high: float = 1.0) -> float:
    """A one-decimal number in [low, high], never 0 (a zero weight hides a path)."""
    while True:
        v = round(rng.uniform(low, high), 1)
        if v != 0:
            return v


def _neuron(rng: random.Random) -> tuple[dict[str, Any], dict[str, str], list[float]]:
    x1, x2, w1, w2, b = (_small(rng) for _ in range(5))
    y = rng.choice([0, 1])
    inputs = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "y": y}
    define = {"z": "w1*x1 + w2*x2 + b", "s": "sigmoid(z)", "L": "(s - y)**2/2"}
    return inputs, define, [w1 * x1 + w2 * x2 + b]


def _mlp(rng: random.Random) -> tuple[dict[str, Any], dict[str, str], list[float]]:
    names = ["x1", "x2", "w11", "w12", "w21", "w22", "b1", "b2", "v1", "v2", "c"]
    inputs: dict[str, Any] = {n: _small(rng) for n in names}
    inputs["y"] = _small(rng)
    define = {
        "z1": "w11*x1 + w12*x2 + b1",
        "z2": "w21*x1 + w22*x2 + b2",
        "h1": "tanh(z1)",
        "h2": "tanh(z2)",
        "o": "v1*h1 + v2*h2 + c",
        "L": "(o - y)**2/2",
    }
    v = inputs
    pre = [
        v["w11"] * v["x1"] + v["w12"] * v["x2"] + v["b1"],
        v["w21"] * v["x1"] + v["w22"] * v["x2"] + v["b2"],
    ]
    return inputs, define, pre


def _softmax(rng: random.Random) -> tuple[dict[str, Any], dict[str, str], list[float]]:
    z = [_small(rng, -2.0, 2.0) for _ in range(3)]
    k = rng.randrange(3)
    inputs: dict[str, Any] = {"z1": z[0], "z2": z[1], "z3": z[2]}
    define = {
        "e1": "exp(z1)",
        "e2": "exp(z2)",
        "e3": "exp(z3)",
        "S": "e1 + e2 + e3",
        f"p{k + 1}": f"e{k + 1}/S",
        "L": f"-log(p{k + 1})",
    }
    return inputs, define, z


def _at_kink(op: str, args: list[sympy.Expr]) -> bool:
    """A kink, or an argument where tanh/sigmoid/exp give awkward numbers."""
    if op in ("tanh", "sigmoid", "exp"):
        return abs(float(args[0])) > 3
    if op == "relu":
        return bool(args[0] == 0)
    if op == "max":
        return bool(args[0] == args[1])
    return False


def _nice(value: sympy.Expr) -> int | str:
    """An integer when exact, else the value rounded to 6 significant digits and written
    with exactly those digits (``"0.731059"``, ``"5.00686e+09"``): judged to its written
    precision, which then contains the exact value.

    The digits come from :func:`_digits` (fast, for the nested exact values of a chain of
    ``exp``/``tanh``/``sigmoid``, which ``sympy.N`` takes about a second each to evaluate),
    or from ``sympy.N`` where that cannot vouch for them."""
    if value.is_Integer:
        return int(value)
    exact = _digits(value)
    if exact is None:
        exact = Decimal(str(sympy.N(value, 30)))
    return format(exact, ".6g")


_MP_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    sympy.exp: mpmath.exp,
    sympy.log: mpmath.log,
    sympy.tanh: mpmath.tanh,
    sympy.sin: mpmath.sin,
    sympy.cos: mpmath.cos,
    sigmoid: lambda x: 1 / (1 + mpmath.exp(-x)),
    relu: lambda x: max(x, mpmath.mpf(0)),
    sympy.Max: max,
    sympy.Min: min,
    sympy.Abs: abs,
}


def _mp_value(e: sympy.Expr, dps: int) -> Any:
    """``e`` (an exact value: numbers and the functions above) evaluated with mpmath at
    ``dps`` digits, each shared part once; ``None`` for anything else (or a kink)."""
    done: dict[sympy.Basic, Any] = {}
    with mpmath.workdps(dps):
        stack: list[sympy.Basic] = [e]
        while stack:
            node = stack[-1]
            if node in done:
                stack.pop()
                continue
            if isinstance(node, sympy.Rational):
                done[stack.pop()] = mpmath.mpf(int(node.p)) / int(node.q)
                continue
            pending = [a for a in node.args if a not in done]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            args = [done[a] for a in node.args]
            if any(a is None for a in args):
                return None
            if isinstance(node, sympy.Add):
                done[node] = mpmath.fsum(args)
            elif isinstance(node, sympy.Mul):
                done[node] = mpmath.fprod(args)
            elif isinstance(node, sympy.Pow) and (args[0] > 0 or node.exp.is_Integer):
                done[node] = args[0] ** args[1]
            elif isinstance(node, sympy.Heaviside) and args[0] != 0:
                done[node] = mpmath.mpf(1 if args[0] > 0 else 0)
            elif node.func in _MP_FUNCTIONS and not isinstance(node, sympy.Piecewise):
                done[node] = _MP_FUNCTIONS[node.func](*args)
            else:
                return None
        return done[e]


def _digits(value: sympy.Expr) -> Decimal | None:
    """``value`` to 30 significant digits, when two mpmath evaluations (at 50 and 70
    digits) agree on them and the 6 digits a key writes are not within a hair (1e-23
    relative) of a rounding boundary; ``None`` otherwise."""
    try:
        low, high = _mp_value(value, 50), _mp_value(value, 70)
    except (ZeroDivisionError, ValueError):  # 0**-1, a domain error: sympy.N says what
        return None
    if not (isinstance(low, mpmath.mpf) and isinstance(high, mpmath.mpf)):
        return None  # not evaluated, or complex (log of a negative number)
    if not mpmath.isfinite(high) or high == 0:
        return None
    a, b = (
        Decimal(mpmath.nstr(low, 30, strip_zeros=False)),
        Decimal(mpmath.nstr(high, 30, strip_zeros=False)),
    )
    if a != b:
        return None
    tail = format(abs(b), ".29e").split("e")[0].replace(".", "")[6:23]
    if tail.startswith(("5" + "0" * 16, "4" + "9" * 16)):
        return None
    return b


@dataclass
class _Graph:
    """A random graph being built: what it draws from, and the values made so far."""

    rng: random.Random
    binary: list[str]  # the chosen ops of two arguments
    unary: list[str]  # and of one
    fan_out: bool
    values: dict[str, sympy.Expr]  # every node's value, in definition order
    unused: list[str]  # the nodes no definition uses yet, newest first


def _build(
    rng: random.Random, nodes: int, ops: list[str], fan_out: bool
) -> tuple[dict[str, int], dict[str, str]] | None:
    """One random graph: input values and definitions (the last one is ``L``); ``None``
    when some step found no moderate value."""
    binary = [o for o in ops if OPS[o][0] == 2]
    unary = [o for o in ops if OPS[o][0] == 1]
    n_in = rng.randint(2, min(len(_INPUT_NAMES), max(2, nodes if fan_out else nodes + 1)))
    if not binary:
        n_in = 1
    inputs = {name: rng.choice([-3, -2, -1, 1, 2, 3]) for name in _INPUT_NAMES[:n_in]}
    values: dict[str, sympy.Expr] = {name: sympy.Integer(v) for name, v in inputs.items()}
    g = _Graph(rng, binary, unary, fan_out, values, unused=list(inputs))
    kinds = _kinds(rng, nodes, n_in - 1, fan_out)
    define: dict[str, str] = {}
    reuse_done = False
    for step, name in enumerate([*_NODE_NAMES[: nodes - 1], "L"]):
        want_reuse = fan_out and not reuse_done and "single" not in kinds[step + 1 :]
        got = _step(g, kinds[step], want_reuse)
        if got is None:
            return None
        operands, text, value = got
        for o in operands:
            if o in g.unused:
                g.unused.remove(o)
            elif o in g.values and fan_out:
                reuse_done = True
        define[name] = text
        g.values[name] = value
        g.unused.insert(0, name)
    return inputs, define


def _kinds(rng: random.Random, nodes: int, merges: int, fan_out: bool) -> list[str]:
    """The kind of each definition, in order: ``"merge"`` joins two unused values (one
    per input after the first), ``"single"`` extends one."""
    kinds = ["merge"] * merges + ["single"] * (nodes - merges)
    rng.shuffle(kinds)
    if fan_out and merges and kinds[0] != "merge":  # a reuse needs a used node first
        k = kinds.index("merge")
        kinds[0], kinds[k] = kinds[k], kinds[0]
    return kinds


def _step(g: _Graph, kind: str, want_reuse: bool) -> tuple[list[str], str, sympy.Expr] | None:
    """One definition of ``kind``: its operands, its text and its value, drawn again (up
    to 60 times) until the value is finite, moderate and not at a kink; else ``None``."""
    # When every op keeps integers integers (the binary ops and square), so do the values.
    integers_only = all(o == "square" for o in g.unary)
    text, value = "", sympy.Integer(0)
    for attempt in range(60):
        op, operands = _operation(g, kind, want_reuse, stuck=attempt >= 20)
        text = OPS[op][1].format(*operands)
        expr_args = [g.values[o] if o in g.values else sympy.Rational(o) for o in operands]
        value = OPS[op][2](*expr_args)
        number = _value(value)
        if (
            math.isfinite(number)
            and abs(number) <= _MAX_ABS
            and not _at_kink(op, expr_args)
            and (value.is_Integer or not integers_only)
        ):
            return operands, text, value
    return None


def _operation(
    g: _Graph, kind: str, want_reuse: bool, stuck: bool = False
) -> tuple[str, list[str]]:
    """An op and its operands (node names or number literals) for a ``kind`` step;
    ``stuck`` (many draws failed) combines the node with a number instead (``exp`` of an
    ``exp`` chain overflows whatever is drawn)."""
    rng, binary, unary = g.rng, g.binary, g.unary
    first = g.unused[0]
    if kind == "merge" and binary:
        return rng.choice(binary), [first, g.unused[1]]
    if stuck and binary:
        return rng.choice(binary), [first, _literal(g)]
    if binary and (g.fan_out or not unary) and (want_reuse or rng.random() < 0.6):
        op = rng.choice(binary)
        used = [n for n in g.values if n not in g.unused]
        other = rng.choice(used) if g.fan_out and used else None
        operands = [first, other if other is not None else _literal(g)]
        if rng.random() < 0.5 and op != "sub":
            operands.reverse()
        return op, operands
    if unary:
        return rng.choice(unary), [first]
    return rng.choice(binary), [first, _literal(g)]


def _literal(g: _Graph) -> str:
    """A number to combine with a node: 2 or 3, or also 1/2 when values need not be
    integers (so that chains of ``exp`` and ``mul`` can shrink as well as grow)."""
    if all(o == "square" for o in g.unary):
        return str(g.rng.randint(2, 3))
    return g.rng.choice(["2", "3", "1/2"])
