"""hippo_dam: Dense Associative Memories as populations of neurons on Brian2.

After Krotov & Hopfield, "Large Associative Memory Problem in Neurobiology and
Machine Learning" (ICLR 2021). The subpackages read bottom up, as the physics:

============  ==================================================================
core/         Lagrangians, populations, projections, the energy graph, the step
              schedule, energy, recall quality, results, the numpy reference;
              ``core._compat`` holds every use of Brian2's private conventions
networks/     networks built on the graph: the two-layer model (models A/B/C)
              and its batched grid, the hierarchical and the general memory
circuits/     CA3, the EC-CA1 loop, spiking CA3 (Poisson, LIF), space and place
              cells
theory/       effective (feature-only) models and capacity: numpy only,
              importing it does not import Brian2
data/         pattern sets (kanji, digits, random) and cues
experiments/  kanji completion, the kanji hierarchy, the classifier, the
              reduction of the memory neurons
sweeps/       the Dask sweep engine, its store, worker set-up, cluster jobs
figures/      one module per figure (``hippo-dam figures``)
============  ==================================================================

Every public name is importable from the top level
(``hippo_dam.DenseAssociativeMemory``). The top level imports a subpackage the
first time one of its names is used, so ``import hippo_dam`` is quick and the
theory runs without Brian2. The flat module paths of earlier releases
(``hippo_dam.network``, ``hippo_dam.sweep``, ...) still import, as the modules
that now hold their code, so sweep files and sweep stores that name them keep
working.
"""
import importlib
import importlib.abc
import importlib.util
import warnings
import sys

__version__ = "0.1.0"

#: Set (to "1") by a sweep while its LocalCluster starts its worker processes, which inherit it.
SWEEP_WORKER_ENV = "HIPPO_DAM_SWEEP_WORKER"


def _sweep_worker_ignores_ctrl_c():
    """In a sweep's worker process, ignore Ctrl-C: the sweep stops its workers itself.

    The terminal sends Ctrl-C to the whole process group; a worker hit while
    it starts prints pages of tracebacks, and one hit while it runs would let
    Brian2 end the recall early and return it as if complete. Called when the
    package is imported (a spawned worker imports it first) and again after
    Brian2's import, which installs its own handler.
    """
    import os

    if os.environ.get(SWEEP_WORKER_ENV) == "1":
        _ignore_ctrl_c()


def _ignore_ctrl_c():
    """Ignore SIGINT in this process (only the main thread may set a signal handler)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


_sweep_worker_ignores_ctrl_c()

#: subpackage module -> the public names it defines
_PUBLIC = {
    "core.lagrangians": ("Lagrangian", "Reduction", "LAGRANGIANS", "make_lagrangian", "identity", "tanh", "sigmoid",
                         "sign", "power", "rectified_power", "exponential", "log_sum_exp", "softmax",
                         "grouped_log_sum_exp", "euclidean_norm", "layer_norm"),
    "core.populations": ("Population", "SymmetricProjection", "Projection"),
    "core.dense": ("DenseSymmetricProjection",),
    "core.components": ("RelayPopulation", "InhibitedPopulation", "InterneuronPool", "TracedPopulation",
                        "PoissonCells", "LIFCells", "LIFPopulation", "PlasticProjection", "MovingInput",
                        "StateRecorder"),
    "core.schedule": ("SCHEDULE", "schedule_table"),
    "core.graph": ("EnergyGraph", "describe_network"),
    "core.energy": ("OnlineEnergy", "energy"),
    "core.recall": ("overlaps", "hamming", "retrieved_index", "recall_quality", "RecallQuality"),
    "core.results": ("RecallResult",),
    "core.health": ("check_run", "EnergyRiseWarning", "UnboundedEnergyError"),
    "core.reference": ("euler_reference", "ca3_reference", "ec_ca1_reference", "graph_reference", "graph_energy"),
    "networks.two_layer": ("AssociativeMemory", "DenseAssociativeMemory"),
    "networks.paper_models": ("model_a", "model_b", "model_c"),
    "networks.batched": ("recall_grid",),
    "networks.graph_memory": ("GraphMemory", "Layer"),
    "networks.hierarchical": ("HierarchicalAssociativeMemory",),
    "networks.general": ("GeneralAssociativeMemory",),
    "circuits.hippocampus": ("CA3Circuit", "ECCA1Loop"),
    "circuits.spiking": ("SpikingCA3",),
    "circuits.spiking_lif": ("LIFSpikingCA3",),
    "circuits.space": ("Arena", "Environment", "GridModule", "SpatialCode", "Trajectory", "grid_modules",
                       "make_environments", "random_walk", "trajectory_from_samples", "sargolini_trajectory",
                       "ratinabox_trajectory"),
    "circuits.place_cells": ("PlaceCellNetwork", "PlaceRun", "bayesian_decode", "decode_position", "field_statistics",
                             "imprint_memories", "place_fields", "rate_maps"),
    "circuits.theta": ("theta_phase", "septal_drive", "running_direction", "look_ahead", "circular_linear_fit",
                       "phase_precession", "isi_cv", "isi_cv2"),
    "circuits.path_integration": ("PathIntegratingGrid", "PositionDecoder", "touch_boundary_rates"),
    "theory.effective": ("Interaction", "make_interaction", "hopfield_weights", "hopfield_energy",
                         "hopfield_sync_step", "hopfield_sync_lyapunov", "hopfield_async", "graded_response_energy",
                         "graded_response_euler", "dam_energy", "dam_log_abs_energy", "dam_flip_margins", "dam_async",
                         "dam_stability_margins", "modern_hopfield_energy", "modern_hopfield_update",
                         "spherical_energy", "spherical_update", "effective_energy", "effective_euler"),
    "theory.capacity": ("capacity_point", "capacity_search", "plain_map", "capacity_curve", "capacity_theory", "fit_exponent"),
    "data.patterns": ("random_patterns", "correlated_patterns", "flip_cue", "occlusion_cue", "random_mask_cue",
                      "partial_cue", "CUE_REGIONS", "load_kanji", "KANJI_SETS", "load_digits_patterns"),
    "experiments.kanji": ("KANJI_MODELS", "KANJI_TIMING", "kanji_model", "kanji_completion", "kanji_sweep",
                          "nearest_neighbour_limit"),
    "experiments.kanji_hierarchy": ("HIERARCHY_SETTINGS", "KanjiHierarchy", "learn_part_dictionary", "encode_parts",
                                    "hierarchy_reference", "kanji_hierarchy_completion", "two_layer_completion",
                                    "compare_at_equal_synapses"),
    "experiments.classifier": ("DAMClassifier", "digits_dataset", "prototype_score"),
    "experiments.reduction": ("reduction_errors",),
    "experiments.place_cells": ("compare_conditions", "environment_capacity"),
    "experiments.spiking": ("spiking_curve",),
    "experiments.darkness": ("darkness_experiment", "DARKNESS_SETTINGS"),
    "experiments.shared_map": ("shared_map_experiment", "shared_map_session", "run_shared_map_session",
                               "SHARED_MAP_SETTINGS"),
    "experiments.place_theta": ("place_theta_experiment", "place_theta_session", "PLACE_THETA_SETTINGS"),
    "sweeps.engine": ("run_sweep", "sweep_map", "recall_point", "recall_points", "load_sweep", "SweepFile", "worker_directory"),
    "sweeps.cluster": ("ClusterSpec",),
    "nwb": ("write_session_nwb", "read_session_nwb", "spatial_tuning"),
    "modelfile": ("load_model", "ModelFile", "find_model", "shipped_models", "MODEL_KINDS", "register_model_kind",
                  "load_two_layer_model"),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = list(_WHERE)

#: the flat module paths of earlier releases -> the modules that hold their code now.
#: (``hippo_dam.energy`` is not among them: that name is the energy function.)
_MOVED = {
    "_compat": "core._compat", "lagrangians": "core.lagrangians", "populations": "core.populations",
    "dense": "core.dense", "schedule": "core.schedule", "graph": "core.graph", "recall": "core.recall",
    "results": "core.results", "reference": "core.reference",
    "network": "networks.two_layer", "models": "networks.paper_models", "grid": "networks.batched",
    "graph_memory": "networks.graph_memory", "hierarchical": "networks.hierarchical", "general": "networks.general",
    "spiking": "circuits.spiking", "spiking_lif": "circuits.spiking_lif", "space": "circuits.space",
    "place_cells": "circuits.place_cells", "place_model": "circuits.place_loader",
    "effective": "theory.effective", "capacity": "theory.capacity", "patterns": "data.patterns",
    "kanji": "experiments.kanji", "kanji_hierarchy": "experiments.kanji_hierarchy",
    "kanji_hierarchy_model": "experiments.kanji_hierarchy_loader", "classifier": "experiments.classifier",
    "sweep": "sweeps.engine", "sweep_cluster": "sweeps.cluster", "_dask_worker": "sweeps._worker",
    "kanji_hierarchy_figure": "figures.kanji_hierarchy", "lif_spiking_figure": "figures.lif_spiking",
    "place_cells_figure": "figures.place_cells",
    # renamed inside their subpackages: names that say what they hold
    "networks.grid": "networks.batched", "networks.models": "networks.paper_models",
    "circuits.place_model": "circuits.place_loader",
    "experiments.kanji_hierarchy_model": "experiments.kanji_hierarchy_loader",
}
#: the release that removes the old module paths
MOVED_PATHS_REMOVED_IN = "0.3.0"


def _moved(old):
    """The module now at ``_MOVED[old]``, with a DeprecationWarning that names both paths."""
    new = _MOVED[old]
    warnings.warn(f"hippo_dam.{old} is now hippo_dam.{new}; the old path will be removed in hippo_dam "
                  f"{MOVED_PATHS_REMOVED_IN}", DeprecationWarning, stacklevel=3)
    return importlib.import_module(f"{__name__}.{new}")


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``hippo_dam.<old>`` as the module that now holds its code (one module object, two names)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(__name__ + ".") and fullname[len(__name__) + 1:] in _MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _moved(spec.name[len(__name__) + 1:])

    def exec_module(self, module):
        pass  # already executed under its new name


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())


def __getattr__(name):
    """Import the subpackage that defines a public name the first time it is asked for (PEP 562)."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    elif name in _MOVED:
        value = _moved(name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
