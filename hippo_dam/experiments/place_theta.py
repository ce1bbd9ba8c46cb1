"""A learned CA3 map as spiking cells under theta: irregular firing, phase precession, and the rate version beside it.

One room's map is learned as in :mod:`~hippo_dam.experiments.shared_map`
(EC feature cells -> 400 CA3 cells by the instar rule, basket-cell
inhibition, the real rat's path). The learned weights ``W`` then drive two
versions of the same CA3 network side by side, in one Brian2 run, from the
same entorhinal cells, while a simulated rat (RatInABox) forages::

    rate     tau_CA3 dh_mu/dt = sum_i W[mu,i] g_i - w_I y - h_mu,        f = 2 [h]_+
             tau_I   dy/dt    = sum_mu f_mu + S(t) - y
    spiking  tau_m   dV_mu/dt = k sum_i W[mu,i] g_i - w_I' y' + b - V_mu + sigma sqrt(2 tau_m) eta_mu
                     spike and V -> 0 at V > 1;   tau_syn ds_mu/dt = -s_mu,  s_mu += 1/(r_0 tau_syn) per spike
             tau_I   dy'/dt   = sum_mu s_mu + S(t) - y'
    EC       tau_EC  dv_i/dt  = I_i(x_sweep(t)) - v_i,                    g = tanh(v)

with the theta rhythm of :mod:`~hippo_dam.circuits.theta`: the septal
input ``S(t) = A (1 + cos psi) / 2`` paces both basket populations, and the
entorhinal cells report the look-ahead sweep ``x_sweep(t)`` (an assumption:
the precession is inherited from it). ``k``, ``b``, ``sigma``, ``w_I'`` and
``r_0`` are the spiking version's own choices (listed in the settings); the
learned ``W`` is shared.

Segments on simulated paths (RatInABox, 20 cm/s): ``template`` (rate maps of
both versions: the decoders' templates and the place fields), ``test``
(decoding, irregularity, phase precession) and ``no_sweep`` (the test's
path again with the sweep off and the septal pacing on: the baseline of the
precession). Measured: the decoding error of each version read with its own
templates in windows of ``decode_window_ms`` (and their ratio); the ISI CV
of the spiking cells (O'Keefe & Recce 1993 report irregular theta-locked
bursts; in vivo ISI CV about 1); the circular-linear slope of spike phase
against position in the field (Kempter et al. 2012), per cell and pooled,
with the sweep and without; in-field peak rates and mean rates of the
spiking cells (in vivo CA3 place cells: peaks 10-40 Hz).
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import Hz, TimedArray, cm, meter, ms, second

from ..checks import check_settings
from ..circuits.place_cells import bayesian_decode, place_fields, rate_maps
from ..circuits.space import ratinabox_trajectory
from ..circuits.theta import isi_cv, isi_cv2, look_ahead, phase_precession, running_direction, septal_drive, theta_phase
from ..core.components import LIFPopulation, MovingInput, StateRecorder
from ..core.lagrangians import identity
from ..core.populations import Population, Projection
from .shared_map import SHARED_MAP_SETTINGS, _decode, rate_ca3_network, run_shared_map_session, shared_map_session

__all__ = ["PLACE_THETA_SETTINGS", "PLACE_THETA_SETTINGS_SMALL", "place_theta_session", "place_theta_experiment",
           "seed_summary", "place_theta_to_nwb"]

PLACE_THETA_SETTINGS = {
    # the map: one room learned as in the shared map
    "n_ca3": 400,
    "explore_s": 90.0,
    "learning_rate_hz": 0.05,
    "cells_per_module": 32,
    "n_landmarks": 4,
    "seed": 0,
    # the theta test
    "template_s": 300.0,          # long enough to visit most of the 10 cm bins
    "test_s": 120.0,
    "test_speed_cm_s": 20.0,
    "theta_hz": 8.0,             # rat hippocampal theta while running: 6-10 Hz
    "sweep_cm": 30.0,            # look-ahead sweep per cycle (about a field's length)
    "septal_drive": 20.0,        # A: peak septal input to the basket cells (units of their input)
    "input_dt_ms": 5.0,          # the entorhinal input is sampled this often (25 samples per theta cycle)
    "dt_ms": 0.5,
    "record_every_ms": 25.0,     # rate version's record
    # the spiking version's own choices
    "lif_gain": 1.7,             # k: chosen so the median in-field peak lies in 10-40 Hz
    "lif_bias": 0.0,             # b
    "lif_sigma": 0.3,            # membrane noise (units of threshold)
    "lif_tau_m_ms": 20.0,
    "lif_tau_syn_ms": 10.0,
    "lif_refractory_ms": 2.0,
    "lif_rate_unit_hz": 5.0,     # r_0: a cell firing at r_0 drives its basket cells as f = 1 does
    "lif_inhibition": 0.5,       # w_I'
    # reading both
    "decode_window_ms": 500.0,
    "decode_bin_cm": 10.0,
    "bin_cm": 5.0,
    "active_peak_hz": 1.0,       # rate version: its rate unit; spiking version: Hz
}
#: a short version for the test suite and CI
PLACE_THETA_SETTINGS_SMALL = {**PLACE_THETA_SETTINGS, "n_ca3": 60, "explore_s": 20.0, "template_s": 30.0,
                              "test_s": 20.0, "cells_per_module": 12, "n_landmarks": 2, "dt_ms": 1.0}
SEGMENTS = ("template", "test", "no_sweep")
_WHOLE = ("n_ca3", "cells_per_module", "n_landmarks", "seed")
_MAY_BE_ZERO = ("seed", "sweep_cm", "septal_drive", "lif_bias", "lif_sigma", "lif_inhibition", "lif_refractory_ms",
                "active_peak_hz")


def _check_settings(settings):
    s = check_settings(settings, PLACE_THETA_SETTINGS, "place-theta", whole=_WHOLE, may_be_zero=_MAY_BE_ZERO,
                       signed=("lif_bias",))
    taus = {k: s[k] for k in ("lif_tau_m_ms", "lif_tau_syn_ms")}
    if s["dt_ms"] > min(taus.values()) / 5:
        raise ValueError(f"dt_ms = {s['dt_ms']} must be at most a fifth of the LIF time constants {taus}")
    if s["input_dt_ms"] < s["dt_ms"]:
        raise ValueError("input_dt_ms must be at least dt_ms")
    if s["input_dt_ms"] * s["theta_hz"] > 1000.0 / 8:
        raise ValueError(f"input_dt_ms = {s['input_dt_ms']} samples a {s['theta_hz']} Hz cycle fewer than 8 times")
    if s["decode_window_ms"] < s["record_every_ms"]:
        raise ValueError("decode_window_ms must be at least record_every_ms")
    for key in ("input_dt_ms", "record_every_ms"):
        if abs(s[key] / s["dt_ms"] - round(s[key] / s["dt_ms"])) > 1e-9:
            raise ValueError(f"{key} = {s[key]} must be a whole multiple of dt_ms = {s['dt_ms']}")
    for key in ("template_s", "test_s"):
        if s[key] < max(4.0, 4 * s["decode_window_ms"] / 1000):
            raise ValueError(f"{key} = {s[key]} s must hold at least 4 decoding windows and 4 s")
    return s


def _map_settings(s):
    """The shared-map settings that learn the one room (its tests short: this experiment does not read them)."""
    keep = ("n_ca3", "explore_s", "learning_rate_hz", "cells_per_module", "n_landmarks", "seed", "test_speed_cm_s")
    # one room: no overlap between rooms for synaptic scaling to set right (the recorded theta runs learned
    # from the raw random weights)
    return {**SHARED_MAP_SETTINGS, **{k: s[k] for k in keep}, "n_rooms": 1, "test_s": 10.0,
            "remapping_tests": 0, "partial_cue_tests": 0, "synaptic_scaling": 0}


def place_theta_session(settings=None, weights=None, progress=None, codegen_target="cython"):
    """The theta test's network and inputs, built but not run (learning the map first unless ``weights``).

    ``weights``: a learned map (n_ca3, n_EC), None (learn it: one Brian2 run), or ``"initial"`` (the
    shared map's random initial weights: the network without learning, for building it only).

    Returns
    -------
    dict
        ``make`` (``make(batch) -> components``), ``settings``, ``arena``,
        ``code`` (the room's spatial code), ``weights`` (the learned ``W``),
        ``plan`` ((segment, seconds)), ``paths`` (per segment, on 20 ms
        samples), ``segments`` ((segment, start s, end s) of the run), ``t``/``xy``/``heading`` on the input samples, ``swept`` (the
        positions the EC cells report), ``inputs`` (T, N_EC), ``septal`` (T,),
        ``sample_s``, ``dt`` and ``batch``.
    """
    s = _check_settings(dict(settings or {}))
    learned = shared_map_session(_map_settings(s))
    if weights is None:
        _, _, weights = run_shared_map_session(learned, progress=progress, codegen_target=codegen_target)
    elif isinstance(weights, str) and weights == "initial":  # the network without learning (nothing runs)
        weights = learned["W0"]
    weights = np.asarray(weights, float)
    n_f, n_h = learned["W0"].shape[1], int(s["n_ca3"])
    if weights.shape != (n_h, n_f):
        raise ValueError(f"weights must have shape (n_ca3, n_EC) = ({n_h}, {n_f}), got {weights.shape}")
    arena, code = learned["arena"], learned["codes"][0]
    h = s["input_dt_ms"] / 1000
    speed = s["test_speed_cm_s"] * cm / second
    template = ratinabox_trajectory(arena, s["template_s"] * second, seed=int(s["seed"]) * 1000 + 501,
                                    speed_mean=speed)
    test = ratinabox_trajectory(arena, s["test_s"] * second, seed=int(s["seed"]) * 1000 + 502, speed_mean=speed)
    plan = [("template", s["template_s"]), ("test", s["test_s"]), ("no_sweep", s["test_s"])]
    paths = [template, test, test]
    ts, xys, swept, heading, segments, t0 = [], [], [], [], [], 0.0
    for (seg, dur), path in zip(plan, paths):
        t_local = np.arange(int(round(dur / h))) * h
        xy = np.stack([np.interp(t_local, path.t, path.xy[:, d]) for d in range(2)], axis=1)
        t_glob = t0 + t_local
        sweep = s["sweep_cm"] / 100 if seg != "no_sweep" else 0.0
        ts.append(t_glob), xys.append(xy), heading.append(running_direction(xy, h))
        swept.append(look_ahead(xy, t_glob, s["theta_hz"], sweep, arena.size_m))
        segments.append((seg, t0, t0 + len(t_local) * h))
        t0 += len(t_local) * h
    t, xy, sw, heading = (np.concatenate(a) for a in (ts, xys, swept, heading))
    inputs = learned["room_input"]("learned", 0, sw)  # the room's input, its context as it was learned
    septal = septal_drive(t, s["theta_hz"], s["septal_drive"])
    W = weights

    def make(batch):
        ec, ca3, basket, inhibition = rate_ca3_network(SHARED_MAP_SETTINGS, n_f, n_h)
        lif = LIFPopulation("CA3_LIF", n_h, s["lif_tau_m_ms"] * ms, s["lif_tau_syn_ms"] * ms,
                            rate_unit=s["lif_rate_unit_hz"] * Hz, sigma=s["lif_sigma"], bias=s["lif_bias"],
                            refractory=s["lif_refractory_ms"] * ms, region="CA3 (spiking)")
        basket_lif = Population("CA3_LIF_basket", 1, identity(), SHARED_MAP_SETTINGS["tau_inhibition_ms"] * ms,
                                "y", "r", "CA3 basket cells (spiking version)", energy_term=False)
        septal_input = TimedArray(septal[:, None], dt=h * second, name="septal_theta")
        return [ec, ca3, basket, lif, basket_lif,
                Projection(ec, ca3, W, name="EC_CA3"), *inhibition,
                Projection(ec, lif, s["lif_gain"] * W, name="EC_CA3_LIF"),
                Projection(lif, basket_lif, np.ones((1, n_h)), name="CA3_LIF_to_basket"),
                Projection(basket_lif, lif, -s["lif_inhibition"] * np.ones((n_h, 1)), name="basket_to_CA3_LIF"),
                MovingInput(ec, TimedArray(inputs, dt=h * second, name="swept_input"), name="swept_input"),
                MovingInput(basket, septal_input, name="septal_to_basket"),
                MovingInput(basket_lif, septal_input, name="septal_to_LIF_basket"),
                StateRecorder([ca3], every=s["record_every_ms"] * ms, suffix="rates")]

    return {"make": make, "settings": s, "arena": arena, "code": code, "weights": W, "plan": plan, "paths": paths,
            "segments": segments, "t": t, "xy": xy, "heading": heading, "swept": sw, "inputs": inputs, "septal": septal, "sample_s": h,
            "dt": s["dt_ms"] * ms, "batch": 1}


def _sample_index(t, h, t0, t1):
    """Input sample in force at times ``t`` (s) of the segment ``[t0, t1)``: ``floor(t / h)``, as a TimedArray
    reads it, kept inside the segment."""
    k = np.floor(np.asarray(t) / h + 1e-9).astype(int)
    return np.clip(k, int(round(t0 / h)), int(round(t1 / h)) - 1)


def _spike_rates(cells, times, n, t_edges):
    """Spike counts of every cell in the bins ``t_edges`` over the bin width: (T, n) in Hz."""
    counts = np.zeros((len(t_edges) - 1, n))
    k = np.searchsorted(t_edges, times, side="right") - 1
    ok = (k >= 0) & (k < len(t_edges) - 1)
    np.add.at(counts, (k[ok], cells[ok]), 1.0)
    return counts / np.diff(t_edges)[:, None]


def _fields(maps, bin_m, min_peak):
    """Centre (m) and radius (m, of a disc of the field's area) of every cell's largest field."""
    centres, radii = {}, {}
    for c, m in enumerate(maps):
        f = place_fields(m, min_peak=min_peak)
        if f:
            centres[c] = (np.asarray(f[0]["centroid_bin"], float) + 0.5) * bin_m
            radii[c] = float(np.sqrt(f[0]["n_bins"] / np.pi) * bin_m)
    return centres, radii


def _decoding(rates, xy, templates, bin_m, window, every_s):
    """Errors (cm) of windows of ``window`` samples (of ``every_s`` s) read with ``templates``, windows
    without activity skipped: the population-vector correlation decoder (``median_cm``, the shared map's) and
    Bayesian decoding of Poisson cells (``bayes_median_cm``) from the windows' counts, ``rate * window``."""
    n = len(rates) // window
    r = rates[:n * window].reshape(n, window, -1).mean(axis=1)
    where_true = xy[:n * window].reshape(n, window, 2).mean(axis=1)
    active = r.sum(axis=1) > 0
    where, _ = _decode(r[active], [templates], bin_m)
    err = np.linalg.norm(where - where_true[active], axis=1) * 100
    tau = window * every_s
    bayes = bayesian_decode(r[active] * tau, templates, tau * second, bin_m * meter)
    err_b = np.linalg.norm(bayes - where_true[active], axis=1) * 100
    return {"median_cm": float(np.median(err)), "mean_cm": float(err.mean()), "windows": int(n),
            "windows_silent": int(n - active.sum()), "bayes_median_cm": float(np.median(err_b)),
            "bayes_mean_cm": float(err_b.mean())}


def _theta_locking(phase):
    """Mean resultant length, preferred phase (deg) and Rayleigh test of spike phases (Zar 1999, eq. 27.4)."""
    n = len(phase)
    if n == 0:
        return {"resultant_length": float("nan"), "preferred_phase_deg": float("nan"), "rayleigh_p": float("nan"),
                "n_spikes": 0}
    z = np.exp(1j * np.asarray(phase)).mean()
    Rn = n * np.abs(z)
    p = float(np.exp(np.sqrt(1 + 4 * n + 4 * (n ** 2 - Rn ** 2)) - (1 + 2 * n)))
    return {"resultant_length": float(np.abs(z)), "preferred_phase_deg": float(np.degrees(np.angle(z)) % 360),
            "rayleigh_p": p, "n_spikes": int(n)}


def place_theta_experiment(settings=None, progress=None, codegen_target="cython", weights=None, keep_session=False):
    """Learn one room's map, then run its rate and spiking versions under theta (module docstring).

    Parameters
    ----------
    settings : dict, optional
        Overrides of :data:`PLACE_THETA_SETTINGS` (units in the names).
    progress : bool, optional
    codegen_target : {'cython', 'numpy'}
    weights : array (n_ca3, n_EC), optional
        A learned map to use instead of learning one.
    keep_session : bool
        Also return the test segment's session as arrays (``session``: record times, positions, the rate
        version's rates, every spiking cell's spike times, the learned weights) for
        :func:`place_theta_to_nwb`; not JSON.

    Returns
    -------
    dict
        ``spiking``: rates, fields, ISI CV, theta locking; ``precession``: the
        circular-linear fits with the sweep (``test``) and without
        (``no_sweep``); ``decoding``: each version's error and their ratio;
        examples for the figure; the settings.
    """
    from brian2 import seed as brian_seed

    from .experiment_model import session_network

    start = time.perf_counter()
    session = place_theta_session(settings, weights, progress, codegen_target)
    s, arena, h = session["settings"], session["arena"], session["sample_s"]
    n_h = int(s["n_ca3"])
    learned_s = time.perf_counter() - start
    net = session_network(session, codegen_target)
    state = np.random.get_state()  # brian2.seed reseeds numpy's global generator: put back afterwards
    try:
        brian_seed(int(s["seed"]))
        net.recall(np.zeros((1, n_h)), layer="CA3", duration=len(session["t"]) * h * second, progress=progress)
    finally:
        np.random.set_state(state)
    rec = net.graph["rates_recorder"]
    t_rec = rec.t
    rates = SHARED_MAP_SETTINGS["rate_per_unit_hz"] * 2.0 * np.maximum(rec.trace(net.graph["CA3"])[0], 0.0)
    cells, times = net.graph["CA3_LIF"].spikes()
    every = s["record_every_ms"] / 1000
    bin_m, decode_m = s["bin_cm"] / 100, s["decode_bin_cm"] / 100
    window = max(int(round(s["decode_window_ms"] / s["record_every_ms"])), 1)

    seg = {}
    for name, t0, t1 in session["segments"]:
        take = (t_rec >= t0 - 1e-9) & (t_rec < t1 - 1e-9)
        idx = _sample_index(t_rec[take], h, t0, t1)
        edges = np.append(t_rec[take], t_rec[take][-1] + every)
        spk = (times >= t0) & (times < t1)
        seg[name] = {"t": t_rec[take], "xy": session["xy"][idx], "rate": rates[take],
                     "spiking": _spike_rates(cells[spk], times[spk], n_h, edges),
                     "cells": cells[spk], "times": times[spk], "duration": t1 - t0, "t0": t0}
    tpl = seg["template"]
    maps = {v: rate_maps(tpl["xy"], tpl[v], arena, bin_m * meter, smooth_bins=1.0)[0] for v in ("rate", "spiking")}
    coarse = {v: rate_maps(tpl["xy"], tpl[v], arena, decode_m * meter, smooth_bins=0)[0] for v in ("rate", "spiking")}

    out = {"settings": s, "n_ca3": n_h, "n_features": int(session["inputs"].shape[1]), "decoding": {},
           "precession": {}, "isi_cv": {}, "theta_locking": {}}
    for name in ("test", "no_sweep"):
        d = {v: _decoding(seg[name][v], seg[name]["xy"], coarse[v], decode_m, window, every)
             for v in ("rate", "spiking")}
        d["spiking_over_rate"] = d["spiking"]["median_cm"] / d["rate"]["median_cm"]
        d["spiking_over_rate_bayes"] = d["spiking"]["bayes_median_cm"] / d["rate"]["bayes_median_cm"]
        out["decoding"][name] = d
    # the spiking cells' maps, rates and fields (template segment)
    peak = np.nanmax(maps["spiking"], axis=(1, 2))
    active = peak >= s["active_peak_hz"]
    rate_peak = np.nanmax(maps["rate"], axis=(1, 2))
    fields = [len(place_fields(m, min_peak=s["active_peak_hz"])) for m in maps["spiking"]]
    out["spiking"] = {"fraction_active": float(active.mean()),
                      "peak_rate_Hz_median": float(np.median(peak[active])) if active.any() else float("nan"),
                      "peak_rate_Hz_quartiles": np.percentile(peak[active], [25, 75]).tolist() if active.any() else [],
                      "mean_rate_Hz": float(len(tpl["times"]) / (n_h * tpl["duration"])),
                      "mean_rate_active_Hz": float(np.sum(np.isin(tpl["cells"], np.flatnonzero(active)))
                                                   / (max(active.sum(), 1) * tpl["duration"])),
                      "fields_per_active_cell": float(np.mean(np.array(fields)[active])) if active.any()
                      else float("nan"),
                      "n_spikes": int(len(times)), "peak_rates_Hz": peak[active].round(2).tolist(),
                      "fraction_peak_10_to_40Hz": float(np.mean((peak[active] >= 10) & (peak[active] <= 40)))
                      if active.any() else float("nan"),
                      "fraction_peak_above_100Hz": float(np.mean(peak[active] > 100)) if active.any() else float("nan")}
    out["rate_version"] = {"fraction_active": float(np.mean(rate_peak >= s["active_peak_hz"])),
                           "peak_rate_median": float(np.median(rate_peak[rate_peak >= s["active_peak_hz"]]))
                           if np.any(rate_peak >= s["active_peak_hz"]) else float("nan"),
                           "rate_unit": "rate_per_unit_hz of the shared map (an assumed scale)"}
    # the two versions' maps of the same cell
    both = np.isfinite(maps["rate"][0]) & np.isfinite(maps["spiking"][0])
    corr = [np.corrcoef(maps["rate"][c][both], maps["spiking"][c][both])[0, 1] for c in np.flatnonzero(active)
            if maps["rate"][c][both].std() > 0]
    out["spiking"]["map_correlation_with_rate_version_median"] = float(np.median(corr)) if corr else float("nan")
    out["spiking"]["map_correlation_cells_compared"] = len(corr)  # active spiking cells whose rate map is not flat
    centres, radii = _fields(maps["spiking"], bin_m, s["active_peak_hz"])
    examples = {}
    for name in ("test", "no_sweep"):
        sg = seg[name]
        k = _sample_index(sg["times"], h, sg["t0"], sg["t0"] + sg["duration"])
        phase = theta_phase(sg["times"], s["theta_hz"])
        pp = phase_precession(sg["cells"], session["xy"][k], session["heading"][k], phase, centres, radii)
        d_all, ph_all, cell_all = pp.pop("d"), pp.pop("phase"), pp.pop("cells")
        per_cell = pp.pop("per_cell")
        pp["per_cell_slopes_deg"] = [round(f["slope_deg_per_field"], 1) for f in per_cell]
        out["precession"][name] = pp
        values = np.array(list(isi_cv(sg["cells"], sg["times"]).values()))
        local = np.array(list(isi_cv2(sg["cells"], sg["times"]).values()))
        out["isi_cv"][name] = {"median": float(np.median(values)) if len(values) else float("nan"),
                               "fraction_at_least_half": float(np.mean(values >= 0.5)) if len(values) else float("nan"),
                               "cv2_median": float(np.median(local)) if len(local) else float("nan"),
                               "cells": int(len(values)), "values": values.round(3).tolist(),
                               "cv2_values": local.round(3).tolist()}
        out["theta_locking"][name] = _theta_locking(phase)
        pick = np.random.default_rng(0).permutation(len(d_all))[:3000]
        examples[name] = {"d": d_all[pick].round(3).tolist(), "phase": ph_all[pick].round(3).tolist()}
        if name == "test":
            # three cells with the most in-field spikes among those whose peak is in the in vivo range and
            # whose fit is a significant precession (the pooled panels show every cell)
            typical = [f for f in per_cell if 10.0 <= peak[f["cell"]] <= 40.0 and f["p"] < 0.05
                       and f["slope_cycles"] < 0] or per_cell
            best = sorted(typical, key=lambda f: -f["n"])[:3]
            examples["cells"] = []
            for f in best:
                c, mine = f["cell"], cell_all == f["cell"]
                examples["cells"].append({"cell": c, "slope_deg_per_field": f["slope_deg_per_field"], "p": f["p"],
                                          "d": d_all[mine].round(3).tolist(), "phase": ph_all[mine].round(3).tolist(),
                                          "rate_map": maps["rate"][c].round(3).tolist(),
                                          "spiking_map": maps["spiking"][c].round(3).tolist()})
    # two seconds of the test: spikes of the cells with fields, and the septal rhythm
    t0 = seg["test"]["t0"]
    lo = min(10.0, s["test_s"] - 2.0)
    win = (times >= t0 + lo) & (times < t0 + lo + 2) & np.isin(cells, list(centres))
    out["raster"] = {"t": (times[win] - t0).round(4).tolist(), "cell": cells[win].tolist(), "t0_s": lo,
                     "theta_hz": s["theta_hz"], "test_start_s": float(t0)}
    out["examples"] = examples
    test = seg["test"]
    out["spiking"]["n_spikes_test"] = int(len(test["times"]))
    if keep_session:
        out["session"] = {"t": test["t"], "position": test["xy"], "rates": test["rate"],
                          "spike_times": [test["times"][test["cells"] == c] for c in range(n_h)],
                          "weights": session["weights"]}
    out["learning_wall_time_s"] = learned_s
    out["wall_time_s"] = time.perf_counter() - start
    return out


def seed_summary(out):
    """The numbers of one :func:`place_theta_experiment` run that are compared across seeds (a flat dict)."""
    pp, base = out["precession"]["test"], out["precession"]["no_sweep"]
    return {"seed": int(out["settings"]["seed"]),
            "precession_slope_deg_per_field": pp["pooled"]["slope_deg_per_field"], "precession_rho": pp["pooled"]["rho"],
            "precession_p": pp["pooled"]["p"], "fraction_significant_negative": pp["fraction_significant_negative"],
            "fraction_significant_positive": pp["fraction_significant_positive"],
            "no_sweep_slope_deg_per_field": base["pooled"]["slope_deg_per_field"], "no_sweep_p": base["pooled"]["p"],
            "no_sweep_fraction_significant_negative": base["fraction_significant_negative"],
            "no_sweep_fraction_significant_positive": base["fraction_significant_positive"],
            "theta_locking": out["theta_locking"]["test"]["resultant_length"],
            "theta_locking_no_sweep": out["theta_locking"]["no_sweep"]["resultant_length"],
            "cv2_median_no_sweep": out["isi_cv"]["no_sweep"]["cv2_median"],
            "isi_cv_median": out["isi_cv"]["test"]["median"],
            "fraction_cv_at_least_half": out["isi_cv"]["test"]["fraction_at_least_half"],
            "cv2_median": out["isi_cv"]["test"]["cv2_median"],
            "peak_rate_Hz_median": out["spiking"]["peak_rate_Hz_median"],
            "rate_decoding_cm": out["decoding"]["test"]["rate"]["median_cm"],
            "spiking_decoding_cm": out["decoding"]["test"]["spiking"]["median_cm"],
            "spiking_over_rate": out["decoding"]["test"]["spiking_over_rate"],
            "rate_decoding_bayes_cm": out["decoding"]["test"]["rate"]["bayes_median_cm"],
            "spiking_decoding_bayes_cm": out["decoding"]["test"]["spiking"]["bayes_median_cm"],
            "spiking_over_rate_bayes": out["decoding"]["test"]["spiking_over_rate_bayes"]}


def place_theta_to_nwb(out, path):
    """The test segment of a :func:`place_theta_experiment` run (``keep_session=True``) as an NWB file
    (:func:`hippo_dam.write_session_nwb`): the rat's position and velocity, the rate version's CA3 rates, every
    spiking CA3 cell's spikes (the ``units`` table) and a summary of the learned weights."""
    from ..nwb import write_session_nwb

    if "session" not in out:
        raise ValueError("the result holds no session: run place_theta_experiment(..., keep_session=True)")
    ses, s = out["session"], out["settings"]
    return write_session_nwb(path, ses["t"], ses["position"], rates=ses["rates"], spike_times=ses["spike_times"],
                             weights=ses["weights"],
                             description="hippo_dam place_theta, the test: the learned CA3 map as rate cells "
                                         "(rates) and noisy LIF cells (units) under theta",
                             attrs={k: float(v) for k, v in s.items()})
