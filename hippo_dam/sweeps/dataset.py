"""A sweep's points gathered into one :class:`xarray.Dataset` (a dimension per grid parameter and
``seed``; failed points NaN, their errors in ``error``).
"""
from __future__ import annotations

import json

import numpy as np

from ..outputs import package_versions


# -- assembling the dataset ----------------------------------------------------------------
def _assemble(grid, seeds, points, records, units, attrs):
    import xarray as xr

    dims = list(grid) + ["seed"]
    shape = tuple(len(v) for v in grid.values()) + (len(seeds),)
    index = {name: {json.dumps(v): i for i, v in enumerate(values)} for name, values in grid.items()}
    seed_index = {s: i for i, s in enumerate(seeds)}
    where = {key: tuple(index[n][json.dumps(p[n])] for n in grid) + (seed_index[s],) for key, (p, s) in points.items()}

    kinds, shapes = {}, {}
    for key, rec in records.items():
        if rec.get("status") != "ok":
            continue
        for name, value in rec["result"].items():
            kind = value["dtype"] if isinstance(value, dict) else \
                ("b" if isinstance(value, bool) else "i" if isinstance(value, int) else "f")
            kinds.setdefault(name, set()).add(kind)
            vshape = tuple(value["shape"]) if isinstance(value, dict) else ()
            if shapes.setdefault(name, vshape) != vshape:
                raise ValueError(f"variable {name!r} changes shape between points: {shapes[name]} vs {vshape} "
                                 f"(point {rec['params']}, seed {rec['seed']})")
    complete = all(records.get(k, {}).get("status") == "ok" and set(records[k]["result"]) == set(kinds)
                   for k in points)
    data_vars = {}
    for name, kset in kinds.items():
        dtype = {"b": bool, "i": np.int64, "u": np.int64}.get(next(iter(kset))) if len(kset) == 1 and complete \
            else np.float64
        dtype = dtype or np.float64
        arr = np.full(shape + shapes[name], np.nan if dtype is np.float64 else 0, dtype=dtype)
        for key, rec in records.items():
            if rec.get("status") == "ok" and name in rec["result"]:
                value = rec["result"][name]
                arr[where[key]] = np.reshape(value["data"], value["shape"]) if isinstance(value, dict) else value
        extra = [f"{name}_dim{k}" for k in range(len(shapes[name]))]
        data_vars[name] = (dims + extra, arr, {"units": units.get(name, "1")})
    error = np.full(shape, "", dtype=object)
    wall = np.full(shape, np.nan)
    for key, rec in records.items():
        error[where[key]] = rec.get("error", "") if rec.get("status") != "ok" else ""
        wall[where[key]] = rec.get("wall_time_s", np.nan)
    for key in points:
        if key not in records:
            error[where[key]] = "not run"
    data_vars["error"] = (dims, error.astype(str), {"description": "exception of a failed point, '' if it succeeded"})
    data_vars["point_wall_time_s"] = (dims, wall, {"units": "s", "description": "wall time of the point function"})
    coords = {name: (name, np.asarray(values), {"units": units.get(name, "1")}) for name, values in grid.items()}
    coords["seed"] = ("seed", np.asarray(seeds, dtype=np.int64), {"units": "1"})
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _versions():
    return package_versions("dask", "distributed")
