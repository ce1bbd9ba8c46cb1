"""The figures in figures/, one module per figure, each with its inputs recorded beside it.

``hippo-dam figures`` (or :func:`make_figures`) writes each PNG and a JSON
file of the same name holding the parameters, seeds, results and package
versions that made it. Figures that summarise a long experiment (``kanji``,
``kanji_hierarchy``) read that experiment's recorded results from
``benchmarks/`` rather than recomputing them; a figure whose module has a
``redraw(recorded, path)`` (``capacity``, ``reduction``, ``darkness``, ``shared_map``, ``place_theta``) is drawn again from its own recorded
JSON by ``hippo-dam figures NAME --redraw`` (:func:`redraw_figures`).
"""
from __future__ import annotations

import importlib
from pathlib import Path

from ..outputs import output_dir
from ..plotting import _ci

#: figure name -> ``"module:function"`` in this package (imported when the figure is made), or a callable
FIGURES = {name: f"{name}:{name}" for name in (
    "recall_models_abc", "duality", "reduction", "capacity", "ca3", "ec_ca1", "spiking", "kanji", "place_cells",
    "lif_spiking", "kanji_hierarchy", "darkness", "shared_map", "place_theta")}


def figure_function(name):
    """The function that makes figure ``name`` (``function(outdir, ...) -> path of the PNG``)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {sorted(FIGURES)}")
    entry = FIGURES[name]
    return entry if callable(entry) else getattr(_module(name), entry.split(":")[1])


def _module(name):
    """The module of a figure registered as ``"module:function"``."""
    return importlib.import_module(f"{__name__}.{FIGURES[name].split(':')[0]}")


def _check_names(names):
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; known: {sorted(FIGURES)}")


def _redrawable(name):
    return isinstance(FIGURES[name], str) and hasattr(_module(name), "redraw")


def make_figures(outdir="figures", names=None):
    """Regenerate the named figures (default: all) into ``outdir``; returns their paths.

    Under ``CI=true`` the figures are made with reduced settings (fewer cues,
    shorter runs) and go to ``outdir/ci/``, so that a CI run never overwrites
    the committed full-size figures and their recorded results.
    """
    names = list(FIGURES) if not names else list(names)
    _check_names(names)
    outdir = output_dir(Path(outdir) / "ci" if _ci() else Path(outdir), "figure folder (--out)")
    return [figure_function(name)(outdir) for name in names]


def redraw_figures(outdir="figures", names=None):
    """Draw the named figures again from their recorded results (``outdir/NAME.json``) without rerunning them.

    Only figures whose module has ``redraw(recorded, path)`` can be redrawn
    (default: all of those); the PNG is written beside its JSON (under
    ``CI=true`` into ``outdir/ci/``). Returns the paths of the PNGs.
    """
    import json

    names = [name for name in FIGURES if _redrawable(name)] if not names else list(names)
    for name in names:
        if name not in FIGURES:
            raise ValueError(f"unknown figure {name!r}; known: {sorted(FIGURES)}")
        if not _redrawable(name):
            raise ValueError(f"figure {name!r} cannot be redrawn from its recorded results (it records summaries, "
                             f"not everything it draws): regenerate it with `hippo-dam figures {name}`; "
                             f"redrawable: {[n for n in FIGURES if _redrawable(n)]}")
    outdir = Path(outdir)
    target = output_dir(outdir / "ci" if _ci() else outdir, "figure folder (--out)")
    recorded = {}
    for name in names:  # every recorded file read and checked before any figure is drawn
        path = outdir / f"{name}.json"
        if not path.is_file():
            raise FileNotFoundError(f"no recorded results for figure {name!r} at {path}: "
                                    f"make it first with `hippo-dam figures {name}`")
        try:
            recorded[name] = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: the recorded results of figure {name!r} are not valid JSON ({err}); "
                             f"make them again with `hippo-dam figures {name}`") from None
        if not isinstance(recorded[name], dict) or not recorded[name]:
            raise ValueError(f"{path}: the recorded results of figure {name!r} are empty or not a table "
                             f"({json.dumps(recorded[name])[:60]}); make them again with `hippo-dam figures {name}`")
    paths = []
    for name in names:
        try:
            paths.append(_module(name).redraw(recorded[name], target / f"{name}.png"))
        except (KeyError, IndexError, TypeError) as err:
            raise ValueError(f"{outdir / (name + '.json')}: the recorded results of figure {name!r} lack what the "
                             f"figure draws ({type(err).__name__}: {err}); make them again with "
                             f"`hippo-dam figures {name}`") from None
    return paths

