"""Command line: ``hippo-dam run MODEL.toml``."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _run(args):
    from .modelfile import load_model

    start = time.perf_counter()
    model = load_model(args.model)
    if args.codegen_target:
        model.network.codegen_target = args.codegen_target
    result = model.run(progress=args.progress)
    total = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nc, png = out / f"{model.name}.nc", out / f"{model.name}.png"
    result.to_netcdf(nc)
    if "circuit" in result.attrs:  # activity by region
        from .plotting import plot_circuit_result

        plot_circuit_result(result, png)
    else:
        result.plot(png)
    q = result.quality
    net = model.network
    print(f"model            {model.name} ({args.model})")
    print(f"network          N_f={net.n_features} features [{net.feature_lagrangian!r}], "
          f"N_h={net.n_memories} memories [{net.memory_lagrangian!r}], codegen {net.codegen_target}")
    if "circuit" in result.attrs:
        regions = [net.feature_region, net.memory_region] + [p["region"] for p in result.extra.values()]
        print(f"circuit          {result.attrs['circuit']}; regions {', '.join(dict.fromkeys(regions))}")
    print(f"cue              {int((~model.known).sum())} unknown entries, target pattern {int(q.target)}")
    print(f"retrieved index  {int(q.retrieved)}  ({'success' if q.success else 'FAILED'}, Hamming {int(q.hamming)})")
    print(f"final overlap    {float(q.target_overlap):.4f}")
    print(f"energy           {result.energy[0]:.6g} -> {result.energy[-1]:.6g}  (drop {result.energy_drop:.6g})")
    print(f"wall time        {result.attrs['wall_time_s']:.2f} s simulation, {total:.2f} s in all")
    print(f"wrote            {nc}, {png}")
    return 0 if q.success else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hippo-dam", description="Dense Associative Memories on Brian2")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="recall the cue of a model file and write netCDF + PNG")
    run.add_argument("model", help="model file (TOML), e.g. models/model_b.toml")
    run.add_argument("--out", default="out", help="output folder (default: out/)")
    run.add_argument("--codegen-target", choices=["cython", "numpy", "cpp_standalone"], default=None,
                     help="override the model file's code generation target")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: for long runs)")
    figs = sub.add_parser("figures", help="regenerate the figures in figures/ (inputs recorded beside them)")
    figs.add_argument("names", nargs="*", help="figures to make (default: all)")
    figs.add_argument("--out", default="figures", help="output folder (default: figures/)")
    args = parser.parse_args(argv)
    try:
        if args.command == "figures":
            from .figures import make_figures

            for path in make_figures(args.out, args.names):
                print(f"wrote {path} and {path.with_suffix('.json')}")
            return 0
        return _run(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"hippo-dam: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
