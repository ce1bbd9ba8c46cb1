"""Sweeps on a batch scheduler: dask-jobqueue clusters (SLURM, PBS, SGE, LSF) started for one sweep.

:class:`ClusterSpec` describes the jobs (queue, cores and memory per job,
walltime, job count, extra directives, shared and node-local directories);
``run_sweep(..., cluster=spec)`` or a sweep file's ``[cluster]`` table (with
``hippo-dam sweep FILE --slurm``) starts the matching ``dask_jobqueue``
cluster, scales it to ``jobs`` jobs, runs the sweep on it and closes it
(cancelling every job) when the sweep ends, fails or is interrupted
(``KeyboardInterrupt`` included). The four kinds share this code path; only
the job class differs (``SLURMCluster``, ``PBSCluster``, ``SGECluster``,
``LSFCluster``).

What each job does
------------------
Every job runs ``processes`` single-threaded Dask workers (a Brian2
simulation owns its process). Its job script exports
``HIPPO_DAM_SHARED_CACHE = <shared_directory>`` and
``HIPPO_DAM_WORKER_CACHE = <local_directory>``; the worker plugin
(:class:`hippo_dam.sweeps._worker.BrianWorkerPlugin`) then imports brian2 at
start-up, gives every worker of every job a private directory
``<local_directory>/<host>-job<JOB ID>-<worker name>`` (its own Cython cache
and C++ standalone projects, :func:`hippo_dam.sweeps.engine.worker_directory`), seeds
that Cython cache from ``<shared_directory>/cython`` and copies the
extensions it compiles back there, so later jobs start with compiled code.
Each point's record in the store names the job that ran it (``job_id``).

The job logs (stdout/stderr of every job) go to
``<shared_directory>/logs``. When the sweep ends, the store gets
``cluster/jobs.json`` (one entry per run: the job script, every job's id and
what became of it) and ``cluster/failed_jobs/`` holds the logs of the jobs
that ended before the sweep did (cancelled, out of walltime, killed, or
failed before their worker connected). When every job has ended while
points are still pending, the sweep stops with a ``RuntimeError`` instead of
waiting forever; the finished points are in the store and rerunning the
sweep resumes it.
"""
from __future__ import annotations

import numbers
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..checks import check_count

__all__ = ["ClusterSpec", "JOBQUEUE_KINDS"]

#: kind -> the dask_jobqueue class that submits its jobs
JOBQUEUE_KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]?|[bB])?\s*$")
_CHECK_EVERY_S = 5.0  # how often a running sweep looks whether its jobs are still there
_CLOSE_TIMEOUT_S = 60.0  # closing the cluster (workers, scheduler, jobs) takes longer only when something hangs


@dataclass
class ClusterSpec:
    """Jobs of a dask-jobqueue cluster started for one sweep (the ``[cluster]`` table of a sweep file).

    Parameters
    ----------
    kind : {'slurm', 'pbs', 'sge', 'lsf'}
        Batch system; picks ``dask_jobqueue.SLURMCluster`` etc.
    queue : str, optional
        Queue (SLURM: partition; ``partition`` is accepted as a synonym in
        :meth:`from_dict`). Default: the system's default queue.
    account : str, optional
        Account charged for the jobs (``-A``; SGE and LSF: project, ``-P``).
    jobs : int
        Number of jobs submitted (the cluster is scaled to this many).
    cores : int
        CPU cores per job.
    processes : int, optional
        Dask workers per job, each with one thread (one Brian2 simulation at a
        time); default ``cores``.
    memory : str
        Memory per job, e.g. ``"4GB"`` (shared by its workers).
    walltime : str
        Time limit per job, ``"HH:MM:SS"`` (or ``D-HH:MM:SS`` on SLURM).
    job_directives : list of str
        Extra scheduler directives, written after ``#SBATCH``/``#PBS``/...,
        e.g. ``["--exclusive", "--constraint=avx2"]``.
    prologue : list of str
        Shell lines run in each job before the workers start (``module load``,
        ``source venv/bin/activate``, ``export ...``).
    shared_directory : str
        Directory on a filesystem that the submitting machine and every node
        see: the shared Cython cache (``cython/``) and the job logs
        (``logs/``). ``~`` is expanded. Default ``~/.cache/hippo_dam/cluster``.
    local_directory : str
        Where each job puts its private worker directories (node-local disk);
        expanded by the job's shell, so ``$TMPDIR`` works. Default
        ``${TMPDIR:-/tmp}/hippo_dam``.
    interface : str, optional
        Network interface of the scheduler and workers (``"ib0"``, ``"eth0"``;
        ``"lo"`` on a single machine).
    python : str, optional
        Python interpreter on the nodes (default: the submitting one).
    job_name : str
        Job name shown by ``squeue``/``qstat``.
    death_timeout_s : float
        Seconds a worker waits for the scheduler before giving up.
    """

    kind: str = "slurm"
    queue: str | None = None
    account: str | None = None
    jobs: int = 1
    cores: int = 1
    processes: int | None = None
    memory: str = "2GB"
    walltime: str = "01:00:00"
    job_directives: list = field(default_factory=list)
    prologue: list = field(default_factory=list)
    shared_directory: str = "~/.cache/hippo_dam/cluster"
    local_directory: str = "${TMPDIR:-/tmp}/hippo_dam"
    interface: str | None = None
    python: str | None = None
    job_name: str = "hippo-dam-sweep"
    death_timeout_s: float = 60.0

    def __post_init__(self):
        self._check()

    @classmethod
    def from_dict(cls, table, where="[cluster]"):
        """A spec from a dict (a sweep file's ``[cluster]`` table); unknown keys are errors naming them."""
        if isinstance(table, cls):
            return table
        if not isinstance(table, dict):
            raise TypeError(f"{where} must be a table (dict) of cluster settings, got {type(table).__name__}")
        table = dict(table)
        if "partition" in table:
            if "queue" in table:
                raise ValueError(f"{where}: give either 'queue' or 'partition' (its SLURM name), not both")
            table["queue"] = table.pop("partition")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known | {'partition'})}")
        try:
            return cls(**table)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{where}: {err}") from None

    def _check(self):
        if self.kind not in JOBQUEUE_KINDS:
            raise ValueError(f"kind must be one of {sorted(JOBQUEUE_KINDS)}, got {self.kind!r}")
        for name in ("jobs", "cores"):
            check_count(getattr(self, name), name)
        if self.processes is not None:
            check_count(self.processes, "processes")
            if self.processes > self.cores:
                raise ValueError(f"processes = {self.processes} exceeds cores = {self.cores}: every worker "
                                 "needs a core of its own (one Brian2 simulation per process)")
        for name in ("queue", "account", "interface", "python"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        for name in ("memory", "walltime", "shared_directory", "local_directory", "job_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if not _MEMORY.match(self.memory):
            raise ValueError(f"memory must be an amount such as '4GB' or '500MB', got {self.memory!r}")
        if not _WALLTIME.match(self.walltime):
            raise ValueError(f"walltime must be 'HH:MM:SS' (or 'D-HH:MM:SS'), got {self.walltime!r}")
        if not re.match(r"^[A-Za-z0-9_.-]+$", self.job_name):
            raise ValueError(f"job_name may hold letters, digits, '_', '.', '-' only, got {self.job_name!r}")
        for name in ("job_directives", "prologue"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a list of strings, got {value!r}")
        if isinstance(self.death_timeout_s, bool) or not isinstance(self.death_timeout_s, numbers.Real) \
                or not self.death_timeout_s > 0:
            raise ValueError(f"death_timeout_s must be a positive number of seconds, got {self.death_timeout_s!r}")

    @property
    def shared_path(self):
        """``shared_directory`` with ``~`` expanded, as a Path."""
        return Path(os.path.expanduser(self.shared_directory))

    def cluster_kwargs(self):
        """Keyword arguments of the dask_jobqueue cluster class (its job script follows from them)."""
        shared = self.shared_path.resolve()
        prologue = [f"export HIPPO_DAM_SHARED_CACHE={_shell_quote(str(shared))}",
                    f'export HIPPO_DAM_WORKER_CACHE="{self.local_directory}"', *self.prologue]
        kwargs = dict(cores=self.cores, processes=self.processes or self.cores, memory=self.memory,
                      walltime=self.walltime, job_extra_directives=list(self.job_directives),
                      job_script_prologue=prologue, log_directory=str(shared / "logs"),
                      python=self.python or sys.executable, job_name=self.job_name,
                      death_timeout=float(self.death_timeout_s), silence_logs="error",
                      scheduler_options={"dashboard_address": ":0"})
        for name in ("queue", "account", "interface"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        if self.kind in ("sge", "lsf") and "account" in kwargs:  # their job classes call it project (-P)
            kwargs["project"] = kwargs.pop("account")
        return kwargs

    def make_cluster(self):
        """Start (not yet scale) the dask_jobqueue cluster; ImportError naming the extra without it."""
        dask_jobqueue = _import_dask_jobqueue()
        (self.shared_path / "cython").mkdir(parents=True, exist_ok=True)
        (self.shared_path / "logs").mkdir(parents=True, exist_ok=True)
        return getattr(dask_jobqueue, JOBQUEUE_KINDS[self.kind])(**self.cluster_kwargs())

    def job_script(self):
        """The job script the cluster submits (starts and closes a cluster with no jobs to render it)."""
        cluster = self.make_cluster()
        try:
            return cluster.job_script()
        finally:
            from distributed.core import Status

            _mark_refused(cluster.workers, Status.failed)
            cluster.close()


def _import_dask_jobqueue():
    """``import dask_jobqueue``, keeping Ctrl-C a KeyboardInterrupt.

    dask_jobqueue (0.9) replaces the SIGINT handler at import with one that
    calls ``sys.exit()``: an interrupted sweep would exit with status 0 as if
    it had succeeded. The handler in place before the import is put back.
    """
    before = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    try:
        import dask_jobqueue
    except ImportError:
        raise ImportError("sweeps on a batch scheduler need dask-jobqueue: pip install 'hippo_dam[cluster]'") \
            from None
    finally:
        if before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)
    return dask_jobqueue


def _shell_quote(text):
    import shlex

    return shlex.quote(text)


def _mark_refused(jobs, failed):
    """Mark jobs the submit command refused (no job id) as failed, so that closing the cluster accepts them.

    A function of its own so that no loop variable keeps a Job alive in the
    caller: the cluster checks the status of every Job still referenced when
    it closes, and dask-jobqueue's ``Job.close`` cancels the job without
    setting it.
    """
    for job in jobs.values():
        if not getattr(job, "job_id", None):
            job.status = failed
