"""One CA3 population learning several rooms by a local rule inside the run (issue 20, item 3)."""
import numpy as np
import pytest
from brian2 import Hz, TimedArray, ms

import hippo_dam as hd
from hippo_dam.experiments.shared_map import (SHARED_MAP_SETTINGS, SHARED_MAP_SETTINGS_SMALL, shared_map_experiment,
                                              shared_map_session)

TINY = {**SHARED_MAP_SETTINGS_SMALL, "n_ca3": 20, "explore_s": 1.0, "test_s": 0.4, "cells_per_module": 6,
        "n_landmarks": 1, "learning_rate_hz": 2.0, "record_every_ms": 10.0, "n_context": 3,
        "feedback_gain": 0.01}


def test_plastic_projection_schedule_and_feedback_gain_as_the_numpy_reference():
    """dW/dt = eta s(t) f (g - W); u_pre = c W^T f: a gated rule and a scaled feedback, against numpy."""
    rng = np.random.default_rng(3)
    N, K, dt, steps = 6, 4, 0.1e-3, 400
    W0 = rng.normal(0, 0.3, (K, N))
    x0 = 3 * np.sign(W0[:1])  # drives memory 0
    gate = np.array([0.0, 1.0, 0.5, 0.0])  # 10 ms samples
    eta, c = 30.0, 0.4

    def make(batch):
        f = hd.Population("f", N, "tanh", 10 * ms, "x", "a", batch=batch)
        m = hd.Population("m", K, hd.rectified_power(2.0), 5 * ms, "x", "a", batch=batch)
        return [f, m, hd.PlasticProjection(f, m, W0, learning_rate=eta * Hz, name="learn", feedback=c,
                                           plasticity=TimedArray(gate, dt=10 * ms, name="learn_plasticity"))]

    net = hd.GraphMemory.from_components(make, record_every=None, energy=None, dt=dt * 1e3 * ms)
    net.recall(x0, duration=steps * dt * 1e3 * ms)
    learned = net.graph["learn"].learned_weights()[0]
    v, h, W = x0[0].copy(), np.zeros(K), W0.copy()
    for n in range(steps):
        s = gate[min(int(n * dt / 10e-3 + 1e-9), len(gate) - 1)]
        g, f = np.tanh(v), 2 * np.maximum(h, 0)
        v, h, W = (v + dt / 10e-3 * (c * W.T @ f - v), h + dt / 5e-3 * (W @ g - h),
                   W + dt * eta * s * f[:, None] * (g[None, :] - W))
    np.testing.assert_allclose(learned, W, atol=1e-12)
    # the gate is 0 for the first 10 ms: nothing was learned then, and something after
    assert np.abs(learned - W0).max() > 1e-3
    with pytest.raises(TypeError, match="feedback of p must be a number >= 0 or a TimedArray"):
        hd.PlasticProjection(hd.Population("a", N, "tanh", 10 * ms), hd.Population("b", K, "identity", 10 * ms), W0,
                             learning_rate=1 * Hz, name="p", feedback=-1.0)
    with pytest.raises(ValueError, match="plasticity of p: the TimedArray must hold one finite value >= 0"):
        hd.PlasticProjection(hd.Population("a", N, "tanh", 10 * ms), hd.Population("b", K, "identity", 10 * ms), W0,
                             learning_rate=1 * Hz, name="p", plasticity=TimedArray([0.0, -1.0], dt=1 * ms))


def test_shared_map_session_learns_as_a_plain_numpy_integrator():
    """The whole session (rooms, tests, basket cells, the gated instar rule) against an Euler loop in numpy."""
    session = shared_map_session(TINY)
    s, inputs, gate, W0, c = (session[k] for k in ("settings", "inputs", "gate", "W0", "feedback"))
    net = hd.GraphMemory.from_components(session["make"], energy=None, dt=session["dt"], record_every=None, batch=1)
    n_h, n_f = W0.shape
    n_steps = int(round(len(inputs) * session["sample_s"] / (s["dt_ms"] / 1e3)))
    net.recall(np.zeros((1, n_h)), layer="CA3", duration=n_steps * s["dt_ms"] * ms)
    learned = net.graph["EC_CA3"].learned_weights()[0]
    recorded = net.graph["rates_recorder"].trace(net.graph["CA3"])[0]  # (T, n_h)

    dt, per_sample = s["dt_ms"] / 1e3, int(round(session["sample_s"] / (s["dt_ms"] / 1e3)))
    every = int(round(s["record_every_ms"] / s["dt_ms"]))
    v, h, y, W = np.zeros(n_f), np.zeros(n_h), 0.0, W0.copy()
    eta, w_i = s["learning_rate_hz"], s["inhibition"]
    tau_f, tau_h, tau_i = s["tau_ec_ms"] / 1e3, s["tau_ca3_ms"] / 1e3, s["tau_inhibition_ms"] / 1e3
    ref_record = []
    for n in range(n_steps):
        if n % every == 0:
            ref_record.append(h.copy())
        k = min(n // per_sample, len(inputs) - 1)
        g, f = np.tanh(v), 2 * np.maximum(h, 0)
        v, h, y, W = (v + dt / tau_f * (inputs[k] + c[k] * W.T @ f - v), h + dt / tau_h * (W @ g - w_i * y - h),
                      y + dt / tau_i * (f.sum() - y), W + dt * eta * gate[k] * f[:, None] * (g[None, :] - W))
    np.testing.assert_allclose(learned, W, atol=1e-10)
    np.testing.assert_allclose(recorded, np.array(ref_record), atol=1e-10)
    assert np.abs(W - W0).max() > 1e-2  # it learned, during the explorations only (gate)
    assert set(np.unique(gate)) == {0.0, 1.0}
    np.testing.assert_allclose(np.unique(c), [0.0] + [k * s["feedback_gain"] for k in (1, 3, 10, 30)])
    explore = sum(dur for kind, _, dur in session["plan"] if kind == "explore")
    assert gate.sum() * session["sample_s"] == pytest.approx(explore)


def test_shared_map_experiment_reports_every_room_and_its_fading():
    out = shared_map_experiment(SHARED_MAP_SETTINGS_SMALL, progress=False)
    n = SHARED_MAP_SETTINGS_SMALL["n_rooms"]
    assert len(out["rooms"]) == n and len(out["overlap"]) == n * (n - 1) // 2
    assert out["forgetting"]["rooms_learned_since"] == list(range(n - 1, -1, -1))
    for room in out["rooms"]:
        for kind in ("novel", "learned", "final"):
            assert 0 <= room[kind]["fraction_active"] <= 1
            assert room[kind]["population_rate_Hz"] > 0
        assert -1 <= room["pv_final_vs_learned"] <= 1
        assert 0 <= room["final_room_correct"] <= 1
    # the last room learned is tested twice with nothing learned between: its map holds
    assert out["rooms"][-1]["pv_final_vs_learned"] > 0.5
    # learning moved the weights; chance overlap is the product of the active fractions
    assert out["learned_weights"]["moved_mean"] > 0
    o = out["overlap"][0]
    a, b = (out["rooms"][k]["learned"]["fraction_active"] for k in o["rooms"])
    assert o["chance"] == pytest.approx(a * b)
    # remapping of room A on one path: moving 2 landmarks keeps where cells fire, a realigned grid does not
    remap = out["remapping"]
    assert remap["landmarks_moved"]["spatial_correlation_median"] > 0.5
    assert remap["grid_realigned"]["spatial_correlation_median"] < remap["landmarks_moved"][
        "spatial_correlation_median"] - 0.3
    assert 15 <= remap["realignment"]["angle_deg"] <= 45
    # the partial cue, read with the feedback cut and at four gains of the CA3 -> EC feedback
    cue = out["partial_cue"]
    assert [v["feedback_gain"] for v in cue.values()] == [0.0] + [k * 0.001 for k in (1, 3, 10, 30)]


def test_a_realigned_grid_module_is_the_same_grid_rotated_and_shifted():
    """G'(R (x - c) + c + d) = G(x): every field moves with the rotation and the shift (Fyhn et al. 2007)."""
    from hippo_dam.circuits.space import grid_modules
    from hippo_dam.experiments.shared_map import _realigned

    module = grid_modules(1, 8, seed=3)[0]
    angle, shift, centre = 0.4, np.array([0.13, -0.05]), np.array([0.5, 0.5])
    turned = _realigned(module, angle, shift, centre)
    x = np.random.default_rng(0).uniform(0, 1, (50, 2))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    np.testing.assert_allclose(turned.rates((x - centre) @ rot.T + centre + shift), module.rates(x), atol=1e-12)
    assert turned.spacing == module.spacing


@pytest.mark.parametrize("settings, match", [
    ({"n_rooms": 0}, "'n_rooms' must be > 0"),
    ({"n_ca3": 2.5}, "'n_ca3' must be a whole number"),
    ({"learning_rate_hz": -1.0}, "'learning_rate_hz' must be >= 0"),
    ({"explore_s": 700.0}, "explore_s = 700 s must fit in the 599.6 s recording"),
    ({"dt_ms": 6.0}, "dt_ms = 6.0 must be below every time constant"),
    ({"n_rooms": True}, "'n_rooms' must be a finite number"),
    ({"remapping_tests": 2}, "'remapping_tests' must be 0 or 1"),
    ({"speed": 1.0}, r"unknown shared-map setting\(s\) \['speed'\]"),
])
def test_shared_map_settings_are_checked_before_anything_runs(settings, match):
    with pytest.raises(ValueError, match=match):
        shared_map_session(settings)


def test_shared_map_figure_is_made_and_redrawn_from_its_record(tmp_path, monkeypatch):
    """The CI-sized figure: both boxes recorded in the JSON, the PNG drawn again from it without a run."""
    import json

    from hippo_dam.cli import main
    from hippo_dam.figures import make_figures

    monkeypatch.setenv("CI", "true")
    png = make_figures(tmp_path, ["shared_map"])[0]
    recorded = json.loads(png.with_suffix(".json").read_text())
    assert recorded["large_box"]["settings"]["arena_width_m"] == 1.8
    assert sum(recorded["large_box"]["fields_per_cell_distribution"]) > 0
    assert png.stat().st_size > 20_000
    import hippo_dam.experiments.shared_map as sm

    monkeypatch.setattr(sm, "shared_map_experiment", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    assert main(["figures", "shared_map", "--redraw", "--out", str(tmp_path / "ci")]) == 0


def test_shared_map_model_file_runs_from_the_cli_and_checks_its_keys(tmp_path, capsys):
    import json

    from hippo_dam.cli import main

    text = hd.find_model("place_shared_map").read_text()
    small = text.replace("n_rooms = 10", "n_rooms = 2").replace("n_ca3 = 400", "n_ca3 = 40").replace(
        "explore_s = 90.0", "explore_s = 10.0").replace("test_s = 60.0", "test_s = 10.0")
    path = tmp_path / "shared.toml"
    path.write_text(small)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    out = json.loads((tmp_path / "out" / "place_shared_map.json").read_text())
    assert out["n_ca3"] == 40 and len(out["rooms"]) == 2 and out["model_file"] == str(path)
    assert f"overlap of rooms {out['overlap_mean']:.3f}" in printed
    fails = out["rooms_until_recall_fails"]
    assert (f"recall fails after {fails} more rooms" if fails is not None else "no room's recall failed") in printed
    assert (tmp_path / "out" / "place_shared_map.png").stat().st_size > 20_000
    for old, new, match in (("inhibition = 0.5", "inhibitoin = 0.5", r"unknown key\(s\) \['inhibitoin'\] in "
                                                                       r"\[shared_map\]"),
                            ("n_ca3 = 400", "n_ca3 = 0", r"shared.toml: \[shared_map\] .*'n_ca3' must be > 0"),
                            ("n_ca3 = 400", 'n_ca3 = "400"', r"\[shared_map\] n_ca3 = '400' has the wrong type"),
                            ('codegen_target = "cython"', 'codegen_target = "cuda"',
                             r"\[run\] codegen_target must be 'cython' or 'numpy'"),
                            ('[run]', '[run]\nseed = 1', r"\[run\]")):
        path.write_text(text.replace(old, new))
        with pytest.raises(ValueError, match=match):
            hd.load_model(path)


def test_synaptic_scaling_set_in_other_rooms_evens_out_the_cells_drive_in_the_sessions_rooms():
    """Scales set over rooms the session never uses (Turrigiano et al. 1998) make the cells' drive vary alike in
    the session's own rooms: the spread over cells of the drive's SD shrinks; each cell's weights keep their
    direction (one factor per cell); without scaling the weights are the raw random ones."""
    from brian2 import cm

    settings = {**SHARED_MAP_SETTINGS, "n_rooms": 4, "n_ca3": 80, "remapping_tests": 0, "partial_cue_tests": 0}
    raw = shared_map_session({**settings, "synaptic_scaling": 0})
    scaled = shared_map_session({**settings, "synaptic_scaling": 1})
    factor = np.linalg.norm(scaled["W0"], axis=1) / np.linalg.norm(raw["W0"], axis=1)
    np.testing.assert_allclose(scaled["W0"], raw["W0"] * factor[:, None], rtol=1e-12)
    assert factor.std() > 0.05  # the cells were not alike
    xy = raw["arena"].grid_points(5 * cm)

    def spread(session):  # SD over cells of each cell's drive SD (positions of every room), relative
        g = np.concatenate([np.tanh(session["room_input"]("explore", k, xy)) for k in range(settings["n_rooms"])])
        sd = (g @ session["W0"].T).std(axis=0)
        return sd.std() / sd.mean()

    assert spread(scaled) < 0.7 * spread(raw), (spread(raw), spread(scaled))
