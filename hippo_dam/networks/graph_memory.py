"""Associative memories given as an energy graph: layers and the symmetric links between them.

The layers of Krotov's general formulation ("Hierarchical Associative Memory",
arXiv 2107.06446): layer ``A`` has ``n_A`` neurons with states ``x^A``, a
Lagrangian ``L_A`` (its gradient is the activation ``a^A``) and time
constants ``tau_A``; a link ``(A, B, W)`` is one symmetric energy term::

    tau_A dx^A/dt = sum_{links into A} (W a^other or W^T a^other) - x^A + I^A
    E = sum_A [ (x^A - I^A) . a^A - L_A(x^A) ]  -  sum_{links (A, B, W)} c a^B . W a^A

(``c = 1/2`` for a recurrent block ``A = B``, else 1). :class:`GraphMemory`
builds any such graph on Brian2 (through :class:`~hippo_dam.core.graph.EnergyGraph`),
recalls from a cue placed in one layer (initial state, optional constant input,
optional clamping of the known entries), and returns every layer's states.
:class:`~hippo_dam.networks.hierarchical.HierarchicalAssociativeMemory` and
:class:`~hippo_dam.networks.general.GeneralAssociativeMemory` are built on it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from brian2 import ms, second
from brian2.units.fundamentalunits import Quantity

from ..checks import check_count
from ..core.dense import DenseSymmetricProjection, check_weight_dtype
from ..core.graph import EnergyGraph
from ..core.lagrangians import make_lagrangian
from .two_layer import STANDALONE_TARGETS, AssociativeMemory, check_cue, check_target
from ..data.patterns import _frozen, check_patterns
from ..core.populations import Population, check_tau

__all__ = ["Layer", "GraphMemory"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Layer:
    """A layer of neurons: a size, a Lagrangian and a time constant (HAMUX: a Lagrangian and a shape).

    Parameters
    ----------
    n : int
        Number of neurons.
    lagrangian : Lagrangian, name or mapping
        ``L_A``; its gradient is the layer's activation.
    tau : Quantity
        Time constant (time units), scalar or one per neuron.
    name : str, optional
        Brian2 name of the layer's NeuronGroup (default ``layer<k>``).
    region : str, optional
        Anatomical label carried into results.
    """

    n: int
    lagrangian: object
    tau: Quantity
    name: str | None = None
    region: str | None = None


class GraphMemory(AssociativeMemory):
    """An associative memory whose energy graph is given as layers and symmetric links.

    Parameters
    ----------
    layers : list of Layer
    links : list of (pre, post, W)
        ``pre``/``post`` are layer indices or names, ``W`` an array of shape
        ``(n_post, n_pre)`` used in both directions; ``pre == post`` is a
        recurrent block (``W`` symmetric, energy factor 1/2).
    patterns : dict {layer: array (K, n_layer)}, optional
        Stored patterns of a layer, against which recalls cued in that layer
        are scored (overlaps, Hamming distance, success).
    dt, record_every, energy_every : Quantity
        As in :class:`~hippo_dam.networks.two_layer.DenseAssociativeMemory`.
    codegen_target : {'cython', 'numpy', 'cpp_standalone'}
        Runtime Cython (default) or numpy, or a C++ standalone project
        compiled once (kept between processes, as the two-layer model's) and
        run again with new cues.
    dtype : {'float64', 'float32'}
        Storage of every ``W``.
    standalone_dir : str, optional
        ``cpp_standalone``: a folder for the project (default: kept in
        ``~/.cache/hippo_dam/standalone``, see :func:`~hippo_dam.core.devices.persistent_project`).
    openmp_threads : int
        ``cpp_standalone``: OpenMP threads (0: none).
    """

    kind = "energy graph"

    def __init__(self, layers, links, patterns=None, dt=0.1 * ms, record_every=0.5 * ms, energy_every=None,
                 codegen_target="cython", dtype="float64", standalone_dir=None, openmp_threads=0):
        self.dtype = check_weight_dtype(dtype)
        self.standalone_dir = standalone_dir
        self.openmp_threads = check_count(openmp_threads, "openmp_threads", minimum=0)
        self.layers = [self._check_layer(k, layer) for k, layer in enumerate(layers)]
        if not self.layers:
            raise ValueError(f"{type(self).__name__} needs at least one layer")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        self.links = [self._check_link(link) for link in links]
        self._make, self.energy_mode, self._lyapunov = self._layer_components, "online", True
        self._fixed_batch = None
        self._product_size = sum(W.size for _, _, W in self.links)
        self._clampable = [True] * len(self.layers)
        self._energy_layers = list(range(len(self.layers)))
        self._finish_init(patterns, dt, record_every, energy_every, codegen_target)

    @classmethod
    def from_components(cls, make, patterns=None, energy="online", dt=0.1 * ms, record_every=0.5 * ms,
                        energy_every=None, codegen_target="cython", batch=None):
        """A network given as components: ``make(batch)`` returns them for ``batch`` copies.

        Parameters
        ----------
        make : callable
            ``make(batch) -> list`` of components: populations (each a layer
            that can be cued and read), symmetric and one-way projections, and
            those of :mod:`hippo_dam.core.components` (relays, interneuron
            pools, spiking cells). Called once with ``batch=1`` here to check
            the network, then at every build.
        patterns : dict {population name: array (K, n)}, optional
            As for :class:`GraphMemory`.
        energy : {'online', 'offline', None}
            How the energy of the energy terms is computed (see
            :class:`~hippo_dam.core.graph.EnergyGraph`); None: not at all (the
            result's energy is empty), for networks driven by moving input and
            noise whose energy would say nothing.
        dt, record_every, energy_every, codegen_target
            As for :class:`GraphMemory`.
        batch : int, optional
            The one batch size the network has, for components that hold data
            per copy (a trajectory, a gain per copy): ``make`` is then called
            with it only, and a recall must cue that many copies.

        Notes
        -----
        The layers are the populations, in list order. The energy is checked for rises (:func:`~hippo_dam.core.health.check_run`)
        only when every component keeps it a Lyapunov function
        (``EnergyGraph.lyapunov``): a one-way projection, a lagging
        interneuron pool or spiking cells let it rise by design.
        """
        if not callable(make):
            raise TypeError(f"make must be a function batch -> list of components, got {type(make).__name__}")
        if energy not in ("online", "offline", None):
            raise ValueError(f"energy must be 'online', 'offline' or None, got {energy!r}")
        if batch is not None and (isinstance(batch, bool) or int(batch) != batch or batch < 1):
            raise ValueError(f"batch must be a positive whole number or None, got {batch!r}")
        self = cls.__new__(cls)
        self.dtype = np.dtype("float64")
        self._make, self.energy_mode, self._fixed_batch = make, energy, batch
        sample = EnergyGraph(list(make(batch or 1)), energy=energy)
        pops = [c for c in sample.components if isinstance(c, Population)]
        names = [p.name for p in pops]
        for name in names:
            if not _NAME.match(name):
                raise ValueError(f"population name {name!r} must be an identifier (letters, digits, _)")
        dt_ = check_tau(dt, "dt")
        for c in sample.components:  # interneuron pools and relays have time constants too
            tau = getattr(c, "tau", None)
            if tau is not None and dt_ >= np.min(tau):
                raise ValueError(f"dt={dt_} must be smaller than every time constant; {c.name!r} has tau={tau}")
        self.layers = [Layer(p.n, p.lagrangian, p.tau, p.name, p.region) for p in pops]
        # the energy's links between layers (a coupling to a component that is no layer, such as grid cells
        # driven by their phases, has no term in the numpy energy)
        self.links = [(names.index(c.pre.name), names.index(c.post.name), c.weights) for c in sample.couplings
                      if c.pre.name in names and c.post.name in names]
        self._product_size = sum(c.weights.size for c in sample.components if hasattr(c, "weights"))
        self._lyapunov = sample.lyapunov
        self._clampable = [p.clampable for p in pops]
        self._energy_layers = [k for k, p in enumerate(pops) if p.energy_role == "population"]
        self._finish_init(patterns, dt, record_every, energy_every, codegen_target)
        return self

    def _finish_init(self, patterns, dt, record_every, energy_every, codegen_target):
        if codegen_target == "cuda_standalone" or (codegen_target in STANDALONE_TARGETS
                                                   and self._make != self._layer_components):
            raise ValueError(f"{type(self).__name__} runs on 'cython', 'numpy' and, when given as layers and "
                             f"links, 'cpp_standalone'; got {codegen_target!r} (a GPU run is the two-layer "
                             "model's)")
        self._init_run_settings(dt, record_every, energy_every, codegen_target)
        for layer in self.layers:
            if self.dt >= np.min(layer.tau):
                raise ValueError(f"dt={self.dt} must be smaller than every time constant; "
                                 f"layer {layer.name!r} has tau={layer.tau}")
        self.patterns = {}
        for key, pats in (patterns or {}).items():
            k = self.layer_index(key)
            pats = check_patterns(pats)
            if pats.shape[1] != self.layers[k].n:
                raise ValueError(f"patterns of layer {self.layers[k].name!r} must have {self.layers[k].n} "
                                 f"columns, got {pats.shape}")
            self.patterns[k] = _frozen(pats)

    # -- description ------------------------------------------------------------
    @staticmethod
    def _check_layer(k, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"layer {k} must be a hippo_dam.Layer, got {type(layer).__name__}")
        if isinstance(layer.n, (bool, np.bool_)):
            raise TypeError(f"layer {k} needs a positive integer size, got n={layer.n!r} (a bool)")
        n = int(layer.n)
        if n < 1 or n != layer.n:
            raise ValueError(f"layer {k} needs a positive integer size, got n={layer.n!r}"
                             + (" (an empty layer)" if n == 0 else ""))
        name = layer.name or f"layer{k}"
        if not _NAME.match(name):
            raise ValueError(f"layer name {name!r} must be an identifier (letters, digits, _)")
        lag = make_lagrangian(layer.lagrangian)
        lag.check_convex()
        lag.check_layer_size(n, f"layer {name!r}")
        tau = check_tau(layer.tau, f"tau of layer {name!r}")
        if np.ndim(tau) and np.shape(tau) != (n,):
            raise ValueError(f"tau of layer {name!r} must be a scalar or have shape ({n},), got {np.shape(tau)}")
        return Layer(n, lag, tau, name, layer.region)

    def layer_index(self, key):
        """Index of a layer given by index or name."""
        if isinstance(key, str):
            for k, layer in enumerate(self.layers):
                if layer.name == key:
                    return k
            raise KeyError(f"no layer named {key!r}; layers: {[la.name for la in self.layers]}")
        k = int(key)
        if not 0 <= k < len(self.layers) or k != key:
            raise IndexError(f"layer index {key!r} out of range for {len(self.layers)} layers")
        return k

    def _check_link(self, link):
        try:
            pre, post, W = link
        except (TypeError, ValueError):
            raise ValueError(f"a link is (pre, post, W), got {link!r}") from None
        a, b = self.layer_index(pre), self.layer_index(post)
        W = np.asarray(W)
        shape = (self.layers[b].n, self.layers[a].n)
        if W.shape != shape:
            raise ValueError(f"link {self.layers[a].name} -> {self.layers[b].name}: W must have shape "
                             f"(n_post, n_pre) = {shape}, got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ValueError(f"link {self.layers[a].name} -> {self.layers[b].name}: W contains NaN or inf")
        if a == b and not np.array_equal(W, W.T):
            raise ValueError(f"recurrent link of layer {self.layers[a].name!r}: W must be symmetric")
        return a, b, W

    def _lagrangians(self):
        return tuple(layer.lagrangian for layer in self.layers)

    def _layer_components(self, batch=1):
        """The populations (state ``x``, activation ``a``) and dense links of the layers and links."""
        pops = [Population(layer.name, layer.n, layer.lagrangian, layer.tau, "x", "a", layer.region,
                           batch=batch, clampable=True) for layer in self.layers]
        return pops + [DenseSymmetricProjection(pops[a], pops[b], W, dtype=self.dtype,
                                                name=f"W_{self.layers[a].name}_{self.layers[b].name}")
                       for a, b, W in self.links]

    def _graph(self, batch=1):
        if self._fixed_batch is not None and batch != self._fixed_batch:
            raise ValueError(f"this network holds data for {self._fixed_batch} copies: cue {self._fixed_batch} "
                             f"at once (got {batch})")
        components = list(self._make(batch))
        self.populations = [c for c in components if isinstance(c, Population)]
        self.projections = [c for c in components if hasattr(c, "pre")]
        # every component with a state is recorded: the layers, and interneuron pools and relays
        recorded = [c for c in components if getattr(c, "state", None) and hasattr(c, "n")]
        return EnergyGraph(components, energy=self.energy_mode, recorded=recorded)

    @property
    def _energy_is_lyapunov(self):
        return self._lyapunov

    # -- recall -------------------------------------------------------------------
    def recall(self, cue, known=None, duration=100 * ms, layer=0, target=None, cue_input=0.0, clamp=False,
               x0=None, tolerance=0, progress=None):
        """Run the network from a cue placed in one layer and measure what that layer retrieves.

        Parameters
        ----------
        cue : array (n_layer,) or (B, n_layer)
            Initial state of the cued layer (unknown entries start at 0); a
            2-D array is a batch of ``B`` cues simulated in one run.
        known : bool array, optional
            Known entries of the cue (default: all).
        duration : Quantity
        layer : int or str
            The cued (and read-out) layer.
        target : int or int array (B,), optional
            Pattern each cue came from (default: the pattern with the largest
            overlap with the cue); needs patterns for the layer.
        cue_input : float
            The known entries also drive the layer as a constant input
            ``I = cue_input * cue`` (0: initial state only).
        clamp : bool
            Hold the known entries fixed (their neurons do not move).
        x0 : dict {layer: array (n,) or (B, n)}, optional
            Initial states of other layers (default 0).
        tolerance : int
            Wrong bits still counted as a success.
        progress : bool, optional
            Progress bar (default: on long runs).

        Returns
        -------
        RecallResult
            ``v``: the cued layer; ``h``: every other layer, concatenated in
            layer order; ``extra``: every layer by name (``final``, ``trace``,
            ``region``); ``quality``: against the layer's patterns (None without).
        """
        k = self.layer_index(layer)
        cue, known, batched = check_cue(cue, known, self.layers[k].n, f" for layer {self.layers[k].name!r}")
        batch = len(cue)
        v0 = np.where(known, cue, 0.0)
        states = [np.zeros((batch, la.n)) for la in self.layers]
        for key, val in (x0 or {}).items():
            j = self.layer_index(key)
            val = np.asarray(val, dtype=float)
            if val.shape not in ((self.layers[j].n,), (batch, self.layers[j].n)) or not np.all(np.isfinite(val)):
                raise ValueError(f"x0 of layer {self.layers[j].name!r} must be finite with shape "
                                 f"({self.layers[j].n},) or ({batch}, {self.layers[j].n}), got {val.shape}")
            states[j] = np.broadcast_to(val, (batch, self.layers[j].n)).copy()
        states[k] = v0
        inputs = [np.zeros((batch, la.n)) for la in self.layers]
        inputs[k] = float(cue_input) * v0
        clamped = [np.zeros((batch, la.n)) for la in self.layers]
        if clamp:
            if not self._clampable[k]:
                raise ValueError(f"clamp=True needs a clampable population; {self.layers[k].name!r} was built "
                                 "without clampable=True")
            clamped[k] = known.astype(float)
        out = self._run_states(states, inputs, clamped, duration, progress)
        others = [j for j in range(len(self.layers)) if j != k]
        v_final, h_final = out["final"][k], _concat([out["final"][j] for j in others], (batch,))
        v = h = None
        if out["traces"] is not None:
            v = out["traces"][k]
            h = _concat([out["traces"][j] for j in others], (batch, len(out["t"])))
        return self._result(out, v, h, v_final, h_final, self.patterns.get(k), cue, known, v0, target, tolerance,
                            batched, cue_layer=self.layers[k].name, feature_region=self.layers[k].region,
                            cue_input=float(cue_input), clamp=int(bool(clamp)))

    def run_session(self, duration, progress=None):
        """Run the network for ``duration`` from its built state, every layer at 0, and return its graph.

        For circuits driven by their own components (moving input, a learning
        rule, spikes) rather than by a cue: what the run measured is read from
        the components afterwards (``graph[name]``: a
        :class:`~hippo_dam.core.components.StateRecorder`'s traces, a plastic
        projection's learned weights, a rule's record). Runs through the same
        runner, cache and code-generation target as :meth:`recall`.

        Parameters
        ----------
        duration : Quantity
        progress : bool, optional
            Progress bar (default: on long runs).

        Returns
        -------
        EnergyGraph
            The components as they stand after the run.
        """
        self._run_states(*self._zero_initial(self._fixed_batch or 1), duration, progress)
        return self.graph

    def _run_states(self, states, inputs, clamped, duration, progress):
        """Run from per-layer initial states, inputs and clamp masks (each (B, n_A)); returns the raw output."""
        duration = check_tau(duration, "duration")
        batch = len(states[0]) if states else (self._fixed_batch or 1)
        out = self._execute((states, inputs, clamped), batch, duration, progress)
        out["duration"] = duration
        self._check_bounded([(f"state of layer {la.name!r}", x) for la, x in zip(self.layers, out["final"])]
                            + [("energy", out["energy"])])
        out["checked"] = [(la.name, la.lagrangian, np.stack([x0, x1]) if out["traces"] is None else out["traces"][j],
                           np.max(np.abs(x0)) + np.max(np.abs(i)))
                          for j, (la, x0, x1, i) in enumerate(zip(self.layers, states, out["final"], inputs))]
        return out

    def _result(self, out, v, h, v_final, h_final, patterns, cue, known, v0, target, tolerance, batched, **attrs):
        """A RecallResult from a run's output: ``v``/``h`` as chosen by the caller, every layer in ``extra``."""
        if patterns is not None:
            target = check_target(target, patterns, v0)
        elif target is not None:
            raise ValueError("target needs stored patterns to score against (patterns=...)")
        extra = {la.name: {"region": la.region, "state": "x", "final": out["final"][j],
                           "trace": None if out["traces"] is None else out["traces"][j]}
                 for j, la in enumerate(self.layers)}
        extra.update(out.get("others", {}))
        attrs = {"network": type(self).__name__,
                 "layers": ", ".join(f"{la.name}({la.n}, {la.lagrangian!r})" for la in self.layers),
                 "dt_ms": float(self.dt / ms), "duration_ms": float(out["duration"] / ms),
                 "codegen_target": self.codegen_target, "weight_dtype": self.dtype.name, "batch": int(len(cue)),
                 "wall_time_s": out["wall"], **attrs}
        out = dict(out, v=v, h=h, v_final=v_final, h_final=h_final)
        return self._recall_result(out, patterns, cue, known, target, tolerance, batched, attrs, out["checked"],
                                   [la.tau for la in self.layers], extra)

    def _initial_values(self, states, inputs, clamped):
        values = {}
        for pop, x, i, c in zip(self.populations, states, inputs, clamped):
            values[getattr(pop.group, pop.state)] = x.ravel()
            values[pop.group.I] = i.ravel()
            if pop.clampable:
                values[pop.group.clamped] = c.ravel()
        return values

    # -- C++ standalone: one project per structure, run again with new cues ---------
    def _standalone_key(self, batch, duration):
        layers = tuple((la.name, la.n, la.lagrangian.structure) for la in self.layers)
        links = tuple((a, b, np.shape(W)) for a, b, W in self.links)
        return (type(self).__name__, self.codegen_target, batch, float(duration / second), float(self.dt / second),
                self._recording_key(), layers, links, self.dtype.name, self.openmp_threads, self.standalone_dir)

    def _zero_initial(self, batch):
        zeros = [np.zeros((batch, la.n)) for la in self.layers]
        return zeros, zeros, zeros

    def _run_standalone(self, initial, batch, duration, progress):
        """Run the kept project with this recall's states, inputs, clamps, time constants and parameters."""
        sa = self._standalone_project(batch, duration, progress)
        run_args = self._initial_values(*initial)
        for pop, layer in zip(self.populations, self.layers):
            run_args.update(self._value_args(pop, layer.tau, layer.lagrangian, batch))
        return self._run_project(sa, run_args, batch, progress)

    def _collect(self, batch):
        out = self._collect_graph(batch)
        final, trace = out.pop("final"), out.pop("trace")
        pops = self.populations
        out["final"] = [final[p.name] for p in pops]
        out["traces"] = [trace[p.name] for p in pops] if self._monitors else None
        out["others"] = {c.name: {"region": c.region, "state": c.state, "final": final[c.name],
                                  "trace": trace[c.name]} for c in self.graph.recorded if c not in pops}
        return out

    def energy(self, states, inputs=None):
        """The graph's energy (numpy) of layer states ``[x^A (..., n_A)]`` with inputs ``[I^A]``.

        Populations that are not energy terms (a relay with a time constant)
        are left out; ``states`` still holds one array per layer.
        """
        from ..core.reference import graph_energy

        keep = self._energy_layers
        inputs = None if inputs is None else [inputs[k] for k in keep]
        links = [(keep.index(a), keep.index(b), W) for a, b, W in self.links]
        return graph_energy([self.layers[k].lagrangian for k in keep], links, [states[k] for k in keep], inputs)


def _concat(arrays, lead):
    """Layer states side by side on the last axis (an empty last axis of leading shape ``lead`` if none)."""
    return np.concatenate(arrays, axis=-1) if arrays else np.zeros(lead + (0,))
