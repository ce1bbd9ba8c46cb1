"""The theta figure: a learned CA3 map as noisy LIF cells under theta, beside its rate version.

``hippo-dam figures place_theta`` (or :func:`place_theta`) runs
:func:`hippo_dam.experiments.place_theta.place_theta_experiment` (under
CI=true its short version) and writes ``figures/place_theta.png`` and
``figures/place_theta.json``; ``--redraw`` draws the PNG again from that JSON.
"""
from __future__ import annotations

from ..plotting import _ci, plot_place_theta
from ._common import _record_and_draw

__all__ = ["place_theta", "redraw", "SEEDS"]

#: the recorded run is seed 0; every seed's summary numbers are recorded beside it (under CI: seed 0 only)
SEEDS = (0, 1, 2)


def redraw(recorded, path):
    """Draw ``place_theta.png`` from a recorded ``place_theta.json`` (a dict)."""
    return plot_place_theta(recorded, path)


def place_theta(outdir="figures", settings=None):
    """Learn one room's map, run it as rate and spiking cells under theta, write the figure and its record.

    The figure shows seed 0 (the settings' seed); the record also holds :func:`seed_summary` of seeds
    :data:`SEEDS` (each its own learned map, paths and noise), and the decoding panel shows them.
    """
    from ..experiments.place_theta import PLACE_THETA_SETTINGS, PLACE_THETA_SETTINGS_SMALL, place_theta_experiment

    from ..experiments.place_theta import seed_summary

    small = _ci() and settings is None
    s = {**(PLACE_THETA_SETTINGS_SMALL if small else PLACE_THETA_SETTINGS), **(settings or {})}
    seeds = (int(s["seed"]),) + (() if small else tuple(k for k in SEEDS if k != int(s["seed"])))
    out = place_theta_experiment(s)
    out["seeds"] = [seed_summary(out)] + [seed_summary(place_theta_experiment({**s, "seed": k})) for k in seeds[1:]]
    return _record_and_draw(out, outdir, "place_theta", redraw)
