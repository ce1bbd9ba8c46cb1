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

import numpy as np
from brian2 import Hz, NeuronGroup, SpikeMonitor, Synapses, linked_var, ms

from .hippocampus import check_rate
from ..core.graph import EnergyGraph
from ..core.populations import Population, Projection, check_tau, named_clock
from .spiking import SpikingCA3, _SpikingMemories

__all__ = ["LIFSpikingCA3"]

_LIF = """dV/dt = (J - V)/tau_m : 1
J = 1/(1 - exp(-1/(p*rate_max*tau_m + 1e-9))) : 1
rate_max : Hz (shared, constant)
tau_m : second (shared, constant)
"""


class _SpikingFeatures(Population):
    """Rate-model feature neurons with an ON-minus-OFF synaptic trace ``s`` driven by their cells' spikes."""

    def equations(self):
        return super().equations() + "\nds/dt = -s/tau_syn : 1\ntau_syn : second (shared, constant)"


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
        nf, K = self.n_features, self.n_memories
        self.features = _SpikingFeatures("CA3_features", nf, self.feature_lagrangian, self.tau_f, "v", "g", "CA3")
        self.memories = _SpikingMemories("CA3_memories", K, self.memory_lagrangian, self.tau_h, "h", "f", "CA3")
        self.coupling = Projection(self.features, self.memories, self.patterns, name="CA3_to_memories",
                                   pre_variable="s")
        back = Projection(self.memories, self.features, self.patterns.T, name="CA3_spikes_to_features",
                          pre_variable="s")
        self.interneurons = None
        return EnergyGraph([self.features, self.memories], [self.coupling], flows=[back], extras=[self._lif_cells],
                           energy_name="CA3_energy")

    def _lif_cells(self):
        """LIF memory cells and ON/OFF feature cells, their synapses onto the traces ``s``, spike monitors."""
        nf, K, C, Cf = self.n_features, self.n_memories, self.copies, self.feature_copies
        self.features.group.tau_syn = self.tau_syn
        self.memories.group.tau_syn = self.tau_syn
        # memory cells: p = f_mu (a linked variable turned into the cells' own 'p' each step)
        mem_cells = NeuronGroup(K * C, _LIF + "p : 1 (linked)", threshold="V > 1", reset="V = 0", method="euler",
                                name="CA3_memory_cells", clock=named_clock(self.dt, "CA3_memory_cells_clock"))
        mem_cells.p = linked_var(self.memories.group, "f", index=np.repeat(np.arange(K), C))
        mem_cells.rate_max, mem_cells.tau_m = self.max_rate, self.tau_m
        mem_cells.V = np.tile(np.arange(C) / C, K)
        q = 1.0 / float(C * self.max_rate * self.tau_syn)
        msyn = Synapses(mem_cells, self.memories.group, on_pre=f"s_post += {q!r}", name="CA3_cell_synapses",
                        clock=mem_cells.clock)
        msyn.connect(j=f"i // {C}")
        # feature ON/OFF cells: index (polarity * N_f + i) * Cf + copy
        n_fc = 2 * nf * Cf
        feat_cells = NeuronGroup(n_fc, _LIF.replace("p*rate_max", "clip(pol*gl, 0, 1)*rate_max")
                                 + "gl : 1 (linked)\npol : 1 (constant)", threshold="V > 1", reset="V = 0",
                                 method="euler", name="CA3_feature_cells",
                                 clock=named_clock(self.dt, "CA3_feature_cells_clock"))
        idx = np.arange(n_fc)
        feat_of = (idx // Cf) % nf
        feat_cells.gl = linked_var(self.features.group, "g", index=feat_of)
        feat_cells.pol = np.where(idx < nf * Cf, 1.0, -1.0)
        feat_cells.rate_max, feat_cells.tau_m = self.feature_rate, self.tau_m
        feat_cells.V = (idx % Cf) / Cf
        qf = 1.0 / float(Cf * self.feature_rate * self.tau_syn)
        fsyn = Synapses(feat_cells, self.features.group, on_pre=f"s_post += pol_pre*{qf!r}",
                        name="CA3_feature_cell_synapses", clock=feat_cells.clock)
        fsyn.connect(i=idx.astype(np.int32), j=feat_of.astype(np.int32))
        self._stagger = (np.tile((np.arange(C) + 0.5) / C, K), ((idx % Cf) + 0.5) / Cf)
        self.spike_monitor = SpikeMonitor(mem_cells, name="CA3_memory_spikes")
        self.feature_spike_monitor = SpikeMonitor(feat_cells, record=False, name="CA3_feature_spikes")
        self._cells = (mem_cells, feat_cells)
        return [mem_cells, msyn, feat_cells, fsyn, self.spike_monitor, self.feature_spike_monitor]

    def _set_initial(self, v0, h0, I):
        super()._set_initial(v0, h0, I)
        # every population starts in its steady state at the initial activations: traces at their means,
        # copies at phases (k + 1/2)/C of the LIF cycle at the initial rate
        g0, f0 = self.feature_lagrangian.activation(v0.ravel()), self.memory_lagrangian.activation(h0.ravel())
        self.features.group.s = g0
        self.memories.group.s = f0
        mem_cells, feat_cells = self._cells
        C, Cf, nf = self.copies, self.feature_copies, self.n_features
        mem_cells.V = _steady_phase(np.repeat(f0, C), self.max_rate, self.tau_m, self._stagger[0])
        pol = np.where(np.arange(2 * nf * Cf) < nf * Cf, 1.0, -1.0)
        p_feat = np.clip(pol * np.tile(np.repeat(g0, Cf), 2), 0, 1)
        feat_cells.V = _steady_phase(p_feat, self.feature_rate, self.tau_m, self._stagger[1])

    def recall(self, *args, **kwargs):
        result = super().recall(*args, **kwargs)
        result.attrs.update(n_feature_spikes=int(self.feature_spike_monitor.num_spikes))
        return result

    def _circuit_attrs(self):
        attrs = super()._circuit_attrs()
        attrs.update(circuit="CA3 LIF spiking", feature_copies=self.feature_copies,
                     feature_rate_Hz=float(self.feature_rate / Hz), tau_m_ms=float(self.tau_m / ms),
                     spiking="LIF memory and ON/OFF feature cells, inverse f-I drive, staggered starts", seed=None)
        return attrs


def _steady_phase(p, rate, tau_m, phase):
    """Potential of an LIF cell at ``phase`` in [0, 1) of its cycle at rate ``p * rate``.

    With ``J = 1/(1 - exp(-1/(r tau_m)))`` the cycle is ``V(s) = J (1 - exp(-s/tau_m))`` for ``s`` in
    ``[0, 1/r)``, i.e. ``V = J (1 - ((J - 1)/J)^phase)``; at ``r -> 0`` the cell sits at threshold.
    """
    x = np.asarray(p, float) * float(rate * tau_m)
    with np.errstate(divide="ignore", over="ignore"):
        J = 1.0 / (1.0 - np.exp(-1.0 / (x + 1e-9)))
    return np.minimum(J * (1.0 - ((J - 1.0) / J) ** phase), 1.0)
