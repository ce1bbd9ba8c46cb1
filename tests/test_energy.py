"""The energy never rises along a trajectory (numpy reference, seeded sweeps)."""
import itertools

import numpy as np
import pytest

import hippo_dam as hd
from conftest import SHIPPED, UNBOUNDED

FEATURES = ["identity", "tanh", "sigmoid", "sign", "euclidean_norm", "log_sum_exp"]
MEMORIES = sorted(SHIPPED)


@pytest.mark.parametrize("feat,mem", list(itertools.product(FEATURES, MEMORIES)))
def test_energy_never_rises_on_random_networks(feat, mem):
    """dE/dt <= 0: on 10 random networks per pair, every Euler step lowers E."""
    lv, lh = SHIPPED[feat], SHIPPED[mem]
    unbounded = (feat, mem) in UNBOUNDED
    n_steps, scale = (100, 0.3) if unbounded else (1500, 1.0)  # short: finite-time blow-up
    for seed in range(10):
        rng = np.random.default_rng(seed)
        nf, nh = rng.integers(5, 40), rng.integers(2, 20)
        xi = rng.normal(size=(nh, nf)) / np.sqrt(nf)
        tau_f, tau_h = rng.uniform(5, 30), rng.uniform(0.5, 30)
        dt = min(tau_f, tau_h) / 200
        v0, h0, I = scale * rng.normal(size=nf), scale * rng.normal(size=nh), 0.5 * rng.normal(size=nf)
        v, h = hd.euler_reference(xi, lv, lh, tau_f, tau_h, v0, h0, dt, n_steps, I=I)
        E = hd.energy(v, h, xi, lv, lh, I)
        assert np.all(np.isfinite(E)), (feat, mem, seed)
        rise = np.diff(E) / np.maximum(np.abs(E[:-1]), 1.0)
        assert rise.max() <= 1e-9, (feat, mem, seed, rise.max())
        assert E[-1] < E[0]


def test_energy_closed_form_effective_limit():
    """At the memory fixed point h = xi g, model B's energy is the modern Hopfield energy."""
    rng = np.random.default_rng(0)
    xi = rng.choice([-1.0, 1.0], size=(10, 30))
    v = rng.normal(size=30)
    beta = 0.7
    h = xi @ v
    E = hd.energy(v, h, xi, hd.identity(), hd.log_sum_exp(beta))
    expected = 0.5 * v @ v - np.log(np.sum(np.exp(beta * h))) / beta
    np.testing.assert_allclose(E, expected, rtol=1e-12)


def test_energy_model_a_effective_limit():
    """Model A at h = xi sign(v): E = -sum_mu F(xi_mu . sigma) (binary DAM)."""
    rng = np.random.default_rng(1)
    xi = rng.choice([-1.0, 1.0], size=(8, 20))
    v = rng.normal(size=20)
    s = np.sign(v)
    E = hd.energy(v, xi @ s, xi, hd.sign(), hd.rectified_power(3))
    np.testing.assert_allclose(E, -np.sum(np.clip(xi @ s, 0, None) ** 3), rtol=1e-12)
