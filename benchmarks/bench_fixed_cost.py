"""The two fixed costs of a runtime run, measured with and without their fixes in one run.

How to run (from the repository root)::

    python benchmarks/bench_fixed_cost.py                 # writes benchmarks/results_fixed_cost.{json,md}
    python benchmarks/bench_fixed_cost.py --repeats 3 --out /tmp/b

* ``product``: the (100 x 256) (256 x 64) matrix product of a 100-recall grid
  at 256 x 64 (numpy ``@``, the BLAS the package's products use) on the
  default number of BLAS threads and on one thread
  (:func:`hippo_dam.core.dense.blas_threads_for`), median of 200 calls each;
* ``grid``: the warm 100-recall grid of ``bench_small_recalls.py`` (model B,
  256 x 64, 100 steps, per-recall cue, beta, tau_f, tau_h) through
  :func:`hippo_dam.recall_grid`, with both fixes (``fixed``), and with the
  default BLAS threads and Brian2's full ``gc.collect()`` at the start of the
  run (``unfixed``: ``blas_threads_for`` and ``young_objects_gc`` replaced by
  no-ops), alternated ``--repeats`` times, fastest of each kept;
* ``import``: wall time of a fresh ``python -c`` that imports ``hippo_dam``
  alone (the top level imports a subpackage only when one of its names is
  used), then uses a theory function (``dam_async``: numpy only), then the
  Brian2 network (``DenseAssociativeMemory``), then every public name (what
  ``import hippo_dam`` cost when the top level imported everything), and of
  ``import brian2`` alone; alternated ``--repeats`` times, median of each.

The machine is shared: compare the two columns of one run, not runs.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _median_ms(fn, n=200):
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


IMPORTS = {  # key -> (what, the python -c code timed in a fresh process)
    "hippo_dam": ("import hippo_dam", "import hippo_dam"),
    "theory": ("+ a theory function (dam_async)", "import hippo_dam; hippo_dam.dam_async"),
    "network": ("+ the Brian2 network (DenseAssociativeMemory)", "import hippo_dam; hippo_dam.DenseAssociativeMemory"),
    "everything": ("+ every public name (what the former eager import cost)",
                   "import hippo_dam; [getattr(hippo_dam, n) for n in hippo_dam.__all__]"),
    "brian2": ("import brian2 alone", "import brian2"),
}


def _import_times(repeats):
    """Median wall time (s) of each IMPORTS snippet in a fresh interpreter, alternated ``repeats`` times."""
    import subprocess

    times = {label: [] for label in IMPORTS}
    for _ in range(repeats):
        for label, (_, code) in IMPORTS.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(HERE))
            times[label].append(time.perf_counter() - start)
    return {label: round(float(np.median(t)), 3) for label, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)

    import hippo_dam as hd
    import hippo_dam.networks.two_layer as network_module
    from brian2 import ms
    from threadpoolctl import threadpool_info

    from bench_small_recalls import grid_case, run_grid
    from hippo_dam.core.dense import blas_threads_for

    rng = np.random.default_rng(0)
    G, xi = rng.normal(size=(100, 256)), rng.normal(size=(64, 256))
    default_threads = max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
    product_default = _median_ms(lambda: G @ xi.T)
    with blas_threads_for(G.size * 64):
        product_one = _median_ms(lambda: G @ xi.T)

    case = grid_case(hd, ms, 256, 64, 100)
    net = hd.model_b(case[0], beta=1.0, record_every=None)
    first = time.perf_counter()
    run_grid(hd, ms, net, case, 100)
    first = time.perf_counter() - first
    fixed, unfixed = [], []
    patched = {"blas_threads_for": lambda macs: contextlib.nullcontext(),
               "young_objects_gc": contextlib.nullcontext}
    originals = {name: getattr(network_module, name) for name in patched}
    for _ in range(args.repeats):
        start = time.perf_counter()
        good = run_grid(hd, ms, net, case, 100)
        fixed.append(time.perf_counter() - start)
        for name, fn in patched.items():
            setattr(network_module, name, fn)
        try:
            start = time.perf_counter()
            bad = run_grid(hd, ms, net, case, 100)
            unfixed.append(time.perf_counter() - start)
        finally:
            for name, fn in originals.items():
                setattr(network_module, name, fn)
        np.testing.assert_allclose(good.v_final, bad.v_final, rtol=1e-9, atol=1e-12)  # BLAS threads: last bits
    results = {
        "product": {"shape": "(100 x 256) (256 x 64)", "blas_threads_default": default_threads,
                    "default_threads_ms": round(product_default, 4), "one_thread_ms": round(product_one, 4),
                    "ratio": round(product_default / product_one, 1)},
        "grid": {"recalls": 100, "n_features": 256, "n_patterns": 64, "steps": 100, "first_s": round(first, 3),
                 "fixed_s": round(min(fixed), 4), "unfixed_s": round(min(unfixed), 4),
                 "ratio": round(min(unfixed) / min(fixed), 2), "repeats": args.repeats},
        "import": {"median_s": _import_times(args.repeats), "repeats": args.repeats},
        "command": "python benchmarks/bench_fixed_cost.py " + " ".join(argv or sys.argv[1:]),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version()},
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results_fixed_cost.json"), "w") as fh:
        json.dump(results, fh, indent=2)
        fh.write("\n")
    p, g = results["product"], results["grid"]
    md = [
        "# Fixed costs of a runtime run, with and without their fixes",
        "",
        f"Generated by `{results['command'].strip()}` on {results['date']} ({os.cpu_count()} CPUs, shared machine, "
        f"load average {results['machine']['load_avg'][0]}).",
        "",
        "| what | default | fixed | ratio |",
        "|---|---|---|---|",
        f"| product {p['shape']}, median ms | {p['default_threads_ms']} ({p['blas_threads_default']} BLAS threads) "
        f"| {p['one_thread_ms']} (1 thread) | {p['ratio']} |",
        f"| warm grid of 100 recalls, 256 x 64, 100 steps, fastest s | {g['unfixed_s']} | {g['fixed_s']} "
        f"| {g['ratio']} |",
        "",
        "Import (fresh interpreter, median s):",
        "",
        "| what | s |",
        "|---|---|",
        *[f"| {IMPORTS[key][0]} | {t} |" for key, t in results["import"]["median_s"].items()],
        "",
    ]
    with open(os.path.join(args.out, "results_fixed_cost.md"), "w") as fh:
        fh.write("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
