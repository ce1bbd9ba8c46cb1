"""Models A, B and C recalling one pattern from a flipped cue (the paper's Fig. 2 models)."""
from __future__ import annotations

import json
from pathlib import Path

from brian2 import ms

from ._common import _versions


def recall_models_abc(outdir="figures", n_features=256, n_patterns=64, flip=0.2, target=7, seed=0):
    """Models A, B, C recalling one pattern from a cue with ``flip`` of its bits flipped."""
    from .. import flip_cue, model_a, model_b, model_c, random_patterns
    from ..plotting import plot_recall_grid

    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cue, known = flip_cue(patterns[target], flip, seed=seed + 1)
    results = {
        label: factory(patterns, tau_f=20 * ms, tau_h=2 * ms).recall(cue, known, duration=100 * ms, target=target)
        for label, factory in [("model A", model_a), ("model B", model_b), ("model C", model_c)]
    }
    path = Path(outdir) / "recall_models_abc.png"
    plot_recall_grid(results, path)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.recall_models_abc.recall_models_abc",
        "n_features": n_features, "n_patterns": n_patterns, "flip_fraction": flip, "target": target,
        "pattern_seed": seed, "cue_seed": seed + 1, "tau_f_ms": 20, "tau_h_ms": 2, "dt_ms": 0.1, "duration_ms": 100,
        "results": {k: {"retrieved": int(r.quality.retrieved), "hamming": int(r.quality.hamming),
                        "energy_start": float(r.energy[0]), "energy_end": float(r.energy[-1]),
                        "lagrangians": [r.attrs["feature_lagrangian"], r.attrs["memory_lagrangian"]]}
                    for k, r in results.items()},
        "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
