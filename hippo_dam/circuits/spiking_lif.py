"""Spiking CA3 with leaky integrate-and-fire cells: deterministic spikes, fewer cells than Poisson.

The CA3 circuit of :mod:`hippo_dam.circuits` (fast inhibition) in which both
layers talk only through spikes:

* each memory unit ``mu`` drives ``copies`` LIF cells, each feature neuron
  ``i`` drives ``feature_copies`` ON and as many OFF LIF cells;
* a cell with target rate ``r`` (memory: ``max_rate * f_mu``; ON/OFF feature
  cells: ``feature_rate * max(+-g_i, 0)``) integrates::

      tau_m dV/dt = J - V,   spike and V -> 0 when V > 1,
      J = 1 / (1 - exp(-1 / (r tau_m)))

  ``J`` is the inverse of the LIF's f-I curve ``r = 1 / (tau_m ln(J / (J - 1)))``,
  so the cell fires at ``r`` (below threshold, ``J -> 1``, for ``r -> 0``);
* the copies start at staggered potentials ``V_k = k / copies``, so with the
  same drive their spikes interleave regularly (a deterministic population
  code with no ``rand()``: it runs on the Cython target);
* the rates are read back through exponential synapses of unit area::

      tau_syn ds_mu/dt = -s_mu,  s_mu += 1 / (copies max_rate tau_syn)        per memory-cell spike
      tau_syn ds_i/dt  = -s_i,   s_i  += +-1 / (feature_copies feature_rate tau_syn)  per ON/OFF spike
      tau_f dv_i/dt    = sum_mu xi[mu,i] s_mu - v_i + I_i
      tau_h dh_mu/dt   = sum_i  xi[mu,i] s_i  - h_mu

  so ``s_mu`` estimates ``f_mu`` and ``s_i`` estimates ``g_i``.

Paper vs assumption: the paper's model is rate-based. LIF cells, the
inverse-f-I drive (the cell's input is taken to be shaped so that its rate is
linear in the activation), staggered initial potentials, ON/OFF feature cells
(a rate cannot be negative, ``g = tanh v`` can) and ``tau_m = 20 ms`` are
this package's assumptions. The energy reported is the rate model's
``E(v, h)`` evaluated on the spiking trajectory, as in :mod:`hippo_dam.circuits.spiking`.
"""
from __future__ import annotations

from brian2 import Hz, ms

from .hippocampus import check_rate
from ..core.components import LIFCells, TracedPopulation
from ..core.graph import EnergyGraph
from ..core.populations import Projection, check_tau
from .spiking import SpikingCA3

__all__ = ["LIFSpikingCA3"]

class LIFSpikingCA3(SpikingCA3):
    """CA3 whose memory and feature layers communicate only by LIF spikes (module docstring).

    Parameters
    ----------
    patterns : array (K, N_f)
    max_rate : Quantity (Hz)
        Peak rate of a memory cell (``f = 1``), default 50 Hz.
    copies : int
        LIF cells per memory unit.
    feature_rate : Quantity (Hz)
        Peak rate of a feature ON/OFF cell (``|g| = 1``), default 50 Hz.
    feature_copies : int
        ON (and OFF) cells per feature neuron.
    tau_syn : Quantity
        Synaptic read-out time constant (default 10 ms).
    tau_m : Quantity
        LIF membrane time constant (default 20 ms).
    **kwargs
        As :class:`~hippo_dam.circuits.CA3Circuit` (fast inhibition).

    ``recall`` adds ``spikes`` (memory unit, time in s, cell) and
    ``attrs['n_spikes']`` / ``attrs['n_feature_spikes']``.
    """

    circuit_name = "CA3 (LIF spiking)"
    _no_standalone = "its cells start at potentials computed from each cue (LIFCells.start), not run arguments"

    def __init__(self, patterns, max_rate=50 * Hz, copies=16, feature_rate=50 * Hz, feature_copies=4,
                 tau_syn=10 * ms, tau_m=20 * ms, **kwargs):
        if "seed" in kwargs:
            raise TypeError("LIFSpikingCA3 takes no seed: its LIF cells are deterministic (SpikingCA3's Poisson "
                            "cells take one)")
        super().__init__(patterns, max_rate=max_rate, copies=copies, tau_syn=tau_syn, seed=None, **kwargs)
        self.feature_rate = check_rate(feature_rate, "feature_rate")
        self.feature_copies = int(feature_copies)
        if self.feature_copies < 1:
            raise ValueError(f"feature_copies must be >= 1, got {feature_copies}")
        self.tau_m = check_tau(tau_m, "tau_m")
        if self.dt >= self.tau_m:
            raise ValueError(f"dt={self.dt} must be smaller than tau_m={self.tau_m}")
        if float(max(self.max_rate, self.feature_rate) * self.dt) > 0.1:
            raise ValueError("rate*dt > 0.1: lower dt or the rates (an LIF cell fires at most once per step)")

    def _graph(self, batch=1):
        if batch != 1:
            raise ValueError("LIFSpikingCA3 recalls one cue at a time (its cells start at per-cell phases); "
                             "loop over the cues")
        self.features = TracedPopulation("CA3_features", self.n_features, self.feature_lagrangian, self.tau_f,
                                         "v", "g", "CA3", tau_syn=self.tau_syn)
        self.memories = TracedPopulation("CA3_memories", self.n_memories, self.memory_lagrangian, self.tau_h,
                                         "h", "f", "CA3", tau_syn=self.tau_syn)
        self.coupling = Projection(self.features, self.memories, self.patterns, name="CA3_to_memories",
                                   pre_variable="s", energy_term=True)
        back = Projection(self.memories, self.features, self.patterns.T, name="CA3_spikes_to_features",
                          pre_variable="s")
        # memory cells fire at max_rate f_mu; ON/OFF feature cells at feature_rate max(+-g_i, 0)
        self.cells = LIFCells("CA3_memory_cells", self.memories, self.copies, self.max_rate, self.tau_m,
                              synapse_name="CA3_cell_synapses", monitor_name="CA3_memory_spikes")
        self.feature_cells = LIFCells("CA3_feature_cells", self.features, self.feature_copies, self.feature_rate,
                                      self.tau_m, polarity="on_off", synapse_name="CA3_feature_cell_synapses",
                                      monitor_name="CA3_feature_spikes", record_spikes=False)
        self.interneurons = None
        return EnergyGraph([self.features, self.memories, self.coupling, back, self.cells, self.feature_cells],
                           energy_name="CA3_energy")

    def _set_initial(self, v0, h0, I):
        super()._set_initial(v0, h0, I)
        # every population starts in its steady state at the initial activations: traces at their means,
        # copies at phases (k + 1/2)/C of the LIF cycle at the initial rate
        g0, f0 = self.feature_lagrangian.activation(v0.ravel()), self.memory_lagrangian.activation(h0.ravel())
        self.features.group.s = g0
        self.memories.group.s = f0
        self.cells.start(f0)
        self.feature_cells.start(g0)

    def recall(self, *args, **kwargs):
        result = super().recall(*args, **kwargs)
        result.attrs.update(n_feature_spikes=int(self.feature_cells.monitor.num_spikes))
        return result

    def _circuit_attrs(self):
        attrs = super()._circuit_attrs()
        attrs.update(circuit="CA3 LIF spiking", feature_copies=self.feature_copies,
                     feature_rate_Hz=float(self.feature_rate / Hz), tau_m_ms=float(self.tau_m / ms),
                     spiking="LIF memory and ON/OFF feature cells, inverse f-I drive, staggered starts", seed=None)
        return attrs
