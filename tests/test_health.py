"""A run that goes wrong says so (issue 21): energy rises warn, runaways stop, convexity is checked exactly."""
import warnings

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd
from hippo_dam.core.health import DIVERGENCE_FACTOR, check_run

# l'' = 1 on |x| < 8 and -1 beyond: convex on the constructor's check grid [-6, 6], concave outside it.
KINKED = hd.Lagrangian("kinked", "x**2/2 - clip(abs(x) - 8, 0, inf)**2", "x - 2*sign(x)*clip(abs(x) - 8, 0, inf)")


def test_concave_far_from_zero_is_refused_by_its_exact_limit():
    """A smooth term concave for large |x| (l'' -> -inf) is refused whatever the sampled grid."""
    quartic = hd.Lagrangian("quartic", "x**2/2 - x**4/1000", "x - x**3/250")
    quartic.check_gradient()
    with pytest.raises(ValueError, match=r"not convex: d\^2L/dx\^2 -> -inf as x -> \+inf"):
        quartic.check_convex()
    with pytest.raises(ValueError, match="not convex"):
        hd.DenseAssociativeMemory(hd.random_patterns(4, 8, seed=0), quartic, "log_sum_exp")


def test_convexity_check_samples_the_span_it_is_given():
    KINKED.check_convex()  # [-6, 6]: convex there
    with pytest.raises(ValueError, match=r"d\^2L/dx\^2 = -1 < 0"):
        KINKED.check_convex(span=(-20, 20))
    with pytest.raises(ValueError, match="span"):
        KINKED.check_convex(span=(3, -3))


@pytest.mark.parametrize("name", ["identity", "tanh", "sigmoid", "sign", "exponential", "rectified_power"])
def test_shipped_additive_lagrangians_pass_the_exact_check_far_out(name):
    hd.make_lagrangian(name).check_convex(span=(-1e3, 1e3))


def test_energy_rise_warns_naming_the_population_and_when():
    """The constructor's grid misses the concave region; the run reaches it, the energy climbs, and says why."""
    xi = hd.random_patterns(8, 64, seed=0)
    net = hd.DenseAssociativeMemory(xi, KINKED, hd.log_sum_exp(1.0), tau_f=20 * ms, tau_h=5 * ms, dt=0.1 * ms,
                                    record_every=None)
    with pytest.warns(hd.EnergyRiseWarning,
                      match=r"energy rose by .* after t = .* ms.*population 'features': Lagrangian kinked\(\) is not "
                            r"convex.*states this run reached, -12 to 12") as record:
        res = net.recall(12 * xi[0], duration=50 * ms)
    assert len([w for w in record if issubclass(w.category, hd.EnergyRiseWarning)]) == 1
    assert np.max(np.diff(res.energy)) > 1.0  # the rise is real, and the result is still returned


def test_energy_rise_with_convex_lagrangians_points_at_the_time_constants():
    """Convex Lagrangians, a softmax group with unequal tau (allowed with a warning): E rises, and the message
    says that no Lagrangian is to blame. dE/dt = -beta p1 p2 (d1/t1 - d2/t2)(d1 - d2) > 0 for d = I - x = (1, 0.9),
    t = (50, 1) ms (tests/test_graph.py shows it on the numpy reference)."""
    groups = [(slice(0, 2), {"name": "log_sum_exp", "beta": 1.0})]
    with pytest.warns(RuntimeWarning, match="energy can rise"):
        net = hd.GeneralAssociativeMemory(np.zeros((2, 2)), groups, np.array([50.0, 1.0]) * ms, dt=0.01 * ms,
                                          on_time_constants="warn", record_every=None)
    with pytest.warns(hd.EnergyRiseWarning, match="every Lagrangian is convex.*unequal time constants"):
        net.recall(np.array([1.0, 0.9]), cue_input=2.0, duration=2 * ms)  # x(0) = (1, 0.9), I = (2, 1.8)


def test_unbounded_energy_stops_with_an_error_that_keeps_the_result():
    """Linear layers coupled strongly: E has no lower bound; the run ends in an error, its record kept."""
    xi = 0.5 * hd.random_patterns(8, 64, seed=0)
    net = hd.DenseAssociativeMemory(xi, "identity", "identity", tau_f=20 * ms, tau_h=5 * ms, dt=0.1 * ms)
    with pytest.raises(hd.UnboundedEnergyError, match="population 'features'.*energy has no lower bound") as err:
        net.recall(np.sign(xi[0]), duration=100 * ms)
    assert isinstance(err.value, FloatingPointError)
    res = err.value.result
    assert res is not None and res.v.shape[0] == len(res.t) and np.max(np.abs(res.v_final)) > 1e8
    assert res.energy[-1] < -1e20


def test_unbounded_hierarchy_stops_too():
    layers = [hd.Layer(16, "identity", 10 * ms, "a"), hd.Layer(8, "identity", 5 * ms, "b")]
    W = 0.6 * np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 16))
    net = hd.HierarchicalAssociativeMemory(layers, [W], dt=0.1 * ms, record_every=None)
    with pytest.raises(hd.UnboundedEnergyError, match="energy has no lower bound"):
        net.recall(np.ones(16), duration=100 * ms)


def test_large_settled_state_is_not_a_runaway():
    """A state far above its initial scale whose energy has settled (model A with a steep F) passes."""
    E = -1e70 * (1 - np.exp(-np.arange(100) / 5.0)) - 1.0
    states = np.stack([np.ones(10), np.full(10, 1e69)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_run(np.arange(100) * 1e-4, E, [("features", hd.sign(), states, 1.0)])
    growing = -np.exp(np.arange(100) / 3.0)
    with pytest.raises(hd.UnboundedEnergyError):
        check_run(np.arange(100) * 1e-4, growing, [("features", hd.identity(), 4 * DIVERGENCE_FACTOR * states / 1e69,
                                                     1.0)])


def test_moving_input_is_not_checked_for_rises():
    E = np.array([0.0, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_run(np.arange(3) * 1e-4, E, [], constant_input=False)
    with pytest.warns(hd.EnergyRiseWarning):
        check_run(np.arange(3) * 1e-4, E, [])
