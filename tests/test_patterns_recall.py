"""Pattern sets, cues and recall-quality measures."""
import numpy as np
import pytest

import hippo_dam as hd


def test_random_patterns_are_seeded_and_balanced():
    a, b = hd.random_patterns(50, 400, seed=3), hd.random_patterns(50, 400, seed=3)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {-1.0, 1.0}
    assert abs(a.mean()) < 0.02
    off = (a @ a.T / 400)[~np.eye(50, dtype=bool)]
    assert abs(off.mean()) < 0.01 and off.std() == pytest.approx(1 / np.sqrt(400), rel=0.1)


def test_correlated_patterns_have_requested_overlap():
    p = hd.correlated_patterns(60, 2000, 0.45, seed=1)
    off = (p @ p.T / 2000)[~np.eye(60, dtype=bool)]
    assert off.mean() == pytest.approx(0.45, abs=0.02)


def test_flip_cue_flips_exactly():
    x = hd.random_patterns(1, 256, seed=0)[0]
    cue, known = hd.flip_cue(x, 0.2, seed=0)
    assert hd.hamming(cue, x) == round(0.2 * 256) and known.all()


def test_occlusion_cue_image_regions():
    x = np.arange(1, 17, dtype=float)
    cue, known = hd.occlusion_cue(x, "top", 0.5, shape=(4, 4))
    assert known.reshape(4, 4)[:2].all() and not known.reshape(4, 4)[2:].any()
    np.testing.assert_array_equal(cue[known], x[:8])
    assert np.all(cue[~known] == 0)
    _, known = hd.occlusion_cue(x, "right", 0.25, shape=(4, 4))
    assert known.reshape(4, 4)[:, 3].all() and known.sum() == 4
    with pytest.raises(ValueError, match="unknown visible region"):
        hd.occlusion_cue(x, "middle", 0.5, shape=(4, 4))


def test_random_mask_cue():
    x = hd.random_patterns(1, 100, seed=0)[0]
    cue, known = hd.random_mask_cue(x, 0.3, seed=2)
    assert known.sum() == 30 and np.all(cue[~known] == 0) and np.all(cue[known] == x[known])


def test_overlaps_hamming_and_quality():
    xi = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [-1, -1, 1, 1]], dtype=float)
    s = np.array([0.3, 2.0, 5.0, -1.0])  # sign: + + + -
    np.testing.assert_allclose(hd.overlaps(xi, s), [0.5, 0.5, -0.5])  # ties: argmax takes the first
    assert hd.hamming(s, xi[0]) == 1
    q = hd.recall_quality(xi, s, target=0)
    assert q.retrieved == 0 and q.hamming == 1 and not q.success
    assert hd.recall_quality(xi, s, target=0, tolerance=1).success
    batch = hd.recall_quality(xi, np.stack([xi[1], xi[2], -xi[0]]), target=[1, 2, 0])
    np.testing.assert_array_equal(batch.success, [True, True, False])
    assert batch.success_rate == pytest.approx(2 / 3)
    np.testing.assert_allclose(batch.target_overlap, [1, 1, -1])
    with pytest.raises(ValueError, match="out of range"):
        hd.recall_quality(xi, s, target=5)


def test_zero_entry_counts_as_wrong():
    assert hd.hamming(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == 1
