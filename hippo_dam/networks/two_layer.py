"""The microscopic Dense Associative Memory: feature and memory layers on Brian2.

Two populations joined by one symmetric projection (Krotov & Hopfield 2021,
eq. 1)::

    tau_f dv_i/dt  = sum_mu xi[mu,i] f_mu - v_i + I_i
    tau_h dh_mu/dt = sum_i  xi[mu,i] g_i  - h_mu

with ``g = dL_v/dv`` and ``f = dL_h/dh``. Each memory neuron stores one
pattern: ``N_h = K``.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
import weakref

import numpy as np
from brian2 import Network, StateMonitor, get_device, ms, prefs, second, set_device

from ..checks import check_number
from ..core._compat import (RUNTIME_DEVICE, concurrent_cython_builds, cython_cache_dir, device_name, never_run,
                            lighter_compile_args,
                            sort_clock_resets,
                            numpy_codeobject, preserved_brian_state, reset_device, reused_code_objects,
                            young_objects_gc)
from ..core.devices import CODEGEN_TARGETS, STANDALONE_TARGETS, persistent_project
from ..core.dense import DenseSymmetricProjection, blas_threads_for, check_weight_dtype
from ..core.graph import EnergyGraph, describe_network
from ..core.health import UnboundedEnergyError, check_run
from ..core.lagrangians import make_lagrangian
from ..data.patterns import _frozen, check_patterns
from ..core.populations import Population, SymmetricProjection, check_tau, named_clock
from ..core.recall import recall_quality, retrieved_index
from ..core.results import RecallResult

__all__ = ["AssociativeMemory", "DenseAssociativeMemory", "CODEGEN_TARGETS"]

COUPLINGS = ("dense", "synapses")


class AssociativeMemory:
    """What every network of the package shares: an energy graph run by Brian2.

    A subclass describes its populations and projections in :meth:`_graph`
    (an :class:`~hippo_dam.core.graph.EnergyGraph`) and what a recall writes in
    ``_initial_values``; this base builds the Brian2 network from the graph,
    records states and energy, runs it on the chosen code generation target
    and shows it (:meth:`equations`).

    Parameters
    ----------
    dt : Quantity
        Integration step (explicit Euler).
    record_every, energy_every : Quantity or None
        Recording interval of every neuron's state (None: final state only)
        and of the online energy (None: every step).
    codegen_target : str
        One of ``CODEGEN_TARGETS``.
    """

    #: False where the energy is not a Lyapunov function of the run (a moving input, spiking
    #: neurons): :func:`~hippo_dam.core.health.check_run` then does not look for energy rises.
    _energy_is_lyapunov = True
    #: Why the network cannot run as a compile-once standalone project (None: it can).
    _no_standalone = None

    def _init_run_settings(self, dt, record_every, energy_every, codegen_target):
        self._net = None
        self._net_batch = None
        self.dt = dt
        self.record_every = record_every
        self.energy_every = energy_every
        self.codegen_target = codegen_target

    # Settings the Brian2 objects are built from: setting one drops the built network, so the
    # next recall rebuilds it on every target (standalone projects are keyed on them too).
    @property
    def dt(self):
        """Integration step (explicit Euler); must stay below every time constant."""
        return self._dt

    @dt.setter
    def dt(self, dt):
        dt = check_tau(dt, "dt")
        self._check_dt(dt)
        self._dt = dt
        self._net = None

    def _check_dt(self, dt):
        """Raise unless ``dt`` is below the network's time constants (once they are known)."""

    @property
    def record_every(self):
        """Interval of the recorded states (None: energy trace and final state only)."""
        return self._record_every

    @record_every.setter
    def record_every(self, value):
        self._record_every = None if value is None else check_tau(value, "record_every")
        self._net = None

    @property
    def energy_every(self):
        """Interval of the online energy trace (None: every step)."""
        return self._energy_every

    @energy_every.setter
    def energy_every(self, value):
        self._energy_every = None if value is None else check_tau(value, "energy_every")
        self._net = None

    def _built_from(self, batch):
        """What the runtime network was built from: a recall rebuilds when this differs."""
        # what the generated code depends on (Lagrangian.structure), and the parameters' values the build wrote
        lags = tuple((lag.structure, tuple(sorted(lag.params.items()))) for lag in self._lagrangians())
        return (self.codegen_target, batch, float(self.dt / second), self.record_every, self.energy_every, lags)

    def _lagrangians(self):
        """Every Lagrangian of the network (checked against the code generation target)."""
        raise NotImplementedError

    @property
    def codegen_target(self):
        """Code generation target; checked against the Lagrangians when set."""
        return self._codegen_target

    @codegen_target.setter
    def codegen_target(self, target):
        if target not in CODEGEN_TARGETS:
            raise ValueError(f"codegen_target must be one of {CODEGEN_TARGETS}, got {target!r}")
        if target in STANDALONE_TARGETS and self._no_standalone:
            raise ValueError(f"{type(self).__name__} runs on 'cython' or 'numpy', not {target!r}: {self._no_standalone}")
        if target == "numpy":
            for lag in self._lagrangians():
                if any(r.op == "max" for r in lag.reductions):
                    raise ValueError(
                        f"codegen target 'numpy' cannot compute the layer maximum that {lag!r} needs "
                        "(it vectorises over repeated indices); use 'cython' or 'cpp_standalone'"
                    )
        self._codegen_target = target
        self._net = None

    def _graph(self, batch=1):
        """The network's :class:`~hippo_dam.core.graph.EnergyGraph` for ``batch`` copies."""
        raise NotImplementedError

    def _build(self, batch=1):
        """The Brian2 Network of :meth:`_graph`: populations, projections, energy and monitors."""
        self._monitors = {}
        self.graph = self._graph(batch)
        objects = self.graph.build(self.dt, self.energy_every)
        self.online_energy = self.graph.online_energy
        objects += self._record_states(self.graph.recorded)
        return Network(*objects)

    def equations(self, batch=1) -> str:
        """Every Brian2 group's equations and statements, and the step schedule, as Brian2 code.

        Builds the network for ``batch`` cues on the runtime device (nothing
        is run); ``print(net)`` shows the same.
        """
        with preserved_brian_state():  # a standalone device the caller set stays set
            if device_name() != RUNTIME_DEVICE:
                reset_device()
            try:
                network = self._build(batch)
                never_run(network)  # built to be shown, not run: no "never included in a network" warnings later
                return describe_network(network)
            finally:
                self._net = None  # the populations now belong to this description: rebuild on the next recall

    def __str__(self):
        return f"{type(self).__name__}\n" + self.equations()

    def _record_states(self, populations):
        """StateMonitors of every neuron's state every ``record_every`` (none when it is None), by component name."""
        monitors = []
        if self.record_every is not None:
            # Recording every few steps on numpy costs a few microseconds more per record than Cython
            # and spares a module to compile on a first run; recording every step stays compiled.
            sparse = device_name() == RUNTIME_DEVICE and self.record_every >= 2 * self.dt
            codeobj = numpy_codeobject() if sparse else None
            for pop in populations:
                mon = StateMonitor(pop.group, pop.state, record=True, name=f"{pop.name}_monitor",
                                   clock=named_clock(self.record_every, f"{pop.name}_monitor_clock"),
                                   codeobj_class=codeobj)
                self._monitors[pop.name] = mon
                monitors.append(mon)
        return monitors

    def _execute(self, initial, batch, duration, progress):
        """Run ``duration`` from ``initial`` on the network's target; ``_collect``'s output and the wall time.

        The one entry of every recall: a progress bar by default when the run
        is long (steps x copies x weights > 2e9), Brian2's preferences and
        device as the caller left them, and the compiled C++ project or the
        runtime network as the target asks.
        """
        if progress is None:
            progress = int(round(duration / self.dt)) * batch * self._product_size > 2e9
        start = time.perf_counter()
        with preserved_brian_state():
            run = self._run_standalone if self.codegen_target in STANDALONE_TARGETS else self._run_runtime
            out = run(initial, batch, duration, progress)
        out["wall"] = time.perf_counter() - start
        return out

    def _initial_values(self, *initial):
        """``{Brian2 variable: values}`` that a recall from ``initial`` sets: states, inputs (and clamps).

        The one list of what a recall writes into the network: the runtime
        path assigns it (:meth:`_set_initial`), the compiled project takes it as
        run arguments (:meth:`_run_standalone`), and a standalone build bakes in
        the values of the zero initial state.
        """
        raise NotImplementedError

    def _set_initial(self, *initial):
        for variable, values in self._initial_values(*initial).items():
            variable[:] = values

    def _collect_graph(self, batch):
        """What a run left in the graph: every recorded component's final state and trace, and the energy.

        Returns ``final`` and ``trace`` (``{component name: (B, n)}`` and
        ``(B, T, n)``, the trace None when states are not recorded), ``t``
        (the record's times, s; the last energy time without a record),
        ``energy_t`` and ``energy`` ``(B, T_E)``: the online record, the
        offline energy of the every-step states, or empty without one. The one
        reader of a run for every network (the two-layer model, circuits,
        hierarchies, general networks).
        """
        graph = self.graph
        out = {"final": {}, "trace": {}}
        for c in graph.recorded:
            out["final"][c.name] = np.array(getattr(c.group, c.state)[:]).reshape(batch, c.n)
            mon = self._monitors.get(c.name)
            out["trace"][c.name] = (None if mon is None else  # (B*n, T) -> (B, T, n)
                                    np.asarray(getattr(mon, c.state)).reshape(batch, c.n, -1).transpose(0, 2, 1))
        if graph.energy == "online":
            mon_e = graph.online_energy.monitor
            out["energy_t"], out["energy"] = np.array(mon_e.t / second), np.array(mon_e.E[:]).reshape(batch, -1)
        elif graph.energy is None:
            out["energy_t"], out["energy"] = np.zeros(0), np.zeros((batch, 0))
        else:
            out["energy_t"], out["energy"] = graph.offline_energy([p.group.I[:] for p in graph.populations])
        first = next(iter(self._monitors.values()), None)
        out["t"] = out["energy_t"][-1:] if first is None else np.array(first.t / second)
        return out

    def _recall_result(self, out, patterns, cue, known, target, tolerance, batched, attrs, reached, taus, extra=None):
        """The :class:`RecallResult` of a run's output and its health check; the one result of every recall.

        ``out`` holds ``t, energy_t`` and the copies' ``v, h, energy, v_final,
        h_final`` (leading batch axis); a single cue (``batched`` False) drops
        that axis, also from ``extra``'s layers. ``quality`` scores ``v_final``
        against ``patterns`` (None without); :func:`~hippo_dam.core.health.check_run`
        then checks the energy and the states each population ``reached``.
        """
        arrays = {k: out[k] for k in ("v", "h", "energy", "v_final", "h_final")}
        if not batched:
            first = lambda a: None if a is None else a[0]  # noqa: E731
            arrays = {k: first(a) for k, a in arrays.items()}
            cue, known, target = cue[0], known[0], None if target is None else int(target[0])
            for e in (extra or {}).values():
                e["final"], e["trace"] = first(e["final"]), first(e["trace"])
        quality = None if patterns is None else recall_quality(patterns, arrays["v_final"], target, tolerance)
        result = RecallResult(out["t"], arrays["v"], arrays["h"], out["energy_t"], arrays["energy"], arrays["v_final"],
                              arrays["h_final"], np.zeros((0, cue.shape[-1])) if patterns is None else patterns,
                              cue, known, quality, attrs=attrs, extra=extra or {})
        check_run(result.energy_t, result.energy, reached, constant_input=self._energy_is_lyapunov, dt=self.dt,
                  taus=taus, result=result)
        return result

    def _check_bounded(self, named, copies="cue"):
        """Raise :class:`~hippo_dam.core.health.UnboundedEnergyError` naming the first ``(what, array)`` with inf/NaN.

        ``array`` has the copies (cues, or the recalls of a grid) on its first
        axis; the message names the first five that overflowed.
        """
        for what, array in named:
            bad = ~np.isfinite(np.asarray(array))
            if bad.any():
                rows = np.unique(np.nonzero(bad)[0])[:5].tolist() if bad.ndim > 1 and len(bad) > 1 else None
                where = "" if rows is None else f" in {copies} {rows}"
                raise UnboundedEnergyError(
                    f"the {what} overflowed (inf/NaN){where} during the run: the energy has no lower bound for "
                    f"these Lagrangians {list(self._lagrangians())} and weights (the activations grow too fast); "
                    "lower beta, the degree or the weights, or use log_sum_exp")

    def _run_runtime(self, initial, batch, duration, progress):
        """Run ``duration`` from ``self._set_initial(*initial)`` on a runtime target; returns ``_collect``."""
        if device_name() != RUNTIME_DEVICE:
            reset_device()
        prefs.codegen.target = self.codegen_target
        rerun = self._net is not None and self._net_batch == self._built_from(batch)
        if rerun:
            self._net.restore("built")
        else:
            rerun = self._take_free_build(batch)  # a dropped network's build of the same structure
            if not rerun:
                self._net = self._build(batch)
                self._net_batch = self._built_from(batch)
                self._net.store("built")
                self._keep_build(batch)
        self._set_initial(*initial)
        report = _ProgressBar(duration) if progress else None
        run_network(self._net, duration, self.graph.largest_product(), rerun=rerun, report=report,
                    report_period=1 * second)
        if report is not None:
            report.close()
        return self._collect(batch)

    # -- C++ standalone: compile once, run many ---------------------------------
    # A subclass names its project (_standalone_key, _project_key), the zero initial state the project
    # is built with (_zero_initial), its weight files (_weight_files) and a recall's run arguments.
    standalone_dir = None
    openmp_threads = 0
    _standalone = None

    def _project_key(self, batch, duration):
        """What names the kept C++ project (its folder): the structure, sizes and run settings."""
        return self._standalone_key(batch, duration)

    def _standalone_setup(self):
        """Called with the standalone device active, before the network is built (e.g. to bake in a seed)."""

    def _weight_files(self, directory):
        """``{projection name: path}`` of the dense weights the project reads from its static arrays."""
        return {c.name: c.weight_file(directory) for c in self.graph.components
                if isinstance(c, DenseSymmetricProjection)}

    def _recording_key(self):
        """``record_every`` and ``energy_every`` in seconds (None: not recorded / every step), for keys."""
        return tuple(None if x is None else float(x / second) for x in (self.record_every, self.energy_every))

    def _value_args(self, pop, tau, lagrangian, batch):
        """Run arguments of a population's values: time constants and Lagrangian parameters.

        The parameters are also those the online energy reads (a non-additive
        Lagrangian's own copy in the energy group): the binary was built with
        the values of its first network, and a recall writes the current ones.
        """
        group = pop.group
        args = {group.tau: _per_neuron(tau, pop.n, batch)}
        energy = getattr(self, "online_energy", None)
        for name, value in lagrangian.params.items():
            args[getattr(group, name)] = value
            if energy is not None and not (lagrangian.additive or lagrangian.grouped):
                args[getattr(energy.group, f"{name}_{pop.name}")] = value
        return args

    def _standalone_project(self, batch, duration, progress):
        """This network's built project for ``batch`` cues of ``duration`` (built when missing or another's)."""
        sa = self._standalone
        if sa is None or sa["key"] != self._standalone_key(batch, duration) or _STANDALONE_OWNER.get("net") is not self:
            sa = self.build_standalone(batch, duration, progress=progress)
        return sa

    def _run_project(self, sa, run_args, batch, progress):
        """Run the compiled binary with new values (no rebuild); returns ``_collect``."""
        sa["device"].run(directory=sa["directory"], with_output=bool(progress), run_args=run_args)
        return self._collect(batch)

    def build_standalone(self, batch=1, duration=100 * ms, compile=True, progress=False):
        """Generate (and compile) the standalone project for ``batch`` cues of ``duration``.

        Recalls of the same batch size and duration then reuse the binary.
        ``compile=False`` only writes the source code (for example CUDA code on
        a machine without a GPU); returns a dict with the project ``directory``.
        """
        target = self.codegen_target
        if target not in STANDALONE_TARGETS:
            raise ValueError(f"build_standalone needs codegen_target in {STANDALONE_TARGETS}, got {target!r}")
        duration = check_tau(duration, "duration")
        # Without a standalone_dir, a C++ project is kept between processes (a second run compiles nothing);
        # otherwise, or where that folder is in use, one project directory per process, so parallel runs
        # cannot clobber each other.
        directory = persistent_project(self._project_key(batch, duration)) \
            if self.standalone_dir is None and target == "cpp_standalone" else None
        if directory is None:
            directory = os.path.join(self.standalone_dir or tempfile.mkdtemp(prefix=f"hippo_dam_{target}_"),
                                     f"pid{os.getpid()}")
        previous = _STANDALONE_OWNER.pop("net", None)
        if previous is not None:
            previous._standalone = None  # one compiled standalone network per process at a time
        if target == "cuda_standalone":
            _import_brian2cuda(compile)
        with preserved_brian_state():  # the OpenMP threads and the device are the caller's again afterwards
            return self._build_standalone(target, directory, batch, duration, compile, progress)

    def _build_standalone(self, target, directory, batch, duration, compile, progress):
        set_device(target, directory=directory, build_on_run=False)
        standalone = get_device()
        standalone.reinit()
        set_device(target, directory=directory, build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = self.openmp_threads
        lighter = lighter_compile_args(prefs.codegen.cpp.extra_compile_args_gcc)
        if lighter is not None and target == "cpp_standalone":  # the project at -O1, its products at -O3
            prefs.codegen.cpp.extra_compile_args_gcc = lighter
        self._standalone_setup()
        try:
            net = self._build(batch)
            self._set_initial(*self._zero_initial(batch))
            net.run(duration, report="text" if progress else None, namespace={})
            sort_clock_resets(standalone)  # the same network gives the same main.cpp in every process
            if compile and not os.path.exists(os.path.join(directory, "main")):
                import sys

                print(f"hippo_dam: compiling this network as a C++ project (first run only; kept in {directory})",
                      file=sys.stderr, flush=True)
            standalone.build(directory=directory, compile=compile, run=False, with_output=bool(progress))
        finally:
            reset_device()  # runtime stays the default for other networks; the compiled project is kept
            self._net = None
        files = self._weight_files(directory)
        for path in files.values():
            if not os.path.exists(path):
                raise RuntimeError(f"C++ standalone project has no weight file {path}")
        info = {"key": self._standalone_key(batch, duration), "directory": directory, "weight_files": files,
                "device": standalone, "xi_stale": False}
        if compile:
            self._standalone = info
            _STANDALONE_OWNER["net"] = self
        return info

    # A network built with new values only (a loop over a parameter, a new pattern set of the same shape)
    # is the same Brian2 network: a subclass that can write its values into a built one implements these.
    def _take_free_build(self, batch):
        """Adopt a free build of this structure with this network's values (True), or find none (False)."""
        return False

    def _keep_build(self, batch):
        """Register the build just made, so that it becomes free when this network drops it."""


class _Build:
    """A built runtime network and the Python components that own its Brian2 objects."""

    __slots__ = ("key", "network", "graph", "features", "memories", "coupling", "online_energy", "monitors")

    def __init__(self, key, net):
        self.key = key
        self.network, self.graph, self.monitors = net._net, net.graph, net._monitors
        self.features, self.memories, self.coupling = net.features, net.memories, net.coupling
        self.online_energy = net.online_energy


#: Builds of dropped (or rebuilt) two-layer networks, by structure, least recently freed first. Bounded
#: in number and to small networks: a kept build holds its last patterns until it is adopted or evicted.
_FREE_BUILDS: "dict[tuple, _Build]" = {}
_FREE_LIMIT = 4
_POOL_MAX_WEIGHTS = 2 ** 20


def _free_build(box):
    """Put the build held in ``box`` among the free builds (a network dropped it or is being freed)."""
    build, box[0] = box[0], None
    if build is None:
        return
    _FREE_BUILDS.pop(build.key, None)
    _FREE_BUILDS[build.key] = build
    while len(_FREE_BUILDS) > _FREE_LIMIT:
        _FREE_BUILDS.pop(next(iter(_FREE_BUILDS)))


def run_network(network, duration, product_size, rerun=False, **kwargs):
    """``network.run(duration, namespace={}, **kwargs)`` on a runtime target, without its fixed costs.

    A product of ``product_size`` multiply-adds per step runs on the BLAS
    threads that suit it (:func:`~hippo_dam.core.dense.blas_threads_for`),
    Brian2's full garbage collection at the start of every run visits only
    new objects (:func:`~hippo_dam.core._compat.young_objects_gc`), and the
    Cython modules missing from Brian2's cache (a first run) are compiled side
    by side on every core, with a progress report on stderr
    (:func:`~hippo_dam.core._compat.concurrent_cython_builds`). ``rerun``: the
    network ran before and was restored, so it keeps the code objects of its
    last run (:func:`~hippo_dam.core._compat.reused_code_objects`).
    """
    builds = _BuildReport()
    # Brian2's Ctrl-C handler ends a run at its next step and returns normally: the recall would come back
    # shorter than asked, as if complete. Here Ctrl-C raises KeyboardInterrupt instead.
    stop_on_interrupt = prefs.core.stop_on_keyboard_interrupt
    prefs.core.stop_on_keyboard_interrupt = False
    try:
        with blas_threads_for(product_size), young_objects_gc(), concurrent_cython_builds(on_build=builds), \
                (reused_code_objects(network) if rerun else contextlib.nullcontext()):
            network.run(duration, namespace={}, **kwargs)
    finally:
        prefs.core.stop_on_keyboard_interrupt = stop_on_interrupt
        builds.close()


class DenseAssociativeMemory(AssociativeMemory):
    """A two-layer Dense Associative Memory simulated by Brian2.

    Parameters
    ----------
    patterns : array (K, N_f)
        Stored patterns ``xi``, one per memory neuron (finite; usually ``+-1``).
    feature_lagrangian, memory_lagrangian : Lagrangian, name or mapping
        ``L_v`` and ``L_h`` (see :mod:`hippo_dam.core.lagrangians`).
    tau_f, tau_h : Quantity
        Time constants of feature and memory neurons (time units, > 0).
    dt : Quantity
        Integration step (explicit Euler); must be below both time constants.
    record_every : Quantity or None
        Interval at which every neuron's state is recorded; ``None`` records
        only the energy trace and the final state (large networks).
    energy_every : Quantity or None
        Interval of the online energy trace (default: every step).
    codegen_target : {'cython', 'numpy', 'cpp_standalone', 'cuda_standalone'}
        Runtime Cython (default), runtime numpy (additive Lagrangians only),
        C++ standalone (compiled once in ``standalone_dir``, then run again with
        new cues, patterns and time constants without recompiling), or CUDA
        standalone on a GPU through brian2cuda (``pip install hippo_dam[gpu]``;
        same compile-once-run-many behaviour).
    feature_region, memory_region : str, optional
        Anatomical labels carried into results and plots.
    coupling : {'dense', 'synapses'}
        ``'dense'`` (default): :class:`~hippo_dam.core.dense.DenseSymmetricProjection`,
        ``xi`` stored once and read as BLAS matrix products (the fast path for
        batches). ``'synapses'``: one generic Brian2 ``Synapses`` object (the
        path for sparse or plastic connectivity; a batch holds one block of
        synapses per cue).
    dtype : {'float64', 'float32'}
        Storage of ``xi`` in the dense coupling.
    openmp_threads : int
        C++ standalone only: OpenMP threads (0: none).
    """

    def __init__(self, patterns, feature_lagrangian="sign", memory_lagrangian=None, tau_f=20 * ms,
                 tau_h=2 * ms, dt=0.1 * ms, record_every=0.5 * ms, energy_every=None,
                 codegen_target="cython", feature_region=None, memory_region=None,
                 standalone_dir=None, coupling="dense", dtype="float64", openmp_threads=0):
        self._net = None
        self.dtype = check_weight_dtype(dtype)
        # held in the coupling's dtype: the dense coupling then reads this very array (no second copy)
        self.patterns = check_patterns(patterns, dtype=self.dtype if coupling == "dense" else float)
        self.n_memories, self.n_features = self.patterns.shape
        self.feature_lagrangian = feature_lagrangian
        self.memory_lagrangian = (memory_lagrangian if memory_lagrangian is not None
                                  else {"name": "rectified_power", "degree": 3})
        self._tau_f = check_tau(tau_f, "tau_f")
        self._tau_h = check_tau(tau_h, "tau_h")
        if coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {coupling!r}")
        self.coupling_kind = coupling
        if coupling == "synapses" and self.dtype != np.float64:
            raise ValueError("the 'synapses' coupling stores float64 weights; use coupling='dense' for float32")
        self.openmp_threads = int(openmp_threads)
        if self.openmp_threads < 0:
            raise ValueError(f"openmp_threads must be >= 0, got {openmp_threads}")
        self._init_run_settings(dt, record_every, energy_every, codegen_target)
        self.standalone_dir = standalone_dir
        self._standalone = None
        self.feature_region, self.memory_region = feature_region, memory_region

    def _check_dt(self, dt):
        if hasattr(self, "_tau_h") and dt >= min(np.min(self._tau_f), np.min(self._tau_h)):
            raise ValueError(f"dt={dt} must be smaller than both tau_f={self._tau_f} and tau_h={self._tau_h}")

    @property
    def feature_lagrangian(self):
        """``L_v``; a new one (or new parameters) takes effect at the next recall."""
        return self._feature_lagrangian

    @feature_lagrangian.setter
    def feature_lagrangian(self, lag):
        self._feature_lagrangian = self._checked_lagrangian(lag)
        self._net = None

    @property
    def memory_lagrangian(self):
        """``L_h``; a new one (or new parameters) takes effect at the next recall."""
        return self._memory_lagrangian

    @memory_lagrangian.setter
    def memory_lagrangian(self, lag):
        self._memory_lagrangian = self._checked_lagrangian(lag)
        self._net = None

    def _checked_lagrangian(self, lag):
        lag = make_lagrangian(lag)
        lag.check_convex()
        return lag

    @property
    def patterns(self):
        """Stored patterns ``xi`` (K, N_f), read-only; assigning new ones is :meth:`set_patterns`."""
        return self._patterns

    @patterns.setter
    def patterns(self, patterns):
        if getattr(self, "_patterns", None) is not None:
            self.set_patterns(patterns)
        else:
            self._patterns = _frozen(patterns)

    def _built_from(self, batch):
        return super()._built_from(batch) + (id(self._patterns),)

    @property
    def tau_f(self):
        """Time constant of the feature neurons (settable; standalone runs need no rebuild)."""
        return self._tau_f

    @tau_f.setter
    def tau_f(self, tau):
        self._tau_f = self._check_step(check_tau(tau, "tau_f"))
        self._net = None

    @property
    def tau_h(self):
        """Time constant of the memory neurons (settable; standalone runs need no rebuild)."""
        return self._tau_h

    @tau_h.setter
    def tau_h(self, tau):
        self._tau_h = self._check_step(check_tau(tau, "tau_h"))
        self._net = None

    def _check_step(self, tau):
        if self.dt >= np.min(tau):
            raise ValueError(f"dt={self.dt} must be smaller than every time constant, got {tau}")
        return tau

    def _lagrangians(self):
        return (self.feature_lagrangian, self.memory_lagrangian)

    # -- construction ----------------------------------------------------------
    def _graph(self, batch=1, copy_params=None):
        """The two-layer energy graph: features and memories joined by ``xi`` (``batch`` copies).

        ``copy_params``: ``{'features': {...}, 'memories': {...}}``, Lagrangian
        parameters that differ between copies (see :func:`hippo_dam.networks.batched.recall_grid`).
        """
        copy_params = copy_params or {}
        self.features = Population("features", self.n_features, self.feature_lagrangian, self.tau_f,
                                   "v", "g", self.feature_region, batch=batch, copy_params=copy_params.get("features"))
        self.memories = Population("memories", self.n_memories, self.memory_lagrangian, self.tau_h,
                                   "h", "f", self.memory_region, batch=batch, copy_params=copy_params.get("memories"))
        if self.coupling_kind == "dense":
            self.coupling = DenseSymmetricProjection(self.features, self.memories, self.patterns, dtype=self.dtype)
        else:
            self.coupling = SymmetricProjection(self.features, self.memories, self.patterns)
        return EnergyGraph([self.features, self.memories, self.coupling])

    # -- builds shared between networks of one structure ---------------------------
    def _pool_key(self, batch):
        """What the Brian2 objects of a runtime build depend on, values aside (None: not shared).

        The Lagrangians' parameters are shared constants of the groups and the
        time constants per-neuron constants, so only their names enter, as in
        :meth:`_standalone_key`; ``xi`` is read through the dense product's
        namespace (:meth:`~hippo_dam.core.dense.DenseSymmetricProjection.rebind_weights`).
        A subclass with its own graph or initial state is never shared.
        """
        cls = type(self)
        own = all(getattr(cls, m) is getattr(DenseAssociativeMemory, m)
                  for m in ("_graph", "_initial_values", "_set_initial", "_collect", "_collect_extra", "_build",
                            "_record_states", "_built_from"))
        if not own or self.coupling_kind != "dense" or self.patterns.size * batch > _POOL_MAX_WEIGHTS:
            return None
        lags = tuple(lag.structure for lag in (self.feature_lagrangian, self.memory_lagrangian))
        return (cls, self.codegen_target, batch, float(self.dt / second), self._recording_key(), lags,
                self.patterns.shape, self.dtype.name)

    def _box(self):
        """The one-item list holding this network's build; freed with the network (weakref.finalize)."""
        if getattr(self, "_build_box", None) is None:
            self._build_box = [None]
            # the box, not self: no reference kept; at exit there is no next network to serve
            weakref.finalize(self, _free_build, self._build_box).atexit = False
        return self._build_box

    def _keep_build(self, batch):
        key = self._pool_key(batch)
        if key is not None:
            self._box()[0] = _Build(key, self)

    def _take_free_build(self, batch):
        box = self._box()
        _free_build(box)  # this network's own last build (its settings changed) is free too
        self._net = None
        key = self._pool_key(batch)
        build = _FREE_BUILDS.pop(key, None) if key is not None else None
        if build is None:
            return False
        build.network.restore("built")
        for pop, lag, tau, region in ((build.features, self.feature_lagrangian, self.tau_f, self.feature_region),
                                      (build.memories, self.memory_lagrangian, self.tau_h, self.memory_region)):
            pop.lagrangian, pop.tau, pop.region = lag, tau, region
            pop.write_values()
        build.online_energy.write_values()
        build.coupling.rebind_weights(self.patterns, build.network)
        self._net, self.graph, self._monitors = build.network, build.graph, build.monitors
        self.features, self.memories, self.coupling = build.features, build.memories, build.coupling
        self.online_energy = build.online_energy
        self._net_batch = self._built_from(batch)
        box[0] = build
        return True

    # -- recall ----------------------------------------------------------------
    def _initial_state(self, cue, known, h0, cue_input):
        """Validate a cue (or a batch of cues); returns 2-D arrays (B, N) and whether it was batched."""
        cue, known, batched = check_cue(cue, known, self.n_features, f" to match patterns {self.patterns.shape}")
        v0 = np.where(known, cue, 0.0)
        h0 = np.zeros((len(cue), self.n_memories)) if h0 is None else np.asarray(h0, dtype=float)
        if h0.shape not in ((self.n_memories,), (len(cue), self.n_memories)) or not np.all(np.isfinite(h0)):
            raise ValueError(f"h0 must be a finite array of shape ({self.n_memories},) or "
                             f"({len(cue)}, {self.n_memories}), got {h0.shape}")
        h0 = np.broadcast_to(h0, (len(cue), self.n_memories))
        return cue, known, v0, h0, check_cue_input(cue_input) * v0, batched

    def recall(self, cue, known=None, duration=100 * ms, target=None, h0=None, cue_input=0.0,
               tolerance=0, progress=None):
        """Run the network from a cue (or a batch of cues) and measure what it retrieves.

        Parameters
        ----------
        cue : array (N_f,) or (B, N_f)
            Initial feature state; entries outside ``known`` are replaced by 0.
            A 2-D array is a batch of ``B`` independent cues simulated in one
            run (``coupling='dense'``): the coupling becomes a matrix product.
        known : bool array (N_f,) or (B, N_f), optional
            Entries of the cue that are known (default: all).
        duration : Quantity
        target : int or int array (B,), optional
            Index of the pattern each cue came from (default: the pattern with
            the largest overlap with the cue).
        h0 : array (N_h,) or (B, N_h), optional
            Initial memory states (default 0).
        cue_input : float
            The cue also drives the features as a constant input
            ``I = cue_input * cue`` on known entries (default 0: initial state only).
        tolerance : int
            Wrong bits still counted as a success.
        progress : bool, optional
            Show a progress bar (default: when the run is long).

        Returns
        -------
        RecallResult
            For a batch, every array has a leading batch axis.
        """
        duration = check_tau(duration, "duration")
        cue, known, v0, h0, I, batched = self._initial_state(cue, known, h0, cue_input)
        batch = len(cue)
        target = check_target(target, self.patterns, v0)
        out = self._execute((v0, h0, I), batch, duration, progress)
        wall = out.pop("wall")
        self._check_bounded((("feature state v", out["v_final"]), ("memory state h", out["h_final"]),
                             ("energy", out["energy"])))
        return self._recall_result(out, self.patterns, cue, known, target, tolerance, batched,
                                   self._attrs(duration, cue_input, wall, batch),
                                   reached_states(self.features, self.memories, v0, h0, I, out), (self.tau_f, self.tau_h))

    def _attrs(self, duration, cue_input, wall, batch=1):
        return {
            "feature_lagrangian": repr(self.feature_lagrangian),
            "memory_lagrangian": repr(self.memory_lagrangian),
            "tau_f_ms": float(np.mean(self.tau_f / ms)),
            "tau_h_ms": float(np.mean(self.tau_h / ms)),
            "dt_ms": float(self.dt / ms),
            "duration_ms": float(duration / ms),
            "cue_input": float(cue_input),
            "codegen_target": self.codegen_target,
            "coupling": self.coupling_kind,
            "weight_dtype": self.dtype.name,
            "batch": int(batch),
            "feature_region": self.feature_region,
            "memory_region": self.memory_region,
            "wall_time_s": wall,
        }

    def _initial_values(self, v0, h0, I):
        feat, mem = self.features.group, self.memories.group
        return {feat.v: v0.ravel(), feat.I: I.ravel(), mem.h: h0.ravel()}

    def _collect(self, batch):
        """Final states (B, N), energy (B, T_E) and, if recorded, trajectories (B, T, N)."""
        out = self._collect_graph(batch)
        final, trace = out.pop("final"), out.pop("trace")
        for x, pop in (("v", self.features), ("h", self.memories)):
            out[f"{x}_final"], out[x] = final[pop.name], trace[pop.name]
        self._collect_extra(final, trace, batch)
        return out

    def _collect_extra(self, final, trace, batch):
        """Read the run's further recorded components (``final``/``trace`` by name); a circuit keeps its own."""

    # -- C++ standalone: compile once, run many ---------------------------------
    def set_patterns(self, patterns):
        """Store new patterns of the same shape (no rebuild under C++ standalone).

        Runtime targets rebuild their Brian2 objects on the next recall (the
        compiled code is cached); C++ standalone writes the new ``xi`` into its
        project and runs the same binary.
        """
        patterns = check_patterns(patterns, dtype=self.patterns.dtype)
        if patterns.shape != self.patterns.shape:
            raise ValueError(f"new patterns must have the shape {self.patterns.shape} of the compiled network, "
                             f"got {patterns.shape}")
        self._patterns = _frozen(patterns)
        self._net = None
        if self._standalone is not None:
            self._standalone["xi_stale"] = True

    def _standalone_key(self, batch, duration):
        lags = tuple(lag.structure for lag in (self.feature_lagrangian, self.memory_lagrangian))
        return (self.codegen_target, batch, float(duration / second), float(self.dt / second), self.record_every,
                self.energy_every, lags, self.coupling_kind, self.dtype.name, self.openmp_threads,
                self.standalone_dir)

    def _project_key(self, batch, duration):
        return (self._standalone_key(batch, duration), self.n_features, self.n_memories)

    def _zero_initial(self, batch):
        zeros_f, zeros_h = np.zeros((batch, self.n_features)), np.zeros((batch, self.n_memories))
        return zeros_f, zeros_h, zeros_f

    @property
    def _product_size(self):
        """Weights read per copy and step (what makes a run long)."""
        return self.patterns.size

    def _run_standalone(self, initial, batch, duration, progress):
        sa = self._standalone_project(batch, duration, progress)
        if sa["xi_stale"]:
            if self.coupling_kind == "dense":
                np.ascontiguousarray(self.patterns, dtype=self.dtype).tofile(sa["weight_files"][self.coupling.name])
            else:
                self._standalone = None  # Synapses weights live in the compiled project: rebuild
                return self._run_standalone(initial, batch, duration, progress)
            sa["xi_stale"] = False
        run_args = self._initial_values(*initial)
        run_args.update(self._value_args(self.features, self.tau_f, self.feature_lagrangian, batch))
        run_args.update(self._value_args(self.memories, self.tau_h, self.memory_lagrangian, batch))
        return self._run_project(sa, run_args, batch, progress)


def check_cue(cue, known, n, hint=""):
    """A cue (N,) or batch of cues (B, N) and its known-mask, checked; returns 2-D arrays and whether batched.

    Raises ``ValueError`` naming the problem: wrong shape, empty batch, NaN or
    inf, a mask that is not boolean or not of the cue's shape, a cue with no
    known entry.
    """
    cue = np.asarray(cue, dtype=float)
    batched = cue.ndim == 2
    if cue.ndim not in (1, 2) or cue.shape[-1] != n:
        raise ValueError(f"cue must have shape ({n},) or (batch, {n}){hint}, got {cue.shape}")
    cue = np.atleast_2d(cue)
    if len(cue) == 0:
        raise ValueError("the batch of cues is empty")
    if not np.all(np.isfinite(cue)):
        bad = np.unique(np.nonzero(~np.isfinite(cue))[0])
        raise ValueError(f"cue contains NaN or inf (cue index {bad.tolist()[:5]})" if batched
                         else "cue contains NaN or inf")
    known = np.ones(cue.shape, bool) if known is None else np.asarray(known)
    if known.dtype != bool or known.shape not in ((n,), cue.shape):
        raise ValueError(f"known must be a boolean mask of shape ({n},) or {cue.shape}, "
                         f"got {known.dtype} {known.shape}")
    known = np.broadcast_to(known, cue.shape)
    empty = ~known.any(axis=1)
    if empty.any():
        raise ValueError("known mask is all False: the cue carries no information"
                         + (f" (cue index {np.nonzero(empty)[0].tolist()[:5]})" if batched else ""))
    return cue, known, batched


def reached_states(features, memories, v0, h0, I, out):
    """What :func:`~hippo_dam.core.health.check_run` looks at: per population its name, Lagrangian, the states
    it reached (the recorded trace, else the initial and final states) and its scale ``max |x(0)| + max |I|``."""
    return [(pop.name, pop.lagrangian, np.stack([x0, x1]) if trace is None else trace, scale)
            for pop, x0, x1, trace, scale in (
                (features, v0, out["v_final"], out.get("v"), np.max(np.abs(v0)) + np.max(np.abs(I))),
                (memories, h0, out["h_final"], out.get("h"), np.max(np.abs(h0), initial=0.0)))]


def check_cue_input(cue_input):
    """``cue_input`` as a finite float (the gain of the constant input ``I = cue_input * cue``)."""
    check_number("cue_input", cue_input, why=" (the gain of the input I = cue_input * cue)")
    return float(cue_input)


def check_target(target, patterns, v0):
    """The stored pattern each of the ``B`` cues came from, as ``B`` ints (default: the largest overlap with ``v0``)."""
    batch = len(v0)
    target = retrieved_index(patterns, v0) if target is None else np.asarray(target)
    if target.shape not in ((), (batch,)) or not np.issubdtype(target.dtype, np.integer):
        raise ValueError(f"target must be an int or {batch} ints, got {target!r}")
    return np.broadcast_to(target, (batch,))


def _import_brian2cuda(compile):
    """Register the cuda_standalone device; without a GPU, code generation only."""
    try:
        import brian2cuda  # noqa: F401  (registers the device)
    except ImportError:
        raise ImportError("codegen_target='cuda_standalone' needs brian2cuda: pip install 'hippo_dam[gpu]'") from None
    if not compile:
        # brian2cuda refuses to generate code unless it can find a GPU or is told its compute capability
        prefs.devices.cuda_standalone.cuda_backend.detect_gpus = False
        backend = prefs.devices.cuda_standalone.cuda_backend
        if backend.compute_capability is None:
            backend.compute_capability = 9.0  # Hopper (H100/H200)
        if backend.gpu_id is None:
            backend.gpu_id = 0


def _per_neuron(tau, n, batch):
    """A time constant (scalar or per neuron of one copy) for every neuron of a batched group."""
    return np.tile(np.broadcast_to(np.asarray(tau / second, dtype=float), (n,)), batch) * second


# The C++ standalone device is a process-wide singleton: the network whose
# project it holds.
_STANDALONE_OWNER: dict = {}


class _ProgressBar:
    """Brian2 report callback drawing a tqdm bar over simulated time."""

    def __init__(self, duration):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=round(float(duration / ms), 3), unit="ms", desc="hippo_dam recall")

    def __call__(self, elapsed, completed, start, duration):
        self.bar.n = round(float(completed * duration / ms), 3)
        self.bar.refresh()

    def close(self):
        self.bar.n = self.bar.total
        self.bar.close()


class _BuildReport:
    """Progress of a first run's Cython builds on stderr: what is compiled, and that it happens once."""

    def __init__(self):
        self.bar = None

    def __call__(self, event):
        if self.bar is None:
            import sys

            from tqdm.auto import tqdm

            print(f"hippo_dam: compiling this network's Brian2 code (first run only; cached in "
                  f"{cython_cache_dir()})", file=sys.stderr, flush=True)
            self.bar = tqdm(total=0, unit="module", desc="compiling", file=sys.stderr, leave=False)
        if event == "queued":
            self.bar.total += 1
            self.bar.refresh()
        else:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
