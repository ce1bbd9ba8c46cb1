"""Place-cell model files: ``[circuit] kind = "place_cells"`` (see ``models/place_cells.toml``).

A place-cell model file names the arena, the grid modules, the landmarks, the
stored locations, the memory layer and the animal's run; ``hippo-dam run``
turns it into rate maps and a decoded trajectory (netCDF + PNG). Its tables::

    [model]       name, description
    [circuit]     kind = "place_cells", memory = "dam" | "classical", max_rate, silence (list of cell groups),
                  silence_grid_fraction
    [arena]       width, height                          (lengths: "100 cm")
    [grid]        modules, cells_per_module, smallest_spacing, ratio, seed
    [landmarks]   count, seed, tuning_width
    [features]    tau, gain
    [memories]    tau, lattice (spacing of the stored locations), beta_n
    [trajectory]  duration, dt, mean_speed ("25 cm/s"), seed
    [run]         dt, bin_size, codegen_target

Unknown tables or keys are an error naming them.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import cm, meter, second

from ..modelfile import parse_rate, parse_time, read_model_tables

__all__ = ["PlaceModelFile", "load_place_model", "parse_length"]

_SCHEMA = {
    "model": {"name": str, "description": str, "kind": str},
    "circuit": {"kind": str, "memory": str, "max_rate": str, "silence": list, "silence_grid_fraction": float},
    "arena": {"width": str, "height": str},
    "grid": {"modules": int, "cells_per_module": int, "smallest_spacing": str, "ratio": float, "seed": int},
    "landmarks": {"count": int, "seed": int, "tuning_width": str},
    "features": {"tau": str, "gain": float},
    "memories": {"tau": str, "lattice": str, "beta_n": float},
    "trajectory": {"duration": str, "dt": str, "mean_speed": str, "seed": int},
    "run": {"dt": str, "bin_size": str, "codegen_target": str},
}
_LENGTHS = {"m": meter, "meter": meter, "cm": cm, "mm": meter / 1000}


def parse_length(text, what="length"):
    """``'10 cm'`` -> ``10*cm``; raises ValueError naming ``what`` otherwise."""
    match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*\*?\s*([a-z]+)\s*", str(text))
    if not match or match.group(2) not in _LENGTHS:
        raise ValueError(f"{what}: expected a length such as '10 cm', got {text!r} (units: {sorted(_LENGTHS)})")
    return float(match.group(1)) * _LENGTHS[match.group(2)]


def _parse_speed(text, what):
    match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-z]+)\s*/\s*s\s*", str(text))
    if not match or match.group(2) not in _LENGTHS:
        raise ValueError(f"{what}: expected a speed such as '25 cm/s', got {text!r}")
    return float(match.group(1)) * _LENGTHS[match.group(2)] / second


@dataclass
class PlaceModelFile:
    """A loaded place-cell model: the network, the animal's run and the silenced inputs."""

    path: str
    config: dict
    network: object
    trajectory: object
    silenced: np.ndarray
    bin_size: object

    @property
    def name(self):
        return self.config.get("model", {}).get("name", Path(self.path).stem)

    def networks(self):
        """The network the file runs (the place-cell network's memory network), its input the file's run."""
        net = self.network
        net.network.set_stimulus(net.code.inputs(self.trajectory.xy, self.silenced), self.trajectory.dt)
        return [net.network]

    def run(self, progress=None):
        """Run the animal through the arena; returns a :class:`~hippo_dam.circuits.place_cells.PlaceRun`."""
        run = self.network.run(self.trajectory, self.silenced)
        run.attrs["model"] = self.name
        return run

    def cli_run(self, outdir, codegen_target=None, progress=None, start=None):
        """``hippo-dam run``: rate maps and decoded trajectory to netCDF + PNG; prints the measured numbers."""
        import xarray as xr

        from .place_cells import field_statistics, rate_maps

        start = time.perf_counter() if start is None else start  # when the command began
        if codegen_target:
            self.network.network.codegen_target = codegen_target
        run = self.run(progress=progress)
        net = self.network
        maps, occ = rate_maps(run.xy, run.rates, net.code.arena, self.bin_size)
        stats = field_statistics(maps, net.locations, self.bin_size)
        summary = run.summary()
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        nc, png = out / f"{self.name}.nc", out / f"{self.name}.png"
        xe, ye = net.code.arena.bins(self.bin_size)
        ds = xr.Dataset(
            {"x": ("t", run.xy[:, 0]), "y": ("t", run.xy[:, 1]), "x_decoded": ("t", run.decoded[:, 0]),
             "y_decoded": ("t", run.decoded[:, 1]), "error": ("t", run.error),
             "rate": (("t", "cell"), run.rates), "energy": ("t", run.energy),
             "energy_minus_input_work": ("t", run.dissipated),
             "rate_map": (("cell", "bin_x", "bin_y"), maps), "occupancy": (("bin_x", "bin_y"), occ),
             "stored_x": ("cell", net.locations[:, 0]), "stored_y": ("cell", net.locations[:, 1]),
             "n_fields": ("cell", stats["fields_per_cell"])},
            coords={"t": run.t, "cell": np.arange(net.n_memories), "bin_x": (xe[1:] + xe[:-1]) / 2,
                    "bin_y": (ye[1:] + ye[:-1]) / 2},
            attrs={**{k: v for k, v in run.attrs.items() if isinstance(v, (int, float, str))},
                   **{f"decoding_{k}": v for k, v in summary.items()},
                   **{k: v for k, v in stats.items() if isinstance(v, float)}, "model_file": str(self.path),
                   "units": "x, y, error: m; rate, rate_map: Hz; t: s"})
        ds.to_netcdf(nc)
        _plot_model_run(run, maps, net, png, self.name)
        print(f"model            {self.name} ({self.path})")
        print(f"network          {net.kind}: N_f={net.code.n} feature cells ({', '.join(net.code.groups)}), "
              f"{net.n_memories} place (memory) cells")
        print(f"run              {run.attrs['duration_s']:.0f} s at {np.mean(np.linalg.norm(np.diff(run.xy, axis=0), axis=1)) / (run.t[1] - run.t[0]) * 100:.1f} cm/s; "
              f"{int(self.silenced.sum())} feature afferents silenced")
        print(f"decoding error   median {summary['median_cm']:.1f} cm, mean {summary['mean_cm']:.1f} cm, "
              f"90th percentile {summary['p90_cm']:.1f} cm")
        print(f"place fields     {stats['mean_fields']:.2f} per cell; {100 * stats['fraction_one_field']:.0f}% one field; "
              f"{100 * stats['fraction_one_field_at_location']:.0f}% one field at the stored location; "
              f"diameter {stats['field_diameter_cm']:.1f} cm; peak {stats['peak_rate_Hz']:.1f} Hz")
        print(f"energy           E rises by up to {np.max(np.diff(run.energy)):.3g} (moving input); "
              f"E + input work rises by up to {np.max(np.diff(run.dissipated)):.3g}")
        print(f"wall time        {run.attrs['wall_time_s']:.1f} s simulation, {time.perf_counter() - start:.1f} s in all")
        print(f"wrote            {nc}, {png}")
        return 0


def _plot_model_run(run, maps, net, path, title):
    from ..plotting import _figure_files as plt  # backend-free figures: the user's backend stays

    size = net.code.arena.size_m * 100
    ext = [0, size[0], 0, size[1]]
    fig, axes = plt.subplots(2, 4, figsize=(14, 7))
    k = min(len(run.t), 2000)
    ax = axes[0, 0]
    ax.plot(run.xy[:k, 0] * 100, run.xy[:k, 1] * 100, lw=0.7, label="animal")
    ax.plot(run.decoded[:k, 0] * 100, run.decoded[:k, 1] * 100, ".", ms=2, label="decoded")
    ax.set(xlim=ext[:2], ylim=ext[2:], aspect="equal", title="trajectory and decoded position")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    ax.plot(run.t, run.error * 100, lw=0.5)
    ax.set(xlabel="t (s)", ylabel="error (cm)", title="decoding error")
    sel = np.linspace(0, net.n_memories - 1, 6).astype(int)
    for a, c in zip(list(axes[0, 1:]) + list(axes[1, 1:]), sel):
        a.imshow(maps[c].T, origin="lower", extent=ext, cmap="jet", vmin=0)
        a.plot(*(net.locations[c] * 100), "w+", ms=10, mew=2)
        a.set(xticks=[], yticks=[], title=f"cell {c}: peak {np.nanmax(maps[c]):.1f} Hz")
    fig.suptitle(f"{title}: {net.kind} place cells")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_place_model(path, cfg=None) -> PlaceModelFile:
    """Load a ``kind = "place_cells"`` model file (see the module docstring)."""
    from .place_cells import MEMORY_KINDS, PlaceCellNetwork
    from ..core.populations import check_positive_quantity, check_tau
    from ..checks import check_count
    from .space import Arena, SpatialCode, check_length, grid_modules, make_environments, random_walk

    path, cfg = read_model_tables(path, cfg, _SCHEMA, {}, " for a place_cells model")
    circ, grid, marks = cfg.get("circuit", {}), cfg.get("grid", {}), cfg.get("landmarks", {})
    feat, mem, traj, run, ar = (cfg.get(k, {}) for k in ("features", "memories", "trajectory", "run", "arena"))
    if circ.get("kind") != "place_cells":
        raise ValueError(f"{path}: [circuit] kind must be 'place_cells' here, got {circ.get('kind')!r}")
    memory = circ.get("memory", "dam")
    if memory not in MEMORY_KINDS:
        raise ValueError(f"{path}: [circuit] memory must be one of {MEMORY_KINDS}, got {memory!r}")

    # every value checked here, naming the file, table and key, before any cell or Brian2 object is made
    def key(table, name):
        return f"{path}: [{table}] {name}"

    def length(table, name, text):
        value = parse_length(text, key(table, name))
        check_length(value, key(table, name))
        return value

    def time_(section, table, name, default):
        return check_tau(parse_time(section.get(name, default), key(table, name)), key(table, name))

    width = length("arena", "width", ar.get("width", "100 cm"))
    arena = Arena(width, length("arena", "height", ar.get("height", ar.get("width", "100 cm"))))
    n_modules = check_count(grid.get("modules", 4), key("grid", "modules"))
    cells_per_module = check_count(grid.get("cells_per_module", 32), key("grid", "cells_per_module"))
    n_landmarks = check_count(marks.get("count", 4), key("landmarks", "count"))
    kw = {}
    if "smallest_spacing" in grid:
        kw["smallest"] = length("grid", "smallest_spacing", grid["smallest_spacing"])
    if "ratio" in grid:
        kw["ratio"] = grid["ratio"]
    code_kw = {}
    if "tuning_width" in marks:
        code_kw["tuning_width"] = length("landmarks", "tuning_width", marks["tuning_width"])
    spacing = parse_length(mem.get("lattice", "10 cm"), key("memories", "lattice"))
    arena.bins(spacing, key("memories", "lattice"))
    bin_size = parse_length(run.get("bin_size", "5 cm"), key("run", "bin_size"))
    arena.bins(bin_size, key("run", "bin_size"))
    tau_f, tau_h = time_(feat, "features", "tau", "20 ms"), time_(mem, "memories", "tau", "10 ms")
    dt = time_(run, "run", "dt", "1 ms")
    for table, tau in (("features", tau_f), ("memories", tau_h)):
        if dt >= tau:
            raise ValueError(f"{path}: [run] dt = {dt} must be smaller than [{table}] tau = {tau} "
                             "(every layer's time constant)")
    duration, traj_dt = time_(traj, "trajectory", "duration", "60 s"), time_(traj, "trajectory", "dt", "10 ms")
    speed_key = key("trajectory", "mean_speed")
    mean_speed = check_positive_quantity(_parse_speed(traj.get("mean_speed", "25 cm/s"), speed_key), meter / second,
                                         speed_key, "velocity", "'25 cm/s'")
    max_rate = parse_rate(circ.get("max_rate", "20 Hz"), key("circuit", "max_rate"))

    modules = grid_modules(n_modules, cells_per_module, seed=grid.get("seed", 0), **kw)
    env = make_environments(1, arena, n_modules=len(modules), n_landmarks=n_landmarks, seed=marks.get("seed", 0))[0]
    code = SpatialCode(arena, modules, env, gain=float(feat.get("gain", 2.0)), **code_kw)
    lattice = arena.grid_points(spacing, key("memories", "lattice"))
    net = PlaceCellNetwork(code, lattice * meter, kind=memory, beta_n=mem.get("beta_n", 10.0), tau_f=tau_f,
                           tau_h=tau_h, dt=dt, max_rate=max_rate, codegen_target=run.get("codegen_target", "cython"))
    trajectory = random_walk(arena, duration, dt=traj_dt, mean_speed=mean_speed, seed=traj.get("seed", 1))
    silenced = code.silence_mask(circ.get("silence", []), circ.get("silence_grid_fraction", 0.0))
    return PlaceModelFile(str(path), cfg, net, trajectory, silenced, bin_size)
