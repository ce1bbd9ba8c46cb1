"""EC-II -> DG -> CA3 built from components: python docs/examples/ec_dg_ca3.py [outdir]."""
import json
import sys
from pathlib import Path

import numpy as np
from brian2 import ms

import hippo_dam as hd

K, N, N_DG = 12, 100, 400
xi = hd.random_patterns(K, N, seed=1)                          # EC-II patterns, one CA3 memory cell each
rng = np.random.default_rng(2)
W_pp = (rng.random((N_DG, N)) < 0.1) * rng.normal(0, 1, (N_DG, N))     # perforant path EC-II -> DG, sparse
dg_code = np.maximum(xi @ W_pp.T, 0)                           # each pattern's DG code (K, N_DG)
W_mf = 2 * dg_code / np.linalg.norm(dg_code, axis=1, keepdims=True)    # mossy fibres DG -> CA3 (Hebbian)


def ec_dg_ca3(batch=1, mossy=True):
    """The circuit's components for ``batch`` cues; ``mossy=False`` cuts the DG -> CA3 path."""
    ec = hd.Population("EC_II", N, "tanh", 20 * ms, "x", "a", "EC-II", batch=batch, clampable=True)
    dg = hd.Population("DG", N_DG, hd.rectified_power(2), 10 * ms, "x", "a", "DG", batch=batch,
                       energy_term=False)                          # a relay: no term of the energy
    ca3 = hd.InhibitedPopulation("CA3", K, hd.log_sum_exp(0.2), 20 * ms, "x", "a", "CA3", batch=batch)
    return [ec, dg, ca3,
            hd.SymmetricProjection(ec, ca3, xi, name="EC_CA3"),     # the energy's coupling term
            hd.Projection(ec, dg, W_pp, name="perforant"),           # one way
            hd.Projection(dg, ca3, W_mf * mossy, name="mossy"),      # one way
            hd.InterneuronPool("CA3_basket", ca3, n=10, tau=2 * ms, region="CA3")]


cues = np.array([hd.flip_cue(xi[k], 0.4, seed=k)[0] for k in range(K)])   # 40% of the bits flipped
out = {"n_cues": K, "flipped": 0.4,
       "feedforward_success": float(np.mean(np.argmax(cues @ xi.T, axis=1) == np.arange(K)))}
for label, mossy in (("with_DG", True), ("DG_cut", False)):
    net = hd.GraphMemory.from_components(lambda batch: ec_dg_ca3(batch, mossy), patterns={"EC_II": xi},
                                         energy="offline")           # the pool lags: E evaluated offline
    result = net.recall(cues, layer="EC_II", duration=100 * ms, target=np.arange(K))
    print(label, result.summary())
    out[label] = {"success": float(np.mean(result.quality.success)),
                  "mean_hamming": float(np.mean(result.quality.hamming)),
                  "energy_start": float(np.mean(result.energy[:, 0])),
                  "energy_end": float(np.mean(result.energy[:, -1])),
                  "largest_step_rise": float(np.max(np.diff(result.energy, axis=1))),
                  "rise_after_minimum": float(np.mean(result.energy[:, -1] - result.energy.min(axis=1)))}
    if mossy:
        outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples")
        result[0].plot(outdir / "ec_dg_ca3.png")
(outdir / "ec_dg_ca3.json").write_text(json.dumps(out, indent=1) + "\n")
