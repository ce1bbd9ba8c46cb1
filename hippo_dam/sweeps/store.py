"""The sweep store: one JSON file per finished point (written atomically) and a manifest.

A store made by another sweep is refused; a corrupt point file or manifest is named, moved
to ``store/corrupt/`` and its points run again (nothing is deleted).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import tempfile
import warnings
from pathlib import Path

from .spec import _same_function


_FORMAT = 1


# -- the store ---------------------------------------------------------------------------
def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _function_record(function, name):
    record = {"function": name}
    if isinstance(function, functools.partial):
        record["bound_args"] = json.loads(json.dumps(
            {"args": list(function.args), "keywords": function.keywords}, default=repr, sort_keys=True))
    return record


def _open_store(store, fn_record, grid, seeds):
    store = Path(store)
    (store / "points").mkdir(parents=True, exist_ok=True)
    manifest_path = store / "manifest.json"
    manifest = {"format": _FORMAT, **fn_record, "grid": grid, "seeds": seeds}
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
            if not isinstance(old, dict):
                raise ValueError("it is not a table")
        except (ValueError, UnicodeDecodeError) as err:
            # Without its manifest nothing says which sweep the stored points belong to: they are moved
            # aside with it (nothing is deleted) and the sweep starts afresh in this store.
            aside = store / "corrupt" / f"store-{_dt.datetime.now():%Y%m%dT%H%M%S%f}"
            aside.mkdir(parents=True)
            os.replace(manifest_path, aside / "manifest.json")
            os.replace(store / "points", aside / "points")
            (store / "points").mkdir()
            warnings.warn(f"store {store}: manifest.json is corrupt ({err}); it and the stored points were moved "
                          f"to {aside}, and every point runs again", RuntimeWarning, stacklevel=2)
            return _open_store(store, fn_record, grid, seeds)
        if _same_function(old.get("function"), manifest["function"]):
            manifest["function"] = old["function"]  # as first recorded (a module path of an earlier release)
        for field_ in ("function", "bound_args", "grid"):
            if old.get(field_) != manifest.get(field_):
                raise ValueError(
                    f"store {store} belongs to a different sweep: its {field_} is {old.get(field_)!r}, this "
                    f"sweep's is {manifest.get(field_)!r}; use another store directory"
                )
        manifest["seeds"] = sorted(set(old.get("seeds", [])) | set(seeds))
        manifest["created"] = old.get("created")
    else:
        manifest["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    _write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
    return store


def _load_records(store, keys):
    """The stored records of ``keys``; a corrupt point file is named, moved aside and its point left to run."""
    records = {}
    for key in keys:
        path = store / "points" / f"{key}.json"
        if not path.exists():
            continue
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or record.get("key") != key:
                raise ValueError(f"its record is not the point {key}")
        except (ValueError, UnicodeDecodeError) as err:  # a truncated write, a disk error, a hand edit
            aside = store / "corrupt" / f"{path.name}.{_dt.datetime.now():%Y%m%dT%H%M%S%f}"
            aside.parent.mkdir(exist_ok=True)
            os.replace(path, aside)
            warnings.warn(f"store {store}: point file {path} is corrupt ({err}); moved to {aside}, and its point "
                          "runs again", RuntimeWarning, stacklevel=2)
            continue
        records[key] = record
    return records


def _batch_job_id():
    """Id of the batch job this process runs in (SLURM, PBS, LSF, SGE), or None."""
    for var in ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID"):
        if os.environ.get(var):
            return os.environ[var]
    return os.environ.get("JOB_ID") if os.environ.get("SGE_ROOT") else None
