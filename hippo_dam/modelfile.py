"""Declarative model files (TOML): populations, Lagrangians, patterns, cue, run.

A model file has the tables ``[model]``, ``[features]``, ``[memories]``,
``[patterns]``, ``[cue]`` and ``[run]``; quantities with units are strings
such as ``"20 ms"``. Unknown tables or keys are an error, so a typo never
silently falls back to a default. See ``models/model_b.toml``.
"""
from __future__ import annotations

import importlib

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms, second, usecond

from .core.lagrangians import make_lagrangian
from .networks.two_layer import DenseAssociativeMemory, check_cue_input
from .data.patterns import correlated_patterns, flip_cue, occlusion_cue, random_mask_cue, random_patterns

__all__ = ["ModelFile", "load_model", "load_two_layer_model", "register_model_kind", "MODEL_KINDS", "find_model",
           "shipped_models", "parse_time", "parse_rate"]

_SCHEMA = {
    "model": {"name": str, "description": str, "kind": str},
    "features": {"n": int, "lagrangian": (str, dict), "tau": str, "region": str},
    "memories": {"lagrangian": (str, dict), "tau": str, "region": str},
    "patterns": {"kind": str, "count": int, "overlap": float, "seed": int},
    "cue": {"kind": str, "target": int, "fraction": float, "visible": str, "cue_input": float, "seed": int},
    "run": {"duration": str, "dt": str, "record_every": str, "codegen_target": str, "tolerance": int,
            "coupling": str, "dtype": str, "openmp_threads": int},
    # hippocampal circuits (hippo_dam.circuits, hippo_dam.circuits.spiking); absent: the plain two-layer network
    "circuit": {"kind": str, "interneuron_tau": str, "n_interneurons": int, "max_rate": str, "relay_tau": str,
                "relay_gain": float, "direct_fraction": float, "relay_weight_noise": float, "seed": int,
                "copies": int, "tau_syn": str},
}
_CIRCUIT_KEYS = {
    "ca3": {"kind", "interneuron_tau", "n_interneurons", "max_rate"},
    "ca3_spiking": {"kind", "max_rate", "copies", "tau_syn", "seed"},
    "ec_ca1": {"kind", "relay_tau", "relay_gain", "direct_fraction", "relay_weight_noise", "seed", "max_rate"},
}
_REQUIRED = {"features": ("n", "lagrangian", "tau"), "memories": ("lagrangian", "tau"), "patterns": ("count",)}
_UNITS = {"s": second, "second": second, "ms": ms, "msecond": ms, "us": usecond, "usecond": usecond}


_NUMBER_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z]+)\s*")


def _rate_units():
    from brian2 import Hz, kHz

    return {"Hz": Hz, "hertz": Hz, "kHz": kHz}


def quantity_unit(text):
    """The unit name of a number-and-unit string (``'60 ms'`` -> ``'ms'``), or None for anything else.

    The unit may be unknown (``'3 parsecs'`` -> ``'parsecs'``): :func:`parse_quantity` says which are known.
    """
    match = _NUMBER_UNIT.fullmatch(text) if isinstance(text, str) else None
    return match.group(2) if match else None


def is_quantity_text(value):
    """True for a string such as ``'60 ms'`` or ``'20 Hz'`` (a number and a known unit)."""
    if not isinstance(value, str):
        return False
    match = _NUMBER_UNIT.fullmatch(value)
    return bool(match) and (match.group(2) in _UNITS or match.group(2) in _rate_units())


def parse_quantity(text, what="quantity"):
    """``'60 ms'`` -> ``60*ms``, ``'20 Hz'`` -> ``20*Hz``: the one unit convention of model and sweep files.

    Units: s, ms, us (and second, msecond, usecond); Hz, kHz (and hertz).
    Raises ValueError naming ``what`` otherwise.
    """
    units = {**_UNITS, **_rate_units()}
    match = _NUMBER_UNIT.fullmatch(str(text)) if not isinstance(text, bool) else None
    if not match or match.group(2) not in units:
        raise ValueError(f"{what}: expected a number and a unit such as '60 ms' or '20 Hz', got {text!r} "
                         f"(units: {sorted(units)})")
    return float(match.group(1)) * units[match.group(2)]


def parse_rate(text, what="rate"):
    """``'20 Hz'`` -> ``20*Hz``; raises ValueError naming ``what`` otherwise."""
    match = _NUMBER_UNIT.fullmatch(str(text))
    units = _rate_units()
    if not match or match.group(2) not in units:
        raise ValueError(f"{what}: expected a rate such as '20 Hz', got {text!r} (units: {sorted(units)})")
    return float(match.group(1)) * units[match.group(2)]


def parse_time(text, what="time"):
    """``'20 ms'`` -> ``20*ms``; raises ValueError naming ``what`` otherwise."""
    match = _NUMBER_UNIT.fullmatch(str(text))
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

    def networks(self):
        """The network the file runs (built by the one runner when it runs)."""
        return [self.network]

    def run(self, progress=None):
        """Recall the configured cue; returns a RecallResult."""
        result = self.network.recall(self.cue, self.known, duration=self.duration, target=self.target,
                                     cue_input=self.cue_input, tolerance=self.tolerance, progress=progress)
        result.attrs["model"] = self.name
        result.attrs["model_file"] = str(self.path)
        circuit = f" ({result.attrs['circuit']})" if "circuit" in result.attrs else ""
        result.attrs["title"] = (f"{self.name}{circuit}: {self.network.feature_lagrangian!r} / "
                                 f"{self.network.memory_lagrangian!r}")
        return result

    def cli_run(self, outdir, codegen_target=None, progress=None, start=None):
        """``hippo-dam run``: the recall to netCDF + PNG in ``outdir``; prints the measured numbers.

        ``start``: ``time.perf_counter()`` when the command began (its loading counts in "in all").
        Returns the exit status: 0 when the target was retrieved, 1 otherwise.
        """
        import time

        start = time.perf_counter() if start is None else start
        if codegen_target:
            self.network.codegen_target = codegen_target
        result = self.run(progress=progress)
        total = time.perf_counter() - start
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        nc, png = out / f"{self.name}.nc", out / f"{self.name}.png"
        result.to_netcdf(nc)
        if "circuit" in result.attrs:  # activity by region
            from .plotting import plot_circuit_result

            plot_circuit_result(result, png)
        else:
            result.plot(png)
        q, net = result.quality, self.network
        print(f"model            {self.name} ({self.path})")
        print(f"network          N_f={net.n_features} features [{net.feature_lagrangian!r}], "
              f"N_h={net.n_memories} memories [{net.memory_lagrangian!r}], codegen {net.codegen_target}")
        if "circuit" in result.attrs:
            regions = [net.feature_region, net.memory_region] + [p["region"] for p in result.extra.values()]
            print(f"circuit          {result.attrs['circuit']}; regions {', '.join(dict.fromkeys(regions))}")
        print(f"cue              {int((~self.known).sum())} unknown entries, target pattern {int(q.target)}")
        print(f"retrieved index  {int(q.retrieved)}  ({'success' if q.success else 'FAILED'}, "
              f"Hamming {int(q.hamming)})")
        print(f"final overlap    {float(q.target_overlap):.4f}")
        print(f"energy           {result.energy[0]:.6g} -> {result.energy[-1]:.6g}  "
              f"(drop {result.energy_drop:.6g})")
        print(f"wall time        {result.attrs['wall_time_s']:.2f} s simulation, {total:.2f} s in all")
        print(f"wrote            {nc}, {png}")
        return 0 if q.success else 1


def _validate(cfg, path, schema=None, required=None, kind=""):
    """Check a model file's tables against a schema (default: the two-layer model's): every key used or refused."""
    schema = _SCHEMA if schema is None else schema
    required = _REQUIRED if required is None else required
    unknown = set(cfg) - set(schema)
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {sorted(unknown)}{kind}; allowed: {sorted(schema)}")
    for table, keys in schema.items():
        section = cfg.get(table, {})
        if not isinstance(section, dict):
            raise ValueError(f"{path}: [{table}] must be a table")
        bad = set(section) - set(keys)
        if bad:
            raise ValueError(f"{path}: unknown key(s) {sorted(bad)} in [{table}]; allowed: {sorted(keys)}")
        for key, kind in keys.items():
            if key in section and isinstance(section[key], bool):  # TOML true/false is not a number
                raise ValueError(f"{path}: [{table}] {key} = {str(section[key]).lower()} is a boolean; "
                                 f"expected {getattr(kind, '__name__', 'a string or table')}")
            if key in section and not isinstance(section[key], kind if kind is not float else (int, float)):
                raise ValueError(f"{path}: [{table}] {key} = {section[key]!r} has the wrong type")
        for key in required.get(table, ()):
            if key not in section:
                raise ValueError(f"{path}: [{table}] needs the key {key!r}")


def read_model_tables(path, cfg=None, schema=None, required=None, kind=""):
    """``(Path(path), tables)`` of a model file: read from ``path`` unless ``cfg`` is given, every key checked.

    ``schema`` maps each table to its allowed keys and ``required`` to its
    required ones; ``kind`` ends the error messages (``" for a place_cells model"``).
    """
    path = Path(path)
    if cfg is None:
        cfg = read_toml(path)
    _validate(cfg, path, schema, required, kind)
    return path, cfg


def read_toml(path):
    """The tables of a TOML file; ``ValueError`` naming the file if it is not valid TOML."""
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML ({err})") from None


def _model_dirs():
    """Where the shipped model files are: package data of a built package, or models/ of a checkout."""
    here = Path(__file__).resolve().parent
    dirs = [here / "models"]
    if (here.parent / "setup.cfg").is_file():  # a source checkout or an editable install
        dirs.append(here.parent / "models")
    return [d for d in dirs if d.is_dir()]


def shipped_models():
    """``{name: path}`` of the model files shipped with the package (``model_b``, ``ca3``...)."""
    found = {}
    for directory in _model_dirs():
        for path in sorted(directory.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def find_model(model):
    """Path of a model file: an existing file, else a shipped model by name.

    ``model`` may be a path (``'my_model.toml'``), a shipped model's name
    (``'model_b'``) or the path it has in the repository (``'models/model_b.toml'``),
    which therefore also works from an installed package outside the repository.
    Raises ``FileNotFoundError`` listing the shipped models otherwise.
    """
    path = Path(model)
    if path.is_file():
        return path
    if path.suffix in ("", ".toml") and path.parent in (Path("."), Path("models")):
        shipped = shipped_models()
        if path.stem in shipped:
            return shipped[path.stem]
    raise FileNotFoundError(f"no model file {str(model)!r}; shipped models: {sorted(shipped_models())}")


#: ``[model] kind`` -> the loader of that kind of model file, by import path (imported when a file of
#: that kind is loaded): ``loader(path, cfg) -> model`` whose ``run()`` returns a result and whose
#: ``cli_run(outdir, codegen_target, progress)`` is ``hippo-dam run``. :func:`register_model_kind` adds one.
MODEL_KINDS = {
    "two_layer": "hippo_dam.modelfile:load_two_layer_model",  # models A/B/C and the [circuit] kinds below
    "place_cells": "hippo_dam.circuits.place_loader:load_place_model",
    "kanji_hierarchy": "hippo_dam.experiments.kanji_hierarchy_loader:load_hierarchy_model",
    "place_darkness": "hippo_dam.experiments.darkness_loader:load_darkness_model",
    "place_shared_map": "hippo_dam.experiments.shared_map_loader:load_shared_map_model",
    "place_theta": "hippo_dam.experiments.place_theta_loader:load_place_theta_model",
}


def register_model_kind(kind, loader):
    """Make ``[model] kind = "KIND"`` files load with ``loader`` (``"package.module:function"``)."""
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"a model kind is an identifier, got {kind!r}")
    if not isinstance(loader, str) or loader.count(":") != 1:
        raise ValueError(f"loader must be an import path 'package.module:function', got {loader!r}")
    MODEL_KINDS[kind] = loader


def model_kind(cfg, path):
    """The ``[model] kind`` of a file; files written before the key existed are recognised by their tables."""
    model = cfg.get("model", {})
    kind = model.get("kind") if isinstance(model, dict) else None
    if kind is None:  # an older file: its tables say what it is
        circuit = cfg.get("circuit")
        if isinstance(circuit, dict) and circuit.get("kind") == "place_cells":
            return "place_cells"
        if "darkness" in cfg:
            return "place_darkness"
        if "shared_map" in cfg:
            return "place_shared_map"
        if "place_theta" in cfg:
            return "place_theta"
        return "kanji_hierarchy" if "hierarchy" in cfg else "two_layer"
    if kind not in MODEL_KINDS:
        import difflib

        close = difflib.get_close_matches(str(kind), list(MODEL_KINDS), n=1)
        raise ValueError(f"{path}: [model] kind {kind!r} is not a model kind"
                         + (f" (did you mean {close[0]!r}?)" if close else "") + f"; known: {sorted(MODEL_KINDS)}")
    return kind


def load_model(path):
    """Load a model file and build its network (one call).

    ``path`` is a file, or the name of a shipped model (see :func:`find_model`).
    The file's ``[model] kind`` picks its loader (:data:`MODEL_KINDS`).
    Raises ``ValueError`` naming the file, table and key for unknown keys,
    unknown Lagrangians, bad units or impossible values.
    """
    path = find_model(path)
    cfg = read_toml(path)
    kind = model_kind(cfg, path)
    module, function = MODEL_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), function)(path, cfg)


def load_two_layer_model(path, cfg=None) -> ModelFile:
    """Load a ``kind = "two_layer"`` model file: models A/B/C or a hippocampal ``[circuit]`` (CA3, EC-CA1)."""
    path = Path(path)
    cfg = read_toml(path) if cfg is None else cfg
    circuit = cfg.get("circuit")
    if isinstance(circuit, dict) and "kind" in circuit and circuit["kind"] not in _CIRCUIT_KEYS:
        import difflib  # a misspelt kind: name it, not the tables it would have allowed

        known = sorted((*_CIRCUIT_KEYS, "place_cells"))
        close = difflib.get_close_matches(str(circuit["kind"]), known, n=1)
        raise ValueError(f"{path}: [circuit] kind {circuit['kind']!r} is not a circuit"
                         + (f" (did you mean {close[0]!r}?)" if close else "") + f"; known kinds: {known}"
                         + ("" if circuit["kind"] != "place_cells" else
                            " (a place-cell model is [model] kind = \"place_cells\")"))
    _validate(cfg, path)
    try:
        return _two_layer_model(cfg, path)
    except (ValueError, TypeError) as err:  # raised by the network's own checks: say where in the file
        raise type(err)(_in_file(path, err)) from None


#: parameter names of the network's own messages -> where a model file sets them
_KEYS_OF_PARAMETERS = {"tau_f": "[features] tau", "tau_h": "[memories] tau", "dt": "[run] dt",
                       "duration": "[run] duration", "record_every": "[run] record_every",
                       "codegen_target": "[run] codegen_target", "flip fraction": "[cue] fraction",
                       "cue_input": "[cue] cue_input", "coupling": "[run] coupling", "dtype": "[run] dtype",
                       "openmp_threads": "[run] openmp_threads"}


def _in_file(path, err):
    """``err``'s message starting with the file, and with the table and key of a parameter it names first."""
    message = str(err)
    if message.startswith(str(path)):
        return message
    for name, key in _KEYS_OF_PARAMETERS.items():
        if message.startswith(name) and not message[len(name):len(name) + 1].isalnum():
            also = "" if key.endswith(" " + name) else f" ({name})"
            message = f"{key}{also}{message[len(name):]}"
            break
    return f"{path}: {message}"


def _two_layer_model(cfg, path):
    """The ModelFile of a two-layer network or hippocampal circuit (tables already validated)."""
    feat, mem, pat = cfg["features"], cfg["memories"], cfg["patterns"]
    cue_cfg, run = cfg.get("cue", {}), cfg.get("run", {})
    for table, key, least in (("features", "n", 1), ("patterns", "count", 1), ("patterns", "seed", 0),
                              ("cue", "seed", 0), ("cue", "target", 0)):
        value = cfg.get(table, {}).get(key, least)
        if value < least:
            raise ValueError(f"{path}: [{table}] {key} must be >= {least}, got {value}")
    check_cue_input(cue_cfg.get("cue_input", 0.0))  # the recall's own check, at load (named by _in_file)

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
    if "circuit" in cfg:
        network = _build_circuit(cfg, path, patterns, feat, mem, run, record)
    else:
        network = _two_layer(patterns, feat, mem, run, record)
    duration = parse_time(run.get("duration", "100 ms"), "[run] duration")
    if not duration > 0 * second:
        raise ValueError(f"{path}: [run] duration must be > 0, got {run['duration']!r}")
    return ModelFile(str(path), cfg, network, patterns, cue, known, target, duration,
                     cue_cfg.get("cue_input", 0.0), run.get("tolerance", 0))


def _common(feat, mem, run, record):
    return dict(tau_f=parse_time(feat["tau"], "[features] tau"), tau_h=parse_time(mem["tau"], "[memories] tau"),
                dt=parse_time(run.get("dt", "0.1 ms"), "[run] dt"),
                record_every=None if record == "none" else parse_time(record, "[run] record_every"),
                codegen_target=run.get("codegen_target", "cython"))


def _build_circuit(cfg, path, patterns, feat, mem, run, record):
    """A CA3 circuit, its spiking variant or the EC-CA1 loop from the [circuit] table."""
    from .circuits.hippocampus import CA3Circuit, ECCA1Loop
    from .circuits.spiking import SpikingCA3

    circ = cfg["circuit"]
    kind = circ.get("kind")
    if kind not in _CIRCUIT_KEYS:
        raise ValueError(f"{path}: [circuit] kind must be one of {sorted(_CIRCUIT_KEYS)}, got {kind!r}")
    bad = set(circ) - _CIRCUIT_KEYS[kind]
    if bad:
        raise ValueError(f"{path}: [circuit] key(s) {sorted(bad)} do not apply to kind {kind!r}; "
                         f"allowed: {sorted(_CIRCUIT_KEYS[kind])}")
    ignored = sorted({"coupling", "dtype", "openmp_threads"} & set(run))
    if ignored:  # the circuits build their own projections (float64, one Synapses/dense path each)
        raise ValueError(f"{path}: [run] key(s) {ignored} do not apply to a circuit ({kind!r}); remove them")
    for table, section in (("features", feat), ("memories", mem)):
        if "region" in section:
            raise ValueError(f"{path}: [{table}] region is fixed by the circuit {kind!r}; remove it")
    common = _common(feat, mem, run, record)
    extra = {}
    if "max_rate" in circ:
        extra["max_rate"] = parse_rate(circ["max_rate"], "[circuit] max_rate")
    lv, lh = _lagrangian(feat, "features"), _lagrangian(mem, "memories")
    if kind in ("ca3", "ca3_spiking"):
        if lh.name != "log_sum_exp":
            raise ValueError(f"{path}: a CA3 circuit's interneurons realise a softmax: [memories] lagrangian "
                             f"must be log_sum_exp, got {lh!r}")
        if kind == "ca3":
            tau_i = circ.get("interneuron_tau", "fast")
            extra["interneuron_tau"] = None if tau_i == "fast" else parse_time(tau_i, "[circuit] interneuron_tau")
            if "n_interneurons" in circ:
                extra["n_interneurons"] = circ["n_interneurons"]
            return CA3Circuit(patterns, lv, beta=lh.params["beta"], **common, **extra)
        if "copies" in circ:
            extra["copies"] = circ["copies"]
        if "tau_syn" in circ:
            extra["tau_syn"] = parse_time(circ["tau_syn"], "[circuit] tau_syn")
        return SpikingCA3(patterns, feature_lagrangian=lv, beta=lh.params["beta"], seed=circ.get("seed", 0),
                          **common, **extra)
    if "relay_tau" in circ:
        extra["relay_tau"] = parse_time(circ["relay_tau"], "[circuit] relay_tau")
    for key in ("relay_gain", "direct_fraction"):
        if key in circ:
            extra[key] = float(circ[key])
    noise = float(circ.get("relay_weight_noise", 0.0))
    if noise:
        rng = np.random.default_rng(circ.get("seed", 0))
        extra["relay_weights"] = patterns.T + noise * rng.normal(size=patterns.T.shape)
    return ECCA1Loop(patterns, lv, lh, **common, **extra)


def _lagrangian(section, table):
    """``make_lagrangian`` of a table's ``lagrangian`` key, its errors naming the table and key."""
    try:
        return make_lagrangian(section["lagrangian"])
    except (ValueError, TypeError) as err:
        raise type(err)(f"[{table}] lagrangian: {err}") from None


def _two_layer(patterns, feat, mem, run, record):
    return DenseAssociativeMemory(
        patterns,
        _lagrangian(feat, "features"),
        _lagrangian(mem, "memories"),
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
