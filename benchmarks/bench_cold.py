"""The first run on a fresh machine: cold and warm whole-process times, against Brian2's smallest example.

How to run (from the repository root)::

    python benchmarks/bench_cold.py                      # writes benchmarks/results_cold.{json,md}
    python benchmarks/bench_cold.py --only model_b quickstart --repo /path/to/other/checkout --name results_cold_before

Every case runs as a fresh Python process with an empty, private Brian2 cache
(``CYTHON_CACHE_DIR`` set to a new directory: Brian2 keeps its compiled Cython
modules there) and then once more with that cache filled ("warm"):

* ``smallest``: Brian2's smallest example, a 10-neuron ``NeuronGroup`` with one
  ODE run for 10 ms (the anchor every other cold time is divided by);
* ``import_brian2``: ``python -c "import brian2"`` (the anchor of the warm times);
* ``model_*`` and the other shipped model files: ``hippo-dam run models/<name>.toml``
  (as ``python -m hippo_dam.cli``, so that ``--repo`` can time another checkout);
* models A, B and C run as one C++ project (their model files' ``codegen_target``),
  kept between processes in ``$HIPPO_DAM_STANDALONE_CACHE`` (set to a folder of the
  case's private cache, so cold is cold); ``model_b_cython``: model B on runtime
  Cython (``--codegen-target cython``), one module per code object;
* ``quickstart``: the README's Python quick start (model B, 256 x 64, 100 ms);
* ``hierarchy``: the 3-layer hierarchy of ``docs/hierarchy.md`` (64-32-10, a
  50 ms clamped recall); ``general``: a 50-neuron general network with a tanh
  group and a softmax group (``docs/hierarchy.md``).

The machine is shared: compare the ratios of one run (each case and its
anchor measured back to back), not absolute times of different runs.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SMALLEST = "from brian2 import *\nG = NeuronGroup(10, 'dv/dt = -v/(10*ms) : 1')\nrun(10*ms)\n"

QUICKSTART = """
import hippo_dam as hd
from brian2 import ms

patterns = hd.random_patterns(64, 256, seed=0)
cue, known = hd.flip_cue(patterns[7], 0.2, seed=1)
net = hd.model_b(patterns, beta=1.0, tau_f=20*ms, tau_h=2*ms)
result = net.recall(cue, known, duration=100*ms, target=7)
print(result.summary())
"""

HIERARCHY = """
import numpy as np
import hippo_dam as hd
from brian2 import ms

rng = np.random.default_rng(0)
layers = [hd.Layer(64, "tanh", 20*ms, "pixels"),
          hd.Layer(32, "layer_norm", 5*ms, "parts"),
          hd.Layer(10, {"name": "log_sum_exp", "beta": 2.0}, 2*ms, "labels")]
weights = [rng.normal(size=(32, 64)) / 8, rng.normal(size=(10, 32)) / 6]
net = hd.HierarchicalAssociativeMemory(layers, weights)
cue = np.sign(rng.normal(size=64)); known = np.arange(64) < 32
res = net.recall(cue, known, layer="pixels", clamp=True, duration=50*ms)
print(res.extra["labels"]["final"].round(3))
"""

GENERAL = """
import numpy as np
import hippo_dam as hd
from brian2 import ms

rng = np.random.default_rng(0)
W = rng.normal(size=(50, 50)) / 10
W = (W + W.T) / 2
np.fill_diagonal(W, 0)
net = hd.GeneralAssociativeMemory(W, groups=[(slice(0, 40), "tanh"),
                                             (slice(40, 50), {"name": "log_sum_exp", "beta": 1.0})],
                                  tau=np.r_[np.full(40, 20.0), np.full(10, 5.0)] * ms)
res = net.recall(rng.normal(size=50), duration=50*ms)
print(res.summary())
"""

MODEL_FILES = ("model_a", "model_b", "model_c", "ca3", "ca3_spiking", "ec_ca1", "kanji_hierarchy", "place_cells")


def _cases():
    """name -> (what, argv after the interpreter)."""
    cases = {"smallest": ("Brian2's smallest example (10 neurons, one ODE, 10 ms)", ["-c", SMALLEST]),
             "import_brian2": ("python -c 'import brian2'", ["-c", "import brian2"])}
    for name in MODEL_FILES:
        cases[name] = (f"hippo-dam run models/{name}.toml", None)
    cases["model_b_cython"] = ("hippo-dam run models/model_b.toml --codegen-target cython", None)
    cases["quickstart"] = ("README quick start (model B, 256 x 64, 100 ms)", ["-c", QUICKSTART])
    cases["hierarchy"] = ("3-layer hierarchy 64-32-10 (docs/hierarchy.md), 50 ms", ["-c", HIERARCHY])
    cases["general"] = ("general network, 40 tanh + 10 softmax neurons, 50 ms", ["-c", GENERAL])
    return cases


def _run(argv, repo, cache, out_dir):
    """Wall time (s) of ``python argv`` in ``repo`` with the Brian2 cache ``cache``; raises on failure."""
    env = dict(os.environ, CYTHON_CACHE_DIR=cache, PYTHONPATH=repo, MPLBACKEND="Agg",
               HIPPO_DAM_STANDALONE_CACHE=os.path.join(cache, "standalone"))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable] + argv, cwd=out_dir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: a recall that did not retrieve its target (still a run)
        raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def measure(names, repo, repeats=1):
    """Cold then warm time of every case in ``names`` (each cold run in a new empty cache), fastest of ``repeats``."""
    cases = _cases()
    rows = {}
    for name in names:
        what, argv = cases[name]
        if argv is None:
            model, _, target = name.partition("_cython")
            argv = ["-m", "hippo_dam.cli", "run", os.path.join(repo, "models", f"{model}.toml"), "--out", "out"]
            argv += ["--codegen-target", "cython"] if name.endswith("_cython") else []
        cold, warm = [], []
        for _ in range(repeats):
            cache = tempfile.mkdtemp(prefix=f"bench_cold_{name}_")
            work = tempfile.mkdtemp(prefix="bench_cold_work_")
            try:
                cold.append(_run(argv, repo, cache, work))
                warm.append(_run(argv, repo, cache, work))
                modules = len([f for f in os.listdir(cache) if f.endswith(".so")]) if os.path.isdir(cache) else 0
                modules = modules or len([f for r, _, fs in os.walk(cache) for f in fs if f.endswith(".so")])
            finally:
                shutil.rmtree(cache, ignore_errors=True)
                shutil.rmtree(work, ignore_errors=True)
        rows[name] = {"what": what, "cold_s": round(min(cold), 2), "warm_s": round(min(warm), 2),
                      "modules_compiled": modules}
        print(f"{name:<16} cold {min(cold):7.2f} s   warm {min(warm):6.2f} s   modules {modules:3d}   ({what})",
              flush=True)
    return rows


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="cases to run (default: all)")
    parser.add_argument("--repo", default=ROOT, help="checkout whose hippo_dam is timed (default: this one)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--name", default="results_cold", help="file names of the results (.json, .md)")
    args = parser.parse_args(argv)
    names = args.only or list(_cases())
    for anchor in ("import_brian2", "smallest"):  # the anchors first, so that each ratio has its own
        if anchor not in names:
            names.insert(0, anchor)
    load_before = _load()
    start = time.perf_counter()
    rows = measure(names, os.path.abspath(args.repo), args.repeats)
    smallest, brian2 = rows["smallest"]["cold_s"], rows["import_brian2"]["warm_s"]
    for name, row in rows.items():
        row["cold_over_smallest"] = round(row["cold_s"] / smallest, 2)
        row["warm_over_import_brian2"] = round(row["warm_s"] / brian2, 2)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.repo, capture_output=True, text=True)
    record = {
        "label": args.label,
        "commit": git.stdout.strip(),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(load_before, 2), round(_load(), 2)],
        "total_s": round(time.perf_counter() - start, 1),
        "cases": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as fh:
        json.dump(record, fh, indent=1)
    lines = [f"# Cold and warm runs ({record['label']}, commit {record['commit']}, {record['date']})", "",
             f"{record['machine']}; load average {record['load_average'][0]} before, "
             f"{record['load_average'][1]} after; {record['total_s']} s in all.", "",
             "| case | cold (s) | cold / smallest | warm (s) | warm / import brian2 | modules compiled |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['what']} | {r['cold_s']} | {r['cold_over_smallest']} | {r['warm_s']} | "
              f"{r['warm_over_import_brian2']} | {r['modules_compiled']} |" for r in rows.values()]
    with open(os.path.join(args.out, f"{args.name}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
