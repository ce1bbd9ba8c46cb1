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

import contextlib
import datetime as _dt
import json
import numbers
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
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


# -- a cluster for the length of one sweep ---------------------------------------------------
class _JobWatch:
    """Follows the jobs of a running jobqueue cluster: which connected, which ended."""

    def __init__(self, spec, cluster, client):
        self.spec, self.cluster, self.client = spec, cluster, client
        self.seen = set()  # job names whose workers connected at some point
        self.jobs = {}  # job name -> job id
        self._last = 0.0

    def _update_jobs(self):
        for name, job in list(self.cluster.workers.items()):
            if getattr(job, "job_id", None):
                self.jobs[name] = str(job.job_id)

    def connected(self):
        """Names of the jobs with a worker connected now."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {}).values()
        names = {str(w.get("name", "")) for w in workers}
        self._update_jobs()
        live = {job for job in self.jobs if any(n == job or n.startswith(f"{job}-") for n in names)}
        self.seen |= live
        return live

    def ran(self, job_id):
        """Note that the job ``job_id`` computed a point (its worker connected, though maybe between two looks)."""
        if job_id is None:
            return
        self._update_jobs()
        self.seen |= {name for name, jid in self.jobs.items() if jid == str(job_id)}

    def queued(self):
        """Job ids still in the batch queue (pending or running); None where the kind cannot be asked."""
        if self.spec.kind != "slurm" or not self.jobs:
            return None
        try:
            out = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(self.jobs.values())],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0 and "Invalid job id" not in out.stderr:
            return None
        return {line.strip() for line in out.stdout.split()}

    def check(self, n_pending):
        """Raise RuntimeError when every job has ended while ``n_pending`` points remain (every few seconds)."""
        now = time.monotonic()
        if now - self._last < _CHECK_EVERY_S:
            return
        self._last = now
        live = self.connected()  # also learns the job ids of newly submitted jobs
        queued = self.queued()
        if queued is None:  # no queue to ask: all jobs have connected once and left
            ended = not live and bool(self.jobs) and self.seen == set(self.jobs)
        else:  # the batch system's word: none of the sweep's jobs is pending or running. The scheduler may
            # list a cancelled job's worker for minutes (until its heartbeat times out), so it is not asked.
            ended = bool(self.jobs) and not (queued & set(self.jobs.values()))
        if ended:
            raise RuntimeError(
                f"all {len(self.jobs)} {self.spec.kind.upper()} jobs of the sweep ended (cancelled, out of "
                f"walltime or failed: job ids {sorted(self.jobs.values(), key=int)}) with {n_pending} points "
                f"still to run; the finished points are in the store, rerun the sweep to resume; job logs in "
                f"{self.spec.shared_path / 'logs'}")

    def report(self, store):
        """Write ``store/cluster/jobs.json`` (appended) and copy failed jobs' logs to ``store/cluster/failed_jobs``."""
        from .store import _write_atomic

        with contextlib.suppress(Exception):  # the scheduler may be gone already
            self.connected()
        self._update_jobs()
        queued = self.queued() or set()
        logs = self.spec.shared_path / "logs"
        jobs = []
        failed_dir = Path(store) / "cluster" / "failed_jobs"
        for name, job_id in sorted(self.jobs.items(), key=lambda kv: int(kv[1]) if kv[1].isdigit() else 0):
            files = _job_logs(logs, job_id)
            if name in self._live_at_end:
                state = "running at the end of the sweep"
            elif name in self.seen:
                state = "ended during the sweep"
            elif job_id in queued:
                state = "still queued at the end of the sweep"
            elif files:
                state = "ended before its worker connected"
            else:
                state = "never started"
            failed = state in ("ended during the sweep", "ended before its worker connected")
            copied = []
            if failed:
                failed_dir.mkdir(parents=True, exist_ok=True)
                for f in files:
                    shutil.copy2(f, failed_dir / f.name)
                    copied.append(str((failed_dir / f.name).relative_to(store)))
            jobs.append({"name": name, "job_id": job_id, "state": state, "failed": failed,
                         "logs": [str(f) for f in files], "logs_in_store": copied})
        path = Path(store) / "cluster" / "jobs.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        runs = json.loads(path.read_text()) if path.exists() else []
        runs.append({"kind": self.spec.kind, "started": self.started, "ended": _now(),
                     "spec": {f.name: getattr(self.spec, f.name) for f in fields(self.spec)},
                     "job_script": self.job_script, "jobs": jobs})
        _write_atomic(path, json.dumps(runs, indent=1) + "\n")
        return jobs

    _live_at_end = frozenset()
    started = ""
    job_script = ""


def _job_logs(logs, job_id):
    """The log files of one job: names holding its id as a whole number (``name-123.err``, ``name.o123``)."""
    if not logs.is_dir():
        return []
    pattern = re.compile(rf"(^|\D){re.escape(job_id)}(\D|$)")
    return sorted(f for f in logs.iterdir() if f.is_file() and pattern.search(f.name))


def _now():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _check_submitted(spec, cluster, script, timeout_s=120.0):
    """Wait until every job is submitted; RuntimeError if a submission was refused (bad queue, account, limits).

    dask-jobqueue submits in its event loop and only logs a refused
    submission, after which the sweep would wait for workers for ever. A
    refused SLURM job script is passed to ``sbatch --test-only`` for
    SLURM's own message.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = list(cluster.workers.values())
        if len(jobs) >= spec.jobs:
            break
        time.sleep(0.1)
    missing = [name for name, job in cluster.workers.items() if not getattr(job, "job_id", None)]
    if not missing and len(cluster.workers) >= spec.jobs:
        return
    why = "the submit command's error is logged above"
    if spec.kind == "slurm" and shutil.which("sbatch"):
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".sh") as fh:
            fh.write(script)
            fh.flush()
            out = subprocess.run(["sbatch", "--test-only", fh.name], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            why = (out.stderr or out.stdout).strip()
    raise RuntimeError(f"{len(missing) or spec.jobs} of {spec.jobs} {spec.kind.upper()} job submissions failed: {why}")


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


@contextlib.contextmanager
def _jobqueue_client(spec, store):
    """Start the spec's cluster, scale it, yield ``(client, watch)``; always report and close it."""
    from distributed import Client

    started = _now()
    cluster = spec.make_cluster()
    watch = None
    try:
        script = cluster.job_script()
        cluster.scale(jobs=spec.jobs)
        _check_submitted(spec, cluster, script)
        with Client(cluster) as client:
            watch = _JobWatch(spec, cluster, client)
            watch.started, watch.job_script = started, script
            try:
                yield client, watch
            finally:
                with contextlib.suppress(Exception):
                    watch._live_at_end = frozenset(watch.connected())
    finally:
        try:
            if watch is not None:
                watch.report(store)
        finally:
            from distributed.core import Status

            job_ids = _job_ids(cluster, watch)
            _mark_refused(cluster.workers, Status.failed)
            try:
                cluster.close(timeout=_CLOSE_TIMEOUT_S)
            except Exception as err:  # noqa: BLE001  (a cluster that cannot close must not keep the sweep)
                print(f"hippo_dam: closing the {spec.kind.upper()} cluster failed or took over "
                      f"{_CLOSE_TIMEOUT_S:.0f} s ({type(err).__name__}: {err}); cancelling its jobs directly",
                      file=sys.stderr)
            finally:
                _cancel_jobs(cluster, job_ids)


def _job_ids(cluster, watch):
    """Every job id the sweep submitted (the watch's record, plus any the cluster still lists)."""
    ids = set(watch.jobs.values()) if watch is not None else set()
    ids |= {str(job.job_id) for job in list(cluster.workers.values()) if getattr(job, "job_id", None)}
    return sorted(ids)


def _cancel_jobs(cluster, job_ids):
    """Cancel the jobs with the batch system's own command (scancel, qdel, bkill): none outlives its sweep.

    The cluster's close cancels them too; this second, bounded call covers a
    close that failed or hung, and a cancel command whose failure dask-jobqueue
    ignores. Cancelling a job that has ended is harmless.
    """
    import shlex

    command = getattr(getattr(cluster, "job_cls", None), "cancel_command", None)
    if not job_ids or not command:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(shlex.split(command) + list(job_ids), capture_output=True, timeout=30)
