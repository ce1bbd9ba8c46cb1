import os
import warnings

import numpy as np
import pytest

import hippo_dam as hd

# Additive and non-additive Lagrangians shipped by the package, with parameters
# used in the tests.
SHIPPED = {
    "identity": hd.identity(),
    "tanh": hd.tanh(),
    "sigmoid": hd.sigmoid(),
    "sign": hd.sign(),
    "rectified_power2": hd.rectified_power(2),
    "rectified_power3": hd.rectified_power(3),
    "rectified_power4": hd.rectified_power(4),
    "exponential": hd.exponential(0.5),
    "log_sum_exp": hd.log_sum_exp(2.0),
    "euclidean_norm": hd.euclidean_norm(),
    "layer_norm": hd.layer_norm(1.5, 0.1),
}

# Linear features with super-linear memories: the energy is unbounded below
# and states run away (a property of the model, not of the integrator).
UNBOUNDED = {("identity", "rectified_power3"), ("identity", "rectified_power4"), ("identity", "exponential")}

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# No shipped model, circuit or notebook may see its energy rise (issue 21): an EnergyRiseWarning fails
# the test, here and (through the environment) in the notebooks' kernels and the sweeps' workers.
# (by its message: -W cannot name a category of a package not yet importable at interpreter start-up)
RISE_AS_ERROR = "error:the energy rose:RuntimeWarning"
os.environ["PYTHONWARNINGS"] = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), RISE_AS_ERROR) if w)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("error", hd.EnergyRiseWarning)  # a RuntimeWarning, but not to be ignored
        yield
