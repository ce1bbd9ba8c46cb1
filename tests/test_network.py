"""The Brian2 network: retrieval, agreement with the numpy reference, energy, errors."""
import numpy as np
import pytest
from brian2 import ms, mV

import hippo_dam as hd
from conftest import SHIPPED

# Every shipped Lagrangian appears on each side at least once.
PAIRS = [
    ("sign", "rectified_power3"),      # model A
    ("identity", "log_sum_exp"),       # model B
    ("euclidean_norm", "rectified_power3"),  # model C
    ("tanh", "identity"),              # graded-response Hopfield (1984)
    ("sigmoid", "exponential"),
    ("tanh", "euclidean_norm"),
    ("log_sum_exp", "tanh"),
    ("sign", "sigmoid"),
    ("identity", "rectified_power2"),
    ("euclidean_norm", "log_sum_exp"),
]


@pytest.fixture(scope="module")
def patterns():
    return hd.random_patterns(64, 256, seed=0)


@pytest.mark.parametrize("factory", [hd.model_a, hd.model_b, hd.model_c], ids=["A", "B", "C"])
def test_models_retrieve_from_20_percent_flips(factory, patterns):
    """64 random patterns, N = 256, 20% of bits flipped: exact retrieval, energy falls."""
    net = factory(patterns, record_every=None)
    for target, seed in [(0, 1), (17, 2), (63, 3)]:
        cue, known = hd.flip_cue(patterns[target], 0.2, seed=seed)
        assert hd.hamming(cue, patterns[target]) == 51
        result = net.recall(cue, known, duration=100 * ms, target=target)
        assert result.quality.success, result.summary()
        assert result.quality.hamming == 0
        assert result.energy[-1] < result.energy[0]


@pytest.mark.parametrize("feat,mem", PAIRS)
def test_brian2_matches_numpy_reference_and_energy_never_rises(feat, mem):
    rng = np.random.default_rng(7)
    nf, nh = 24, 7
    xi = rng.normal(size=(nh, nf)) / np.sqrt(nf)
    lv, lh = SHIPPED[feat], SHIPPED[mem]
    tau_f, tau_h, dt = 10 * ms, 3 * ms, 0.02 * ms
    net = hd.DenseAssociativeMemory(xi, lv, lh, tau_f=tau_f, tau_h=tau_h, dt=dt, record_every=dt)
    cue = rng.normal(size=nf)
    h0 = rng.normal(size=nh)
    res = net.recall(cue, duration=300 * dt, h0=h0, cue_input=0.5)
    v_ref, h_ref = hd.euler_reference(xi, lv, lh, tau_f, tau_h, cue, h0, dt, 300, I=0.5 * cue)
    scale_v, scale_h = np.abs(v_ref).max(), np.abs(h_ref).max()
    np.testing.assert_allclose(res.v, v_ref[:-1], rtol=0, atol=1e-6 * scale_v)
    np.testing.assert_allclose(res.h, h_ref[:-1], rtol=0, atol=1e-6 * scale_h)
    np.testing.assert_allclose(res.v_final, v_ref[-1], rtol=0, atol=1e-6 * scale_v)
    # the online energy (computed inside Brian2) equals the offline formula
    e_off = hd.energy(v_ref[:-1], h_ref[:-1], xi, lv, lh, I=0.5 * cue)
    np.testing.assert_allclose(res.energy, e_off, rtol=0, atol=1e-9 * np.abs(e_off).max())
    rise = np.diff(res.energy) / np.maximum(np.abs(res.energy[:-1]), 1.0)
    assert rise.max() <= 1e-9


def test_softmax_is_overflow_safe_in_brian2(patterns):
    """beta * |h| reaches ~1.3e4: no inf/NaN, same trajectory as the reference."""
    beta, xi = 50.0, patterns[:16]
    cue, _ = hd.flip_cue(xi[2], 0.2, seed=4)
    net = hd.model_b(xi, beta=beta, record_every=0.1 * ms)
    res = net.recall(cue, duration=20 * ms, target=2)
    assert beta * np.abs(res.h).max() > 1e4
    assert np.all(np.isfinite(res.v)) and np.all(np.isfinite(res.energy))
    v_ref, _ = hd.euler_reference(xi, hd.identity(), hd.log_sum_exp(beta), 20 * ms, 2 * ms, cue,
                                  np.zeros(16), 0.1 * ms, 200)
    np.testing.assert_allclose(res.v, v_ref[:-1], rtol=0, atol=1e-6 * np.abs(v_ref).max())
    assert res.quality.success


def test_one_weight_array_serves_both_directions(rng):
    xi = rng.normal(size=(5, 9))
    net = hd.DenseAssociativeMemory(xi, "tanh", "identity", record_every=None, coupling="synapses")
    net.recall(rng.normal(size=9), duration=1 * ms)
    syn = net.coupling.synapses
    assert len(syn) == xi.size
    np.testing.assert_array_equal(syn.w[:], xi[syn.j[:], syn.i[:]])
    # only one Synapses object holds xi: the others are reductions to one neuron
    from brian2 import Synapses
    big = [o for o in net._net.objects if isinstance(o, Synapses) and len(o) == xi.size]
    assert big == [syn]


def test_partial_cue_completes_pattern(patterns):
    cue, known = hd.occlusion_cue(patterns[5], "first", 0.5)
    assert known.sum() == 128 and np.all(cue[~known] == 0)
    res = hd.model_b(patterns).recall(cue, known, duration=100 * ms, target=5)
    assert res.quality.success
    np.testing.assert_array_equal(res.known, known)


def test_result_to_xarray_and_netcdf(tmp_path, patterns):
    net = hd.model_a(patterns, feature_region="EC-III", memory_region="CA1")
    cue, known = hd.flip_cue(patterns[1], 0.1, seed=0)
    res = net.recall(cue, known, duration=10 * ms, target=1)
    ds = res.to_xarray()
    assert ds.sizes["feature"] == 256 and ds.sizes["memory"] == 64 and ds.sizes["pattern"] == 64
    assert ds["v"].dims == ("time", "feature") and ds.time.attrs["units"] == "s"
    assert set(ds.feature_region.values) == {"EC-III"} and set(ds.memory_region.values) == {"CA1"}
    np.testing.assert_allclose(ds.energy.values, res.energy)
    path = tmp_path / "r.nc"
    res.to_netcdf(path)
    import xarray as xr

    back = xr.load_dataset(path)
    np.testing.assert_allclose(back.overlap.values, res.overlaps)
    assert back.attrs["target"] == 1 and back.attrs["memory_lagrangian"] == "rectified_power(degree=3)"


def test_recall_reuses_network_and_is_repeatable(patterns):
    net = hd.model_c(patterns, record_every=None)
    cue, known = hd.flip_cue(patterns[9], 0.2, seed=5)
    a = net.recall(cue, known, duration=20 * ms)
    b = net.recall(cue, known, duration=20 * ms)
    np.testing.assert_array_equal(a.v_final, b.v_final)
    np.testing.assert_array_equal(a.energy, b.energy)
    assert a.v is None and a.overlaps.shape == (1, 64)


def test_numpy_target_runs_additive_and_rejects_layer_max(patterns):
    xi = patterns[:8, :32]
    cue, _ = hd.flip_cue(xi[0], 0.1, seed=0)
    a = hd.DenseAssociativeMemory(xi, "sign", "identity", codegen_target="numpy").recall(cue, duration=5 * ms)
    b = hd.DenseAssociativeMemory(xi, "sign", "identity").recall(cue, duration=5 * ms)
    np.testing.assert_allclose(a.v, b.v, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="cannot compute the layer maximum"):
        hd.DenseAssociativeMemory(xi, "identity", "log_sum_exp", codegen_target="numpy")


def test_runaway_is_an_error_not_a_silent_result():
    xi = np.ones((2, 4)) * 3
    net = hd.DenseAssociativeMemory(xi, "identity", {"name": "exponential", "beta": 5.0}, record_every=None)
    with pytest.raises(FloatingPointError, match="overflowed"):
        net.recall(np.ones(4), duration=50 * ms)
    with pytest.raises(FloatingPointError, match=r"overflowed \(inf/NaN\) in cue \[0, 1\]"):  # a batch names its cues
        net.recall(np.array([[0.0, 0.0, 0.0, 1e-3], [1.0, 1.0, 1.0, 1.0]]), duration=50 * ms)


# -- bad input --------------------------------------------------------------------
def test_bad_patterns():
    with pytest.raises(ValueError, match="empty"):
        hd.DenseAssociativeMemory(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="NaN or inf"):
        hd.DenseAssociativeMemory(np.array([[1.0, np.nan], [1.0, -1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        hd.DenseAssociativeMemory(np.ones(5))


def test_bad_cue(patterns):
    net = hd.model_b(patterns[:4])
    with pytest.raises(ValueError, match=r"cue must have shape \(256,\)"):
        net.recall(np.ones(100))
    with pytest.raises(ValueError, match="NaN or inf"):
        net.recall(np.full(256, np.inf))
    bad = np.ones(256)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        net.recall(bad)
    with pytest.raises(ValueError, match="known must be a boolean mask"):
        net.recall(np.ones(256), known=np.ones(10, bool))
    with pytest.raises(ValueError, match="all False"):
        net.recall(np.ones(256), known=np.zeros(256, bool))


@pytest.mark.parametrize("kw,err,match", [
    ({"tau_f": 0 * ms}, ValueError, "tau_f must be > 0"),
    ({"tau_h": -2 * ms}, ValueError, "tau_h must be > 0"),
    ({"tau_f": 20.0}, TypeError, "tau_f needs time units"),
    ({"tau_h": 5 * mV}, TypeError, "tau_h must be a time"),
    ({"dt": 5 * ms, "tau_h": 2 * ms}, ValueError, "dt=.* must be smaller"),
    ({"codegen_target": "cuda"}, ValueError, "codegen_target must be one of"),
])
def test_bad_parameters(kw, err, match, patterns):
    with pytest.raises(err, match=match):
        hd.DenseAssociativeMemory(patterns[:4], **kw)


def test_projection_shape_checked():
    f = hd.Population("f", 5, "tanh", 10 * ms)
    m = hd.Population("m", 3, "identity", 10 * ms, "h", "f")
    with pytest.raises(ValueError, match=r"shape \(N_post, N_pre\) = \(3, 5\)"):
        hd.SymmetricProjection(f, m, np.ones((5, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        hd.SymmetricProjection(f, m, np.full((3, 5), np.nan))


def test_cpp_standalone_matches_runtime(tmp_path, patterns):
    """The same network builds under C++ standalone (no network_operation) and agrees."""
    xi = patterns[:8, :48]
    cue, _ = hd.flip_cue(xi[3], 0.2, seed=2)
    kw = dict(record_every=0.5 * ms)
    rt = hd.model_b(xi, beta=2.0, **kw).recall(cue, duration=10 * ms)
    sa = hd.model_b(xi, beta=2.0, codegen_target="cpp_standalone", standalone_dir=str(tmp_path), **kw)
    sa = sa.recall(cue, duration=10 * ms)
    np.testing.assert_allclose(sa.v, rt.v, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sa.energy, rt.energy, rtol=1e-9, atol=1e-12)
    # and a runtime network still works afterwards
    again = hd.model_b(xi, beta=2.0, **kw).recall(cue, duration=10 * ms)
    np.testing.assert_array_equal(again.v, rt.v)


def test_cpp_standalone_takes_a_new_parameter_into_the_energy_too(tmp_path, patterns):
    """A new beta runs the same binary: the dynamics and the energy (whose group holds its own copy of
    beta for the log-sum-exp value) both use it. Before, the energy kept the value of the build."""
    xi = patterns[:8, :48]
    cue, known = hd.flip_cue(xi[1], 0.2, seed=1)
    net = hd.model_b(xi, beta=1.0, codegen_target="cpp_standalone", standalone_dir=str(tmp_path), record_every=None)
    net.recall(cue, known, duration=5 * ms)
    binary = net._standalone["directory"]
    net.memory_lagrangian = hd.log_sum_exp(3.0)
    got = net.recall(cue, known, duration=5 * ms)
    assert net._standalone["directory"] == binary
    ref = hd.model_b(xi, beta=3.0, record_every=None).recall(cue, known, duration=5 * ms)
    np.testing.assert_allclose(got.v_final, ref.v_final, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.energy, ref.energy, rtol=0, atol=1e-10)
