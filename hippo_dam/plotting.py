"""Figures of a recall: energy descent and overlaps over time."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_recall"]


def plot_recall(result, path=None, title=None):
    """Energy E(t) above overlaps m_mu(t) (target highlighted) for one recall.

    Returns the matplotlib Figure; saves it as PNG when ``path`` is given.
    """
    label = title or result.attrs.get("title", "recall")
    return plot_recall_grid({label: result}, path=path, subtitle=title is None and "title" not in result.attrs)


def plot_recall_grid(results, path=None, subtitle=True):
    """Energy (top) and overlaps (bottom) for several labelled recalls side by side.

    ``results`` maps a label (``'model A'``) to a RecallResult with recorded states.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(2, n, figsize=(max(6.4, 4.2 * n), 6), sharex=True, constrained_layout=True, squeeze=False)
    for col, (label, r) in enumerate(results.items()):
        tgt = int(r.quality.target)
        ax_e, ax_m = axes[0, col], axes[1, col]
        ax_e.plot(r.energy_t * 1e3, r.energy, color="k", lw=1.5)
        lags = f"\n{r.attrs['feature_lagrangian']} / {r.attrs['memory_lagrangian']}" if subtitle else ""
        ax_e.set_title(label + lags, fontsize=10)
        # without recorded states, only the final overlaps are known
        t = r.t * 1e3 if r.v is not None else r.energy_t[-1:] * 1e3
        m = r.overlaps
        style = {} if r.v is not None else {"marker": "o"}
        ax_m.plot(t, np.delete(m, tgt, axis=1), color="0.75", lw=0.5, **style)
        ax_m.plot(t, m[:, tgt], color="C3", lw=2, label=f"target {tgt}", **style)
        ax_m.set_ylim(-1.05, 1.05)
        ax_m.set_xlabel("time (ms)")
        ax_m.legend(loc="lower right", fontsize=8)
    axes[0, 0].set_ylabel("energy E")
    axes[1, 0].set_ylabel(r"overlap $m_\mu$")
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
