"""Shared-map model files: ``[model] kind = "place_shared_map"`` (see ``models/place_shared_map.toml``).

Tables::

    [model]       kind = "place_shared_map", name, description
    [shared_map]  any key of hippo_dam.experiments.shared_map.SHARED_MAP_SETTINGS (numbers, units in the names)
    [run]         codegen_target ('cython' or 'numpy')

``hippo-dam run models/place_shared_map.toml`` runs one CA3 population through
the rooms and writes ``<name>.json`` (every room's statistics, the overlaps,
the forgetting curve, ``rooms_until_recall_fails``) and ``<name>.png``.
Unknown tables or keys are errors naming them.
"""
from __future__ import annotations

from .experiment_model import ExperimentKind, ExperimentModelFile
from .shared_map import SHARED_MAP_SETTINGS, _check_settings

__all__ = ["SHARED_MAP_KIND", "load_shared_map_model"]


def _experiment(settings, **kwargs):
    from .shared_map import shared_map_experiment

    return shared_map_experiment(settings, **kwargs)


def _plot(out, path):
    from ..plotting import plot_shared_map

    return plot_shared_map(out, path)


def _session(settings):
    from .shared_map import shared_map_session

    return shared_map_session(settings)


def _summary(out):
    s, m = out["settings"], out["mean"]["learned"]
    return [f"network          {out['n_features']} EC cells -> {out['n_ca3']} CA3 cells (instar rule, eta "
            f"{s['learning_rate_hz']:g} Hz; basket-cell inhibition w_I {s['inhibition']:g})",
            f"session          {int(s['n_rooms'])} rooms x {s['explore_s']:g} s exploration ({out['trajectory']})",
            f"learned maps     active {m['fraction_active']:.2f}, fields/active cell "
            f"{m['fields_per_active_cell']:.2f}, peak {m['peak_rate_Hz_median']:.1f} Hz (median), overlap of "
            f"rooms {out['overlap_mean']:.3f} (chance {out['overlap_chance_mean']:.3f})",
            "old rooms        " + (f"recall fails after {out['rooms_until_recall_fails']} more rooms"
                                      if out["rooms_until_recall_fails"] is not None else
                                      f"no room's recall failed within {int(s['n_rooms'])} rooms")
            + f" (recalled: read as the right room in >= {out['recall_criterion']:g} of the samples)"]


SHARED_MAP_KIND = ExperimentKind("place_shared_map", "shared_map", SHARED_MAP_SETTINGS, _check_settings, _experiment,
                                 _plot, _summary, session=_session)


def load_shared_map_model(path, cfg=None) -> ExperimentModelFile:
    """Load a ``kind = "place_shared_map"`` model file (module docstring); every value checked before any run."""
    return SHARED_MAP_KIND.load(path, cfg)
