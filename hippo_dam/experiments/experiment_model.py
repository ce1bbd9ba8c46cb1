"""Model files that run one experiment: ``[model]``, a table of the experiment's settings, ``[run]``.

An :class:`ExperimentKind` says which table holds the settings, how they are
checked, which function runs them and what the command line writes and
prints; ``kind.load(path)`` reads and checks a file before anything runs
(unknown tables or keys are errors naming them), and the loaded
:class:`ExperimentModelFile` runs the same way for every kind (``run``,
``cli_run``). The place-cell experiments use it: ``place_darkness``
(:mod:`~hippo_dam.experiments.darkness_loader`) and ``place_shared_map``
(:mod:`~hippo_dam.experiments.shared_map_loader`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..modelfile import read_model_tables

__all__ = ["ExperimentKind", "ExperimentModelFile", "session_network"]


def session_network(session, codegen_target="cython"):
    """The network of an experiment session, built by the one runner and not run.

    ``session`` is what an experiment's ``*_session`` function returns: its
    components (``make``), ``dt`` and ``batch``. The network is a
    :class:`~hippo_dam.networks.graph_memory.GraphMemory` of those components,
    driven by moving input and noise, so it computes no energy.
    """
    from ..networks.graph_memory import GraphMemory

    return GraphMemory.from_components(session["make"], energy=None, dt=session["dt"], record_every=None,
                                       codegen_target=codegen_target, batch=session["batch"])


@dataclass(frozen=True)
class ExperimentKind:
    """One kind of experiment model file.

    Parameters
    ----------
    kind : str
        The ``[model] kind`` it loads.
    table : str
        The table of settings (every key of ``defaults`` allowed, numbers).
    defaults : dict
        The experiment's settings and their defaults.
    check : callable
        ``check(settings)`` raises ``ValueError`` naming a bad setting.
    experiment : callable
        ``experiment(settings, progress=, codegen_target=, **run)`` -> dict of measured numbers.
    plot : callable
        ``plot(out, path)`` draws the PNG.
    summary : callable
        ``summary(out) -> list of str``, the lines the command line prints.
    extra : callable, optional
        ``extra(out, folder, name) -> list of paths`` for further files (an NWB session).
    session : callable, optional
        ``session(settings) -> dict`` with ``make``, ``dt`` and ``batch``: the experiment's network
        as components, built without running anything (:meth:`ExperimentModelFile.networks`).
    run_keys : dict
        Keys of ``[run]`` beside ``codegen_target`` passed to the experiment (name -> type).
    """

    kind: str
    table: str
    defaults: dict
    check: Callable
    experiment: Callable
    plot: Callable
    summary: Callable
    extra: Callable | None = None
    run_keys: dict = field(default_factory=dict)
    session: Callable | None = None

    def load(self, path, cfg=None) -> "ExperimentModelFile":
        """Load a model file of this kind; every value checked before any run."""
        schema = {"model": {"name": str, "description": str, "kind": str},
                  self.table: {key: float for key in self.defaults},
                  "run": {"codegen_target": str, **self.run_keys}}
        path, cfg = read_model_tables(path, cfg, schema, {}, f" for a {self.kind} model")
        settings = dict(cfg.get(self.table, {}))
        try:
            self.check(settings)
        except ValueError as err:
            raise ValueError(f"{path}: [{self.table}] {err}") from None
        run = dict(cfg.get("run", {}))
        target = run.pop("codegen_target", "cython")
        if target not in ("cython", "numpy"):
            raise ValueError(f"{path}: [run] codegen_target must be 'cython' or 'numpy', got {target!r}")
        return ExperimentModelFile(str(path), cfg, settings, target, run, self)


@dataclass
class ExperimentModelFile:
    """A loaded experiment model file: the settings and how to run them."""

    path: str
    config: dict
    settings: dict
    codegen_target: str
    run_args: dict
    kind: ExperimentKind

    @property
    def name(self):
        return self.config.get("model", {}).get("name", Path(self.path).stem)

    def run(self, progress=None):
        """Run the experiment; returns its measured numbers (a dict)."""
        out = self.kind.experiment(self.settings, progress=progress, codegen_target=self.codegen_target,
                                   **self.run_args)
        out.update(model=self.name, model_file=str(self.path))
        return out

    def networks(self):
        """The networks the experiment runs, built by the one runner and not run (empty if its kind has no
        ``session``)."""
        if self.kind.session is None:
            return []
        return [session_network(self.kind.session(self.settings), self.codegen_target)]

    def cli_run(self, outdir, codegen_target=None, progress=None, start=None):
        """``hippo-dam run``: the experiment to ``<name>.json`` and ``<name>.png`` (and its extra files)."""
        from ..outputs import package_versions

        start = time.perf_counter() if start is None else start  # when the command began
        if codegen_target:
            self.codegen_target = codegen_target
        out = self.run(progress=progress)
        out["versions"] = package_versions()
        folder = Path(outdir)
        folder.mkdir(parents=True, exist_ok=True)
        js, png = folder / f"{self.name}.json", folder / f"{self.name}.png"
        session = out.pop("session", None)  # arrays for the extra files (NWB), not for the JSON record
        js.write_text(json.dumps(out, indent=1) + "\n")  # first: a failing figure or NWB loses no result
        self.kind.plot(out, png)
        extra = self.kind.extra({**out, "session": session} if session is not None else out, folder, self.name) \
            if self.kind.extra else []
        written = [js, png] + list(extra)
        print(f"model            {self.name} ({self.path})")
        for line in self.kind.summary(out):
            print(line)
        print(f"wall time        {out['wall_time_s']:.1f} s experiment, {time.perf_counter() - start:.1f} s in all")
        print("wrote            " + ", ".join(str(p) for p in written))
        return 0
