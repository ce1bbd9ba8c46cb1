"""Where a sweep's points run: Dask clients (a LocalCluster, a scheduler address, jobqueue jobs),
a point or a batch of points in a worker, and the loop that stores results as they come.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import math
import numbers
import os
import socket
import threading
import time
import traceback

import numpy as np

from .store import _batch_job_id, _write_atomic
from ..modelfile import parse_quantity


_WORKER_DIR_ENV = "HIPPO_DAM_WORKER_DIR"
_MAX_ARRAY = 100_000  # entries; a point returns scalars and *small* arrays
# One point at a time per process, even on workers with several threads: a Brian2
# simulation owns its process's device and preferences.
_PROCESS_LOCK = threading.Lock()


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
        from .jobs import _jobqueue_client

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
