"""Per-Euler-step time and peak memory of one recall: numpy reference vs Brian2 (runtime Cython).

How to run (from the repository root)::

    python benchmarks/bench_core.py                      # N_f = N_h = 1024 and 4096 (a few minutes)
    python benchmarks/bench_core.py --sizes 1024 4096 2048
    python benchmarks/bench_core.py --quick              # smoke test: N = 128, few steps (~1 min)
    python benchmarks/bench_core.py --out /tmp/bench     # write the results elsewhere
    python benchmarks/bench_core.py --no-model-b         # model A only
    python benchmarks/bench_core.py --blas-threads 1     # pin OpenBLAS to one thread (Brian2 is serial)

Paths measured, each at N_f = N_h = N with random +-1 patterns
(``random_patterns(N, N, seed=0)``) and the cue ``flip_cue(xi[0], 0.2, seed=1)``:

* ``numpy``            ``euler_reference(xi, sign, rectified_power(3), ...)``, float64,
                       two BLAS matrix-vector products per step (model A);
* ``brian2_cython``    ``DenseAssociativeMemory(xi, 'sign', rectified_power(3), record_every=None)``
                       ``.recall(cue, duration=n*dt)``, runtime Cython (the package default);
* ``numpy_B``, ``brian2_cython_B``  the same for model B (features 'identity',
                       memories log_sum_exp(beta=1)).

Every (path, size) runs in its own fresh subprocess (this script called with
``--worker``), so that its peak memory is its own: ``peak_mib`` is the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) minus the RSS right after the
imports (numpy, brian2, hippo_dam). ``xi_mib`` is the size of one float64 copy
of ``xi`` for comparison. ``xi`` itself is counted in ``peak_mib`` (the caller
holds it), but the temporaries of ``random_patterns`` (an int64 index array as
large as xi) are not: after generating xi and the cue the worker resets the
kernel's peak-RSS mark (``/proc/self/clear_refs`` <- 5, which ru_maxrss follows;
column ``hwm_reset``). ``setup_peak_mib`` is the peak before that reset.

Timing excludes compilation and network construction: each worker first runs a
short warm-up recall (Brian2: builds the Network, compiles or loads the Cython
code, ``store``s it; later recalls ``restore`` it), then times 3 recalls of
``n`` steps (median; Brian2 ``n`` = 1000 steps up to N = 1024, 200 up to 4096,
50 above; numpy: as many as needed for >= ~1 s). ``ms_per_step`` = recall wall
time / n, which for Brian2 still contains the fixed per-recall cost
(``restore``, code-object creation, reading the final state back). That fixed
cost is measured separately with 3 short recalls of ``n_short`` steps:
``overhead_ms`` is its estimate and ``ms_per_step_marginal`` =
(T(n) - T(n_short)) / (n - n_short) is the cost of one more Euler step.

``ratio_vs_numpy`` divides ``ms_per_step`` by that of the numpy row of the same
size *and model* (``numpy`` for model A, ``numpy_B`` for model B), measured in
the same run, so the ratio is meaningful even on a noisy, shared machine.

The Cython cache: brian2 2.8 has no environment variable for it; its location
is ``prefs.codegen.runtime.cython.cache_dir`` (default ``~/.cython/brian_extensions``).
A fresh per-process directory would force a full recompile in every worker, so
the default cache is kept: it is keyed by the generated code (not by N) and is
protected by per-module file locks, so sequential or concurrent runs share it
safely. Compilation happens in the untimed warm-up anyway.

Outputs in ``--out`` (default: ``benchmarks/``): ``results_core.csv``,
``results_core.md`` (table + machine info), ``bench_core.png`` and
``results_core.json`` (everything measured; ``--replot`` redraws md and png from it).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

MODELS = {
    "A": ("sign", {"name": "rectified_power", "degree": 3}),
    "B": ("identity", {"name": "log_sum_exp", "beta": 1.0}),
}
PATHS = {  # path name -> (engine, model)
    "numpy": ("numpy", "A"),
    "brian2_cython": ("brian2", "A"),
    "numpy_B": ("numpy", "B"),
    "brian2_cython_B": ("brian2", "B"),
}
COLUMNS = ["path", "n_features", "n_memories", "dtype", "ms_per_step", "peak_mib", "xi_mib", "ratio_vs_numpy",
           "model", "n_steps", "ms_per_step_marginal", "overhead_ms", "rss_end_mib", "setup_peak_mib",
           "hwm_reset", "hamming_to_target", "repeats_ms_per_step"]


# --------------------------------------------------------------------------- worker (one subprocess)
def _rss_mib():
    """Current resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mib():
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def _reset_peak_rss():
    """Linux >= 4.0: writing 5 to /proc/self/clear_refs resets VmHWM (and ru_maxrss) to VmRSS."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def brian_steps(n):
    return 1000 if n <= 1024 else 200 if n <= 4096 else 50


def worker(path, n, n_steps, n_short, repeats, min_seconds):
    """Measure one (path, size); returns a dict (printed as JSON by main)."""
    import numpy as np
    from brian2 import ms, prefs

    import hippo_dam
    from hippo_dam import make_lagrangian

    baseline = _rss_mib()  # Python + numpy + brian2 + hippo_dam, before any data
    engine, model = PATHS[path]
    feat, mem = MODELS[model]
    xi = hippo_dam.random_patterns(n, n, seed=0)
    cue, _ = hippo_dam.flip_cue(xi[0], 0.2, seed=1)
    dt, tau_f, tau_h = 0.1 * ms, 20 * ms, 2 * ms
    out = {"path": path, "model": model, "n_features": n, "n_memories": n,
           "xi_mib": xi.nbytes / 2**20, "baseline_mib": baseline,
           "setup_peak_mib": _maxrss_mib() - baseline}  # includes random_patterns' own temporaries
    # Reset the peak-RSS high-water mark (ru_maxrss follows it) to the current RSS, xi included,
    # so that peak_mib is the recall's and not random_patterns' int64 index temporary (~1 xi).
    out["hwm_reset"] = _reset_peak_rss()

    if engine == "numpy":
        Lv, Lh = make_lagrangian(feat), make_lagrangian(mem)
        v0, h0 = np.asarray(cue, float), np.zeros(n)

        def run(k):
            t0 = time.perf_counter()
            v, h = hippo_dam.euler_reference(xi, Lv, Lh, tau_f, tau_h, v0, h0, dt, k, record=False)
            return time.perf_counter() - t0, v

        run(10)  # warm-up: BLAS threads, page faults
        t_est, _ = run(50)
        n_steps = max(n_steps, math.ceil(min_seconds / (t_est / 50)))
        timings = [run(n_steps) for _ in range(repeats)]
        v_final = timings[-1][1]
        times = [t for t, _ in timings]
        short = [run(n_short)[0] for _ in range(repeats)]
        out["dtype"] = str(np.result_type(xi, v0))
    else:
        dam = hippo_dam.DenseAssociativeMemory(xi, feat, mem, tau_f=tau_f, tau_h=tau_h, dt=dt, record_every=None)

        def run(k):
            t0 = time.perf_counter()
            res = dam.recall(cue, duration=k * dt, progress=False)
            return time.perf_counter() - t0, res.v_final

        t_build = run(n_short)[0]  # warm-up: build, compile/load Cython, store
        out["warmup_s"] = t_build
        times, v_final = [], None
        for _ in range(repeats):
            t, v_final = run(n_steps)
            times.append(t)
        short = [run(n_short)[0] for _ in range(repeats)]
        out["dtype"] = np.dtype(prefs.core.default_float_dtype).name
    t_med, t_short = statistics.median(times), statistics.median(short)
    marginal = (t_med - t_short) / (n_steps - n_short)
    out.update(
        n_steps=n_steps,
        ms_per_step=1e3 * t_med / n_steps,
        repeats_ms_per_step=" ".join(f"{1e3 * t / n_steps:.4g}" for t in times),
        ms_per_step_marginal=1e3 * marginal,
        overhead_ms=1e3 * max(t_short - n_short * marginal, 0.0),
        peak_mib=_maxrss_mib() - baseline,
        rss_end_mib=_rss_mib() - baseline,
        hamming_to_target=int(hippo_dam.hamming(v_final, xi[0])),
    )
    return out


# --------------------------------------------------------------------------- driver
def run_worker(path, n, args):
    n_steps = args.steps or (20 if args.quick else brian_steps(n))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", path, str(n), "--steps", str(n_steps),
           "--repeats", str(args.repeats), "--short", str(args.short), "--min-seconds", str(args.min_seconds)]
    env = dict(os.environ)
    if args.blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.blas_threads)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"worker {path} N={n} failed with exit code {proc.returncode}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    res["worker_wall_s"] = wall
    return res


def machine_info(args, total_s):
    import brian2
    import Cython
    import numpy as np

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    blas = "default (OpenBLAS: one thread per core)" if not args.blas_threads else str(args.blas_threads)
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "brian2": brian2.__version__,
        "cython": Cython.__version__,
        "blas_threads": blas,
        "command": "python " + " ".join([os.path.relpath(__file__)] + sys.argv[1:]),
        "total_wall_s": round(total_s, 1),
    }


def add_ratios(rows):
    ref = {(r["model"], r["n_features"]): r["ms_per_step"] for r in rows if r["path"].startswith("numpy")}
    for r in rows:
        base = ref.get((r["model"], r["n_features"]))
        r["ratio_vs_numpy"] = r["ms_per_step"] / base if base else float("nan")


def fmt(v, col):
    if isinstance(v, float):
        if col in ("ratio_vs_numpy",):
            return f"{v:.1f}"
        if col in ("peak_mib", "xi_mib", "rss_end_mib", "overhead_ms"):
            return f"{v:.1f}"
        return f"{v:.4g}"
    return str(v)


def write_csv(rows, path):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: (round(r[c], 6) if isinstance(r[c], float) else r[c]) for c in COLUMNS})


MD_COLUMNS = ["path", "n_features", "n_memories", "dtype", "n_steps", "ms_per_step", "ratio_vs_numpy",
              "ms_per_step_marginal", "overhead_ms", "peak_mib", "xi_mib", "peak_over_xi", "rss_end_mib",
              "hamming_to_target"]


def markdown_table(rows):
    for r in rows:
        r["peak_over_xi"] = r["peak_mib"] / r["xi_mib"]
    lines = ["| " + " | ".join(MD_COLUMNS) + " |", "|" + "|".join("---" for _ in MD_COLUMNS) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r[c], c) for c in MD_COLUMNS) + " |")
    return "\n".join(lines)


def write_md(rows, info, path):
    table = markdown_table(rows)
    text = f"""# Core benchmark: one recall, numpy reference vs Brian2 runtime Cython

Generated by `{info['command']}` on {info['date']} (total {info['total_wall_s']} s).

{table}

Columns: `ms_per_step` = median over 3 repeats of (recall wall time / n_steps), warm-up
(build + compile) excluded; `ratio_vs_numpy` = `ms_per_step` / that of the numpy row of
the same size and model (`numpy` for model A, `numpy_B` for model B), same run;
`ms_per_step_marginal` = cost of one more step, (T(n) - T(n_short)) / (n - n_short);
`overhead_ms` = fixed cost per recall (Brian2: restore, code objects, read-back);
`peak_mib` = peak RSS (ru_maxrss) minus the RSS right after imports, in a fresh
subprocess per row, xi included but not the temporaries of generating it (the peak
mark is reset via /proc/self/clear_refs once xi and the cue exist); `xi_mib` = one float64 copy of xi (N_h x N_f); `peak_over_xi` =
peak_mib / xi_mib; `rss_end_mib` = RSS above baseline at the end of the worker (steady
state, after the transients of construction); `hamming_to_target` = wrong bits of the
final state vs the cued pattern (sanity check; the runs are short, 0.1 ms x n_steps).

Model A: features `sign`, memories `rectified_power(degree=3)`; model B: features
`identity`, memories `log_sum_exp(beta=1)`; tau_f = 20 ms, tau_h = 2 ms, dt = 0.1 ms;
Brian2 with `record_every=None` (only the online energy, every step, and the final state).

## Machine

| key | value |
|---|---|
""" + "\n".join(f"| {k} | {v} |" for k, v in info.items()) + "\n"
    Path(path).write_text(text)
    return table


def plot(rows, info, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sizes = sorted({r["n_features"] for r in rows})
    paths = [p for p in PATHS if any(r["path"] == p for r in rows)]
    colors = {"numpy": "#4c72b0", "brian2_cython": "#dd8452", "numpy_B": "#8fb0dd", "brian2_cython_B": "#f2b88c"}
    hatches = {"numpy": "", "brian2_cython": "", "numpy_B": "//", "brian2_cython_B": "//"}
    get = {(r["path"], r["n_features"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    width = 0.8 / len(paths)
    x = np.arange(len(sizes))
    for k, p in enumerate(paths):
        xs = x - 0.4 + width * (k + 0.5)
        for ax, key in zip(axes, ("ms_per_step", "peak_over_xi")):
            vals = [get[(p, s)][key] if (p, s) in get else np.nan for s in sizes]
            bars = ax.bar(xs, vals, width, color=colors[p], hatch=hatches[p], edgecolor="k", linewidth=0.5,
                          label=p)
            for b, val, s in zip(bars, vals, sizes):
                if np.isnan(val):
                    continue
                if key == "ms_per_step":
                    lab = f"{val:.3g}"
                    ratio = get[(p, s)]["ratio_vs_numpy"]
                    if not p.startswith("numpy"):
                        lab += f"\n(x{ratio:.0f})"
                else:
                    lab = f"{val:.2g}\n({get[(p, s)]['peak_mib']:.0f} MiB)"
                ax.annotate(lab, (b.get_x() + b.get_width() / 2, val), ha="center", va="bottom", fontsize=7,
                            xytext=(0, 2), textcoords="offset points")
    ax0, ax1 = axes
    ax0.set_yscale("log")
    ax0.set_ylabel("wall time per Euler step [ms] (log)")
    ax0.set_title("Time per step (median of 3; x = ratio vs numpy, same model)")
    ax1.set_ylabel("peak RSS above import baseline / size of one xi")
    ax1.set_title("Peak memory in units of xi (label: absolute MiB)")
    ax1.axhline(1.0, color="0.3", ls="--", lw=1, label="one copy of xi (float64)")
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels([f"N_f = N_h = {s}\n(xi {get[(paths[0], s)]['xi_mib']:.3g} MiB)" for s in sizes])
        ax.margins(y=0.25)
        ax.grid(axis="y", which="both", alpha=0.3)
    ax0.set_ylim(top=ax0.get_ylim()[1] * 3)
    top = max(r["peak_over_xi"] for r in rows)
    ax1.set_ylim(0, top * 1.6)
    ax1.legend(fontsize=8, loc="upper right", ncol=2)
    fig.suptitle(f"hippo_dam recall: numpy reference vs Brian2 runtime Cython (float64) - {info['cpu_count']} CPUs, "
                 f"brian2 {info['brian2']}, numpy {info['numpy']}, {info['date'][:10]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096], help="N_f = N_h values")
    ap.add_argument("--quick", action="store_true", help="smoke test: N = 128, 20 steps")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: benchmarks/)")
    ap.add_argument("--no-model-b", action="store_true", help="skip model B (identity / log_sum_exp)")
    ap.add_argument("--paths", nargs="+", choices=list(PATHS), help="paths to measure (default: all)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed recall (default: by size)")
    ap.add_argument("--short", type=int, default=10, help="steps of the warm-up / short recalls")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0, help="numpy: at least this long per timing")
    ap.add_argument("--blas-threads", type=int, default=None, help="OPENBLAS/OMP/MKL_NUM_THREADS for the workers")
    ap.add_argument("--replot", action="store_true", help="only redo results_core.md and the figure from "
                    "results_core.json in --out")
    ap.add_argument("--worker", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        res = worker(args.worker[0], int(args.worker[1]), args.steps, args.short, args.repeats, args.min_seconds)
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    if args.replot:  # redo the md table and figure from the last run's JSON
        data = json.loads((args.out / "results_core.json").read_text())
        print(write_md(data["rows"], data["info"], args.out / "results_core.md"))
        plot(data["rows"], data["info"], args.out / "bench_core.png")
        return 0
    if args.quick:
        args.sizes, args.min_seconds, args.short = [128], 0.2, 5
    paths = args.paths or [p for p in PATHS if not (args.no_model_b and PATHS[p][1] == "B")]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    for n in args.sizes:
        for p in paths:
            print(f"  measuring {p:16s} N={n} ...", end="", flush=True, file=sys.stderr)
            r = run_worker(p, n, args)
            print(f" {r['ms_per_step']:.4g} ms/step, peak {r['peak_mib']:.0f} MiB "
                  f"({r['worker_wall_s']:.0f} s)", file=sys.stderr, flush=True)
            rows.append(r)
    add_ratios(rows)
    info = machine_info(args, time.perf_counter() - t0)
    write_csv(rows, args.out / "results_core.csv")
    (args.out / "results_core.json").write_text(json.dumps({"rows": rows, "info": info}, indent=1))
    table = write_md(rows, info, args.out / "results_core.md")
    plot(rows, info, args.out / "bench_core.png")
    print(table)
    print(f"\nwrote {args.out / 'results_core.csv'}, results_core.md, results_core.json, bench_core.png "
          f"in {info['total_wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
