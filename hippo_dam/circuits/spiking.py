"""Spiking memory neurons: recall carried by Poisson spikes through exponential synapses.

The CA3 circuit of :mod:`hippo_dam.circuits` (fast inhibition, softmax memory
Lagrangian) in which each memory unit ``mu`` is represented by ``copies``
memory cells that fire Poisson spikes at the model's rate::

    r_mu = max_rate * f_mu,         f = softmax(beta h)  (so sum_mu r_mu = max_rate)

and the feature neurons receive them through exponential synaptic currents
(unit area, so that their mean equals the rate model's ``f``)::

    tau_syn ds_mu/dt = -s_mu,       s_mu += 1 / (copies * max_rate * tau_syn)  at each spike of a copy of mu
    tau_f dv_i/dt    = sum_mu xi[mu,i] s_mu - v_i + I_i
    tau_h dh_mu/dt   = sum_i xi[mu,i] g_i - h_mu

so the feature layer sees ``f`` plus shot noise of variance ``~ f / (2 copies
max_rate tau_syn)``; the rate model is the limit ``copies * max_rate -> inf``.

Paper vs assumption: the paper's model is a rate model and says nothing about
spikes; Poisson spiking, the exponential synapse (``tau_syn = 5 ms``,
AMPA-like), the ``copies`` redundancy and the rate-coded feature layer are
this package's assumptions. The energy reported is the rate model's
``E(v, h)`` evaluated on the spiking trajectory (computed inside the run);
compare its average over a window with the rate model's.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, ms
from brian2 import seed as brian_seed

from ..core._compat import cython_rand_works, numpy_codeobject
from .hippocampus import CA3Circuit, check_rate
from ..core.components import PoissonCells, TracedPopulation
from ..core.graph import EnergyGraph
from ..core.populations import Population, Projection, check_tau

__all__ = ["SpikingCA3"]


def _rand_codeobj_class(target):
    """Code object class for ``rand()``: Cython where the Brian2 in use can compile it
    (Brian2 >= 2.9, or numpy < 2); brian2 2.8.0's Cython ``rand()`` fails under numpy 2
    (``numpy.NPY_OWNDATA`` is gone), so there the spike generator runs on the numpy target."""
    if target != "cython" or cython_rand_works():
        return None
    return numpy_codeobject()


class SpikingCA3(CA3Circuit):
    """CA3 with Poisson-spiking memory cells (see the module docstring for the equations).

    Parameters
    ----------
    patterns : array (K, N_f)
    max_rate : Quantity (Hz)
        Peak rate of a memory cell (``f = 1``); also the memory pool's summed rate.
    copies : int
        Spiking cells per memory unit (``K * copies`` cells in all).
    tau_syn : Quantity
        Decay of the exponential synaptic current (default 5 ms).
    seed : int, optional
        Seed of Brian2's random numbers; recall ``k`` uses ``seed + k``.
    **kwargs
        As :class:`~hippo_dam.circuits.CA3Circuit` (fast inhibition only).

    Notes
    -----
    ``recall`` returns a RecallResult with an added ``spikes`` attribute:
    ``(memory unit, time in s, cell index)`` arrays of every memory-cell spike,
    and ``attrs['n_spikes']``.
    """

    _energy_is_lyapunov = False  # Poisson spikes: the energy fluctuates, it is not a Lyapunov function

    circuit_name = "CA3 (spiking memory cells)"

    def __init__(self, patterns, max_rate=50 * Hz, copies=4, tau_syn=5 * ms, seed=0, **kwargs):
        if kwargs.get("interneuron_tau") is not None:
            raise ValueError("SpikingCA3 uses fast inhibition (interneuron_tau=None)")
        super().__init__(patterns, max_rate=max_rate, **kwargs)
        self.copies = int(copies)
        if self.copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        self.tau_syn = check_tau(tau_syn, "tau_syn")
        if self.dt >= self.tau_syn:
            raise ValueError(f"dt={self.dt} must be smaller than tau_syn={self.tau_syn}")
        if float(check_rate(max_rate) * self.dt) > 0.5:
            raise ValueError(f"max_rate*dt = {float(max_rate * self.dt):.3g} > 0.5: lower dt or max_rate")
        self.seed = None if seed is None else int(seed)
        self._n_recalls = 0
        self._recall_seed = None

    def _graph(self, batch=1):
        self.features = Population("CA3_features", self.n_features, self.feature_lagrangian, self.tau_f,
                                   "v", "g", "CA3", batch=batch)
        self.memories = TracedPopulation("CA3_memories", self.n_memories, self.memory_lagrangian, self.tau_h,
                                         "h", "f", "CA3", batch=batch, tau_syn=self.tau_syn)
        # forward: rates of features; backward: the spike-driven synaptic current s
        self.coupling = Projection(self.features, self.memories, self.patterns, name="CA3_to_memories",
                                   energy_term=True)
        back = Projection(self.memories, self.features, self.patterns.T, name="CA3_spikes_to_features",
                          pre_variable="s")
        self.cells = PoissonCells("CA3_memory_cells", self.memories, self.copies, self.max_rate,
                                  monitor_name="CA3_memory_spikes", synapse_name="CA3_cell_synapses",
                                  codeobj_class=_rand_codeobj_class(self.codegen_target))
        self.interneurons = None
        return EnergyGraph([self.features, self.memories, self.coupling, back, self.cells], energy_name="CA3_energy")

    @property
    def spike_monitor(self):
        """The memory cells' SpikeMonitor of the last build."""
        return self.cells.monitor

    def _initial_values(self, v0, h0, I):
        values = super()._initial_values(v0, h0, I)
        values[self.memories.group.s] = np.zeros(h0.size)  # no spike trace yet
        return values

    # C++ standalone: the binary bakes its seed in, so recall k (seed + k) builds again; with a kept project
    # only main.cpp changes (one line) and make recompiles that file alone
    def _standalone_key(self, batch, duration):
        return super()._standalone_key(batch, duration) + (self._recall_seed,)

    def _standalone_setup(self):
        if self._recall_seed is not None:
            brian_seed(self._recall_seed)

    def recall(self, *args, **kwargs):
        # brian2.seed reseeds numpy's global generator (Brian2's runtime random numbers come from it):
        # the caller's generator is put back as it was
        state = np.random.get_state() if self.seed is not None else None
        try:
            if self.seed is not None:
                self._recall_seed = self.seed + self._n_recalls
                brian_seed(self._recall_seed)
            self._n_recalls += 1
            result = super().recall(*args, **kwargs)
        finally:
            if state is not None:
                np.random.set_state(state)
        cells = np.array(self.spike_monitor.i[:])
        units = cells // self.copies
        # (memory unit, time in s, cell index) of every spike; a batch adds the cue index
        result.spikes = (units % self.n_memories, np.array(self.spike_monitor.t[:] / ms) * 1e-3, cells)
        if result.batched:
            result.spikes += (units // self.n_memories,)
        result.attrs.update(n_spikes=int(self.spike_monitor.num_spikes))
        return result

    def _circuit_attrs(self):
        attrs = super()._circuit_attrs()
        attrs.update(circuit="CA3 spiking", copies=self.copies, tau_syn_ms=float(self.tau_syn / ms),
                     spiking="Poisson memory cells, rate max_rate*softmax(beta h)", seed=self.seed)
        return attrs
