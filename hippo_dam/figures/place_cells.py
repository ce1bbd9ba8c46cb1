"""The place-cell figure: a running animal, grid and place-cell rate maps, decoding, remapping, imprinting.

``hippo-dam figures place_cells`` (or :func:`place_cells`) runs the
experiments of :mod:`hippo_dam.experiments.place_cells` and writes
``figures/place_cells.png`` and ``figures/place_cells.json`` (every setting
and every measured number the docs page cites).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from brian2 import Hz, cm, second

from ..experiments.place_cells import PLACE_SETTINGS, PLACE_SETTINGS_SMALL, run_place_experiments
from ..plotting import _ci
from ._common import _versions

__all__ = ["place_cells"]


def _plot(out, runs, path):
    from ..plotting import _figure_files as plt  # backend-free figures: the user's backend stays

    code, traj, lattice, arena = runs["code"], runs["traj"], runs["lattice"], runs["arena"]
    size = arena.size_m * 100
    ext = [0, size[0], 0, size[1]]
    fig = plt.figure(figsize=(17, 13))
    gs = fig.add_gridspec(4, 6, hspace=0.6, wspace=0.5)
    # trajectory
    ax = fig.add_subplot(gs[0, 0:2])
    k = min(len(traj.xy), int(60 / float(traj.dt / second)))
    ax.plot(traj.xy[:k, 0] * 100, traj.xy[:k, 1] * 100, lw=0.6, color="0.3")
    marks = code.environment.landmarks * 100
    ax.plot(marks[:, 0], marks[:, 1], "r*", ms=12, label="landmarks")
    ax.plot(lattice[:, 0] * 100, lattice[:, 1] * 100, ".", color="tab:blue", ms=3, label="stored locations")
    ax.set(xlim=ext[:2], ylim=ext[2:], aspect="equal", xlabel="x (cm)", ylabel="y (cm)",
           title=f"first {k * float(traj.dt / second):.0f} s of the run "
                 f"({out['trajectory']['mean_speed_cm_s']:.0f} cm/s)")
    ax.legend(fontsize=7, loc="upper right")
    # grid-cell rate maps (one cell per module) + a landmark cell
    g = arena.grid_points(2 * cm)
    nx = int(round(size[0] / 2))
    rates = code.rates(g)
    shown = [code.groups[f"grid_{m}"].start for m in range(len(code.modules))][:3] + [code.groups["landmark"].start]
    for j, cell in enumerate(shown):
        ax = fig.add_subplot(gs[0, 2 + j])
        ax.imshow(rates[:, cell].reshape(nx, -1).T * float(code.max_rate / Hz), origin="lower", extent=ext,
                  cmap="viridis")
        name = code.group_of()[cell]
        title = (f"grid module {name[-1]}: {code.modules[int(name[-1])].spacing * 100:.0f} cm"
                 if name.startswith("grid") else "landmark cell")
        ax.set(title=title, xticks=[], yticks=[])
    # place-cell maps, DAM and classical
    sel = np.linspace(0, len(lattice) - 1, 4).astype(int)
    for row, kind in ((1, "dam"), (2, "classical")):
        run, maps = runs[kind]["all_inputs"]
        for j, c in enumerate(sel):
            ax = fig.add_subplot(gs[row, j])
            ax.imshow(maps[c].T, origin="lower", extent=ext, cmap="jet", vmin=0)
            ax.plot(*(lattice[c] * 100), "w+", ms=10, mew=2)
            ax.set(xticks=[], yticks=[], title=f"{kind} {c}: {np.nanmax(maps[c]):.1f} Hz", )
        ax = fig.add_subplot(gs[row, 4])
        counts = np.array(out["conditions"][kind]["all_inputs"]["fields_per_cell"])
        ax.hist(counts, bins=np.arange(counts.max() + 2) - 0.5, color="tab:blue" if kind == "dam" else "tab:orange")
        f = out["fields"][kind]
        ax.set(xlabel="fields per cell", ylabel="cells",
               title=f"{kind}: {100 * f['fraction_one_field']:.0f}% one field\n"
                     f"{100 * f['fraction_one_field_at_location']:.0f}% one field at its location")
    # decoding error by condition
    ax = fig.add_subplot(gs[1, 5])
    conds = list(out["conditions"]["dam"])
    x = np.arange(len(conds))
    for off, kind, col in ((-0.2, "dam", "tab:blue"), (0.2, "classical", "tab:orange")):
        ax.bar(x + off, [out["conditions"][kind][c]["median_cm"] for c in conds], 0.4, color=col, label=kind)
    ax.set_xticks(x, [c.replace("_", "\n") for c in conds], fontsize=6)
    ax.set(ylabel="median decoding error (cm)", title="decoding: inputs removed")
    ax.legend(fontsize=7)
    # decoded trajectory
    ax = fig.add_subplot(gs[2, 5])
    for kind, col in (("dam", "tab:blue"), ("classical", "tab:orange")):
        for cond_name, ls in (("all_inputs", "-"), ("darkness", ":")):
            run = runs[kind][cond_name][0]
            kk = int(20 / float(traj.dt / second))
            ax.plot(run.t[:kk], run.error[:kk] * 100, ls, color=col, lw=0.8, label=f"{kind}, {cond_name}")
    ax.set(xlabel="t (s)", ylabel="decoding error (cm)", title="first 20 s")
    ax.legend(fontsize=6)
    # energy
    ax = fig.add_subplot(gs[3, 0])
    for kind, col in (("dam", "tab:blue"), ("classical", "tab:orange")):
        t, E = runs["hold"][kind]
        ax.plot(t * 1e3, (E - E[-1]) / (E[0] - E[-1]), color=col, label=kind)
    ax.set(xlabel="t (ms)", ylabel="(E - E_end)/(E_0 - E_end)", title="held input: E never rises")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[3, 1])
    run = runs["dam"]["all_inputs"][0]
    kk = int(5 / float(traj.dt / second))
    ax.plot(run.t[:kk], run.energy[:kk], label="E(v, h; I(t))", lw=0.8)
    ax.plot(run.t[:kk], run.dissipated[:kk], label="E + int g.dI (never rises)", lw=0.8)
    ax.set(xlabel="t (s)", ylabel="energy", title="moving input (DAM)\nE rises; E + int g.dI not")
    ax.legend(fontsize=6)
    # capacity
    ax = fig.add_subplot(gs[3, 2])
    cap = out["capacity"]
    for kind, col in (("dam", "tab:blue"), ("classical", "tab:orange")):
        for sp, ls in zip(sorted({r["spacing_cm"] for r in cap["rows"]}, reverse=True), ("-o", "--s")):
            rows = [r for r in cap["rows"] if r["kind"] == kind and r["spacing_cm"] == sp]
            ax.plot([r["n_memories"] for r in rows], [r["success"] for r in rows], ls, color=col, ms=4,
                    label=f"{kind}, {rows[0]['locations_per_env']}/env")
    ax.axvline(cap["theory"]["classical_retrieval_0138N"], color="tab:orange", lw=0.8, ls=":")
    ax.set(xscale="log", xlabel="environments x locations stored", ylabel="decoding success",
           title="remapping capacity\n(dotted: 0.138 N)")
    ax.legend(fontsize=6)
    # imprinting
    ax = fig.add_subplot(gs[3, 3])
    imp = runs["imprint"]
    ex = runs["explore"]
    ax.plot(ex.xy[:, 0] * 100, ex.xy[:, 1] * 100, lw=0.3, color="0.7")
    if len(imp.locations):
        ax.scatter(imp.locations[:, 0] * 100, imp.locations[:, 1] * 100, c=imp.times, s=10, cmap="plasma")
    ax.set(xlim=ext[:2], ylim=ext[2:], aspect="equal", xticks=[], yticks=[],
           title=f"{len(imp.locations)} imprinted\n(colour: time)")
    if "imprinted" in runs:
        run, maps = runs["imprinted"]["imprinted"]
        ax = fig.add_subplot(gs[3, 4])
        c = len(imp.locations) // 2
        ax.imshow(maps[c].T, origin="lower", extent=ext, cmap="jet", vmin=0)
        ax.plot(*(imp.locations[c] * 100), "w+", ms=10, mew=2)
        i = out["imprinting"]
        ax.set(xticks=[], yticks=[], title=f"imprinted cell, next run\n{100 * i['imprinted']['fraction_one_field_at_location']:.0f}% one field at location")
    ax = fig.add_subplot(gs[3, 5])
    rows = [r for r in out["capacity"]["rows"] if r["spacing_cm"] == min(r2["spacing_cm"] for r2 in out["capacity"]["rows"])]
    for kind, col in (("dam", "tab:blue"), ("classical", "tab:orange")):
        rr = [r for r in rows if r["kind"] == kind]
        ax.plot([r["n_environments"] for r in rr], [r["env_correct"] for r in rr], "-o", color=col, ms=4, label=kind)
    ax.set(xscale="log", xlabel="environments stored", ylabel="right environment decoded",
           title="global remapping: which box?")
    ax.legend(fontsize=7)
    fig.suptitle("Place cells as Dense Associative Memory neurons: grid + landmark inputs, moving animal", fontsize=13)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def place_cells(outdir="figures", settings=None):
    """Run the place-cell experiments and write ``place_cells.png`` and ``place_cells.json``."""
    s = {**(PLACE_SETTINGS_SMALL if _ci() and settings is None else PLACE_SETTINGS),
         **(settings or {})}
    out, runs = run_place_experiments(s)
    out["versions"] = _versions()
    path = Path(outdir) / "place_cells.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    _plot(out, runs, path)
    out["figure"] = path.name
    out["function"] = "hippo_dam.figures.place_cells.place_cells"
    path.with_suffix(".json").write_text(json.dumps(out, indent=2, default=_json_default) + "\n")
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")
