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
