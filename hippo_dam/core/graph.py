"""The energy graph: populations and the symmetric projections between them, as one Brian2 network.

A network is data: populations (a Lagrangian ``L_A``, a size, time constants,
a region) and symmetric projections between them, each one energy term. Its
energy (Krotov 2021, "Hierarchical Associative Memory", eq. 3; Krotov &
Hopfield 2021, eq. 2 for two layers)::

    E = sum_A [ sum_i (x^A_i - I^A_i) a^A_i - L_A(x^A) ]  -  sum_P c_P sum_{mu,i} a^post_mu W_P[mu,i] a^pre_i

with ``a^A = dL_A/dx^A``, ``c_P = 1`` for a projection between two
populations and ``c_P = 1/2`` for a recurrent one (a block on the diagonal of
a general network's ``W``). Every population integrates::

    tau_A dx^A/dt = sum_{P into A} u_P - x^A + I^A

where ``u_P`` is ``W_P a^pre`` on the post side and ``W_P^T a^post`` on the
pre side of projection ``P`` (the same numbers ``W_P`` both ways).
Along the dynamics ``dE/dt = -sum_A tau_A x'^A . Hess(L_A) . x'^A <= 0`` when
every Hessian is positive semi-definite and every non-additive population
has one time constant (see :class:`hippo_dam.networks.general.GeneralAssociativeMemory`).

:class:`EnergyGraph` turns that description into the Brian2 objects, in the
fixed step schedule of :mod:`hippo_dam.core.schedule`, with the energy computed
inside the run (:class:`hippo_dam.core.energy.OnlineEnergy`). The two-layer model
(:class:`~hippo_dam.networks.two_layer.DenseAssociativeMemory`), the hierarchy, the
general network and the hippocampal circuits are all built from it.
"""
from __future__ import annotations

from ._compat import setup_code_on_numpy
from .energy import OnlineEnergy
from .schedule import schedule_table

__all__ = ["EnergyGraph", "describe_network"]


class EnergyGraph:
    """Populations and projections of one network, built into Brian2 objects in one place.

    Parameters
    ----------
    populations : list of Population
        Each contributes its Legendre term ``sum (x - I) a - L(x)`` to the energy.
    couplings : list of projections
        The energy's coupling terms: symmetric projections (dense or
        ``Synapses``), or a circuit's one-way projection whose post side
        carries the two-layer coupling ``sum a_post u_post``.
    flows : list of Projection, optional
        One-way projections that are not energy terms (a circuit's relays).
    others : list of populations, optional
        Populations built with the graph that are not energy terms (a relay).
    extras : list of callables, optional
        Called after the populations and projections exist; each returns a
        list of further Brian2 objects (interneurons, spike generators,
        monitors).
    energy : bool
        Compute the energy online (default). Circuits whose energy is not the
        graph's (dynamic interneurons) switch it off and evaluate it offline.
    energy_name : str
        Brian2 name of the energy group.
    recorded : list, optional
        Populations whose states are recorded (default: ``populations``).
    """

    def __init__(self, populations, couplings=(), flows=(), others=(), extras=(), energy=True,
                 energy_name="energy", recorded=None):
        self.populations = list(populations)
        if not self.populations:
            raise ValueError("an energy graph needs at least one population")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ValueError(f"population names must be unique, got {names}")
        batches = {p.batch for p in self.populations}
        if len(batches) != 1:
            raise ValueError(f"every population of a graph needs the same batch size, got {sorted(batches)}")
        self.couplings = list(couplings)
        self.flows = list(flows)
        self.others = list(others)
        self.extras = list(extras)
        self.energy = bool(energy)
        self.energy_name = energy_name
        self.recorded = self.populations if recorded is None else list(recorded)
        self.online_energy = None

    @property
    def batch(self):
        return self.populations[0].batch

    def largest_product(self):
        """Multiply-adds of the largest dense product per step (0 with none): it sets the BLAS threads."""
        from .dense import DenseSymmetricProjection

        return max([p.weights.size * p.batch for p in self.couplings + self.flows
                    if isinstance(p, DenseSymmetricProjection)], default=0)

    def build(self, dt, energy_every=None):
        """The Brian2 objects of the network on a clock of step ``dt`` (list, any order).

        Brian2 sorts them by slot, order and name, so the step is the schedule
        of :mod:`hippo_dam.core.schedule` whatever the order of this list.
        Synapses are connected on the numpy target
        (:func:`~hippo_dam.core._compat.setup_code_on_numpy`); the run uses the
        network's own target.
        """
        with setup_code_on_numpy():  # connecting synapses runs once: no module to compile for it
            return self._build(dt, energy_every)

    def _build(self, dt, energy_every):
        objects = []
        for pop in self.populations + self.others:
            objects += pop.build(dt)
        for proj in self.couplings + self.flows:
            objects += proj.build()
        if self.energy:
            self.online_energy = OnlineEnergy(self.populations, self.couplings, dt=energy_every,
                                              name=self.energy_name)
            objects += self.online_energy.build()
        for extra in self.extras:
            objects += extra()
        return objects


def describe_network(network) -> str:
    """Every Brian2 object of a built network, in the order one time step runs them.

    Groups show their equations, code runners (activations, reductions, dense
    products, summed variables) their statements; then the step schedule of
    :mod:`hippo_dam.core.schedule`. The text is what a Brian2 user would write.
    """
    lines = []
    for obj in network.sorted_objects:
        kind = type(obj).__name__
        head = f"[{obj.when}, order {obj.order}] {kind} {obj.name!r}"
        if kind in ("NeuronGroup", "Synapses"):
            lines.append(head + (f", {len(obj)} neurons" if kind == "NeuronGroup" else f", {len(obj)} synapses"))
            lines += ["    " + ln.strip() for ln in str(obj.equations).strip().splitlines() if ln.strip()]
        elif kind == "StateUpdater":
            lines.append(head + f": {obj.method_choice} integration of {obj.group.name!r}")
        elif kind == "StateMonitor":
            lines.append(head + f": records {sorted(obj.record_variables)} every {obj.clock.dt}")
        else:
            code = getattr(obj, "abstract_code", None)
            lines.append(head)
            if isinstance(code, str) and code.strip():
                lines += ["    " + ln.strip() for ln in code.strip().splitlines()]
    lines += ["", "step schedule (slot, order, operation):", schedule_table()]
    return "\n".join(lines)
