"""Storage capacity against N (log-log): measured points, theory lines, fitted exponents."""
from __future__ import annotations

import json
from pathlib import Path

from ._common import _versions


def _plot_capacity(results, path, n_hidden):
    """Draw the capacity figure from :func:`capacity`'s results (adds each curve's ``fit``)."""
    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from ..theory.capacity import capacity_theory, fit_exponent

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


def redraw(recorded, path):
    """The figure again from its recorded results (``figures/capacity.json``), with no capacity search rerun.

    The fits are recomputed from the recorded capacities and returned in the results.
    """
    return _plot_capacity(recorded["results"], Path(path), recorded["n_hidden"])


def capacity(outdir="figures", n_probe=500, seed=0, n_hidden=1000, n_workers=1, curves=None):
    """Storage capacity vs N (log-log): measured points, theory lines, fitted exponents.

    Each point is the largest K at which >= 99% of ``n_probe`` probed patterns succeed
    (:func:`hippo_dam.theory.capacity.capacity_search`), run with :func:`hippo_dam.sweeps.engine.run_sweep`
    (through :func:`hippo_dam.sweeps.engine.sweep_map`) on one LocalCluster of ``n_workers``.
    """
    import time

    from distributed import Client, LocalCluster

    from ..sweeps.engine import sweep_map
    from ..theory.capacity import capacity_point, capacity_search

    start = time.perf_counter()
    curves = CAPACITY_CURVES if curves is None else curves
    client = Client(LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None))
    results = {}
    try:
        for label, (kw, ns) in curves.items():
            t0 = time.perf_counter()
            res = capacity_search(n_features=ns, seeds=(seed,), n_probe=n_probe,
                                  map=sweep_map(scheduler=client, scan="n_patterns"), **kw)
            results[label] = {"kwargs": kw, "n_features": ns, "capacity": [res[n]["capacity"] for n in ns],
                              "k_fail": [res[n]["k_fail"] for n in ns],
                              "scan": {str(n): res[n]["scan"] for n in ns}, "runtime_s": time.perf_counter() - t0}
            if kw["model"] == "classical":  # success and overlap at exactly K = 0.138 N
                pts = [capacity_point(n_features=n, n_patterns=int(round(0.138 * n)), seed=seed, n_probe=n_probe, **kw)
                       for n in ns]
                results[label]["at_0.138N"] = {str(n): {"success": p["success"], "mean_overlap": p["mean_overlap"]}
                                               for n, p in zip(ns, pts)}
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    path = _plot_capacity(results, Path(outdir) / "capacity.png", n_hidden)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.capacity.capacity", "n_probe": n_probe, "seed": seed,
        "success_target": 0.99, "n_hidden": n_hidden, "engine": "run_sweep",
        "n_workers": n_workers,
        "definitions": {"stable": "all N bits of a stored pattern kept by one asynchronous update (ties keep)",
                        "retrieval": "asynchronous dynamics from the stored pattern reach a fixed point with "
                                     "overlap >= 0.9 (AGS retrieval state has m >= 0.967 below 0.138 N)"},
        "results": results, "runtime_s": time.perf_counter() - start, "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
