"""Batched Brian2 recall against the numpy reference on the same batch, dtype and steps (the GEMM limit).

How to run (from the repository root)::

    python benchmarks/bench_batched.py                        # K = 2136 and 6355, B = 256, float32, 20 steps
    python benchmarks/bench_batched.py --ks 573 --batch 64 --steps 10 --repeats 2 --out /tmp/b --tag _t

For each K it stores the first K kanji of JIS X 0208 (``N_f = 4096``; the
first 2,136 or all 6,355), cues ``B`` of them with their top half and runs
model B (beta = 0.1, tau_f = 20 ms, tau_h = 2 ms, dt = 1 ms) for ``--steps``
steps:

* ``brian2``: :meth:`hippo_dam.DenseAssociativeMemory.recall` of the batch
  (dense coupling, runtime Cython, xi and the products in ``--dtype``), on a
  network already built for this batch size (``first_s``: the first recall,
  which builds it);
* ``numpy``: :func:`hippo_dam.euler_reference` on the same batch in the same
  dtype (two BLAS matrix products per step).

The two are run alternately ``--repeats`` times and the fastest of each is
kept (the machine is shared). ``ratio`` = brian2 / numpy; ``gemm_s``: the
time of the two matrix products alone (numpy, the same count), the floor both
approach. ``brian2_product_share``: fraction of the Brian2 run spent in the
coupling product (Brian2 profiling of one more run). Writes
``results_batched<tag>.{json,md,csv}`` to ``--out`` (default benchmarks/).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import shlex
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COLS = ["K", "batch", "dtype", "steps", "brian2_s", "numpy_s", "ratio", "gemm_s", "brian2_per_step_ms",
        "numpy_per_step_ms", "first_s", "brian2_product_share", "max_abs_diff"]


def _gemm_time(xi, g, f, steps):
    start = time.perf_counter()
    for _ in range(steps):
        g @ xi.T
        f @ xi
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[2136, 6355])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)

    import brian2
    from brian2 import ms

    import hippo_dam as hd

    dtype = np.dtype(args.dtype)
    rows = []
    for k in args.ks:
        patterns, _ = hd.load_kanji("jis0208", k)
        feat, mem = hd.kanji_model("B, beta=0.1")
        cue, known = hd.partial_cue(patterns[np.linspace(0, k - 1, args.batch).round().astype(int)], "top")
        v0, h0 = np.where(known, cue, 0.0), np.zeros((args.batch, k))
        net = hd.DenseAssociativeMemory(patterns, feat, mem, tau_f=20 * ms, tau_h=2 * ms, dt=1 * ms,
                                        record_every=None, dtype=args.dtype)
        duration = args.steps * ms
        target = np.zeros(args.batch, dtype=int)  # given, so no overlap search before the run
        start = time.perf_counter()
        net.recall(cue, known, duration=duration, target=target, progress=False)
        first = time.perf_counter() - start
        times = {"brian2": [], "numpy": []}
        for _ in range(args.repeats):
            start = time.perf_counter()
            res = net.recall(cue, known, duration=duration, target=target, progress=False)
            times["brian2"].append(time.perf_counter() - start)
            start = time.perf_counter()
            v_ref, _ = hd.euler_reference(patterns, feat, mem, 20 * ms, 2 * ms, v0, h0, 1 * ms, args.steps,
                                          record=False, dtype=dtype)
            times["numpy"].append(time.perf_counter() - start)
        xi = patterns.astype(dtype)
        gemm = min(_gemm_time(xi, v0.astype(dtype), np.zeros((args.batch, k), dtype), args.steps)
                   for _ in range(2))
        # where the Brian2 run's time goes (profiling of one more run of the built network)
        net._net.restore("built")
        net._set_initial(v0, h0, np.zeros_like(v0))
        net._net.run(duration, profile=True, namespace={})
        prof = {name: float(t) for name, t in net._net.profiling_info}
        total_prof = sum(prof.values())
        product = sum(t for name, t in prof.items() if "product" in name)
        b2, npy = min(times["brian2"]), min(times["numpy"])
        row = {"K": k, "batch": args.batch, "dtype": args.dtype, "steps": args.steps, "brian2_s": round(b2, 4),
               "numpy_s": round(npy, 4), "ratio": round(b2 / npy, 3), "gemm_s": round(gemm, 4),
               "brian2_per_step_ms": round(1e3 * b2 / args.steps, 2),
               "numpy_per_step_ms": round(1e3 * npy / args.steps, 2), "first_s": round(first, 3),
               "brian2_product_share": round(product / total_prof, 3),
               "max_abs_diff": float(np.abs(res.v_final - v_ref).max()),
               "all_times": {key: [round(t, 4) for t in val] for key, val in times.items()},
               "profile_s": {name: round(t, 4) for name, t in sorted(prof.items(), key=lambda kv: -kv[1])}}
        rows.append(row)
        print(f"K={k} B={args.batch} {args.dtype} {args.steps} steps: brian2 {b2:.2f} s, numpy {npy:.2f} s, "
              f"ratio {row['ratio']:.2f} (GEMM alone {gemm:.2f} s; first recall {first:.1f} s; product "
              f"{100 * row['brian2_product_share']:.0f}% of the Brian2 run)", flush=True)
        del net
    info = {"command": "python benchmarks/bench_batched.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "machine": platform.platform(),
            "python": platform.python_version(), "brian2": brian2.__version__, "numpy": np.__version__,
            "hippo_dam": hd.__version__, "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"results_batched{args.tag}")
    with open(base + ".json", "w") as fh:
        json.dump(info, fh, indent=2)
    with open(base + ".csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["# Batched recall: Brian2 against the numpy reference (same batch, dtype, steps)", "",
             f"Generated by `{info['command']}` on {info['date']} ({info['cpu_count']} CPUs, shared machine, "
             f"load average {info['load_avg'][0]:.1f}). Fastest of {args.repeats} alternated runs each.", "",
             "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    lines += ["| " + " | ".join(str(r[c]) for c in COLS) + " |" for r in rows]
    with open(base + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
