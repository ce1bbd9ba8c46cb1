"""Compiler optimisation of the runtime Cython modules: first-run cost against step cost.

How to run (from the repository root)::

    python benchmarks/bench_opt_level.py              # writes benchmarks/results_opt_level.{json,md}
    python benchmarks/bench_opt_level.py --repeats 1 --out /tmp/b

For each level (``HIPPO_DAM_OPT_LEVEL``: Brian2's own ``-O3`` and the
package's ``-O1``), alternated, each case in a fresh process:

* ``cold``: the README quick start and the 3-layer hierarchy of
  ``docs/hierarchy.md`` (from ``bench_cold.py``) with an empty, private Brian2
  cache, whole-process wall time;
* ``cold``, ``model_b_standalone``: ``hippo-dam run models/model_b.toml`` (a kept
  C++ project, whose dense product builds at -O3 at either level) with an
  empty, private project folder;
* ``step``, ``standalone``: one more step (ms) of a 2048 x 2048 model-A C++
  project (the 50 ms recall minus the 10 ms recall, over 400, best of 3);
* ``step``: one more Euler step (ms; the 1000-step recall minus the 100-step
  recall, over 900, best of 5) of models A and B at 1024 x 1024 and at
  64 x 65,536 (a wide memory layer: the per-neuron loops at their largest
  against the product), on a cache warmed in the same process.

The machine is shared: compare the two levels within one run.
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
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_cold import HIERARCHY, QUICKSTART  # noqa: E402

LEVELS = ("-O3", "-O1")
# the marginal step of a recall: the longer recall minus the shorter one, over the extra steps (best of n)
MARGINAL = """
import time
def marginal_ms(net, cue, known, long, short, steps, n):
    def best(duration):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            net.recall(cue, known, duration=duration)
            times.append(time.perf_counter() - start)
        return min(times)
    return (best(long) - best(short)) / steps * 1e3
"""
STANDALONE_STEP = MARGINAL + """
import hippo_dam as hd
from brian2 import ms
p = hd.random_patterns(2048, 2048, seed=0)
cue, known = hd.flip_cue(p[1], 0.2, seed=1)
net = hd.model_a(p, record_every=None, codegen_target="cpp_standalone")
net.recall(cue, known, duration=10 * ms)
print("standalone", marginal_ms(net, cue, known, 50 * ms, 10 * ms, 400, 3))
"""
STEP = MARGINAL + """
import sys
import hippo_dam as hd
from brian2 import ms
nf, nh = int(sys.argv[1]), int(sys.argv[2])
p = hd.random_patterns(nh, nf, seed=0)
cue, known = hd.flip_cue(p[1], 0.2, seed=1)
for name, make in (("A", hd.model_a), ("B", hd.model_b)):
    net = make(p, record_every=None)
    net.recall(cue, known, duration=1 * ms)
    print(name, marginal_ms(net, cue, known, 100 * ms, 10 * ms, 900, 5))
"""


def _key(kind, case):
    """``cold_quickstart``, ``step_A_1024x1024``: the row's name in the JSON (read by docs/performance.md)."""
    if kind.startswith("cold"):
        return f"cold_{case}"
    model, size = case.split(", ")
    return f"step_{model.split()[-1]}_{size.replace(' ', '')}"  # standalone, 2048 x 2048 -> step_standalone_2048x2048


def _run(code, args, level, cache):
    env = dict(os.environ, HIPPO_DAM_OPT_LEVEL=level, CYTHON_CACHE_DIR=cache,
               HIPPO_DAM_STANDALONE_CACHE=os.path.join(cache, "standalone"))
    command = [sys.executable, "-m", "hippo_dam.cli", *args] if code is None else [sys.executable, "-c", code, *args]
    start = time.perf_counter()
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=os.path.dirname(HERE))
    return time.perf_counter() - start, out.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)
    cold = {(case, level): [] for case in ("quickstart", "hierarchy", "model_b_standalone") for level in LEVELS}
    step = {}
    for rep in range(args.repeats):
        for level in LEVELS:
            for case, code in (("quickstart", QUICKSTART), ("hierarchy", HIERARCHY)):
                with tempfile.TemporaryDirectory(prefix="hippo_dam_opt_") as cache:
                    wall, _ = _run(code, [], level, cache)
                cold[case, level].append(wall)
                print(f"repeat {rep} {level} cold {case}: {wall:.1f} s", flush=True)
            with tempfile.TemporaryDirectory(prefix="hippo_dam_opt_") as cache:
                wall, _ = _run(None, ["run", "models/model_b.toml", "--out", os.path.join(cache, "out")], level, cache)
                cold["model_b_standalone", level].append(wall)
                print(f"repeat {rep} {level} cold model_b_standalone: {wall:.1f} s", flush=True)
                _, out = _run(STANDALONE_STEP, [], level, cache)
                step.setdefault(("standalone, 2048 x 2048", level), []).append(float(out.split()[-1]))
                print(f"repeat {rep} {level} step standalone 2048 x 2048: {float(out.split()[-1]):.4f} ms", flush=True)
            with tempfile.TemporaryDirectory(prefix="hippo_dam_opt_") as cache:
                for nf, nh in ((1024, 1024), (64, 65536)):
                    _, out = _run(STEP, [str(nf), str(nh)], level, cache)
                    for line in out.strip().splitlines():
                        model, ms = line.split()
                        step.setdefault((f"model {model}, {nf} x {nh}", level), []).append(float(ms))
                        print(f"repeat {rep} {level} step model {model} {nf} x {nh}: {float(ms):.4f} ms", flush=True)
    rows = []
    for kind, table in (("cold (s)", cold), ("ms per step", step)):
        for case in dict.fromkeys(c for c, _ in table):
            o3, o1 = (statistics.median(table[case, level]) for level in LEVELS)
            rows.append({"key": _key(kind, case), "measure": kind, "case": case, "O3": round(o3, 4), "O1": round(o1, 4),
                         "O1_over_O3": round(o1 / o3, 3), "O3_all": table[case, "-O3"], "O1_all": table[case, "-O1"]})
    result = {"date": _dt.datetime.now().isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "load_average": round(os.getloadavg()[0], 2), "repeats": args.repeats,
              "rows": {r["key"]: r for r in rows}}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results_opt_level.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    lines = ["| measure | case | -O3 | -O1 | -O1 / -O3 |", "|---|---|---|---|---|"]
    lines += [f"| {r['measure']} | {r['case']} | {r['O3']} | {r['O1']} | {r['O1_over_O3']} |" for r in rows]
    with open(os.path.join(args.out, "results_opt_level.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
