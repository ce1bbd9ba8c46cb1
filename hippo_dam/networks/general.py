"""The general associative memory: one symmetric weight matrix over all neurons (Krotov 2021, section 2).

``N`` neurons with states ``x_i``, time constants ``tau_i`` (one per neuron)
and one symmetric matrix ``W`` (``N x N``)::

    tau_i dx_i/dt = sum_j W_ij g_j - x_i + I_i,        g = dL/dx,   L = sum_G L_G(x_G)

where the Lagrangian is a sum over groups ``G`` of neurons: an additive
group has one term per neuron (each neuron may have its own), a
non-additive group (a softmax, a norm, a layer norm over a subset) couples
its neurons. The energy::

    E = sum_i (x_i - I_i) g_i - L(x) - (1/2) sum_ij g_i W_ij g_j

Why the energy cannot rise, and when it can
-------------------------------------------
With ``H = Hess L`` (block diagonal over the groups) and ``T = diag(tau)``,
``dg/dt = H x'`` and ``dE/dt = sum_i (x_i - I_i - sum_j W_ij g_j) (H x')_i``;
the bracket is ``-tau_i x'_i``, so::

    dE/dt = -x'^T T H x' = -sum_G x'_G^T (T_G H_G) x'_G

The quadratic form only sees the symmetric part ``S_G = (T_G H_G + H_G T_G)/2``.
For an additive group ``H_G`` is diagonal (``l''(x_i) >= 0``) and ``S_G =
diag(tau_i l''_i)`` is PSD whatever the ``tau_i``. For a non-additive group
``H_G`` is PSD but not diagonal, and ``S_G`` is PSD for *every* such ``H_G``
only if ``T_G`` is a multiple of the identity: for a rank-one direction
``H_G = w w^T`` (the softmax at two equally active neurons,
``beta/4 (e_1 - e_2)(e_1 - e_2)^T``, is one), ``x'^T S_G x' = (w.x')(w.T x')``
is negative for an ``x'`` with ``w.x' > 0 > w.T x'``, which exists unless
``T w`` is parallel to ``w``. **Condition: one time constant within each
non-additive group** (time constants may differ freely between groups and
inside additive ones). The network checks it at construction and refuses a
violation (``on_time_constants='raise'``) or warns (``'warn'``) with this
reason.

Special cases
-------------
* The two-layer model of Krotov & Hopfield (2021) is the block
  off-diagonal ``W = [[0, xi^T], [xi, 0]]`` with groups features
  (``L_v``, ``tau_f``) and memories (``L_h``, ``tau_h``): the ``1/2`` and the two
  equal blocks give ``-f . xi g``; :meth:`GeneralAssociativeMemory.two_layer`.
* The graded-response Hopfield (1984) net is one additive group
  (``L = sum log cosh x``, ``g = tanh``) with ``W = T`` (zero diagonal):
  :meth:`GeneralAssociativeMemory.graded_response`.

Internally each group is one population of the energy graph, every non-zero
block ``W[G, G']`` one symmetric projection (recurrent on the diagonal).
"""
from __future__ import annotations

import warnings

import numpy as np
from brian2 import ms, second

from .graph_memory import GraphMemory, Layer
from .two_layer import check_cue
from ..core.lagrangians import make_lagrangian
from ..data.patterns import check_patterns
from ..core.populations import check_tau

__all__ = ["GeneralAssociativeMemory"]


class GeneralAssociativeMemory(GraphMemory):
    """``N`` neurons, one symmetric ``W``, a time constant per neuron and a Lagrangian per group.

    Parameters
    ----------
    W : array (N, N)
        Symmetric weights (self-couplings allowed).
    groups : list of (neurons, lagrangian) or (neurons, lagrangian, name)
        A partition of the neurons: ``neurons`` is a slice, range or integer
        array; ``lagrangian`` a Lagrangian (name, mapping), additive (one term
        per neuron) or not (a softmax or a norm over the group).
    tau : Quantity
        Time constants: a scalar or one per neuron (``N,``).
    patterns : array (K, N), optional
        Stored patterns over all neurons (scoring of recalls).
    on_time_constants : {'raise', 'warn'}
        What to do when a non-additive group has unequal time constants, the
        case in which the energy can rise (see the module docstring).
    **kwargs
        ``dt``, ``record_every``, ``energy_every``, ``codegen_target``, ``dtype``.

    Notes
    -----
    A recall cues the state of all ``N`` neurons (``recall(cue)`` with ``cue``
    of shape (N,)), in the original neuron order; ``result.extra`` has every
    group by name.
    """

    kind = "general"

    def __init__(self, W, groups, tau, patterns=None, on_time_constants="raise", **kwargs):
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"W must be a square matrix (N, N), got shape {W.shape}")
        if W.size == 0:
            raise ValueError(f"W is empty (shape {W.shape}): the network needs at least one neuron")
        try:
            groups = list(groups)
        except TypeError:
            raise TypeError(f"groups must be a list of (neurons, lagrangian) or (neurons, lagrangian, name) "
                            f"covering the {len(W)} neurons of W, got {groups!r}") from None
        if not groups:
            raise ValueError(f"groups is empty: give at least one (neurons, lagrangian) covering the {len(W)} "
                             "neurons of W")
        if not np.all(np.isfinite(W)):
            raise ValueError("W contains NaN or inf")
        if not np.array_equal(W, W.T):
            worst = float(np.max(np.abs(W - W.T)))
            raise ValueError(f"W must be symmetric (W = W^T); the largest |W - W^T| is {worst:.3g}")
        n = len(W)
        if on_time_constants not in ("raise", "warn"):
            raise ValueError(f"on_time_constants must be 'raise' or 'warn', got {on_time_constants!r}")
        tau = check_tau(tau, "tau")
        if np.ndim(tau) not in (0, 1) or (np.ndim(tau) == 1 and len(tau) != n):
            raise ValueError(f"tau must be a scalar or have shape ({n},), got {np.shape(tau)}")
        tau_s = np.broadcast_to(np.asarray(tau / second, dtype=float), (n,))
        index, layers = [], []
        owner = np.full(n, -1)
        for k, group in enumerate(groups):
            if not isinstance(group, (tuple, list)) or len(group) not in (2, 3):
                raise ValueError(f"group {k} must be (neurons, lagrangian) or (neurons, lagrangian, name), "
                                 f"got {group!r}")
            neurons, lag = group[0], make_lagrangian(group[1])
            name = group[2] if len(group) == 3 else f"group{k}"
            idx = np.arange(n)[neurons] if isinstance(neurons, slice) else np.asarray(neurons)
            if idx.ndim != 1 or len(idx) == 0 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"group {name!r}: neurons must be a non-empty slice, range or integer array")
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"group {name!r}: neuron indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
            taken = idx[owner[idx] >= 0]
            if len(taken) or len(np.unique(idx)) != len(idx):
                raise ValueError(f"group {name!r}: neurons {np.unique(taken).tolist()[:5] or 'repeated'} "
                                 "belong to more than one group")
            owner[idx] = k
            t = tau_s[idx]
            if not lag.additive and np.ptp(t) > 0:
                msg = (f"group {name!r} has a non-additive Lagrangian ({lag!r}) and unequal time constants "
                       f"({t.min() * 1e3:.3g}..{t.max() * 1e3:.3g} ms): dE/dt = -x'^T T H x' is then not "
                       "negative for every velocity, so the energy can rise (module docstring of "
                       "hippo_dam.networks.general)")
                if on_time_constants == "raise":
                    raise ValueError(msg + "; give the group one time constant, or on_time_constants='warn'")
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
            index.append(idx)
            layers.append(Layer(len(idx), lag, (t[0] if np.ptp(t) == 0 else t) * second, name))
        if np.any(owner < 0):
            raise ValueError(f"every neuron needs a group; neurons {np.nonzero(owner < 0)[0].tolist()[:5]} have none")
        links = []
        for a, ia in enumerate(index):
            for b in range(a, len(index)):
                block = W[np.ix_(index[b], ia)]
                if np.any(block):
                    links.append((a, b, block))
        self.W, self.tau, self.groups_index = W, tau, index
        self._order = np.concatenate(index)  # state position of each group neuron
        full_patterns = None if patterns is None else np.asarray(patterns)
        if full_patterns is not None and (full_patterns.ndim != 2 or full_patterns.shape[1] != n):
            raise ValueError(f"patterns must have shape (K, {n}), got {full_patterns.shape}")
        self.full_patterns = full_patterns
        super().__init__(layers, links, **kwargs)
        self.n_neurons = n

    def recall(self, cue, known=None, duration=100 * ms, target=None, cue_input=0.0, clamp=False, tolerance=0,
               progress=None):
        """Run from a cue of all ``N`` neurons (unknown entries start at 0) and score it.

        Same parameters as :meth:`GraphMemory.recall` without ``layer``; ``v``
        of the result is the state of all neurons in the original order,
        ``extra`` every group's state.
        """
        cue, known, batched = check_cue(cue, known, self.n_neurons)
        v0 = np.where(known, cue, 0.0)
        states = self._split(v0)
        inputs = self._split(float(cue_input) * v0)
        clamped = self._split(known.astype(float) if clamp else np.zeros(cue.shape))
        out = self._run_states(states, inputs, clamped, duration, progress)
        batch = len(cue)
        v_final = self._join(out["final"], (batch,))
        v = None if out["traces"] is None else self._join(out["traces"], (batch, len(out["t"])))
        h = None if v is None else v[..., :0]
        return self._result(out, v, h, v_final, v_final[..., :0], self.full_patterns, cue, known, v0, target,
                            tolerance, batched, cue_input=float(cue_input), clamp=int(bool(clamp)))

    def _split(self, full):
        return [full[..., idx] for idx in self.groups_index]

    def _join(self, parts, lead):
        out = np.empty(lead + (self.n_neurons,))
        for idx, part in zip(self.groups_index, parts):
            out[..., idx] = part
        return out

    @classmethod
    def two_layer(cls, patterns, feature_lagrangian, memory_lagrangian, tau_f=20 * ms, tau_h=2 * ms, **kwargs):
        """The two-layer model as the block off-diagonal ``W = [[0, xi^T], [xi, 0]]`` (features first)."""
        xi = check_patterns(patterns)
        K, n_f = xi.shape
        W = np.zeros((n_f + K, n_f + K))
        W[n_f:, :n_f] = xi
        W[:n_f, n_f:] = xi.T
        tau = np.concatenate([np.broadcast_to(np.asarray(tau_f / second, float), (n_f,)),
                              np.broadcast_to(np.asarray(tau_h / second, float), (K,))]) * second
        groups = [(slice(0, n_f), feature_lagrangian, "features"), (slice(n_f, n_f + K), memory_lagrangian,
                                                                     "memories")]
        return cls(W, groups, tau, **kwargs)

    @classmethod
    def graded_response(cls, patterns, tau=20 * ms, **kwargs):
        """Hopfield's (1984) graded-response net: one tanh group, ``W = T = xi^T xi / N`` with zero diagonal."""
        xi = check_patterns(patterns)
        T = xi.T @ xi / xi.shape[1]
        np.fill_diagonal(T, 0.0)
        return cls(T, [(slice(0, xi.shape[1]), "tanh", "neurons")], tau, patterns=xi, **kwargs)
