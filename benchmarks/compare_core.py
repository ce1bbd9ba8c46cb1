"""A/B of two ``bench_core.py`` runs (before and after a change): per-step and 100-step-recall ratios to numpy.

How to run (from the repository root)::

    (cd OLD_CHECKOUT && PYTHONPATH=. python benchmarks/bench_core.py --sizes 1024x1024 4096x4096 --dtypes float64 \\
        --paths numpy hippo_dam_default numpy_B hippo_dam_default_B --no-run-many --out /tmp/bc_old)
    python benchmarks/bench_core.py --sizes 1024x1024 4096x4096 --dtypes float64 \\
        --paths numpy hippo_dam_default numpy_B hippo_dam_default_B --no-run-many --out /tmp/bc_new
    python benchmarks/compare_core.py /tmp/bc_old/results.json /tmp/bc_new/results.json --labels 662a687 "this change"

Writes ``benchmarks/results_core_ab.{json,md}``. For every Brian2 row, against the numpy
row of the same size and model in the same run: ``step_ratio`` (``ms_per_step``
of a 1000- or 200-step recall, fixed cost included), ``marginal_ratio`` (the cost
of one more step) and ``recall100_ratio``, a 100-step recall,
``overhead_ms + 100 * ms_per_step_marginal`` over numpy's.
"""
from __future__ import annotations

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def ratios(record):
    rows = {(r["path"], r["n_features"], r["n_memories"], r["dtype"]): r for r in record["rows"]}
    out = []
    for (path, nf, nh, dtype), row in rows.items():
        if not path.startswith("hippo_dam"):
            continue
        ref = rows.get(("numpy_B" if path.endswith("_B") else "numpy", nf, nh, dtype))
        if ref is None:
            continue

        def recall100(r):
            return r["overhead_ms"] + 100 * r["ms_per_step_marginal"]

        out.append({"path": path, "size": f"{nf}x{nh}", "dtype": dtype,
                    "ms_per_step": round(row["ms_per_step"], 4), "numpy_ms_per_step": round(ref["ms_per_step"], 4),
                    "overhead_ms": round(row["overhead_ms"], 1),
                    "step_ratio": round(row["ms_per_step"] / ref["ms_per_step"], 2),
                    "marginal_ratio": round(row["ms_per_step_marginal"] / ref["ms_per_step_marginal"], 2),
                    "recall100_ms": round(recall100(row), 1), "numpy_recall100_ms": round(recall100(ref), 1),
                    "recall100_ratio": round(recall100(row) / recall100(ref), 2)})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--labels", nargs=2, default=["before", "after"])
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)
    result = {}
    for key, label, path in (("before", args.labels[0], args.before), ("after", args.labels[1], args.after)):
        with open(path) as fh:
            record = json.load(fh)
        result[key] = {"label": label, "date": record["info"]["date"], "rows": ratios(record)}
    before = {(r["path"], r["size"], r["dtype"]): r for r in result["before"]["rows"]}
    result["by_row"] = {f"{r['path']}_{r['size']}_{r['dtype']}": {"before": before[r["path"], r["size"], r["dtype"]],
                                                                 "after": r}
                        for r in result["after"]["rows"] if (r["path"], r["size"], r["dtype"]) in before}
    with open(os.path.join(args.out, "results_core_ab.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    lines = [f"# bench_core A/B: {result['before']['label']} ({result['before']['date']}) vs "
             f"{result['after']['label']} ({result['after']['date']})", "",
             "| path | size | dtype | step ratio before / after | marginal before / after | fixed cost ms before / after "
             "| 100-step recall ratio before / after |", "|---|---|---|---|---|---|---|"]
    for key, pair in result["by_row"].items():
        b, a = pair["before"], pair["after"]
        lines.append(f"| {a['path']} | {a['size']} | {a['dtype']} | {b['step_ratio']} / {a['step_ratio']} | {b['marginal_ratio']} / "
                     f"{a['marginal_ratio']} | {b['overhead_ms']} / {a['overhead_ms']} | {b['recall100_ratio']} / "
                     f"{a['recall100_ratio']} |")
    # the ratios divide by a numpy loop that is itself noisy on a shared machine: the absolute times beside them
    lines += ["", "| path | size | dtype | ms/step before / after | numpy ms/step before / after |",
              "|---|---|---|---|---|"]
    for key, pair in result["by_row"].items():
        b, a = pair["before"], pair["after"]
        lines.append(f"| {a['path']} | {a['size']} | {a['dtype']} | {b['ms_per_step']} / {a['ms_per_step']} | "
                     f"{b['numpy_ms_per_step']} / {a['numpy_ms_per_step']} |")
    with open(os.path.join(args.out, "results_core_ab.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
