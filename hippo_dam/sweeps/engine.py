"""Parameter sweeps on Dask: a grid of parameters x seeds, resumable, to xarray.

:func:`run_sweep` calls ``function(seed=s, **params)`` once for every point of
the Cartesian product ``grid x seeds`` and gathers the returned dicts into one
:class:`xarray.Dataset` with one dimension per grid parameter plus ``seed``.

Where the points run
--------------------
Every point is a Dask task. By default a :class:`distributed.LocalCluster` of
processes with one thread each (``n_workers`` = number of cores) is started
and closed again; ``scheduler`` may instead be a scheduler address
(``"tcp://host:8786"``, e.g. of a ``dask-jobqueue`` SLURM or PBS cluster), a
cluster object with a ``scheduler_address`` (``SLURMCluster(...)``) or an
existing :class:`distributed.Client`. A Brian2 simulation owns its process
(device, preferences), so points run one at a time per worker process (a
lock), whatever its thread count: start workers with ``--nthreads 1``.

Brian2 in Dask workers: a worker plugin imports brian2 in each worker's
main thread at start-up (a first import in a task thread can fail where
brian2 installs a signal handler, which only the main thread may do; with
brian2 2.8.0 and distributed 2026.8 we saw it succeed either way), and gives
each worker its own directory (``~/.cache/hippo_dam/workers/<host>-<worker
name>``, or under ``$HIPPO_DAM_WORKER_CACHE``) holding its Cython cache
(``prefs.codegen.runtime.cython.cache_dir``), seeded with the extensions
already compiled on the machine, and its C++ standalone projects
(:func:`worker_directory`). ``cluster=`` (a :class:`~hippo_dam.sweeps.cluster.ClusterSpec`
or a sweep file's ``[cluster]`` table) instead starts a dask-jobqueue cluster
of SLURM, PBS, SGE or LSF jobs for the sweep and closes it afterwards, even
when the sweep fails or is interrupted (:mod:`hippo_dam.sweeps.cluster`);
every point's record then names the batch job that ran it (``job_id``).
Scripts that call :func:`run_sweep` with the
default LocalCluster need the ``if __name__ == "__main__":`` guard, as for
:mod:`multiprocessing` (workers are spawned processes).

The store: resuming and failures
--------------------------------
Each finished point is written at once to ``store/points/<key>.json``
(written to a temporary file, then renamed: a point file is complete or
absent), ``key`` being a hash of the parameters and the seed. A sweep that is
killed loses only the points still running; rerunning it with the same store
skips every finished point, so no point is computed or stored twice.
``store/manifest.json`` records the function and the grid; a store made by a
different sweep is refused.

A point whose function raises is stored with status ``"error"``, the
exception and its traceback; the other points go on. In the dataset its data
variables are NaN (integer and boolean variables become float for that
reason), the variable ``error`` holds the exception text (``""`` where the
point succeeded), ``attrs["n_failed"]`` counts them and a ``RuntimeWarning``
names the first. A rerun with the same store tries failed points again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import hashlib
import importlib
import inspect
import itertools
import json
import math
import numbers
import os
import pickle
import platform
import socket
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..modelfile import is_quantity_text, parse_quantity, quantity_unit

__all__ = ["run_sweep", "recall_point", "recall_points", "load_sweep", "SweepFile", "worker_directory"]

_FORMAT = 1
_WORKER_DIR_ENV = "HIPPO_DAM_WORKER_DIR"
_MAX_ARRAY = 100_000  # entries; a point returns scalars and *small* arrays
# One point at a time per process, even on workers with several threads: a Brian2
# simulation owns its process's device and preferences.
_PROCESS_LOCK = threading.Lock()


# -- the function -----------------------------------------------------------------
def _function_name(function):
    """``'module:qualname'`` of an importable, picklable callable (or partial of one)."""
    base = function.func if isinstance(function, functools.partial) else function
    if not callable(base):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    module, qualname = getattr(base, "__module__", None), getattr(base, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        raise TypeError(
            f"function {module}.{qualname} cannot be imported by the Dask workers: a sweep runs a "
            "module-level function defined in an importable module (not a lambda, a nested "
            "function or one defined in __main__ or a notebook)"
        )
    try:
        obj = _lookup(module, qualname)
    except (ImportError, AttributeError) as err:
        raise TypeError(f"function {module}:{qualname} is not importable ({err})") from None
    if obj is not base:
        raise TypeError(f"{module}:{qualname} does not name the function passed (it was redefined?)")
    try:
        pickle.dumps(function)
    except Exception as err:  # noqa: BLE001 - any pickling failure means the same thing here
        raise TypeError(f"function {module}:{qualname} (with its bound arguments) is not picklable: {err}") from None
    return f"{module}:{qualname}"


def _lookup(module, qualname):
    """The object ``module.qualname`` (ImportError / AttributeError if there is none)."""
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _same_function(recorded, name):
    """Whether a store's recorded ``'module:qualname'`` names the same function as ``name``.

    True also where the recorded module path is one that a later release
    moved (``hippo_dam.sweep:recall_point`` is ``hippo_dam.sweeps.engine:recall_point``).
    """
    if recorded == name:
        return True
    if not isinstance(recorded, str) or recorded.count(":") != 1:
        return False
    try:
        return _lookup(*recorded.split(":")) is _lookup(*name.split(":"))
    except (ImportError, AttributeError):
        return False


def _import_function(spec):
    """``'package.module:name'`` -> the callable."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"function must be given as 'module:name', got {spec!r}")
    module, name = spec.split(":")
    try:
        obj = _lookup(module, name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"function {spec!r} cannot be imported ({err})") from None
    if not callable(obj):
        raise ValueError(f"function {spec!r} is not callable")
    return obj


def _plain(value, what):
    """A grid value as a plain Python bool/int/float/str."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"{what}: values must be finite, got {value}")
        return float(value)
    raise TypeError(f"{what}: values must be numbers or strings, got {value!r} ({type(value).__name__})")


def _check_grid(grid):
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict mapping parameter names to lists of values, got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid is empty: give at least one parameter with a list of values")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"grid parameter name {name!r} is not a valid identifier")
        if name == "seed":
            raise ValueError("'seed' is not a grid parameter: pass the seeds as seeds=[...]")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r}")
        values = [_plain(v, f"grid[{name!r}]") for v in values]
        if not values:
            raise ValueError(f"grid[{name!r}] is empty")
        if len({(type(v) is str) for v in values}) > 1:
            raise TypeError(f"grid[{name!r}] mixes strings and numbers: {values}")
        if len({(type(v) is bool) for v in values if type(v) is not str}) > 1:
            raise TypeError(f"grid[{name!r}] mixes booleans and numbers: {values} (a boolean is not a number)")
        if len({json.dumps(v) for v in values}) != len(values):
            raise ValueError(f"grid[{name!r}] has repeated values: {values}")
        out[name] = values
    return out


def _check_seeds(seeds):
    if isinstance(seeds, numbers.Integral):
        seeds = [seeds]
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of integers, got {seeds!r}")
    seeds = list(seeds)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds):
        raise TypeError(f"seeds must be integers, got {seeds!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds are repeated: {seeds}")
    return seeds


def _check_signature(function, grid, name):
    try:
        sig = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(seed=0, **{k: v[0] for k, v in grid.items()})
    except TypeError as err:
        raise ValueError(f"{name} cannot be called as function(seed=..., {', '.join(grid)}=...): {err}") from None


def _point_key(params, seed):
    text = json.dumps({"params": params, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# -- running one point (in a worker) -------------------------------------------------
def _jsonable_result(result):
    """Check a point's returned dict; scalars stay, arrays become {'shape', 'data'}."""
    if not isinstance(result, dict) or not result:
        raise TypeError(f"the point function must return a non-empty dict of scalars, got {type(result).__name__}")
    out = {}
    for key, value in result.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"returned key {key!r} is not a valid variable name")
        if key in ("error", "point_wall_time_s", "seed"):
            raise TypeError(f"returned key {key!r} is reserved by the sweep")
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, int, float)):
            out[key] = value
        elif isinstance(value, (np.ndarray, list, tuple)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"returned array {key!r} must be numeric, got dtype {arr.dtype}")
            if arr.size > _MAX_ARRAY:
                raise TypeError(f"returned array {key!r} has {arr.size} entries; a sweep point returns "
                                f"small arrays (at most {_MAX_ARRAY})")
            out[key] = {"shape": list(arr.shape), "dtype": arr.dtype.kind, "data": arr.ravel().tolist()}
        else:
            raise TypeError(f"returned value {key!r} = {value!r} is not a number, bool or numeric array")
    return out


def _batch_job_id():
    """Id of the batch job this process runs in (SLURM, PBS, LSF, SGE), or None."""
    for var in ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID"):
        if os.environ.get(var):
            return os.environ[var]
    return os.environ.get("JOB_ID") if os.environ.get("SGE_ROOT") else None


def _new_record(key, params, seed, **extra):
    """The start of a point's record: where it ran (process, host, batch job) and what it was given."""
    return {"key": key, "params": params, "seed": seed, "pid": os.getpid(), "host": socket.gethostname(),
            "job_id": _batch_job_id(), **extra}


def _as_quantities(params, quantities):
    """``params`` with the entries named in ``quantities`` (name -> unit text) as Brian2 quantities."""
    if not quantities:
        return params
    return {k: v * parse_quantity(f"1 {quantities[k]}", k) if k in quantities else v for k, v in params.items()}


def _run_point(function, params, seed, key, quantities=None):
    """Task body: run one point and return a record (never raises)."""
    start = time.perf_counter()
    record = _new_record(key, params, seed)
    try:
        with _PROCESS_LOCK:
            result = function(seed=seed, **_as_quantities(params, quantities))
        record["result"] = _jsonable_result(result)
        record["status"] = "ok"
    except Exception as err:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        record["status"] = "error"
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback"] = traceback.format_exc()
    record["wall_time_s"] = time.perf_counter() - start
    record["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return record


def _batched_function(function):
    """The batched form of a point function (its ``batched`` attribute), or None.

    A function ``f`` may carry ``f.batched``: a callable taking a list of
    keyword dicts (``seed`` included) and returning the list of ``f``'s
    results for them, equal to calling ``f`` on each (see :func:`recall_points`).
    A ``functools.partial`` keeps it when it binds keywords only.
    """
    base = function.func if isinstance(function, functools.partial) else function
    if isinstance(function, functools.partial) and function.args:
        return None
    return getattr(base, "batched", None)


def _run_points(function, items, quantities=None):
    """Task body: run several points with the function's batched form; one record per point (never raises).

    If the batched call fails, every point is run on its own, so that each
    failure is recorded against its own point.
    """
    batched = _batched_function(function)
    keywords = function.keywords if isinstance(function, functools.partial) else {}
    start = time.perf_counter()
    try:
        with _PROCESS_LOCK:
            results = batched([{**keywords, **_as_quantities(params, quantities), "seed": seed}
                               for params, seed, _ in items])
        if len(results) != len(items):
            raise RuntimeError(f"batched function returned {len(results)} results for {len(items)} points")
    except Exception:  # noqa: BLE001 - fall back to one point at a time, which records each error
        return [_run_point(function, params, seed, key, quantities) for params, seed, key in items]
    wall = (time.perf_counter() - start) / len(items)
    records = []
    finished = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    for (params, seed, key), result in zip(items, results):
        record = _new_record(key, params, seed, batched=len(items))
        try:
            record["result"] = _jsonable_result(result)
            record["status"] = "ok"
        except Exception as err:  # noqa: BLE001
            record["status"] = "error"
            record["error"] = f"{type(err).__name__}: {err}"
            record["traceback"] = traceback.format_exc()
        record["wall_time_s"] = wall  # the batch's wall time, shared out
        record["finished"] = finished
        records.append(record)
    return records


# -- the workers ---------------------------------------------------------------------
def worker_directory():
    """This Dask worker's private directory, or None outside a sweep worker.

    Set by the worker plugin (:class:`hippo_dam.sweeps._worker.BrianWorkerPlugin`);
    point functions put per-process files here, e.g. C++ standalone projects
    (``DenseAssociativeMemory(..., standalone_dir=worker_directory())``). Its
    ``cython/`` subfolder is the worker's Brian2 Cython cache.
    """
    return os.environ.get(_WORKER_DIR_ENV)


@contextlib.contextmanager
def _client(scheduler, n_workers, cluster=None, store=None):
    """Yield ``(client, watch)``; ``watch`` follows the jobs of a jobqueue cluster (None otherwise)."""
    from distributed import Client, LocalCluster

    _check_scheduler(scheduler, n_workers, cluster)
    if cluster is not None:
        from .cluster import _jobqueue_client

        with _jobqueue_client(cluster, store) as (client, watch):
            yield client, watch
        return
    if scheduler is None:
        n = (os.cpu_count() or 1) if n_workers is None else n_workers
        import logging

        from .. import SWEEP_WORKER_ENV

        before = os.environ.get(SWEEP_WORKER_ENV)
        os.environ[SWEEP_WORKER_ENV] = "1"  # inherited by the worker processes only (restored below)
        interrupted = []
        try:
            with _interrupt_deferred() as interrupted:  # a half-started cluster cannot be closed cleanly
                local = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True,
                                     dashboard_address=":0", silence_logs=logging.ERROR)
        except Exception:
            # a worker hit by the same Ctrl-C in its first instants (before it could ignore it) fails to
            # start: the sweep was interrupted, it did not fail
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            if before is None:
                os.environ.pop(SWEEP_WORKER_ENV, None)
            else:
                os.environ[SWEEP_WORKER_ENV] = before
        with local:
            if interrupted:
                raise KeyboardInterrupt
            with Client(local) as client:
                yield client, None
        return
    if isinstance(scheduler, Client):
        yield scheduler, None
    else:
        with Client(scheduler) as client:
            yield client, None


@contextlib.contextmanager
def _interrupt_deferred():
    """Hold a Ctrl-C (SIGINT) until the block ends; yields a list that is non-empty if one came."""
    import signal

    came = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield came
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_scheduler(scheduler, n_workers, cluster=None):
    if n_workers is not None and (not isinstance(n_workers, numbers.Integral) or isinstance(n_workers, bool)
                                  or n_workers < 1):
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    if cluster is not None:
        if scheduler is not None or n_workers is not None:
            raise ValueError("cluster= starts its own jobqueue cluster: give it without scheduler= and n_workers= "
                             "(size it with the spec's jobs, cores and processes)")
        return
    if scheduler is None:
        return
    if n_workers is not None:
        raise ValueError("n_workers applies only to the default LocalCluster; size your own cluster instead")
    from distributed import Client

    if not (isinstance(scheduler, (str, Client)) or hasattr(scheduler, "scheduler_address")):
        raise TypeError("scheduler must be None (a LocalCluster), a scheduler address string, a cluster "
                        f"object or a distributed.Client, got {type(scheduler).__name__}")
    if isinstance(scheduler, str):
        _check_reachable(scheduler)


_REACH_TIMEOUT_S = 5.0


def _check_reachable(address):
    """Raise ``ValueError`` naming ``address`` unless a TCP connection to it opens (before any point runs).

    Dask's own client waits 30 s and then fails with a traceback; a scheduler
    that is not there is known in one connection attempt.
    """
    from distributed.comm import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return  # inproc://, ucx://...: Dask's client knows how to reach those
        host, port = parse_host_port(location)
    except ValueError as err:
        raise ValueError(f"scheduler address {address!r} is not valid ({err}); e.g. 'tcp://host:8786'") from None
    try:
        socket.create_connection((host, port), timeout=_REACH_TIMEOUT_S).close()
    except OSError as err:
        raise ValueError(f"the Dask scheduler at {address!r} cannot be reached ({err}): start it "
                         "(`dask scheduler`), correct the address, or leave scheduler unset to run on a "
                         "LocalCluster") from None


# -- the store ---------------------------------------------------------------------------
def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _function_record(function, name):
    record = {"function": name}
    if isinstance(function, functools.partial):
        record["bound_args"] = json.loads(json.dumps(
            {"args": list(function.args), "keywords": function.keywords}, default=repr, sort_keys=True))
    return record


def _open_store(store, fn_record, grid, seeds):
    store = Path(store)
    (store / "points").mkdir(parents=True, exist_ok=True)
    manifest_path = store / "manifest.json"
    manifest = {"format": _FORMAT, **fn_record, "grid": grid, "seeds": seeds}
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
            if not isinstance(old, dict):
                raise ValueError("it is not a table")
        except (ValueError, UnicodeDecodeError) as err:
            # Without its manifest nothing says which sweep the stored points belong to: they are moved
            # aside with it (nothing is deleted) and the sweep starts afresh in this store.
            aside = store / "corrupt" / f"store-{_dt.datetime.now():%Y%m%dT%H%M%S%f}"
            aside.mkdir(parents=True)
            os.replace(manifest_path, aside / "manifest.json")
            os.replace(store / "points", aside / "points")
            (store / "points").mkdir()
            warnings.warn(f"store {store}: manifest.json is corrupt ({err}); it and the stored points were moved "
                          f"to {aside}, and every point runs again", RuntimeWarning, stacklevel=2)
            return _open_store(store, fn_record, grid, seeds)
        if _same_function(old.get("function"), manifest["function"]):
            manifest["function"] = old["function"]  # as first recorded (a module path of an earlier release)
        for field_ in ("function", "bound_args", "grid"):
            if old.get(field_) != manifest.get(field_):
                raise ValueError(
                    f"store {store} belongs to a different sweep: its {field_} is {old.get(field_)!r}, this "
                    f"sweep's is {manifest.get(field_)!r}; use another store directory"
                )
        manifest["seeds"] = sorted(set(old.get("seeds", [])) | set(seeds))
        manifest["created"] = old.get("created")
    else:
        manifest["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    _write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
    return store


def _load_records(store, keys):
    """The stored records of ``keys``; a corrupt point file is named, moved aside and its point left to run."""
    records = {}
    for key in keys:
        path = store / "points" / f"{key}.json"
        if not path.exists():
            continue
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or record.get("key") != key:
                raise ValueError(f"its record is not the point {key}")
        except (ValueError, UnicodeDecodeError) as err:  # a truncated write, a disk error, a hand edit
            aside = store / "corrupt" / f"{path.name}.{_dt.datetime.now():%Y%m%dT%H%M%S%f}"
            aside.parent.mkdir(exist_ok=True)
            os.replace(path, aside)
            warnings.warn(f"store {store}: point file {path} is corrupt ({err}); moved to {aside}, and its point "
                          "runs again", RuntimeWarning, stacklevel=2)
            continue
        records[key] = record
    return records


# -- assembling the dataset ----------------------------------------------------------------
def _assemble(grid, seeds, points, records, units, attrs):
    import xarray as xr

    dims = list(grid) + ["seed"]
    shape = tuple(len(v) for v in grid.values()) + (len(seeds),)
    index = {name: {json.dumps(v): i for i, v in enumerate(values)} for name, values in grid.items()}
    seed_index = {s: i for i, s in enumerate(seeds)}
    where = {key: tuple(index[n][json.dumps(p[n])] for n in grid) + (seed_index[s],) for key, (p, s) in points.items()}

    kinds, shapes = {}, {}
    for key, rec in records.items():
        if rec.get("status") != "ok":
            continue
        for name, value in rec["result"].items():
            kind = value["dtype"] if isinstance(value, dict) else \
                ("b" if isinstance(value, bool) else "i" if isinstance(value, int) else "f")
            kinds.setdefault(name, set()).add(kind)
            vshape = tuple(value["shape"]) if isinstance(value, dict) else ()
            if shapes.setdefault(name, vshape) != vshape:
                raise ValueError(f"variable {name!r} changes shape between points: {shapes[name]} vs {vshape} "
                                 f"(point {rec['params']}, seed {rec['seed']})")
    complete = all(records.get(k, {}).get("status") == "ok" and set(records[k]["result"]) == set(kinds)
                   for k in points)
    data_vars = {}
    for name, kset in kinds.items():
        dtype = {"b": bool, "i": np.int64, "u": np.int64}.get(next(iter(kset))) if len(kset) == 1 and complete \
            else np.float64
        dtype = dtype or np.float64
        arr = np.full(shape + shapes[name], np.nan if dtype is np.float64 else 0, dtype=dtype)
        for key, rec in records.items():
            if rec.get("status") == "ok" and name in rec["result"]:
                value = rec["result"][name]
                arr[where[key]] = np.reshape(value["data"], value["shape"]) if isinstance(value, dict) else value
        extra = [f"{name}_dim{k}" for k in range(len(shapes[name]))]
        data_vars[name] = (dims + extra, arr, {"units": units.get(name, "1")})
    error = np.full(shape, "", dtype=object)
    wall = np.full(shape, np.nan)
    for key, rec in records.items():
        error[where[key]] = rec.get("error", "") if rec.get("status") != "ok" else ""
        wall[where[key]] = rec.get("wall_time_s", np.nan)
    for key in points:
        if key not in records:
            error[where[key]] = "not run"
    data_vars["error"] = (dims, error.astype(str), {"description": "exception of a failed point, '' if it succeeded"})
    data_vars["point_wall_time_s"] = (dims, wall, {"units": "s", "description": "wall time of the point function"})
    coords = {name: (name, np.asarray(values), {"units": units.get(name, "1")}) for name, values in grid.items()}
    coords["seed"] = ("seed", np.asarray(seeds, dtype=np.int64), {"units": "1"})
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _versions():
    import brian2
    import dask
    import distributed

    from .. import __version__

    return {"hippo_dam": __version__, "brian2": brian2.__version__, "numpy": np.__version__,
            "dask": dask.__version__, "distributed": distributed.__version__, "python": platform.python_version()}


def _check_attrs(attrs):
    out = {}
    for key, value in (attrs or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"attrs keys must be strings, got {key!r}")
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = value if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            else json.dumps(value, default=repr)
    return out


def _check_quantities(quantities, grid):
    quantities = dict(quantities or {})
    for name, unit in quantities.items():
        if name not in grid:
            raise ValueError(f"quantities[{name!r}]: not a grid parameter (grid: {sorted(grid)})")
        parse_quantity(f"1 {unit}", f"quantities[{name!r}]")  # a known unit
        if any(isinstance(v, (bool, str)) for v in grid[name]):
            raise TypeError(f"grid[{name!r}] holds numbers in {unit}, got {grid[name]}")
    return quantities


def _check_units(units, grid):
    units = dict(units or {})
    for key, value in units.items():
        if not isinstance(value, str):
            raise TypeError(f"units[{key!r}] must be a string such as 'ms' or '1', got {value!r}")
    return units


# -- the sweep -----------------------------------------------------------------------------
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


def _compute(function, points, pending, store, records, scheduler, n_workers, progress, n_done, cluster=None,
             quantities=None):
    from distributed import as_completed
    from tqdm.auto import tqdm

    with _client(scheduler, n_workers, cluster, store) as (client, watch), \
            tqdm(total=len(points), initial=n_done, unit="point", desc="hippo_dam sweep",
                 disable=not progress) as bar:
        from ._worker import BrianWorkerPlugin

        client.register_plugin(BrianWorkerPlugin(), name=BrianWorkerPlugin.name)
        chunks = _chunks(function, points, pending, client)
        if chunks is None:  # one task per point
            futures = [client.submit(_run_point, function, points[k][0], points[k][1], k, quantities,
                                     key=f"hippo-dam-point-{k}", pure=False) for k in pending]
            members = {f.key: [f.key.split("hippo-dam-point-")[-1]] for f in futures}
        else:  # one task per chunk of points, run by the function's batched form
            futures = [client.submit(_run_points, function, [(points[k][0], points[k][1], k) for k in chunk],
                                     quantities, key=f"hippo-dam-points-{chunk[0]}", pure=False)
                       for chunk in chunks]
            members = {f.key: chunk for f, chunk in zip(futures, chunks)}
        left = len(pending)  # points not yet stored
        try:
            for future in _completed(as_completed(futures), watch, len(futures), lambda: left):
                if future.status == "error":  # the task itself broke (e.g. the worker died repeatedly)
                    exc = future.exception()
                    done = [{"key": key, "params": points[key][0], "seed": points[key][1], "status": "error",
                             "error": f"{type(exc).__name__}: {exc}", "traceback": ""} for key in members[future.key]]
                else:
                    done = _result(future, watch, left)
                    done = done if isinstance(done, list) else [done]
                for record in done:
                    records[record["key"]] = record
                    _write_atomic(store / "points" / f"{record['key']}.json", json.dumps(record) + "\n")
                    if watch is not None:  # a job can connect, compute and be cancelled between two looks
                        watch.ran(record.get("job_id"))
                bar.update(len(done))
                left -= len(done)
                future.release()
        finally:
            with contextlib.suppress(Exception):  # one call for all (a scheduler whose workers died may be slow)
                client.cancel(futures)


_MAX_CHUNK = 64  # points per batched task at most (more chunks than workers when the sweep is large)


def _chunks(function, points, pending, client):
    """Pending point keys split into chunks, at least one per worker thread (or None: no batched form).

    A cluster whose workers are still starting counts as one thread; chunks
    hold at most ``_MAX_CHUNK`` points, so a large sweep still spreads.

    Points are ordered by seed, then parameters, so that points sharing a
    seed (and so, for :func:`recall_point`, their patterns) land together.
    """
    if _batched_function(function) is None or len(pending) < 2:
        return None
    order = sorted(pending, key=lambda k: (points[k][1], json.dumps(points[k][0], sort_keys=True)))
    slots = max(1, sum(client.nthreads().values()))
    n_chunks = min(len(order), max(slots, math.ceil(len(order) / _MAX_CHUNK)))
    return [list(c) for c in np.array_split(np.array(order, dtype=object), n_chunks) if len(c)]


def _completed(futures, watch, n, points_left):
    """Futures as they finish; with a jobqueue ``watch``, stop (RuntimeError) once every job has ended.

    ``points_left()`` is the number of points not yet stored (for the message).
    """
    if watch is None:
        yield from futures
        return
    done = 0
    while done < n:
        batch = futures.next_batch(block=False) if futures.has_ready() else []
        if not batch:
            watch.check(points_left())
            time.sleep(0.1)
            continue
        for future in batch:
            done += 1
            yield future


_RESULT_WAIT_S = 1.0  # a result fetch longer than this looks again whether the jobs are still there


def _result(future, watch, n_pending):
    """``future.result()``; with a jobqueue ``watch``, looking whether the jobs still run while it waits.

    A task that finished on a worker that is then killed before its result is
    fetched (``scancel`` between the two) is *lost*: the scheduler reruns it
    on a worker that never comes, so a plain ``result()`` would wait for ever.
    Here the watch stops the sweep instead (RuntimeError naming the
    ``n_pending`` points not yet stored; the point is rerun on resume).
    """
    if watch is None:
        return future.result()
    while True:
        try:
            return future.result(timeout=_RESULT_WAIT_S)
        except TimeoutError:
            watch.check(n_pending)


# -- a built-in point function ----------------------------------------------------------
_POINT_TIMES = ("duration", "tau_f", "tau_h", "dt")


def _times_in_ms(point, defaults):
    """A point's times given as quantities (``duration=60*ms``) folded into the ``*_ms`` numbers."""
    from brian2 import ms
    from brian2.units.fundamentalunits import have_same_dimensions

    point = dict(point)
    for name in _POINT_TIMES:
        value = point.pop(name, None)
        if value is None:
            continue
        if not have_same_dimensions(value, ms):
            raise ValueError(f"{name} must be a time (e.g. 60*ms or '60 ms' in a sweep file), got {value!r}")
        if point.get(f"{name}_ms", defaults[f"{name}_ms"]) != defaults[f"{name}_ms"]:
            raise ValueError(f"give {name} or {name}_ms, not both")
        point[f"{name}_ms"] = float(value / ms)
    return point


def recall_point(seed, beta=1.0, flip=0.2, model="B", degree=3.0, n_features=64, n_patterns=16,
                 duration_ms=60.0, tau_f_ms=20.0, tau_h_ms=2.0, dt_ms=0.1, codegen_target="cython",
                 duration=None, tau_f=None, tau_h=None, dt=None):
    """One Brian2 recall of a random pattern from a cue with ``flip`` of its bits flipped.

    ``seed`` draws the ``n_patterns x n_features`` random +-1 patterns, the
    target and the flipped bits. ``model`` is 'A' (sign / ``max(h,0)^degree``),
    'B' (identity / softmax with ``beta``) or 'C' (divisive normalisation /
    ``max(h,0)^degree``), simulated with time constants ``tau_f``, ``tau_h``
    and step ``dt`` for ``duration``. Each time is a Brian2 quantity
    (``duration=60*ms``; ``duration = "60 ms"`` in a sweep file) or, the
    same, a number of milliseconds (``duration_ms=60.0``); not both.

    Returns
    -------
    dict
        ``success`` (retrieved the target with no wrong bit), ``hamming``
        (wrong bits), ``target_overlap`` (``m = xi_target . sign v / N``),
        ``retrieved`` (index of the largest overlap), ``energy_drop``
        (``E(0) - E(end)``, >= 0).
    """
    from brian2 import ms

    from ..networks.models import model_a, model_b, model_c
    from ..data.patterns import flip_cue, random_patterns

    if any(t is not None for t in (duration, tau_f, tau_h, dt)):
        times = _times_in_ms(dict(duration=duration, tau_f=tau_f, tau_h=tau_h, dt=dt, duration_ms=duration_ms,
                                  tau_f_ms=tau_f_ms, tau_h_ms=tau_h_ms, dt_ms=dt_ms), _RECALL_POINT_DEFAULTS)
        duration_ms, tau_f_ms, tau_h_ms, dt_ms = (times[f"{n}_ms"] for n in _POINT_TIMES)
    rng = np.random.default_rng(seed)
    patterns = random_patterns(int(n_patterns), int(n_features), seed=rng)
    target = int(rng.integers(len(patterns)))
    cue, known = flip_cue(patterns[target], flip, seed=rng)
    common = dict(tau_f=tau_f_ms * ms, tau_h=tau_h_ms * ms, dt=dt_ms * ms, record_every=None,
                  codegen_target=codegen_target, standalone_dir=worker_directory())
    if model == "A":
        net = model_a(patterns, degree=degree, **common)
    elif model == "B":
        net = model_b(patterns, beta=beta, **common)
    elif model == "C":
        net = model_c(patterns, degree=degree, **common)
    else:
        raise ValueError(f"model must be 'A', 'B' or 'C', got {model!r}")
    result = net.recall(cue, known, duration=duration_ms * ms, target=target, progress=False)
    q = result.quality
    return {"success": bool(q.success), "hamming": int(q.hamming), "target_overlap": float(q.target_overlap),
            "retrieved": int(q.retrieved), "energy_drop": result.energy_drop}


def recall_points(points):
    """Many :func:`recall_point` calls at once: ``[recall_point(**p) for p in points]``, batched.

    Points that share their patterns and run settings (same ``seed``,
    ``model``, ``n_features``, ``n_patterns``, ``duration_ms``, ``dt_ms`` and
    a runtime ``codegen_target``) run as one :func:`hippo_dam.networks.grid.recall_grid`:
    one Brian2 run whose copies carry each point's cue (``flip``), ``beta``
    (model B) or ``degree`` (models A, C) and time constants. The results
    equal the one-at-a-time ones (same Euler scheme; the batched product may
    change the last bits of the states). Other points run one at a time.

    Parameters
    ----------
    points : list of dict
        Keyword arguments of :func:`recall_point`, ``seed`` included.

    Returns
    -------
    list of dict, one per point, in order.
    """
    from brian2 import ms

    from ..networks.grid import RUNTIME_TARGETS, recall_grid
    from ..networks.models import model_a, model_b, model_c
    from ..data.patterns import flip_cue, random_patterns

    defaults = {name: par.default for name, par in inspect.signature(recall_point).parameters.items()
                if par.default is not inspect.Parameter.empty}
    full = []
    for point in points:
        unknown = set(point) - set(defaults) - {"seed"}
        if unknown or "seed" not in point:
            raise TypeError(f"recall_points: a point needs 'seed' and takes only {sorted(defaults)}; got {point}")
        full.append({**defaults, **_times_in_ms(point, defaults)})
    shared = ("seed", "model", "n_features", "n_patterns", "duration_ms", "dt_ms", "codegen_target")
    groups = {}
    for i, p in enumerate(full):
        groups.setdefault(tuple(p[k] for k in shared), []).append(i)
    results = [None] * len(points)
    for key, idx in groups.items():
        first = full[idx[0]]
        if len(idx) == 1 or first["codegen_target"] not in RUNTIME_TARGETS or first["model"] not in ("A", "B", "C"):
            for i in idx:
                results[i] = recall_point(**full[i])
            continue
        cues, targets = [], []
        for i in idx:  # the same draws as recall_point: patterns, then target, then the flipped bits
            rng = np.random.default_rng(full[i]["seed"])
            patterns = random_patterns(int(first["n_patterns"]), int(first["n_features"]), seed=rng)
            target = int(rng.integers(len(patterns)))
            cues.append(flip_cue(patterns[target], full[i]["flip"], seed=rng)[0])
            targets.append(target)
        common = dict(tau_f=first["tau_f_ms"] * ms, tau_h=first["tau_h_ms"] * ms, dt=first["dt_ms"] * ms,
                      record_every=None, codegen_target=first["codegen_target"])
        model = first["model"]
        if model == "B":
            net, param = model_b(patterns, beta=first["beta"], **common), "beta"
        else:
            net, param = (model_a if model == "A" else model_c)(patterns, degree=first["degree"], **common), "degree"
        res = recall_grid(net, np.array(cues), duration=first["duration_ms"] * ms,
                          tau_f=np.array([full[i]["tau_f_ms"] for i in idx]) * ms,
                          tau_h=np.array([full[i]["tau_h_ms"] for i in idx]) * ms,
                          memory_params={param: [full[i][param] for i in idx]}, target=np.array(targets))
        q, drop = res.quality, res.energy_drop
        for j, i in enumerate(idx):
            results[i] = {"success": bool(q.success[j]), "hamming": int(q.hamming[j]),
                          "target_overlap": float(q.target_overlap[j]), "retrieved": int(q.retrieved[j]),
                          "energy_drop": float(drop[j])}
    return results


recall_point.batched = recall_points
_RECALL_POINT_DEFAULTS = {name: par.default for name, par in inspect.signature(recall_point).parameters.items()}


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
