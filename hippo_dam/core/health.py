"""What a run recorded, checked: an energy that rises, a state that runs away.

With a constant input and convex Lagrangians the energy is a Lyapunov function
(Krotov & Hopfield 2021, eq. 5)::

    dE/dt = - sum_A tau_A  dx^A/dt . Hess(L_A) . dx^A/dt  <= 0

so a recorded energy that rises beyond rounding means a Lagrangian that is not
convex on the states the run reached (a custom one convex only near 0), or a
step ``dt`` too long for the explicit Euler scheme. And an energy with no
lower bound (linear layers, strong couplings) lets the states grow without
limit while the energy falls for ever. After every run the package calls
:func:`check_run` on what it recorded:

* a rise of the energy larger than :data:`RISE_TOLERANCE` times its scale
  gives an :class:`EnergyRiseWarning` that says how much, when, and which
  population's Lagrangian fails the convexity check on the range its states
  reached (:meth:`~hippo_dam.core.lagrangians.Lagrangian.check_convex` with
  ``span`` or ``points`` taken from the run);
* a state larger than :data:`DIVERGENCE_FACTOR` times its scale (the
  initial state and input) while the energy is still falling fast (``|E|``
  at least doubled over the last quarter of the run: a large but settled
  state is not a runaway) raises :class:`UnboundedEnergyError`, which keeps
  the run's result (``err.result``): nothing the run computed is lost.

Runs whose input moves (a running animal) or whose neurons spike are not
checked for rises: their energy is not a Lyapunov function.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["EnergyRiseWarning", "UnboundedEnergyError", "check_run", "RISE_TOLERANCE", "DIVERGENCE_FACTOR"]

#: A step-to-step energy rise above this fraction of the energy's scale
#: (``max |E|`` over the run, at least 1) is reported; rounding in a run of
#: float64 sums is far below it (the tests' rises are <= 1e-12 relative).
RISE_TOLERANCE = 1e-8

#: A state beyond this factor times ``1 + max |x(0)| + max |I|`` has run away.
DIVERGENCE_FACTOR = 1e8


class EnergyRiseWarning(RuntimeWarning):
    """The energy rose during a run with a constant input (it must not: see :mod:`hippo_dam.core.health`)."""


class UnboundedEnergyError(FloatingPointError):
    """A state grew without bound during a run: the energy has no lower bound.

    Attributes
    ----------
    result : RecallResult or None
        What the run recorded, up to its end.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def check_run(energy_t, energy, layers, constant_input=True, dt=None, taus=None, result=None):
    """Check a finished run: warn on an energy rise, raise on a runaway state.

    Parameters
    ----------
    energy_t : array (T_E,)
        Times of the energy trace, seconds.
    energy : array (T_E,) or (B, T_E)
        The energy computed inside the run (dimensionless), per batch copy.
    layers : list of (name, Lagrangian, states, scale)
        Each population: its name, its Lagrangian, the states it reached
        (any array whose last axis is the layer: the recorded trace, or the
        initial and final states stacked) and its scale ``max |x(0)| + max |I|``.
    constant_input : bool
        False where the input moves with time: no rise check.
    dt, taus : Quantity, optional
        The step and the populations' time constants, for the message.
    result : RecallResult, optional
        Kept on an :class:`UnboundedEnergyError`.

    Raises
    ------
    UnboundedEnergyError
        A state beyond ``DIVERGENCE_FACTOR * (1 + scale)`` while ``|E|`` at least
        doubled over the last quarter of the run.

    Warns
    -----
    EnergyRiseWarning
        A step-to-step rise above ``RISE_TOLERANCE * max(1, max |E|)``.
    """
    E = np.atleast_2d(np.asarray(energy, dtype=float))
    for name, lag, states, scale in layers:
        states = np.asarray(states, dtype=float)
        if not states.size:
            continue
        peak = float(np.max(np.abs(states)))
        bound = DIVERGENCE_FACTOR * (1.0 + float(scale))
        if peak > bound and _still_falling(E):
            raise UnboundedEnergyError(
                f"the state of population {name!r} ({lag!r}) grew to {peak:.3g} (its initial state and input are "
                f"at most {float(scale):.3g}): the energy has no lower bound for these Lagrangians and weights, so "
                "the states run away instead of settling in a memory. Use a Lagrangian whose activation saturates "
                "(tanh, sigmoid, log_sum_exp, layer_norm) or weaker couplings", result)
    if not constant_input:
        return
    if E.shape[-1] < 2:
        return
    t = np.asarray(energy_t, dtype=float)
    scale = np.maximum(np.max(np.abs(E), axis=-1, keepdims=True), 1.0)
    rise = np.diff(E, axis=-1) / scale
    if np.max(rise) <= RISE_TOLERANCE:
        return
    copy, k = np.unravel_index(int(np.argmax(rise)), rise.shape)
    total = float(np.max(E[copy, k + 1:]) - E[copy, k])
    where = f" (batch copy {copy})" if E.shape[0] > 1 else ""
    warnings.warn(
        # tests/conftest.py turns this warning into an error in notebook kernels by its first words
        f"the energy rose by {total:.3g} (from {E[copy, k]:.6g}, {rise[copy, k]:.2g} of its scale in one step) "
        f"after t = {1e3 * t[min(k, len(t) - 1)]:.4g} ms{where}, though the input is constant: "
        + _likely_cause(layers, dt, taus), EnergyRiseWarning, stacklevel=3)


def _still_falling(E):
    """True where the energy of some copy is still falling fast at the end of the run.

    A state can be large and settled (model A with a steep ``F``: ``f = F'(h)``
    is huge but bounded, since ``h`` is); a runaway grows without end, and its
    energy with it: over the last quarter of the run ``|E|`` at least doubles.
    """
    if E.shape[-1] < 2:
        return True
    late = E[:, (3 * (E.shape[-1] - 1)) // 4]
    return bool(np.any((E[:, -1] < late) & (np.abs(E[:, -1]) > 2 * np.abs(late))))


def _likely_cause(layers, dt, taus):
    """Which population's Lagrangian is not convex on the states the run reached (or the step, if none)."""
    causes = []
    for name, lag, states, _ in layers:
        states = np.asarray(states, dtype=float)
        if not states.size:
            continue
        try:
            if lag.additive:
                lo, hi = float(np.min(states)), float(np.max(states))
                lag.check_convex(span=(lo, hi) if hi > lo else (lo - 1.0, hi + 1.0))
            else:
                rows = states.reshape(-1, states.shape[-1])
                pick = np.unique(np.linspace(0, len(rows) - 1, min(8, len(rows))).astype(int))
                lag.check_convex(points=rows[pick])
        except ValueError as err:
            causes.append(f"population {name!r}: {err} (on the states this run reached, "
                          f"{float(np.min(states)):.3g} to {float(np.max(states)):.3g})")
    if causes:
        return "; ".join(causes)
    step = "" if dt is None else f" dt = {dt}"
    tau = "" if not taus else f" against the time constants {taus}"
    return (f"every Lagrangian is convex on the states this run reached, so look at the Euler step{step}{tau} "
            "(shorten dt), or at unequal time constants within a non-additive layer (its Hessian is not diagonal)")
