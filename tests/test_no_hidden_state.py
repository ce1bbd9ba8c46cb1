"""No hidden state: a changed setting is used by the next recall, and a recall leaves Brian2 as it found it.

Each stale-setting test compares a network whose setting was changed after a recall with a
network built with that setting from the start.
"""
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
