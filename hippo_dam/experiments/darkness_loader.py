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

from .darkness import DARKNESS_SETTINGS, _check_settings, darkness_to_nwb
from .experiment_model import ExperimentKind, ExperimentModelFile

__all__ = ["DARKNESS_KIND", "DarknessModelFile", "load_darkness_model"]


def _experiment(settings, **kwargs):
    from .darkness import darkness_experiment

    return darkness_experiment(settings, **kwargs)


def _plot(out, path):
    from ..plotting import plot_darkness

    return plot_darkness(out, path)


def _nwb(out, folder, name):
    path = folder / f"{name}.nwb"
    darkness_to_nwb(out, path)
    return [path]


def _session(settings):
    from .darkness import darkness_session

    return darkness_session(settings)


def _summary(out):
    s = out["settings"]
    return [f"network          {int(s['n_modules'])} grid modules x {int(s['cells_per_side']) ** 2} cells "
            f"(path integration, noise {s['noise_m_per_sqrt_s']:g} m/s^0.5), 12 touch-boundary cells, "
            f"{out['n_memories']} CA3 memories ({s['lattice_cm']:g} cm lattice)",
            f"darkness         {s['duration_s']:g} s, {int(s['n_seeds'])} seeds ({out['trajectory']})",
            f"error (last {s['final_window_s']:g} s) with memory feedback {out['error_with_memory_cm']:.1f} cm, "
            f"feedback cut {out['error_without_memory_cm']:.1f} cm, feedforward readout "
            f"{out['feedforward_error_cm']:.1f} cm, path integrator alone {out['path_integrator_error_cm']:.1f} cm"]


DARKNESS_KIND = ExperimentKind("place_darkness", "darkness", DARKNESS_SETTINGS, _check_settings, _experiment, _plot,
                               _summary, extra=_nwb, run_keys={"seed": int}, session=_session)
#: a loaded darkness model file (the name earlier releases used)
DarknessModelFile = ExperimentModelFile


def load_darkness_model(path, cfg=None) -> ExperimentModelFile:
    """Load a ``kind = "place_darkness"`` model file (module docstring); every value checked before any run."""
    return DARKNESS_KIND.load(path, cfg)
