"""Sweeps on a real SLURM (slurmctld + slurmd on this machine, scripts/slurm_local.sh): jobs, scancel, resume.

The module starts the single-node SLURM with ``scripts/slurm_local.sh start``
(root only; CI installs it first with ``scripts/slurm_local.sh install``) and
skips, saying why, where that is not possible.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hippo_dam as hd
from hippo_dam.sweeps.engine import load_sweep

# One xdist worker runs this module (setup.cfg: --dist loadgroup): the tests share one
# single-node SLURM, and jobs of two workers' sweeps would wait on each other's CPUs.
pytestmark = pytest.mark.xdist_group("slurm")

HERE = Path(__file__).parent
ROOT = HERE.parent
SCRIPT = ROOT / "scripts" / "slurm_local.sh"

# 5 x 4 x 2 = 40 real Brian2 recalls (small networks: about 0.5 s each)
GRID = {"beta": [0.5, 1.0, 2.0, 4.0, 8.0], "flip": [0.1, 0.2, 0.3, 0.4]}
SEEDS = [0, 1]
FIXED = {"model": "B", "n_features": 32, "n_patterns": 8, "duration_ms": 20.0}


def _start_slurm():
    """'' if SLURM is up (started here if need be), else the reason it cannot be used."""
    if shutil.which("sbatch") is None or shutil.which("slurmctld") is None:
        return "SLURM is not installed (scripts/slurm_local.sh install: apt-get install slurmctld slurmd munge)"
    if os.geteuid() != 0:
        return "starting the local SLURM (scripts/slurm_local.sh start) needs root"
    if importlib.util.find_spec("dask_jobqueue") is None:
        return "dask-jobqueue is not installed (pip install 'hippo_dam[cluster]')"
    for attempt in (1, 2):  # a second try after a pause: a controller busy for a moment is not a missing SLURM
        try:
            out = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired as err:
            return f"scripts/slurm_local.sh start did not finish in 150 s: {(err.stdout or b'')[-500:]!r}"
        if out.returncode == 0:
            return ""
        time.sleep(10)
    return f"scripts/slurm_local.sh start failed twice: {(out.stdout + out.stderr).strip()[-500:]}"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """SLURM up; jobs see this worktree's hippo_dam (sbatch passes the environment on)."""
    reason = _start_slurm()
    if reason:
        pytest.skip(f"no SLURM: {reason}")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)] + ([old] if old else []))
    yield tmp_path_factory.mktemp("slurm")
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


def _sweep_file(base, name, store, jobs=2, function="hippo_dam:recall_point"):
    """A sweep file with a [cluster] table for the local SLURM (1 core, 1 worker per job)."""
    path = base / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        [sweep]
        name = "{name}"
        function = "{function}"
        seeds = {SEEDS}
        store = "{store}"
        output = "{base / (name + '.nc')}"
        [grid]
        beta = {GRID['beta']}
        flip = {GRID['flip']}
        [fixed]
        model = "B"
        n_features = {FIXED['n_features']}
        n_patterns = {FIXED['n_patterns']}
        duration_ms = {FIXED['duration_ms']}
        [cluster]
        partition = "debug"
        jobs = {jobs}
        cores = 1
        memory = "2GB"
        walltime = "00:20:00"
        interface = "lo"
        job_name = "{name}"
        shared_directory = "{base / 'shared'}"
        local_directory = "{base / 'local'}"
    """))
    return path


_DIRECT = {}


def _direct(beta, flip, seed):
    if (beta, flip, seed) not in _DIRECT:
        _DIRECT[beta, flip, seed] = hd.recall_point(seed, beta=beta, flip=flip, **FIXED)
    return _DIRECT[beta, flip, seed]


def _check_values(ds):
    for beta in GRID["beta"]:
        for flip in GRID["flip"]:
            for seed in SEEDS:
                exp, got = _direct(beta, flip, seed), ds.sel(beta=beta, flip=flip, seed=seed)
                assert bool(got["success"]) == exp["success"] and int(got["hamming"]) == exp["hamming"]
                assert int(got["retrieved"]) == exp["retrieved"]
                assert float(got["target_overlap"]) == exp["target_overlap"]
                assert float(got["energy_drop"]) == pytest.approx(exp["energy_drop"], rel=1e-9)


def _records(store):
    return {p.name: json.loads(p.read_text()) for p in (Path(store) / "points").glob("*.json")}


def _sacct(job_ids):
    """JobID -> (JobName, State, NodeList) from SLURM's job completion log (sacct -c: no slurmdbd here)."""
    out = subprocess.run(["sacct", "-c", "-n", "-P", "-o", "JobID,JobName,State,NodeList", "-j", ",".join(job_ids)],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return {row.split("|")[0]: tuple(row.split("|")[1:]) for row in out.splitlines() if row.strip()}


def _wait_sacct(job_ids, timeout=30):
    deadline = time.time() + timeout
    while True:
        rows = _sacct(job_ids)
        if set(job_ids) <= set(rows) or time.time() > deadline:
            return rows
        time.sleep(0.5)


def test_start_twice_is_quick_and_leaves_no_lock_held(slurm):
    """A second start finds the daemons up and returns at once (no daemon inherited the script's lock)."""
    start = time.time()
    out = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "SLURM up" in out.stdout, out.stdout + out.stderr
    assert time.time() - start < 30
    lock = Path(os.environ.get("SLURM_LOCAL_ROOT", "/var/lib/hippo_dam_slurm")) / "run" / ".script.lock"
    holders = [p for p in Path("/proc").glob("[0-9]*/fd/*") if _points_to(p, lock)]
    assert not holders, f"processes hold {lock}: {holders}"


def _points_to(fd, target):
    try:
        return os.readlink(fd) == str(target)
    except OSError:
        return False


def test_forty_brian2_points_run_as_slurm_jobs(slurm):
    """`hippo-dam sweep FILE --slurm`: 40 recalls in 2 SLURM jobs, every value equal to a direct call."""
    from hippo_dam.cli import main

    store = slurm / "store40"
    path = _sweep_file(slurm, "hd-test-sweep40", store)
    assert main(["sweep", str(path), "--slurm", "--no-progress"]) == 0
    import xarray as xr

    ds = xr.load_dataset(slurm / "hd-test-sweep40.nc")
    assert ds.attrs["n_points"] == 40 and ds.attrs["n_failed"] == 0 and ds.attrs["n_resumed"] == 0
    _check_values(ds)
    assert bool(ds["success"].sel(beta=8.0, flip=0.1).all()) and bool((ds["energy_drop"] >= 0).all())

    # Evidence: the store names the SLURM job of every point; SLURM's own log agrees.
    runs = json.loads((store / "cluster" / "jobs.json").read_text())
    assert len(runs) == 1 and "#SBATCH -p debug" in runs[0]["job_script"]
    jobs = {j["job_id"]: j for j in runs[0]["jobs"]}
    assert len(jobs) == 2 and not any(j["failed"] for j in jobs.values())
    records = _records(store)
    assert len(records) == 40
    used = {r["job_id"] for r in records.values()}
    assert used <= set(jobs) and None not in used
    rows = _wait_sacct(sorted(jobs))
    for job_id in jobs:
        name, state, nodes = rows[job_id]
        assert name == "hd-test-sweep40" and nodes == os.uname().nodename.split(".")[0]
        assert state.startswith("CANCELLED") or state == "COMPLETED"  # closed by the sweep's teardown
    # Every job's worker had its own directory (Cython cache, standalone projects) named after the job.
    for job_id in used:
        dirs = list((slurm / "local").glob(f"*-job{job_id}-*"))
        assert len(dirs) == 1 and (dirs[0] / "cython").is_dir() and any((dirs[0] / "cython").glob("*.so"))
    assert not subprocess.run(["squeue", "-h", "-n", "hd-test-sweep40"], capture_output=True, text=True).stdout


def _communicate_or_dump(proc, timeout):
    """proc.communicate(); on a timeout, fail with the stacks of every thread (the CLI dumps them on SIGUSR1)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(3)
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        squeue = subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout
        pytest.fail(f"the sweep had not exited {timeout} s after scancel; squeue: {squeue!r}; its stderr "
                    f"(stacks at the end):\n{err[-12000:]}")


def test_scancel_midway_then_resume_loses_and_repeats_nothing(slurm):
    """scancel the jobs of a running sweep; it stops (exit 3); the rerun computes exactly the missing points.

    A point whose task finished just before its worker was killed is *lost* to
    the scheduler; the sweep must stop then too, not wait for its result (it
    once did: the stacks that ``_communicate_or_dump`` prints showed the sweep
    waiting in ``Future.result``).
    """
    store = slurm / "store_cancel"
    name = "hd-test-cancel"
    # point by point (no batched chunks), so that the points are stored one by one and can be cancelled between
    path = _sweep_file(slurm, name, store, function="sweep_points:recall_point_one_at_a_time")
    proc = subprocess.Popen([sys.executable, "-m", "hippo_dam.cli", "sweep", str(path), "--slurm", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if (store / "points").is_dir() and len(list((store / "points").glob("*.json"))) >= 8:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the sweep ended before it could be cancelled"
        subprocess.run(["scancel", "--name", name], check=True)
        _, err = _communicate_or_dump(proc, timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 3, err[-3000:]
    assert "rerun the sweep to resume" in err
    before = {n: p.read_bytes() for n, p in ((p.name, p) for p in (store / "points").glob("*.json"))}
    assert 8 <= len(before) < 40, f"{len(before)} points stored when cancelled"
    runs = json.loads((store / "cluster" / "jobs.json").read_text())
    first = runs[0]["jobs"]
    # A job that stored points ran during the sweep; one whose worker had not yet connected when the points
    # went fast enough to reach 8 without it (a loaded machine) ended before connecting: both failed.
    computed = {json.loads(data)["job_id"] for data in before.values()}
    assert computed and all(j["state"] == "ended during the sweep" for j in first if j["job_id"] in computed)
    assert all(j["failed"] and j["state"] in ("ended during the sweep", "ended before its worker connected")
               for j in first), first
    gathered = {Path(f).name for j in first for f in j["logs_in_store"]}
    assert gathered and all((store / "cluster" / "failed_jobs" / f).is_file() for f in gathered)
    rows = _wait_sacct([j["job_id"] for j in first])
    assert all(rows[j["job_id"]][1].startswith("CANCELLED") for j in first)
    manifest = json.loads((store / "manifest.json").read_text())

    # Resume with the same store.
    ds = load_sweep(path).run(on_cluster="slurm", progress=False)
    assert ds.attrs["n_resumed"] == len(before) and ds.attrs["n_failed"] == 0
    after = _records(store)
    assert len(after) == 40 and set(before) <= set(after)
    assert all((store / "points" / n).read_bytes() == data for n, data in before.items()), "a point was recomputed"
    runs = json.loads((store / "cluster" / "jobs.json").read_text())
    second = {j["job_id"] for j in runs[1]["jobs"]}
    assert {after[n]["job_id"] for n in set(after) - set(before)} <= second  # the rest ran in the new jobs
    assert {json.loads(data)["job_id"] for data in before.values()} <= {j["job_id"] for j in first}
    new_manifest = json.loads((store / "manifest.json").read_text())
    assert {k: new_manifest[k] for k in ("function", "grid", "seeds", "created")} == \
        {k: manifest[k] for k in ("function", "grid", "seeds", "created")}
    _check_values(ds)


def test_interrupted_sweep_cancels_its_jobs(slurm):
    """SIGINT (KeyboardInterrupt) while the jobs run: the sweep's teardown scancels every job it submitted."""
    name = "hd-test-interrupt"
    path = _sweep_file(slurm, name, slurm / "store_interrupt", jobs=1)
    proc = subprocess.Popen([sys.executable, "-m", "hippo_dam.cli", "sweep", str(path), "--slurm", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        running = ""
        while time.time() < deadline and proc.poll() is None and "R" not in running:
            running = subprocess.run(["squeue", "-h", "-n", name, "-o", "%t"], capture_output=True,
                                     text=True).stdout
            time.sleep(0.2)
        assert "R" in running and proc.poll() is None, "no job of the sweep was running"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "interrupted" in err, err[-3000:]  # not dask_jobqueue's exit(0) on SIGINT
    left = subprocess.run(["squeue", "-h", "-n", name], capture_output=True, text=True).stdout
    assert left == "", f"jobs left in the queue after the interrupt: {left}"
    runs = json.loads((slurm / "store_interrupt" / "cluster" / "jobs.json").read_text())
    assert len(runs) == 1 and len(runs[0]["jobs"]) == 1


def test_refused_submission_is_an_error_not_a_hang(slurm, capsys):
    """A partition SLURM does not have: sbatch refuses, the sweep stops with SLURM's message."""
    from hippo_dam.cli import main

    path = _sweep_file(slurm, "hd-test-refused", slurm / "store_refused")
    path.write_text(path.read_text().replace('partition = "debug"', 'partition = "no_such_partition"'))
    start = time.time()
    assert main(["sweep", str(path), "--slurm", "--no-progress"]) == 3
    assert "job submissions failed" in capsys.readouterr().err and time.time() - start < 60
    assert not (slurm / "store_refused" / "points").exists() or not any((slurm / "store_refused" / "points").iterdir())


def test_cluster_table_errors(tmp_path):
    base = _sweep_file(tmp_path, "errs", tmp_path / "store").read_text()
    cases = {
        "unknown key": (base.replace("cores = 1", "cpus = 1"), r"\[cluster\]: unknown key\(s\) \['cpus'\]"),
        "queue and partition": (base.replace('partition = "debug"', 'partition = "debug"\nqueue = "x"'),
                                "either 'queue' or 'partition'"),
        "bad jobs": (base.replace("jobs = 2", "jobs = 0"), "jobs must be a whole number >= 1"),
        "bad walltime": (base.replace('"00:20:00"', '"20 minutes"'), "walltime must be 'HH:MM:SS'"),
        "bad memory": (base.replace('"2GB"', '"lots"'), "memory must be an amount"),
        "bad kind": (base.replace("[cluster]", '[cluster]\nkind = "k8s"'), "kind must be one of"),
        "processes > cores": (base.replace("cores = 1", "cores = 1\nprocesses = 2"), "exceeds cores"),
        "directives": (base.replace("cores = 1", 'cores = 1\njob_directives = "--exclusive"'),
                       "job_directives must be a list of strings"),
    }
    for label, (text, match) in cases.items():
        path = tmp_path / f"{label.replace(' ', '_')}.toml"
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            load_sweep(path)
    good = tmp_path / "good.toml"
    good.write_text(base.replace('[cluster]', '[cluster]\nkind = "pbs"'))
    with pytest.raises(ValueError, match="kind is 'pbs', not 'slurm'"):
        load_sweep(good).run(on_cluster="slurm")
    with pytest.raises(ValueError, match="cluster= starts its own"):
        hd.run_sweep(hd.recall_point, {"flip": [0.1]}, cluster={"jobs": 1}, n_workers=2)


def test_job_scripts_of_the_four_batch_systems(tmp_path):
    """One spec, four job classes: the directives each scheduler needs, and the worker set-up lines."""
    if importlib.util.find_spec("dask_jobqueue") is None:
        pytest.skip("dask-jobqueue is not installed (pip install 'hippo_dam[cluster]')")
    spec = dict(queue="short", jobs=3, cores=2, memory="4GB", walltime="01:30:00", interface="lo",
                job_directives=[], prologue=["module load python"], shared_directory=str(tmp_path / "shared"),
                account="neuro")
    expect = {"slurm": ["#SBATCH -p short", "#SBATCH --cpus-per-task=2", "#SBATCH -t 01:30:00", "#SBATCH -A neuro"],
              "pbs": ["#PBS -q short", "#PBS -l walltime=01:30:00", "#PBS -A neuro"],
              "sge": ["#$ -q short", "#$ -l h_rt=01:30:00", "#$ -P neuro"],
              "lsf": ["#BSUB -q short", "#BSUB -W 01:30", '#BSUB -P "neuro"']}
    for kind, lines in expect.items():
        script = hd.ClusterSpec(kind=kind, **spec).job_script()
        for line in lines + [f"export HIPPO_DAM_SHARED_CACHE={tmp_path / 'shared'}", "module load python",
                             "--nthreads 1", "--nworkers 2"]:
            assert line in script, f"{kind}: {line!r} missing from\n{script}"
    assert (tmp_path / "shared" / "cython").is_dir() and (tmp_path / "shared" / "logs").is_dir()


def test_worker_publishes_compiled_extensions_to_the_shared_cache(tmp_path):
    from hippo_dam.sweeps._worker import _publish_cache

    cache, shared = tmp_path / "cache", tmp_path / "shared" / "cython"
    cache.mkdir()
    (cache / "seeded.so").write_bytes(b"old")
    (cache / "new.so").write_bytes(b"compiled here")
    (cache / "new.lock").write_text("")
    assert _publish_cache(cache, shared, skip={"seeded.so"}) == ["new.so"]
    assert sorted(p.name for p in shared.iterdir()) == ["new.so"] and (shared / "new.so").read_bytes() == b"compiled here"
    assert _publish_cache(cache, shared, skip={"seeded.so"}) == []  # already there
    assert _publish_cache(cache, None) == []


def test_failed_job_logs_are_found_by_job_id(tmp_path):
    from hippo_dam.sweeps.jobs import _job_logs

    for name in ("sweep-12.err", "sweep-12.out", "sweep.o12", "sweep-123.out", "x-112.err"):
        (tmp_path / name).write_text("log")
    assert [f.name for f in _job_logs(tmp_path, "12")] == ["sweep-12.err", "sweep-12.out", "sweep.o12"]
    assert _job_logs(tmp_path / "missing", "12") == []
