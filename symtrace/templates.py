"""Matrix exercises from templates: ``symtrace new --template linear|mlp|softmax``.

:func:`matrix_exercise` writes a matrix backprop exercise (answers blank) and its answer
key (the same file with every answer filled in, to six significant digits), reproducible
from a seed.  As for the scalar templates (:func:`symtrace.generate.template`), the answer
key is a key in the grading format (:func:`symtrace.exercise.load_key`): ``symtrace grade
FILE.key.toml SUBMISSIONS`` grades a class with it, one point per answer.  Entries are
small and integer-friendly (multiples of 1/4 in ``[-1, 1]``), redrawn until no
pre-activation saturates a sigmoid (``|z| <= 2``) or sits on a ReLU kink, and no gradient
entry is zero by accident.

>>> sheet = matrix_exercise("linear", seed=1)
>>> from symtrace.exercise import loads
>>> loads(sheet.key).check().ok, loads(sheet.exercise).check().score
(True, 0.0)
>>> print(sheet.key.splitlines()[0])
# Answer key: symtrace new --template linear --seed 1
>>> sheet.key_report().ok
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .check.matrix import MatrixReport
from .errors import OptionValueError
from .exercise import loads
from .trace import Trace

__all__ = ["TEMPLATES", "MatrixWorksheet", "matrix_exercise"]

TEMPLATES = ("linear", "mlp", "softmax")
"""The template names."""


@dataclass(frozen=True)
class MatrixWorksheet:
    """A generated matrix exercise (answers blank) and its answer key (answers filled)."""

    exercise: str
    key: str
    template: str
    seed: int

    def key_report(self) -> MatrixReport:
        """The answer key checked against the exercise (all correct by construction)."""
        report = loads(self.key, source=f"{self.template}-{self.seed}.key.toml").check()
        assert isinstance(report, MatrixReport)  # a matrix exercise's
        return report


def _matrix(rng: random.Random, rows: int, cols: int) -> list[list[float]]:
    steps = [-1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0]
    return [[rng.choice(steps) for _ in range(cols)] for _ in range(rows)]


def _toml(m: list[list[float]]) -> str:
    def num(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return "[" + ", ".join("[" + ", ".join(num(v) for v in row) + "]" for row in m) + "]"


def _onehot(rng: random.Random, rows: int, k: int) -> list[list[float]]:
    out = []
    for _ in range(rows):
        j = rng.randrange(k)
        out.append([1.0 if c == j else 0.0 for c in range(k)])
    return out


def _spec(template: str, rng: random.Random) -> tuple[str, dict[str, str], list[str], str]:
    """(title, inputs as TOML, [define] lines, the answer keys) of one draw."""
    if template == "linear":
        n, d, k = 3, 2, 2
        inputs = {
            "X": _toml(_matrix(rng, n, d)),
            "W": _toml(_matrix(rng, d, k)),
            "b": _toml(_matrix(rng, 1, k)),
            "Y": _toml(_matrix(rng, n, k)),
        }
        define = [f'Z = "X @ W + ones({n}, 1) @ b"', 'L = "mse(Z, Y)"']
        return "A linear layer on a batch, mean squared error", inputs, define, "Z W b"
    if template == "mlp":
        inputs = {
            "x": _toml(_matrix(rng, 2, 1)),
            "W1": _toml(_matrix(rng, 2, 2)),
            "b1": _toml(_matrix(rng, 2, 1)),
            "W2": _toml(_matrix(rng, 2, 2)),
            "b2": _toml(_matrix(rng, 2, 1)),
            "y": _toml(_matrix(rng, 2, 1)),
        }
        define = [
            'z1 = "W1 @ x + b1"',
            'h = "sigmoid(z1)"',
            'z2 = "W2 @ h + b2"',
            'L = "sum(square(z2 - y)) / 2"',
        ]
        return "A 2-2-2 network with a sigmoid hidden layer", inputs, define, "z2 W2 b2 h z1 W1 b1"
    n, d, k = 3, 2, 3
    inputs = {
        "X": _toml(_matrix(rng, n, d)),
        "W": _toml(_matrix(rng, d, k)),
        "Y": _toml(_onehot(rng, n, k)),
    }
    define = ['Z = "X @ W"', f'L = "cross_entropy(softmax(Z), Y) / {n}"']
    return "Softmax and mean cross-entropy on a batch", inputs, define, "Z W"


def _text(title: str, inputs: dict[str, str], define: list[str], answers: list[str]) -> str:
    lines = [f'title = "{title}"', 'output = "L"', "", "[inputs]"]
    lines += [f"{k} = {v}" for k, v in inputs.items()]
    lines += ["", "[define]", *define, "", "[answers]", *answers]
    return "\n".join(lines) + "\n"


def _fine(trace: Trace, names: list[str]) -> bool:
    g = trace.grad(trace["L"])
    for n in trace.nodes:
        if n.name in ("z1", "z2", "Z"):
            z = np.asarray(trace.value(n))
            if np.any(np.abs(z) > 2) or np.any(z == 0):
                return False
    return all(np.all(np.asarray(g.value(trace[n])) != 0) for n in names)


def matrix_exercise(template: str, seed: int) -> MatrixWorksheet:
    """The exercise and answer key of ``template`` (one of :data:`TEMPLATES`) for ``seed``."""
    if template not in TEMPLATES:
        raise OptionValueError(f"template {template!r}: choose one of {', '.join(TEMPLATES)}")
    rng = random.Random(f"symtrace-matrix-{template}-{seed}")
    for _ in range(200):
        title, inputs, define, keys = _spec(template, rng)
        names = keys.split()
        blank = [f'"dL/d{n}" = ""' for n in names]
        command = f"symtrace new --template {template} --seed {seed}"
        exercise = f"# {command}\n" + _text(title, inputs, define, blank)
        trace = loads(exercise).trace
        if not _fine(trace, names):
            continue
        g = trace.grad(trace["L"])
        filled = []
        for n in names:
            value = np.asarray(g.value(trace[n]))
            rows = ", ".join(
                "[" + ", ".join(f'"{float(v):.6g}"' for v in row) + "]" for row in value
            )
            filled.append(f'"dL/d{n}" = [{rows}]')
        key = f"# Answer key: {command}\n" + _text(title + " (answer key)", inputs, define, filled)
        return MatrixWorksheet(exercise, key, template, seed)
    raise OptionValueError(f"no well-conditioned {template} exercise found for seed {seed}")
