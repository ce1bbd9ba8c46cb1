"""Issue 18: every shipped network is built by the one runner.

The runner is :class:`~hippo_dam.networks.two_layer.AssociativeMemory`: ``_graph(batch)`` describes the
network as the components of an :class:`~hippo_dam.core.graph.EnergyGraph`, ``_build`` turns them into one
Brian2 ``Network`` (what every recall, grid and standalone build runs). This walks every shipped model file
(``networks()`` of what ``load_model`` returns, experiments included, built without running) and every
public network constructor, builds each network and checks that every Brian2 object it holds is owned by one
of its graph's components, the graph's energy or the runner's monitors.
"""
import numpy as np
import pytest
from brian2 import cm, meter, ms

import hippo_dam as hd
from hippo_dam.core.graph import EnergyGraph
from hippo_dam.networks.two_layer import AssociativeMemory

XI = hd.random_patterns(4, 24, seed=1)


def _owned_names(objects):
    """Names of Brian2 objects and of every object they contain."""
    names = set()
    for obj in objects:
        names.add(obj.name)
        names |= _owned_names(getattr(obj, "contained_objects", []))
    return names


def assert_built_by_the_one_runner(net, what):
    """The runner's own build (no subclass replaces it), from an EnergyGraph whose components own every
    Brian2 object the network holds (besides the runner's monitors)."""
    assert isinstance(net, AssociativeMemory), f"{what}: {type(net).__name__} is not built by the runner"
    assert type(net)._build is AssociativeMemory._build, f"{what}: {type(net).__name__} builds its own network"
    batch = getattr(net, "_fixed_batch", None) or 1
    brian_net = net._build(batch)
    assert isinstance(net.graph, EnergyGraph), what
    owned = _owned_names(net.graph.built_objects) | _owned_names(net._monitors.values())
    stray = sorted(o.name for o in brian_net.objects if o.name not in owned)
    assert not stray, f"{what}: Brian2 objects no component owns: {stray}"
    # every component that made a neuron group of its own name (the populations) is in the network
    groups = {c.name for c in net.graph.components if getattr(getattr(c, "group", None), "name", None) == c.name}
    assert groups <= _owned_names(brian_net.objects), (what, sorted(groups - _owned_names(brian_net.objects)))


#: shorter sessions for the experiments whose paths take long to draw (RatInABox): the same components and
#: wiring, fewer rooms and seconds
SHORTER = {"place_shared_map": {"n_rooms": 2, "explore_s": 10.0, "test_s": 10.0},
           "place_theta": {"template_s": 10.0, "test_s": 10.0}}


@pytest.mark.parametrize("name", sorted(hd.shipped_models()))
def test_every_shipped_model_file_runs_on_the_one_runner(name):
    model = hd.load_model(hd.shipped_models()[name])
    if name in SHORTER:
        model.settings = {**model.settings, **SHORTER[name]}
    nets = model.networks()
    assert nets, f"{name}: its loader names no network"
    for net in nets:
        assert_built_by_the_one_runner(net, name)


def _two_populations(batch):
    f = hd.Population("f", 24, "tanh", 10 * ms, "v", "g", batch=batch)
    m = hd.Population("m", 4, "log_sum_exp", 2 * ms, "h", "f", batch=batch)
    return [f, m, hd.SymmetricProjection(f, m, XI)]


def _code():
    arena = hd.Arena(0.5 * meter, 0.5 * meter)
    modules = hd.grid_modules(2, 6, seed=0)
    return hd.SpatialCode(arena, modules, hd.make_environments(1, arena, n_modules=2, n_landmarks=1, seed=0)[0])


def _place_network():
    code = _code()
    net = hd.PlaceCellNetwork(code, code.arena.grid_points(10 * cm) * meter).network
    net.set_stimulus(code.inputs(code.arena.grid_points(10 * cm)[:5]), 10 * ms)
    return net


CONSTRUCTORS = {
    "DenseAssociativeMemory": lambda: hd.DenseAssociativeMemory(XI, "tanh", "log_sum_exp"),
    "model_a": lambda: hd.model_a(XI),
    "model_b": lambda: hd.model_b(XI),
    "model_c": lambda: hd.model_c(XI),
    "GraphMemory": lambda: hd.GraphMemory([hd.Layer(24, "tanh", 10 * ms, "f"), hd.Layer(4, "log_sum_exp", 2 * ms, "m")],
                                          [(0, 1, XI)]),
    "GraphMemory.from_components": lambda: hd.GraphMemory.from_components(_two_populations),
    "HierarchicalAssociativeMemory": lambda: hd.HierarchicalAssociativeMemory(
        [hd.Layer(24, "tanh", 10 * ms, "a"), hd.Layer(6, "rectified_power", 5 * ms, "b"),
         hd.Layer(4, "log_sum_exp", 2 * ms, "c")], [np.ones((6, 24)) * 0.1, np.ones((4, 6)) * 0.1]),
    "GeneralAssociativeMemory": lambda: hd.GeneralAssociativeMemory(
        np.block([[np.zeros((24, 24)), XI.T], [XI, np.zeros((4, 4))]]),
        [(range(24), "tanh", "features"), (range(24, 28), "log_sum_exp", "memories")], 5 * ms),
    "CA3Circuit": lambda: hd.CA3Circuit(XI),
    "ECCA1Loop": lambda: hd.ECCA1Loop(XI),
    "SpikingCA3": lambda: hd.SpikingCA3(XI),
    "LIFSpikingCA3": lambda: hd.LIFSpikingCA3(XI),
    "PlaceCellNetwork": lambda: _place_network(),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_every_public_network_constructor_builds_on_the_one_runner(name):
    assert_built_by_the_one_runner(CONSTRUCTORS[name](), name)


def _network_makers(root):
    """(module, function) of every call that makes or runs a Brian2 network: ``Network(...)``,
    ``MagicNetwork(...)``, ``brian2.run(...)``, and ``GraphMemory.from_components(...)`` (an experiment's
    network: the one place for it is ``session_network``)."""
    import ast

    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else None
                if name in ("Network", "MagicNetwork") or (name == "run" and owner == "brian2") or \
                        (name == "from_components" and owner == "GraphMemory"):
                    found.add((str(path.relative_to(root)), fn.name, name))
    return found


def test_no_module_builds_a_brian2_network_of_its_own():
    """Brian2 networks are made by the runner's ``_build`` (and the batched grid's, from the same graph);
    experiments turn their sessions into networks in ``session_network``, and imprinting its rule (a
    component, ``OneShotImprinting``) in ``imprint_memories``, both through ``GraphMemory.from_components``."""
    from pathlib import Path

    found = _network_makers(Path(hd.__file__).parent)
    assert found == {("networks/two_layer.py", "_build", "Network"), ("networks/batched.py", "_build", "Network"),
                     ("circuits/place_cells.py", "imprint_memories", "from_components"),
                     ("experiments/experiment_model.py", "session_network", "from_components")}, sorted(found)


def test_a_circuit_of_components_without_populations_runs_as_a_session():
    """The imprinting rule alone (no population, so no energy) runs through the one runner; a graph without
    populations that is asked for an energy is refused by name."""
    from brian2 import second

    from hippo_dam.circuits.place_cells import OneShotImprinting
    from hippo_dam.networks.graph_memory import GraphMemory

    arena = hd.Arena(60 * cm, 60 * cm)
    code = hd.SpatialCode(arena, hd.grid_modules(2, 8, seed=0), hd.make_environments(1, arena, n_modules=2, seed=0)[0],
                          gain=2.0)
    traj = hd.random_walk(arena, 2 * second, seed=0)
    rule = OneShotImprinting(code.inputs(traj.xy), traj, 5, 0.3)
    with pytest.raises(ValueError, match="at least one population with an energy term.*energy=None"):
        EnergyGraph([rule])
    net = GraphMemory.from_components(lambda batch: [rule], energy=None, dt=50 * ms, record_every=None, batch=1)
    graph = net.run_session(2 * second)
    assert graph["imprinting"] is rule and net._net is not None
    patterns, locations, times, used = rule.imprinted()
    assert 1 <= used.sum() <= 5 and np.array_equal(patterns, code.patterns(locations))
