"""A long notebook session: one new network per recall, many times over, in one process.

How to run (from the repository root)::

    python benchmarks/bench_session.py                  # writes benchmarks/results_session.{json,md}
    python benchmarks/bench_session.py --networks 200 --out /tmp/b

* ``loop``: the loop a notebook user writes first, a new model-B network per
  parameter value (256 x 64, beta varied) and one recall of 100 steps
  (10 ms at dt = 0.1 ms, energy every step, states every 0.5 ms), timed per
  block of 100 networks, against ``numpy``: :func:`hippo_dam.euler_reference`
  on the same recalls (the plain numpy Euler loop), timed in the same block;
* after 10 networks and after every further block: live Python objects
  (``gc.get_objects()``), resident memory (``/proc/self/statm``) and a
  :func:`hippo_dam.recall_grid` of 100 recalls on one network (the fast path),
  against the same grid in the fresh process (before any loop).

Brian2's compiled modules are warmed first (one recall), so that the loop
times a warm session. The machine is shared: compare ratios within one run.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=1000, help="networks built, run and dropped in all")
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)  # the docstring's "--out /tmp/b" is a new folder

    import hippo_dam as hd
    from brian2 import ms

    patterns = hd.random_patterns(64, 256, seed=0)
    cue, known = hd.flip_cue(patterns[3], 0.2, seed=1)
    v0 = np.where(known, cue, 0.0)
    grid_cues = np.stack([hd.flip_cue(patterns[k % 64], 0.2, seed=k)[0] for k in range(100)])
    grid_net = hd.model_b(patterns, record_every=None)

    def grid_time():
        start = time.perf_counter()
        hd.recall_grid(grid_net, grid_cues, duration=10 * ms, memory_params={"beta": np.linspace(0.5, 2.0, 100)})
        return time.perf_counter() - start

    def one_network(k):
        net = hd.model_b(patterns, beta=1.0 + 0.001 * k, tau_f=20 * ms, tau_h=2 * ms)
        net.recall(cue, known, duration=10 * ms)

    def one_numpy(k):
        hd.euler_reference(patterns, hd.identity(), hd.log_sum_exp(1.0 + 0.001 * k), 20 * ms, 2 * ms, v0,
                           np.zeros(64), 0.1 * ms, 100)

    one_network(0)  # warm: modules compiled and loaded
    grid_time()
    fresh_grid = min(grid_time() for _ in range(3))
    blocks = []
    for k in range(10):
        one_network(k)
    gc.collect()
    start_objects, start_rss = len(gc.get_objects()), _rss_mb()
    blocks.append({"networks": 10, "objects": start_objects, "rss_mb": round(start_rss, 1),
                   "grid_s": round(min(grid_time() for _ in range(3)), 4)})
    print(f"after {10:>5} networks: {start_objects} objects, {start_rss:.0f} MB, grid {blocks[-1]['grid_s']:.3f} s "
          f"(fresh process: {fresh_grid:.3f} s)", flush=True)
    done = 10
    while done < args.networks:
        n = min(args.block, args.networks - done)
        start = time.perf_counter()
        for k in range(done, done + n):
            one_network(k)
        loop = time.perf_counter() - start
        start = time.perf_counter()
        for k in range(done, done + n):
            one_numpy(k)
        numpy_loop = time.perf_counter() - start
        done += n
        gc.collect()
        row = {"networks": done, "objects": len(gc.get_objects()), "rss_mb": round(_rss_mb(), 1),
               "grid_s": round(min(grid_time() for _ in range(3)), 4), "loop_s": round(loop, 3),
               "numpy_loop_s": round(numpy_loop, 4), "loop_over_numpy": round(loop / numpy_loop, 1)}
        blocks.append(row)
        print(f"after {done:>5} networks: {row['objects']} objects, {row['rss_mb']:.0f} MB, grid {row['grid_s']:.3f} s; "
              f"last {n}: loop {loop:.2f} s, numpy {numpy_loop:.3f} s ({row['loop_over_numpy']}x)", flush=True)
    last = blocks[-1]
    record = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": round(os.getloadavg()[0], 2),
        "networks": last["networks"],
        "fresh_grid_s": round(fresh_grid, 4),
        "blocks": blocks,
        "objects_change_after_first_10": round(last["objects"] / start_objects - 1, 4),
        "rss_change_after_first_10": round(last["rss_mb"] / start_rss - 1, 4),
        "grid_over_fresh": round(last["grid_s"] / fresh_grid, 2),
        "loop_over_numpy_median": float(np.median([b["loop_over_numpy"] for b in blocks[1:]])),
    }
    with open(os.path.join(args.out, "results_session.json"), "w") as fh:
        json.dump(record, fh, indent=1)
    lines = [f"# A long session ({record['date']}, {record['machine']}, load {record['load_average']})", "",
             "| networks | live objects | RSS (MB) | recall_grid of 100 (s) | loop of new networks (s) | numpy loop (s) | ratio |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {b['networks']} | {b['objects']} | {b['rss_mb']} | {b['grid_s']} | {b.get('loop_s', '-')} | "
              f"{b.get('numpy_loop_s', '-')} | {b.get('loop_over_numpy', '-')} |" for b in blocks]
    lines += ["", f"Fresh process: recall_grid of 100 in {fresh_grid:.4f} s. After {last['networks']} networks, "
              f"live objects {100 * record['objects_change_after_first_10']:+.2f}% and RSS "
              f"{100 * record['rss_change_after_first_10']:+.2f}% against after 10; recall_grid "
              f"{record['grid_over_fresh']}x the fresh process; the loop costs {record['loop_over_numpy_median']}x "
              "the numpy loop (median of the blocks)."]
    with open(os.path.join(args.out, "results_session.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
