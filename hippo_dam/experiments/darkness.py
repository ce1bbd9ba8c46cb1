"""Five minutes of darkness: does the memory keep the map that path integration alone loses?

The experiment of :mod:`hippo_dam.circuits.path_integration`: a rat runs the
path Sargolini et al. (2006) recorded (a 1 m box, shipped by RatInABox); the
light goes out at ``t = 0``, when every grid module knows the true position.
From then on the modules only integrate the rat's velocity, with noise, and
the touch-boundary cells fire only at the walls. Three read-outs of position,
on the same runs:

* **with memory feedback** (``kappa > 0``): the population vector of the CA3
  memory units, whose feedback pulls the grid phases onto the stored map;
* **feedback cut** (``kappa = 0``): the same network and read-out, the memory
  driven by the grid and touch cells but not feeding back;
* **feedforward readout**: ``argmax_mu [xi_mu . g + B_mu . b]``, the stored
  location whose pattern best matches the inputs (grid and touch cells of the
  feedback-cut runs), with no recurrence;
* and, as the most generous baseline, the **path integrator itself** without
  feedback: the mean of the modules' position estimates (a read-out no
  downstream cell has: it needs the unwrapped phases).

Each seed is a window of the recording (starts 74 s apart) with its own
integration noise; with and without feedback run side by side as copies of
one Brian2 run. The error of each read-out is ``|x_hat - x|``; the numbers
reported are its mean over the last ``final_window`` of the darkness.

What holds by construction: the stored map is the true one (the memories were
written in the light, at the true positions of a lattice), and the touch
cells report the true distance to a wall. What does not: nothing tells the
network the position in the open field; the modules' noise is independent.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import TimedArray, cm, meter, ms, second
from brian2 import seed as brian_seed

from ..checks import check_settings
from ..circuits.path_integration import PathIntegratingGrid, PositionDecoder, grid_rates, touch_boundary_rates
from ..circuits.space import GridModule, sargolini_trajectory
from ..core.components import MovingInput
from ..core.dense import DenseSymmetricProjection
from ..core.lagrangians import identity, log_sum_exp
from ..core.populations import Population, Projection

__all__ = ["DARKNESS_SETTINGS", "DARKNESS_SETTINGS_SMALL", "shared_orientation_modules", "darkness_session",
           "darkness_experiment", "darkness_to_nwb"]

DARKNESS_SETTINGS = {
    "duration_s": 300.0,        # five minutes of darkness
    "n_seeds": 5,
    "seed_spacing_s": 74.0,     # window starts in the 599.6 s recording
    "n_modules": 4,
    "cells_per_side": 6,        # 36 grid cells per module, phases tiling the unit cell
    "smallest_spacing_cm": 30.0,
    "spacing_ratio": 1.4,       # Stensola et al. 2012: ~1.42
    "orientation_rad": 0.1,     # one orientation for every module (Stensola et al. 2012; Fyhn et al. 2007)
    "lattice_cm": 4.0,          # stored locations, on a square lattice
    "beta": 1.0,
    "tau_h_ms": 10.0,
    "tau_touch_ms": 5.0,
    "noise_m_per_sqrt_s": 0.01,  # free drift ~ sigma sqrt(2 t): ~25 cm after 5 min per module
    "feedback_gain_m2_per_s": 0.002,
    "boundary_weight": 3.0,
    "dt_ms": 2.0,
    "record_every_s": 1.0,
    "final_window_s": 30.0,
}
WALL_CONTACT_M = 0.04  # a touch: within whisker reach of a wall (the touch cells' middle distance)
SINCE_WALL_EDGES_S = (0.0, 2.0, 5.0, 10.0, 20.0)  # bins of the time since the last wall contact
#: a short version for the test suite and CI
DARKNESS_SETTINGS_SMALL = {**DARKNESS_SETTINGS, "duration_s": 30.0, "n_seeds": 2, "final_window_s": 10.0}


def shared_orientation_modules(n_modules, cells_per_side, smallest, ratio, orientation):
    """Grid modules with one orientation, spacings ``smallest * ratio^m``, cell phases tiling the unit cell."""
    out = []
    for m in range(n_modules):
        lam = smallest * ratio ** m
        basis = lam * np.array([[np.cos(orientation), np.sin(orientation)],
                                [np.cos(orientation + np.pi / 3), np.sin(orientation + np.pi / 3)]])
        a = (np.arange(cells_per_side) + 0.5) / cells_per_side
        frac = np.stack(np.meshgrid(a, a, indexing="ij"), axis=-1).reshape(-1, 2)
        # wave vectors at orientation + 30 + k 60 deg: peaks on the lattice spanned by the basis
        out.append(GridModule(lam, orientation + np.pi / 6, frac @ basis))
    return out


def _check_settings(settings):
    s = check_settings(settings, DARKNESS_SETTINGS, "darkness", whole=("n_seeds", "n_modules", "cells_per_side"),
                       may_be_zero=("orientation_rad", "feedback_gain_m2_per_s", "noise_m_per_sqrt_s",
                                    "boundary_weight"))
    if (s["n_seeds"] - 1) * s["seed_spacing_s"] + s["duration_s"] > 599.6:
        raise ValueError("n_seeds windows of duration_s, seed_spacing_s apart, must fit in the 599.6 s recording")
    if s["final_window_s"] > s["duration_s"]:
        raise ValueError("final_window_s must not exceed duration_s")
    if s["dt_ms"] >= s["tau_h_ms"] or s["dt_ms"] >= s["tau_touch_ms"]:
        raise ValueError("dt_ms must be below tau_h_ms and tau_touch_ms")
    return s


def darkness_session(settings=None):
    """The darkness experiment's network and inputs, built but not run.

    Returns
    -------
    dict
        ``make`` (``make(batch) -> components``), ``batch`` (the seeds with
        the feedback, then the same seeds with it cut), ``settings``, ``dt``,
        ``n_seeds``, ``modules``, ``runs`` (the Sargolini windows), ``xy``
        (T, batch, 2), ``sample_s``, the memories' ``locations``, the grid
        patterns ``xi``, the touch weights ``touch_xi`` and the box ``size``.
    """
    s = _check_settings(dict(settings or {}))
    n_seeds, dt = int(s["n_seeds"]), s["dt_ms"] * ms
    modules = shared_orientation_modules(int(s["n_modules"]), int(s["cells_per_side"]),
                                         s["smallest_spacing_cm"] / 100, s["spacing_ratio"], s["orientation_rad"])
    runs = [sargolini_trajectory(k * s["seed_spacing_s"] * second, s["duration_s"] * second) for k in range(n_seeds)]
    size = runs[0].arena.size_m
    # copies: seeds with feedback, then the same seeds with the feedback cut
    B = 2 * n_seeds
    xy = np.stack([r.xy for r in runs * 2], axis=1)  # (T, B, 2)
    h = float(runs[0].dt / second)
    velocity = np.gradient(xy, h, axis=0)
    locations = runs[0].arena.grid_points(s["lattice_cm"] * cm, "lattice_cm")
    xi = grid_rates(modules, np.repeat(locations[:, None, :], len(modules), axis=1)) - 1 / 3  # (K, n_grid)
    touch_xi = s["boundary_weight"] * touch_boundary_rates(locations, size)  # (K, 12)
    touch = touch_boundary_rates(xy, size).reshape(len(xy), -1)  # (T, B * 12)
    kappa = np.r_[np.full(n_seeds, s["feedback_gain_m2_per_s"]), np.zeros(n_seeds)]

    def make(batch):
        grid = PathIntegratingGrid(modules, velocity, runs[0].dt, xy[0], s["noise_m_per_sqrt_s"] * meter / second ** 0.5,
                                   kappa * meter ** 2 / second, batch=B, record_every=s["record_every_s"] * second)
        cells = Population("touch", touch_xi.shape[1], identity(), s["tau_touch_ms"] * ms, "v", "b", "EC (touch)",
                           batch=B, energy_term=False)
        memories = Population("CA3", len(locations), log_sum_exp(s["beta"]), s["tau_h_ms"] * ms, "h", "f", "CA3",
                              batch=B)
        return [grid, cells, memories,
                DenseSymmetricProjection(grid, memories, xi, name="MEC_CA3"),
                Projection(cells, memories, touch_xi, name="touch_to_CA3"),
                MovingInput(cells, TimedArray(touch, dt=runs[0].dt, name="touch_stimulus"), name="touch_input"),
                PositionDecoder(memories, locations, s["record_every_s"] * second, name="CA3_decoder")]

    return {"make": make, "batch": B, "settings": s, "dt": dt, "n_seeds": n_seeds, "modules": modules, "runs": runs,
            "xy": xy, "sample_s": h, "locations": locations, "xi": xi, "touch_xi": touch_xi, "size": size}


def darkness_experiment(settings=None, progress=None, codegen_target="cython", seed=0):
    """Run the darkness experiment (module docstring); returns its measured numbers as a dict.

    Parameters
    ----------
    settings : dict, optional
        Overrides of :data:`DARKNESS_SETTINGS` (lengths in the units their names say).
    progress : bool, optional
    codegen_target : {'cython', 'numpy'}
    seed : int
        Brian2's seed for the integration noise (numpy's global generator is put back).

    Returns
    -------
    dict
        ``t_s`` (record times), per read-out ``errors_cm`` (seeds x times) and
        its mean over the final window per seed, the summary numbers
        ``error_with_memory_cm``, ``error_without_memory_cm``,
        ``feedforward_error_cm``, ``path_integrator_error_cm`` (means over
        seeds), ``ratio_with_to_without``, and the settings.
    """
    from .experiment_model import session_network

    start = time.perf_counter()
    session = darkness_session(settings)
    s, B, n_seeds = (session[k] for k in ("settings", "batch", "n_seeds"))
    modules, xy, h, locations, xi, touch_xi, size = (session[k] for k in ("modules", "xy", "sample_s", "locations",
                                                                          "xi", "touch_xi", "size"))
    net = session_network(session, codegen_target)
    state = np.random.get_state()
    try:
        brian_seed(seed)
        net.recall(np.zeros((B, len(locations))), layer="CA3", duration=s["duration_s"] * second, progress=progress)
    finally:
        np.random.set_state(state)
    t_dec, decoded = net.graph["CA3_decoder"].decoded()
    t_p, p = net.graph["MEC"].recorded_positions()
    idx = np.minimum(np.round(t_dec / h).astype(int), len(xy) - 1)
    true = xy[idx].transpose(1, 0, 2)  # (B, T, 2)
    err_memory = np.linalg.norm(decoded - true, axis=-1)  # (B, T)
    # feedforward readout of the cut copies' inputs: grid cells at their drifting phases, touch cells at the truth
    cut = slice(n_seeds, B)
    g = grid_rates(modules, p[cut])  # (n_seeds, T, n_grid)
    score = g @ xi.T + touch_boundary_rates(true[cut], size) @ touch_xi.T
    err_ff = np.linalg.norm(locations[np.argmax(score, axis=-1)] - true[cut], axis=-1)
    err_pi = np.linalg.norm(p[cut].mean(axis=2) - true[cut], axis=-1)
    final = t_dec > s["duration_s"] - s["final_window_s"] - 1e-9

    def summary(err):
        per_seed = err[:, final].mean(axis=1) * 100
        return {"errors_cm": (err * 100).round(3).tolist(), "final_cm_per_seed": per_seed.round(3).tolist(),
                "final_cm": float(per_seed.mean())}

    out = {"t_s": t_dec.tolist(),
           "with_memory": summary(err_memory[:n_seeds]), "feedback_cut": summary(err_memory[cut]),
           "feedforward": summary(err_ff), "path_integrator": summary(err_pi)}
    out.update(error_with_memory_cm=out["with_memory"]["final_cm"],
               error_without_memory_cm=out["feedback_cut"]["final_cm"],
               feedforward_error_cm=out["feedforward"]["final_cm"],
               path_integrator_error_cm=out["path_integrator"]["final_cm"])
    # boundary encounters (Hardcastle et al. 2015): the error against the time since the rat last touched a wall
    touching = np.min(np.concatenate([xy, size - xy], axis=-1), axis=-1) < WALL_CONTACT_M  # (T, B)
    last = np.where(touching, np.arange(len(xy))[:, None], -1)
    since = (np.arange(len(xy))[:, None] - np.maximum.accumulate(last, axis=0)) * h  # s since the last touch
    since = np.where(np.maximum.accumulate(last, axis=0) < 0, np.inf, since)[idx].T  # (B, T), inf: none yet
    edges = np.array(SINCE_WALL_EDGES_S + (np.inf,))
    out["since_wall"] = {"edges_s": list(SINCE_WALL_EDGES_S), "contact_within_m": WALL_CONTACT_M}
    for key, err in (("with_memory", err_memory[:n_seeds]), ("feedback_cut", err_memory[cut])):
        s_ = since[:n_seeds] if key == "with_memory" else since[cut]
        which = np.digitize(s_, edges) - 1
        out["since_wall"][key + "_mean_cm"] = [float(err[which == k].mean() * 100) if np.any(which == k) else None
                                               for k in range(len(SINCE_WALL_EDGES_S))]
        out["since_wall"][key + "_n"] = [int(np.sum(which == k)) for k in range(len(SINCE_WALL_EDGES_S))]
    # seed 0's path, as decoded with and without the feedback (the same window of the recording)
    out["example"] = {"true_m": true[0].round(5).tolist(), "with_memory_m": decoded[0].round(5).tolist(),
                      "feedback_cut_m": decoded[n_seeds].round(5).tolist(),
                      "grid_positions_m": p[0].round(5).tolist()}  # (T, module, xy), with the feedback
    out["ratio_with_to_without"] = out["error_with_memory_cm"] / out["error_without_memory_cm"]
    out["ratio_with_to_path_integrator"] = out["error_with_memory_cm"] / out["path_integrator_error_cm"]
    out["seeds_at_most_one_third"] = int(np.sum(np.array(out["with_memory"]["final_cm_per_seed"])
                                                <= np.array(out["feedback_cut"]["final_cm_per_seed"]) / 3))
    out.update(settings=s, n_memories=len(locations), n_grid_cells=int(xi.shape[1]),
               trajectory="Sargolini et al. 2006 (RatInABox sargolini.npz), windows starting "
                          + ", ".join(f"{k * s['seed_spacing_s']:g} s" for k in range(n_seeds)),
               wall_time_s=time.perf_counter() - start)
    return out


def darkness_to_nwb(out, path):
    """Seed 0's session of a :func:`darkness_experiment` result as an NWB file (:func:`hippo_dam.write_session_nwb`):
    the rat's position, the positions decoded with and without the memory feedback, the grid modules' estimates."""
    from ..nwb import write_session_nwb

    ex = out["example"]
    s = out["settings"]
    return write_session_nwb(path, out["t_s"], ex["true_m"],
                             decoded={"with_memory": ex["with_memory_m"], "feedback_cut": ex["feedback_cut_m"]},
                             grid_positions=ex["grid_positions_m"],
                             description="hippo_dam darkness experiment, seed 0: grid path integration in the dark "
                                         "with CA3 memory feedback",
                             attrs={"trajectory": out["trajectory"], **{k: float(v) for k, v in s.items()}})
