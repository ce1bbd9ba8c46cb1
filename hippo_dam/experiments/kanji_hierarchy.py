"""Completing kanji with a three-layer hierarchy: pixels, parts, characters (issue 10, part 5).

Krotov (2021, *Hierarchical Associative Memory*, arXiv 2107.06446) stacks
layers joined only to their neighbours, the feedforward weights equal to the
feedback weights. Here three layers complete the 2,136 Joyo kanji
(:func:`hippo_dam.data.patterns.load_kanji`, 64x64 pixels, ``+-1``):

* **pixels** (``N_1 = 4096``): identity Lagrangian ``L_1 = (1/2) sum v^2``
  (``g = v``, as the features of the two-layer model B), ``tau_1 = 20 ms``;
* **parts** (``N_2 = P D``; ``P = 64`` patch positions times ``D = 64`` atoms):
  a softmax within each position (:func:`hippo_dam.core.lagrangians.grouped_log_sum_exp`,
  ``L_2 = sum_p (1/beta_2) log sum_d exp(beta_2 x_pd)``), so one atom per
  position wins, ``tau_2 = 2 ms``;
* **characters** (``N_3 = K = 2136``): softmax ``L_3 = (1/beta_3) log sum_mu
  exp(beta_3 h_mu)``, ``tau_3 = 2 ms``.

The parts are learned from the glyphs by a documented rule
(:func:`learn_part_dictionary`): each glyph is cut into ``P = 64`` non-overlapping
8x8 patches; at each position the ``K`` patches are clustered into ``D`` binary
atoms by *binary k-means* (k-majority: assign every distinct patch to the atom
of largest overlap, set each atom to the sign of the count-weighted sum of its
patches, ties to background -1; seeded initial atoms drawn among the distinct
patches; at most ``iterations`` rounds or until nothing changes). A position
with at most ``D`` distinct patches keeps them all and pads with all-zero atoms
(part neurons without a synapse). The weights::

    xi^(2,1)[(p, d), i] = w_2 A_pd[i]     for pixel i in patch p, 0 elsewhere    (64 nonzeros per part)
    xi^(3,2)[mu, (p, d)] = w_3 [d = c_mu,p]                                       (64 nonzeros per character)

with ``c_mu,p = argmax_d A_pd . patch_p(xi_mu)`` the code of glyph ``mu``: the
atom that best matches it at each position. The dynamics and energy are those
of :class:`~hippo_dam.networks.hierarchical.HierarchicalAssociativeMemory`::

    tau_1 dv/dt = xi^(2,1)^T g^2 - v + I
    tau_2 dx/dt = xi^(2,1) v + xi^(3,2)^T f - x
    tau_3 dh/dt = xi^(3,2) g^2 - h
    E = sum_A [x^A . g^A - L_A] - I . v - g^2 . xi^(2,1) v - f . xi^(3,2) g^2

All states and weights are dimensionless; time constants carry the units. The
number of synapses of a layer pair is the number of *nonzero* weights (the
Brian2 network holds the link as a dense matrix whose zeros are no synapses;
:class:`KanjiHierarchy` reports both).

Completion follows the two-layer kanji experiment (:mod:`hippo_dam.experiments.kanji`): the
pixels start at the cue (:func:`hippo_dam.data.patterns.partial_cue`; unknown pixels
0, no clamping, no input current), the other layers at 0, ``dt = 1 ms`` for
``50 ms``. The 2,136-glyph evaluation runs the sparse numpy integrator
:func:`hierarchy_reference` (equal to :func:`hippo_dam.graph_reference` and to
the Brian2 network, ``tests/test_kanji_hierarchy.py``).
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..networks.graph_memory import Layer
from ..networks.hierarchical import HierarchicalAssociativeMemory
from .kanji import KANJI_TIMING, kanji_model, nearest_neighbour_limit
from ..core.lagrangians import grouped_log_sum_exp, identity, log_sum_exp
from ..data.patterns import check_patterns, load_kanji, partial_cue
from ..core.populations import check_tau
from ..core.recall import hamming
from ..networks.two_layer import check_cue

__all__ = ["HIERARCHY_SETTINGS", "CUE_CONDITIONS", "learn_part_dictionary", "encode_parts", "KanjiHierarchy",
           "hierarchy_reference", "kanji_hierarchy_completion", "two_layer_completion", "compare_at_equal_synapses"]

#: Settings of the kanji hierarchy (dictionary rule, Lagrangians, weights, time constants, run).
HIERARCHY_SETTINGS = {"patch": 8, "n_atoms": 64, "iterations": 20, "dictionary_seed": 0,
                      "beta_parts": 0.2, "beta_chars": 0.1, "w_parts": 1.0, "w_chars": 20.0,
                      "tau_pixels_ms": 20.0, "tau_parts_ms": 2.0, "tau_chars_ms": 2.0,
                      "dt_ms": 1.0, "duration_ms": 50.0}


_LAYERS = ("pixels", "parts", "characters")
_TAU_SETTINGS = ("tau_pixels_ms", "tau_parts_ms", "tau_chars_ms")


def _check_dt(dt, taus, what="dt"):
    """Raise unless the Euler step ``dt`` (a time) is shorter than every layer's time constant ``taus``."""
    dt = check_tau(dt, what)
    for name, key, tau in zip(_LAYERS, _TAU_SETTINGS, taus):
        if dt >= tau:
            raise ValueError(f"{what} = {dt} must be smaller than every layer's time constant; the {name} layer has "
                             f"tau={tau} (setting {key})")
    return dt


def _patch_index(side, patch):
    """Pixel indices (row-major, pixel (r, c) is r*side + c) of each patch: array (P, patch*patch)."""
    if side % patch:
        raise ValueError(f"patch size {patch} must divide the image side {side}")
    n = side // patch
    idx = np.arange(side * side).reshape(n, patch, n, patch).transpose(0, 2, 1, 3)
    return idx.reshape(n * n, patch * patch)


def _binary_kmeans(X, n_atoms, iterations, rng):
    """Binary k-means (k-majority) of +-1 rows X; returns (n_atoms, d) atoms (all-zero rows pad a small set)."""
    U, counts = np.unique(X, axis=0, return_counts=True)
    if len(U) <= n_atoms:
        return np.concatenate([U, np.zeros((n_atoms - len(U), X.shape[1]))])
    A = U[rng.choice(len(U), n_atoms, replace=False)].astype(float)
    for _ in range(int(iterations)):
        label = np.argmax(U @ A.T, axis=1)
        total = np.zeros_like(A)
        np.add.at(total, label, U * counts[:, None])
        used = np.bincount(label, weights=counts, minlength=n_atoms) > 0
        new = np.where(total > 0, 1.0, -1.0)
        new[~used] = A[~used]  # an atom that lost all its patches keeps its place
        if np.array_equal(new, A):
            break
        A = new
    return A


def learn_part_dictionary(patterns, patch=8, n_atoms=64, iterations=20, seed=0):
    """Learn ``n_atoms`` binary atoms per patch position from ``+-1`` square images (binary k-means).

    Parameters
    ----------
    patterns : array (K, side*side) of ``+-1``
    patch : int
        Side of the square, non-overlapping patches (must divide ``side``).
    n_atoms : int
        ``D``, atoms per position.
    iterations : int
        Most rounds of assignment and majority update.
    seed : int
        Seeds the initial atoms (drawn among the distinct patches of each position).

    Returns
    -------
    dict with ``atoms`` (array (P, D, patch*patch): ``+-1``, or all 0 for the
    padding of a position with fewer than ``D`` distinct patches),
    ``positions`` (array (P, patch*patch): pixel indices of each patch),
    ``n_distinct`` (distinct patches per position), ``patch``, ``side``.
    """
    patterns = check_patterns(patterns)
    side = int(round(np.sqrt(patterns.shape[1])))
    if side * side != patterns.shape[1]:
        raise ValueError(f"patterns must be square images; {patterns.shape[1]} pixels is not a square number")
    if int(n_atoms) < 1 or int(patch) < 1:
        raise ValueError(f"n_atoms and patch must be >= 1, got {n_atoms}, {patch}")
    if not np.all(np.isin(patterns, (-1.0, 1.0))):
        raise ValueError("patterns must contain only -1 and +1")
    positions = _patch_index(side, int(patch))
    rng = np.random.default_rng(seed)
    atoms = np.stack([_binary_kmeans(patterns[:, pos], int(n_atoms), iterations, rng) for pos in positions])
    n_distinct = np.array([len(np.unique(patterns[:, pos], axis=0)) for pos in positions])
    return {"atoms": atoms, "positions": positions, "n_distinct": n_distinct, "patch": int(patch), "side": side}


def encode_parts(patterns, dictionary):
    """Code of each image: at each position the atom of largest overlap with its patch; int array (K, P)."""
    patterns = check_patterns(patterns)
    patches = patterns[:, dictionary["positions"]]  # (K, P, patch^2)
    return np.argmax(np.einsum("kpi,pdi->kpd", patches, dictionary["atoms"]), axis=-1)


class KanjiHierarchy:
    """The three-layer network (pixels, parts, characters) storing ``patterns``.

    Parameters
    ----------
    patterns : array (K, side*side) of ``+-1``
        The glyphs: the characters layer stores one neuron per glyph.
    settings : dict, optional
        Overrides of :data:`HIERARCHY_SETTINGS`.
    dictionary : dict, optional
        A dictionary from :func:`learn_part_dictionary` (default: learned from
        ``patterns`` with the settings' patch, n_atoms, iterations and seed).

    Attributes
    ----------
    dictionary, code : the part dictionary and each glyph's code (K, P)
    W_parts : scipy.sparse CSR (P D, N) -- ``xi^(2,1)``
    W_chars : scipy.sparse CSR (K, P D) -- ``xi^(3,2)``
    lagrangians, taus : per layer (pixels, parts, characters)
    n_synapses : dict of nonzero weights per link and in all
    """

    def __init__(self, patterns, settings=None, dictionary=None):
        import scipy.sparse as sp

        unknown = set(settings or {}) - set(HIERARCHY_SETTINGS)
        if unknown:
            raise ValueError(f"unknown hierarchy setting(s) {sorted(unknown)}; known: {sorted(HIERARCHY_SETTINGS)}")
        self.settings = s = {**HIERARCHY_SETTINGS, **(settings or {})}
        for key in ("beta_parts", "beta_chars", "w_parts", "w_chars", "tau_pixels_ms", "tau_parts_ms",
                    "tau_chars_ms", "dt_ms", "duration_ms"):
            if not np.isfinite(s[key]) or s[key] <= 0:
                raise ValueError(f"setting {key} must be > 0 and finite, got {s[key]!r}")
        _check_dt(s["dt_ms"] * ms, [s[key] * ms for key in _TAU_SETTINGS], "dt (setting dt_ms)")
        self.patterns = check_patterns(patterns)
        self.dictionary = dictionary or learn_part_dictionary(self.patterns, s["patch"], s["n_atoms"],
                                                               s["iterations"], s["dictionary_seed"])
        atoms, positions = self.dictionary["atoms"], self.dictionary["positions"]
        if positions.max() >= self.patterns.shape[1]:
            raise ValueError("the dictionary's patches do not fit these patterns")
        self.n_positions, self.n_atoms, size = atoms.shape
        self.code = encode_parts(self.patterns, self.dictionary)
        k, n = self.patterns.shape
        n_parts = self.n_positions * self.n_atoms
        rows = np.repeat(np.arange(n_parts), size)
        cols = np.repeat(positions, self.n_atoms, axis=0).ravel()
        W1 = sp.csr_matrix((s["w_parts"] * atoms.ravel(), (rows, cols)), shape=(n_parts, n))
        W1.eliminate_zeros()
        part_of = np.arange(self.n_positions) * self.n_atoms + self.code  # (K, P)
        W2 = sp.csr_matrix((np.full(k * self.n_positions, s["w_chars"]),
                            (np.repeat(np.arange(k), self.n_positions), part_of.ravel())), shape=(k, n_parts))
        self.W_parts, self.W_chars = W1, W2
        self.lagrangians = (identity(), grouped_log_sum_exp(s["beta_parts"], self.n_atoms),
                            log_sum_exp(s["beta_chars"]))
        self.taus = (s["tau_pixels_ms"] * ms, s["tau_parts_ms"] * ms, s["tau_chars_ms"] * ms)
        self.n_synapses = {"pixels-parts": int(W1.nnz), "parts-characters": int(W2.nnz),
                           "total": int(W1.nnz + W2.nnz), "dense_entries": int(n_parts * n + k * n_parts)}
        self.sizes = (n, n_parts, k)
        self.side = self.dictionary.get("side", int(round(np.sqrt(n))))

    def reconstruction(self):
        """Each glyph as its parts draw it: ``sign(xi^(2,1)^T onehot(code))`` (the floor of the pixel error)."""
        onehot = np.zeros((len(self.patterns), self.sizes[1]))
        onehot[np.arange(len(self.patterns))[:, None],
               np.arange(self.n_positions) * self.n_atoms + self.code] = 1.0
        return np.sign(np.asarray(self.W_parts.T @ onehot.T).T)

    def network(self, **kwargs):
        """The Brian2 :class:`~hippo_dam.networks.hierarchical.HierarchicalAssociativeMemory` (dense weights; zeros are no
        synapses). ``kwargs``: ``dt`` (default the settings'), ``record_every``, ``codegen_target``, ``dtype``."""
        kwargs.setdefault("dt", self.settings["dt_ms"] * ms)
        layers = [Layer(n, lag, tau, name) for n, lag, tau, name in
                  zip(self.sizes, self.lagrangians, self.taus, ("pixels", "parts", "characters"))]
        return HierarchicalAssociativeMemory(layers, [self.W_parts.toarray(), self.W_chars.toarray()],
                                             patterns={0: self.patterns}, **kwargs)

    def check_cue(self, cue):
        """A cue (N,) or batch (B, N) of pixel values in [-1, 1] (+1 ink, -1 background, 0 unknown), as 2-D.

        Raises ``ValueError`` naming the cue's shape (it must have ``N``
        pixels), a NaN or inf, or values outside [-1, 1] (an image of grey
        levels 0..255, say: binarise it to +-1 first).
        """
        n, shape = self.sizes[0], np.shape(cue)
        cue, _, _ = check_cue(cue, None, n, f" (pixels of the {self.side}x{self.side} glyphs, flattened)")
        if cue.min() < -1 or cue.max() > 1:
            raise ValueError(f"cue (shape {shape}) must hold pixel values in [-1, 1] (+1 ink, -1 background, "
                             f"0 unknown; see partial_cue), got values in [{cue.min():g}, {cue.max():g}]")
        return cue

    def initial_states(self, cue):
        """``[v0, x0, h0]``: pixels at the cue (unknown 0), parts and characters at 0."""
        cue = self.check_cue(cue)
        return [cue, np.zeros((len(cue), self.sizes[1])), np.zeros((len(cue), self.sizes[2]))]

    def run(self, cue, duration=None, dt=None, record=False):
        """Integrate from a batch of cues (numpy, sparse); returns ``[pixels, parts, characters]`` states
        (final, or every step with ``record=True``: arrays (n_steps + 1, B, n_A))."""
        dt = _check_dt(self.settings["dt_ms"] * ms if dt is None else dt, self.taus)
        duration = check_tau(self.settings["duration_ms"] * ms if duration is None else duration, "duration")
        return hierarchy_reference(self.lagrangians, self.taus, [self.W_parts, self.W_chars],
                                   self.initial_states(cue), dt, int(round(float(duration / dt))), record=record)

    def energy(self, states):
        """Energy of layer states ``[v, x, h]`` (each (..., n_A)), no input current."""
        acts = [lag.activation(x) for lag, x in zip(self.lagrangians, states)]
        E = sum(lag.legendre(x) for lag, x in zip(self.lagrangians, states))
        for A, W in enumerate((self.W_parts, self.W_chars)):
            lower = acts[A].reshape(-1, acts[A].shape[-1])
            up = np.asarray(W @ lower.T).T.reshape(acts[A + 1].shape)
            E = E - np.sum(acts[A + 1] * up, axis=-1)
        return E


def hierarchy_reference(lagrangians, taus, weights, x0, dt, n_steps, I=None, record=False):
    """Explicit Euler of a chain of layers with (possibly scipy.sparse) weights, numpy::

        x_A <- x_A + (dt / tau_A) (W_(A-1) a_(A-1) + W_A^T a_(A+1) - x_A + I_A)

    The same scheme as :func:`hippo_dam.graph_reference` for links ``(A, A+1,
    W_A)``, written for a batch ``(B, n_A)`` and sparse matrices.

    Returns a list of final states ``(B, n_A)``, or with ``record=True`` of
    arrays ``(n_steps + 1, B, n_A)``.
    """
    to_s = lambda q: float(q / ms) / 1e3 if hasattr(q, "dim") else float(q)  # noqa: E731
    rates = [to_s(dt) / to_s(tau) for tau in taus]
    if not all(np.isfinite(r) and 0 < r < 1 for r in rates):
        raise ValueError(f"dt={dt} must be > 0 and smaller than every layer's time constant, got taus={list(taus)}")
    xs = [np.array(x, dtype=float) for x in x0]
    I = [0.0] * len(xs) if I is None else [np.asarray(i, float) for i in I]
    traces = [[x] for x in xs] if record else None
    for _ in range(int(n_steps)):
        acts = [lag.activation(x) for lag, x in zip(lagrangians, xs)]
        u = [np.zeros_like(x) for x in xs]
        for A, W in enumerate(weights):
            u[A + 1] += np.asarray(W @ acts[A].T).T
            u[A] += np.asarray(W.T @ acts[A + 1].T).T
        xs = [x + r * (uu - x + i) for x, r, uu, i in zip(xs, rates, u, I)]
        if record:
            for tr, x in zip(traces, xs):
                tr.append(x)
    return [np.stack(tr) for tr in traces] if record else xs


def _scores(patterns, v_final, top, cues, known):
    """Completion metrics of final pixel states ``v_final`` (B, N) and top-layer states ``top`` (B, K or None)."""
    s = np.sign(v_final)
    target = patterns[cues]
    ham = hamming(s, target)
    hidden = ~np.broadcast_to(known, s.shape)
    wrong = s != target
    nearest = np.argmax(s @ patterns.T, axis=1)
    out = {"success": float(np.mean(ham == 0)), "n_success": int(np.sum(ham == 0)),
           "retrieved_correct": float(np.mean(nearest == cues)), "n_retrieved": int(np.sum(nearest == cues)),
           "pixel_error": float(np.mean(wrong)),
           "hidden_pixel_error": float(np.sum(wrong & hidden) / hidden.sum()) if hidden.any() else None}
    if top is not None:
        out["identified"] = float(np.mean(np.argmax(top, axis=1) == cues))
    return out


def _cues(patterns, cues, visible, fraction, noise, seed):
    k, n = patterns.shape
    side = int(round(np.sqrt(n)))
    cues = np.arange(k) if cues is None else np.asarray(cues, dtype=int)
    if cues.ndim != 1 or cues.size == 0 or cues.min() < 0 or cues.max() >= k:
        raise ValueError(f"cues must be a non-empty 1-D array of indices in [0, {k})")
    cue, known = partial_cue(patterns[cues], visible, (side, side), fraction, noise, seed)
    return cues, cue, known


def kanji_hierarchy_completion(n_patterns=2136, visible="top", fraction=0.5, noise=0.0, cues=None, chunk=256,
                               seed=0, settings=None, patterns=None, hierarchy=None):
    """Store ``n_patterns`` kanji in the hierarchy, cue them, and measure the completions (numpy reference).

    Parameters
    ----------
    n_patterns : int
        The first ``K`` Joyo kanji are stored (ignored when ``hierarchy`` is given).
    visible, fraction, noise, seed : the cue, as :func:`hippo_dam.data.patterns.partial_cue` (the two-layer
        experiment's conventions: top half visible, or ``fraction=1`` with ``noise`` flips).
    cues : int array, optional
        Glyphs to cue (default all).
    chunk : int
        Cues integrated together (bounds memory).
    settings : dict, optional
        Overrides of :data:`HIERARCHY_SETTINGS`.
    patterns : array, optional
        Glyphs to use instead of the shipped kanji.
    hierarchy : KanjiHierarchy, optional
        A network built earlier (its dictionary is reused).

    Returns
    -------
    dict: ``success`` (every pixel of ``sign(v)`` right), ``retrieved_correct``
    (the stored glyph nearest to ``sign(v)`` is the target), ``identified``
    (the most active character neuron is the target), ``pixel_error``,
    ``hidden_pixel_error`` (over unknown pixels; None without), the
    dictionary's ``reconstruction_error`` (pixel error of the glyphs as their
    codes draw them: the floor), ``n_synapses``, ``nn_limit``,
    ``wall_time_s`` and the settings.
    """
    if isinstance(chunk, bool) or int(chunk) < 1 or int(chunk) != chunk:
        raise ValueError(f"chunk must be a whole number >= 1, got {chunk!r}")
    if hierarchy is None:
        patterns = load_kanji("joyo", n_patterns)[0] if patterns is None else check_patterns(patterns)[:n_patterns]
        start = time.perf_counter()
        hierarchy = KanjiHierarchy(patterns, settings)
        build = time.perf_counter() - start
    else:
        patterns, build = hierarchy.patterns, 0.0
    cues, cue, known = _cues(patterns, cues, visible, fraction, noise, seed)
    start = time.perf_counter()
    v_final = np.empty(cue.shape)
    h_final = np.empty((len(cues), len(patterns)))
    for lo in range(0, len(cues), chunk):
        v, _, h = hierarchy.run(cue[lo:lo + chunk])
        v_final[lo:lo + chunk], h_final[lo:lo + chunk] = v, h
    wall = time.perf_counter() - start
    recon = hierarchy.reconstruction()
    nn = nearest_neighbour_limit(patterns, known, cue=cue, targets=cues)
    return {"model": "hierarchy (pixels, parts, characters)", "n_patterns": len(patterns), "n_cues": len(cues),
            "visible": visible, "fraction": fraction, "noise": noise, "seed": seed,
            **_scores(patterns, v_final, h_final, cues, known),
            "reconstruction_error": float(np.mean(recon != patterns)),
            "n_distinct_codes": int(len(np.unique(hierarchy.code, axis=0))),
            "n_synapses": hierarchy.n_synapses["total"], "synapses": hierarchy.n_synapses,
            "neurons": dict(zip(("pixels", "parts", "characters"), map(int, hierarchy.sizes))),
            "nn_limit": nn["fraction"], "wall_time_s": wall, "build_time_s": build,
            "settings": hierarchy.settings, "v_final": v_final, "cues": cues}


def two_layer_completion(patterns, visible="top", fraction=0.5, noise=0.0, cues=None, chunk=256, seed=0,
                         pixels=None, n_memories=None, model="B, beta=0.1", beta_scale=True):
    """The two-layer model (pixels, memories = glyphs) on the same cues, optionally cut to a synapse budget.

    ``pixels``: indices of the pixels the network has (default all): memories
    connect to those only (``xi = patterns[:, pixels]``); every other pixel
    keeps its cue value (0 if unknown). ``n_memories``: store only the first
    ``n_memories`` glyphs (all ``K`` are still cued). With ``beta_scale`` the
    softmax's ``beta`` is multiplied by ``N / len(pixels)`` so the overlaps
    (which scale with the number of pixels) are as sharp as at full size.
    Integration: :func:`hippo_dam.euler_reference` with :data:`hippo_dam.experiments.kanji.KANJI_TIMING`.

    Returns the metrics of :func:`kanji_hierarchy_completion` (``identified``:
    the most active memory is the target) and ``n_synapses``.
    """
    from ..core.lagrangians import make_lagrangian
    from ..core.reference import euler_reference

    patterns = check_patterns(patterns)
    k, n = patterns.shape
    pixels = np.arange(n) if pixels is None else np.sort(np.asarray(pixels, dtype=int))
    stored = k if n_memories is None else int(n_memories)
    if not 1 <= stored <= k or pixels.size < 1:
        raise ValueError(f"n_memories must be in [1, {k}] and pixels non-empty")
    cues, cue, known = _cues(patterns, cues, visible, fraction, noise, seed)
    feat, mem = kanji_model(model)
    if beta_scale and "beta" in mem.params and len(pixels) != n:
        mem = make_lagrangian({"name": mem.name, "beta": mem.params["beta"] * n / len(pixels)})
    xi = patterns[:stored][:, pixels]
    tm = KANJI_TIMING
    n_steps = int(round(tm["duration"] / tm["dt"]))
    start = time.perf_counter()
    v_final = cue.copy()
    top = np.empty((len(cues), stored))
    for lo in range(0, len(cues), chunk):
        sl = slice(lo, lo + chunk)
        v, h = euler_reference(xi, feat, mem, tm["tau_f"], tm["tau_h"], cue[sl][:, pixels],
                               np.zeros((len(cue[sl]), stored)), tm["dt"], n_steps, record=False)
        v_final[sl, pixels] = v
        top[sl] = h
    wall = time.perf_counter() - start
    top_full = np.full((len(cues), k), -np.inf)
    top_full[:, :stored] = top
    return {"model": f"two-layer {model}", "n_patterns": k, "n_memories": stored, "n_pixels": int(len(pixels)),
            "beta": mem.params.get("beta"), "n_cues": len(cues), "visible": visible, "fraction": fraction,
            "noise": noise, "seed": seed, **_scores(patterns, v_final, top_full, cues, known),
            "n_synapses": int(stored * len(pixels)), "wall_time_s": wall, "v_final": v_final, "cues": cues}


#: Cue conditions of the comparison: name -> (visible, fraction, noise).
CUE_CONDITIONS = {"top half": ("top", 0.5, 0.0), "15% flipped": ("top", 1.0, 0.15)}


def compare_at_equal_synapses(n_patterns=2136, conditions=None, cues=None, settings=None, budget_seed=0, log=None,
                              keep_states=False):
    """The hierarchy against the two-layer model, at its natural size and at the hierarchy's synapse budget.

    For each cue condition (:data:`CUE_CONDITIONS`): the hierarchy; the
    two-layer model with all ``K x 4096`` synapses; and two two-layer models
    with (at most) the hierarchy's number of nonzero weights ``S``:
    ``'two-layer, fewer pixels'`` (every memory sees the same random
    ``floor(S / K)`` pixels, seeded by ``budget_seed``; ``beta`` scaled to the
    pixel count) and ``'two-layer, fewer memories'`` (only the first
    ``floor(S / 4096)`` glyphs stored).

    Returns ``{"rows": [...], "hierarchy": {...}, "budget": {...}}``; rows without
    the state arrays unless ``keep_states``.
    """
    patterns = load_kanji("joyo", n_patterns)[0]
    k, n = patterns.shape
    conditions = CUE_CONDITIONS if conditions is None else conditions
    start = time.perf_counter()
    hier = KanjiHierarchy(patterns, settings)
    build = time.perf_counter() - start
    S = hier.n_synapses["total"]
    sub = np.sort(np.random.default_rng(budget_seed).choice(n, S // k, replace=False))
    rows = []
    for name, (visible, fraction, noise) in conditions.items():
        kw = dict(visible=visible, fraction=fraction, noise=noise, cues=cues)
        runs = [kanji_hierarchy_completion(hierarchy=hier, **kw),
                two_layer_completion(patterns, **kw),
                dict(two_layer_completion(patterns, pixels=sub, **kw), model="two-layer, fewer pixels"),
                dict(two_layer_completion(patterns, n_memories=S // n, **kw), model="two-layer, fewer memories")]
        runs[0]["build_time_s"] = build
        for r in runs:
            r["condition"] = name
            if not keep_states:
                r.pop("v_final"), r.pop("cues")
            rows.append(r)
            if log is not None:
                log(f"{name:>12s} {r['model']:<40s} synapses {r['n_synapses']:>9,d} identified "
                    f"{r['identified']:.4f} retrieved {r['retrieved_correct']:.4f} exact {r['success']:.4f} "
                    f"pixel error {r['pixel_error']:.4f} ({r['wall_time_s']:.1f} s)")
    return {"rows": rows, "budget": {"hierarchy_synapses": S, "fewer_pixels": int(len(sub)),
                                     "fewer_pixels_synapses": int(len(sub) * k), "fewer_memories": S // n,
                                     "fewer_memories_synapses": int(S // n * n), "full_two_layer_synapses": k * n,
                                     "budget_seed": budget_seed},
            "hierarchy": {"synapses": hier.n_synapses, "neurons": dict(zip(("pixels", "parts", "characters"),
                                                                             map(int, hier.sizes))),
                          "reconstruction_error": float(np.mean(hier.reconstruction() != patterns)),
                          "n_distinct_codes": int(len(np.unique(hier.code, axis=0))),
                          "n_distinct_patches_per_position": hier.dictionary["n_distinct"].tolist(),
                          "settings": hier.settings, "build_time_s": build}}
