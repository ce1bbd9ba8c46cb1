"""hippo_dam: Dense Associative Memories as populations of neurons on Brian2.

After Krotov & Hopfield, "Large Associative Memory Problem in Neurobiology and
Machine Learning" (ICLR 2021).
"""
from .classifier import DAMClassifier, digits_dataset, prototype_score
from .dense import DenseSymmetricProjection
from .capacity import capacity_curve, capacity_point, capacity_search, capacity_theory, fit_exponent
from .effective import (
    Interaction,
    dam_async,
    dam_energy,
    dam_flip_margins,
    dam_log_abs_energy,
    dam_stability_margins,
    effective_energy,
    effective_euler,
    graded_response_energy,
    graded_response_euler,
    hopfield_async,
    hopfield_energy,
    hopfield_sync_lyapunov,
    hopfield_sync_step,
    hopfield_weights,
    make_interaction,
    modern_hopfield_energy,
    modern_hopfield_update,
    reduction_errors,
    spherical_energy,
    spherical_update,
)
from .circuits import CA3Circuit, ECCA1Loop
from .energy import OnlineEnergy, energy
from .lagrangians import (
    LAGRANGIANS,
    Lagrangian,
    Reduction,
    euclidean_norm,
    exponential,
    grouped_log_sum_exp,
    layer_norm,
    identity,
    log_sum_exp,
    make_lagrangian,
    power,
    rectified_power,
    sigmoid,
    sign,
    softmax,
    tanh,
)
from .network import AssociativeMemory, DenseAssociativeMemory
from .graph import EnergyGraph, describe_network
from .graph_memory import GraphMemory, Layer
from .hierarchical import HierarchicalAssociativeMemory
from .general import GeneralAssociativeMemory
from .schedule import SCHEDULE, schedule_table
from .modelfile import ModelFile, find_model, load_model, shipped_models
from .models import model_a, model_b, model_c
from .patterns import (
    CUE_REGIONS,
    KANJI_SETS,
    correlated_patterns,
    flip_cue,
    load_digits_patterns,
    load_kanji,
    occlusion_cue,
    partial_cue,
    random_mask_cue,
    random_patterns,
)
from .kanji import KANJI_MODELS, KANJI_TIMING, kanji_completion, kanji_model, kanji_sweep, nearest_neighbour_limit
from .kanji_hierarchy import (HIERARCHY_SETTINGS, KanjiHierarchy, compare_at_equal_synapses, encode_parts,
                              hierarchy_reference, kanji_hierarchy_completion, learn_part_dictionary,
                              two_layer_completion)
from .populations import Population, Projection, SymmetricProjection
from .recall import RecallQuality, hamming, overlaps, recall_quality, retrieved_index
from .reference import ca3_reference, ec_ca1_reference, euler_reference, graph_energy, graph_reference
from .spiking import SpikingCA3
from .spiking_lif import LIFSpikingCA3
from .space import Arena, Environment, GridModule, SpatialCode, Trajectory, grid_modules, make_environments, random_walk
from .place_cells import (PlaceCellNetwork, PlaceRun, compare_conditions, decode_position, environment_capacity,
                          field_statistics, imprint_memories, place_fields, rate_maps)
from .results import RecallResult
from .sweep import SweepFile, load_sweep, recall_point, recall_points, run_sweep, worker_directory
from .sweep_cluster import ClusterSpec
from .grid import recall_grid

__version__ = "0.1.0"

__all__ = [
    "DenseAssociativeMemory", "Population", "SymmetricProjection", "DenseSymmetricProjection", "OnlineEnergy", "energy",
    "Lagrangian", "Reduction", "LAGRANGIANS", "make_lagrangian", "identity", "tanh", "sigmoid", "sign",
    "rectified_power", "exponential", "log_sum_exp", "softmax", "euclidean_norm",
    "random_patterns", "correlated_patterns", "flip_cue", "occlusion_cue", "random_mask_cue",
    "overlaps", "hamming", "retrieved_index", "recall_quality", "RecallQuality", "RecallResult",
    "load_kanji", "load_digits_patterns", "partial_cue", "CUE_REGIONS",
    "KANJI_SETS",
    "KANJI_MODELS", "KANJI_TIMING", "kanji_model", "kanji_completion", "kanji_sweep", "nearest_neighbour_limit",
    "euler_reference", "load_model", "ModelFile", "model_a", "model_b", "model_c", "power",
    "run_sweep", "recall_point", "load_sweep", "SweepFile", "worker_directory",
    "ClusterSpec",
    "recall_points", "recall_grid",
    "DAMClassifier", "digits_dataset", "prototype_score",
    # effective (memory neurons integrated out) models
    "Interaction", "make_interaction", "hopfield_weights", "hopfield_energy", "hopfield_sync_step",
    "hopfield_sync_lyapunov", "hopfield_async", "graded_response_energy", "graded_response_euler",
    "dam_energy", "dam_log_abs_energy", "dam_flip_margins", "dam_async", "dam_stability_margins",
    "modern_hopfield_energy", "modern_hopfield_update", "spherical_energy", "spherical_update",
    "effective_energy", "effective_euler", "reduction_errors",
    # storage capacity
    "capacity_point", "capacity_search", "capacity_curve", "capacity_theory", "fit_exponent",
    "ca3_reference", "ec_ca1_reference", "CA3Circuit", "ECCA1Loop", "SpikingCA3", "Projection",
    # the energy graph and the networks built on it
    "AssociativeMemory", "EnergyGraph", "describe_network", "GraphMemory", "Layer",
    "HierarchicalAssociativeMemory", "GeneralAssociativeMemory", "SCHEDULE", "schedule_table",
    "graph_reference", "graph_energy", "layer_norm",
    # space and place cells
    "Arena", "Environment", "GridModule", "SpatialCode", "Trajectory", "grid_modules", "make_environments",
    "random_walk", "PlaceCellNetwork", "PlaceRun", "compare_conditions", "decode_position", "environment_capacity",
    "field_statistics", "imprint_memories", "place_fields", "rate_maps", "LIFSpikingCA3",
    "find_model", "shipped_models",
    # the kanji hierarchy (pixels, parts, characters)
    "grouped_log_sum_exp", "HIERARCHY_SETTINGS", "KanjiHierarchy", "learn_part_dictionary", "encode_parts",
    "hierarchy_reference", "kanji_hierarchy_completion", "two_layer_completion", "compare_at_equal_synapses",
]
