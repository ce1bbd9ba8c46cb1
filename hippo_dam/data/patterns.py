"""Pattern sets and cues.

Patterns are ``+-1`` arrays of shape (K, N). A cue is a state of the feature
layer together with a boolean mask of the entries that are *known*; unknown
entries are set to 0, which every shipped feature Lagrangian maps to a neutral
activation (``sign(0) = 0``, ``tanh(0) = 0``...).
"""
from __future__ import annotations

import numpy as np

__all__ = ["random_patterns", "correlated_patterns", "flip_cue", "occlusion_cue", "random_mask_cue", "check_patterns",
           "load_kanji", "KANJI_SETS", "load_digits_patterns", "partial_cue", "CUE_REGIONS"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_patterns(patterns, name="patterns", dtype=float):
    """Return patterns as a float (K, N) array of ``dtype``, or raise naming the problem.

    No copy is made when ``patterns`` already has that dtype.
    """
    patterns = np.asarray(patterns, dtype=dtype)
    if patterns.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (K patterns x N features), got shape {patterns.shape}")
    if patterns.shape[0] == 0:
        raise ValueError(f"{name} is empty: a memory needs at least one stored pattern")
    if patterns.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {patterns.shape})")
    if not np.all(np.isfinite(patterns)):
        raise ValueError(f"{name} contain NaN or inf")
    return patterns


def _frozen(patterns):
    """A read-only view: a network's stored patterns change only through ``set_patterns``.

    ``net.patterns[0, 0] = 1`` raises instead of silently not reaching a built
    network. A view, not a copy: at 4,096 x 65,536 a copy of ``xi`` is 2 GiB,
    and the dense coupling reads the caller's array itself.
    """
    view = patterns.view()
    view.setflags(write=False)
    return view


def _flip_cues(patterns, n_cues, flip, seed):
    """``n_cues`` flip cues cycling over the stored patterns: [(target, cue, known), ...] (cue seeds seed, seed+1, ...)."""
    return [(k % len(patterns),) + flip_cue(patterns[k % len(patterns)], flip, seed=seed + k) for k in range(n_cues)]


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


# -- shipped pattern sets ------------------------------------------------------------------------------
def _data_file(name):
    from importlib.resources import files

    return files("hippo_dam.data").joinpath(name)


#: The shipped kanji sets: name -> data file stem (made by scripts/make_kanji.py).
KANJI_SETS = {"joyo": "kanji64", "jis0208": "kanji64_jis0208"}


def load_kanji(name="joyo", n=None, return_info=False):
    """A shipped set of kanji rendered at 64x64 pixels, as ``+-1`` patterns.

    =========  ======  ===============================================================
    name       K       characters (order)
    =========  ======  ===============================================================
    'joyo'     2,136   the Joyo kanji (school grade, then stroke count)
    'jis0208'  6,355   JIS X 0208 levels 1 (2,965) and 2 (3,390), in JIS code order
    =========  ======  ===============================================================

    Shipped with the package (``hippo_dam/data/kanji64.npz`` and
    ``kanji64_jis0208.npz``, bit-packed; made by ``scripts/make_kanji.py``
    from Noto Sans CJK JP, SIL Open Font Licence, and the KANJIDIC2 lists;
    provenance, licences and checksums in the ``.json`` beside each). Loading
    needs neither network nor a system font. Ink is ``+1``, background
    ``-1``; pixel ``(r, c)`` is feature ``64 r + c``.

    Parameters
    ----------
    name : {'joyo', 'jis0208'}
        The set. An int here is read as ``n`` of the Joyo set
        (``load_kanji(100)`` is ``load_kanji('joyo', 100)``).
    n : int, optional
        Return the first ``n`` characters of the set; default all.
    return_info : bool
        Also return a dict with ``shape`` (64, 64), ``grades`` (KANJIDIC2
        grade, 0 = none), ``strokes``, ``set`` and the metadata (font,
        licence, sources); for 'jis0208' also ``jis_level`` and ``jis_code``
        (row * 100 + cell).

    Returns
    -------
    patterns : float array (K, 4096) of ``+-1``
    characters : list of str, length K
    info : dict, only when ``return_info``
    """
    import json

    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        if n is not None:
            raise TypeError("load_kanji: give the set name first, then n (e.g. load_kanji('joyo', 100))")
        name, n = "joyo", name
    if not isinstance(name, str):
        raise TypeError(f"name must be a kanji set name {sorted(KANJI_SETS)} or an int, got {type(name).__name__}")
    if name not in KANJI_SETS:
        raise ValueError(f"unknown kanji set {name!r}; use one of {sorted(KANJI_SETS)}")
    stem = KANJI_SETS[name]
    with _data_file(f"{stem}.npz").open("rb") as fh:
        data = np.load(fh)
        arrays = {key: data[key] for key in data.files}
    bits, chars = arrays["bits"], [str(c) for c in arrays["characters"]]
    shape = tuple(int(x) for x in arrays["shape"])
    total = len(chars)
    if n is None:
        n = total
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int or None, got {type(n).__name__}")
    if not 1 <= n <= total:
        raise ValueError(f"n must lie in [1, {total}] for the {name!r} set, got {n}")
    size = shape[0] * shape[1]
    patterns = np.where(np.unpackbits(bits[:n], axis=1, count=size) > 0, 1.0, -1.0)
    if not return_info:
        return patterns, chars[:n]
    meta = json.loads(_data_file(f"{stem}.json").read_text(encoding="utf-8"))
    info = {"shape": shape, "set": name, "metadata": meta}
    for key in ("grades", "strokes", "jis_level", "jis_code"):
        if key in arrays:
            info[key] = arrays[key][:n].astype(int)
    return patterns, chars[:n], info


def load_digits_patterns(threshold=8.0):
    """scikit-learn's 1,797 handwritten 8x8 digits (shipped with it), binarised to ``+-1``.

    A pixel (grey level 0-16) is ``+1`` (ink) when it is at least ``threshold``.

    Returns
    -------
    patterns : float array (1797, 64) of ``+-1``
    labels : int array (1797,), the digit each image shows
    """
    from sklearn.datasets import load_digits

    if not 0 < threshold <= 16:
        raise ValueError(f"threshold must lie in (0, 16] (grey levels of the digits), got {threshold}")
    digits = load_digits()
    return np.where(digits.data >= threshold, 1.0, -1.0), digits.target.astype(int)


# -- partial cues of images ----------------------------------------------------------------------------
CUE_REGIONS = ("top", "bottom", "left", "right", "centre", "random")


def partial_cue(patterns, visible="top", shape=(64, 64), fraction=0.5, noise=0.0, seed=None):
    """Show part of each image and mark the rest unknown; optionally flip visible pixels.

    The cue is ``c_i = s_i xi_i`` on visible pixels (``s_i = -1`` for a random
    ``noise`` fraction of them, else ``+1``) and ``c_i = 0`` on unknown ones:
    unknown pixels are *not* set to background; the network is told which
    entries are known.

    Parameters
    ----------
    patterns : array (..., N) of ``+-1``, with ``N = rows * cols``
    visible : {'top', 'bottom', 'left', 'right', 'centre', 'random'}
        'top'/'bottom': that ``fraction`` of the rows; 'left'/'right': of the
        columns; 'centre': a centred window covering ``fraction`` of the rows and
        of the columns (so ``fraction**2`` of the pixels); 'random': a random
        ``fraction`` of the pixels, drawn independently for each pattern.
    shape : (rows, cols)
    fraction : float in (0, 1]
    noise : float in [0, 1]
        Fraction of the *visible* pixels flipped, drawn independently per pattern.
    seed : int or Generator

    Returns
    -------
    cue : float array (..., N)
    known : bool array (N,) for a fixed region, (..., N) for 'random' or when noise is used per pattern
    """
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim < 1:
        raise ValueError("patterns must have at least one axis (the N features)")
    rows, cols = (int(x) for x in shape)
    n = patterns.shape[-1]
    if rows * cols != n:
        raise ValueError(f"image shape {tuple(shape)} has {rows * cols} pixels but patterns have {n} features")
    if not np.all(np.isin(patterns, (-1.0, 1.0))):
        raise ValueError("patterns must contain only -1 and +1")
    if not 0 < fraction <= 1:
        raise ValueError(f"visible fraction must lie in (0, 1], got {fraction}")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise (fraction of visible pixels flipped) must lie in [0, 1], got {noise}")
    if visible not in CUE_REGIONS:
        raise ValueError(f"unknown visible region {visible!r}; use one of {CUE_REGIONS}")
    rng = _rng(seed)
    batch = patterns.shape[:-1]
    if visible == "random":
        k = int(round(fraction * n))
        order = np.argsort(rng.random(batch + (n,)), axis=-1)
        known = np.zeros(batch + (n,), dtype=bool)
        np.put_along_axis(known, order[..., :k], True, axis=-1)
    else:
        r, c = max(1, int(round(fraction * rows))), max(1, int(round(fraction * cols)))
        r0, c0 = (rows - r) // 2, (cols - c) // 2
        regions = {"top": np.s_[:r, :], "bottom": np.s_[rows - r:, :], "left": np.s_[:, :c],
                   "right": np.s_[:, cols - c:], "centre": np.s_[r0:r0 + r, c0:c0 + c]}
        img = np.zeros((rows, cols), dtype=bool)
        img[regions[visible]] = True
        known = img.ravel()
    cue = np.where(known, patterns, 0.0)
    if noise > 0:
        known_b = np.broadcast_to(known, cue.shape)
        flat_known, flat_cue = known_b.reshape(-1, n), cue.reshape(-1, n).copy()
        for row in range(flat_cue.shape[0]):
            idx = np.flatnonzero(flat_known[row])
            flip = rng.choice(idx, size=int(round(noise * idx.size)), replace=False)
            flat_cue[row, flip] *= -1
        cue = flat_cue.reshape(cue.shape)
    return cue, known
