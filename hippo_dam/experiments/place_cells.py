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

__all__ = ["run_place_experiments", "PLACE_SETTINGS", "PLACE_SETTINGS_SMALL"]

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
    from ..circuits.space import Arena, SpatialCode, grid_modules, make_environments, random_walk

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
    from ..circuits.place_cells import (PlaceCellNetwork, compare_conditions, environment_capacity,
                                       field_statistics, imprint_memories, rate_maps)
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
