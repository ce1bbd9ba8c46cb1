"""The microscopic Dense Associative Memory: feature and memory layers on Brian2.

Two populations joined by one symmetric projection (Krotov & Hopfield 2021,
eq. 1)::

    tau_f dv_i/dt  = sum_mu xi[mu,i] f_mu - v_i + I_i
    tau_h dh_mu/dt = sum_i  xi[mu,i] g_i  - h_mu

with ``g = dL_v/dv`` and ``f = dL_h/dh``. Each memory neuron stores one
pattern: ``N_h = K``.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from brian2 import Network, StateMonitor, device, get_device, ms, prefs, second, set_device
from brian2.devices.device import reset_device

from .energy import OnlineEnergy
from .lagrangians import make_lagrangian
from .patterns import check_patterns
from .populations import Population, SymmetricProjection, check_tau
from .recall import recall_quality
from .results import RecallResult

__all__ = ["DenseAssociativeMemory", "CODEGEN_TARGETS"]

CODEGEN_TARGETS = ("cython", "numpy", "cpp_standalone")


class DenseAssociativeMemory:
    """A two-layer Dense Associative Memory simulated by Brian2.

    Parameters
    ----------
    patterns : array (K, N_f)
        Stored patterns ``xi``, one per memory neuron (finite; usually ``+-1``).
    feature_lagrangian, memory_lagrangian : Lagrangian, name or mapping
        ``L_v`` and ``L_h`` (see :mod:`hippo_dam.lagrangians`).
    tau_f, tau_h : Quantity
        Time constants of feature and memory neurons (time units, > 0).
    dt : Quantity
        Integration step (explicit Euler); must be below both time constants.
    record_every : Quantity or None
        Interval at which every neuron's state is recorded; ``None`` records
        only the energy trace and the final state (large networks).
    energy_every : Quantity or None
        Interval of the online energy trace (default: every step).
    codegen_target : {'cython', 'numpy', 'cpp_standalone'}
        Runtime Cython (default), runtime numpy (additive Lagrangians only), or
        C++ standalone (builds one project per recall, in ``standalone_dir``).
    feature_region, memory_region : str, optional
        Anatomical labels carried into results and plots.
    """

    def __init__(self, patterns, feature_lagrangian="sign", memory_lagrangian=None, tau_f=20 * ms,
                 tau_h=2 * ms, dt=0.1 * ms, record_every=0.5 * ms, energy_every=None,
                 codegen_target="cython", feature_region=None, memory_region=None,
                 standalone_dir=None):
        self.patterns = check_patterns(patterns)
        self.n_memories, self.n_features = self.patterns.shape
        self.feature_lagrangian = make_lagrangian(feature_lagrangian)
        self.memory_lagrangian = make_lagrangian(
            memory_lagrangian if memory_lagrangian is not None else {"name": "rectified_power", "degree": 3}
        )
        for lag in (self.feature_lagrangian, self.memory_lagrangian):
            lag.check_convex()
        self.tau_f = check_tau(tau_f, "tau_f")
        self.tau_h = check_tau(tau_h, "tau_h")
        self.dt = check_tau(dt, "dt")
        if self.dt >= min(np.min(self.tau_f), np.min(self.tau_h)):
            raise ValueError(f"dt={self.dt} must be smaller than both tau_f={self.tau_f} and tau_h={self.tau_h}")
        self.record_every = None if record_every is None else check_tau(record_every, "record_every")
        self.energy_every = None if energy_every is None else check_tau(energy_every, "energy_every")
        self.codegen_target = codegen_target
        self.standalone_dir = standalone_dir
        self.feature_region, self.memory_region = feature_region, memory_region

    @property
    def codegen_target(self):
        """Code generation target; checked against the Lagrangians when set."""
        return self._codegen_target

    @codegen_target.setter
    def codegen_target(self, target):
        if target not in CODEGEN_TARGETS:
            raise ValueError(f"codegen_target must be one of {CODEGEN_TARGETS}, got {target!r}")
        if target == "numpy":
            for lag in (self.feature_lagrangian, self.memory_lagrangian):
                if any(r.op == "max" for r in lag.reductions):
                    raise ValueError(
                        f"codegen target 'numpy' cannot compute the layer maximum that {lag!r} needs "
                        "(it vectorises over repeated indices); use 'cython' or 'cpp_standalone'"
                    )
        self._codegen_target = target
        self._net = None

    # -- construction ----------------------------------------------------------
    def _build(self):
        """Populations, projection, energy and monitors as a Brian2 Network."""
        self.features = Population("features", self.n_features, self.feature_lagrangian, self.tau_f,
                                   "v", "g", self.feature_region)
        self.memories = Population("memories", self.n_memories, self.memory_lagrangian, self.tau_h,
                                   "h", "f", self.memory_region)
        self.coupling = SymmetricProjection(self.features, self.memories, self.patterns)
        objects = self.features.build(self.dt) + self.memories.build(self.dt) + self.coupling.build()
        self.online_energy = OnlineEnergy([self.features, self.memories], [self.coupling], dt=self.energy_every)
        objects += self.online_energy.build()
        self._monitors = {}
        if self.record_every is not None:
            for pop in (self.features, self.memories):
                mon = StateMonitor(pop.group, pop.state, record=True, dt=self.record_every,
                                   name=f"{pop.name}_monitor")
                self._monitors[pop.state] = mon
                objects.append(mon)
        return Network(*objects)

    # -- recall ----------------------------------------------------------------
    def _initial_state(self, cue, known, h0, cue_input):
        cue = np.asarray(cue, dtype=float)
        if cue.shape != (self.n_features,):
            raise ValueError(f"cue must have shape ({self.n_features},) to match patterns {self.patterns.shape}, "
                             f"got {cue.shape}")
        if not np.all(np.isfinite(cue)):
            raise ValueError("cue contains NaN or inf")
        known = np.ones(self.n_features, bool) if known is None else np.asarray(known)
        if known.shape != (self.n_features,) or known.dtype != bool:
            raise ValueError(f"known must be a boolean mask of shape ({self.n_features},), "
                             f"got {known.dtype} {known.shape}")
        if not known.any():
            raise ValueError("known mask is all False: the cue carries no information")
        v0 = np.where(known, cue, 0.0)
        h0 = np.zeros(self.n_memories) if h0 is None else np.asarray(h0, dtype=float)
        if h0.shape != (self.n_memories,) or not np.all(np.isfinite(h0)):
            raise ValueError(f"h0 must be a finite array of shape ({self.n_memories},)")
        return cue, known, v0, h0, float(cue_input) * v0

    def recall(self, cue, known=None, duration=100 * ms, target=None, h0=None, cue_input=0.0,
               tolerance=0, progress=None):
        """Run the network from a cue and measure what it retrieves.

        Parameters
        ----------
        cue : array (N_f,)
            Initial feature state; entries outside ``known`` are replaced by 0.
        known : bool array (N_f,), optional
            Entries of the cue that are known (default: all).
        duration : Quantity
        target : int, optional
            Index of the pattern the cue came from (default: the pattern with
            the largest overlap with the cue).
        h0 : array (N_h,), optional
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
        """
        duration = check_tau(duration, "duration")
        cue, known, v0, h0, I = self._initial_state(cue, known, h0, cue_input)
        if target is None:
            target = int(np.argmax(self.patterns @ np.sign(v0)))
        n_steps = int(round(duration / self.dt))
        if progress is None:
            progress = n_steps * self.n_features * self.n_memories > 2e9
        start = time.perf_counter()
        if self.codegen_target == "cpp_standalone":
            out = self._run_standalone(v0, h0, I, duration, progress)
        else:
            out = self._run_runtime(v0, h0, I, duration, progress)
        wall = time.perf_counter() - start
        for name, arr in (("feature state v", out["v_final"]), ("memory state h", out["h_final"]),
                          ("energy", out["energy"])):
            if not np.all(np.isfinite(arr)):
                raise FloatingPointError(
                    f"the {name} overflowed (inf/NaN) during the run: the activations grow too fast for "
                    f"these Lagrangians ({self.feature_lagrangian!r}, {self.memory_lagrangian!r}); "
                    "lower beta or the degree, or use log_sum_exp"
                )
        quality = recall_quality(self.patterns, out["v_final"], target, tolerance)
        return RecallResult(
            out["t"], out["v"], out["h"], out["energy_t"], out["energy"], out["v_final"], out["h_final"],
            self.patterns, cue, known, quality, attrs=self._attrs(duration, cue_input, wall),
        )

    def _attrs(self, duration, cue_input, wall):
        return {
            "feature_lagrangian": repr(self.feature_lagrangian),
            "memory_lagrangian": repr(self.memory_lagrangian),
            "tau_f_ms": float(np.mean(self.tau_f / ms)),
            "tau_h_ms": float(np.mean(self.tau_h / ms)),
            "dt_ms": float(self.dt / ms),
            "duration_ms": float(duration / ms),
            "cue_input": float(cue_input),
            "codegen_target": self.codegen_target,
            "feature_region": self.feature_region,
            "memory_region": self.memory_region,
            "wall_time_s": wall,
        }

    def _set_initial(self, v0, h0, I):
        self.features.group.v = v0
        self.features.group.I = I
        self.memories.group.h = h0

    def _collect(self):
        out = {
            "v_final": np.array(self.features.group.v[:]),
            "h_final": np.array(self.memories.group.h[:]),
            "energy_t": np.array(self.online_energy.monitor.t / second),
            "energy": np.array(self.online_energy.monitor.E[0]),
        }
        if self._monitors:
            out["t"] = np.array(self._monitors["v"].t / second)
            out["v"] = np.array(self._monitors["v"].v.T)
            out["h"] = np.array(self._monitors["h"].h.T)
        else:
            out["t"] = out["energy_t"][-1:]
            out["v"] = out["h"] = None
        return out

    def _run_runtime(self, v0, h0, I, duration, progress):
        if get_device().__class__.__name__ != "RuntimeDevice":
            reset_device()
        prefs.codegen.target = self.codegen_target
        if self._net is None:
            self._net = self._build()
            self._net.store("built")
        else:
            self._net.restore("built")
        self._set_initial(v0, h0, I)
        report = _ProgressBar(duration) if progress else None
        self._net.run(duration, report=report, report_period=1 * second, namespace={})
        if report is not None:
            report.close()
        return self._collect()

    def _run_standalone(self, v0, h0, I, duration, progress):
        directory = self.standalone_dir or tempfile.mkdtemp(prefix="hippo_dam_standalone_")
        # One project directory per process, so parallel runs cannot clobber each other.
        directory = os.path.join(directory, f"pid{os.getpid()}")
        set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            net = self._build()
            self._set_initial(v0, h0, I)
            net.run(duration, report="text" if progress else None, namespace={})
            device.build(directory=directory, compile=True, run=True, with_output=bool(progress))
            return self._collect()
        finally:
            device.reinit()
            reset_device()
            self._net = None


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
