"""Parameter sweeps on Dask: many points, kill and resume, Brian2 in workers, errors."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz, ms

import hippo_dam as hd
from hippo_dam.sweeps.engine import load_sweep, run_sweep

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import sweep_points as sp  # noqa: E402  (importable by the workers through PYTHONPATH)

GRID = {"a": list(range(10)), "b": [0.5, 1.5], "mode": ["plus", "times"]}


@pytest.fixture(scope="module", autouse=True)
def _worker_path(tmp_path_factory):
    """Spawned workers import sweep_points and this worktree's hippo_dam, and keep their caches in tmp."""
    old = {k: os.environ.get(k) for k in ("PYTHONPATH", "HIPPO_DAM_WORKER_CACHE")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)] + ([old["PYTHONPATH"]] if old["PYTHONPATH"] else []))
    os.environ["HIPPO_DAM_WORKER_CACHE"] = str(tmp_path_factory.mktemp("worker_cache"))
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def client(_worker_path):
    """One LocalCluster (2 processes x 1 thread) shared by the tests that pass it as scheduler."""
    import logging

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


def _expected(a, b, mode, seed):
    return sp.cheap_point(seed, a, b, mode)


def test_hundred_points_on_local_cluster(tmp_path):
    """120 points on the default LocalCluster with 2 workers; every value checked against a direct call."""
    ds = run_sweep(sp.cheap_point, GRID, seeds=[0, 1, 2], store=tmp_path / "store", n_workers=2,
                   units={"value": "mV", "a": "ms"}, attrs={"purpose": "test"}, progress=False)
    assert ds.sizes == {"a": 10, "b": 2, "mode": 2, "seed": 3, "vec_dim0": 3}
    assert ds.attrs["n_points"] == 120 and ds.attrs["n_failed"] == 0 and ds.attrs["n_resumed"] == 0
    assert ds.attrs["function"] == "sweep_points:cheap_point" and ds.attrs["purpose"] == "test"
    for key in ("version_hippo_dam", "version_brian2", "version_numpy", "version_dask", "version_python", "date"):
        assert ds.attrs[key]
    assert ds["value"].attrs["units"] == "mV" and ds["a"].attrs["units"] == "ms" and ds["noise"].attrs["units"] == "1"
    assert ds["count"].dtype == np.int64 and ds["positive"].dtype == bool
    for a in GRID["a"]:
        for b in GRID["b"]:
            for mode in GRID["mode"]:
                for seed in (0, 1, 2):
                    exp = _expected(a, b, mode, seed)
                    got = ds.sel(a=a, b=b, mode=mode, seed=seed)
                    assert float(got["value"]) == exp["value"] and float(got["noise"]) == exp["noise"]
                    assert int(got["count"]) == exp["count"] and bool(got["positive"]) == exp["positive"]
                    np.testing.assert_array_equal(got["vec"].values, exp["vec"])
    assert len(list((tmp_path / "store" / "points").glob("*.json"))) == 120
    # netCDF round trip keeps values, string coordinates and units.
    ds.to_netcdf(tmp_path / "sweep.nc")
    back = xr.load_dataset(tmp_path / "sweep.nc")
    xr.testing.assert_equal(back[["value", "count", "vec"]], ds[["value", "count", "vec"]])
    assert list(back["mode"].values) == ["plus", "times"] and back["value"].attrs["units"] == "mV"


_KILL_SCRIPT = textwrap.dedent("""
    import sys
    import sweep_points as sp
    from hippo_dam.sweeps.engine import run_sweep
    if __name__ == "__main__":
        run_sweep(sp.slow_point, {"a": list(range(12)), "b": [0, 1, 2, 3, 4]}, seeds=[0, 1], store=sys.argv[1],
                  n_workers=2, progress=False)
""")


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path, client):
    """SIGKILL a sweep (its whole process group) midway; the rerun finishes only the missing points."""
    grid, seeds = {"a": list(range(12)), "b": [0, 1, 2, 3, 4]}, [0, 1]
    store = tmp_path / "store"
    script = tmp_path / "kill_me.py"
    script.write_text(_KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(store)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            done = list((store / "points").glob("*.json")) if (store / "points").exists() else []
            if len(done) >= 20 or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its scheduler, nannies and workers
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    before = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert 20 <= len(before) < 120, f"{len(before)} points stored when killed"

    resumed = run_sweep(sp.slow_point, grid, seeds=seeds, store=store, scheduler=client, progress=False)
    after = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert len(after) == 120 and resumed.attrs["n_resumed"] == len(before)
    assert all(after[name] == data for name, data in before.items()), "a finished point was recomputed"
    straight = run_sweep(sp.slow_point, grid, seeds=seeds, scheduler=client, progress=False)
    xr.testing.assert_equal(resumed[["value", "sq"]], straight[["value", "sq"]])
    assert int(resumed["error"].isin([""]).sum()) == 120
    # A third run computes nothing.
    again = run_sweep(sp.slow_point, grid, seeds=seeds, store=store, scheduler=client, progress=False)
    assert again.attrs["n_resumed"] == 120


def test_brian2_recall_in_workers(tmp_path, client):
    """Real Brian2 recalls in Dask workers: brian2 preloaded, a private Cython cache per worker."""
    flags = run_sweep(sp.brian_thread_point, {"a": [1, 2, 3, 4]}, scheduler=client, progress=False)
    assert bool(flags["preloaded"].all()) and bool(flags["cache_is_private"].all())
    assert not bool(flags["main_thread"].any())  # tasks run in worker threads, so the preload mattered
    grid = {"beta": [0.01, 1.0], "flip": [0.1, 0.3]}
    ds = run_sweep(hd.recall_point, grid, seeds=[0, 1], scheduler=client, progress=False,
                   units={"hamming": "bits"})
    assert ds.attrs["n_failed"] == 0
    for beta in grid["beta"]:
        for flip in grid["flip"]:
            for seed in (0, 1):
                direct = hd.recall_point(seed, beta=beta, flip=flip)
                got = ds.sel(beta=beta, flip=flip, seed=seed)
                assert bool(got["success"]) == direct["success"] and int(got["hamming"]) == direct["hamming"]
                assert float(got["energy_drop"]) == pytest.approx(direct["energy_drop"], rel=1e-9)
    assert bool(ds["success"].sel(beta=1.0).all())  # sharp softmax retrieves from 10% and 30% flips
    assert (ds["energy_drop"] >= 0).all()
    caches = client.run(_cython_cache_dir)  # worker address -> its Cython cache
    assert len(set(caches.values())) == 2 and all(os.path.isdir(c) for c in caches.values())


def _cython_cache_dir():
    import brian2

    return brian2.prefs.codegen.runtime.cython.cache_dir


def test_new_worker_cache_is_seeded_with_old_compiled_code(tmp_path):
    from hippo_dam.sweeps._worker import _seed_cache

    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    cache.mkdir()
    (src / "old.so").write_bytes(b"compiled")
    os.utime(src / "old.so", (time.time() - 120, time.time() - 120))
    (src / "fresh.so").write_bytes(b"maybe half written")
    (src / "old.lock").write_text("")
    _seed_cache(cache, [src, tmp_path / "missing"])
    assert sorted(p.name for p in cache.iterdir()) == ["old.so"] and (cache / "old.so").read_bytes() == b"compiled"
    assert os.path.samefile(cache / "old.so", src / "old.so")  # same filesystem: a hard link, not a copy


def test_failing_points_are_recorded_and_retried(tmp_path, client):
    store = tmp_path / "store"
    with pytest.warns(RuntimeWarning, match="4 of 8 sweep points failed.*negative a"):
        ds = run_sweep(sp.failing_point, {"a": [-2.0, -1.0, 1.0, 4.0]}, seeds=[0, 1], store=store,
                       scheduler=client, progress=False)
    assert ds.attrs["n_failed"] == 4
    assert np.isnan(ds["root"].sel(a=-1.0)).all() and float(ds["root"].sel(a=4.0, seed=0)) == 2.0
    assert "ValueError: negative a=-1.0" in str(ds["error"].sel(a=-1.0, seed=0).values)
    assert str(ds["error"].sel(a=4.0, seed=0).values) == ""
    rec = [json.loads(p.read_text()) for p in (store / "points").glob("*.json")]
    assert sorted(r["status"] for r in rec) == ["error"] * 4 + ["ok"] * 4
    assert all("Traceback" in r["traceback"] for r in rec if r["status"] == "error")
    with pytest.warns(RuntimeWarning):  # rerun: failed points are tried again, the others skipped
        again = run_sweep(sp.failing_point, {"a": [-2.0, -1.0, 1.0, 4.0]}, seeds=[0, 1], store=store,
                          scheduler=client, progress=False)
    assert again.attrs["n_resumed"] == 4


def test_bad_input_gets_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="grid is empty"):
        run_sweep(sp.cheap_point, {})
    with pytest.raises(TypeError, match="must be a dict"):
        run_sweep(sp.cheap_point, [("a", [1])])
    with pytest.raises(ValueError, match=r"grid\['a'\] is empty"):
        run_sweep(sp.cheap_point, {"a": [], "b": [1]})
    with pytest.raises(ValueError, match="repeated"):
        run_sweep(sp.cheap_point, {"a": [1, 1], "b": [1]})
    with pytest.raises(ValueError, match="cannot be called.*unexpected keyword argument 'c'"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1], "c": [1]})
    with pytest.raises(ValueError, match="'seed' is not a grid parameter"):
        run_sweep(sp.cheap_point, {"seed": [1]})
    with pytest.raises(TypeError, match="seeds must be integers"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1]}, seeds=[0.5])
    with pytest.raises(TypeError, match="numbers or strings"):
        run_sweep(sp.cheap_point, {"a": [[1, 2]], "b": [1]})
    with pytest.raises(TypeError, match="cannot be imported by the Dask workers"):
        run_sweep(lambda seed, a: {"x": a}, {"a": [1]})

    def nested(seed, a):
        return {"x": a}

    with pytest.raises(TypeError, match="cannot be imported"):
        run_sweep(nested, {"a": [1]})
    import functools
    import threading

    with pytest.raises(TypeError, match="not picklable"):
        run_sweep(functools.partial(sp.cheap_point, lock=threading.Lock()), {"a": [1], "b": [1]})
    with pytest.raises(ValueError, match="n_workers applies only"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1]}, scheduler="tcp://127.0.0.1:1", n_workers=2)
    with pytest.raises(ValueError, match="n_workers must be a positive integer"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1]}, n_workers=0)
    with pytest.raises(TypeError, match="scheduler must be"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1]}, scheduler=8786)
    # A store made by another sweep is refused, before anything runs.
    store = tmp_path / "store"
    (store / "points").mkdir(parents=True)
    (store / "manifest.json").write_text(json.dumps({"format": 1, "function": "sweep_points:slow_point",
                                                     "grid": {"a": [1], "b": [1]}, "seeds": [0]}))
    with pytest.raises(ValueError, match="belongs to a different sweep.*function"):
        run_sweep(sp.cheap_point, {"a": [1], "b": [1]}, store=store)
    with pytest.raises(ValueError, match="belongs to a different sweep.*grid"):
        run_sweep(sp.slow_point, {"a": [1, 2], "b": [1]}, store=store)


def test_sweep_file_errors(tmp_path):
    good = ROOT / "sweeps" / "recall_b.toml"
    sweep = load_sweep(good)
    assert sweep.function is hd.recall_point and sweep.grid["beta"][0] == 0.01 and sweep.fixed["model"] == "B"
    assert sweep.fixed["duration"] == 60 * ms and sweep.fixed["dt"] == 0.1 * ms  # "60 ms", as in model files
    text = good.read_text()
    cases = {
        "unknown key": (text.replace("seeds =", "seedz ="), r"unknown key\(s\) \['seedz'\] in \[sweep\]"),
        "unknown table": (text + "\n[grids]\nx = [1]\n", r"unknown table\(s\) \['grids'\]"),
        "no function": (text.replace('function = "hippo_dam:recall_point"', ""), "needs the key 'function'"),
        "bad function": (text.replace("hippo_dam:recall_point", "hippo_dam:no_such"), "cannot be imported"),
        "a module of one's own": (text.replace("hippo_dam:recall_point", "my_points_nowhere:run"),
                                  "No module named 'my_points_nowhere'.*importable by this process and by every "
                                  "worker.*PYTHONPATH=."),
        "bad type": (text.replace("seeds = [0, 1, 2, 3]", 'seeds = "0"'), "seeds.*wrong type"),
        "unknown param": (text.replace('dt = "0.1 ms"', 'dtt = "0.1 ms"'), "does not take.*dtt"),
        "boolean for a number": (text.replace("n_features = 64", "n_features = true"),
                                 r"\[fixed\] n_features = true: a boolean is not a number"),
        "quantity for a number": (text.replace('model = "B"', 'model = "B"\ndegree = "3 ms"'),
                                  r"\[fixed\] degree = .*takes a plain number here"),
        "unknown unit": (text.replace('duration = "60 ms"', 'duration = "60 mins"'),
                         r"\[fixed\] duration: expected a number and a unit such as '60 ms'"),
        "mixed kinds": (text.replace('tau_h = "2 ms"\n', "").replace("flip = [0.1, 0.2, 0.3, 0.4, 0.45]", 'flip = [0.1, 0.2]\ntau_h = ["1 ms", "5 Hz"]'),
                        r"\[grid\] tau_h mixes units of different kinds"),
        "units disagree": (text.replace('tau_h = "2 ms"\n', "").replace('flip = "1"', 'flip = "1"\ntau_h = "s"').replace(
            "flip = [0.1, 0.2, 0.3, 0.4, 0.45]", 'flip = [0.1]\ntau_h = ["1 ms", "2 ms"]'),
            r"\[units\] tau_h = 's', but its \[grid\] values are in 'ms'"),
        "empty grid": (text.replace("beta = [0.01, 0.03, 0.1, 0.3, 1.0]", "beta = []"), r"grid\['beta'\] is empty"),
    }
    for name, (body, match) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.toml"
        path.write_text(body)
        with pytest.raises(ValueError, match=match):
            load_sweep(path)


def test_cli_sweep_on_a_scheduler_address(tmp_path, client):
    """`hippo-dam sweep FILE.toml --scheduler ADDRESS` runs a small Brian2 sweep file and writes netCDF."""
    path = tmp_path / "small.toml"
    path.write_text(textwrap.dedent(f"""
        [sweep]
        function = "hippo_dam:recall_point"
        seeds = [0]
        store = "{tmp_path / 'store'}"
        output = "{tmp_path / 'small.nc'}"
        [grid]
        flip = [0.1, 0.2]
        tau_h = ["1 ms", "2 ms"]
        [fixed]
        model = "B"
        beta = 1.0
        n_features = 32
        n_patterns = 4
        duration = "30 ms"
    """))
    from hippo_dam.cli import main

    assert main(["sweep", str(path), "--scheduler", client.scheduler.address, "--no-progress"]) == 0
    ds = xr.load_dataset(tmp_path / "small.nc")
    assert ds.sizes["flip"] == 2 and bool(ds["success"].all()) and ds.attrs["sweep"] == "small"
    # "1 ms" in the file: a coordinate of plain numbers in ms; the function got 1*ms
    assert list(ds["tau_h"].values) == [1.0, 2.0] and ds["tau_h"].attrs["units"] == "ms"
    direct = hd.recall_point(0, flip=0.2, model="B", beta=1.0, n_features=32, n_patterns=4, duration_ms=30.0,
                             tau_h_ms=2.0)
    assert float(ds["energy_drop"].sel(flip=0.2, tau_h=2.0, seed=0)) == pytest.approx(direct["energy_drop"],
                                                                                        rel=1e-9)
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2


def test_recall_point_times_as_quantities_or_milliseconds():
    """``duration=30*ms`` is ``duration_ms=30.0``; giving both, or a non-time, is an error."""
    a = hd.recall_point(1, n_features=32, n_patterns=4, duration=30 * ms, tau_f=10 * ms, dt=0.2 * ms)
    b = hd.recall_point(1, n_features=32, n_patterns=4, duration_ms=30.0, tau_f_ms=10.0, dt_ms=0.2)
    assert a == b
    with pytest.raises(ValueError, match="give duration or duration_ms, not both"):
        hd.recall_point(1, duration=30 * ms, duration_ms=20.0)
    with pytest.raises(ValueError, match="duration must be a time"):
        hd.recall_point(1, duration=30 * Hz)
    batched = hd.recall_points([{"seed": 1, "n_features": 32, "n_patterns": 4, "duration": 30 * ms, "tau_f": 10 * ms,
                                 "dt": 0.2 * ms, "flip": f} for f in (0.2, 0.3)])
    assert batched[0]["hamming"] == a["hamming"] and batched[0]["energy_drop"] == pytest.approx(a["energy_drop"])


def test_a_lost_result_stops_a_cluster_sweep_instead_of_waiting_for_ever():
    """A finished task whose worker is killed before its result is fetched never returns a result.

    ``_result`` keeps asking the job watch while it waits, so the sweep stops
    (RuntimeError: rerun to resume) once the jobs are gone (the scancel hang of issue 14).
    """
    from hippo_dam.sweeps.engine import _result

    class LostFuture:
        waits = 0

        def result(self, timeout=None):
            assert timeout is not None, "a cluster sweep must not wait for a result without a limit"
            self.waits += 1
            raise TimeoutError(f"timed out after {timeout} s.")

    class GoneJobs:
        checks = []

        def check(self, n_pending):
            self.checks.append(n_pending)
            if len(self.checks) == 3:
                raise RuntimeError(f"all 2 SLURM jobs of the sweep ended with {n_pending} points still to run")

    future, watch = LostFuture(), GoneJobs()
    with pytest.raises(RuntimeError, match="with 7 points still to run"):
        _result(future, watch, 7)
    assert future.waits == 3 and watch.checks == [7, 7, 7]

    class Done:
        def result(self, timeout=None):
            return {"value": 1}

    assert _result(Done(), watch, 7) == {"value": 1} and _result(Done(), None, 7) == {"value": 1}
