"""Many recalls in one Brian2 run (hippo_dam.recall_grid, recall_points): equal to one-at-a-time recalls."""
import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd


@pytest.fixture(scope="module")
def small():
    patterns = hd.random_patterns(8, 48, seed=3)
    rng = np.random.default_rng(4)
    targets = np.array([0, 5, 5, 2])
    cues = np.array([hd.flip_cue(patterns[t], 0.25, seed=rng)[0] for t in targets])
    return patterns, cues, targets


def _one_at_a_time(make, patterns, cue, target, **kwargs):
    net = make(patterns, dt=0.1 * ms, record_every=None, **kwargs)
    return net.recall(cue, duration=6 * ms, target=target)


def test_grid_of_model_b_equals_one_at_a_time(small):
    patterns, cues, targets = small
    betas = np.array([0.05, 0.5, 2.0, 0.5])
    tau_f, tau_h = np.array([20.0, 10.0, 20.0, 5.0]), np.array([2.0, 2.0, 1.0, 0.5])
    net = hd.model_b(patterns, beta=1.0, dt=0.1 * ms, record_every=None)
    grid = hd.recall_grid(net, cues, duration=6 * ms, tau_f=tau_f * ms, tau_h=tau_h * ms,
                          memory_params={"beta": betas}, target=targets)
    assert grid.batched and len(grid) == 4 and grid.attrs["memories_beta"] == betas.tolist()
    for b in range(4):
        one = _one_at_a_time(hd.model_b, patterns, cues[b], targets[b], beta=betas[b], tau_f=tau_f[b] * ms,
                             tau_h=tau_h[b] * ms)
        np.testing.assert_allclose(grid.v_final[b], one.v_final, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grid.h_final[b], one.h_final, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grid.energy[b], one.energy, rtol=1e-12, atol=1e-10)
        assert bool(grid.quality.success[b]) == bool(one.quality.success)
    # energy never rises on any copy (constant input)
    assert np.all(np.diff(grid.energy, axis=1) <= 1e-10 * np.abs(grid.energy).max())
    # the built network is reused with new values: same as a fresh computation
    again = hd.recall_grid(net, cues[::-1], duration=6 * ms, tau_f=tau_f[::-1] * ms, tau_h=tau_h[::-1] * ms,
                           memory_params={"beta": betas[::-1]}, target=targets[::-1])
    np.testing.assert_allclose(again.v_final, grid.v_final[::-1], rtol=1e-12, atol=1e-12)


def test_grid_of_model_a_and_c_per_copy_degree(small):
    patterns, cues, targets = small
    degrees = np.array([2.0, 3.0, 4.0, 6.0])
    for make in (hd.model_a, hd.model_c):
        net = make(patterns, degree=3.0, dt=0.1 * ms, record_every=None)
        grid = hd.recall_grid(net, cues, duration=6 * ms, memory_params={"degree": degrees}, target=targets)
        for b in (0, 3):
            one = _one_at_a_time(make, patterns, cues[b], targets[b], degree=degrees[b])
            np.testing.assert_allclose(grid.v_final[b], one.v_final, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(grid.energy[b], one.energy, rtol=1e-10, atol=1e-9)


def test_grid_errors(small):
    patterns, cues, targets = small
    net = hd.model_b(patterns, beta=1.0, dt=0.1 * ms, record_every=None)
    with pytest.raises(ValueError, match="2-D"):
        hd.recall_grid(net, cues[0])
    with pytest.raises(ValueError, match="one finite value per recall"):
        hd.recall_grid(net, cues, memory_params={"beta": [1.0, 2.0]})
    with pytest.raises(ValueError, match="gives no valid log_sum_exp"):
        hd.recall_grid(net, cues, memory_params={"beta": [1.0, -2.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match="not a parameter"):
        hd.recall_grid(net, cues, memory_params={"degree": [3.0] * 4})
    with pytest.raises(ValueError, match="one time per recall"):
        hd.recall_grid(net, cues, tau_f=[10.0, 20.0] * ms)
    with pytest.raises(ValueError, match="smaller than every tau_h"):
        hd.recall_grid(net, cues, tau_h=np.array([2.0, 2.0, 0.1, 2.0]) * ms)
    with pytest.raises(TypeError, match="time"):
        hd.recall_grid(net, cues, tau_f=np.array([2.0, 2.0, 1.0, 2.0]))
    standalone = hd.model_b(patterns, codegen_target="cpp_standalone")
    with pytest.raises(ValueError, match="runtime targets"):
        hd.recall_grid(standalone, cues)
    with pytest.raises(ValueError, match="coupling='dense'"):
        hd.recall_grid(hd.model_b(patterns, coupling="synapses"), cues)


def test_recall_points_equal_recall_point():
    points = [dict(seed=s, beta=b, flip=f, tau_f_ms=t, duration_ms=8.0, n_features=32, n_patterns=6)
              for s in (0, 1) for b in (0.05, 1.0) for f in (0.1, 0.4) for t in (10.0, 20.0)]
    points.append(dict(seed=5, model="A", degree=3.0, duration_ms=8.0, n_features=32, n_patterns=6))  # alone
    got = hd.recall_points(points)
    for point, result in zip(points, got):
        direct = hd.recall_point(**point)
        assert {k: result[k] for k in ("success", "hamming", "retrieved")} == \
            {k: direct[k] for k in ("success", "hamming", "retrieved")}
        assert result["target_overlap"] == pytest.approx(direct["target_overlap"], abs=1e-12)
        assert result["energy_drop"] == pytest.approx(direct["energy_drop"], rel=1e-9, abs=1e-12)
    with pytest.raises(TypeError, match="needs 'seed'"):
        hd.recall_points([dict(beta=1.0)])
    assert hd.recall_point.batched is hd.recall_points


def test_sweep_runs_chunks_with_the_batched_form():
    import functools

    from hippo_dam.sweeps.engine import _batched_function, _run_points

    fn = functools.partial(hd.recall_point, n_features=32, n_patterns=6, duration_ms=8.0)
    assert _batched_function(fn) is hd.recall_points
    assert _batched_function(functools.partial(hd.recall_point, 0)) is None  # positional binding: not batched
    items = [({"beta": b, "flip": 0.1}, 0, f"k{b}") for b in (0.05, 1.0)]
    records = _run_points(fn, items)
    assert [r["status"] for r in records] == ["ok", "ok"] and all(r["batched"] == 2 for r in records)
    assert records[1]["result"]["hamming"] == hd.recall_point(0, beta=1.0, flip=0.1, n_features=32, n_patterns=6,
                                                              duration_ms=8.0)["hamming"]
    # a bad point fails the batch: every point is then run alone and the error lands on the bad one only
    records = _run_points(fn, items + [({"beta": -1.0, "flip": 0.1}, 0, "bad")])
    assert [r["status"] for r in records] == ["ok", "ok", "error"] and "beta" in records[2]["error"]


def test_population_copy_params_are_checked():
    with pytest.raises(ValueError, match="not a parameter"):
        hd.Population("m", 3, hd.log_sum_exp(1.0), 2 * ms, batch=2, copy_params={"degree": [2.0, 3.0]})
    with pytest.raises(ValueError, match="one per copy"):
        hd.Population("m", 3, hd.log_sum_exp(1.0), 2 * ms, batch=2, copy_params={"beta": [1.0, 2.0, 3.0]})
    pop = hd.Population("m", 3, hd.log_sum_exp(1.0), 2 * ms, batch=2, copy_params={"beta": [1.0, 2.0]})
    assert "beta : 1 (constant)" in pop.equations() and "(shared, constant)" not in pop.equations()


def test_a_grid_leaves_the_networks_own_built_network_in_place():
    """recall_grid builds its own batched network; the network's next recall reuses its built one (no rebuild)."""
    import numpy as np
    from brian2 import ms

    import hippo_dam as hd

    patterns = hd.random_patterns(8, 32, seed=0)
    net = hd.model_b(patterns, beta=0.5, record_every=None)
    cue = hd.flip_cue(patterns[2], 0.2, seed=1)[0]
    first = net.recall(cue, duration=5 * ms)
    built = net._net
    hd.recall_grid(net, np.stack([cue, cue]), duration=5 * ms)
    again = net.recall(cue, duration=5 * ms)
    assert net._net is built
    np.testing.assert_array_equal(first.v_final, again.v_final)


def test_an_overflowing_recall_of_the_grid_is_named():
    """One recall's beta makes its energy unbounded: the error says which recall, the others' are not blamed."""
    xi = np.ones((2, 4)) * 3
    net = hd.DenseAssociativeMemory(xi, "identity", {"name": "exponential", "beta": 5.0}, record_every=None)
    betas = np.array([0.01, 5.0, 0.01])
    with pytest.raises(hd.UnboundedEnergyError, match=r"overflowed \(inf/NaN\) in the grid's recalls \[1\]"):
        hd.recall_grid(net, np.ones((3, 4)), duration=50 * ms, memory_params={"beta": betas})
