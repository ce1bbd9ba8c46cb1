"""Storage capacity of the effective models: measured, searched and compared with theory.

Random ``+-1`` patterns, ``N`` feature neurons, ``K`` stored patterns. A probed
pattern counts as a success under one of two criteria:

``'stable'``
    every one of its ``N`` bits is kept by one asynchronous update started at
    the pattern (:func:`hippo_dam.dam_stability_margins`; a tie keeps the bit).
    This is the criterion of Krotov & Hopfield (2016), whose estimate is
    ``K_max = N^(n-1) / (2 (2n-3)!! ln N)`` for ``F = x^n`` (``n = 2``: the
    classical net, ``N / (2 ln N)``).
``'retrieval'``
    asynchronous dynamics started from the pattern with a fraction ``flip`` of
    its bits flipped reach a fixed point whose overlap with the pattern is at
    least ``min_overlap``. For the classical net with ``flip = 0`` and
    ``min_overlap = 0.9`` this is the retrieval capacity of Amit, Gutfreund &
    Sompolinsky (1985), ``K = 0.138 N``: below it the retrieval state has
    overlap >= 0.967 (<= 1.6% wrong bits), above it the overlap collapses
    (to about 0.3), so any threshold between them measures the same thing.

The capacity is the largest ``K`` at which at least ``target = 99%`` of the
probed patterns (pooled over seeds) succeed. :func:`capacity_point` measures
one ``(model, N, K, seed)``; :func:`capacity_search` scans ``K`` for one ``N``
(coarse, then fine); :func:`capacity_curve` does it for several ``N``, running
the points through the ``map`` it is given (a plain loop by default,
:func:`hippo_dam.sweeps.engine.sweep_map` for Dask); :func:`fit_exponent` fits the scaling.

Models: ``'classical'`` (binary Hopfield, ``T = xi^T xi`` with zero diagonal),
``'power'`` (``F = x^n``, plain, as in Krotov & Hopfield's formula),
``'rectified_power'`` (``F = max(x, 0)^n``) and ``'exp'``
(``F = exp(beta x)``, Demircigil et al. 2017). The microscopic two-layer
network with ``N_h`` memory neurons stores one pattern per memory neuron, so
its capacity is ``min(N_h, K_eff)`` (:func:`capacity_theory` with ``n_hidden``).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from .effective import dam_async, dam_stability_margins, hopfield_async, hopfield_weights
from ..data.patterns import random_patterns

__all__ = ["MODELS", "capacity_point", "capacity_theory", "capacity_search", "capacity_curve", "fit_exponent",
           "z_score_99"]

MODELS = ("classical", "power", "rectified_power", "exp")


def _double_factorial(k):
    return math.prod(range(k, 0, -2)) if k > 0 else 1


def _check(model, n_features, n_patterns, flip, criterion, degree, beta):
    if model not in MODELS:
        raise ValueError(f"unknown capacity model {model!r}; known: {MODELS}")
    if int(n_features) < 2 or int(n_patterns) < 1:
        raise ValueError(f"need N >= 2 features and K >= 1 patterns, got N={n_features}, K={n_patterns}")
    if not 0 <= flip < 0.5:
        raise ValueError(f"flip must lie in [0, 0.5), got {flip}")
    if criterion not in ("stable", "retrieval"):
        raise ValueError(f"criterion must be 'stable' or 'retrieval', got {criterion!r}")
    if criterion == "stable" and flip > 0:
        raise ValueError("criterion 'stable' tests the stored patterns themselves: flip must be 0 "
                         "(use criterion='retrieval' for cues with flipped bits)")
    if model in ("power", "rectified_power") and (int(degree) != degree or degree < 2):
        raise ValueError(f"degree must be an integer >= 2, got {degree}")
    if model == "exp" and not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be positive, got {beta}")


def capacity_point(model: str, n_features: int, n_patterns: int, seed: int, flip: float = 0.0,
                   criterion: str = "stable", degree: int = 2, beta: float = 1.0, n_probe: int = 100,
                   min_overlap: float = 1.0, max_sweeps: int = 30) -> dict:
    """Store ``K`` random patterns in ``N`` neurons and test ``n_probe`` of them.

    Parameters
    ----------
    model : {'classical', 'power', 'rectified_power', 'exp'}
    n_features, n_patterns : int
        ``N`` and ``K``.
    seed : int
        Seeds the patterns, the cues and the update order.
    flip : float
        Fraction of bits flipped in each cue (``'retrieval'`` only).
    criterion : {'stable', 'retrieval'}
        See the module docstring.
    degree : int
        ``n`` of ``F = x^n`` (ignored by 'classical', which is ``n = 2``, and 'exp').
    beta : float
        Of ``F = exp(beta x)``.
    n_probe : int
        Patterns tested. When ``K < n_probe``, ``ceil(n_probe / K)``
        independent pattern sets are stored one after the other and all their
        patterns probed, so every point has the same statistics.
    min_overlap : float
        ``'retrieval'``: least final overlap that counts as retrieved (1 = exact).
    max_sweeps : int
        ``'retrieval'``: cap on asynchronous sweeps.

    Returns
    -------
    dict of scalars
        ``success`` (fraction of probed patterns that succeed), ``n_success``,
        ``n_probed``, ``mean_overlap`` (final overlap for 'retrieval'; overlap
        of the one-step updated pattern for 'stable'), ``bit_error`` (fraction
        of wrong bits), ``load`` (``K/N``), ``converged`` (fraction of
        'retrieval' runs that reached a fixed point; 1 for 'stable').
    """
    _check(model, n_features, n_patterns, flip, criterion, degree, beta)
    n, k = int(n_features), int(n_patterns)
    rng = np.random.default_rng([int(seed), n, k])
    interaction = "power" if model == "classical" else model
    degree = 2 if model == "classical" else int(degree)
    n_probe = int(n_probe)
    if n_probe < 1:
        raise ValueError(f"n_probe must be >= 1, got {n_probe}")
    ok, overlap, wrong, converged = [], [], [], []
    done = 0
    while done < n_probe:  # as many independent pattern sets as it takes to probe n_probe patterns
        xi = random_patterns(k, n, seed=rng)
        probe = np.arange(min(n_probe - done, k))
        done += len(probe)
        if criterion == "stable":
            margins = dam_stability_margins(xi, probe, interaction, degree, beta)
            bad = margins < 0  # 0 is a tie: the bit is kept
            m = 1 - 2 * bad.mean(axis=1)
            conv = np.ones(len(probe), bool)
            good = ~bad.any(axis=1)
        else:
            cues = xi[probe].copy()
            n_flip = int(round(flip * n))
            if n_flip:
                idx = np.argsort(rng.random((len(probe), n)), axis=1)[:, :n_flip]
                np.put_along_axis(cues, idx, -np.take_along_axis(cues, idx, axis=1), axis=1)
            if model == "classical":
                final, _, conv = hopfield_async(hopfield_weights(xi), cues, max_sweeps=max_sweeps, seed=rng)
            else:
                final, _, conv = dam_async(xi, cues, interaction, degree, beta, max_sweeps=max_sweeps, seed=rng)
            m = np.sum(final * xi[probe], axis=1) / n
            bad = final != xi[probe]
            good = m >= min_overlap - 1e-12
        ok.append(good)
        overlap.append(m)
        wrong.append(bad.mean(axis=1))
        converged.append(np.broadcast_to(conv, good.shape))
    ok, overlap, wrong, converged = (np.concatenate(a) for a in (ok, overlap, wrong, converged))
    return {
        "success": float(ok.mean()),
        "n_success": int(ok.sum()),
        "n_probed": int(len(ok)),
        "n_sets": int(-(-n_probe // k)),
        "mean_overlap": float(overlap.mean()),
        "bit_error": float(wrong.mean()),
        "load": k / n,
        "converged": float(np.mean(converged)),
    }


def z_score_99(n_features, target=0.99):
    """``z`` with ``N Phi(-z) = -ln(target)``: the signal-to-noise ratio at which a
    pattern of ``N`` independent Gaussian bits is stable with probability ``target``.

    ``z^2 -> 2 ln N`` as ``N -> infinity`` (the ``ln N`` of the capacity formulas).
    """
    n = np.asarray(n_features, float)
    return -ndtri(-np.log(target) / n)


def capacity_theory(model, n_features, criterion="stable", degree=2, beta=1.0, n_hidden=None, finite_size=False,
                    target=0.99):
    """Theoretical capacity ``K_max(N)``.

    * ``'classical'``, ``'retrieval'``: ``0.138 N`` (Amit, Gutfreund & Sompolinsky 1985).
    * ``'classical'`` / ``'power'``, ``'stable'``: ``N^(n-1) / (2 (2n-3)!! ln N)``
      (Krotov & Hopfield 2016; ``n = 2``: ``N / (2 ln N)``). With
      ``finite_size=True``, ``2 ln N`` is replaced by ``z^2`` of
      :func:`z_score_99`, the signal-to-noise ratio at which a pattern is
      stable with probability ``target`` for Gaussian noise (same asymptotics).
    * ``'rectified_power'``: twice the plain power (rectification removes the
      noise of the patterns with negative overlap, halving its variance; our
      estimate, same scaling).
    * ``'exp'``: ``2^(N/2)`` (Demircigil et al. 2017: exponential in ``N``; the
      constant depends on the criterion and ``beta``; this is the scale of
      the design brief, not a bound). With ``finite_size=True``,
      ``2 (1 - target) 2^N / N``: our estimate of the 'stable' capacity at
      ``beta ~ 1`` and small ``N``, limited by patterns that have a stored
      neighbour one bit away.
    * ``n_hidden``: the microscopic network can hold at most ``N_h`` patterns,
      so the result is ``min(N_h, K)``.
    """
    n = np.asarray(n_features, float)
    if model == "classical" and criterion == "retrieval":
        k = 0.138 * n
    elif model in ("classical", "power", "rectified_power"):
        deg = 2 if model == "classical" else int(degree)
        denom = z_score_99(n, target) ** 2 if finite_size else 2 * np.log(n)
        k = n ** (deg - 1) / (_double_factorial(2 * deg - 3) * denom)
        if model == "rectified_power":
            k = 2 * k
    elif model == "exp":
        # finite_size: a pattern with a stored neighbour at Hamming distance 1 (probability ~ K N 2^-N)
        # is left with a tie-level margin and fails about half the time, so K_target ~ 2 (1 - target) 2^N / N
        # (our estimate, dominant for beta ~ 1 at N <~ 30); otherwise the design brief's 2^(N/2).
        k = 2 * (1 - target) * 2.0 ** n / n if finite_size else 2.0 ** (n / 2)
    else:
        raise ValueError(f"unknown capacity model {model!r}; known: {MODELS}")
    if n_hidden is not None:
        k = np.minimum(k, float(n_hidden))
    return k


def plain_map(function, calls):
    """``[function(**call) for call in calls]``: the default ``map`` of :func:`capacity_search`."""
    return [function(**call) for call in calls]


def _evaluate(points, seeds, fixed, map):
    """Pooled success fraction for each ``(n_features, n_patterns)`` in ``points``.

    ``fixed`` holds the parameters shared by all points; every (point, seed)
    is one call of :func:`capacity_point` through ``map``.
    """
    points = sorted({(int(n), int(k)) for n, k in points})
    calls = [dict(n_features=n, n_patterns=k, seed=int(s), **fixed) for n, k in points for s in seeds]
    results = list(map(capacity_point, calls))
    if len(results) != len(calls):
        raise ValueError(f"map returned {len(results)} results for {len(calls)} calls; it must return one per call, "
                         "in order")
    success, probed = {}, {}
    for call, res in zip(calls, results):
        key = (call["n_features"], call["n_patterns"])
        success[key] = success.get(key, 0) + float(res["n_success"])
        probed[key] = probed.get(key, 0) + float(res["n_probed"])
    return {key: success[key] / probed[key] for key in success}


def capacity_search(model, n_features, seeds=(0,), target=0.99, criterion="stable", flip=0.0, degree=2,
                    beta=1.0, n_probe=1000, min_overlap=1.0, coarse=np.geomspace(0.25, 2.0, 10), n_fine=8,
                    map=plain_map, use_sweep=None, n_features_list=None):
    """Largest ``K`` with pooled success >= ``target``, for one or several ``N``.

    Two scans of ``K``: a coarse one at ``coarse * capacity_theory(N, finite_size=True)``, then
    ``n_fine`` values evenly spaced between the last coarse ``K`` that passes
    (every smaller coarse ``K`` passing too) and the first that fails. The
    capacity is the largest fine ``K`` below the first failing one, so its
    resolution is ``(K_fail - K_pass) / (n_fine + 1)``.

    Parameters
    ----------
    model, criterion, flip, degree, beta, n_probe, min_overlap : see :func:`capacity_point`
    n_features : int or sequence of int
    seeds : sequence of int
        Independent pattern sets; success is pooled over them.
    map : callable
        ``map(function, calls) -> list``: one ``function(**call)`` per call, in
        order. The default is a plain loop; ``hippo_dam.sweep_map(scheduler)``
        runs the calls as stored, resumable Dask sweeps (on a cluster too).
        This module imports neither Brian2 nor the sweep engine.
    use_sweep : None
        Removed: pass ``map=hippo_dam.sweep_map(...)`` (or nothing, for a plain loop).

    Returns
    -------
    dict
        ``n_features`` -> ``{'capacity', 'k_fail', 'theory', 'scan': {K: success}}``.
    """
    if use_sweep is not None:
        raise TypeError("capacity_search no longer takes use_sweep: pass map=hippo_dam.sweep_map(scheduler=...) to "
                        "run the points as a Dask sweep, or nothing for a plain loop")
    if not callable(map):
        raise TypeError(f"map must be a callable map(function, calls) -> list, got {type(map).__name__}")
    ns = [int(n_features)] if np.ndim(n_features) == 0 else [int(n) for n in n_features]
    fixed = {"model": model, "criterion": criterion, "flip": float(flip), "degree": int(degree),
             "beta": float(beta), "n_probe": int(n_probe), "min_overlap": float(min_overlap)}
    _check(model, ns[0], 1, flip, criterion, degree, beta)
    theory = {n: float(capacity_theory(model, n, criterion, degree, beta)) for n in ns}
    center = {n: float(capacity_theory(model, n, criterion, degree, beta, finite_size=True)) for n in ns}
    grid1 = {n: sorted({max(1, int(round(f * center[n]))) for f in coarse}) for n in ns}
    res = _evaluate([(n, k) for n in ns for k in grid1[n]], seeds, fixed, map)
    bracket = {}
    for n in ns:
        ks = grid1[n]
        fail = next((k for k in ks if res[(n, k)] < target), None)
        if fail is None:
            raise RuntimeError(f"{model} N={n}: every K up to {ks[-1]} passed; widen the coarse scan")
        if fail == ks[0]:
            if ks[0] == 1:
                raise RuntimeError(f"{model} N={n}: even K=1 fails")
            raise RuntimeError(f"{model} N={n}: the smallest K={ks[0]} fails; lower the coarse scan")
        bracket[n] = (ks[ks.index(fail) - 1], fail)
    fine = {n: sorted({int(round(k)) for k in np.linspace(*bracket[n], n_fine + 2)[1:-1]} - set(bracket[n]))
            for n in ns}
    res.update(_evaluate([(n, k) for n in ns for k in fine[n]], seeds, fixed, map))
    out = {}
    for n in ns:
        ks = sorted([k for k in grid1[n] + fine[n]])
        first_fail = next(k for k in ks if res[(n, k)] < target)
        passing = [k for k in ks if k < first_fail]
        out[n] = {"capacity": int(passing[-1]), "k_fail": int(first_fail), "theory": theory[n],
                  "scan": {int(k): float(res[(n, k)]) for k in ks}}
    return out


def capacity_curve(model, n_features_list, **kwargs):
    """:func:`capacity_search` for each ``N``; returns arrays ``N``, capacity, theory and the raw result."""
    res = capacity_search(model, n_features_list, **kwargs)
    ns = np.array(sorted(res))
    return {"n_features": ns, "capacity": np.array([res[n]["capacity"] for n in ns]),
            "theory": np.array([res[n]["theory"] for n in ns]), "detail": res}


def fit_exponent(n_features, capacity, correction=None, target=0.99):
    """Slope of ``log(K c(N))`` against ``log N`` (least squares).

    ``correction``: None (plain ``log K``), ``'lnN'`` (``c = 2 ln N``, the
    asymptotic formula's log) or ``'z2'`` (``c = z^2`` of :func:`z_score_99`,
    its finite-size form). For ``F = x^n`` the theory gives slope ``n - 1``
    with either correction.

    Returns
    -------
    slope, intercept
    """
    n = np.asarray(n_features, float)
    k = np.asarray(capacity, float)
    if correction is None:
        c = 1.0
    elif correction == "lnN":
        c = 2 * np.log(n)
    elif correction == "z2":
        c = z_score_99(n, target) ** 2
    else:
        raise ValueError(f"correction must be None, 'lnN' or 'z2', got {correction!r}")
    slope, intercept = np.polyfit(np.log(n), np.log(k * c), 1)
    return float(slope), float(intercept)
