"""Cheap, importable point functions for the sweep tests (run inside Dask workers)."""
import math
import os
import threading

import numpy as np


def cheap_point(seed, a, b, mode="plus"):
    """Deterministic arithmetic: a few microseconds per point."""
    rng = np.random.default_rng(seed)
    noise = float(rng.normal())
    value = a + b if mode == "plus" else a * b
    return {"value": float(value), "noise": noise, "count": int(seed) + 1, "positive": bool(value > 0),
            "vec": np.array([a, b, seed], dtype=float)}


def slow_point(seed, a, b):
    """As cheap_point, but takes about 50 ms (for the kill-and-resume test)."""
    import time

    time.sleep(0.05)
    return {"value": float(a + b), "sq": float(a * a + seed)}


def failing_point(seed, a):
    """Fails for negative a."""
    if a < 0:
        raise ValueError(f"negative a={a}")
    return {"root": math.sqrt(a)}


def brian_thread_point(seed, a):
    """Reports whether brian2 was already imported (by the plugin) when a task ran."""
    import sys

    preloaded = "brian2" in sys.modules
    import brian2

    from hippo_dam.sweeps.engine import worker_directory

    return {"preloaded": preloaded, "main_thread": threading.current_thread() is threading.main_thread(),
            "cache_is_private": brian2.prefs.codegen.runtime.cython.cache_dir
            == os.path.join(str(worker_directory()), "cython")}


def recall_point_one_at_a_time(seed, **params):
    """:func:`hippo_dam.recall_point` without its batched form: a sweep runs it point by point.

    A batched sweep stores a whole chunk of points at once; the scancel test
    needs points stored one by one, so that it can cancel between them.
    """
    from hippo_dam.sweeps.engine import recall_point

    return recall_point(seed, **params)
