"""A plain numpy Euler integrator of the two-layer dynamics: the test reference.

It shares nothing with the Brian2 path except the Lagrangians' definitions::

    v[t+1] = v[t] + (dt/tau_f) (xi^T f(h[t]) - v[t] + I)
    h[t+1] = h[t] + (dt/tau_h) (xi g(v[t]) - h[t])

It is also the baseline the Brian2 path is benchmarked against (two BLAS
matrix-vector products per step).
"""
from __future__ import annotations

import numpy as np
from brian2 import second

__all__ = ["euler_reference"]


def euler_reference(xi, feature_lagrangian, memory_lagrangian, tau_f, tau_h, v0, h0, dt, n_steps,
                    I=0.0, record=True, dtype=np.float64):
    """Integrate the network with explicit Euler steps.

    Parameters
    ----------
    xi : array (N_h, N_f)
    feature_lagrangian, memory_lagrangian : Lagrangian
    tau_f, tau_h, dt : Quantity (time) or float seconds
        Scalars or one value per neuron.
    v0 : array (..., N_f), h0 : array (..., N_h)
        Initial states; leading axes are a batch of independent runs.
    n_steps : int
    I : float or array
        Feature input current.
    record : bool
        Return every step (``(n_steps + 1, ..., N)``) or the final state only.

    Returns
    -------
    v, h : arrays
    """
    to_s = lambda q: np.asarray(q / second if hasattr(q, "dim") else q, dtype=float)  # noqa: E731
    af, ah = to_s(dt) / to_s(tau_f), to_s(dt) / to_s(tau_h)
    xi = np.asarray(xi, dtype=dtype)
    v, h = np.array(v0, dtype=dtype), np.array(h0, dtype=dtype)
    I = np.asarray(I, dtype=dtype)
    vs, hs = ([v], [h]) if record else (None, None)
    for _ in range(int(n_steps)):
        g = feature_lagrangian.activation(v).astype(dtype, copy=False)
        f = memory_lagrangian.activation(h).astype(dtype, copy=False)
        v, h = v + af * (f @ xi - v + I), h + ah * (g @ xi.T - h)
        if record:
            vs.append(v)
            hs.append(h)
    if record:
        return np.stack(vs), np.stack(hs)
    return v, h
