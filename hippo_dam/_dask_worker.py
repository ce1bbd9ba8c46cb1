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


def _worker_base():
    root = os.environ.get("HIPPO_DAM_WORKER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hippo_dam", "workers")
    return Path(root)


def _seed_cache(cache, sources, min_age_s=30.0):
    """Copy compiled Brian2 extensions (``*.so``, named by a hash of their code) into a new cache.

    A worker that starts with an empty private cache would otherwise compile
    every code object again (seconds to minutes each on a loaded machine).
    Only files older than ``min_age_s`` are taken (never one being written),
    each copied to a temporary name and renamed into place.
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
                fd, tmp = tempfile.mkstemp(dir=cache, prefix=".seed-")
                os.close(fd)
                shutil.copy2(so, tmp)
                os.replace(tmp, target)
            except OSError:  # a file vanished or is unreadable: compile it instead
                continue


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
    """

    name = "hippo-dam-brian2"
    idempotent = True

    def setup(self, worker=None):
        import brian2

        wname = re.sub(r"[^A-Za-z0-9_.-]", "_", str(getattr(worker, "name", os.getpid())))
        base = _worker_base()
        for suffix in ("", f"-pid{os.getpid()}"):
            directory = base / f"{socket.gethostname()}-{wname}{suffix}"
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
        from ._compat import cython_cache_dir

        default = cython_cache_dir()  # Brian2's shared cache, before it is redirected below
        siblings = [d / "cython" for d in base.iterdir() if d != directory]
        _seed_cache(cache, ([Path(default)] if default else []) + siblings)
        brian2.prefs.codegen.runtime.cython.cache_dir = str(cache)
        os.environ[WORKER_DIR_ENV] = str(directory)

    def teardown(self, worker=None):
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
