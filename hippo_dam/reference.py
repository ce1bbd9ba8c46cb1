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

__all__ = ["euler_reference", "ca3_reference", "ec_ca1_reference"]


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


def _seconds(q):
    return np.asarray(q / second if hasattr(q, "dim") else q, dtype=float)


def ca3_reference(xi, feature_lagrangian, beta, tau_f, tau_h, tau_i, v0, h0, y0, dt, n_steps, I=0.0):
    """Explicit Euler of the CA3 circuit with dynamic interneurons (numpy, test reference)::

        f = exp(beta (h - y))
        v += dt/tau_f (xi^T f - v + I);  h += dt/tau_h (xi g(v) - h);  y += dt/tau_i log(sum f)/beta

    Returns the recorded ``v, h, y`` (``n_steps + 1`` rows each; ``y`` one value per step).
    """
    af, ah, ai = _seconds(dt) / _seconds(tau_f), _seconds(dt) / _seconds(tau_h), _seconds(dt) / _seconds(tau_i)
    xi = np.asarray(xi, float)
    v, h, y = np.array(v0, float), np.array(h0, float), float(y0)
    vs, hs, ys = [v], [h], [y]
    for _ in range(int(n_steps)):
        g = feature_lagrangian.activation(v)
        f = np.exp(beta * (h - y))
        v, h, y = v + af * (f @ xi - v + I), h + ah * (g @ xi.T - h), y + ai * np.log(f.sum()) / beta
        vs.append(v), hs.append(h), ys.append(y)
    return np.stack(vs), np.stack(hs), np.array(ys)


def ec_ca1_reference(xi, feature_lagrangian, memory_lagrangian, tau_f, tau_h, tau_v, v0, h0, dt, n_steps,
                     relay_gain=1.0, direct_fraction=0.0, relay_weights=None, z0=None, I=0.0):
    """Explicit Euler of the EC-CA1 loop (numpy, test reference)::

        v += dt/tau_f ((1-p) a z + p xi^T f - v + I)        EC-III
        h += dt/tau_h (xi g - h)                            CA1
        z += dt/tau_v (R f - z)    (z = R f of the same step when tau_v = 0)   EC-V

    Returns the recorded ``v, h, z``.
    """
    xi = np.asarray(xi, float)
    R = xi.T if relay_weights is None else np.asarray(relay_weights, float)
    p, a = float(direct_fraction), float(relay_gain)
    af, ah = _seconds(dt) / _seconds(tau_f), _seconds(dt) / _seconds(tau_h)
    instant = float(_seconds(tau_v)) == 0
    av = None if instant else _seconds(dt) / _seconds(tau_v)
    v, h = np.array(v0, float), np.array(h0, float)
    z = np.zeros(xi.shape[1]) if z0 is None else np.array(z0, float)
    vs, hs, zs = [v], [h], [z]
    for _ in range(int(n_steps)):
        g, f = feature_lagrangian.activation(v), memory_lagrangian.activation(h)
        if instant:
            z = R @ f
        v_new = v + af * ((1 - p) * a * z + p * (f @ xi) - v + I)
        h = h + ah * (g @ xi.T - h)
        if not instant:
            z = z + av * (R @ f - z)
        v = v_new
        vs.append(v), hs.append(h), zs.append(z)
    return np.stack(vs), np.stack(hs), np.stack(zs)
