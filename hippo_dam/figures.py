"""Regenerate the figures in figures/ with their inputs recorded beside them.

``hippo-dam figures`` (or :func:`make_figures`) writes each PNG and a JSON
file of the same name holding the parameters, seeds and package versions that
made it.
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from brian2 import ms

from .plotting import _ci
from .lif_spiking_figure import lif_spiking  # noqa: F401  (issue 13: registered in FIGURES)
from .place_cells_figure import place_cells  # noqa: F401  (issue 13: registered in FIGURES)
from .kanji_hierarchy_figure import kanji_hierarchy  # noqa: F401  (issue 10: registered in FIGURES)

__all__ = ["make_figures", "recall_models_abc", "duality", "reduction", "capacity", "ca3", "ec_ca1", "spiking",
           "kanji"]


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


# Settings of the duality figure (Krotov & Hopfield 2016, Fig. 2/3 on sklearn's 8x8 digits):
# T = temperature_per_neuron * (N + C) with N + C = 74, loss power m = 30 as in the authors' code.
DUALITY_SETTINGS = {"n_memories": 100, "n_epochs": 60, "batch_size": 50, "learning_rate": 0.02, "lr_decay": 0.97,
                    "momentum": 0.6, "loss_power": 30, "temperature_per_neuron": 0.7, "init_mean": -0.3,
                    "init_std": 0.3, "others": -1.0}
DUALITY_DEGREES = (2, 3, 20, 30)


def duality(outdir="figures", degrees=DUALITY_DEGREES, seed=0, split_seed=0, test_size=0.25, settings=None,
            n_shown=30):
    """Features vs prototypes: memories of a DAM classifier on 8x8 digits for growing power n.

    Trains :class:`hippo_dam.classifier.DAMClassifier` (``F = max(x,0)^n``) on
    scikit-learn's digits for each ``n`` in ``degrees`` and draws the first
    ``n_shown`` memories' visible parts as 8x8 images (sorted by the class their
    label part votes for), with the test accuracy per epoch. Also records XOR.
    """
    from .plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from .classifier import DAMClassifier, digits_dataset, prototype_score

    cfg = dict(DUALITY_SETTINGS, **(settings or {}))
    X_train, X_test, y_train, y_test = digits_dataset(test_size=test_size, seed=split_seed)
    init = np.clip(np.random.default_rng(seed).normal(cfg["init_mean"], cfg["init_std"], (cfg["n_memories"], 64)),
                   -1, 1)
    results, models = {}, {}
    for n in degrees:
        start = time.perf_counter()
        clf = DAMClassifier(degree=n, seed=seed, **cfg).fit(X_train, y_train, X_test, y_test)
        models[n] = clf
        results[f"n={n}"] = {
            "degree": n, "temperature": clf.temperature_,
            "train_accuracy": clf.score(X_train, y_train), "test_accuracy": clf.score(X_test, y_test),
            "test_accuracy_per_epoch": [round(a, 4) for a in clf.history_["test_accuracy"]],
            "prototype_score": prototype_score(clf.visible_memories, X_train),
            "training_time_s": time.perf_counter() - start,
        }
    xor_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    xor_y = np.array([0, 1, 1, 0])
    xor = DAMClassifier(**XOR_SETTINGS).fit(xor_X, xor_y)

    cols = 6
    rows = int(np.ceil(n_shown / cols))
    fig = plt.figure(figsize=(3.0 * len(degrees) + 3.8, 4.4), constrained_layout=True)
    grid = fig.add_gridspec(1, len(degrees) + 1, width_ratios=[1] * len(degrees) + [1.25])
    for k, n in enumerate(degrees):
        clf = models[n]
        order = np.argsort(np.argmax(clf.label_memories[:n_shown], axis=1), kind="stable")
        mem = clf.visible_memories[:n_shown][order]
        tiles = np.full((rows * 9 - 1, cols * 9 - 1), np.nan)
        for j, m in enumerate(mem):
            r, c = divmod(j, cols)
            tiles[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = m.reshape(8, 8)
        ax = fig.add_subplot(grid[0, k])
        cmap = plt.get_cmap("bwr").copy()
        cmap.set_bad("white")
        ax.imshow(tiles, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        res = results[f"n={n}"]
        ax.set_title(f"n = {n}: test accuracy {res['test_accuracy']:.3f}\nprototype score {res['prototype_score']:.2f}",
                     fontsize=10)
        if k == 0:
            ax.set_ylabel(f"first {n_shown} of {cfg['n_memories']} memories, 8x8 visible part\n"
                          "(red +1, blue -1; sorted by the class they vote for)", fontsize=9)
    ax = fig.add_subplot(grid[0, -1])
    for n in degrees:
        acc = results[f"n={n}"]["test_accuracy_per_epoch"]
        ax.plot(np.arange(1, len(acc) + 1), acc, label=f"n = {n}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.8, 1.0)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle("Dense Associative Memory classifier, F(x) = max(x,0)^n, on 8x8 digits: "
                 "features (small n) vs prototypes (large n)", fontsize=11)
    path = Path(outdir) / "duality.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.duality",
        "paper": "Krotov & Hopfield 2016, Dense Associative Memory for Pattern Recognition, Fig. 2/3",
        "dataset": "sklearn.datasets.load_digits, pixels rescaled to 2 x / 16 - 1",
        "split": {"function": "sklearn.model_selection.train_test_split", "test_size": test_size,
                  "random_state": split_seed, "stratify": "labels", "n_train": len(X_train), "n_test": len(X_test)},
        "seed": seed, "degrees": list(degrees), "settings": cfg,
        "loss": "sum over samples and classes of (c_alpha - t_alpha)^(2m), t = +-1",
        "prototype_score": "mean over memories of the largest Pearson correlation with a training image",
        "prototype_score_of_initial_memories": prototype_score(init, X_train),
        "results": results,
        "xor": {"settings": XOR_SETTINGS, "predictions": xor.predict(xor_X).tolist(), "targets": xor_y.tolist(),
                "correct": int(np.sum(xor.predict(xor_X) == xor_y))},
        "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path


def reduction(outdir="figures", n_features=128, n_patterns=16, flip=0.3, beta=1.0, target=2, seed=0,
              ratios=(1.0, 0.1, 0.01), extra_ratios=(0.5, 0.05, 0.005, 0.001)):
    """Integrating out the memory neurons: Brian2 feature trajectories approach the effective ones.

    Model B (identity features, log-sum-exp memories), tau_f = 10 ms, the two-layer network run by
    Brian2 for ``ratios`` = tau_h/tau_f and by the numpy reference for ``extra_ratios`` (error curve
    only), against :func:`hippo_dam.effective_euler`.
    """
    import time

    from .plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from . import flip_cue, random_patterns, reduction_errors

    start = time.perf_counter()
    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cue, _ = flip_cue(patterns[target], flip, seed=seed + 1)
    memory = {"name": "log_sum_exp", "beta": beta}
    brian = reduction_errors(patterns, cue, "identity", memory, ratios=ratios, engine="brian2")
    ref = reduction_errors(patterns, cue, "identity", memory, ratios=sorted(set(ratios) | set(extra_ratios)),
                           engine="numpy")
    fig, axes = plt.subplots(1, len(ratios) + 1, figsize=(4.0 * (len(ratios) + 1), 3.8), constrained_layout=True)
    flipped = np.flatnonzero(cue != patterns[target])
    kept = np.flatnonzero(cue == patterns[target])
    shown = [int(i) for i in list(flipped[:3]) + list(kept[:1])]  # flipped bits move, kept ones barely
    for ax, r, vm, ve in zip(axes, ratios, brian["v_micro"], brian["v_eff"]):
        t = np.arange(len(vm)) * 0.1
        for k, i in enumerate(shown):
            ax.plot(t, vm[:, i], color=f"C{k}", lw=2, alpha=0.6, label="Brian2 two-layer" if k == 0 else None)
            ax.plot(t, ve[: len(vm), i], color="k", lw=0.9, ls="--", label="effective (h = xi g(v))" if k == 0 else None)
        ax.set_title(rf"$\tau_h/\tau_f$ = {r:g}: error {brian['errors'][list(ratios).index(r)]:.2g}", fontsize=10)
        ax.set_xlabel("time (ms)")
    axes[0].set_ylabel("feature states $v_i$ (3 flipped bits, 1 kept)")
    axes[0].legend(fontsize=8, loc="lower right")
    ax = axes[-1]
    ax.loglog(ref["ratios"], ref["errors"], "o-", color="0.4", label="numpy reference two-layer")
    ax.loglog(brian["ratios"], brian["errors"], "s", color="C3", ms=8, mfc="none", mew=2, label="Brian2 two-layer")
    rr = np.array(ref["ratios"])
    ax.loglog(rr, 0.7 * ref["errors"][0] * rr / rr[0], ":", color="k", label=r"$\propto \tau_h/\tau_f$")
    ax.set_xlabel(r"$\tau_h/\tau_f$")
    ax.set_ylabel(r"max$_t$ |v$_{micro}$ - v$_{eff}$| / max |v$_{eff}$|")
    ax.set_title("trajectory error vs time-scale ratio", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle(f"Model B (N_f={n_features}, K={n_patterns}, beta={beta:g}, cue with {flip:.0%} flipped bits, "
                 r"$\tau_f$ = 10 ms): memory neurons integrated out", fontsize=10)
    path = Path(outdir) / "reduction.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    errs = dict(zip(map(float, brian["ratios"]), map(float, brian["errors"])))
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.reduction",
        "model": "B: identity features, log_sum_exp memories", "beta": beta, "n_features": n_features,
        "n_patterns": n_patterns, "flip_fraction": flip, "target": target, "pattern_seed": seed, "cue_seed": seed + 1,
        "tau_f_ms": 10, "duration_ms": 50, "record_every_ms": 0.1, "dt_rule": "min(tau_h/20, tau_f/200)",
        "h0": 0, "error": "max_t max_i |v_micro - v_eff| / max_{t,i} |v_eff|",
        "errors_brian2": errs, "errors_numpy_reference": dict(zip(map(float, ref["ratios"]), map(float, ref["errors"]))),
        "fall_0.1_to_0.01": errs[0.1] / errs[0.01] if 0.1 in errs and 0.01 in errs else None,
        "loglog_slope_numpy": float(np.polyfit(np.log(ref["ratios"][ref["ratios"] <= 0.1]),
                                               np.log(ref["errors"][ref["ratios"] <= 0.1]), 1)[0]),
        "runtime_s": time.perf_counter() - start, "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path


def _plot_capacity(results, path, n_hidden):
    """Draw the capacity figure from :func:`capacity`'s results (adds each curve's ``fit``)."""
    from .plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from .capacity import capacity_theory, fit_exponent

    fig, ax = plt.subplots(figsize=(7.5, 8), constrained_layout=True)
    for c, (label, r) in enumerate(results.items()):
        kw, ns, ks = r["kwargs"], np.array(r["n_features"]), np.array(r["capacity"], float)
        model, degree = kw["model"], kw.get("degree", 2)
        crit = kw.get("criterion", "stable")
        nn = np.geomspace(ns[0], ns[-1], 100)
        if model == "exp":
            slopes = [fit_exponent(ns[i:i + 2], ks[i:i + 2])[0] for i in range(len(ns) - 1)]
            rate = np.polyfit(ns, np.log2(ks), 1)[0]
            r["fit"] = {"log2K_per_neuron": float(rate), "local_loglog_slopes": slopes}
            name = f"{label}: log2 K grows {rate:.2f}/neuron, log-log slope {slopes[0]:.0f} -> {slopes[-1]:.0f}"
            ax.loglog(nn, capacity_theory("exp", nn, finite_size=True), color=f"C{c}", lw=1)
            ax.loglog(nn, capacity_theory("exp", nn), color=f"C{c}", lw=1, ls=":")
        elif crit == "retrieval":
            slope = fit_exponent(ns, ks)[0]
            r["fit"] = {"slope": slope, "K_over_N": (ks / ns).tolist()}
            name = f"{label}: slope {slope:.2f}, K/N = {ks[-1] / ns[-1]:.3f} at N={ns[-1]}"
            ax.loglog(nn, 0.138 * nn, color=f"C{c}", lw=1, ls="--")
        else:
            plain, lnn, z2 = (fit_exponent(ns, ks, corr)[0] for corr in (None, "lnN", "z2"))
            r["fit"] = {"slope_plain": plain, "slope_K_2lnN": lnn, "slope_K_z2": z2, "theory_slope": degree - 1,
                        "theory_asymptotic": capacity_theory("power", ns, degree=degree).tolist(),
                        "theory_finite_size": capacity_theory("power", ns, degree=degree, finite_size=True).tolist()}
            name = f"{label}: exponent {lnn:.2f} (K 2lnN), {z2:.2f} (K z^2); theory {degree - 1}"
            ax.loglog(nn, capacity_theory("power", nn, degree=degree, finite_size=True), color=f"C{c}", lw=1)
            ax.loglog(nn, capacity_theory("power", nn, degree=degree), color=f"C{c}", lw=1, ls=":")
        ax.loglog(ns, ks, "o", color=f"C{c}", ms=6, label=name)
    ax.axhline(n_hidden, color="k", lw=1.5, ls="-.", label=f"microscopic network: at most N_h = {n_hidden} memories")
    ax.plot([], [], color="0.3", lw=1, label="theory, finite-size (2 ln N -> z$^2$; exp: 2(1-0.99) 2$^N$/N)")
    ax.plot([], [], color="0.3", lw=1, ls=":", label="theory, asymptotic (N$^{n-1}$/(2(2n-3)!! ln N); exp: 2$^{N/2}$)")
    ax.plot([], [], color="0.3", lw=1, ls="--", label="0.138 N (Amit, Gutfreund & Sompolinsky)")
    ax.set_xlabel("N (feature neurons)")
    ax.set_ylabel("capacity K (>= 99% of patterns stable / retrieved)")
    ax.set_ylim(3, 3e4)
    ax.set_title("Storage capacity of the effective models (random +-1 patterns)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=1)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# model label -> (capacity_search arguments, N values)
CAPACITY_CURVES = {
    "classical retrieval (AGS, m >= 0.9)": ({"model": "classical", "criterion": "retrieval", "min_overlap": 0.9},
                                          [250, 500, 1000, 2000]),
    "F = x^2 (classical, stable)": ({"model": "power", "degree": 2}, [100, 200, 400, 800, 1600]),
    "F = x^3": ({"model": "power", "degree": 3}, [50, 100, 200, 400]),
    "F = x^4": ({"model": "power", "degree": 4}, [30, 45, 60, 90, 120]),
    "F = exp": ({"model": "exp", "beta": 1.0}, [14, 17, 20, 23]),
}


def capacity(outdir="figures", n_probe=500, seed=0, n_hidden=1000, n_workers=1, curves=None):
    """Storage capacity vs N (log-log): measured points, theory lines, fitted exponents.

    Each point is the largest K at which >= 99% of ``n_probe`` probed patterns succeed
    (:func:`hippo_dam.capacity.capacity_search`), run with :func:`hippo_dam.sweep.run_sweep`
    on one LocalCluster of ``n_workers`` when the sweep module exists, else a plain loop.
    """
    import time

    from .capacity import _sweep_engine, capacity_point, capacity_search

    start = time.perf_counter()
    curves = CAPACITY_CURVES if curves is None else curves
    client = None
    if _sweep_engine() is not None:
        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                     dashboard_address=None))
    results = {}
    try:
        for label, (kw, ns) in curves.items():
            t0 = time.perf_counter()
            res = capacity_search(n_features=ns, seeds=(seed,), n_probe=n_probe, scheduler=client,
                                  use_sweep=client is not None, **kw)
            results[label] = {"kwargs": kw, "n_features": ns, "capacity": [res[n]["capacity"] for n in ns],
                              "k_fail": [res[n]["k_fail"] for n in ns],
                              "scan": {str(n): res[n]["scan"] for n in ns}, "runtime_s": time.perf_counter() - t0}
            if kw["model"] == "classical":  # success and overlap at exactly K = 0.138 N
                pts = [capacity_point(n_features=n, n_patterns=int(round(0.138 * n)), seed=seed, n_probe=n_probe, **kw)
                       for n in ns]
                results[label]["at_0.138N"] = {str(n): {"success": p["success"], "mean_overlap": p["mean_overlap"]}
                                               for n, p in zip(ns, pts)}
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()
    path = _plot_capacity(results, Path(outdir) / "capacity.png", n_hidden)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.capacity", "n_probe": n_probe, "seed": seed,
        "success_target": 0.99, "n_hidden": n_hidden, "engine": "run_sweep" if client is not None else "loop",
        "n_workers": n_workers,
        "definitions": {"stable": "all N bits of a stored pattern kept by one asynchronous update (ties keep)",
                        "retrieval": "asynchronous dynamics from the stored pattern reach a fixed point with "
                                     "overlap >= 0.9 (AGS retrieval state has m >= 0.967 below 0.138 N)"},
        "results": results, "runtime_s": time.perf_counter() - start, "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path


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
    from .plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
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


XOR_SETTINGS = {"n_memories": 8, "degree": 3, "n_epochs": 200, "batch_size": 4, "loss_power": 30,
                "init_mean": -0.3, "init_std": 0.3, "seed": 0}

KANJI_SHOWN = "土未語機議鬱夫"
_KANJI_SUMMARY = ("model", "n_patterns", "n_cues", "success", "n_success", "pixel_error", "retrieved_correct",
                  "mean_glyph_overlap", "nn_limit", "wall_time_s", "backend")


KANJI_LARGE_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results_kanji6355.json"


def kanji(outdir="figures", ks=None, models=None, best="B, beta=0.1", classical="classical (A, n=2)",
          shown=KANJI_SHOWN, dtype="float64", reuse=None, large=KANJI_LARGE_RESULTS):
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

    ``large``: results recorded by ``benchmarks/bench_kanji.py --set jis0208
    --k 6355`` (all 6,355 JIS X 0208 kanji in one network, N_f = 4,096,
    Brian2): drawn, not recomputed, as the K = 6,355 points of the success
    curve (top-half cues) and as a third panel with every cue type, each bar
    beside the nearest-neighbour limit of its cues; None or a missing file
    leaves them out. The x axis is the load K / N_f.
    """
    from .plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from .kanji import KANJI_MODELS, KANJI_TIMING, kanji_completion, kanji_sweep, nearest_neighbour_limit
    from .patterns import load_kanji, partial_cue

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
        "large": None if not big_rows else {
            "source": str(Path(large).relative_to(Path(__file__).resolve().parents[1]))
            if Path(large).resolve().is_relative_to(Path(__file__).resolve().parents[1]) else str(large),
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


FIGURES = {"recall_models_abc": recall_models_abc, "duality": duality, "reduction": reduction,
           "capacity": capacity, "ca3": ca3, "ec_ca1": ec_ca1, "spiking": spiking, "kanji": kanji,
           "place_cells": place_cells, "lif_spiking": lif_spiking, "kanji_hierarchy": kanji_hierarchy}


def make_figures(outdir="figures", names=None):
    """Regenerate the named figures (default: all) into ``outdir``; returns their paths.

    Under ``CI=true`` the figures are made with reduced settings (fewer cues,
    shorter runs) and go to ``outdir/ci/``, so that a CI run never overwrites
    the committed full-size figures and their recorded results.
    """
    names = list(FIGURES) if not names else names
    unknown = set(names) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    outdir = Path(outdir) / "ci" if _ci() else Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    return [FIGURES[name](outdir) for name in names]
