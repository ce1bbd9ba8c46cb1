"""The code generation targets a network runs on (Brian2-free, so the command line can list them).

==================  =====================================================================
``cython``          runtime: Brian2 compiles each code object as a Cython module (default)
``numpy``           runtime: vectorised numpy, no compiler (additive Lagrangians only)
``cpp_standalone``  one C++ project per network, compiled once and run again with new values
``cuda_standalone`` the same on an NVIDIA GPU through brian2cuda (``hippo_dam[gpu]``)
==================  =====================================================================
"""
__all__ = ["CODEGEN_TARGETS", "STANDALONE_TARGETS"]

CODEGEN_TARGETS = ("cython", "numpy", "cpp_standalone", "cuda_standalone")
STANDALONE_TARGETS = ("cpp_standalone", "cuda_standalone")

#: where C++ standalone projects of networks without a ``standalone_dir`` are kept between processes
STANDALONE_CACHE_ENV = "HIPPO_DAM_STANDALONE_CACHE"
_HELD_PROJECTS: dict = {}  # project directory -> the open lock file that holds it for this process


def standalone_cache_dir():
    """The folder of kept C++ standalone projects: ``$HIPPO_DAM_STANDALONE_CACHE`` or ``~/.cache/hippo_dam/standalone``."""
    import os
    from pathlib import Path

    return Path(os.environ.get(STANDALONE_CACHE_ENV) or Path.home() / ".cache" / "hippo_dam" / "standalone")


def persistent_project(key):
    """A C++ standalone project folder kept between processes for the network described by ``key``.

    The folder is named after a hash of ``key`` (the network's structure, sizes
    and run settings) and of the toolchain (Python, Brian2, numpy, ``$CC`` and
    ``$CXX``); a second process that builds the same network finds its sources
    unchanged (Brian2 writes only files whose text changed) and ``make``
    compiles nothing. A changed network rewrites the files that changed and
    ``make`` rebuilds them: a stale binary is never run. The folder is held
    with an exclusive lock for as long as this process uses it; when another
    process holds it, or locks are not available, returns None (the caller
    then builds in a folder of its own).
    """
    import hashlib
    import os
    import platform

    try:
        import fcntl
    except ImportError:  # no POSIX locks: one folder per process, as before
        return None
    import brian2
    import numpy

    toolchain = (platform.python_version(), brian2.__version__, numpy.__version__, os.environ.get("CC", ""),
                 os.environ.get("CXX", ""), platform.machine())
    name = hashlib.sha1(repr((key, toolchain)).encode()).hexdigest()[:16]
    folder = standalone_cache_dir() / name
    if str(folder) in _HELD_PROJECTS:
        return str(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "w")
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # another process runs this project now
        lock.close()
        return None
    if not _HELD_PROJECTS:  # the locks are held to the end of the process: closed there, without a ResourceWarning
        import atexit

        atexit.register(lambda: [held.close() for held in _HELD_PROJECTS.values()])
    _HELD_PROJECTS[str(folder)] = lock
    return str(folder)
