"""Populations of rate neurons and the symmetric projection joining them, on Brian2.

A population of ``N`` neurons with Lagrangian ``L``, time constant ``tau`` and
input current ``I`` integrates (Krotov & Hopfield 2021, eq. 1)::

    tau dx_i/dt = u_i - x_i + I_i,       u_i = sum over projections into it

and exposes its activation ``a_i = dL/dx_i`` as a stored variable, refreshed
once per step from the current state. A :class:`SymmetricProjection` holds the
weights ``xi[mu, i]`` once, in one Brian2 ``Synapses`` object, and delivers
both ``u_mu = sum_i xi[mu,i] g_i`` (to the post side) and
``u_i = sum_mu xi[mu,i] f_mu`` (to the pre side) as two summed variables of
that one object, so the two directions cannot drift apart.

The order of operations in one time step (layer reductions, activations,
coupling, energy, Euler step) is the schedule of :mod:`hippo_dam.core.schedule`,
so the Brian2 run is exactly the explicit Euler scheme of the reference
integrator in :mod:`hippo_dam.core.reference`.
"""
from __future__ import annotations

import contextlib

import numpy as np
from brian2 import Clock, NeuronGroup, Synapses, linked_var, second
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity, fail_for_dimension_mismatch

from ._compat import hide_order_warning, set_state_update_order, set_summed_order
from .lagrangians import Lagrangian, make_lagrangian

__all__ = ["Population", "SymmetricProjection", "Projection", "check_tau", "connect_within_copies", "named_clock"]

from .schedule import (ORDER_ACTIVATION, ORDER_LAYER, ORDER_LAYER_MAX,  # noqa: F401  (re-exported)
                       ORDER_LAYER_MAX_RESET, ORDER_LAYER_SUMS, ORDER_STATE_UPDATE)


# Brian2 warns that our layer maxima (clip(x, m_post, inf) over the synapses) may depend on the
# order of execution; a maximum is order independent.
hide_order_warning("_post, inf)")


_STEP_CLOCKS = []  # the step clock of each network being built (a stack: a build may build another)


@contextlib.contextmanager
def step_clock(dt):
    """While a network is built, every :func:`named_clock` of step ``dt`` is one clock, ``'step_clock'``.

    Brian2 runs a network whose objects share one clock in its single-clock
    loop; with a clock per group it looks up, every step, which clocks are
    due (``benchmarks/bench_core.py``, alternated A/B: a model-A step at
    1024 x 1024 3-4% faster on one clock).
    """
    _STEP_CLOCKS.append(Clock(dt=dt, name="step_clock"))
    try:
        yield _STEP_CLOCKS[-1]
    finally:
        _STEP_CLOCKS.pop()


def named_clock(dt, name):
    """A Brian2 ``Clock`` of step ``dt`` with a fixed name (``'<group>_clock'``).

    A group given only ``dt`` gets a clock named ``'<group>_clock*'``, which
    Brian2 numbers (``features_clock_1``, ``_2``...) while objects of earlier
    networks are still alive. The name ends up in the generated code (the
    array holding ``dt``), so every new network of a session would compile,
    load and keep its own modules; with a fixed name it reuses them. Inside
    :func:`step_clock` of the same ``dt`` it is that network's one clock.
    """
    if _STEP_CLOCKS and float(_STEP_CLOCKS[-1].dt_) == float(dt / second):
        return _STEP_CLOCKS[-1]
    return Clock(dt=dt, name=name)


def check_quantity(value, unit, what, kind, example, positive=True):
    """Return ``value`` if it is a finite Brian2 quantity of ``unit``'s dimension (a ``kind``), > 0 if ``positive``.

    Raises ``TypeError`` for a missing or wrong unit and ``ValueError`` for
    inf or NaN, or a value <= 0 where ``positive`` (scalar or one value per
    neuron), naming ``what``.
    """
    if not isinstance(value, Quantity):
        raise TypeError(f"{what} needs {kind} units, e.g. {what}={example}; got {value!r}")
    try:
        fail_for_dimension_mismatch(value, unit)
    except DimensionMismatchError:
        raise TypeError(f"{what} must be a {kind} (e.g. {example}), got {value!r}") from None
    values = np.asarray(value / unit, dtype=float)
    if not np.all(np.isfinite(values)) or (positive and np.any(values <= 0)):
        raise ValueError(f"{what} must be {'> 0 and ' if positive else ''}finite, got {value!r}")
    return value


def check_positive_quantity(value, unit, what, kind, example):
    """:func:`check_quantity` with ``positive=True``: a positive, finite quantity."""
    return check_quantity(value, unit, what, kind, example, positive=True)


def check_tau(tau, what="tau"):
    """Return ``tau`` as a positive Brian2 time quantity, or raise naming the problem.

    ``tau`` may be a scalar or one value per neuron.
    """
    return check_positive_quantity(tau, second, what, "time", "20*ms")


class Population:
    """A layer of rate neurons: a Lagrangian, a size and a time constant.

    Parameters
    ----------
    name : str
        Brian2 name of the NeuronGroup (``'features'``, ``'memories'``, ``'CA1'``...).
    n : int
        Number of neurons.
    lagrangian : Lagrangian, str or mapping
        The layer's Lagrangian; its gradient is the activation.
    tau : Quantity
        Time constant (time units), scalar or one per neuron.
    state : str
        Name of the state variable (``'v'`` for features, ``'h'`` for memories).
    activation : str
        Name of the activation variable (``'g'`` or ``'f'``).
    region : str, optional
        Anatomical label (``'CA3'``, ``'EC-III'``) carried into results and plots.
    batch : int
        Number of independent copies simulated side by side (one per cue of a
        batched recall): the group holds ``batch * n`` neurons, copy ``b`` at
        indices ``b*n ... b*n + n - 1``, and layer reductions are per copy.
        ``tau`` may then also hold one value per neuron of every copy
        (``batch * n`` values, copy-major).
    clampable : bool
        Give every neuron a flag ``clamped`` (0 or 1) that holds its state
        fixed: ``tau dx/dt = (1 - clamped) (u - x + I)``. A clamped neuron
        still drives the others; the energy stays a Lyapunov function (its
        ``x'`` is 0).
    copy_params : mapping of str to array (batch,), optional
        Lagrangian parameters that differ between copies (e.g. ``{'beta':
        [...]}``): declared per neuron instead of shared, copy ``b`` using
        value ``b``. The other parameters stay shared constants.
    energy_term : bool
        The population's Legendre term is part of the network's energy
        (default). A relay with a time constant (EC-V) is a population that is not.

    Notes
    -----
    A component of an :class:`~hippo_dam.core.graph.EnergyGraph`: it creates
    its ``NeuronGroup`` (and, for a non-additive Lagrangian, its layer group
    and reductions) in :meth:`build`, at stage 0, before any projection.
    """

    stage = 0  # creates groups: built before the projections that join them
    lyapunov = True  # keeps the energy a Lyapunov function (with a convex Lagrangian)

    def __init__(self, name, n, lagrangian, tau, state="v", activation="g", region=None, batch=1,
                 clampable=False, copy_params=None, energy_term=True):
        n, batch = int(n), int(batch)
        if n < 1:
            raise ValueError(f"population {name!r} needs at least one neuron, got n={n}")
        if batch < 1:
            raise ValueError(f"population {name!r}: batch must be >= 1, got {batch}")
        self.name = name
        self.n = n
        self.batch = batch
        self.lagrangian: Lagrangian = make_lagrangian(lagrangian)
        self.lagrangian.check_layer_size(n, f"population {name!r}")
        self.tau = check_tau(tau, f"tau of {name}")
        self.state = state
        self.activation = activation
        self.region = region
        self.clampable = bool(clampable)
        self.energy_role = "population" if energy_term else None
        self.inputs: list[str] = []  # summed-input variables, one per projection
        self.group = None
        self.layer = None
        self.copy_params = {}
        for key, values in dict(copy_params or {}).items():
            values = np.asarray(values, dtype=float)
            if key not in self.lagrangian.params:
                raise ValueError(f"population {name!r}: {key!r} is not a parameter of {self.lagrangian!r}")
            if values.shape != (batch,) or not np.all(np.isfinite(values)):
                raise ValueError(f"population {name!r}: copy_params[{key!r}] must be {batch} finite values "
                                 f"(one per copy), got shape {values.shape}")
            self.copy_params[key] = values

    # Names of the layer-group variables used in other groups' code.
    @property
    def reduction_names(self):
        return [r.name for r in self.lagrangian.reductions]

    def equations(self) -> str:
        x, a = self.state, self.activation
        lines = [
            f"d{x}/dt = (1 - clamped)*(u + I - {x})/tau : 1" if self.clampable else f"d{x}/dt = (u + I - {x})/tau : 1",
            "I : 1  # external input current",
            "tau : second (constant)",
            f"{a} : 1  # activation dL/d{x}, refreshed each step",
        ]
        lines.append(("u = " + " + ".join(self.inputs) + " : 1") if self.inputs else "u : 1 (constant)")
        lines += [f"{name} : 1" for name in self.inputs]
        if self.clampable:
            lines.append("clamped : 1 (constant)  # 1: state held fixed")
        lines += [f"{p} : 1 (constant)" if p in self.copy_params else f"{p} : 1 (shared, constant)"
                  for p in self.lagrangian.params]
        lines += [f"{r} : 1 (linked)" for r in self.reduction_names]
        if self.lagrangian.grouped:
            lines.append("L_share : 1  # this neuron's share of its group's Lagrangian (for the online energy)")
        return "\n".join(lines)

    def build(self, dt):
        """Create the Brian2 objects on a clock of step ``dt``; returns them as a list."""
        lag = self.lagrangian
        group = NeuronGroup(self.n * self.batch, self.equations(), method="euler", name=self.name,
                            clock=named_clock(dt, f"{self.name}_clock"))
        set_state_update_order(group, ORDER_STATE_UPDATE)
        self.group = group
        self.write_values()
        objects = [group]
        if not lag.additive:
            objects += self._build_layer(group)
        expr = lag.brian_expression(lag.activation_expr, self.state)
        code = f"{self.activation} = {expr}"
        if lag.grouped:  # linked reductions cannot be read through Synapses: store the value share per neuron
            code += f"\nL_share = {lag.brian_expression(lag.value_expr, self.state)}"
        objects.append(
            group.run_regularly(
                code,
                when="groups",
                order=ORDER_ACTIVATION,
                name=f"{self.name}_activation",
            )
        )
        return objects

    def write_values(self):
        """Write the time constants and Lagrangian parameters into the built group.

        What :meth:`build` takes from the values, not the structure: a built
        group of the same structure gets another network's values this way.
        """
        group, tau = self.group, self.tau
        if np.ndim(tau) and self.batch > 1 and np.size(tau) != self.n * self.batch:  # one value per neuron of a copy
            tau = np.tile(np.asarray(tau / second), self.batch) * second
        group.tau = tau
        for p, val in self.lagrangian.params.items():
            setattr(group, p, np.repeat(self.copy_params[p], self.n) if p in self.copy_params else val)

    def copy_index(self):
        """Index of the batch copy each neuron of the group belongs to."""
        return np.repeat(np.arange(self.batch), self.n)

    def reduction_index(self):
        """Neuron of the layer group each neuron's reductions come from: its copy, or its group within its copy."""
        size = self.lagrangian.group_size
        return np.arange(self.n * self.batch) // size if size else self.copy_index()

    def _build_layer(self, group):
        """Reductions of a non-additive Lagrangian: a layer group of one neuron per copy (per group and copy
        for a grouped Lagrangian)."""
        lag = self.lagrangian
        copy_of = self.reduction_index()
        layer = NeuronGroup(
            int(copy_of[-1]) + 1, "\n".join(f"{r} : 1" for r in self.reduction_names),
            name=f"{self.name}_layer", order=ORDER_LAYER, clock=group.clock,
        )
        objects = [layer]
        # A sum of a constant (the layer norm's D = sum 1) is the neuron count: set once, not summed each step
        counts = [r.name for r in lag.reductions if r.op == "sum" and r.expr.strip() in ("1", "1.0")]
        for name in counts:
            setattr(layer, name, np.bincount(copy_of).astype(float))
        # A sum that uses an earlier sum (the layer norm's centred variance) is a second pass: its own
        # Synapses, whose summed updater runs one order after the first pass's. With maxima only, the
        # first (empty) pass carries their loops.
        for k, sums in enumerate(lag.sum_passes() or [[]]):
            model = "\n".join(
                f"{r.name}_post = {lag.brian_expression(r.expr, self.state, '_pre', '_post')} : 1 (summed)"
                for r in sums if r.name not in counts
            )
            objects.append(Synapses(group, layer, model, name=f"{self.name}_reduce" + (f"_{k}" if k else ""),
                                    clock=group.clock))
            objects[-1].connect(i=np.arange(len(copy_of), dtype=np.int32), j=copy_of)
            if k:
                set_summed_order(objects[-1], ORDER_LAYER_SUMS + k)
        syn = objects[1]
        for k, red in enumerate(r for r in lag.reductions if r.op == "max"):
            objects.append(layer.run_regularly(
                f"{red.name} = -inf", when="before_groups", order=ORDER_LAYER_MAX_RESET,
                name=f"{self.name}_max_{red.name}_reset"))
            # A sequential loop over the N synapses: order independent (max is
            # commutative), which code generation for Cython/C++ guarantees.
            expr = lag.brian_expression(red.expr, self.state, "_pre", "_post")
            objects.append(syn.run_regularly(
                f"{red.name}_post = clip({expr}, {red.name}_post, inf)",
                when="before_groups", order=ORDER_LAYER_MAX + k, name=f"{self.name}_max_{red.name}",
            ))
        for r in self.reduction_names:
            setattr(group, r, linked_var(layer, r, index=copy_of))
        self.layer = layer
        return objects


class SymmetricProjection:
    """One weight matrix ``xi`` (N_post x N_pre) used in both directions.

    ``u_post[mu] = sum_i xi[mu, i] a_pre[i]`` and
    ``u_pre[i] = sum_mu xi[mu, i] a_post[mu]``, from one ``Synapses`` object
    whose weight ``w`` is the only copy of ``xi`` (per copy of a batch: the
    copies are joined block-diagonally, so each cue sees only its own copy).

    Parameters
    ----------
    pre, post : Population
        Lower (features) and upper (memories) population.
    weights : array, shape (post.n, pre.n)
        The symmetric coupling ``xi``; must be finite.
    name : str
    """

    stage = 1  # joins groups built at stage 0
    energy_role = "coupling"
    lyapunov = True

    def __init__(self, pre: Population, post: Population, weights, name="coupling"):
        if pre.batch != post.batch:
            raise ValueError(f"projection {name!r}: batch sizes differ ({pre.batch} vs {post.batch})")
        if pre is post:
            raise ValueError(f"projection {name!r}: a recurrent block needs the dense projection")
        self._attach(pre, post, weights, name, np.float64)
        self.synapses = None

    def _attach(self, pre, post, weights, name, dtype):
        """Check ``xi`` against the populations and add the input ``u_<name>`` to both."""
        weights = np.asarray(weights)
        if weights.shape != (post.n, pre.n):
            raise ValueError(
                f"projection {name!r}: weights must have shape (N_post, N_pre) = "
                f"({post.n}, {pre.n}), got {weights.shape}"
            )
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"projection {name!r}: weights contain NaN or inf")
        self.pre, self.post, self.name = pre, post, name
        # the only copy of xi the simulation reads (no copy if already C-contiguous in dtype)
        self.weights = np.ascontiguousarray(weights, dtype=dtype)
        self.input_name = f"u_{name}"
        pre.inputs.append(self.input_name)
        if post is not pre:
            post.inputs.append(self.input_name)

    @property
    def recurrent(self):
        """True for a block on the diagonal of a general network's ``W`` (``pre is post``)."""
        return self.pre is self.post

    @property
    def energy_factor(self):
        """``c_P`` of the coupling term ``-c_P a_post . W a_pre``: 1/2 for a recurrent block (``W`` symmetric)."""
        return 0.5 if self.recurrent else 1.0

    def build(self, dt=None):
        """Create the Synapses (after both populations are built; they run on the pre group's clock)."""
        u = self.input_name
        model = (
            "w : 1 (constant)\n"
            f"{u}_post = w*{self.pre.activation}_pre : 1 (summed)\n"
            f"{u}_pre = w*{self.post.activation}_post : 1 (summed)"
        )
        syn = Synapses(self.pre.group, self.post.group, model, name=self.name, clock=self.pre.group.clock)
        _connect_all_to_all(syn, self.pre.n, self.post.n, self.weights, getattr(self.pre, "batch", 1))
        self.synapses = syn
        return [syn]


class Projection:
    """A one-way projection ``u_post[j] = sum_i w[j, i] a_pre[i]`` (one ``Synapses`` object).

    The building block of circuits whose loops are not closed by one shared
    matrix (the EC-CA1 loop, spiking memories): symmetry is then a property of
    the weights passed in, not of the object. Compare :class:`SymmetricProjection`.

    Parameters
    ----------
    pre, post : Population (or any object with ``name``, ``n``, ``group``, ``inputs``)
    weights : array (post.n, pre.n), or scalar / array (n,) when ``one_to_one``
    name : str
    pre_variable : str, optional
        Variable of the pre group that is transmitted (default: its activation).
    one_to_one : bool
        Connect neuron ``i`` to neuron ``i`` only (``pre.n == post.n``).
    energy_term : bool
        The post side carries the energy's coupling term ``-a_post . u_post``
        (the forward half of a loop closed elsewhere, as the EC-III -> CA1
        path). Default False: a relay, which is no energy term.
    """

    stage = 1
    lyapunov = False  # one way: symmetry, and so the energy's descent, is not the object's property

    def __init__(self, pre, post, weights, name, pre_variable=None, one_to_one=False, energy_term=False):
        weights = np.asarray(weights, dtype=float)
        if one_to_one:
            if pre.n != post.n:
                raise ValueError(f"projection {name!r}: one-to-one needs equal sizes, got {pre.n} and {post.n}")
            weights = np.broadcast_to(weights, (pre.n,)).copy() if weights.ndim <= 1 and weights.size in (1, pre.n) \
                else None
            if weights is None:
                raise ValueError(f"projection {name!r}: one-to-one weights must be a scalar or have shape ({pre.n},)")
        elif weights.shape != (post.n, pre.n):
            raise ValueError(f"projection {name!r}: weights must have shape (N_post, N_pre) = "
                             f"({post.n}, {pre.n}), got {weights.shape}")
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"projection {name!r}: weights contain NaN or inf")
        self.pre, self.post, self.weights, self.name = pre, post, weights, name
        self.pre_variable = pre_variable or pre.activation
        self.one_to_one = bool(one_to_one)
        self.energy_role = "coupling" if energy_term else None
        self.input_name = f"u_{name}"
        post.inputs.append(self.input_name)
        self.synapses = None

    def build(self, dt=None):
        """Create the Synapses (after both groups are built; they run on the pre group's clock)."""
        model = f"w : 1 (constant)\n{self.input_name}_post = w*{self.pre_variable}_pre : 1 (summed)"
        syn = Synapses(self.pre.group, self.post.group, model, name=self.name, clock=self.pre.group.clock)
        batch = getattr(self.pre, "batch", 1)
        if self.one_to_one:
            syn.connect(j="i")
            syn.w = np.tile(self.weights, batch)
        else:
            _connect_all_to_all(syn, self.pre.n, self.post.n, self.weights, batch)
        self.synapses = syn
        return [syn]


def connect_within_copies(syn, n_pre, n_post, batch=1):
    """Connect every pre neuron to every post neuron of the same copy of a batch (block diagonal).

    Synapse order: copy, then (pre, post) in C order, so one copy's weight
    matrix ``W`` (n_post x n_pre) is ``W.T.ravel()``.
    """
    i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    offsets = np.arange(batch)[:, None]
    syn.connect(i=(i.ravel() + n_pre * offsets).ravel().astype(np.int32),
                j=(j.ravel() + n_post * offsets).ravel().astype(np.int32))


def _connect_all_to_all(syn, n_pre, n_post, weights, batch=1):
    """All-to-all synapses with ``w[i -> j] = weights[j, i]``, within each of ``batch`` copies."""
    connect_within_copies(syn, n_pre, n_post, batch)
    syn.w = np.tile(weights.T.ravel(), batch)
