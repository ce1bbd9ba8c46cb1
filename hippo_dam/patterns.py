"""Pattern sets and cues.

Patterns are ``+-1`` arrays of shape (K, N). A cue is a state of the feature
layer together with a boolean mask of the entries that are *known*; unknown
entries are set to 0, which every shipped feature Lagrangian maps to a neutral
activation (``sign(0) = 0``, ``tanh(0) = 0``...).
"""
from __future__ import annotations

import numpy as np

__all__ = ["random_patterns", "correlated_patterns", "flip_cue", "occlusion_cue", "random_mask_cue", "check_patterns"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_patterns(patterns, name="patterns"):
    """Return patterns as a float (K, N) array, or raise naming the problem."""
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (K patterns x N features), got shape {patterns.shape}")
    if patterns.shape[0] == 0:
        raise ValueError(f"{name} is empty: a memory needs at least one stored pattern")
    if patterns.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {patterns.shape})")
    if not np.all(np.isfinite(patterns)):
        raise ValueError(f"{name} contain NaN or inf")
    return patterns


def random_patterns(n_patterns, n_features, seed=None):
    """``K x N`` independent random patterns, each entry ``+-1`` with probability 1/2."""
    if n_patterns < 1 or n_features < 1:
        raise ValueError(f"need at least one pattern and one feature, got {n_patterns} x {n_features}")
    return _rng(seed).choice(np.array([-1.0, 1.0]), size=(int(n_patterns), int(n_features)))


def correlated_patterns(n_patterns, n_features, overlap, seed=None):
    """Patterns whose pairwise overlap ``xi_mu . xi_nu / N`` averages ``overlap``.

    Each pattern flips every bit of a shared random parent with probability
    ``p = (1 - sqrt(overlap)) / 2``, so ``E[m_mu,nu] = (1 - 2p)^2 = overlap``.
    """
    if not 0 <= overlap <= 1:
        raise ValueError(f"overlap must lie in [0, 1], got {overlap}")
    rng = _rng(seed)
    parent = rng.choice(np.array([-1.0, 1.0]), size=int(n_features))
    p = (1 - np.sqrt(overlap)) / 2
    flips = rng.random((int(n_patterns), int(n_features))) < p
    return np.where(flips, -parent, parent)


def flip_cue(pattern, fraction, seed=None):
    """Copy of ``pattern`` with exactly ``round(fraction * N)`` random bits flipped.

    Returns ``(cue, known)`` with every entry known.
    """
    pattern = np.asarray(pattern, dtype=float)
    if not 0 <= fraction <= 1:
        raise ValueError(f"flip fraction must lie in [0, 1], got {fraction}")
    n = pattern.shape[-1]
    idx = _rng(seed).choice(n, size=int(round(fraction * n)), replace=False)
    cue = pattern.copy()
    cue[..., idx] *= -1
    return cue, np.ones(n, dtype=bool)


def occlusion_cue(pattern, visible="top", fraction=0.5, shape=None):
    """Keep one region of ``pattern`` and mark the rest unknown (set to 0).

    Parameters
    ----------
    visible : {'top', 'bottom', 'left', 'right', 'first', 'last'}
        For an image of ``shape`` (rows, cols), the visible part; for a plain
        vector ('first'/'last' or no shape), the first or last entries.
    fraction : float
        Visible fraction of rows, columns or entries.
    """
    pattern = np.asarray(pattern, dtype=float)
    n = pattern.shape[-1]
    if not 0 < fraction <= 1:
        raise ValueError(f"visible fraction must lie in (0, 1], got {fraction}")
    if shape is None:
        k = int(round(fraction * n))
        known = np.zeros(n, dtype=bool)
        if visible in ("top", "first", "left"):
            known[:k] = True
        elif visible in ("bottom", "last", "right"):
            known[n - k:] = True
        else:
            raise ValueError(f"unknown visible region {visible!r}")
    else:
        rows, cols = shape
        if rows * cols != n:
            raise ValueError(f"image shape {shape} does not match {n} features")
        img = np.zeros(shape, dtype=bool)
        r, c = int(round(fraction * rows)), int(round(fraction * cols))
        regions = {"top": np.s_[:r, :], "bottom": np.s_[rows - r:, :], "left": np.s_[:, :c], "right": np.s_[:, cols - c:]}
        if visible not in regions:
            raise ValueError(f"unknown visible region {visible!r}; use one of {sorted(regions)}")
        img[regions[visible]] = True
        known = img.ravel()
    return np.where(known, pattern, 0.0), known


def random_mask_cue(pattern, fraction_known, seed=None):
    """Keep a random ``fraction_known`` of the entries; the rest unknown (0)."""
    pattern = np.asarray(pattern, dtype=float)
    if not 0 < fraction_known <= 1:
        raise ValueError(f"fraction_known must lie in (0, 1], got {fraction_known}")
    n = pattern.shape[-1]
    known = np.zeros(n, dtype=bool)
    known[_rng(seed).choice(n, size=int(round(fraction_known * n)), replace=False)] = True
    return np.where(known, pattern, 0.0), known
