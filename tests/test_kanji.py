"""The shipped kanji and digits, partial cues, the nearest-neighbour limit and kanji completion."""
import hashlib
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

import hippo_dam as hd


@pytest.fixture(scope="module")
def kanji():
    return hd.load_kanji(return_info=True)


def test_load_kanji_is_the_joyo_set(kanji):
    patterns, chars, info = kanji
    assert patterns.shape == (2136, 4096) and info["shape"] == (64, 64)
    assert set(np.unique(patterns)) == {-1.0, 1.0}
    assert len(chars) == len(set(chars)) == 2136
    # CJK Unified Ideographs, plus U+20B9F (the 2010 Joyo character for 'scold', in extension B)
    assert all(len(c) == 1 and (0x4E00 <= ord(c) <= 0x9FFF or c == "\U00020B9F") for c in chars)
    # grades 1-6 are the 1,026 kyouiku kanji, grade 8 the other 1,110 Joyo kanji
    assert np.sum(info["grades"] <= 6) == 1026 and np.sum(info["grades"] == 8) == 1110
    for c in "一土士未末語鬱":
        assert c in chars
    meta = info["metadata"]
    assert "Noto Sans CJK JP" in meta["font"]["name"] and "Open Font" in meta["font"]["licence"]
    assert meta["kanji_list"]["source"].startswith("KANJIDIC2")


def test_kanji_glyphs_look_like_characters(kanji):
    patterns, chars, _ = kanji
    ink = (patterns > 0).mean(axis=1)
    assert np.all(ink > 0.03) and np.all(ink < 0.5)  # no blank or inverted glyph
    one = patterns[chars.index("一")].reshape(64, 64) > 0
    rows = np.flatnonzero(one.any(axis=1))
    assert rows.size < 8 and 24 <= rows.mean() <= 40  # a single horizontal stroke near the middle
    i, j = chars.index("土"), chars.index("士")
    assert patterns[i] @ patterns[j] / 4096 > 0.8 and not np.array_equal(patterns[i], patterns[j])


def test_kanji_file_matches_its_metadata():
    meta = json.loads(files("hippo_dam").joinpath("data", "kanji64.json").read_text(encoding="utf-8"))
    blob = files("hippo_dam").joinpath("data", meta["file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == meta["sha256"]
    assert len(blob) < 400_000


def test_load_kanji_subset_and_errors():
    p, c = hd.load_kanji(10)
    full, cf = hd.load_kanji()
    np.testing.assert_array_equal(p, full[:10])
    assert c == cf[:10]
    for bad in (0, 2137, -1):
        with pytest.raises(ValueError, match="n must lie"):
            hd.load_kanji(bad)
    with pytest.raises(TypeError):
        hd.load_kanji(2.5)


def test_loading_needs_no_network_and_no_font_library():
    code = (
        "import sys, socket\n"
        "sys.modules['PIL'] = None; sys.modules['fontTools'] = None\n"
        "def _no_net(*a, **k): raise RuntimeError('network used')\n"
        "socket.socket.connect = _no_net; socket.create_connection = _no_net; socket.getaddrinfo = _no_net\n"
        "import hippo_dam as hd\n"
        "p, c = hd.load_kanji(); d, l = hd.load_digits_patterns()\n"
        "print(p.shape, len(c), d.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "(2136, 4096) 2136 (1797, 64)" in out.stdout


def test_load_kanji_jis0208_is_levels_1_and_2():
    patterns, chars, info = hd.load_kanji("jis0208", return_info=True)
    assert patterns.shape == (6355, 4096) and info["shape"] == (64, 64) and info["set"] == "jis0208"
    assert len(chars) == len(set(chars)) == 6355
    assert np.sum(info["jis_level"] == 1) == 2965 and np.sum(info["jis_level"] == 2) == 3390
    rows = info["jis_code"] // 100
    assert rows.min() == 16 and rows.max() == 84 and np.all(np.diff(info["jis_code"]) > 0)  # JIS order
    assert np.all(rows[info["jis_level"] == 1] <= 47) and np.all(rows[info["jis_level"] == 2] >= 48)
    assert chars[0] == "亜" and info["jis_code"][0] == 1601  # 16-01, the first level-1 kanji
    # every distinct character renders to a distinct, non-blank glyph
    assert len(np.unique(patterns, axis=0)) == 6355
    ink = (patterns > 0).mean(axis=1)
    assert np.all(ink > 0.01) and np.all(ink < 0.6)
    # the Joyo glyphs are the same bitmaps in both sets (same font and rendering)
    joyo, jchars = hd.load_kanji("joyo")
    index = {c: k for k, c in enumerate(chars)}
    common = [c for c in jchars if c in index]
    assert len(common) > 2100
    np.testing.assert_array_equal(joyo[[jchars.index(c) for c in common]], patterns[[index[c] for c in common]])
    meta = info["metadata"]
    assert meta["counts"] == {"level_1": 2965, "level_2": 3390} and meta["n_characters"] == 6355
    blob = files("hippo_dam").joinpath("data", meta["file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == meta["sha256"] and len(blob) < 1_200_000
    p10, c10 = hd.load_kanji("jis0208", 10)
    np.testing.assert_array_equal(p10, patterns[:10])
    with pytest.raises(ValueError, match="unknown kanji set"):
        hd.load_kanji("kyouiku")
    with pytest.raises(ValueError, match="6355"):
        hd.load_kanji("jis0208", 6356)


def test_load_digits_patterns():
    d, labels = hd.load_digits_patterns()
    assert d.shape == (1797, 64) and labels.shape == (1797,)
    assert set(np.unique(d)) == {-1.0, 1.0} and set(labels) == set(range(10))
    assert 0.2 < (d > 0).mean() < 0.5
    with pytest.raises(ValueError, match="threshold"):
        hd.load_digits_patterns(threshold=0)


@pytest.mark.parametrize("region, n_known", [("top", 2048), ("bottom", 2048), ("left", 2048), ("right", 2048),
                                             ("centre", 1024), ("random", 2048)])
def test_partial_cue_regions(kanji, region, n_known):
    patterns = kanji[0][:5]
    cue, known = hd.partial_cue(patterns, region, seed=1)
    assert cue.shape == patterns.shape
    assert known.shape == ((5, 4096) if region == "random" else (4096,))
    kb = np.broadcast_to(known, cue.shape)
    assert np.all(kb.sum(axis=-1) == n_known)
    np.testing.assert_array_equal(cue[kb], patterns[kb])
    assert np.all(cue[~kb] == 0)  # unknown pixels are 0, not background


def test_partial_cue_geometry_and_noise():
    img = np.ones((4, 6))
    _, known = hd.partial_cue(img.ravel(), "top", shape=(4, 6))
    np.testing.assert_array_equal(known.reshape(4, 6)[:2], True)
    np.testing.assert_array_equal(known.reshape(4, 6)[2:], False)
    _, known = hd.partial_cue(img.ravel(), "centre", shape=(4, 6))
    np.testing.assert_array_equal(np.argwhere(known.reshape(4, 6))[[0, -1]], [[1, 1], [2, 3]])
    pats = hd.random_patterns(7, 64, seed=0)
    cue, known = hd.partial_cue(pats, "left", shape=(8, 8), noise=0.25, seed=2)
    flipped = (cue != pats) & known
    assert np.all(flipped.sum(axis=1) == 8)  # 25% of 32 visible pixels, per pattern
    assert np.all(cue[:, ~known] == 0)
    again, _ = hd.partial_cue(pats, "left", shape=(8, 8), noise=0.25, seed=2)
    np.testing.assert_array_equal(cue, again)


def test_partial_cue_errors():
    pats = hd.random_patterns(2, 64, seed=0)
    with pytest.raises(ValueError, match="image shape"):
        hd.partial_cue(pats, "top", shape=(4, 4))
    with pytest.raises(ValueError, match="unknown visible region"):
        hd.partial_cue(pats, "middle", shape=(8, 8))
    with pytest.raises(ValueError, match="fraction"):
        hd.partial_cue(pats, "top", shape=(8, 8), fraction=0)
    with pytest.raises(ValueError, match="noise"):
        hd.partial_cue(pats, "top", shape=(8, 8), noise=1.5)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        hd.partial_cue(pats * 0.5, "top", shape=(8, 8))


def test_nearest_neighbour_limit_counts_ties_as_failures():
    p = np.array([[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, 1], [-1, -1, 1, -1]], dtype=float)
    known = np.array([True, True, False, False])
    nn = hd.nearest_neighbour_limit(p, known)
    # patterns 0 and 1 share their visible half: both unresolvable
    assert nn["fraction"] == 0.5 and nn["n_ties"] == 2 and (0, 1) in nn["ties"]
    np.testing.assert_array_equal(nn["min_distance"], [0, 0, 1, 1])


def test_nearest_neighbour_limit_of_noisy_cues_and_subsets():
    p = np.array([[1, 1, 1, 1], [1, 1, -1, -1], [-1, -1, -1, -1]], dtype=float)
    known = np.ones(4, bool)
    # cue of pattern 0 with two flips: as close to pattern 1 (tie, unresolvable); one flip: resolvable
    cue = np.array([[1, 1, -1, -1], [1, 1, 1, -1]], dtype=float)
    nn = hd.nearest_neighbour_limit(p, known, cue=cue, targets=[0, 0])
    np.testing.assert_array_equal(nn["own_distance"], [2, 1])
    np.testing.assert_array_equal(nn["min_distance"], [0, 1])
    assert nn["fraction"] == 0.0 and nn["n_ties"] == 2 and nn["ties"][0] == (0, 1)
    clean = hd.nearest_neighbour_limit(p, known, targets=[2])
    assert clean["fraction"] == 1.0 and clean["min_distance"].tolist() == [2]
    with pytest.raises(ValueError, match="0 on unknown"):
        hd.nearest_neighbour_limit(p, np.array([True, True, False, False]), cue=cue, targets=[0, 0])


def test_nearest_neighbour_limit_matches_brute_force(kanji):
    patterns = kanji[0][:300]
    cue, known = hd.partial_cue(patterns, "random", fraction=0.1, seed=3)
    nn = hd.nearest_neighbour_limit(patterns, known)
    for mu in range(0, 300, 37):
        d = np.sum((patterns != patterns[mu]) & known[mu], axis=1)
        d[mu] = 10**9
        assert nn["min_distance"][mu] == d.min()


def test_kanji_completion_softmax_completes_and_classical_fails():
    good = hd.kanji_completion(40, "B, beta=0.1", backend="reference")
    bad = hd.kanji_completion(40, "classical (A, n=2)", backend="reference")
    assert good["nn_limit"] == 1.0 and good["success"] == 1.0 and good["pixel_error"] == 0
    assert bad["success"] < 0.5 and bad["mean_glyph_overlap"] > 0.9  # falls to the mean glyph


def test_kanji_completion_brian2_matches_reference():
    cues = [0, 7, 19]
    for model in ("A, n=20", "B, beta=0.1"):
        ref = hd.kanji_completion(20, model, backend="reference", cues=cues)
        b2 = hd.kanji_completion(20, model, backend="brian2", cues=cues)
        np.testing.assert_array_equal(np.sign(ref["v_final"]), np.sign(b2["v_final"]))
        assert b2["success"] == 1.0


def test_kanji_energy_never_rises():
    patterns, _ = hd.load_kanji(30)
    cue, known = hd.partial_cue(patterns[12], "top")
    feat, mem = hd.kanji_model("B, beta=0.1")
    net = hd.DenseAssociativeMemory(patterns, feat, mem, tau_f=20 * ms, tau_h=2 * ms, dt=0.1 * ms,
                                    record_every=None)
    res = net.recall(cue, known, duration=30 * ms, target=12)
    assert res.quality.success
    assert np.all(np.diff(res.energy) <= 1e-9 * np.abs(res.energy).max())


def test_kanji_completion_errors():
    with pytest.raises(ValueError, match="unknown kanji model"):
        hd.kanji_completion(10, "Z")
    with pytest.raises(ValueError, match="backend"):
        hd.kanji_completion(10, backend="gpu")
    with pytest.raises(ValueError, match="cues"):
        hd.kanji_completion(10, cues=[10])


def test_kanji_figure_writes_png_and_numbers(tmp_path):
    from hippo_dam.figures import figure_function

    models = ("classical (A, n=2)", "B, beta=0.1")
    path = figure_function("kanji")(tmp_path, ks=(10, 30), models=models, shown="一二三")
    data = json.loads(path.with_suffix(".json").read_text())
    assert path.exists() and path.stat().st_size > 10_000
    assert [(r["model"], r["n_patterns"]) for r in data["results"]] == [(m, k) for m in models for k in (10, 30)]
    best = [r for r in data["results"] if r["model"] == "B, beta=0.1"]
    assert all(r["success"] == 1.0 for r in best) and data["shown"] == list("一二三")
    (tmp_path / "again").mkdir()
    again = figure_function("kanji")(tmp_path / "again", ks=(10, 30), models=models, shown="一二三",
                             reuse=path.with_suffix(".json"))
    assert json.loads(again.with_suffix(".json").read_text())["results"] == data["results"]


def test_bench_kanji_quick(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_kanji.py"
    proc = subprocess.run([sys.executable, str(script), "--k", "12", "--n-cues", "3", "--out", str(tmp_path),
                           "--tag", "_t"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads((tmp_path / "results_kanji_t.json").read_text())
    assert [r["backend"] for r in info["rows"]] == ["brian2 batched", "reference"]
    assert all(r["n_cues"] == 3 and r["success"] == 1.0 and r["wall_s"] > 0 for r in info["rows"])
    assert (tmp_path / "results_kanji_t.md").read_text().startswith("# Kanji completion benchmark")
