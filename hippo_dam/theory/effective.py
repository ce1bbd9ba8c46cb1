"""Effective feature-only models: the memory neurons integrated out (tau_h << tau_f).

When the memory neurons are much faster than the feature neurons, ``h`` is
slaved to the features, ``h = xi g(v)``, and the two-layer network
(Krotov & Hopfield 2021, eq. 1) reduces to one layer (their section 3)::

    tau_f dv/dt = xi^T f(xi g(v)) - v + I                                   (1)
    E_eff(v)    = [sum_i (v_i - I_i) g_i - L_v(v)] - L_h(xi g(v))           (2)

because at ``h = xi g`` the memory Legendre term and the coupling combine into
``h.f - L_h(h) - f.xi g = -L_h(h)``. Along (1),
``dE_eff/dt = -tau_f v'.Hess(L_v).v' <= 0``. This module implements (1)-(2)
(:func:`effective_euler`, :func:`effective_energy`) and the classical models it
contains, each with its energy and update rule:

==============================  ===========================================================
classical binary Hopfield       ``T = xi^T xi`` (zero diagonal), ``E = -1/2 s.T.s``,
                                ``s_i <- sign(T s)_i``
graded response (Hopfield 84)   ``tau dv/dt = T g(v) - v + I``
binary Dense Associative Mem.   ``E = -sum_mu F(xi_mu . s)``, ``F = x^n`` or ``exp``
modern Hopfield (attention)     ``v <- xi^T softmax(beta xi v)``,
                                ``E = v.v/2 - (1/beta) log sum exp(beta xi v)``
spherical memory (model C)      ``E = -sum_mu F(xi_mu . v/|v|)``
==============================  ===========================================================

All functions take a batch of states on leading axes (``(..., N)``) and are
vectorised with numpy. Exponentials go through the log-sum-exp Lagrangian
(max-shifted), so ``F = exp`` with ``beta N`` in the hundreds stays finite.
Every quantity is dimensionless except the time constants of the continuous
dynamics (brian2 time quantities or seconds).

Ties in the binary rules (a local field or energy difference of exactly 0)
keep the neuron's current value, so a binary state never acquires a 0.
"""
from __future__ import annotations

import numpy as np

from ..core.lagrangians import Lagrangian, exponential, log_sum_exp, make_lagrangian, power, rectified_power, tanh
from ..data.patterns import check_patterns

__all__ = [
    "Interaction",
    "make_interaction",
    "hopfield_weights",
    "hopfield_energy",
    "hopfield_sync_step",
    "hopfield_sync_lyapunov",
    "hopfield_async",
    "graded_response_energy",
    "graded_response_euler",
    "dam_energy",
    "dam_log_abs_energy",
    "dam_flip_margins",
    "dam_async",
    "dam_stability_margins",
    "modern_hopfield_energy",
    "modern_hopfield_update",
    "spherical_energy",
    "spherical_update",
    "effective_energy",
    "effective_euler",
]


# -- interaction functions F of the binary Dense Associative Memory ----------
class Interaction:
    """The interaction (separation) function ``F`` of a binary Dense Associative Memory.

    ``F`` is the one-neuron term of the memory Lagrangian, ``L_h(h) = sum_mu F(h_mu)``,
    so one definition in :mod:`hippo_dam.core.lagrangians` serves the network and
    its effective model.

    Parameters
    ----------
    lagrangian : Lagrangian
        Additive memory Lagrangian whose term is ``F`` (``power``,
        ``rectified_power``, ``exponential``, ``identity``...).

    Notes
    -----
    For ``exponential(beta)``, ``F(x) = exp(beta x)/beta`` and sums of ``F``
    are compared in the log domain, through ``(1/beta) log sum exp(beta x)``
    (the max-shifted :func:`~hippo_dam.core.lagrangians.log_sum_exp`), so no
    exponential is ever evaluated at a positive argument.
    """

    def __init__(self, lagrangian: Lagrangian):
        if not isinstance(lagrangian, Lagrangian):
            raise TypeError(f"an Interaction wraps a Lagrangian, got {type(lagrangian).__name__}")
        if not lagrangian.additive:
            raise ValueError(f"the interaction F must be additive (L_h = sum_mu F(h_mu)), got {lagrangian!r}")
        self.lagrangian = lagrangian
        self.log_domain = lagrangian.name == "exponential"
        self._lse = log_sum_exp(lagrangian.params["beta"]) if self.log_domain else None

    def __repr__(self):
        return f"Interaction({self.lagrangian!r})"

    @property
    def name(self):
        return self.lagrangian.name

    def total(self, x):
        """``sum_mu F(x_mu)`` over the last axis (may overflow to inf for ``exp``)."""
        if self.log_domain:
            beta = self.lagrangian.params["beta"]
            with np.errstate(over="ignore"):
                return np.exp(beta * self._lse.value(x)) / beta
        return self.lagrangian.value(x)

    def log_total(self, x):
        """``log sum_mu F(x_mu)`` over the last axis, finite for ``exp`` at any ``beta x``.

        Only defined when ``F > 0`` (``exp``); raises ``ValueError`` otherwise.
        """
        if not self.log_domain:
            raise ValueError(f"log_total needs a positive interaction (exponential), got {self.lagrangian!r}")
        beta = self.lagrangian.params["beta"]
        return beta * self._lse.value(x) - np.log(beta)

    def difference(self, a, b):
        """A number with the sign of ``sum_mu F(a_mu) - sum_mu F(b_mu)`` (last axis).

        Polynomials: the exact difference, summed term by term (no
        cancellation between two large sums). ``exp``: the difference of the
        two log-sum-exps times ``1/beta``, i.e. ``(1/beta) log(sum F(a) / sum F(b))``.
        """
        if self.log_domain:
            return self._lse.value(a) - self._lse.value(b)
        a, b = np.asarray(a, float), np.asarray(b, float)
        return np.sum(self.lagrangian.value(a[..., None]) - self.lagrangian.value(b[..., None]), axis=-1)


def make_interaction(spec="power", degree=2, beta=1.0) -> Interaction:
    """An :class:`Interaction` from a name, a Lagrangian or an Interaction.

    Parameters
    ----------
    spec : {'power', 'rectified_power', 'exp', 'exponential'} or Lagrangian or Interaction
        ``'power'`` is the plain ``F(x) = x^n`` of Krotov & Hopfield (2016) (their
        capacity formula is for it; for even ``n`` it equals ``|x|^n``),
        ``'rectified_power'`` is ``max(x, 0)^n``, ``'exp'`` is
        ``F(x) = exp(beta x)/beta`` (Demircigil et al. 2017, up to the factor
        ``1/beta`` which changes no update).
    degree : int
        ``n`` for the polynomials.
    beta : float
        Inverse temperature of ``exp``.
    """
    if isinstance(spec, Interaction):
        return spec
    if isinstance(spec, Lagrangian):
        return Interaction(spec)
    if spec == "power":
        return Interaction(power(degree))
    if spec == "rectified_power":
        return Interaction(rectified_power(degree))
    if spec in ("exp", "exponential"):
        return Interaction(exponential(beta))
    if isinstance(spec, (str, dict)):
        return Interaction(make_lagrangian(spec))
    raise TypeError(f"unknown interaction specification {spec!r}")


def _binary_states(s, n, name="state"):
    s = np.asarray(s, dtype=float)
    if s.shape[-1:] != (n,):
        raise ValueError(f"{name} must have last axis of length N = {n}, got shape {s.shape}")
    if not np.all((s == 1) | (s == -1)):
        raise ValueError(f"{name} must contain only +1 and -1 (binary neurons)")
    return s


def _states(v, n, name="state"):
    v = np.asarray(v, dtype=float)
    if v.shape[-1:] != (n,):
        raise ValueError(f"{name} must have last axis of length N = {n}, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf")
    return v


def _seconds(q, name):
    """A time in seconds from a Brian2 quantity or a float (seconds); Brian2 is imported only for a quantity."""
    if hasattr(q, "dim"):
        from brian2 import second  # the caller holds a quantity, so Brian2 is loaded already
        from brian2.units.fundamentalunits import DimensionMismatchError, have_same_dimensions

        if not have_same_dimensions(q, second):
            raise DimensionMismatchError(f"{name} must be a time, got {q}")
        val = float(q / second)
    else:
        val = float(q)
    if not np.isfinite(val) or val <= 0:
        raise ValueError(f"{name} must be a positive time, got {q}")
    return val


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# -- classical binary Hopfield ------------------------------------------------
def hopfield_weights(patterns, zero_diagonal=True):
    """Hebbian weights ``T = xi^T xi`` (N x N), unnormalised, zero diagonal by default.

    The diagonal ``T_ii = K`` is a constant self-coupling that only biases every
    neuron towards its current value; the classical network (Hopfield 1982,
    Amit et al. 1985) sets it to zero, and so do we unless asked otherwise.
    """
    xi = check_patterns(patterns)
    T = xi.T @ xi
    if zero_diagonal:
        np.fill_diagonal(T, 0.0)
    return T


def hopfield_energy(T, s, I=0.0):
    """``E = -1/2 s.T.s - I.s`` of binary states ``s`` (..., N)."""
    T = np.asarray(T, float)
    s = np.asarray(s, float)
    return -0.5 * np.einsum("...i,...i->...", s @ T, s) - np.sum(np.asarray(I, float) * s, axis=-1)


def _sign_keep(field, current):
    return np.where(field > 0, 1.0, np.where(field < 0, -1.0, current))


def hopfield_sync_step(T, s, I=0.0):
    """One synchronous update ``s_i <- sign(sum_j T_ij s_j + I_i)`` of every neuron (ties keep ``s_i``).

    Synchronous dynamics need not lower ``E``: it ends in a fixed point or a
    2-cycle (Goles et al. 1985), and what never rises is
    :func:`hopfield_sync_lyapunov`.
    """
    s = _binary_states(s, np.shape(T)[0])
    return _sign_keep(s @ np.asarray(T, float) + I, s)


def hopfield_sync_lyapunov(T, s_prev, s, I=0.0):
    """``L(t) = -s(t).T.s(t-1) - I.(s(t) + s(t-1))``, non-increasing under synchronous updates."""
    s_prev, s = np.asarray(s_prev, float), np.asarray(s, float)
    I = np.asarray(I, float)
    return -np.einsum("...i,...i->...", s @ np.asarray(T, float), s_prev) - np.sum(I * (s + s_prev), axis=-1)


def hopfield_async(T, s, I=0.0, max_sweeps=100, seed=None, record_energy=False):
    """Asynchronous updates ``s_i <- sign(sum_j T_ij s_j + I_i)`` until nothing changes.

    One sweep visits every neuron once, in a random order (one order per sweep,
    shared by the batch). With a symmetric ``T`` whose diagonal is >= 0 each
    single update lowers :func:`hopfield_energy` or leaves it unchanged.

    Parameters
    ----------
    T : array (N, N), symmetric
    s : array (..., N) of +-1
        Initial states; leading axes are independent runs.
    I : float or array (N,)
    max_sweeps : int
    seed : int or Generator
        Update order.
    record_energy : bool
        Also return the energy after every single-neuron update, shape (N*sweeps + 1, ...).

    Returns
    -------
    s : array (..., N)     final states
    sweeps : int           sweeps run
    converged : bool array (...)  whether each state is a fixed point
    energies : array, only if ``record_energy``
    """
    T = np.asarray(T, float)
    n = T.shape[0]
    if T.shape != (n, n) or not np.allclose(T, T.T):
        raise ValueError(f"T must be a symmetric square matrix, got shape {T.shape}")
    s0 = _binary_states(s, n)
    S = s0.reshape(-1, n).copy()
    I = np.broadcast_to(np.asarray(I, float), (n,))
    H = S @ T + I
    rng = _rng(seed)
    energies = [hopfield_energy(T, S, I)] if record_energy else None
    converged = np.zeros(len(S), bool)
    sweeps = 0
    for sweeps in range(1, int(max_sweeps) + 1):
        changed = np.zeros(len(S), bool)
        for i in rng.permutation(n):
            new = _sign_keep(H[:, i], S[:, i])
            delta = new - S[:, i]
            moved = delta != 0
            if moved.any():
                S[moved, i] = new[moved]
                H[moved] += delta[moved, None] * T[i]
                changed |= moved
            if record_energy:
                energies.append(hopfield_energy(T, S, I))
        if not changed.any():
            converged[:] = True
            break
    else:
        converged = np.all(_sign_keep(H, S) == S, axis=1)
    out = (S.reshape(s0.shape), sweeps, converged.reshape(s0.shape[:-1]))
    if record_energy:
        out += (np.stack(energies).reshape((-1,) + s0.shape[:-1]),)
    return out


# -- classical graded-response network (Hopfield 1984) -------------------------
def graded_response_energy(T, v, lagrangian=None, I=0.0):
    """Hopfield's (1984) energy of a graded-response network, written with the Lagrangian.

    ``E = -1/2 g.T.g - I.g + sum_i int_0^{g_i} g^{-1}(x) dx``, and
    ``int_0^{g} g^{-1} = v g - L(v) + L(0)`` for ``g = L'(v)``, so
    ``E = -1/2 g.T.g + sum_i [(v_i - I_i) g_i - l(v_i)]`` up to the constant
    ``N l(0)`` (dropped). This is model A's energy with ``L_h = h^2/2``
    (feature-only limit), and it never rises along :func:`graded_response_euler`
    for symmetric ``T``.
    """
    lag = make_lagrangian(lagrangian if lagrangian is not None else tanh())
    T = np.asarray(T, float)
    v = _states(v, T.shape[0], "v")
    g = lag.activation(v)
    return -0.5 * np.einsum("...i,...i->...", g @ T, g) + lag.legendre(v, I)


def graded_response_euler(T, v0, lagrangian=None, tau=1.0, dt=0.01, n_steps=1000, I=0.0, record=True):
    """Euler integration of ``tau dv/dt = T g(v) - v + I`` (Hopfield 1984), ``g = dL/dv``.

    Parameters
    ----------
    T : array (N, N), symmetric
    v0 : array (..., N)
    lagrangian : Lagrangian, name or mapping, additive
        Default ``tanh`` (``L = sum log cosh v``).
    tau, dt : Quantity (time) or float seconds
    n_steps : int
    I : float or array (N,)
    record : bool
        Return every step, ``(n_steps + 1, ..., N)``, or the last state.
    """
    lag = make_lagrangian(lagrangian if lagrangian is not None else tanh())
    if not lag.additive:
        raise ValueError(f"the graded-response network needs an additive Lagrangian, got {lag!r}")
    T = np.asarray(T, float)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or not np.allclose(T, T.T):
        raise ValueError(f"T must be a symmetric square matrix, got shape {T.shape}")
    a = _seconds(dt, "dt") / _seconds(tau, "tau")
    if a >= 1:
        raise ValueError(f"dt must be smaller than tau, got dt/tau = {a}")
    v = _states(v0, T.shape[0], "v0").copy()
    I = np.asarray(I, float)
    traj = [v] if record else None
    for _ in range(int(n_steps)):
        v = v + a * (lag.activation(v) @ T - v + I)
        if record:
            traj.append(v)
    return np.stack(traj) if record else v


# -- binary Dense Associative Memory -----------------------------------------
def dam_energy(patterns, s, interaction="power", degree=2, beta=1.0):
    """``E = -sum_mu F(xi_mu . s)`` (Krotov & Hopfield 2016; Demircigil et al. 2017).

    For ``F = exp`` with a large ``beta xi.s`` this overflows to ``-inf``; use
    :func:`dam_log_abs_energy` there.
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    return -F.total(_states(s, xi.shape[1], "s") @ xi.T)


def dam_log_abs_energy(patterns, s, beta=1.0):
    """``log(-E) = log sum_mu exp(beta xi_mu . s) - log beta`` for ``F = exp``: finite for any ``beta``.

    ``-E`` grows whenever ``E`` falls, so this rises along the dynamics.
    """
    xi = check_patterns(patterns)
    F = make_interaction("exp", beta=beta)
    return F.log_total(_states(s, xi.shape[1], "s") @ xi.T)


def dam_flip_margins(patterns, s, interaction="power", degree=2, beta=1.0):
    """For each neuron ``i`` of each state, a number with the sign of the update's argument

    ``sum_mu F(xi_mu,i + A_mu,i) - F(-xi_mu,i + A_mu,i)``, ``A_mu,i = sum_{j != i} xi_mu,j s_j``,

    so that the asynchronous rule is ``s_i <- sign(margin_i)`` (Krotov & Hopfield
    2016, eq. 3). Shape ``(..., N)``; memory ``O(batch N K)``.
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    s = _binary_states(s, xi.shape[1], "s")
    H = s @ xi.T                                            # (..., K)
    A = H[..., None, :] - s[..., :, None] * xi.T            # (..., N, K)
    return F.difference(A + xi.T, A - xi.T)


def dam_async(patterns, s, interaction="power", degree=2, beta=1.0, max_sweeps=50, seed=None,
              record_energy=False):
    """Asynchronous updates of the binary Dense Associative Memory until a fixed point.

    Neuron ``i`` takes the value that gives the lower energy ``E = -sum_mu F(xi_mu . s)``::

        s_i <- sign[ sum_mu F(xi_mu,i + A_mu) - F(-xi_mu,i + A_mu) ],  A_mu = sum_{j!=i} xi_mu,j s_j

    (ties keep ``s_i``), so no single update raises ``E``. One sweep visits every
    neuron once in a random order shared by the batch; each update costs
    ``O(batch K)`` because the overlaps ``xi s`` are kept up to date.

    Parameters
    ----------
    patterns : array (K, N)
    s : array (..., N) of +-1
    interaction, degree, beta : see :func:`make_interaction`
    max_sweeps : int
    seed : int or Generator (update order)
    record_energy : bool
        Also return ``E`` (or ``log(-E)`` for ``exp``) after every single update.

    Returns
    -------
    s, sweeps, converged[, energies]  as in :func:`hopfield_async`.
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    n = xi.shape[1]
    s0 = _binary_states(s, n, "s")
    S = s0.reshape(-1, n).copy()
    H = S @ xi.T
    rng = _rng(seed)
    track = (lambda H_: F.log_total(H_)) if F.log_domain else (lambda H_: -F.total(H_))
    energies = [track(H)] if record_energy else None
    converged = np.zeros(len(S), bool)
    sweeps = 0
    for sweeps in range(1, int(max_sweeps) + 1):
        changed = np.zeros(len(S), bool)
        for i in rng.permutation(n):
            A = H - S[:, i, None] * xi[:, i]
            new = _sign_keep(F.difference(A + xi[:, i], A - xi[:, i]), S[:, i])
            delta = new - S[:, i]
            moved = delta != 0
            if moved.any():
                S[moved, i] = new[moved]
                H[moved] += delta[moved, None] * xi[:, i]
                changed |= moved
            if record_energy:
                energies.append(track(H))
        if not changed.any():
            converged[:] = True
            break
    else:
        converged = np.all(_sign_keep(dam_flip_margins(xi, S, F), S) == S, axis=-1)
    out = (S.reshape(s0.shape), sweeps, converged.reshape(s0.shape[:-1]))
    if record_energy:
        out += (np.stack(energies).reshape((-1,) + s0.shape[:-1]),)
    return out


def dam_stability_margins(patterns, probe, interaction="power", degree=2, beta=1.0, chunk_elements=4_000_000):
    """One-step stability of every bit of stored patterns, in batch.

    For stored pattern ``nu`` and bit ``i``, with overlaps ``O_mu = xi_mu . xi_nu``
    and ``c_mu = xi_mu,i xi_nu,i``, the update of bit ``i`` from ``s = xi_nu`` keeps
    it iff the margin ``D_nu,i = sum_mu F(O_mu) - F(O_mu - 2 c_mu)`` is > 0
    (``= 0`` is a tie, which keeps it too). Multiplying the rule of
    :func:`dam_async` by ``xi_nu,i`` gives this form for both signs of ``xi_nu,i``.
    For ``F = x^2`` it is ``4 xi_nu,i sum_{j != i} T_ij xi_nu,j`` (classical, zero diagonal).

    Parameters
    ----------
    patterns : array (K, N)
    probe : int array (P,)
        Indices of the patterns to test.
    chunk_elements : int
        Patterns are processed in chunks so that the ``(chunk, N, K)``
        temporaries hold at most this many numbers.

    Returns
    -------
    array (P, N): ``D`` (exact for polynomials; ``(1/beta) log`` of the ratio for ``exp``).
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    probe = np.atleast_1d(np.asarray(probe, int))
    k, n = xi.shape
    if not F.log_domain:
        # c_mu = +-1 takes two values: D = sum_mu (d+ + d-)/2 + xi_nu,i sum_mu xi_mu,i (d+ - d-)/2
        # with d+- = F(O) - F(O -+ 2), one matrix product instead of a (P, N, K) array.
        Fe = lambda x: F.lagrangian.value(x[..., None])  # noqa: E731 - elementwise F
        out = np.empty((len(probe), n))
        chunk = max(1, int(chunk_elements) // k)
        for start in range(0, len(probe), chunk):
            idx = probe[start:start + chunk]
            O = xi[idx] @ xi.T
            f0 = Fe(O)
            dp, dm = f0 - Fe(O - 2), f0 - Fe(O + 2)
            out[start:start + chunk] = np.sum(dp + dm, axis=-1)[:, None] / 2 + xi[idx] * ((dp - dm) / 2 @ xi)
        return out
    # exp: D = (1/beta) [log sum_mu e^(beta O_mu) - log sum_mu e^(beta (O_mu - 2 c_mu))]. The second sum
    # splits into the mu with xi_mu,i = +1 and = -1, two products of non-negative matrices (no
    # cancellation), after shifting every exponent below 0 by M = max(N - 2, max_{mu != nu} O_mu + 2).
    beta = F.lagrangian.params["beta"]
    plus, minus = (xi > 0).astype(float), (xi < 0).astype(float)
    out = np.empty((len(probe), n))
    chunk = max(1, int(chunk_elements) // max(k, n))
    for start in range(0, len(probe), chunk):
        idx = probe[start:start + chunk]
        O = xi[idx] @ xi.T                                   # (p, K)
        others = O.copy()
        others[np.arange(len(idx)), idx] = -np.inf
        M = np.maximum(n - 2.0, others.max(axis=1, initial=-np.inf) + 2)[:, None]
        with np.errstate(under="ignore"):
            a, b = np.exp(beta * (O - 2 - M)), np.exp(beta * (O + 2 - M))   # c = +1, c = -1
            up = xi[idx] > 0
            s_minus = np.where(up, a @ plus + b @ minus, a @ minus + b @ plus)
            lse_plus = M[:, 0] + np.log(np.sum(np.exp(beta * (O - M)), axis=1)) / beta
        out[start:start + chunk] = lse_plus[:, None] - (M + np.log(s_minus) / beta)
    return out


# -- modern Hopfield network (model B, attention) ---------------------------------
def modern_hopfield_energy(patterns, v, beta=1.0, constants=False):
    """``E = 1/2 v.v - (1/beta) log sum_mu exp(beta xi_mu . v)`` (Ramsauer et al. 2021).

    This is :func:`effective_energy` of model B (``L_v = v.v/2``, ``L_h`` =
    log-sum-exp). With ``constants=True`` adds Ramsauer's
    ``(1/beta) log K + M^2/2`` (``M`` = largest pattern norm), which makes ``E >= 0``.
    """
    xi = check_patterns(patterns)
    v = _states(v, xi.shape[1], "v")
    E = 0.5 * np.sum(v * v, axis=-1) - log_sum_exp(beta).value(v @ xi.T)
    if constants:
        E = E + np.log(xi.shape[0]) / beta + 0.5 * np.max(np.sum(xi * xi, axis=1))
    return E


def modern_hopfield_update(patterns, v, beta=1.0):
    """``v <- xi^T softmax(beta xi v)``: attention, one step of the concave-convex procedure.

    The fixed point of the effective dynamics (1) of model B; the energy
    :func:`modern_hopfield_energy` never rises under it (Ramsauer et al. 2021, Thm. 1).
    """
    xi = check_patterns(patterns)
    v = _states(v, xi.shape[1], "v")
    return log_sum_exp(beta).activation(v @ xi.T) @ xi


# -- spherical memory (model C) -------------------------------------------------
def _unit(v):
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("the spherical model is undefined at v = 0 (g = v/|v|)")
    return v / norm


def spherical_energy(patterns, v, interaction="rectified_power", degree=3, beta=1.0):
    """``E = -sum_mu F(xi_mu . v/|v|)``: model C with its memory neurons integrated out.

    (``L_v = |v|`` makes the feature Legendre term vanish: ``v.g - |v| = 0``.)
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    return -F.total(_unit(_states(v, xi.shape[1], "v")) @ xi.T)


def spherical_update(patterns, v, interaction="rectified_power", degree=3, beta=1.0):
    """``v <- xi^T F'(xi v/|v|)``, the fixed point of model C's effective dynamics (1).

    With ``G(u) = sum_mu F(xi_mu . u)`` convex, ``u' = grad G(u)/|grad G(u)|``
    maximises ``G(u) + grad G(u).(u' - u)``, a lower bound of ``G(u')``, over the
    unit ball, so ``E`` never rises. Only the direction of ``v`` matters.
    Raises ``ValueError`` if ``grad G = 0`` (no pattern has a positive overlap).
    """
    xi = check_patterns(patterns)
    F = make_interaction(interaction, degree, beta)
    u = _unit(_states(v, xi.shape[1], "v"))
    h = u @ xi.T
    if F.log_domain:  # exp(beta h) overflows: the direction is that of softmax(beta h)
        f = log_sum_exp(F.lagrangian.params["beta"]).activation(h)
    else:
        f = F.lagrangian.activation(h)
    new = f @ xi
    if np.any(np.linalg.norm(new, axis=-1) == 0):
        raise ValueError("spherical_update: xi^T F'(xi u) = 0, no pattern has a positive overlap with v")
    return new


# -- the general effective model ------------------------------------------------
def effective_energy(patterns, v, feature_lagrangian, memory_lagrangian, I=0.0):
    """``E_eff(v) = [sum_i (v_i - I_i) g_i - L_v(v)] - L_h(xi g(v))`` (eq. 2 of this module).

    Equal to the two-layer energy :func:`hippo_dam.energy` at ``h = xi g(v)``.
    """
    xi = check_patterns(patterns)
    lv, lh = make_lagrangian(feature_lagrangian), make_lagrangian(memory_lagrangian)
    v = _states(v, xi.shape[1], "v")
    return lv.legendre(v, I) - lh.value(lv.activation(v) @ xi.T)


def effective_euler(patterns, feature_lagrangian, memory_lagrangian, tau_f, v0, dt, n_steps, I=0.0,
                    record=True):
    """Euler integration of ``tau_f dv/dt = xi^T f(xi g(v)) - v + I`` (eq. 1 of this module).

    The feature dynamics with the memory neurons slaved, ``h = xi g(v)``: the
    ``tau_h -> 0`` limit of :func:`hippo_dam.euler_reference` and of
    :class:`hippo_dam.DenseAssociativeMemory`.

    Parameters
    ----------
    patterns : array (N_h, N_f)
    feature_lagrangian, memory_lagrangian : Lagrangian, name or mapping
    tau_f, dt : Quantity (time) or float seconds, ``dt < tau_f``
    v0 : array (..., N_f)
    n_steps : int
    I : float or array
    record : bool
        Every step ``(n_steps + 1, ..., N_f)`` or the final state.
    """
    xi = check_patterns(patterns)
    lv, lh = make_lagrangian(feature_lagrangian), make_lagrangian(memory_lagrangian)
    a = _seconds(dt, "dt") / _seconds(tau_f, "tau_f")
    if a >= 1:
        raise ValueError(f"dt must be smaller than tau_f, got dt/tau_f = {a}")
    v = _states(v0, xi.shape[1], "v0").copy()
    I = np.asarray(I, float)
    traj = [v] if record else None
    for _ in range(int(n_steps)):
        v = v + a * (lh.activation(lv.activation(v) @ xi.T) @ xi - v + I)
        if record:
            traj.append(v)
    return np.stack(traj) if record else v
