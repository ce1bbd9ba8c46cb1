"""The kanji hierarchy figure: completions, the three layers' activity over time, energy, the recorded comparison.

``hippo-dam figures kanji_hierarchy`` (or :func:`kanji_hierarchy`) stores the
2,136 Joyo kanji in the three-layer hierarchy of :mod:`hippo_dam.experiments.kanji_hierarchy`,
runs a few example completions on Brian2 (checked against the numpy
reference) and draws them beside the two-layer model's completions of the same
cues; the bar panels show the 2,136-glyph comparison recorded by
``benchmarks/bench_kanji_hierarchy.py`` (read, not recomputed). Under
``CI=true`` it stores 32 kanji with 8 atoms per position and writes
``kanji_hierarchy_reduced.png`` so the committed figure is never overwritten.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from brian2 import ms, second

__all__ = ["kanji_hierarchy", "KANJI_HIERARCHY_RESULTS", "KANJI_HIERARCHY_SHOWN"]

#: The recorded 2,136-glyph comparison the bar panels read.
KANJI_HIERARCHY_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results_kanji_hierarchy.json"
#: Examples: two cued with the top half, two with 15% of their pixels flipped.
KANJI_HIERARCHY_SHOWN = {"top half": "語鳥", "15% flipped": "森機"}
_SHOWN_REDUCED = {"top half": "七円", "15% flipped": "木山"}
_MODELS = ("hierarchy (pixels, parts, characters)", "two-layer B, beta=0.1", "two-layer, fewer pixels",
           "two-layer, fewer memories")
_LABELS = {_MODELS[0]: "hierarchy", _MODELS[1]: "two-layer (full)", _MODELS[2]: "two-layer,\nfewer pixels",
           _MODELS[3]: "two-layer,\nfewer memories"}
_COLOURS = dict(zip(_MODELS, ("C3", "C0", "C9", "C7")))


def _name(chars, i):
    """A glyph's label in plain ASCII (matplotlib's default font has no kanji): index and code point."""
    return f"#{i} (U+{ord(chars[i]):04X})"


def _ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def kanji_hierarchy(outdir="figures", shown=None, results=KANJI_HIERARCHY_RESULTS, reduced=None):
    """Draw the hierarchy's completions, its layers over time, its energy and the recorded comparison.

    Parameters
    ----------
    outdir : path
    shown : dict {condition: characters}, optional
        Example glyphs per cue condition of :data:`hippo_dam.experiments.kanji_hierarchy.CUE_CONDITIONS`.
    results : path
        The recorded comparison (bars); a missing file leaves the bars out.
    reduced : bool, optional
        32 kanji, 8 atoms per position (default: under ``CI=true``); writes
        ``kanji_hierarchy_reduced.png``.

    Returns the PNG's path; a JSON of the same name records settings and numbers.
    """
    from ._common import _versions
    from ..experiments.kanji_hierarchy import CUE_CONDITIONS, KanjiHierarchy, two_layer_completion
    from ..data.patterns import load_kanji, partial_cue
    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files

    start = time.perf_counter()
    reduced = _ci() if reduced is None else bool(reduced)
    k, settings = (32, {"n_atoms": 8}) if reduced else (2136, {})
    shown = shown or (_SHOWN_REDUCED if reduced else KANJI_HIERARCHY_SHOWN)
    patterns, chars = load_kanji("joyo", k)
    hier = KanjiHierarchy(patterns, settings)
    examples = []  # (condition, glyph index, cue)
    for cond, glyphs in shown.items():
        visible, fraction, noise = CUE_CONDITIONS[cond]
        idx = [chars.index(c) for c in glyphs if c in chars]
        if len(idx) != len(glyphs):
            raise ValueError(f"shown characters {glyphs!r} are not all among the first {k} Joyo kanji")
        cue, _ = partial_cue(patterns[idx], visible, (64, 64), fraction, noise, seed=0)
        examples += [(cond, i, c) for i, c in zip(idx, cue)]
    cues = np.array([c for _, _, c in examples])
    targets = np.array([i for _, i, _ in examples])
    # Brian2: the hierarchy (dense weights, zeros are no synapses), every 1 ms
    s = hier.settings
    net = hier.network(record_every=s["dt_ms"] * ms)
    res = net.recall(cues, duration=s["duration_ms"] * ms, layer="pixels", target=targets)
    ref = hier.run(cues, record=True)
    diff = max(float(np.max(np.abs(res.extra[name]["final"] - ref[j][-1])))
               for j, name in enumerate(("pixels", "parts", "characters")))
    energy = res.energy  # (B, T): before each step
    rise = float(np.max(np.diff(energy, axis=1)) / np.max(np.abs(energy)))
    two = {}
    for cond in shown:
        visible, fraction, noise = CUE_CONDITIONS[cond]
        sel = [j for j, e in enumerate(examples) if e[0] == cond]
        r = two_layer_completion(patterns, visible, fraction, noise, cues=targets[sel], seed=0)
        for j, v in zip(sel, r["v_final"]):
            two[j] = v
    rec = json.loads(Path(results).read_text()) if results is not None and Path(results).exists() else None

    t_ms = res.t / second * 1e3
    pix, parts, top = (res.extra[n]["trace"] for n in ("pixels", "parts", "characters"))  # (B, T, n)
    n_pos, n_atoms = hier.n_positions, hier.n_atoms

    fig = plt.figure(figsize=(17, 9.2), constrained_layout=True)
    sub = fig.subfigures(1, 3, width_ratios=[1.0, 1.25, 1.05])
    # (a) completions
    B = len(examples)
    grid = sub[0].subplots(4, B, squeeze=False)
    rows = ["cue\n(grey = unknown)", "hierarchy\n(Brian2)", "two-layer, full\n(numpy reference)", "stored glyph"]
    for j, (cond, mu, cue) in enumerate(examples):
        hier_img = np.sign(res.extra["pixels"]["final"][j])
        imgs = [cue, hier_img, np.sign(two[j]), patterns[mu]]
        for row, img in enumerate(imgs):
            ax = grid[row, j]
            ax.imshow(img.reshape(64, 64), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(rows[row], fontsize=8)
            if row == 0:
                ax.set_title(f"{cond}\n{_name(chars, mu)}", fontsize=8)
            if row in (1, 2):
                wrong = int(np.sum(np.sign(img) != patterns[mu]))
                ax.set_xlabel(f"{wrong} px wrong", fontsize=7, labelpad=1)
    sub[0].suptitle(f"K = {k:,} kanji stored: completions", fontsize=10)

    # (b) activity over time of example 0: pixel snapshots and the three layers
    j = 0
    cond, mu, _ = examples[j]
    code = hier.code[mu]
    axs = sub[1].subplots(4, 1, gridspec_kw={"height_ratios": [1.15, 1, 1, 1]})
    snaps = [0, 2, 4, 8, 16, len(t_ms) - 1]
    strip = np.concatenate([np.concatenate([np.sign(pix[j, s_]).reshape(64, 64), np.full((64, 4), np.nan)], 1)
                            for s_ in snaps], axis=1)[:, :-4]
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    axs[0].imshow(strip, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    axs[0].set_xticks([34 + 68 * q - 2 for q in range(len(snaps))], [f"{t_ms[s_]:g} ms" for s_ in snaps], fontsize=8)
    axs[0].set_yticks([])
    axs[0].set_title(f"pixels, sign(v), during the recall of {_name(chars, mu)} ({cond}; Brian2)", fontsize=9)
    g_parts = hier.lagrangians[1].activation(parts[j])  # (T, P D)
    g_code = g_parts.reshape(len(t_ms), n_pos, n_atoms)[:, np.arange(n_pos), code]  # (T, P)
    f_top = hier.lagrangians[2].activation(top[j])  # (T, K)
    others = np.delete(f_top, mu, axis=1)
    hidden = np.ones(4096, bool)
    hidden[: 32 * 64] = cond != "top half"
    axs[1].plot(t_ms, pix[j] @ patterns[mu] / 4096, "k", label="overlap v . glyph / N")
    axs[1].plot(t_ms, np.mean(np.sign(pix[j][:, hidden]) == patterns[mu][hidden], axis=1), "C3",
                label="fraction of " + ("hidden" if cond == "top half" else "all") + " pixels right")
    axs[1].set_ylabel(f"pixels ({hier.sizes[0]})\ntau = {s['tau_pixels_ms']:g} ms", fontsize=8)
    axs[2].plot(t_ms, g_code.mean(1), "C3", label="mean activation of the glyph's code atoms")
    axs[2].plot(t_ms, np.mean(g_parts.reshape(len(t_ms), n_pos, n_atoms).argmax(-1) == code, axis=1), "C2--",
                label="positions whose winning atom is the code's")
    axs[2].axhline(1 / n_atoms, color="0.6", lw=0.8, ls=":")
    axs[2].set_ylabel(f"parts ({n_pos} x {n_atoms})\ntau = {s['tau_parts_ms']:g} ms", fontsize=8)
    axs[3].plot(t_ms, f_top[:, mu], "C3", label="softmax rate of the cued character")
    axs[3].plot(t_ms, others.max(1), "C0", label="largest other character")
    axs[3].set_ylabel(f"characters ({hier.sizes[2]:,})\ntau = {s['tau_chars_ms']:g} ms", fontsize=8)
    axs[3].set_xlabel("time (ms)")
    for ax in axs[1:]:
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_xlim(0, t_ms[-1])

    # (c) energy over time, recorded comparison
    right = sub[2].subplots(3, 1, gridspec_kw={"height_ratios": [1, 1, 1]})
    ax = right[0]
    E_ref = hier.energy(ref)  # (T + 1, B), numpy
    for b, (cond, mu, _) in enumerate(examples):
        ax.plot(res.energy_t * 1e3, energy[b], color=f"C{b}", label=f"{_name(chars, mu)}, {cond}")
        ax.plot(np.arange(len(E_ref)) * s["dt_ms"], E_ref[:, b], ".", color=f"C{b}", ms=3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("energy E")
    ax.set_title(f"energy: Brian2 online (lines), numpy (dots); never rises:\n"
                 f"largest one-step change / max|E| = {rise:.1e}", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if rec is not None:
        conds = list(rec["conditions"])
        x = np.arange(len(conds))
        width = 0.8 / len(_MODELS)
        for q, (metric, ylab) in enumerate((("retrieved_correct", "nearest stored glyph\nis the target"),
                                            ("pixel_error", "pixel error of sign(v)\n(all 4,096 pixels)"))):
            ax = right[q + 1]
            for m, model in enumerate(_MODELS):
                vals = [next(r[metric] for r in rec["rows"] if r["condition"] == c and r["model"] == model)
                        for c in conds]
                syn = next(r["n_synapses"] for r in rec["rows"] if r["model"] == model)
                bars = ax.bar(x + (m - 1.5) * width, vals, width * 0.9, color=_COLOURS[model],
                              label=f"{_LABELS[model]}: {syn / 1e6:.2f} M synapses".replace("\n", " "))
                for bar, v in zip(bars, vals):
                    ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, f"{v:.3f}", ha="center", va="bottom",
                            fontsize=6, rotation=90)
            ax.set_xticks(x, conds, fontsize=8)
            ax.set_ylabel(ylab, fontsize=8)
            ax.set_ylim(0, 1.3 if metric == "retrieved_correct" else max(0.6, 1.3 * max(
                r["pixel_error"] for r in rec["rows"])))
            if q == 0:
                ax.legend(fontsize=6.5, loc="upper center", ncol=2)
                ax.set_title(f"all {rec['rows'][0]['n_cues']:,} Joyo kanji cued (recorded, numpy reference)",
                             fontsize=9)
    else:
        for ax in right[1:]:
            ax.set_axis_off()
    fig.suptitle("Three-layer hierarchy (pixels - parts - characters) completing kanji; parts = 64 binary atoms "
                 "per 8x8 patch position (binary k-means), one winner per position (grouped softmax)", fontsize=11)
    name = "kanji_hierarchy_reduced.png" if reduced else "kanji_hierarchy.png"
    path = Path(outdir) / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    info = {
        "figure": path.name, "function": "hippo_dam.figures.kanji_hierarchy.kanji_hierarchy", "reduced": reduced,
        "n_patterns": k, "settings": hier.settings, "neurons": dict(zip(("pixels", "parts", "characters"),
                                                                          map(int, hier.sizes))),
        "synapses": hier.n_synapses,
        "examples": {"characters": [chars[i] for i in targets], "conditions": [e[0] for e in examples],
                     "cue_seed": 0, "backend": "Brian2 HierarchicalAssociativeMemory (runtime Cython, dense weights)",
                     "hamming_hierarchy": [int(np.sum(np.sign(res.extra["pixels"]["final"][b]) != patterns[i]))
                                           for b, i in enumerate(targets)],
                     "hamming_two_layer": [int(np.sum(np.sign(two[b]) != patterns[i])) for b, i in enumerate(targets)],
                     "identified": [int(np.argmax(res.extra["characters"]["final"][b])) == int(i)
                                    for b, i in enumerate(targets)],
                     "max_abs_brian2_minus_numpy": diff, "max_relative_energy_rise": rise},
        "recorded": None if rec is None else {
            "source": "benchmarks/results_kanji_hierarchy.json", "command": rec["command"], "date": rec["date"],
            "rows": [{key: r[key] for key in ("condition", "model", "n_synapses", "n_cues", "identified",
                                              "retrieved_correct", "success", "pixel_error", "hidden_pixel_error")}
                     for r in rec["rows"]]},
        "runtime_s": time.perf_counter() - start, "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return path
