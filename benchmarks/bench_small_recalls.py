"""Many small recalls: a grid of 100 recalls in one Brian2 run against one-at-a-time recalls and numpy.

How to run (from the repository root)::

    python benchmarks/bench_small_recalls.py              # the 100-recall grid, fixed cost per size, the sweep file
    python benchmarks/bench_small_recalls.py --no-sweep --sizes 256x64 --out /tmp/b --tag _t

The grid: model B (identity features, softmax memories), N_f = 256 features,
K = 64 random patterns, 100 recalls of 100 steps (dt = 0.1 ms, 10 ms), each
with its own cue (a random target, 10-40% of its bits flipped), beta (0.02 to
2), tau_f (10-30 ms) and tau_h (1-4 ms). It is run

* ``grid``: :func:`hippo_dam.recall_grid` on one network (the 100 recalls are
  100 copies of one batched Brian2 run with per-copy tau and beta);
  ``grid_first`` builds the batched network (compiled code cached),
  ``grid`` reuses it with new values (the fastest of ``--repeats``);
* ``one_at_a_time``: a new ``hippo_dam.model_b`` per recall and its
  ``recall`` (what a notebook loop does without the grid);
* ``numpy``: :func:`hippo_dam.euler_reference` once per recall (100 numpy
  Euler loops).

``max_abs_diff_v`` compares the grid's final states with the one-at-a-time
ones; ``same_outcome`` counts recalls with the same success and Hamming
distance. The fixed cost per recall, one row per size (N_f x K): a warm
network's recall of 100 and of 200 steps give the per-step cost
``(t200 - t100) / 100`` and the fixed cost ``t100 - 100 * per_step``; the
same for numpy; and a grid's wall time per recall. ``--sweep`` also times
``sweeps/recall_b.toml`` (100 points of 600 steps, 2 workers) with the sweep's
batched form of ``recall_point`` and without it (one task per point), in
the same run. Writes ``results_small_recalls<tag>.{json,md,csv}``.
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
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZE_COLS = ["n_features", "n_patterns", "brian2_fixed_ms", "brian2_per_step_ms", "numpy_fixed_ms",
             "numpy_per_step_ms", "new_net_recall_ms", "grid_batch", "grid_per_recall_ms"]


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def grid_case(hd, ms, n_f, k, batch, seed=0):
    """Patterns, cues, targets and per-recall beta, tau_f, tau_h of a grid."""
    rng = np.random.default_rng(seed)
    patterns = hd.random_patterns(k, n_f, seed=rng)
    targets = rng.integers(k, size=batch)
    flips = rng.choice([0.1, 0.2, 0.3, 0.4], size=batch)
    cues = np.array([hd.flip_cue(patterns[t], f, seed=rng)[0] for t, f in zip(targets, flips)])
    betas = rng.choice([0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0], size=batch)
    tau_f = rng.choice([10.0, 20.0, 30.0], size=batch)
    tau_h = rng.choice([1.0, 2.0, 4.0], size=batch)
    return patterns, cues, targets, betas, tau_f, tau_h


def run_grid(hd, ms, net, case, steps):
    _, cues, targets, betas, tau_f, tau_h = case
    return hd.recall_grid(net, cues, duration=steps * 0.1 * ms, tau_f=tau_f * ms, tau_h=tau_h * ms,
                          memory_params={"beta": betas}, target=targets)


def one_at_a_time(hd, ms, case, steps):
    patterns, cues, targets, betas, tau_f, tau_h = case
    return [hd.model_b(patterns, beta=b, tau_f=tf * ms, tau_h=th * ms, dt=0.1 * ms, record_every=None)
            .recall(c, duration=steps * 0.1 * ms, target=t, progress=False)
            for c, t, b, tf, th in zip(cues, targets, betas, tau_f, tau_h)]


def numpy_loops(hd, ms, case, steps):
    patterns, cues, _, betas, tau_f, tau_h = case
    feat = hd.identity()
    return [hd.euler_reference(patterns, feat, hd.log_sum_exp(b), tf * ms, th * ms, c, np.zeros(len(patterns)),
                               0.1 * ms, steps, record=False)[0]
            for c, b, tf, th in zip(cues, betas, tau_f, tau_h)]


def size_row(hd, ms, n_f, k, repeats):
    """Fixed cost and per-step cost of one recall at N_f x K (Brian2 warm network, numpy), and per recall in a grid."""
    case = grid_case(hd, ms, n_f, k, 1, seed=1)
    patterns, cues, targets = case[0], case[1], case[2]
    net = hd.model_b(patterns, beta=0.1, dt=0.1 * ms, record_every=None)
    recall = lambda steps: net.recall(cues[0], duration=steps * 0.1 * ms, target=targets[0], progress=False)  # noqa
    recall(100)
    t100, _ = _best(lambda: recall(100), repeats)
    t200, _ = _best(lambda: recall(200), repeats)
    ref = lambda steps: hd.euler_reference(patterns, hd.identity(), hd.log_sum_exp(0.1), 20 * ms, 2 * ms,  # noqa
                                           cues[0], np.zeros(k), 0.1 * ms, steps, record=False)
    n100, _ = _best(lambda: ref(100), repeats)
    n200, _ = _best(lambda: ref(200), repeats)
    new100, _ = _best(lambda: hd.model_b(patterns, beta=0.2, dt=0.1 * ms, record_every=None).recall(
        cues[0], duration=10 * ms, target=targets[0], progress=False), repeats)
    batch = int(min(100, max(10, 2e7 // (n_f * k))))
    gcase = grid_case(hd, ms, n_f, k, batch, seed=2)
    gnet = hd.model_b(gcase[0], beta=0.1, dt=0.1 * ms, record_every=None)
    run_grid(hd, ms, gnet, gcase, 100)
    tg, _ = _best(lambda: run_grid(hd, ms, gnet, gcase, 100), repeats)
    per_b, per_n = (t200 - t100) / 100, (n200 - n100) / 100
    return {"n_features": n_f, "n_patterns": k, "brian2_fixed_ms": round(1e3 * (t100 - 100 * per_b), 2),
            "brian2_per_step_ms": round(1e3 * per_b, 4), "numpy_fixed_ms": round(1e3 * (n100 - 100 * per_n), 3),
            "numpy_per_step_ms": round(1e3 * per_n, 4), "new_net_recall_ms": round(1e3 * new100, 2),
            "grid_batch": batch, "grid_per_recall_ms": round(1e3 * tg / batch, 3),
            "brian2_recall_100_steps_ms": round(1e3 * t100, 2), "numpy_100_steps_ms": round(1e3 * n100, 3)}


def time_sweep(hd, batched):
    """Wall time of sweeps/recall_b.toml on 2 workers (a fresh store), with or without the batched form."""
    sweep = hd.load_sweep(os.path.join(ROOT, "sweeps", "recall_b.toml"))
    saved = hd.recall_point.__dict__.pop("batched", None) if not batched else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sweep.store, sweep.output = os.path.join(tmp, "store"), None
            start = time.perf_counter()
            ds = sweep.run(n_workers=2, progress=False)
            wall = time.perf_counter() - start
    finally:
        if saved is not None:
            hd.recall_point.batched = saved
    return wall, ds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recalls", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sizes", nargs="+", default=["64x16", "256x64", "1024x256", "4096x1024"],
                        help="N_f x K of the fixed-cost rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)

    import brian2
    from brian2 import ms

    import hippo_dam as hd

    case = grid_case(hd, ms, 256, 64, args.recalls)
    net = hd.model_b(case[0], beta=0.1, dt=0.1 * ms, record_every=None)
    start = time.perf_counter()
    run_grid(hd, ms, net, case, args.steps)
    grid_first = time.perf_counter() - start
    grid_s, grid = _best(lambda: run_grid(hd, ms, net, case, args.steps), args.repeats)
    one_s, ones = _best(lambda: one_at_a_time(hd, ms, case, args.steps), 1)
    numpy_s, refs = _best(lambda: numpy_loops(hd, ms, case, args.steps), args.repeats)
    v_one = np.array([r.v_final for r in ones])
    same = sum(bool(grid.quality.success[b]) == bool(ones[b].quality.success)
               and int(grid.quality.hamming[b]) == int(ones[b].quality.hamming) for b in range(args.recalls))
    summary = {"recalls": args.recalls, "n_features": 256, "n_patterns": 64, "steps": args.steps,
               "grid_s": round(grid_s, 4), "grid_first_s": round(grid_first, 3),
               "one_at_a_time_s": round(one_s, 3), "numpy_s": round(numpy_s, 4),
               "speedup_vs_one_at_a_time": round(one_s / grid_s, 1), "grid_over_numpy": round(grid_s / numpy_s, 2),
               "max_abs_diff_v": float(np.abs(grid.v_final - v_one).max()),
               "max_abs_diff_v_numpy": float(np.abs(grid.v_final - np.array(refs)).max()),
               "same_outcome": int(same), "n_success": int(np.sum(grid.quality.success))}
    print(f"grid of {args.recalls} recalls at 256 x 64, {args.steps} steps: recall_grid {grid_s:.3f} s "
          f"(first {grid_first:.2f} s), one at a time {one_s:.2f} s, numpy {numpy_s:.3f} s; same outcome "
          f"{same}/{args.recalls}, max |dv| {summary['max_abs_diff_v']:.2g}", flush=True)
    rows = []
    for size in args.sizes:
        n_f, k = (int(x) for x in size.lower().split("x"))
        rows.append(size_row(hd, ms, n_f, k, args.repeats))
        print(rows[-1], flush=True)
    sweep = None
    if not args.no_sweep:
        batched_s, ds_b = time_sweep(hd, True)
        plain_s, ds_p = time_sweep(hd, False)
        sweep = {"file": "sweeps/recall_b.toml", "points": int(ds_b.attrs["n_points"]), "n_workers": 2,
                 "batched_s": round(batched_s, 2), "one_task_per_point_s": round(plain_s, 2),
                 "same_success": bool((ds_b["success"] == ds_p["success"]).all()),
                 "same_hamming": bool((ds_b["hamming"] == ds_p["hamming"]).all()),
                 "failed": int(ds_b.attrs["n_failed"]) + int(ds_p.attrs["n_failed"])}
        print(f"sweeps/recall_b.toml on 2 workers: batched {batched_s:.1f} s, one task per point {plain_s:.1f} s, "
              f"same results {sweep['same_success'] and sweep['same_hamming']}", flush=True)
    info = {"command": "python benchmarks/bench_small_recalls.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "machine": platform.platform(),
            "python": platform.python_version(), "brian2": brian2.__version__, "numpy": np.__version__,
            "hippo_dam": hd.__version__, "grid": summary, "sizes": rows, "sweep": sweep}
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"results_small_recalls{args.tag}")
    with open(base + ".json", "w") as fh:
        json.dump(info, fh, indent=2)
    with open(base + ".csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SIZE_COLS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["# Many small recalls", "",
             f"Generated by `{info['command']}` on {info['date']} ({info['cpu_count']} CPUs, shared machine, "
             f"load average {info['load_avg'][0]:.1f}).", "",
             f"## Grid of {args.recalls} recalls, 256 x 64, {args.steps} steps (per-recall cue, beta, tau_f, tau_h)",
             "", "| " + " | ".join(summary) + " |", "|" + "---|" * len(summary),
             "| " + " | ".join(str(v) for v in summary.values()) + " |", "",
             "## Fixed cost per recall, by size (N_f x K)", "",
             "| " + " | ".join(SIZE_COLS) + " |", "|" + "---|" * len(SIZE_COLS)]
    lines += ["| " + " | ".join(str(r[c]) for c in SIZE_COLS) + " |" for r in rows]
    if sweep:
        lines += ["", "## sweeps/recall_b.toml (2 workers, fresh store)", "",
                  "| " + " | ".join(sweep) + " |", "|" + "---|" * len(sweep),
                  "| " + " | ".join(str(v) for v in sweep.values()) + " |"]
    with open(base + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return info


if __name__ == "__main__":
    main()
