"""Should a single cue's fused product use more than one thread? The kernel alone, and beside numpy's BLAS.

How to run (from the repository root; needs a C compiler with OpenMP, e.g. gcc)::

    python benchmarks/bench_threads.py                     # 512, 1024 and 4096 square, 2 threads
    python benchmarks/bench_threads.py --sizes 1024 --threads 4

The runtime-Cython product of one cue is :func:`hippo_dam.core.dense._fused_pass`
(one pass over ``xi`` for both directions) on one thread. This script compiles
that same C kernel into a small shared library twice over: as it is, and
wrapped so that its rows are split over OpenMP threads (per-thread partial sums
of ``u_pre``, added after a barrier). Then, in one process, for square ``xi``
of each size it times

* ``fused x1`` and ``fused xT``: the kernel on 1 and on ``--threads`` threads;
* ``numpy``: ``xi @ g`` and ``xi.T @ f`` (numpy's BLAS, its default threads);
* ``fused xT after numpy`` and ``fused x1 after numpy``: each kernel timed in blocks that
  alternate with blocks of the numpy products, as when a user's numpy work and
  a recall share a session (the numpy loop of ``bench_step_ratio.py`` does this).

Outputs in ``--out`` (default ``benchmarks/``): ``results_threads.json`` (every
timing), ``results_threads.md`` and ``threads.png``.
"""
from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

_WRAPPERS = r"""
#include <stdlib.h>
#include <string.h>
#include <omp.h>
void fused_serial(int n_pre, int n_post, const double* xi, const double* g, const double* f, double* u_pre,
                  double* u_post)
{
    memset(u_pre, 0, sizeof(double) * (size_t)n_pre);
    FUSED(n_pre, n_post, xi, g, f, u_pre, u_post);
}
/* rows split over the threads; each sums its share of u_pre into its own partial, added after a barrier */
void fused_threads(int n_pre, int n_post, const double* xi, const double* g, const double* f, double* u_pre,
                   double* u_post, int threads)
{
    double* parts = (double*)malloc(sizeof(double) * (size_t)n_pre * threads);
    #pragma omp parallel num_threads(threads)
    {
        const int k = omp_get_thread_num(), nt = omp_get_num_threads();
        const int chunk = ((n_post + nt - 1) / nt + ROWS - 1) / ROWS * ROWS;
        const int r0 = k * chunk < n_post ? k * chunk : n_post, r1 = r0 + chunk < n_post ? r0 + chunk : n_post;
        double* acc = parts + (size_t)k * n_pre;
        memset(acc, 0, sizeof(double) * (size_t)n_pre);
        if (r1 > r0) FUSED(n_pre, r1 - r0, xi + (size_t)r0 * n_pre, g, f + r0, acc, u_post + r0);
        #pragma omp barrier
        const int c = (n_pre + nt - 1) / nt, i0 = k * c < n_pre ? k * c : n_pre;
        const int i1 = i0 + c < n_pre ? i0 + c : n_pre;
        for (int i = i0; i < i1; i++) {
            double s = 0;
            for (int q = 0; q < nt; q++) s += parts[(size_t)q * n_pre + i];
            u_pre[i] = s;
        }
    }
    free(parts);
}
"""


def build_library(folder):
    """The fused kernel of ``hippo_dam.core.dense`` with a serial and an OpenMP wrapper, as a ctypes library."""
    from hippo_dam.core.dense import FUSED_ROWS, _fused_name, _fused_pass

    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise SystemExit("bench_threads: no C compiler found (set CC)")
    source = Path(folder) / "fused_threads.c"
    source.write_text(_fused_pass("double", "double", False)
                      + _WRAPPERS.replace("FUSED", _fused_name("double", "double", False))
                      .replace("ROWS", str(FUSED_ROWS)))
    library = Path(folder) / "fused_threads.so"
    # Brian2's runtime flags for the module around the kernel (the kernel itself is at -O3 by its pragma)
    cmd = [compiler, "-shared", "-fPIC", "-O3", "-march=native", "-ffast-math", "-fno-finite-math-only",
           "-fopenmp", "-o", str(library), str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_threads: could not build the kernel with OpenMP ({' '.join(cmd)}):\n{proc.stderr}")
    lib = ctypes.CDLL(str(library))
    p = ctypes.POINTER(ctypes.c_double)
    lib.fused_serial.argtypes = [ctypes.c_int, ctypes.c_int] + [p] * 5
    lib.fused_threads.argtypes = [ctypes.c_int, ctypes.c_int] + [p] * 5 + [ctypes.c_int]
    return lib, " ".join(cmd[:-3])


def measure(lib, n, threads, blocks, min_block_s=0.05):
    """Median microseconds per product of each case at ``n`` x ``n``; checks the products against numpy."""
    rng = np.random.default_rng(0)
    xi = rng.choice([-1.0, 1.0], size=(n, n))
    g, f = np.sign(rng.normal(size=n)), rng.random(n)
    u_pre, u_post = np.zeros(n), np.zeros(n)
    p = ctypes.POINTER(ctypes.c_double)
    args = [n, n] + [a.ctypes.data_as(p) for a in (xi, g, f, u_pre, u_post)]
    cases = {"fused x1": lambda: lib.fused_serial(*args),
             f"fused x{threads}": lambda: lib.fused_threads(*args, threads),
             "numpy": lambda: (xi @ g, xi.T @ f)}
    for name in ("fused x1", f"fused x{threads}"):
        u_pre[:], u_post[:] = 0, 0
        cases[name]()
        if not (np.allclose(u_post, xi @ g) and np.allclose(u_pre, xi.T @ f)):
            raise SystemExit(f"bench_threads: {name} gives other products than numpy at {n} x {n}")
    reps = {}
    for name, fn in cases.items():  # repetitions per block: at least min_block_s of work
        fn()
        t0 = time.perf_counter()
        fn()
        reps[name] = max(3, int(min_block_s / max(time.perf_counter() - t0, 1e-7)))

    def block(name):
        fn = cases[name]
        t0 = time.perf_counter()
        for _ in range(reps[name]):
            fn()
        return (time.perf_counter() - t0) / reps[name] * 1e6

    alone = {name: [] for name in cases}
    for _ in range(blocks):  # each case in runs of its own
        for name in cases:
            block(name), block(name)  # the first block after a switch warms its threads up
            alone[name].append(block(name))
    mixed = {f"{name} after numpy": [] for name in cases if name != "numpy"}
    for b in range(blocks):  # each kernel block right after a block of numpy's products, and the other way
        for name in (n_ for n_ in cases if n_ != "numpy"):
            block("numpy")
            mixed[f"{name} after numpy"].append(block(name))
    rows = {name: statistics.median(v) for name, v in alone.items()}
    rows.update({name: statistics.median(v) for name, v in mixed.items()})
    return {"n": n, "threads": threads, "median_us": rows, "blocks_us": {**alone, **mixed},
            "repetitions_per_block": reps}


def write(results, out):
    runs = results["runs"]
    names = list(runs[0]["median_us"])
    md = [f"# The fused product on one thread and on several ({results['date']})", "",
          f"{results['machine']}, Python {results['python']}, load {results['load_start']:.2f} at the start; "
          f"kernel built with `{results['compiler']}`; numpy's BLAS at its default threads. Median us per "
          f"product over {results['blocks']} blocks (`python benchmarks/bench_threads.py`).", "",
          "| n x n | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for r in runs:
        md.append(f"| {r['n']} x {r['n']} | " + " | ".join(f"{r['median_us'][k]:.1f}" for k in names) + " |")
    (out / "results_threads.md").write_text("\n".join(md) + "\n")
    (out / "results_threads.json").write_text(json.dumps(results, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.6), squeeze=False)
    for ax, r in zip(axes[0], runs):
        base = r["median_us"]["fused x1"]
        ax.bar(range(len(names)), [r["median_us"][k] / base for k in names],
               color=["C0", "C1", "C2", "C0", "C1"][:len(names)], alpha=0.85)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{r['n']} x {r['n']} (fused x1: {base:.0f} us)", fontsize=9)
    axes[0][0].set_ylabel("time per product / fused on one thread")
    fig.suptitle("One cue's product: threads, alone and between numpy's BLAS calls", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "threads.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[512, 1024, 4096])
    ap.add_argument("--threads", type=int, default=2, help="threads of the split kernel (default 2)")
    ap.add_argument("--blocks", type=int, default=9)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    for name, value in (("threads", args.threads), ("blocks", args.blocks)):
        if value < 1:
            ap.error(f"--{name} must be >= 1, got {value}")
    if any(n < 8 for n in args.sizes):
        ap.error(f"--sizes must be >= 8, got {args.sizes}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        lib, compiler = build_library(folder)
        results = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                   "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                   "python": platform.python_version(), "numpy": np.__version__, "load_start": os.getloadavg()[0],
                   "compiler": compiler, "blocks": args.blocks, "runs": []}
        for n in args.sizes:
            r = measure(lib, n, args.threads, args.blocks)
            results["runs"].append(r)
            print(f"{n} x {n}: " + ", ".join(f"{k} {v:.1f} us" for k, v in r["median_us"].items()), flush=True)
    results["load_end"] = os.getloadavg()[0]
    write(results, args.out)
    print(f"wrote {args.out / 'results_threads.md'}")


if __name__ == "__main__":
    main()
