"""Lagrangians: activation = gradient of the value, convexity, overflow safety."""
import numpy as np
import pytest

import hippo_dam as hd
from conftest import SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_activation_is_gradient_of_value(name, rng):
    lag = SHIPPED[name]
    x = rng.normal(size=(4, 9)) * 2
    eps = 1e-6
    for b in range(len(x)):
        num = [(lag.value(x[b] + eps * e) - lag.value(x[b] - eps * e)) / (2 * eps) for e in np.eye(9)]
        np.testing.assert_allclose(lag.activation(x[b]), num, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_lagrangians_are_convex(name):
    SHIPPED[name].check_convex()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_batched_evaluation_matches_single(name, rng):
    lag = SHIPPED[name]
    x = rng.normal(size=(3, 5, 7))
    np.testing.assert_allclose(lag.activation(x)[1, 2], lag.activation(x[1, 2]))
    np.testing.assert_allclose(lag.value(x)[2, 4], lag.value(x[2, 4]))


def test_closed_forms():
    x = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(hd.tanh().value(x), np.sum(np.log(np.cosh(x))))
    np.testing.assert_allclose(hd.sigmoid().value(x), np.sum(np.log1p(np.exp(x))))
    np.testing.assert_allclose(hd.sigmoid().activation(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(hd.rectified_power(3).value(x), 0.5**3 + 3.0**3)
    np.testing.assert_allclose(hd.rectified_power(3).activation(x), [0, 3 * 0.25, 27])
    np.testing.assert_allclose(hd.log_sum_exp(2).value(x), np.log(np.sum(np.exp(2 * x))) / 2)
    np.testing.assert_allclose(hd.log_sum_exp(2).activation(x), np.exp(2 * x) / np.exp(2 * x).sum())
    np.testing.assert_allclose(hd.euclidean_norm().activation(x), x / np.linalg.norm(x))
    np.testing.assert_allclose(hd.sign().activation(x), np.sign(x))


def test_softmax_overflow_safe():
    lag = hd.log_sum_exp(1e4)
    x = np.array([1.0, -1.0, 0.999, -0.5])  # beta*|x| up to 1e4
    g = lag.activation(x)
    assert np.all(np.isfinite(g)) and np.isclose(g.sum(), 1.0)
    assert np.isclose(lag.value(x), 1.0 + np.log1p(np.exp(-10.0)) / 1e4)
    assert np.isfinite(lag.legendre(-x * 1e3))


def test_tanh_and_sigmoid_values_do_not_overflow():
    x = np.array([-1e4, 1e4])
    assert np.all(np.isfinite(hd.tanh().value(x)))
    assert np.all(np.isfinite(hd.sigmoid().value(x)))
    np.testing.assert_allclose(hd.sigmoid().activation(x), [0, 1])


def test_brian_expression_substitutes_state_and_parameters():
    lag = hd.log_sum_exp(3.0)
    assert lag.brian_expression(lag.activation_expr, "h") == "exp(beta*(h - m))/Z"
    assert lag.brian_expression(lag.reductions[1].expr, "h", "_pre", "_post") == "exp(beta_pre*(h_pre - m_post))"


def test_nonconvex_lagrangian_rejected():
    concave = hd.Lagrangian("concave", "-x**2/2", "-x")
    with pytest.raises(ValueError, match="not convex"):
        concave.check_convex()
    with pytest.raises(ValueError, match="not convex"):
        hd.DenseAssociativeMemory(np.ones((2, 4)), concave, "identity")


def test_unknown_lagrangian_and_bad_parameters():
    with pytest.raises(ValueError, match="Unknown Lagrangian 'softmaxx'"):
        hd.make_lagrangian("softmaxx")
    with pytest.raises(ValueError, match="bad parameters"):
        hd.make_lagrangian({"name": "log_sum_exp", "temperature": 2})
    with pytest.raises(ValueError, match="beta must be a positive"):
        hd.log_sum_exp(-1)
    with pytest.raises(ValueError, match="degree must be > 1"):
        hd.rectified_power(1)
    with pytest.raises(ValueError, match="unknown names"):
        hd.Lagrangian("typo", "x**2/2", "xx")


def test_check_convex_rejects_an_activation_that_is_not_the_gradient():
    """2 tanh(x) is monotone (a PSD 'Hessian') but not the gradient of log cosh x."""
    value = "abs(x) + log(1 + exp(-2*abs(x))) - log(2)"
    hd.Lagrangian("ok", value, "tanh(x)").check_convex()
    with pytest.raises(ValueError, match="not the gradient of its value"):
        hd.Lagrangian("mismatched", value, "2*tanh(x)").check_convex()
    with pytest.raises(ValueError, match="not the gradient of its value"):
        hd.DenseAssociativeMemory(hd.random_patterns(4, 8, seed=0), hd.Lagrangian("mismatched", value, "2*tanh(x)"))
    for name in ("power", "rectified_power", "exponential"):
        hd.make_lagrangian({"name": name, "degree": 4} if "power" in name else name).check_gradient()


@pytest.mark.parametrize("name", sorted(n for n, lag in SHIPPED.items() if lag.value_from_activation)
                         + ["power2", "power3"])
def test_value_from_activation_is_the_value(name, rng):
    """The online energy's cheaper form of l(x) (no second pow) equals value_expr, 0 and negative states included."""
    from hippo_dam.core.lagrangians import _eval, power

    lag = SHIPPED[name] if name in SHIPPED else power(int(name[-1]))
    x = np.concatenate([rng.normal(size=200) * 3, [0.0, -0.0, 1e-300, -2.5, 7.0]])
    ns = {"x": x, "act": lag.activation(x), **lag.params}
    np.testing.assert_allclose(_eval(lag.value_from_activation, ns), _eval(lag.value_expr, dict(ns)),
                               rtol=1e-13, atol=0)


def test_value_from_activation_is_refused_where_it_cannot_hold():
    with pytest.raises(ValueError, match="additive Lagrangians only"):
        hd.Lagrangian("bad", "m + log(Z)", "exp(x - m)/Z", {}, (hd.Reduction("m", "max", "x"),
                                                               hd.Reduction("Z", "sum", "exp(x - m)")),
                      value_from_activation="x*act")
    with pytest.raises(ValueError, match="unknown names"):
        hd.Lagrangian("bad", "x**2", "2*x", {}, value_from_activation="x*act/k")
