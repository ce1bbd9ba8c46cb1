"""What every figure records beside its PNG, and the recall statistics the circuit figures share."""
from __future__ import annotations

from ..outputs import package_versions as _versions  # noqa: F401  (the figures' name for it)


def _record_and_draw(out, outdir, name, redraw):
    """Write ``outdir/name.json`` (the results, package versions, the figure function) and draw
    ``outdir/name.png`` from that record with ``redraw(recorded, path)``; returns the PNG's path."""
    import json
    from pathlib import Path

    out["versions"] = _versions()
    path = Path(outdir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    out["figure"] = path.name
    out["function"] = f"hippo_dam.figures.{name}.{name}"
    path.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    return redraw(out, path)


def _recall_stats(net, cues, duration, record_every=None):
    """Success rate over cues, and the largest energy rise (relative to max |E|) on any trajectory."""
    import numpy as np

    saved, net.record_every = net.record_every, record_every  # setting it drops the built network
    success, rises, ascents, e_end = [], [], [], []
    for target, cue, known in cues:
        r = net.recall(cue, known, duration=duration, target=target)
        success.append(bool(r.quality.success))
        rises.append(float(np.max(np.diff(r.energy)) / np.max(np.abs(r.energy))))
        # largest climb above the lowest energy reached so far (absolute units of E)
        ascents.append(float(np.max(r.energy - np.minimum.accumulate(r.energy))))
        e_end.append(float(r.energy[-1]))
    net.record_every = saved
    return {"n_cues": len(cues), "success_rate": float(np.mean(success)),
            "max_relative_energy_rise": float(np.max(rises)),
            "max_relative_energy_rise_means": "largest one-step increase of E divided by max |E|",
            "max_energy_ascent": float(np.max(ascents)),
            "max_energy_ascent_means": "largest E(t) - min_{s<=t} E(s) over all runs (units of E)",
            "fraction_of_runs_with_energy_rise_above_1e-9": float(np.mean(np.array(rises) > 1e-9)),
            "mean_final_energy": float(np.mean(e_end))}
