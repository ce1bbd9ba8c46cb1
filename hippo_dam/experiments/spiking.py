"""The LIF spiking CA3 against the rate CA3: retrieval success by cells per memory and rate.

:func:`spiking_curve` is the measurement behind ``figures/lif_spiking.png``
(:mod:`hippo_dam.figures.lif_spiking`), run on the circuits of
:mod:`hippo_dam.circuits.spiking_lif` and :mod:`hippo_dam.circuits.hippocampus`.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, ms

from ..circuits.spiking_lif import LIFSpikingCA3

__all__ = ["spiking_curve"]


def spiking_curve(n_features=200, n_patterns=32, flip=0.35, n_cues=40, copies=(4, 8, 16, 32), rates=(20, 50),
                  feature_copies=4, duration=150 * ms, dt=0.1 * ms, seed=0, codegen_target="cython"):
    """Retrieval success of :class:`LIFSpikingCA3` against the rate CA3 on the same cues.

    The setting of ``figures/spiking.json`` (random +-1 patterns, ``N_f = 200``,
    ``K = 32``, cues with ``flip`` of their bits flipped): success of the rate
    model, then of the LIF circuit for every ``copies`` x ``rate`` (memory and
    feature cells at the same peak rate).

    Returns
    -------
    dict
        ``results`` (JSON-able: the curve, the rate success, the smallest design
        reaching 95% of it with <= 32 cells per memory at <= 50 Hz; ``final_overlap``
        is the graded measure ``mean_i tanh(v_i) xi_i`` at the end, which the
        sign-based success does not see) and ``plot`` (a raster of one recall).
    """
    import time

    from ..circuits.hippocampus import CA3Circuit
    from ..data.patterns import _flip_cues as _cues

    xi = _random(n_patterns, n_features, seed)
    cues = _cues(xi, n_cues, flip, seed + 1)
    rate_net = CA3Circuit(xi, record_every=None, codegen_target=codegen_target, dt=dt)
    start = time.perf_counter()
    def overlap(res, t):  # graded recall: overlap of the final feature rates g(v) with the target pattern
        return float(np.mean(np.tanh(res.v_final) * xi[t]))

    rate_res = [(rate_net.recall(c, k, duration=duration, target=t), t) for t, c, k in cues]
    rate_ok = float(np.mean([r.quality.success for r, _ in rate_res]))
    rate_overlap = float(np.mean([overlap(r, t) for r, t in rate_res]))
    rows = []
    plot = None
    for r in rates:
        for c in copies:
            net = LIFSpikingCA3(xi, max_rate=r * Hz, copies=c, feature_rate=r * Hz, feature_copies=feature_copies,
                                record_every=None, codegen_target=codegen_target, dt=dt)
            t0 = time.perf_counter()
            res = [net.recall(cc, k, duration=duration, target=t) for t, cc, k in cues]
            ok = float(np.mean([x.quality.success for x in res]))
            ov = float(np.mean([overlap(x, t) for x, (t, _, _) in zip(res, cues)]))
            rows.append({"copies": int(c), "rate_Hz": float(r), "feature_copies": int(feature_copies),
                         "success": ok, "ratio_to_rate": ok / rate_ok if rate_ok else float("nan"),
                         "final_overlap": ov,
                         "mean_memory_spikes": float(np.mean([x.attrs["n_spikes"] for x in res])),
                         "wall_time_s": time.perf_counter() - t0})
            if plot is None or (c == max(copies) and r == max(rates)):
                u, tt, cell = res[0].spikes
                plot = {"raster": (cell, tt), "title": f"LIF memory cells ({c}/memory, {r} Hz), cue 0"}
    good = [row for row in rows if row["ratio_to_rate"] >= 0.95 and row["copies"] <= 32 and row["rate_Hz"] <= 50]
    best = min(good, key=lambda row: (row["copies"] * row["rate_Hz"], row["copies"])) if good else None
    return {"results": {"rate_success": rate_ok, "rate_final_overlap": rate_overlap, "curve": rows, "target_met": best is not None, "best": best,
                        "n_cues": int(n_cues), "flip": flip, "n_features": n_features, "n_patterns": n_patterns,
                        "duration_ms": float(duration / ms), "dt_ms": float(dt / ms), "copies": list(copies),
                        "rates_Hz": list(rates), "wall_time_s": time.perf_counter() - start},
            "plot": plot}


def _random(k, n, seed):
    from ..data.patterns import random_patterns

    return random_patterns(k, n, seed=seed)
