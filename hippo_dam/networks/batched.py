"""Many small recalls in one Brian2 run: batch copies with their own time constants and parameters.

Exploring parameters means many recalls of small networks, where the cost of
a recall is not the arithmetic but the fixed cost of a Brian2 run (building
the objects, preparing their code objects, Python's garbage collection that
Brian2 runs before every run): tens of milliseconds, against well under a
millisecond of arithmetic for 100 steps of a 256 x 64 network.

:func:`recall_grid` runs ``B`` recalls of one network's patterns as ``B``
independent copies of one batched network (the batch layout of
:class:`hippo_dam.core.populations.Population`). Copy ``b`` integrates
(Krotov & Hopfield 2021, eq. 1)::

    tau_f[b] dv_b/dt = xi^T f_b(h_b) - v_b + I_b,      f_b = dL_h(h_b; theta_h[b])/dh
    tau_h[b] dh_b/dt = xi g_b(v_b) - h_b,              g_b = dL_v(v_b; theta_v[b])/dv

with its own cue, time constants and Lagrangian parameters ``theta`` (for
instance the inverse temperature ``beta``): the parameters that differ are
per-neuron constants of the copies instead of one shared constant, so the
whole grid is one Brian2 run, and a second grid of the same shape reuses the
built network (only the values change). Each copy is the same explicit Euler
scheme as a recall of its own: the results equal one-at-a-time recalls (the
product of a batch is a BLAS matrix-matrix product instead of matrix-vector
products, which may change the last bits).
"""
from __future__ import annotations

import time
import weakref

import numpy as np
from brian2 import Network, ms, prefs, second

from ..core._compat import RUNTIME_DEVICE, device_name, preserved_brian_state, reset_device
from ..core.lagrangians import LAGRANGIANS
from .two_layer import DenseAssociativeMemory, check_target, reached_states, run_network
from ..core.populations import check_tau

__all__ = ["recall_grid"]

RUNTIME_TARGETS = ("cython", "numpy")
# built batched networks, one per DenseAssociativeMemory (dropped with it)
_BUILT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _copy_values(values, batch, what, positive=False):
    """``values`` as a float array of ``batch`` finite entries, or raise naming ``what``."""
    arr = np.asarray(values, dtype=float)
    if arr.shape != (batch,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must hold one finite value per recall ({batch}), got shape {arr.shape}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{what} must be > 0, got {arr[arr <= 0][:3]}")
    return arr


def _per_copy_tau(tau, default, n, batch, what, dt):
    """Time constants of every neuron of the batch (``batch * n`` values, copy-major), in seconds."""
    if tau is None:
        values = np.broadcast_to(np.asarray(default / second, dtype=float), (n,))
        out = np.tile(values, batch)
    else:
        check_tau(tau, what)
        values = np.asarray(tau / second, dtype=float)
        if values.shape not in ((), (batch,)):
            raise ValueError(f"{what} must be one time per recall, shape ({batch},), got {values.shape}")
        out = np.repeat(np.broadcast_to(values, (batch,)), n)
    if float(dt / second) >= out.min():
        raise ValueError(f"dt={dt} must be smaller than every {what}, got a minimum of {out.min() * 1e3:g} ms")
    return out


def _copy_params(lagrangian, params, batch, what):
    """Check per-copy parameters: every copy's values must make a valid (convex) Lagrangian."""
    params = dict(params or {})
    out = {}
    for key, values in params.items():
        if key not in lagrangian.params:
            raise ValueError(f"{what}: {key!r} is not a parameter of {lagrangian!r} "
                             f"(its parameters: {sorted(lagrangian.params)})")
        out[key] = _copy_values(values, batch, f"{what}[{key!r}]")
    if out:
        combos = np.unique(np.stack([out[k] for k in out], axis=1), axis=0)
        for combo in combos:  # the constructor validates the values, then the convexity check
            spec = dict(lagrangian.params, **dict(zip(out, combo)))
            key = (lagrangian.name, tuple(sorted((k, float(v)) for k, v in spec.items())))
            if key in _CONVEX:
                continue
            try:
                LAGRANGIANS[lagrangian.name](**spec).check_convex()
            except (TypeError, ValueError) as err:
                raise ValueError(f"{what}: {dict(zip(out, combo))} gives no valid {lagrangian.name}: {err}") from None
            _CONVEX.add(key)
    return out


_CONVEX = set()  # (Lagrangian name, parameters) already checked: a grid's values are checked once per process


def recall_grid(net, cues, known=None, duration=100 * ms, tau_f=None, tau_h=None, feature_params=None,
                memory_params=None, target=None, h0=None, cue_input=0.0, tolerance=0):
    """``B`` recalls of ``net``'s patterns, each with its own cue, time constants and parameters, in one run.

    Parameters
    ----------
    net : DenseAssociativeMemory
        The patterns, Lagrangians, ``dt``, weight dtype and (runtime) code
        generation target; ``coupling='dense'``.
    cues : array (B, N_f)
        One cue per recall; entries outside ``known`` are replaced by 0.
    known : bool array (N_f,) or (B, N_f), optional
    duration : Quantity
        Same for every recall.
    tau_f, tau_h : Quantity, scalar or (B,), optional
        Time constants per recall (default: ``net.tau_f``, ``net.tau_h``).
    feature_params, memory_params : dict of str to array (B,), optional
        Lagrangian parameters per recall, e.g. ``memory_params={'beta':
        betas}`` for model B; the others keep ``net``'s values. Every
        recall's values must give a valid convex Lagrangian.
    target, h0, cue_input, tolerance : as in
        :meth:`hippo_dam.DenseAssociativeMemory.recall`.

    Returns
    -------
    RecallResult
        Batched (leading axis ``B``): final states, the energy trace of every
        recall (computed inside the run) and the recall quality. States are
        not recorded over time. ``attrs`` holds the per-recall ``tau_f_ms``,
        ``tau_h_ms`` and parameters.

    Notes
    -----
    Runtime targets only ('cython', 'numpy'). The built Brian2 network is
    kept (per ``net``, for the last shape of grid used: ``B``, the names of
    the per-recall parameters, the code generation target) and reused with
    new values by the next grid of that shape.
    """
    if getattr(net, "coupling_kind", None) != "dense":
        raise ValueError("recall_grid needs a DenseAssociativeMemory with coupling='dense'")
    if net.codegen_target not in RUNTIME_TARGETS:
        raise ValueError(f"recall_grid runs on the runtime targets {RUNTIME_TARGETS}; "
                         f"net.codegen_target is {net.codegen_target!r}")
    cues = np.asarray(cues, dtype=float)
    if cues.ndim != 2:
        raise ValueError(f"cues must be a 2-D array (B recalls, {net.n_features} features), got shape {cues.shape}")
    duration = check_tau(duration, "duration")
    cue, known, v0, h0, I, _ = net._initial_state(cues, known, h0, cue_input)
    batch = len(cue)
    taus = {"features": _per_copy_tau(tau_f, net.tau_f, net.n_features, batch, "tau_f", net.dt),
            "memories": _per_copy_tau(tau_h, net.tau_h, net.n_memories, batch, "tau_h", net.dt)}
    params = {"features": _copy_params(net.feature_lagrangian, feature_params, batch, "feature_params"),
              "memories": _copy_params(net.memory_lagrangian, memory_params, batch, "memory_params")}
    target = check_target(target, net.patterns, v0)

    with preserved_brian_state():  # the caller's device and code generation target come back
        return _run_grid(net, batch, params, taus, cue, known, v0, h0, I, target, duration, tolerance, cue_input)


def _run_grid(net, batch, params, taus, cue, known, v0, h0, I, target, duration, tolerance, cue_input):
    start = time.perf_counter()
    if device_name() != RUNTIME_DEVICE:
        reset_device()
    prefs.codegen.target = net.codegen_target
    key = (batch, tuple(sorted(params["features"])), tuple(sorted(params["memories"])), net.codegen_target,
           id(net.patterns), float(net.dt / second), repr(net.feature_lagrangian), repr(net.memory_lagrangian),
           net.energy_every)
    built = _BUILT.get(net)
    rerun = built is not None and built["key"] == key
    if rerun:
        built["network"].restore("built")  # the same objects: only values change below
    else:
        built = _build(net, batch, params, taus, key)
        _BUILT[net] = built
    feat, mem, energy = built["features"], built["memories"], built["energy"]
    for pop in (feat, mem):
        pop.group.tau = taus[pop.name] * second
        for name, values in params[pop.name].items():
            setattr(pop.group, name, np.repeat(values, pop.n))
            if not pop.lagrangian.additive:
                setattr(energy.group, f"{name}_{pop.name}", values)
    feat.group.v = v0.ravel()
    feat.group.I = I.ravel()
    mem.group.h = h0.ravel()
    run_network(built["network"], duration, built["product_size"], rerun=rerun)
    out = {"v_final": np.array(feat.group.v[:]).reshape(batch, net.n_features),
           "h_final": np.array(mem.group.h[:]).reshape(batch, net.n_memories),
           "energy_t": np.array(energy.monitor.t / second), "energy": np.array(energy.monitor.E[:]).reshape(batch, -1)}
    wall = time.perf_counter() - start
    net._check_bounded((("feature state v", out["v_final"]), ("memory state h", out["h_final"]),
                        ("energy", out["energy"])), copies="the grid's recalls")
    attrs = net._attrs(duration, cue_input, wall, batch)
    attrs.update({"tau_f_ms": (taus["features"][::net.n_features] * 1e3).tolist(),
                  "tau_h_ms": (taus["memories"][::net.n_memories] * 1e3).tolist(), "grid": True})
    for side in ("features", "memories"):
        for name, values in params[side].items():
            attrs[f"{side}_{name}"] = values.tolist()
    out.update(t=out["energy_t"][-1:], v=None, h=None)  # no state record: the final states only
    # per-copy parameters: the culprit of a rise is looked for with the populations' base Lagrangians
    return net._recall_result(out, net.patterns, cue, known, target, tolerance, True, attrs,
                              reached_states(feat, mem, v0, h0, I, out), None)


def _build(net, batch, params, taus, key):
    """The batched energy graph: populations with per-copy values, dense coupling, online energy."""
    # the two-layer graph of DenseAssociativeMemory itself, with per-copy values; the network's own
    # populations (those of its built runtime network) are put back, so its next recall needs no rebuild
    own = {name: getattr(net, name, None) for name in ("features", "memories", "coupling")}
    try:
        graph = DenseAssociativeMemory._graph(net, batch, copy_params=params)
    finally:
        for name, value in own.items():
            setattr(net, name, value)
    features, memories = graph.populations
    network = Network(*graph.build(net.dt, net.energy_every))
    energy = graph.online_energy
    network.store("built")
    return {"key": key, "network": network, "features": features, "memories": memories, "energy": energy,
            "product_size": graph.largest_product()}
