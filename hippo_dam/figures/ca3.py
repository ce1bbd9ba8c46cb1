"""The CA3 circuit: activity by region, energy with fast and slow interneurons, overlaps."""
from __future__ import annotations

import json
from pathlib import Path

from brian2 import ms

from ..plotting import _ci
from ..data.patterns import _flip_cues as _cues
from ._common import _recall_stats, _versions


def ca3(outdir="figures", n_features=200, n_patterns=32, flip=0.3, n_cues=100, seed=0):
    """CA3 circuit: activity by region during recall, energy for fast and slow interneurons, overlaps.

    Measures success over ``n_cues`` flip cues (fast inhibition and tau_I = 2 ms)
    and the largest energy rise as a function of the interneuron time constant.
    """
    import numpy as np

    from .. import CA3Circuit, random_patterns
    from ..plotting import plot_circuit

    if _ci():
        n_features, n_patterns, n_cues = 64, 8, 6
    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cues = _cues(patterns, n_cues, flip, seed + 1)
    target, cue, known = cues[1]
    duration = 150 * ms
    tau_is = [None, 1 * ms, 2 * ms, 5 * ms, 10 * ms]
    runs, stats = {}, {}
    for tau_i in tau_is:
        label = "fast inhibition" if tau_i is None else f"tau_I = {tau_i / ms:g} ms"
        net = CA3Circuit(patterns, interneuron_tau=tau_i)
        runs[label] = net.recall(cue, known, duration=duration, target=target)
        n = n_cues if tau_i in (None, 2 * ms) else max(2, n_cues // 10)
        stats[label] = _recall_stats(net, cues[:n], duration)
        if tau_i == 2 * ms:
            shown, shown_net = runs[label], net
    t_ms = shown.t * 1e3
    y = shown.extra["CA3_interneurons"]["trace"]
    rates = {"CA3 feature cells: g = tanh(v)": (t_ms, np.tanh(shown.v), "g"),
             "CA3 memory cells: rate (tau_I = 2 ms)": (t_ms, shown_net.memory_rates(shown), "Hz"),
             "CA3 interneurons: inhibition y": (t_ms, y, "y")}
    path = Path(outdir) / "ca3.png"
    plot_circuit({k: runs[k] for k in ("fast inhibition", "tau_I = 2 ms", "tau_I = 10 ms")}, path, rates=rates,
                 title=f"CA3: N_f = {n_features} feature cells, K = {n_patterns} memory cells, "
                       f"{int(flip * 100)}% of the cue flipped")
    inputs = {"figure": path.name, "function": "hippo_dam.figures.ca3.ca3", "n_features": n_features,
              "n_patterns": n_patterns, "flip_fraction": flip, "n_cues": n_cues, "pattern_seed": seed,
              "cue_seeds": f"{seed + 1} + k", "feature_lagrangian": "tanh", "memory_lagrangian": "log_sum_exp(0.1)",
              "tau_f_ms": 20, "tau_h_ms": 20, "n_interneurons": 16, "dt_ms": 0.1, "duration_ms": 150,
              "shown_target": int(target), "results": stats, "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
