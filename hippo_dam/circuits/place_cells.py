"""Place cells as the memory neurons of a Dense Associative Memory driven by a moving animal.

Each memory neuron ``mu`` stores the feature pattern ``xi_mu`` of one location
``x_mu`` of an arena (grid, boundary and landmark cells, :mod:`hippo_dam.circuits.space`).
While the animal runs, the feature neurons receive the time-varying input
``I(t) = I(x(t))`` (a Brian2 ``TimedArray``) and the two-layer dynamics run
unchanged (Krotov & Hopfield 2021, eq. 1)::

    tau_f dv_i/dt  = sum_mu xi[mu,i] f_mu - v_i + I_i(t)      g = tanh(v)
    tau_h dh_mu/dt = sum_i  xi[mu,i] g_i  - h_mu

Two memory layers are compared on the same inputs:

``'dam'``
    ``L_h = (1/beta) log sum exp(beta h)``, ``f = softmax(beta h)``: the CA3
    circuit of :mod:`hippo_dam.circuits` in its fast-inhibition limit (model B
    memories with tanh features), ``beta = beta_n / N_f``. A memory cell fires
    at ``max_rate * f_mu``.
``'classical'``
    ``L_h = h^2 / 2`` (``f = h``) with weights ``xi / sqrt(N_f)``: the
    graded-response Hopfield net with ``W = xi^T xi / N_f`` (model A's limit
    ``F = x^2``, the classical net). Its memory unit carries the overlap
    ``m_mu = h_mu / sqrt(N_f)`` in [-1, 1]; as a rate it is
    ``max_rate * max(m_mu, 0)`` (a rate cannot be negative: an assumption of
    the read-out, not of the dynamics).

Rate maps bin the memory rates by the animal's position
(:func:`rate_maps`); :func:`place_fields` finds the fields;
:func:`decode_position` reads the position from the memory population as the
stored location of the most active memory neuron.

Energy: with the input held constant the energy ``E(v, h; I)`` of
:mod:`hippo_dam.core.energy` never rises (:meth:`PlaceCellNetwork.hold`). With a
moving input it is not a Lyapunov function: ``dE/dt = -(dissipation) -
g . dI/dt``. What is plotted instead is the energy minus the work the input
did on the network, ``D(t) = E(t) + int_0^t g . dI``; with the piecewise
constant input of the ``TimedArray`` (a step ``Delta I_k`` at each sample)
``D_k = E_k + sum_{j<=k} g(v_j) . (I_j - I_{j-1})``, which never rises
(:attr:`PlaceRun.dissipated`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, NeuronGroup, Synapses, TimedArray, linked_var, ms, second

from .hippocampus import check_rate
from ..core.components import MovingInput
from ..core.graph import EnergyGraph
from ..core.lagrangians import identity, log_sum_exp, tanh
from ..networks.two_layer import DenseAssociativeMemory
from ..core.populations import check_tau, named_clock
from ..checks import check_count
from .space import Arena, SpatialCode, Trajectory, check_length

__all__ = ["PlaceCellNetwork", "PlaceRun", "rate_maps", "bayesian_decode", "place_fields", "field_statistics", "decode_position",
           "imprint_memories", "ImprintResult", "MEMORY_KINDS"]

MEMORY_KINDS = ("dam", "classical")


class _MovingInputMemory(DenseAssociativeMemory):
    """The two-layer network whose feature input is read from a TimedArray every step: ``I_i = stim(t, i)``.

    The two-layer energy graph plus a :class:`~hippo_dam.core.components.MovingInput` component.
    """

    stimulus: TimedArray | None = None
    _energy_is_lyapunov = False  # the input moves with the animal

    def _graph(self, batch=1):
        graph = super()._graph(batch)
        return EnergyGraph(graph.components + [MovingInput(self.features, self.stimulus, name="features_moving_input")])

    def drive(self, inputs, dt_input, duration=None):
        """Run with input ``inputs`` (T, N_f), sample ``k`` held over ``[k dt_input, (k+1) dt_input)``."""
        inputs = self.set_stimulus(inputs, dt_input)
        duration = len(inputs) * dt_input if duration is None else duration
        return self.recall(inputs[0], duration=duration, cue_input=1.0, target=0)

    def set_stimulus(self, inputs, dt_input):
        """Make ``inputs`` (T, N_f) the feature input of the next run; returns them as an array."""
        inputs = np.asarray(inputs, float)
        if inputs.ndim != 2 or inputs.shape[1] != self.n_features:
            raise ValueError(f"inputs must have shape (T, {self.n_features}), got {inputs.shape}")
        if not np.all(np.isfinite(inputs)):
            raise ValueError("inputs contain NaN or inf")
        # a fixed name: Brian2 numbers unnamed ones ('_timedarray_1'...) and the name is in the generated
        # code, so every new stimulus would compile (or load and keep) a module of its own
        self.stimulus = TimedArray(inputs, dt=dt_input, name="place_stimulus")
        self._net = None  # a new stimulus: rebuild (compiled code is cached)
        return inputs


@dataclass
class PlaceRun:
    """One run of a place-cell network along a trajectory (or at a fixed point).

    Attributes
    ----------
    t : array (T,)
        Sample times (s), one per input sample.
    xy : array (T, 2)
        Position of the animal (m) at those times.
    rates : array (T, K)
        Memory (place) cell rates (Hz).
    decoded : array (T, 2)
        Position decoded from the memory population (m).
    error : array (T,)
        Decoding error (m).
    energy : array (T,)
        ``E(v, h; I(t))`` at the sample times.
    dissipated : array (T,)
        ``D = E + int g . dI``: energy minus the input's work (never rises).
    silenced : array (N_f,) of bool
    completion : array (T,)
        Pattern completion of the silenced features: the fraction of them
        whose state has the sign of the stored-pattern bit of the true
        position, ``mean_{i silenced} [sign(v_i) == xi_i(x(t))]`` (0.5 = chance;
        NaN when nothing is silenced).
    attrs : dict
    """

    t: np.ndarray
    xy: np.ndarray
    rates: np.ndarray
    decoded: np.ndarray
    error: np.ndarray
    energy: np.ndarray
    dissipated: np.ndarray
    silenced: np.ndarray
    completion: np.ndarray
    attrs: dict = field(default_factory=dict)

    def to_nwb(self, path, description="hippo_dam place-cell run"):
        """Write this run to an NWB file (:func:`hippo_dam.write_session_nwb`): position, velocity, the place
        cells' rates and the decoded position; returns the path."""
        from ..nwb import write_session_nwb

        return write_session_nwb(path, self.t, self.xy, rates=self.rates, decoded={"memory": self.decoded},
                                 description=description, attrs=self.attrs)

    def summary(self, skip=0.2 * second):
        """Median, mean and 90th percentile of the decoding error in cm, and the mean completion (after ``skip``)."""
        keep = self.t >= float(skip / second)
        e = self.error[keep] * 100
        return {"median_cm": float(np.median(e)), "mean_cm": float(np.mean(e)),
                "p90_cm": float(np.percentile(e, 90)),
                "completion": float(np.mean(self.completion[keep])) if self.silenced.any() else float("nan")}


class PlaceCellNetwork:
    """Memory neurons that store the feature patterns of locations; a moving animal drives the features.

    Parameters
    ----------
    code : SpatialCode
        The feature cells (and environment) the patterns are read from.
    locations : Quantity (length), shape (K, 2)
        Stored location of each memory neuron.
    kind : {'dam', 'classical'}
        Memory layer (see the module docstring).
    beta_n : float
        ``beta * N_f`` of the DAM's softmax (default 10).
    tau_f, tau_h : Quantity
        Feature and memory time constants (default 20 ms and 10 ms; pyramidal
        membranes 10-30 ms, an assumption).
    dt : Quantity
        Euler step (default 1 ms).
    max_rate : Quantity (Hz)
        Rate of a memory cell at ``f = 1`` (DAM) or overlap 1 (classical); default 20 Hz.
    patterns : array (K, N_f), optional
        Stored patterns (default: ``code.patterns(locations)``); for memories
        of several environments or imprinted ones.
    environment : int array (K,), optional
        Environment of each memory (default all 0), for decoding across environments.
    codegen_target : str
    """

    def __init__(self, code: SpatialCode, locations, kind="dam", beta_n=10.0, tau_f=20 * ms, tau_h=10 * ms,
                 dt=1 * ms, max_rate=20 * Hz, patterns=None, environment=None, codegen_target="cython"):
        if kind not in MEMORY_KINDS:
            raise ValueError(f"kind must be one of {MEMORY_KINDS}, got {kind!r}")
        if not isinstance(code, SpatialCode):
            raise TypeError(f"code must be a SpatialCode, got {type(code).__name__}")
        self.code, self.kind = code, kind
        self.locations = _check_locations(code.arena, locations)
        self.patterns = code.patterns(self.locations) if patterns is None else np.asarray(patterns, float)
        if self.patterns.shape != (len(self.locations), code.n):
            raise ValueError(f"patterns must have shape (K, N_f) = ({len(self.locations)}, {code.n}), "
                             f"got {self.patterns.shape}")
        self.environment = np.zeros(len(self.locations), int) if environment is None else np.asarray(environment)
        if self.environment.shape != (len(self.locations),):
            raise ValueError(f"environment must have one entry per location ({len(self.locations)}), "
                             f"got shape {self.environment.shape}")
        self.beta_n = float(beta_n)
        if not (np.isfinite(self.beta_n) and self.beta_n > 0):
            raise ValueError(f"beta_n must be > 0, got {beta_n}")
        self.max_rate = check_rate(max_rate)
        n = code.n
        if kind == "dam":
            self.memory_lagrangian, weights = log_sum_exp(self.beta_n / n), self.patterns
        else:
            self.memory_lagrangian, weights = identity(), self.patterns / np.sqrt(n)
        self.network = _MovingInputMemory(weights, tanh(), self.memory_lagrangian, tau_f=tau_f, tau_h=tau_h, dt=dt,
                                          record_every=None, codegen_target=codegen_target,
                                          feature_region="EC/sensory", memory_region="CA3 place cells")

    @property
    def n_memories(self):
        return len(self.locations)

    def memory_rates(self, h):
        """Place-cell rates (Hz) from memory potentials ``h`` (..., K)."""
        f = self.memory_lagrangian.activation(h)
        if self.kind == "classical":
            f = np.clip(h / np.sqrt(self.code.n), 0, None)  # the overlap, rectified as a rate
        return f * float(self.max_rate / Hz)

    def _run(self, inputs, dt_input):
        net = self.network
        net.record_every = dt_input
        net.energy_every = dt_input
        res = net.drive(inputs, dt_input)
        T = len(inputs)
        v, h = res.v[:T], res.h[:T]
        E = res.energy[:T]
        g = tanh().activation(v)
        dI = np.diff(inputs, axis=0, prepend=inputs[:1])
        return res, v, h, E, E + np.cumsum(np.sum(g * dI, axis=1))

    def run(self, trajectory: Trajectory, silenced=None, code: SpatialCode | None = None) -> PlaceRun:
        """Drive the features along ``trajectory`` (input sampled at its ``dt``).

        Parameters
        ----------
        trajectory : Trajectory
        silenced : bool array (N_f,), optional
            Feature afferents silenced (no input), e.g. ``code.silence_mask(['landmark'])``.
        code : SpatialCode, optional
            The environment the animal runs in (default: the network's own).
        """
        code = self.code if code is None else code
        if not isinstance(code, SpatialCode):
            raise TypeError(f"code must be a SpatialCode, got {type(code).__name__}")
        if code.n != self.code.n:
            raise ValueError(f"the code has {code.n} feature cells, the network {self.code.n}")
        self.code.arena.check_trajectory(trajectory, "trajectory", "the network's arena")
        code.arena.check_trajectory(trajectory, "trajectory", "the code's arena")
        silenced = np.zeros(code.n, bool) if silenced is None else np.asarray(silenced, bool)
        inputs = code.inputs(trajectory.xy, silenced)
        res, v, h, E, D = self._run(inputs, trajectory.dt)
        if silenced.any():
            truth = code.patterns(trajectory.xy)[:, silenced]
            completion = np.mean(np.where(v[:, silenced] >= 0, 1.0, -1.0) == truth, axis=1)
        else:
            completion = np.full(len(v), np.nan)
        rates = self.memory_rates(h)
        decoded = decode_position(rates, self.locations)
        error = np.linalg.norm(decoded - trajectory.xy, axis=1)
        attrs = {"kind": self.kind, "n_features": code.n, "n_memories": self.n_memories,
                 "beta": float(self.memory_lagrangian.params.get("beta", np.nan)), "beta_n": self.beta_n,
                 "tau_f_ms": float(np.mean(self.network.tau_f / ms)),
                 "tau_h_ms": float(np.mean(self.network.tau_h / ms)), "dt_ms": float(self.network.dt / ms),
                 "input_dt_ms": float(trajectory.dt / ms), "duration_s": float(trajectory.duration / second),
                 "n_silenced": int(silenced.sum()), "wall_time_s": res.attrs["wall_time_s"],
                 "max_rate_Hz": float(self.max_rate / Hz), "environment": code.environment.name}
        return PlaceRun(trajectory.t, trajectory.xy, rates, decoded, error, E, D, silenced, completion, attrs)

    def hold(self, xy, duration=200 * ms, silenced=None, dt_input=10 * ms):
        """Hold the animal at ``xy`` (length, (2,)): constant input, so ``E`` is a Lyapunov function.

        Returns ``(t, energy, rates)``: times (s), ``E`` at every ``dt_input``
        and the final place-cell rates (Hz).
        """
        check_tau(duration, "duration")
        check_tau(dt_input, "dt_input")
        xy = self.code.arena.check_positions(check_length(xy, "xy", positive=False), "xy")
        silenced = np.zeros(self.code.n, bool) if silenced is None else np.asarray(silenced, bool)
        n = int(round(float(duration / dt_input)))
        inputs = np.repeat(self.code.inputs(xy[None], silenced), n, axis=0)
        net = self.network
        net.record_every, net.energy_every = None, net.dt  # the energy at every Euler step
        res = net.drive(inputs, dt_input)
        return np.asarray(res.energy_t), np.asarray(res.energy), self.memory_rates(res.h_final)


def _check_locations(arena, locations, what="locations"):
    """Stored locations (K, 2) in metres from a length array: K >= 1, finite, inside ``arena``."""
    xy = np.asarray(check_length(locations, what, positive=False), float)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ValueError(f"{what} must have shape (K, 2) with K >= 1 stored locations, got {xy.shape}")
    return arena.check_positions(xy, what)


def decode_position(rates, locations):
    """Stored location of the most active memory neuron at each time: ``x_hat(t) = x_{argmax_mu r_mu(t)}``.

    Parameters
    ----------
    rates : array (T, K)
        Rate of every memory neuron at each time (no NaN).
    locations : array (K, 2) metres
        Stored location of each memory neuron (finite, K >= 1).
    """
    rates, locations = np.asarray(rates, float), np.asarray(locations, float)
    if locations.ndim != 2 or locations.shape[1] != 2 or len(locations) == 0:
        raise ValueError(f"locations must have shape (K, 2) with K >= 1 stored locations, got {locations.shape}")
    if rates.ndim != 2 or rates.shape[1] != len(locations):
        raise ValueError(f"rates must have shape (T, K) with one column per stored location (K = {len(locations)}); "
                         f"got rates of shape {rates.shape} for locations of shape {locations.shape}")
    if not np.all(np.isfinite(locations)):
        raise ValueError("locations contain NaN or inf")
    if np.any(np.isnan(rates)):
        raise ValueError("rates contain NaN")
    return locations[np.argmax(rates, axis=1)]


def rate_maps(xy, rates, arena: Arena, bin_size, smooth_bins=1.0, min_occupancy=1):
    """Occupancy-normalised rate maps of every cell.

    ``map[c, a, b] = sum_t K(rate[t, c] in bin) / sum_t K(in bin)``: rates and
    occupancy are binned on squares of ``bin_size``, each smoothed by a
    Gaussian of ``smooth_bins`` bins, and divided; bins with fewer than
    ``min_occupancy`` raw samples are NaN.

    Returns
    -------
    maps : array (C, nx, ny) in the units of ``rates``
    occupancy : array (nx, ny) of samples
    """
    from scipy.ndimage import gaussian_filter

    if not isinstance(arena, Arena):
        raise TypeError(f"arena must be an Arena, got {type(arena).__name__}")
    xe, ye = arena.bins(bin_size)
    xy, rates = arena.check_positions(xy, "xy"), np.asarray(rates, float)
    if xy.ndim != 2:
        raise ValueError(f"xy must have shape (T, 2), got {xy.shape}")
    if rates.ndim != 2 or len(rates) != len(xy):
        raise ValueError(f"rates must have shape (T, C) with T = {len(xy)} samples, got {rates.shape}")
    ix = np.clip(np.searchsorted(xe, xy[:, 0], side="right") - 1, 0, len(xe) - 2)
    iy = np.clip(np.searchsorted(ye, xy[:, 1], side="right") - 1, 0, len(ye) - 2)
    shape = (len(xe) - 1, len(ye) - 1)
    flat = ix * shape[1] + iy
    occ = np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape).astype(float)
    summed = np.zeros((rates.shape[1], shape[0] * shape[1]))
    np.add.at(summed.T, flat, rates)
    summed = summed.reshape((-1,) + shape)
    if smooth_bins:
        occ_s = gaussian_filter(occ, smooth_bins, mode="constant")
        summed = np.stack([gaussian_filter(s, smooth_bins, mode="constant") for s in summed])
    else:
        occ_s = occ
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = summed / occ_s
    maps[:, occ < min_occupancy] = np.nan
    return maps, occ


def bayesian_decode(counts, maps, window, bin_size):
    """Position of each window by Bayesian decoding of independent Poisson cells (Zhang et al. 1998).

    With a flat prior over the visited bins ``x`` (eq. 36 of Zhang et al.
    1998; what pynapple's ``decode_bayes`` computes)::

        log P(x | n) = sum_c n_c log(f_c(x) + eps) - tau sum_c f_c(x) + const,   eps = 1e-12 Hz

    and the decoded position is the centre of the bin of highest posterior.
    A rate version is read the same way with its expected counts
    ``n_c = r_c tau``.

    Parameters
    ----------
    counts : array (T, C)
        Spike counts (or expected counts, >= 0) of every cell in each window.
    maps : array (C, nx, ny)
        Rate maps (Hz) of the same cells, from :func:`rate_maps`; NaN bins
        (unvisited) are never decoded.
    window : Quantity (time)
        ``tau``, the window the counts were taken in.
    bin_size : Quantity (length)
        The maps' bin size.

    Returns
    -------
    array (T, 2)
        Decoded positions (m), bin centres.
    """
    counts, maps = np.asarray(counts, float), np.asarray(maps, float)
    tau = float(check_tau(window, "window") / second)
    b = float(check_length(bin_size, "bin_size"))
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (C, nx, ny), one rate map per cell, got {maps.shape}")
    if counts.ndim != 2 or counts.shape[1] != maps.shape[0]:
        raise ValueError(f"counts must have shape (T, C) with C = {maps.shape[0]} cells (one per map), "
                         f"got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and >= 0")
    flat = maps.reshape(len(maps), -1)
    visited = np.all(np.isfinite(flat), axis=0)
    if not visited.any():
        raise ValueError("maps have no bin visited by every cell (all NaN)")
    if np.any(flat[:, visited] < 0):
        raise ValueError("maps must be rates >= 0 (Hz)")
    f = flat[:, visited]  # (C, X)
    log_post = counts @ np.log(f + 1e-12) - tau * f.sum(axis=0)
    where = (np.argwhere(visited.reshape(maps.shape[1:])) + 0.5) * b
    return where[np.argmax(log_post, axis=1)]


def place_fields(rate_map, threshold=0.2, min_bins=4, min_peak=1.0):
    """Place fields of one rate map: connected regions (8-neighbour) above ``threshold * peak``.

    Parameters
    ----------
    rate_map : array (nx, ny) (Hz; NaN = unvisited)
    threshold : float
        Fraction of the map's peak rate a bin must exceed.
    min_bins : int
        Smallest field (bins).
    min_peak : float
        A map whose peak is below this (Hz) has no field.

    Returns
    -------
    list of dict
        ``n_bins``, ``peak`` (Hz), ``peak_bin`` (index pair), ``centroid_bin`` (float pair), one per field,
        largest first.
    """
    from scipy.ndimage import label

    m = np.asarray(rate_map, float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"rate_map must be 2-D (nx, ny) bins, one cell's map (maps[c] of rate_maps), "
                         f"got shape {m.shape}")
    m = np.nan_to_num(m, nan=0.0)
    peak = m.max()
    if peak < min_peak:
        return []
    labels, n = label(m > threshold * peak, structure=np.ones((3, 3)))
    fields = []
    for k in range(1, n + 1):
        where = labels == k
        if where.sum() < min_bins:
            continue
        idx = np.argwhere(where)
        vals = m[where]
        fields.append({"n_bins": int(where.sum()), "peak": float(vals.max()),
                       "peak_bin": tuple(int(a) for a in idx[np.argmax(vals)]),
                       "centroid_bin": tuple(float(a) for a in np.average(idx, axis=0, weights=vals))})
    return sorted(fields, key=lambda f: -f["n_bins"])


def field_statistics(maps, locations, bin_size, threshold=0.2, min_bins=4, min_peak=1.0, near=None):
    """Place-field statistics of a population of rate maps.

    Parameters
    ----------
    maps : array (K, nx, ny) (Hz)
    locations : array (K, 2) metres
        Stored location of each cell.
    bin_size : Quantity (length)
    near : Quantity (length), optional
        A field is "at the stored location" when its peak lies within this
        distance of it (default: 2 bins).

    Returns
    -------
    dict
        ``fields_per_cell`` (array), ``mean_fields``, ``fraction_one_field``,
        ``fraction_one_field_at_location``, ``fraction_silent``,
        ``field_area_cm2`` (mean over fields), ``field_diameter_cm`` (of a
        disc of that area), ``peak_rate_Hz`` (mean over active cells),
        ``location_error_cm`` (median distance from the largest field's peak
        to the stored location).
    """
    b = float(check_length(bin_size, "bin_size"))
    radius = 2 * b if near is None else float(check_length(near, "near"))
    maps, locations = np.asarray(maps, float), np.asarray(locations, float)
    if maps.ndim != 3 or len(maps) == 0:
        raise ValueError(f"maps must have shape (K, nx, ny), one map per cell, got {maps.shape}")
    if locations.shape != (len(maps), 2):
        raise ValueError(f"locations must have shape (K, 2) = ({len(maps)}, 2), one per map, got {locations.shape}")
    counts, areas, peaks, dists, at_loc = [], [], [], [], []
    for m, loc in zip(maps, locations):
        fields = place_fields(m, threshold, min_bins, min_peak)
        counts.append(len(fields))
        if fields:
            areas += [f["n_bins"] * (b * 100) ** 2 for f in fields]
            peaks.append(np.nanmax(m))
            p = (np.array(fields[0]["peak_bin"]) + 0.5) * b
            dists.append(np.linalg.norm(p - loc) * 100)
            at_loc.append(len(fields) == 1 and dists[-1] <= radius * 100)
        else:
            at_loc.append(False)
    counts = np.array(counts)
    area = float(np.mean(areas)) if areas else float("nan")
    return {"fields_per_cell": counts, "mean_fields": float(counts.mean()),
            "fraction_one_field": float(np.mean(counts == 1)),
            "fraction_one_field_at_location": float(np.mean(at_loc)),
            "fraction_silent": float(np.mean(counts == 0)),
            "field_area_cm2": area, "field_diameter_cm": float(2 * np.sqrt(area / np.pi)),
            "peak_rate_Hz": float(np.mean(peaks)) if peaks else 0.0,
            "location_error_cm": float(np.median(dists)) if dists else float("nan"),
            "threshold": threshold, "min_bins": int(min_bins), "min_peak_Hz": float(min_peak),
            "near_cm": radius * 100}


@dataclass
class ImprintResult:
    """Memories written during one exploratory run by the in-simulation recruitment rule.

    Attributes
    ----------
    patterns : array (M, N_f)
        Weights of the recruited units (their synapses after the run), in recruitment order.
    locations : array (M, 2)
        Position of the animal when each unit was recruited (m), recorded inside the run.
    times : array (M,)
        Recruitment times (s).
    n_units : int
        Units available (free + recruited).
    attrs : dict
    """

    patterns: np.ndarray
    locations: np.ndarray
    times: np.ndarray
    n_units: int
    attrs: dict = field(default_factory=dict)


def imprint_memories(code: SpatialCode, trajectory: Trajectory, n_units=200, match_threshold=0.5,
                     check_every=50 * ms, codegen_target="cython") -> ImprintResult:
    """Write place memories while the animal explores, with a local rule running inside Brian2.

    Populations and rule (all Brian2 objects; nothing is computed outside the run)::

        input cells     I_i(t) = place_input(t, i),  s_i = +1 if I_i >= 0 else -1   (the current input pattern)
        memory units    m_mu = (1/N_f) sum_i w[mu,i] s_i        (summed synapses: the unit's match)
                        used_mu in {0, 1}
        controller      n_match = sum_mu used_mu [m_mu > theta],  n_used = sum_mu used_mu
        every check_every:
            go      = [n_match == 0] [n_used < K]     (no stored memory matches: max_mu m_mu <= theta)
            recruit_mu = go [mu == n_used]            (the next free unit)
            w[mu,i] += recruit_mu (s_i - w[mu,i])     (its synapses take the input pattern; local: pre s_i, post flag)
            used_mu += recruit_mu;  x_mu, t_mu = position and time of the animal (recorded in the unit)

    **Assumptions**: during exploration the match is computed from the
    feedforward input (recurrent feedback off during encoding, as in
    Hasselmo's acetylcholine account of encoding vs retrieval); the rule is
    checked every ``check_every`` (a theta-like cadence); units are recruited
    in a fixed order.

    Parameters
    ----------
    code : SpatialCode
    trajectory : Trajectory
    n_units : int
        Memory units available (``K``).
    match_threshold : float
        ``theta`` in (-1, 1): overlap above which a stored memory "matches".
    check_every : Quantity
        Cadence of the rule: every object of this network runs on a clock of
        this step (the input is sampled, the matches summed and the decision
        taken once per step).

    Returns
    -------
    ImprintResult
    """
    from ..networks.graph_memory import GraphMemory  # the runner leaves Brian2's state as the caller had it

    if not isinstance(code, SpatialCode):
        raise TypeError(f"code must be a SpatialCode, got {type(code).__name__}")
    code.arena.check_trajectory(trajectory, "trajectory", "the code's arena")
    n_units = check_count(n_units, "n_units")
    if not -1 < match_threshold < 1:
        raise ValueError(f"match_threshold must lie in (-1, 1), got {match_threshold}")
    check_every = check_tau(check_every, "check_every")
    if check_every < trajectory.dt:
        raise ValueError(f"check_every={check_every} must be >= the trajectory's dt={trajectory.dt}")
    rule = OneShotImprinting(code.inputs(trajectory.xy), trajectory, n_units, match_threshold)
    net = GraphMemory.from_components(lambda batch: [rule], energy=None, dt=check_every, record_every=None,
                                      codegen_target=codegen_target, batch=1)
    import time as _time

    start = _time.perf_counter()
    net.run_session(trajectory.duration)
    wall = _time.perf_counter() - start
    patterns, locations, times, used = rule.imprinted()
    return ImprintResult(patterns, locations, times, n_units,
                         {"match_threshold": float(match_threshold), "check_every_ms": float(check_every / ms),
                          "n_recruited": int(used.sum()), "wall_time_s": wall,
                          "duration_s": float(trajectory.duration / second),
                          "all_units_used": bool(used.all())})


class OneShotImprinting:
    """The imprinting rule of :func:`imprint_memories` as a component: input cells, memory units, a controller.

    Owns every Brian2 object of the rule (all on the network's clock, whose
    step is the rule's cadence)::

        input cells     I_i = place_input(t, i),  s_i = 2 [I_i >= 0] - 1
        memory units    m_mu = (1/N_f) sum_i w[mu,i] s_i                 (summed synapses)
        controller      n_match = sum_mu used_mu [m_mu > theta],  n_used = sum_mu used_mu
                        go = [n_match == 0] [n_used < K],  next_unit = n_used
        recruit_mu = go [mu == next_unit]:  w[mu,i] <- s_i,  used_mu <- 1,  (x, y, t)_mu <- the animal's

    Parameters
    ----------
    inputs : array (T, N_f)
        The feature input along the trajectory (one row per trajectory sample).
    trajectory : Trajectory
    n_units : int
        ``K``.
    match_threshold : float
        ``theta``.
    """

    stage = 0
    energy_role = None
    lyapunov = False
    name = "imprinting"

    def __init__(self, inputs, trajectory, n_units, match_threshold):
        self.inputs, self.trajectory = np.ascontiguousarray(inputs, float), trajectory
        self.n_units, self.match_threshold = int(n_units), float(match_threshold)
        self.units = self.synapses = None

    def build(self, dt):
        n, k, traj = self.inputs.shape[1], self.n_units, self.trajectory
        clock = named_clock(dt, "imprint_clock")
        # constants travel in the namespace (not in the code), so the compiled code is reused for any size/threshold
        ns = {"n_features_": float(n), "theta_": self.match_threshold, "n_units_": float(k),
              "place_input": TimedArray(self.inputs, dt=traj.dt, name="imprint_stimulus"),
              "pos_x": TimedArray(np.ascontiguousarray(traj.xy[:, 0]), dt=traj.dt, name="imprint_pos_x"),
              "pos_y": TimedArray(np.ascontiguousarray(traj.xy[:, 1]), dt=traj.dt, name="imprint_pos_y")}
        inp = NeuronGroup(n, "I : 1\ns : 1", name="imprint_input", clock=clock, namespace=ns)
        update = inp.run_regularly("I = place_input(t, i)\ns = 2*int(I >= 0) - 1", when="start",
                                   name="imprint_input_update")
        mem = NeuronGroup(k, """m : 1
                                used : 1
                                recruit : 1
                                x_rec : 1
                                y_rec : 1
                                t_rec : second
                                go : 1 (linked)
                                next_unit : 1 (linked)""", name="imprint_memories", clock=clock, namespace=ns)
        # order 5: its sums (order 4) run after the memory units' matches (order -1) of the same step
        ctrl = NeuronGroup(1, "n_match : 1\nn_used : 1\ngo : 1\nnext_unit : 1", name="imprint_control", clock=clock,
                           order=5, namespace=ns)
        syn = Synapses(inp, mem, "w : 1\nm_post = w*s_pre/n_features_ : 1 (summed)", name="imprint_synapses",
                       clock=clock, namespace=ns)
        syn.connect()
        count = Synapses(mem, ctrl, "n_match_post = used_pre*int(m_pre > theta_) : 1 (summed)\n"
                         "n_used_post = used_pre : 1 (summed)", name="imprint_count", clock=clock, namespace=ns)
        count.connect()
        mem.go = linked_var(ctrl, "go", index=np.zeros(k, int))
        mem.next_unit = linked_var(ctrl, "next_unit", index=np.zeros(k, int))
        decide = ctrl.run_regularly("go = int(n_match < 0.5)*int(n_used < n_units_ - 0.5)\nnext_unit = n_used",
                                    when="end", order=0, name="imprint_decide")
        flag = mem.run_regularly("recruit = go*int(abs(i - next_unit) < 0.5)\n"
                                 "x_rec = recruit*pos_x(t) + (1 - recruit)*x_rec\n"
                                 "y_rec = recruit*pos_y(t) + (1 - recruit)*y_rec\n"
                                 "t_rec = recruit*t + (1 - recruit)*t_rec\n"
                                 "used = used + recruit", when="end", order=1, name="imprint_flag")
        write = syn.run_regularly("w = w + recruit_post*(s_pre - w)", when="end", order=2, name="imprint_write")
        self.units, self.synapses = mem, syn
        return [inp, update, mem, ctrl, syn, count, decide, flag, write]

    def imprinted(self):
        """Patterns (M, N_f), locations (M, 2) m and times (M,) s of the recruited units in recruitment order,
        and which units were used (K,) bool."""
        if self.units is None:
            raise RuntimeError("the imprinting rule has not been built and run")
        mem, syn = self.units, self.synapses
        used = np.asarray(mem.used[:]) > 0.5
        t_rec = np.asarray(mem.t_rec[:] / second)
        order = np.argsort(t_rec[used], kind="stable")
        W = np.zeros((self.n_units, self.inputs.shape[1]))
        W[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = np.asarray(syn.w[:])
        idx = np.nonzero(used)[0][order]
        locs = np.stack([np.asarray(mem.x_rec[:]), np.asarray(mem.y_rec[:])], axis=1)[idx]
        return W[idx], locs, t_rec[idx], used
