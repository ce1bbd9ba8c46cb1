"""The kanji hierarchy (pixels, parts, characters): grouped softmax, dictionary rule, network, energy, Brian2."""
import json
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd
from hippo_dam.experiments.kanji_hierarchy import CUE_CONDITIONS

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"n_atoms": 8}


@pytest.fixture(scope="module")
def small():
    """32 kanji, 8 atoms per position: 512 part neurons."""
    patterns, _ = hd.load_kanji("joyo", 32)
    return hd.KanjiHierarchy(patterns, SMALL)


# -- the grouped softmax ----------------------------------------------------------------------------------
@pytest.mark.parametrize("beta, size", [(0.5, 1), (2.0, 3), (0.2, 8)])
def test_grouped_log_sum_exp_is_a_sum_of_softmaxes(beta, size):
    lag = hd.grouped_log_sum_exp(beta, size)
    lag.check_gradient()
    lag.check_convex()
    x = np.random.default_rng(1).normal(scale=3, size=(4, 5 * size))
    one = hd.log_sum_exp(beta)
    groups = [slice(k * size, (k + 1) * size) for k in range(5)]
    assert np.allclose(lag.value(x), sum(one.value(x[:, g]) for g in groups), atol=1e-12)
    act = lag.activation(x)
    for g in groups:
        assert np.allclose(act[:, g], one.activation(x[:, g]), atol=1e-14)
    assert np.allclose(act.reshape(4, 5, size).sum(-1), 1.0)
    assert np.all(np.isfinite(lag.activation(1e4 * x)))  # overflow-safe
    assert hd.make_lagrangian({"name": "grouped_log_sum_exp", "beta": beta, "size": size}).to_dict() == \
        {"name": "grouped_log_sum_exp", "beta": beta, "size": size}


def test_grouped_log_sum_exp_refuses_bad_input():
    with pytest.raises(ValueError, match="size"):
        hd.grouped_log_sum_exp(1.0, 0)
    with pytest.raises(ValueError, match="size"):
        hd.grouped_log_sum_exp(1.0, 2.5)
    with pytest.raises(ValueError, match="beta"):
        hd.grouped_log_sum_exp(-1.0, 2)
    lag = hd.grouped_log_sum_exp(1.0, 4)
    with pytest.raises(ValueError, match="groups of 4"):
        lag.activation(np.zeros(6))
    with pytest.raises(ValueError, match="groups of 4"):
        hd.HierarchicalAssociativeMemory([hd.Layer(5, "identity", 20 * ms), hd.Layer(6, lag, 2 * ms)],
                                         [np.ones((6, 5))])


def test_grouped_softmax_on_brian2_equals_reference():
    rng = np.random.default_rng(0)
    lags = ["identity", {"name": "grouped_log_sum_exp", "beta": 1.5, "size": 4}, {"name": "log_sum_exp", "beta": 1.0}]
    layers = [hd.Layer(n, lag, tau * ms, name) for n, lag, tau, name in
              zip((12, 8, 5), lags, (20, 2, 3), ("pixels", "parts", "chars"))]
    W = [rng.normal(size=(8, 12)), rng.normal(size=(5, 8))]
    net = hd.HierarchicalAssociativeMemory(layers, W, dt=0.1 * ms, record_every=0.1 * ms)
    cue = rng.normal(size=(3, 12))
    res = net.recall(cue, duration=5 * ms, layer="pixels")
    lag_objs = [la.lagrangian for la in net.layers]
    ref = hd.graph_reference(lag_objs, [la.tau for la in net.layers], net.links,
                             [cue, np.zeros((3, 8)), np.zeros((3, 5))], 0.1 * ms, 50)
    for k, name in enumerate(("pixels", "parts", "chars")):
        assert np.allclose(res.extra[name]["final"], ref[k][-1], atol=1e-9)
    energy = hd.graph_energy(lag_objs, net.links, [x[:-1] for x in ref])  # the monitor: before each step
    assert np.allclose(res.energy, energy.T, atol=1e-9)
    assert np.max(np.diff(res.energy, axis=1)) <= 1e-9 * np.max(np.abs(res.energy))


# -- the dictionary rule ----------------------------------------------------------------------------------
def test_dictionary_rule(small):
    d = small.dictionary
    atoms, positions = d["atoms"], d["positions"]
    assert atoms.shape == (64, 8, 64) and positions.shape == (64, 64)
    assert np.array_equal(np.sort(positions.ravel()), np.arange(4096))
    assert positions[0].tolist() == [r * 64 + c for r in range(8) for c in range(8)]  # pixel (r, c) is 64 r + c
    for p in range(64):
        nonzero = np.any(atoms[p] != 0, axis=1)
        assert np.all(np.isin(atoms[p][nonzero], (-1.0, 1.0)))
        assert nonzero.sum() == min(8, d["n_distinct"][p])  # zero atoms only pad a position with few patches
    # the code is the atom of largest overlap at each position
    patches = small.patterns[:, positions]
    overlaps = np.einsum("kpi,pdi->kpd", patches, atoms)
    assert np.array_equal(np.take_along_axis(overlaps, small.code[..., None], -1)[..., 0], overlaps.max(-1))
    # k-majority fixed point: every used atom is the sign of the sum of its patches (ties to -1)
    big = hd.learn_part_dictionary(small.patterns, n_atoms=8, iterations=100, seed=0)
    for p in range(64):
        if big["n_distinct"][p] <= 8:
            continue
        X = small.patterns[:, big["positions"][p]]
        label = np.argmax(X @ big["atoms"][p].T, axis=1)
        for a in np.unique(label):
            assert np.array_equal(big["atoms"][p][a], np.where(X[label == a].sum(0) > 0, 1.0, -1.0))
    again = hd.learn_part_dictionary(small.patterns, n_atoms=8, seed=0)
    assert np.array_equal(again["atoms"], atoms)  # seeded


def test_dictionary_refuses_bad_input():
    with pytest.raises(ValueError, match="square"):
        hd.learn_part_dictionary(np.ones((3, 10)))
    with pytest.raises(ValueError, match="divide"):
        hd.learn_part_dictionary(np.ones((3, 64)), patch=3)
    with pytest.raises(ValueError, match="unknown hierarchy setting"):
        hd.KanjiHierarchy(np.ones((3, 64)), {"n_atom": 3})
    with pytest.raises(ValueError, match="beta_parts"):
        hd.KanjiHierarchy(np.ones((3, 64)), {"beta_parts": 0.0, "patch": 4})


# -- the network -------------------------------------------------------------------------------------------
def test_shapes_and_synapse_counts(small):
    n, n_parts, k = small.sizes
    assert (n, n_parts, k) == (4096, 64 * 8, 32)
    assert small.W_parts.shape == (n_parts, n) and small.W_chars.shape == (k, n_parts)
    nonzero_atoms = int(np.sum(np.any(small.dictionary["atoms"] != 0, axis=2)))
    assert small.n_synapses["pixels-parts"] == 64 * nonzero_atoms  # each part touches its 8x8 patch only
    assert np.all(np.diff(small.W_chars.indptr) == 64)  # one part per position for every character
    assert small.n_synapses["total"] == small.W_parts.nnz + small.W_chars.nnz
    dense = small.W_parts.toarray()
    for part in range(0, n_parts, 37):  # a part's pixels are its patch
        p = part // 8
        assert set(np.flatnonzero(dense[part])) <= set(small.dictionary["positions"][p])
    # the code's reconstruction is what the parts draw
    recon = small.reconstruction()
    assert recon.shape == (k, n) and np.mean(recon != small.patterns) < 0.1


def test_sparse_reference_equals_graph_reference(small):
    cue, _ = hd.partial_cue(small.patterns[:3], "top")
    ours = small.run(cue, duration=6 * ms, record=True)
    links = [(0, 1, small.W_parts.toarray()), (1, 2, small.W_chars.toarray())]
    ref = hd.graph_reference(small.lagrangians, small.taus, links, small.initial_states(cue), 1 * ms, 6)
    for a, b in zip(ours, ref):
        assert np.allclose(a, b, atol=1e-10)
    E = small.energy([x[-1] for x in ours])
    assert np.allclose(E, hd.graph_energy(small.lagrangians, links, [x[-1] for x in ours]), atol=1e-8)


@pytest.mark.parametrize("condition", list(CUE_CONDITIONS))
def test_energy_never_rises(small, condition):
    visible, fraction, noise = CUE_CONDITIONS[condition]
    cue, _ = hd.partial_cue(small.patterns[::4], visible, (64, 64), fraction, noise, seed=0)
    states = small.run(cue, record=True)  # the evaluation's own step, dt = 1 ms
    E = small.energy(states)  # (n_steps + 1, B)
    assert np.max(np.diff(E, axis=0)) <= 1e-9 * np.max(np.abs(E))
    assert np.all(E[-1] < E[1])


def test_brian2_equals_numpy_reference(small):
    cue, known = hd.partial_cue(small.patterns[[0, 5, 9]], "top", (64, 64), 1.0, 0.15, seed=0)
    net = small.network(record_every=1 * ms)
    res = net.recall(cue, duration=10 * ms, layer="pixels")
    ref = small.run(cue, duration=10 * ms, record=True)
    for k, name in enumerate(("pixels", "parts", "characters")):
        assert np.allclose(res.extra[name]["final"], ref[k][-1], atol=1e-6)
    assert np.allclose(res.energy, small.energy([x[:-1] for x in ref]).T, atol=1e-6)


def test_completion_beats_chance(small):
    r = hd.kanji_hierarchy_completion(hierarchy=small, cues=np.arange(0, 32, 2))
    assert r["identified"] > 0.8 and r["retrieved_correct"] > 0.8  # chance: 1/32
    assert r["hidden_pixel_error"] < 0.25  # blank half: about 0.3 of the hidden pixels are ink
    two = hd.two_layer_completion(small.patterns, cues=np.arange(0, 32, 2))
    assert two["identified"] == 1.0 and two["n_synapses"] == 32 * 4096
    cut = hd.two_layer_completion(small.patterns, cues=np.arange(0, 32, 2), pixels=np.arange(0, 4096, 8))
    assert cut["n_synapses"] == 32 * 512 and cut["n_pixels"] == 512
    few = hd.two_layer_completion(small.patterns, cues=np.arange(0, 32, 2), n_memories=4)
    assert few["identified"] <= 4 / 16 + 1e-12  # the cues of unstored glyphs cannot be identified


# -- the recorded result, the figure ------------------------------------------------------------------------
def test_recorded_result_covers_all_glyphs():
    rec = json.loads((ROOT / "benchmarks" / "results_kanji_hierarchy.json").read_text())
    assert {r["n_cues"] for r in rec["rows"]} == {2136}
    assert {r["condition"] for r in rec["rows"]} == set(CUE_CONDITIONS)
    budget = rec["budget"]
    assert budget["fewer_pixels_synapses"] <= budget["hierarchy_synapses"]
    assert budget["fewer_memories_synapses"] <= budget["hierarchy_synapses"]
    fig = json.loads((ROOT / "figures" / "kanji_hierarchy.json").read_text())  # full size, Brian2 examples
    assert not fig["reduced"] and fig["n_patterns"] == 2136
    assert fig["examples"]["max_abs_brian2_minus_numpy"] < 1e-6
    assert fig["examples"]["max_relative_energy_rise"] <= 1e-9


@pytest.mark.slow
def test_energy_never_rises_at_full_size():
    hier = hd.KanjiHierarchy(hd.load_kanji()[0])
    for visible, fraction, noise in CUE_CONDITIONS.values():
        cue, _ = hd.partial_cue(hier.patterns[::67], visible, (64, 64), fraction, noise, seed=0)
        E = hier.energy(hier.run(cue, record=True))
        assert np.max(np.diff(E, axis=0)) <= 1e-9 * np.max(np.abs(E))


def test_figure_reduced(tmp_path, monkeypatch):
    from hippo_dam.figures import figure_function

    monkeypatch.setenv("CI", "true")
    path = figure_function("kanji_hierarchy")(tmp_path)
    assert path.name == "kanji_hierarchy_reduced.png" and path.read_bytes()[:4] == b"\x89PNG"
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["reduced"] and info["examples"]["max_abs_brian2_minus_numpy"] < 1e-6
    assert info["examples"]["max_relative_energy_rise"] <= 1e-9


# -- the model file ---------------------------------------------------------------------------------------------
def _small_model_file(tmp_path, extra=""):
    text = (ROOT / "models" / "kanji_hierarchy.toml").read_text()
    text = text.replace("count = 2136", "count = 32").replace("atoms = 64 ", "atoms = 8 ")
    text = text.replace('character = "語"', 'character = "円"').replace('duration = "50 ms"', 'duration = "20 ms"')
    path = tmp_path / "kh.toml"
    path.write_text(text + extra)
    return path


def test_model_file_loads_and_runs_from_the_cli(tmp_path, capsys):
    from hippo_dam.cli import main

    path = _small_model_file(tmp_path)
    mf = hd.load_model(path)
    assert mf.hierarchy.sizes == (4096, 512, 32) and mf.hierarchy.settings["w_chars"] == 20.0
    assert mf.characters[mf.target] == "円" and np.sum(mf.cue == 0) == 2048
    assert main(["run", str(path), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "identified       円" in out and "synapses" in out
    assert (tmp_path / "kanji_hierarchy.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "kanji_hierarchy.nc").stat().st_size > 0


@pytest.mark.parametrize("extra, match", [("\n[parts2]\nx = 1\n", "unknown table"),
                                          ('\n[extra]\n', "unknown table")])
def test_model_file_refuses_unknown_tables(tmp_path, extra, match):
    with pytest.raises(ValueError, match=match):
        hd.load_model(_small_model_file(tmp_path, extra))


def test_model_file_refuses_bad_keys(tmp_path):
    path = _small_model_file(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("iterations = 20", "iteration = 20"))
    with pytest.raises(ValueError, match="unknown key"):
        hd.load_model(path)
    path.write_text(text.replace('character = "円"', 'character = "X"'))
    with pytest.raises(ValueError, match="not among"):
        hd.load_model(path)
    path.write_text(text.replace('kind = "kanji"', 'kind = "digits"'))
    with pytest.raises(ValueError, match="kind must be 'kanji'"):
        hd.load_model(path)
    path.write_text(text.replace('tau = "2 ms"', 'tau = "2"', 1))
    with pytest.raises(ValueError, match="tau"):
        hd.load_model(path)
