"""Where results go: output folders and files, checked before anything is computed.

A run that computes for minutes and then fails to write (an output folder
under a regular file, a folder that cannot be created) loses what it
computed; these checks run first and name the path and the option it came
from. Brian2-free.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["output_dir", "output_file", "package_versions"]


def package_versions(*extra):
    """The versions every recorded result carries: hippo_dam, Brian2, numpy, Python (and the modules ``extra``)."""
    import importlib
    import platform

    from . import __version__

    names = ("brian2", "numpy", *extra)
    return {"hippo_dam": __version__, **{n: importlib.import_module(n).__version__ for n in names},
            "python": platform.python_version()}


def _first_existing(path):
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def output_dir(path, what="output folder", create=True):
    """Return ``path`` as a folder that exists (created where ``create``), or raise naming ``what``.

    Raises ``NotADirectoryError`` when ``path`` or one of its parents is a
    regular file, and ``PermissionError`` when the folder cannot be written.
    """
    path = Path(path)
    existing = _first_existing(path)
    if not existing.is_dir():
        where = "is a file" if existing == path else f"lies under {existing}, which is a file"
        raise NotADirectoryError(f"{what} {str(path)!r} {where}, not a folder")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PermissionError(f"{what} {str(path)!r} cannot be created ({err.strerror or err})") from None
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {str(path)!r} is not writable")
    return path


def output_file(path, what="output file", create_folder=False):
    """Return ``path`` as a file that can be written: its folder exists (or is created), it is not a folder.

    Raises ``FileNotFoundError`` naming the missing folder (``create_folder``
    False), ``NotADirectoryError`` / ``IsADirectoryError`` / ``PermissionError``
    otherwise, each naming ``what`` and the path.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} {str(path)!r} is a folder; give a file name (e.g. {path / 'result.nc'})")
    folder = path.parent
    if not folder.exists() and not create_folder:
        existing = _first_existing(folder)
        if existing.is_dir():
            raise FileNotFoundError(f"{what} {str(path)!r}: its folder {str(folder)!r} does not exist (create it "
                                    "first)")
    output_dir(folder, f"the folder of {what} {str(path)!r},", create=create_folder)
    return path
