"""Parameter sweeps on Dask, one idea per module:

=============  =========================================================================
engine         :func:`run_sweep`: a grid x seeds, resumable, gathered into an xarray Dataset
spec           the point function by import path, the grid and seeds checked, point keys
store          one JSON file per finished point (atomic), the manifest, corrupt files moved aside
executor       where points run: Dask clients, a point or batch of points in a worker, the result loop
dataset        the stored points as one :class:`xarray.Dataset`
sweepfile      sweep files (TOML) -> :class:`SweepFile`
points         the built-in point function :func:`recall_point` (and its batched form)
cluster        SLURM/PBS/SGE/LSF jobs through dask-jobqueue
_worker        the worker set-up: Brian2 preloaded, a private Cython cache and standalone directory
=============  =========================================================================

The names of earlier releases stay importable from :mod:`.engine`.
"""
