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

import numpy as np

from ._compat import setup_code_on_numpy
from .components import StateRecorder
from .energy import OnlineEnergy
from .populations import step_clock
from .schedule import schedule_table

__all__ = ["EnergyGraph", "describe_network"]


class EnergyGraph:
    """A network as data: named components, built into Brian2 objects in one place.

    Parameters
    ----------
    components : list
        Populations, projections and the components of
        :mod:`hippo_dam.core.components` (relays, interneuron pools, spiking
        cells, moving input). Each owns its Brian2 objects (``build(dt)``) and
        says whether it is an energy term (``energy_role``: ``'population'``
        for a Legendre term ``sum (x - I) a - L(x)``, ``'coupling'`` for a
        coupling term, ``None``). They are built by ``stage`` (groups, then what
        joins them, then what observes them), in list order within a stage.
    energy : {'online', 'offline', None}
        ``'online'`` (default): the energy of the energy terms computed inside
        the run (:class:`~hippo_dam.core.energy.OnlineEnergy`). ``'offline'``:
        every step's states of the energy populations are recorded and the
        energy is evaluated afterwards with their Lagrangians
        (:meth:`offline_energy`), for circuits whose activations are not their
        Lagrangians' gradients while they run (lagging interneurons). ``None``: no energy.
    energy_name : str
        Brian2 name of the energy group.
    recorded : list, optional
        Components whose states are recorded every ``record_every`` (default:
        the energy populations).
    """

    ENERGY_MODES = ("online", "offline", None)

    def __init__(self, components, energy="online", energy_name="energy", recorded=None):
        self.components = list(components)
        for c in self.components:
            if not callable(getattr(c, "build", None)) or getattr(c, "stage", None) not in (0, 1, 2) \
                    or not isinstance(getattr(c, "name", None), str):
                raise TypeError(f"component {getattr(c, 'name', c)!r} ({type(c).__name__}) needs a name, a build(dt) "
                                "method and a stage (0, 1 or 2); see hippo_dam.core.components")
        names = [c.name for c in self.components]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"component names must be unique; repeated: {duplicated}")
        self.populations = [c for c in self.components if getattr(c, "energy_role", None) == "population"]
        self.couplings = [c for c in self.components if getattr(c, "energy_role", None) == "coupling"]
        if not self.populations and energy is not None:
            raise ValueError("an energy graph needs at least one population with an energy term (a circuit of "
                             "other components alone computes no energy: energy=None)")
        batches = {c.batch for c in self.components if hasattr(c, "batch")}
        if len(batches) > 1:
            raise ValueError(f"every component of a graph needs the same batch size, got {sorted(batches)}")
        for proj in self.couplings if energy is not None else ():
            for side in (proj.pre, proj.post):
                if side not in self.populations:
                    raise ValueError(f"coupling {proj.name!r} joins {side.name!r}, which is not an energy "
                                     "population of this graph")
        if energy not in self.ENERGY_MODES:
            raise ValueError(f"energy must be one of {self.ENERGY_MODES}, got {energy!r}")
        if energy == "online":
            for pop in self.populations:
                if not getattr(pop, "activation_is_gradient", True):
                    raise ValueError(f"population {pop.name!r}: its activation is not its Lagrangian's gradient "
                                     "while it runs, so the energy cannot be summed online; use energy='offline'")
        self.energy = energy
        self.energy_name = energy_name
        self.recorded = self.populations if recorded is None else list(recorded)
        self.online_energy = None
        self.energy_recorder = None
        self.built_objects = []

    def __getitem__(self, name):
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component named {name!r}; components: {[c.name for c in self.components]}")

    @property
    def batch(self):
        return next((c.batch for c in self.components if hasattr(c, "batch")), 1)

    @property
    def lyapunov(self):
        """True when no component lets the energy rise by design (one-way paths, lagging inhibition, spikes)."""
        return all(getattr(c, "lyapunov", True) for c in self.components)

    def largest_product(self):
        """Multiply-adds of the largest dense product per step (0 with none): it sets the BLAS threads."""
        from .dense import DenseSymmetricProjection

        return max([p.weights.size * p.batch for p in self.components
                    if isinstance(p, DenseSymmetricProjection)], default=0)

    def build(self, dt, energy_every=None):
        """The Brian2 objects of the network on a clock of step ``dt`` (list, any order).

        Brian2 sorts them by slot, order and name, so the step is the schedule
        of :mod:`hippo_dam.core.schedule` whatever the order of this list.
        Synapses are connected on the numpy target
        (:func:`~hippo_dam.core._compat.setup_code_on_numpy`); the run uses the
        network's own target.
        """
        with setup_code_on_numpy(), step_clock(dt):  # connecting synapses runs once: no module to compile for it
            return self._build(dt, energy_every)

    def _build(self, dt, energy_every):
        objects = []
        for stage in (0, 1):
            for c in self.components:
                if c.stage == stage:
                    objects += c.build(dt)
        self.online_energy = self.energy_recorder = None
        if self.energy == "online":
            self.online_energy = OnlineEnergy(self.populations, self.couplings, dt=energy_every,
                                              name=self.energy_name)
            objects += self.online_energy.build()
        elif self.energy == "offline":
            self.energy_recorder = StateRecorder(self.populations, suffix="every_step")
            objects += self.energy_recorder.build(dt)
        for c in self.components:
            if c.stage == 2:
                objects += c.build(dt)
        self.built_objects = list(objects)  # what the components and the energy made (the runner adds monitors)
        return objects

    def offline_energy(self, inputs):
        """Times (s) and the energy (batch, T) of the recorded every-step states (``energy='offline'``).

        ``E = sum_A [(x^A - I^A) . a^A - L_A(x^A)] - sum_P c_P a^post . W_P a^pre``
        with ``a^A = dL_A/dx^A`` (:func:`~hippo_dam.core.reference.graph_energy`);
        ``inputs``: one array (batch, n_A) per energy population.
        """
        from .reference import graph_energy

        if self.energy_recorder is None:
            raise RuntimeError("offline_energy needs a graph built with energy='offline'")
        pops, batch = self.populations, self.batch
        links = [(pops.index(p.pre), pops.index(p.post), p.weights) for p in self.couplings]
        xs = [self.energy_recorder.trace(p, batch) for p in pops]
        I = [np.asarray(i, float).reshape(batch, 1, p.n) for i, p in zip(inputs, pops)]
        return self.energy_recorder.t, graph_energy([p.lagrangian for p in pops], links, xs, I)


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
