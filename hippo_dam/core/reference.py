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

__all__ = ["euler_reference", "ca3_reference", "ec_ca1_reference", "graph_reference", "graph_energy"]


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


def graph_reference(lagrangians, taus, links, x0, dt, n_steps, I=None, clamped=None, record=True):
    """Explicit Euler of any energy graph (numpy, test reference for the hierarchy and the general net)::

        a_A = dL_A/dx_A
        u_A = sum_{links (A, B, W)} W^T a_B  +  sum_{links (B, A, W)} W a_B  +  sum_{links (A, A, W)} W a_A
        x_A <- x_A + (dt / tau_A) (1 - c_A) (u_A - x_A + I_A)

    Parameters
    ----------
    lagrangians : list of Lagrangian
        One per population ``A``.
    taus : list of Quantity or float seconds
        Time constant of each population (scalar or one per neuron).
    links : list of (pre, post, W)
        ``W`` of shape ``(n_post, n_pre)``; ``pre == post`` is a recurrent
        (symmetric) block.
    x0 : list of arrays (..., n_A)
        Initial states (leading axes: a batch of independent runs).
    dt : Quantity or float seconds
    n_steps : int
    I, clamped : list of arrays, optional
        Input and clamp mask (1: state held) of each population.
    record : bool
        Return every step (list of ``(n_steps + 1, ..., n_A)``) or the final states.

    Returns
    -------
    list of arrays, one per population
    """
    n_pop = len(lagrangians)
    xs = [np.array(x, dtype=float) for x in x0]
    rates = [_seconds(dt) / _seconds(tau) for tau in taus]
    I = [0.0] * n_pop if I is None else [np.asarray(i, float) for i in I]
    free = [1.0] * n_pop if clamped is None else [1.0 - np.asarray(c, float) for c in clamped]
    links = [(a, b, np.asarray(W, float)) for a, b, W in links]
    traces = [[x] for x in xs] if record else None
    for _ in range(int(n_steps)):
        acts = [lag.activation(x) for lag, x in zip(lagrangians, xs)]
        u = [np.zeros_like(x) for x in xs]
        for a, b, W in links:
            u[b] = u[b] + acts[a] @ W.T
            if a != b:
                u[a] = u[a] + acts[b] @ W
        xs = [x + r * fr * (uu - x + ii) for x, r, fr, uu, ii in zip(xs, rates, free, u, I)]
        if record:
            for tr, x in zip(traces, xs):
                tr.append(x)
    return [np.stack(tr) for tr in traces] if record else xs


def graph_energy(lagrangians, links, xs, I=None):
    """Energy of an energy graph (numpy)::

        E = sum_A [ sum_i (x_A,i - I_A,i) a_A,i - L_A(x_A) ] - sum_{(A, B, W)} c a_B . W a_A

    with ``c = 1`` between two populations and ``c = 1/2`` for a recurrent
    block (``A = B``). ``xs``: one array (..., n_A) per population.
    """
    I = [0.0] * len(xs) if I is None else I
    acts = [lag.activation(x) for lag, x in zip(lagrangians, xs)]
    E = sum(lag.legendre(x, i) for lag, x, i in zip(lagrangians, xs, I))
    for a, b, W in links:
        term = np.einsum("...m,...m->...", acts[b], acts[a] @ np.asarray(W, float).T)
        E = E - (0.5 if a == b else 1.0) * term
    return E
