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

__all__ = ["make_figures", "recall_models_abc", "ca3", "ec_ca1", "spiking"]


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


def _ci():
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cues(patterns, n_cues, flip, seed):
    """``n_cues`` flip cues cycling over the stored patterns: [(target, cue, known), ...]."""
    from . import flip_cue

    return [(k % len(patterns),) + flip_cue(patterns[k % len(patterns)], flip, seed=seed + k) for k in range(n_cues)]


def _recall_stats(net, cues, duration, record_every=None):
    """Success rate over cues, and the largest energy rise (relative to max |E|) on any trajectory."""
    import numpy as np

    saved, net.record_every, net._net = net.record_every, record_every, None
    success, rises, ascents, e_end = [], [], [], []
    for target, cue, known in cues:
        r = net.recall(cue, known, duration=duration, target=target)
        success.append(bool(r.quality.success))
        rises.append(float(np.max(np.diff(r.energy)) / np.max(np.abs(r.energy))))
        # largest climb above the lowest energy reached so far (absolute units of E)
        ascents.append(float(np.max(r.energy - np.minimum.accumulate(r.energy))))
        e_end.append(float(r.energy[-1]))
    net.record_every, net._net = saved, None
    return {"n_cues": len(cues), "success_rate": float(np.mean(success)),
            "max_relative_energy_rise": float(np.max(rises)),
            "max_relative_energy_rise_means": "largest one-step increase of E divided by max |E|",
            "max_energy_ascent": float(np.max(ascents)),
            "max_energy_ascent_means": "largest E(t) - min_{s<=t} E(s) over all runs (units of E)",
            "fraction_of_runs_with_energy_rise_above_1e-9": float(np.mean(np.array(rises) > 1e-9)),
            "mean_final_energy": float(np.mean(e_end))}


def ca3(outdir="figures", n_features=200, n_patterns=32, flip=0.3, n_cues=100, seed=0):
    """CA3 circuit: activity by region during recall, energy for fast and slow interneurons, overlaps.

    Measures success over ``n_cues`` flip cues (fast inhibition and tau_I = 2 ms)
    and the largest energy rise as a function of the interneuron time constant.
    """
    import numpy as np

    from . import CA3Circuit, random_patterns
    from .plotting import plot_circuit

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
    inputs = {"figure": path.name, "function": "hippo_dam.figures.ca3", "n_features": n_features,
              "n_patterns": n_patterns, "flip_fraction": flip, "n_cues": n_cues, "pattern_seed": seed,
              "cue_seeds": f"{seed + 1} + k", "feature_lagrangian": "tanh", "memory_lagrangian": "log_sum_exp(0.1)",
              "tau_f_ms": 20, "tau_h_ms": 20, "n_interneurons": 16, "dt_ms": 0.1, "duration_ms": 150,
              "shown_target": int(target), "results": stats, "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path


def ec_ca1(outdir="figures", n_features=200, n_patterns=32, flip=0.3, n_cues=100, seed=0):
    """EC-CA1 loop: activity by region, energy of the symmetric loop and of broken relays, overlaps."""
    import numpy as np

    from . import ECCA1Loop, random_patterns
    from .plotting import plot_circuit

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
    inputs = {"figure": path.name, "function": "hippo_dam.figures.ec_ca1", "n_features": n_features,
              "n_patterns": n_patterns, "flip_fraction": flip, "n_cues": n_cues, "pattern_seed": seed,
              "cue_seeds": f"{seed + 1} + k", "feature_lagrangian": "tanh", "memory_lagrangian": "log_sum_exp(0.1)",
              "tau_f_ms": 20, "tau_h_ms": 20, "direct_fraction": 0.2, "dt_ms": 0.1, "duration_ms": 150,
              "weight_noise_seed": seed + 99, "shown_target": int(target), "results": stats,
              "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path


def spiking(outdir="figures", n_features=200, n_patterns=32, flip=0.35, n_cues=40, n_cues_headline=100, seed=0,
            max_rates=(10, 30, 100), copies=(1, 8, 32, 128)):
    """Rate vs spiking CA3: success and window-averaged energy against max rate and cells per memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from brian2 import Hz

    from . import CA3Circuit, SpikingCA3, random_patterns

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
    inputs = {"figure": path.name, "function": "hippo_dam.figures.spiking", "n_features": n_features,
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


FIGURES = {"recall_models_abc": recall_models_abc, "ca3": ca3, "ec_ca1": ec_ca1, "spiking": spiking}


def make_figures(outdir="figures", names=None):
    """Regenerate the named figures (default: all) into ``outdir``; returns their paths."""
    Path(outdir).mkdir(parents=True, exist_ok=True)
    names = list(FIGURES) if not names else names
    unknown = set(names) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    return [FIGURES[name](outdir) for name in names]
