"""Hippocampal circuits (CA3, EC-CA1) and spiking memory cells: references, energy, retrieval, errors."""
import numpy as np
import pytest
from brian2 import Hz, ms

import hippo_dam as hd

NF, NH = 24, 6
DT, STEPS = 0.05 * ms, 300


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    xi = rng.choice([-1.0, 1.0], size=(NH, NF))
    cue = rng.normal(size=NF)
    return xi, cue


def _never_rises(e):
    return np.max(np.diff(e)) <= 1e-9 * np.max(np.abs(e))


def test_ca3_fast_inhibition_is_the_two_layer_model(small):
    xi, cue = small
    net = hd.CA3Circuit(xi, beta=0.5, tau_f=20 * ms, tau_h=10 * ms, dt=DT, record_every=DT)
    res = net.recall(cue, duration=STEPS * DT, cue_input=0.3)
    v_ref, h_ref = hd.euler_reference(xi, hd.tanh(), hd.log_sum_exp(0.5), 20 * ms, 10 * ms, cue, np.zeros(NH),
                                      DT, STEPS, I=0.3 * cue)
    np.testing.assert_allclose(res.v, v_ref[:-1], atol=1e-6 * np.abs(v_ref).max())
    np.testing.assert_allclose(res.h, h_ref[:-1], atol=1e-6 * np.abs(h_ref).max())
    e_ref = hd.energy(v_ref[:-1], h_ref[:-1], xi, hd.tanh(), hd.log_sum_exp(0.5), I=0.3 * cue)
    np.testing.assert_allclose(res.energy, e_ref, atol=1e-9 * np.abs(e_ref).max())
    assert _never_rises(res.energy)
    ds = res.to_xarray()
    assert set(ds.feature_region.values) == {"CA3"} and set(ds.memory_region.values) == {"CA3"}


def test_ca3_dynamic_interneurons_match_numpy_reference(small):
    xi, cue = small
    net = hd.CA3Circuit(xi, beta=0.5, tau_f=20 * ms, tau_h=10 * ms, interneuron_tau=2 * ms, n_interneurons=4,
                        dt=DT, record_every=DT)
    res = net.recall(cue, duration=STEPS * DT)
    v, h, y = hd.ca3_reference(xi, hd.tanh(), 0.5, 20 * ms, 10 * ms, 2 * ms, cue, np.zeros(NH),
                               np.log(NH) / 0.5, DT, STEPS)
    np.testing.assert_allclose(res.v, v[:-1], atol=1e-6 * np.abs(v).max())
    np.testing.assert_allclose(res.h, h[:-1], atol=1e-6 * np.abs(h).max())
    trace = res.extra["CA3_interneurons"]["trace"]
    assert trace.shape == (STEPS, 4)
    np.testing.assert_allclose(trace[:, 0], y[:-1], atol=1e-6 * np.abs(y).max())
    assert res.to_xarray()["CA3_interneurons_region"].values[0] == "CA3"


def test_ec_ca1_instant_symmetric_relay_is_the_two_layer_model(small):
    xi, cue = small
    net = hd.ECCA1Loop(xi, memory_lagrangian=hd.log_sum_exp(0.5), relay_tau=0 * ms, direct_fraction=0.3,
                       tau_h=10 * ms, dt=DT, record_every=DT)
    assert net.symmetric
    res = net.recall(cue, duration=STEPS * DT)
    v_ref, h_ref = hd.euler_reference(xi, hd.tanh(), hd.log_sum_exp(0.5), 20 * ms, 10 * ms, cue, np.zeros(NH),
                                      DT, STEPS)
    np.testing.assert_allclose(res.v, v_ref[:-1], atol=1e-6 * np.abs(v_ref).max())
    np.testing.assert_allclose(res.h, h_ref[:-1], atol=1e-6 * np.abs(h_ref).max())
    assert _never_rises(res.energy)
    assert set(res.to_xarray()["EC_V_region"].values) == {"EC-V"}


@pytest.mark.parametrize("kw", [dict(relay_tau=1 * ms), dict(relay_tau=5 * ms, relay_gain=1.4)])
def test_ec_ca1_relay_matches_numpy_reference(small, kw):
    xi, cue = small
    rng = np.random.default_rng(5)
    R = xi.T + 0.3 * rng.normal(size=xi.T.shape) if "relay_gain" in kw else None
    net = hd.ECCA1Loop(xi, memory_lagrangian=hd.log_sum_exp(0.5), relay_weights=R, tau_h=10 * ms, dt=DT,
                       record_every=DT, **kw)
    res = net.recall(cue, duration=STEPS * DT)
    v, h, z = hd.ec_ca1_reference(xi, hd.tanh(), hd.log_sum_exp(0.5), 20 * ms, 10 * ms, kw["relay_tau"], cue,
                                  np.zeros(NH), DT, STEPS, relay_gain=kw.get("relay_gain", 1.0),
                                  direct_fraction=0.2, relay_weights=R)
    np.testing.assert_allclose(res.v, v[:-1], atol=1e-6 * np.abs(v).max())
    np.testing.assert_allclose(res.extra["EC_V"]["trace"], z[:-1], atol=1e-6 * np.abs(z).max())


def test_ec_ca1_gain_mismatch_lets_the_energy_rise():
    """a = 1.5 breaks E's monotonicity (measured), the symmetric loop does not."""
    xi = hd.random_patterns(16, 100, seed=0)
    cue, known = hd.flip_cue(xi[2], 0.3, seed=1)
    rises = {}
    for a in (1.0, 1.5):
        res = hd.ECCA1Loop(xi, relay_tau=0 * ms, relay_gain=a, record_every=None).recall(
            cue, known, duration=120 * ms, target=2)
        rises[a] = np.max(np.diff(res.energy)) / np.max(np.abs(res.energy))
    assert rises[1.0] <= 1e-9
    assert rises[1.5] > 1e-6


@pytest.mark.parametrize("make", [
    lambda xi: hd.CA3Circuit(xi, record_every=None),
    lambda xi: hd.CA3Circuit(xi, interneuron_tau=2 * ms, record_every=None),
    lambda xi: hd.ECCA1Loop(xi, record_every=None),
], ids=["CA3-fast", "CA3-tauI2ms", "EC-CA1"])
def test_circuits_retrieve_from_partial_cues(make):
    """A fast check on 8 cues (30% flipped); figures/ca3.json and ec_ca1.json hold 100 cues."""
    xi = hd.random_patterns(16, 120, seed=0)
    net = make(xi)
    for k in range(8):
        cue, known = hd.flip_cue(xi[k], 0.3, seed=10 + k)
        res = net.recall(cue, known, duration=120 * ms, target=k)
        assert res.quality.success, res.summary()


def test_spiking_ca3_retrieves_and_counts_spikes():
    xi = hd.random_patterns(16, 120, seed=0)
    net = hd.SpikingCA3(xi, max_rate=100 * Hz, copies=64, seed=1, record_every=None)
    ok = 0
    for k in range(4):
        cue, known = hd.flip_cue(xi[k], 0.3, seed=20 + k)
        res = net.recall(cue, known, duration=120 * ms, target=k)
        ok += bool(res.quality.success)
        assert res.attrs["n_spikes"] > 0
        # the target's cells become the most active and their share of spikes grows
        units, times = res.spikes[0], res.spikes[1]
        early, late = units[times <= 0.02], units[times > 0.1]
        assert np.argmax(np.bincount(late, minlength=16)) == k
        assert np.mean(late == k) > np.mean(early == k) + 0.2
    assert ok == 4


@pytest.mark.parametrize("call,err,match", [
    (lambda xi: hd.CA3Circuit(xi, interneuron_tau=0.05 * ms), ValueError, "interneuron_tau"),
    (lambda xi: hd.CA3Circuit(xi, max_rate=20 * ms), TypeError, "rate"),
    (lambda xi: hd.CA3Circuit(xi, max_rate=-1 * Hz), ValueError, "max_rate"),
    (lambda xi: hd.CA3Circuit(xi, memory_lagrangian="tanh"), TypeError, "memory_lagrangian"),
    (lambda xi: hd.CA3Circuit(xi, n_interneurons=0), ValueError, "n_interneurons"),
    (lambda xi: hd.ECCA1Loop(xi, relay_tau=2.0), TypeError, "relay_tau"),
    (lambda xi: hd.ECCA1Loop(xi, direct_fraction=1.5), ValueError, "direct_fraction"),
    (lambda xi: hd.ECCA1Loop(xi, relay_weights=np.ones((3, 3))), ValueError, "relay_weights"),
    (lambda xi: hd.ECCA1Loop(xi, relay_weights=np.full(xi.T.shape, np.nan)), ValueError, "NaN"),
    (lambda xi: hd.SpikingCA3(xi, copies=0), ValueError, "copies"),
    (lambda xi: hd.SpikingCA3(xi, max_rate=9000 * Hz), ValueError, "max_rate"),
])
def test_bad_circuit_input_is_an_error(small, call, err, match):
    xi, _ = small
    with pytest.raises(err, match=match):
        call(xi)


MODELS = __import__("pathlib").Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("name,cls,regions", [("ca3", hd.CA3Circuit, {"CA3"}),
                                               ("ec_ca1", hd.ECCA1Loop, {"EC-III", "CA1", "EC-V"}),
                                               ("ca3_spiking", hd.SpikingCA3, {"CA3"})])
def test_circuit_model_files_load_and_run_from_the_cli(name, cls, regions, tmp_path, capsys):
    from hippo_dam.cli import main

    mf = hd.load_model(MODELS / f"{name}.toml")
    assert isinstance(mf.network, cls) and mf.patterns.shape == (32, 200)
    code = main(["run", str(MODELS / f"{name}.toml"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "retrieved index  0" in out and "regions" in out
    import xarray as xr

    ds = xr.open_dataset(tmp_path / f"{name}.nc")
    found = set(ds.feature_region.values) | set(ds.memory_region.values)
    found |= {str(v) for k in ds.coords if k.endswith("_region") for v in ds[k].values}
    assert found == regions
    assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


CIRCUIT_BASE = """
[features]
n = 32
lagrangian = "tanh"
tau = "20 ms"
[memories]
lagrangian = { name = "log_sum_exp", beta = 0.2 }
tau = "20 ms"
[patterns]
count = 4
"""


@pytest.mark.parametrize("table,match", [
    ('[circuit]\nkind = "ca4"\n', r"\[circuit\] kind 'ca4' is not a circuit \(did you mean 'ca3'\?\)"),
    ('[circuit]\nkind = "ca3"\nrelay_tau = "1 ms"\n', r"\['relay_tau'\] do not apply to kind 'ca3'"),
    ('[circuit]\nkind = "ca3"\nmax_rate = "20 ms"\n', "max_rate: expected a rate"),
    ('[circuit]\nkind = "ec_ca1"\nrelay_tau = "fast"\n', "relay_tau"),
    ('[circuit]\nkind = "ca3"\ninterneurons = 3\n', r"unknown key\(s\) \['interneurons'\] in \[circuit\]"),
])
def test_bad_circuit_tables_are_errors(tmp_path, table, match):
    path = tmp_path / "c.toml"
    path.write_text(CIRCUIT_BASE + table)
    with pytest.raises(ValueError, match=match):
        hd.load_model(path)


def test_ca3_file_needs_softmax_memories(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CIRCUIT_BASE.replace('{ name = "log_sum_exp", beta = 0.2 }', '"tanh"')
                    + '[circuit]\nkind = "ca3"\n')
    with pytest.raises(ValueError, match="must be log_sum_exp"):
        hd.load_model(path)


def test_spiking_circuit_file_loads(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(CIRCUIT_BASE + '[circuit]\nkind = "ca3_spiking"\nmax_rate = "40 Hz"\ncopies = 2\n'
                    'tau_syn = "5 ms"\nseed = 3\n')
    mf = hd.load_model(path)
    assert isinstance(mf.network, hd.SpikingCA3) and mf.network.copies == 2
    assert mf.network.max_rate == 40 * Hz


@pytest.mark.slow
@pytest.mark.parametrize("make", [lambda xi: hd.CA3Circuit(xi), lambda xi: hd.ECCA1Loop(xi, relay_tau=1 * ms)],
                         ids=["CA3-fast", "EC-CA1-1ms"])
def test_circuits_retrieve_100_cues_and_energy_never_rises(make):
    """The sizes of figures/ca3.json and ec_ca1.json: N_f = 200, K = 32, 100 cues with 30% flipped."""
    from hippo_dam.data.patterns import _flip_cues as _cues
    from hippo_dam.figures._common import _recall_stats

    xi = hd.random_patterns(32, 200, seed=0)
    stats = _recall_stats(make(xi), _cues(xi, 100, 0.3, 1), 150 * ms)
    assert stats["success_rate"] >= 0.95, stats
    assert stats["max_relative_energy_rise"] <= 1e-9, stats


@pytest.mark.slow
def test_spiking_reaches_95_percent_of_rate_success():
    from hippo_dam.data.patterns import _flip_cues as _cues

    xi = hd.random_patterns(32, 200, seed=0)
    cues = _cues(xi, 100, 0.35, 1)
    rate = hd.CA3Circuit(xi, record_every=None)
    spk = hd.SpikingCA3(xi, max_rate=100 * Hz, copies=128, seed=2000, record_every=None)
    ok = {name: np.mean([net.recall(c, k, duration=150 * ms, target=t).quality.success for t, c, k in cues])
          for name, net in (("rate", rate), ("spiking", spk))}
    assert ok["spiking"] >= 0.95 * ok["rate"], ok


@pytest.mark.parametrize("make", [
    lambda xi: hd.CA3Circuit(xi, beta=0.5, tau_h=10 * ms, dt=DT, record_every=DT),
    lambda xi: hd.CA3Circuit(xi, beta=0.5, tau_h=10 * ms, interneuron_tau=2 * ms, n_interneurons=3, dt=DT,
                             record_every=DT),
    lambda xi: hd.ECCA1Loop(xi, relay_tau=2 * ms, relay_gain=1.2, dt=DT, record_every=DT),
    lambda xi: hd.ECCA1Loop(xi, relay_tau=0 * ms, dt=DT, record_every=DT),
], ids=["CA3-fast", "CA3-interneurons", "EC-CA1-slow-relay", "EC-CA1-instant"])
def test_circuits_run_batched_like_the_two_layer_model(small, make):
    """A batch of 3 cues in one run equals 3 separate runs (states, energy, extra populations) to 1e-12."""
    xi, _ = small
    rng = np.random.default_rng(8)
    cues = rng.normal(size=(3, NF))
    net = make(xi)
    batch = net.recall(cues, duration=100 * DT, cue_input=0.3, target=np.arange(3))
    assert batch.batched and batch.v.shape[0] == 3
    for k in range(3):
        one = net.recall(cues[k], duration=100 * DT, cue_input=0.3, target=k)
        np.testing.assert_allclose(batch.v[k], one.v, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch.h[k], one.h, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch.energy[k], one.energy, rtol=1e-12, atol=1e-12)
        for name, pop in one.extra.items():
            np.testing.assert_allclose(batch.extra[name]["trace"][k], pop["trace"], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(batch[k].extra[name]["final"], pop["final"], rtol=1e-12, atol=1e-14)


def test_spiking_ca3_runs_batched(small):
    xi, _ = small
    net = hd.SpikingCA3(xi, beta=0.5, max_rate=100 * Hz, copies=4, dt=DT, record_every=None, seed=1)
    cues = np.stack([xi[0], xi[3]]) + 0.1
    res = net.recall(cues, duration=60 * ms, cue_input=0.3, target=np.array([0, 3]))
    unit, t, cell, cue = res.spikes
    assert res.batched and len(unit) == res.attrs["n_spikes"] > 0
    assert set(np.unique(cue)) <= {0, 1} and unit.max() < NH and cell.max() < 2 * NH * 4
    assert res.quality.success.all()


def test_spiking_curve_measures_the_lif_circuit_against_the_rate_circuit():
    """hippo_dam.experiments.spiking (moved from circuits/, issue 18): one row per copies x rate, on the same cues."""
    out = hd.spiking_curve(n_features=20, n_patterns=4, n_cues=2, copies=(4, 8), rates=(20,), duration=20 * ms)
    rows = out["results"]["curve"]
    assert [(r["copies"], r["rate_Hz"]) for r in rows] == [(4, 20.0), (8, 20.0)]
    assert all(0.0 <= r["success"] <= 1.0 for r in rows)


def test_circuits_on_a_kept_cpp_project_equal_the_runtime_run(tmp_path):
    """CA3 with lagging interneurons, the EC-CA1 loop and Poisson-spiking CA3 as C++ standalone projects (the model
    files' target): the interneurons start from the cue's h0 there too; recall k of the spiking circuit is seeded
    with seed + k (baked into the binary: the same spikes as the runtime run); LIF CA3 refuses, naming why."""
    patterns = hd.random_patterns(8, 40, seed=3)
    cue, known = hd.flip_cue(patterns[1], 0.2, seed=4)
    h0 = np.linspace(-1, 1, 8)
    for make in (lambda target: hd.CA3Circuit(patterns, interneuron_tau=2 * ms, codegen_target=target,
                                              standalone_dir=str(tmp_path / "sa")),
                 lambda target: hd.ECCA1Loop(patterns, codegen_target=target, standalone_dir=str(tmp_path / "sa"))):
        runtime = make("cython").recall(cue, known, duration=20 * ms, h0=h0)
        standalone = make("cpp_standalone")
        for _ in range(2):  # the second recall reuses the binary with new run arguments
            got = standalone.recall(cue, known, duration=20 * ms, h0=h0)
            np.testing.assert_allclose(got.v_final, runtime.v_final, atol=1e-10)
            np.testing.assert_allclose(got.energy, runtime.energy, atol=1e-9)
    runtime = hd.SpikingCA3(patterns, copies=2, seed=5)
    standalone = hd.SpikingCA3(patterns, copies=2, seed=5, codegen_target="cpp_standalone",
                               standalone_dir=str(tmp_path / "spk"))
    for _ in range(2):  # seed 5, then 6
        a, b = runtime.recall(cue, known, duration=20 * ms), standalone.recall(cue, known, duration=20 * ms)
        np.testing.assert_array_equal(a.spikes[2], b.spikes[2])
        np.testing.assert_allclose(b.v_final, a.v_final, atol=1e-10)
    with pytest.raises(ValueError, match="runs on 'cython' or 'numpy', not 'cpp_standalone': .*start at potentials"):
        hd.LIFSpikingCA3(patterns, codegen_target="cpp_standalone")
