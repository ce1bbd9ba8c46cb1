"""The theta figure: a learned CA3 map as noisy LIF cells under theta, beside its rate version.

``hippo-dam figures place_theta`` (or :func:`place_theta`) runs
:func:`hippo_dam.experiments.place_theta.place_theta_experiment` (under
CI=true its short version) and writes ``figures/place_theta.png`` and
``figures/place_theta.json``; ``--redraw`` draws the PNG again from that JSON.
"""
from __future__ import annotations

from ..plotting import _ci, plot_place_theta
from ._common import _record_and_draw

__all__ = ["place_theta", "redraw"]


def redraw(recorded, path):
    """Draw ``place_theta.png`` from a recorded ``place_theta.json`` (a dict)."""
    return plot_place_theta(recorded, path)


def place_theta(outdir="figures", settings=None):
    """Learn one room's map, run it as rate and spiking cells under theta, write the figure and its record."""
    from ..experiments.place_theta import PLACE_THETA_SETTINGS, PLACE_THETA_SETTINGS_SMALL, place_theta_experiment

    s = {**(PLACE_THETA_SETTINGS_SMALL if _ci() and settings is None else PLACE_THETA_SETTINGS), **(settings or {})}
    return _record_and_draw(place_theta_experiment(s), outdir, "place_theta", redraw)
