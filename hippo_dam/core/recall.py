"""Quality of recall: overlaps, Hamming distances, retrieved pattern, success.

The overlap of a state with stored pattern ``xi_mu`` (``+-1`` entries) is
``m_mu = xi_mu . sigma / N`` with ``sigma = sign(state)`` (Amit et al. 1985),
so ``m = 1`` means the pattern is retrieved exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["overlaps", "hamming", "retrieved_index", "RecallQuality", "recall_quality"]


def overlaps(patterns, states):
    """``m[..., mu] = sum_i xi[mu,i] sign(state[..., i]) / N``.

    Parameters
    ----------
    patterns : array (K, N)
    states : array (..., N)

    Returns
    -------
    array (..., K), in [-1, 1].
    """
    patterns = np.asarray(patterns)
    if patterns.dtype.kind != "f":
        patterns = patterns.astype(float)
    # states are cast to the patterns' dtype (not the reverse): no copy of a large pattern set
    return np.sign(np.asarray(states, dtype=float)).astype(patterns.dtype) @ patterns.T / patterns.shape[1]


def hamming(a, b):
    """Number of entries where ``sign(a) != sign(b)`` (last axis); a zero counts as wrong."""
    return np.sum(np.sign(np.asarray(a, float)) != np.sign(np.asarray(b, float)), axis=-1)


def retrieved_index(patterns, states):
    """Index of the stored pattern with the largest overlap, for each state."""
    return np.argmax(overlaps(patterns, states), axis=-1)


@dataclass
class RecallQuality:
    """Recall quality of one final state or a batch of them.

    Attributes
    ----------
    overlap : array (..., K)     overlaps with every stored pattern
    target : array (...)         index of the pattern that was cued
    retrieved : array (...)      index with the largest overlap
    hamming : array (...)        bits differing from the target
    success : array (...) bool   retrieved == target and hamming <= tolerance
    tolerance : int
    """

    overlap: np.ndarray
    target: np.ndarray
    retrieved: np.ndarray
    hamming: np.ndarray
    success: np.ndarray
    tolerance: int

    @property
    def target_overlap(self):
        return np.take_along_axis(self.overlap, np.asarray(self.target)[..., None], axis=-1)[..., 0]

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success))


def recall_quality(patterns, states, target, tolerance=0):
    """Recall quality of ``states`` (..., N) cued from ``patterns[target]``.

    ``tolerance`` is the number of wrong bits still counted as success (0: exact).
    """
    patterns = np.asarray(patterns)
    if patterns.dtype.kind != "f":
        patterns = patterns.astype(float)
    states = np.asarray(states, dtype=float)
    target = np.asarray(target, dtype=int)
    if np.any(target < 0) or np.any(target >= len(patterns)):
        raise ValueError(f"target index out of range for {len(patterns)} patterns: {target}")
    m = overlaps(patterns, states)
    dist = hamming(states, patterns[target])
    retrieved = np.argmax(m, axis=-1)
    return RecallQuality(m, target, retrieved, dist, (retrieved == target) & (dist <= tolerance), int(tolerance))
