"""No hidden state: a changed setting is used by the next recall, and a recall leaves Brian2 as it found it.

Each stale-setting test compares a network whose setting was changed after a recall with a
network built with that setting from the start.
"""
from pathlib import Path

import numpy as np
import pytest
from brian2 import get_device, ms, prefs

import hippo_dam as hd

XI = hd.random_patterns(6, 32, seed=3)
CUE = hd.flip_cue(XI[2], 0.2, seed=4)[0]
KW = dict(tau_f=10 * ms, tau_h=2 * ms)


def _recall(net):
    return net.recall(CUE, duration=3 * ms)


def test_changed_dt_is_used():
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", dt=0.1 * ms, **KW)
    _recall(net)
    net.dt = 0.05 * ms
    res = _recall(net)
    fresh = _recall(hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", dt=0.05 * ms, **KW))
    assert res.attrs["dt_ms"] == 0.05
    assert len(res.energy) == len(fresh.energy) == 60
    np.testing.assert_allclose(res.v_final, fresh.v_final, rtol=1e-12)


def test_changed_record_every_and_energy_every_are_used():
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", record_every=0.5 * ms, **KW)
    _recall(net)
    net.record_every = 1 * ms
    net.energy_every = 1 * ms
    res = _recall(net)
    assert len(res.t) == 3 and len(res.energy) == 3


def test_changed_lagrangian_is_used():
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", **KW)
    _recall(net)
    net.memory_lagrangian = hd.log_sum_exp(4.0)
    res = _recall(net)
    fresh = _recall(hd.DenseAssociativeMemory(XI, "tanh", hd.log_sum_exp(4.0), **KW))
    np.testing.assert_allclose(res.v_final, fresh.v_final, rtol=1e-12)
    np.testing.assert_allclose(res.energy, fresh.energy, rtol=1e-12)


def test_changed_lagrangian_parameter_is_used():
    net = hd.DenseAssociativeMemory(XI, "tanh", hd.log_sum_exp(1.0), **KW)
    _recall(net)
    net.memory_lagrangian.params["beta"] = 4.0
    res = _recall(net)
    fresh = _recall(hd.DenseAssociativeMemory(XI, "tanh", hd.log_sum_exp(4.0), **KW))
    np.testing.assert_allclose(res.v_final, fresh.v_final, rtol=1e-12)


def test_assigned_patterns_are_used():
    other = hd.random_patterns(6, 32, seed=9)
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", **KW)
    _recall(net)
    net.patterns = other
    res = _recall(net)
    fresh = _recall(hd.DenseAssociativeMemory(other, "tanh", "log_sum_exp", **KW))
    np.testing.assert_allclose(res.v_final, fresh.v_final, rtol=1e-12)


def test_patterns_cannot_be_edited_in_place():
    """`net.patterns[0, 0] = ...` raises (a read-only view); set_patterns is the way, and it is used."""
    mine = XI.copy()
    net = hd.DenseAssociativeMemory(mine, "tanh", "log_sum_exp", **KW)
    _recall(net)
    with pytest.raises(ValueError, match="read-only"):
        net.patterns[0, 0] = -net.patterns[0, 0]
    assert mine.flags.writeable and np.shares_memory(net.patterns, mine)  # no copy of xi, the caller's stays writable
    other = hd.random_patterns(6, 32, seed=9)
    net.set_patterns(other)
    assert not net.patterns.flags.writeable
    fresh = _recall(hd.DenseAssociativeMemory(other, "tanh", "log_sum_exp", **KW))
    np.testing.assert_allclose(_recall(net).v_final, fresh.v_final, rtol=1e-12)
    graph = hd.HierarchicalAssociativeMemory.two_layer(XI, "tanh", "log_sum_exp", **KW)
    with pytest.raises(ValueError, match="read-only"):
        graph.patterns[0][0, 0] = 0.0


def test_recall_leaves_prefs_and_device_as_found():
    device = get_device()
    before = dict(prefs.prefs)
    prefs.codegen.target = "numpy"
    try:
        net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", codegen_target="cython", **KW)
        _recall(net)
        assert prefs.codegen.target == "numpy" and get_device() is device
    finally:
        prefs.codegen.target = before["codegen.target"]


@pytest.mark.slow
def test_standalone_recall_leaves_prefs_and_device_as_found(tmp_path):
    device = get_device()
    threads = prefs.devices.cpp_standalone.openmp_threads
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", codegen_target="cpp_standalone",
                                    standalone_dir=str(tmp_path), openmp_threads=threads + 2, **KW)
    _recall(net)
    assert get_device() is device and prefs.devices.cpp_standalone.openmp_threads == threads


def test_plots_to_files_leave_the_matplotlib_backend_alone(tmp_path, monkeypatch):
    import matplotlib

    def refuse(*args, **kwargs):
        raise AssertionError("the library called matplotlib.use")

    monkeypatch.setattr(matplotlib, "use", refuse)
    backend = matplotlib.get_backend()
    res = _recall(hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", **KW))
    res.plot(tmp_path / "recall.png")
    assert (tmp_path / "recall.png").stat().st_size > 1000 and matplotlib.get_backend() == backend
    sources = (hd.__file__.rsplit("/", 1)[0],)
    from pathlib import Path

    assert not [p.name for p in Path(sources[0]).rglob("*.py") if "matplotlib.use(" in p.read_text()]


def _global_state():
    """Brian2's preferences and device, and numpy's global random state, as comparable values."""
    state = np.random.get_state()
    return dict(prefs.prefs), get_device(), (state[0], state[1].tobytes(), state[2:])


def _public_calls():
    """Public calls that set a preference, a device or a seed while they work (issue 18)."""
    from brian2 import cm, second

    from hippo_dam.circuits.space import Arena, SpatialCode, grid_modules, make_environments, random_walk

    def grid():
        net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", codegen_target="cython", **KW)
        hd.recall_grid(net, np.stack([CUE, -CUE]), duration=2 * ms)

    def spiking():
        hd.SpikingCA3(XI, seed=3, record_every=None).recall(CUE, duration=2 * ms)

    def imprint():
        arena = Arena(60 * cm, 60 * cm)
        code = SpatialCode(arena, grid_modules(2, 8, seed=0), make_environments(1, arena, n_modules=2, seed=0)[0])
        hd.imprint_memories(code, random_walk(arena, 0.5 * second, seed=1), n_units=10)

    def equations():
        hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", **KW).equations()

    def hierarchy():
        hd.HierarchicalAssociativeMemory.two_layer(XI, "tanh", "log_sum_exp", **KW).recall(CUE, duration=2 * ms)

    def darkness():
        from hippo_dam.experiments.darkness import DARKNESS_SETTINGS_SMALL, darkness_experiment

        darkness_experiment({**DARKNESS_SETTINGS_SMALL, "duration_s": 3.0, "n_seeds": 1, "final_window_s": 1.0},
                            progress=False, seed=2)

    def shared_map():
        from hippo_dam.experiments.shared_map import SHARED_MAP_SETTINGS_SMALL, shared_map_experiment

        shared_map_experiment({**SHARED_MAP_SETTINGS_SMALL, "n_ca3": 20, "explore_s": 1.0, "test_s": 0.6,
                               "cells_per_module": 6, "n_landmarks": 1, "n_context": 3}, progress=False)

    def place_theta():
        from hippo_dam.experiments.place_theta import PLACE_THETA_SETTINGS_SMALL, place_theta_experiment

        place_theta_experiment({**PLACE_THETA_SETTINGS_SMALL, "n_ca3": 20, "explore_s": 1.0, "template_s": 4.0,
                                "test_s": 4.0, "cells_per_module": 6, "n_landmarks": 1}, progress=False)

    def figure():
        import os
        import tempfile
        from unittest import mock

        from hippo_dam.figures import figure_function

        # the reduced settings CI uses; the spiking figure seeds its Poisson CA3 runs
        with tempfile.TemporaryDirectory() as out, mock.patch.dict(os.environ, {"CI": "true"}):
            figure_function("spiking")(out)

    return {"recall_grid": grid, "SpikingCA3.recall(seed)": spiking, "imprint_memories": imprint,
            "equations": equations, "hierarchy recall": hierarchy, "darkness_experiment(seed)": darkness,
            "shared_map_experiment": shared_map, "place_theta_experiment(seed)": place_theta,
            "figure spiking(seed)": figure}


@pytest.mark.parametrize("name", sorted(_public_calls()))
def test_public_calls_leave_prefs_device_and_numpy_random_state_as_found(name):
    """recall_grid left prefs.codegen.target set, SpikingCA3.recall reseeded numpy's global generator,
    imprint_memories set the target, equations() reset a standalone device the caller had chosen; the place-cell
    experiments seed Brian2 (and RatInABox draws from numpy's generator) and put it back."""
    target = prefs.codegen.target
    prefs.codegen.target = "numpy"  # not the package's default: a call that sets its own must put this back
    np.random.seed(1234)
    try:
        before = _global_state()
        _public_calls()[name]()
        after = _global_state()
        assert after[0] == before[0], {k: (before[0][k], after[0][k]) for k in before[0] if before[0][k] != after[0][k]}
        assert after[1] is before[1]
        if "(seed)" in name or "experiment" in name:  # Brian2's noise and RatInABox draw from numpy's generator,
            assert after[2] == before[2]                  # reseeded: put back
    finally:
        prefs.codegen.target = target


def test_equations_keep_a_standalone_device_the_caller_chose(tmp_path):
    from brian2 import set_device

    from hippo_dam.core._compat import reset_device

    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    try:
        standalone = get_device()
        text = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", **KW).equations()
        assert "dv/dt" in text and get_device() is standalone
    finally:
        reset_device()


def test_build_standalone_leaves_openmp_threads_and_device_as_found(tmp_path):
    """It left prefs.devices.cpp_standalone.openmp_threads at the network's value (code written, not compiled)."""
    device, threads = get_device(), prefs.devices.cpp_standalone.openmp_threads
    net = hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp", codegen_target="cpp_standalone",
                                    standalone_dir=str(tmp_path), openmp_threads=threads + 2, **KW)
    info = net.build_standalone(duration=2 * ms, compile=False)
    assert (Path(info["directory"]) / "main.cpp").is_file()
    assert get_device() is device and prefs.devices.cpp_standalone.openmp_threads == threads
