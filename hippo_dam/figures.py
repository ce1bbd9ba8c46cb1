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

__all__ = ["make_figures", "recall_models_abc", "reduction", "capacity"]


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


def reduction(outdir="figures", n_features=128, n_patterns=16, flip=0.3, beta=1.0, target=2, seed=0,
              ratios=(1.0, 0.1, 0.01), extra_ratios=(0.5, 0.05, 0.005, 0.001)):
    """Integrating out the memory neurons: Brian2 feature trajectories approach the effective ones.

    Model B (identity features, log-sum-exp memories), tau_f = 10 ms, the two-layer network run by
    Brian2 for ``ratios`` = tau_h/tau_f and by the numpy reference for ``extra_ratios`` (error curve
    only), against :func:`hippo_dam.effective_euler`.
    """
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    axes[0].set_ylabel(f"feature states $v_i$ (3 flipped bits, 1 kept)")
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .capacity import _sweep_engine, capacity_point, capacity_search, capacity_theory, fit_exponent

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


FIGURES = {"recall_models_abc": recall_models_abc, "reduction": reduction, "capacity": capacity}


def make_figures(outdir="figures", names=None):
    """Regenerate the named figures (default: all) into ``outdir``; returns their paths."""
    Path(outdir).mkdir(parents=True, exist_ok=True)
    names = list(FIGURES) if not names else names
    unknown = set(names) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    return [FIGURES[name](outdir) for name in names]
