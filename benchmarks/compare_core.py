"""A/B of two ``bench_core.py`` runs (before and after a change): per-step and 100-step-recall ratios to numpy.

How to run (from the repository root)::

    (cd OLD_CHECKOUT && PYTHONPATH=. python benchmarks/bench_core.py --sizes 1024x1024 4096x4096 --dtypes float64 \\
        --paths numpy hippo_dam_default numpy_B hippo_dam_default_B --no-run-many --out /tmp/bc_old)
    python benchmarks/bench_core.py --sizes 1024x1024 4096x4096 --dtypes float64 \\
        --paths numpy hippo_dam_default numpy_B hippo_dam_default_B --no-run-many --out /tmp/bc_new
    python benchmarks/compare_core.py /tmp/bc_old/results.json /tmp/bc_new/results.json --labels 662a687 "this change"

On a shared machine, alternate several pairs (old, new, old, new, ...) and give them all,
``compare_core.py old1.json new1.json old2.json new2.json ...``: every number is then the
median over the pairs, and each pair is kept in the JSON (``each_pair``).

Writes ``benchmarks/results_core_ab.{json,md}`` (``--stem`` names others). For every Brian2 row, against the numpy
row of the same size and model in the same run: ``step_ratio`` (``ms_per_step``
of a 1000- or 200-step recall, fixed cost included), ``marginal_ratio`` (the cost
of one more step) and ``recall100_ratio``, a 100-step recall,
``overhead_ms + 100 * ms_per_step_marginal`` over numpy's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics

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


def _by_row(rows):
    """Rows keyed ``path_size`` for float64 (the keys of the first records), ``path_size_float32`` for float32."""
    return {f"{r['path']}_{r['size']}" + ("" if r["dtype"] == "float64" else f"_{r['dtype']}"): r for r in rows}


def _median_row(rows):
    """The median of every number over ``rows`` (one per pair of runs), the text fields of the first."""
    out = dict(rows[0])
    for key, value in rows[0].items():
        if isinstance(value, (int, float)):
            out[key] = round(statistics.median(r[key] for r in rows), 4)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="results.json",
                        help="before after [before after ...]: pairs of bench_core results, in the order run")
    parser.add_argument("--labels", nargs=2, default=["before", "after"])
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--stem", default="results_core_ab", help="file names: STEM.json, STEM.md")
    args = parser.parse_args(argv)
    if len(args.runs) % 2:
        parser.error(f"give the results.json files in pairs, before then after; got {len(args.runs)} files")
    pairs = []
    for k in range(0, len(args.runs), 2):
        pair = {}
        for side, path in (("before", args.runs[k]), ("after", args.runs[k + 1])):
            with open(path) as fh:
                record = json.load(fh)
            pair[side] = {"date": record["info"]["date"], "rows": _by_row(ratios(record))}
        pairs.append(pair)
    result = {side: {"label": label, "date": pairs[0][side]["date"]}
              for side, label in zip(("before", "after"), args.labels)}
    result["pairs"] = len(pairs)
    # with several pairs (alternated runs), every number is the median over the pairs; each pair is kept
    keys = [k for k in pairs[0]["after"]["rows"] if all(k in p[s]["rows"] for p in pairs for s in ("before", "after"))]
    result["by_row"] = {k: {side: _median_row([p[side]["rows"][k] for p in pairs]) for side in ("before", "after")}
                        for k in keys}
    if len(pairs) > 1:
        result["each_pair"] = [{k: {side: p[side]["rows"][k] for side in ("before", "after")} for k in keys}
                               for p in pairs]
    with open(os.path.join(args.out, f"{args.stem}.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    lines = [f"# bench_core A/B: {result['before']['label']} ({result['before']['date']}) vs "
             f"{result['after']['label']} ({result['after']['date']})"
             + (f", median of {len(pairs)} alternated pairs of runs" if len(pairs) > 1 else ""), "",
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
    with open(os.path.join(args.out, f"{args.stem}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
