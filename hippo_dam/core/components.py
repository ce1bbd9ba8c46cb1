"""The components a circuit adds to populations and projections: relays, inhibition, spikes, moving input.

A network is a list of components (:class:`~hippo_dam.core.graph.EnergyGraph`).
Every component has a ``name``, a ``stage`` (0: creates neuron groups; 1:
joins or drives groups built at stage 0; 2: observes them), an
``energy_role`` (``'population'`` for a Legendre term, ``'coupling'`` for a
coupling term, ``None``), ``lyapunov`` (False where it lets the energy rise by
design) and ``build(dt)``, which returns the Brian2 objects it owns. The
energy-graph pieces are :class:`~hippo_dam.core.populations.Population`,
:class:`~hippo_dam.core.populations.SymmetricProjection`,
:class:`~hippo_dam.core.dense.DenseSymmetricProjection` and the one-way
:class:`~hippo_dam.core.populations.Projection`; this module holds the rest:

* :class:`RelayPopulation`: a linear relay whose output is its summed input in the same step (``tau -> 0``);
* :class:`InhibitedPopulation` and :class:`InterneuronPool`: feedback inhibition
  ``a_mu = exp(beta (x_mu - y))``, ``tau_I dy/dt = (1/beta) log sum_mu a_mu``;
* :class:`TracedPopulation`: a rate population with a synaptic trace
  ``tau_syn ds/dt = -s`` that spikes increment;
* :class:`PoissonCells` and :class:`LIFCells`: spiking cells that fire at a
  population's activation and write into a traced population;
* :class:`LIFPopulation`: a layer of noisy LIF cells integrating the projections into it, read through its
  spikes' synaptic trace;
* :class:`PlasticProjection`: a symmetric projection whose weights learn during the run by a local rule;
* :class:`MovingInput`: an input current read every step from a ``TimedArray``;
* :class:`StateRecorder`: every neuron's state of some populations on a clock.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray, linked_var, ms, second

from ._compat import set_state_update_order
from .populations import (Population, SymmetricProjection, _connect_all_to_all, check_quantity, check_tau,
                          connect_within_copies, named_clock)
from .schedule import ORDER_ACTIVATION, ORDER_INHIBITION, ORDER_RELAY_COPY, ORDER_RELAY_GROUP, ORDER_STATE_UPDATE

__all__ = ["RelayPopulation", "InhibitedPopulation", "InterneuronPool", "TracedPopulation", "PoissonCells",
           "LIFCells", "LIFPopulation", "PlasticProjection", "MovingInput", "StateRecorder"]

ORDER_MOVING_INPUT = -25  # before the activations (-20): I(t) of this step feeds the energy (4) and Euler step (10)


class RelayPopulation:
    """A linear relay population whose output equals its summed input in the same step (``tau_V -> 0``)::

        z_i = u_i = sum over projections into it

    Parameters
    ----------
    name : str
    n : int
    region : str, optional
    state : str
        Name of the relayed variable (also its activation: projections out of it read it).
    batch : int
    """

    stage = 0
    energy_role = None
    lyapunov = True

    def __init__(self, name, n, region=None, state="z", batch=1):
        self.name, self.n, self.region, self.state, self.activation = name, int(n), region, state, state
        self.batch = int(batch)
        self.inputs: list[str] = []
        self.group = None

    def build(self, dt):
        if not self.inputs:
            raise ValueError(f"relay {self.name!r} has no projection into it")
        eqs = "\n".join([f"{self.state} : 1", "u = " + " + ".join(self.inputs) + " : 1"]
                        + [f"{u} : 1" for u in self.inputs])
        group = NeuronGroup(self.n * self.batch, eqs, name=self.name, order=ORDER_RELAY_GROUP,
                            clock=named_clock(dt, f"{self.name}_clock"))
        copy = group.run_regularly(f"{self.state} = u", when="groups", order=ORDER_RELAY_COPY,
                                   name=f"{self.name}_copy")
        self.group = group
        return [group, copy]


class InhibitedPopulation(Population):
    """Rate cells inhibited subtractively by an :class:`InterneuronPool`: ``a = exp(beta (x - y_inh))``.

    Subtractive on the potential is divisive on the rate. ``lagrangian`` must
    be a softmax (``log_sum_exp``): it is the fast-inhibition limit
    (``y_inh = lse(x)``), which defines the energy the circuit is compared with;
    the activation reads the pool's ``y_inh`` instead of the layer reductions.
    """

    activation_is_gradient = False  # a = exp(beta (x - y_inh)), not dL/dx: the energy is evaluated offline

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "beta" not in self.lagrangian.params or self.lagrangian.additive:
            raise ValueError(f"population {self.name!r}: inhibition needs a softmax Lagrangian "
                             f"(log_sum_exp with a beta), got {self.lagrangian!r}")
        self.pool = None

    def equations(self):
        lines = [ln for ln in super().equations().splitlines() if "(linked)" not in ln]
        return "\n".join(lines + ["y_inh : 1 (linked)"])

    def build(self, dt):
        if self.pool is None:
            raise ValueError(f"population {self.name!r} is inhibited by no InterneuronPool")
        group = NeuronGroup(self.n * self.batch, self.equations(), method="euler", name=self.name,
                            clock=named_clock(dt, f"{self.name}_clock"))
        set_state_update_order(group, ORDER_STATE_UPDATE)
        group.tau = self.tau if not np.ndim(self.tau) else np.tile(np.asarray(self.tau / second), self.batch) * second
        group.beta = self.lagrangian.params["beta"]
        act = group.run_regularly(f"{self.activation} = exp(beta*({self.state} - y_inh))", when="groups",
                                  order=ORDER_ACTIVATION, name=f"{self.name}_activation")
        self.group = group
        return [group, act]


class InterneuronPool:
    """A pool of ``n`` fast-spiking basket cells inhibiting an :class:`InhibitedPopulation`::

        tau_I dy_k/dt = (1/beta) log S,    S = sum_mu a_mu   (the summed rate of the target, units of its peak)
        y_inh = mean_k y_k

    Since ``(1/beta) log sum_mu exp(beta (x_mu - y)) = lse(x) - y``, each cell
    relaxes to the log-sum-exp of the target's potentials; with ``tau_I -> 0``
    the pool is the softmax's own normalisation. With a finite ``tau_I`` the
    summed rate ``S`` departs from 1 while the pool lags, and the energy can
    rise (``lyapunov = False``). Each copy of a batch has its own pool.

    Parameters
    ----------
    name : str
    target : InhibitedPopulation
    n : int
        Interneurons per copy.
    tau : Quantity
        Time constant ``tau_I``.
    region : str, optional
    """

    stage = 1
    energy_role = None
    lyapunov = False
    activation = "y"

    def __init__(self, name, target, n, tau, region=None):
        if not isinstance(target, InhibitedPopulation):
            raise TypeError(f"interneuron pool {name!r}: the target must be an InhibitedPopulation, "
                            f"got {type(target).__name__}")
        self.name, self.target, self.n, self.region = name, target, int(n), region
        if self.n < 1:
            raise ValueError(f"interneuron pool {name!r} needs at least one cell, got n={n}")
        self.tau = check_tau(tau, f"tau of {name}")
        self.beta = float(target.lagrangian.params["beta"])
        self.batch = target.batch
        self.state = "y"
        self.group = self.pool = None
        target.pool = self

    def build(self, dt):
        target = self.target
        eqs = ("dy/dt = log(S)/(beta*tau) : 1\n"
               "S : 1  # summed memory rate received (units of max_rate)\n"
               "tau : second (constant)\nbeta : 1 (shared, constant)")
        clock = named_clock(dt, f"{self.name}_clock")
        group = NeuronGroup(self.n * self.batch, eqs, method="euler", name=self.name, clock=clock)
        set_state_update_order(group, ORDER_STATE_UPDATE)
        group.tau, group.beta = self.tau, self.beta
        excite = Synapses(target.group, group, f"S_post = {target.activation}_pre : 1 (summed)",
                          name=f"{self.name}_from_memories", clock=clock)
        connect_within_copies(excite, target.n, self.n, self.batch)
        # pool mean of y, summed before the target's activations are computed
        pool = NeuronGroup(self.batch, "y_mean : 1", name=f"{self.name}_pool", order=ORDER_INHIBITION, clock=clock)
        inhibit = Synapses(group, pool, f"y_mean_post = y_pre/{self.n} : 1 (summed)", name=f"{self.name}_mean",
                           clock=clock)
        connect_within_copies(inhibit, self.n, 1, self.batch)
        target.group.y_inh = linked_var(pool, "y_mean", index=target.copy_index())
        self.group, self.pool = group, pool
        return [group, excite, pool, inhibit]


class TracedPopulation(Population):
    """A rate population with a synaptic trace that spikes increment: ``tau_syn ds/dt = -s``.

    Projections read the trace with ``pre_variable='s'``; the cells of
    :class:`PoissonCells` or :class:`LIFCells` write into it. Parameters as
    :class:`~hippo_dam.core.populations.Population`, plus ``tau_syn``.
    """

    def __init__(self, *args, tau_syn, **kwargs):
        super().__init__(*args, **kwargs)
        self.tau_syn = check_tau(tau_syn, f"tau_syn of {self.name}")

    def equations(self):
        return super().equations() + "\nds/dt = -s/tau_syn : 1\ntau_syn : second (shared, constant)"

    def build(self, dt):
        objects = super().build(dt)
        self.group.tau_syn = self.tau_syn
        return objects


class PoissonCells:
    """``copies`` Poisson cells per neuron of a traced population, firing at ``max_rate * a``::

        P(spike in dt) = max_rate * a_mu * dt,     s_mu += 1 / (copies * max_rate * tau_syn)  per spike

    so the trace ``s`` of the population has the mean ``a`` (unit-area synapses).

    Parameters
    ----------
    name : str
        Brian2 name of the cells.
    source : TracedPopulation
        Whose activation sets the rates and whose trace the spikes drive.
    copies : int
    max_rate : Quantity
    monitor_name, synapse_name : str, optional
        Brian2 names of the spike monitor and the synapses (default ``<name>_spikes``, ``<name>_synapses``).
    codeobj_class : optional
        Code object class of the cells (the numpy target where Cython's ``rand()`` cannot compile).
    """

    stage = 1
    energy_role = None
    lyapunov = False  # Poisson spikes: the energy fluctuates

    def __init__(self, name, source, copies, max_rate, monitor_name=None, codeobj_class=None,
                 synapse_name=None):
        if not isinstance(source, TracedPopulation):
            raise TypeError(f"{name!r}: spikes need a TracedPopulation to drive, got {type(source).__name__}")
        self.name, self.source, self.copies, self.max_rate = name, source, int(copies), max_rate
        if self.copies < 1:
            raise ValueError(f"{name!r}: copies must be >= 1, got {copies}")
        self.monitor_name = monitor_name or f"{name}_spikes"
        self.synapse_name = synapse_name or f"{name}_synapses"
        self.codeobj_class = codeobj_class
        self.cells = self.synapses = self.monitor = None

    def build(self, dt):
        src = self.source
        units = src.n * src.batch
        cells = NeuronGroup(units * self.copies, "p : 1 (linked)\nrate_max : Hz (shared, constant)",
                            threshold="rand() < rate_max*p*dt", name=self.name,
                            clock=named_clock(dt, f"{self.name}_clock"), codeobj_class=self.codeobj_class)
        cells.p = linked_var(src.group, src.activation, index=np.repeat(np.arange(units), self.copies))
        cells.rate_max = self.max_rate
        q = 1.0 / float(self.copies * self.max_rate * src.tau_syn)
        syn = Synapses(cells, src.group, on_pre=f"s_post += {q!r}", name=self.synapse_name, clock=cells.clock)
        syn.connect(j="i // %d" % self.copies)
        self.monitor = SpikeMonitor(cells, name=self.monitor_name)
        self.cells, self.synapses = cells, syn
        return [cells, syn, self.monitor]


_LIF = """dV/dt = (J - V)/tau_m : 1
J = 1/(1 - exp(-1/(p*rate_max*tau_m + 1e-9))) : 1
rate_max : Hz (shared, constant)
tau_m : second (shared, constant)
"""


class LIFCells:
    """Leaky integrate-and-fire cells that fire at a traced population's activation::

        tau_m dV/dt = J - V,   spike and V -> 0 when V > 1,   J = 1 / (1 - exp(-1 / (r tau_m)))

    ``J`` inverts the LIF f-I curve, so a cell with target rate ``r`` fires at
    ``r``: ``r = rate * a`` (``polarity='on'``), or ON and OFF cells at
    ``rate * max(+-a, 0)`` (``polarity='on_off'``, for activations of either
    sign). Each spike adds ``+-1 / (copies rate tau_syn)`` to the neuron's trace
    ``s``. The ``copies`` cells of a neuron start at staggered phases
    (:meth:`start`), so their spikes interleave.

    Parameters
    ----------
    name : str
    source : TracedPopulation
    copies : int
        Cells per neuron (per polarity).
    rate : Quantity
        Rate at ``|a| = 1``.
    tau_m : Quantity
    polarity : {'on', 'on_off'}
    synapse_name, monitor_name : str
    record_spikes : bool
        Record every spike (else count them only).
    """

    stage = 1
    energy_role = None
    lyapunov = False

    def __init__(self, name, source, copies, rate, tau_m, polarity="on", synapse_name=None, monitor_name=None,
                 record_spikes=True):
        if not isinstance(source, TracedPopulation):
            raise TypeError(f"{name!r}: spikes need a TracedPopulation to drive, got {type(source).__name__}")
        if polarity not in ("on", "on_off"):
            raise ValueError(f"{name!r}: polarity must be 'on' or 'on_off', got {polarity!r}")
        if source.batch != 1:
            raise ValueError(f"{name!r}: LIF cells start at per-cell phases; one copy (batch 1) only")
        self.name, self.source, self.copies, self.rate = name, source, int(copies), rate
        if self.copies < 1:
            raise ValueError(f"{name!r}: copies must be >= 1, got {copies}")
        self.tau_m = check_tau(tau_m, "tau_m")
        self.polarity = polarity
        self.synapse_name = synapse_name or f"{name}_synapses"
        self.monitor_name = monitor_name or f"{name}_spikes"
        self.record_spikes = bool(record_spikes)
        self.cells = self.synapses = self.monitor = None

    @property
    def n_cells(self):
        return self.source.n * self.copies * (2 if self.polarity == "on_off" else 1)

    def _signs(self):
        """Polarity of each cell: index (polarity * n + neuron) * copies + copy."""
        n, C = self.source.n, self.copies
        return np.where(np.arange(self.n_cells) < n * C, 1.0, -1.0)

    def _neuron_of(self):
        return (np.arange(self.n_cells) // self.copies) % self.source.n

    def build(self, dt):
        src, C = self.source, self.copies
        q = 1.0 / float(C * self.rate * src.tau_syn)
        clock = named_clock(dt, f"{self.name}_clock")
        if self.polarity == "on":
            cells = NeuronGroup(self.n_cells, _LIF + "p : 1 (linked)", threshold="V > 1", reset="V = 0",
                                method="euler", name=self.name, clock=clock)
            cells.p = linked_var(src.group, src.activation, index=self._neuron_of())
            syn = Synapses(cells, src.group, on_pre=f"s_post += {q!r}", name=self.synapse_name, clock=clock)
            syn.connect(j=f"i // {C}")
        else:
            cells = NeuronGroup(self.n_cells, _LIF.replace("p*rate_max", "clip(pol*gl, 0, 1)*rate_max")
                                + "gl : 1 (linked)\npol : 1 (constant)", threshold="V > 1", reset="V = 0",
                                method="euler", name=self.name, clock=clock)
            cells.gl = linked_var(src.group, src.activation, index=self._neuron_of())
            cells.pol = self._signs()
            syn = Synapses(cells, src.group, on_pre=f"s_post += pol_pre*{q!r}", name=self.synapse_name, clock=clock)
            syn.connect(i=np.arange(self.n_cells, dtype=np.int32), j=self._neuron_of().astype(np.int32))
        cells.rate_max, cells.tau_m = self.rate, self.tau_m
        cells.V = (np.arange(self.n_cells) % C) / C
        self.monitor = SpikeMonitor(cells, record=self.record_spikes, name=self.monitor_name)
        self.cells, self.synapses = cells, syn
        return [cells, syn, self.monitor]

    def start(self, activation):
        """Start every cell in its steady cycle at the neuron's initial ``activation`` (n,).

        The copies sit at phases ``(k + 1/2) / copies`` of the cycle at rate
        ``rate * max(+-a, 0)`` (:func:`steady_phase`).
        """
        a = np.repeat(np.asarray(activation, float), self.copies)
        p = np.clip(self._signs() * np.tile(a, 2), 0, 1) if self.polarity == "on_off" else a
        phase = ((np.arange(self.n_cells) % self.copies) + 0.5) / self.copies
        self.cells.V = steady_phase(p, self.rate, self.tau_m, phase)


class LIFPopulation:
    """A layer of leaky integrate-and-fire cells driven by projections, with a synaptic trace as its output::

        tau_m dV_i/dt = u_i + I_i + b - V_i + sigma sqrt(2 tau_m) eta_i(t),   spike and V_i -> 0 when V_i > 1
        tau_syn ds_i/dt = -s_i,        s_i += 1 / (rate_unit tau_syn)  per spike

    ``V`` is the membrane potential in units of the threshold above rest,
    ``u`` the summed input of the projections into the layer (as for a rate
    :class:`~hippo_dam.core.populations.Population`), ``I`` an input current
    (:class:`MovingInput`), ``b`` a constant bias, ``eta`` white noise (the
    background synaptic bombardment: ``V`` fluctuates with standard deviation
    ``sigma`` about its mean). The trace ``s`` is the activation projections
    read: its mean is the cell's rate over ``rate_unit``, so a spiking layer
    stands where a rate layer of activation ``rate / rate_unit`` stood. Near
    threshold a noisy LIF cell's rate grows as a power of its drive
    (about 2; Hansel & van Vreeswijk 2002), the rectified-power Lagrangian's
    activation. Spikes have no energy term (``energy_role = None``).

    Parameters
    ----------
    name : str
    n : int
    tau_m : Quantity
        Membrane time constant.
    tau_syn : Quantity
        Decay of the trace (the synaptic current the spikes make downstream).
    rate_unit : Quantity
        The rate (Hz) at which the trace averages 1.
    sigma : float
        Standard deviation of the membrane noise (units of the threshold); 0: none.
    bias : float
        Constant drive ``b`` (units of the threshold).
    refractory : Quantity
        Absolute refractory period.
    region : str, optional
    record_spikes : bool
        Keep every spike in a ``SpikeMonitor`` named ``<name>_spikes``.

    Notes
    -----
    Brian2's noise is drawn from its random generator: seed it
    (``brian2.seed``) for a reproducible run.
    """

    stage = 0
    energy_role = None
    lyapunov = False
    batch = 1
    state = "V"
    activation = "s"

    def __init__(self, name, n, tau_m, tau_syn, rate_unit=1 * Hz, sigma=0.0, bias=0.0, refractory=2 * ms,
                 region=None, record_spikes=True):
        self.name, self.n, self.region = name, int(n), region
        if self.n < 1:
            raise ValueError(f"LIF population {name!r} needs at least one neuron, got n={n}")
        self.tau_m = check_tau(tau_m, f"tau_m of {name}")
        self.tau_syn = check_tau(tau_syn, f"tau_syn of {name}")
        self.rate_unit = check_quantity(rate_unit, Hz, f"rate_unit of {name}", "rate", "1*Hz")
        self.refractory = check_quantity(refractory, second, f"refractory of {name}", "time", "2*ms", positive=False)
        for what, value in (("sigma", sigma), ("bias", bias)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise TypeError(f"LIF population {name!r}: {what} must be a finite number, got {value!r}")
        if sigma < 0:
            raise ValueError(f"LIF population {name!r}: sigma must be >= 0, got {sigma}")
        self.sigma, self.bias = float(sigma), float(bias)
        self.record_spikes = bool(record_spikes)
        self.inputs: list[str] = []
        self.group = self.monitor = None

    def equations(self):
        noise = " + sigma*sqrt(2/tau_m)*xi" if self.sigma > 0 else ""
        lines = [f"dV/dt = (u + I + bias - V)/tau_m{noise} : 1 (unless refractory)",
                 "ds/dt = -s/tau_syn : 1", "I : 1  # input current", "tau_m : second (shared, constant)",
                 "tau_syn : second (shared, constant)", "bias : 1 (shared, constant)",
                 "sigma : 1 (shared, constant)"]
        lines.append(("u = " + " + ".join(self.inputs) + " : 1") if self.inputs else "u : 1 (constant)")
        return "\n".join(lines + [f"{name} : 1" for name in self.inputs])

    def build(self, dt):
        q = 1.0 / float(self.rate_unit * self.tau_syn)
        group = NeuronGroup(self.n, self.equations(), threshold="V > 1", reset=f"V = 0\ns += {q!r}",
                            refractory=self.refractory, method="euler", name=self.name,
                            clock=named_clock(dt, f"{self.name}_clock"))
        set_state_update_order(group, ORDER_STATE_UPDATE)
        group.tau_m, group.tau_syn, group.bias, group.sigma = self.tau_m, self.tau_syn, self.bias, self.sigma
        self.group = group
        self.monitor = SpikeMonitor(group, record=self.record_spikes, name=f"{self.name}_spikes")
        return [group, self.monitor]

    def spikes(self):
        """(cell, time in s) of every spike of the last run."""
        if self.monitor is None:
            raise RuntimeError(f"LIF population {self.name!r} has not been built and run")
        return np.asarray(self.monitor.i[:]), np.asarray(self.monitor.t[:] / second)


def steady_phase(p, rate, tau_m, phase):
    """Potential of an LIF cell at ``phase`` in [0, 1) of its cycle at rate ``p * rate``.

    With ``J = 1/(1 - exp(-1/(r tau_m)))`` the cycle is ``V(s) = J (1 - exp(-s/tau_m))`` for ``s`` in
    ``[0, 1/r)``, i.e. ``V = J (1 - ((J - 1)/J)^phase)``; at ``r -> 0`` the cell sits at threshold.
    """
    x = np.asarray(p, float) * float(rate * tau_m)
    with np.errstate(divide="ignore", over="ignore"):
        J = 1.0 / (1.0 - np.exp(-1.0 / (x + 1e-9)))
    return np.minimum(J * (1.0 - ((J - 1.0) / J) ** phase), 1.0)


class PlasticProjection(SymmetricProjection):
    """A symmetric projection ``W`` (N_post x N_pre) that learns during the run by a local rule::

        dW[mu,i]/dt = eta s(t) a_post[mu] (a_pre[i] - W[mu,i]) - lambda W[mu,i]

    Each synapse sees only its own weight and the activations of its two
    cells. With a softmax post layer (competition through the normalising
    interneuron pool) the unit that wins an input moves its weights toward it
    (soft competitive learning, an online k-means); ``lambda`` lets unused
    weights fade (forgetting). It feeds both layers as any symmetric projection
    (``u_post = W a_pre``, ``u_pre = W^T a_post``) and its energy term is the
    usual ``-a_post . W a_pre`` with the current ``W``; while ``W`` moves the
    energy is not a Lyapunov function (``lyapunov = False``).

    ``s(t)`` is a plasticity schedule (1 without one): a neuromodulatory
    signal every synapse receives alike (novelty, acetylcholine), which sees
    no cell. The feedback onto the pre layer can be scaled by ``c(t)``,
    ``u_pre = c(t) W^T a_post`` (1 without one: symmetric); encoding with the
    feedback off and recalling with it on is Hasselmo's (2006) account of
    acetylcholine in the hippocampus.

    The weights run on the Euler step of the neurons (schedule order 10), from
    the activations of the same step. Each recall starts from ``weights``;
    :meth:`learned_weights` reads the weights the last run reached.

    Parameters
    ----------
    pre, post : Population
    weights : array (post.n, pre.n)
        Initial weights.
    learning_rate : Quantity
        ``eta`` (Hz): one over the time a fully active pair takes to write.
    forgetting_rate : Quantity
        ``lambda`` (Hz), default 0.
    name : str
    plasticity : TimedArray, optional
        ``s(t)`` (dimensionless, >= 0) gating the learning rate; its Brian2 name
        should be fixed (it is in the generated code).
    feedback : float or TimedArray, optional
        ``c`` or ``c(t)`` (dimensionless, >= 0): the gain of the feedback onto the pre layer.
    """

    lyapunov = False

    def __init__(self, pre, post, weights, learning_rate, forgetting_rate=0 * Hz, name="plastic", plasticity=None,
                 feedback=1.0):
        super().__init__(pre, post, weights, name=name)
        self.plasticity = _check_schedule(plasticity, f"plasticity of {name}", allow_number=False)
        self.feedback = _check_schedule(feedback, f"feedback of {name}", allow_number=True)
        self.learning_rate = check_quantity(learning_rate, Hz, f"learning_rate of {name}", "rate", "1*Hz",
                                            positive=False)
        self.forgetting_rate = check_quantity(forgetting_rate, Hz, f"forgetting_rate of {name}", "rate", "0.1*Hz",
                                              positive=False)
        for what, rate in (("learning_rate", self.learning_rate), ("forgetting_rate", self.forgetting_rate)):
            if float(rate / Hz) < 0:
                raise ValueError(f"projection {name!r}: {what} must be >= 0, got {rate}")

    def build(self, dt=None):
        u, a_pre, a_post = self.input_name, self.pre.activation, self.post.activation
        # a schedule is read once per step into a shared variable, not once per synapse
        schedule, extra = [], ""
        gate = ""
        if self.plasticity is not None:
            gate, extra = "s_gate*", extra + "\ns_gate : 1 (shared)"
            schedule.append(f"s_gate = {self.name}_plasticity(t)")
        if isinstance(self.feedback, TimedArray):
            gain, extra = "c_fb*", extra + "\nc_fb : 1 (shared)"
            schedule.append(f"c_fb = {self.name}_feedback(t)")
        elif self.feedback in (0.0, 1.0):
            gain = ""
        else:
            gain, extra = "c_fb*", extra + "\nc_fb : 1 (shared, constant)"
        # no feedback at all: the pre layer's input u stays 0, and no loop over the synapses computes it
        back = "" if self.feedback == 0.0 else f"\n{u}_pre = {gain}w*{a_post}_post : 1 (summed)"
        model = (f"dw/dt = eta*{gate}{a_post}_post*({a_pre}_pre - w) - lam*w : 1 (clock-driven)\n"
                 "eta : Hz (shared, constant)\nlam : Hz (shared, constant)\n"
                 f"{u}_post = w*{a_pre}_pre : 1 (summed)" + back + extra)
        syn = Synapses(self.pre.group, self.post.group, model, method="euler", name=self.name,
                       clock=self.pre.group.clock)
        _connect_all_to_all(syn, self.pre.n, self.post.n, self.weights, self.pre.batch)
        syn.eta, syn.lam = self.learning_rate, self.forgetting_rate
        if gain and not isinstance(self.feedback, TimedArray):
            syn.c_fb = self.feedback
        if self.plasticity is not None:
            syn.namespace[f"{self.name}_plasticity"] = self.plasticity
        if isinstance(self.feedback, TimedArray):
            syn.namespace[f"{self.name}_feedback"] = self.feedback
        set_state_update_order(syn, ORDER_STATE_UPDATE)
        self.synapses = syn
        if not schedule:
            return [syn]
        # at the start of the step: before this step's sums and Euler step read the values
        return [syn, syn.run_regularly("\n".join(schedule), when="start", name=f"{self.name}_schedule")]

    def learned_weights(self):
        """The weights the last run reached, (batch, N_post, N_pre) (copy ``b`` learns on its own cues)."""
        if self.synapses is None:
            raise RuntimeError(f"projection {self.name!r} has not been built and run")
        n_pre, n_post, batch = self.pre.n, self.post.n, self.pre.batch
        # synapse order: copy, then (pre, post) in C order
        return np.asarray(self.synapses.w[:]).reshape(batch, n_pre, n_post).transpose(0, 2, 1).copy()


def _check_schedule(value, what, allow_number):
    """A gain: a number >= 0 (where allowed) or a 1-D ``TimedArray`` of values >= 0."""
    if value is None and not allow_number:
        return None
    if isinstance(value, TimedArray):
        values = np.asarray(value.values)
        if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{what}: the TimedArray must hold one finite value >= 0 per time step, "
                             f"got shape {values.shape}")
        return value
    if allow_number and isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)) \
            and np.isfinite(value) and value >= 0:
        return float(value)
    raise TypeError(f"{what} must be {'a number >= 0 or ' if allow_number else ''}a TimedArray, got {value!r}")


class MovingInput:
    """The input current of a population read every step from a ``TimedArray``: ``I_i = stimulus(t, i)``.

    Runs before the activations, so the input of a step feeds that step's
    energy and Euler step. The energy is then not a Lyapunov function
    (``dE/dt`` gains ``-a . dI/dt``).

    Parameters
    ----------
    population : Population
    stimulus : TimedArray
        Of shape (T, n); its Brian2 name should be fixed (it is in the generated code).
    name : str, optional
    """

    stage = 1
    energy_role = None
    lyapunov = False

    def __init__(self, population, stimulus, name=None):
        if stimulus is None:
            raise ValueError(f"moving input of {population.name!r}: set a stimulus (a TimedArray of shape (T, n))")
        self.population, self.stimulus = population, stimulus
        self.name = name or f"{population.name}_moving_input"

    def build(self, dt):
        group = self.population.group
        group.namespace["place_input"] = self.stimulus
        return [group.run_regularly("I = place_input(t, i)", when="groups", order=ORDER_MOVING_INPUT,
                                    name=self.name)]


class StateRecorder:
    """Every neuron's state of some populations, recorded on a clock of step ``every`` (default: every step).

    ``trace(pop, batch)`` returns the record as (batch, T, n); ``t`` the times (s).
    """

    stage = 2
    energy_role = None
    lyapunov = True

    def __init__(self, populations, every=None, suffix="monitor"):
        self.populations, self.every, self.suffix = list(populations), every, suffix
        self.name = f"{suffix}_recorder"
        self.monitors = {}

    def build(self, dt):
        every = dt if self.every is None else self.every
        self.monitors = {}
        for pop in self.populations:
            self.monitors[pop.name] = StateMonitor(
                pop.group, pop.state, record=True, name=f"{pop.name}_{self.suffix}",
                clock=named_clock(every, f"{pop.name}_{self.suffix}_clock"))
        return list(self.monitors.values())

    @property
    def t(self):
        return np.array(next(iter(self.monitors.values())).t / second)

    def trace(self, pop, batch=1):
        """(batch, T, n) states of ``pop`` (a population of the recorder)."""
        rec = np.asarray(getattr(self.monitors[pop.name], pop.state))  # (batch*n, T)
        return rec.reshape(batch, pop.n, -1).transpose(0, 2, 1)
