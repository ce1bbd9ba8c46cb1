"""Darkness model files: ``[model] kind = "place_darkness"`` (see ``models/place_darkness.toml``).

Tables::

    [model]     kind = "place_darkness", name, description
    [darkness]  any key of hippo_dam.experiments.darkness.DARKNESS_SETTINGS (numbers, units in the names)
    [run]       codegen_target ('cython' or 'numpy'), seed (Brian2's seed for the integration noise)

``hippo-dam run models/place_darkness.toml`` runs the experiment and writes
``<name>.json`` (with ``error_with_memory_cm``, ``error_without_memory_cm``,
``feedforward_error_cm``), ``<name>.png`` and ``<name>.nwb`` (seed 0's session: the rat, the
decoded positions with and without feedback, the grid modules' estimates). Unknown tables or keys are
errors naming them.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..modelfile import read_model_tables
from .darkness import DARKNESS_SETTINGS, _check_settings, darkness_to_nwb

__all__ = ["DarknessModelFile", "load_darkness_model"]

_SCHEMA = {"model": {"name": str, "description": str, "kind": str},
           "darkness": {key: float for key in DARKNESS_SETTINGS},
           "run": {"codegen_target": str, "seed": int}}


@dataclass
class DarknessModelFile:
    """A loaded darkness model: the experiment's settings and how to run it."""

    path: str
    config: dict
    settings: dict
    codegen_target: str
    seed: int

    @property
    def name(self):
        return self.config.get("model", {}).get("name", Path(self.path).stem)

    def run(self, progress=None):
        """Run the experiment; returns its measured numbers (a dict)."""
        from .darkness import darkness_experiment

        out = darkness_experiment(self.settings, progress=progress, codegen_target=self.codegen_target,
                                  seed=self.seed)
        out.update(model=self.name, model_file=str(self.path))
        return out

    def cli_run(self, outdir, codegen_target=None, progress=None, start=None):
        """``hippo-dam run``: the experiment to JSON + PNG; prints the measured numbers."""
        from ..outputs import package_versions
        from ..plotting import plot_darkness

        start = time.perf_counter() if start is None else start  # when the command began
        if codegen_target:
            self.codegen_target = codegen_target
        out = self.run(progress=progress)
        out["versions"] = package_versions()
        folder = Path(outdir)
        folder.mkdir(parents=True, exist_ok=True)
        js, png, nwb = (folder / f"{self.name}.{ext}" for ext in ("json", "png", "nwb"))
        js.write_text(json.dumps(out, indent=1) + "\n")
        plot_darkness(out, png)
        darkness_to_nwb(out, nwb)
        s = out["settings"]
        print(f"model            {self.name} ({self.path})")
        print(f"network          {int(s['n_modules'])} grid modules x {int(s['cells_per_side']) ** 2} cells "
              f"(path integration, noise {s['noise_m_per_sqrt_s']:g} m/s^0.5), 12 touch-boundary cells, "
              f"{out['n_memories']} CA3 memories ({s['lattice_cm']:g} cm lattice)")
        print(f"darkness         {s['duration_s']:g} s, {int(s['n_seeds'])} seeds ({out['trajectory']})")
        print(f"error (last {s['final_window_s']:g} s) with memory feedback {out['error_with_memory_cm']:.1f} cm, "
              f"feedback cut {out['error_without_memory_cm']:.1f} cm, feedforward readout "
              f"{out['feedforward_error_cm']:.1f} cm, path integrator alone {out['path_integrator_error_cm']:.1f} cm")
        print(f"wall time        {out['wall_time_s']:.1f} s experiment, {time.perf_counter() - start:.1f} s in all")
        print(f"wrote            {js}, {png}, {nwb}")
        return 0


def load_darkness_model(path, cfg=None) -> DarknessModelFile:
    """Load a ``kind = "place_darkness"`` model file (module docstring); every value checked before any run."""
    path, cfg = read_model_tables(path, cfg, _SCHEMA, {}, " for a place_darkness model")
    settings = dict(cfg.get("darkness", {}))
    try:
        _check_settings(settings)
    except ValueError as err:
        raise ValueError(f"{path}: [darkness] {err}") from None
    run = cfg.get("run", {})
    target = run.get("codegen_target", "cython")
    if target not in ("cython", "numpy"):
        raise ValueError(f"{path}: [run] codegen_target must be 'cython' or 'numpy', got {target!r}")
    return DarknessModelFile(str(path), cfg, settings, target, int(run.get("seed", 0)))
