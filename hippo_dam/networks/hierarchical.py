"""The Hierarchical Associative Memory (Krotov 2021, arXiv 2107.06446).

``N_layer`` layers ``A = 1..N_layer``, each with its own Lagrangian ``L_A``
(additive or not) and time constant ``tau_A``, joined only to their
neighbours; the feedforward weights are the feedback weights::

    tau_A dx^A/dt = xi^(A,A-1) g^(A-1) + xi^(A+1,A)^T g^(A+1) - x^A + I^A        g^A = dL_A/dx^A

with the boundary conditions of the paper: no layer below the first
(``xi^(1,0) = 0``: the first layer receives the input ``I^1``, or is clamped
to it) and none above the last (``xi^(N+1,N) = 0``). The energy::

    E = sum_A [ sum_i (x^A_i - I^A_i) g^A_i - L_A(x^A) ] - sum_A sum_{i,j} g^(A+1)_i xi^(A+1,A)_ij g^A_j

never rises: ``dE/dt = -sum_A tau_A x'^A . Hess(L_A) . x'^A <= 0`` (every
Hessian PSD; ``tau_A`` one number per non-additive layer). With two layers it
is the two-layer model of Krotov & Hopfield (2021), equal to
:class:`~hippo_dam.networks.two_layer.DenseAssociativeMemory`.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms

from .graph_memory import GraphMemory, Layer
from ..data.patterns import check_patterns

__all__ = ["HierarchicalAssociativeMemory"]


class HierarchicalAssociativeMemory(GraphMemory):
    """A stack of layers with symmetric weights between neighbours, simulated by Brian2.

    Parameters
    ----------
    layers : list of Layer
        Bottom (``layers[0]``, the visible layer) to top.
    weights : list of arrays
        ``weights[A]`` is ``xi^(A+1,A)`` of shape ``(layers[A+1].n, layers[A].n)``,
        used feedforward (``xi g^A`` into layer ``A+1``) and feedback
        (``xi^T g^(A+1)`` into layer ``A``).
    patterns : dict {layer: array (K, n)}, optional
        Stored patterns of a layer, to score recalls cued there.
    **kwargs
        ``dt``, ``record_every``, ``energy_every``, ``codegen_target``,
        ``dtype`` as in :class:`~hippo_dam.networks.graph_memory.GraphMemory`.

    Examples
    --------
    >>> net = HierarchicalAssociativeMemory(
    ...     [Layer(64, "tanh", 20*ms, "pixels"), Layer(32, "tanh", 5*ms, "parts"),
    ...      Layer(10, {"name": "log_sum_exp", "beta": 2.0}, 2*ms, "labels")],
    ...     [xi_10, xi_21])                                              # doctest: +SKIP
    >>> result = net.recall(cue, known, layer="pixels", clamp=True)     # doctest: +SKIP
    >>> result.extra["labels"]["final"]                                  # doctest: +SKIP
    """

    kind = "hierarchical"

    def __init__(self, layers, weights, patterns=None, **kwargs):
        layers = list(layers)
        weights = list(weights)
        if len(layers) < 2:
            raise ValueError(f"a hierarchy needs at least two layers, got {len(layers)}")
        if len(weights) != len(layers) - 1:
            raise ValueError(f"{len(layers)} layers need {len(layers) - 1} weight matrices (one between each "
                             f"pair of neighbours), got {len(weights)}")
        sizes = [getattr(layer, "n", None) for layer in layers]
        for A, W in enumerate(weights):
            shape = np.shape(W)
            if 0 in sizes[A:A + 2]:
                empty = A if sizes[A] == 0 else A + 1
                raise ValueError(f"layer {empty} is empty (n=0): every layer needs at least one neuron "
                                 f"(weights[{A}] of shape {shape} joins layers of {sizes[A]!r} and "
                                 f"{sizes[A + 1]!r} neurons)")
            if len(shape) != 2 or 0 in shape:
                raise ValueError(f"weights[{A}] (xi between layers {A} and {A + 1}, of {sizes[A]!r} and "
                                 f"{sizes[A + 1]!r} neurons) must be a non-empty 2-D array of shape "
                                 f"({sizes[A + 1]!r}, {sizes[A]!r}), got shape {shape}")
        super().__init__(layers, [(A, A + 1, W) for A, W in enumerate(weights)], patterns=patterns, **kwargs)
        for layer in self.layers:
            if not layer.lagrangian.additive and np.ndim(layer.tau) and np.ptp(np.asarray(layer.tau)) > 0:
                raise ValueError(f"layer {layer.name!r}: a non-additive Lagrangian ({layer.lagrangian!r}) needs one "
                                 "time constant for the whole layer, or the energy can rise (see "
                                 "GeneralAssociativeMemory)")

    @property
    def weights(self):
        """``[xi^(2,1), xi^(3,2), ...]``: the symmetric weights between neighbouring layers."""
        return [W for _, _, W in self.links]

    @classmethod
    def two_layer(cls, patterns, feature_lagrangian, memory_lagrangian, tau_f=20 * ms, tau_h=2 * ms, **kwargs):
        """The two-layer model (features below, memories above ``xi = patterns``) as a hierarchy of two."""
        patterns = check_patterns(patterns)
        layers = [Layer(patterns.shape[1], feature_lagrangian, tau_f, "features"),
                  Layer(patterns.shape[0], memory_lagrangian, tau_h, "memories")]
        return cls(layers, [patterns], patterns={0: patterns}, **kwargs)
