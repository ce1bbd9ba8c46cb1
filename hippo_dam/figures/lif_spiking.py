"""The LIF spiking figure: retrieval success vs cells per memory and rate, and a raster (issue 13, part 6).

``hippo-dam figures lif_spiking`` writes ``figures/lif_spiking.png`` and
``figures/lif_spiking.json`` from :func:`hippo_dam.experiments.spiking.spiking_curve`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from brian2 import ms

from ..plotting import _ci

__all__ = ["lif_spiking", "LIF_SETTINGS"]

#: The measured setting (the CA3 spiking figure's task: N_f = 200, K = 32, 35% of the bits flipped).
LIF_SETTINGS = {"n_features": 200, "n_patterns": 32, "flip": 0.35, "n_cues": 24, "copies": [1, 8],
                "rates": [20, 50], "feature_copies": 4, "duration_ms": 150, "dt_ms": 0.2, "seed": 0}
LIF_SETTINGS_SMALL = {**LIF_SETTINGS, "n_features": 64, "n_patterns": 8, "n_cues": 2, "copies": [8],
                      "rates": [50]}


def lif_spiking(outdir="figures", settings=None):
    """Run the LIF spiking curve and write the figure and its JSON."""
    from ..plotting import _figure_files as plt  # backend-free figures: the user's backend stays

    from ._common import _versions
    from ..experiments.spiking import spiking_curve

    s = {**(LIF_SETTINGS_SMALL if _ci() and settings is None else LIF_SETTINGS),
         **(settings or {})}
    out = spiking_curve(n_features=s["n_features"], n_patterns=s["n_patterns"], flip=s["flip"], n_cues=s["n_cues"],
                        copies=tuple(s["copies"]), rates=tuple(s["rates"]), feature_copies=s["feature_copies"],
                        duration=s["duration_ms"] * ms, dt=s["dt_ms"] * ms, seed=s["seed"])
    res = out["results"]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    for r in s["rates"]:
        rows = [row for row in res["curve"] if row["rate_Hz"] == r]
        ax[0].plot([row["copies"] for row in rows], [row["success"] for row in rows], "-o", label=f"LIF, {r} Hz")
        ax[1].plot([row["copies"] for row in rows], [row["final_overlap"] for row in rows], "-o", label=f"LIF, {r} Hz")
    ax[0].axhline(res["rate_success"], color="k", ls="--", label="rate model")
    ax[0].axhline(0.95 * res["rate_success"], color="k", ls=":", label="95% of rate model")
    ax[0].set(xscale="log", xlabel="LIF cells per memory", ylabel="retrieval success (signs)",
              title=f"{res['n_cues']} cues, {int(100 * s['flip'])}% flipped, N={s['n_features']}, K={s['n_patterns']}")
    ax[0].legend(fontsize=8)
    ax[1].axhline(res["rate_final_overlap"], color="k", ls="--", label="rate model")
    ax[1].set(xscale="log", xlabel="LIF cells per memory", ylabel="mean tanh(v) . xi at the end",
              title="graded recall")
    ax[1].legend(fontsize=8)
    cells, times = out["plot"]["raster"]
    ax[2].plot(np.asarray(times) * 1e3, cells, "|", ms=2, color="k")
    ax[2].set(xlabel="t (ms)", ylabel="memory cell", title=out["plot"]["title"])
    path = Path(outdir) / "lif_spiking.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    record = {"figure": path.name, "function": "hippo_dam.figures.lif_spiking.lif_spiking", "settings": s, **res,
              "versions": _versions()}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return path
