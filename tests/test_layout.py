"""The package layout: subpackages that read bottom up, public names at the top, old module paths kept."""
import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hippo_dam

PACKAGE = Path(hippo_dam.__file__).parent

#: subpackage -> the subpackages its modules may import (module level or inside functions)
ALLOWED = {
    "core": {"core"},
    "data": {"data"},
    "networks": {"core", "data", "networks"},
    "theory": {"core", "data", "theory"},  # capacity_search takes a map: the sweep engine is passed in, not imported
    "circuits": {"core", "data", "networks", "theory", "circuits"},
    "experiments": {"core", "data", "networks", "theory", "circuits", "experiments"},
    "sweeps": {"core", "data", "networks", "sweeps"},
    "figures": {"core", "data", "networks", "theory", "circuits", "experiments", "sweeps", "figures"},
}


def _imported_subpackages(path):
    """The hippo_dam subpackages a module imports (relative imports, resolved from its location)."""
    parts = ["hippo_dam", *path.relative_to(PACKAGE).with_suffix("").parts][:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            target = parts[:len(parts) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            if len(target) >= 2 and (PACKAGE / target[1]).is_dir():
                found.add(target[1])
    return found


@pytest.mark.parametrize("sub", sorted(ALLOWED))
def test_subpackages_import_only_the_layers_below(sub):
    for path in sorted((PACKAGE / sub).glob("*.py")):
        wrong = _imported_subpackages(path) - ALLOWED[sub]
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}; {sub}/ may use {sorted(ALLOWED[sub])}"


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_import_and_theory_need_no_brian2():
    """`import hippo_dam` and the whole theory (effective models, capacity) run without importing Brian2."""
    code = """
import sys
import numpy as np
import hippo_dam as hd
assert "brian2" not in sys.modules, "import hippo_dam imported brian2"
import hippo_dam.theory.effective, hippo_dam.theory.capacity
xi = hd.random_patterns(8, 64, seed=0)
s = hd.dam_async(xi, hd.flip_cue(xi[2], 0.2, seed=1)[0], degree=3, seed=0)[0]
assert np.array_equal(s, xi[2])
v = hd.effective_euler(xi, "identity", {"name": "log_sum_exp", "beta": 1.0}, 0.01, xi[0] * 0.5, 0.001, 50,
                       record=False)
p = hd.capacity_point("power", 64, 8, seed=0, degree=3)
assert p["success"] == 1.0, p
assert "brian2" not in sys.modules, sorted(m for m in sys.modules if m.startswith("brian2"))[:5]
print("ok")
"""
    assert _run(code).strip() == "ok"


def test_public_names_resolve_at_the_top_level():
    names = set(hippo_dam.__all__)
    assert len(names) == len(hippo_dam.__all__), "a public name is listed twice"
    for name in sorted(names):
        obj = getattr(hippo_dam, name)
        module = getattr(obj, "__module__", None)
        if module is not None and module.startswith("hippo_dam"):
            assert module.split(".")[1] in {*ALLOWED, "modelfile", "nwb"}, f"{name} is defined in {module}"
    assert names <= set(dir(hippo_dam))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        hippo_dam.no_such_name  # noqa: B018
    namespace = {}
    exec("from hippo_dam import *", namespace)
    assert names <= set(namespace)


@pytest.mark.parametrize("old", sorted(hippo_dam._MOVED))
def test_module_paths_of_earlier_releases_import_as_the_moved_module(old):
    import warnings

    sys.modules.pop(f"hippo_dam.{old}", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved = importlib.import_module(f"hippo_dam.{old}")
    assert moved is importlib.import_module(f"hippo_dam.{hippo_dam._MOVED[old]}")
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert f"hippo_dam.{old} is now hippo_dam.{hippo_dam._MOVED[old]}; the old path will be removed in hippo_dam " \
           f"{hippo_dam.MOVED_PATHS_REMOVED_IN}" in messages, messages
    if "." not in old:
        assert getattr(hippo_dam, old) is moved


def test_old_and_new_paths_are_one_module_and_energy_stays_the_function():
    from hippo_dam.network import DenseAssociativeMemory as old
    from hippo_dam.networks.two_layer import DenseAssociativeMemory as new
    from hippo_dam.sweep import recall_point

    assert old is new is hippo_dam.DenseAssociativeMemory and recall_point is hippo_dam.recall_point
    assert callable(hippo_dam.energy) and hippo_dam.energy.__name__ == "energy"
    from hippo_dam.circuits import CA3Circuit  # the flat module's name, now the subpackage

    assert CA3Circuit is hippo_dam.CA3Circuit


def test_a_store_written_under_the_old_module_path_resumes(tmp_path):
    """A sweep store whose manifest names ``hippo_dam.sweep:recall_point`` is the same sweep today."""
    from hippo_dam.sweeps.engine import _open_store

    store = tmp_path / "store"
    store.mkdir()
    grid, seeds = {"flip": [0.1, 0.2]}, [0]
    (store / "manifest.json").write_text(json.dumps({"format": 1, "function": "hippo_dam.sweep:recall_point",
                                                     "grid": grid, "seeds": seeds, "created": "2026-11-01"}))
    _open_store(store, {"function": "hippo_dam.sweeps.engine:recall_point"}, grid, seeds)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["function"] == "hippo_dam.sweep:recall_point" and manifest["created"] == "2026-11-01"
    with pytest.raises(ValueError, match="belongs to a different sweep"):
        _open_store(store, {"function": "hippo_dam.sweeps.engine:recall_points"}, grid, seeds)


def test_every_figure_has_its_own_module():
    from hippo_dam.figures import FIGURES, figure_function

    for name in FIGURES:
        function = figure_function(name)
        assert function.__module__ == f"hippo_dam.figures.{name}" and function.__name__ == name
    with pytest.raises(ValueError, match="unknown figure 'nope'"):
        figure_function("nope")


def test_capacity_figure_redraws_from_its_recorded_results(tmp_path, monkeypatch):
    """`hippo-dam figures capacity --redraw` draws figures/capacity.json again, rerunning no search."""
    import shutil

    from hippo_dam.cli import main

    recorded = PACKAGE.parent / "figures" / "capacity.json"
    shutil.copy(recorded, tmp_path / "capacity.json")
    monkeypatch.setenv("CI", "false")
    import hippo_dam.theory.capacity as capacity_module

    def no_search(*args, **kwargs):
        raise AssertionError("redraw ran a capacity search")

    monkeypatch.setattr(capacity_module, "capacity_search", no_search)
    assert main(["figures", "capacity", "--redraw", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "capacity.png").stat().st_size > 10_000
    before = json.loads(recorded.read_text())["results"]
    from hippo_dam.figures.capacity import redraw

    again = json.loads(recorded.read_text())
    redraw(again, tmp_path / "again.png")
    for label, result in before.items():  # the fits recomputed from the recorded capacities equal the recorded fits
        fit = again["results"][label]["fit"]
        assert set(fit) == set(result["fit"]), label
        for key, value in result["fit"].items():
            np.testing.assert_allclose(np.asarray(fit[key], float), np.asarray(value, float), rtol=1e-12,
                                       err_msg=f"{label}: {key}")
    with pytest.raises(ValueError, match="cannot be redrawn from its recorded results"):
        from hippo_dam.figures import redraw_figures

        redraw_figures(tmp_path, ["ca3"])
    assert main(["figures", "ca3", "--redraw", "--out", str(tmp_path)]) == 2


def test_reduction_figure_redraws_from_its_recorded_trajectories(tmp_path, monkeypatch):
    """figures/reduction.json holds every trajectory the figure draws: the redraw runs no network."""
    import shutil

    import matplotlib.image as mpimg

    from hippo_dam.figures import redraw_figures

    committed = PACKAGE.parent / "figures" / "reduction.png"
    shutil.copy(committed.with_suffix(".json"), tmp_path / "reduction.json")
    monkeypatch.setenv("CI", "false")
    import hippo_dam.figures.reduction as figure_module

    def no_run(*args, **kwargs):
        raise AssertionError("redraw ran the reduction experiment")

    monkeypatch.setattr(figure_module, "reduction", no_run)
    monkeypatch.setattr(hippo_dam, "reduction_errors", no_run)
    (path,) = redraw_figures(tmp_path, ["reduction"])
    again, before = mpimg.imread(path), mpimg.imread(committed)
    assert again.shape == before.shape and float(np.mean(np.abs(again - before))) < 0.01
    recorded = json.loads(committed.with_suffix(".json").read_text())
    assert len(recorded["plot"]["v_micro"]) == len(recorded["errors_brian2"]) == 3


def _module_imports():
    """Every hippo_dam module -> the hippo_dam modules it imports (at module level or inside functions)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.with_suffix("").relative_to(PACKAGE.parent).parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.rpartition(".")[0]
                target = (base + ("." + node.module if node.module else "")) if node.level else (node.module or "")
                for alias in node.names:  # "from .x import y": y may be a module of its own
                    deps.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_any_modules():
    """Issue 18: no two modules import each other, even lazily inside a function (top-level modules included)."""
    graph = _module_imports()
    assert "hippo_dam.modelfile" in graph and "hippo_dam.sweeps.runner" in graph["hippo_dam.sweeps.sweepfile"]
    assert _cycles(graph) == []
    # the check sees a cycle when there is one
    graph["hippo_dam.core.lagrangians"] = graph["hippo_dam.core.lagrangians"] | {"hippo_dam.modelfile"}
    graph["hippo_dam.modelfile"] = graph["hippo_dam.modelfile"] | {"hippo_dam.core.lagrangians"}
    assert any({"hippo_dam.core.lagrangians", "hippo_dam.modelfile"} <= set(c) for c in _cycles(graph))
