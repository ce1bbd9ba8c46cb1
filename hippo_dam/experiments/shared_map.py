"""One CA3 population, several rooms: a place map learned online by a local rule, and how old maps fade.

A fixed population of CA3 cells is reused in every room. The rat explores
room after room (windows of the path Sargolini et al. 2006 recorded, shipped
by RatInABox); entorhinal feature cells (grid modules, boundary cells,
landmark cells, :class:`~hippo_dam.circuits.space.SpatialCode`, and
lateral-entorhinal context cells whose input is one +-pattern per room, the
same everywhere in it: the colour and smell of a box) drive CA3
through one plastic symmetric projection ``W`` whose synapses learn while the
rat explores, inside the same Brian2 run that then tests every map::

    tau_EC  dv_i/dt  = c(t) sum_mu W[mu,i] f_mu - v_i + I_i(x(t), room),   g = tanh(v)
    tau_CA3 dh_mu/dt = sum_i W[mu,i] g_i - w_I y - h_mu,                    f = 2 [h]_+
    tau_I   dy/dt    = sum_mu f_mu - y                                       (basket cells)
    dW[mu,i]/dt      = eta s(t) f_mu (g_i - W[mu,i])

* competition: the basket cells inhibit CA3 in proportion to its summed
  rate (feedback inhibition, no target rate: the population rate is what
  the input and the inhibition make it);
* learning: the instar rule, local to each synapse, moves an active cell's
  weights toward the input pattern where it fires (soft competitive
  learning, Rolls et al. 2006; Si & Treves 2009 for grid to place cells);
  ``s(t)`` is 1 while the rat explores and 0 during tests (a neuromodulatory
  gate every synapse receives alike);
* encoding with the feedback off (``c = 0``, Hasselmo 2006) - an assumption.

The schedule, per room ``k``: a test of the room before any learning in it
(its novel map), the exploration, a test right after (its learned map);
then every room is tested again at the end. Rooms differ by their landmark
positions, a phase shift of every grid module (global remapping, as
:func:`~hippo_dam.circuits.space.make_environments` draws them) and their
context. Tests run a simulated rat (RatInABox), each test on a path of its
own; right after room 0 is learned, it is tested changed four ways
(:data:`REMAP_CONDITIONS`, all on one path).

Measured per room: the fraction of CA3 cells active (a rate-map peak of at
least ``active_peak_hz``), fields per active cell, in-field peak rates,
spatial information per spike (Skaggs et al. 1993), the overlap of the
active sets of two rooms against chance (``p_a p_b``); and how each room's
map survives the rooms learned after it: the population-vector correlation
of its final test with its learned map, and the decoding error of its final
test read with the learned map as templates (a downstream reader that
learned the map when it was made). Baselines: the novel map of every room
(the same cells before learning there), and the network with learning off,
whose random map never changes.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import Hz, TimedArray, cm, meter, ms, second

from ..checks import check_settings
from ..circuits.place_cells import place_fields, rate_maps
from ..circuits.space import Arena, Environment, GridModule, SpatialCode, grid_modules, make_environments, \
    ratinabox_trajectory, sargolini_trajectory
from ..core.components import MovingInput, PlasticProjection, StateRecorder
from ..core.lagrangians import identity, rectified_power, tanh
from ..core.populations import Population, Projection

__all__ = ["SHARED_MAP_SETTINGS", "SHARED_MAP_SETTINGS_SMALL", "shared_map_session", "run_shared_map_session",
           "shared_map_experiment"]

SHARED_MAP_SETTINGS = {
    "n_rooms": 10,
    "n_ca3": 400,
    "explore_s": 90.0,           # per room: windows of the 599.6 s recording, one after another (then again)
    "test_s": 60.0,
    "test_speed_cm_s": 20.0,     # RatInABox rat of the tests (rats forage at 10-30 cm/s)
    "arena_width_m": 1.0,        # the 1 m box of the recording; another box is explored by a RatInABox rat
    "arena_height_m": 1.0,
    "n_modules": 4,
    "cells_per_module": 32,
    "n_landmarks": 4,
    "learning_rate_hz": 0.05,
    "initial_weight_sd": 0.7,    # random weights of the size of the input patterns (|W_mu| ~ |g|)
    "inhibition": 0.5,           # w_I
    "tau_inhibition_ms": 5.0,
    "tau_ec_ms": 20.0,
    "tau_ca3_ms": 10.0,
    "dt_ms": 2.0,
    "record_every_ms": 50.0,
    "rate_per_unit_hz": 0.5,     # a CA3 cell fires (rate_per_unit_hz) f: f = 2 h for h > 0, so 1 Hz per unit of h
    "bin_cm": 5.0,               # rate maps and fields
    "decode_bin_cm": 10.0,       # population vectors compared and read (a 60 s test covers ~3/4 of 10 cm bins)
    "active_peak_hz": 1.0,
    "n_context": 24,             # lateral-entorhinal context cells: one +-pattern per room, the same everywhere
    "context_gain": 1.0,         # their input (the spatial inputs have unit spread)
    "remapping_tests": 1,        # 1: test room 0 changed four ways right after learning it (0: not)
    "partial_cue_tests": 1,      # 1: test room 0 from a partial cue, with the CA3 -> EC feedback cut and on
    "partial_cue_grid_fraction": 0.5,  # grid cells silent in the partial cue (with every landmark and context cell)
    "feedback_gain": 0.001,      # c of the CA3 -> EC feedback in the partial-cue tests: this x 1, 3, 10, 30
    "synaptic_scaling": 1,       # 1: each CA3 cell's weights scaled so that its drive varies as the others' (0: raw)
    "seed": 0,
}
#: the remapping tests of room 0, all on one path: the room again, its context changed (the colour of the box,
#: Leutgeb et al. 2005; grid, walls and landmarks kept), its landmarks moved (grid and walls kept),
#: every grid module realigned (rotated and shifted together), half of the modules realigned
REMAP_CONDITIONS = ("repeat", "context_changed", "landmarks_moved", "grid_realigned", "half_grid_realigned")
#: room 0 from a partial cue, on the remapping tests' path: the feedback cut, then on at gains
#: ``feedback_gain`` times these steps
FEEDBACK_STEPS = (1, 3, 10, 30)
PARTIAL_CUE_CONDITIONS = ("partial_cue",) + tuple(f"partial_cue_feedback_x{k}" for k in FEEDBACK_STEPS)
#: a short version for the test suite and CI
SHARED_MAP_SETTINGS_SMALL = {**SHARED_MAP_SETTINGS, "n_rooms": 2, "n_ca3": 60, "explore_s": 20.0, "test_s": 20.0,
                             "cells_per_module": 12, "n_landmarks": 2}
#: an old room is recalled while its final test is read as that room in at least this fraction of the samples
RECALL_CRITERION = 0.5
_WHOLE = ("n_rooms", "n_ca3", "n_modules", "cells_per_module", "n_landmarks", "seed", "remapping_tests",
          "n_context", "partial_cue_tests", "synaptic_scaling")
_MAY_BE_ZERO = ("learning_rate_hz", "inhibition", "seed", "active_peak_hz", "remapping_tests", "n_context",
                "context_gain", "partial_cue_tests", "partial_cue_grid_fraction", "feedback_gain", "synaptic_scaling")
_RECORDING_S = 599.6  # length of the Sargolini et al. (2006) recording RatInABox ships


def _check_settings(settings):
    s = check_settings(settings, SHARED_MAP_SETTINGS, "shared-map", whole=_WHOLE, may_be_zero=_MAY_BE_ZERO)
    if s["explore_s"] > _RECORDING_S:
        raise ValueError(f"explore_s = {s['explore_s']:g} s must fit in the {_RECORDING_S} s recording the rooms are "
                         "explored on")
    taus = {k: s[k] for k in ("tau_inhibition_ms", "tau_ec_ms", "tau_ca3_ms")}
    if s["dt_ms"] >= min(taus.values()):
        raise ValueError(f"dt_ms = {s['dt_ms']} must be below every time constant {taus}")
    for key in ("remapping_tests", "partial_cue_tests", "synaptic_scaling"):
        if s[key] not in (0, 1):
            raise ValueError(f"shared-map setting {key!r} must be 0 or 1, got {s[key]!r}")
    if s["partial_cue_grid_fraction"] > 1:
        raise ValueError(f"shared-map setting 'partial_cue_grid_fraction' must lie in [0, 1], "
                         f"got {s['partial_cue_grid_fraction']!r}")
    if s["record_every_ms"] < s["dt_ms"]:
        raise ValueError("record_every_ms must be at least dt_ms")
    return s


def _schedule(s):
    """The session: (kind, room, seconds), with kind 'novel', 'explore', 'learned', 'final' or a remapping test
    of room 0 (:data:`REMAP_CONDITIONS`, right after room 0 is learned)."""
    out = []
    for k in range(int(s["n_rooms"])):
        out += [("novel", k, s["test_s"]), ("explore", k, s["explore_s"]), ("learned", k, s["test_s"])]
        if k == 0 and s["remapping_tests"]:
            out += [(cond, 0, s["test_s"]) for cond in REMAP_CONDITIONS]
        if k == 0 and s["partial_cue_tests"]:
            out += [(cond, 0, s["test_s"]) for cond in PARTIAL_CUE_CONDITIONS]
    return out + [("final", k, s["test_s"]) for k in range(int(s["n_rooms"]))]


def _realigned(module, angle, shift, centre):
    """A grid module rotated by ``angle`` about ``centre`` and shifted by ``shift`` (metres): its fields realign."""
    c, s_ = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s_], [s_, c]])
    return GridModule(module.spacing, module.orientation + angle, (module.phases - centre) @ rot.T + centre + shift)


def _remap_codes(s, arena, modules, room):
    """Room 0's spatial code changed three ways (the landmarks; every grid module realigned together, Fyhn et al.
    2007; half of the modules realigned, Stensola et al. 2012). Room A again and room A in another context keep
    room A's own code."""
    rng = np.random.default_rng([int(s["seed"]), 29])
    size = arena.size_m
    moved = Environment(rng.uniform(0.1, 0.9, size=room.landmarks.shape) * size, room.grid_shifts,
                        name=f"{room.name} (landmarks moved)")
    angle, shift = rng.uniform(np.pi / 12, np.pi / 4), rng.uniform(0, 1, 2) * size  # 15-45 degrees, anywhere
    # the room's own module shifts folded into the phases, then the whole grid rotated and shifted
    own = [GridModule(m.spacing, m.orientation, m.phases + d) for m, d in zip(modules, room.grid_shifts)]
    turned = [_realigned(m, angle, shift, size / 2) for m in own]
    half = len(modules) // 2
    flat = Environment(room.landmarks, np.zeros_like(room.grid_shifts), name=room.name)
    return {"landmarks_moved": SpatialCode(arena, modules, moved),
            "grid_realigned": SpatialCode(arena, turned, flat),
            "half_grid_realigned": SpatialCode(arena, own[:half] + turned[half:], flat),
            "realignment": {"angle_deg": float(np.degrees(angle)), "shift_m": shift.tolist(),
                            "half_realigned_modules": list(range(half, len(modules)))}}


def _recording_box(s):
    """The rooms are the 1 m box of the recording: explored on the real rat's path (else on RatInABox's)."""
    return s["arena_width_m"] == 1.0 and s["arena_height_m"] == 1.0


def _paths(s, arena):
    """One trajectory per segment of the schedule (all on the same 20 ms samples)."""
    paths, shared = [], None
    for n, (kind, k, dur) in enumerate(_schedule(s)):
        if kind in REMAP_CONDITIONS + PARTIAL_CUE_CONDITIONS:  # one path: the maps differ by the input alone
            if shared is None:
                shared = ratinabox_trajectory(arena, dur * second, seed=int(s["seed"]) * 1000 + 999,
                                              speed_mean=s["test_speed_cm_s"] * cm / second)
            paths.append(shared)
        elif kind == "explore" and _recording_box(s):
            start = (k * s["explore_s"]) % (_RECORDING_S - s["explore_s"] + 1e-9)  # consecutive, then again
            paths.append(sargolini_trajectory(start * second, dur * second))
        else:
            paths.append(ratinabox_trajectory(arena, dur * second, seed=int(s["seed"]) * 1000 + n,
                                              speed_mean=s["test_speed_cm_s"] * cm / second))
    return paths


def _zero_mean_offsets(code, bin_size=2 * cm):
    """Per feature cell, the offset ``b_i`` with ``mean_x tanh(I_i(x) - b_i) = 0`` over the room.

    ``SpatialCode`` centres every input on its median over the arena (balanced
    +-1 patterns); grid rates are skewed, so ``g = tanh(I)`` keeps a mean
    ``g_bar`` that is nearly the same in every room (``uncentred_mean_pattern``
    in the experiment's result says how large and how alike). A CA3 cell's weights on
    ``g_bar`` would then be a bias it carries into every room, and the instar
    rule writes ``g_bar`` into every cell that learns. The assumption: the
    feedforward inhibition that sets a feature cell's operating point balances
    its mean output over the environment.
    """
    I = code.inputs(code.arena.grid_points(bin_size))  # (P, N)
    lo, hi = np.full(I.shape[1], -10.0), np.full(I.shape[1], 10.0)
    for _ in range(60):  # bisection: mean tanh(I - b) falls as b grows
        mid = (lo + hi) / 2
        up = np.tanh(I - mid).mean(axis=0) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return (lo + hi) / 2


def _pv_correlation(a, b):
    """Mean over bins visited in both of the correlation between two population vectors (C, nx, ny)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    ok = np.all(np.isfinite(a), axis=0) & np.all(np.isfinite(b), axis=0)
    a, b = a[:, ok] - a[:, ok].mean(axis=0), b[:, ok] - b[:, ok].mean(axis=0)
    den = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)
    good = den > 0
    return float(np.mean(np.sum(a * b, axis=0)[good] / den[good])) if np.any(good) else float("nan")


def _decode(rates, templates, bin_m):
    """Bin centres (T, 2) and room (T,) whose template population vector correlates best with each sample.

    ``templates``: list over rooms of maps (C, nx, ny); unvisited bins are skipped.
    """
    vecs, where, room = [], [], []
    for k, maps in enumerate(templates):
        flat = maps.reshape(len(maps), -1)
        ok = np.all(np.isfinite(flat), axis=0)
        idx = np.argwhere(ok.reshape(maps.shape[1:]))
        vecs.append(flat[:, ok].T)
        where.append((idx + 0.5) * bin_m)
        room.append(np.full(len(idx), k))
    vecs, where, room = np.concatenate(vecs), np.concatenate(where), np.concatenate(room)
    z = vecs - vecs.mean(axis=1, keepdims=True)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    r = rates - rates.mean(axis=1, keepdims=True)
    r /= np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    best = np.argmax(r @ z.T, axis=1)
    return where[best], room[best]


def _read_with_templates(test, room, templates, bin_m):
    """A test read with every room's learned maps where room ``room``'s has a template (the test paths differ):
    median position error (cm), fraction read as ``room``, samples read; NaN where the paths never crossed."""
    xy = test["xy"]
    cell = np.minimum((xy / bin_m).astype(int), np.array(templates[room].shape[1:]) - 1)
    covered = np.isfinite(templates[room][0][cell[:, 0], cell[:, 1]])
    if not covered.any():
        return float("nan"), float("nan"), 0
    where, which = _decode(test["rates"][covered], templates, bin_m)
    return (float(np.median(np.linalg.norm(where - xy[covered], axis=1)) * 100), float(np.mean(which == room)),
            int(covered.sum()))


def _skaggs(maps, occupancy):
    """Spatial information per spike (bits), Skaggs et al. (1993): sum_x P(x) (r(x)/r) log2(r(x)/r)."""
    ok = occupancy > 0
    p = occupancy[ok] / occupancy[ok].sum()
    r = np.nan_to_num(maps[:, ok])
    mean = r @ p
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r / mean[:, None]
        terms = np.where(ratio > 0, ratio * np.log2(ratio), 0.0)
    return np.where(mean > 0, terms @ p, np.nan)


def _remapping(before, after, s):
    """How the maps of one test (``after``) differ from those of the same room on the same path (``before``).

    Per cell active in either test: the correlation of its two rate maps
    (bins visited in both); per cell active in both: the change of its peak
    rate, ``|log2(peak_after / peak_before)|``; the fraction of the cells
    active before that are still active (chance: the active fraction after);
    the population-vector correlation.
    """
    a, b = before["maps"], after["maps"]
    pa, pb = np.nanmax(a, axis=(1, 2)), np.nanmax(b, axis=(1, 2))
    on_a, on_b = pa >= s["active_peak_hz"], pb >= s["active_peak_hz"]
    ok = np.isfinite(a[0]) & np.isfinite(b[0])
    corr = []
    for c in np.flatnonzero(on_a | on_b) if ok.sum() >= 3 else []:  # two short paths may share no bin
        x, y = a[c][ok], b[c][ok]
        corr.append(np.corrcoef(x, y)[0, 1] if x.std() > 0 and y.std() > 0 else 0.0)
    both = on_a & on_b
    change = np.abs(np.log2(pb[both] / pa[both]))
    return {"spatial_correlation_median": float(np.median(corr)) if corr else float("nan"),
            "spatial_correlation_quartiles": np.percentile(corr, [25, 75]).tolist() if corr else [],
            "rate_change_log2_median": float(np.median(change)) if both.any() else float("nan"),
            "fraction_rate_change_over_2fold": float(np.mean(change > 1)) if both.any() else float("nan"),
            "still_active": float(both.sum() / max(on_a.sum(), 1)), "still_active_chance": float(on_b.mean()),
            "pv_correlation": _pv_correlation(before["coarse"], after["coarse"])}


def _map_statistics(maps, occupancy, s):
    """Active fraction, fields per active cell, peak rates and information of one test's maps."""
    peak = np.nanmax(maps, axis=(1, 2))
    active = peak >= s["active_peak_hz"]
    fields = np.array([len(place_fields(m, min_peak=s["active_peak_hz"])) for m in maps])
    info = _skaggs(maps, occupancy)
    act = np.flatnonzero(active)
    return {"active": active,
            "fraction_active": float(active.mean()),
            "fields_per_active_cell": float(fields[act].mean()) if len(act) else float("nan"),
            "fields_per_cell_distribution": np.bincount(fields[act], minlength=4).tolist() if len(act) else [],
            "fraction_one_field": float(np.mean(fields[act] == 1)) if len(act) else float("nan"),
            "peak_rate_Hz_median": float(np.median(peak[act])) if len(act) else float("nan"),
            "peak_rate_Hz_quartiles": np.percentile(peak[act], [25, 75]).tolist() if len(act) else [],
            "info_bits_per_spike_median": float(np.nanmedian(info[act])) if len(act) else float("nan"),
            # scale-free: a cell's peak over its mean rate in the box (the rate unit is an assumption)
            "peak_over_mean_median": float(np.median(peak[act] / np.nanmean(maps[act], axis=(1, 2))))
            if len(act) else float("nan")}


def rate_ca3_network(s, n_f, n_h):
    """The shared map's populations: EC feature cells, CA3 and its basket cells, and the basket cells' loop.

    ``tau_EC dv/dt = u - v + I, g = tanh(v)``; ``tau_CA3 dh/dt = u - w_I y - h, f = 2 [h]_+``;
    ``tau_I dy/dt = sum_mu f_mu - y`` (time constants and ``w_I`` from the settings ``s``). Returns
    ``(ec, ca3, basket, [CA3 -> basket, basket -> CA3])``; the projection into CA3 is the caller's.
    """
    ec = Population("EC", n_f, tanh(), s["tau_ec_ms"] * ms, "v", "g",
                    "MEC/LEC (grid, boundary, landmark, context)", energy_term=False)
    ca3 = Population("CA3", n_h, rectified_power(2.0), s["tau_ca3_ms"] * ms, "h", "f", "CA3")
    basket = Population("CA3_basket", 1, identity(), s["tau_inhibition_ms"] * ms, "y", "r",
                        "CA3 basket cells", energy_term=False)
    return ec, ca3, basket, [Projection(ca3, basket, np.ones((1, n_h)), name="CA3_to_basket"),
                             Projection(basket, ca3, -s["inhibition"] * np.ones((n_h, 1)), name="basket_to_CA3")]


def _context_patterns(s, n, seed):
    """``n`` context patterns (n, n_context): +-context_gain at random, one per room."""
    rng = np.random.default_rng(seed)
    return s["context_gain"] * np.where(rng.random((n, int(s["n_context"]))) < 0.5, -1.0, 1.0)


def _with_context(spatial, context):
    """A room's EC input at positions: the spatial cells' (P, N) and its context cells', the same everywhere."""
    return np.concatenate([spatial, np.broadcast_to(context, (len(spatial), len(context)))], axis=1)


#: rooms of the animal's earlier life over which the CA3 cells' synaptic scales are set
_PRIOR_ROOMS = 10


def _synaptic_scaling(W, s, arena, modules):
    """The CA3 cells' weights scaled as synaptic scaling would leave them: every cell's drive varies alike.

    A cell's feedforward drive ``d_c(x) = W_c . tanh(I(x))`` is sampled over
    :data:`_PRIOR_ROOMS` rooms the session never uses (their own landmarks,
    grid shifts and contexts; 5 cm lattice), and each cell's weights are
    multiplied by ``sd_bar / sd_c`` (Turrigiano et al. 1998: a neuron scales
    all its excitatory synapses by one factor toward a set point of
    activity). Random weights otherwise leave some cells driven far harder
    than others, and these fire in every room. **Assumption**: the scales are
    reached over the animal's earlier life, before the session, and stay
    during it. (A threshold per cell set the same way, from each cell's mean
    drive, does not carry over to new rooms: the mean over rooms is set by
    their random contexts, not by the cell.)
    """
    prior = make_environments(_PRIOR_ROOMS, arena, n_modules=int(s["n_modules"]), n_landmarks=int(s["n_landmarks"]),
                              seed=int(s["seed"]) + 7919)
    xy = arena.grid_points(5 * cm)
    contexts = _context_patterns(s, _PRIOR_ROOMS, [int(s["seed"]), 43])
    drive = []
    for room, context in zip(prior, contexts):
        code = SpatialCode(arena, modules, room)
        drive.append(np.tanh(_with_context(code.inputs(xy) - _zero_mean_offsets(code), context)) @ W.T)
    sd = np.concatenate(drive).std(axis=0)
    return W * (sd.mean() / sd)[:, None]


def shared_map_session(settings=None):
    """The network and session of :func:`shared_map_experiment`, built but not run.

    Returns
    -------
    dict
        ``make`` (``make(batch) -> components``), ``settings``, ``arena``,
        ``rooms``, ``codes`` (one :class:`~hippo_dam.circuits.space.SpatialCode`
        per room), ``plan`` (the schedule: ``(kind, room, seconds)``), ``paths``
        (one trajectory per segment), ``inputs`` (T, N_f), ``gate`` (T,) and
        ``feedback`` (T,: the gain ``c``) on the paths' samples of ``sample_s``,
        the initial weights ``W0``, ``dt``, ``batch``, the context cells' input per room
        (``contexts``, its last row room 0's changed context) and ``room_input(kind, room, xy)``: the EC
        input (N_f,) at positions ``xy`` in a segment of that kind, as the session computes it.
    """
    s = _check_settings(dict(settings or {}))
    arena = Arena(s["arena_width_m"] * meter, s["arena_height_m"] * meter)
    modules = grid_modules(int(s["n_modules"]), int(s["cells_per_module"]), seed=int(s["seed"]))
    rooms = make_environments(int(s["n_rooms"]), arena, n_modules=int(s["n_modules"]),
                              n_landmarks=int(s["n_landmarks"]), seed=int(s["seed"]))
    codes = [SpatialCode(arena, modules, room) for room in rooms]
    n_context = int(s["n_context"])
    n_f, n_h = codes[0].n + n_context, int(s["n_ca3"])
    plan = _schedule(s)
    paths = _paths(s, arena)
    h = float(paths[0].dt / second)
    remap = _remap_codes(s, arena, modules, rooms[0]) if s["remapping_tests"] else {}
    realignment = remap.pop("realignment", None)
    offsets = [_zero_mean_offsets(code) for code in codes]
    remap_offsets = {cond: _zero_mean_offsets(code) for cond, code in remap.items()}
    # one context pattern per room (and one for room A's changed context): +-context_gain, the same everywhere
    contexts = _context_patterns(s, int(s["n_rooms"]) + 1, [int(s["seed"]), 31])

    def room_input(kind, k, xy):
        if kind in remap:
            spatial = remap[kind].inputs(xy) - remap_offsets[kind]
        else:
            spatial = codes[k].inputs(xy) - offsets[k]
        context = contexts[-1] if kind == "context_changed" else contexts[k]
        full = _with_context(spatial, context)
        return full * keep if kind in PARTIAL_CUE_CONDITIONS else full

    # the partial cue: landmark and context cells silent (darkness, no smell), a fraction of the grid cells too
    keep = np.ones(n_f)
    if s["partial_cue_tests"]:
        keep[:codes[0].n] = ~codes[0].silence_mask(["landmark"], fraction_grid=s["partial_cue_grid_fraction"],
                                                   seed=int(s["seed"]))
        keep[codes[0].n:] = 0.0
    inputs = np.concatenate([room_input(kind, k, p.xy) for (kind, k, _), p in zip(plan, paths)])
    gains = {f"partial_cue_feedback_x{k}": k * s["feedback_gain"] for k in FEEDBACK_STEPS}
    feedback = np.concatenate([np.full(len(p.xy), gains.get(kind, 0.0)) for (kind, _, _), p in zip(plan, paths)])
    gate = np.concatenate([np.full(len(p.xy), 1.0 if kind == "explore" else 0.0) for (kind, _, _), p
                           in zip(plan, paths)])
    rng = np.random.default_rng([int(s["seed"]), 23])
    W0 = rng.normal(0.0, s["initial_weight_sd"], (n_h, n_f))
    if s["synaptic_scaling"]:
        W0 = _synaptic_scaling(W0, s, arena, modules)

    def make(batch):
        ec, ca3, basket, inhibition = rate_ca3_network(s, n_f, n_h)
        return [ec, ca3, basket,
                PlasticProjection(ec, ca3, W0, s["learning_rate_hz"] * Hz, name="EC_CA3",
                                  plasticity=TimedArray(gate, dt=h * second, name="EC_CA3_plasticity"),
                                  feedback=TimedArray(feedback, dt=h * second, name="EC_CA3_feedback")
                                  if s["partial_cue_tests"] else 0.0),
                *inhibition,
                MovingInput(ec, TimedArray(inputs, dt=h * second, name="room_input"), name="room_input"),
                StateRecorder([ca3], every=s["record_every_ms"] * ms, suffix="rates")]

    return {"make": make, "settings": s, "arena": arena, "rooms": rooms, "codes": codes, "plan": plan,
            "paths": paths, "inputs": inputs, "gate": gate, "W0": W0, "sample_s": h, "dt": s["dt_ms"] * ms, "batch": 1, "contexts": contexts,
            "room_input": room_input,
            "offsets": offsets, "remap_codes": remap, "realignment": realignment, "feedback": feedback}


def run_shared_map_session(session, progress=None, codegen_target="cython"):
    """Run a :func:`shared_map_session` in one Brian2 run.

    Returns
    -------
    t : array (T,)
        Record times (s).
    rates : array (T, N_CA3)
        CA3 rates (Hz), ``rate_per_unit_hz * 2 [h]_+``.
    learned_weights : array (N_CA3, N_EC)
        The EC -> CA3 weights at the end of the session.
    """
    from .experiment_model import session_network

    s = session["settings"]
    net = session_network(session, codegen_target)
    net.run_session(len(session["inputs"]) * session["sample_s"] * second, progress=progress)
    recorder = net.graph["rates_recorder"]
    rates = s["rate_per_unit_hz"] * 2.0 * np.maximum(recorder.trace(net.graph["CA3"])[0], 0.0)  # (T, C) Hz
    return recorder.t, rates, net.graph["EC_CA3"].learned_weights()[0]


def _uncentred_mean_pattern(codes, bin_size=2 * cm):
    """Why the operating points: ``g_bar = mean_x tanh(I(x))`` without them, its size against ``|g|`` and
    its correlation between rooms (the bias a CA3 cell would carry into every room)."""
    g = [np.tanh(code.inputs(code.arena.grid_points(bin_size))) for code in codes]
    bar = np.array([x.mean(axis=0) for x in g])
    corr = np.corrcoef(bar)[np.triu_indices(len(bar), 1)] if len(bar) > 1 else np.array([np.nan])
    return {"norm_over_pattern_norm": float(np.mean(np.linalg.norm(bar, axis=1))
                                            / np.mean([np.linalg.norm(x, axis=1).mean() for x in g])),
            "correlation_between_rooms_min": float(corr.min()), "correlation_between_rooms_max": float(corr.max())}


def shared_map_experiment(settings=None, progress=None, codegen_target="cython"):
    """Run the shared-map session (module docstring); returns its measured numbers as a dict.

    Parameters
    ----------
    settings : dict, optional
        Overrides of :data:`SHARED_MAP_SETTINGS` (units in the names).
    progress : bool, optional
        A progress bar for the Brian2 run (default: on a terminal).
    codegen_target : {'cython', 'numpy'}

    Returns
    -------
    dict
        ``rooms``: per room the statistics of its novel, learned and final
        maps (``fraction_active``, ``fields_per_active_cell``,
        ``peak_rate_Hz_median``, ``info_bits_per_spike_median``...), the
        population-vector correlation of the final and the learned map
        (``pv_final_vs_learned``) and of the novel and learned map, the
        decoding error of its final test read with the learned maps
        (``final_decoding_cm``, ``final_room_correct``); ``overlap``: the
        active-set overlap of every pair of rooms with its chance level;
        ``forgetting``: those numbers against the rooms learned since;
        ``learned_weights`` summary; the settings.
    """
    start = time.perf_counter()
    session = shared_map_session(settings)
    s, arena, rooms, plan, paths = (session[k] for k in ("settings", "arena", "rooms", "plan", "paths"))
    W0, h = session["W0"], session["sample_s"]
    n_f, n_h = session["W0"].shape[1], int(s["n_ca3"])
    t_rec, rates, learned_w = run_shared_map_session(session, progress, codegen_target)

    # cut the record into the schedule's segments; positions at the record times
    bin_m, decode_m = s["bin_cm"] / 100, s["decode_bin_cm"] / 100
    seg, t0 = {}, 0.0
    for (kind, k, dur), path in zip(plan, paths):
        take = (t_rec >= t0 - 1e-9) & (t_rec < t0 + dur - 1e-9)
        idx = np.minimum(np.round((t_rec[take] - t0) / h).astype(int), len(path.xy) - 1)
        if kind != "explore":
            xy = path.xy[idx]
            maps, occ = rate_maps(xy, rates[take], arena, bin_m * meter, smooth_bins=1.0)
            coarse, _ = rate_maps(xy, rates[take], arena, decode_m * meter, smooth_bins=0)
            seg[kind, k] = {"xy": xy, "rates": rates[take], "maps": maps, "occupancy": occ, "coarse": coarse}
        t0 += dur

    n_rooms = int(s["n_rooms"])
    learned_maps = [seg["learned", k]["coarse"] for k in range(n_rooms)]
    per_room, stats = [], {}
    for k in range(n_rooms):
        entry = {"room": rooms[k].name}
        for kind in ("novel", "learned", "final"):
            st = _map_statistics(seg[kind, k]["maps"], seg[kind, k]["occupancy"], s)
            stats[kind, k] = st.pop("active")
            st["population_rate_Hz"] = float(seg[kind, k]["rates"].sum(axis=1).mean())
            entry[kind] = st
        entry["pv_final_vs_learned"] = _pv_correlation(seg["final", k]["coarse"], learned_maps[k])
        entry["pv_novel_vs_learned"] = _pv_correlation(seg["novel", k]["coarse"], learned_maps[k])
        entry["final_decoding_cm"], entry["final_room_correct"], entry["final_samples_read"] = \
            _read_with_templates(seg["final", k], k, learned_maps, decode_m)
        entry["rooms_learned_since"] = n_rooms - 1 - k
        per_room.append(entry)
    overlap = []
    for a in range(n_rooms):
        for b in range(a + 1, n_rooms):
            pa, pb = stats["learned", a], stats["learned", b]
            overlap.append({"rooms": [a, b], "both_active": float(np.mean(pa & pb)),
                            "chance": float(pa.mean() * pb.mean())})
    out = {"rooms": per_room, "overlap": overlap,
           "overlap_mean": float(np.mean([o["both_active"] for o in overlap])) if overlap else float("nan"),
           "overlap_chance_mean": float(np.mean([o["chance"] for o in overlap])) if overlap else float("nan"),
           "forgetting": {"rooms_learned_since": [r["rooms_learned_since"] for r in per_room],
                          "pv_final_vs_learned": [r["pv_final_vs_learned"] for r in per_room],
                          "final_decoding_cm": [r["final_decoding_cm"] for r in per_room],
                          "final_room_correct": [r["final_room_correct"] for r in per_room]},
           "learned_weights": {"norm_mean": float(np.linalg.norm(learned_w, axis=1).mean()),
                               "initial_norm_mean": float(np.linalg.norm(W0, axis=1).mean()),
                               "moved_mean": float(np.linalg.norm(learned_w - W0, axis=1).mean())},
           "n_features": int(n_f), "n_ca3": n_h, "settings": s,
           "trajectory": ("exploration: Sargolini et al. 2006 (RatInABox sargolini.npz), consecutive "
                          f"{s['explore_s']:g} s windows" if _recording_box(s) else
                          f"exploration: RatInABox Agent at {s['test_speed_cm_s']:g} cm/s")
                         + f"; tests: RatInABox Agent at {s['test_speed_cm_s']:g} cm/s",
           "example_maps": {kind: seg[kind, 0]["maps"][np.argsort(-np.nanmax(seg["learned", 0]["maps"],
                                                                             axis=(1, 2)))[:6]].round(3).tolist()
                            for kind in ("novel", "learned", "final")},
           "wall_time_s": time.perf_counter() - start}
    if s["partial_cue_tests"]:
        out["partial_cue"] = {}
        for cond in PARTIAL_CUE_CONDITIONS:
            r = _remapping(seg["repeat", 0] if ("repeat", 0) in seg else seg["learned", 0], seg[cond, 0], s)
            r["decoding_cm"], r["room_correct"], _ = _read_with_templates(seg[cond, 0], 0, learned_maps, decode_m)
            r["feedback_gain"] = s["feedback_gain"] * float(cond.rsplit("_x", 1)[1]) if "_x" in cond else 0.0
            out["partial_cue"][cond] = r
    if s["remapping_tests"]:
        out["remapping"] = {cond: _remapping(seg["repeat", 0], seg[cond, 0], s) for cond in REMAP_CONDITIONS[1:]}
        # the floor: the same room, learned test against the repeat (the same maps, two paths)
        out["remapping"]["same_room_other_path"] = _remapping(seg["learned", 0], seg["repeat", 0], s)
        out["remapping"]["realignment"] = session["realignment"]
        top = np.argsort(-np.nanmax(seg["repeat", 0]["maps"], axis=(1, 2)))[:3]
        out["example_maps_remapping"] = {cond: seg[cond, 0]["maps"][top].round(3).tolist() for cond in REMAP_CONDITIONS}
    out["uncentred_mean_pattern"] = _uncentred_mean_pattern(session["codes"])
    out["pv_novel_vs_learned_mean"] = float(np.mean([r["pv_novel_vs_learned"] for r in per_room]))
    # capacity at this cell count: rooms learned after a room before it is no longer read as itself
    correct = dict(zip(out["forgetting"]["rooms_learned_since"], out["forgetting"]["final_room_correct"]))
    fails = [lag for lag in sorted(correct) if not correct[lag] >= RECALL_CRITERION]
    out["recall_criterion"] = RECALL_CRITERION
    out["rooms_until_recall_fails"] = fails[0] if fails else None
    for kind in ("novel", "learned", "final"):
        for key in ("fraction_active", "fields_per_active_cell", "peak_rate_Hz_median", "info_bits_per_spike_median",
                    "population_rate_Hz", "peak_over_mean_median", "fraction_one_field"):
            values = [r[kind][key] for r in per_room if np.isfinite(r[kind][key])]
            out.setdefault("mean", {}).setdefault(kind, {})[key] = float(np.mean(values)) if values else float("nan")
    return out
