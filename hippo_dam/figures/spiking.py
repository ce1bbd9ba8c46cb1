"""Rate vs spiking CA3: success and window-averaged energy against rate and cells per memory."""
from __future__ import annotations

import json
from pathlib import Path

from brian2 import ms

from ..plotting import _ci
from ..data.patterns import _flip_cues as _cues
from ._common import _versions


def spiking(outdir="figures", n_features=200, n_patterns=32, flip=0.35, n_cues=40, n_cues_headline=100, seed=0,
            max_rates=(10, 30, 100), copies=(1, 8, 32, 128)):
    """Rate vs spiking CA3: success and window-averaged energy against max rate and cells per memory."""
    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np
    from brian2 import Hz

    from .. import CA3Circuit, SpikingCA3, random_patterns

    if _ci():
        n_features, n_patterns, n_cues, n_cues_headline, max_rates, copies = 64, 8, 4, 4, (10, 50), (1, 4)
    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cues = _cues(patterns, max(n_cues, n_cues_headline), flip, seed + 1)
    duration, window = 150 * ms, 30 * ms

    def stats(net, cue_list):
        ok, e_win = [], []
        for target, cue, known in cue_list:
            r = net.recall(cue, known, duration=duration, target=target)
            ok.append(bool(r.quality.success))
            e_win.append(float(np.mean(r.energy[r.energy_t >= float((duration - window) / ms) * 1e-3])))
        return float(np.mean(ok)), float(np.mean(e_win))

    rate_net = CA3Circuit(patterns, record_every=None)
    rate_success, rate_energy = stats(rate_net, cues[:n_cues_headline])
    curve = {}
    for c in copies:
        for r in max_rates:
            net = SpikingCA3(patterns, max_rate=r * Hz, copies=c, seed=seed + 1000, record_every=None)
            curve[f"{c}x{r}"] = dict(copies=c, max_rate_Hz=r, n_cues=n_cues,
                                     **dict(zip(("success_rate", "mean_window_energy"), stats(net, cues[:n_cues]))))
    # headline: the largest size and rate, over n_cues_headline cues
    c_h, r_h = copies[-1], max_rates[-1]
    head_net = SpikingCA3(patterns, max_rate=r_h * Hz, copies=c_h, seed=seed + 2000)
    head_success, head_energy = stats(head_net, cues[:n_cues_headline])
    target, cue, known = cues[1]
    example = head_net.recall(cue, known, duration=duration, target=target)
    example_rate = CA3Circuit(patterns).recall(cue, known, duration=duration, target=target)

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    ax = axes[0, 0]
    units, times = example.spikes[0], example.spikes[1]
    ax.plot(times * 1e3, units, "|", color="k", ms=4)
    ax.axhline(target, color="C3", lw=0.5)
    ax.set_title(f"CA3 memory-cell spikes ({c_h} cells per memory, max rate {r_h} Hz); target {target} in red",
                 fontsize=9)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("memory unit")
    ax = axes[0, 1]
    ax.plot(example_rate.energy_t * 1e3, example_rate.energy, color="k", label="rate model")
    ax.plot(example.energy_t * 1e3, example.energy, color="C1", lw=0.8, label="spiking")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("energy E(v, h)")
    ax.legend(fontsize=8)
    ax.set_title("energy of the same cue", fontsize=9)
    for k, c in enumerate(copies):
        xs = list(max_rates)
        axes[1, 0].plot(xs, [curve[f"{c}x{r}"]["success_rate"] for r in xs], "o-", color=f"C{k}",
                        label=f"spiking, {c} cell(s) per memory")
        axes[1, 1].plot(xs, [curve[f"{c}x{r}"]["mean_window_energy"] for r in xs], "o-", color=f"C{k}",
                        label=f"spiking, {c} cell(s) per memory")
    axes[1, 0].axhline(rate_success, color="k", ls="--", label="rate model")
    axes[1, 0].axhline(0.95 * rate_success, color="k", ls=":", label="95% of rate model")
    axes[1, 1].axhline(rate_energy, color="k", ls="--", label="rate model")
    for ax, lab in ((axes[1, 0], "retrieval success"), (axes[1, 1], f"E averaged over last {window / ms:g} ms")):
        ax.set_xscale("log")
        ax.set_xlabel("max rate of a memory cell (Hz)")
        ax.set_ylabel(lab)
        ax.legend(fontsize=8)
    axes[1, 0].set_title(f"{n_cues} cues per point, {int(flip * 100)}% of bits flipped", fontsize=9)
    fig.suptitle(f"Rate vs spiking CA3 memory cells: N_f = {n_features}, K = {n_patterns}, tau_syn = 5 ms",
                 fontsize=11)
    path = Path(outdir) / "spiking.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    inputs = {"figure": path.name, "function": "hippo_dam.figures.spiking.spiking", "n_features": n_features,
              "n_patterns": n_patterns, "flip_fraction": flip, "pattern_seed": seed, "cue_seeds": f"{seed + 1} + k",
              "spike_seeds": [seed + 1000, seed + 2000], "tau_syn_ms": 5, "tau_f_ms": 20, "tau_h_ms": 20,
              "beta": 0.1, "dt_ms": 0.1, "duration_ms": 150, "energy_window_ms": float(window / ms),
              "rate_model": {"n_cues": n_cues_headline, "success_rate": rate_success,
                             "mean_window_energy": rate_energy},
              "curve": curve,
              "headline": {"copies": c_h, "max_rate_Hz": r_h, "n_cues": n_cues_headline,
                           "success_rate": head_success, "mean_window_energy": head_energy,
                           "fraction_of_rate_success": head_success / rate_success if rate_success else None},
              "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
