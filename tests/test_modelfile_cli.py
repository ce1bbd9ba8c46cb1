"""Model files and the command line."""
from pathlib import Path

import pytest
from brian2 import ms

import hippo_dam as hd
from hippo_dam.cli import main

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("name", ["model_a", "model_b", "model_c"])
def test_shipped_model_files_load(name):
    mf = hd.load_model(MODELS / f"{name}.toml")
    assert mf.name == name
    assert mf.patterns.shape == (64, 256) and mf.network.n_memories == 64
    assert mf.duration == 100 * ms and mf.network.tau_f == 20 * ms
    assert hd.hamming(mf.cue, mf.patterns[mf.target]) == 51


def test_cli_run_writes_netcdf_and_png(tmp_path, capsys):
    code = main(["run", str(MODELS / "model_b.toml"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    for key in ("retrieved index  0", "final overlap    1.0000", "energy", "wall time"):
        assert key in out
    assert (tmp_path / "model_b.nc").stat().st_size > 0
    png = (tmp_path / "model_b.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000


def _write(tmp_path, text):
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


BASE = """
[features]
n = 32
lagrangian = "sign"
tau = "20 ms"
[memories]
lagrangian = { name = "rectified_power", degree = 3 }
tau = "2 ms"
[patterns]
count = 4
"""


def test_minimal_model_file_runs(tmp_path):
    mf = hd.load_model(_write(tmp_path, BASE + '[run]\nduration = "20 ms"\n'))
    result = mf.run()
    assert result.quality.success and result.attrs["model"] == "m"


@pytest.mark.parametrize("extra,match", [
    ("[cue]\nfration = 0.2\n", r"unknown key\(s\) \['fration'\] in \[cue\]"),
    ("[plotting]\nx = 1\n", r"unknown table\(s\) \['plotting'\]"),
    ('[run]\nduration = "20 parsecs"\n', r"\[run\] duration: expected a time"),
    ('[run]\ncodegen_target = "fortran"\n', "codegen_target must be one of"),
    ("[cue]\ntarget = 9\n", "target 9 out of range"),
    ('[patterns]\nkind = "kanji"\n', None),  # duplicate table: invalid TOML
])
def test_bad_model_files(tmp_path, extra, match):
    with pytest.raises(ValueError, match=match or "not valid TOML"):
        hd.load_model(_write(tmp_path, BASE + extra))


def test_unknown_lagrangian_in_model_file(tmp_path):
    text = BASE.replace('lagrangian = "sign"', 'lagrangian = "signum"')
    with pytest.raises(ValueError, match="Unknown Lagrangian 'signum'"):
        hd.load_model(_write(tmp_path, text))


def test_missing_required_key(tmp_path):
    with pytest.raises(ValueError, match=r"\[features\] needs the key 'tau'"):
        hd.load_model(_write(tmp_path, BASE.replace('tau = "20 ms"\n', "", 1)))


def test_cli_reports_errors_cleanly(tmp_path, capsys):
    path = _write(tmp_path, BASE.replace("count = 4", "count = 0"))
    assert main(["run", str(path)]) == 2
    assert "[patterns] count must be >= 1, got 0" in capsys.readouterr().err


def test_cli_target_override_is_checked(capsys):
    assert main(["run", str(MODELS / "model_b.toml"), "--codegen-target", "numpy"]) == 2
    assert "cannot compute the layer maximum" in capsys.readouterr().err


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"hippo-dam {hd.__version__}"


def test_cli_debug_shows_the_traceback(capsys):
    assert main(["run", "no_such_model"]) == 2
    err = capsys.readouterr().err
    assert "no model file 'no_such_model'" in err and "model_b" in err and "--debug" in err
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        main(["--debug", "run", "no_such_model"])


def test_shipped_models_found_by_name_and_repository_path():
    shipped = hd.shipped_models()
    assert {"model_a", "model_b", "model_c", "ca3", "ec_ca1", "ca3_spiking"} <= set(shipped)
    assert hd.find_model("model_b") == shipped["model_b"]
    assert hd.find_model("models/model_b.toml").name == "model_b.toml"
    with pytest.raises(FileNotFoundError, match="shipped models"):
        hd.find_model("models/not_there.toml")


def test_run_keys_a_circuit_would_ignore_are_rejected(tmp_path):
    text = (MODELS / "ca3.toml").read_text()
    for line in ('coupling = "synapses"', 'dtype = "float32"', "openmp_threads = 2"):
        path = tmp_path / "ca3_extra.toml"
        path.write_text(text.replace("[run]", f"[run]\n{line}", 1))
        with pytest.raises(ValueError, match=r"\[run\] key\(s\) .* do not apply to a circuit"):
            hd.load_model(path)


def test_a_boolean_is_not_an_integer(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text((MODELS / "model_b.toml").read_text().replace("seed = 0", "seed = true", 1))
    with pytest.raises(ValueError, match=r"\[patterns\] seed = true is a boolean"):
        hd.load_model(path)


def test_figures_under_ci_never_overwrite_the_committed_figures(tmp_path, monkeypatch, capsys):
    """`hippo-dam figures` with CI=true writes its reduced figures to figures/ci/, not over figures/."""
    from hippo_dam import figures

    made = []

    def probe(outdir):
        path = Path(outdir) / "probe.png"
        path.write_bytes(b"reduced")
        made.append(Path(outdir))
        return path

    monkeypatch.setitem(figures.FIGURES, "probe", probe)
    committed = tmp_path / "figures" / "probe.png"
    committed.parent.mkdir()
    committed.write_bytes(b"full size")
    monkeypatch.setenv("CI", "true")
    assert main(["figures", "probe", "--out", str(tmp_path / "figures")]) == 0
    assert made == [tmp_path / "figures" / "ci"] and committed.read_bytes() == b"full size"
    assert (tmp_path / "figures" / "ci" / "probe.png").read_bytes() == b"reduced"
    monkeypatch.setenv("CI", "false")
    assert main(["figures", "probe", "--out", str(tmp_path / "figures")]) == 0
    assert made[-1] == tmp_path / "figures" and committed.read_bytes() == b"reduced"


def test_every_shipped_model_file_names_its_kind_and_the_registry_loads_it():
    """Issue 18: an explicit [model] kind picks the loader from MODEL_KINDS (by import path)."""
    import tomllib

    from hippo_dam.modelfile import model_kind

    for name, path in hd.shipped_models().items():
        cfg = tomllib.loads(path.read_text())
        assert cfg["model"]["kind"] in hd.MODEL_KINDS, name
        assert model_kind(cfg, path) == cfg["model"]["kind"]
        del cfg["model"]["kind"]  # an older file: recognised by its tables, as the same kind
        assert model_kind(tomllib.loads(path.read_text()), path) == model_kind(cfg, path), name


def test_unknown_model_kind_is_named_and_a_registered_kind_loads(tmp_path, monkeypatch):
    text = (Path(hd.__file__).parent.parent / "models" / "model_b.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('kind = "two_layer"', 'kind = "two_layers"'))
    with pytest.raises(ValueError, match=r"bad.toml: \[model\] kind 'two_layers' is not a model kind \(did you "
                                         r"mean 'two_layer'\?\)"):
        hd.load_model(bad)
    monkeypatch.setitem(hd.MODEL_KINDS, "ignored", "")
    hd.register_model_kind("renamed_b", "hippo_dam.modelfile:load_two_layer_model")
    try:
        mine = tmp_path / "mine.toml"
        mine.write_text(text.replace('kind = "two_layer"', 'kind = "renamed_b"'))
        assert hd.load_model(mine).network.n_features == 256
    finally:
        hd.MODEL_KINDS.pop("renamed_b")
    with pytest.raises(ValueError, match="import path"):
        hd.register_model_kind("x", "no_colon")


def test_the_cli_keeps_the_cpp_project_a_second_run_compiles_nothing(tmp_path, monkeypatch):
    """Models A/B/C run as one C++ project kept between processes: the second process compiles nothing and
    gives the same numbers; the project folder is locked while in use (another process builds its own)."""
    import os
    import subprocess
    import sys

    import numpy as np
    import xarray as xr

    env = {**os.environ, "HIPPO_DAM_STANDALONE_CACHE": str(tmp_path / "cache")}
    runs = []
    for k in range(2):
        out = subprocess.run([sys.executable, "-m", "hippo_dam.cli", "run", "model_b", "--out", str(tmp_path / f"o{k}")],
                             capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr
        runs.append(out)
        (project,) = (tmp_path / "cache").iterdir()
        if k == 0:
            assert "compiling this network as a C++ project (first run only" in out.stderr
            built = {p.name: p.stat().st_mtime_ns for p in project.glob("*.o")}
    assert "compiling" not in runs[1].stderr
    assert {p.name: p.stat().st_mtime_ns for p in project.glob("*.o")} == built  # nothing recompiled
    a, b = (xr.open_dataset(tmp_path / f"o{k}" / "model_b.nc") for k in range(2))
    np.testing.assert_array_equal(a["energy"].values, b["energy"].values)
    from hippo_dam.core.devices import persistent_project

    monkeypatch.setenv("HIPPO_DAM_STANDALONE_CACHE", str(tmp_path / "held"))
    key = ("a test network",)
    held = persistent_project(key)
    assert held is not None and persistent_project(key) == held  # this process holds it
    probe = f"from hippo_dam.core.devices import persistent_project\nprint(persistent_project({key!r}))"
    other = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert other.stdout.strip() == "None", other.stdout + other.stderr
