"""Dask worker plugin for Brian2 sweeps (imported only where distributed is used)."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

WORKER_DIR_ENV = "HIPPO_DAM_WORKER_DIR"
SHARED_CACHE_ENV = "HIPPO_DAM_SHARED_CACHE"  # set in jobqueue job scripts (hippo_dam.sweeps.cluster)


def _worker_base():
    root = os.environ.get("HIPPO_DAM_WORKER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hippo_dam", "workers")
    return Path(root)


def _shared_cython_cache():
    """``$HIPPO_DAM_SHARED_CACHE/cython`` (a cache on a filesystem every node sees), or None."""
    root = os.environ.get(SHARED_CACHE_ENV)
    return Path(root) / "cython" if root else None


def _publish_cache(cache, shared, skip=()):
    """Copy the extensions compiled in a private cache that the shared cache lacks (tmp + rename).

    Called after each point, so the jobs submitted later start with them
    even when this job is cancelled; ``skip`` names the files the cache was
    seeded with (not compiled here). Returns the names copied.
    """
    copied = []
    if shared is None or not cache.is_dir():
        return copied
    shared.mkdir(parents=True, exist_ok=True)
    for so in cache.glob("*.so"):
        target = shared / so.name
        if so.name in skip or target.exists():
            continue
        try:
            fd, tmp = tempfile.mkstemp(dir=shared, prefix=".publish-")
            os.close(fd)
            shutil.copy2(so, tmp)
            os.replace(tmp, target)
            copied.append(so.name)
        except OSError:  # shared filesystem full or read-only: the jobs compile for themselves
            continue
    return copied


def _seed_cache(cache, sources, min_age_s=30.0):
    """Link compiled Brian2 extensions (``*.so``, named by a hash of their code) into a new cache.

    A worker that starts with an empty private cache would otherwise compile
    every code object again (seconds to minutes each on a loaded machine).
    Only files older than ``min_age_s`` are taken (never one being written).
    An extension is never rewritten (its name is its code's hash), so it is
    hard-linked where the cache is on the same filesystem (no copy of the
    hundreds of megabytes a machine's cache grows to) and copied otherwise,
    each under a temporary name renamed into place.
    """
    now = time.time()
    for source in sources:
        if not source.is_dir():
            continue
        for so in source.glob("*.so"):
            target = cache / so.name
            try:
                if target.exists() or now - so.stat().st_mtime < min_age_s:
                    continue
                tmp = cache / f".seed-{os.getpid()}-{so.name}"
                try:
                    os.link(so, tmp)
                except OSError:  # another filesystem (or no hard links): a copy
                    shutil.copy2(so, tmp)
                os.replace(tmp, target)
            except OSError:  # a file vanished or is unreadable: compile it instead
                continue


def _heartbeat_after_shutdown(record):
    """False for the heartbeat failure a local worker logs when its sweep has stopped the scheduler first."""
    return not record.getMessage().startswith("Failed to communicate with scheduler during heartbeat")


class BrianWorkerPlugin(WorkerPlugin):
    """Import brian2 in the worker's main thread and give the worker its own directories.

    A worker runs tasks in threads other than its main thread, where an
    ``import brian2`` that installs a signal handler would fail; brian2 is
    therefore imported here, at worker start-up, in the thread running the
    worker's event loop. Each worker claims ``<base>/<host>-<worker name>`` with an
    exclusive ``flock`` held for its lifetime (released when its process
    dies): two live workers never share a Cython cache or a standalone
    project, while a later worker of the same name reuses the compiled code,
    and a new worker's cache starts as a copy of the compiled extensions
    already on the machine (Brian2's default cache and the other workers').
    ``<base>`` is ``$HIPPO_DAM_WORKER_CACHE`` or ``~/.cache/hippo_dam/workers``.

    In a batch job (SLURM, PBS, LSF, SGE) the directory is
    ``<base>/<host>-job<JOB ID>-<worker name>``, so no two jobs share one, and
    with ``$HIPPO_DAM_SHARED_CACHE`` set (jobqueue clusters,
    :mod:`hippo_dam.sweeps.cluster`) the cache is seeded first from that shared
    cache, and the extensions this worker compiles are copied back to it after
    every point.
    """

    name = "hippo-dam-brian2"
    idempotent = True

    def setup(self, worker=None):
        import brian2

        from .. import SWEEP_WORKER_ENV, _ignore_ctrl_c

        # Ctrl-C is the sweep's to handle (it stops the workers): Brian2's own handler would end a
        # running recall early and return it as if complete, and a worker's traceback is noise
        _ignore_ctrl_c()
        if os.environ.get(SWEEP_WORKER_ENV) == "1":  # a local sweep's worker: its scheduler goes when the sweep does
            import logging

            logging.getLogger("distributed.worker").addFilter(_heartbeat_after_shutdown)

        from .store import _batch_job_id

        wname = re.sub(r"[^A-Za-z0-9_.-]", "_", str(getattr(worker, "name", os.getpid())))
        job = _batch_job_id()
        job = "-job" + re.sub(r"[^A-Za-z0-9_.-]", "_", job) if job else ""
        base = _worker_base()
        for suffix in ("", f"-pid{os.getpid()}"):
            directory = base / f"{socket.gethostname()}{job}-{wname}{suffix}"
            directory.mkdir(parents=True, exist_ok=True)
            lock = open(directory / ".lock", "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:  # held by another live worker of the same name
                lock.close()
        self._lock = lock  # the lock lives as long as the worker
        cache = directory / "cython"
        cache.mkdir(exist_ok=True)
        from ..core._compat import cython_cache_dir

        default = cython_cache_dir()  # Brian2's shared cache, before it is redirected below
        siblings = [d / "cython" for d in base.iterdir() if d != directory]
        self._shared = _shared_cython_cache()
        self._cache = cache
        if self._shared is not None:  # complete files only (published by rename): no age limit
            _seed_cache(cache, [self._shared], min_age_s=0.0)
        _seed_cache(cache, ([Path(default)] if default else []) + siblings)
        self._seeded = {so.name for so in cache.glob("*.so")} if self._shared is not None else set()
        brian2.prefs.codegen.runtime.cython.cache_dir = str(cache)
        os.environ[WORKER_DIR_ENV] = str(directory)

    def transition(self, key, start, finish, **kwargs):
        if self._shared is not None and finish == "memory" and str(key).startswith("hippo-dam-point-"):
            self._seeded.update(_publish_cache(self._cache, self._shared, self._seeded))

    _shared = None

    def teardown(self, worker=None):
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
