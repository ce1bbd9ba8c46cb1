"""Integrating out the memory neurons: Brian2 feature trajectories approach the effective ones."""
from __future__ import annotations

import json
from pathlib import Path

from ._common import _versions


def reduction(outdir="figures", n_features=128, n_patterns=16, flip=0.3, beta=1.0, target=2, seed=0,
              ratios=(1.0, 0.1, 0.01), extra_ratios=(0.5, 0.05, 0.005, 0.001)):
    """Integrating out the memory neurons: Brian2 feature trajectories approach the effective ones.

    Model B (identity features, log-sum-exp memories), tau_f = 10 ms, the two-layer network run by
    Brian2 for ``ratios`` = tau_h/tau_f and by the numpy reference for ``extra_ratios`` (error curve
    only), against :func:`hippo_dam.effective_euler`.
    """
    import time

    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from .. import flip_cue, random_patterns, reduction_errors

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
        "figure": path.name, "function": "hippo_dam.figures.reduction.reduction",
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
