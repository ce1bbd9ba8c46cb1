"""Regenerate the figures in figures/ with their inputs recorded beside them.

``hippo-dam figures`` (or :func:`make_figures`) writes each PNG and a JSON
file of the same name holding the parameters, seeds and package versions that
made it.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from brian2 import ms

__all__ = ["make_figures", "recall_models_abc", "kanji"]


def _versions():
    import brian2
    import numpy

    from . import __version__

    return {"hippo_dam": __version__, "brian2": brian2.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def recall_models_abc(outdir="figures", n_features=256, n_patterns=64, flip=0.2, target=7, seed=0):
    """Models A, B, C recalling one pattern from a cue with ``flip`` of its bits flipped."""
    from . import flip_cue, model_a, model_b, model_c, random_patterns
    from .plotting import plot_recall_grid

    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cue, known = flip_cue(patterns[target], flip, seed=seed + 1)
    results = {
        label: factory(patterns, tau_f=20 * ms, tau_h=2 * ms).recall(cue, known, duration=100 * ms, target=target)
        for label, factory in [("model A", model_a), ("model B", model_b), ("model C", model_c)]
    }
    path = Path(outdir) / "recall_models_abc.png"
    plot_recall_grid(results, path)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.recall_models_abc",
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


KANJI_SHOWN = "土未語機議鬱夫"
_KANJI_SUMMARY = ("model", "n_patterns", "n_cues", "success", "n_success", "pixel_error", "retrieved_correct",
                  "mean_glyph_overlap", "nn_limit", "wall_time_s", "backend")


def kanji(outdir="figures", ks=None, models=None, best="B, beta=0.1", classical="classical (A, n=2)",
          shown=KANJI_SHOWN, dtype="float64", reuse=None):
    """Completing kanji from their top half: a grid of cues and completions, and success vs K.

    Every model of :data:`hippo_dam.kanji.KANJI_MODELS` stores the first K Joyo
    kanji (K in ``ks``; default 100, 573, 1000, 2136, or 50, 200 under
    ``CI=true``) and completes all K from their top halves with the numpy
    reference integrator (:func:`hippo_dam.kanji.kanji_sweep`, about 20 min on
    2 cores at the default sizes); the nearest-neighbour limit is drawn for
    comparison. The grid shows the characters ``shown`` at the largest K:
    cue, classical completion, best DAM completion, stored glyph (ink black
    on white, unknown pixels grey); these are recomputed on their own (cues
    are independent, so a completion does not depend on the other cues of
    the batch).

    ``reuse``: path of a kanji.json written earlier by this function with the
    same ``ks`` and ``models``; its sweep results are redrawn instead of
    recomputed (only the grid is simulated).
    """
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .kanji import KANJI_MODELS, KANJI_TIMING, kanji_completion, kanji_sweep, nearest_neighbour_limit
    from .patterns import load_kanji, partial_cue

    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    ks = tuple(ks or ((50, 200) if ci else (100, 573, 1000, 2136)))
    models = tuple(models or KANJI_MODELS)
    if best not in models or classical not in models:
        raise ValueError(f"best={best!r} and classical={classical!r} must be among models {models}")
    kmax = max(ks)
    patterns, chars = load_kanji(kmax)
    if reuse is not None:
        old = json.loads(Path(reuse).read_text())
        if tuple(old["ks"]) != ks or tuple(old["models"]) != models:
            raise ValueError(f"{reuse} holds ks={old['ks']}, models={old['models']}, not {ks}, {models}")
        summary = old["results"]
    else:
        rows = kanji_sweep(ks, models, dtype=np.dtype(dtype), log=print)
        summary = [{key: r[key] for key in _KANJI_SUMMARY}
                   | {"failed": [chars[int(c)] for c in r["cues"][r["hamming"] > 0]][:50]} for r in rows]
    cue, known = partial_cue(patterns, "top")
    nn = {k: nearest_neighbour_limit(patterns[:k], known) for k in ks}
    shown_idx = [chars.index(c) for c in shown if c in chars] or list(range(min(6, kmax)))
    grid_runs = {m: kanji_completion(kmax, m, cues=shown_idx, patterns=patterns, dtype=np.dtype(dtype))
                 for m in (classical, best)}

    fig = plt.figure(figsize=(12, 6.2), constrained_layout=True)
    sub = fig.subfigures(1, 2, width_ratios=[1.35, 1])
    grid = sub[0].subplots(4, len(shown_idx), squeeze=False)
    labels = ["cue: top half\n(grey = unknown)", f"{classical}", f"{best}", "stored glyph"]
    for col, mu in enumerate(shown_idx):
        images = [cue[mu], np.sign(grid_runs[classical]["v_final"][col]), np.sign(grid_runs[best]["v_final"][col]),
                  patterns[mu]]
        for row, img in enumerate(images):
            ax = grid[row, col]
            # unknown pixels (0) grey, ink (+1) black, background (-1) white
            ax.imshow(img.reshape(64, 64), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(labels[row], fontsize=8)
            if row == 2:
                ax.set_title("exact" if grid_runs[best]["hamming"][col] == 0
                             else f"{grid_runs[best]['hamming'][col]} px wrong", fontsize=7, pad=2)
    sub[0].suptitle(f"K = {kmax} kanji stored in one network, completed from the top half", fontsize=10)
    ax = sub[1].subplots()
    markers = "osD^v<>"
    for i, model in enumerate(models):
        pts = [(r["n_patterns"], r["success"]) for r in summary if r["model"] == model]
        ax.plot(*zip(*pts), marker=markers[i % len(markers)], color=f"C{i}", label=model,
                ms=9 - 1.2 * i, alpha=0.85)
    ax.plot(ks, [nn[k]["fraction"] for k in ks], "k--", lw=1, label="nearest-neighbour limit")
    ax.axvline(573, color="0.7", lw=0.8, ls=":")
    ax.text(573, 0.42, " 0.14 N = 573:\n classical capacity\n for random patterns", fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("K (kanji stored)")
    ax.set_ylabel("fraction completed exactly (all 4,096 pixels)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 0.06))
    ax.set_title("all K kanji cued with their top half (numpy reference)", fontsize=10)
    path = Path(outdir) / "kanji.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.kanji", "ks": list(ks), "models": list(models),
        "lagrangians": {m: KANJI_MODELS[m] for m in models if m in KANJI_MODELS},
        "cue": "partial_cue(patterns, 'top', fraction=0.5): top 32 rows known, bottom 32 unknown (0)",
        "success": "every one of the 4,096 pixels of sign(v_final) equals the stored glyph",
        "backend": "hippo_dam.euler_reference (numpy), batch of all K cues", "dtype": dtype,
        "timing_ms": {key: float(val / ms) for key, val in KANJI_TIMING.items()},
        "sweep": "computed in this run" if reuse is None else
                 f"results reused from an earlier run of this function ({Path(reuse).name}); grid recomputed",
        "shown": [chars[i] for i in shown_idx],
        "shown_hamming": {m: [int(x) for x in r["hamming"]] for m, r in grid_runs.items()},
        "nearest_neighbour_limit": {str(k): {"fraction": nn[k]["fraction"], "n_ties": nn[k]["n_ties"],
                                             "ties": [[chars[a], chars[b]] for a, b in nn[k]["ties"]]} for k in ks},
        "results": summary,
        "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2, ensure_ascii=False) + "\n")
    return path


FIGURES = {"recall_models_abc": recall_models_abc, "kanji": kanji}


def make_figures(outdir="figures", names=None):
    """Regenerate the named figures (default: all) into ``outdir``; returns their paths."""
    Path(outdir).mkdir(parents=True, exist_ok=True)
    names = list(FIGURES) if not names else names
    unknown = set(names) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    return [FIGURES[name](outdir) for name in names]
