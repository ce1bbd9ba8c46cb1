"""Dask worker plugin for Brian2 sweeps (imported only where distributed is used)."""
from __future__ import annotations

import fcntl
import os
import re
import socket
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

WORKER_DIR_ENV = "HIPPO_DAM_WORKER_DIR"


def _worker_base():
    root = os.environ.get("HIPPO_DAM_WORKER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hippo_dam", "workers")
    return Path(root)


class BrianWorkerPlugin(WorkerPlugin):
    """Import brian2 in the worker's main thread and give the worker its own directories.

    The first ``import brian2`` installs a signal handler, which Python allows
    only in the main thread; a worker runs tasks in other threads, so brian2
    is imported here, at worker start-up, in the thread running the worker's
    event loop. Each worker claims ``<base>/<host>-<worker name>`` with an
    exclusive ``flock`` held for its lifetime (released when its process
    dies): two live workers never share a Cython cache or a standalone
    project, while a later worker of the same name reuses the compiled code.
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
        (directory / "cython").mkdir(exist_ok=True)
        brian2.prefs.codegen.runtime.cython.cache_dir = str(directory / "cython")
        os.environ[WORKER_DIR_ENV] = str(directory)

    def teardown(self, worker=None):
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
