"""A dask-jobqueue cluster for the length of one sweep: submitting, watching and cancelling its jobs.

:func:`_jobqueue_client` starts the cluster a :class:`~hippo_dam.sweeps.cluster.ClusterSpec`
describes, checks every job was submitted, follows which jobs connected and
which ended (:class:`_JobWatch`: a sweep whose jobs have all ended stops with
an error instead of waiting), writes ``cluster/jobs.json`` and the failed
jobs' logs into the store, and closes the cluster, cancelling every job with
the batch system's own command, however the sweep ends.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

from .cluster import _CHECK_EVERY_S, _CLOSE_TIMEOUT_S, _mark_refused

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
