"""The reduction made visible: the two-layer network against its effective feature-only model.

Krotov & Hopfield (2021, section 3) integrate out the memory neurons when
``tau_h << tau_f``: the two-layer network then moves like the one-layer
effective model of :mod:`hippo_dam.theory.effective`. This experiment runs
both from the same cue for shrinking ``tau_h / tau_f`` and measures the gap.
"""
from __future__ import annotations

import numpy as np
from brian2 import second

from ..core.lagrangians import make_lagrangian
from ..core.reference import euler_reference
from ..data.patterns import check_patterns
from ..networks.two_layer import DenseAssociativeMemory
from ..theory.effective import _seconds, _states, effective_euler

__all__ = ["reduction_errors"]


def reduction_errors(patterns, cue, feature_lagrangian="identity", memory_lagrangian=None, ratios=(1.0, 0.1, 0.01),
                     tau_f=None, duration=None, record_every=None, engine="brian2", **network_kwargs):
    """Microscopic feature trajectories against the effective ones, for shrinking ``tau_h/tau_f``.

    For each ratio the two-layer network is run from ``v = cue, h = 0`` with
    ``tau_h = ratio * tau_f`` and Euler step ``dt = min(tau_h/20, tau_f/200)``;
    :func:`effective_euler` is run with the same step from the same ``v``.
    The error is ``max_t max_i |v_micro(t) - v_eff(t)| / max_{t,i} |v_eff(t)|``;
    the memory lag makes it ``O(tau_h/tau_f)``: to leading order
    ``h(t) = xi g(v(t - tau_h))``, so the error falls linearly with the ratio
    (measured: 9.5-9.9 times per decade from 0.1 to 0.01, the sub-linear
    remainder being the next order).

    Parameters
    ----------
    patterns : array (K, N)
    cue : array (N,)
    feature_lagrangian, memory_lagrangian : Lagrangian, name or mapping
        Default: model B (identity, log-sum-exp with beta = 1).
    ratios : sequence of float
        ``tau_h / tau_f`` values.
    tau_f, duration, record_every : Quantity
        Defaults 10 ms, 50 ms and 0.1 ms.
    engine : {'brian2', 'numpy'}
        The microscopic network: :class:`hippo_dam.DenseAssociativeMemory`
        (Brian2) or :func:`hippo_dam.euler_reference` (numpy).
    **network_kwargs
        Passed to DenseAssociativeMemory (e.g. ``codegen_target``).

    Returns
    -------
    dict
        ``ratios``, ``errors`` (array), ``t`` (s), ``v_micro`` and ``v_eff``
        (lists of (T, N) arrays, one per ratio), ``dt`` (s, per ratio).
    """
    from brian2 import ms


    tau_f = 10 * ms if tau_f is None else tau_f
    duration = 50 * ms if duration is None else duration
    record_every = 0.1 * ms if record_every is None else record_every
    lh = make_lagrangian(memory_lagrangian if memory_lagrangian is not None else {"name": "log_sum_exp", "beta": 1.0})
    lv = make_lagrangian(feature_lagrangian)
    xi = check_patterns(patterns)
    cue = _states(cue, xi.shape[1], "cue")
    if engine not in ("brian2", "numpy"):
        raise ValueError(f"engine must be 'brian2' or 'numpy', got {engine!r}")
    tf, rec, dur = _seconds(tau_f, "tau_f"), _seconds(record_every, "record_every"), _seconds(duration, "duration")
    out = {"ratios": np.asarray(ratios, float), "errors": [], "v_micro": [], "v_eff": [], "dt": []}
    for ratio in ratios:
        if not ratio > 0:
            raise ValueError(f"ratios must be positive, got {ratio}")
        th = ratio * tf
        dt = min(th / 20, tf / 200)  # the same resolution of tau_h at small ratios
        stride = int(round(rec / dt))
        if abs(stride * dt - rec) > 1e-9 * rec:
            raise ValueError(f"record_every={rec} s is not a multiple of dt={dt} s for ratio {ratio}")
        n_steps = int(round(dur / dt))
        v_eff = effective_euler(xi, lv, lh, tf, cue, dt, n_steps)[::stride]
        if engine == "brian2":
            net = DenseAssociativeMemory(xi, lv, lh, tau_f=tf * second, tau_h=th * second, dt=dt * second,
                                         record_every=rec * second, **network_kwargs)
            v_micro = net.recall(cue, duration=dur * second, progress=False).v
        else:
            v_micro = euler_reference(xi, lv, lh, tf, th, cue, np.zeros(len(xi)), dt, n_steps)[0][::stride]
        m = min(len(v_micro), len(v_eff))
        v_micro, v_eff = v_micro[:m], v_eff[:m]
        out["errors"].append(float(np.max(np.abs(v_micro - v_eff)) / np.max(np.abs(v_eff))))
        out["v_micro"].append(v_micro)
        out["v_eff"].append(v_eff)
        out["dt"].append(dt)
        out["t"] = np.arange(m) * rec
    out["errors"] = np.array(out["errors"])
    return out
