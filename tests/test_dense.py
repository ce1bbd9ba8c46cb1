"""The dense symmetric projection, batched recall, compile-once-run-many standalone, CUDA code generation."""
import os

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd
from hippo_dam.core._compat import brian2cuda_status
from conftest import SHIPPED
from test_network import PAIRS

KW = dict(tau_f=10 * ms, tau_h=3 * ms, dt=0.02 * ms)


def _problem(seed=7, nf=24, nh=7, batch=None):
    rng = np.random.default_rng(seed)
    xi = rng.normal(size=(nh, nf)) / np.sqrt(nf)
    shape = (nf,) if batch is None else (batch, nf)
    return xi, rng.normal(size=shape), rng.normal(size=nh)


def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max()


@pytest.mark.parametrize("feat,mem", PAIRS)
def test_dense_matches_synapses_path_to_1e12(feat, mem):
    """Same network, same cue: the BLAS path and the generic Synapses path agree to 1e-12 (float64)."""
    xi, cue, h0 = _problem()
    lv, lh = SHIPPED[feat], SHIPPED[mem]
    runs = [hd.DenseAssociativeMemory(xi, lv, lh, coupling=c, record_every=KW["dt"], **KW)
            .recall(cue, duration=300 * KW["dt"], h0=h0, cue_input=0.5) for c in ("synapses", "dense")]
    syn, dense = runs
    assert _rel(dense.v, syn.v) <= 1e-12 and _rel(dense.h, syn.h) <= 1e-12
    np.testing.assert_allclose(dense.energy, syn.energy, rtol=0, atol=1e-12 * np.abs(syn.energy).max())


@pytest.mark.parametrize("feat,mem", [("sign", "rectified_power3"), ("identity", "log_sum_exp"),
                                      ("euclidean_norm", "rectified_power3"), ("tanh", "euclidean_norm")])
def test_batched_recall_equals_one_cue_at_a_time(feat, mem):
    """A batch of 5 cues in one run = 5 separate runs; per-copy reductions and energies; energy never rises."""
    xi, cues, h0 = _problem(batch=5)
    lv, lh = SHIPPED[feat], SHIPPED[mem]
    net = hd.DenseAssociativeMemory(xi, lv, lh, record_every=KW["dt"], **KW)
    batch = net.recall(cues, duration=200 * KW["dt"], h0=h0, cue_input=0.5)
    assert batch.batched and batch.v.shape == (5, 200, 24) and batch.energy.shape == (5, 200)
    for k in range(5):
        one = net.recall(cues[k], duration=200 * KW["dt"], h0=h0, cue_input=0.5)
        assert _rel(batch.v[k], one.v) <= 1e-12
        np.testing.assert_allclose(batch.energy[k], one.energy, rtol=0, atol=1e-12 * np.abs(one.energy).max())
        # and against the plain numpy Euler integrator
        v_ref, h_ref = hd.euler_reference(xi, lv, lh, KW["tau_f"], KW["tau_h"], cues[k], h0, KW["dt"], 200,
                                          I=0.5 * cues[k])
        assert _rel(batch.v[k], v_ref[:-1]) <= 1e-9
    rise = np.diff(batch.energy, axis=1) / np.maximum(np.abs(batch.energy[:, :-1]), 1.0)
    assert rise.max() <= 1e-9


def test_batched_retrieval_of_many_cues():
    """64 random patterns, N = 256: a batch of 32 cues with 20% flips all retrieved in one run."""
    patterns = hd.random_patterns(64, 256, seed=0)
    targets = np.arange(0, 64, 2)
    cues = np.array([hd.flip_cue(patterns[t], 0.2, seed=int(t))[0] for t in targets])
    res = hd.model_b(patterns, record_every=None).recall(cues, duration=60 * ms, target=targets)
    assert res.quality.success.shape == (32,) and res.quality.success.all(), res.summary()
    assert np.all(res.energy_drop > 0)
    np.testing.assert_array_equal(res[3].quality.target, targets[3])
    ds = res.to_xarray()
    assert ds.success.dims == ("batch",) and int(ds.success.sum()) == 32


def test_numpy_target_and_float32():
    xi, cues, h0 = _problem(batch=3)
    ref = hd.DenseAssociativeMemory(xi, "tanh", "rectified_power", record_every=KW["dt"], **KW)
    ref = ref.recall(cues, duration=100 * KW["dt"], h0=h0)
    numpy_run = hd.DenseAssociativeMemory(xi, "tanh", "rectified_power", codegen_target="numpy",
                                          record_every=KW["dt"], **KW).recall(cues, duration=100 * KW["dt"], h0=h0)
    assert _rel(numpy_run.v, ref.v) <= 1e-12
    net32 = hd.DenseAssociativeMemory(xi, "tanh", "rectified_power", dtype="float32", record_every=KW["dt"], **KW)
    assert net32.dtype == np.float32
    run32 = net32.recall(cues, duration=100 * KW["dt"], h0=h0)
    assert 0 < _rel(run32.v, ref.v) <= 1e-6  # float32 rounding, nothing worse


def test_dense_coupling_stores_xi_once():
    xi = hd.random_patterns(16, 64, seed=3)
    net = hd.DenseAssociativeMemory(xi, "sign", "rectified_power", record_every=None)
    net.recall(xi[0], duration=1 * ms)
    assert np.shares_memory(net.coupling.weights, xi)  # float64: the caller's array itself
    xi32 = xi.astype(np.float32)
    net32 = hd.DenseAssociativeMemory(xi32, "sign", "rectified_power", record_every=None, dtype="float32")
    res = net32.recall(xi32[2], duration=1 * ms)
    assert np.shares_memory(net32.coupling.weights, xi32) and np.shares_memory(net32.patterns, xi32)  # no float64 copy either
    assert res.quality.success and res.quality.target == 2
    from brian2 import Synapses
    assert not any(isinstance(o, Synapses) and len(o) >= xi.size for o in net._net.objects)


def test_synapses_path_batches_block_diagonally():
    """The Synapses coupling holds one block of synapses per cue: its batch equals the dense batch."""
    xi, cues, _ = _problem(batch=2)
    dense = hd.DenseAssociativeMemory(xi, record_every=None).recall(cues, duration=5 * ms)
    syn = hd.DenseAssociativeMemory(xi, coupling="synapses", record_every=None).recall(cues, duration=5 * ms)
    np.testing.assert_allclose(syn.v_final, dense.v_final, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(syn.energy, dense.energy, rtol=1e-12, atol=1e-12)


def test_errors_name_the_problem():
    xi, cues, _ = _problem(batch=2)
    with pytest.raises(ValueError, match="coupling must be one of"):
        hd.DenseAssociativeMemory(xi, coupling="sparse")
    with pytest.raises(ValueError, match="dtype"):
        hd.DenseAssociativeMemory(xi, dtype="float16")
    net = hd.DenseAssociativeMemory(xi, record_every=None)
    with pytest.raises(ValueError, match="cue must have shape"):
        net.recall(np.zeros((2, 3, 24)), duration=1 * ms)
    with pytest.raises(ValueError, match="known must be"):
        net.recall(cues, np.ones((3, 24), bool), duration=1 * ms)
    with pytest.raises(ValueError, match="target must be"):
        net.recall(cues, duration=1 * ms, target=[0, 1, 2])
    bad = cues.copy()
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(cue index \[1\]\)"):
        net.recall(bad, duration=1 * ms)
    with pytest.raises(ValueError, match="shape"):
        net.set_patterns(xi[:3])


def test_cpp_standalone_compiles_once_and_runs_many(tmp_path):
    """New cues, patterns and time constants re-run the same binary; results equal the runtime path."""
    xi, cues, h0 = _problem(batch=3)
    kw = dict(KW, record_every=None)
    net = hd.DenseAssociativeMemory(xi, "identity", "log_sum_exp", codegen_target="cpp_standalone",
                                    standalone_dir=str(tmp_path), **kw)
    runtime = hd.DenseAssociativeMemory(xi, "identity", "log_sum_exp", **kw)
    first = net.recall(cues, duration=4 * ms, h0=h0, cue_input=0.5)
    binary = os.path.join(net._standalone["directory"], "main")
    built = os.path.getmtime(binary)
    assert _rel(first.v_final, runtime.recall(cues, duration=4 * ms, h0=h0, cue_input=0.5).v_final) <= 1e-12

    rng = np.random.default_rng(11)
    new_cues, new_xi = rng.normal(size=cues.shape), rng.normal(size=xi.shape)
    second = net.recall(new_cues, duration=4 * ms, h0=h0)
    assert _rel(second.v_final, runtime.recall(new_cues, duration=4 * ms, h0=h0).v_final) <= 1e-12
    net.set_patterns(new_xi)
    net.tau_f = 15 * ms
    third = net.recall(new_cues, duration=4 * ms, h0=h0)
    expected = hd.DenseAssociativeMemory(new_xi, "identity", "log_sum_exp", **dict(kw, tau_f=15 * ms))
    assert _rel(third.v_final, expected.recall(new_cues, duration=4 * ms, h0=h0).v_final) <= 1e-12
    assert os.path.getmtime(binary) == built  # never recompiled
    assert np.all(np.diff(third.energy, axis=1) <= 1e-9 * np.maximum(np.abs(third.energy[:, :-1]), 1))


def test_cpp_standalone_openmp_threads_agree(tmp_path):
    xi, cues, h0 = _problem(nf=300, nh=40, batch=2)
    kw = dict(KW, record_every=None)
    omp = hd.DenseAssociativeMemory(xi, "tanh", "log_sum_exp", codegen_target="cpp_standalone",
                                    standalone_dir=str(tmp_path), openmp_threads=2, **kw)
    ref = hd.DenseAssociativeMemory(xi, "tanh", "log_sum_exp", **kw)
    assert _rel(omp.recall(cues, duration=2 * ms, h0=h0).v_final,
                ref.recall(cues, duration=2 * ms, h0=h0).v_final) <= 1e-12


def test_cuda_standalone_code_generation(tmp_path):
    """brian2cuda writes the per-neuron kernels and xi as one static array (no GPU needed to generate)."""
    usable, reason = brian2cuda_status()
    if not usable:
        pytest.skip(reason)
    xi = hd.random_patterns(32, 100, seed=0)
    net = hd.DenseAssociativeMemory(xi, "identity", "log_sum_exp", codegen_target="cuda_standalone",
                                    standalone_dir=str(tmp_path), record_every=None)
    info = net.build_standalone(batch=4, duration=5 * ms, compile=False)
    directory = info["directory"]
    stored = np.fromfile(os.path.join(directory, "static_arrays", "hippo_dense_coupling_xi"))
    np.testing.assert_array_equal(stored, xi.ravel())
    pre = open(os.path.join(directory, "code_objects", "coupling_pre_input_codeobject.cu")).read()
    post = open(os.path.join(directory, "code_objects", "coupling_post_input_codeobject.cu")).read()
    assert "__device__ double hippo_dense_coupling_pre(const int k)" in pre
    assert "brian::d_array_memories_f" in pre and "u_coupling = hippo_dense_coupling_pre(i)" in pre
    assert "brian::d_array_features_g" in post
    # xi is not a Synapses object: no synapse creation or summed-variable code for the coupling
    assert not [f for f in os.listdir(os.path.join(directory, "code_objects"))
                if f.startswith("coupling_") and "input" not in f]
