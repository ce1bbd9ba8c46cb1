"""Every entry point refuses bad input clearly (issue 21): place cells, classifier, kanji hierarchy, networks.

Each test gives one kind of bad input and checks that it is refused before
anything is simulated, with an error that names the parameter the user wrote
(and, for a model file, the file, table and key).
"""
from pathlib import Path

import numpy as np
import pytest
from brian2 import cm, meter, ms, second

import hippo_dam as hd
from hippo_dam.experiments.place_cells import compare_conditions
from hippo_dam.circuits.place_cells import (PlaceCellNetwork, decode_position, field_statistics,
                                            imprint_memories, place_fields, rate_maps)
from hippo_dam.circuits.space import Arena, SpatialCode, Trajectory, grid_modules, make_environments, random_walk
from hippo_dam.experiments.classifier import DAMClassifier
from hippo_dam.networks.general import GeneralAssociativeMemory
from hippo_dam.networks.graph_memory import Layer
from hippo_dam.networks.hierarchical import HierarchicalAssociativeMemory

MODELS = Path(__file__).resolve().parents[1] / "models"
XOR_X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


# -- place cells ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    """A 1 m box with one small grid module and one landmark, and a 2 m box to make wrong trajectories in."""
    arena = Arena(1 * meter, 1 * meter)
    modules = grid_modules(1, 4, seed=0)
    code = SpatialCode(arena, modules, make_environments(1, arena, n_modules=1, n_landmarks=1)[0])
    big = Arena(2 * meter, 2 * meter)
    # starts in the corner of the 2 m box that the 1 m box does not cover
    outside = random_walk(big, 200 * ms, start=np.array([150.0, 150.0]) * cm, seed=1)
    locations = arena.grid_points(50 * cm) * meter
    return arena, code, outside, locations


def test_trajectory_from_a_larger_arena_is_refused_by_the_network(world, monkeypatch):
    arena, code, outside, locations = world
    net = PlaceCellNetwork(code, locations)

    def no_run(*args, **kwargs):
        raise AssertionError("the network ran")

    monkeypatch.setattr(net.network, "drive", no_run)
    with pytest.raises(ValueError, match=r"trajectory leaves the network's arena \(1 m x 1 m\).*2 m x 2 m"):
        net.run(outside)


def test_trajectory_from_a_larger_arena_is_refused_by_compare_conditions(world):
    arena, code, outside, locations = world
    with pytest.raises(ValueError, match=r"trajectory leaves the code's arena \(1 m x 1 m\)"):
        compare_conditions(code, locations, outside)


def test_trajectory_from_a_larger_arena_is_refused_by_imprint_memories(world):
    arena, code, outside, _ = world
    with pytest.raises(ValueError, match=r"trajectory leaves the code's arena \(1 m x 1 m\)"):
        imprint_memories(code, outside, n_units=4)


def test_trajectory_that_is_not_a_trajectory_is_refused(world):
    arena, code, outside, locations = world
    with pytest.raises(TypeError, match="trajectory must be a Trajectory"):
        PlaceCellNetwork(code, locations).run(outside.xy)


def test_positions_outside_the_arena_are_refused_by_rate_maps(world):
    arena, code, outside, _ = world
    with pytest.raises(ValueError, match=r"xy lie outside the 1 m x 1 m arena"):
        rate_maps(outside.xy, np.ones((len(outside.xy), 2)), arena, 10 * cm)


def test_positions_outside_the_arena_are_refused_by_the_inputs(world):
    arena, code, outside, _ = world
    with pytest.raises(ValueError, match="positions lie outside the 1 m x 1 m arena"):
        code.inputs(outside.xy)


def test_decode_position_names_both_shapes_when_they_do_not_match():
    with pytest.raises(ValueError, match=r"rates of shape \(3, 4\) for locations of shape \(5, 2\)"):
        decode_position(np.zeros((3, 4)), np.zeros((5, 2)))


def test_decode_position_refuses_empty_locations():
    with pytest.raises(ValueError, match=r"locations must have shape \(K, 2\) with K >= 1.*got \(0, 2\)"):
        decode_position(np.zeros((3, 0)), np.zeros((0, 2)))


def test_decode_position_refuses_nan_locations():
    with pytest.raises(ValueError, match="locations contain NaN"):
        decode_position(np.zeros((3, 2)), np.array([[0.1, np.nan], [0.2, 0.2]]))


def test_place_cell_network_refuses_empty_locations(world):
    _, code, _, _ = world
    with pytest.raises(ValueError, match=r"locations must have shape \(K, 2\) with K >= 1"):
        PlaceCellNetwork(code, np.zeros((0, 2)) * meter)


def test_place_cell_network_refuses_locations_outside_the_arena(world):
    _, code, _, _ = world
    with pytest.raises(ValueError, match="locations lie outside the 1 m x 1 m arena"):
        PlaceCellNetwork(code, np.array([[3.0, 3.0]]) * meter)


def test_place_cell_network_refuses_nan_locations(world):
    _, code, _, _ = world
    with pytest.raises(ValueError, match="locations must be finite"):
        PlaceCellNetwork(code, np.array([[np.nan, 0.3]]) * meter)


def test_place_fields_refuses_a_1d_map():
    with pytest.raises(ValueError, match=r"rate_map must be 2-D.*got shape \(10,\)"):
        place_fields(np.ones(10))


def test_field_statistics_refuses_one_location_too_few():
    with pytest.raises(ValueError, match=r"locations must have shape \(K, 2\) = \(2, 2\)"):
        field_statistics(np.ones((2, 4, 4)), np.zeros((1, 2)), 5 * cm)


@pytest.mark.parametrize("value, err", [(-1, ValueError), (0, ValueError), (1.5, ValueError), (True, TypeError),
                                        ("4", TypeError)])
def test_make_environments_refuses_a_bad_landmark_count(world, value, err):
    arena = world[0]
    with pytest.raises(err, match="n_landmarks must be a whole number >= 1"):
        make_environments(1, arena, n_landmarks=value)


def test_make_environments_refuses_a_bad_module_count(world):
    with pytest.raises(ValueError, match="n_modules must be a whole number >= 1"):
        make_environments(1, world[0], n_modules=-1)


@pytest.mark.parametrize("kwargs, err, name", [({"n_modules": 0}, ValueError, "n_modules"),
                                               ({"n_modules": 2.5}, ValueError, "n_modules"),
                                               ({"n_modules": True}, TypeError, "n_modules"),
                                               ({"cells_per_module": -3}, ValueError, "cells_per_module")])
def test_grid_modules_refuses_bad_counts(kwargs, err, name):
    with pytest.raises(err, match=f"{name} must be a whole number >= 1"):
        grid_modules(**{"n_modules": 1, "cells_per_module": 4, **kwargs})


def test_trajectory_dt_without_a_unit_names_dt(world):
    arena = world[0]
    with pytest.raises(TypeError, match=r"dt needs time units, e\.g\. dt=20\*ms"):
        Trajectory(np.full((5, 2), 0.5), 0.01, arena)


def test_trajectory_positions_outside_its_own_arena_are_refused(world):
    arena = world[0]
    with pytest.raises(ValueError, match="xy lie outside the 1 m x 1 m arena"):
        Trajectory(np.full((5, 2), 1.5), 10 * ms, arena)


@pytest.mark.parametrize("kwargs, name", [({"duration": 1.0}, "duration"), ({"dt": 0.01}, "dt"),
                                          ({"turn_time": 1}, "turn_time"), ({"mean_speed": 0.2}, "mean_speed"),
                                          ({"dt": 10 * cm}, "dt")])
def test_random_walk_parameters_without_units_are_named(world, kwargs, name):
    with pytest.raises(TypeError, match=f"^{name} "):
        random_walk(world[0], **{"duration": 1 * second, **kwargs})


def test_random_walk_refuses_an_arena_that_is_not_an_arena():
    with pytest.raises(TypeError, match="arena must be an Arena"):
        random_walk(1 * meter, 1 * second)


@pytest.mark.parametrize("spacing, err", [(-10 * cm, ValueError), ("hex", TypeError), (3 * meter, ValueError)])
def test_bad_lattice_spacing_names_the_spacing_not_bin_size(world, spacing, err):
    with pytest.raises(err, match="^spacing") as info:
        world[0].grid_points(spacing)
    assert "bin_size" not in str(info.value)


def _place_model(tmp_path, old, new):
    text = (MODELS / "place_cells.toml").read_text()
    assert old in text
    path = tmp_path / "place.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("lattice", ['"-10 cm"', '"0 cm"', '"300 cm"', '"hex"'])
def test_place_model_file_bad_lattice_names_the_file_table_and_key(tmp_path, lattice):
    path = _place_model(tmp_path, 'lattice = "10 cm"', f"lattice = {lattice}")
    with pytest.raises(ValueError, match=r"place\.toml: \[memories\] lattice") as info:
        hd.load_model(path)
    assert "bin_size" not in str(info.value)


@pytest.mark.parametrize("old, new, match", [
    ("count = 4", "count = -1", r"\[landmarks\] count must be a whole number >= 1"),
    ("count = 4", "count = 0", r"\[landmarks\] count must be a whole number >= 1"),
    ("modules = 4", "modules = 0", r"\[grid\] modules must be a whole number >= 1"),
    ("cells_per_module = 32", "cells_per_module = -2", r"\[grid\] cells_per_module must be a whole number"),
    ('dt = "10 ms"', 'dt = "0 ms"', r"\[trajectory\] dt must be > 0"),
    ('dt = "1 ms"', 'dt = "10 ms"', r"\[run\] dt = 10\. ms must be smaller than \[memories\] tau"),
    ('bin_size = "5 cm"', 'bin_size = "-5 cm"', r"\[run\] bin_size must be > 0"),
    ('mean_speed = "25 cm/s"', 'mean_speed = "-25 cm/s"', r"\[trajectory\] mean_speed must be > 0"),
])
def test_place_model_file_bad_values_name_the_file_table_and_key(tmp_path, old, new, match):
    with pytest.raises(ValueError, match=r"place\.toml: " + match):
        hd.load_model(_place_model(tmp_path, old, new))


# -- the classifier ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-0.1, 0, np.nan, np.inf])
def test_classifier_refuses_a_bad_learning_rate(value):
    clf = DAMClassifier(learning_rate=value, n_memories=2, n_epochs=1)  # scikit-learn: stored as given
    with pytest.raises(ValueError, match="learning_rate must be > 0 and finite"):
        clf.fit(XOR_X, XOR_Y)
    assert not hasattr(clf, "memories_")


@pytest.mark.parametrize("name, value, err, match", [
    ("lr_decay", 0.0, ValueError, "lr_decay must be > 0"),
    ("lr_decay", np.nan, ValueError, "lr_decay must be > 0"),
    ("momentum", np.nan, ValueError, r"momentum must lie in \[0, 1\)"),
    ("init_std", -1.0, ValueError, "init_std must be >= 0"),
    ("init_mean", np.nan, ValueError, "init_mean must be finite"),
    ("others", np.nan, ValueError, r"others must lie in \[-1, 1\]"),
    ("temperature", np.inf, ValueError, "temperature must be > 0 and finite"),
    ("temperature", "1", TypeError, "temperature must be a number"),
    ("temperature_per_neuron", -1.0, ValueError, "temperature_per_neuron must be > 0"),
    ("degree", np.inf, ValueError, "degree n must be >= 2 and finite"),
    ("degree", True, TypeError, "degree n must be a number"),
    ("n_memories", 2.5, ValueError, "n_memories must be a whole number >= 1"),
    ("n_memories", True, TypeError, "n_memories must be a whole number"),
    ("n_epochs", 1.5, ValueError, "n_epochs must be a whole number >= 1"),
    ("batch_size", 0, ValueError, "batch_size must be a whole number >= 1"),
    ("loss_power", True, TypeError, "loss_power m must be a whole number"),
    ("seed", -1, ValueError, "seed must be a whole number >= 0"),
])
def test_classifier_refuses_bad_hyperparameters_in_fit(name, value, err, match):
    clf = DAMClassifier(**{"n_memories": 2, "n_epochs": 1, name: value})
    with pytest.raises(err, match=match):
        clf.fit(XOR_X, XOR_Y)


# -- the kanji hierarchy -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def glyphs():
    """Three random 8x8 'glyphs' and a hierarchy of 4x4 patches, 4 atoms per position."""
    patterns = np.where(np.random.default_rng(0).random((3, 64)) < 0.5, -1.0, 1.0)
    return patterns, hd.KanjiHierarchy(patterns, {"patch": 4, "n_atoms": 4})


@pytest.mark.parametrize("dt_ms", [2.0, 5.0])  # tau_parts_ms = tau_chars_ms = 2 ms
def test_kanji_hierarchy_refuses_dt_at_or_above_a_time_constant(glyphs, dt_ms):
    with pytest.raises(ValueError, match=r"dt \(setting dt_ms\) = .* must be smaller .* tau=2\. ms"):
        hd.KanjiHierarchy(glyphs[0], {"patch": 4, "n_atoms": 4, "dt_ms": dt_ms})


def test_kanji_hierarchy_run_refuses_dt_above_a_time_constant(glyphs):
    patterns, hier = glyphs
    with pytest.raises(ValueError, match=r"dt = 3\. ms must be smaller .* tau=2\. ms"):
        hier.run(patterns[0], dt=3 * ms)


def test_kanji_hierarchy_refuses_a_cue_of_grey_levels(glyphs):
    patterns, hier = glyphs
    with pytest.raises(ValueError, match=r"cue \(shape \(64,\)\) must hold pixel values in \[-1, 1\].*\[0, 255\]"):
        hier.run(np.where(patterns[0] > 0, 255.0, 0.0))


def test_kanji_hierarchy_refuses_a_cue_of_the_wrong_length(glyphs):
    patterns, hier = glyphs
    with pytest.raises(ValueError, match=r"cue must have shape \(64,\) or \(batch, 64\).*got \(10,\)"):
        hier.run(np.ones(10))


def test_kanji_hierarchy_refuses_a_nan_cue(glyphs):
    patterns, hier = glyphs
    with pytest.raises(ValueError, match="cue contains NaN"):
        hier.run(np.where(patterns[0] > 0, np.nan, -1.0))


@pytest.mark.parametrize("old, new, match", [
    ('dt = "1 ms"', 'dt = "2 ms"', r"\[run\] dt = 2\. ms must be smaller .* \[parts\] tau = 2\. ms"),
    ('dt = "1 ms"', 'dt = "0 ms"', r"\[run\] dt must be > 0"),
    ('record_every = "1 ms"', 'record_every = "-1 ms"', r"\[run\] record_every must be > 0"),
])
def test_kanji_model_file_bad_times_name_the_file_table_and_key(tmp_path, old, new, match):
    text = (MODELS / "kanji_hierarchy.toml").read_text()
    assert old in text
    path = tmp_path / "kh.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ValueError, match=r"kh\.toml: " + match):
        hd.load_model(path)


# -- empty weights and layers --------------------------------------------------------------------------------
@pytest.mark.parametrize("weights", [np.zeros((0, 0)), np.zeros((2, 0)), np.zeros((0, 3))])
def test_hierarchical_two_layer_refuses_empty_weights(weights):
    with pytest.raises(ValueError, match="patterns (is empty|has no features)"):
        HierarchicalAssociativeMemory.two_layer(weights, "tanh", "softmax")


def test_hierarchical_memory_refuses_empty_weights_naming_them_and_the_layer_sizes():
    layers = [Layer(3, "tanh", 20 * ms), Layer(2, "tanh", 5 * ms)]
    with pytest.raises(ValueError, match=r"weights\[0\] .* of 3 and 2 neurons.*shape \(2, 3\), got shape \(2, 0\)"):
        HierarchicalAssociativeMemory(layers, [np.zeros((2, 0))])


def test_hierarchical_memory_refuses_an_empty_layer():
    layers = [Layer(0, "tanh", 20 * ms), Layer(2, "tanh", 5 * ms)]
    with pytest.raises(ValueError, match=r"layer 0 is empty \(n=0\).*weights\[0\] of shape \(2, 0\)"):
        HierarchicalAssociativeMemory(layers, [np.zeros((2, 0))])


def test_layer_size_must_not_be_a_bool():
    with pytest.raises(TypeError, match="layer 0 needs a positive integer size, got n=True"):
        HierarchicalAssociativeMemory([Layer(True, "tanh", 20 * ms), Layer(2, "tanh", 5 * ms)], [np.zeros((2, 1))])


def test_general_memory_refuses_an_empty_weight_matrix():
    with pytest.raises(ValueError, match=r"W is empty \(shape \(0, 0\)\)"):
        GeneralAssociativeMemory(np.zeros((0, 0)), [], 20 * ms)


def test_general_memory_refuses_no_groups():
    with pytest.raises(ValueError, match="groups is empty"):
        GeneralAssociativeMemory(np.zeros((2, 2)), [], 20 * ms)


@pytest.mark.parametrize("build", [lambda p: GeneralAssociativeMemory.two_layer(p, "tanh", "softmax"),
                                   lambda p: GeneralAssociativeMemory.graded_response(p)])
@pytest.mark.parametrize("patterns", [np.zeros((0, 3)), np.zeros((2, 0))])
def test_general_memory_refuses_empty_patterns(build, patterns):
    with pytest.raises(ValueError, match="patterns (is empty|has no features)"):
        build(patterns)


def test_lif_spiking_ca3_takes_no_seed():
    """It passed seed=None to its parent as well: seed=0 failed with 'got multiple values for keyword argument'."""
    with pytest.raises(TypeError, match="LIFSpikingCA3 takes no seed: its LIF cells are deterministic"):
        hd.LIFSpikingCA3(hd.random_patterns(4, 16, seed=0), seed=0)
