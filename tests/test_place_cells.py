"""Space and place cells: trajectory, grid cells, feature code, moving-input network, fields, imprinting, files."""
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, cm, ms, second

import hippo_dam as hd
from hippo_dam.experiments.place_cells import environment_capacity
from hippo_dam.circuits.place_cells import (PlaceCellNetwork, decode_position, field_statistics,
                                   imprint_memories, place_fields, rate_maps)
from hippo_dam.circuits.space import Arena, SpatialCode, grid_modules, make_environments, random_walk

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def world():
    arena = Arena(100 * cm, 100 * cm)
    modules = grid_modules(4, 16, seed=0)
    code = SpatialCode(arena, modules, make_environments(1, arena, n_modules=4, seed=0)[0], gain=2.0)
    return arena, modules, code


def test_random_walk_is_smooth_reproducible_and_at_rat_speed():
    arena = Arena(80 * cm, 120 * cm)
    a = random_walk(arena, 120 * second, mean_speed=20 * cm / second, seed=4)
    b = random_walk(arena, 120 * second, mean_speed=20 * cm / second, seed=4)
    c = random_walk(arena, 120 * second, mean_speed=20 * cm / second, seed=5)
    np.testing.assert_array_equal(a.xy, b.xy)
    assert not np.array_equal(a.xy, c.xy)
    assert 0.15 < a.speed.mean() < 0.25  # m/s, the requested 20 cm/s within sampling error
    assert np.all(a.xy >= 0) and np.all(a.xy[:, 0] <= 0.8) and np.all(a.xy[:, 1] <= 1.2)
    # smooth: the heading changes little from one 10 ms step to the next (away from wall reflections)
    step = np.diff(a.xy, axis=0)
    cos = np.sum(step[1:] * step[:-1], axis=1) / (np.linalg.norm(step[1:], axis=1) * np.linalg.norm(step[:-1], axis=1))
    assert np.median(cos) > 0.99


def test_grid_cells_peak_on_a_triangular_lattice_with_the_module_spacing():
    mods = grid_modules(3, 5, seed=1)
    assert np.allclose([mods[1].spacing / mods[0].spacing, mods[2].spacing / mods[1].spacing], 1.42)
    assert np.isclose(mods[0].spacing, 0.40)
    for mod in mods:
        lam, th = mod.spacing, mod.orientation
        c = mod.phases[0]
        # the six neighbours of a peak, spacing lambda, at the module's lattice angles (orientation + 30 deg)
        for k in range(6):
            ang = th + np.pi / 6 + k * np.pi / 3
            p = c + lam * np.array([np.cos(ang), np.sin(ang)])
            assert np.isclose(mod.rates(p)[0], 1.0)
        assert np.isclose(mod.rates(c)[0], 1.0)
        # midway between two peaks the rate is well below the peak
        mid = c + lam / 2 * np.array([np.cos(th + np.pi / 6), np.sin(th + np.pi / 6)])
        assert mod.rates(mid)[0] < 0.6
        assert np.all((mod.rates(np.random.default_rng(0).random((50, 2))) >= -1e-12))


def test_feature_code_patterns_inputs_and_silencing(world):
    arena, _, code = world
    pts = arena.grid_points(2 * cm)
    xi = code.patterns(pts)
    assert set(np.unique(xi)) == {-1.0, 1.0}
    assert np.all(np.abs(xi.mean(axis=0)) <= 0.05)  # median threshold: balanced over the arena
    I = code.inputs(pts)
    np.testing.assert_array_equal(np.where(I >= 0, 1.0, -1.0), xi)
    dark = code.silence_mask(["landmark"])
    assert dark.sum() == code.groups["landmark"].stop - code.groups["landmark"].start
    assert np.all(code.inputs(pts[:3], dark)[:, dark] == 0)
    half = code.silence_mask(fraction_grid=0.5, seed=3)
    assert half.sum() == 32 and not half[code.groups["landmark"]].any()


@pytest.mark.parametrize("call,err,match", [
    (lambda a, m, c: Arena(1.0), TypeError, "width"),
    (lambda a, m, c: Arena(-1 * cm), ValueError, "width"),
    (lambda a, m, c: random_walk(a, 10 * second, mean_speed=20 * Hz), TypeError, "mean_speed"),
    (lambda a, m, c: random_walk(a, 10 * second, dt=2 * second), ValueError, "turn_time"),
    (lambda a, m, c: c.silence_mask(["grid_9"]), ValueError, "unknown cell group"),
    (lambda a, m, c: c.patterns(np.array([[2.0, 0.5]])), ValueError, "outside"),
    (lambda a, m, c: PlaceCellNetwork(c, np.zeros((3, 2)) * cm, kind="modern"), ValueError, "kind"),
    (lambda a, m, c: PlaceCellNetwork(c, np.zeros((3, 2)), kind="dam"), TypeError, "locations"),
    (lambda a, m, c: imprint_memories(c, random_walk(a, 1 * second), match_threshold=1.5), ValueError, "match"),
])
def test_bad_space_input_is_an_error(world, call, err, match):
    with pytest.raises(err, match=match):
        call(*world)


def _piecewise_reference(xi, lag_h, inputs, steps_per_sample, tau_f, tau_h, dt):
    """Euler reference of the moving-input network: euler_reference per constant-input segment."""
    v, h = inputs[0].copy(), np.zeros(len(xi))
    vs, hs = [], []
    for I in inputs:
        vv, hh = hd.euler_reference(xi, hd.tanh(), lag_h, tau_f, tau_h, v, h, dt, steps_per_sample, I=I)
        vs.append(vv[0]), hs.append(hh[0])
        v, h = vv[-1], hh[-1]
    return np.array(vs), np.array(hs)


@pytest.mark.parametrize("kind", ["dam", "classical"])
def test_moving_input_network_matches_numpy_reference_and_input_work_balances_energy(world, kind):
    arena, _, code = world
    locs = arena.grid_points(25 * cm)
    traj = random_walk(arena, 300 * ms, dt=10 * ms, seed=2)
    net = PlaceCellNetwork(code, locs * 100 * cm, kind=kind, dt=0.5 * ms)
    run = net.run(traj)
    inputs = code.inputs(traj.xy)
    w = net.network.patterns
    v_ref, h_ref = _piecewise_reference(w, net.memory_lagrangian, inputs, 20, 20 * ms, 10 * ms, 0.5 * ms)
    np.testing.assert_allclose(run.rates, net.memory_rates(h_ref), atol=1e-6 * max(1, run.rates.max()))
    E_ref = hd.energy(v_ref, h_ref, w, hd.tanh(), net.memory_lagrangian, I=inputs)
    np.testing.assert_allclose(run.energy, E_ref, rtol=1e-7, atol=1e-7 * np.abs(E_ref).max())
    # the moving input does work on the network; E + int g.dI (energy minus that work) never rises
    assert np.max(np.abs(run.dissipated - run.energy)) > 0.1
    assert np.max(np.diff(run.dissipated)) <= 1e-9 * np.abs(run.dissipated).max()
    # held input: E itself never rises
    t, E, rates = net.hold(np.array([30.0, 70.0]) * cm, duration=100 * ms)
    assert np.max(np.diff(E)) <= 1e-9 * np.abs(E).max()


def test_dam_place_cells_have_one_field_at_their_location_and_decode_position(world):
    arena, _, code = world
    locs = arena.grid_points(20 * cm)
    traj = random_walk(arena, 40 * second, mean_speed=25 * cm / second, seed=1)
    run = PlaceCellNetwork(code, locs * 100 * cm).run(traj)
    assert run.summary()["median_cm"] < 10  # 20 cm lattice: the nearest stored location is <= 14 cm away
    maps, _ = rate_maps(run.xy, run.rates, arena, 5 * cm)
    st = field_statistics(maps, locs, 5 * cm, near=14 * cm)  # within 14 cm: nearer its own than most neighbours
    assert st["fraction_one_field"] >= 0.8 and st["fraction_one_field_at_location"] >= 0.7, st


def test_rate_maps_and_fields_on_known_maps():
    arena = Arena(100 * cm, 100 * cm)
    rng = np.random.default_rng(0)
    xy = rng.random((20000, 2))
    r = np.stack([np.full(len(xy), 3.0), 10 * (xy[:, 0] < 0.5)], axis=1)
    maps, occ = rate_maps(xy, r, arena, 10 * cm, smooth_bins=0)
    assert occ.sum() == len(xy)
    np.testing.assert_allclose(maps[0], 3.0)
    np.testing.assert_allclose(maps[1][:5], 10.0)
    np.testing.assert_allclose(maps[1][5:], 0.0)
    x, y = np.meshgrid(np.arange(20), np.arange(20), indexing="ij")
    two = np.exp(-((x - 4) ** 2 + (y - 4) ** 2) / 4) + np.exp(-((x - 15) ** 2 + (y - 14) ** 2) / 4)
    fields = place_fields(10 * two)
    assert len(fields) == 2 and {f["peak_bin"] for f in fields} == {(4, 4), (15, 14)}
    st = field_statistics(np.stack([10 * two, 10 * np.exp(-((x - 4) ** 2 + (y - 4) ** 2) / 4), 0 * two]),
                          np.array([[0.225, 0.225], [0.225, 0.225], [0.5, 0.5]]), 5 * cm)
    assert st["fields_per_cell"].tolist() == [2, 1, 0]
    assert st["fraction_one_field_at_location"] == pytest.approx(1 / 3)
    np.testing.assert_array_equal(decode_position(np.array([[0, 2, 1.0]]), np.eye(3)[:, :2]), [[0, 1]])


def test_memories_imprinted_inside_brian2_take_the_input_pattern(world):
    arena, _, code = world
    traj = random_walk(arena, 12 * second, mean_speed=25 * cm / second, seed=3)
    imp = imprint_memories(code, traj, n_units=80, match_threshold=0.3)
    k = len(imp.locations)
    assert 5 <= k <= 80
    # each recruited unit's synapses hold the input pattern where the animal was when it was recruited
    np.testing.assert_array_equal(imp.patterns, code.patterns(imp.locations))
    # and it was recruited only because no earlier memory matched the input there (overlap <= theta)
    m = imp.patterns @ imp.patterns.T / code.n
    assert np.all(np.tril(m, -1)[np.tril_indices(k, -1)] <= 0.3 + 1e-12)
    assert np.all(np.diff(imp.times) >= 0.05 - 1e-9)
    # next run: the imprinted place cells fire in their fields
    run = PlaceCellNetwork(code, imp.locations * 100 * cm, patterns=imp.patterns).run(traj)
    assert run.summary()["median_cm"] < 15


def test_environment_capacity_small(world):
    arena, modules, _ = world
    out = environment_capacity(arena, modules, n_environments=(1, 4), spacings=[25 * cm], n_test=10)
    rows = {(r["kind"], r["n_environments"]): r for r in out["rows"]}
    assert rows["dam", 1]["success"] >= 0.9 and rows["classical", 1]["success"] >= 0.9  # load 0.18
    # 4 environments, load 0.73 (classical theory 0.138): the DAM holds more of them than the classical net
    assert rows["dam", 4]["success"] >= 0.8 and rows["dam", 4]["success"] > rows["classical", 4]["success"]
    assert rows["dam", 4]["n_memories"] == 64
    assert out["theory"]["classical_retrieval_0138N"] == pytest.approx(0.138 * out["n_features"])


def test_place_model_file_runs_from_the_cli(tmp_path, capsys):
    from hippo_dam.cli import main

    text = (MODELS / "place_cells.toml").read_text()
    text = text.replace('duration = "120 s"', 'duration = "3 s"').replace("cells_per_module = 32",
                                                                         "cells_per_module = 8")
    path = tmp_path / "place.toml"
    path.write_text(text)
    mf = hd.load_model(path)
    assert mf.network.n_memories == 100 and mf.network.kind == "dam"
    assert main(["run", str(path), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "decoding error" in out and "place fields" in out
    import xarray as xr

    ds = xr.open_dataset(tmp_path / "place_cells.nc")
    assert ds.rate_map.shape == (100, 20, 20) and len(ds.t) == 300
    assert (tmp_path / "place_cells.png").read_bytes()[:4] == b"\x89PNG"
    path.write_text(text.replace("[grid]", "[grid]\nspacing = 3"))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['spacing'\] in \[grid\]"):
        hd.load_model(path)
    path.write_text(text.replace('memory = "dam"', 'memory = "hopfield"'))
    with pytest.raises(ValueError, match="memory must be one of"):
        hd.load_model(path)


def test_lif_spiking_ca3_runs_on_cython_and_its_cells_fire_at_the_rate_model_rate():
    """LIF cells with the inverse f-I drive fire at max_rate * f (closed form), without rand()."""
    xi = hd.random_patterns(4, 40, seed=0)
    net = hd.LIFSpikingCA3(xi, max_rate=50 * Hz, copies=8, feature_rate=50 * Hz, feature_copies=2, beta=1.0,
                           record_every=None)
    cue, known = hd.flip_cue(xi[1], 0.1, seed=1)
    res = net.recall(cue, known, duration=300 * ms, target=1)
    assert res.quality.success and res.attrs["codegen_target"] == "cython"
    units, times, cells = res.spikes
    late = times > 0.1
    f = hd.log_sum_exp(1.0).activation(res.h_final)
    # spikes of the retrieved unit's 8 cells in the last 200 ms vs 8 * 50 Hz * f * 0.2 s (+- one per cell)
    n = np.sum(late & (units == 1))
    assert abs(n - 8 * 50 * f[1] * 0.2) <= 8 + 1, (n, f)
    assert res.attrs["n_feature_spikes"] > 0
    with pytest.raises(ValueError, match="feature_copies"):
        hd.LIFSpikingCA3(xi, feature_copies=0)


def test_moving_input_on_a_kept_cpp_project_equals_the_runtime_run(world, tmp_path, monkeypatch):
    """The place-cell model file's target: the animal's input (a TimedArray) is data of the C++ project, and a
    second trajectory of the same length runs the same binary."""
    monkeypatch.setenv("HIPPO_DAM_STANDALONE_CACHE", str(tmp_path / "cache"))
    arena, _, code = world
    locs = arena.grid_points(25 * cm) * 100 * cm
    for seed in (2, 3):
        traj = random_walk(arena, 300 * ms, dt=10 * ms, seed=seed)
        runtime = PlaceCellNetwork(code, locs, dt=0.5 * ms).run(traj)
        standalone = PlaceCellNetwork(code, locs, dt=0.5 * ms, codegen_target="cpp_standalone").run(traj)
        np.testing.assert_allclose(standalone.rates, runtime.rates, atol=1e-9 * runtime.rates.max())
    assert len(list((tmp_path / "cache").iterdir())) == 1  # one kept project for both trajectories


def _poisson_session(seed=0, n_cells=30, n_windows=200, tau=0.5):
    """Gaussian fields on a 10 x 10 grid of 10 cm bins, and Poisson counts of cells at random bins."""
    rng = np.random.default_rng(seed)
    centres = (np.arange(10) + 0.5) * 0.1
    gx, gy = np.meshgrid(centres, centres, indexing="ij")
    fc = rng.uniform(0, 1, (n_cells, 2))
    maps = 0.5 + 20 * np.exp(-((gx[None] - fc[:, 0, None, None]) ** 2 + (gy[None] - fc[:, 1, None, None]) ** 2)
                            / (2 * 0.12 ** 2))
    where = rng.integers(0, 10, (n_windows, 2))
    counts = rng.poisson(maps[:, where[:, 0], where[:, 1]].T * tau)
    return maps, counts, (where + 0.5) * 0.1, rng


def test_bayesian_decode_agrees_with_pynapple_and_finds_the_animal():
    """The same posterior maximum as pynapple's ``decode_bayes`` (an independent implementation) fed the spike
    trains; with 30 cells of 20 Hz fields and 0.5 s windows the decoded bin is the true one or a neighbour."""
    import pynapple as nap
    import xarray as xr

    tau = 0.5
    maps, counts, true_xy, rng = _poisson_session(tau=tau)
    ours = hd.bayesian_decode(counts, maps, tau * second, 10 * cm)
    centres = (np.arange(10) + 0.5) * 0.1
    # the counts as spike trains: each spike at a uniform time inside its window
    spikes = {c: nap.Ts(np.sort(np.concatenate([k * tau + rng.uniform(0.01, tau - 0.01, n)
                                                for k, n in enumerate(counts[:, c])])))
              for c in range(counts.shape[1])}
    curves = xr.DataArray(maps, coords={"unit": list(spikes), "0": centres, "1": centres})
    decoded, _ = nap.decode_bayes(curves, nap.TsGroup(spikes), nap.IntervalSet(0, len(counts) * tau), tau)
    theirs = np.asarray(decoded.values, float)
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    off = np.linalg.norm(ours - true_xy, axis=1)
    assert np.mean(off < 1e-9) > 0.6 and np.mean(off < 0.15) > 0.95  # the true bin, or one of its 8 neighbours
    # expected counts (a rate version) are read the same way
    rate_read = hd.bayesian_decode(maps[:, (true_xy[:, 0] * 10).astype(int), (true_xy[:, 1] * 10).astype(int)].T
                                   * tau, maps, tau * second, 10 * cm)
    np.testing.assert_allclose(rate_read, true_xy)


def test_bayesian_decode_skips_unvisited_bins_and_refuses_bad_input():
    maps, counts, _, _ = _poisson_session(n_windows=50)
    maps[:, 5:, :] = np.nan  # half the box never visited
    where = hd.bayesian_decode(counts, maps, 0.5 * second, 10 * cm)
    assert np.all(where[:, 0] < 0.5)
    with pytest.raises(ValueError, match="counts must have shape"):
        hd.bayesian_decode(counts[:, :5], maps, 0.5 * second, 10 * cm)
    with pytest.raises(ValueError, match=">= 0"):
        hd.bayesian_decode(-counts, maps, 0.5 * second, 10 * cm)
    with pytest.raises(TypeError, match="window"):
        hd.bayesian_decode(counts, maps, 0.5, 10 * cm)
    with pytest.raises(ValueError, match="no bin visited"):
        hd.bayesian_decode(counts, np.full_like(maps, np.nan), 0.5 * second, 10 * cm)
