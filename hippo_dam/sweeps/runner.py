"""Running a sweep: :func:`run_sweep` (a grid x seeds on Dask, resumable, to xarray) and :func:`sweep_map`.

The description of the engine (where points run, the store, resuming,
failures) is :mod:`hippo_dam.sweeps.engine`'s docstring; this module holds
the two entry points, so that the sweep-file loader can call them without
importing the engine that re-exports it.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import json
import tempfile
import time
import warnings
from pathlib import Path

from .dataset import _assemble, _versions
from .executor import _check_scheduler, _compute
from .spec import (_check_attrs, _check_grid, _check_quantities, _check_seeds, _check_signature, _check_units,
                   _function_name, _point_key)
from .store import _function_record, _load_records, _open_store

__all__ = ["run_sweep", "sweep_map"]


def run_sweep(function, grid, seeds=(0,), store=None, scheduler=None, n_workers=None, units=None, attrs=None,
              progress=True, cluster=None, quantities=None):
    """Run ``function(seed=s, **params)`` on every point of ``grid x seeds`` with Dask.

    Parameters
    ----------
    function : callable
        Module-level, importable function (or ``functools.partial`` of one)
        returning a dict of scalars (float, int, bool) and optionally small
        numeric arrays of a fixed shape.
    grid : dict
        Parameter name -> list of values (numbers or strings); the sweep is
        the Cartesian product of the lists.
    seeds : sequence of int
        Seeds passed as ``seed=``; one more dimension of the result.
    store : path, optional
        Directory holding one JSON file per finished point and a manifest;
        rerunning with the same store resumes (finished points are skipped).
        Default: a temporary directory, deleted at the end.
    scheduler : None, str, cluster or distributed.Client
        None starts a ``LocalCluster`` (processes, 1 thread each); a string is
        a scheduler address; a cluster object or a Client is used as given.
    n_workers : int, optional
        Workers of the default LocalCluster (default: number of cores).
    units : dict, optional
        Name -> unit string for parameters and returned variables ("1" when
        not given), stored as each coordinate's/variable's ``units``.
    attrs : dict, optional
        Extra attributes of the dataset.
    progress : bool
        tqdm progress bar over points.
    cluster : ClusterSpec or dict, optional
        Jobs of a dask-jobqueue cluster (SLURM, PBS, SGE, LSF) started for
        this sweep, scaled to ``jobs`` jobs and closed when it ends, fails or
        is interrupted (see :class:`~hippo_dam.sweeps.cluster.ClusterSpec`);
        excludes ``scheduler`` and ``n_workers``. The store gets
        ``cluster/jobs.json`` and the logs of failed jobs
        (``cluster/failed_jobs/``).
    quantities : dict, optional
        Grid parameter -> unit text (e.g. ``{"duration": "ms"}``): the grid
        holds plain numbers in that unit (the coordinate, with that ``units``
        attribute) and the function receives Brian2 quantities
        (``60.0`` -> ``60*ms``). Sweep files fill it from values such as
        ``"60 ms"``.

    Returns
    -------
    xarray.Dataset
        Dims ``grid names + ('seed',)`` (+ ``NAME_dimK`` for array outputs);
        one data variable per returned key, plus ``error`` (text of a failed
        point's exception, ``""`` otherwise) and ``point_wall_time_s``;
        attrs: function, grid, seeds, units, package versions, date, counts.
        Save it with ``ds.to_netcdf(path)``.
    """
    name = _function_name(function)
    grid = _check_grid(grid)
    seeds = _check_seeds(seeds)
    _check_signature(function, grid, name)
    quantities = _check_quantities(quantities, grid)
    units = _check_units({**quantities, **(units or {})}, grid)
    user_attrs = _check_attrs(attrs)
    if cluster is not None:
        from .cluster import ClusterSpec

        cluster = ClusterSpec.from_dict(cluster, where="cluster")
    _check_scheduler(scheduler, n_workers, cluster)
    points = {}
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        for seed in seeds:
            points[_point_key(params, seed)] = (params, seed)

    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        temporary = store is None
        if temporary:
            store = stack.enter_context(tempfile.TemporaryDirectory(prefix="hippo_dam_sweep_"))
        store = _open_store(store, _function_record(function, name), grid, seeds)
        records = _load_records(store, points)
        pending = [k for k in points if records.get(k, {}).get("status") != "ok"]
        n_resumed = len(points) - len(pending)
        if pending:
            _compute(function, points, pending, store, records, scheduler, n_workers, progress, n_resumed, cluster,
                     quantities)
        wall = time.perf_counter() - start
        failed = [rec for rec in records.values() if rec.get("status") != "ok"]
        ds_attrs = {
            "function": name,
            **{f"function_{k}": json.dumps(v) for k, v in _function_record(function, name).items() if k != "function"},
            "grid": json.dumps(grid),
            "seeds": json.dumps(seeds),
            "units": json.dumps(units),
            "n_points": len(points),
            "n_failed": len(failed),
            "n_resumed": n_resumed,
            "wall_time_s": wall,
            "store": "" if temporary else str(Path(store).resolve()),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **{f"version_{k}": v for k, v in _versions().items()},
            **user_attrs,
        }
        ds = _assemble(grid, seeds, points, records, units, ds_attrs)
    if failed:
        warnings.warn(f"{len(failed)} of {len(points)} sweep points failed; first: params {failed[0]['params']}, "
                      f"seed {failed[0]['seed']}: {failed[0]['error']} (see the 'error' variable)",
                      RuntimeWarning, stacklevel=2)
    return ds


def sweep_map(scheduler=None, scan=None, store=None, progress=False, n_workers=None):
    """A ``map(function, calls) -> list`` that runs the calls as :func:`run_sweep` sweeps.

    For callers that take a ``map`` (:func:`hippo_dam.theory.capacity.capacity_search`):
    the calls (dicts of keyword arguments, each with a ``seed``) are grouped by
    every argument but ``seed`` and ``scan``; each group is one sweep whose grid
    is that group's fixed values and its ``scan`` values, over its seeds (a
    call is then one point of the grid). Results come back as dicts of Python
    scalars, one per call, in order; a failed point raises.

    Parameters
    ----------
    scheduler : as :func:`run_sweep` (a Client reused across calls is best)
    scan : str, optional
        The argument whose values vary within a group (``'n_patterns'`` for a capacity scan).
    store : path, optional
        Parent folder of the groups' stores (``group_<k>``), which resume as in :func:`run_sweep`.
    progress : bool
    n_workers : int, optional
    """
    def mapped(function, calls):
        calls = [dict(call) for call in calls]
        for k, call in enumerate(calls):
            if "seed" not in call:
                raise ValueError(f"sweep_map: call {k} has no 'seed' argument ({sorted(call)})")
        groups = {}
        for k, call in enumerate(calls):
            key = json.dumps({name: v for name, v in call.items() if name not in ("seed", scan)}, sort_keys=True)
            groups.setdefault(key, []).append(k)
        out = [None] * len(calls)
        for g, (key, members) in enumerate(groups.items()):
            grid = {name: [v] for name, v in json.loads(key).items()}
            if scan is not None:
                grid[scan] = sorted({calls[k][scan] for k in members})
            seeds = sorted({int(calls[k]["seed"]) for k in members})
            ds = run_sweep(function, grid, seeds=seeds, scheduler=scheduler, n_workers=n_workers, progress=progress,
                           store=None if store is None else Path(store) / f"group_{g}")
            if ds.attrs["n_failed"]:
                raise RuntimeError(f"sweep_map: {ds.attrs['n_failed']} point(s) of {function.__name__} failed; "
                                   f"first error: {next(str(e) for e in ds['error'].values.ravel() if e)}")
            for k in members:
                at = ds.sel({**{name: calls[k][name] for name in grid}, "seed": int(calls[k]["seed"])})
                out[k] = {name: at[name].item() for name in ds.data_vars if at[name].ndim == 0}
        return out

    return mapped
