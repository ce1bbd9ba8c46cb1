"""Space: an arena, a running animal and the entorhinal/sensory cells that tell where it is.

The paper's spatial example (Krotov & Hopfield 2021, section 5): place cells
aggregate inputs from grid cells and environmental features, so they are the
memory neurons of the CA3 model and the grid, boundary and landmark cells are
its feature neurons. This module makes those inputs; :mod:`hippo_dam.circuits.place_cells`
stores and recalls them.

The arena and the animal
------------------------
:class:`Arena` is a rectangular box (Brian2 lengths). :func:`random_walk` is a
smooth random walk: the velocity is an Ornstein-Uhlenbeck process,
``dv = -v dt / tau_v + sigma sqrt(2 / tau_v) dW`` (per component, stationary
standard deviation ``sigma``), reflected at the walls. A 2-D Gaussian velocity
of per-component s.d. ``sigma`` has mean speed ``sigma sqrt(pi / 2)``, so
``sigma = mean_speed / sqrt(pi / 2)``. Rats exploring an open box run at about
10-30 cm/s (default 20 cm/s; an assumption within that range).

The feature cells (rates in [0, 1], multiplied by ``max_rate`` for Hz)
-----------------------------------------------------------------------
* Grid cells (Hafting et al. 2005, Nature 436:801; Stensola et al. 2012,
  Nature 492:72): a module ``m`` has spacing ``lambda_m``, orientation
  ``theta_m``; each cell has a spatial phase ``c``. The rate is the sum of
  three plane waves 60 degrees apart (Solstad, Moser & Einevoll 2006)::

      r(x) = ( sum_{k=1..3} cos(q_k . (x - c)) + 3/2 ) / (9/2),
      |q_k| = 4 pi / (sqrt(3) lambda_m),   angle(q_k) = theta_m + (k - 1) 60 deg

  which peaks (r = 1) on a triangular lattice of spacing ``lambda_m``.
  Modules: spacings ``lambda_1 * ratio^m`` with ``lambda_1 = 40 cm`` (the
  dorsal-most spacing Hafting et al. report is ~39 cm) and ``ratio = 1.42``
  (the mean ratio of successive modules, Stensola et al. 2012); orientation
  drawn per module, phases drawn per cell (uniform in the unit cell), from
  the seed.
* Boundary (vector) cells (Hartley et al. 2000; Lever et al. 2009): one per
  wall and preferred distance ``d``: ``r = exp(-(dist_to_wall - d)^2 / (2 sigma^2))``.
* Landmark (object-vector) cells (Deshmukh & Knierim 2011; Hoydal et al.
  2019): for each landmark ``L`` and preferred distance ``d``:
  ``r = exp(-(|x - L| - d)^2 / (2 sigma^2))``. The landmarks are what tells
  environments apart; darkness silences these cells.

The feature code
----------------
:class:`SpatialCode` lists every cell of one environment. A location's stored
pattern is binary, ``xi_i = sign(r_i(x) - theta_i)`` with ``theta_i`` the
median of ``r_i`` over the arena (balanced +-1 patterns, as the package's
capacity theory assumes). The input current to feature neuron ``i`` is the
afferent's rate relative to the same set point, in units of its spread::

    I_i(t) = gain * (r_i(x(t)) - theta_i) / s_i,     s_i = std of r_i over the arena

so ``sign(I(x)) = xi(x)``. **Assumption:** the set point ``theta_i`` is a
feedforward inhibition matched to the afferent, so a silenced afferent
(darkness, a lesioned module) gives ``I_i = 0``: no information, rather than
an "off" signal. Environments differ in their landmark positions and in a
phase shift of every grid module (global remapping; Fyhn et al. 2007).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, cm, meter, ms, second
from brian2.units.fundamentalunits import Quantity

from ..checks import check_count
from ..core.populations import check_positive_quantity, check_quantity, check_tau

__all__ = ["Arena", "Trajectory", "random_walk", "trajectory_from_samples", "sargolini_trajectory", "ratinabox_trajectory", "GridModule", "grid_modules", "SpatialCode", "Environment",
           "make_environments", "check_length", "check_count", "GRID_SPACING_RATIO", "GRID_SMALLEST_SPACING"]

GRID_SPACING_RATIO = 1.42  # Stensola et al. 2012: mean ratio of successive module spacings
GRID_SMALLEST_SPACING = 40 * cm  # Hafting et al. 2005: dorsal MEC spacings from ~39 cm


def check_length(value, what, positive=True):
    """Return ``value`` in metres (float or float array) if it is a finite Brian2 length (> 0 if ``positive``)."""
    return np.asarray(check_quantity(value, meter, what, "length", "10*cm", positive) / meter, float)


class Arena:
    """A rectangular open box, ``[0, width] x [0, height]``.

    Parameters
    ----------
    width, height : Quantity (length)
    """

    def __init__(self, width=1 * meter, height=1 * meter):
        check_length(width, "width")
        check_length(height, "height")
        self.width, self.height = width, height

    def __repr__(self):
        return f"Arena({self.width!r}, {self.height!r})"

    @property
    def size_m(self):
        """``(width, height)`` in metres."""
        return np.array([float(self.width / meter), float(self.height / meter)])

    def check_positions(self, xy, what="positions"):
        """``xy`` (..., 2) in metres, raising if a point lies outside the box or is not finite."""
        xy = np.asarray(xy, float)
        if xy.shape[-1:] != (2,):
            raise ValueError(f"{what} must have shape (..., 2), got {xy.shape}")
        if not np.all(np.isfinite(xy)):
            raise ValueError(f"{what} contain NaN or inf")
        if np.any(xy < -1e-12) or np.any(xy > self.size_m + 1e-12):
            lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
            raise ValueError(f"{what} lie outside the {self.size_m[0]:g} m x {self.size_m[1]:g} m arena: they span "
                             f"x in [{lo[0]:.3g}, {hi[0]:.3g}] m, y in [{lo[1]:.3g}, {hi[1]:.3g}] m")
        return xy

    def check_trajectory(self, trajectory, what="trajectory", where="the arena"):
        """Return ``trajectory`` if it is a :class:`Trajectory` whose every position lies in this box.

        A trajectory made in a larger box would otherwise drive the feature
        cells far outside the arena their set points were measured over (a
        silently wrong simulation). ``where`` says whose arena this is in the
        message.
        """
        if not isinstance(trajectory, Trajectory):
            raise TypeError(f"{what} must be a Trajectory (e.g. random_walk(arena, 10*second)), "
                            f"got {type(trajectory).__name__}")
        xy = trajectory.xy
        if np.any(xy < -1e-12) or np.any(xy > self.size_m + 1e-12):
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            made = trajectory.arena.size_m if isinstance(trajectory.arena, Arena) else None
            raise ValueError(f"{what} leaves {where} ({self.size_m[0]:g} m x {self.size_m[1]:g} m): its positions "
                             f"span x in [{lo[0]:.3g}, {hi[0]:.3g}] m, y in [{lo[1]:.3g}, {hi[1]:.3g}] m"
                             + (f" (it was made in a {made[0]:g} m x {made[1]:g} m arena)" if made is not None else "")
                             + "; make it with random_walk() in the same arena")
        return trajectory

    def bins(self, bin_size, what="bin_size"):
        """Bin edges ``(x_edges, y_edges)`` in metres for square bins of ``bin_size`` (length).

        ``what`` names ``bin_size`` in the errors (a lattice spacing, a model file's key).
        """
        b = float(check_length(bin_size, what))
        nx, ny = (int(np.ceil(s / b - 1e-9)) for s in self.size_m)
        if nx < 2 or ny < 2:
            raise ValueError(f"{what}={bin_size} leaves fewer than 2 bins per side of the "
                             f"{self.size_m[0]:g} m x {self.size_m[1]:g} m arena")
        return np.linspace(0, self.size_m[0], nx + 1), np.linspace(0, self.size_m[1], ny + 1)

    def grid_points(self, spacing, what="spacing"):
        """Centres of a square lattice of ``spacing`` (length) covering the arena, ``(n, 2)`` metres.

        ``what`` names ``spacing`` in the errors (e.g. a model file's ``[memories] lattice``).
        """
        xe, ye = self.bins(spacing, what)
        xc, yc = (xe[1:] + xe[:-1]) / 2, (ye[1:] + ye[:-1]) / 2
        X, Y = np.meshgrid(xc, yc, indexing="ij")
        return np.stack([X.ravel(), Y.ravel()], axis=1)


@dataclass
class Trajectory:
    """Positions of the animal sampled every ``dt``: ``xy[k]`` at ``t = k dt`` (metres).

    Parameters
    ----------
    xy : array (T, 2)
        Positions in metres, every one inside ``arena``.
    dt : Quantity (time)
        Sampling step.
    arena : Arena
        The box the animal ran in.
    seed : int, optional
        The seed it was drawn with (a record only).
    """

    xy: np.ndarray
    dt: Quantity
    arena: Arena
    seed: int | None = None

    def __post_init__(self):
        check_tau(self.dt, "dt")
        if not isinstance(self.arena, Arena):
            raise TypeError(f"arena must be an Arena, got {type(self.arena).__name__}")
        self.xy = self.arena.check_positions(self.xy, "xy")
        if self.xy.ndim != 2 or len(self.xy) < 1:
            raise ValueError(f"xy must have shape (T, 2) with T >= 1 samples, got {self.xy.shape}")

    @property
    def t(self):
        """Sample times in seconds."""
        return np.arange(len(self.xy)) * float(self.dt / second)

    @property
    def duration(self):
        return len(self.xy) * self.dt

    @property
    def speed(self):
        """Speed between samples (m/s), one value per step (``len - 1``)."""
        return np.linalg.norm(np.diff(self.xy, axis=0), axis=1) / float(self.dt / second)

    def coverage(self, bin_size=5 * cm):
        """Fraction of the arena's bins the animal visited."""
        xe, ye = self.arena.bins(bin_size)
        occ, _, _ = np.histogram2d(self.xy[:, 0], self.xy[:, 1], bins=[xe, ye])
        return float(np.mean(occ > 0))


def random_walk(arena: Arena, duration, dt=10 * ms, mean_speed=20 * cm / second, turn_time=1 * second,
                start=None, seed=0) -> Trajectory:
    """A smooth random walk in the arena (Ornstein-Uhlenbeck velocity, reflected at the walls).

    ``v[k+1] = v[k] (1 - dt/tau_v) + sigma sqrt(2 dt / tau_v) n_k`` (``n_k`` standard normal per component),
    ``x[k+1] = x[k] + v[k+1] dt``; a step that crosses a wall is mirrored
    back into the box and the normal velocity component reversed.

    Parameters
    ----------
    arena : Arena
    duration, dt : Quantity (time)
        Length of the run and sampling step (``dt`` well below ``turn_time``).
    mean_speed : Quantity (velocity)
        Mean running speed (default 20 cm/s; rats explore at ~10-30 cm/s).
    turn_time : Quantity (time)
        Correlation time ``tau_v`` of the velocity (smoothness of the path).
    start : Quantity (length) array (2,), optional
        Starting point (default: the centre).
    seed : int

    Returns
    -------
    Trajectory
    """
    if not isinstance(arena, Arena):
        raise TypeError(f"arena must be an Arena, e.g. Arena(1*meter, 1*meter); got {type(arena).__name__}")
    duration, dt, turn_time = (check_tau(q, w) for q, w in ((duration, "duration"), (dt, "dt"),
                                                             (turn_time, "turn_time")))
    speed = float(check_positive_quantity(mean_speed, meter / second, "mean_speed", "velocity", "20*cm/second")
                  / (meter / second))
    if dt >= turn_time:
        raise ValueError(f"dt={dt} must be smaller than turn_time={turn_time}")
    n = int(round(float(duration / dt)))
    if n < 2:
        raise ValueError(f"duration={duration} holds fewer than 2 samples of dt={dt}")
    h, tau = float(dt / second), float(turn_time / second)
    size = arena.size_m
    if speed * h > 0.25 * size.min():
        raise ValueError(f"mean_speed*dt = {speed * h:.3g} m is too large for the arena; lower dt")
    xy0 = size / 2 if start is None else arena.check_positions(check_length(start, "start", positive=False), "start")
    rng = np.random.default_rng(seed)
    sigma = speed / np.sqrt(np.pi / 2)
    a, b = 1 - h / tau, sigma * np.sqrt(2 * h / tau)
    noise = rng.standard_normal((n, 2))
    xy = np.empty((n, 2))
    x, v = np.array(xy0, float), sigma * noise[0]
    xy[0] = x
    for k in range(1, n):
        v = a * v + b * noise[k]
        x = x + v * h
        for d in range(2):  # mirror at the walls
            if x[d] < 0:
                x[d], v[d] = -x[d], -v[d]
            elif x[d] > size[d]:
                x[d], v[d] = 2 * size[d] - x[d], -v[d]
        xy[k] = x
    return Trajectory(xy, dt, arena, seed)


def trajectory_from_samples(t, xy, arena, dt=20 * ms, what="trajectory"):
    """Any trajectory, recorded or imported (times ``t`` in s, positions ``xy`` (T, 2) in m), as a :class:`Trajectory`.

    The samples are resampled every ``dt`` by linear interpolation from ``t[0]``.
    A position outside ``arena`` is an error naming how far out it lies (no clipping).
    """
    t, xy = np.asarray(t, float), np.asarray(xy, float)
    if t.ndim != 1 or len(t) < 2 or xy.shape != (len(t), 2):
        raise ValueError(f"{what}: t must be (T,) with T >= 2 and xy (T, 2), got {t.shape} and {xy.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(xy))) or np.any(np.diff(t) <= 0):
        raise ValueError(f"{what}: times must be finite and increasing, positions finite")
    h = float(check_tau(dt, "dt") / second)
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) / h + 1e-9)) + 1) * h
    resampled = np.stack([np.interp(grid, t, xy[:, 0]), np.interp(grid, t, xy[:, 1])], axis=1)
    arena.check_positions(resampled, f"{what} positions")
    return Trajectory(resampled, h * second, arena)


def sargolini_trajectory(start=0 * second, duration=300 * second, dt=20 * ms):
    """A real rat's path in a 1 m x 1 m box (Sargolini et al. 2006, Science 312:758), as shipped by RatInABox.

    The recording (``ratinabox/data/sargolini.npz``, George et al. 2024) is
    599.6 s sampled at 50 Hz; this returns ``duration`` of it from ``start``,
    resampled every ``dt``. Its positions lie within 1.1 cm of the walls' inner
    side; the few samples a tracking error put past a wall (by less than 1e-3 m)
    are set on the wall.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("ratinabox")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the Sargolini trajectory ships with RatInABox: pip install 'hippo_dam[space]'")
    data = np.load(Path(list(spec.submodule_search_locations)[0]) / "data" / "sargolini.npz")
    t, pos = np.asarray(data["t"], float), np.asarray(data["pos"], float)
    t = t - t[0]
    t0, T = (float(check_quantity(q, second, w, "time", "1*second", positive=p) / second)
             for q, w, p in ((start, "start", False), (duration, "duration", True)))
    if t0 < 0 or t0 + T > t[-1] + 1e-9:
        raise ValueError(f"start={start} + duration={duration} leaves the recording (0 to {t[-1]:.1f} s)")
    keep = (t >= t0 - 1e-9) & (t <= t0 + T + 1e-9)
    pos = np.where((pos < 0) & (pos > -1e-3), 0.0, np.where((pos > 1) & (pos < 1 + 1e-3), 1.0, pos))
    traj = trajectory_from_samples(t[keep] - t0, pos[keep], Arena(1 * meter, 1 * meter), dt, "the Sargolini recording")
    n = int(round(T / float(traj.dt / second)))
    return Trajectory(traj.xy[:n], traj.dt, traj.arena)


def ratinabox_trajectory(arena, duration, dt=20 * ms, seed=0, speed_mean=None):
    """A RatInABox Agent's smooth random motion (George et al. 2024) in a box of ``arena``'s size.

    RatInABox's ``Agent`` moves with realistic speed and rotational-velocity
    statistics (Ornstein-Uhlenbeck, with wall-following); ``speed_mean`` (a
    velocity Quantity) overrides its default. RatInABox draws from numpy's
    global generator: it is seeded with ``seed`` here and put back afterwards.
    """
    try:
        from ratinabox.Agent import Agent
        from ratinabox.Environment import Environment
    except ImportError:
        raise ImportError("RatInABox trajectories need ratinabox: pip install 'hippo_dam[space]'") from None
    if not isinstance(arena, Arena):
        raise TypeError(f"arena must be an Arena, got {type(arena).__name__}")
    h = float(check_tau(dt, "dt") / second)
    T = float(check_tau(duration, "duration") / second)
    width, height = arena.size_m
    params = {"dt": h}
    if speed_mean is not None:
        params["speed_mean"] = float(check_positive_quantity(speed_mean, meter / second, "speed_mean", "velocity",
                                                             "0.1*meter/second") / (meter / second))
    state = np.random.get_state()
    try:
        np.random.seed(int(seed))
        env = Environment(params={"scale": float(height), "aspect": float(width / height)})
        agent = Agent(env, params=params)
        for _ in range(int(round(T / h))):
            agent.update()
        xy = np.asarray(agent.history["pos"], float)
    finally:
        np.random.set_state(state)
    return Trajectory(np.clip(xy, 0.0, arena.size_m), h * second, arena, int(seed))


def boundary_rates(xy, size, distances, width, reach=None):
    """Boundary-cell rates (..., 4 * len(distances)) at positions ``xy`` (..., 2) in a box of ``size`` (m).

    One cell per wall (x = 0, x = width, y = 0, y = height) and preferred
    distance ``d``: ``r = exp(-(dist_to_wall - d)^2 / (2 width^2))``; with
    ``reach``, 0 where the wall is farther than ``reach`` (touch cells).
    """
    xy = np.asarray(xy, float)
    walls = np.stack([xy[..., 0], size[0] - xy[..., 0], xy[..., 1], size[1] - xy[..., 1]], axis=-1)
    rates = np.exp(-(walls[..., :, None] - np.asarray(distances, float)) ** 2 / (2 * width ** 2))
    if reach is not None:
        rates = rates * (walls[..., :, None] < reach)
    return rates.reshape(xy.shape[:-1] + (-1,))


@dataclass(frozen=True)
class GridModule:
    """One grid module: spacing and orientation shared, one spatial phase per cell (metres)."""

    spacing: float
    orientation: float
    phases: np.ndarray

    def wave_vectors(self):
        k = 4 * np.pi / (np.sqrt(3) * self.spacing)
        ang = self.orientation + np.deg2rad([0.0, 60.0, 120.0])
        return k * np.stack([np.cos(ang), np.sin(ang)], axis=1)  # (3, 2)

    def rates(self, xy, shift=(0.0, 0.0)):
        """Normalised rates in [0, 1] of every cell at positions ``xy`` (..., 2) -> (..., n_cells)."""
        q = self.wave_vectors()
        d = np.asarray(xy, float)[..., None, :] - (self.phases + np.asarray(shift, float))  # (..., n, 2)
        return (np.cos(d @ q.T).sum(axis=-1) + 1.5) / 4.5


def grid_modules(n_modules=4, cells_per_module=32, smallest=GRID_SMALLEST_SPACING, ratio=GRID_SPACING_RATIO,
                 seed=0):
    """Grid modules with spacings ``smallest * ratio^m``, random orientation and per-cell phases.

    Parameters
    ----------
    n_modules, cells_per_module : int
    smallest : Quantity (length)
        Spacing of the first module (default 40 cm, Hafting et al. 2005).
    ratio : float
        Spacing ratio of successive modules (default 1.42, Stensola et al. 2012).
    seed : int
    """
    n_modules, cells_per_module = check_count(n_modules, "n_modules"), check_count(cells_per_module, "cells_per_module")
    lam0 = float(check_length(smallest, "smallest"))
    if isinstance(ratio, (bool, np.bool_)) or not isinstance(ratio, (numbers.Real, np.number)):
        raise TypeError(f"ratio must be a number > 1, got {ratio!r}")
    if not (np.isfinite(ratio) and ratio > 1):
        raise ValueError(f"ratio must be > 1, got {ratio}")
    rng = np.random.default_rng([int(seed), 7])
    out = []
    for m in range(n_modules):
        lam = lam0 * ratio ** m
        basis = lam * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])  # the lattice's unit cell
        phases = rng.random((cells_per_module, 2)) @ basis
        out.append(GridModule(lam, float(rng.uniform(0, np.pi / 3)), phases))
    return out


@dataclass(frozen=True)
class Environment:
    """What distinguishes one box from another: landmark positions and grid phase shifts (metres)."""

    landmarks: np.ndarray
    grid_shifts: np.ndarray
    name: str = "A"


def make_environments(n, arena: Arena, n_modules=4, n_landmarks=4, seed=0):
    """``n`` environments: random landmark positions and one random phase shift per grid module each.

    Environment 0 has zero grid shifts (the reference alignment).

    Parameters
    ----------
    n : int
        Number of environments (>= 1).
    arena : Arena
    n_modules : int
        Grid modules (one phase shift each; >= 1).
    n_landmarks : int
        Landmarks per environment (>= 1: the landmark cells are what tells environments apart).
    seed : int
    """
    n = check_count(n, "n")
    if not isinstance(arena, Arena):
        raise TypeError(f"arena must be an Arena, got {type(arena).__name__}")
    n_modules, n_landmarks = check_count(n_modules, "n_modules"), check_count(n_landmarks, "n_landmarks")
    rng = np.random.default_rng([int(seed), 11])
    size = arena.size_m
    envs = []
    for e in range(n):
        marks = rng.uniform(0.1, 0.9, size=(n_landmarks, 2)) * size
        shifts = np.zeros((n_modules, 2)) if e == 0 else rng.uniform(0, 1, size=(n_modules, 2)) * size
        envs.append(Environment(marks, shifts, name=chr(ord("A") + e) if e < 26 else f"E{e}"))
    return envs


@dataclass
class SpatialCode:
    """The feature cells of one environment: grid modules, boundary cells and landmark cells.

    Parameters
    ----------
    arena : Arena
    modules : list of GridModule
    environment : Environment
    boundary_distances : Quantity (length) array
        Preferred distances of the boundary cells (one cell per wall and distance).
    landmark_distances : Quantity (length) array
        Preferred distances of the landmark cells (one cell per landmark and distance).
    tuning_width : Quantity (length)
        ``sigma`` of boundary and landmark tuning.
    gain : float
        Input gain ``I = gain (r - theta) / s``.
    max_rate : Quantity (Hz)
        Rate of a feature cell at ``r = 1`` (for plots and spikes).
    """

    arena: Arena
    modules: list
    environment: Environment
    boundary_distances: Quantity = field(default_factory=lambda: np.array([0.0, 15.0, 30.0]) * cm)
    landmark_distances: Quantity = field(default_factory=lambda: np.array([0.0, 15.0, 30.0]) * cm)
    tuning_width: Quantity = field(default_factory=lambda: 8 * cm)
    gain: float = 1.0
    max_rate: Quantity = field(default_factory=lambda: 20 * Hz)
    reference_bin: Quantity = field(default_factory=lambda: 2 * cm)

    def __post_init__(self):
        self._bd = np.atleast_1d(check_length(self.boundary_distances, "boundary_distances", positive=False))
        self._ld = np.atleast_1d(check_length(self.landmark_distances, "landmark_distances", positive=False))
        self._sigma = float(check_length(self.tuning_width, "tuning_width"))
        if not (np.isfinite(self.gain) and self.gain > 0):
            raise ValueError(f"gain must be > 0, got {self.gain}")
        check_positive_quantity(self.max_rate, Hz, "max_rate", "rate", "20*Hz")
        if len(self.environment.grid_shifts) != len(self.modules):
            raise ValueError(f"environment {self.environment.name!r} has {len(self.environment.grid_shifts)} grid "
                             f"shifts for {len(self.modules)} modules")
        # the set point and spread of every cell, over a fine lattice of the arena
        ref = self.arena.grid_points(self.reference_bin)
        r = self.rates(ref)
        self.theta = np.median(r, axis=0)
        self.spread = r.std(axis=0)
        if np.any(self.spread <= 0):
            raise ValueError("a feature cell has the same rate everywhere in the arena (check the tuning)")

    # -- cell groups --------------------------------------------------------------------------
    @property
    def groups(self):
        """``{name: slice}`` of the feature vector: ``grid_m`` per module, ``boundary``, ``landmark``."""
        out, k = {}, 0
        for m, mod in enumerate(self.modules):
            out[f"grid_{m}"] = slice(k, k + len(mod.phases))
            k += len(mod.phases)
        out["boundary"] = slice(k, k + 4 * len(self._bd))
        k += 4 * len(self._bd)
        out["landmark"] = slice(k, k + len(self.environment.landmarks) * len(self._ld))
        return out

    @property
    def n(self):
        return self.groups["landmark"].stop

    def group_of(self):
        """Name of the group of every feature cell (array of str)."""
        names = np.empty(self.n, dtype=object)
        for name, sl in self.groups.items():
            names[sl] = name
        return names

    def rates(self, xy):
        """Normalised rates in [0, 1] of every feature cell at positions ``xy`` (..., 2) metres -> (..., N)."""
        xy = np.asarray(xy, float)
        parts = [mod.rates(xy, shift) for mod, shift in zip(self.modules, self.environment.grid_shifts)]
        parts.append(boundary_rates(xy, self.arena.size_m, self._bd, self._sigma))
        s2 = 2 * self._sigma ** 2
        dist = np.linalg.norm(xy[..., None, :] - self.environment.landmarks, axis=-1)
        parts.append(np.exp(-(dist[..., :, None] - self._ld) ** 2 / s2).reshape(xy.shape[:-1] + (-1,)))
        return np.concatenate(parts, axis=-1)

    def patterns(self, xy):
        """Binary patterns ``sign(r(x) - theta)`` (ties -> +1) of locations ``xy`` (K, 2) metres -> (K, N)."""
        xy = self.arena.check_positions(xy, "locations")
        return np.where(self.rates(xy) >= self.theta, 1.0, -1.0)

    def silence_mask(self, silence=None, fraction_grid=0.0, seed=0):
        """Boolean mask (N,) of silenced cells: named groups plus a random fraction of the grid cells.

        Parameters
        ----------
        silence : iterable of str
            Group names (``'landmark'`` = darkness, ``'grid_0'``, ``'boundary'``...).
        fraction_grid : float in [0, 1]
            Fraction of all grid cells silenced at random.
        """
        mask = np.zeros(self.n, bool)
        groups = self.groups
        for name in silence or ():
            if name not in groups:
                raise ValueError(f"unknown cell group {name!r}; known: {sorted(groups)}")
            mask[groups[name]] = True
        if not 0 <= fraction_grid <= 1:
            raise ValueError(f"fraction_grid must lie in [0, 1], got {fraction_grid}")
        if fraction_grid:
            grid = np.concatenate([np.arange(self.n)[sl] for k, sl in groups.items() if k.startswith("grid_")])
            rng = np.random.default_rng([int(seed), 13])
            mask[rng.choice(grid, int(round(fraction_grid * len(grid))), replace=False)] = True
        return mask

    def inputs(self, xy, silenced=None):
        """Input currents ``I = gain (r(x) - theta) / s`` (..., N), zero for silenced cells (dimensionless).

        ``xy`` (..., 2) metres must lie in the arena (the set points were measured over it).
        """
        xy = self.arena.check_positions(xy, "positions")
        I = self.gain * (self.rates(xy) - self.theta) / self.spread
        if silenced is not None:
            silenced = np.asarray(silenced, bool)
            if silenced.shape != (self.n,):
                raise ValueError(f"silenced must be a boolean mask of shape ({self.n},), got {silenced.shape}")
            I = np.where(silenced, 0.0, I)
        return I

    def with_environment(self, environment):
        """The same cells in another environment (new set points over its arena)."""
        return SpatialCode(self.arena, self.modules, environment, self.boundary_distances, self.landmark_distances,
                           self.tuning_width, self.gain, self.max_rate, self.reference_bin)
