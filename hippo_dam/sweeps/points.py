"""The package's built-in point function: one recall of a two-layer model per grid point.
"""
from __future__ import annotations

import inspect

import numpy as np

from .executor import worker_directory


# -- a built-in point function ----------------------------------------------------------
_POINT_TIMES = ("duration", "tau_f", "tau_h", "dt")


def _times_in_ms(point, defaults):
    """A point's times given as quantities (``duration=60*ms``) folded into the ``*_ms`` numbers."""
    from brian2 import ms
    from brian2.units.fundamentalunits import have_same_dimensions

    point = dict(point)
    for name in _POINT_TIMES:
        value = point.pop(name, None)
        if value is None:
            continue
        if not have_same_dimensions(value, ms):
            raise ValueError(f"{name} must be a time (e.g. 60*ms or '60 ms' in a sweep file), got {value!r}")
        if point.get(f"{name}_ms", defaults[f"{name}_ms"]) != defaults[f"{name}_ms"]:
            raise ValueError(f"give {name} or {name}_ms, not both")
        point[f"{name}_ms"] = float(value / ms)
    return point


def recall_point(seed, beta=1.0, flip=0.2, model="B", degree=3.0, n_features=64, n_patterns=16,
                 duration_ms=60.0, tau_f_ms=20.0, tau_h_ms=2.0, dt_ms=0.1, codegen_target="cython",
                 duration=None, tau_f=None, tau_h=None, dt=None):
    """One Brian2 recall of a random pattern from a cue with ``flip`` of its bits flipped.

    ``seed`` draws the ``n_patterns x n_features`` random +-1 patterns, the
    target and the flipped bits. ``model`` is 'A' (sign / ``max(h,0)^degree``),
    'B' (identity / softmax with ``beta``) or 'C' (divisive normalisation /
    ``max(h,0)^degree``), simulated with time constants ``tau_f``, ``tau_h``
    and step ``dt`` for ``duration``. Each time is a Brian2 quantity
    (``duration=60*ms``; ``duration = "60 ms"`` in a sweep file) or, the
    same, a number of milliseconds (``duration_ms=60.0``); not both.

    Returns
    -------
    dict
        ``success`` (retrieved the target with no wrong bit), ``hamming``
        (wrong bits), ``target_overlap`` (``m = xi_target . sign v / N``),
        ``retrieved`` (index of the largest overlap), ``energy_drop``
        (``E(0) - E(end)``, >= 0).
    """
    from brian2 import ms

    from ..networks.paper_models import model_a, model_b, model_c
    from ..data.patterns import flip_cue, random_patterns

    if any(t is not None for t in (duration, tau_f, tau_h, dt)):
        times = _times_in_ms(dict(duration=duration, tau_f=tau_f, tau_h=tau_h, dt=dt, duration_ms=duration_ms,
                                  tau_f_ms=tau_f_ms, tau_h_ms=tau_h_ms, dt_ms=dt_ms), _RECALL_POINT_DEFAULTS)
        duration_ms, tau_f_ms, tau_h_ms, dt_ms = (times[f"{n}_ms"] for n in _POINT_TIMES)
    rng = np.random.default_rng(seed)
    patterns = random_patterns(int(n_patterns), int(n_features), seed=rng)
    target = int(rng.integers(len(patterns)))
    cue, known = flip_cue(patterns[target], flip, seed=rng)
    common = dict(tau_f=tau_f_ms * ms, tau_h=tau_h_ms * ms, dt=dt_ms * ms, record_every=None,
                  codegen_target=codegen_target, standalone_dir=worker_directory())
    if model == "A":
        net = model_a(patterns, degree=degree, **common)
    elif model == "B":
        net = model_b(patterns, beta=beta, **common)
    elif model == "C":
        net = model_c(patterns, degree=degree, **common)
    else:
        raise ValueError(f"model must be 'A', 'B' or 'C', got {model!r}")
    result = net.recall(cue, known, duration=duration_ms * ms, target=target, progress=False)
    q = result.quality
    return {"success": bool(q.success), "hamming": int(q.hamming), "target_overlap": float(q.target_overlap),
            "retrieved": int(q.retrieved), "energy_drop": result.energy_drop}


def recall_points(points):
    """Many :func:`recall_point` calls at once: ``[recall_point(**p) for p in points]``, batched.

    Points that share their patterns and run settings (same ``seed``,
    ``model``, ``n_features``, ``n_patterns``, ``duration_ms``, ``dt_ms`` and
    a runtime ``codegen_target``) run as one :func:`hippo_dam.networks.batched.recall_grid`:
    one Brian2 run whose copies carry each point's cue (``flip``), ``beta``
    (model B) or ``degree`` (models A, C) and time constants. The results
    equal the one-at-a-time ones (same Euler scheme; the batched product may
    change the last bits of the states). Other points run one at a time.

    Parameters
    ----------
    points : list of dict
        Keyword arguments of :func:`recall_point`, ``seed`` included.

    Returns
    -------
    list of dict, one per point, in order.
    """
    from brian2 import ms

    from ..networks.batched import RUNTIME_TARGETS, recall_grid
    from ..networks.paper_models import model_a, model_b, model_c
    from ..data.patterns import flip_cue, random_patterns

    defaults = {name: par.default for name, par in inspect.signature(recall_point).parameters.items()
                if par.default is not inspect.Parameter.empty}
    full = []
    for point in points:
        unknown = set(point) - set(defaults) - {"seed"}
        if unknown or "seed" not in point:
            raise TypeError(f"recall_points: a point needs 'seed' and takes only {sorted(defaults)}; got {point}")
        full.append({**defaults, **_times_in_ms(point, defaults)})
    shared = ("seed", "model", "n_features", "n_patterns", "duration_ms", "dt_ms", "codegen_target")
    groups = {}
    for i, p in enumerate(full):
        groups.setdefault(tuple(p[k] for k in shared), []).append(i)
    results = [None] * len(points)
    for key, idx in groups.items():
        first = full[idx[0]]
        if len(idx) == 1 or first["codegen_target"] not in RUNTIME_TARGETS or first["model"] not in ("A", "B", "C"):
            for i in idx:
                results[i] = recall_point(**full[i])
            continue
        cues, targets = [], []
        for i in idx:  # the same draws as recall_point: patterns, then target, then the flipped bits
            rng = np.random.default_rng(full[i]["seed"])
            patterns = random_patterns(int(first["n_patterns"]), int(first["n_features"]), seed=rng)
            target = int(rng.integers(len(patterns)))
            cues.append(flip_cue(patterns[target], full[i]["flip"], seed=rng)[0])
            targets.append(target)
        common = dict(tau_f=first["tau_f_ms"] * ms, tau_h=first["tau_h_ms"] * ms, dt=first["dt_ms"] * ms,
                      record_every=None, codegen_target=first["codegen_target"])
        model = first["model"]
        if model == "B":
            net, param = model_b(patterns, beta=first["beta"], **common), "beta"
        else:
            net, param = (model_a if model == "A" else model_c)(patterns, degree=first["degree"], **common), "degree"
        res = recall_grid(net, np.array(cues), duration=first["duration_ms"] * ms,
                          tau_f=np.array([full[i]["tau_f_ms"] for i in idx]) * ms,
                          tau_h=np.array([full[i]["tau_h_ms"] for i in idx]) * ms,
                          memory_params={param: [full[i][param] for i in idx]}, target=np.array(targets))
        q, drop = res.quality, res.energy_drop
        for j, i in enumerate(idx):
            results[i] = {"success": bool(q.success[j]), "hamming": int(q.hamming[j]),
                          "target_overlap": float(q.target_overlap[j]), "retrieved": int(q.retrieved[j]),
                          "energy_drop": float(drop[j])}
    return results


recall_point.batched = recall_points
_RECALL_POINT_DEFAULTS = {name: par.default for name, par in inspect.signature(recall_point).parameters.items()}
