"""The theta rhythm of the place-cell network, and spikes read against it.

Two inputs carry the rhythm (frequency ``f``, phase ``psi(t) = 2 pi f t mod 2 pi``):

* **septal pacing of the basket cells** (Freund & Antal 1988; Buzsaki 2002):
  the interneurons receive ``A (1 + cos psi) / 2``, so their inhibition of the
  pyramidal cells is largest at ``psi = 0`` and least at ``psi = pi``;
* **a look-ahead sweep of the entorhinal input** (Kubie & Fenton 2012;
  Sanders et al. 2015): within each cycle the position the grid, boundary and
  landmark cells report sweeps along the heading from behind the animal to
  ahead of it::

      x_sweep(t) = x(t) + D (psi(t) / 2 pi - 1/2) e(t),      e = v / |v|

  with ``D`` the sweep length (held while the animal is slower than
  ``min_speed``, where the heading is undefined: no sweep). The sweep stops
  at the walls.

**Assumption, and what follows from it.** A cell whose field centre ``c``
lies ahead at ``(c - x).e = d`` is reached by the sweep at phase
``psi = 2 pi (d / D + 1/2)``: as the animal runs through the field, ``d``
falls from ``+D/2`` to ``-D/2`` and the phase at which the cell is driven
falls from late to early - phase precession (O'Keefe & Recce 1993), over
``360 deg x (field length / D)``, the same at any speed and in any running
direction (Skaggs et al. 1996; Huxter et al. 2008 in the open field). The
precession is inherited from the sweep, not made by CA3: the baseline is the
same network without the sweep (septal pacing alone).

The analyses: :func:`circular_linear_fit` (Kempter et al. 2012), the slope
and correlation of spike phase against position in the field;
:func:`phase_precession`, that fit for every cell's field pass by pass;
:func:`isi_cv` and :func:`isi_cv2`, the irregularity of firing.
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfc

__all__ = ["theta_phase", "septal_drive", "running_direction", "look_ahead", "circular_linear_fit", "phase_precession", "isi_cv", "isi_cv2"]


def _check_positive(value, what):
    if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


def theta_phase(t, frequency_hz):
    """Theta phase ``psi = 2 pi f t mod 2 pi`` (rad) at times ``t`` (s)."""
    f = _check_positive(frequency_hz, "frequency_hz")
    return np.mod(2 * np.pi * f * np.asarray(t, float), 2 * np.pi)


def septal_drive(t, frequency_hz, amplitude):
    """Septal input to the basket cells, ``A (1 + cos psi(t)) / 2`` (units of the cells' input), at ``t`` (s)."""
    if isinstance(amplitude, bool) or not np.isscalar(amplitude) or not np.isfinite(amplitude) or amplitude < 0:
        raise ValueError(f"amplitude must be a finite number >= 0, got {amplitude!r}")
    return amplitude * 0.5 * (1.0 + np.cos(theta_phase(t, frequency_hz)))


def running_direction(xy, dt_s, window_s=0.1, min_speed_m_s=0.02):
    """Unit running direction ``e = v / |v|`` (T, 2) of positions ``xy`` (m) sampled every ``dt_s`` (s).

    The velocity is averaged over ``window_s``; where the animal is slower
    than ``min_speed_m_s`` the direction is undefined and ``e = 0``.
    """
    xy = np.asarray(xy, float)
    v = np.gradient(xy, dt_s, axis=0)
    k = max(int(round(window_s / dt_s)), 1)
    kernel = np.ones(k) / k
    v = np.stack([np.convolve(v[:, d], kernel, mode="same") for d in range(2)], axis=1)
    speed = np.linalg.norm(v, axis=1)
    return np.where(speed[:, None] > min_speed_m_s, v / np.maximum(speed, 1e-12)[:, None], 0.0)


def look_ahead(xy, t, frequency_hz, sweep_m, size_m, min_speed_m_s=0.02, heading_s=0.1):
    """Positions the entorhinal input reports: the animal's, swept along its heading once per cycle (module doc).

    Parameters
    ----------
    xy : array (T, 2)
        Positions (m) at times ``t``.
    t : array (T,)
        Sample times (s), evenly spaced.
    frequency_hz : float
        Theta frequency.
    sweep_m : float
        Sweep length ``D`` (m), >= 0 (0: no sweep).
    size_m : array (2,)
        The box (m): the sweep stops at its walls.
    min_speed_m_s : float
        Below this speed there is no sweep (no heading).
    heading_s : float
        The heading is the direction of the velocity averaged over this window (s).

    Returns
    -------
    array (T, 2)
        ``x + D (psi / 2 pi - 1/2) e``, inside the box.
    """
    xy, t = np.asarray(xy, float), np.asarray(t, float)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(t) != len(xy) or len(t) < 2:
        raise ValueError(f"xy must be (T, 2) and t (T,) with T >= 2, got {xy.shape} and {t.shape}")
    if isinstance(sweep_m, bool) or not np.isfinite(sweep_m) or sweep_m < 0:
        raise ValueError(f"sweep_m must be a finite number >= 0, got {sweep_m!r}")
    size = np.asarray(size_m, float)
    if size.shape != (2,) or not np.all(size > 0):
        raise ValueError(f"size_m must be the box's (width, height) in metres, both > 0, got {size_m!r}")
    if not np.all(np.isfinite(xy)) or np.any(xy < -1e-12) or np.any(xy > size + 1e-12):
        raise ValueError(f"xy must lie inside the {size[0]:g} x {size[1]:g} m box")
    h = float(t[1] - t[0])
    if h <= 0 or not np.allclose(np.diff(t), h, rtol=1e-6, atol=1e-12):
        raise ValueError("t must be evenly spaced and increasing")
    e = running_direction(xy, h, heading_s, min_speed_m_s)
    psi = theta_phase(t, frequency_hz)
    out = xy + sweep_m * (psi / (2 * np.pi) - 0.5)[:, None] * e
    return np.clip(out, 0.0, size)  # the sweep stops at the walls (the model, not a repair of bad input)


def circular_linear_fit(x, phase, max_slope=1.0, n_slopes=2001):
    """Circular-linear regression of ``phase`` (rad) on ``x`` (Kempter, Leibold, Buzsaki & Thurley 2012).

    The slope ``a`` (cycles per unit of ``x``) maximises the mean resultant
    length ``R(a) = |mean exp(i (phase - 2 pi a x))|`` over ``|a| <= max_slope``;
    the offset is ``phi0 = arg sum exp(i (phase - 2 pi a x))``; the
    circular-linear correlation ``rho`` is that of ``phase`` with
    ``theta = 2 pi |a| x mod 2 pi`` (their eq. 3), with its p-value (eq. 4).

    Returns
    -------
    dict
        ``slope_cycles`` (cycles per unit of x), ``offset_rad``, ``R``, ``rho``, ``p``, ``n``, and
        ``at_limit`` (the slope sits at ``+-max_slope``: the true one may lie beyond the search).
    """
    x, phase = np.asarray(x, float).ravel(), np.asarray(phase, float).ravel()
    if len(x) != len(phase):
        raise ValueError(f"x and phase must have the same length, got {len(x)} and {len(phase)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(phase))):
        raise ValueError("x and phase must be finite (a NaN phase or position has no place in the fit)")
    n = len(x)
    if n < 3:
        return {"slope_cycles": float("nan"), "offset_rad": float("nan"), "R": float("nan"), "rho": float("nan"),
                "p": float("nan"), "n": n, "at_limit": False}
    slopes = np.linspace(-max_slope, max_slope, n_slopes)
    z = np.exp(1j * phase)[None, :] * np.exp(-2j * np.pi * slopes[:, None] * x[None, :])
    R = np.abs(z.mean(axis=1))
    a = float(slopes[np.argmax(R)])
    offset = float(np.angle(np.exp(1j * (phase - 2 * np.pi * a * x)).sum()))
    theta = np.mod(2 * np.pi * abs(a) * x, 2 * np.pi)
    phi_bar, theta_bar = np.angle(np.exp(1j * phase).sum()), np.angle(np.exp(1j * theta).sum())
    sp, st = np.sin(phase - phi_bar), np.sin(theta - theta_bar)
    den = np.sqrt(np.sum(sp ** 2) * np.sum(st ** 2))
    rho = float(np.sum(sp * st) / den) if den > 0 else float("nan")
    if np.isfinite(rho):
        lam20, lam02, lam22 = np.mean(sp ** 2), np.mean(st ** 2), np.mean(sp ** 2 * st ** 2)
        zstat = rho * np.sqrt(n * lam20 * lam02 / lam22) if lam22 > 0 else float("nan")
        p = float(erfc(abs(zstat) / np.sqrt(2))) if np.isfinite(zstat) else float("nan")
    else:
        p = float("nan")
    return {"slope_cycles": a, "offset_rad": offset, "R": float(R.max()), "rho": rho, "p": p, "n": n,
            "at_limit": bool(abs(a) >= max_slope - 1e-12)}


def phase_precession(spike_cells, spike_xy, spike_heading, spike_phase, centres, radii, min_spikes=20):
    """Spike phase against the position in the field along the running direction, per cell and pooled.

    A spike of cell ``c`` at ``x``, running along the unit heading ``e``, sits
    at ``d = (x - centre_c) . e / radius_c`` in its field (-1 entering, 0 at the
    centre, +1 leaving; spikes farther than ``radius_c`` from the centre are
    left out). Phase precession is a negative slope of phase on ``d``
    (O'Keefe & Recce 1993), measured by :func:`circular_linear_fit`; the slope
    is reported in degrees per field length (``d`` from -1 to 1), searched within +-360 deg per field
    (at most one cycle across a field).

    Parameters
    ----------
    spike_cells : int array (S,)
    spike_xy : array (S, 2)
        Animal's position at each spike (m).
    spike_heading : array (S, 2)
        Unit running direction at each spike (zero where the animal stood: left out).
    spike_phase : array (S,)
        Theta phase of each spike (rad).
    centres : dict {cell: (2,) m}
        Field centre of each cell measured.
    radii : dict {cell: float m}
    min_spikes : int
        Cells with fewer in-field spikes are not fitted one by one (they count in the pooled fit).

    Returns
    -------
    dict
        ``pooled`` (the fit of every cell's in-field spikes together), ``per_cell`` (list of fits with
        ``cell``), ``slope_deg_per_field_median``, ``fraction_significant_negative`` and ``_positive``
        (p < 0.05) over the cells fitted, ``fits_at_limit`` (per-cell slopes at +-360 deg per field: beyond
        the search), and ``d``, ``phase`` and ``cells`` of the pooled spikes (for plotting).
    """
    cells = np.asarray(spike_cells)
    xy, e, ph = np.asarray(spike_xy, float), np.asarray(spike_heading, float), np.asarray(spike_phase, float)
    ds, phs, owners, per_cell = [], [], [], []
    moving = np.linalg.norm(e, axis=1) > 0.5
    for c, centre in centres.items():
        take = (cells == c) & moving
        off = xy[take] - np.asarray(centre, float)
        inside = np.linalg.norm(off, axis=1) <= radii[c]
        d = np.sum(off[inside] * e[take][inside], axis=1) / radii[c]
        p = ph[take][inside]
        ds.append(d)
        phs.append(p)
        owners.append(np.full(len(d), c))
        if len(d) >= min_spikes:
            fit = circular_linear_fit(d, p, max_slope=0.5)
            per_cell.append({"cell": int(c), **fit, "slope_deg_per_field": 2 * 360.0 * fit["slope_cycles"]})
    d, p, owner = (np.concatenate(ds), np.concatenate(phs), np.concatenate(owners)) if ds else \
        (np.zeros(0), np.zeros(0), np.zeros(0, int))
    pooled = circular_linear_fit(d, p, max_slope=0.5)
    pooled["slope_deg_per_field"] = 2 * 360.0 * pooled["slope_cycles"]
    slopes = [f["slope_deg_per_field"] for f in per_cell]

    def fraction(test):
        return float(np.mean([test(f) for f in per_cell])) if per_cell else float("nan")

    return {"pooled": pooled, "per_cell": per_cell, "n_cells_fitted": len(per_cell),
            "slope_deg_per_field_median": float(np.median(slopes)) if slopes else float("nan"),
            "fraction_significant_negative": fraction(lambda f: f["p"] < 0.05 and f["slope_cycles"] < 0),
            "fraction_significant_positive": fraction(lambda f: f["p"] < 0.05 and f["slope_cycles"] > 0),
            "fits_at_limit": int(sum(f["at_limit"] for f in per_cell)), "d": d, "phase": p, "cells": owner}


def isi_cv(spike_cells, spike_times, min_spikes=10):
    """Coefficient of variation of the inter-spike intervals of every cell with at least ``min_spikes`` spikes.

    ``CV = std(ISI) / mean(ISI)``: 0 for a clock, 1 for a Poisson process.

    Returns
    -------
    dict {cell: CV}
    """
    return {c: float(isi.std() / isi.mean()) for c, isi in _intervals(spike_cells, spike_times, min_spikes)}


def _intervals(spike_cells, spike_times, min_spikes):
    """(cell, its inter-spike intervals) of every cell with at least ``min_spikes`` spikes."""
    cells, times = np.asarray(spike_cells), np.asarray(spike_times, float)
    for c in np.unique(cells):
        t = np.sort(times[cells == c])
        if len(t) >= min_spikes:
            yield int(c), np.diff(t)


def isi_cv2(spike_cells, spike_times, min_spikes=10):
    """Local irregularity ``CV2`` of every cell with at least ``min_spikes`` spikes (Holt et al. 1996)::

        CV2 = mean_n 2 |ISI_{n+1} - ISI_n| / (ISI_{n+1} + ISI_n)

    It compares neighbouring intervals only, so a rate that changes slowly
    (a cell entering and leaving its field) does not raise it as it raises
    the CV: 1 for a Poisson process, 0 for a clock.

    Returns
    -------
    dict {cell: CV2}
    """
    return {c: float(np.mean(2 * np.abs(np.diff(isi)) / (isi[1:] + isi[:-1])))
            for c, isi in _intervals(spike_cells, spike_times, min_spikes)}
