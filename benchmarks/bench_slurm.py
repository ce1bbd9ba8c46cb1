"""Wall time of a 40-point Brian2 recall sweep on SLURM jobs against a LocalCluster, in the same run.

How to run (from the repository root, as root: it starts the local SLURM)::

    python benchmarks/bench_slurm.py                 # 40 points, 2 jobs x 1 core vs 2 local workers
    python benchmarks/bench_slurm.py --repeats 3 --jobs 2 --out /tmp/bench

The sweep is the one of ``tests/test_sweep_slurm.py``: model B recalls
(``hippo_dam.recall_point``, N_f = 32, 8 patterns, 20 ms) on
beta x flip = 5 x 4 x 2 seeds = 40 points. Both backends get the same two
single-threaded worker processes:

* ``slurm``: ``run_sweep(..., cluster=ClusterSpec(jobs=2, cores=1))`` on the
  single-node SLURM of ``scripts/slurm_local.sh`` (started here if needed):
  submitting the jobs, waiting for them to start, their workers importing
  brian2 and connecting, then cancelling them are all inside the time;
* ``local``: ``run_sweep(..., n_workers=2)`` (a ``distributed.LocalCluster``
  started and closed inside the time).

The SLURM jobs' shells renice themselves to this process's niceness (slurmd
starts them at 0), so that under ``nice -n 10`` both get the same share of the
shared machine.

Each repeat runs both, in alternating order, with a fresh store (nothing
resumed) and warm Cython caches (one warm-up point first). ``wall_s`` is the
time around ``run_sweep``; ``point_s_sum`` the summed wall time of the point
functions; ``overhead_s = wall_s - point_s_sum / 2`` (2 workers) is what
starting and stopping the workers costs beyond the computation;
``first_point_start_s`` is when the first point began, counted from the call
(submitting the jobs / spawning the workers, their start-up and brian2 import).
With the kernel's autogroup scheduling on (recorded), each SLURM job runs in a
session of its own and so gets a CPU share of its own on a loaded machine, while
the LocalCluster workers share the benchmark's session's share: under load the
per-point times of the two backends differ for that reason. Writes
``results_slurm.csv``, ``results_slurm.md`` and ``results_slurm.json`` to
``--out`` (default: benchmarks/).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# load_1min: the machine's 1-minute load average when a run started (2 cores, shared)
GRID = {"beta": [0.5, 1.0, 2.0, 4.0, 8.0], "flip": [0.1, 0.2, 0.3, 0.4]}
SEEDS = [0, 1]
FIXED = {"model": "B", "n_features": 32, "n_patterns": 8, "duration_ms": 20.0}


def _run(backend, jobs, scratch):
    import functools

    import hippo_dam as hd

    function = functools.partial(hd.recall_point, **FIXED)
    store = tempfile.mkdtemp(prefix=f"store_{backend}_", dir=scratch)
    if backend == "slurm":
        spec = hd.ClusterSpec(jobs=jobs, cores=1, memory="2GB", walltime="00:30:00", queue="debug", interface="lo",
                              job_name="hd-bench-slurm", shared_directory=os.path.join(scratch, "shared"),
                              local_directory=os.path.join(scratch, "local"),
                              prologue=[f"renice -n {os.nice(0)} -p $$ >/dev/null"])  # as niced as local workers
        kwargs = {"cluster": spec}
    else:
        kwargs = {"n_workers": jobs}
    load = os.getloadavg()[0]
    t_start = _dt.datetime.now(_dt.timezone.utc)
    start = time.perf_counter()
    ds = hd.run_sweep(function, GRID, seeds=SEEDS, store=store, progress=False, **kwargs)
    wall = time.perf_counter() - start
    if ds.attrs["n_failed"]:
        raise RuntimeError(f"{backend}: {ds.attrs['n_failed']} points failed: {ds['error'].values.ravel()[:3]}")
    records = [json.loads(open(os.path.join(store, "points", f)).read()) for f in os.listdir(os.path.join(store, "points"))]
    point_sum = float(np.sum(ds["point_wall_time_s"].values))
    # the first point's start, from its record (finished, 1 s resolution, minus its wall time)
    first = min(_dt.datetime.fromisoformat(r["finished"]).timestamp() - r["wall_time_s"] for r in records)
    row = {"backend": backend, "workers": jobs, "n_points": int(ds.attrs["n_points"]), "wall_s": round(wall, 2),
           "point_s_sum": round(point_sum, 2), "point_s_median": round(float(np.median(ds["point_wall_time_s"])), 3),
           "overhead_s": round(wall - point_sum / jobs, 2),
           "first_point_start_s": round(first - t_start.timestamp(), 1),
           "n_success": int(ds["success"].sum()), "load_1min": round(load, 1),
           "job_ids": sorted({r["job_id"] for r in records if r.get("job_id")}, key=int)}
    if backend == "slurm":
        runs = json.load(open(os.path.join(store, "cluster", "jobs.json")))
        row["job_script"] = runs[0]["job_script"]
    return row, ds


def _autogroup():
    """The kernel's autogroup setting: 1 gives every session (each SLURM job) its own CPU share."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as fh:
            return int(fh.read())
    except OSError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="SLURM jobs (1 core each) = LocalCluster workers")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)

    os.environ["PYTHONPATH"] = os.pathsep.join([ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                                         else []))
    started = subprocess.run(["bash", os.path.join(ROOT, "scripts", "slurm_local.sh"), "start"],
                             capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"bench_slurm: SLURM could not be started: {started.stdout}{started.stderr}")
    import hippo_dam as hd

    hd.recall_point(0, beta=1.0, flip=0.1, **FIXED)  # warm the Cython cache
    rows, values = [], {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_slurm_") as scratch:
        for rep in range(args.repeats):
            for backend in (("slurm", "local") if rep % 2 == 0 else ("local", "slurm")):
                row, ds = _run(backend, args.jobs, scratch)
                row["repeat"] = rep
                rows.append(row)
                values.setdefault(backend, ds[["success", "hamming", "energy_drop"]])
                print(f"{backend:6s} repeat {rep}: {row['wall_s']:.1f} s for {row['n_points']} points "
                      f"(points {row['point_s_sum']:.1f} s in all, overhead {row['overhead_s']:.1f} s)", flush=True)
    same = bool((values["slurm"] == values["local"]).to_array().all()) if len(values) == 2 else None
    summary = {}
    for backend in ("slurm", "local"):
        walls = [r["wall_s"] for r in rows if r["backend"] == backend]
        over = [r["overhead_s"] for r in rows if r["backend"] == backend]
        first = [r["first_point_start_s"] for r in rows if r["backend"] == backend]
        summary[backend] = {"wall_s_median": round(float(np.median(walls)), 2), "wall_s_min": min(walls),
                            "overhead_s_median": round(float(np.median(over)), 2),
                            "first_point_start_s_median": round(float(np.median(first)), 1)}
    summary["slurm_minus_local_s"] = round(summary["slurm"]["wall_s_median"] - summary["local"]["wall_s_median"], 2)
    summary["slurm_over_local"] = round(summary["slurm"]["wall_s_median"] / summary["local"]["wall_s_median"], 3)
    summary["same_results"] = same
    command = "python benchmarks/bench_slurm.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    slurm_version = subprocess.run(["slurmctld", "-V"], capture_output=True, text=True).stdout.strip()
    meta = {"command": command.strip(), "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "total_s": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(), "python": platform.python_version(),
            "slurm": slurm_version, "grid": GRID, "seeds": SEEDS, "fixed": FIXED,
            "machine": "shared 2-core machine (other engineers' jobs ran at the same time)",
            "niceness": os.nice(0), "sched_autogroup": _autogroup()}
    os.makedirs(args.out, exist_ok=True)
    fields = ["repeat", "backend", "workers", "n_points", "wall_s", "point_s_sum", "point_s_median", "overhead_s",
              "first_point_start_s", "n_success", "load_1min", "job_ids"]
    with open(os.path.join(args.out, "results_slurm.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "job_ids": " ".join(row["job_ids"])})
    with open(os.path.join(args.out, "results_slurm.json"), "w") as fh:
        json.dump({"meta": meta, "summary": summary, "rows": rows}, fh, indent=1)
        fh.write("\n")
    lines = ["# 40-point sweep: SLURM jobs vs LocalCluster", "",
             f"Generated by `{meta['command']}` on {meta['date']} ({meta['slurm']}, single node, "
             f"{meta['cpus']} CPUs, {meta['machine']}; total {meta['total_s']} s).", "",
             f"Median wall time: SLURM {summary['slurm']['wall_s_median']} s, LocalCluster "
             f"{summary['local']['wall_s_median']} s (SLURM - local = {summary['slurm_minus_local_s']} s, "
             f"ratio {summary['slurm_over_local']}); identical results: {same}.", "",
             "| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    for row in rows:
        lines.append("| " + " | ".join(" ".join(row[f]) if f == "job_ids" else str(row[f]) for f in fields) + " |")
    with open(os.path.join(args.out, "results_slurm.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
