"""Parameter sweeps on Dask: :mod:`.engine` (the grid, the resumable store, sweep files, the built-in
recall points), :mod:`.cluster` (SLURM/PBS/SGE/LSF jobs through dask-jobqueue) and :mod:`._worker`
(the worker set-up: Brian2 preloaded, a private Cython cache and standalone directory per process).
"""
