"""Checks of plain values, shared by every entry point (Brian2-free; quantities with units: core.populations).

Each raises ``TypeError`` for a value of the wrong kind (a boolean is not a
number here: ``True`` would silently be 1) and ``ValueError`` for a value out
of its range, naming the parameter as the user wrote it (``what``).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_number", "check_count", "check_settings"]


def check_number(name, value, low=None, high=None, low_open=False, high_open=False, integer=False, what=None,
                 why=""):
    """Raise unless ``value`` is a finite real number (a whole one if ``integer``) in the given range.

    A bool is not a number here (``True`` would silently be 1). The messages
    name ``what`` (default ``name``): ``TypeError`` for a non-number,
    ``ValueError`` for NaN, inf, a fraction or a value out of range.
    """
    what = name if what is None else what
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{what} must be a {'whole ' if integer else ''}number, got {value!r} "
                        f"({type(value).__name__})")
    if low is not None and high is not None:
        rule = f"lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        bound = f"{'>' if low_open else '>='} {low:g}"
        rule = f"be a whole number {bound}" if integer else f"be {bound} and finite"
    else:
        rule = "be a whole number" if integer else "be finite"
    if (not np.isfinite(value) or (integer and value != int(value))
            or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))):
        raise ValueError(f"{what} must {rule}{why}, got {value!r}")


def check_count(value, what, minimum=1):
    """Return ``value`` as an int if it is a whole number ``>= minimum`` (a count: neurons, landmarks, jobs)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{what} must be a whole number >= {minimum}, got {value!r} ({type(value).__name__})")
    check_number(what, value, low=minimum, integer=True)
    return int(value)


def check_settings(settings, defaults, what, whole=(), may_be_zero=(), signed=()):
    """An experiment's settings over its ``defaults``: every key known, every value a finite number ``> 0``.

    ``whole`` names the counts (whole numbers), ``may_be_zero`` the values
    that may be 0, ``signed`` those of either sign. Messages name ``what`` (``"darkness"``) and the key.
    Returns the merged settings.
    """
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; known: {sorted(defaults)}")
    s = {**defaults, **settings}
    for key, value in s.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise ValueError(f"{what} setting {key!r} must be a finite number, got {value!r}")
        if key not in signed and (value < 0 or (value == 0 and key not in may_be_zero)):
            raise ValueError(f"{what} setting {key!r} must be {'>= 0' if key in may_be_zero else '> 0'}, "
                             f"got {value!r}")
        if key in whole and value != int(value):
            raise ValueError(f"{what} setting {key!r} must be a whole number, got {value!r}")
    return s
