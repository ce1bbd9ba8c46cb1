"""The result of a recall: trajectories, energy trace and recall quality."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .recall import RecallQuality, overlaps

__all__ = ["RecallResult"]


@dataclass
class RecallResult:
    """What one recall (or one batch of recalls) produced.

    For a batch of ``B`` cues every per-cue array below has a leading axis of
    length ``B`` (``v`` is (B, T, N), ``energy`` (B, T_E), ``quality.success``
    (B,)); ``result[k]`` is the recall of cue ``k`` alone.

    Attributes
    ----------
    t : array (T,)
        Recording times, seconds.
    v, h : array (T, N) or None
        Recorded feature and memory states (None: not recorded).
    energy_t : array (T_E,)
        Times of the energy trace, seconds.
    energy : array (T_E,)
        The energy (dimensionless), computed inside the run.
    v_final, h_final : array
        States after the last step.
    patterns : array (K, N_f)
        The stored patterns.
    cue, known : array (N_f,)
        The cue and its mask of known entries.
    quality : RecallQuality or None
        Of the final state (None: no stored patterns to score against).
    overlaps : array (T, K)
        Overlaps over time (of the final state only when not recorded).
    attrs : dict
        Lagrangians, time constants, dt, regions, wall time...
    extra : dict
        Further populations of a circuit (interneurons, relays, layers), by
        Brian2 name: ``{'region', 'state', 'trace' (T, n) or None, 'final' (n,)}``.
    """

    t: np.ndarray
    v: np.ndarray | None
    h: np.ndarray | None
    energy_t: np.ndarray
    energy: np.ndarray
    v_final: np.ndarray
    h_final: np.ndarray
    patterns: np.ndarray
    cue: np.ndarray
    known: np.ndarray
    quality: RecallQuality | None
    attrs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def batched(self) -> bool:
        """True for the result of a batch of cues."""
        return self.v_final.ndim == 2

    def __len__(self):
        return len(self.v_final) if self.batched else 1

    def __getitem__(self, k):
        """The recall of cue ``k`` of a batch, as an unbatched RecallResult."""
        if not self.batched:
            raise TypeError("an unbatched RecallResult has no cues to index")
        k = range(len(self))[k]
        q = self.quality
        quality = None if q is None else RecallQuality(q.overlap[k], q.target[k], q.retrieved[k], q.hamming[k],
                                                       q.success[k], q.tolerance)
        pick = lambda a: None if a is None else a[k]  # noqa: E731
        # layers of a batched network carry the batch axis; a circuit's populations (one cue) do not
        extra = {name: {**pop, "final": pop["final"][k], "trace": pick(pop.get("trace"))}
                 if np.ndim(pop["final"]) == 2 else pop for name, pop in self.extra.items()}
        return RecallResult(self.t, pick(self.v), pick(self.h), self.energy_t, self.energy[k], self.v_final[k],
                            self.h_final[k], self.patterns, self.cue[k], self.known[k], quality,
                            attrs={**self.attrs, "cue_index": k}, extra=extra)

    @property
    def overlaps(self):
        """Overlaps with every pattern over time: (T, K), or (B, T, K) for a batch."""
        states = self.v if self.v is not None else self.v_final[..., None, :]
        return overlaps(self.patterns, states)

    @property
    def energy_drop(self):
        """``E(0) - E(end)``: positive when the network descended its energy (one per cue)."""
        drop = self.energy[..., 0] - self.energy[..., -1]
        return drop if self.batched else float(drop)

    def summary(self) -> str:
        q = self.quality
        if q is None:
            drop = self.energy_drop
            return (f"{len(self)} cue(s), no stored patterns to score against; energy drop "
                    f"{np.min(drop):.6g} (min), wall time {self.attrs.get('wall_time_s', float('nan')):.2f} s")
        if self.batched:
            drop = self.energy_drop
            return (
                f"{len(self)} cues: {int(np.sum(q.success))} retrieved ({100 * q.success_rate:.1f}%), "
                f"mean Hamming {float(np.mean(q.hamming)):.2f}, energy drop min {drop.min():.6g} / "
                f"median {np.median(drop):.6g}, wall time {self.attrs.get('wall_time_s', float('nan')):.2f} s"
            )
        return (
            f"target {int(q.target)} -> retrieved {int(q.retrieved)} "
            f"({'success' if q.success else 'FAILED'}), final overlap {float(q.target_overlap):.4f}, "
            f"Hamming {int(q.hamming)}, energy {self.energy[0]:.6g} -> {self.energy[-1]:.6g} "
            f"(drop {self.energy_drop:.6g}), wall time {self.attrs.get('wall_time_s', float('nan')):.2f} s"
        )

    def to_xarray(self):
        """An ``xarray.Dataset`` with dims (batch,) time, energy_time, feature, memory, pattern.

        A batch adds the leading dimension ``batch`` to every per-cue variable,
        and target, retrieved, hamming and success become variables over it
        (attributes for a single cue).
        """
        import xarray as xr

        return xr.Dataset(*self._dataset())

    def _dataset(self):
        """``(data_vars, coords, attrs)`` of :meth:`to_xarray`, in xarray's ``(dims, values[, attrs])`` form."""
        a = self.attrs
        n_f, n_h = self.v_final.shape[-1], self.h_final.shape[-1]
        b = ("batch",) if self.batched else ()
        coords = {
            "time": ("time", self.t, {"units": "s"}),
            "energy_time": ("energy_time", self.energy_t, {"units": "s"}),
            "feature": np.arange(n_f),
            "memory": np.arange(n_h),
            "pattern": np.arange(len(self.patterns)),
            "feature_region": ("feature", np.full(n_f, a.get("feature_region") or "")),
            "memory_region": ("memory", np.full(n_h, a.get("memory_region") or "")),
        }
        data = {
            "energy": (b + ("energy_time",), self.energy,
                       {"long_name": "energy E (Krotov & Hopfield 2021, eq. 2)", "units": "1"}),
            "v_final": (b + ("feature",), self.v_final),
            "h_final": (b + ("memory",), self.h_final),
            "patterns": (("pattern", "feature"), self.patterns),
            "cue": (b + ("feature",), self.cue),
            "known": (b + ("feature",), self.known.astype(np.int8)),
        }
        if self.quality is not None:
            data["final_overlap"] = (b + ("pattern",), np.asarray(self.quality.overlap))
        if self.v is not None:
            data["v"] = (b + ("time", "feature"), self.v)
            data["overlap"] = (b + ("time", "pattern"), self.overlaps)
        if self.h is not None:
            data["h"] = (b + ("time", "memory"), self.h)
        for name, pop in self.extra.items():  # further populations or layers, each with its own region
            dim = f"{name}_neuron"
            final = np.asarray(pop["final"])
            eb = b if final.ndim == 2 else ()  # a batched network's layers carry the batch axis
            coords[dim] = np.arange(final.shape[-1])
            coords[f"{name}_region"] = (dim, np.full(final.shape[-1], pop.get("region") or ""))
            data[f"{name}_final"] = (eb + (dim,), final)
            if pop.get("trace") is not None and self.v is not None:
                data[name] = (eb + ("time", dim), np.asarray(pop["trace"]), {"state": pop.get("state", "")})
        q = self.quality
        attrs = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in a.items() if v is not None}
        per_cue = {} if q is None else {"target": q.target, "retrieved": q.retrieved, "hamming": q.hamming,
                                        "success": np.asarray(q.success).astype(np.int8)}
        if self.batched:
            coords["batch"] = np.arange(len(self))
            data.update({k: ("batch", np.asarray(v)) for k, v in per_cue.items()})
        else:
            attrs.update({k: int(v) for k, v in per_cue.items()})
        if q is not None:
            attrs["tolerance"] = q.tolerance
        return data, coords, attrs

    def to_netcdf(self, path):
        """Write :meth:`to_xarray` to a netCDF-4 file (``xarray.open_dataset`` reads it back as that dataset).

        Written with netCDF4 directly: building the dataset in xarray first
        costs a command-line run more than a second of imports (xarray, and the
        dask modules it probes for a write lock).
        """
        from ..outputs import output_file

        write_netcdf(output_file(path, "to_netcdf path"), *self._dataset())

    def plot(self, path=None, title=None, cue=0):
        """Energy over time and overlaps with every stored pattern over time (cue ``cue`` of a batch).

        A hierarchy's or general network's result (every layer in ``extra``)
        shows each layer's recorded states as an image above the energy and
        the overlaps; without stored patterns, the cued layer's states take
        the overlaps' place. Returns the matplotlib Figure (a PNG at ``path``).
        """
        from ..plotting import plot_circuit_result, plot_recall

        one = self[cue] if self.batched else self
        if "layers" in one.attrs or one.quality is None:
            if title is not None:
                one = RecallResult(**{**one.__dict__, "attrs": {**one.attrs, "title": title}})
            return plot_circuit_result(one, path=path)
        return plot_recall(one, path=path, title=title)


def write_netcdf(path, data, coords, attrs):
    """Write variables and coordinates in xarray's ``{name: (dims, values[, attrs])}`` form to a netCDF-4 file.

    The layout is what ``xarray.Dataset(data, coords, attrs).to_netcdf(path)``
    writes: a coordinate named after its dimension is that dimension's index;
    every other coordinate is listed in the ``coordinates`` attribute of each
    variable whose dimensions hold its own (the file's ``coordinates``
    attribute where none does); floats carry ``_FillValue = NaN``; strings are
    variable-length.
    """
    import netCDF4

    def normal(name, spec):
        if not isinstance(spec, tuple):  # an index: (name,) values
            spec = (name, spec)
        dims, values = spec[0], np.asarray(spec[1])
        return ((dims,) if isinstance(dims, str) else tuple(dims)), values, dict(spec[2]) if len(spec) > 2 else {}

    coords = {k: normal(k, v) for k, v in coords.items()}
    data = {k: normal(k, v) for k, v in data.items()}
    sizes = {}
    for dims, values, _ in list(coords.values()) + list(data.values()):
        for dim, n in zip(dims, values.shape):
            if sizes.setdefault(dim, n) != n:
                raise ValueError(f"dimension {dim!r} has sizes {sizes[dim]} and {n}")
    aux = [k for k, (dims, _, _) in coords.items() if dims != (k,)]
    used = set()
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        for dim, n in sizes.items():
            nc.createDimension(dim, n)
        for name, (dims, values, var_attrs) in list(coords.items()) + list(data.items()):
            if name in data:
                mine = [c for c in aux if set(coords[c][0]) <= set(dims)]
                used.update(mine)
                if mine:
                    var_attrs["coordinates"] = " ".join(mine)
            if values.dtype.kind in "UO":
                var = nc.createVariable(name, str, dims)
                for index in np.ndindex(values.shape):
                    var[index] = str(values[index])
            else:
                if values.dtype.kind == "b":
                    values = values.astype(np.int8)
                var = nc.createVariable(name, values.dtype, dims,
                                        fill_value=np.nan if values.dtype.kind == "f" else False)
                var[...] = values
            var.setncatts(var_attrs)
        rest = [c for c in aux if c not in used]
        nc.setncatts(dict(attrs, **({"coordinates": " ".join(rest)} if rest else {})))
