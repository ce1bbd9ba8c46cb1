"""Kanji hierarchy model files: a ``[hierarchy]`` table (see ``models/kanji_hierarchy.toml``).

A model file of the three-layer kanji hierarchy (:mod:`hippo_dam.experiments.kanji_hierarchy`)
names the stored kanji, the part dictionary, each layer's Lagrangian
parameters, weights and time constants, one cue and the run; ``hippo-dam run``
builds the Brian2 network, completes the cue and writes netCDF + PNG. Tables::

    [model]       name, description
    [hierarchy]   kind = "kanji", set ("joyo" | "jis0208"), count
    [pixels]      tau                                  (identity Lagrangian, g = v)
    [parts]       patch, atoms, iterations, seed, beta, weight, tau   (grouped softmax per patch position)
    [characters]  beta, weight, tau                    (softmax)
    [cue]         character (one kanji) or target (index), visible, fraction, noise, seed
    [run]         dt, duration, record_every, codegen_target

Unknown tables or keys are an error naming them; times are strings ("20 ms").
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms, second

from ..core.populations import check_tau
from ..modelfile import parse_time, read_model_tables

__all__ = ["HierarchyModelFile", "load_hierarchy_model"]

_SCHEMA = {
    "model": {"name": str, "description": str, "kind": str},
    "hierarchy": {"kind": str, "set": str, "count": int},
    "pixels": {"tau": str},
    "parts": {"patch": int, "atoms": int, "iterations": int, "seed": int, "beta": float, "weight": float, "tau": str},
    "characters": {"beta": float, "weight": float, "tau": str},
    "cue": {"character": str, "target": int, "visible": str, "fraction": float, "noise": float, "seed": int},
    "run": {"dt": str, "duration": str, "record_every": str, "codegen_target": str},
}


@dataclass
class HierarchyModelFile:
    """A loaded kanji-hierarchy model: the network builder, the cue and the run settings."""

    path: str
    config: dict
    hierarchy: object
    characters: list
    cue: np.ndarray
    target: int
    duration: object
    record_every: object
    codegen_target: str

    @property
    def name(self):
        return self.config.get("model", {}).get("name", Path(self.path).stem)

    def networks(self):
        """The network the file runs (the hierarchy's), built and not run."""
        return [self.hierarchy.network(record_every=self.record_every, codegen_target=self.codegen_target)]

    def run(self, progress=None):
        """Complete the cue on Brian2; returns a RecallResult (every layer in ``extra``)."""
        self.hierarchy.check_cue(self.cue)  # pixel values in [-1, 1], before any Brian2 object is made
        net = self.hierarchy.network(record_every=self.record_every, codegen_target=self.codegen_target)
        result = net.recall(self.cue, duration=self.duration, layer="pixels", target=self.target,
                            progress=progress)
        result.attrs["model"] = self.name
        result.attrs["model_file"] = str(self.path)
        result.attrs["title"] = f"{self.name}: pixels - parts - characters"
        return result

    def cli_run(self, outdir, codegen_target=None, progress=None, start=None):
        """``hippo-dam run``: the completion to netCDF + PNG; prints the measured numbers."""
        start = time.perf_counter() if start is None else start  # when the command began
        if codegen_target:
            self.codegen_target = codegen_target
        result = self.run(progress=progress)
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        nc, png = out / f"{self.name}.nc", out / f"{self.name}.png"
        result.to_netcdf(nc)
        h = self.hierarchy
        top = result.extra["characters"]["final"]
        winner = int(np.argmax(top))
        completion = np.sign(result.extra["pixels"]["final"])
        wrong = int(np.sum(completion != h.patterns[self.target]))
        _plot(result, h, self.cue, self.target, self.characters, png)
        n, n_parts, k = h.sizes
        print(f"model            {self.name} ({self.path})")
        print(f"network          pixels {n} [{h.lagrangians[0]!r}], parts {h.n_positions} x {h.n_atoms} "
              f"[{h.lagrangians[1]!r}], characters {k} [{h.lagrangians[2]!r}]")
        print(f"synapses         {h.n_synapses['total']:,} nonzero weights ({h.n_synapses['pixels-parts']:,} "
              f"pixels-parts, {h.n_synapses['parts-characters']:,} parts-characters)")
        print(f"cue              {self.characters[self.target]} (index {self.target}), "
              f"{int(np.sum(self.cue == 0))} unknown pixels")
        print(f"identified       {self.characters[winner]} (index {winner}; "
              f"{'success' if winner == self.target else 'FAILED'})")
        print(f"pixels wrong     {wrong} of {n} (the parts' drawing of the glyph differs in "
              f"{int(np.sum(h.reconstruction()[self.target] != h.patterns[self.target]))})")
        print(f"energy           {result.energy[0]:.6g} -> {result.energy[-1]:.6g}  (drop {result.energy_drop:.6g})")
        print(f"wall time        {result.attrs['wall_time_s']:.2f} s simulation, "
              f"{time.perf_counter() - start:.2f} s in all")
        print(f"wrote            {nc}, {png}")
        return 0 if winner == self.target else 1


def _plot(result, h, cue, target, characters, path):
    from ..plotting import _figure_files as plt  # backend-free figures: the user's backend stays

    fig, axes = plt.subplots(1, 5, figsize=(15, 3.2), gridspec_kw={"width_ratios": [1, 1, 1, 1.6, 1.6]})
    for ax, img, title in zip(axes[:3], (cue, np.sign(result.extra["pixels"]["final"]), h.patterns[target]),
                              ("cue (grey = unknown)", "completion, sign(v)", "stored glyph")):
        ax.imshow(img.reshape(64, 64), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=title)
    t = result.t / second * 1e3
    f = h.lagrangians[2].activation(result.extra["characters"]["trace"])
    axes[3].plot(t, f[:, target], "C3", label=f"cued character (#{target})")
    axes[3].plot(t, np.delete(f, target, axis=1).max(1), "C0", label="largest other")
    axes[3].set(xlabel="time (ms)", ylabel="softmax rate", title="characters layer")
    axes[3].legend(fontsize=8)
    axes[4].plot(result.energy_t * 1e3, result.energy, "k")
    axes[4].set(xlabel="time (ms)", ylabel="E", title="energy")
    fig.suptitle(result.attrs["title"])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_hierarchy_model(path, cfg=None) -> HierarchyModelFile:
    """Load a ``[hierarchy]`` model file (see the module docstring)."""
    from .kanji_hierarchy import HIERARCHY_SETTINGS, KanjiHierarchy
    from ..data.patterns import KANJI_SETS, load_kanji, partial_cue

    path, cfg = read_model_tables(path, cfg, _SCHEMA, {"hierarchy": ("kind",)}, " for a kanji hierarchy model")
    hier, pix, parts, top, cue_cfg, run = (cfg.get(k, {}) for k in
                                           ("hierarchy", "pixels", "parts", "characters", "cue", "run"))
    if hier["kind"] != "kanji":
        raise ValueError(f"{path}: [hierarchy] kind must be 'kanji', got {hier['kind']!r}")
    kanji_set = hier.get("set", "joyo")
    if kanji_set not in KANJI_SETS:
        raise ValueError(f"{path}: [hierarchy] set must be one of {sorted(KANJI_SETS)}, got {kanji_set!r}")
    count = hier.get("count", None)
    if count is not None and count < 1:
        raise ValueError(f"{path}: [hierarchy] count must be >= 1, got {count}")
    settings = {}
    for table, section, keys in (("parts", parts, {"patch": "patch", "atoms": "n_atoms", "iterations": "iterations",
                                                    "seed": "dictionary_seed", "beta": "beta_parts",
                                                    "weight": "w_parts"}),
                                 ("characters", top, {"beta": "beta_chars", "weight": "w_chars"})):
        for key, name in keys.items():
            if key in section:
                settings[name] = section[key]
    # the times checked here, naming the file, table and key, before the kanji are loaded or a part learned
    taus = {}
    for table, section, name in (("pixels", pix, "tau_pixels_ms"), ("parts", parts, "tau_parts_ms"),
                                 ("characters", top, "tau_chars_ms")):
        tau = parse_time(section.get("tau", f"{HIERARCHY_SETTINGS[name]} ms"), f"{path}: [{table}] tau")
        taus[table] = check_tau(tau, f"{path}: [{table}] tau")
        if "tau" in section:
            settings[name] = float(tau / ms)
    dt = check_tau(parse_time(run.get("dt", f"{HIERARCHY_SETTINGS['dt_ms']} ms"), f"{path}: [run] dt"),
                   f"{path}: [run] dt")
    duration = parse_time(run.get("duration", f"{HIERARCHY_SETTINGS['duration_ms']} ms"), f"{path}: [run] duration")
    check_tau(duration, f"{path}: [run] duration")
    for table, tau in taus.items():
        if dt >= tau:
            raise ValueError(f"{path}: [run] dt = {dt} must be smaller than every layer's time constant; "
                             f"[{table}] tau = {tau}")
    record = run.get("record_every", "1 ms")
    record_every = None if record == "none" else check_tau(parse_time(record, f"{path}: [run] record_every"),
                                                           f"{path}: [run] record_every")
    settings["dt_ms"], settings["duration_ms"] = float(dt / ms), float(duration / ms)
    patterns, chars = load_kanji(kanji_set, count)
    hierarchy = KanjiHierarchy(patterns, settings)
    if "character" in cue_cfg and "target" in cue_cfg:
        raise ValueError(f"{path}: [cue] give either character or target, not both")
    if "character" in cue_cfg:
        if cue_cfg["character"] not in chars:
            raise ValueError(f"{path}: [cue] character {cue_cfg['character']!r} is not among the {len(chars)} "
                             f"stored kanji")
        target = chars.index(cue_cfg["character"])
    else:
        target = cue_cfg.get("target", 0)
        if not 0 <= target < len(patterns):
            raise ValueError(f"{path}: [cue] target {target} out of range for {len(patterns)} kanji")
    cue, _ = partial_cue(patterns[target], cue_cfg.get("visible", "top"), (64, 64), cue_cfg.get("fraction", 0.5),
                         cue_cfg.get("noise", 0.0), cue_cfg.get("seed", 0))
    return HierarchyModelFile(str(path), cfg, hierarchy, list(chars), cue, int(target), duration, record_every,
                              run.get("codegen_target", "cython"))
