"""Property-based tests (hypothesis) of the entry points (issue 21 item 5).

Generated model files, sweep files and constructor arguments, valid and
broken: valid ones load and run, broken ones fail with a message naming the
key (and the file), and nothing stored before a failing call changes (files
compared byte for byte). The runs use the numpy target and small networks, so
no example compiles anything.
"""
import copy
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import hippo_dam as hd
from hippo_dam.cli import main
from hippo_dam.modelfile import load_model
from hippo_dam.sweeps.engine import load_sweep, run_sweep

HERE = Path(__file__).parent
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: for tests parametrized over every broken key: a few generated files each
FEW = settings(SETTINGS, max_examples=3)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_toml(path, cfg):
    """A TOML file of tables of plain values (what the model and sweep files use)."""
    path.write_text("".join(f"[{table}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in keys.items()) + "\n"
                            for table, keys in cfg.items()))
    return path


# -- model files ------------------------------------------------------------------------
@st.composite
def model_files(draw):
    """A valid two-layer model file: additive Lagrangians on the numpy target, a bounded energy."""
    tau_f = draw(st.sampled_from([5.0, 10.0, 20.0, 40.0]))
    tau_h = draw(st.sampled_from([1.0, 2.0, 5.0]))
    dt = draw(st.sampled_from([0.05, 0.1, 0.2]))
    return {
        "model": {"name": "generated"},
        "features": {"n": draw(st.integers(4, 24)), "lagrangian": draw(st.sampled_from(["tanh", "sign"])),
                     "tau": f"{tau_f} ms"},
        "memories": {"lagrangian": draw(st.sampled_from(["tanh", {"name": "rectified_power", "degree": 2.0},
                                                         {"name": "rectified_power", "degree": 3.0}])),
                     "tau": f"{tau_h} ms"},
        "patterns": {"kind": "random", "count": draw(st.integers(2, 6)), "seed": draw(st.integers(0, 99))},
        "cue": {"kind": "flip", "fraction": draw(st.sampled_from([0.0, 0.1, 0.25])), "target": 0, "seed": 1},
        "run": {"duration": f"{draw(st.sampled_from([1.0, 3.0, 5.0]))} ms", "dt": f"{dt} ms",
                "record_every": f"{dt} ms", "codegen_target": "numpy"},
    }


#: one broken key at a time: (table, key, bad value, text the message must contain)
BROKEN_MODEL = [
    ("features", "n", -3, "n"), ("features", "n", 0, "n"), ("features", "n", "many", "n"), ("features", "n", True, "n"),
    ("features", "tau", "20", "tau"), ("features", "tau", "-5 ms", "tau"), ("features", "tau", "20 mV", "tau"),
    ("memories", "tau", "0 ms", "tau"), ("features", "lagrangian", "tanhh", "tanhh"),
    ("memories", "lagrangian", {"name": "log_sum_exp", "beta": -1.0}, "beta"),
    ("patterns", "count", 0, "count"), ("patterns", "count", 2.5, "count"), ("patterns", "kind", "randum", "kind"),
    ("cue", "fraction", 1.5, "fraction"), ("cue", "target", 99, "target"), ("cue", "kind", "flipp", "kind"),
    ("cue", "cue_input", float("nan"), "cue_input"),
    ("run", "dt", "50 ms", "dt"), ("run", "dt", "0.1", "dt"), ("run", "duration", "-1 ms", "duration"),
    ("run", "codegen_target", "gpu", "codegen_target"), ("run", "record_every", "-1 ms", "record_every"),
    ("features", "nn", 4, "nn"), ("featurs", "n", 4, "featurs"),
]


@SETTINGS
@given(cfg=model_files())
def test_generated_valid_model_files_load_and_run(tmp_path_factory, cfg):
    path = write_toml(tmp_path_factory.mktemp("model") / "generated.toml", cfg)
    model = load_model(path)
    res = model.run(progress=False)
    assert res.v.shape == (len(res.t), cfg["features"]["n"])
    assert np.all(np.isfinite(res.energy)) and res.quality is not None


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory):
    """The output folder of one valid command-line run (netCDF and PNG)."""
    base = tmp_path_factory.mktemp("cli")
    cfg = {
        "features": {"n": 8, "lagrangian": "tanh", "tau": "10 ms"}, "memories": {"lagrangian": "tanh", "tau": "2 ms"},
        "patterns": {"count": 3}, "run": {"duration": "2 ms", "dt": "0.1 ms", "codegen_target": "numpy"}}
    out = base / "out"
    assert main(["run", str(write_toml(base / "valid.toml", cfg)), "--out", str(out)]) in (0, 1)
    return out


@pytest.mark.parametrize("broken", BROKEN_MODEL, ids=[f"{t}.{k}={v!r}" for t, k, v, _ in BROKEN_MODEL])
@FEW
@given(cfg=model_files())
def test_generated_broken_model_files_name_the_key_and_leave_the_output_alone(tmp_path_factory, cli_output, cfg,
                                                                             broken):
    """One key broken: the error names it (and the file, where the file is read); the CLI says so in one line,
    exit 2, and the output folder of an earlier run is unchanged."""
    table, key, value, named = broken
    stored = {p.name: p.read_bytes() for p in cli_output.iterdir()}
    bad = copy.deepcopy(cfg)
    bad.setdefault(table, {})[key] = value
    path = write_toml(tmp_path_factory.mktemp("model") / "generated.toml", bad)
    with pytest.raises((ValueError, TypeError)) as err:
        load_model(path)  # the file's errors all come when it is loaded, before anything runs
    message = str(err.value)
    assert message.startswith(f"{path}: ") and named in message, message
    if table in cfg:
        assert f"[{table}]" in message, message
    assert main(["run", str(path), "--out", str(cli_output)]) == 2
    assert {p.name: p.read_bytes() for p in cli_output.iterdir()} == stored


# -- sweep files ---------------------------------------------------------------------------
def _sweep_cfg(grid, store, **sweep):
    return {"sweep": {"function": "sweep_points:cheap_point", "seeds": [0, 1], "store": str(store), **sweep},
            "grid": grid}


grid_values = st.lists(st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 3)), min_size=1, max_size=4,
                       unique=True)

#: broken [grid] values of ``a`` and the words the message must contain
BROKEN_GRID = [([True, 0.2], "grid['a']"), ([0.2, True], "grid['a']"), ([], "grid['a']"), ([1.0, 1.0], "grid['a']"),
               ([1.0, "x"], "grid['a']"), ([float("nan")], "grid['a']")]


@pytest.fixture(scope="module")
def stored_sweep(tmp_path_factory):
    """A finished sweep of sweep_points.cheap_point in a store (threads: no processes to start)."""
    from distributed import Client, LocalCluster

    sys.path.insert(0, str(HERE))
    from sweep_points import cheap_point

    store = tmp_path_factory.mktemp("sweep") / "store"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        run_sweep(cheap_point, {"a": [1.0, 2.0], "b": [0.5]}, seeds=[0, 1], store=store, scheduler=client,
                  progress=False)
    return store


def _snapshot(store):
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


@SETTINGS
@given(a=grid_values, b=grid_values)
def test_generated_valid_sweep_files_load_as_written(tmp_path_factory, a, b):
    sys.path.insert(0, str(HERE))
    base = tmp_path_factory.mktemp("sweepfile")
    sweep = load_sweep(write_toml(base / "s.toml", _sweep_cfg({"a": a, "b": b}, base / "store")))
    assert sweep.grid == {"a": a, "b": b} and sweep.seeds == [0, 1]


@pytest.mark.parametrize("broken", BROKEN_GRID, ids=[repr(v) for v, _ in BROKEN_GRID])
@FEW
@given(b=grid_values)
def test_generated_broken_sweep_files_name_the_key_and_leave_the_store_alone(tmp_path_factory, stored_sweep, b,
                                                                           broken):
    values, named = broken
    sys.path.insert(0, str(HERE))
    before = _snapshot(stored_sweep)
    path = write_toml(tmp_path_factory.mktemp("sweepfile") / "s.toml", _sweep_cfg({"a": values, "b": b},
                                                                                  stored_sweep))
    with pytest.raises((ValueError, TypeError)) as err:
        load_sweep(path).run(progress=False)
    assert named in str(err.value) and "s.toml" in str(err.value), str(err.value)
    assert _snapshot(stored_sweep) == before


@SETTINGS
@given(a=grid_values)
def test_a_different_sweep_into_a_stored_sweep_is_refused_and_changes_nothing(tmp_path_factory, stored_sweep, a):
    assume(sorted(a) != [1.0, 2.0])
    sys.path.insert(0, str(HERE))
    before = _snapshot(stored_sweep)
    path = write_toml(tmp_path_factory.mktemp("sweepfile") / "s.toml", _sweep_cfg({"a": a, "b": [0.5]},
                                                                                  stored_sweep))
    with pytest.raises(ValueError, match="belongs to a different sweep: its grid"):
        load_sweep(path).run(progress=False)
    assert _snapshot(stored_sweep) == before


# -- constructor arguments -----------------------------------------------------------------
@SETTINGS
@given(k=st.integers(1, 6), n=st.integers(1, 16), tau_f=st.floats(1, 50), tau_h=st.floats(0.5, 20),
       data=st.data())
def test_generated_constructor_arguments(k, n, tau_f, tau_h, data):
    """Valid arguments build a network; one broken argument is refused naming it."""
    xi = np.random.default_rng(k * 100 + n).choice([-1.0, 1.0], size=(k, n))
    dt = min(tau_f, tau_h) / 4
    kwargs = dict(patterns=xi, feature_lagrangian="tanh", memory_lagrangian="log_sum_exp", tau_f=tau_f * ms,
                  tau_h=tau_h * ms, dt=dt * ms)
    hd.DenseAssociativeMemory(**kwargs)
    nan_xi = xi.copy()
    nan_xi[0, 0] = np.nan
    name, value, named = data.draw(st.sampled_from([
        ("patterns", nan_xi, "NaN"), ("patterns", xi[:0], "patterns"), ("patterns", xi[0], "patterns"),
        ("tau_f", tau_f, "tau_f"), ("tau_h", -tau_h * ms, "tau_h"), ("dt", 2 * max(tau_f, tau_h) * ms, "dt"),
        ("dt", dt, "dt"), ("feature_lagrangian", "tanhh", "tanhh"),
        ("memory_lagrangian", {"name": "log_sum_exp", "beta": 0.0}, "beta"),
        ("feature_lagrangian", hd.Lagrangian("concave", "-x**2/2", "-x"), "not convex"),
    ]))
    with pytest.raises((ValueError, TypeError)) as err:
        hd.DenseAssociativeMemory(**{**kwargs, name: value})
    assert named in str(err.value), str(err.value)
