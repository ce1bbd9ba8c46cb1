"""A simulated session in Neurodata Without Borders (NWB), and its tuning curves through pynapple.

:func:`write_session_nwb` writes what a run of a place-cell or path-integration
network produced as an NWB file (``pynwb``): the animal's position and
velocity (``Position`` / ``SpatialSeries`` in ``processing['behavior']``), the
memory (place) cells' rates (a ``TimeSeries`` in Hz), the positions decoded
from them, the grid modules' position estimates (their phases, unwrapped),
spikes (the ``units`` table) and a summary of learned weights (a
``DynamicTable``). :func:`read_session_nwb` reads it back as arrays;
``pynapple.load_file(path)`` opens the same file.

:func:`spatial_tuning` computes occupancy-normalised rate maps and the
spatial information per spike (Skaggs et al. 1993) with pynapple
(``compute_tuning_curves``, ``compute_mutual_information``); unsmoothed, its
maps equal :func:`hippo_dam.circuits.place_cells.rate_maps` with
``smooth_bins=0`` (tested).

Needs the ``space`` extra (``pip install 'hippo_dam[space]'``: pynwb, pynapple).
"""
from __future__ import annotations

import datetime as _dt
import uuid
from pathlib import Path

import numpy as np

__all__ = ["write_session_nwb", "read_session_nwb", "spatial_tuning"]


def _need(module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"NWB files and tuning curves need {module}: pip install 'hippo_dam[space]'") from None


def _series(name, values, t, what, columns=None):
    values = np.asarray(values, float)
    if values.ndim not in (1, 2) or len(values) != len(t) or (columns and values.shape[-1] != columns):
        shape = f"(T, {columns})" if columns else "(T,) or (T, n)"
        raise ValueError(f"{what} must have shape {shape} with T = {len(t)} samples, got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} contains NaN or inf")
    return values


def write_session_nwb(path, t, position, *, rates=None, decoded=None, grid_positions=None, spike_times=None,
                      weights=None, description="a hippo_dam simulation", attrs=None):
    """Write a simulated session to ``path`` (an ``.nwb`` file); returns the path.

    Parameters
    ----------
    path : str or Path
    t : array (T,)
        Sample times (s), increasing.
    position : array (T, 2)
        The animal's position (m). Velocity (m/s) is written beside it (central differences).
    rates : array (T, C), optional
        Memory (place) cell rates (Hz).
    decoded : dict of name -> array (T, 2), optional
        Positions decoded from the network (m), e.g. ``{'with_memory': ..., 'feedback_cut': ...}``.
    grid_positions : array (T, M, 2), optional
        Each grid module's position estimate (m; its phase is this modulo the lattice).
    spike_times : list of arrays, optional
        Spike times (s) of each cell (the ``units`` table).
    weights : array (K, N), optional
        Learned weights: their summary per memory unit (norm, mean, largest) goes in a table.
    description : str
    attrs : dict, optional
        Scalar settings, written as the file's ``notes`` (``key = value`` lines).
    """
    pynwb = _need("pynwb")
    from pynwb.behavior import Position
    from hdmf.common import DynamicTable, VectorData

    t = np.asarray(t, float)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be increasing finite times (T >= 2), got shape {t.shape}")
    position = _series("position", position, t, "position", 2)
    notes = "\n".join(f"{k} = {v}" for k, v in (attrs or {}).items() if isinstance(v, (int, float, str)))
    nwb = pynwb.NWBFile(session_description=description, identifier=str(uuid.uuid4()),
                        session_start_time=_dt.datetime.now(_dt.timezone.utc), notes=notes or None,
                        source_script="hippo_dam", source_script_file_name="hippo_dam.nwb")
    behavior = nwb.create_processing_module("behavior", "the animal, and where the network thinks it is")
    pos = Position(name="position")
    pos.create_spatial_series(name="animal", data=position, timestamps=t, reference_frame="(0, 0): a corner "
                              "of the box", unit="m")
    for name, values in (decoded or {}).items():
        pos.create_spatial_series(name=f"decoded_{name}", data=_series(name, values, t, f"decoded[{name!r}]", 2),
                                  timestamps=t, reference_frame="(0, 0): a corner of the box", unit="m")
    behavior.add(pos)
    behavior.add(pynwb.TimeSeries(name="velocity", data=np.gradient(position, t, axis=0), timestamps=t,
                                  unit="m/s", description="the animal's velocity (central differences)"))
    if grid_positions is not None:
        gp = np.asarray(grid_positions, float)
        if gp.ndim != 3 or gp.shape[0] != len(t) or gp.shape[2] != 2 or not np.all(np.isfinite(gp)):
            raise ValueError(f"grid_positions must be finite with shape (T, M, 2), got {gp.shape}")
        module = nwb.create_processing_module("grid", "grid modules: position estimates (phase, unwrapped)")
        module.add(pynwb.TimeSeries(name="module_positions", data=gp, timestamps=t, unit="m",
                                    description="each module's position estimate, (T, module, xy)"))
    if rates is not None:
        rates = _series("rates", rates, t, "rates")
        cells = nwb.create_processing_module("ca3", "CA3 memory (place) cells")
        cells.add(pynwb.TimeSeries(name="rates", data=rates, timestamps=t, unit="Hz",
                                   description="firing rate of each memory cell, (T, cell)"))
    if spike_times is not None:
        for k, spikes in enumerate(spike_times):
            spikes = np.asarray(spikes, float)
            if spikes.ndim != 1 or not np.all(np.isfinite(spikes)):
                raise ValueError(f"spike_times[{k}] must be a 1-D array of finite times (s)")
            nwb.add_unit(spike_times=np.sort(spikes), id=k)
    if weights is not None:
        w = np.asarray(weights, float)
        if w.ndim != 2 or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a finite (K, N) array, got shape {w.shape}")
        table = DynamicTable(name="learned_weights", description="summary of each memory unit's learned weights",
                             columns=[VectorData(name="norm", description="Euclidean norm", data=np.linalg.norm(w, axis=1)),
                                      VectorData(name="mean", description="mean weight", data=w.mean(axis=1)),
                                      VectorData(name="largest", description="largest weight", data=w.max(axis=1))])
        nwb.create_processing_module("plasticity", "learned weights").add(table)
    path = Path(path)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def read_session_nwb(path):
    """The arrays :func:`write_session_nwb` wrote (``t``, ``position``, ``velocity``, ``rates``, ``decoded``...)."""
    pynwb = _need("pynwb")
    out = {}
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        pos = nwb.processing["behavior"]["position"]
        animal = pos.spatial_series["animal"]
        out["t"], out["position"] = np.asarray(animal.timestamps[:]), np.asarray(animal.data[:])
        out["velocity"] = np.asarray(nwb.processing["behavior"]["velocity"].data[:])
        out["decoded"] = {name[len("decoded_"):]: np.asarray(s.data[:]) for name, s in pos.spatial_series.items()
                          if name.startswith("decoded_")}
        if "ca3" in nwb.processing:
            out["rates"] = np.asarray(nwb.processing["ca3"]["rates"].data[:])
        if "grid" in nwb.processing:
            out["grid_positions"] = np.asarray(nwb.processing["grid"]["module_positions"].data[:])
        if nwb.units is not None:
            out["spike_times"] = [np.asarray(nwb.units.get_unit_spike_times(k)) for k in range(len(nwb.units))]
        if "plasticity" in nwb.processing:
            table = nwb.processing["plasticity"]["learned_weights"]
            out["weights_summary"] = {c: np.asarray(table[c].data[:]) for c in ("norm", "mean", "largest")}
        out["notes"] = nwb.notes
    return out


def spatial_tuning(t, position, rates, bin_size, size):
    """Occupancy-normalised rate maps and spatial information per spike, computed by pynapple.

    Parameters
    ----------
    t : array (T,)
        Sample times (s).
    position : array (T, 2)
        Positions (m) in a box ``[0, size[0]] x [0, size[1]]``.
    rates : array (T, C)
        Rates (Hz).
    bin_size : float
        Square bins (m); the box is cut into ``ceil(size / bin_size)`` bins per side.
    size : (float, float)
        The box (m).

    Returns
    -------
    maps : array (C, nx, ny)
        Mean rate per bin (NaN where the animal never was).
    info_bits_per_spike : array (C,)
        Skaggs et al. (1993): ``sum_x P(x) (r(x)/r) log2(r(x)/r)``.
    """
    nap = _need("pynapple")
    t = np.asarray(t, float)
    position, rates = _series("position", position, t, "position", 2), _series("rates", rates, t, "rates")
    nx, ny = (int(np.ceil(s / bin_size - 1e-9)) for s in size)
    features = nap.TsdFrame(t=t, d=position, columns=["x", "y"])
    data = nap.TsdFrame(t=t, d=rates)
    curves = nap.compute_tuning_curves(data, features, bins=[np.linspace(0, size[0], nx + 1),
                                                             np.linspace(0, size[1], ny + 1)])
    info = nap.compute_mutual_information(curves, rates=rates.mean(axis=0))
    return np.asarray(curves), np.asarray(info["bits/spike"])
