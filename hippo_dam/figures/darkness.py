"""The darkness figure: position error over five minutes of darkness, with and without memory feedback.

``hippo-dam figures darkness`` (or :func:`darkness`) runs
:func:`hippo_dam.experiments.darkness.darkness_experiment` (under CI=true its
short version) and writes ``figures/darkness.png`` and ``figures/darkness.json``
(settings, every error trace, the summary numbers); ``--redraw`` draws the
PNG again from that JSON without rerunning.
"""
from __future__ import annotations

from ..plotting import _ci, plot_darkness
from ._common import _record_and_draw

__all__ = ["darkness", "redraw"]


def redraw(recorded, path):
    """Draw ``darkness.png`` from a recorded ``darkness.json`` (a dict)."""
    return plot_darkness(recorded, path)


def darkness(outdir="figures", settings=None):
    """Run the darkness experiment and write ``darkness.png`` and ``darkness.json``."""
    from ..experiments.darkness import DARKNESS_SETTINGS, DARKNESS_SETTINGS_SMALL, darkness_experiment

    s = {**(DARKNESS_SETTINGS_SMALL if _ci() and settings is None else DARKNESS_SETTINGS), **(settings or {})}
    out = darkness_experiment(s)
    return _record_and_draw(out, outdir, "darkness", redraw)
