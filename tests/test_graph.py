"""The energy graph: the hierarchy, the general network, layer norm, and the two-layer model as their special case."""
import os
from fractions import Fraction

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd
from conftest import SHIPPED

# every shipped Lagrangian; the non-additive ones need one time constant per layer
LAGS = sorted(SHIPPED)
# super-linear Lagrangians above a linear layer run away in finite time: keep weights small
FAST_GROWTH = {"rectified_power3", "rectified_power4", "exponential"}
# sign (L = |x|) has no Hessian at 0: two binary neurons coupled directly can flip in the same Euler
# step, and the cross term -dg_i W_ij dg_j of that synchronous update can raise E (Hopfield's discrete
# net). Binary neurons are therefore coupled only through other populations, as in model A.
BINARY = "sign"


def _random_hierarchy(seed, lags=None):
    """A random 3-5 layer hierarchy: Lagrangians, sizes, tau, weights, states, inputs (numpy arrays)."""
    rng = np.random.default_rng(seed)
    n_layers = int(rng.integers(3, 6))
    names = list(lags) if lags is not None else [LAGS[k] for k in rng.integers(0, len(LAGS), n_layers)]
    names = [n if not (a and n == BINARY == names[a - 1]) else "tanh" for a, n in enumerate(names)]
    n_layers = len(names)
    sizes = [int(rng.integers(3, 12)) for _ in names]
    taus = [float(rng.uniform(2, 20)) for _ in names]
    scale = 0.3 if FAST_GROWTH & set(names) else 1.0
    weights = [scale * rng.normal(size=(sizes[a + 1], sizes[a])) / np.sqrt(sizes[a]) for a in range(n_layers - 1)]
    x0 = [scale * rng.normal(size=n) for n in sizes]
    I = [0.3 * rng.normal(size=n) for n in sizes]
    return names, sizes, taus, weights, x0, I


def _rises(E):
    """Largest relative step-to-step rise of an energy trace."""
    return float(np.max(np.diff(E) / np.maximum(np.abs(E[:-1]), 1.0)))


def _run_hierarchy(names, sizes, taus, weights, x0, I, n_steps, codegen_target):
    dt = min(taus) / 200
    layers = [hd.Layer(n, SHIPPED[name], tau * ms, f"L{a}") for a, (name, n, tau) in enumerate(zip(names, sizes, taus))]
    net = hd.HierarchicalAssociativeMemory(layers, weights, dt=dt * ms, record_every=dt * ms,
                                           codegen_target=codegen_target)
    # layer 0 is cued with x0[0]; the other layers start from x0 too, and every layer gets its input
    net_inputs = I
    out = net._run_states([x[None] for x in x0], [i[None] for i in net_inputs], [np.zeros((1, n)) for n in sizes],
                          n_steps * dt * ms, False)
    traces = [tr[0] for tr in out["traces"]]
    ref = hd.graph_reference([SHIPPED[n] for n in names], [t * 1e-3 for t in taus],
                             [(a, a + 1, W) for a, W in enumerate(weights)], x0, dt * 1e-3, n_steps, I=I)
    return net, out, traces, ref


@pytest.mark.parametrize("seed", range(100))
def test_reference_energy_never_rises_on_random_hierarchies(seed):
    """numpy reference: 100 random 3-5 layer hierarchies over every shipped Lagrangian, E never rises."""
    names, sizes, taus, weights, x0, I = _random_hierarchy(seed)
    lags = [SHIPPED[n] for n in names]
    links = [(a, a + 1, W) for a, W in enumerate(weights)]
    dt = min(taus) / 200
    xs = hd.graph_reference(lags, taus, links, x0, dt, 300, I=I)
    E = hd.graph_energy(lags, links, xs, I)
    assert np.all(np.isfinite(E)), names
    assert _rises(E) <= 1e-9, (names, _rises(E))
    assert E[-1] < E[0]


# Eight Brian2 hierarchies that together cover every shipped Lagrangian, additive and not, at every depth.
BRIAN_STACKS = [
    ["tanh", "log_sum_exp", "identity"],
    ["sign", "rectified_power3", "tanh", "euclidean_norm"],
    ["identity", "layer_norm", "log_sum_exp"],
    ["sigmoid", "exponential", "rectified_power2", "rectified_power4", "tanh"],
    ["euclidean_norm", "tanh", "layer_norm"],
    ["layer_norm", "sigmoid", "identity", "log_sum_exp"],
    ["tanh", "tanh", "tanh"],
    ["identity", "sign", "euclidean_norm", "exponential", "layer_norm"],
]


@pytest.mark.parametrize("stack", BRIAN_STACKS, ids=["-".join(s) for s in BRIAN_STACKS])
def test_brian2_hierarchy_matches_reference_and_energy_never_rises(stack):
    names, sizes, taus, weights, x0, I = _random_hierarchy(len(stack) * 7 + len("".join(stack)), stack)
    target = "cython" if any(n == "log_sum_exp" for n in names) else "numpy"  # numpy cannot take a layer max
    net, out, traces, ref = _run_hierarchy(names, sizes, taus, weights, x0, I, 200, target)
    for a, (tr, rf) in enumerate(zip(traces, ref)):
        np.testing.assert_allclose(tr, rf[: len(tr)], rtol=1e-6, atol=1e-9, err_msg=f"layer {a} ({names[a]})")
    E = out["energy"][0]
    lags = [SHIPPED[n] for n in names]
    E_ref = hd.graph_energy(lags, net.links, [r[: len(E)] for r in ref], I)
    np.testing.assert_allclose(E, E_ref, rtol=1e-9, atol=1e-9)
    assert _rises(E) <= 1e-9, (names, _rises(E))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100))
def test_brian2_random_hierarchies(seed):
    """Brian2: 100 random 3-5 layer hierarchies equal the numpy reference (1e-6) and never raise E."""
    names, sizes, taus, weights, x0, I = _random_hierarchy(1000 + seed)
    target = "cython" if "log_sum_exp" in names else "numpy"
    net, out, traces, ref = _run_hierarchy(names, sizes, taus, weights, x0, I, 150, target)
    for a, (tr, rf) in enumerate(zip(traces, ref)):
        np.testing.assert_allclose(tr, rf[: len(tr)], rtol=1e-6, atol=1e-9, err_msg=f"layer {a} ({names[a]})")
    assert _rises(out["energy"][0]) <= 1e-9


def _random_general(seed, n_groups=None):
    """A random general network: N neurons in groups with random Lagrangians, one tau per non-additive group."""
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(1, 5)) if n_groups is None else n_groups
    names = [LAGS[k] for k in rng.integers(0, len(LAGS), n_groups)]
    sizes = [int(rng.integers(2, 9)) for _ in names]
    N = sum(sizes)
    perm = rng.permutation(N)  # groups are scattered over the neuron order
    bounds = np.cumsum([0] + sizes)
    groups = [(np.sort(perm[bounds[g]:bounds[g + 1]]), SHIPPED[name], f"G{g}") for g, name in enumerate(names)]
    scale = 0.3 if FAST_GROWTH & set(names) else 1.0
    A = scale * rng.normal(size=(N, N)) / np.sqrt(N)
    W = (A + A.T) / 2
    binary = np.concatenate([idx for idx, lag, _ in groups if lag.name == BINARY] + [np.zeros(0, int)])
    W[np.ix_(binary, binary)] = 0.0
    tau = rng.uniform(2, 20, size=N)
    for idx, lag, _ in groups:
        if not lag.additive:
            tau[idx] = tau[idx[0]]
    return groups, W, tau, scale * rng.normal(size=N), 0.3 * rng.normal(size=N)


def _general_reference(groups, W, tau, x0, I, dt, n_steps):
    lags = [g[1] for g in groups]
    idx = [g[0] for g in groups]
    links = [(a, b, W[np.ix_(idx[b], idx[a])]) for a in range(len(idx)) for b in range(a, len(idx))]
    xs = hd.graph_reference(lags, [tau[i] for i in idx], links, [x0[i] for i in idx], dt, n_steps,
                            I=[I[i] for i in idx])
    E = hd.graph_energy(lags, links, xs, [I[i] for i in idx])
    full = np.empty((n_steps + 1, len(x0)))
    for i, x in zip(idx, xs):
        full[:, i] = x
    return full, E


@pytest.mark.parametrize("seed", range(100))
def test_reference_energy_never_rises_on_random_general_networks(seed):
    groups, W, tau, x0, I = _random_general(seed)
    _, E = _general_reference(groups, W, tau, x0, I, tau.min() / 200, 300)
    assert np.all(np.isfinite(E)) and _rises(E) <= 1e-9, ([g[1] for g in groups], _rises(E))


@pytest.mark.parametrize("seed", [3, 11, 27])
def test_brian2_general_network_matches_reference(seed):
    groups, W, tau, x0, I = _random_general(seed, n_groups=3)
    dt = tau.min() / 200
    target = "cython" if any(g[1].name == "log_sum_exp" for g in groups) else "numpy"  # numpy: no compile
    net = hd.GeneralAssociativeMemory(W, groups, tau * ms, dt=dt * ms, record_every=dt * ms, energy_every=dt * ms,
                                      codegen_target=target)
    # a cue of all neurons (every entry known) is the initial state; the input is given through cue_input
    res = net.recall(x0, duration=150 * dt * ms, cue_input=0.0)
    full, E_ref = _general_reference(groups, W, tau * 1e-3, x0, np.zeros_like(x0), dt * 1e-3, 150)
    np.testing.assert_allclose(res.v, full[: len(res.v)], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.energy, E_ref[: len(res.energy)], rtol=1e-9, atol=1e-9)
    assert _rises(res.energy) <= 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100))
def test_brian2_random_general_networks(seed):
    """Brian2: 100 random general networks equal the reference (1e-6) and never raise E."""
    groups, W, tau, x0, I = _random_general(500 + seed)
    dt = tau.min() / 200
    target = "cython" if any(g[1].name == "log_sum_exp" for g in groups) else "numpy"
    net = hd.GeneralAssociativeMemory(W, groups, tau * ms, dt=dt * ms, record_every=dt * ms, codegen_target=target)
    res = net.recall(x0, duration=150 * dt * ms)
    full, _ = _general_reference(groups, W, tau * 1e-3, x0, np.zeros_like(x0), dt * 1e-3, 150)
    np.testing.assert_allclose(res.v, full[: len(res.v)], rtol=1e-6, atol=1e-9)
    assert _rises(res.energy) <= 1e-9


@pytest.fixture(scope="module")
def two_layer():
    xi = hd.random_patterns(10, 40, seed=5)
    cues = np.stack([hd.flip_cue(xi[k], 0.3, seed=k)[0] for k in range(3)])
    return xi, cues


@pytest.mark.parametrize("feat,mem", [("identity", {"name": "log_sum_exp", "beta": 0.5}),
                                      ("sign", {"name": "rectified_power", "degree": 3}),
                                      ("tanh", "layer_norm")])
def test_two_layer_model_is_a_special_case(two_layer, feat, mem):
    """DenseAssociativeMemory = a two-layer hierarchy = a general net with block off-diagonal W (1e-12)."""
    xi, cues = two_layer
    kw = dict(tau_f=10 * ms, tau_h=2 * ms, dt=0.05 * ms, record_every=0.5 * ms)
    dam = hd.DenseAssociativeMemory(xi, feat, mem, **kw).recall(cues, duration=15 * ms, target=np.arange(3))
    ham = hd.HierarchicalAssociativeMemory.two_layer(xi, feat, mem, **kw).recall(cues, duration=15 * ms,
                                                                                   target=np.arange(3))
    gam = hd.GeneralAssociativeMemory.two_layer(xi, feat, mem, **kw).recall(
        np.concatenate([cues, np.zeros((3, len(xi)))], axis=1), duration=15 * ms)
    n_f = xi.shape[1]
    for res in (ham,):
        np.testing.assert_allclose(res.v, dam.v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.h, dam.h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gam.v[..., :n_f], dam.v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gam.v[..., n_f:], dam.h, rtol=1e-12, atol=1e-12)
    for res in (ham, gam):
        np.testing.assert_allclose(res.energy, dam.energy, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ham.quality.success, dam.quality.success)


def test_graded_response_hopfield_is_one_group():
    """The general network with one tanh group and W = T is Hopfield's 1984 net (effective.graded_response_euler)."""
    xi = hd.random_patterns(5, 60, seed=2)
    net = hd.GeneralAssociativeMemory.graded_response(xi, tau=10 * ms, dt=0.1 * ms, record_every=0.1 * ms)
    cue, known = hd.flip_cue(xi[1], 0.2, seed=3)
    res = net.recall(cue, duration=40 * ms, target=1)
    ref = hd.graded_response_euler(net.W, cue, "tanh", tau=10 * ms, dt=0.1 * ms, n_steps=400)
    np.testing.assert_allclose(res.v, ref[: len(res.v)], rtol=1e-9, atol=1e-12)
    assert res.quality.success and _rises(res.energy) <= 1e-9


def test_clamped_entries_stay_and_batch_equals_one_at_a_time():
    rng = np.random.default_rng(0)
    layers = [hd.Layer(30, "tanh", 10 * ms, "pixels"), hd.Layer(12, "tanh", 4 * ms, "parts"),
              hd.Layer(6, {"name": "log_sum_exp", "beta": 2.0}, 2 * ms, "labels")]
    weights = [rng.normal(size=(12, 30)) / 5, rng.normal(size=(6, 12)) / 3]
    net = hd.HierarchicalAssociativeMemory(layers, weights, patterns={"pixels": np.sign(rng.normal(size=(4, 30)))})
    cues = np.sign(rng.normal(size=(3, 30)))
    known = rng.random((3, 30)) < 0.5
    batch = net.recall(cues, known, duration=10 * ms, layer="pixels", clamp=True, cue_input=0.5)
    for k in range(3):
        one = net.recall(cues[k], known[k], duration=10 * ms, layer="pixels", clamp=True, cue_input=0.5)
        np.testing.assert_allclose(batch.v_final[k], one.v_final, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch.extra["labels"]["final"][k], one.extra["labels"]["final"], rtol=1e-12)
        np.testing.assert_allclose(batch[k].extra["labels"]["final"], one.extra["labels"]["final"], rtol=1e-12)
        # clamped (known) entries never moved
        np.testing.assert_array_equal(one.v[:, known[k]], np.broadcast_to(cues[k][known[k]], one.v[:, known[k]].shape))
    ds = batch.to_xarray()
    assert {"labels_neuron", "parts_neuron", "batch"} <= set(ds.dims)
    # a cue at the top layer reads out the pixels below
    res = net.recall(np.eye(6)[2] * 3, layer="labels", duration=10 * ms)
    assert res.extra["pixels"]["final"].shape == (30,) and res.quality is None


def test_equations_show_every_group_and_the_schedule():
    net = hd.model_b(hd.random_patterns(4, 16, seed=0))
    text = net.equations()
    for piece in ("dv/dt", "dh/dt", "'features'", "'memories'", "hippo_dense_coupling", "energy",
                  "Euler step of every state", "[groups, order -20]"):
        assert piece in text, piece
    assert str(net).startswith("DenseAssociativeMemory")
    ham = hd.HierarchicalAssociativeMemory.two_layer(hd.random_patterns(4, 16, seed=0), "tanh", "layer_norm")
    text = ham.equations()
    assert "clamped" in text and "c2" in text and "memories_reduce_1" in text  # the layer norm's second pass


def test_general_network_refuses_unequal_time_constants_in_a_softmax_group():
    W = np.zeros((6, 6))
    W[0, 3] = W[3, 0] = 1.0
    groups = [(slice(0, 3), "tanh"), (slice(3, 6), {"name": "log_sum_exp", "beta": 1.0})]
    tau = np.array([5, 6, 7, 2, 2, 3.0]) * ms
    with pytest.raises(ValueError, match="non-additive.*unequal time constants"):
        hd.GeneralAssociativeMemory(W, groups, tau)
    with pytest.warns(RuntimeWarning, match="energy can rise"):
        hd.GeneralAssociativeMemory(W, groups, tau, on_time_constants="warn")
    tau_ok = np.array([5, 6, 7, 2, 2, 2.0]) * ms  # free inside the additive group
    hd.GeneralAssociativeMemory(W, groups, tau_ok)


def test_unequal_time_constants_in_a_softmax_group_can_raise_the_energy():
    """The condition is needed: a softmax pair with unequal tau raises E (numpy reference).

    With ``W = 0`` and ``d_i = I_i - x_i``, ``dE/dt = -beta p1 p2 (d1/t1 - d2/t2)(d1 - d2)``: positive for
    ``d = (1, 0.9)`` and ``t = (50, 1)``; with equal ``t`` it is ``-(beta p1 p2/t) (d1 - d2)^2 <= 0``.
    """
    lse = hd.log_sum_exp(1.0)
    W = np.zeros((2, 2))
    x0, I = [np.zeros(2)], [np.array([1.0, 0.9])]
    unequal = hd.graph_reference([lse], [np.array([50.0, 1.0])], [(0, 0, W)], x0, 0.01, 200, I=I)
    assert _rises(hd.graph_energy([lse], [(0, 0, W)], unequal, I)) > 1e-6
    equal = hd.graph_reference([lse], [np.array([20.0, 20.0])], [(0, 0, W)], x0, 0.01, 200, I=I)
    assert _rises(hd.graph_energy([lse], [(0, 0, W)], equal, I)) <= 1e-9


@pytest.mark.parametrize("make,match", [
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms)], []), "at least two layers"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms), hd.Layer(2, "tanh", 5 * ms)],
                                              [np.ones((3, 2))]), r"shape \(n_post, n_pre\) = \(2, 3\)"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms), hd.Layer(2, "tanh", 5 * ms)], []),
     "need 1 weight matrices"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5), hd.Layer(2, "tanh", 5 * ms)],
                                              [np.ones((2, 3))]), "time units"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms, "a-b"), hd.Layer(2, "tanh", 5 * ms)],
                                              [np.ones((2, 3))]), "identifier"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms), hd.Layer(2, "tanh", 5 * ms)],
                                              [np.full((2, 3), np.nan)]), "NaN"),
    (lambda: hd.HierarchicalAssociativeMemory([hd.Layer(3, "tanh", 5 * ms), hd.Layer(2, "tanh", 5 * ms)],
                                              [np.ones((2, 3))], codegen_target="cuda_standalone"), "cpp_standalone"),
    (lambda: hd.GeneralAssociativeMemory(np.array([[0, 1], [2, 0.0]]), [(slice(0, 2), "tanh")], 5 * ms),
     "symmetric"),
    (lambda: hd.GeneralAssociativeMemory(np.zeros((3, 3)), [(slice(0, 2), "tanh")], 5 * ms), "needs a group"),
    (lambda: hd.GeneralAssociativeMemory(np.zeros((3, 3)), [(slice(0, 2), "tanh"), ([1, 2], "tanh")], 5 * ms),
     "more than one group"),
    (lambda: hd.GeneralAssociativeMemory(np.zeros((3, 3)), [(slice(0, 3), "tanh")], np.ones(2) * ms), "shape"),
    (lambda: hd.layer_norm(eps=0), "eps"),
    (lambda: hd.layer_norm(gamma=-1), "gamma"),
])
def test_bad_input_is_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_recall_errors_name_the_problem():
    net = hd.HierarchicalAssociativeMemory.two_layer(hd.random_patterns(4, 16, seed=0), "tanh", "tanh")
    with pytest.raises(ValueError, match=r"cue must have shape \(16,\)"):
        net.recall(np.ones(5))
    with pytest.raises(KeyError, match="no layer named 'top'"):
        net.recall(np.ones(16), layer="top")
    with pytest.raises(ValueError, match="NaN"):
        net.recall(np.full(16, np.nan))
    with pytest.raises(ValueError, match="target needs stored patterns"):
        net.recall(np.ones(4), layer=1, target=0)


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_layer_norm_on_runtime_targets_matches_reference(target):
    xi = hd.random_patterns(6, 24, seed=1)
    lag = hd.layer_norm(1.5, 0.1)
    net = hd.DenseAssociativeMemory(xi, "tanh", lag, tau_f=10 * ms, tau_h=3 * ms, dt=0.1 * ms,
                                    record_every=0.1 * ms, codegen_target=target)
    cue, known = hd.flip_cue(xi[0], 0.2, seed=0)
    res = net.recall(cue, known, duration=20 * ms)
    v, h = hd.euler_reference(xi, hd.tanh(), lag, 10 * ms, 3 * ms, cue, np.zeros(6), 0.1 * ms, 200)
    np.testing.assert_allclose(res.v, v[: len(res.v)], rtol=1e-9, atol=1e-12)
    assert _rises(res.energy) <= 1e-9


def _exact_layer_norm(x, eps):
    """Mean, variance and activation (gamma 1, delta 0) of one layer, in exact rational arithmetic."""
    fx = [Fraction(float(v)) for v in x]
    mean = sum(fx) / len(fx)
    var = sum((v - mean) ** 2 for v in fx) / len(fx)
    return mean, var, np.array([float(v - mean) / np.sqrt(float(var + Fraction(eps))) for v in fx])


@pytest.mark.parametrize("offset", [1e3, 1e4, 1e5])
@pytest.mark.parametrize("size", [12, 1000])
def test_layer_norm_variance_is_exact_far_from_zero(offset, size):
    """Two-pass (corrected) variance: equal to the exact one to 1e-9 for a layer at offset +- 0.01."""
    lag = hd.layer_norm(1.0, 0.0, eps=1e-5)
    x = offset + 0.01 * np.random.default_rng(size).normal(size=size)
    _, var, act = _exact_layer_norm(x, 1e-5)
    ns = lag._namespace(x)
    ours = ns["c2"][0] / size - (ns["c1"][0] / size) ** 2
    assert abs(Fraction(float(ours)) - var) / var < 1e-9
    np.testing.assert_allclose(lag.activation(x), act, rtol=0, atol=1e-9)


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_layer_norm_far_from_zero_on_brian2_matches_exact(target):
    """A layer norm layer at 1e4 +- 0.01 on Brian2: the run's states follow the exact-arithmetic activations.

    One Euler step of the feature layer (identity memories, no coupling in the first
    step's feature update from a zero memory state) moves ``v`` by ``dt/tau (-v + I)``
    only; the memory layer's input is ``xi g(v)``, so the recorded ``h`` after one step
    is ``dt/tau_h xi g(v0)`` with the exact layer-norm activation ``g``.
    """
    xi = hd.random_patterns(4, 16, seed=3)
    v0 = 1e4 + 0.01 * np.random.default_rng(0).normal(size=16)
    net = hd.DenseAssociativeMemory(xi, hd.layer_norm(1.0, 0.0, eps=1e-5), "identity", tau_f=10 * ms, tau_h=5 * ms,
                                    dt=0.1 * ms, record_every=0.1 * ms, codegen_target=target)
    res = net.recall(v0, duration=0.2 * ms)
    _, _, g = _exact_layer_norm(v0, 1e-5)
    np.testing.assert_allclose(res.h[1], 0.1 / 5 * xi @ g, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_layer_norm_on_cpp_standalone(tmp_path):
    xi = hd.random_patterns(6, 24, seed=1)
    lag = hd.layer_norm(1.5, 0.1)
    kw = dict(tau_f=10 * ms, tau_h=3 * ms, dt=0.1 * ms, record_every=None)
    cue, known = hd.flip_cue(xi[0], 0.2, seed=0)
    sa = hd.DenseAssociativeMemory(xi, "tanh", lag, codegen_target="cpp_standalone", standalone_dir=str(tmp_path),
                                   **kw).recall(cue, known, duration=20 * ms)
    v, h = hd.euler_reference(xi, hd.tanh(), lag, 10 * ms, 3 * ms, cue, np.zeros(6), 0.1 * ms, 200, record=False)
    np.testing.assert_allclose(sa.v_final, v, rtol=1e-9, atol=1e-12)


def test_layer_norm_lagrangian_closed_form():
    lag = hd.layer_norm(2.0, 0.3, eps=1e-5)
    x = np.random.default_rng(0).normal(size=(4, 9))
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(lag.activation(x), 2.0 * (x - mean) / np.sqrt(var + 1e-5) + 0.3, rtol=1e-9)
    np.testing.assert_allclose(lag.value(x), 2.0 * 9 * np.sqrt(var[:, 0] + 1e-5) + 0.3 * x.sum(-1), rtol=1e-12)
    lag.check_convex()
    assert np.all(np.isfinite(lag.activation(np.full((1, 5), 1e150))))  # constant layer: var 0, eps keeps it finite


def test_plot_summary_and_xarray_work_for_every_graph_network(tmp_path):
    """Issue 21 item 6: a hierarchy's and a general network's result plot (every layer, energy, overlaps or
    the cued layer's states), summarise and convert like the two-layer model's."""
    xi = hd.random_patterns(4, 16, seed=0)
    ham = hd.HierarchicalAssociativeMemory.two_layer(xi, "tanh", "log_sum_exp")
    cue, known = hd.flip_cue(xi[1], 0.3, seed=0)
    W = np.zeros((6, 6))
    W[0, 3] = W[3, 0] = 1.0
    gen = hd.GeneralAssociativeMemory(W, [(slice(0, 3), "tanh"), (slice(3, 6), "log_sum_exp")], 5 * ms)
    results = {"hierarchy": ham.recall(cue, known, duration=10 * ms),
               "hierarchy_batch": ham.recall(np.stack([cue, -cue]), duration=10 * ms),
               "general": gen.recall(np.array([1.0, -0.5, 0.2, 0, 0, 0]), duration=10 * ms)}
    for name, res in results.items():
        fig = res.plot(tmp_path / f"{name}.png", cue=1 if res.batched else 0)
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        titles = [ax.get_title() for ax in fig.axes]
        layer_names = [la.name for la in (gen if name == "general" else ham).layers]
        assert all(any(n in t for t in titles) for n in layer_names), titles  # one image per layer
        assert any(ax.get_ylabel() == "energy E" for ax in fig.axes)
        assert isinstance(res.summary(), str)
        ds = res.to_xarray()
        assert "energy" in ds
    overlap_axis = [ax for ax in results["general"].plot().axes if "cued layer" in ax.get_ylabel()]
    assert len(overlap_axis) == 1 and len(overlap_axis[0].lines) >= 3  # no patterns: the states themselves


# -- the component model -------------------------------------------------------------------------------


def test_no_escape_hatch_in_circuits_or_experiments():
    """Circuits are components: nothing passes extra Brian2 objects, flows or others to the graph."""
    import re

    from pathlib import Path

    root = Path(hd.__file__).parent
    for sub in ("circuits", "experiments", "networks"):
        for path in (root / sub).glob("*.py"):
            text = path.read_text()
            assert not re.search(r"\b(extras|flows|others)=\[", text), path  # keyword arguments to the graph
            assert ".extras" not in text, path
    import inspect

    assert list(inspect.signature(hd.EnergyGraph).parameters) == ["components", "energy", "energy_name",
                                                                           "recorded"]


def test_energy_graph_checks_its_components():
    a = hd.Population("A", 3, "identity", 10 * ms)
    b = hd.Population("B", 2, "identity", 10 * ms)
    with pytest.raises(ValueError, match="unique; repeated: \\['A'\\]"):
        hd.EnergyGraph([a, hd.Population("A", 3, "identity", 10 * ms)])
    with pytest.raises(TypeError, match="needs a name, a build\\(dt\\) method and a stage"):
        hd.EnergyGraph([a, object()])
    relay = hd.Population("R", 2, "identity", 10 * ms, energy_term=False)
    with pytest.raises(ValueError, match="coupling 'c' joins 'R', which is not an energy population"):
        hd.EnergyGraph([a, relay, hd.SymmetricProjection(a, relay, np.ones((2, 3)), name="c")])
    with pytest.raises(ValueError, match="energy must be one of"):
        hd.EnergyGraph([a], energy="sometimes")
    inhibited = hd.InhibitedPopulation("M", 2, hd.log_sum_exp(1.0), 10 * ms)
    hd.InterneuronPool("pool", inhibited, 3, 2 * ms)
    with pytest.raises(ValueError, match="'M': its activation is not its Lagrangian's gradient.*energy='offline'"):
        hd.EnergyGraph([a, inhibited])
    with pytest.raises(ValueError, match="inhibition needs a softmax Lagrangian"):
        hd.InhibitedPopulation("M2", 2, "tanh", 10 * ms)
    with pytest.raises(TypeError, match="the target must be an InhibitedPopulation"):
        hd.InterneuronPool("pool2", b, 3, 2 * ms)
    graph = hd.EnergyGraph([a, b, hd.SymmetricProjection(a, b, np.ones((2, 3)), name="ab")])
    assert graph.lyapunov and graph["ab"].energy_role == "coupling"
    one_way = hd.EnergyGraph([a, b, hd.Projection(a, b, np.ones((2, 3)), name="ab")])
    assert not one_way.lyapunov and not one_way.couplings


def test_component_network_equals_the_layer_network_and_the_numpy_reference():
    """The same two-layer graph given as components and as layers/links: equal runs, equal to the reference."""
    rng = np.random.default_rng(5)
    W = rng.normal(0, 0.3, (4, 6))
    cue = rng.normal(0, 1, 6)

    def make(batch):
        f = hd.Population("f", 6, "tanh", 10 * ms, "x", "a", batch=batch, clampable=True)
        m = hd.Population("m", 4, hd.log_sum_exp(2.0), 5 * ms, "x", "a", batch=batch)
        return [hd.DenseSymmetricProjection(f, m, W, name="W_f_m"), m, f]  # any order

    layers = [hd.Layer(6, "tanh", 10 * ms, "f"), hd.Layer(4, hd.log_sum_exp(2.0), 5 * ms, "m")]
    by_layers = hd.GraphMemory(layers, [(0, 1, W)], record_every=0.1 * ms)
    by_components = hd.GraphMemory.from_components(make, record_every=0.1 * ms)
    r1 = by_layers.recall(cue, duration=20 * ms)
    r2 = by_components.recall(cue, duration=20 * ms, layer="f")  # layers: the populations in list order
    np.testing.assert_array_equal(r1.v, r2.v)
    np.testing.assert_array_equal(r1.energy, r2.energy)
    ref = hd.graph_reference([lay.lagrangian for lay in by_layers.layers], [10 * ms, 5 * ms], [(0, 1, W)],
                             [cue, np.zeros(4)], 0.1 * ms, 200, record=False)
    np.testing.assert_allclose(r2.v_final, ref[0], atol=1e-12)
    assert np.all(np.diff(r2.energy) <= 1e-12)


def test_plastic_projection_learns_inside_the_run_as_the_numpy_reference():
    """dW/dt = eta f (g - W) - lambda W, with the two-layer dynamics, in Brian2 and in a plain numpy Euler loop."""
    rng = np.random.default_rng(7)
    N, K, dt, steps = 8, 3, 0.1e-3, 300
    W0 = rng.normal(0, 0.2, (K, N))
    cue = np.sign(rng.normal(0, 1, (2, N)))  # a batch of two: each copy learns on its own cue
    eta, lam, beta = 40.0, 2.0, 2.0

    def make(batch):
        f = hd.Population("f", N, "tanh", 10 * ms, "x", "a", batch=batch, clampable=True)
        m = hd.Population("m", K, hd.log_sum_exp(beta), 5 * ms, "x", "a", batch=batch)
        return [f, m, hd.PlasticProjection(f, m, W0, learning_rate=eta * hd_Hz, forgetting_rate=lam * hd_Hz,
                                           name="learn")]

    from brian2 import Hz as hd_Hz

    net = hd.GraphMemory.from_components(make, record_every=None)
    result = net.recall(cue, duration=steps * dt * 1e3 * ms, clamp=True)
    learned = net.graph["learn"].learned_weights()
    # numpy reference: the same explicit Euler step, every quantity from the step's states
    v, h, W = cue.astype(float), np.zeros((2, K)), np.broadcast_to(W0, (2, K, N)).copy()
    for _ in range(steps):
        g = np.tanh(v)
        z = np.exp(beta * (h - h.max(axis=1, keepdims=True)))
        f = z / z.sum(axis=1, keepdims=True)
        h_new = h + dt / 5e-3 * (np.einsum("bkn,bn->bk", W, g) - h)
        W = W + dt * (eta * f[:, :, None] * (g[:, None, :] - W) - lam * W)
        h = h_new  # v is clamped
    np.testing.assert_allclose(learned, W, atol=1e-12)
    np.testing.assert_allclose(result.extra["m"]["final"], h, atol=1e-12)
    assert np.abs(learned - W0).max() > 0.1  # it did learn: the winner moved toward its cue
    winner = np.argmax(h, axis=1)
    for b in range(2):
        before = np.linalg.norm(W0[winner[b]] - np.tanh(cue[b]))
        assert np.linalg.norm(learned[b, winner[b]] - np.tanh(cue[b])) < before
    assert not net._energy_is_lyapunov  # moving weights: no rise check
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        f = hd.Population("f", N, "tanh", 10 * ms)
        hd.PlasticProjection(f, hd.Population("m", K, "identity", 10 * ms), W0, learning_rate=-1 * hd_Hz)
    with pytest.raises(TypeError, match="learning_rate of p needs rate units"):
        hd.PlasticProjection(f, hd.Population("m2", K, "identity", 10 * ms), W0, learning_rate=1.0, name="p")


def test_showing_a_network_leaves_no_brian2_deletion_warnings(caplog):
    """print(net) and equations() build a network they never run: discarding it is silent."""
    import gc
    import logging

    net = hd.model_b(hd.random_patterns(4, 16, seed=0))
    with caplog.at_level(logging.WARNING, logger="brian2"):
        net.equations()
        str(net)
        net.equations(batch=2)
        net.recall(hd.random_patterns(1, 16, seed=1)[0], duration=2 * ms)
        str(net)
        gc.collect()
    assert not [r for r in caplog.records if "getting deleted" in r.getMessage()]


def test_hierarchy_on_a_kept_cpp_project_equals_the_runtime_run(tmp_path, monkeypatch):
    """A hierarchy given as layers and links runs as one C++ standalone project: clamped recalls equal the
    runtime Cython run (every layer, the energy); a second recall reruns the binary; a new network of the
    same structure, with other weights and Lagrangian parameters, uses the same kept project with its own
    values (weights written by its build, parameters as run arguments, the energy's copies included)."""
    monkeypatch.setenv("HIPPO_DAM_STANDALONE_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)

    def make(beta, scale, **kw):
        layers = [hd.Layer(24, "tanh", 20 * ms, "pixels"), hd.Layer(12, "layer_norm", 5 * ms, "parts"),
                  hd.Layer(6, {"name": "log_sum_exp", "beta": beta}, 2 * ms, "labels")]
        r = np.random.default_rng(int(scale * 10))
        return hd.HierarchicalAssociativeMemory(layers, [r.normal(size=(12, 24)) * scale, r.normal(size=(6, 12))],
                                                record_every=0.5 * ms, **kw)

    cue = np.sign(rng.normal(size=24))
    known = np.arange(24) < 12
    for beta, scale in ((2.0, 0.2), (0.5, 0.3)):
        sa = make(beta, scale, codegen_target="cpp_standalone")
        for c in (cue, -cue):
            got = sa.recall(c, known, layer="pixels", clamp=True, duration=5 * ms)
            ref = make(beta, scale).recall(c, known, layer="pixels", clamp=True, duration=5 * ms)
            for name in ("pixels", "parts", "labels"):
                np.testing.assert_allclose(got.extra[name]["final"], ref.extra[name]["final"], rtol=0, atol=1e-12)
                np.testing.assert_allclose(got.extra[name]["trace"], ref.extra[name]["trace"], rtol=0, atol=1e-12)
            np.testing.assert_allclose(got.energy, ref.energy, rtol=0, atol=1e-10)
    assert len(os.listdir(tmp_path)) == 1  # one kept project for both networks


def test_standalone_graph_networks_refuse_what_they_cannot_run():
    W = np.zeros((3, 3))
    with pytest.raises(ValueError, match="cpp_standalone"):
        hd.GeneralAssociativeMemory(W, groups=[(slice(0, 3), "tanh")], tau=10 * ms, codegen_target="cuda_standalone")

    def make(batch):
        pop = hd.Population("cells", 3, "tanh", 10 * ms, "x", "a", batch=batch)
        return [pop]

    with pytest.raises(ValueError, match="layers and links"):
        hd.GraphMemory.from_components(make, codegen_target="cpp_standalone")
