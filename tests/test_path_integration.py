"""Grid modules integrating velocity with noise, corrected by memory feedback (issue 20, the darkness experiment)."""
import numpy as np
import pytest
from brian2 import meter, ms, second

import hippo_dam as hd
from hippo_dam.circuits.path_integration import PathIntegratingGrid, PositionDecoder, touch_boundary_rates
from hippo_dam.circuits.space import sargolini_trajectory
from hippo_dam.experiments.darkness import (DARKNESS_SETTINGS_SMALL, darkness_experiment,
                                            shared_orientation_modules)

MODULES = shared_orientation_modules(2, 3, 0.3, 1.4, 0.1)
LOCATIONS = np.array([[a, b] for a in np.linspace(0.1, 0.9, 5) for b in np.linspace(0.1, 0.9, 4)])


def _network(velocity, start, noise, kappa, beta=2.0, tau_h=5 * ms, dt=0.5 * ms, record=None, batch=1):
    probe = PathIntegratingGrid(MODULES, velocity[:1], dt, start, 0 * meter / second ** 0.5, 0 * meter ** 2 / second,
                                batch=batch)
    xi = probe.rates(np.repeat(LOCATIONS[:, None, :], len(MODULES), axis=1)) - 1 / 3

    def make(b):
        grid = PathIntegratingGrid(MODULES, velocity, dt, start, noise, kappa, batch=b, record_every=record)
        mem = hd.Population("CA3", len(LOCATIONS), hd.log_sum_exp(beta), tau_h, "h", "f", batch=b)
        return [grid, mem, hd.DenseSymmetricProjection(grid, mem, xi, name="MEC_CA3"),
                PositionDecoder(mem, LOCATIONS, record or dt, name="dec")]

    net = hd.GraphMemory.from_components(make, energy=None, dt=dt, record_every=record, batch=batch)
    return net, probe, xi


def _reference(probe, xi, velocity, start, kappa, beta, tau_h, dt, n_steps):
    """Plain numpy Euler of the same equations (noise-free): the activations and the coupling of a step come
    from its states, then h and every module's p move."""
    p = np.repeat(np.asarray(start, float)[None], len(MODULES), axis=0)
    h = np.zeros(len(xi))
    out = []
    for n in range(n_steps):
        g = probe.rates(p)
        grads = []
        for m, mod in enumerate(MODULES):
            q = mod.wave_vectors()
            d = p[m] - mod.phases
            grads.append(-(np.sin(d @ q.T) @ q) / 4.5)
        grads = np.concatenate(grads)  # (n, 2)
        z = np.exp(beta * (h - h.max()))
        f = z / z.sum()
        u = xi.T @ f
        module = np.concatenate([np.full(len(m.phases), k) for k, m in enumerate(MODULES)])
        force = np.stack([np.bincount(module, u * grads[:, a], minlength=len(MODULES)) for a in range(2)], axis=1)
        h = h + dt / tau_h * (xi @ g - h)
        p = p + dt * (velocity[n] + kappa * force)
        out.append(p.copy())
    return np.array(out), h


def test_phases_and_memories_equal_the_numpy_reference():
    dt, n = 0.5e-3, 400
    t = np.arange(n) * dt
    velocity = np.stack([0.2 * np.cos(7 * t), 0.15 * np.sin(5 * t)], axis=1)
    start = np.array([0.42, 0.61])
    net, probe, xi = _network(velocity, start, 0 * meter / second ** 0.5, 0.002 * meter ** 2 / second,
                              record=dt * second)
    net.recall(np.zeros(len(LOCATIONS)), layer="CA3", duration=n * dt * second)
    times, p = net.graph["MEC"].recorded_positions()
    ref, h_ref = _reference(probe, xi, velocity, start, 0.002, 2.0, 5e-3, dt, n)
    # the monitor records at the start of a step: record k holds the state after k steps
    np.testing.assert_allclose(p[0, 1:], ref[:-1], atol=1e-12)
    np.testing.assert_allclose(np.asarray(net.graph["CA3"].group.h[:]), h_ref, atol=1e-12)
    assert np.max(np.abs(p[0, -1] - p[0, 0])) > 0.01  # it moved


def test_phase_noise_diffuses_at_the_stated_rate():
    """kappa = 0, v = 0: every module's estimate is a random walk, variance sigma^2 t per axis."""
    batch, T, sigma = 100, 0.5, 0.02
    velocity = np.zeros((10, 2))
    net, _, _ = _network(velocity, np.array([0.5, 0.5]), sigma * meter / second ** 0.5, 0 * meter ** 2 / second,
                         record=T * second / 2, batch=batch)
    net.recall(np.zeros((batch, len(LOCATIONS))), layer="CA3", duration=T * second)
    _, p = net.graph["MEC"].recorded_positions()
    final = p[:, -1] - 0.5  # recorded at t = T/2 ... the last sample
    var = np.var(final.reshape(-1), ddof=1)
    expected = sigma ** 2 * T / 2  # the last record is at T/2
    assert abs(var / expected - 1) < 0.25, (var, expected)  # 400 samples: s.e. of a variance ~7%


def test_energy_never_rises_without_velocity_or_noise():
    """v = 0, sigma = 0: E = sum_mu (h f - L_h) - f . xi g(p) falls along the joint dynamics (kappa F descends it)."""
    dt, n = 0.1e-3, 300
    velocity = np.zeros((n, 2))
    start = LOCATIONS[7] + np.array([0.03, -0.02])  # off a stored location
    net, probe, xi = _network(velocity, start, 0 * meter / second ** 0.5, 0.004 * meter ** 2 / second,
                              record=dt * second, dt=dt * second)
    lag = hd.log_sum_exp(2.0)
    result = net.recall(np.zeros(len(LOCATIONS)), layer="CA3", duration=n * dt * second)
    _, p = net.graph["MEC"].recorded_positions()
    h = result.extra["CA3"]["trace"]  # (T, K), recorded every step
    g = probe.rates(p[0])  # (T, n_grid)
    f = lag.activation(h)
    E = lag.legendre(h) - np.einsum("tk,tk->t", f, g @ xi.T)
    assert np.max(np.diff(E)) <= 1e-9 * np.max(np.abs(E)), np.max(np.diff(E))
    assert E[-1] < E[0] - 1e-3


def test_touch_cells_fire_only_near_walls():
    size = np.array([1.0, 1.0])
    rates = touch_boundary_rates(np.array([[0.5, 0.5], [0.0, 0.5], [0.05, 0.97]]), size)
    assert rates.shape == (3, 12) and np.all(rates[0] == 0)
    assert rates[1, 0] == pytest.approx(1.0) and rates[1, 3:].max() < 1e-12
    assert rates[2, 1] > 0.5 and rates[2, 9] > 0.3  # 5 cm from x = 0 (peak 4 cm), 3 cm from y = 1


def test_sargolini_trajectory_is_the_recorded_rat():
    traj = sargolini_trajectory(0 * second, 10 * second)
    assert traj.xy.shape == (500, 2) and np.all((traj.xy >= 0) & (traj.xy <= 1))
    speed = traj.speed
    assert 0.02 < np.mean(speed) < 0.5  # a rat, in m/s
    with pytest.raises(ValueError, match="leaves the recording"):
        sargolini_trajectory(500 * second, 200 * second)


def test_bad_inputs_are_named():
    v = np.zeros((5, 2))
    with pytest.raises(TypeError, match="modules must be a non-empty list of GridModule"):
        PathIntegratingGrid([], v, 1 * ms, [0, 0], 0 * meter / second ** 0.5, 0 * meter ** 2 / second)
    with pytest.raises(ValueError, match="velocity must be finite with shape"):
        PathIntegratingGrid(MODULES, np.zeros((5, 3)), 1 * ms, [0, 0], 0 * meter / second ** 0.5,
                            0 * meter ** 2 / second)
    with pytest.raises(TypeError, match="noise"):
        PathIntegratingGrid(MODULES, v, 1 * ms, [0, 0], 0.01, 0 * meter ** 2 / second)
    with pytest.raises(ValueError, match="feedback_gain must be >= 0"):
        PathIntegratingGrid(MODULES, v, 1 * ms, [0, 0], 0 * meter / second ** 0.5, -1 * meter ** 2 / second)
    with pytest.raises(ValueError, match="unknown darkness setting"):
        darkness_experiment({"durations_s": 3})
    with pytest.raises(ValueError, match="must fit in the 599.6 s recording"):
        darkness_experiment({"n_seeds": 9})


def test_darkness_small_memory_feedback_beats_the_cut_network():
    """30 s of darkness, 2 seeds (the recorded 5-minute, 5-seed run is figures/darkness.json)."""
    out = darkness_experiment(DARKNESS_SETTINGS_SMALL, progress=False)
    assert len(out["with_memory"]["final_cm_per_seed"]) == 2
    for w, c in zip(out["with_memory"]["final_cm_per_seed"], out["feedback_cut"]["final_cm_per_seed"]):
        assert w < c
    assert out["error_with_memory_cm"] < out["feedforward_error_cm"]
    assert np.array(out["with_memory"]["errors_cm"]).shape == (2, len(out["t_s"]))


def test_darkness_model_file_runs_from_the_cli_and_checks_its_keys(tmp_path, capsys):
    import json

    from hippo_dam.cli import main

    text = (hd.find_model("place_darkness")).read_text()
    small = text.replace("duration_s = 300.0", "duration_s = 30.0\nfinal_window_s = 10.0").replace(
        "n_seeds = 5", "n_seeds = 2")
    path = tmp_path / "dark.toml"
    path.write_text(small)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    out = json.loads((tmp_path / "out" / "place_darkness.json").read_text())
    for key in ("error_with_memory_cm", "error_without_memory_cm", "feedforward_error_cm"):
        assert np.isfinite(out[key]) and f"{out[key]:.1f} cm" in printed
    assert (tmp_path / "out" / "place_darkness.png").stat().st_size > 10_000
    back = hd.read_session_nwb(tmp_path / "out" / "place_darkness.nwb")
    np.testing.assert_allclose(back["position"], out["example"]["true_m"])
    assert back["grid_positions"].shape == (len(out["t_s"]), 4, 2) and set(back["decoded"]) == {"with_memory",
                                                                                               "feedback_cut"}
    assert out["error_with_memory_cm"] < out["error_without_memory_cm"]
    for old, new, match in (("beta = 1.0", "betta = 1.0", r"unknown key\(s\) \['betta'\] in \[darkness\]"),
                            ("n_seeds = 5", "n_seeds = 9", r"dark.toml: \[darkness\] .*599.6 s recording"),
                            ("beta = 1.0", 'beta = "1"', r"\[darkness\] beta = '1' has the wrong type"),
                            ('codegen_target = "cython"', 'codegen_target = "cuda"',
                             r"\[run\] codegen_target must be 'cython' or 'numpy'")):
        path.write_text(text.replace(old, new))
        with pytest.raises(ValueError, match=match):
            hd.load_model(path)


def test_a_place_cell_run_round_trips_through_nwb_and_pynapple(tmp_path):
    """PlaceRun.to_nwb writes what pynwb and pynapple read back; pynapple's rate maps equal rate_maps unsmoothed."""
    import pynapple as nap
    from brian2 import cm

    from hippo_dam.circuits.place_cells import PlaceCellNetwork, rate_maps
    from hippo_dam.circuits.space import Arena, SpatialCode, grid_modules, make_environments, random_walk

    arena = Arena(100 * cm, 100 * cm)
    code = SpatialCode(arena, grid_modules(4, 16, seed=0), make_environments(1, arena, n_modules=4, seed=0)[0],
                       gain=2.0)
    traj = random_walk(arena, 20 * second, mean_speed=25 * cm / second, seed=1)
    run = PlaceCellNetwork(code, arena.grid_points(25 * cm) * 100 * cm, dt=1 * ms).run(traj)
    path = run.to_nwb(tmp_path / "run.nwb")
    back = hd.read_session_nwb(path)
    np.testing.assert_array_equal(back["t"], run.t)
    np.testing.assert_array_equal(back["position"], run.xy)
    np.testing.assert_array_equal(back["rates"], run.rates)
    np.testing.assert_array_equal(back["decoded"]["memory"], run.decoded)
    np.testing.assert_allclose(back["velocity"], np.gradient(run.xy, run.t, axis=0))
    data = nap.load_file(str(path))
    np.testing.assert_array_equal(np.asarray(data["rates"].values), run.rates)
    np.testing.assert_array_equal(np.asarray(data["animal"].values), run.xy)
    maps, info = hd.spatial_tuning(run.t, run.xy, run.rates, 0.1, arena.size_m)
    mine, occ = rate_maps(run.xy, run.rates, arena, 10 * cm, smooth_bins=0)
    np.testing.assert_allclose(maps, mine, rtol=1e-9, equal_nan=True)
    # Skaggs et al. 1993 by hand, from the same maps and the occupancy
    p = occ / occ.sum()
    mean = np.nansum(p * mine, axis=(1, 2))
    ratio = np.where(occ > 0, mine / mean[:, None, None], 1.0)
    skaggs = np.nansum(p * ratio * np.log2(np.where(ratio > 0, ratio, 1.0)), axis=(1, 2))
    np.testing.assert_allclose(info, skaggs, rtol=1e-6)
    with pytest.raises(ValueError, match="rates must have shape"):
        hd.write_session_nwb(tmp_path / "bad.nwb", run.t, run.xy, rates=run.rates[:-1])


def test_any_trajectory_drives_a_run_and_ratinabox_agents_are_reproducible():
    from brian2 import cm

    from hippo_dam.circuits.space import Arena

    arena = Arena(100 * cm, 60 * cm)
    state = np.random.get_state()
    a = hd.ratinabox_trajectory(arena, 5 * second, seed=3)
    b = hd.ratinabox_trajectory(arena, 5 * second, seed=3)
    assert np.array_equal(a.xy, b.xy) and a.xy.shape == (250, 2)
    assert np.all(a.xy >= 0) and np.all(a.xy <= arena.size_m)
    restored = np.random.get_state()
    assert restored[0] == state[0] and np.array_equal(restored[1], state[1])  # numpy's global generator put back
    t = np.array([0.0, 0.5, 1.3, 2.0])
    xy = np.array([[0.1, 0.1], [0.3, 0.2], [0.5, 0.5], [0.9, 0.55]])
    traj = hd.trajectory_from_samples(t, xy, arena, dt=0.1 * second)
    assert len(traj.xy) == 21 and np.allclose(traj.xy[5], [0.3, 0.2]) and np.allclose(traj.xy[-1], [0.9, 0.55])
    with pytest.raises(ValueError, match="positions lie outside the 1 m x 0.6 m arena"):
        hd.trajectory_from_samples(t, xy + [0, 0.3], arena)
    with pytest.raises(ValueError, match="increasing"):
        hd.trajectory_from_samples(t[::-1], xy, arena)
