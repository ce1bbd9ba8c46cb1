"""The built package: wheel and sdist contents, a fresh non-editable install, and dependency resolution.

Slow: ``python -m build`` fetches its build requirements from the package index, and the
resolver check asks the index what Python 3.11-3.13 would get.
"""
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``python -m build`` of this checkout: {'wheel': path, 'sdist': path}."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "hippo_dam"
    # build from a copy, so the checkout gets no build/ or egg-info of the build
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "dist", "out", "*.egg-info",
                                                             "__pycache__", "_build", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "build", "-o", str(out), str(src)], check=True, capture_output=True)
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


@pytest.mark.slow
def test_wheel_and_sdist_carry_models_data_and_licence(dist):
    models = sorted(p.name for p in (ROOT / "models").glob("*.toml"))
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
    for name in models:
        assert f"hippo_dam/models/{name}" in names
    assert {"hippo_dam/data/kanji64.npz", "hippo_dam/data/kanji64.json"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
    with tarfile.open(dist["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"LICENSE", "setup.cfg", "setup.py", "hippo_dam/data/kanji64.npz"} <= names
    assert {f"models/{name}" for name in models} <= names


@pytest.mark.slow
def test_wheel_in_fresh_venv_runs_a_shipped_model(dist, tmp_path):
    """Not editable: the wheel alone, in a new venv (dependencies from this interpreter's site-packages)."""
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(dist["wheel"])],
                   check=True, env=env)
    # then the dependencies from this interpreter's site-packages, as a plain path: its .pth files (an
    # editable install of hippo_dam among them) are not run, so only the wheel provides hippo_dam
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_outer_site_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "elsewhere"  # not the checkout: models/ must come from the package
    work.mkdir()
    where = subprocess.run([str(py), "-c", "import hippo_dam; print(hippo_dam.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    run = subprocess.run([str(venv / "bin" / "hippo-dam"), "run", "models/model_b.toml", "--out", "out"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "success" in run.stdout and (work / "out" / "model_b.nc").is_file()
    assert "hippo_dam/models/model_b.toml" in run.stdout


RESOLVE = [("3.11", "test", {"brian2": "2.9.0"}), ("3.11", "gpu", {"brian2": "2.8.0", "brian2cuda": "1.0a7"}),
           ("3.12", "test", {}), ("3.12", "gpu", {"brian2": "2.10.1"}), ("3.13", "test", {})]


@pytest.mark.slow
@pytest.mark.parametrize("python, extra, expected", RESOLVE)
def test_dependencies_resolve(dist, python, extra, expected):
    """The wheel with an extra resolves for Python 3.11-3.13 (binary wheels only).

    ``uv pip compile --python-version`` evaluates environment markers for the
    target Python (``pip install --dry-run --python-version`` evaluates them for
    the running one, so it cannot check markers).
    """
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (pip install uv; it is in the test extra)")
    req = f"hippo_dam[{extra}] @ {dist['wheel'].as_uri()}"
    out = subprocess.run([uv, "pip", "compile", "-", "--python-version", python, "--only-binary", ":all:",
                          "--python-platform", "x86_64-manylinux_2_28", "--no-header", "--no-annotate", "-q"],
                         input=req, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    pins = dict(line.split("==", 1) for line in out.stdout.split() if "==" in line)
    pins = {k.lower(): v for k, v in pins.items()}
    for name, version in expected.items():
        assert pins.get(name) == version, (name, pins.get(name))
    brian2 = tuple(int(x) for x in pins["brian2"].split(".")[:2])
    numpy = tuple(int(x) for x in pins["numpy"].split(".")[:2])
    assert brian2 >= (2, 8)
    if brian2 < (2, 10):  # ndarray.ptp: Brian2 < 2.10 does not import with numpy 2.4
        assert numpy < (2, 4)
    if python != "3.11":
        assert brian2 >= (2, 10)
