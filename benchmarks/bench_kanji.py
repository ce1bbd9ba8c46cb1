"""Wall time of completing kanji from their top half on Brian2 (and the numpy reference).

How to run (from the repository root)::

    python benchmarks/bench_kanji.py                          # K = 2136, all 2,136 cues, model 'B, beta=0.1'
    python benchmarks/bench_kanji.py --k 573 --n-cues 64      # smaller
    python benchmarks/bench_kanji.py --models "A, n=20" "classical (A, n=2)"
    python benchmarks/bench_kanji.py --no-reference           # Brian2 only
    python benchmarks/bench_kanji.py --out /tmp/bench --tag _test --dtype float32

For each model it stores the first K Joyo kanji (``N_f = 4096`` feature
neurons, ``N_h = K`` memory neurons), cues ``n_cues`` of them (evenly spaced
indices; default all K) with their top half, and runs
:func:`hippo_dam.kanji_completion` with

* ``brian2``: the Brian2 network, runtime Cython, ``DenseAssociativeMemory``
  with ``coupling='dense'``, cues run in batches of ``--chunk`` per Brian2 run;
* ``reference``: :func:`hippo_dam.euler_reference`, numpy float64, the batch of
  cues at once (chunks of ``--chunk``).

Timing settings are ``hippo_dam.KANJI_TIMING`` (tau_f = 20 ms, tau_h = 2 ms,
dt = 1 ms, 50 ms). ``wall_s`` includes building the network and, for Brian2,
compiling its code the first time (a warm-up on a single cue at K = 8 is run
first so that compilation of the code shape is not counted).
Writes ``results_kanji.json`` and ``results_kanji.md`` to ``--out``
(default: benchmarks/).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=2136, help="number of kanji stored (1..2136)")
    parser.add_argument("--n-cues", type=int, default=None, help="number of cues (default: all K)")
    parser.add_argument("--models", nargs="+", default=["B, beta=0.1"])
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--no-brian2", action="store_true")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                        help="storage of xi in the batched Brian2 run and dtype of the numpy reference")
    parser.add_argument("--tag", default="", help="suffix of the output files: results_kanji<tag>.json/.md")
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)

    import brian2

    import hippo_dam as hd

    n_cues = args.k if args.n_cues is None else args.n_cues
    if not 1 <= n_cues <= args.k:
        raise SystemExit(f"--n-cues must lie in [1, {args.k}]")
    cues = np.unique(np.linspace(0, args.k - 1, n_cues).round().astype(int))
    backends = [b for b, off in (("brian2", args.no_brian2), ("reference", args.no_reference)) if not off]
    total = time.perf_counter()
    rows = []
    for model in args.models:
        for backend in backends:
            if backend == "brian2":  # compile this code shape once, outside the timing
                hd.kanji_completion(8, model, backend="brian2", cues=[0])
            r = hd.kanji_completion(args.k, model, backend=backend, cues=cues, chunk=args.chunk,
                                   dtype=np.dtype(args.dtype))
            row = {"model": model, "backend": r["backend"], "K": args.k, "n_cues": r["n_cues"],
                   "success": r["success"], "n_success": r["n_success"], "pixel_error": r["pixel_error"],
                   "nn_limit": r["nn_limit"], "wall_s": round(r["wall_time_s"], 4),
                   "s_per_cue": round(r["wall_time_s"] / r["n_cues"], 5),
                   "n_steps": int(round(r["timing_ms"]["duration"] / r["timing_ms"]["dt"])),
                   "timing_ms": r["timing_ms"], "chunk": args.chunk, "dtype": args.dtype}
            rows.append(row)
            print(f"{model:>20s} {row['backend']:>16s} K={args.k} cues={row['n_cues']}: success {row['success']:.4f} "
                  f"({row['n_success']}/{row['n_cues']}), pixel error {row['pixel_error']:.5f}, "
                  f"NN limit {row['nn_limit']:.4f}, wall {row['wall_s']:.1f} s ({row['s_per_cue']:.3f} s/cue)",
                  flush=True)
    info = {"command": "python benchmarks/bench_kanji.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "total_s": round(time.perf_counter() - total, 1), "cpu_count": os.cpu_count(),
            "machine": platform.platform(), "python": platform.python_version(),
            "brian2": brian2.__version__, "numpy": np.__version__, "hippo_dam": hd.__version__, "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"results_kanji{args.tag}.json"), "w") as fh:
        json.dump(info, fh, indent=2)
    cols = ["model", "backend", "dtype", "K", "n_cues", "success", "n_success", "pixel_error", "nn_limit", "n_steps",
            "wall_s", "s_per_cue"]
    lines = ["# Kanji completion benchmark (top-half cues)", "",
             f"Generated by `{info['command']}` on {info['date']} (total {info['total_s']} s, "
             f"{info['cpu_count']} CPUs, shared machine).", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    with open(os.path.join(args.out, f"results_kanji{args.tag}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
