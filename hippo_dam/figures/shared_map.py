"""The shared-map figure: one CA3 population learning several rooms by a local rule, and how old maps fade.

``hippo-dam figures shared_map`` (or :func:`shared_map`) runs
:func:`hippo_dam.experiments.shared_map.shared_map_experiment` (under CI=true
its short version) and writes ``figures/shared_map.png`` and
``figures/shared_map.json`` (settings, every room's statistics, example rate
maps); ``--redraw`` draws the PNG again from that JSON without rerunning.
"""
from __future__ import annotations

from ..plotting import _ci, _fields_histogram, plot_shared_map
from ._common import _record_and_draw

__all__ = ["shared_map", "redraw", "LARGE_BOX"]

#: the large box of Park, Dvorak & Fenton (2011), one room, explored and tested long enough to cover it
LARGE_BOX = {"arena_width_m": 1.8, "arena_height_m": 1.4, "n_rooms": 1, "explore_s": 400.0, "test_s": 300.0,
             "remapping_tests": 0, "partial_cue_tests": 0}


def redraw(recorded, path):
    """Draw ``shared_map.png`` from a recorded ``shared_map.json`` (a dict)."""
    return plot_shared_map(recorded, path)


def shared_map(outdir="figures", settings=None):
    """Run the shared-map session and write ``shared_map.png`` and ``shared_map.json``."""
    from ..experiments.shared_map import SHARED_MAP_SETTINGS, SHARED_MAP_SETTINGS_SMALL, shared_map_experiment

    s = {**(SHARED_MAP_SETTINGS_SMALL if _ci() and settings is None else SHARED_MAP_SETTINGS), **(settings or {})}
    out = shared_map_experiment(s)
    # fields per cell in a large box (Park et al. 2011: 1.8 m x 1.4 m), explored by a RatInABox rat
    large = shared_map_experiment({**s, **LARGE_BOX, **({"explore_s": s["explore_s"], "test_s": s["test_s"]}
                                                         if _ci() and settings is None else {})})
    out["large_box"] = {key: large[key] for key in ("settings", "mean", "trajectory", "wall_time_s")}
    out["large_box"]["fields_per_cell_distribution"] = _fields_histogram(
        [r["learned"]["fields_per_cell_distribution"] for r in large["rooms"]]).tolist()
    out["large_box"]["example_maps"] = large["example_maps"]["learned"]
    return _record_and_draw(out, outdir, "shared_map", redraw)
