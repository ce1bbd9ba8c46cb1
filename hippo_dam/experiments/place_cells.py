"""The place-cell experiments: a running animal, rate maps, decoding, remapping, imprinting, capacity.

Krotov & Hopfield (2021, section 5) read place cells as the memory neurons of a
Dense Associative Memory whose feature neurons are entorhinal grid and sensory
cells. :func:`run_place_experiments` runs every experiment of
``figures/place_cells.png`` on the circuits of :mod:`hippo_dam.circuits.place_cells`
and returns its measured numbers (recorded in ``figures/place_cells.json``).
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import Hz, cm, ms, second

from ..circuits.place_cells import (MEMORY_KINDS, PlaceCellNetwork, _check_locations, field_statistics,
                                    rate_maps)
from ..circuits.space import Arena, SpatialCode, Trajectory, check_length
from ..core.lagrangians import identity, log_sum_exp, tanh
from ..networks.two_layer import DenseAssociativeMemory

__all__ = ["run_place_experiments", "compare_conditions", "environment_capacity", "CONDITIONS", "PLACE_SETTINGS",
           "PLACE_SETTINGS_SMALL"]

#: Settings of the published figure (about 10 minutes on one core).
PLACE_SETTINGS = {"arena_cm": 100, "duration_s": 120, "mean_speed_cm_s": 25, "trajectory_seed": 1, "n_modules": 4,
                  "cells_per_module": 32, "n_landmarks": 4, "gain": 2.0, "lattice_cm": 10, "bin_cm": 5,
                  "beta_n": 10.0, "tau_f_ms": 20, "tau_h_ms": 10, "dt_ms": 1.0, "max_rate_Hz": 20, "seed": 0,
                  "explore_duration_s": 120, "explore_seed": 2, "match_threshold": 0.6, "imprint_units": 200,
                  "capacity_environments": [1, 2, 4, 8, 16], "capacity_spacings_cm": [20, 10], "capacity_tests": 30}


#: Small settings (notebook under CI, smoke tests).
PLACE_SETTINGS_SMALL = {**PLACE_SETTINGS, "duration_s": 20, "explore_duration_s": 30, "lattice_cm": 20,
                        "capacity_environments": [1, 2], "capacity_spacings_cm": [20], "capacity_tests": 10,
                        "cells_per_module": 16}


def _setup(s):
    from ..circuits.space import grid_modules, make_environments, random_walk

    arena = Arena(s["arena_cm"] * cm, s["arena_cm"] * cm)
    modules = grid_modules(s["n_modules"], s["cells_per_module"], seed=s["seed"])
    env = make_environments(1, arena, n_modules=s["n_modules"], n_landmarks=s["n_landmarks"], seed=s["seed"])[0]
    code = SpatialCode(arena, modules, env, gain=s["gain"], max_rate=s["max_rate_Hz"] * Hz)
    traj = random_walk(arena, s["duration_s"] * second, mean_speed=s["mean_speed_cm_s"] * cm / second,
                       seed=s["trajectory_seed"])
    lattice = arena.grid_points(s["lattice_cm"] * cm)
    return arena, modules, code, traj, lattice


def run_place_experiments(settings=None):
    """Every experiment of the figure; returns ``(results, runs)`` (JSON-able results, objects for plotting)."""
    from ..circuits.place_cells import imprint_memories
    from ..circuits.space import random_walk

    s = {**PLACE_SETTINGS, **(settings or {})}
    arena, modules, code, traj, lattice = _setup(s)
    net_kw = dict(beta_n=s["beta_n"], tau_f=s["tau_f_ms"] * ms, tau_h=s["tau_h_ms"] * ms, dt=s["dt_ms"] * ms,
                  max_rate=s["max_rate_Hz"] * Hz)
    bin_size = s["bin_cm"] * cm
    out = {"settings": s, "n_features": code.n, "feature_groups": {k: [v.start, v.stop] for k, v in code.groups.items()},
           "grid_spacings_cm": [m.spacing * 100 for m in modules],
           "grid_orientations_deg": [float(np.rad2deg(m.orientation)) for m in modules],
           "trajectory": {"mean_speed_cm_s": float(traj.speed.mean() * 100), "coverage_5cm": traj.coverage(5 * cm),
                          "duration_s": s["duration_s"]},
           "n_memories": int(len(lattice))}
    start = time.perf_counter()
    cond = compare_conditions(code, lattice * 100 * cm, traj, bin_size=bin_size, seed=s["seed"], keep_runs=True,
                              **net_kw)
    runs = cond.pop("runs")
    out["conditions"] = cond
    out["decoding"] = {kind: {f"{c}_cm": v["median_cm"] for c, v in cond[kind].items()} for kind in cond}
    out["fields"] = {kind: {k: cond[kind]["all_inputs"][k] for k in
                            ("mean_fields", "fraction_one_field", "fraction_one_field_at_location", "fraction_silent",
                             "field_diameter_cm", "peak_rate_Hz", "location_error_cm")} for kind in cond}
    # energy: held input (Lyapunov) and moving input (E and E + input work)
    energy = {"hold": {}, "moving": {}}
    hold_traces = {}
    for kind in cond:
        net = PlaceCellNetwork(code, lattice * 100 * cm, kind=kind, **net_kw)
        t, E, rates = net.hold(np.array([0.42, 0.63]) * arena.size_m * 100 * cm, duration=200 * ms)
        hold_traces[kind] = (t, E)
        energy["hold"][kind] = {"max_relative_rise": float(np.max(np.diff(E)) / np.max(np.abs(E))),
                                "E_start": float(E[0]), "E_end": float(E[-1]), "n_steps": int(len(E))}
        run = runs[kind]["all_inputs"][0]
        energy["moving"][kind] = {"max_energy_rise": float(np.max(np.diff(run.energy))),
                                  "max_dissipated_rise": float(np.max(np.diff(run.dissipated))),
                                  "relative_dissipated_rise": float(np.max(np.diff(run.dissipated))
                                                                    / np.max(np.abs(run.dissipated)))}
    out["energy"] = energy
    # memories written during exploration (in Brian2), then recalled on another run
    explore = random_walk(arena, s["explore_duration_s"] * second, mean_speed=s["mean_speed_cm_s"] * cm / second,
                          seed=s["explore_seed"])
    imp = imprint_memories(code, explore, n_units=s["imprint_units"], match_threshold=s["match_threshold"])
    imprint = {"exploration": imp.attrs, "n_recruited": int(len(imp.locations)),
               "fraction_equal_to_input_pattern": float(np.mean(np.all(
                   imp.patterns == code.patterns(imp.locations), axis=1)))}
    if len(imp.locations):
        nets = {"imprinted": PlaceCellNetwork(code, imp.locations * 100 * cm, patterns=imp.patterns, **net_kw),
                "direct_same_locations": PlaceCellNetwork(code, imp.locations * 100 * cm, **net_kw)}
        imp_runs = {}
        for name, net in nets.items():
            run = net.run(traj)
            maps, _ = rate_maps(run.xy, run.rates, arena, bin_size)
            st = field_statistics(maps, net.locations, bin_size)
            st.pop("fields_per_cell")
            imprint[name] = {**run.summary(), **st}
            imp_runs[name] = (run, maps)
        imprint["direct_lattice"] = {**{k: cond["dam"]["all_inputs"][k] for k in ("median_cm", "mean_cm", "p90_cm")},
                                     **out["fields"]["dam"], "n_memories": int(len(lattice))}
        runs["imprinted"] = imp_runs
    runs["imprint"] = imp
    runs["explore"] = explore
    out["imprinting"] = imprint
    out["capacity"] = environment_capacity(arena, modules, n_environments=s["capacity_environments"],
                                           spacings=[c * cm for c in s["capacity_spacings_cm"]],
                                           n_test=s["capacity_tests"], beta_n=s["beta_n"], tau_f=s["tau_f_ms"] * ms,
                                           tau_h=s["tau_h_ms"] * ms, dt=s["dt_ms"] * ms,
                                           n_landmarks=s["n_landmarks"], seed=s["seed"], gain=s["gain"])
    out["wall_time_s"] = time.perf_counter() - start
    runs.update(code=code, traj=traj, lattice=lattice, arena=arena, hold=hold_traces)
    return out, runs


#: The input conditions of the pattern-completion experiment: name -> (silenced groups, fraction of grid cells).
CONDITIONS = {"all_inputs": ((), 0.0), "darkness": (("landmark",), 0.0), "grid_module_0_silenced": (("grid_0",), 0.0),
              "half_grid_cells_silenced": ((), 0.5)}


def compare_conditions(code: SpatialCode, locations, trajectory: Trajectory, kinds=MEMORY_KINDS, conditions=None,
                       bin_size=None, seed=0, keep_runs=False, **network_kwargs):
    """Place fields and decoding error of each memory kind under each input condition (same inputs for all).

    Parameters
    ----------
    code : SpatialCode
    locations : Quantity (length) (K, 2)
    trajectory : Trajectory
    kinds : tuple of {'dam', 'classical'}
    conditions : dict, optional
        ``name -> (silenced group names, fraction of grid cells silenced)``
        (default :data:`CONDITIONS`).
    bin_size : Quantity (length)
        Rate-map bins (default 5 cm).
    seed : int
        Which grid cells a fraction silences.
    keep_runs : bool
        Also return the :class:`PlaceRun` objects (``out['runs'][kind][condition]``).
    **network_kwargs
        Passed to :class:`PlaceCellNetwork`.

    Returns
    -------
    dict
        ``out[kind][condition]`` = decoding summary (cm) + field statistics
        (the per-cell field counts as a list), plus ``wall_time_s``.
    """
    from brian2 import cm

    bin_size = 5 * cm if bin_size is None else bin_size
    conditions = CONDITIONS if conditions is None else conditions
    if not isinstance(code, SpatialCode):
        raise TypeError(f"code must be a SpatialCode, got {type(code).__name__}")
    locs_m = _check_locations(code.arena, locations)
    code.arena.check_trajectory(trajectory, "trajectory", "the code's arena")
    code.arena.bins(bin_size)
    for kind in kinds:
        if kind not in MEMORY_KINDS:
            raise ValueError(f"kinds must be drawn from {MEMORY_KINDS}, got {kind!r}")
    masks = {name: code.silence_mask(groups, frac, seed=seed) for name, (groups, frac) in conditions.items()}
    out, runs = {}, {}
    for kind in kinds:
        net = PlaceCellNetwork(code, locations, kind=kind, **network_kwargs)
        out[kind], runs[kind] = {}, {}
        for name, silenced in masks.items():
            run = net.run(trajectory, silenced)
            maps, _ = rate_maps(run.xy, run.rates, code.arena, bin_size)
            stats = field_statistics(maps, locs_m, bin_size)
            stats["fields_per_cell"] = stats["fields_per_cell"].tolist()
            out[kind][name] = {**run.summary(), **stats, "n_silenced": int(silenced.sum()),
                               "max_dissipated_rise": float(np.max(np.diff(run.dissipated))),
                               "max_energy_rise": float(np.max(np.diff(run.energy))),
                               "wall_time_s": run.attrs["wall_time_s"]}
            if keep_runs:
                runs[kind][name] = (run, maps)
    if keep_runs:
        out["runs"] = runs
    return out


def environment_capacity(arena: Arena, modules, n_environments=(1, 2, 4, 8), spacings=None, kinds=MEMORY_KINDS,
                         n_test=60, beta_n=10.0, duration=100 * ms, tau_f=20 * ms, tau_h=10 * ms, dt=1 * ms,
                         n_landmarks=4, seed=0, gain=2.0):
    """How many environments x locations one network holds before decoding fails.

    For each lattice spacing (locations per environment ``L``) and number of
    environments ``E``, the patterns of ``E * L`` locations (each environment
    with its own landmarks and grid phase shifts, :func:`~hippo_dam.circuits.space.make_environments`)
    are stored in one network. ``n_test`` random positions per environment are
    presented as a constant input ``I(x)`` (initial state ``v = I``) for
    ``duration``, all in one batched Brian2 run; a test succeeds when the most
    active memory neuron belongs to the right environment and its stored
    location lies within one lattice spacing of the true position.

    Returns
    -------
    dict
        ``rows``: one dict per (kind, spacing, E) with ``n_memories``,
        ``load`` (``E L / N_f``), ``success``, ``env_correct``,
        ``median_error_cm``; ``capacity``: per kind and spacing, the largest
        ``E L`` tested with ``success >= 0.9``; ``theory``: the package's
        capacity theory for ``N_f`` (random patterns; :func:`hippo_dam.theory.capacity.capacity_theory`).
    """
    from brian2 import cm

    from ..circuits.space import make_environments
    from ..theory.capacity import capacity_theory

    spacings = [20 * cm, 10 * cm] if spacings is None else list(spacings)
    for spacing in spacings:
        arena.grid_points(spacing, "spacings")
    envs = make_environments(max(n_environments), arena, n_modules=len(modules), n_landmarks=n_landmarks, seed=seed)
    codes = [SpatialCode(arena, modules, env, gain=gain) for env in envs]
    n = codes[0].n
    rng = np.random.default_rng([int(seed), 17])
    tests = rng.uniform(0, 1, size=(max(n_environments), int(n_test), 2)) * arena.size_m
    rows = []
    for spacing in spacings:
        lattice = arena.grid_points(spacing, "spacings")
        sp = float(check_length(spacing, "spacing"))
        per_env = [c.patterns(lattice) for c in codes]
        for E in n_environments:
            xi = np.concatenate(per_env[:E])
            env_of = np.repeat(np.arange(E), len(lattice))
            loc_of = np.tile(lattice, (E, 1))
            cues = np.concatenate([codes[e].inputs(tests[e]) for e in range(E)])
            true_env = np.repeat(np.arange(E), int(n_test))
            true_xy = tests[:E].reshape(-1, 2)
            for kind in kinds:
                lag, w = (log_sum_exp(beta_n / n), xi) if kind == "dam" else (identity(), xi / np.sqrt(n))
                net = DenseAssociativeMemory(w, tanh(), lag, tau_f=tau_f, tau_h=tau_h, dt=dt, record_every=None)
                res = net.recall(cues, duration=duration, cue_input=1.0, target=np.zeros(len(cues), int))
                win = np.argmax(lag.activation(res.h_final), axis=1)
                env_ok = env_of[win] == true_env
                err = np.linalg.norm(loc_of[win] - true_xy, axis=1)
                ok = env_ok & (err <= sp)
                rows.append({"kind": kind, "spacing_cm": sp * 100, "locations_per_env": len(lattice),
                             "n_environments": int(E), "n_memories": int(len(xi)), "load": len(xi) / n,
                             "success": float(ok.mean()), "env_correct": float(env_ok.mean()),
                             "median_error_cm": float(np.median(err[env_ok]) * 100) if env_ok.any() else float("nan"),
                             "wall_time_s": res.attrs["wall_time_s"]})
    capacity = {}
    for kind in kinds:
        for spacing in spacings:
            sp = float(check_length(spacing, "spacing")) * 100
            good = [r["n_memories"] for r in rows if r["kind"] == kind and r["spacing_cm"] == sp and r["success"] >= 0.9]
            capacity[f"{kind}_{sp:g}cm"] = max(good) if good else 0
    theory = {"classical_retrieval_0138N": float(capacity_theory("classical", n, "retrieval")),
              "classical_stable_N_over_2lnN": float(capacity_theory("classical", n, "stable")),
              "dam_exp_bound_min_Nh": "min(N_h, 2^(N/2)): every stored location (N_h = E L)"}
    return {"rows": rows, "capacity": capacity, "theory": theory, "n_features": n, "n_test_per_env": int(n_test),
            "criterion": "winner's environment right and its location within one lattice spacing; capacity: "
                         "largest E*L tested with success >= 0.9"}
