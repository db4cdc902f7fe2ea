"""Dask chunks give the NumPy answer (local schedulers)."""

from __future__ import annotations

import numpy as np
import pytest

from symtrace.scale import map_blocks

from examples import EXAMPLES

da = pytest.importorskip("dask.array")


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_chunks_give_the_numpy_answer(scheduler: str) -> None:
    import dask

    t, y = EXAMPLES["seed002_graph"]()
    fn = t.compile(y)
    rng = np.random.default_rng(0)
    x1 = rng.uniform(1.1, 1.5, (40, 30))
    x2 = rng.uniform(1.1, 1.5, (40, 30))
    want_v, (want_1, want_2) = fn(x1, x2)
    value, (g1, g2) = map_blocks(
        fn, da.from_array(x1, chunks=(7, 11)), x_2=da.from_array(x2, chunks=(20, 30))
    )
    got_v, got_1, got_2 = dask.compute(value, g1, g2, scheduler=scheduler)
    np.testing.assert_allclose(got_v, want_v, rtol=1e-15)
    np.testing.assert_allclose(got_1, want_1, rtol=1e-15)
    np.testing.assert_allclose(got_2, want_2, rtol=1e-15)


def test_broadcasting_and_fixed_inputs_and_several_outputs() -> None:
    t, L = EXAMPLES["seed000_micrograd"]()
    fn = t.compile([L, t["d"]], wrt=["a", "f"])
    a = np.linspace(-1.0, 1.0, 10)
    f = np.linspace(0.0, 2.0, 4)[:, None]
    want = fn(a=a, f=f)
    got = map_blocks(fn, a=da.from_array(a, chunks=3), f=da.from_array(f, chunks=2), c=10.0)
    (vL, vd), ((La, Lf), (_, df)) = got
    np.testing.assert_allclose(vL.compute(scheduler="synchronous"), want[0][0])
    np.testing.assert_allclose(vd.compute(scheduler="synchronous"), want[0][1])
    np.testing.assert_allclose(La.compute(scheduler="synchronous"), want[1][0][0])
    np.testing.assert_allclose(Lf.compute(scheduler="synchronous"), want[1][0][1])
    np.testing.assert_allclose(df.compute(scheduler="synchronous"), want[1][1][1])


def test_needs_a_numpy_function() -> None:
    t, y = EXAMPLES["seed000_micrograd"]()
    with pytest.raises(TypeError, match="backend='numpy'"):
        map_blocks(t.compile(y, backend="math"), a=da.ones(3))
