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

    import numpy as np

    from .. import flip_cue, random_patterns, reduction_errors

    start = time.perf_counter()
    patterns = random_patterns(n_patterns, n_features, seed=seed)
    cue, _ = flip_cue(patterns[target], flip, seed=seed + 1)
    memory = {"name": "log_sum_exp", "beta": beta}
    brian = reduction_errors(patterns, cue, "identity", memory, ratios=ratios, engine="brian2")
    ref = reduction_errors(patterns, cue, "identity", memory, ratios=sorted(set(ratios) | set(extra_ratios)),
                           engine="numpy")
    flipped = np.flatnonzero(cue != patterns[target])
    kept = np.flatnonzero(cue == patterns[target])
    shown = [int(i) for i in list(flipped[:3]) + list(kept[:1])]  # flipped bits move, kept ones barely
    # everything the figure draws, recorded in its JSON so that it can be drawn again (redraw)
    plot = {"shown_neurons": shown, "record_every_ms": 0.1, "ratios": [float(r) for r in ratios],
            "v_micro": [np.round(vm[:, shown], 6).tolist() for vm in brian["v_micro"]],
            "v_eff": [np.round(ve[: len(vm), shown], 6).tolist() for vm, ve in zip(brian["v_micro"], brian["v_eff"])]}
    path = Path(outdir) / "reduction.png"
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
        "runtime_s": time.perf_counter() - start, "versions": _versions(), "plot": plot,
    }
    _draw(inputs, path)
    body = json.dumps({k: v for k, v in inputs.items() if k != "plot"}, indent=2)
    # the trajectories one line per ratio, so that the file stays readable
    plot = ",\n".join(f'    "{k}": {json.dumps(v)}' for k, v in inputs["plot"].items())
    path.with_suffix(".json").write_text(f'{body[:-2]},\n  "plot": {{\n{plot}\n  }}\n}}\n')
    return path


def redraw(recorded, path):
    """The figure again from its recorded JSON (``figures/reduction.json``), with no network run."""
    if "plot" not in recorded:
        raise ValueError("this reduction.json predates recorded trajectories: regenerate it with "
                         "`hippo-dam figures reduction`")
    return _draw(recorded, Path(path))


def _draw(rec, path):
    """Trajectories for each ratio (Brian2 against the effective model) and the error against the ratio."""
    import numpy as np

    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files

    plot, ratios = rec["plot"], rec["plot"]["ratios"]
    brian = {float(k): v for k, v in rec["errors_brian2"].items()}
    ref = sorted((float(k), v) for k, v in rec["errors_numpy_reference"].items())
    fig, axes = plt.subplots(1, len(ratios) + 1, figsize=(4.0 * (len(ratios) + 1), 3.8), constrained_layout=True)
    for ax, r, vm, ve in zip(axes, ratios, plot["v_micro"], plot["v_eff"]):
        vm, ve = np.asarray(vm), np.asarray(ve)
        t = np.arange(len(vm)) * plot["record_every_ms"]
        for k in range(vm.shape[1]):
            ax.plot(t, vm[:, k], color=f"C{k}", lw=2, alpha=0.6, label="Brian2 two-layer" if k == 0 else None)
            ax.plot(t, ve[:, k], color="k", lw=0.9, ls="--", label="effective (h = xi g(v))" if k == 0 else None)
        ax.set_title(rf"$\tau_h/\tau_f$ = {r:g}: error {brian[r]:.2g}", fontsize=10)
        ax.set_xlabel("time (ms)")
    axes[0].set_ylabel("feature states $v_i$ (3 flipped bits, 1 kept)")
    axes[0].legend(fontsize=8, loc="lower right")
    ax = axes[-1]
    rr, re_ = np.array([r for r, _ in ref]), np.array([e for _, e in ref])
    ax.loglog(rr, re_, "o-", color="0.4", label="numpy reference two-layer")
    ax.loglog(ratios, [brian[r] for r in ratios], "s", color="C3", ms=8, mfc="none", mew=2, label="Brian2 two-layer")
    ax.loglog(rr, 0.7 * re_[0] * rr / rr[0], ":", color="k", label=r"$\propto \tau_h/\tau_f$")
    ax.set_xlabel(r"$\tau_h/\tau_f$")
    ax.set_ylabel(r"max$_t$ |v$_{micro}$ - v$_{eff}$| / max |v$_{eff}$|")
    ax.set_title("trajectory error vs time-scale ratio", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle(f"Model B (N_f={rec['n_features']}, K={rec['n_patterns']}, beta={rec['beta']:g}, cue with "
                 f"{rec['flip_fraction']:.0%} flipped bits, " r"$\tau_f$ = 10 ms): memory neurons integrated out",
                 fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
