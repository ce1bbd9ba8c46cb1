"""Effective (memory neurons integrated out) models: energies, updates, closed forms, overflow, batching."""
import numpy as np
import pytest

import hippo_dam as hd
from hippo_dam import effective as ef


def _pats(k, n, seed=0):
    return hd.random_patterns(k, n, seed=seed)


# -- classical binary Hopfield -----------------------------------------------------
def test_hopfield_weights_hand_case():
    xi = np.array([[1, -1, 1], [1, 1, -1]], float)
    T = ef.hopfield_weights(xi)
    assert np.array_equal(T, [[0, 0, 0], [0, 0, -2], [0, -2, 0]])
    assert np.array_equal(np.diag(ef.hopfield_weights(xi, zero_diagonal=False)), [2, 2, 2])
    # E = -1/2 s.T.s: for s = (1, 1, -1), s.T.s = 2 * (-2) * (1)(-1) = 4
    assert ef.hopfield_energy(T, [1, 1, -1]) == -2.0


def test_hopfield_async_energy_never_rises_and_patterns_are_fixed_points():
    xi = _pats(5, 200)
    T = ef.hopfield_weights(xi)
    s, sweeps, conv = ef.hopfield_async(T, xi, seed=1)
    assert np.array_equal(s, xi) and sweeps == 1 and conv.all()  # load 0.025: every pattern stable
    rng = np.random.default_rng(2)
    s0 = rng.choice([-1.0, 1.0], size=(7, 200))
    s, sweeps, conv, E = ef.hopfield_async(T, s0, seed=3, record_energy=True)
    assert conv.all() and np.all(np.diff(E, axis=0) <= 1e-9)
    assert np.array_equal(s, ef.hopfield_sync_step(T, s))  # fixed points of the rule


def test_hopfield_async_retrieves_from_flipped_cue():
    xi = _pats(10, 300)
    cue = xi[3].copy()
    cue[:45] *= -1
    s, _, conv = ef.hopfield_async(hd.hopfield_weights(xi), cue, seed=0)
    assert conv and np.array_equal(s, xi[3])


def test_hopfield_sync_two_cycle_and_lyapunov():
    # Known property: synchronous dynamics end in a fixed point or a 2-cycle, and
    # L(t) = -s(t).T.s(t-1) never rises (Goles et al. 1985). A two-neuron net
    # with T12 < 0 started at (1, 1) oscillates: (1,1) -> (-1,-1) -> (1,1).
    T = np.array([[0.0, -1.0], [-1.0, 0.0]])
    s1 = ef.hopfield_sync_step(T, [1.0, 1.0])
    assert np.array_equal(s1, [-1, -1]) and np.array_equal(ef.hopfield_sync_step(T, s1), [1, 1])
    rng = np.random.default_rng(0)
    xi = _pats(30, 100, seed=5)
    T = ef.hopfield_weights(xi)
    s = rng.choice([-1.0, 1.0], size=(20, 100))
    states = [s]
    for _ in range(60):
        states.append(ef.hopfield_sync_step(T, states[-1]))
    L = np.array([ef.hopfield_sync_lyapunov(T, a, b) for a, b in zip(states[:-1], states[1:])])
    assert np.all(np.diff(L, axis=0) <= 1e-9)
    assert np.array_equal(states[-1], states[-3])  # period <= 2 after the transient


# -- graded response (Hopfield 1984) --------------------------------------------
@pytest.mark.parametrize("lag", ["tanh", "sigmoid", "identity"])
def test_graded_response_energy_never_rises(lag):
    rng = np.random.default_rng(1)
    xi = _pats(4, 40)
    T = ef.hopfield_weights(xi) / 40 * (0.5 if lag == "identity" else 1.0)  # identity: keep it stable
    v0 = rng.normal(size=(5, 40))
    I = 0.1 * rng.normal(size=40)
    v = ef.graded_response_euler(T, v0, lag, tau=10.0, dt=0.05, n_steps=2000, I=I)
    assert v.shape == (2001, 5, 40)
    E = ef.graded_response_energy(T, v, lag, I=I)
    assert np.all(np.diff(E, axis=0) <= 1e-10 * np.maximum(1, np.abs(E[:-1])))


def test_graded_response_equals_hopfield_1984_energy_form():
    # -1/2 g.T.g + sum int_0^g artanh(x) dx, with int_0^g artanh = g artanh g + log(1 - g^2)/2
    rng = np.random.default_rng(0)
    T = ef.hopfield_weights(_pats(3, 10)) / 10
    v = rng.normal(size=(4, 10))
    g = np.tanh(v)
    direct = -0.5 * np.einsum("bi,ij,bj->b", g, T, g) + np.sum(g * np.arctanh(g) + 0.5 * np.log(1 - g**2), axis=-1)
    assert np.allclose(ef.graded_response_energy(T, v, "tanh"), direct)


def test_graded_response_bad_input():
    with pytest.raises(ValueError, match="symmetric"):
        ef.graded_response_euler(np.array([[0, 1], [0, 0.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        ef.graded_response_euler(np.zeros((2, 2)), [np.nan, 0])
    with pytest.raises(ValueError, match="additive"):
        ef.graded_response_euler(np.zeros((2, 2)), np.ones(2), "log_sum_exp")


# -- binary Dense Associative Memory -------------------------------------------
@pytest.mark.parametrize("interaction,degree,beta", [("power", 2, 1), ("power", 3, 1), ("power", 4, 1),
                                                     ("rectified_power", 3, 1), ("exp", 2, 1.0),
                                                     ("exp", 2, 50.0)])
def test_dam_async_energy_never_rises(interaction, degree, beta):
    xi = _pats(40, 60, seed=2)
    s0 = np.random.default_rng(4).choice([-1.0, 1.0], size=(6, 60))
    s, sweeps, conv, E = ef.dam_async(xi, s0, interaction, degree, beta, seed=5, record_energy=True)
    assert conv.all() and np.all(np.isfinite(E))
    # E for polynomials; log(-E), which rises when E falls, for exp
    step = -np.diff(E, axis=0) if interaction == "exp" else np.diff(E, axis=0)
    assert np.all(step <= 1e-9 * np.maximum(1, np.abs(E[:-1])))
    margins = ef.dam_flip_margins(xi, s, interaction, degree, beta)
    assert np.all(margins * s >= 0)  # a fixed point: no bit wants to flip


def test_dam_hand_case_and_classical_limit():
    xi = np.array([[1, 1, 1, 1], [1, -1, 1, -1]], float)
    s = np.array([1, 1, 1, -1.0])
    # overlaps (2, 2): E = -(2^3 + 2^3) = -16 for F = x^3
    assert ef.dam_energy(xi, s, "power", 3) == -16
    assert ef.dam_energy(xi, s, "rectified_power", 3) == -16
    assert ef.dam_energy(xi, -s, "rectified_power", 3) == 0
    # margin of bit 3 (s=-1): A = (3, 3)... A_mu = xi_mu.s - xi_mu,3 s_3 = (3, 1);
    # F(xi_mu,3 + A) - F(-xi_mu,3 + A) = (4^3 - 2^3) + (0 - 2^3) = 48 > 0: flips to +1
    assert ef.dam_flip_margins(xi, s, "power", 3)[3] == 48
    # F = x^2 is the classical net with zero diagonal: margins are 4 (T s)_i
    xi = _pats(20, 80, seed=3)
    s = np.random.default_rng(0).choice([-1.0, 1.0], size=(3, 80))
    assert np.allclose(ef.dam_flip_margins(xi, s, "power", 2), 4 * s @ ef.hopfield_weights(xi))
    assert np.allclose(ef.dam_energy(xi, s, "power", 2), 2 * ef.hopfield_energy(ef.hopfield_weights(xi), s) - 20 * 80)


@pytest.mark.parametrize("interaction,degree", [("power", 2), ("power", 3), ("power", 4), ("exp", 0)])
def test_stability_margins_match_flip_margins(interaction, degree):
    xi = _pats(50, 40, seed=7)
    probe = np.array([0, 3, 49])
    D = ef.dam_stability_margins(xi, probe, interaction, degree, chunk_elements=3000)
    direct = ef.dam_flip_margins(xi, xi[probe], interaction, degree) * xi[probe]
    assert np.allclose(D, direct)


def test_dam_stored_patterns_fixed_at_low_load_and_retrieved():
    xi = _pats(30, 100, seed=8)  # load well below N^2/(6 ln N) ~ 360 for n = 3
    assert np.all(ef.dam_stability_margins(xi, np.arange(30), "power", 3) > 0)
    cue = xi[:5].copy()
    cue[:, :30] *= -1
    s, _, conv = ef.dam_async(xi, cue, "power", 3, seed=0)
    assert conv.all() and np.array_equal(s, xi[:5])


def test_dam_exp_overflow_safe():
    xi = _pats(300, 200, seed=9)
    cue = xi[:4].copy()
    cue[:, :70] *= -1
    s, _, conv, E = ef.dam_async(xi, cue, "exp", beta=20.0, seed=0, record_energy=True)
    assert np.array_equal(s, xi[:4]) and np.all(np.isfinite(E))
    assert np.all(np.isfinite(ef.dam_log_abs_energy(xi, s, beta=20.0)))
    D = ef.dam_stability_margins(xi, np.arange(5), "exp", beta=20.0)
    assert np.all(np.isfinite(D)) and np.all(D > 0)
    assert np.isinf(ef.dam_energy(xi, s[0], "exp", beta=20.0))  # the plain energy does overflow, as documented
    u = ef.spherical_update(xi, cue[0], "exp", beta=200.0)
    assert np.all(np.isfinite(u))


def test_dam_batched_equals_looped():
    xi = _pats(25, 50, seed=10)
    s0 = np.random.default_rng(1).choice([-1.0, 1.0], size=(2, 3, 50))
    batched = ef.dam_async(xi, s0, "power", 3, seed=4)[0]
    looped = np.stack([[ef.dam_async(xi, s0[a, b], "power", 3, seed=4)[0] for b in range(3)] for a in range(2)])
    assert np.array_equal(batched, looped)
    T = ef.hopfield_weights(xi)
    assert np.array_equal(ef.hopfield_async(T, s0, seed=2)[0],
                          np.stack([[ef.hopfield_async(T, s0[a, b], seed=2)[0] for b in range(3)] for a in range(2)]))


def test_dam_bad_input():
    xi = _pats(3, 5)
    with pytest.raises(ValueError, match=r"\+1 and -1"):
        ef.dam_async(xi, np.zeros(5))
    with pytest.raises(ValueError, match="length N = 5"):
        ef.dam_energy(xi, np.ones(4))
    with pytest.raises(ValueError, match="integer >= 2"):
        ef.make_interaction("power", degree=2.5)
    with pytest.raises(ValueError, match="additive"):
        ef.Interaction(hd.log_sum_exp(1.0))
    with pytest.raises(ValueError, match="not convex"):
        hd.power(3).check_convex()


# -- modern Hopfield and spherical ------------------------------------------------
def test_modern_hopfield_energy_never_rises_and_retrieves():
    xi = _pats(50, 64, seed=11)
    rng = np.random.default_rng(0)
    v = xi[:8] + 0.8 * rng.normal(size=(8, 64))
    E = [ef.modern_hopfield_energy(xi, v, beta=0.5)]
    for _ in range(5):
        v = ef.modern_hopfield_update(xi, v, beta=0.5)
        E.append(ef.modern_hopfield_energy(xi, v, beta=0.5))
    assert np.all(np.diff(E, axis=0) <= 1e-9)
    assert np.allclose(v, xi[:8], atol=1e-6)  # separated patterns: one step retrieves them
    assert np.all(ef.modern_hopfield_energy(xi, v, 0.5, constants=True) >= 0)


def test_modern_hopfield_closed_form_and_overflow():
    xi = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([1.0, 0.0])
    # softmax(beta (1, 0)) = (e^b, 1)/(e^b + 1)
    b = 1.5
    p = np.exp(b) / (np.exp(b) + 1)
    assert np.allclose(ef.modern_hopfield_update(xi, v, b), [p, 1 - p])
    assert np.isclose(ef.modern_hopfield_energy(xi, v, b), 0.5 - np.log(np.exp(b) + 1) / b)
    big = _pats(10, 200)
    assert np.all(np.isfinite(ef.modern_hopfield_update(big, big[0], beta=1e3)))
    assert np.isfinite(ef.modern_hopfield_energy(big, big[0], beta=1e3))


def test_spherical_energy_never_rises_and_fixed_point():
    xi = _pats(30, 50, seed=12)
    rng = np.random.default_rng(1)
    v = xi[:6] + 1.5 * rng.normal(size=(6, 50))
    E = [ef.spherical_energy(xi, v)]
    for _ in range(10):
        v = ef.spherical_update(xi, v)
        E.append(ef.spherical_energy(xi, v))
    assert np.all(np.diff(E, axis=0) <= 1e-9 * np.abs(np.array(E[:-1])))
    u = ef.spherical_update(xi, xi[2], degree=4)
    cos = u @ xi[2] / np.linalg.norm(u) / np.sqrt(50)
    assert cos > 0.99  # a stored pattern is (nearly) a fixed direction at low load
    with pytest.raises(ValueError, match="v = 0"):
        ef.spherical_energy(xi, np.zeros(50))


# -- the general effective model -----------------------------------------------------
@pytest.mark.parametrize("lv,lh", [("identity", {"name": "log_sum_exp", "beta": 2.0}),
                                   ("euclidean_norm", {"name": "rectified_power", "degree": 3}),
                                   ("tanh", {"name": "rectified_power", "degree": 2})])
def test_effective_energy_is_two_layer_energy_at_slaved_h_and_never_rises(lv, lh):
    xi = _pats(12, 30, seed=13) / np.sqrt(30)
    lv_, lh_ = hd.make_lagrangian(lv), hd.make_lagrangian(lh)
    rng = np.random.default_rng(2)
    v0 = rng.normal(size=(4, 30))
    I = 0.1 * rng.normal(size=30)
    h = lv_.activation(v0) @ xi.T
    assert np.allclose(ef.effective_energy(xi, v0, lv_, lh_, I), hd.energy(v0, h, xi, lv_, lh_, I))
    v = ef.effective_euler(xi, lv_, lh_, 10.0, v0, 0.02, 2000, I=I)
    E = ef.effective_energy(xi, v, lv_, lh_, I)
    assert np.all(np.diff(E, axis=0) <= 1e-9 * np.maximum(1, np.abs(E[:-1])))


def test_effective_model_b_fixed_point_is_attention():
    xi = _pats(6, 20, seed=14)
    v = ef.effective_euler(xi, "identity", {"name": "log_sum_exp", "beta": 0.5}, 1.0, xi[1] * 0.7, 0.05, 600,
                           record=False)
    assert np.allclose(v, ef.modern_hopfield_update(xi, v, 0.5), atol=1e-8)
    assert np.allclose(ef.effective_energy(xi, v, "identity", {"name": "log_sum_exp", "beta": 0.5}),
                       ef.modern_hopfield_energy(xi, v, 0.5))
