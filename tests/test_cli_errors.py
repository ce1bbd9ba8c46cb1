"""The command line, sweep files, the store and result I/O refuse bad input clearly and early (issue 21).

Each test names one kind of failure a new user met: the CLI prints one line
and exits non-zero (the traceback only with --debug), before computing
anything; a corrupt point file is named, moved aside and recomputed while
nothing else in the store changes; Ctrl-C stops a sweep with one line.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd
from hippo_dam import modelfile
from hippo_dam.cli import main
from hippo_dam.sweeps.engine import load_sweep, run_sweep

HERE = Path(__file__).parent


def _one_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def never_compute(monkeypatch):
    """Loading (and so running) a model fails the test: the error must come before."""
    def fail(*args, **kwargs):
        raise AssertionError("the model was loaded before the output folder was checked")
    monkeypatch.setattr(modelfile, "load_model", fail)


def test_run_out_under_a_regular_file_fails_before_computing(tmp_path, capsys, never_compute):
    (tmp_path / "afile").write_text("")
    assert main(["run", "model_b", "--out", str(tmp_path / "afile" / "sub")]) == 2
    line = _one_line(capsys)
    assert "--out" in line and "which is a file, not a folder" in line


def test_figures_out_naming_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    assert main(["figures", "capacity", "--out", str(tmp_path / "afile")]) == 2
    assert "is a file, not a folder" in _one_line(capsys)


@pytest.mark.parametrize("content,match", [("{}", "empty or not a table"), ('{"a": [1,', "not valid JSON"),
                                           ('{"results": {}}', "lack what the figure draws")])
def test_redraw_from_a_broken_record_names_the_file(tmp_path, capsys, content, match):
    (tmp_path / "capacity.json").write_text(content)
    assert main(["figures", "capacity", "--redraw", "--out", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert "capacity.json" in line and match in line
    assert not (tmp_path / "capacity.png").exists()


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise KeyError("something internal")
    monkeypatch.setattr(modelfile, "load_model", broken)
    assert main(["run", "model_b", "--out", str(tmp_path)]) == 1
    assert "internal error: KeyError" in _one_line(capsys)
    with pytest.raises(KeyError):
        main(["--debug", "run", "model_b", "--out", str(tmp_path)])


def test_misspelt_circuit_kind_names_the_kind(tmp_path):
    text = (Path(hd.__file__).parent.parent / "models" / "place_cells.toml").read_text()
    assert 'kind = "place_cells"' in text
    path = tmp_path / "typo.toml"
    path.write_text(text.replace('kind = "place_cells"', 'kind = "place_cell"'))  # [model] and [circuit]
    with pytest.raises(ValueError, match=r"typo.toml: \[model\] kind 'place_cell' is not a model kind \(did you "
                                         r"mean 'place_cells'\?\)"):
        modelfile.load_model(path)
    older = text.replace('kind = "place_cells"\nname', 'name', 1)  # a file from before [model] kind
    assert older != text
    path.write_text(older.replace('kind = "place_cells"', 'kind = "place_cell"'))
    with pytest.raises(ValueError, match=r"\[circuit\] kind 'place_cell' is not a circuit \(did you mean "
                                         r"'place_cells'\?\)"):
        modelfile.load_model(path)
    path.write_text(text.replace('kind = "place_cells"\nmemory', 'kind = "place_cell"\nmemory'))
    with pytest.raises(ValueError, match=r"\[circuit\] kind"):
        modelfile.load_model(path)


def test_to_netcdf_into_a_missing_folder_names_it(tmp_path):
    res = hd.model_b(hd.random_patterns(3, 8, seed=0), record_every=None).recall(np.ones(8), duration=1 * ms)
    with pytest.raises(FileNotFoundError, match=r"to_netcdf path .*its folder .*missing.* does not exist"):
        res.to_netcdf(tmp_path / "missing" / "r.nc")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        res.to_netcdf(tmp_path)
    res.to_netcdf(tmp_path / "r.nc")
    assert (tmp_path / "r.nc").stat().st_size > 0


def test_nan_cue_input_is_refused_before_the_run():
    net = hd.model_b(hd.random_patterns(3, 8, seed=0))
    with pytest.raises(ValueError, match="cue_input must be finite"):
        net.recall(np.ones(8), cue_input=float("nan"))
    with pytest.raises(TypeError, match="cue_input must be a number, got True"):
        net.recall(np.ones(8), cue_input=True)


def _sweep_file(tmp_path, grid, extra=""):
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(f"""
        [sweep]
        function = "hippo_dam:recall_point"
        seeds = [0]
        {extra}
        [grid]
        {grid}
        [fixed]
        n_features = 16
        n_patterns = 4
    """))
    return path


@pytest.mark.parametrize("grid", ["flip = [true, 0.2]", "flip = [0.2, true]"])
def test_a_boolean_in_a_numeric_grid_is_refused_wherever_it_is(tmp_path, grid):
    with pytest.raises(ValueError, match=r"sweep.toml: grid\['flip'\] mixes booleans and numbers"):
        load_sweep(_sweep_file(tmp_path, grid))
    with pytest.raises(TypeError, match=r"grid\['flip'\] mixes booleans and numbers"):
        run_sweep(hd.recall_point, {"flip": [True, 0.2]}, store=tmp_path / "s")
    with pytest.raises(ValueError, match=r"\[grid\] flip = true: a boolean is not a number"):
        load_sweep(_sweep_file(tmp_path, "flip = [true, false]"))  # all booleans, where recall_point takes a number


def test_unreachable_scheduler_is_named_at_once(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ValueError, match=rf"scheduler at 'tcp://127.0.0.1:{port}' cannot be reached"):
        run_sweep(hd.recall_point, {"flip": [0.1]}, scheduler=f"tcp://127.0.0.1:{port}", store=tmp_path / "s")
    assert time.monotonic() - start < 10  # Dask's own client waits 30 s
    assert not (tmp_path / "s" / "points").exists() or not list((tmp_path / "s" / "points").iterdir())


def test_sweep_output_under_a_file_fails_before_any_point(tmp_path):
    (tmp_path / "afile").write_text("")
    sweep = load_sweep(_sweep_file(tmp_path, "flip = [0.1]", f'output = "{tmp_path / "afile" / "out.nc"}"'))
    sweep.store = str(tmp_path / "store")
    with pytest.raises(NotADirectoryError, match=r"\[sweep\] output"):
        sweep.run(n_workers=1, progress=False)
    assert not (tmp_path / "store").exists()


def test_truncated_point_file_is_named_moved_aside_and_recomputed(tmp_path, client):
    sys.path.insert(0, str(HERE))
    from sweep_points import cheap_point

    store = tmp_path / "store"
    grid = {"a": [1.0, 2.0, 3.0], "b": [0.5]}
    first = run_sweep(cheap_point, grid, seeds=[0, 1], store=store, scheduler=client, progress=False)
    points = sorted((store / "points").glob("*.json"))
    before = {p.name: p.read_bytes() for p in points}
    broken = points[2]
    broken.write_text(broken.read_text()[:25])  # a write cut short
    with pytest.warns(RuntimeWarning, match=rf"point file .*{broken.name} is corrupt .*moved to .*runs again"):
        again = run_sweep(cheap_point, grid, seeds=[0, 1], store=store, scheduler=client, progress=False)
    assert again.attrs["n_resumed"] == len(before) - 1
    after = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert set(after) == set(before)
    assert all(after[n] == data for n, data in before.items() if n != broken.name)  # nothing else changed
    assert json.loads(after[broken.name])["key"] == broken.stem
    assert len(list((store / "corrupt").iterdir())) == 1
    np.testing.assert_array_equal(again["value"].values, first["value"].values)


@pytest.fixture
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


@pytest.mark.parametrize("when", ["workers started", "points running"])
def test_ctrl_c_stops_a_sweep_with_one_line(tmp_path, when):
    """Ctrl-C reaches every process of the terminal's group: the workers ignore it, the sweep says one line.

    (A worker hit in the first instants of its interpreter, before any code of the package runs, can
    still print its own traceback: the sweep then stops with the same one line and status.)
    """
    path = _sweep_file(tmp_path, "flip = [0.1, 0.2, 0.3]\nbeta = [0.5, 1.0, 2.0, 4.0]",
                       f'store = "{tmp_path / "store"}"')
    text = path.read_text().replace("n_patterns = 4", "n_patterns = 4\nduration_ms = 60000.0")
    path.write_text(text.replace("seeds = [0]", "seeds = [0, 1, 2]"))
    workers = tmp_path / "workers"
    env = {**os.environ, "HIPPO_DAM_WORKER_CACHE": str(workers)}
    proc = subprocess.Popen([sys.executable, "-m", "hippo_dam.cli", "sweep", str(path), "--n-workers", "2",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=tmp_path, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(list(workers.glob("*/.lock"))) < 2:
        time.sleep(0.05)  # both workers have set themselves up (and ignore Ctrl-C)
    if when == "points running":
        time.sleep(3.0)
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("hippo_dam: compiling", "compiling"))
             and "compiling:" not in ln]
    assert proc.returncode == 130 and lines == ["hippo-dam: interrupted (a sweep's finished points are in its "
                                                "store; rerun to resume)"], err[-3000:]


def test_the_interrupt_line_stands_on_its_own_after_an_open_progress_bar(monkeypatch, capsys, tmp_path):
    """A sweep worker's compile bar can leave stderr mid-line (a carriage return, no newline) when Ctrl-C comes."""
    import hippo_dam.cli as cli

    def interrupted(args):
        sys.stderr.write("\rcompiling:   0%|          | 0/3")  # what a worker left on the shared terminal
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_sweep", interrupted)
    path = _sweep_file(tmp_path, "beta = [1.0]", f'store = "{tmp_path / "store"}"')
    assert main(["sweep", str(path), "--no-progress"]) == 130
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == "hippo-dam: interrupted (a sweep's finished points are in its store; rerun to resume)"
    assert "compiling" not in lines[-1] and "interrupted" not in lines[-2]


def test_ctrl_c_during_a_recall_raises_instead_of_returning_a_shorter_run(tmp_path):
    """Brian2's own handler ends a run early and returns normally; a recall must raise KeyboardInterrupt."""
    script = tmp_path / "long_recall.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, hippo_dam as hd
        from brian2 import ms, second
        net = hd.model_b(hd.random_patterns(8, 64, seed=0), record_every=None)
        net.recall(np.ones(64), duration=1 * ms)  # compiled and loaded before the signal
        print("running", flush=True)
        res = net.recall(np.ones(64), duration=600 * second)
        print("returned", res.energy_t[-1], flush=True)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "running"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "returned" not in out and proc.returncode != 0, (proc.returncode, out, err[-2000:])


def test_corrupt_manifest_moves_the_store_aside_and_reruns_every_point(tmp_path, client):
    sys.path.insert(0, str(HERE))
    from sweep_points import cheap_point

    store = tmp_path / "store"
    grid = {"a": [1.0, 2.0], "b": [0.5]}
    first = run_sweep(cheap_point, grid, store=store, scheduler=client, progress=False)
    points = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    (store / "manifest.json").write_text('{"format": 1, "func')
    with pytest.warns(RuntimeWarning, match=r"manifest.json is corrupt .*moved to .*every point runs again"):
        again = run_sweep(cheap_point, grid, store=store, scheduler=client, progress=False)
    assert again.attrs["n_resumed"] == 0
    (aside,) = list((store / "corrupt").iterdir())
    assert {p.name: p.read_bytes() for p in (aside / "points").glob("*.json")} == points  # nothing deleted
    assert (aside / "manifest.json").read_text() == '{"format": 1, "func'
    np.testing.assert_array_equal(again["value"].values, first["value"].values)


def test_ctrl_c_then_resume_loses_and_repeats_nothing(tmp_path):
    """Interrupt a CLI sweep midway; the rerun computes exactly the missing points and rewrites none."""
    store = tmp_path / "store"
    path = tmp_path / "slow.toml"
    path.write_text(textwrap.dedent(f"""
        [sweep]
        function = "sweep_points:slow_point"
        seeds = [0, 1, 2, 3]
        store = "{store}"
        [grid]
        a = {[float(a) for a in range(10)]}
        b = [0.0, 1.0, 2.0]
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "hippo_dam.cli", "sweep", str(path), "--n-workers", "1", "--no-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((store / "points").glob("*.json"))) < 10 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().endswith("rerun to resume)"), err[-2000:]
    before = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert 10 <= len(before) < 120
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"({len(before)} already in the store, 0 failed)" in out.stdout
    after = {p.name: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert len(after) == 120 and all(after[n] == data for n, data in before.items())


def test_figures_help_lists_every_figure_name(capsys):
    from hippo_dam.figures import FIGURES

    with pytest.raises(SystemExit):
        main(["figures", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in FIGURES:
        assert name in text, name
