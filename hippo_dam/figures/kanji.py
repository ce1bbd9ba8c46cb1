"""Completing kanji from their top half: cues and completions, success against K."""
from __future__ import annotations

import json
from pathlib import Path

from brian2 import ms

from ..plotting import _ci
from ._common import _versions


KANJI_SHOWN = "土未語機議鬱夫"


_KANJI_SUMMARY = ("model", "n_patterns", "n_cues", "success", "n_success", "pixel_error", "retrieved_correct",
                  "mean_glyph_overlap", "nn_limit", "wall_time_s", "backend")


KANJI_LARGE_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results_kanji6355.json"


def kanji(outdir="figures", ks=None, models=None, best="B, beta=0.1", classical="classical (A, n=2)",
          shown=KANJI_SHOWN, dtype="float64", reuse=None, large=KANJI_LARGE_RESULTS):
    """Completing kanji from their top half: a grid of cues and completions, and success vs K.

    Every model of :data:`hippo_dam.experiments.kanji.KANJI_MODELS` stores the first K Joyo
    kanji (K in ``ks``; default 100, 573, 1000, 2136, or 50, 200 under
    ``CI=true``) and completes all K from their top halves with the numpy
    reference integrator (:func:`hippo_dam.experiments.kanji.kanji_sweep`, about 20 min on
    2 cores at the default sizes); the nearest-neighbour limit is drawn for
    comparison. The grid shows the characters ``shown`` at the largest K:
    cue, classical completion, best DAM completion, stored glyph (ink black
    on white, unknown pixels grey); these are recomputed on their own (cues
    are independent, so a completion does not depend on the other cues of
    the batch).

    ``reuse``: path of a kanji.json written earlier by this function with the
    same ``ks`` and ``models``; its sweep results are redrawn instead of
    recomputed (only the grid is simulated).

    ``large``: results recorded by ``benchmarks/bench_kanji.py --set jis0208
    --k 6355`` (all 6,355 JIS X 0208 kanji in one network, N_f = 4,096,
    Brian2): drawn, not recomputed, as the K = 6,355 points of the success
    curve (top-half cues) and as a third panel with every cue type, each bar
    beside the nearest-neighbour limit of its cues; None or a missing file
    leaves them out. The x axis is the load K / N_f.
    """
    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from ..experiments.kanji import KANJI_MODELS, KANJI_TIMING, kanji_completion, kanji_sweep, nearest_neighbour_limit
    from ..data.patterns import load_kanji, partial_cue

    ci = _ci()
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

    big = json.loads(Path(large).read_text()) if large is not None and Path(large).exists() else None
    big_rows = [r for r in big["rows"] if r["set"] == "jis0208" and r["backend"] == "brian2 batched"] if big else []
    fig = plt.figure(figsize=(17.5 if big_rows else 12, 6.2), constrained_layout=True)
    sub = fig.subfigures(1, 3 if big_rows else 2, width_ratios=[1.35, 1, 1.05] if big_rows else [1.35, 1])
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
    n_f = patterns.shape[1]
    top_big = {r["model"]: r for r in big_rows if r["cue"] == "top:0.5:0"}
    k_big = {r["K"] for r in big_rows}
    for i, model in enumerate(models):
        pts = [(r["n_patterns"] / n_f, r["success"]) for r in summary if r["model"] == model]
        ax.plot(*zip(*pts), marker=markers[i % len(markers)], color=f"C{i}", label=model,
                ms=9 - 1.2 * i, alpha=0.85)
        if model in top_big:  # all 6,355 JIS X 0208 kanji, Brian2 (recorded), open marker
            r = top_big[model]
            ax.plot([pts[-1][0], r["K"] / n_f], [pts[-1][1], r["success"]], color=f"C{i}", ls=":", lw=1)
            ax.plot(r["K"] / n_f, r["success"], marker=markers[i % len(markers)], color=f"C{i}", mfc="white",
                    ms=9 - 1.2 * i, ls="none")
    ax.plot([k / n_f for k in ks], [nn[k]["fraction"] for k in ks], "k--", lw=1, label="nearest-neighbour limit")
    for r in top_big.values():
        ax.plot(r["K"] / n_f, r["nn_limit"], "k_", ms=14, mew=1.5)
    ax.axvline(573 / n_f, color="0.7", lw=0.8, ls=":")
    ax.text(573 / n_f, 0.42, " 0.14 N = 573:\n classical capacity\n for random patterns", fontsize=7, color="0.4")
    if top_big:
        ax.axvline(1.0, color="0.7", lw=0.8, ls=":")
        ax.text(1.0, 0.5, " K = N_f", fontsize=7, color="0.4", ha="right", rotation=90)
        ax.text(max(k_big) / n_f, 0.62, "open: all 6,355\nJIS X 0208,\nBrian2", fontsize=7, ha="right", color="0.3")
    ticks = sorted({k for k in ks} | k_big)
    ax.set_xscale("log")
    ax.set_xticks([k / n_f for k in ticks])
    ax.set_xticklabels([f"{k / n_f:.3g}\n({k})" for k in ticks], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("K / N_f (kanji stored per feature neuron; K in brackets), N_f = 4,096")
    ax.set_ylabel("fraction completed exactly (all 4,096 pixels)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 0.06))
    ax.set_title("all K kanji cued with their top half (numpy reference)", fontsize=10)
    if big_rows:
        _kanji_large_panel(sub[2].subplots(), big_rows, (classical, "A, n=20", best), n_f,
                           {m: f"C{i}" for i, m in enumerate(models)})
    path = Path(outdir) / "kanji.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.kanji.kanji", "ks": list(ks), "models": list(models),
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
        "large": None if not big_rows else {
            "source": str(Path(large).relative_to(Path(__file__).resolve().parents[2]))
            if Path(large).resolve().is_relative_to(Path(__file__).resolve().parents[2]) else str(large),
            "note": "recorded by benchmarks/bench_kanji.py, drawn not recomputed", "runs": big["runs"],
            "rows": [{k: r[k] for k in ("model", "K", "cue", "n_cues", "success", "n_success", "nn_limit",
                                        "n_nn_resolvable", "pixel_error", "dtype", "backend")} for r in big_rows]},
        "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2, ensure_ascii=False) + "\n")
    return path


def _kanji_large_panel(ax, rows, models, n_f, colours):
    """Bars: success per cue type and model at the largest K, each with its nearest-neighbour limit (black dash)."""
    import numpy as np

    order = ("top:0.5:0", "bottom:0.5:0", "centre:0.5:0", "random:0.5:0.1")
    cues = [c for c in order if any(r["cue"] == c for r in rows)]
    cues += sorted({r["cue"] for r in rows} - set(cues))
    names = {"top:0.5:0": "top half", "bottom:0.5:0": "bottom half", "centre:0.5:0": "centred\n32x32 window",
             "random:0.5:0.1": "random 50%,\n10% flipped"}
    models = [m for m in models if any(r["model"] == m for r in rows)]
    width = 0.8 / max(1, len(models))
    k = max(r["K"] for r in rows)
    for j, model in enumerate(models):
        for i, cue in enumerate(cues):
            r = next((r for r in rows if r["model"] == model and r["cue"] == cue and r["K"] == k), None)
            if r is None:
                continue
            x = i + (j - (len(models) - 1) / 2) * width
            ax.bar(x, r["success"], width * 0.9, color=colours.get(model, f"C{j}"),
                   label=model if i == 0 else None, alpha=0.85)
            ax.plot([x - width * 0.45, x + width * 0.45], [r["nn_limit"]] * 2, "k-", lw=1.5,
                    label="nearest-neighbour limit" if (i == 0 and j == 0) else None)
            ax.text(x, max(r["success"], 0.02) + 0.015, f"{r['n_success']}/{r['n_cues']}", ha="center",
                    fontsize=6, rotation=90, va="bottom")
    ax.set_xticks(np.arange(len(cues)))
    ax.set_xticklabels([names.get(c, c) for c in cues], fontsize=8)
    ax.set_ylim(-0.03, 1.25)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("fraction completed exactly (all 4,096 pixels)")
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax.set_title(f"all K = {k:,} JIS X 0208 kanji in one network (K / N_f = {k / n_f:.2f}),\n"
                 "Brian2 batched; evenly spaced cues (n on the bars)", fontsize=9)
