"""A learned CA3 map as noisy LIF cells under theta (issue 20, item 4): the pieces against references."""
import json

import numpy as np
import pytest
from brian2 import Hz, ms

import hippo_dam as hd
from hippo_dam.circuits.theta import (circular_linear_fit, isi_cv, isi_cv2, look_ahead, phase_precession,
                                      running_direction, septal_drive, theta_phase)
from hippo_dam.experiments.place_theta import PLACE_THETA_SETTINGS_SMALL, _check_settings


def test_circular_linear_fit_recovers_a_known_slope_and_rejects_none():
    """Kempter et al. (2012): phase = phi0 + 2 pi a x + noise gives back a; uniform phases give p > 0.05."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 400)
    phase = np.mod(2.0 - 2 * np.pi * 0.3 * x + rng.normal(0, 0.4, 400), 2 * np.pi)
    fit = circular_linear_fit(x, phase)
    assert fit["slope_cycles"] == pytest.approx(-0.3, abs=0.02)
    assert fit["rho"] < -0.8 and fit["p"] < 1e-20
    assert np.angle(np.exp(1j * (fit["offset_rad"] - 2.0))) == pytest.approx(0, abs=0.1)
    none = circular_linear_fit(x, rng.uniform(0, 2 * np.pi, 400))
    assert abs(none["rho"]) < 0.15 and none["p"] > 0.01
    with pytest.raises(ValueError, match="same length"):
        circular_linear_fit(x, phase[:-1])
    with pytest.raises(ValueError, match="finite"):
        circular_linear_fit(x, np.where(x > 0.9, np.nan, phase))
    assert circular_linear_fit(x, np.mod(-2 * np.pi * 0.5 * x, 2 * np.pi), max_slope=0.5)["at_limit"]


def test_look_ahead_sweeps_from_behind_to_ahead_once_per_cycle_and_stops_at_walls():
    """x_sweep = x + D (psi / 2 pi - 1/2) e: behind at the cycle's start, at the rat mid-cycle, ahead at its end."""
    f, D, h = 8.0, 0.3, 1e-3
    t = np.arange(2000) * h
    xy = np.stack([0.2 + 0.2 * t, np.full_like(t, 0.5)], axis=1)  # 20 cm/s along +x
    sw = look_ahead(xy, t, f, D, np.array([1.0, 1.0]))
    psi = theta_phase(t, f)
    mid = slice(200, 1800)  # away from the ends of the velocity average
    np.testing.assert_allclose(sw[mid, 0] - xy[mid, 0], D * (psi[mid] / (2 * np.pi) - 0.5), atol=1e-9)
    np.testing.assert_allclose(sw[:, 1], 0.5)
    toward_wall = np.stack([0.6 + 0.2 * t, np.full_like(t, 0.5)], axis=1)  # reaches x = 1 at the end
    near_wall = look_ahead(toward_wall, t, f, D, np.array([1.0, 1.0]))
    ahead = toward_wall[:, 0] + D * (psi / (2 * np.pi) - 0.5)
    assert ahead.max() > 1.1  # the sweep would pass the wall ...
    np.testing.assert_allclose(near_wall[:, 0], np.minimum(ahead, 1.0)[:], atol=0.02)  # ... and stops at it
    assert near_wall[:, 0].max() == 1.0
    with pytest.raises(ValueError, match="inside"):
        look_ahead(toward_wall + 0.5, t, f, D, np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="size_m"):
        look_ahead(xy, t, f, D, np.array([1.0]))
    standing = look_ahead(np.full((2000, 2), 0.5), t, f, D, np.array([1.0, 1.0]))
    np.testing.assert_allclose(standing, 0.5)  # no heading, no sweep
    np.testing.assert_allclose(np.linalg.norm(running_direction(xy, h)[mid], axis=1), 1.0)
    drive = septal_drive(t, f, 2.0)
    assert drive.max() == pytest.approx(2.0) and drive.min() == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="sweep_m"):
        look_ahead(xy, t, f, -0.1, np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="frequency_hz"):
        theta_phase(t, 0.0)


def test_irregularity_of_a_clock_and_of_a_poisson_train():
    """ISI CV and CV2 (Holt et al. 1996): 0 for a clock, 1 for a Poisson process."""
    rng = np.random.default_rng(1)
    clock = np.arange(200) * 0.1
    poisson = np.cumsum(rng.exponential(0.1, 4000))
    cells = np.r_[np.zeros(200, int), np.ones(4000, int)]
    times = np.r_[clock, poisson]
    cv, cv2 = isi_cv(cells, times), isi_cv2(cells, times)
    assert cv[0] == pytest.approx(0, abs=1e-9) and cv2[0] == pytest.approx(0, abs=1e-9)
    assert cv[1] == pytest.approx(1, abs=0.05) and cv2[1] == pytest.approx(1, abs=0.05)
    assert isi_cv([2, 2], [0.0, 1.0]) == {}  # too few spikes: no value


def test_phase_precession_reads_the_slope_along_the_running_direction():
    """A cell fired by a sweep: phase falls linearly with d = (x - c).e / r; the opposite run gives the same slope."""
    rng = np.random.default_rng(2)
    n = 600
    d = rng.uniform(-1, 1, n)
    heading = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None] * np.array([[1.0, 0.0]])
    centre, radius = np.array([0.5, 0.5]), 0.15
    xy = centre + d[:, None] * radius * heading
    phase = np.mod(np.pi - 0.75 * np.pi * d + rng.normal(0, 0.3, n), 2 * np.pi)  # 270 deg across the field
    outside = xy[:1] + 2 * radius  # a spike outside the field is left out
    pp = phase_precession(np.zeros(n + 1, int), np.r_[xy, outside], np.r_[heading, heading[:1]],
                          np.r_[phase, 0.0], {0: centre}, {0: radius})
    assert pp["pooled"]["n"] == n
    assert pp["pooled"]["slope_deg_per_field"] == pytest.approx(-270, abs=15)
    assert pp["n_cells_fitted"] == 1 and pp["fraction_significant_negative"] == 1.0


def _lif_reference(J, steps, dt, tau_m, tau_syn, q, refractory):
    """Euler loop of tau_m dV/dt = J - V (not while refractory), spike at V > 1, V -> 0, s += q."""
    V, s, last, spikes, trace = 0.0, 0.0, -np.inf, [], []
    for n in range(steps):
        t = n * dt
        if t - last >= refractory - 1e-12:
            V += dt * (J - V) / tau_m
        s += -dt * s / tau_syn
        if V > 1 and t - last >= refractory - 1e-12:
            spikes.append(t)
            V, last = 0.0, t
            s += q
        trace.append(s)
    return np.array(spikes), np.array(trace)


def test_lif_population_spikes_as_a_numpy_integrator_and_its_trace_is_its_rate():
    """A clamped rate neuron drives an LIFPopulation through a projection: spike times as the numpy loop,
    the rate as the LIF f-I curve, the trace's mean as rate / rate_unit."""
    J, bias, dt, tau_m, tau_syn, ref, unit = 1.3, 0.3, 0.1e-3, 20e-3, 10e-3, 2e-3, 5.0
    steps = 4000

    def make(batch):
        drive = hd.Population("drive", 1, "identity", 10 * ms, "x", "a", clampable=True)
        lif = hd.LIFPopulation("cells", 2, tau_m * 1e3 * ms, tau_syn * 1e3 * ms, rate_unit=unit * Hz,
                               refractory=ref * 1e3 * ms, bias=bias)
        return [drive, lif, hd.Projection(drive, lif, np.array([[1.0], [-0.5]]), name="drive_to_cells"),
                ]

    net = hd.GraphMemory.from_components(make, energy=None, record_every=None, dt=dt * 1e3 * ms)
    net.recall(np.array([[J]]), clamp=True, duration=steps * dt * 1e3 * ms)
    cells, times = net.graph["cells"].spikes()
    ref_spikes, ref_trace = _lif_reference(J + bias, steps, dt, tau_m, tau_syn, 1 / (unit * tau_syn), ref)
    assert np.all(cells == 0)  # the other cell's drive (-0.65 + 0.3) stays below threshold
    assert len(times) == len(ref_spikes) > 10
    np.testing.assert_allclose(times, ref_spikes, atol=1.01 * dt)
    rate = 1 / (ref + tau_m * np.log((J + bias) / (J + bias - 1)))  # the LIF f-I curve
    assert np.mean(np.diff(times)) == pytest.approx(1 / rate, rel=0.02)
    assert float(net.graph["cells"].group.s[0]) == pytest.approx(ref_trace[-1], rel=1e-6)
    assert float(net.graph["cells"].group.s[1]) == 0.0
    assert float(net.graph["cells"].group.V[1]) == pytest.approx(bias - 0.5 * J, abs=1e-6)  # relaxed, no spike
    # each spike adds 1 / (rate_unit tau_syn): the trace averages rate / rate_unit
    later = len(ref_trace) // 4
    assert np.mean(ref_trace[later:]) == pytest.approx(rate / unit, rel=0.05)
    with pytest.raises(ValueError, match="sigma"):
        hd.LIFPopulation("bad", 2, 20 * ms, 5 * ms, sigma=-1.0)


def test_lif_population_noise_has_the_stated_standard_deviation():
    """tau_m dV/dt = -V + sigma sqrt(2 tau_m) eta: V fluctuates with SD sigma below threshold."""
    from brian2 import seed as brian_seed

    sigma = 0.2

    def make(batch):
        drive = hd.Population("drive", 1, "identity", 10 * ms, "x", "a", clampable=True)
        lif = hd.LIFPopulation("noisy", 400, 10 * ms, 5 * ms, sigma=sigma)
        return [drive, lif, hd.Projection(drive, lif, np.zeros((400, 1)), name="nothing")]

    net = hd.GraphMemory.from_components(make, energy=None, record_every=None, dt=0.1 * ms)
    state = np.random.get_state()
    try:
        brian_seed(5)
        net.recall(np.array([[0.0]]), clamp=True, duration=100 * ms)  # 10 tau_m: stationary
    finally:
        np.random.set_state(state)
    V = np.asarray(net.graph["noisy"].group.V[:])
    assert len(net.graph["noisy"].spikes()[0]) == 0  # 5 SD below threshold
    assert V.std() == pytest.approx(sigma, rel=0.1) and abs(V.mean()) < 0.04
    with pytest.raises(TypeError, match="tau_m"):
        hd.LIFPopulation("bad", 2, 20.0, 5 * ms)


@pytest.mark.parametrize("settings, match", [
    ({"theta_hz": 0.0}, "theta_hz"),
    ({"n_ca3": 10.5}, "n_ca3"),
    ({"dt_ms": 5.0}, "dt_ms"),
    ({"input_dt_ms": 20.0}, "input_dt_ms"),
    ({"lif_sigma": -0.1}, "lif_sigma"),
    ({"theta": 8.0}, "unknown"),
])
def test_place_theta_settings_are_checked_before_anything_runs(settings, match):
    with pytest.raises(ValueError, match=match):
        _check_settings(settings)
    _check_settings({"lif_bias": -0.5})  # a cell held below threshold


@pytest.fixture(scope="module")
def theta_run(tmp_path_factory):
    """The CI-sized experiment through its model file and ``hippo-dam run``."""
    from hippo_dam.cli import main

    folder = tmp_path_factory.mktemp("theta")
    keys = {k: PLACE_THETA_SETTINGS_SMALL[k] for k in ("n_ca3", "explore_s", "template_s", "test_s",
                                                       "cells_per_module", "n_landmarks", "dt_ms")}
    path = folder / "theta.toml"
    path.write_text('[model]\nkind = "place_theta"\nname = "theta_ci"\n\n[place_theta]\n'
                    + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    assert main(["run", str(path), "--out", str(folder / "out")]) == 0
    return folder, json.loads((folder / "out" / "theta_ci.json").read_text())


def test_place_theta_model_file_runs_and_records_what_the_issue_asks(theta_run, capsys):
    folder, out = theta_run
    assert (folder / "out" / "theta_ci.png").stat().st_size > 20_000
    sp = out["spiking"]
    assert sp["n_spikes"] > 0 and 0 < sp["fraction_active"] < 1
    # the two versions of the same cells, driven by the same learned weights, have the same fields
    assert sp["map_correlation_with_rate_version_median"] > 0.7
    for name in ("test", "no_sweep"):
        for v in ("rate", "spiking"):
            assert np.isfinite(out["decoding"][name][v]["median_cm"])
        assert out["isi_cv"][name]["cells"] > 0 and out["isi_cv"][name]["cv2_median"] > 0.2
    # the sweep makes phase precession; without it the phases do not follow the position in the field
    sweep, none = out["precession"]["test"]["pooled"], out["precession"]["no_sweep"]["pooled"]
    assert sweep["slope_deg_per_field"] < -90 and sweep["p"] < 0.01
    assert abs(none["rho"]) < abs(sweep["rho"]) / 2
    assert out["theta_locking"]["test"]["rayleigh_p"] < 0.01
    assert out["settings"]["n_ca3"] == PLACE_THETA_SETTINGS_SMALL["n_ca3"]


# pynapple makes each unit's Ts without a time support: a cell of the CI-sized run that fired once has a support
# of no duration, and pynapple says so on loading (its own warning, about a valid file)
@pytest.mark.filterwarnings("ignore:Some epochs have no duration:UserWarning")
def test_place_theta_session_opens_in_pynwb_and_pynapple(theta_run):
    """The model file's NWB: the test's position, the rate version's rates, every spiking cell's spikes."""
    import pynapple as nap

    folder, out = theta_run
    path = folder / "out" / "theta_ci.nwb"
    back = hd.read_session_nwb(path)
    n = out["settings"]["n_ca3"]
    assert back["rates"].shape == (len(back["t"]), n) and back["position"].shape == (len(back["t"]), 2)
    assert len(back["t"]) == round(out["settings"]["test_s"] * 1000 / out["settings"]["record_every_ms"])
    assert len(back["spike_times"]) == n
    assert sum(len(x) for x in back["spike_times"]) == out["spiking"]["n_spikes_test"] > 0
    t0, t1 = back["t"][0], back["t"][-1] + out["settings"]["record_every_ms"] / 1000
    assert all(np.all((x >= t0 - 1e-9) & (x < t1)) for x in back["spike_times"])
    data = nap.load_file(str(path))
    np.testing.assert_array_equal(np.asarray(data["rates"].values), back["rates"])
    assert len(data["units"].keys()) == n  # every spiking cell, as a pynapple TsGroup
    assert "session" not in out  # arrays stay out of the JSON record


def test_place_theta_figure_redraws_from_its_record_and_bad_keys_are_named(theta_run, tmp_path):
    from hippo_dam.figures.place_theta import redraw

    _, out = theta_run
    assert redraw(out, tmp_path / "again.png").stat().st_size > 20_000
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nkind = "place_theta"\n\n[place_theta]\ntheta_freq = 8.0\n')
    with pytest.raises(ValueError, match="theta_freq"):
        hd.load_model(str(bad))


def test_place_theta_figure_records_every_seed_and_redraws_without_a_run(tmp_path, monkeypatch):
    """The figure function: seed 0 drawn, the summary of seeds 0, 1 and 2 recorded (each its own map, paths,
    noise), the PNG drawn again from the JSON by ``--redraw`` without running anything."""
    from hippo_dam.cli import main
    from hippo_dam.figures.place_theta import SEEDS, place_theta

    tiny = {**PLACE_THETA_SETTINGS_SMALL, "n_ca3": 20, "explore_s": 2.0, "template_s": 6.0, "test_s": 4.0,
            "cells_per_module": 6, "n_landmarks": 1}
    png = place_theta(tmp_path, settings=tiny)
    recorded = json.loads(png.with_suffix(".json").read_text())
    assert [r["seed"] for r in recorded["seeds"]] == list(SEEDS)
    assert recorded["seeds"][0]["spiking_over_rate"] == recorded["decoding"]["test"]["spiking_over_rate"]
    assert len({r["rate_decoding_cm"] for r in recorded["seeds"]}) == len(SEEDS)  # three maps, three paths
    import hippo_dam.experiments.place_theta as pt

    monkeypatch.setattr(pt, "place_theta_experiment", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    assert main(["figures", "place_theta", "--redraw", "--out", str(tmp_path)]) == 0
