"""Declarative model files (TOML): populations, Lagrangians, patterns, cue, run.

A model file has the tables ``[model]``, ``[features]``, ``[memories]``,
``[patterns]``, ``[cue]`` and ``[run]``; quantities with units are strings
such as ``"20 ms"``. Unknown tables or keys are an error, so a typo never
silently falls back to a default. See ``models/model_b.toml``.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms, second, usecond

from .lagrangians import make_lagrangian
from .network import DenseAssociativeMemory
from .patterns import correlated_patterns, flip_cue, occlusion_cue, random_mask_cue, random_patterns

__all__ = ["ModelFile", "load_model", "parse_time"]

_SCHEMA = {
    "model": {"name": str, "description": str},
    "features": {"n": int, "lagrangian": (str, dict), "tau": str, "region": str},
    "memories": {"lagrangian": (str, dict), "tau": str, "region": str},
    "patterns": {"kind": str, "count": int, "overlap": float, "seed": int},
    "cue": {"kind": str, "target": int, "fraction": float, "visible": str, "cue_input": float, "seed": int},
    "run": {"duration": str, "dt": str, "record_every": str, "codegen_target": str, "tolerance": int,
            "coupling": str, "dtype": str, "openmp_threads": int},
}
_REQUIRED = {"features": ("n", "lagrangian", "tau"), "memories": ("lagrangian", "tau"), "patterns": ("count",)}
_UNITS = {"s": second, "second": second, "ms": ms, "msecond": ms, "us": usecond, "usecond": usecond}


def parse_time(text, what="time"):
    """``'20 ms'`` -> ``20*ms``; raises ValueError naming ``what`` otherwise."""
    match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*\*?\s*([a-z]+)\s*", str(text))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"{what}: expected a time such as '20 ms', got {text!r} (units: {sorted(_UNITS)})")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class ModelFile:
    """A loaded model file: the network, its patterns and cue, and run settings."""

    path: str
    config: dict
    network: DenseAssociativeMemory
    patterns: np.ndarray
    cue: np.ndarray
    known: np.ndarray
    target: int
    duration: object
    cue_input: float = 0.0
    tolerance: int = 0

    @property
    def name(self):
        return self.config.get("model", {}).get("name", Path(self.path).stem)

    def run(self, progress=None):
        """Recall the configured cue; returns a RecallResult."""
        result = self.network.recall(self.cue, self.known, duration=self.duration, target=self.target,
                                     cue_input=self.cue_input, tolerance=self.tolerance, progress=progress)
        result.attrs["model"] = self.name
        result.attrs["model_file"] = str(self.path)
        result.attrs["title"] = f"{self.name}: {self.network.feature_lagrangian!r} / {self.network.memory_lagrangian!r}"
        return result


def _validate(cfg, path):
    unknown = set(cfg) - set(_SCHEMA)
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {sorted(unknown)}; allowed: {sorted(_SCHEMA)}")
    for table, keys in _SCHEMA.items():
        section = cfg.get(table, {})
        if not isinstance(section, dict):
            raise ValueError(f"{path}: [{table}] must be a table")
        bad = set(section) - set(keys)
        if bad:
            raise ValueError(f"{path}: unknown key(s) {sorted(bad)} in [{table}]; allowed: {sorted(keys)}")
        for key, kind in keys.items():
            if key in section and not isinstance(section[key], kind if kind is not float else (int, float)):
                raise ValueError(f"{path}: [{table}] {key} = {section[key]!r} has the wrong type")
        for key in _REQUIRED.get(table, ()):
            if key not in section:
                raise ValueError(f"{path}: [{table}] needs the key {key!r}")


def load_model(path) -> ModelFile:
    """Load a model file and build its network (one call).

    Raises ``ValueError`` naming the table and key for unknown keys, unknown
    Lagrangians, bad units or impossible values.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        try:
            cfg = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML ({err})") from None
    _validate(cfg, path)
    feat, mem, pat = cfg["features"], cfg["memories"], cfg["patterns"]
    cue_cfg, run = cfg.get("cue", {}), cfg.get("run", {})

    kind = pat.get("kind", "random")
    if kind == "random":
        patterns = random_patterns(pat["count"], feat["n"], seed=pat.get("seed", 0))
    elif kind == "correlated":
        patterns = correlated_patterns(pat["count"], feat["n"], pat.get("overlap", 0.2), seed=pat.get("seed", 0))
    else:
        raise ValueError(f"{path}: [patterns] kind must be 'random' or 'correlated', got {kind!r}")

    target = cue_cfg.get("target", 0)
    if not 0 <= target < len(patterns):
        raise ValueError(f"{path}: [cue] target {target} out of range for {len(patterns)} patterns")
    ckind, frac, seed = cue_cfg.get("kind", "flip"), cue_cfg.get("fraction", 0.2), cue_cfg.get("seed", 1)
    if ckind == "flip":
        cue, known = flip_cue(patterns[target], frac, seed=seed)
    elif ckind == "occlude":
        cue, known = occlusion_cue(patterns[target], cue_cfg.get("visible", "first"), frac)
    elif ckind == "random_mask":
        cue, known = random_mask_cue(patterns[target], frac, seed=seed)
    else:
        raise ValueError(f"{path}: [cue] kind must be 'flip', 'occlude' or 'random_mask', got {ckind!r}")

    record = run.get("record_every", "0.5 ms")
    network = DenseAssociativeMemory(
        patterns,
        make_lagrangian(feat["lagrangian"]),
        make_lagrangian(mem["lagrangian"]),
        tau_f=parse_time(feat["tau"], "[features] tau"),
        tau_h=parse_time(mem["tau"], "[memories] tau"),
        dt=parse_time(run.get("dt", "0.1 ms"), "[run] dt"),
        record_every=None if record == "none" else parse_time(record, "[run] record_every"),
        codegen_target=run.get("codegen_target", "cython"),
        coupling=run.get("coupling", "dense"),
        dtype=run.get("dtype", "float64"),
        openmp_threads=run.get("openmp_threads", 0),
        feature_region=feat.get("region"),
        memory_region=mem.get("region"),
    )
    return ModelFile(str(path), cfg, network, patterns, cue, known, target,
                     parse_time(run.get("duration", "100 ms"), "[run] duration"),
                     cue_cfg.get("cue_input", 0.0), run.get("tolerance", 0))
