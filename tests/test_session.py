"""A long session and a first run: dropped networks are freed, new ones reuse compiled code,
a first run compiles its modules side by side and says so, results are written without xarray."""
import gc
import os
import sys
import weakref

import numpy as np
import pytest
from brian2 import ms, prefs

import hippo_dam as hd
from hippo_dam.core import _compat
from hippo_dam.networks import two_layer


@pytest.fixture(scope="module")
def patterns():
    return hd.random_patterns(64, 256, seed=0)


def _recall_once(patterns, cue, known, k):
    """The loop a notebook user writes: a new network per parameter value, one recall."""
    net = hd.model_b(patterns, beta=1.0 + 0.01 * k, tau_f=20 * ms, tau_h=2 * ms)
    net.recall(cue, known, duration=2 * ms)
    return net


def test_dropped_networks_are_freed(patterns):
    """After 60 more networks than the first 10, no more live Python objects (within 1%)."""
    cue, known = hd.flip_cue(patterns[3], 0.2, seed=0)
    for k in range(10):
        _recall_once(patterns, cue, known, k)
    gc.collect()
    after_10 = len(gc.get_objects())
    last = None
    for k in range(60):
        last = _recall_once(patterns, cue, known, k)
    group = weakref.ref(last.features.group)
    weights = weakref.ref(last.coupling) if hasattr(last, "coupling") else None
    del last
    gc.collect()
    after_70 = len(gc.get_objects())
    # the last build waits, free, for the next network of its structure; nothing else holds it
    assert len(two_layer._FREE_BUILDS) <= two_layer._FREE_LIMIT
    two_layer._FREE_BUILDS.clear()
    gc.collect()
    assert group() is None, "the last network's NeuronGroup is still referenced after it was dropped"
    assert weights is None or weights() is None
    # no growth (in a busy test process other tests' garbage may go meanwhile, so fewer is fine)
    assert after_70 - after_10 <= 0.01 * after_10, (after_10, after_70)


def test_a_new_network_of_the_same_shape_loads_no_new_module(patterns):
    """Clocks and monitors have fixed names, so the generated code (and its module) is the same."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager

    cue, known = hd.flip_cue(patterns[3], 0.2, seed=0)
    keep = _recall_once(patterns, cue, known, 0)  # an older network still alive: its names stay taken
    before = len(cython_extension_manager._code_cache)
    _recall_once(patterns, cue, known, 1)
    _recall_once(patterns, cue, known, 2)
    assert len(cython_extension_manager._code_cache) == before
    assert keep.features.group.clock.name == "step_clock"  # one clock per network, fixed name


def test_cython_module_key_predicts_brian2s_module_name(tmp_path):
    """_compat._cython_module_key gives the key and file Brian2's extension manager uses for a module."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager

    code = f"#cython: language_level=3\ndef main():\n    return {np.random.default_rng().integers(1 << 30)}\n"
    saved = prefs.codegen.runtime.cython.cache_dir
    prefs.codegen.runtime.cython.cache_dir = str(tmp_path)
    try:
        key, path = _compat._cython_module_key(code)
        assert key not in cython_extension_manager._code_cache and not os.path.isfile(path)
        module = cython_extension_manager.create_extension(code)
        assert module.main() == int(code.split("return ")[1])
        assert cython_extension_manager._code_cache[key] is module  # the same key in memory
        assert os.path.isfile(path)  # and the same file on disk
    finally:
        prefs.codegen.runtime.cython.cache_dir = saved


def test_first_run_compiles_in_the_background_says_so_and_is_exact(tmp_path, patterns, capfd, monkeypatch):
    """A first run in an empty cache: every module is queued to the pool and reported, the run says
    what it compiles on stderr, and the result equals the numpy target's."""
    from brian2.codegen.runtime.cython_rt import extension_manager as em

    from hippo_dam.networks import two_layer

    events = []

    class Recorded(two_layer._BuildReport):
        def __call__(self, event):
            events.append(event)
            super().__call__(event)

    monkeypatch.setattr(two_layer, "_BuildReport", Recorded)
    small = patterns[:8, :32]
    cue, known = hd.flip_cue(small[5], 0.2, seed=2)
    reference = hd.model_a(small, record_every=None, codegen_target="numpy").recall(cue, known, duration=3 * ms)
    saved_dir = prefs.codegen.runtime.cython.cache_dir
    saved_cache = dict(em.cython_extension_manager._code_cache)
    prefs.codegen.runtime.cython.cache_dir = str(tmp_path)
    em.cython_extension_manager._code_cache.clear()
    try:
        result = hd.model_a(small, record_every=None).recall(cue, known, duration=3 * ms)
        assert "create_extension" not in vars(em.cython_extension_manager)  # the patch is gone
        assert em.std_silent.__module__ == "brian2.utils.logger"
    finally:
        prefs.codegen.runtime.cython.cache_dir = saved_dir
        em.cython_extension_manager._code_cache.clear()
        em.cython_extension_manager._code_cache.update(saved_cache)
    assert events.count("queued") == events.count("built") > 3
    assert len(list(tmp_path.rglob("*.so"))) == events.count("built")
    err = capfd.readouterr().err
    assert "compiling this network's Brian2 code (first run only" in err and str(tmp_path) in err
    np.testing.assert_allclose(result.v_final, reference.v_final, atol=1e-12)
    np.testing.assert_allclose(result.energy, reference.energy, atol=1e-9)


def test_setup_code_on_numpy_leaves_the_target():
    saved = prefs.codegen.target
    prefs.codegen.target = "cython"
    try:
        with _compat.setup_code_on_numpy():
            assert prefs.codegen.target == "numpy"
        assert prefs.codegen.target == "cython"
    finally:
        prefs.codegen.target = saved


@pytest.mark.parametrize("kind", ["single", "batch", "circuit"])
def test_to_netcdf_reads_back_as_to_xarray(tmp_path, patterns, kind):
    """The netCDF4 writer makes the file xarray would: read back, it is identical to to_xarray()."""
    import xarray as xr

    cue, known = hd.flip_cue(patterns[2], 0.2, seed=4)
    if kind == "circuit":
        net = hd.ECCA1Loop(patterns, record_every=1 * ms)
        res = net.recall(cue, known, duration=4 * ms)
    else:
        net = hd.model_b(patterns, feature_region="EC-III", memory_region="CA1")
        res = net.recall(cue if kind == "single" else np.stack([cue, -cue]), known if kind == "single" else None,
                         duration=4 * ms)
    path = tmp_path / f"{kind}.nc"
    res.to_netcdf(path)
    back = xr.load_dataset(path)
    xr.testing.assert_identical(back, res.to_xarray())
    path2 = tmp_path / f"{kind}_xr.nc"
    res.to_xarray().to_netcdf(path2)
    xr.testing.assert_identical(back, xr.load_dataset(path2))


def test_to_netcdf_needs_no_xarray(tmp_path, patterns):
    """Writing a result imports neither xarray nor dask (a second of a command-line run)."""
    import subprocess

    code = ("import sys, numpy as np, hippo_dam as hd\n"
            "from brian2 import ms\n"
            "p = hd.random_patterns(8, 32, seed=0)\n"
            "hd.model_b(p, record_every=None).recall(p[0], duration=1*ms).to_netcdf(sys.argv[1])\n"
            "print(sorted(m for m in ('xarray', 'dask', 'distributed') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.nc")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


@pytest.mark.parametrize("batched", [False, True])
def test_a_rerun_keeps_its_code_objects_and_equals_a_fresh_network(patterns, batched):
    """The second and later recalls of a network reuse the code objects of its first run; every
    recall equals, bit for bit, the same recall on a fresh network (states, recordings, energy)."""
    net = hd.model_b(patterns, record_every=0.5 * ms)
    first = None
    for k in range(3):
        cue, known = hd.flip_cue(patterns[k], 0.25, seed=k)
        if batched:
            cue, known = np.stack([cue, -cue]), np.stack([known, known])
        res = net.recall(cue, known, duration=3 * ms)
        objects = {obj.name: obj.codeobj for obj in net._net.sorted_objects if getattr(obj, "codeobj", None)}
        if first is None:
            first = objects
        else:
            assert objects == first, "a rerun generated new code objects"
        fresh = hd.model_b(patterns, record_every=0.5 * ms).recall(cue, known, duration=3 * ms)
        for name in ("v_final", "h_final", "energy", "v", "h", "t", "energy_t"):
            np.testing.assert_array_equal(getattr(res, name), getattr(fresh, name), err_msg=name)
    assert not any("before_run" in vars(obj) for obj in net._net.sorted_objects)  # the patch is gone


def test_a_rerun_after_a_change_uses_the_new_values(patterns):
    """A new time constant or Lagrangian parameter is written into the built network (a new
    structure, here a new dt, rebuilds it); either way the recall equals a fresh network's."""
    net = hd.model_b(patterns, record_every=None)
    cue, known = hd.flip_cue(patterns[1], 0.2, seed=1)
    net.recall(cue, known, duration=2 * ms)
    old = net._net
    net.tau_h = 3 * ms
    net.memory_lagrangian = hd.log_sum_exp(2.5)
    res = net.recall(cue, known, duration=2 * ms)
    assert net._net is old
    two_layer._FREE_BUILDS.clear()
    fresh = hd.model_b(patterns, beta=2.5, record_every=None, tau_h=3 * ms).recall(cue, known, duration=2 * ms)
    np.testing.assert_array_equal(res.v_final, fresh.v_final)
    np.testing.assert_array_equal(res.energy, fresh.energy)
    net.dt = 0.05 * ms
    net.recall(cue, known, duration=2 * ms)
    assert net._net is not old


_MODELS = {
    "A": lambda p, k: hd.model_a(p, degree=3.0 + k, tau_f=(20 + k) * ms, tau_h=(2 + k) * ms, feature_region="EC"),
    "B": lambda p, k: hd.model_b(p, beta=1.0 + k, tau_f=(20 + k) * ms, tau_h=(2 + 0.5 * k) * ms),
    "C": lambda p, k: hd.model_c(p, degree=3.0 + k, tau_f=(20 + k) * ms, tau_h=(2 + k) * ms),
    "layer norm": lambda p, k: hd.DenseAssociativeMemory(p, hd.layer_norm(gamma=1.0 + k, delta=0.1 * k),
                                                         hd.log_sum_exp(1.0 + k), tau_h=(2 + k) * ms),
}


@pytest.mark.parametrize("model", sorted(_MODELS))
def test_a_dropped_networks_build_serves_the_next_of_its_structure_exactly(model):
    """The notebook loop: a network dropped after its recall leaves its Brian2 build to the next
    network of the same structure, which writes its own values (time constants, Lagrangian
    parameters, patterns, regions) into it. Its recall equals, bit for bit, the recall of a freshly
    built network with those values, and every Brian2 variable after the run is the same."""
    make = _MODELS[model]
    two_layer._FREE_BUILDS.clear()
    p1, p2 = hd.random_patterns(12, 48, seed=1), hd.random_patterns(12, 48, seed=2)
    cue, known = hd.flip_cue(p2[4], 0.25, seed=3)
    ref_net = make(p2, 1)
    ref = ref_net.recall(cue, known, duration=3 * ms)  # a fresh build: nothing free yet
    other = make(p1, 0)
    other.recall(-cue, known, duration=5 * ms)
    built = other._net
    del other
    gc.collect()
    assert built in [b.network for b in two_layer._FREE_BUILDS.values()]
    net = make(p2, 1)
    res = net.recall(cue, known, duration=3 * ms)
    assert net._net is built
    for name in ("v_final", "h_final", "energy", "v", "h", "t", "energy_t"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name), err_msg=name)
    assert res.attrs["feature_region"] == ref.attrs["feature_region"]
    states = {obj.name: obj.get_states(units=False) for obj in ref_net._net.objects if hasattr(obj, "get_states")}
    for obj in net._net.objects:
        if hasattr(obj, "get_states"):
            for var, value in obj.get_states(units=False).items():
                np.testing.assert_array_equal(value, states[obj.name][var], err_msg=f"{obj.name}.{var}")


def test_live_networks_keep_their_own_builds(patterns):
    """Only dropped networks give their builds away: two live networks alternate without sharing."""
    a, b = hd.model_b(patterns, beta=1.0), hd.model_b(patterns, beta=3.0)
    cue, known = hd.flip_cue(patterns[2], 0.3, seed=4)
    ra, rb = a.recall(cue, known, duration=2 * ms), b.recall(cue, known, duration=2 * ms)
    assert a._net is not b._net
    np.testing.assert_array_equal(a.recall(cue, known, duration=2 * ms).v_final, ra.v_final)
    np.testing.assert_array_equal(b.recall(cue, known, duration=2 * ms).v_final, rb.v_final)


def test_circuits_and_large_networks_build_their_own(patterns):
    """A subclass with its own graph, and a network above the size bound, never share a build."""
    assert hd.CA3Circuit(patterns)._pool_key(1) is None
    big = hd.model_b(hd.random_patterns(1100, 1000, seed=0))
    assert big._pool_key(1) is None
    assert hd.model_b(patterns)._pool_key(1) is not None


def test_a_new_stimulus_of_the_same_shape_loads_no_new_module():
    """The place-cell input (a TimedArray) has a fixed name: a new trajectory of the same length
    reuses the modules of the last instead of compiling ('_timedarray_1', '_2', ...) its own."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager

    from hippo_dam.circuits.place_cells import _MovingInputMemory

    net = _MovingInputMemory(hd.random_patterns(8, 32, seed=0), hd.tanh(), hd.log_sum_exp(1.0), record_every=None)
    net.drive(np.random.default_rng(0).normal(size=(20, 32)), 1 * ms)
    before = len(cython_extension_manager._code_cache)
    for k in (1, 2):
        net.drive(np.random.default_rng(k).normal(size=(20, 32)), 1 * ms)
    assert len(cython_extension_manager._code_cache) == before
    assert net.stimulus.name == "place_stimulus"
