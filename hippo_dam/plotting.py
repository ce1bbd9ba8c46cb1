"""Figures of a recall: energy descent and overlaps over time."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_recall", "plot_circuit", "plot_circuit_result"]


def _ci():
    """True under ``CI=true`` (or 1/yes): figure functions then use their reduced settings."""
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class _FigureFiles:
    """The few pyplot calls the package uses, on backend-free ``matplotlib.figure.Figure`` objects.

    Figures written to files need no GUI backend, so the library never calls
    ``matplotlib.use`` (the user's backend choice stays as it was).
    """

    @staticmethod
    def figure(**kwargs):
        from matplotlib.figure import Figure

        return Figure(**kwargs)

    @classmethod
    def subplots(cls, *args, figsize=None, constrained_layout=False, **kwargs):
        fig = cls.figure(figsize=figsize, constrained_layout=constrained_layout)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig):
        """Nothing to close: the figure is not registered with pyplot."""

    @staticmethod
    def get_cmap(name):
        import matplotlib

        return matplotlib.colormaps[name]


_figure_files = _FigureFiles()


def _pyplot(path):
    """pyplot for interactive display (``path`` None), else the backend-free figure maker."""
    if path is not None:
        return _figure_files
    import matplotlib.pyplot as plt

    return plt

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
    plt = _pyplot(path)

    n = len(results)
    # fixed margins: a constrained layout costs a quarter of a second per figure, a third of a warm run's work
    fig, axes = plt.subplots(2, n, figsize=(max(6.4, 4.2 * n), 6), sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.13 if n == 1 else 0.075, right=0.97, bottom=0.09, top=0.88, hspace=0.1, wspace=0.28)
    for col, (label, r) in enumerate(results.items()):
        tgt = int(r.quality.target)
        ax_e, ax_m = axes[0, col], axes[1, col]
        ax_e.plot(r.energy_t * 1e3, r.energy, color="k", lw=1.5)
        ax_e.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))  # short labels: the margins are fixed
        lags = f"\n{r.attrs['feature_lagrangian']} / {r.attrs['memory_lagrangian']}" \
            if subtitle and "feature_lagrangian" in r.attrs else ""
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


def plot_circuit(results, path=None, rates=None, spikes=None, title=None):
    """Activity by region, energy and overlaps of circuit recalls.

    Parameters
    ----------
    results : dict label -> RecallResult
        The first one is shown by region (top row); all share the energy panel.
    rates : dict region label -> (t_ms, array (T, n), unit), optional
        Traces shown as images, one per region (e.g. memory rates in Hz).
    spikes : (unit index, times s), optional
        A raster of memory-cell spikes for the first result.
    """
    plt = _pyplot(path)

    rates = rates or {}
    n_top = len(rates) + (spikes is not None)
    fig = plt.figure(figsize=(4.0 * max(n_top, 2), 7.2), constrained_layout=True)
    grid = fig.add_gridspec(2, max(n_top, 2))
    for k, (label, (t, trace, unit)) in enumerate(rates.items()):
        ax = fig.add_subplot(grid[0, k])
        im = ax.imshow(np.asarray(trace).T, aspect="auto", origin="lower", interpolation="nearest",
                       extent=[t[0], t[-1], -0.5, trace.shape[1] - 0.5], cmap="viridis")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        fig.colorbar(im, ax=ax, label=unit)
    if spikes is not None:
        ax = fig.add_subplot(grid[0, len(rates)])
        unit_idx, times = spikes
        ax.plot(np.asarray(times) * 1e3, unit_idx, "|", color="k", ms=4)
        ax.set_title("memory-cell spikes (by memory unit)", fontsize=10)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("memory unit")
    half = max(n_top, 2) // 2
    ax_e = fig.add_subplot(grid[1, :half])
    ax_m = fig.add_subplot(grid[1, half:])
    scored = all(r.quality is not None for r in results.values())
    for k, (label, r) in enumerate(results.items()):
        ax_e.plot(r.energy_t * 1e3, r.energy, lw=1.5, color=f"C{k}", label=label)
        t = r.t * 1e3 if r.v is not None else r.energy_t[-1:] * 1e3
        style = {} if r.v is not None else {"marker": "o"}
        if scored:
            tgt = int(r.quality.target)
            m = r.overlaps
            if k == 0:
                ax_m.plot(t, np.delete(m, tgt, axis=1), color="0.8", lw=0.5, **style)
            ax_m.plot(t, m[:, tgt], color=f"C{k}", lw=1.8, label=f"{label}: target {tgt}", **style)
        else:  # no stored patterns to score against: the cued layer's states themselves
            states = r.v if r.v is not None else r.v_final[None, :]
            ax_m.plot(t, states, color=f"C{k}", lw=0.8, **style)
            ax_m.plot([], [], color=f"C{k}", label=f"{label}: {r.attrs.get('cue_layer', 'cued layer')}")
    ax_e.set_xlabel("time (ms)")
    ax_e.set_ylabel("energy E")
    ax_e.legend(fontsize=7)
    ax_m.set_xlabel("time (ms)")
    if scored:
        ax_m.set_ylabel(r"overlap $m_\mu$ (grey: other patterns)")
        ax_m.set_ylim(-1.05, 1.05)
    else:
        ax_m.set_ylabel("state x of the cued layer (no patterns stored)")
    ax_m.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=11)
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def plot_circuit_result(result, path=None):
    """:func:`plot_circuit` of one circuit recall: recorded states by region, energy, overlaps."""
    a = result.attrs
    rates = {}
    if result.v is not None:
        t = result.t * 1e3
        if "layers" not in a:  # a graph network (hierarchy, general) has every layer in ``extra``
            rates[f"{a.get('feature_region') or 'features'}: feature potentials v"] = (t, result.v, "v")
            rates[f"{a.get('memory_region') or 'memories'}: memory potentials h"] = (t, result.h, "h")
        for name, pop in result.extra.items():
            if pop.get("trace") is not None:
                rates[f"{pop.get('region') or name}: {name} ({pop.get('state')})"] = (t, pop["trace"], pop.get("state"))
    spikes = getattr(result, "spikes", None)
    title = a.get("title") or (f"{a['network']}: {a['layers']}" if "layers" in a else None)
    return plot_circuit({a.get("circuit") or a.get("network", "recall"): result}, path, rates=rates,
                        spikes=None if spikes is None else spikes[:2], title=title)


_DARKNESS_READOUTS = (("with_memory", "memory feedback (CA3 population vector)", "tab:blue"),
            ("feedback_cut", "feedback cut (same read-out)", "tab:red"),
            ("feedforward", "feedforward readout argmax xi . inputs", "tab:orange"),
            ("path_integrator", "path integrator alone (mean of the modules)", "0.4"))


def plot_darkness(recorded, path):
    """The darkness experiment's figure from its recorded numbers (:func:`hippo_dam.experiments.darkness.darkness_experiment`)."""
    plt = _figure_files  # backend-free figures: the user's backend stays

    t = np.asarray(recorded["t_s"])
    s = recorded["settings"]
    fig = plt.figure(figsize=(16, 4.8))
    gs = fig.add_gridspec(1, 3, width_ratios=[1.5, 1, 1], wspace=0.3)
    ax = fig.add_subplot(gs[0])
    for key, label, colour in _DARKNESS_READOUTS:
        err = np.asarray(recorded[key]["errors_cm"])
        ax.plot(t, err.mean(axis=0), color=colour, label=label)
        ax.fill_between(t, err.min(axis=0), err.max(axis=0), color=colour, alpha=0.15, lw=0)
    ax.set(xlabel="time in darkness (s)", ylabel="position error (cm)",
           title=f"{int(s['n_seeds'])} seeds (windows of the Sargolini rat's path): mean, band = min-max")
    ax.legend(fontsize=8, loc="upper left")
    ax = fig.add_subplot(gs[1])
    for k, (key, label, colour) in enumerate(_DARKNESS_READOUTS):
        vals = recorded[key]["final_cm_per_seed"]
        ax.plot(np.full(len(vals), k) + np.linspace(-0.12, 0.12, len(vals)), vals, "o", color=colour)
        ax.plot([k - 0.25, k + 0.25], [np.mean(vals)] * 2, color=colour, lw=2)
    ax.set_xticks(range(len(_DARKNESS_READOUTS)), ["memory\nfeedback", "feedback\ncut", "feed-\nforward", "path\nintegrator"])
    ax.set(ylabel=f"mean error, last {s['final_window_s']:g} s (cm)", ylim=(0, None),
           title=f"with / without feedback: {recorded['ratio_with_to_without']:.2f}")
    ax = fig.add_subplot(gs[2])
    ex = recorded["example"]
    k = max(0, len(t) - 60)  # the last minute
    true, mem, cut = (np.asarray(ex[n])[k:] * 100 for n in ("true_m", "with_memory_m", "feedback_cut_m"))
    ax.plot(true[:, 0], true[:, 1], color="k", lw=1.2, label="the rat")
    ax.plot(mem[:, 0], mem[:, 1], color="tab:blue", lw=0.9, label="decoded, memory feedback")
    ax.plot(cut[:, 0], cut[:, 1], color="tab:red", lw=0.9, label="decoded, feedback cut")
    ax.set(xlim=(0, 100), ylim=(0, 100), aspect="equal", xlabel="x (cm)", ylabel="y (cm)",
           title=f"seed 0, last {len(true) * (t[1] - t[0]):.0f} s of darkness")
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Grid modules integrating velocity in darkness, pulled back onto the stored map by CA3 "
                 "(touch cells at the walls)", fontsize=12)
    return _save_figure(fig, path, dpi=110)


# Literature values beside the shared map's numbers (sources in docs/place_cells.md)
_ACTIVE_FRACTION_MAX = 0.5  # "less than half of the neurons in CA1 and CA3 are active" (Karlsson & Frank 2008)
_PEAK_RATE_RANGE_HZ = (10.0, 40.0)  # in-field peak rates of place cells (the range issue 20 states)


def _save_figure(fig, path, dpi):
    """Write a backend-free figure to ``path``; returns the path."""
    from pathlib import Path

    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return Path(path)


def _fields_histogram(distributions, n=6):
    """Cells with 0, 1, ..., ``n - 2`` and ``n - 1`` or more place fields, summed over several rooms' counts."""
    padded = [list(d) + [0] * max(0, n - len(d)) for d in distributions]
    return np.array([p[:n - 1] + [sum(p[n - 1:])] for p in padded]).sum(axis=0)


def _rate_map_axis(fig, spec, rate_map, scale_map):
    """A rate map (nx, ny) as an image without ticks, its colour scale from 0 to the peak of ``scale_map``."""
    ax = fig.add_subplot(spec)
    peak = max(float(np.nanmax(np.asarray(scale_map, float))), 1e-9)
    ax.imshow(np.asarray(rate_map, float).T, origin="lower", cmap="jet", vmin=0, vmax=peak)
    ax.set_xticks([]), ax.set_yticks([])
    return ax


def plot_shared_map(recorded, path):
    """The shared-map figure from its recorded numbers
    (:func:`hippo_dam.experiments.shared_map.shared_map_experiment`)."""
    plt = _figure_files
    s, rooms = recorded["settings"], recorded["rooms"]
    n = len(rooms)
    remap = recorded.get("remapping")
    fig = plt.figure(figsize=(21, 13 if remap else 8.5))
    gs = fig.add_gridspec(3 if remap else 2, 5, hspace=0.5, wspace=0.34)
    # A: example maps of room A's most active cells: novel, learned, after every other room
    ex = recorded["example_maps"]
    sub = gs[0, :2].subgridspec(3, 6, hspace=0.1, wspace=0.05)
    labels = {"novel": "novel", "learned": "learned", "final": f"after {n - 1} more rooms"}
    for r, kind in enumerate(("novel", "learned", "final")):
        for c, m in enumerate(ex[kind]):
            ax = _rate_map_axis(fig, sub[r, c], m, ex["learned"][c])
            if c == 0:
                ax.set_ylabel(labels[kind], fontsize=8)
            if r == 0:
                ax.set_title(f"cell {c + 1}: {np.nanmax(np.asarray(ex['learned'][c], float)):.0f} Hz", fontsize=8)
    x = np.arange(n)
    names = [r["room"] for r in rooms]
    # B: fraction of cells active per room
    ax = fig.add_subplot(gs[0, 2])
    for off, kind, colour in ((-0.2, "novel", "0.6"), (0.2, "learned", "tab:blue")):
        ax.bar(x + off, [r[kind]["fraction_active"] for r in rooms], 0.4, color=colour, label=kind)
    ax.axhline(_ACTIVE_FRACTION_MAX, color="k", ls="--", lw=1, label="< 1/2 (Karlsson & Frank 2008)")
    ax.set_xticks(x, names)
    ax.set(ylabel="fraction of CA3 cells active", ylim=(0, 1), xlabel="room",
           title=f"{recorded['n_ca3']} CA3 cells, one population")
    ax.legend(fontsize=7)
    # C: overlap of active sets against chance
    ax = fig.add_subplot(gs[0, 3])
    ch = [o["chance"] for o in recorded["overlap"]]
    both = [o["both_active"] for o in recorded["overlap"]]
    ax.plot(ch, both, "o", color="tab:blue")
    top = max(ch + both + [0.05]) * 1.15
    ax.plot([0, top], [0, top], "k--", lw=1, label="chance (p_a p_b)")
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="chance overlap p_a p_b", ylabel="cells active in both rooms",
           title="overlap of active sets, every pair of rooms")
    ax.legend(fontsize=7, loc="upper left")
    # D: peak rates and spatial information, novel vs learned
    ax = fig.add_subplot(gs[1, 0])
    for off, kind, colour in ((-0.2, "novel", "0.6"), (0.2, "learned", "tab:blue")):
        ax.bar(x + off, [r[kind]["peak_rate_Hz_median"] for r in rooms], 0.4, color=colour, label=kind)
        for k, r in enumerate(rooms):
            if r[kind]["peak_rate_Hz_quartiles"]:
                ax.plot([k + off] * 2, r[kind]["peak_rate_Hz_quartiles"], color="k", lw=1)
    ax.axhspan(*_PEAK_RATE_RANGE_HZ, color="tab:green", alpha=0.12, label="10-40 Hz")
    ax.set_xticks(x, names)
    ax.set(ylabel="in-field peak rate (Hz), median, IQR", xlabel="room", title="peak rates of active cells")
    ax.legend(fontsize=7)
    # fields per active cell: the 1 m box against a large box
    ax = fig.add_subplot(gs[1, 1])
    small = _fields_histogram([r["learned"]["fields_per_cell_distribution"] for r in rooms])
    width = 0.4
    ax.bar(np.arange(1, 6) - width / 2, small[1:] / max(small[1:].sum(), 1), width, color="tab:blue",
           label=f"{s['arena_width_m']:g} x {s['arena_height_m']:g} m")
    big = recorded.get("large_box")
    if big:
        counts = np.asarray(big["fields_per_cell_distribution"], float)
        bs = big["settings"]
        ax.bar(np.arange(1, 6) + width / 2, counts[1:] / max(counts[1:].sum(), 1), width, color="tab:purple",
               label=f"{bs['arena_width_m']:g} x {bs['arena_height_m']:g} m")
    ax.set_xticks(range(1, 6), ["1", "2", "3", "4", "5+"])
    ax.set(xlabel="place fields per active cell", ylabel="fraction of active cells",
           title="fields per cell, two box sizes")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[1, 2])
    for off, kind, colour in ((-0.2, "novel", "0.6"), (0.2, "learned", "tab:blue")):
        ax.bar(x + off, [r[kind]["info_bits_per_spike_median"] for r in rooms], 0.4, color=colour, label=kind)
    ax.set_xticks(x, names)
    ax.set(ylabel="spatial information (bits/spike), median", xlabel="room", title="Skaggs information")
    ax.legend(fontsize=7)
    # E: how old maps fade
    since = np.asarray(recorded["forgetting"]["rooms_learned_since"])
    ax = fig.add_subplot(gs[1, 3])
    ax.plot(since, recorded["forgetting"]["pv_final_vs_learned"], "o-", color="tab:blue", label="learned map")
    ax.plot(since, [r["pv_novel_vs_learned"] for r in rooms], "s:", color="0.5", label="novel map vs learned")
    ax.set(xlabel="rooms learned since", ylabel="PV correlation with the learned map",
           ylim=(-0.1, 1.05), title="old maps fade")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[1, 4])
    ax.plot(since, recorded["forgetting"]["final_decoding_cm"], "o-", color="tab:blue", label="median error")
    ax.set(xlabel="rooms learned since", ylabel="error, read with the learned maps (cm)", ylim=(0, None),
           title="reading old rooms")
    ax2 = ax.twinx()
    ax2.plot(since, recorded["forgetting"]["final_room_correct"], "s--", color="tab:orange", label="right room")
    ax2.set(ylabel="fraction decoded in the right room", ylim=(0, 1.05))
    ax.legend(fontsize=7, loc="upper left"), ax2.legend(fontsize=7, loc="lower left")
    ax2.axhline(recorded.get("recall_criterion", 0.5), color="tab:orange", lw=0.8, ls=":")
    if big:  # example maps of the large box
        sub = gs[0, 4].subgridspec(2, 3, hspace=0.25, wspace=0.05)
        for c, m in enumerate(big["example_maps"][:6]):
            a = _rate_map_axis(fig, sub[c // 3, c % 3], m, m)
            m = np.asarray(m, float)
            a.set_title(f"{np.nanmax(m):.0f} Hz", fontsize=7)
            if c == 1:
                a.text(0.5, 1.35, f"learned maps, {bs['arena_width_m']:g} x {bs['arena_height_m']:g} m box",
                       transform=a.transAxes, ha="center", fontsize=10)
    if remap:
        _plot_remapping(fig, gs[2, :], recorded)
    fig.suptitle(f"One CA3 population learns {n} rooms by a local rule inside the run "
                 f"(instar rule, basket-cell inhibition; {s['explore_s']:g} s of the Sargolini rat per room)",
                 fontsize=12)
    return _save_figure(fig, path, dpi=100)


_REMAP_LABELS = {"same_room_other_path": "same room,\nanother path", "context_changed": "context\nchanged",
                 "landmarks_moved": "landmarks\nmoved", "half_grid_realigned": "half the grid\nrealigned",
                 "grid_realigned": "grid\nrealigned"}
_REMAP_COLOURS = {"same_room_other_path": "0.6", "context_changed": "tab:olive", "landmarks_moved": "tab:green",
                  "half_grid_realigned": "tab:orange", "grid_realigned": "tab:red"}


def _plot_remapping(fig, where, recorded):
    """The remapping row of the shared-map figure: room A changed three ways, against the same room."""
    remap = recorded["remapping"]
    cue = recorded.get("partial_cue")
    sub = where.subgridspec(1, 5 if cue else 4, wspace=0.35, width_ratios=[1, 1, 1, 1.4] + ([1] if cue else []))
    keys = [k for k in _REMAP_LABELS if k in remap]
    x = np.arange(len(keys))
    labels = [_REMAP_LABELS[k] for k in keys]
    ax = fig.add_subplot(sub[0])
    med = [remap[k]["spatial_correlation_median"] for k in keys]
    ax.bar(x, med, color=[_REMAP_COLOURS[k] for k in keys])
    for k, key in enumerate(keys):
        if remap[key]["spatial_correlation_quartiles"]:
            ax.plot([k, k], remap[key]["spatial_correlation_quartiles"], color="k", lw=1)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, labels, fontsize=6)
    ax.set(ylabel="rate-map correlation per cell (median, IQR)", ylim=(-0.3, 1.05),
           title="remapping of room A: where cells fire")
    ax = fig.add_subplot(sub[1])
    ax.bar(x - 0.2, [remap[k]["fraction_rate_change_over_2fold"] for k in keys], 0.4, color="tab:purple",
           label="> 2-fold peak change")
    ax.bar(x + 0.2, [remap[k]["pv_correlation"] for k in keys], 0.4, color="tab:cyan", label="PV correlation")
    ax.set_xticks(x, labels, fontsize=6)
    ax.set(ylim=(0, 1.05), title="how much cells fire")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(sub[2])
    ax.bar(x - 0.2, [remap[k]["still_active"] for k in keys], 0.4, color="tab:blue", label="still active")
    ax.bar(x + 0.2, [remap[k]["still_active_chance"] for k in keys], 0.4, color="0.7", label="chance")
    ax.set_xticks(x, labels, fontsize=6)
    ax.set(ylim=(0, 1.05), ylabel="fraction of active cells", title="which cells fire")
    ax.legend(fontsize=7)
    if cue:  # room A from a partial cue: does the CA3 -> EC feedback complete it?
        ax = fig.add_subplot(sub[4])
        fb = [v for k, v in cue.items() if v["feedback_gain"] > 0]
        ax.plot([v["feedback_gain"] for v in fb], [v["decoding_cm"] for v in fb], "o-", color="tab:blue",
                label="feedback on")
        ax.axhline(cue["partial_cue"]["decoding_cm"], color="tab:red", ls="--", label="feedback cut")
        top = 1.15 * max([v["decoding_cm"] for v in cue.values()] + [1.0])
        ax.set(xscale="log", xlabel="CA3 -> EC feedback gain c", ylabel="error, read with the learned maps (cm)",
               ylim=(0, top), title="partial cue (dark, half the grid)")
        ax2 = ax.twinx()
        ax2.plot([v["feedback_gain"] for v in fb], [v["room_correct"] for v in fb], "s:", color="tab:orange",
                 label="read as room A")
        ax2.axhline(cue["partial_cue"]["room_correct"], color="tab:orange", ls="--", lw=0.8)
        ax2.set(ylim=(0, 1.05), ylabel="read as room A (dashed: feedback cut)")
        ax.legend(fontsize=7, loc="lower left")
    ex = recorded.get("example_maps_remapping")
    if ex:
        conds = [c for c in ("repeat", "context_changed", "landmarks_moved", "half_grid_realigned", "grid_realigned")
                 if c in ex]
        grid = sub[3].subgridspec(3, len(conds), hspace=0.08, wspace=0.05)
        names = {"repeat": "room A", "context_changed": "context", "landmarks_moved": "landmarks",
                 "half_grid_realigned": "half grid", "grid_realigned": "grid"}
        for c, cond in enumerate(conds):
            for r, m in enumerate(ex[cond]):
                a = _rate_map_axis(fig, grid[r, c], m, ex["repeat"][r])
                if r == 0:
                    a.set_title(names[cond], fontsize=8)


def _phase_axis(ax, d, phase, title, colour="k", ms=2, alpha=0.5, label=None):
    """Spike phase (deg, drawn twice: 0-720) against the position in the field (-1 entering, +1 leaving)."""
    d, deg = np.asarray(d, float), np.degrees(np.asarray(phase, float))
    ax.plot(np.concatenate([d, d]), np.concatenate([deg, deg + 360]), ".", ms=ms, color=colour, alpha=alpha,
            label=label)
    ax.set(xlim=(-1, 1), ylim=(0, 720), yticks=[0, 180, 360, 540, 720], xlabel="position in field (entry -1, exit +1)",
           title=title)
    ax.title.set_fontsize(9)


def plot_place_theta(recorded, path):
    """The theta figure from its recorded numbers (:func:`hippo_dam.experiments.place_theta.place_theta_experiment`)."""
    plt = _figure_files
    s = recorded["settings"]
    fig = plt.figure(figsize=(17, 8.6))
    gs = fig.add_gridspec(2, 4, hspace=0.42, wspace=0.3)
    # A: raster against the rhythm
    ax = fig.add_subplot(gs[0, 0])
    r = recorded["raster"]
    t, cell = np.asarray(r["t"]), np.asarray(r["cell"])
    order = {c: k for k, c in enumerate(sorted(set(cell.tolist())))}
    period, start = 1.0 / r["theta_hz"], r.get("test_start_s", 0.0)  # phase 0 at whole periods of the run's time
    lo, hi = r["t0_s"], r["t0_s"] + 2.0
    for k in range(int(np.floor((lo + start) / period)), int(np.ceil((hi + start) / period)) + 1):
        c = k * period - start
        ax.axvspan(c - period / 4, c + period / 4, color="0.88", lw=0)  # most inhibition
    ax.plot(t, [order[c] for c in cell], "|", color="k", ms=3)
    ax.set(xlim=(lo, hi), xlabel="time in the test (s)", ylabel="spiking CA3 cell (with a field)",
           title="spikes; grey: septal inhibition high (phase 0 +- 90 deg)")
    ax.title.set_fontsize(9)
    # B: one cell, C/D: pooled with and without the sweep
    cells = recorded["examples"].get("cells", [])
    ax = fig.add_subplot(gs[0, 1])
    title = "three cells: peak 10-40 Hz, significant precession"
    for c, colour in zip(cells, ("tab:blue", "tab:orange", "tab:green")):
        _phase_axis(ax, c["d"], c["phase"], title, colour, ms=3, alpha=None,
                    label=f"cell {c['cell']}: {c['slope_deg_per_field']:.0f} deg/field")
    _phase_axis(ax, [], [], title)  # the axes also without example cells
    ax.set_ylabel("theta phase of the spike (deg)")
    if cells:
        ax.legend(fontsize=7, loc="upper right")
    for k, (name, label) in enumerate((("test", "with the look-ahead sweep"),
                                       ("no_sweep", "baseline: septal pacing, no sweep"))):
        pp = recorded["precession"][name]["pooled"]
        ax = fig.add_subplot(gs[0, 2 + k])
        _phase_axis(ax, recorded["examples"][name]["d"], recorded["examples"][name]["phase"],
                    f"all cells, {label}\npooled slope {pp['slope_deg_per_field']:.0f} deg/field, rho "
                    f"{pp['rho']:.2f}, p = {pp['p']:.1g}",
                    "tab:blue" if name == "test" else "0.4")
    # E: the same cells' maps in the two versions
    sub = gs[1, 0].subgridspec(2, 3, wspace=0.05, hspace=0.15)
    for k, c in enumerate(cells[:3]):
        a = _rate_map_axis(fig, sub[0, k], c["rate_map"], c["rate_map"])
        a.set_title(f"cell {c['cell']}", fontsize=8)
        if k == 0:
            a.set_ylabel("rate version", fontsize=8)
        a = _rate_map_axis(fig, sub[1, k], c["spiking_map"], c["spiking_map"])
        a.set_xlabel(f"peak {np.nanmax(np.asarray(c['spiking_map'], float)):.0f} Hz", fontsize=8)
        if k == 0:
            a.set_ylabel("spiking version", fontsize=8)
    # F: irregularity
    ax = fig.add_subplot(gs[1, 1])
    cv = recorded["isi_cv"]["test"]
    bins = np.linspace(0, max(6.0, max(cv["values"] + [0])), 31)
    ax.hist(cv["values"], bins=bins, color="tab:blue", alpha=0.7, label=f"ISI CV (median {cv['median']:.2f})")
    ax.hist(cv["cv2_values"], bins=bins, color="tab:orange", alpha=0.7, label=f"CV2 (median {cv['cv2_median']:.2f})")
    ax.axvline(1.0, color="k", ls=":", lw=1)
    ax.axvline(0.5, color="tab:red", ls="--", lw=1, label="0.5: the issue's floor")
    ax.set(xlabel="irregularity (Poisson: 1)", ylabel="cells", title="spiking cells, the test")
    ax.legend(fontsize=7)
    # G: peak rates
    ax = fig.add_subplot(gs[1, 2])
    peaks = recorded["spiking"]["peak_rates_Hz"]
    top = max(100.0, max(peaks + [0]) * 1.1)
    ax.hist(peaks, bins=np.logspace(0, np.log10(top), 30), color="k", alpha=0.7)
    ax.axvspan(*_PEAK_RATE_RANGE_HZ, color="tab:green", alpha=0.15, label="10-40 Hz (in vivo)")
    ax.set_xscale("log")
    ax.set(xlabel="in-field peak rate (Hz, log scale)", ylabel="active spiking cells",
           title=f"median {recorded['spiking']['peak_rate_Hz_median']:.1f} Hz, mean rate "
                 f"{recorded['spiking']['mean_rate_Hz']:.2f} Hz, active {recorded['spiking']['fraction_active']:.2f}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    # H: decoding (the test, with the sweep), by two decoders
    ax = fig.add_subplot(gs[1, 3])
    dec = recorded["decoding"]["test"]
    seeds = recorded.get("seeds", [])[1:]  # the other seeds' errors, as points
    decoders = (("", "population-vector\ncorrelation"), ("_bayes", "Bayesian,\nPoisson cells"))  # key suffixes
    tops = []
    for k, (suffix, _) in enumerate(decoders):
        key = "bayes_median_cm" if suffix else "median_cm"
        for j, (v, colour, dot) in enumerate((("rate", "0.5", "0.3"), ("spiking", "tab:blue", "navy"))):
            ax.bar(k + (j - 0.5) * 0.35, dec[v][key], 0.35, color=colour,
                   label=("rate version", "spiking version")[j] if k == 0 else None)
            others = [r[f"{v}_decoding{suffix}_cm"] for r in seeds]
            ax.plot(np.full(len(others), k + (j - 0.5) * 0.35), others, "o", color=dot, ms=4,
                    label="other seeds" if j and k == 0 and others else None)
            tops += [dec[v][key]] + others
        ax.text(k, max(dec["rate"][key], dec["spiking"][key]) * 1.04, f"x{dec['spiking_over_rate' + suffix]:.2f}",
                ha="center", fontsize=8)
    ax.set_xticks([0, 1], [label for _, label in decoders], fontsize=8)
    ax.set_ylim(0, 1.25 * max(tops))
    ax.set(ylabel=f"median error (cm), {s['decode_window_ms']:g} ms windows",
           title="decoded position, each version with its own templates")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"The learned CA3 map as {recorded['n_ca3']} noisy LIF cells under {s['theta_hz']:g} Hz theta "
                 f"(septal pacing of the basket cells, a {s['sweep_cm']:g} cm look-ahead sweep of the EC input)",
                 fontsize=12)
    return _save_figure(fig, path, dpi=110)
