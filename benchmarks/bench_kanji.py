"""Kanji completion from partial cues on Brian2 (and the numpy reference): success, NN limit, wall time.

How to run (from the repository root)::

    python benchmarks/bench_kanji.py                          # K = 2136 Joyo, all cues, top half, model B
    python benchmarks/bench_kanji.py --k 573 --n-cues 64      # smaller
    python benchmarks/bench_kanji.py --models "A, n=20" "classical (A, n=2)"
    python benchmarks/bench_kanji.py --no-reference           # Brian2 only
    python benchmarks/bench_kanji.py --out /tmp/bench --tag _test --dtype float32
    # all 6,355 JIS X 0208 kanji stored, four cue types, rows merged into one results file:
    python benchmarks/bench_kanji.py --set jis0208 --k 6355 --n-cues 1024 --dtype float32 --no-reference \\
        --cues top bottom centre random:0.5:0.1 --append benchmarks/results_kanji6355.json

For each model it stores the first K kanji of ``--set`` (``N_f = 4096``
feature neurons, ``N_h = K`` memory neurons), cues ``n_cues`` of them (evenly
spaced indices; default all K) with each cue type of ``--cues``
(``region[:fraction[:noise]]``, see :func:`hippo_dam.partial_cue`: 'top' and
'bottom' halves, a 'centre' window of fraction x fraction, 'random' visible
pixels, ``noise`` = fraction of the visible pixels flipped) and runs
:func:`hippo_dam.kanji_completion` with

* ``brian2``: the Brian2 network, runtime Cython, ``DenseAssociativeMemory``
  with ``coupling='dense'``, cues run in batches of ``--chunk`` per Brian2 run;
* ``reference``: :func:`hippo_dam.euler_reference`, numpy, the batch of
  cues at once (chunks of ``--chunk``).

``nn_limit`` is the nearest-neighbour limit on the same cues (noise
included): the fraction whose own glyph is strictly the closest stored glyph
on the visible pixels (:func:`hippo_dam.nearest_neighbour_limit`).

Timing settings are ``hippo_dam.KANJI_TIMING`` (tau_f = 20 ms, tau_h = 2 ms,
dt = 1 ms, 50 ms). ``wall_s`` includes building the network and, for Brian2,
compiling its code the first time (a warm-up on a single cue at K = 8 is run
first so that compilation of the code shape is not counted).
Writes ``results_kanji<tag>.json`` and ``.md`` to ``--out`` (default:
benchmarks/), or with ``--append PATH`` merges the rows into PATH (a row with
the same set, K, model, backend, dtype, cue and cues is replaced) and rewrites
the ``.md`` beside it.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shlex
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COLS = ["set", "model", "backend", "dtype", "K", "K_over_Nf", "cue", "n_cues", "success", "n_success", "nn_limit",
        "n_nn_resolvable", "pixel_error", "n_steps", "wall_s", "s_per_cue"]
_KEY = ("set", "K", "model", "backend", "dtype", "cue", "n_cues")


def parse_cue(spec):
    """``'region[:fraction[:noise]]'`` -> (region, fraction, noise); fraction 0.5 and noise 0 by default."""
    parts = spec.split(":")
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"cue {spec!r} must be region[:fraction[:noise]]")
    try:
        fraction = float(parts[1]) if len(parts) > 1 else 0.5
        noise = float(parts[2]) if len(parts) > 2 else 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"cue {spec!r}: fraction and noise must be numbers") from None
    return parts[0], fraction, noise


def _slug(text):
    """A key usable in a dotted path: 'B, beta=0.1' -> 'B_beta_0_1', 'random:0.5:0.1' -> 'random_0_5_0_1'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _table(rows):
    """Rows as ``{set_K: {backend_dtype: {model: {cue: {...}}}}}`` with slugged keys (for the docs' dotted paths)."""
    table = {}
    for r in rows:
        cell = {k: r[k] for k in ("model", "cue", "n_cues", "success", "n_success", "nn_limit", "n_nn_resolvable",
                                  "pixel_error", "wall_s", "dtype", "backend")}
        table.setdefault(f"{r['set']}_{r['K']}", {}).setdefault(_slug(f"{r['backend']} {r['dtype']}"), {}) \
            .setdefault(_slug(r["model"]), {})[_slug(r["cue"])] = cell
    return table


def _markdown(info):
    lines = ["# Kanji completion benchmark", "",
             "One row per (model, backend, cue type). `nn_limit`: nearest-neighbour limit on the same cues "
             "(own glyph strictly closest on the visible pixels, noise included). Cue "
             "`region:fraction:noise` (`hippo_dam.partial_cue`). Runs:", ""]
    lines += [f"- `{run['command']}` on {run['date']} (total {run['total_s']} s, {run['cpu_count']} CPUs, "
              "shared machine)" for run in info["runs"]]
    rows = sorted(info["rows"], key=lambda r: (r["set"], r["K"], r["cue"], r["model"], r["backend"]))
    lines += ["", "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in COLS) + " |" for r in rows]
    for key, cues in info.get("nn_limit_all", {}).items():
        lines += ["", f"Nearest-neighbour limit over all cues ({key}; `--nn-only`):", "",
                  "| cue | K | fraction | n_resolvable | n_ties |", "|---|---|---|---|---|"]
        lines += [f"| {c['cue']} | {c['K']} | {c['fraction']} | {c['n_resolvable']} | {c['n_ties']} |"
                  for c in cues.values()]
    return "\n".join(lines) + "\n"


def _nn_only(args):
    """The nearest-neighbour limit of each cue type over all K stored kanji, merged into ``--append``."""
    import hippo_dam as hd

    if not args.append:
        raise SystemExit("--nn-only needs --append PATH")
    patterns, _ = hd.load_kanji(args.set, args.k)
    side = int(round(np.sqrt(patterns.shape[1])))
    info = json.loads(open(args.append).read()) if os.path.exists(args.append) else {"runs": [], "rows": []}
    out = info.setdefault("nn_limit_all", {}).setdefault(f"{args.set}_{args.k}", {})
    for region, fraction, noise in args.cues:
        cue, known = hd.partial_cue(patterns, region, (side, side), fraction, noise, args.seed)
        nn = hd.nearest_neighbour_limit(patterns, known, cue=cue)
        name = f"{region}:{fraction:g}:{noise:g}"
        out[_slug(name)] = {"cue": name, "K": args.k, "n_cues": args.k, "fraction": nn["fraction"],
                            "n_resolvable": nn["n_resolvable"], "n_ties": nn["n_ties"], "seed": args.seed}
        print(f"{args.set} K={args.k} {name}: NN limit {nn['fraction']:.4f} ({nn['n_resolvable']}/{args.k})")
    info["table"] = _table(info["rows"])
    info.setdefault("nn_runs", []).append(
        {"command": "python benchmarks/bench_kanji.py " + shlex.join(sys.argv[1:]),
         "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    with open(args.append, "w") as fh:
        json.dump(info, fh, indent=2, ensure_ascii=False)
    with open(os.path.splitext(args.append)[0] + ".md", "w") as fh:
        fh.write(_markdown(info))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="joyo", choices=["joyo", "jis0208"], help="shipped kanji set")
    parser.add_argument("--k", type=int, default=2136, help="number of kanji stored (1..size of the set)")
    parser.add_argument("--n-cues", type=int, default=None, help="number of cues (default: all K)")
    parser.add_argument("--models", nargs="+", default=["B, beta=0.1"])
    parser.add_argument("--cues", nargs="+", default=[("top", 0.5, 0.0)], type=parse_cue,
                        help="cue types region[:fraction[:noise]], e.g. top centre random:0.5:0.1")
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="seed of random cues and noise")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--no-brian2", action="store_true")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                        help="storage of xi in the batched Brian2 run and dtype of the numpy reference")
    parser.add_argument("--tag", default="", help="suffix of the output files: results_kanji<tag>.json/.md")
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--append", default=None, help="merge the rows into this JSON file (and its .md)")
    parser.add_argument("--nn-only", action="store_true",
                        help="no simulation: the nearest-neighbour limit of every cue type over all K cues, "
                             "recorded under 'nn_limit_all' (needs --append)")
    args = parser.parse_args(argv)
    if args.nn_only:
        return _nn_only(args)

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
            for region, fraction, noise in args.cues:
                r = hd.kanji_completion(args.k, model, visible=region, fraction=fraction, noise=noise,
                                        backend=backend, cues=cues, chunk=args.chunk, seed=args.seed,
                                        dtype=np.dtype(args.dtype), kanji_set=args.set)
                cue_name = f"{region}:{fraction:g}:{noise:g}"
                row = {"set": args.set, "model": model, "backend": r["backend"], "K": args.k,
                       "K_over_Nf": round(args.k / 4096, 4), "cue": cue_name, "visible": region,
                       "fraction": fraction, "noise": noise, "seed": args.seed, "n_cues": r["n_cues"],
                       "success": r["success"], "n_success": r["n_success"], "nn_limit": r["nn_limit"],
                       "n_nn_resolvable": r["n_nn_resolvable"], "pixel_error": r["pixel_error"],
                       "retrieved_correct": r["retrieved_correct"], "mean_glyph_overlap": r["mean_glyph_overlap"],
                       "wall_s": round(r["wall_time_s"], 4), "s_per_cue": round(r["wall_time_s"] / r["n_cues"], 5),
                       "n_steps": int(round(r["timing_ms"]["duration"] / r["timing_ms"]["dt"])),
                       "timing_ms": r["timing_ms"], "chunk": args.chunk, "dtype": args.dtype}
                rows.append(row)
                print(f"{model:>20s} {row['backend']:>16s} {args.set} K={args.k} {cue_name} cues={row['n_cues']}: "
                      f"success {row['success']:.4f} ({row['n_success']}/{row['n_cues']}), "
                      f"NN limit {row['nn_limit']:.4f} ({row['n_nn_resolvable']}), "
                      f"pixel error {row['pixel_error']:.5f}, wall {row['wall_s']:.1f} s", flush=True)
    run = {"command": "python benchmarks/bench_kanji.py " + shlex.join(sys.argv[1:] if argv is None else argv),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "total_s": round(time.perf_counter() - total, 1), "cpu_count": os.cpu_count(),
           "machine": platform.platform(), "python": platform.python_version(),
           "brian2": brian2.__version__, "numpy": np.__version__, "hippo_dam": hd.__version__}
    if args.append:
        path = args.append
        info = json.loads(open(path).read()) if os.path.exists(path) else {"runs": [], "rows": []}
        keys = {tuple(r[k] for k in _KEY) for r in rows}
        info["rows"] = [r for r in info["rows"] if tuple(r.get(k) for k in _KEY) not in keys] + rows
        info["runs"].append(run)
    else:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"results_kanji{args.tag}.json")
        info = {**run, "runs": [run], "rows": rows}
    info["table"] = _table(info["rows"])
    with open(path, "w") as fh:
        json.dump(info, fh, indent=2, ensure_ascii=False)
    with open(os.path.splitext(path)[0] + ".md", "w") as fh:
        fh.write(_markdown(info))
    return rows


if __name__ == "__main__":
    main()
