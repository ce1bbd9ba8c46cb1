"""hippo_dam: Dense Associative Memories as populations of neurons on Brian2.

After Krotov & Hopfield, "Large Associative Memory Problem in Neurobiology and
Machine Learning" (ICLR 2021).
"""
from .circuits import CA3Circuit, ECCA1Loop
from .energy import OnlineEnergy, energy
from .lagrangians import (
    LAGRANGIANS,
    Lagrangian,
    Reduction,
    euclidean_norm,
    exponential,
    identity,
    log_sum_exp,
    make_lagrangian,
    rectified_power,
    sigmoid,
    sign,
    softmax,
    tanh,
)
from .network import DenseAssociativeMemory
from .modelfile import ModelFile, load_model
from .models import model_a, model_b, model_c
from .patterns import correlated_patterns, flip_cue, occlusion_cue, random_mask_cue, random_patterns
from .populations import Population, Projection, SymmetricProjection
from .recall import RecallQuality, hamming, overlaps, recall_quality, retrieved_index
from .reference import ca3_reference, ec_ca1_reference, euler_reference
from .spiking import SpikingCA3
from .results import RecallResult

__version__ = "0.1.0"

__all__ = [
    "DenseAssociativeMemory", "Population", "SymmetricProjection", "OnlineEnergy", "energy",
    "Lagrangian", "Reduction", "LAGRANGIANS", "make_lagrangian", "identity", "tanh", "sigmoid", "sign",
    "rectified_power", "exponential", "log_sum_exp", "softmax", "euclidean_norm",
    "random_patterns", "correlated_patterns", "flip_cue", "occlusion_cue", "random_mask_cue",
    "overlaps", "hamming", "retrieved_index", "recall_quality", "RecallQuality", "RecallResult",
    "euler_reference", "ca3_reference", "ec_ca1_reference", "CA3Circuit", "ECCA1Loop", "SpikingCA3", "Projection",
    "load_model", "ModelFile", "model_a", "model_b", "model_c",
]
