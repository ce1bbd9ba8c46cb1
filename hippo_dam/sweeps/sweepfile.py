"""Sweep files (TOML): ``[sweep]``, ``[grid]``, ``[fixed]``, ``[units]``, ``[cluster]`` -> a runnable
:class:`SweepFile`; every table and key checked, errors naming the file, table and key.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import numbers
from dataclasses import dataclass
from pathlib import Path

from .spec import _check_grid, _check_seeds, _import_function
from ..modelfile import is_quantity_text, parse_quantity, quantity_unit


# -- sweep files (TOML) ----------------------------------------------------------------------
_SWEEP_KEYS = {"name": str, "description": str, "function": str, "seeds": list, "store": str, "output": str,
               "scheduler": str, "n_workers": int, "progress": bool}
_TABLES = ("sweep", "grid", "fixed", "units", "cluster")


@dataclass
class SweepFile:
    """A loaded sweep file: function, grid, seeds, fixed arguments and where to run and write."""

    path: str
    name: str
    function: object
    grid: dict
    seeds: list
    fixed: dict
    units: dict
    store: str | None
    output: str | None
    scheduler: str | None
    n_workers: int | None
    progress: bool
    description: str = ""
    cluster: object = None  # ClusterSpec of the [cluster] table, or None
    quantities: dict = dataclasses.field(default_factory=dict)  # [grid] names written as "60 ms" -> unit

    def run(self, scheduler=None, n_workers=None, progress=None, on_cluster=False, jobs=None):
        """Run the sweep (arguments override the file); writes ``output`` if set; returns the Dataset.

        ``on_cluster=True`` runs it on the jobqueue cluster of the ``[cluster]``
        table (defaults of :class:`~hippo_dam.sweeps.cluster.ClusterSpec` where the
        file has none), ``on_cluster="slurm"`` also requires that its kind be
        SLURM; ``jobs`` overrides the table's job count.
        """
        cluster = None
        if on_cluster:
            from .cluster import ClusterSpec

            cluster = self.cluster if self.cluster is not None else ClusterSpec()
            if isinstance(on_cluster, str) and cluster.kind != on_cluster:
                raise ValueError(f"{self.path}: [cluster] kind is {cluster.kind!r}, not {on_cluster!r}")
            if jobs is not None:
                cluster = dataclasses.replace(cluster, jobs=jobs)
            if scheduler is not None or n_workers is not None:
                raise ValueError("a sweep on the [cluster] jobs takes no scheduler or n_workers")
        elif jobs is not None:
            raise ValueError("jobs applies only to a sweep on the [cluster] jobs")
        else:
            scheduler = scheduler if scheduler is not None else self.scheduler
            n_workers = n_workers if n_workers is not None else (None if scheduler else self.n_workers)
        from ..outputs import output_dir, output_file

        if self.output:  # before any point runs: a sweep that cannot write its result must not start
            output_file(self.output, f"{self.path}: [sweep] output", create_folder=True)
        if self.store:
            output_dir(self.store, f"{self.path}: [sweep] store")
        function = functools.partial(self.function, **self.fixed) if self.fixed else self.function
        from .runner import run_sweep

        ds = run_sweep(function, self.grid, self.seeds, store=self.store, scheduler=scheduler, n_workers=n_workers,
                       cluster=cluster, quantities=self.quantities,
                       units=self.units, progress=self.progress if progress is None else progress,
                       attrs={"sweep": self.name, "sweep_file": self.path, "description": self.description,
                              "fixed": json.dumps(self.fixed, default=str)})
        if self.output:
            ds.to_netcdf(self.output)
        return ds


def load_sweep(path) -> SweepFile:
    """Load a sweep file (TOML).

    Tables: ``[sweep]`` (``function = "module:name"`` required; ``seeds``,
    ``store``, ``output``, ``scheduler``, ``n_workers``, ``progress``,
    ``name``, ``description``), ``[grid]`` (name = list of values, required),
    ``[fixed]`` (constant keyword arguments of the function), ``[units]`` and
    ``[cluster]`` (the batch jobs of ``hippo-dam sweep FILE --slurm``: the keys
    of :class:`~hippo_dam.sweeps.cluster.ClusterSpec`, ``partition`` as a synonym
    of ``queue``). Paths are relative to the current directory. Unknown tables or keys are
    errors naming them.
    """
    from ..modelfile import read_toml

    path = Path(path)
    cfg = read_toml(path)
    unknown = set(cfg) - set(_TABLES)
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {sorted(unknown)}; allowed: {list(_TABLES)}")
    for table in _TABLES:
        if not isinstance(cfg.get(table, {}), dict):
            raise ValueError(f"{path}: [{table}] must be a table")
    sweep = cfg.get("sweep", {})
    bad = set(sweep) - set(_SWEEP_KEYS)
    if bad:
        raise ValueError(f"{path}: unknown key(s) {sorted(bad)} in [sweep]; allowed: {sorted(_SWEEP_KEYS)}")
    for key, kind in _SWEEP_KEYS.items():
        if key in sweep and (not isinstance(sweep[key], kind) or (kind is int and isinstance(sweep[key], bool))):
            raise ValueError(f"{path}: [sweep] {key} = {sweep[key]!r} has the wrong type (expected {kind.__name__})")
    if "function" not in sweep:
        raise ValueError(f"{path}: [sweep] needs the key 'function' (e.g. 'hippo_dam:recall_point')")
    if not cfg.get("grid"):
        raise ValueError(f"{path}: [grid] is missing or empty")
    function = _import_function(sweep["function"])
    try:
        grid = _check_grid(cfg["grid"])
        seeds = _check_seeds(sweep.get("seeds", [0]))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    fixed = cfg.get("fixed", {})
    clash = set(fixed) & (set(grid) | {"seed"})
    if clash:
        raise ValueError(f"{path}: [fixed] key(s) {sorted(clash)} are also swept (or 'seed')")
    grid, quantities = _grid_quantities(grid, path)
    fixed = {k: parse_quantity(v, f"{path}: [fixed] {k}") if is_quantity_text(v) else v for k, v in fixed.items()}
    try:
        sig = inspect.signature(function)
        sig.bind(seed=0, **{k: v[0] for k, v in grid.items()}, **fixed)
    except TypeError as err:
        raise ValueError(f"{path}: {sweep['function']} does not take the [grid]/[fixed] keys: {err}") from None
    _check_value_kinds(sig, {**{k: ("grid", [x * parse_quantity(f"1 {quantities[k]}") for x in v]
                                    if k in quantities else v) for k, v in grid.items()},
                             **{k: ("fixed", v) for k, v in fixed.items()}}, path, sweep["function"])
    units = cfg.get("units", {})
    for key, value in units.items():
        if key not in grid and key != "seed" and not isinstance(value, str):
            raise ValueError(f"{path}: [units] {key} must be a string")
        if not isinstance(value, str):
            raise ValueError(f"{path}: [units] {key} = {value!r} must be a string")
    cluster = None
    if "cluster" in cfg:
        from .cluster import ClusterSpec

        cluster = ClusterSpec.from_dict(cfg["cluster"], where=f"{path}: [cluster]")
    for name, unit in quantities.items():
        if units.get(name, unit) != unit:
            raise ValueError(f"{path}: [units] {name} = {units[name]!r}, but its [grid] values are in {unit!r}")
    return SweepFile(str(path), sweep.get("name", path.stem), function, grid, seeds, fixed, units,
                     sweep.get("store"), sweep.get("output"), sweep.get("scheduler"), sweep.get("n_workers"),
                     sweep.get("progress", True), sweep.get("description", ""), cluster, quantities)


def _grid_quantities(grid, path):
    """[grid] values written as ``"60 ms"``: numbers in the first value's unit, and name -> unit."""
    from brian2.units.fundamentalunits import have_same_dimensions

    out, quantities = dict(grid), {}
    for name, values in grid.items():
        if not any(is_quantity_text(v) for v in values):
            continue
        parsed = [parse_quantity(v, f"{path}: [grid] {name}") for v in values]
        unit = quantity_unit(values[0])
        base = parse_quantity(f"1 {unit}")
        if not all(have_same_dimensions(q, base) for q in parsed):
            raise ValueError(f"{path}: [grid] {name} mixes units of different kinds: {values}")
        out[name] = [float(q / base) for q in parsed]
        if len(set(out[name])) != len(values):
            raise ValueError(f"{path}: [grid] {name} has repeated values: {values}")
        quantities[name] = unit
    return out, quantities


def _check_value_kinds(sig, values, path, function):
    """A value of the wrong kind for the function's parameter (judged by its default) is an error.

    A boolean is not a number, a number is not a boolean, and a quantity
    (``"60 ms"``) goes only where the default is not a plain number.
    """
    for name, (table, given) in values.items():
        par = sig.parameters.get(name)
        default = par.default if par is not None else inspect.Parameter.empty
        for value in given if table == "grid" else [given]:  # every value of a grid, not only its first
            _check_value_kind(name, table, value, default, path, function)


def _check_value_kind(name, table, value, default, path, function):
    from brian2.units.fundamentalunits import Quantity

    if quantity_unit(value) and not is_quantity_text(value):
        parse_quantity(value, f"{path}: [{table}] {name}")  # a number with an unknown unit: the error
    if default is inspect.Parameter.empty or default is None:
        return
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ValueError(f"{path}: [{table}] {name} = {value!r}: {function} takes true or false here")
    if isinstance(default, numbers.Number) and not isinstance(default, (bool, Quantity)):
        if isinstance(value, bool):
            raise ValueError(f"{path}: [{table}] {name} = {str(value).lower()}: a boolean is not a number "
                             f"({function} takes a number here, default {default!r})")
        if isinstance(value, Quantity):
            raise ValueError(f"{path}: [{table}] {name} = {value!r}: {function} takes a plain number here "
                             f"(default {default!r}), not a quantity with units")
