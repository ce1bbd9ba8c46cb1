"""Hippocampal circuits built from the Dense Associative Memory: CA3 and the EC-CA1 loop.

Krotov & Hopfield (2021, section 5) map their two-layer network onto the
hippocampus. This module builds both mappings from the package's Brian2 pieces
(:class:`~hippo_dam.core.populations.Population`, projections,
:class:`~hippo_dam.core.energy.OnlineEnergy`) as subclasses of
:class:`~hippo_dam.networks.two_layer.DenseAssociativeMemory`, so recall, cues, results
and model files work unchanged, and region names travel into results.

What is the paper's mapping and what is this package's assumption
------------------------------------------------------------------
Paper's mapping (Krotov & Hopfield 2021, section 5):

* CA3: one pool of pyramidal cells acts as feature neurons, another as memory
  neurons, joined by symmetric recurrent synapses; an inhibitory network keeps
  the rates in check (the paper suggests it as the home of the softmax).
* EC-CA1: entorhinal layer III holds the feature neurons, CA1 pyramidal cells
  the memory neurons; CA1 projects back mainly to EC layer V (also II/III).

This package's assumptions (not in the paper):

* Time constants: pyramidal cells (CA3 features and memories, EC-III, CA1)
  ``tau = 20 ms`` (membrane time constants of 10-30 ms); fast-spiking
  basket cells either in their fast limit (``interneuron_tau=None``, the
  default, in which the energy is exact) or with ``tau_I`` = 1-10 ms (membrane
  5-10 ms; measured in ``figures/ca3.json``). EC layer V relay
  ``tau_V = 1 ms`` (a real EC-V pyramidal cell is ~15-20 ms: we show what a
  slow relay does).
* CA3 inhibition is **subtractive on the memory cells' potential**,
  ``f_mu = exp(beta (h_mu - y))``, which is **divisive on their rate**
  (``f_mu = exp(beta h_mu) / exp(beta y)``, shunting-like). The interneurons
  (all-to-all, ``N_I`` identical cells, each memory cell receiving the pool
  mean of ``y``) integrate the logarithm of the summed memory rate they
  receive, ``tau_I dy/dt = (1/beta) log sum_mu f_mu``, i.e. they raise their
  inhibition while the memory pool's summed rate exceeds its set point 1 (in
  units of ``max_rate``). Because ``(1/beta) log sum_mu exp(beta (h_mu - y))
  = lse(h) - y``, this is exactly a leaky relaxation
  ``tau_I dy/dt = lse(h) - y`` of ``y`` to the log-sum-exp of the memory
  potentials.
* The EC-V -> EC-III relay is linear and one-to-one (EC-V cell ``i`` relays to
  EC-III cell ``i``); a fraction ``direct_fraction`` of CA1's feedback goes
  directly to EC-II/III, the rest through EC-V.

Energy: where it is a Lyapunov function and where not
----------------------------------------------------
* CA3, fast inhibition (``tau_I -> 0``, ``interneuron_tau=None``): ``y = lse(h)``
  at every instant, so ``f = softmax(beta h) = dL_h/dh`` with
  ``L_h = (1/beta) log sum exp(beta h)``: the interneuron pool *is* the
  population-wide reduction of a non-additive Lagrangian (it runs as the
  memory layer's reduction group), the circuit is exactly the two-layer model
  (model B when ``L_v = v^2/2``) and ``E`` never rises.
* CA3, finite ``tau_I``: ``f = S softmax(beta h)`` with ``S = sum f =
  exp(beta (lse(h) - y))``, so ``dE/dt = -tau_f v'.H_v.v' - tau_h h'.H_h.h'
  + (S - 1) softmax^T xi (g'(v) v')``: the energy can rise while the
  interneurons lag (``S != 1``). ``figures/ca3.json`` measures the rise as a
  function of ``tau_I``.
* EC-CA1 loop: CA1 -> EC-III feedback through EC-V with weights ``R`` (EC-V
  from CA1), gain ``a`` (EC-V to EC-III) and the direct share ``p``. With an
  instantaneous relay (``relay_tau=0``) EC-III receives
  ``((1-p) a R + p xi^T) f``; the loop is the symmetric two-layer model iff
  ``(1-p) a R + p xi^T = xi^T`` (**condition**: ``R = xi^T`` and ``a = 1``),
  and then ``E`` never rises. A fast relay (``tau_V << tau_f, tau_h``) gives
  it back by adiabatic elimination, up to ``O(tau_V)`` corrections. A scalar
  gain mismatch ``c = (1-p) a + p != 1`` keeps a Lyapunov function (the
  memory terms of ``E`` multiplied by ``c``) but not ``E`` itself; a weight
  mismatch ``R != xi^T`` or a slow relay breaks the symmetry, and ``E`` then
  rises or oscillates (measured in ``figures/ec_ca1.json``).
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, ms
from brian2.units.fundamentalunits import Quantity

from ..core.components import InhibitedPopulation, InterneuronPool, RelayPopulation
from ..core.graph import EnergyGraph
from ..core.lagrangians import identity, log_sum_exp, make_lagrangian
from ..networks.two_layer import DenseAssociativeMemory
from ..core.populations import Population, Projection, SymmetricProjection, check_positive_quantity, check_tau

__all__ = ["CA3Circuit", "ECCA1Loop", "check_rate"]



def check_rate(rate, what="max_rate"):
    """Return ``rate`` as a positive finite Brian2 frequency, or raise naming the problem."""
    return check_positive_quantity(rate, Hz, what, "rate", "20*Hz")


class _CircuitMixin:
    """Region-labelled extra populations carried into the RecallResult."""

    def _extra_populations(self):
        """Components shown in ``result.extra``; each must be in the graph's ``recorded`` list (read from there)."""
        return []

    def _collect_extra(self, final, trace, batch):
        one = (lambda a: a) if batch > 1 else (lambda a: None if a is None else a[0])  # noqa: E731
        self._last_extra = {pop.name: {"region": pop.region, "state": pop.state, "final": one(final[pop.name]),
                                       "trace": one(trace[pop.name])} for pop in self._extra_populations()}

    def recall(self, *args, **kwargs):
        result = super().recall(*args, **kwargs)
        result.extra = self._last_extra
        result.attrs.update(self._circuit_attrs())
        result.attrs.setdefault("title", self.circuit_name)
        return result


class CA3Circuit(_CircuitMixin, DenseAssociativeMemory):
    """CA3: feature and memory subsets of one pyramidal pool, with feedback inhibition.

    Populations (Brian2 names, region ``'CA3'``): ``CA3_features`` (state
    ``v``), ``CA3_memories`` (state ``h``, rate ``max_rate * f``) and the
    interneurons ``CA3_interneurons`` (state ``y``). Equations::

        tau_f dv_i/dt  = sum_mu xi[mu,i] f_mu - v_i + I_i          g = dL_v/dv
        tau_h dh_mu/dt = sum_i  xi[mu,i] g_i  - h_mu
        f_mu = exp(beta (h_mu - y))                                 subtractive on h, divisive on rate
        tau_I dy_k/dt  = (1/beta) log sum_mu f_mu   ( = lse(h) - y_k ),   y = mean_k y_k

    With ``interneuron_tau=None`` (fast inhibition) ``y = lse(h)`` at every step
    and the memory Lagrangian is ``L_h = (1/beta) log sum exp(beta h)``: the
    circuit is the two-layer model and its energy is a Lyapunov function.

    Parameters
    ----------
    patterns : array (K, N_f)
    feature_lagrangian : Lagrangian, name or mapping (default ``tanh``: bounded pyramidal rates)
    beta : float
        Inverse temperature of the softmax.
    tau_f, tau_h : Quantity
        Pyramidal time constants (default 20 ms each; assumption).
    interneuron_tau : Quantity or None
        Interneuron time constant ``tau_I`` (None: the fast limit, exact energy).
    n_interneurons : int
        Size of the basket-cell pool ``N_I`` (all-to-all; assumption).
    max_rate : Quantity (Hz)
        Rate of a memory cell at ``f = 1``; the pool's summed rate is held at it.
    **kwargs
        ``dt``, ``record_every``, ``energy_every``, ``codegen_target`` as in
        :class:`~hippo_dam.networks.two_layer.DenseAssociativeMemory`.
    """

    circuit_name = "CA3"

    def __init__(self, patterns, feature_lagrangian="tanh", beta=0.1, tau_f=20 * ms, tau_h=20 * ms,
                 interneuron_tau=None, n_interneurons=16, max_rate=20 * Hz, **kwargs):
        for key in ("memory_lagrangian", "feature_region", "memory_region"):
            if key in kwargs:
                raise TypeError(f"CA3Circuit fixes {key} (softmax memories, region 'CA3')")
        super().__init__(patterns, feature_lagrangian, log_sum_exp(beta), tau_f=tau_f, tau_h=tau_h,
                         feature_region="CA3", memory_region="CA3", coupling="synapses", **kwargs)
        self.beta = float(self.memory_lagrangian.params["beta"])
        self.interneuron_tau = None if interneuron_tau is None else check_tau(interneuron_tau, "interneuron_tau")
        if self.interneuron_tau is not None and self.dt >= self.interneuron_tau:
            raise ValueError(f"dt={self.dt} must be smaller than interneuron_tau={self.interneuron_tau}")
        self.n_interneurons = int(n_interneurons)
        if self.n_interneurons < 1:
            raise ValueError(f"n_interneurons must be >= 1, got {n_interneurons}")
        self.max_rate = check_rate(max_rate)

    @property
    def fast_inhibition(self):
        return self.interneuron_tau is None

    @property
    def _energy_is_lyapunov(self):  # lagging interneurons let E rise by design (figures/ca3.json measures it)
        return self.fast_inhibition

    def _graph(self, batch=1):
        self.features = Population("CA3_features", self.n_features, self.feature_lagrangian, self.tau_f,
                                   "v", "g", "CA3", batch=batch)
        if self.fast_inhibition:
            # The interneuron pool in its fast limit is the softmax's reduction group
            # ('CA3_memories_layer': m = max h, Z = sum exp(beta (h - m))).
            self.memories = Population("CA3_memories", self.n_memories, self.memory_lagrangian, self.tau_h,
                                       "h", "f", "CA3", batch=batch)
        else:
            self.memories = InhibitedPopulation("CA3_memories", self.n_memories, self.memory_lagrangian,
                                                self.tau_h, "h", "f", "CA3", batch=batch)
        self.coupling = SymmetricProjection(self.features, self.memories, self.patterns, name="CA3_recurrent")
        parts = [self.features, self.memories, self.coupling]
        if self.fast_inhibition:
            self.interneurons = None
            return EnergyGraph(parts, energy_name="CA3_energy")
        self.interneurons = InterneuronPool("CA3_interneurons", self.memories, self.n_interneurons,
                                            self.interneuron_tau, "CA3")
        # the activations follow the lagging pool, not dL_h/dh: the fast-limit energy is evaluated offline
        return EnergyGraph(parts + [self.interneurons], energy="offline",
                           recorded=[self.features, self.memories, self.interneurons])

    def _extra_populations(self):
        return [] if self.interneurons is None else [self.interneurons]

    def _initial_values(self, v0, h0, I):
        values = super()._initial_values(v0, h0, I)
        if self.interneurons is not None:
            # interneurons start at their steady state for h0 (assumption), per copy of a batch
            values[self.interneurons.group.y] = np.repeat(_lse(h0, self.beta), self.n_interneurons)
        return values

    def _circuit_attrs(self):
        return {"circuit": "CA3", "beta": self.beta, "max_rate_Hz": float(self.max_rate / Hz),
                "interneuron_tau_ms": 0.0 if self.fast_inhibition else float(self.interneuron_tau / ms),
                "n_interneurons": self.n_interneurons,
                "inhibition": "subtractive on memory potential (divisive on rate)",
                "energy": "online" if self.fast_inhibition else "offline, fast-limit energy of (v, h)"}

    def memory_rates(self, result):
        """Memory-cell rates ``max_rate * f(h)`` (Hz, as a float array) of a result's trace.

        ``f`` is the softmax of the recorded potentials (the fast-inhibition
        rate); with dynamic interneurons the actual rate uses the recorded
        ``y``: ``f = exp(beta (h - y))``.
        """
        if result.h is None:
            raise ValueError("the result has no recorded memory states (record_every=None)")
        if self.fast_inhibition or "CA3_interneurons" not in result.extra:
            f = self.memory_lagrangian.activation(result.h)
        else:
            y = result.extra["CA3_interneurons"]["trace"].mean(axis=1, keepdims=True)
            f = np.exp(self.beta * (result.h - y))
        return f * float(self.max_rate / Hz)


def _lse(h, beta):
    h = np.asarray(h, float)
    m = h.max(axis=-1, keepdims=True)
    return (m + np.log(np.sum(np.exp(beta * (h - m)), axis=-1, keepdims=True)) / beta)[..., 0]


class ECCA1Loop(_CircuitMixin, DenseAssociativeMemory):
    """The entorhinal-CA1 loop: EC-III features, CA1 memories, feedback through EC-V.

    Populations (Brian2 name / region): ``EC_III`` / ``'EC-III'`` (state ``v``),
    ``CA1`` / ``'CA1'`` (state ``h``), ``EC_V`` / ``'EC-V'`` (state ``z``).
    Equations::

        tau_f dv_i/dt  = (1-p) a z_i + p sum_mu xi[mu,i] f_mu - v_i + I_i     EC-III
        tau_h dh_mu/dt = sum_i xi[mu,i] g_i - h_mu                            CA1 (temporoammonic path)
        tau_V dz_i/dt  = sum_mu R[i,mu] f_mu - z_i                            EC-V (z = R f if tau_V = 0)

    with ``R = xi^T`` unless ``relay_weights`` is given. The loop is the
    symmetric two-layer model when ``tau_V = 0``, ``a = 1`` and ``R = xi^T``
    (then its energy never rises); see the module docstring.

    Parameters
    ----------
    patterns : array (K, N_f)
    feature_lagrangian, memory_lagrangian : Lagrangian (default tanh / log_sum_exp(0.1))
    tau_f, tau_h : Quantity
        EC-III and CA1 time constants (default 20 ms; assumption).
    relay_tau : Quantity
        EC-V time constant; ``0*ms`` for an instantaneous relay (default 1 ms).
    relay_gain : float
        EC-V -> EC-III gain ``a`` (1: symmetric).
    direct_fraction : float in [0, 1]
        Share ``p`` of CA1's feedback that goes directly to EC-II/III (default 0.2).
    relay_weights : array (N_f, K), optional
        CA1 -> EC-V weights ``R`` (default ``xi^T``; anything else breaks symmetry).
    max_rate : Quantity (Hz)
        Rate of a CA1 cell at ``f = 1`` (for plots).
    """

    circuit_name = "EC-CA1"

    def __init__(self, patterns, feature_lagrangian="tanh", memory_lagrangian=None, tau_f=20 * ms,
                 tau_h=20 * ms, relay_tau=1 * ms, relay_gain=1.0, direct_fraction=0.2, relay_weights=None,
                 max_rate=20 * Hz, **kwargs):
        for key in ("feature_region", "memory_region"):
            if key in kwargs:
                raise TypeError(f"ECCA1Loop fixes {key} ('EC-III', 'CA1')")
        memory_lagrangian = log_sum_exp(0.1) if memory_lagrangian is None else make_lagrangian(memory_lagrangian)
        super().__init__(patterns, feature_lagrangian, memory_lagrangian, tau_f=tau_f, tau_h=tau_h,
                         feature_region="EC-III", memory_region="CA1", coupling="synapses", **kwargs)
        if not isinstance(relay_tau, Quantity):
            raise TypeError(f"relay_tau needs time units (0*ms for an instantaneous relay), got {relay_tau!r}")
        self.relay_tau = None if float(relay_tau / ms) == 0 else check_tau(relay_tau, "relay_tau")
        if self.relay_tau is not None and self.dt >= self.relay_tau:
            raise ValueError(f"dt={self.dt} must be smaller than relay_tau={self.relay_tau} (or use 0*ms)")
        self.relay_gain = float(relay_gain)
        if not np.isfinite(self.relay_gain):
            raise ValueError(f"relay_gain must be finite, got {relay_gain}")
        self.direct_fraction = float(direct_fraction)
        if not 0 <= self.direct_fraction <= 1:
            raise ValueError(f"direct_fraction must lie in [0, 1], got {direct_fraction}")
        if relay_weights is None:
            relay_weights = self.patterns.T
        self.relay_weights = np.asarray(relay_weights, dtype=float)
        if self.relay_weights.shape != (self.n_features, self.n_memories):
            raise ValueError(f"relay_weights must have shape (N_f, K) = ({self.n_features}, {self.n_memories}), "
                             f"got {self.relay_weights.shape}")
        if not np.all(np.isfinite(self.relay_weights)):
            raise ValueError("relay_weights contain NaN or inf")
        self.max_rate = check_rate(max_rate)

    @property
    def symmetric(self):
        """True when the loop reduces to the symmetric two-layer model (instant relay, a = 1, R = xi^T)."""
        return (self.relay_tau is None and self.relay_gain == 1.0
                and np.array_equal(self.relay_weights, self.patterns.T))

    @property
    def _energy_is_lyapunov(self):  # an asymmetric loop lets E rise by design (figures/ec_ca1.json measures it)
        return self.symmetric

    def _graph(self, batch=1):
        self.features = Population("EC_III", self.n_features, self.feature_lagrangian, self.tau_f, "v", "g",
                                   "EC-III", batch=batch)
        self.memories = Population("CA1", self.n_memories, self.memory_lagrangian, self.tau_h, "h", "f", "CA1",
                                   batch=batch)
        if self.relay_tau is None:
            self.relay = RelayPopulation("EC_V", self.n_features, "EC-V", batch=batch)
        else:
            self.relay = Population("EC_V", self.n_features, identity(), self.relay_tau, "z", "r", "EC-V",
                                    batch=batch, energy_term=False)
        p = self.direct_fraction
        self.coupling = Projection(self.features, self.memories, self.patterns, name="EC_III_to_CA1",
                                   energy_term=True)
        relays = [Projection(self.memories, self.relay, self.relay_weights, name="CA1_to_EC_V"),
                  Projection(self.relay, self.features, (1 - p) * self.relay_gain, name="EC_V_to_EC_III",
                             one_to_one=True)]
        if p > 0:
            relays.append(Projection(self.memories, self.features, p * self.patterns.T, name="CA1_to_EC_III"))
        self.projections = [self.coupling] + relays
        # E of the two-layer model (v, h, xi): the Lyapunov function of the symmetric loop; the relay
        # population and its projections are not energy terms.
        return EnergyGraph([self.features, self.memories, self.relay, self.coupling] + relays,
                           energy_name="EC_CA1_energy",
                           recorded=[self.features, self.memories, self.relay])

    def _extra_populations(self):
        return [self.relay]

    def _circuit_attrs(self):
        return {"circuit": "EC-CA1", "relay_tau_ms": 0.0 if self.relay_tau is None else float(self.relay_tau / ms),
                "relay_gain": self.relay_gain, "direct_fraction": self.direct_fraction,
                "relay_weights_equal_xi_T": int(np.array_equal(self.relay_weights, self.patterns.T)),
                "symmetric": int(self.symmetric), "max_rate_Hz": float(self.max_rate / Hz),
                "energy": "online, two-layer E(v, h; xi)"}
