"""Every use of Brian2's private conventions, in one place.

hippo_dam reaches below Brian2's public API in a few places: it attaches its
own implementations to code object classes, names the C++/CUDA arrays that
Brian2 generates, asks which device is active by its class name, places its
operations relative to the order Brian2 gives summed-variable updaters, and
filters one Brian2 log message. Each convention is written here once and has
its own test in ``tests/test_compat.py`` (the Cython builder's conventions:
``tests/test_session.py``), so a Brian2 release that changes one fails one named
test instead of a simulation somewhere else.

Supported: Brian2 2.8.0 (the version brian2cuda 1.0a7 pins) to 2.11.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
from importlib import metadata

import brian2
import numpy as np
from brian2 import get_device
from packaging.requirements import Requirement
from packaging.version import Version

from .. import _sweep_worker_ignores_ctrl_c

_sweep_worker_ignores_ctrl_c()  # importing brian2 replaced a sweep worker's ignored Ctrl-C with its own handler

__all__ = []  # private module

BRIAN2_VERSION = Version(brian2.__version__)

# -- device class names ----------------------------------------------------------
RUNTIME_DEVICE = "RuntimeDevice"
CPP_STANDALONE_DEVICE = "CPPStandaloneDevice"
CUDA_STANDALONE_DEVICE = "CUDAStandaloneDevice"  # brian2cuda


def device_name(device=None) -> str:
    """Class name of ``device`` (default: the active Brian2 device), e.g. ``'RuntimeDevice'``."""
    return (get_device() if device is None else device).__class__.__name__


def reset_device():
    """Make the runtime device active again (Brian2's ``brian2.devices.device.reset_device``)."""
    from brian2.devices.device import reset_device as _reset

    _reset()


# -- code object classes -------------------------------------------------------------
def cython_codeobject():
    """Brian2's runtime Cython code object class (target ``'cython'``)."""
    from brian2.codegen.runtime.cython_rt import CythonCodeObject

    return CythonCodeObject


def numpy_codeobject():
    """Brian2's runtime numpy code object class (target ``'numpy'``)."""
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

    return NumpyCodeObject


def cpp_standalone_codeobject():
    """Brian2's C++ standalone code object class."""
    from brian2.devices.cpp_standalone import CPPStandaloneCodeObject

    return CPPStandaloneCodeObject


def cuda_standalone_codeobject():
    """brian2cuda's CUDA standalone code object class (imports brian2cuda)."""
    from brian2cuda.codeobject import CUDAStandaloneCodeObject

    return CUDAStandaloneCodeObject


# -- array names in generated standalone code ------------------------------------------
def standalone_array(device, variable, gpu=False) -> str:
    """C++ expression of ``variable``'s storage in a standalone project.

    C++ standalone declares every array in ``namespace brian`` under the name
    ``device.get_array_name(variable)`` (``_array_<group>_<var>``); brian2cuda
    keeps the GPU copy beside it with a ``d`` prefix (``brian::d_array_...``).
    """
    return ("brian::d" if gpu else "brian::") + device.get_array_name(variable, access_data=False)


# -- order of operations -----------------------------------------------------------------
#: Brian2 runs a group's summed-variable updaters in slot ``'groups'`` at the
#: *target* group's order plus this offset.
SUMMED_UPDATER_OFFSET = -1


def group_order_for_summed(order: int) -> int:
    """Order to give a group so that the summed variables targeting it run at ``order``."""
    return order - SUMMED_UPDATER_OFFSET


def set_state_update_order(group, order: int):
    """Move ``group``'s state updater (the Euler step) to ``order`` in slot ``'groups'``."""
    group.state_updater.order = order


def set_summed_order(synapses, order: int):
    """Run every summed-variable updater of ``synapses`` at ``order`` in slot ``'groups'`` (not its target's)."""
    for updater in synapses.summed_updaters.values():
        updater.order = order


# -- the log filter ------------------------------------------------------------------------
#: Logger and text of Brian2's warning about code whose result may depend on
#: the order in which repeated indices are visited.
ORDER_WARNING_LOGGER = "brian2.codegen.generators.base"
ORDER_WARNING_TEXT = "may depend on the order of execution"


class _OrderWarningFilter(logging.Filter):
    """Drop Brian2's order-dependence warning for code containing one of ``markers``."""

    def __init__(self, markers):
        super().__init__()
        self.markers = tuple(markers)

    def filter(self, record):
        msg = record.getMessage()
        return not (ORDER_WARNING_TEXT in msg and any(m in msg for m in self.markers))


def hide_order_warning(*markers):
    """Hide Brian2's order warning for abstract code that contains any of ``markers``.

    Returns the installed filter (``logging.getLogger(ORDER_WARNING_LOGGER).removeFilter``
    takes it off again).
    """
    flt = _OrderWarningFilter(markers)
    logging.getLogger(ORDER_WARNING_LOGGER).addFilter(flt)
    return flt


def sort_clock_resets(device):
    """Put the clock resets of a C++ standalone run in a fixed order (by clock name).

    Brian2 resets every clock of a run (``<clock>_timestep = 0``, ``<clock>_t =
    0``) in the order of a set of Clock objects, which changes from process to
    process; ``main.cpp`` then differs between two builds of the same network
    and ``make`` recompiles and relinks it. The resets are independent, so the
    order is free: sorted, a project built again in a new process is unchanged
    and compiles nothing.
    """
    queue = device.main_queue

    def is_reset(entry):
        func, args = entry
        return func == "set_by_single_value" and isinstance(args[0], str) and \
            (args[0].endswith("_clock_timestep") or args[0].endswith("_clock_t"))

    k = 0
    while k < len(queue):
        if not is_reset(queue[k]):
            k += 1
            continue
        end = k
        while end < len(queue) and is_reset(queue[end]):
            end += 1
        # a reset pair (timestep, t) keeps its order: sort by (clock, which)
        queue[k:end] = sorted(queue[k:end], key=lambda e: (e[1][0].rsplit("_clock_", 1)[0],
                                                           e[1][0].endswith("_t")))
        k = end


def never_run(network):
    """Mark a network that is built only to be described as accounted for.

    Brian2 warns, when an object is garbage collected, that it "was never
    included in a network" if no network ever ran it (``BrianObject._network``
    is set at ``Network.before_run``). A network built for ``equations()``
    is never run by design: its objects get the network's id, as a run would
    give them, so discarding them is silent.
    """
    for obj in network.objects:
        for o in [obj, *getattr(obj, "contained_objects", [])]:
            if getattr(o, "_network", "") is None:
                o._network = network.id


# -- the runtime Cython cache ---------------------------------------------------------------
@contextlib.contextmanager
def young_objects_gc():
    """Brian2's ``Network.run`` starts with ``gc.collect()``, a full collection.

    Brian2 collects so as to warn about objects left out of a network; over a
    notebook's heap (Brian2, sympy, the user's data) that collection is a fixed
    cost of every run (``benchmarks/bench_fixed_cost.py`` times a grid with and
    without this).
    For the run, the objects that existed before it are frozen (``gc.freeze``):
    the collection then visits only the new ones. A process that freezes
    objects itself is left alone.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def cython_cache_dir():
    """Directory of Brian2's compiled Cython extensions (``prefs`` or its default)."""
    from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

    return get_cython_cache_dir()


def _cython_module_key(code):
    """Brian2's key of the Cython module of ``code`` and the path of its file in the cache.

    Brian2 names a module after the md5 of ``(code, Python, executable,
    Cython, numpy major.minor, $CC, $CXX)`` (``CythonExtensionManager.create_extension``).
    A wrong guess costs nothing but a background build that finds the module.
    """
    import hashlib
    import os
    import sys

    import Cython
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager as manager
    from brian2.utils.stringtools import deindent

    key = (deindent(code), sys.version_info, sys.executable, Cython.__version__,
           ".".join(np.__version__.split(".")[:2]), os.environ.get("CC"), os.environ.get("CXX"))
    name = f"_cython_magic_{hashlib.md5(str(key).encode('utf-8')).hexdigest()}"
    return key, os.path.join(os.path.expanduser(cython_cache_dir()), name + manager.so_ext)


#: Optimisation of a network's runtime Cython modules and kept C++ projects (Brian2: -O3; a project's
#: dense product stays at -O3, see hippo_dam.core.dense). benchmarks/bench_opt_level.py (2 cores):
#: at -O1 a first run is shorter and a step as fast (benchmarks/results_opt_level.json; the products
#: are BLAS calls or -O3 code, the per-neuron loops gain nothing from -O3 here).
#: ``HIPPO_DAM_OPT_LEVEL=-O3`` (or -O0, -O2) chooses another level.
OPT_LEVEL = os.environ.get("HIPPO_DAM_OPT_LEVEL", "-O1")
if OPT_LEVEL not in ("-O0", "-O1", "-O2", "-O3"):
    raise ValueError(f"HIPPO_DAM_OPT_LEVEL must be one of -O0, -O1, -O2, -O3, got {OPT_LEVEL!r}")


def lighter_compile_args(args):
    """``args`` with :data:`OPT_LEVEL` for ``-O3`` where they are Brian2's defaults, else None."""
    from brian2.codegen.cpp_prefs import default_buildopts

    if OPT_LEVEL == "-O3" or args is None or list(args) != list(default_buildopts) or "-O3" not in args:
        return None
    return [OPT_LEVEL if a == "-O3" else a for a in args]


def _lighter_build(code, kwargs):
    """``code`` and build arguments with :data:`OPT_LEVEL` instead of Brian2's default ``-O3``.

    Only where the compile arguments are Brian2's defaults (a user's own flags
    are kept). Brian2 names a module after its code, not its flags, so the
    code gets a trailing comment naming the level: a module built at another
    level is never taken for this one.
    """
    args = lighter_compile_args(kwargs.get("extra_compile_args"))
    if args is None:
        return code, kwargs
    kwargs = dict(kwargs, extra_compile_args=args)
    return f"{code}\n# hippo_dam: built with {OPT_LEVEL}\n", kwargs


class _ModuleBeingBuilt:
    """Stands in for a Cython module compiled in the background: the first use waits for the build.

    Brian2's Cython code object calls ``compiled.main(namespace)`` after
    ``if compiled:``; both wait here, and ``main`` is then kept on this object.
    """

    def __init__(self, future):
        self._future = future

    def _module(self):
        return self._future.result()

    def __bool__(self):
        return self._module() is not None  # Brian2 returns None for a module that failed to compile

    def __getattr__(self, name):
        value = getattr(self._module(), name)
        setattr(self, name, value)
        return value


class _SerialCythonize:
    """``Cython.Build`` with ``cythonize`` under a lock (the Cython compiler keeps global state)."""

    def __init__(self, module, lock):
        self._module, self._lock = module, lock

    def cythonize(self, *args, **kwargs):
        with self._lock:
            return self._module.cythonize(*args, **kwargs)


@contextlib.contextmanager
def concurrent_cython_builds(workers=None, on_build=None):
    """Within: Brian2 compiles the runtime Cython modules it lacks side by side, in background threads.

    Brian2 builds one extension module per code object, one after another,
    while it prepares a run (``Network.before_run``). Here a module that is in
    neither Brian2's memory nor its cache is handed to a pool of ``workers``
    threads (default: one more than the cores) and a stand-in is returned; the run
    waits for a module only when it first executes it. The Cython step (Python,
    holding Brian2's and Cython's global state) runs one at a time, the C++
    compiler (a subprocess) side by side. Brian2's redirection of the file
    descriptors 1 and 2 during a build (``std_silent``) is not thread-safe, so
    it is off here: Cython builds quietly and the compiler runs with ``-w``.

    ``on_build(kind)`` is called with ``'queued'`` and ``'built'`` for every
    module (a progress report). Nested use is the outer one.
    """
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from brian2.codegen.runtime.cython_rt import extension_manager as em

    manager = em.cython_extension_manager
    if ("create_extension" in vars(manager) or not hasattr(manager, "_code_cache")
            or not all(hasattr(em, n) for n in ("std_silent", "Cython_Build"))):
        yield  # already inside, or a Brian2 whose builder differs: its own serial builds
        return
    original = manager.create_extension
    pool = []
    lock = threading.Lock()

    def create_extension(code, *args, **kwargs):
        if kwargs.get("force"):
            return original(code, *args, **kwargs)
        code, kwargs = _lighter_build(code, kwargs)
        key, path = _cython_module_key(code)
        if key in manager._code_cache:  # loaded: what Brian2 would return, without its second look-up
            return manager._code_cache[key]
        if os.path.isfile(path):
            return original(code, *args, **kwargs)
        if not pool:
            # one more thread than cores: one runs Cython while the others wait on the C++ compiler
            pool.append(ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 1) + 1,
                                           thread_name_prefix="hippo_dam_cython_build"))
        try:
            future = pool[0].submit(original, code, *args, **kwargs)
        except RuntimeError:  # another thread's run closed the pool: build here, as Brian2 would
            return original(code, *args, **kwargs)
        if on_build is not None:
            on_build("queued")
            future.add_done_callback(lambda _: on_build("built"))
        return _ModuleBeingBuilt(future)

    saved = em.std_silent, em.Cython_Build
    manager.create_extension = create_extension
    em.std_silent = lambda *a, **k: contextlib.nullcontext()
    em.Cython_Build = _SerialCythonize(em.Cython_Build, lock)
    try:
        yield
    finally:
        if pool:
            pool[0].shutdown(wait=True)
        del manager.create_extension
        em.std_silent, em.Cython_Build = saved


@contextlib.contextmanager
def reused_code_objects(network):
    """Within: a network that ran before runs again with the code objects of its last run.

    Brian2 generates every code object anew at each run (``CodeRunner.before_run``
    calls ``create_code_objects``: parsing, code generation, a cache look-up
    per object), a fixed cost of tens to hundreds of milliseconds per run that
    dominates short recalls. For a network whose objects, variables, namespace
    and code generation target are those of its last run (the caller's
    promise: it restored the network's stored state, changing values only), the
    code objects of that run are still right: their namespaces hold the same
    arrays, and the values that change between runs (``t``, dynamic arrays)
    are read at every call. Runners with their own ``create_code_objects``
    (spike pathways) are left to Brian2.
    """
    from functools import partial

    from brian2.core.base import BrianObject
    from brian2.groups.group import CodeRunner

    patched = []
    for obj in network.sorted_objects:
        if (isinstance(obj, CodeRunner) and type(obj).create_code_objects is CodeRunner.create_code_objects
                and getattr(obj, "codeobj", None) is not None and "before_run" not in vars(obj)):
            obj.before_run = partial(BrianObject.before_run, obj)  # the code objects' own before_run blocks
            patched.append(obj)
    try:
        yield
    finally:
        for obj in patched:
            del obj.before_run


@contextlib.contextmanager
def setup_code_on_numpy():
    """Within: code that Brian2 runs once while objects are built (``Synapses.connect``) uses numpy.

    On the runtime device each ``connect`` creates and runs its own code
    object at once; on the Cython target that is one compiled module per
    ``Synapses`` object (several seconds each on a first run), for code that
    runs a single time. The numpy target runs it vectorised with nothing to
    compile. The per-step code objects are created at the run and follow the
    caller's target. Standalone devices are left alone (they compile one project).
    """
    from brian2 import prefs

    if device_name() != RUNTIME_DEVICE:
        yield
        return
    saved = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        yield
    finally:
        prefs.codegen.target = saved


def cache_by_code(function, *identity):
    """Let Brian2's code-generation caches know ``function`` by ``identity`` (what its code depends on).

    Brian2 memoises parsing and code generation on their arguments
    (``brian2.utils.caching.cached``) and keys an object by its ``_state_tuple``
    where it has one, else by identity. A ``Function`` built per network (the
    dense product) would stay in those caches for the life of the process, and
    with it, through its implementations, the network's weights and states.
    Two functions with the same ``identity`` must generate the same code.
    """
    function._state_tuple = tuple(identity)


# -- what every process recomputes: kept between processes ------------------------------------------
# A warm process (every binary and module already compiled) still compiles Brian2's Jinja templates
# (~0.24 s for a C++ standalone model) and asks the C++ compiler, once per flag, whether it accepts
# Brian2's flags (~0.16 s: six compiler runs). Both answers depend only on their inputs, which key them.
#: Subfolder of Brian2's Cython cache that holds both (so a private cache, e.g. CYTHON_CACHE_DIR, keeps its own).
CODEGEN_CACHE_SUBDIR = "hippo_dam_codegen"


def codegen_cache_dir():
    """The folder of the kept template bytecode and compiler-flag answers (in Brian2's Cython cache)."""
    return os.path.join(os.path.expanduser(cython_cache_dir()), CODEGEN_CACHE_SUBDIR)


def _template_bytecode_cache():
    """Jinja's file bytecode cache in :func:`codegen_cache_dir`, read at each use; a failed write is skipped.

    Jinja keys a stored template by its name and file and checks the checksum
    of its source (and the Jinja and Python versions) before using it: an
    edited template is compiled again, never taken from the cache.
    """
    from jinja2 import FileSystemBytecodeCache

    class _KeptTemplates(FileSystemBytecodeCache):
        def __init__(self):
            super().__init__(directory=os.devnull)

        def _get_cache_filename(self, bucket):
            self.directory = codegen_cache_dir()  # follows a cache folder set after import
            return super()._get_cache_filename(bucket)

        def dump_bytecode(self, bucket):
            try:
                os.makedirs(codegen_cache_dir(), exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:  # a read-only cache: compile each time, as Brian2 does
                pass

    return _KeptTemplates()


def _compiler_commands(compiler):
    """A distutils compiler's customised command lines (``executables`` holds the class's defaults)."""
    return tuple(tuple(getattr(compiler, k, None) or ()) for k in ("compiler_so", "compiler_cxx"))


def _compiler_identity(commands):
    """What a C++ compiler's answer to "do you accept this flag?" depends on: its command lines and binary."""
    import shutil

    binaries = []
    for command in commands:
        path = shutil.which(command[0]) if command else None
        if path is None:
            return None  # an unknown binary: do not keep its answers
        info = os.stat(os.path.realpath(path))
        binaries.append((os.path.realpath(path), info.st_size, info.st_mtime_ns))
    return repr(([" ".join(command) for command in commands], binaries))


def _kept_has_flag(original):
    """Brian2's ``has_flag(compiler, flag)``, its answers kept in ``compiler_flags.json`` by compiler identity."""
    answered = {}  # this process's answers: Brian2 asks for every flag of every code object it creates

    def has_flag(compiler, flagname):
        if compiler.compiler_type == "msvc":
            return original(compiler, flagname)
        commands = _compiler_commands(compiler)
        if (commands, flagname) in answered:
            return answered[commands, flagname]
        identity = _compiler_identity(commands)
        if identity is None:
            return original(compiler, flagname)
        answered[commands, flagname] = answer = _kept_answer(identity, flagname, lambda: original(compiler, flagname))
        return answer

    has_flag._hippo_dam_original = original
    return has_flag


def _kept_answer(identity, flagname, ask):
    """The kept answer of compiler ``identity`` for ``flagname``, else ``ask()``'s, kept for the next process."""
    import json

    path = os.path.join(codegen_cache_dir(), "compiler_flags.json")
    try:
        with open(path) as f:
            kept = json.load(f)
    except (OSError, ValueError):
        kept = {}
    key = f"{identity} {flagname}"
    if isinstance(kept.get(key), bool):
        return kept[key]
    answer = bool(ask())
    kept[key] = answer
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(kept, f)
        os.replace(tmp, path)  # another process's answers may be lost, never half-written
    except OSError:
        pass
    return answer


def keep_codegen_caches():
    """Keep Brian2's compiled templates and compiler-flag answers between processes (idempotent).

    Sets Jinja's bytecode cache on the templaters of the runtime Cython,
    numpy and C++ standalone code objects, and wraps
    ``brian2.codegen.cpp_prefs.has_flag`` (Brian2 asks it from
    ``get_compiler_and_args`` for every flag, every process). Called once when
    this module is imported (by the first network built), so Brian2 code of
    the user's own in the same process uses the kept answers too.
    """
    from brian2.codegen import cpp_prefs

    for cls in (cython_codeobject(), numpy_codeobject(), cpp_standalone_codeobject()):
        env = cls.templater.env
        if env.bytecode_cache is None:
            env.bytecode_cache = _template_bytecode_cache()
    if not hasattr(cpp_prefs.has_flag, "_hippo_dam_original"):
        cpp_prefs.has_flag = _kept_has_flag(cpp_prefs.has_flag)


# -- known bugs ------------------------------------------------------------------------------
def cython_rand_works() -> bool:
    """Whether ``rand()`` compiles on the runtime Cython target.

    Brian2 2.8.0's Cython ``rand()`` clears ``numpy.NPY_OWNDATA``, a name numpy 2
    removed (Brian2 2.9.0 uses ``NPY_ARRAY_OWNDATA``): it fails to compile with
    numpy >= 2 before Brian2 2.9.
    """
    return BRIAN2_VERSION >= Version("2.9") or Version(np.__version__) < Version("2")


def brian2cuda_status():
    """``(usable, reason)``: whether brian2cuda is installed for the Brian2 in use.

    brian2cuda pins one exact Brian2 (1.0a7: ``brian2 == 2.8.0``; 1.0b1:
    ``brian2 == 2.10.1``); installed beside another Brian2 it would fail in
    code generation, so it counts as missing.
    """
    try:
        dist = metadata.distribution("brian2cuda")
    except metadata.PackageNotFoundError:
        return False, "brian2cuda is not installed (pip install 'hippo_dam[gpu]')"
    for line in dist.requires or []:
        req = Requirement(line)
        if req.name.lower() == "brian2" and (req.marker is None or req.marker.evaluate({"extra": ""})):
            if not req.specifier.contains(BRIAN2_VERSION, prereleases=True):
                return False, (f"brian2cuda {dist.version} needs brian2{req.specifier}, "
                               f"but brian2 {brian2.__version__} is installed")
    return True, f"brian2cuda {dist.version} with brian2 {brian2.__version__}"


# -- the active device and Brian2's stack of previous devices ---------------------------------------
def save_device():
    """The active device, its build options and Brian2's stack of previous devices."""
    devices = _devices_module()
    dev = devices.get_device()
    return (dev, list(devices.previous_devices), getattr(dev, "build_on_run", True),
            dict(getattr(dev, "build_options", {}) or {}))


def restore_device(saved):
    """Make the device saved by :func:`save_device` active again, with its stack of previous devices."""
    devices = _devices_module()
    dev, stack, build_on_run, build_options = saved
    if devices.get_device() is not dev:
        devices._do_set_device(dev, build_on_run, **build_options)
    devices.previous_devices[:] = stack


def _devices_module():
    """The module ``brian2.devices.device`` (``brian2.devices.device`` as an attribute is the device proxy)."""
    return importlib.import_module("brian2.devices.device")


# -- Brian2's preferences ----------------------------------------------------------------------------
def save_prefs():
    """A copy of every Brian2 preference value (``prefs.prefs``, the preferences' own store)."""
    from brian2 import prefs

    return dict(prefs.prefs)


def restore_prefs(saved):
    """Set back every preference saved by :func:`save_prefs` that has changed since."""
    from brian2 import prefs

    for key, value in saved.items():
        current = prefs.prefs.get(key)
        if current is not value and not _same(current, value):
            prefs[key] = value


def _same(a, b):
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays
        return False


class preserved_brian_state:
    """Context manager: Brian2's preferences and active device are as they were on leaving it."""

    def __enter__(self):
        self._prefs, self._device = save_prefs(), save_device()
        return self

    def __exit__(self, *exc):
        restore_device(self._device)
        restore_prefs(self._prefs)
        return False


keep_codegen_caches()
