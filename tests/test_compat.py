"""One test per Brian2 private convention that hippo_dam relies on (hippo_dam/_compat.py).

A Brian2 release that changes one of them fails the test named after it.
"""
import logging
import os

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, Synapses, get_device, ms, prefs, set_device
from brian2.codegen.codeobject import CodeObject

import hippo_dam as hd
from hippo_dam import _compat


@pytest.fixture
def standalone(tmp_path):
    """The C++ standalone device (no build on run) for one test; the previous device afterwards."""
    saved = _compat.save_device()
    set_device("cpp_standalone", directory=str(tmp_path / "project"), build_on_run=False)
    get_device().reinit()
    set_device("cpp_standalone", directory=str(tmp_path / "project"), build_on_run=False)
    try:
        yield get_device()
    finally:
        _compat.restore_device(saved)


def test_device_class_names():
    saved = _compat.save_device()
    assert _compat.device_name() == _compat.RUNTIME_DEVICE
    set_device("cpp_standalone", build_on_run=False)
    try:
        assert _compat.device_name() == _compat.CPP_STANDALONE_DEVICE
        _compat.reset_device()  # back to the device set before
        assert _compat.device_name() == _compat.RUNTIME_DEVICE
    finally:
        _compat.restore_device(saved)


def test_save_and_restore_device(standalone):
    """restore_device puts back the active device and Brian2's stack of previous devices."""
    devices = _compat._devices_module()
    stack = list(devices.previous_devices)
    saved = _compat.save_device()
    _compat.reset_device()
    set_device("runtime")
    set_device("cpp_standalone", build_on_run=False)
    _compat.restore_device(saved)
    assert get_device() is standalone and devices.previous_devices == stack
    assert get_device().build_on_run is False


def test_cuda_device_class_name():
    usable, reason = _compat.brian2cuda_status()
    if not usable:
        pytest.skip(reason)
    import brian2cuda  # noqa: F401  (registers the device)
    from brian2.devices.device import all_devices

    assert _compat.device_name(all_devices["cuda_standalone"]) == _compat.CUDA_STANDALONE_DEVICE


@pytest.mark.parametrize("getter, target", [(_compat.cython_codeobject, "cython"),
                                            (_compat.numpy_codeobject, "numpy")])
def test_runtime_code_object_classes(getter, target):
    from brian2.codegen.targets import codegen_targets

    cls = getter()
    assert issubclass(cls, CodeObject) and cls.class_name == target and cls in codegen_targets


def test_cpp_standalone_code_object_class(standalone):
    assert standalone.code_object_class() is _compat.cpp_standalone_codeobject()


def test_cuda_code_object_class():
    usable, reason = _compat.brian2cuda_status()
    if not usable:
        pytest.skip(reason)
    import brian2cuda  # noqa: F401  (registers the device)
    from brian2.devices.device import all_devices

    assert all_devices["cuda_standalone"].code_object_class() is _compat.cuda_standalone_codeobject()


def test_standalone_array_names(standalone, tmp_path):
    """The expression names the array that the generated C++ declares in namespace brian."""
    group = NeuronGroup(3, "v : 1", name="compat_group")
    expr = _compat.standalone_array(standalone, group.variables["v"])
    assert expr == "brian::_array_compat_group_v"
    Network(group).run(0.1 * ms)
    standalone.build(directory=str(tmp_path / "project"), compile=False, run=False)
    objects_h = open(os.path.join(str(tmp_path / "project"), "objects.h")).read()
    namespace = objects_h[objects_h.index("namespace brian"):]
    assert f"double * {expr.split('::')[1]};" in namespace.replace("*", " * ").replace("  ", " ")
    assert _compat.standalone_array(standalone, group.variables["v"], gpu=True) == "brian::d_array_compat_group_v"


def test_summed_updater_order():
    """A summed variable's updater runs at the target group's order + SUMMED_UPDATER_OFFSET, in 'groups'."""
    target = NeuronGroup(1, "total : 1", order=_compat.group_order_for_summed(-30))
    source = NeuronGroup(4, "x : 1")
    syn = Synapses(source, target, "total_post = x_pre : 1 (summed)")
    syn.connect()
    updater = syn.summed_updaters["total_post"]
    assert (updater.when, updater.order) == ("groups", -30)


def test_state_updater_order():
    group = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1")
    _compat.set_state_update_order(group, 10)
    assert (group.state_updater.when, group.state_updater.order) == ("groups", 10)


def test_order_warning_logger_and_filter():
    """Brian2 logs its order warning on ORDER_WARNING_LOGGER with ORDER_WARNING_TEXT; our filter hides it."""
    from brian2.utils.logger import BrianLogger

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(_compat.ORDER_WARNING_LOGGER)
    saved = list(logger.filters)
    for flt in saved:
        logger.removeFilter(flt)
    logger.addHandler(handler)
    BrianLogger._log_messages.clear()  # warnings logged once per process

    def run_layer_max():
        group = NeuronGroup(4, "x : 1")
        layer = NeuronGroup(1, "m : 1")
        syn = Synapses(group, layer)
        syn.connect()
        syn.run_regularly("m_post = clip(x_pre, m_post, inf)")
        Network(group, layer, syn).run(0.1 * ms)

    target = prefs.codegen.target
    prefs.codegen.target = "cython"
    try:
        run_layer_max()
        assert any(_compat.ORDER_WARNING_TEXT in r.getMessage() for r in records)
        records.clear()
        BrianLogger._log_messages.clear()
        flt = _compat.hide_order_warning("_post, inf)")
        try:
            run_layer_max()
        finally:
            logger.removeFilter(flt)
        assert not any(_compat.ORDER_WARNING_TEXT in r.getMessage() for r in records)
    finally:
        prefs.codegen.target = target
        logger.removeHandler(handler)
        for flt in saved:
            logger.addFilter(flt)


def test_cython_cache_dir():
    cache = _compat.cython_cache_dir()
    assert cache is None or isinstance(cache, str)
    if prefs.codegen.runtime.cython.cache_dir is not None:
        assert cache == prefs.codegen.runtime.cython.cache_dir


def test_cython_rand_claim():
    """cython_rand_works() tells the truth about the Brian2 and numpy in use."""
    group = NeuronGroup(5, "x : 1", codeobj_class=_compat.cython_codeobject())
    group.run_regularly("x = rand()", codeobj_class=_compat.cython_codeobject())
    prefs.codegen.target = "cython"
    if _compat.cython_rand_works():
        Network(group).run(0.2 * ms)
        assert np.all((group.x[:] >= 0) & (group.x[:] < 1)) and np.ptp(group.x[:]) > 0
    else:
        with pytest.raises(Exception):
            Network(group).run(0.2 * ms)


def test_brian2cuda_status_names_the_reason():
    usable, reason = _compat.brian2cuda_status()
    assert isinstance(usable, bool) and ("brian2cuda" in reason)


def test_spiking_generator_target():
    """The spike generator runs on Cython wherever Brian2 can compile rand() there."""
    from hippo_dam.circuits.spiking import _rand_codeobj_class

    expected = None if _compat.cython_rand_works() else _compat.numpy_codeobject()
    assert _rand_codeobj_class("cython") is expected
    assert _rand_codeobj_class("cpp_standalone") is None
    assert hd.SpikingCA3 is not None


def test_network_run_collects_garbage_and_young_objects_gc_keeps_it_short():
    """Brian2's Network.run starts with gc.collect(); young_objects_gc freezes the older heap for the run."""
    import gc

    from brian2 import Network, NeuronGroup, ms

    from hippo_dam.core._compat import young_objects_gc

    calls, collect = [], gc.collect
    net = Network(NeuronGroup(1, "v : 1", name="gc_probe"))
    gc.collect = lambda *args: calls.append(args) or collect(*args)
    try:
        net.run(0.1 * ms, namespace={})
    finally:
        gc.collect = collect
    assert calls, "Brian2's Network.run no longer calls gc.collect(): young_objects_gc has nothing to do"
    assert gc.get_freeze_count() == 0
    with young_objects_gc():
        assert gc.get_freeze_count() > 0  # the heap before the run is frozen
    assert gc.get_freeze_count() == 0  # and unfrozen after
    gc.freeze()  # a process that freezes objects itself is left alone: no freeze or unfreeze of ours
    calls.clear()
    freeze, unfreeze = gc.freeze, gc.unfreeze
    gc.freeze, gc.unfreeze = (lambda: calls.append("freeze")), (lambda: calls.append("unfreeze"))
    try:
        with young_objects_gc():
            pass
    finally:
        gc.freeze, gc.unfreeze = freeze, unfreeze
        gc.unfreeze()
    assert calls == []


def test_small_products_run_on_one_blas_thread():
    from threadpoolctl import threadpool_info

    import scipy.linalg.cython_blas  # noqa: F401  (the product's BLAS, loaded before the threads are read)

    from hippo_dam.core.dense import SMALL_PRODUCT, blas_threads_for

    def threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = threads()
    with blas_threads_for(100 * 256 * 64):
        assert set(threads().values()) == {1}
    assert threads() == before
    with blas_threads_for(SMALL_PRODUCT):
        assert threads() == before


def test_runtime_modules_build_at_the_lighter_level_unless_the_user_chose_flags():
    """Brian2's default -O3 becomes -O1 (a first run compiles faster), and the level is named in the code,
    so the module's name (Brian2 hashes the code, not the flags) differs from a -O3 build's; a user's own
    flags are left as they are."""
    from brian2.codegen.cpp_prefs import default_buildopts

    if "-O3" not in default_buildopts:
        pytest.skip("Brian2's defaults on this machine have no -O3")
    code, kwargs = _compat._lighter_build("def main(): pass\n", {"extra_compile_args": list(default_buildopts)})
    assert "-O3" not in kwargs["extra_compile_args"] and _compat.OPT_LEVEL in kwargs["extra_compile_args"]
    assert code.startswith("def main(): pass\n") and _compat.OPT_LEVEL in code
    assert _compat._cython_module_key(code)[0] != _compat._cython_module_key("def main(): pass\n")[0]
    own = ["-w", "-O2", "-g"]
    assert _compat._lighter_build("x = 1\n", {"extra_compile_args": own}) == ("x = 1\n", {"extra_compile_args": own})


# -- kept between processes: compiled templates, compiler-flag answers --------------------------------
_TEMPLATES_AND_FLAGS = """
import json, sys
import jinja2
from brian2.codegen import cpp_prefs
compiled, asked = [], []
_compile, _ask = jinja2.Environment.compile, cpp_prefs._determine_flag_compatibility
jinja2.Environment.compile = lambda self, *a, **k: compiled.append(1) or _compile(self, *a, **k)
cpp_prefs._determine_flag_compatibility = lambda c, f: asked.append(f) or _ask(c, f)
import hippo_dam
from hippo_dam.core import _compat
from brian2.devices.cpp_standalone import CPPStandaloneCodeObject
templates = [CPPStandaloneCodeObject.templater.env.get_template(name) for name in ("makefile", "main.cpp", "objects.cpp")]
text = [t.root_render_func.__code__.co_code.hex() for t in templates]  # what the template runs
compiler, flags = cpp_prefs.get_compiler_and_args()
print(json.dumps({"compiled": len(compiled), "asked": asked, "flags": flags, "text": text}))
"""


def _fresh_process(code, cache, **env):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, CYTHON_CACHE_DIR=str(cache), **env))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_templates_and_compiler_flag_answers_are_kept_between_processes(tmp_path):
    first = _fresh_process(_TEMPLATES_AND_FLAGS, tmp_path)
    assert first["compiled"] >= 1 and first["asked"]  # an empty cache: Brian2's own work
    assert list(tmp_path.rglob(f"{_compat.CODEGEN_CACHE_SUBDIR}/*"))
    second = _fresh_process(_TEMPLATES_AND_FLAGS, tmp_path)
    assert second["compiled"] == 0 and second["asked"] == []
    assert second["flags"] == first["flags"] and second["text"] == first["text"]


def test_kept_answers_are_those_of_the_same_compiler(tmp_path):
    import shutil

    first = _fresh_process(_TEMPLATES_AND_FLAGS, tmp_path)
    # the same g++ under another path is another compiler: it is asked again
    other = tmp_path / "bin" / "g++"
    other.parent.mkdir()
    os.symlink(shutil.which("g++"), other)
    second = _fresh_process(_TEMPLATES_AND_FLAGS, tmp_path, CXX=str(other), CC=f"{other} -pthread")
    assert sorted(second["asked"]) == sorted(first["asked"])


def test_a_changed_template_is_compiled_again(tmp_path):
    from jinja2 import DictLoader, Environment

    env = Environment(loader=DictLoader({"t": "a {{ x }}"}))
    env.bytecode_cache = _compat._template_bytecode_cache()
    prefs_saved = prefs.codegen.runtime.cython.cache_dir
    prefs.codegen.runtime.cython.cache_dir = str(tmp_path)
    try:
        assert env.get_template("t").render(x=1) == "a 1"
        changed = Environment(loader=DictLoader({"t": "b {{ x }}"}))
        changed.bytecode_cache = env.bytecode_cache
        assert changed.get_template("t").render(x=1) == "b 1"
    finally:
        prefs.codegen.runtime.cython.cache_dir = prefs_saved


def test_a_process_asks_the_kept_answers_once_per_compiler_and_flag(monkeypatch, tmp_path):
    """Brian2 asks for every flag of every code object: after the first, the answer is this process's own."""
    import shutil
    from types import SimpleNamespace

    looked_up = []
    monkeypatch.setattr(_compat, "_kept_answer", lambda identity, flag, ask: looked_up.append(flag) or ask())
    has_flag = _compat._kept_has_flag(lambda compiler, flag: flag != "-bad")
    gxx = shutil.which("g++")
    compiler = SimpleNamespace(compiler_type="unix", compiler_so=[gxx, "-fPIC"], compiler_cxx=[gxx])
    answers = [has_flag(compiler, flag) for flag in ("-O3", "-bad", "-O3", "-bad", "-O3")]
    assert answers == [True, False, True, False, True] and looked_up == ["-O3", "-bad"]
    other = SimpleNamespace(compiler_type="unix", compiler_so=[gxx, "-fPIC", "-g"], compiler_cxx=[gxx])
    assert has_flag(other, "-O3") and looked_up == ["-O3", "-bad", "-O3"]  # another command line: asked again
