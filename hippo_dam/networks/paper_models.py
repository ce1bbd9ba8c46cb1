"""The paper's three models (Krotov & Hopfield 2021, Fig. 2), one call each.

=====  ======================  ==========================  =========================================
model  feature Lagrangian L_v  memory Lagrangian L_h       effective (tau_h << tau_f) energy
=====  ======================  ==========================  =========================================
A      sum |v|  (g = sign v)   sum F(h), F rectified x^n   -sum_mu F(xi_mu . sign v): binary DAM
B      sum v^2/2 (g = v)       (1/beta) log sum exp(beta h) v.v/2 - lse(beta, xi v): modern Hopfield
C      sqrt(sum v^2)           sum F(h)                    -sum_mu F(xi_mu . v/|v|): spherical memory
=====  ======================  ==========================  =========================================
"""
from __future__ import annotations

from brian2 import ms

from ..core.lagrangians import euclidean_norm, identity, log_sum_exp, rectified_power, sign
from .two_layer import DenseAssociativeMemory

__all__ = ["model_a", "model_b", "model_c"]


def model_a(patterns, degree=3.0, tau_f=20 * ms, tau_h=2 * ms, **kwargs) -> DenseAssociativeMemory:
    """Model A: binary feature neurons (``L_v = sum |v|``) and ``L_h = sum max(h,0)^n``."""
    return DenseAssociativeMemory(patterns, sign(), rectified_power(degree), tau_f=tau_f, tau_h=tau_h, **kwargs)


def model_b(patterns, beta=1.0, tau_f=20 * ms, tau_h=2 * ms, **kwargs) -> DenseAssociativeMemory:
    """Model B: linear feature neurons and softmax memory neurons (attention)."""
    return DenseAssociativeMemory(patterns, identity(), log_sum_exp(beta), tau_f=tau_f, tau_h=tau_h, **kwargs)


def model_c(patterns, degree=3.0, tau_f=20 * ms, tau_h=2 * ms, **kwargs) -> DenseAssociativeMemory:
    """Model C: divisively normalised feature neurons (``L_v = |v|``) and ``L_h = sum max(h,0)^n``."""
    return DenseAssociativeMemory(patterns, euclidean_norm(), rectified_power(degree), tau_f=tau_f, tau_h=tau_h,
                                  **kwargs)
