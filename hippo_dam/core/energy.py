"""The energy (Lyapunov function) of a Dense Associative Memory.

For feature states ``v`` (input ``I``), memory states ``h`` and weights ``xi``
(Krotov & Hopfield 2021, eq. 2)::

    E = [sum_i (v_i - I_i) g_i - L_v(v)] + [sum_mu h_mu f_mu - L_h(h)]
        - sum_{mu,i} f_mu xi[mu,i] g_i

with ``g = dL_v/dv`` and ``f = dL_h/dh``. Along the dynamics
``dE/dt = -tau_f v'.Hess(L_v).v' - tau_h h'.Hess(L_h).h' <= 0``.

:func:`energy` evaluates this with numpy from recorded states;
:class:`OnlineEnergy` computes the same number inside the Brian2 simulation,
as population sums into one neuron, so that large networks need not record
every neuron.
"""
from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup, StateMonitor, Synapses, linked_var

from .lagrangians import Lagrangian
from .populations import named_clock
from .schedule import ORDER_ENERGY_GROUP

__all__ = ["energy", "OnlineEnergy"]



def energy(v, h, xi, feature_lagrangian: Lagrangian, memory_lagrangian: Lagrangian, I=0.0):
    """Energy of the two-layer network (dimensionless).

    Parameters
    ----------
    v : array, shape (..., N_f)
        Feature states (any leading batch or time axes).
    h : array, shape (..., N_h)
        Memory states, same leading axes.
    xi : array, shape (N_h, N_f)
    feature_lagrangian, memory_lagrangian : Lagrangian
    I : float or array broadcastable to v
        Feature input current.

    Returns
    -------
    E : array, shape (...)
    """
    v = np.asarray(v, dtype=float)
    h = np.asarray(h, dtype=float)
    g = feature_lagrangian.activation(v)
    f = memory_lagrangian.activation(h)
    coupling = np.einsum("...m,...m->...", f, g @ np.asarray(xi, dtype=float).T)
    return feature_lagrangian.legendre(v, I) + memory_lagrangian.legendre(h) - coupling


class OnlineEnergy:
    """Energy computed inside the Brian2 run and recorded as one number per step.

    One neuron (per copy of a batched network) holds, as one summed variable
    per population ``A``, the population's share of the energy::

        E_A = sum_i [ (x_i - I_i) a_i [- l(x_i)] - sum_{P with post A} c_P a_i u_P,i ]

    (its Legendre term and the coupling terms of the projections that end in
    it), so each population adds one code object to the step, not one per
    term; a non-additive Lagrangian's value comes from its layer reductions.

    Parameters
    ----------
    populations : list of Population
    projections : list of SymmetricProjection
    dt : Quantity, optional
        Recording interval (default: every step).
    """

    def __init__(self, populations, projections, dt=None, name="energy"):
        self.populations, self.projections, self.name, self.dt = populations, projections, name, dt
        self.group = self.monitor = None

    def build(self):
        pops, projs = self.populations, self.projections
        lines, total = [], []
        for p in pops:
            lag = p.lagrangian
            lines.append(f"E_{p.name} : 1")
            if not lag.grouped:  # a grouped Lagrangian's value comes summed from its neurons (L_share)
                lines += [f"{r}_{p.name} : 1 (linked)" for r in p.reduction_names]
            lines += [f"{k}_{p.name} : 1" + ("" if k in getattr(p, "copy_params", {}) else " (shared, constant)")
                      for k in (lag.params if not (lag.additive or lag.grouped) else ())]
            term = f"E_{p.name}"
            if not (lag.additive or lag.grouped):
                value = lag.brian_expression(lag.value_expr, p.state, f"_{p.name}", f"_{p.name}")
                term += f" - ({value})"
            total.append(term)
        lines.append("E = " + " + ".join(total) + " : 1")
        clock = pops[0].group.clock
        batch = pops[0].batch  # one energy per copy of a batched network
        group = NeuronGroup(batch, "\n".join(lines), name=self.name, order=ORDER_ENERGY_GROUP, clock=clock)
        objects = [group]
        for p in pops:
            lag = p.lagrangian
            x, a = p.state, p.activation
            expr = f"({x}_pre - I_pre)*{a}_pre"
            if lag.grouped:  # each neuron's share of its group's value, stored with its activation
                expr += " - L_share_pre"
            elif lag.additive:
                value = lag.value_from_activation or lag.value_expr  # the cheaper form, where there is one
                expr += " - (" + lag.brian_expression(value, x, "_pre", activation=a) + ")"
            for proj in projs:
                if proj.post is p:
                    factor = getattr(proj, "energy_factor", 1.0)
                    expr += f" - {'' if factor == 1.0 else f'{factor!r}*'}{a}_pre*{proj.input_name}_pre"
            syn = Synapses(p.group, group, f"E_{p.name}_post = {expr} : 1 (summed)", name=f"{self.name}_{p.name}",
                           clock=clock)
            copy_of = p.copy_index()
            syn.connect(i=np.arange(len(copy_of), dtype=np.int32), j=copy_of)
            objects.append(syn)
            if not (lag.additive or lag.grouped):
                for r in p.reduction_names:
                    setattr(group, f"{r}_{p.name}", linked_var(p.layer, r))
        record_clock = clock if self.dt is None else named_clock(self.dt, f"{self.name}_monitor_clock")
        # after_groups: the sums of this step, before the next step's reductions
        self.monitor = StateMonitor(group, "E", record=True, when="after_groups", name=f"{self.name}_monitor",
                                    clock=record_clock)
        self.group = group
        self.write_values()
        return objects + [self.monitor]

    def write_values(self):
        """Copy the Lagrangian parameters the energy reads (non-additive populations) into the energy group."""
        for p in self.populations:
            lag = p.lagrangian
            if not (lag.additive or lag.grouped):
                for k, val in lag.params.items():  # a per-copy parameter: one value per energy neuron
                    setattr(self.group, f"{k}_{p.name}", getattr(p, "copy_params", {}).get(k, val))

