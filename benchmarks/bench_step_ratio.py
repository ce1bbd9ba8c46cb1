"""Per-step cost of a recall against the numpy Euler loop, interleaved in one process.

How to run (from the repository root)::

    python benchmarks/bench_step_ratio.py                       # 1024 x 1024, models A and B, 15 blocks
    python benchmarks/bench_step_ratio.py --sizes 4096x4096 --steps 50
    python benchmarks/bench_step_ratio.py --out /tmp/ratio --label "my change"

``bench_core.py`` runs numpy and each Brian2 path in separate subprocesses, one
after another; on a shared machine whose load swings within a minute, its
numpy times for the same products moved by 1.7x between runs (0.18-0.32 ms per
step at 1024 x 1024 in the six runs of one A/B, 2026-12-07). Here both run in one process
in alternating blocks, so each block's ratio compares two timings taken a
fraction of a second apart under the same load:

* ``numpy``: :func:`hippo_dam.euler_reference` (two BLAS matrix-vector products
  and the activations per step, no energy), ``--steps`` steps;
* ``hippo_dam``: ``DenseAssociativeMemory(...).recall`` with its defaults
  (runtime Cython, dense coupling, the energy computed and recorded every step;
  ``record_every=None``), ``--steps`` steps, and a 100-step recall (the whole
  call: fixed cost included).

Within a block the order alternates (numpy first in even blocks) so that a
trend in the load does not favour one side. Each model and size runs in its own
subprocess (this script with ``--worker``), so that no earlier network shares its
memory or its garbage. ``step_ratio`` is the median over
blocks of hippo_dam's ms per step over numpy's in the same block;
``recall_100_ratio`` the same for a 100-step recall. The issue's targets at
1024 x 1024: a step <= 1.2x numpy, a 100-step recall <= 2x.

Outputs in ``--out`` (default ``benchmarks/``): ``results_step_ratio.json`` (every
block), ``results_step_ratio.md`` and ``step_ratio.png`` (per-block ratios).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_core import MODELS  # the same models A and B as bench_core (this folder is on sys.path)

HERE = Path(__file__).resolve().parent


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(model, n_f, n_h, steps, blocks):
    """Interleaved blocks of the numpy loop and the Brian2 recall of one model; returns a dict."""
    import numpy as np
    from brian2 import ms

    import hippo_dam

    feat, mem = MODELS[model]
    xi = hippo_dam.random_patterns(n_h, n_f, seed=0)
    cue, _ = hippo_dam.flip_cue(xi[0], 0.2, seed=1)
    dt, tau_f, tau_h = 0.1 * ms, 20 * ms, 2 * ms
    Lv, Lh = hippo_dam.make_lagrangian(feat), hippo_dam.make_lagrangian(mem)
    dam = hippo_dam.DenseAssociativeMemory(xi, feat, mem, tau_f=tau_f, tau_h=tau_h, dt=dt, record_every=None)
    h0 = np.zeros(n_h)

    def numpy_run(k):
        return lambda: hippo_dam.euler_reference(xi, Lv, Lh, tau_f, tau_h, cue, h0, dt, k, record=False)

    def brian_run(k):
        return lambda: dam.recall(cue, duration=k * dt, progress=False)

    # warm-up: compile/load the code, BLAS threads, page faults
    first_build = _timed(brian_run(10))
    for k in (10, steps):
        numpy_run(k)()
        brian_run(k)()
    v_np, _ = numpy_run(steps)()
    v_b = dam.recall(cue, duration=steps * dt, progress=False).v_final
    max_diff = float(np.max(np.abs(np.asarray(v_np) - np.asarray(v_b))))
    rows = []
    for b in range(blocks):
        order = ("numpy", "hippo_dam") if b % 2 == 0 else ("hippo_dam", "numpy")
        t = {}
        for side in order:
            run = numpy_run if side == "numpy" else brian_run
            t[side] = _timed(run(steps)) / steps * 1e3
            t[side + "_100"] = _timed(run(100)) * 1e3
        rows.append({"block": b, "numpy_ms_per_step": t["numpy"], "hippo_dam_ms_per_step": t["hippo_dam"],
                     "numpy_recall_100_ms": t["numpy_100"], "hippo_dam_recall_100_ms": t["hippo_dam_100"],
                     "step_ratio": t["hippo_dam"] / t["numpy"],
                     "recall_100_ratio": t["hippo_dam_100"] / t["numpy_100"],
                     "load": os.getloadavg()[0]})
    med = {k: statistics.median(r[k] for r in rows)
           for k in ("step_ratio", "recall_100_ratio", "numpy_ms_per_step", "hippo_dam_ms_per_step")}
    return {"model": model, "n_features": n_f, "n_memories": n_h, "steps": steps, "blocks": rows,
            "first_build_s": first_build, "max_abs_diff_v": max_diff, **{"median_" + k: v for k, v in med.items()}}


def _git_rev():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__import__("hippo_dam").__file__).parent).stdout.strip()
    except OSError:
        return "unknown"


def write(results, out, label):
    md = [f"# Step cost against numpy, interleaved in one process ({label}, {results['date']})", "",
          f"Commit {results['commit']}, {results['machine']}, Python {results['python']}, "
          f"load {results['load_start']:.2f} at the start. Median over {results['runs'][0]['blocks'].__len__()} "
          "alternating blocks (`python benchmarks/bench_step_ratio.py`).", "",
          "| model | size | step ratio (median) | blocks' range | 100-step recall ratio | hippo_dam ms/step | "
          "numpy ms/step | numpy range | max abs diff v |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        ratios = [b["step_ratio"] for b in r["blocks"]]
        nps = [b["numpy_ms_per_step"] for b in r["blocks"]]
        md.append(f"| {r['model']} | {r['n_features']}x{r['n_memories']} | {r['median_step_ratio']:.3f} | "
                  f"{min(ratios):.2f}-{max(ratios):.2f} | {r['median_recall_100_ratio']:.2f} | "
                  f"{r['median_hippo_dam_ms_per_step']:.4f} | {r['median_numpy_ms_per_step']:.4f} | "
                  f"{min(nps):.3f}-{max(nps):.3f} | {r['max_abs_diff_v']:.1e} |")
    (out / "results_step_ratio.md").write_text("\n".join(md) + "\n")
    (out / "results_step_ratio.json").write_text(json.dumps(results, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for r in results["runs"]:
        ax.plot([b["step_ratio"] for b in r["blocks"]], "o-", label=f"model {r['model']}, "
                f"{r['n_features']}x{r['n_memories']}: median {r['median_step_ratio']:.2f}")
    ax.axhline(1.2, color="k", ls="--", lw=1, label="target 1.2x")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("block (numpy and hippo_dam alternate within each)")
    ax.set_ylabel("hippo_dam / numpy, ms per step")
    ax.set_title(f"Per-step cost against the numpy Euler loop ({label})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "step_ratio.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1024x1024"], help="N_FxN_H sizes (default 1024x1024)")
    ap.add_argument("--models", nargs="+", default=["A", "B"], choices=sorted(MODELS))
    ap.add_argument("--steps", type=int, default=200, help="steps per timed recall (default 200)")
    ap.add_argument("--blocks", type=int, default=15, help="alternating blocks (default 15)")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--label", default="HEAD")
    ap.add_argument("--worker", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        model, size = args.worker
        n_f, n_h = (int(x) for x in size.split("x"))
        print(json.dumps(measure(model, n_f, n_h, args.steps, args.blocks)))
        return
    for name, value in (("steps", args.steps), ("blocks", args.blocks)):
        if value < 1:
            ap.error(f"--{name} must be >= 1, got {value}")
    sizes = []
    for s in args.sizes:
        try:
            n_f, n_h = (int(x) for x in s.lower().split("x"))
        except ValueError:
            ap.error(f"--sizes: {s!r} is not N_FxN_H (e.g. 1024x1024)")
        if n_f < 1 or n_h < 1:
            ap.error(f"--sizes: {s!r} needs positive sizes")
        sizes.append((n_f, n_h))
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "commit": _git_rev(),
               "label": args.label, "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "python": platform.python_version(), "load_start": os.getloadavg()[0], "runs": []}
    for n_f, n_h in sizes:
        for model in args.models:
            cmd = [sys.executable, __file__, "--worker", model, f"{n_f}x{n_h}", "--steps", str(args.steps),
                   "--blocks", str(args.blocks)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"worker for model {model} {n_f}x{n_h} failed:\n{proc.stderr[-2000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results["runs"].append(r)
            print(f"model {model} {n_f}x{n_h}: step {r['median_step_ratio']:.3f}x numpy "
                  f"({r['median_hippo_dam_ms_per_step']:.4f} vs {r['median_numpy_ms_per_step']:.4f} ms), "
                  f"100-step recall {r['median_recall_100_ratio']:.2f}x, max |v - v_numpy| {r['max_abs_diff_v']:.1e}",
                  flush=True)
    write(results, args.out, args.label)
    print(f"wrote {args.out / 'results_step_ratio.md'}")


if __name__ == "__main__":
    main()
