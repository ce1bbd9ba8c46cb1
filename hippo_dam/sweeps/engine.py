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

from .dataset import _assemble, _versions  # noqa: F401
from .executor import (_batched_function, _check_scheduler, _compute, _result,  # noqa: F401
                       _run_point, _run_points, worker_directory)
from .points import recall_point, recall_points
from .spec import (_check_attrs, _check_grid, _check_quantities, _check_seeds, _check_signature,  # noqa: F401
                   _check_units, _function_name, _import_function, _point_key, _same_function)
from .runner import run_sweep, sweep_map
from .store import _batch_job_id, _function_record, _load_records, _open_store, _write_atomic  # noqa: F401
from .sweepfile import SweepFile, load_sweep

__all__ = ["run_sweep", "sweep_map", "recall_point", "recall_points", "load_sweep", "SweepFile", "worker_directory"]
