"""Completing kanji from a partial cue: pattern memorisation at the paper's scale.

Krotov & Hopfield (2021) motivate Dense Associative Memories with a 64x64
character: 4,096 feature neurons, for which a classical Hopfield net stores
about ``0.14 N = 573`` *random* patterns, while people recognise thousands of
characters and complete one from a portion. Here the 2,136 Joyo kanji
(:func:`hippo_dam.data.patterns.load_kanji`) are stored in one network, each is cued
with a visible region (the top half by default; the rest unknown, 0) and the
network completes it. A completion is a *success* when every one of the 4,096
pixels of ``sign(v)`` equals the stored glyph.

Glyphs are strongly correlated (mean pairwise overlap 0.35, up to 0.96 for
pairs such as 未/末), so the capacity for random patterns does not carry over:
the measured comparison of the classical net, rectified-power DAMs and the
softmax model is in :data:`KANJI_MODELS`, :func:`kanji_completion` and the
README.

The upper bound any memory can reach from a cue is the nearest-neighbour limit
(:func:`nearest_neighbour_limit`): a cue whose visible part matches another
stored glyph at least as well as its own cannot single out its own glyph.

Measured (README, figures/kanji.json, benchmarks/results_kanji*.md): from the
top half at K = 2136 the softmax model B (beta = 0.1) completes 2,130 of the
2,136 kanji exactly on Brian2 (the nearest-neighbour limit is 2,127: ties are
broken by the dynamics), model A with n = 20 2,123, and the classical net
none: every glyph shares the white background, so each cue overlaps every
other glyph positively (0.445 on average over the top half) and a low-degree
energy sums those overlaps into the mean glyph.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..core.lagrangians import identity, log_sum_exp, rectified_power, sign
from ..networks.two_layer import DenseAssociativeMemory
from ..data.patterns import check_patterns, load_kanji, partial_cue
from ..core.recall import hamming, recall_quality
from ..core.reference import euler_reference

__all__ = ["KANJI_MODELS", "kanji_model", "nearest_neighbour_limit", "kanji_completion", "kanji_sweep",
           "KANJI_TIMING"]

#: The models compared on the kanji task, by label: (feature Lagrangian, memory Lagrangian).
#: 'classical' is model A with F(x) = max(x, 0)^2, the (rectified) classical Hopfield net.
KANJI_MODELS = {
    "classical (A, n=2)": ("sign", ("rectified_power", 2.0)),
    "A, n=3": ("sign", ("rectified_power", 3.0)),
    "A, n=10": ("sign", ("rectified_power", 10.0)),
    "A, n=20": ("sign", ("rectified_power", 20.0)),
    "B, beta=0.1": ("identity", ("log_sum_exp", 0.1)),
}

#: Time constants, step and duration used for every kanji completion.
KANJI_TIMING = {"tau_f": 20 * ms, "tau_h": 2 * ms, "dt": 1 * ms, "duration": 50 * ms}


def kanji_model(label):
    """``(feature_lagrangian, memory_lagrangian)`` Lagrangian objects for a label of KANJI_MODELS.

    Labels not in the table may be written ``'A, n=<degree>'`` or ``'B, beta=<beta>'``.
    """
    if label in KANJI_MODELS:
        feat, (mem, par) = KANJI_MODELS[label]
    elif label.startswith("A, n="):
        feat, mem, par = "sign", "rectified_power", float(label[5:])
    elif label.startswith("B, beta="):
        feat, mem, par = "identity", "log_sum_exp", float(label[8:])
    else:
        raise ValueError(f"unknown kanji model {label!r}; use one of {list(KANJI_MODELS)}, "
                         "'A, n=<degree>' or 'B, beta=<beta>'")
    return ({"sign": sign, "identity": identity}[feat](),
            {"rectified_power": rectified_power, "log_sum_exp": log_sum_exp}[mem](par))


def nearest_neighbour_limit(patterns, known, cue=None, targets=None):
    """Fraction of cues whose visible part is strictly closest to their own pattern.

    For cue ``b`` of pattern ``mu = targets[b]`` with visible pixels
    ``known[b]``, the Hamming distance on the visible pixels to every stored
    pattern ``nu`` is ``d_b,nu = (n_visible - c_b . xi_nu) / 2`` (``+-1``
    entries; ``c_b`` the cue, 0 on unknown pixels). The cue is *resolvable*
    when its own pattern is strictly closer than every other:
    ``d_b,mu < min_{nu != mu} d_b,nu``. Without noise (``cue`` not given, so
    ``c_b`` is the pattern on its visible pixels) ``d_b,mu = 0`` and this says
    that every other pattern differs in at least one visible pixel. A tie
    counts as unresolvable: no memory can tell the two apart from the cue
    alone.

    Parameters
    ----------
    patterns : array (K, N) of ``+-1``
    known : bool array (N,) or (len(targets), N)
    cue : array (len(targets), N), optional
        The cues themselves (noisy visible pixels, 0 elsewhere); default: the
        patterns on their visible pixels.
    targets : int array, optional
        Index of the pattern each cue came from (default: all K, in order).

    Returns
    -------
    dict with ``fraction`` (resolvable / number of cues), ``n_resolvable``,
    ``n_ties`` (cues with another pattern at least as close as their own),
    ``ties`` (list of index pairs (mu, nu) with nu the closest such other
    pattern), ``min_distance`` (array, visible Hamming distance to the closest
    other pattern) and ``own_distance`` (array, to the cue's own pattern).
    """
    patterns = check_patterns(patterns)
    k, n = patterns.shape
    targets = np.arange(k) if targets is None else np.asarray(targets, dtype=int)
    if targets.ndim != 1 or targets.size == 0 or targets.min() < 0 or targets.max() >= k:
        raise ValueError(f"targets must be a non-empty 1-D array of indices in [0, {k})")
    t = len(targets)
    known = np.asarray(known, dtype=bool)
    if known.shape not in ((n,), (t, n)):
        raise ValueError(f"known must have shape ({n},) or ({t}, {n}), got {known.shape}")
    known = np.broadcast_to(known, (t, n))
    if cue is None:
        cue = np.where(known, patterns[targets], 0.0)
    else:
        cue = np.asarray(cue, dtype=float)
        if cue.shape != (t, n):
            raise ValueError(f"cue must have shape ({t}, {n}), got {cue.shape}")
        if np.any(cue[~known] != 0) or not np.all(np.isin(cue[known], (-1.0, 1.0))):
            raise ValueError("cue must be +-1 on known pixels and 0 on unknown ones")
    # float32 products of +-1/0 entries are exact integers (N < 2**24)
    dist = np.rint((known.sum(1)[:, None] - cue.astype(np.float32) @ patterns.astype(np.float32).T) / 2)
    rows = np.arange(t)
    own = dist[rows, targets].copy()
    dist[rows, targets] = np.inf
    min_dist = dist.min(axis=1)
    tied = np.flatnonzero(min_dist <= own)
    ties = [(int(targets[b]), int(np.argmin(dist[b]))) for b in tied]
    return {"fraction": float(np.mean(min_dist > own)), "n_resolvable": int(np.sum(min_dist > own)),
            "n_ties": len(ties), "ties": ties, "min_distance": min_dist.astype(int), "own_distance": own.astype(int)}


def kanji_completion(n_patterns=2136, model="B, beta=0.1", visible="top", fraction=0.5, noise=0.0,
                     backend="reference", cues=None, chunk=256, seed=0, dtype=np.float64, timing=None,
                     patterns=None, progress=False, kanji_set="joyo"):
    """Store ``n_patterns`` kanji, cue them with a visible region, and measure the completions.

    The network is the two-layer DAM (Krotov & Hopfield 2021, eq. 1) with
    ``N_f = 4096`` feature and ``N_h = n_patterns`` memory neurons, started at
    ``v = cue`` (unknown pixels 0), ``h = 0``, run for ``timing['duration']``.

    Parameters
    ----------
    n_patterns : int
        ``K``, the first K kanji of ``kanji_set`` are stored.
    model : str
        A label of :data:`KANJI_MODELS` (or ``'A, n=..'``, ``'B, beta=..'``).
    visible, fraction, noise : see :func:`hippo_dam.data.patterns.partial_cue`.
    backend : {'reference', 'brian2'}
        'reference': :func:`hippo_dam.euler_reference` on the whole batch of
        cues at once (numpy, the test reference); 'brian2': the Brian2 network
        (:class:`hippo_dam.DenseAssociativeMemory`, dense coupling, batched
        recall of ``chunk`` cues per run).
    cues : array of int, optional
        Indices of the stored glyphs to cue (default all K).
    chunk : int
        Cues per batched run (both backends), bounding memory.
    dtype : numpy dtype of the numpy reference (and of the batched Brian2 run).
    timing : dict, optional
        Overrides of :data:`KANJI_TIMING` (tau_f, tau_h, dt, duration).
    patterns : array (K', 4096), optional
        Use these patterns instead of the shipped kanji (tests).
    kanji_set : {'joyo', 'jis0208'}
        Shipped set (:func:`hippo_dam.data.patterns.load_kanji`): the 2,136 Joyo
        kanji or the 6,355 of JIS X 0208 levels 1 and 2.

    Returns
    -------
    dict with ``success`` (fraction of cues completed exactly, every pixel),
    ``pixel_error`` (mean fraction of wrong pixels), ``retrieved_correct``
    (fraction whose final state is closest to the cued glyph), ``hamming``
    (array per cue), ``cues``, ``v_final`` (array (len(cues), 4096)),
    ``nn_limit`` (nearest-neighbour limit on the same cues), ``wall_time_s``,
    ``backend`` and the settings.
    """
    patterns_given = patterns is not None
    if not patterns_given:
        patterns, _ = load_kanji(kanji_set, n_patterns)
    else:
        patterns = check_patterns(patterns)[:n_patterns]
    if backend not in ("reference", "brian2"):
        raise ValueError(f"backend must be 'reference' or 'brian2', got {backend!r}")
    if int(chunk) < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    tm = dict(KANJI_TIMING, **(timing or {}))
    k, n = patterns.shape
    side = int(round(np.sqrt(n)))
    if side * side != n:
        raise ValueError(f"patterns must be square images; {n} features is not a square number")
    cues = np.arange(k) if cues is None else np.asarray(cues, dtype=int)
    if cues.ndim != 1 or cues.size == 0 or cues.min() < 0 or cues.max() >= k:
        raise ValueError(f"cues must be a non-empty 1-D array of indices in [0, {k}), got {cues}")
    cue, known = partial_cue(patterns[cues], visible, (side, side), fraction, noise, seed)
    feat, mem = kanji_model(model)
    n_steps = int(round(tm["duration"] / tm["dt"]))
    start = time.perf_counter()
    v_final = np.empty((len(cues), n))
    mode = backend
    if backend == "reference":
        for lo in range(0, len(cues), chunk):
            sl = slice(lo, lo + chunk)
            with np.errstate(over="ignore", invalid="ignore"):
                v, _ = euler_reference(patterns, feat, mem, tm["tau_f"], tm["tau_h"], cue[sl],
                                       np.zeros((len(cue[sl]), k)), tm["dt"], n_steps, record=False, dtype=dtype)
            v_final[sl] = v
    else:
        # one Brian2 network simulates a whole chunk of cues (dense coupling: xi stored once)
        mode = "brian2 batched"
        net = DenseAssociativeMemory(patterns, feat, mem, tau_f=tm["tau_f"], tau_h=tm["tau_h"], dt=tm["dt"],
                                     record_every=None, coupling="dense",
                                     dtype="float64" if np.dtype(dtype) == np.float64 else "float32")
        for lo in range(0, len(cues), chunk):
            sl = slice(lo, lo + chunk)
            res = net.recall(cue[sl], known if known.ndim == 1 else known[sl], duration=tm["duration"],
                             target=cues[sl], progress=progress)
            v_final[sl] = res.v_final
    wall = time.perf_counter() - start
    if not np.all(np.isfinite(v_final)):
        raise FloatingPointError(f"model {model!r} overflowed at K={k}: lower the degree or use float64")
    q = recall_quality(patterns, v_final, cues)
    # how close the completions are to the sign of the mean glyph (the classical net's spurious state)
    mean_glyph = np.where(patterns.mean(axis=0) >= 0, 1.0, -1.0)
    # the limit on these very cues (noise included): own glyph strictly closest on the visible pixels
    nn = nearest_neighbour_limit(patterns, known, cue=cue, targets=cues)
    ham = hamming(v_final, patterns[cues])
    return {
        "model": model, "n_patterns": k, "n_cues": int(len(cues)), "visible": visible, "fraction": fraction,
        "noise": noise, "backend": mode, "success": float(np.mean(ham == 0)),
        "pixel_error": float(np.mean(ham) / n), "retrieved_correct": float(np.mean(q.retrieved == cues)),
        "n_success": int(np.sum(ham == 0)),
        "mean_glyph_overlap": float(np.mean(np.sign(v_final) @ mean_glyph) / n), "hamming": ham, "cues": cues, "v_final": v_final,
        "nn_limit": nn["fraction"], "n_nn_resolvable": nn["n_resolvable"], "wall_time_s": wall,
        "timing_ms": {key: float(val / ms) for key, val in tm.items()}, "seed": seed,
        "dtype": np.dtype(dtype).name, "kanji_set": "given" if patterns_given else kanji_set,
    }


def kanji_sweep(ks=(100, 573, 1000, 2136), models=tuple(KANJI_MODELS), backend="reference", log=None, **kwargs):
    """:func:`kanji_completion` for every K in ``ks`` and every model; one row per (model, K).

    Returns a list of dicts (the arrays ``hamming``, ``cues`` and ``v_final``
    kept) in the order models x ks. ``log`` (a callable) receives one line per row.
    """
    rows = []
    for model in models:
        for k in ks:
            r = kanji_completion(int(k), model, backend=backend, **kwargs)
            rows.append(r)
            if log is not None:
                log(f"{model:>20s} K={k:5d}: success {r['success']:.4f} pixel error {r['pixel_error']:.4f} "
                    f"NN limit {r['nn_limit']:.4f} ({r['backend']}, {r['wall_time_s']:.1f} s)")
    return rows
