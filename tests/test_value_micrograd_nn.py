"""A micrograd-style neural net (Neuron / Layer / MLP, as in micrograd's nn.py) on Value.

The net is written here in micrograd's style and run unchanged on symtrace.Value:
training lowers the loss, the gradients agree with micrograd's own nn (when installed),
with PyTorch (when installed) and with the Trace of the loss.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

import pytest

from symtrace.value import Value


class Module:
    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Any]:
        return []


class Neuron(Module):
    def __init__(
        self, nin: int, act: str = "tanh", rng: random.Random | None = None, value: Any = Value
    ) -> None:
        rng = rng or random.Random(0)
        self.w = [value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = value(0.0)
        self.act = act

    def __call__(self, x: Sequence[Any]) -> Any:
        s = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        if self.act == "tanh":
            return s.tanh()
        if self.act == "relu":
            return s.relu()
        return s

    def parameters(self) -> list[Any]:
        return [*self.w, self.b]


class Layer(Module):
    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Any:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Any]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP(Module):
    def __init__(
        self, nin: int, nouts: list[int], act: str = "tanh", seed: int = 0, value: Any = Value
    ) -> None:
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                act=act if i < len(nouts) - 1 else "linear",
                rng=rng,
                value=value,
            )
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer.parameters()]


# The lecture's tiny data set.
XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def loss_of(model: MLP) -> Any:
    return sum((model(x) - y) ** 2 for x, y in zip(XS, YS, strict=True))


def test_sgd_lowers_the_loss() -> None:
    model = MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        loss = loss_of(model)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < 0.25 * losses[0]


def test_two_losses_accumulate_into_the_leaves_as_in_micrograd_and_pytorch() -> None:
    engine = pytest.importorskip("micrograd.engine")
    torch = pytest.importorskip("torch")

    def grads(value: type) -> list[float]:
        a, b = value(-4.0), value(2.0)
        (a * b + b**3).backward()
        ((a + b).relu() * a + b * 2).backward()
        return [a.grad, b.grad]

    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (ta * tb + tb**3).backward()
    ((ta + tb).relu() * ta + tb * 2).backward()
    expected = [ta.grad.item(), tb.grad.item()]
    assert grads(Value) == pytest.approx(expected) == grads(engine.Value)


def test_loss_trace_gradient_matches_backward() -> None:
    model = MLP(3, [2, 1])
    loss = loss_of(model)
    loss.backward()
    t = loss.trace(name="L")
    g = t.grad(t["L"])
    assert t.value(t["L"]) == pytest.approx(loss.data, rel=1e-12)
    params = model.parameters()
    assert all(p.symbol in t.input_nodes for p in params)
    for p in params:
        assert g.value(p.symbol) == pytest.approx(p.grad, rel=1e-9, abs=1e-12)


def test_matches_micrograd_nn() -> None:
    nn = pytest.importorskip("micrograd.nn")
    theirs = nn.MLP(3, [4, 4, 1])  # relu hidden layers, linear output
    ours = MLP(3, [4, 4, 1], act="relu")
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    lo, lt = loss_of(ours), loss_of(theirs)
    lo.backward()
    lt.backward()
    assert lo.data == pytest.approx(lt.data, rel=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)


def test_matches_torch() -> None:
    torch = pytest.importorskip("torch")

    def tensor(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    ours = MLP(3, [4, 4, 1], seed=3)
    theirs = MLP(3, [4, 4, 1], seed=3, value=tensor)
    lo, lt = loss_of(ours), loss_of(theirs)
    lo.backward()
    lt.backward()
    assert lo.data == pytest.approx(lt.item(), rel=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert p.grad == pytest.approx(q.grad.item(), rel=1e-10, abs=1e-14)
