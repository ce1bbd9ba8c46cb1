"""Figures of a recall: energy descent and overlaps over time."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_recall"]


def plot_recall(result, path=None, title=None):
    """Two panels: energy E(t), and overlaps m_mu(t) with the target highlighted.

    Returns the matplotlib Figure; saves it as PNG when ``path`` is given.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_m) = plt.subplots(2, 1, figsize=(6.4, 6), sharex=True, constrained_layout=True)
    ms = 1e3
    e = result.energy
    ax_e.plot(result.energy_t * ms, e, color="k", lw=1.5)
    ax_e.set_ylabel("energy E")
    ax_e.set_title(title or result.attrs.get("title", "recall"))
    if np.all(e - e.min() > 0) and e.max() / e.min() > 100:
        ax_e.set_yscale("log")
    target = int(result.quality.target)
    t = result.t * ms if result.v is not None else np.array([result.energy_t[-1] * ms])
    m = result.overlaps
    others = [k for k in range(m.shape[1]) if k != target]
    if others:
        ax_m.plot(t, m[:, others], color="0.7", lw=0.6)
        ax_m.plot([], [], color="0.7", lw=0.6, label=f"other {len(others)} patterns")
    ax_m.plot(t, m[:, target], color="C3", lw=2, label=f"target pattern {target}")
    ax_m.axhline(1, color="k", ls=":", lw=0.8)
    ax_m.set_ylim(-1.05, 1.05)
    ax_m.set_xlabel("time (ms)")
    ax_m.set_ylabel(r"overlap $m_\mu = \xi_\mu \cdot \mathrm{sign}(v) / N$")
    ax_m.legend(loc="lower right", fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def plot_recall_grid(results, path=None, target=None):
    """Energy (top) and overlaps (bottom) for several labelled recalls side by side.

    ``results`` maps a label (``'model A'``) to a RecallResult with recorded states.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 6), sharex=True, constrained_layout=True, squeeze=False)
    for col, (label, r) in enumerate(results.items()):
        tgt = int(r.quality.target)
        ax_e, ax_m = axes[0, col], axes[1, col]
        ax_e.plot(r.energy_t * 1e3, r.energy, color="k", lw=1.5)
        ax_e.set_title(f"{label}\n{r.attrs['feature_lagrangian']} / {r.attrs['memory_lagrangian']}", fontsize=10)
        m = r.overlaps
        ax_m.plot(r.t * 1e3, np.delete(m, tgt, axis=1), color="0.75", lw=0.5)
        ax_m.plot(r.t * 1e3, m[:, tgt], color="C3", lw=2, label=f"target {tgt}")
        ax_m.set_ylim(-1.05, 1.05)
        ax_m.set_xlabel("time (ms)")
        ax_m.legend(loc="lower right", fontsize=8)
    axes[0, 0].set_ylabel("energy E")
    axes[1, 0].set_ylabel(r"overlap $m_\mu$")
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
