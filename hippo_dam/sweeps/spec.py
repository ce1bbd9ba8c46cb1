"""A sweep's specification: the point function by import path, the grid, the seeds, point keys.

Everything here is checked before a point runs; messages name the grid parameter.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import math
import numbers
import pickle

import numpy as np

from ..modelfile import parse_quantity


# -- the function -----------------------------------------------------------------
def _function_name(function):
    """``'module:qualname'`` of an importable, picklable callable (or partial of one)."""
    base = function.func if isinstance(function, functools.partial) else function
    if not callable(base):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    module, qualname = getattr(base, "__module__", None), getattr(base, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        raise TypeError(
            f"function {module}.{qualname} cannot be imported by the Dask workers: a sweep runs a "
            "module-level function defined in an importable module (not a lambda, a nested "
            "function or one defined in __main__ or a notebook)"
        )
    try:
        obj = _lookup(module, qualname)
    except (ImportError, AttributeError) as err:
        raise TypeError(f"function {module}:{qualname} is not importable ({err})") from None
    if obj is not base:
        raise TypeError(f"{module}:{qualname} does not name the function passed (it was redefined?)")
    try:
        pickle.dumps(function)
    except Exception as err:  # noqa: BLE001 - any pickling failure means the same thing here
        raise TypeError(f"function {module}:{qualname} (with its bound arguments) is not picklable: {err}") from None
    return f"{module}:{qualname}"


def _lookup(module, qualname):
    """The object ``module.qualname`` (ImportError / AttributeError if there is none)."""
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _same_function(recorded, name):
    """Whether a store's recorded ``'module:qualname'`` names the same function as ``name``.

    True also where the recorded module path is one that a later release
    moved (``hippo_dam.sweep:recall_point`` is ``hippo_dam.sweeps.engine:recall_point``).
    """
    if recorded == name:
        return True
    if not isinstance(recorded, str) or recorded.count(":") != 1:
        return False
    try:
        return _lookup(*recorded.split(":")) is _lookup(*name.split(":"))
    except (ImportError, AttributeError):
        return False


def _import_function(spec):
    """``'package.module:name'`` -> the callable."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"function must be given as 'module:name', got {spec!r}")
    module, name = spec.split(":")
    try:
        obj = _lookup(module, name)
    except ImportError as err:
        hint = ("" if module.split(".")[0] == "hippo_dam" else
                ": a module of your own must be importable by this process and by every worker, e.g. run from "
                "the folder that holds it with PYTHONPATH=. (hippo-dam, unlike python -m, does not look in the "
                "current folder), or install it")
        raise ValueError(f"function {spec!r} cannot be imported ({err}){hint}") from None
    except AttributeError as err:
        raise ValueError(f"function {spec!r} cannot be imported ({err})") from None
    if not callable(obj):
        raise ValueError(f"function {spec!r} is not callable")
    return obj


def _plain(value, what):
    """A grid value as a plain Python bool/int/float/str."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"{what}: values must be finite, got {value}")
        return float(value)
    raise TypeError(f"{what}: values must be numbers or strings, got {value!r} ({type(value).__name__})")


def _check_grid(grid):
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict mapping parameter names to lists of values, got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid is empty: give at least one parameter with a list of values")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"grid parameter name {name!r} is not a valid identifier")
        if name == "seed":
            raise ValueError("'seed' is not a grid parameter: pass the seeds as seeds=[...]")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r}")
        values = [_plain(v, f"grid[{name!r}]") for v in values]
        if not values:
            raise ValueError(f"grid[{name!r}] is empty")
        if len({(type(v) is str) for v in values}) > 1:
            raise TypeError(f"grid[{name!r}] mixes strings and numbers: {values}")
        if len({(type(v) is bool) for v in values if type(v) is not str}) > 1:
            raise TypeError(f"grid[{name!r}] mixes booleans and numbers: {values} (a boolean is not a number)")
        if len({json.dumps(v) for v in values}) != len(values):
            raise ValueError(f"grid[{name!r}] has repeated values: {values}")
        out[name] = values
    return out


def _check_seeds(seeds):
    if isinstance(seeds, numbers.Integral):
        seeds = [seeds]
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of integers, got {seeds!r}")
    seeds = list(seeds)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds):
        raise TypeError(f"seeds must be integers, got {seeds!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds are repeated: {seeds}")
    return seeds


def _check_signature(function, grid, name):
    try:
        sig = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(seed=0, **{k: v[0] for k, v in grid.items()})
    except TypeError as err:
        raise ValueError(f"{name} cannot be called as function(seed=..., {', '.join(grid)}=...): {err}") from None


def _point_key(params, seed):
    text = json.dumps({"params": params, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _check_attrs(attrs):
    out = {}
    for key, value in (attrs or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"attrs keys must be strings, got {key!r}")
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = value if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            else json.dumps(value, default=repr)
    return out


def _check_quantities(quantities, grid):
    quantities = dict(quantities or {})
    for name, unit in quantities.items():
        if name not in grid:
            raise ValueError(f"quantities[{name!r}]: not a grid parameter (grid: {sorted(grid)})")
        parse_quantity(f"1 {unit}", f"quantities[{name!r}]")  # a known unit
        if any(isinstance(v, (bool, str)) for v in grid[name]):
            raise TypeError(f"grid[{name!r}] holds numbers in {unit}, got {grid[name]}")
    return quantities


def _check_units(units, grid):
    units = dict(units or {})
    for key, value in units.items():
        if not isinstance(value, str):
            raise TypeError(f"units[{key!r}] must be a string such as 'ms' or '1', got {value!r}")
    return units


# -- the sweep -----------------------------------------------------------------------------
