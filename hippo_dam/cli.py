"""Command line: ``hippo-dam run MODEL.toml``, ``hippo-dam sweep SWEEP.toml``, ``hippo-dam figures``."""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from .core.devices import CODEGEN_TARGETS
from .outputs import output_dir

__all__ = ["main"]


def _run(args):
    import time

    from .modelfile import load_model

    start = time.perf_counter()
    output_dir(args.out, "--out")  # before the run: a folder that cannot be written would lose it
    model = load_model(args.model)  # any kind of model file: its [model] kind picks the loader
    return model.cli_run(args.out, args.codegen_target, progress=args.progress, start=start)


def _sweep(args):
    import numpy as np

    from .sweeps.engine import load_sweep

    sweep = load_sweep(args.sweep)
    if args.output:
        sweep.output = args.output
    if args.store:
        sweep.store = args.store
    on_cluster = "slurm" if args.slurm else bool(args.cluster)
    ds = sweep.run(scheduler=args.scheduler, n_workers=args.n_workers, progress=args.progress,
                   on_cluster=on_cluster, jobs=args.jobs)
    print(f"sweep            {sweep.name} ({args.sweep}): {sweep.function.__module__}:{sweep.function.__qualname__}")
    print("grid             " + ", ".join(f"{k} x {len(v)}" for k, v in sweep.grid.items())
          + f", seeds x {len(sweep.seeds)}")
    print(f"points           {ds.attrs['n_points']} ({ds.attrs['n_resumed']} already in the store, "
          f"{ds.attrs['n_failed']} failed)")
    print(f"wall time        {ds.attrs['wall_time_s']:.1f} s")
    for name in ds.data_vars:
        if name not in ("error", "point_wall_time_s") and ds[name].dtype.kind in "biuf":
            print(f"mean {name:<11} {float(np.nanmean(ds[name].values.astype(float))):.4g}")
    print(f"wrote            {sweep.output or '(no output set)'}; points in {sweep.store or '(temporary store)'}")
    return 0 if ds.attrs["n_failed"] == 0 else 1


def _stack_dump_on_sigusr1():
    """``kill -USR1 <pid>`` prints every thread's stack to stderr: where a long run or a stuck sweep is."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGUSR1") and sys.stderr is not None and hasattr(sys.stderr, "fileno"):
        with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
            faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True, chain=False)


def main(argv=None):
    from . import __version__

    parser = argparse.ArgumentParser(prog="hippo-dam", description="Dense Associative Memories on Brian2")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="recall the cue of a model file and write netCDF + PNG")
    run.add_argument("model", help="model file (TOML) or a shipped model's name, e.g. models/model_b.toml or model_b")
    run.add_argument("--out", default="out", help="output folder (default: out/)")
    run.add_argument("--codegen-target", choices=list(CODEGEN_TARGETS), default=None,
                     help="override the model file's code generation target")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: for long runs)")
    figs = sub.add_parser("figures", help="regenerate the figures in figures/ (inputs recorded beside them)")
    from .figures import FIGURES  # names only: no Brian2 import

    figs.add_argument("names", nargs="*", metavar="name",
                      help="figures to make (default: all): " + ", ".join(FIGURES))
    figs.add_argument("--out", default="figures",
                      help="output folder (default: figures/; under CI=true its ci/ subfolder, reduced runs)")
    figs.add_argument("--redraw", action="store_true",
                      help="draw again from the recorded results in the output folder, without rerunning (capacity, reduction, darkness, shared_map, place_theta)")
    sw = sub.add_parser("sweep", help="run a parameter sweep file (TOML) on Dask and write netCDF")
    sw.add_argument("sweep", help="sweep file (TOML), e.g. sweeps/recall_b.toml")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address (default: the file's, else a LocalCluster)")
    sw.add_argument("--n-workers", type=int, default=None, help="workers of the LocalCluster (default: cores)")
    sw.add_argument("--store", default=None, help="override the file's store directory")
    sw.add_argument("--output", default=None, help="override the file's output netCDF path")
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar")
    sw.add_argument("--slurm", action="store_true",
                    help="run on SLURM jobs described by the file's [cluster] table (dask-jobqueue; docs/slurm.md)")
    sw.add_argument("--cluster", action="store_true", help="run on the [cluster] table's jobs, whatever its kind")
    sw.add_argument("--jobs", type=int, default=None, help="override the [cluster] table's job count")
    args = parser.parse_args(argv)
    if argv is None:  # a process of its own (not a call from Python, whose stderr may be borrowed)
        _stack_dump_on_sigusr1()
    try:
        if args.command == "figures":
            output_dir(args.out, "--out")
            from .figures import make_figures, redraw_figures

            if args.redraw:
                for path in redraw_figures(args.out, args.names):
                    print(f"wrote {path} from the recorded {Path(args.out) / path.with_suffix('.json').name}")
                return 0
            for path in make_figures(args.out, args.names):
                print(f"wrote {path} and {path.with_suffix('.json')}")
            return 0
        if args.command == "sweep":
            # On Ctrl-C, a local Dask cluster's worker start-up can leave its semaphores to Python's resource
            # tracker (a process of its own, started with these options), which frees them at exit and warns
            # about it on stderr; an interrupted sweep says one line.
            if "ignore:resource_tracker:UserWarning" not in sys.warnoptions:  # main() may be called again
                sys.warnoptions.append("ignore:resource_tracker:UserWarning")
            return _sweep(args)
        return _run(args)
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError) as err:
        # a user's error: bad input, a path, a missing extra, a run whose energy has no lower bound
        if args.debug:
            raise
        print(f"hippo-dam: error: {err} (--debug shows the traceback)", file=sys.stderr)
        return 2
    except RuntimeError as err:  # a sweep whose cluster jobs all ended: rerun resumes it
        if args.debug:
            raise
        print(f"hippo-dam: stopped: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        # On a line of its own: a worker of the same terminal may have left a progress bar's line open (a
        # carriage return, no newline). One write, so no other process's output lands inside it.
        sys.stderr.write("\nhippo-dam: interrupted (a sweep's finished points are in its store; rerun to resume)\n")
        sys.stderr.flush()
        return 130
    except Exception as err:  # noqa: BLE001 - anything else is a bug of ours: one line, the traceback on --debug
        if args.debug:
            raise
        print(f"hippo-dam: internal error: {type(err).__name__}: {err} (--debug shows the traceback; please "
              "report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
