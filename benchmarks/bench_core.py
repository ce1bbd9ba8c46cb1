"""Per-Euler-step time and peak memory of one recall: numpy BLAS reference vs the Brian2 paths.

How to run (from the repository root)::

    python benchmarks/bench_core.py                        # 1024x1024, 4096x4096, 4096x65536; float64, float32
    python benchmarks/bench_core.py --sizes 4096x4096 --dtypes float64
    python benchmarks/bench_core.py --quick                # smoke test: 128 x 128, few steps
    python benchmarks/bench_core.py --out /tmp/bench       # write the results elsewhere
    python benchmarks/bench_core.py --paths numpy hippo_dam_default
    python benchmarks/bench_core.py --replot               # redo results.md and bench.png from results.json

Paths measured at each N_f x N_h with random +-1 patterns (``random_patterns(N_h, N_f,
seed=0)``, cast to the row's dtype) and the cue ``flip_cue(xi[0], 0.2, seed=1)``:

* ``numpy``                     ``euler_reference(..., dtype=...)``: two BLAS matrix-vector products per step;
* ``brian2_synapses``           ``DenseAssociativeMemory(..., coupling='synapses')``: one generic Brian2
                                ``Synapses`` object (float64 only; skipped above 4096 x 4096 synapses);
* ``hippo_dam_default``         ``DenseAssociativeMemory(...)`` with its defaults (dense projection,
                                runtime Cython: one fused pass over xi per step);
* ``hippo_dam_cpp_standalone``  the same under C++ standalone, compiled once, one binary run per recall;
* ``hippo_dam_cpp_standalone_omp``  the same with one OpenMP thread per core (``openmp_threads``);
* ``numpy_B``, ``hippo_dam_default_B``  model B (features 'identity', memories log_sum_exp(beta=1)).

Every (path, size, dtype) runs in its own fresh subprocess (this script called with
``--worker``), so that its peak memory is its own: ``peak_mib`` is the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) minus the RSS right after the imports
(numpy, brian2, hippo_dam); for C++ standalone the peak of the binary (a child) is added.
``xi`` itself is counted, but the temporaries of ``random_patterns`` are not: after
generating xi and the cue the worker resets the kernel's peak-RSS mark
(``/proc/self/clear_refs`` <- 5, which ru_maxrss follows; column ``hwm_reset``).

Timing excludes compilation and network construction: each worker first runs a
short warm-up recall (C++ standalone: also one of the timed length, which builds its
binary), then times ``--repeats`` recalls of ``n`` steps (median; ``n`` = 1000 steps up
to 1024 x 1024, 200 up to 4096 x 4096, 20 above; numpy: as many as needed for >= ~1 s).
``ms_per_step`` = recall wall time / n, which still contains the fixed per-recall
cost; ``ms_per_step_marginal`` = (T(n) - T(n_short)) / (n - n_short) is the cost of one
more Euler step and ``overhead_ms`` the fixed cost.

``ratio_vs_numpy`` divides ``ms_per_step`` by that of the numpy row of the same size,
model and dtype, measured in the same run, so the ratio is meaningful even on a noisy,
shared machine. A separate measurement (``run_many``) counts recalls per second of a
256 x 256 network of 100 steps under C++ standalone after its first build.

Outputs in ``--out`` (default: ``benchmarks/``): ``results.csv`` (path, n_features,
n_memories, dtype, ms_per_step, peak_mib, ratio_vs_numpy, ...), ``results.md`` (tables +
machine info), ``bench.png`` and ``results.json`` (everything measured).
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
PATHS = {  # path name -> (engine, model, options)
    "numpy": ("numpy", "A", {}),
    "brian2_synapses": ("brian2", "A", {"coupling": "synapses"}),
    "hippo_dam_default": ("brian2", "A", {}),
    "hippo_dam_cpp_standalone": ("brian2", "A", {"codegen_target": "cpp_standalone"}),
    "hippo_dam_cpp_standalone_omp": ("brian2", "A", {"codegen_target": "cpp_standalone",
                                                     "openmp_threads": os.cpu_count() or 1}),
    "numpy_B": ("numpy", "B", {}),
    "hippo_dam_default_B": ("brian2", "B", {}),
}
DEFAULT_SIZES = ["1024x1024", "4096x4096", "4096x65536"]
# the generic Synapses path needs ~16 bytes per synapse twice over (and minutes per
# recall) at 4096 x 65536: it is measured up to this many synapses
MAX_SYNAPSES = 4096 * 4096
COLUMNS = ["path", "n_features", "n_memories", "dtype", "ms_per_step", "peak_mib", "ratio_vs_numpy", "xi_mib",
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


def _binary_peak_mib(directory):
    """Peak RSS of one run of a C++ standalone binary, in MiB.

    Measured by GNU time's child (forked from the small ``time`` process): the
    rusage of a child forked from this Python process would also count the
    pages it shared with Python before ``exec``. Without /usr/bin/time, the
    binary's VmHWM is sampled from /proc while it runs (a lower bound).
    """
    if os.path.exists("/usr/bin/time"):
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "./main"], cwd=directory, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"standalone binary in {directory} failed: {proc.stderr[-500:]}")
        return int(proc.stderr.strip().splitlines()[-1]) / 1024
    proc = subprocess.Popen(["./main"], cwd=directory, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                peak = max([peak] + [int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmHWM:")])
        except OSError:
            break
        time.sleep(0.005)
    return peak


def brian_steps(n_f, n_h):
    size = n_f * n_h
    return 1000 if size <= 1024**2 else 200 if size <= 4096**2 else 20


def worker(path, n_f, n_h, dtype, n_steps, n_short, repeats, min_seconds):
    """Measure one (path, size, dtype); returns a dict (printed as JSON by main)."""
    import numpy as np
    from brian2 import ms

    import hippo_dam
    from hippo_dam import make_lagrangian

    baseline = _rss_mib()  # Python + numpy + brian2 + hippo_dam, before any data
    engine, model, options = PATHS[path]
    feat, mem = MODELS[model]
    xi = hippo_dam.random_patterns(n_h, n_f, seed=0).astype(dtype, copy=False)
    cue, _ = hippo_dam.flip_cue(xi[0], 0.2, seed=1)
    dt, tau_f, tau_h = 0.1 * ms, 20 * ms, 2 * ms
    out = {"path": path, "model": model, "n_features": n_f, "n_memories": n_h, "dtype": np.dtype(dtype).name,
           "xi_mib": xi.nbytes / 2**20, "baseline_mib": baseline,
           "setup_peak_mib": _maxrss_mib() - baseline}  # includes random_patterns' own temporaries
    # Reset the peak-RSS high-water mark (ru_maxrss follows it) to the current RSS, xi included,
    # so that peak_mib is the recall's and not random_patterns' int64 index temporary (~1 xi).
    out["hwm_reset"] = _reset_peak_rss()

    if engine == "numpy":
        Lv, Lh = make_lagrangian(feat), make_lagrangian(mem)
        v0, h0 = np.asarray(cue, dtype), np.zeros(n_h, dtype)

        def run(k):
            t0 = time.perf_counter()
            v, h = hippo_dam.euler_reference(xi, Lv, Lh, tau_f, tau_h, v0, h0, dt, k, record=False, dtype=dtype)
            return time.perf_counter() - t0, v

        run(min(10, n_steps))  # warm-up: BLAS threads, page faults
        t_est, _ = run(min(50, n_steps))
        n_steps = max(n_steps, math.ceil(min_seconds / (t_est / min(50, n_steps))))
    else:
        dam = hippo_dam.DenseAssociativeMemory(xi, feat, mem, tau_f=tau_f, tau_h=tau_h, dt=dt, record_every=None,
                                               dtype=np.dtype(dtype).name, **options)

        def run(k):
            t0 = time.perf_counter()
            res = dam.recall(cue, duration=k * dt, progress=False)
            return time.perf_counter() - t0, res.v_final

        t_build = run(n_short)[0]  # warm-up: build, compile/load Cython, store
        out["warmup_s"] = t_build
        if options.get("codegen_target") == "cpp_standalone":  # the standalone binary is built for one duration
            out["warmup_s"] += run(n_steps)[0]
        # the steady state of repeated recalls, not the one-off compilation, is measured below
        out["warmup_peak_mib"] = _maxrss_mib() - baseline
        _reset_peak_rss()
    times, sim_times, v_final = [], [], None
    for _ in range(repeats):
        t, v_final = run(n_steps)
        times.append(t)
        if options.get("codegen_target") == "cpp_standalone":
            sim_times.append(dam._standalone["device"]._last_run_time)  # the binary's own network run
    t_med = statistics.median(times)
    if sim_times:  # a shorter recall would need another binary: split by the binary's own timer instead
        marginal = statistics.median(sim_times) / n_steps
        t_short = t_med - (n_steps - n_short) * marginal
    else:
        t_short = statistics.median([run(n_short)[0] for _ in range(repeats)])
        marginal = (t_med - t_short) / (n_steps - n_short)
    # the standalone binary's own peak (RUSAGE_CHILDREN would also count the compiler)
    children = _binary_peak_mib(dam._standalone["directory"]) if sim_times else 0.0
    out.update(
        n_steps=n_steps,
        ms_per_step=1e3 * t_med / n_steps,
        repeats_ms_per_step=" ".join(f"{1e3 * t / n_steps:.4g}" for t in times),
        ms_per_step_marginal=1e3 * marginal,
        overhead_ms=1e3 * max(t_short - n_short * marginal, 0.0),
        # peak of this process plus, for C++ standalone, the peak of its binary (they coexist)
        peak_mib=_maxrss_mib() - baseline + children,
        child_peak_mib=children,
        rss_end_mib=_rss_mib() - baseline,
        hamming_to_target=int(hippo_dam.hamming(v_final, xi[0])),
    )
    return out


def run_many(n=256, n_steps=100, recalls=40, batch=64):
    """Compile once, run many: recalls per second of a 256 x 256 network, 100 steps each, after the first build.

    One cue per run of the C++ standalone binary (new cue and a new pattern set through run arguments
    and the static weight file, no recompilation), and the same cues as one batched run.
    """
    import numpy as np
    from brian2 import ms

    import hippo_dam

    xi = hippo_dam.random_patterns(n, n, seed=0)
    cues = np.array([hippo_dam.flip_cue(xi[k % n], 0.2, seed=k)[0] for k in range(max(recalls, batch))])
    dt = 0.1 * ms
    out = {}
    for label, batch_size in (("one_cue_per_run", 1), ("batched", batch)):
        dam = hippo_dam.DenseAssociativeMemory(xi, "sign", {"name": "rectified_power", "degree": 3}, dt=dt,
                                               record_every=None, codegen_target="cpp_standalone")
        t0 = time.perf_counter()
        first = dam.recall(cues[0] if batch_size == 1 else cues[:batch_size], duration=n_steps * dt)
        build_s = time.perf_counter() - t0
        dam.set_patterns(xi[::-1].copy())  # a new pattern set: weight file rewritten, binary reused
        t0 = time.perf_counter()
        if batch_size == 1:
            ok = [bool(dam.recall(c, duration=n_steps * dt).quality.success) for c in cues[:recalls]]
            n_recalls = recalls
        else:
            ok = list(dam.recall(cues[:batch_size], duration=n_steps * dt).quality.success)
            n_recalls = batch_size
        wall = time.perf_counter() - t0
        out[label] = {"n": n, "n_steps": n_steps, "recalls": n_recalls, "build_s": build_s, "wall_s": wall,
                      "recalls_per_s": n_recalls / wall, "successes": int(sum(ok)),
                      "first_success": bool(np.all(first.quality.success))}
    return out


# --------------------------------------------------------------------------- driver
def run_worker(path, n_f, n_h, dtype, args):
    n_steps = args.steps or (20 if args.quick else brian_steps(n_f, n_h))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", path, str(n_f), str(n_h), dtype,
           "--steps", str(n_steps), "--repeats", str(args.repeats), "--short", str(args.short),
           "--min-seconds", str(args.min_seconds)]
    env = dict(os.environ)
    if args.blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.blas_threads)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"worker {path} {n_f}x{n_h} {dtype} failed with exit code {proc.returncode}")
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


def _key(r):
    return r["model"], r["n_features"], r["n_memories"], r["dtype"]


def add_ratios(rows):
    ref = {_key(r): r["ms_per_step"] for r in rows if r["path"].startswith("numpy")}
    for r in rows:
        base = ref.get(_key(r))
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


def write_md(rows, info, many, path):
    table = markdown_table(rows)
    many_lines = "\n".join(
        f"| {k} | {v['n']} x {v['n']} | {v['n_steps']} | {v['recalls']} | {v['build_s']:.1f} | {v['wall_s']:.3f} | "
        f"{v['recalls_per_s']:.1f} | {v['successes']}/{v['recalls']} |" for k, v in many.items())
    text = f"""# Benchmark: one recall, numpy BLAS reference vs Brian2 paths

Generated by `{info['command']}` on {info['date']} (total {info['total_wall_s']} s).

{table}

Paths: `numpy` = `hippo_dam.euler_reference`, two BLAS matrix-vector products per step;
`brian2_synapses` = one generic Brian2 `Synapses` object (`coupling='synapses'`), runtime
Cython; `hippo_dam_default` = `DenseAssociativeMemory(...)` with its defaults: the dense
projection (`coupling='dense'`, one fused pass over xi per step), runtime Cython;
`hippo_dam_cpp_standalone` = the dense projection under C++ standalone (fused single pass
over xi, compiled once; one run of the binary per recall, its start-up and the loading of
xi included in `ms_per_step`); `hippo_dam_cpp_standalone_omp` = the same with one OpenMP
thread per core (the rows of xi shared out). Sizes N_f x N_h. The Synapses path is skipped above
{MAX_SYNAPSES} synapses.

Columns: `ms_per_step` = median over the repeats of (recall wall time / n_steps), warm-up
(build + compile) excluded; `ratio_vs_numpy` = `ms_per_step` / that of the numpy row of
the same size, model and dtype, same run; `ms_per_step_marginal` = cost of one more step,
(T(n) - T(n_short)) / (n - n_short); `overhead_ms` = fixed cost per recall;
`peak_mib` = peak RSS (ru_maxrss) minus the RSS right after imports, in a fresh
subprocess per row, xi included but not the temporaries of generating it (the peak
mark is reset via /proc/self/clear_refs once xi and the cue exist); for C++ standalone
the peak of the binary (a child process, which loads its own copy of xi) is added;
`xi_mib` = one copy of xi in the row's dtype; `peak_over_xi` = peak_mib / xi_mib;
`hamming_to_target` = wrong bits of the final state vs the cued pattern.

Model A: features `sign`, memories `rectified_power(degree=3)`; model B: features
`identity`, memories `log_sum_exp(beta=1)`; tau_f = 20 ms, tau_h = 2 ms, dt = 0.1 ms;
Brian2 with `record_every=None` (only the online energy, every step, and the final state).

## Compile once, run many (C++ standalone, model A, after the first build)

| mode | network | steps | recalls | first build [s] | wall [s] | recalls per second | retrieved |
|---|---|---|---|---|---|---|---|
{many_lines}

`one_cue_per_run`: each recall runs the compiled binary once with a new cue (run
arguments) after a new pattern set was written into its weight file; the binary is
single-threaded, so recalls per second is also per core. `batched`: the same number of
steps for all cues in one run of a binary built for that batch.

## Machine

| key | value |
|---|---|
""" + "\n".join(f"| {k} | {v} |" for k, v in info.items()) + "\n"
    Path(path).write_text(text)
    return table


def plot(rows, info, path):
    """Left: time per step as a ratio to numpy BLAS (same run, size, model, dtype); right: peak memory / xi."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sizes = sorted({(r["n_features"], r["n_memories"], r["dtype"]) for r in rows}, key=lambda k: (k[0] * k[1], k[2]))
    paths = [p for p in PATHS if any(r["path"] == p for r in rows) and not p.startswith("numpy")]
    colors = dict(zip(PATHS, ["#4c72b0", "#c44e52", "#dd8452", "#55a868", "#2d6a3e", "#8fb0dd", "#f2b88c"]))
    get = {(r["path"], r["n_features"], r["n_memories"], r["dtype"]): r for r in rows}
    fig, axes = plt.subplots(2, 1, figsize=(13, 9), sharex=True)
    width = 0.8 / len(paths)
    x = np.arange(len(sizes))
    for k, p in enumerate(paths):
        xs = x - 0.4 + width * (k + 0.5)
        for ax, key in zip(axes, ("ratio_vs_numpy", "peak_over_xi")):
            vals = [get[(p, *s)][key] if (p, *s) in get else np.nan for s in sizes]
            bars = ax.bar(xs, vals, width, color=colors[p], edgecolor="k", linewidth=0.5,
                          hatch="//" if p.endswith("_B") else "", label=p)
            for bar, val, s in zip(bars, vals, sizes):
                if np.isnan(val):
                    continue
                lab = f"{val:.2g}" + (f" ({get[(p, *s)]['ms_per_step']:.3g} ms)" if key == "ratio_vs_numpy" else "")
                ax.annotate(lab, (bar.get_x() + bar.get_width() / 2, val), ha="center", va="bottom", fontsize=6.5,
                            rotation=90, xytext=(0, 2), textcoords="offset points")
    ax0, ax1 = axes
    ax0.set_yscale("log")
    ax0.set_ylabel("time per Euler step / numpy BLAS\n(same run, size, model, dtype)")
    ax0.set_title("Time per step relative to two BLAS matrix-vector products (label: ratio, ms per step)",
                  fontsize=10)
    ax0.axhline(1.0, color="0.3", ls="--", lw=1, label="numpy BLAS reference")
    ax0.axhline(1.5, color="C3", ls=":", lw=1.2, label="target: 1.5x")
    ax0.set_ylim(0.5, max(r["ratio_vs_numpy"] for r in rows) * 8)
    ax1.set_ylabel("peak RSS above import baseline\n/ size of one xi")
    ax1.set_title("Peak memory in units of xi (steady state of repeated recalls)", fontsize=10)
    ax1.axhline(1.0, color="0.3", ls="--", lw=1)
    ax1.axhline(1.5, color="C3", ls=":", lw=1.2)
    ax1.set_ylim(0, max(r["peak_over_xi"] for r in rows) * 1.35)
    ax1.set_xticks(x)
    ax1.set_xticklabels([f"{nf} x {nh}\n{dt}\n(xi {get[('numpy', nf, nh, dt)]['xi_mib']:.4g} MiB)"
                         if ("numpy", nf, nh, dt) in get else f"{nf} x {nh}\n{dt}" for nf, nh, dt in sizes],
                        fontsize=8)
    for ax in axes:
        ax.grid(axis="y", which="both", alpha=0.3)
    ax0.legend(fontsize=7.5, loc="upper left", ncol=4)
    fig.suptitle(f"hippo_dam recall per Euler step, N_f x N_h: {info['cpu_count']} CPUs, brian2 {info['brian2']}, "
                 f"numpy {info['numpy']}, {info['date'][:10]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _parse_size(text):
    try:
        n_f, n_h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N_FxN_H, e.g. 4096x65536, got {text!r}") from None
    return n_f, n_h


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=_parse_size, nargs="+", default=[_parse_size(s) for s in DEFAULT_SIZES],
                    help="N_FxN_H sizes (default: %(default)s)")
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--quick", action="store_true", help="smoke test: 128 x 128, 20 steps, float64")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: benchmarks/)")
    ap.add_argument("--no-model-b", action="store_true", help="skip model B (identity / log_sum_exp)")
    ap.add_argument("--paths", nargs="+", choices=list(PATHS), help="paths to measure (default: all)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed recall (default: by size)")
    ap.add_argument("--short", type=int, default=10, help="steps of the warm-up / short recalls")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0, help="numpy: at least this long per timing")
    ap.add_argument("--blas-threads", type=int, default=None, help="OPENBLAS/OMP/MKL_NUM_THREADS for the workers")
    ap.add_argument("--no-run-many", action="store_true", help="skip the compile-once-run-many measurement")
    ap.add_argument("--replot", action="store_true", help="only redo results.md and the figure from "
                    "results.json in --out")
    ap.add_argument("--worker", nargs=4, metavar=("PATH", "NF", "NH", "DTYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        p, n_f, n_h, dtype = args.worker
        res = worker(p, int(n_f), int(n_h), dtype, args.steps, args.short, args.repeats, args.min_seconds)
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    if args.replot:  # redo the md table and figure from the last run's JSON
        data = json.loads((args.out / "results.json").read_text())
        print(write_md(data["rows"], data["info"], data["run_many"], args.out / "results.md"))
        plot(data["rows"], data["info"], args.out / "bench.png")
        return 0
    if args.quick:
        args.sizes, args.dtypes, args.min_seconds, args.short, args.repeats = [(128, 128)], ["float64"], 0.2, 5, 1
    paths = args.paths or [p for p in PATHS if not (args.no_model_b and PATHS[p][1] == "B")]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    for n_f, n_h in args.sizes:
        for dtype in args.dtypes:
            for p in paths:
                opts = PATHS[p][2]
                if dtype != "float64" and opts.get("coupling") == "synapses":
                    continue  # the Synapses path stores float64 only
                if opts.get("coupling") == "synapses" and n_f * n_h > MAX_SYNAPSES:
                    print(f"  skipping {p} at {n_f}x{n_h}: more than {MAX_SYNAPSES} synapses", file=sys.stderr)
                    continue
                print(f"  measuring {p:26s} {n_f}x{n_h} {dtype} ...", end="", flush=True, file=sys.stderr)
                r = run_worker(p, n_f, n_h, dtype, args)
                print(f" {r['ms_per_step']:.4g} ms/step, peak {r['peak_mib']:.0f} MiB "
                      f"({r['worker_wall_s']:.0f} s)", file=sys.stderr, flush=True)
                rows.append(r)
    add_ratios(rows)
    many = {} if args.no_run_many else run_many(recalls=10 if args.quick else 40, batch=8 if args.quick else 64)
    for k, v in many.items():
        print(f"  run many, {k}: {v['recalls_per_s']:.1f} recalls/s", file=sys.stderr)
    info = machine_info(args, time.perf_counter() - t0)
    write_csv(rows, args.out / "results.csv")
    (args.out / "results.json").write_text(json.dumps({"rows": rows, "info": info, "run_many": many}, indent=1))
    table = write_md(rows, info, many, args.out / "results.md")
    plot(rows, info, args.out / "bench.png")
    print(table)
    print(f"\nwrote {args.out / 'results.csv'}, results.md, results.json, bench.png in {info['total_wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
