"""The EC-CA1 loop: activity by region, energy of the symmetric loop and of broken relays."""
from __future__ import annotations

import json
from pathlib import Path

from brian2 import ms

from ..plotting import _ci
from ..data.patterns import _flip_cues as _cues
from ._common import _recall_stats, _versions


def ec_ca1(outdir="figures", n_features=200, n_patterns=32, flip=0.3, n_cues=100, seed=0):
    """EC-CA1 loop: activity by region, energy of the symmetric loop and of broken relays, overlaps."""
    import numpy as np

    from .. import ECCA1Loop, random_patterns
    from ..plotting import plot_circuit

    if _ci():
        n_features, n_patterns, n_cues = 64, 8, 6
    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cues = _cues(patterns, n_cues, flip, seed + 1)
    target, cue, known = cues[1]
    duration = 150 * ms
    noise = np.random.default_rng(seed + 99).normal(size=patterns.T.shape)
    variants = {
        "instant relay (symmetric)": dict(relay_tau=0 * ms),
        "relay tau_V = 1 ms": dict(relay_tau=1 * ms),
        "slow relay tau_V = 20 ms": dict(relay_tau=20 * ms),
        "slow relay tau_V = 50 ms": dict(relay_tau=50 * ms),
        "slow relay tau_V = 20 ms, gain 1.5": dict(relay_tau=20 * ms, relay_gain=1.5),
        "relay gain a = 1.5": dict(relay_gain=1.5),
        "relay gain a = 0.5": dict(relay_gain=0.5),
        "relay weights xi^T + 0.5 noise": dict(relay_weights=patterns.T + 0.5 * noise),
    }
    runs, stats = {}, {}
    for label, kw in variants.items():
        net = ECCA1Loop(patterns, **kw)
        runs[label] = net.recall(cue, known, duration=duration, target=target)
        n = n_cues if label in ("instant relay (symmetric)", "relay tau_V = 1 ms") else max(2, n_cues // 5)
        stats[label] = _recall_stats(net, cues[:n], duration)
        if label == "relay tau_V = 1 ms":
            shown, shown_net = runs[label], net
    t_ms = shown.t * 1e3
    rates = {"EC-III feature cells: g = tanh(v)": (t_ms, np.tanh(shown.v), "g"),
             "CA1 memory cells: rate": (t_ms, shown_net.memory_lagrangian.activation(shown.h) * 20.0, "Hz"),
             "EC-V relay cells: z": (t_ms, shown.extra["EC_V"]["trace"], "z")}
    path = Path(outdir) / "ec_ca1.png"
    plot_circuit({k: runs[k] for k in ("relay tau_V = 1 ms", "slow relay tau_V = 20 ms", "relay gain a = 1.5",
                                       "relay weights xi^T + 0.5 noise")}, path, rates=rates,
                 title=f"EC-CA1 loop: N_f = {n_features} EC-III cells, K = {n_patterns} CA1 cells, "
                       f"feedback 80% via EC-V, 20% direct")
    inputs = {"figure": path.name, "function": "hippo_dam.figures.ec_ca1.ec_ca1", "n_features": n_features,
              "n_patterns": n_patterns, "flip_fraction": flip, "n_cues": n_cues, "pattern_seed": seed,
              "cue_seeds": f"{seed + 1} + k", "feature_lagrangian": "tanh", "memory_lagrangian": "log_sum_exp(0.1)",
              "tau_f_ms": 20, "tau_h_ms": 20, "direct_fraction": 0.2, "dt_ms": 0.1, "duration_ms": 150,
              "weight_noise_seed": seed + 99, "shown_target": int(target), "results": stats,
              "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
