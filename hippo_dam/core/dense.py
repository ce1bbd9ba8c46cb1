"""The dense symmetric projection: one weight matrix, read as a matrix product.

The coupling of the two layers (Krotov & Hopfield 2021, eq. 1) is one dense
matrix ``xi`` (N_h x N_f) read in both directions every step::

    u_h[b, mu] = sum_i  xi[mu, i] g[b, i]        (U_h = G xi^T)
    u_f[b, i]  = sum_mu xi[mu, i] f[b, mu]       (U_f = F xi)

for every cue ``b`` of a batch. Brian2's generic ``Synapses`` store ``xi`` with
two index arrays and loop over them with indirect indexing; here ``xi`` is
stored once, contiguous, in float64 or float32, and each code generation target
gets an implementation of the same Brian2 ``Function``:

============== ===========================================================
target         implementation
============== ===========================================================
cython         one cue: one fused pass over ``xi`` (C at -O3 in the module),
               each row read once for both directions; a batch: BLAS
               ``?gemm`` through ``scipy.linalg.cython_blas``
numpy          ``numpy.matmul`` (BLAS)
cpp_standalone one fused pass over ``xi``: each row is read once for both
               directions, vectorised by the compiler; with OpenMP threads
               (``openmp_threads`` > 0) the rows are split, one part per thread
cuda_standalone one thread per neuron (brian2cuda), coalesced column reads
============== ===========================================================

On the CPU targets the product runs once per step in a small coupling group
(one neuron, or one per OpenMP thread; ``when='groups'`` just before order 0,
where the summed variables of the plain path run), writing into the
populations' input variables ``u_<name>``, so the rest of the network
(activations, reductions, energy, Euler step) is the same for both paths and
the result is the same explicit Euler scheme.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np
from brian2 import Function, NeuronGroup, get_device, prefs, second

from ._compat import (CPP_STANDALONE_DEVICE, CUDA_STANDALONE_DEVICE, cache_by_code, cpp_standalone_codeobject,
                      cuda_standalone_codeobject, cython_codeobject, device_name, standalone_array)
from .populations import SymmetricProjection
from .schedule import ORDER_COUPLING

__all__ = ["DenseSymmetricProjection", "WEIGHT_DTYPES"]

#: Products of fewer multiply-adds per call than this run on one BLAS thread (see ``blas_threads_for``).
SMALL_PRODUCT = 1 << 22
_CONTROLLER = []

WEIGHT_DTYPES = {"float64": np.float64, "float32": np.float32}


def check_weight_dtype(dtype):
    """``'float64'`` or ``'float32'`` (or the numpy types) -> numpy dtype; raise otherwise."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in WEIGHT_DTYPES:
        raise ValueError(f"weight dtype must be one of {sorted(WEIGHT_DTYPES)}, got {dtype!r}")
    return np.dtype(WEIGHT_DTYPES[key])


def blas_threads_for(macs):
    """A context in which a product of ``macs`` multiply-adds per call runs on the right BLAS threads.

    OpenBLAS splits even a small product, e.g. ``(100 x 256) (256 x 64)``,
    over every core; on a busy machine its threads then wait for each other
    (``benchmarks/bench_fixed_cost.py`` times it both ways). Below
    :data:`SMALL_PRODUCT` multiply-adds the run uses one BLAS thread
    (threadpoolctl); larger products, bound by memory bandwidth, keep the
    user's setting.
    """
    if macs >= SMALL_PRODUCT:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        import scipy.linalg.cython_blas  # noqa: F401  (the BLAS the Cython product calls: loaded first)

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


class DenseSymmetricProjection(SymmetricProjection):
    """``xi`` (N_post x N_pre), stored once, feeding both layers as a matrix product.

    Same interface as :class:`hippo_dam.core.populations.SymmetricProjection` (the
    generic ``Synapses`` path, whose checks it shares): it adds
    the input ``u_<name>`` to both populations; the populations may carry a
    batch of independent copies (``Population.batch``), for which the coupling
    becomes a matrix-matrix product.

    With ``pre is post`` it is a recurrent block ``W`` (symmetric) of a
    general network: one product ``u = A W`` (``W = W^T``) and the energy
    term ``-(1/2) a . W a``.

    Parameters
    ----------
    pre, post : Population
        Lower (features, N_pre per copy) and upper (memories) population,
        with the same batch size.
    weights : array, shape (post.n, pre.n)
        The symmetric coupling ``xi``; must be finite.
    name : str
    dtype : {'float64', 'float32'}
        Storage and arithmetic of the product (activations and states stay
        float64; with float32 they are rounded to float32 for the product).
    """

    def __init__(self, pre, post, weights, name="coupling", dtype="float64"):
        self.dtype = check_weight_dtype(dtype)
        if pre.batch != post.batch:
            raise ValueError(f"projection {name!r}: batch sizes differ ({pre.batch} vs {post.batch})")
        self._attach(pre, post, weights, name, self.dtype)
        if self.recurrent and not np.array_equal(self.weights, self.weights.T):
            raise ValueError(f"projection {name!r}: a recurrent block must be symmetric (W = W^T)")
        self.group = None

    @property
    def batch(self):
        return self.pre.batch

    def build(self, dt=None):
        """Create the Brian2 objects (after both populations are built; on the pre group's clock)."""
        device = device_name()
        if device == CUDA_STANDALONE_DEVICE:
            return self._build_per_neuron()
        # C++ with OpenMP: one "neuron" per thread, each computing its share of the rows,
        # so that Brian2's own parallel loop spreads the product over the threads.
        threads = prefs.devices.cpp_standalone.openmp_threads if device == CPP_STANDALONE_DEVICE else 0
        parts = max(1, int(threads))
        functions = self._product_functions(parts)
        group = NeuronGroup(parts, "dense_calls : 1", name=self.name, clock=self.pre.group.clock,
                            namespace=dict(functions))
        for k, (fn_name, _) in enumerate(functions):
            group.run_regularly(f"dense_calls = {fn_name}(t, i)", when="groups",
                                order=ORDER_COUPLING - len(functions) + 1 + k, name=f"{self.name}_product_{k}")
        self.group = group
        return [group]

    # -- the implementations ----------------------------------------------------
    def _arrays(self):
        """Live storage of g (pre activation), f (post activation) and both inputs u."""
        pre, post, u = self.pre.group, self.post.group, self.input_name
        return {
            "g": pre.variables[self.pre.activation],
            "f": post.variables[self.post.activation],
            "u_pre": pre.variables[u],
            "u_post": post.variables[u],
        }

    def _product_functions(self, parts=1):
        """``[(name, Function)]``: the product (and, split in ``parts`` > 1, the sum of the parts)."""
        name = self._function_name
        live = self._arrays()
        xi = self.weights
        n_post, n_pre, batch = self.post.n, self.pre.n, self.batch

        recurrent = self.recurrent
        proj = self  # xi is read at every call: rebind_weights can swap it

        def numpy_product(t, part):
            xi = proj.weights
            G = live["g"].get_value().reshape(batch, n_pre)
            live["u_post"].get_value()[:] = (G.astype(xi.dtype, copy=False) @ xi.T).ravel()
            if not recurrent:
                F = live["f"].get_value().reshape(batch, n_post)
                live["u_pre"].get_value()[:] = (F.astype(xi.dtype, copy=False) @ xi).ravel()
            return np.zeros_like(t, dtype=float)

        fn = Function(numpy_product, arg_units=[second, 1], return_unit=1, arg_names=["t", "part"],
                      arg_types=["any", "integer"], stateless=False, auto_vectorise=False)
        fn.implementations.add_numpy_implementation(numpy_product, discard_units=True)
        cache_by_code(fn, "hippo_dam.dense", name, xi.dtype.name, recurrent)  # not by identity: see there
        cython_ns = {f"{name}_xi": xi.ravel(), f"{name}_dims": np.array([n_pre, n_post, batch], dtype=np.int32)}
        cython_ns.update({f"{name}_{k}": v.get_value() for k, v in live.items()})
        if xi.dtype == np.float32:  # rounded copies of the activations and the products
            for k, n in (("g32", n_pre), ("f32", n_post), ("upre32", n_pre), ("upost32", n_post)):
                cython_ns[f"{name}_{k}"] = np.zeros(batch * n, dtype=np.float32)
        fn.implementations.add_implementation(
            cython_codeobject(), _cython_code(name, xi.dtype, self.recurrent), namespace=cython_ns, name=name
        )
        self._runtime_xi = (name, cython_ns)
        device = get_device()
        if device_name(device) != CPP_STANDALONE_DEVICE:
            return [(name, fn)]
        arrays = {k: standalone_array(device, v) for k, v in live.items()}
        # per-part partial sums of u_pre, a static array shared by the product and the sum
        namespace = {f"{name}_xi": xi.ravel(), f"{name}_parts": np.zeros(parts * batch * n_pre if parts > 1 else 1)}
        product, total = _cpp_code(name, n_pre, n_post, batch, xi.dtype, arrays, parts, self.recurrent)
        fn.implementations.add_implementation(cpp_standalone_codeobject(), product, namespace=namespace, name=name)
        if parts == 1 or self.recurrent:
            return [(name, fn)]
        sum_fn = Function(None, arg_units=[second, 1], return_unit=1, arg_names=["t", "part"],
                          arg_types=["any", "integer"], stateless=False)
        sum_fn.implementations.add_implementation(cpp_standalone_codeobject(), total, namespace=namespace,
                                                  name=f"{name}_sum")
        cache_by_code(sum_fn, "hippo_dam.dense", f"{name}_sum", xi.dtype.name, recurrent)
        return [(name, fn), (f"{name}_sum", sum_fn)]

    @property
    def _function_name(self):
        """Name of the product function; its ``xi`` is the static array ``<name>_xi`` of a standalone project."""
        return f"hippo_dense_{self.name}"

    def weight_file(self, directory):
        """Path of the file holding ``xi`` in the standalone project in ``directory`` (rewritten for new patterns)."""
        return os.path.join(directory, "static_arrays", f"{self._function_name}_xi")

    def rebind_weights(self, weights, network):
        """Read ``weights`` instead of the current ``xi`` from now on (runtime targets, built network).

        ``weights`` must have the shape and dtype of the current ``xi``; it is
        not copied. The product's Cython implementation and the code objects
        of ``network`` that hold the old array in their namespaces get the new
        one (they read their namespaces at every call), so a built network
        runs with new patterns without regenerating its code.
        """
        weights = np.ascontiguousarray(weights, dtype=self.dtype)
        if weights.shape != self.weights.shape:
            raise ValueError(f"projection {self.name!r}: new weights must have shape {self.weights.shape}, "
                             f"got {weights.shape}")
        name, cython_ns = self._runtime_xi
        old = cython_ns[f"{name}_xi"]
        new = weights.ravel()
        cython_ns[f"{name}_xi"] = new
        for obj in network.sorted_objects:
            codeobj = getattr(obj, "codeobj", None)
            for key, value in (getattr(codeobj, "namespace", None) or {}).items():
                if value is old:
                    codeobj.namespace[key] = new
        self.weights = weights

    def _build_per_neuron(self):
        """brian2cuda: one GPU thread per neuron computes its own input.

        Thread ``(b, i)`` of the features sums the column ``xi[:, i]`` against
        ``f[b, :]`` (neighbouring threads read neighbouring addresses: coalesced),
        thread ``(b, mu)`` of the memories the row ``xi[mu, :]`` against
        ``g[b, :]``. The other population's activations are read through
        brian2cuda's device-global array pointers (``brian::d_array_...``).
        """
        CUDAStandaloneCodeObject = cuda_standalone_codeobject()
        device = get_device()
        live = {k: standalone_array(device, v, gpu=True) for k, v in self._arrays().items()}
        ctype = "double" if self.dtype == np.float64 else "float"
        base = self._function_name
        ns = {f"{base}_xi": self.weights.ravel()}
        n_pre, n_post = self.pre.n, self.post.n
        bodies = {
            "pre": (n_pre, f"""
    const int b = k / {n_pre}, i = k % {n_pre};
    const double* f = {live['f']} + (size_t)b * {n_post};
    double acc = 0.0;
    for (int mu = 0; mu < {n_post}; mu++)
        acc += (double)_namespace{base}_xi[(size_t)mu * {n_pre} + i] * f[mu];
    return acc;"""),
            "post": (n_post, f"""
    const int b = k / {n_post}, mu = k % {n_post};
    const double* g = {live['g']} + (size_t)b * {n_pre};
    const {ctype}* row = _namespace{base}_xi + (size_t)mu * {n_pre};
    double acc = 0.0;
    for (int i = 0; i < {n_pre}; i++)
        acc += (double)row[i] * g[i];
    return acc;"""),
        }
        sides = (("post", self.post),) if self.recurrent else (("pre", self.pre), ("post", self.post))
        for side, pop in sides:
            name = f"{base}_{side}"
            fn = Function(None, arg_units=[1], arg_types=["integer"], return_unit=1, stateless=False)
            code = f"__device__ double {name}(const int k)\n{{{bodies[side][1]}\n}}\n"
            fn.implementations.add_implementation(CUDAStandaloneCodeObject, code, namespace=ns, name=name)
            if pop.group.namespace is None:
                pop.group.namespace = {}
            pop.group.namespace[name] = fn
            pop.group.run_regularly(f"{self.input_name} = {name}(i)", when="groups", order=ORDER_COUPLING,
                                    name=f"{self.name}_{side}_input")
        return []


def _blas_prefix(dtype):
    return "d" if dtype == np.float64 else "s"


def _cython_code(name, dtype, recurrent=False):
    """Cython: the two products on the live arrays.

    One copy (batch of one): one fused pass over ``xi`` (:func:`_fused_pass`,
    C at -O3 inside the module), each row read once for both directions,
    ``u_post[m] = xi[m, :] . g`` and ``u_pre += f[m] xi[m, :]``. A batch:
    BLAS ``?gemm`` through ``scipy.linalg.cython_blas``; row-major ``xi``
    (N_post x N_pre) is column-major ``xi^T`` (N_pre x N_post), so
    ``u_pre^T = xi^T F^T`` is ``gemm('N', 'N')`` and ``u_post^T = xi G^T`` is
    ``gemm('T', 'N')``. The sizes come from the namespace array ``dims``, so
    the code (and its compiled module in Brian2's cache) is the same for
    every network size. A recurrent block (``u_pre`` and ``u_post`` are one
    array) computes only ``u_post``.
    """
    p = _blas_prefix(dtype)
    ctype = "double" if p == "d" else "float"
    ns = f"_namespace{name}"
    if p == "d":
        g, f, upre, upost, convert_in, convert_out = f"{ns}_g", f"{ns}_f", f"{ns}_u_pre", f"{ns}_u_post", "", ""
    else:  # float32: on rounded copies of the activations, in float arithmetic (as ?gemm)
        g, f, upre, upost = f"{ns}_g32", f"{ns}_f32", f"{ns}_upre32", f"{ns}_upost32"
        convert_in = f"""
    for k in range(batch * n_pre):
        {g}[k] = <float> {ns}_g[k]
    for k in range(batch * n_post):
        {f}[k] = <float> {ns}_f[k]"""
        convert_out = ("" if recurrent else f"""
    for k in range(batch * n_pre):
        {ns}_u_pre[k] = {upre}[k]""") + f"""
    for k in range(batch * n_post):
        {ns}_u_post[k] = {upost}[k]"""
    # a recurrent block (u_pre is u_post) computes only u_post
    pre_gemm = "" if recurrent else f"""
        {p}gemm(&trans_n, &trans_n, &n_pre, &batch, &n_post, &alpha, {ns}_xi, &n_pre, {f}, &n_post,
                &zero, {upre}, &n_pre)"""
    fused = _fused_name(ctype, ctype, recurrent)
    zero_pre = "" if recurrent else f"""
        for k in range(n_pre):
            {upre}[k] = 0"""
    return f"""
from scipy.linalg.cython_blas cimport {p}gemm

cdef extern from *:
    \"\"\"
{_fused_pass(ctype, ctype, recurrent)}
    \"\"\"
    void {fused}(int n_pre, int n_post, const {ctype}* xi, const {ctype}* g, const {ctype}* f,
        {ctype}* u_pre, {ctype}* u_post) nogil

cdef double {name}(double t, int part):
    cdef int n_pre = {ns}_dims[0], n_post = {ns}_dims[1], batch = {ns}_dims[2]
    cdef {ctype} alpha = 1.0, zero = 0.0
    cdef char trans_n = b'N', trans_t = b'T'
    cdef Py_ssize_t k{convert_in}
    if batch == 1:{zero_pre}
        {fused}(n_pre, n_post, {ns}_xi, {g}, {f}, {upre}, {upost})
    else:{pre_gemm}
        {p}gemm(&trans_t, &trans_n, &n_post, &batch, &n_pre, &alpha, {ns}_xi, &n_pre, {g}, &n_pre,
                &zero, {upost}, &n_post){convert_out}
    return 0.0
"""


#: Rows of ``xi`` per block of the fused pass: their dot products accumulate side by side and their share of
#: ``u_pre`` is one read-modify-write of it (8 against 4: the same at 1024 x 1024, 5-10% faster at 4096 x 4096;
#: 16 spills registers, 3x slower).
FUSED_ROWS = 8


def _fused_name(wtype, atype, recurrent):
    return f"hippo_fused_pass_{wtype}_{atype}{'_rec' if recurrent else ''}"


def _fused_pass(wtype, atype, recurrent, rows=FUSED_ROWS):
    """C: both products of ``n_rows`` rows of ``xi`` (``wtype``) in one pass, in ``atype`` arithmetic.

    ``u_post[m] = sum_i xi[m, i] g[i]`` and ``u_pre[i] += sum_m f[m] xi[m, i]``
    (``u_pre`` is added to: the caller zeroes it, or sums the parts of a
    split pass into it): each row is read once for both (half the memory
    traffic of two matrix-vector products), ``rows`` rows at a time. A block
    whose ``f[m]`` are all exactly zero (silent memory neurons: rectified
    units, an underflowed softmax) is left out of the second sum, to which it
    adds nothing. A recurrent block (``u_pre`` is ``u_post``) computes
    ``u_post`` only. One kernel for runtime Cython and C++ standalone; on one
    core it is as fast as numpy's two BLAS products on two
    (``benchmarks/results_core_ab_fused.md``).
    """
    fn, w, t = _fused_name(wtype, atype, recurrent), wtype, atype
    r = range(rows)
    heads = "\n".join(f"        const {w}* __restrict r{j} = xi + (size_t)(m + {j}) * n_pre; {t} a{j} = 0;"
                      + ("" if recurrent else f" const {t} f{j} = f[m + {j}];") for j in r)
    dots = " ".join(f"a{j} += r{j}[i] * gi;" for j in r)
    if recurrent:
        block = f"for (int i = 0; i < n_pre; i++) {{ const {t} gi = g[i]; {dots} }}"
    else:
        block = (f"if ({' || '.join(f'f{j} != 0' for j in r)}) {{\n"
                 f"            for (int i = 0; i < n_pre; i++) {{ const {t} gi = g[i]; {dots}\n"
                 f"                u_pre[i] += {' + '.join(f'f{j} * r{j}[i]' for j in r)}; }}\n"
                 f"        }} else {{\n"
                 f"            for (int i = 0; i < n_pre; i++) {{ const {t} gi = g[i]; {dots} }}\n"
                 f"        }}")
    tail = "acc += row[i] * g[i];" if recurrent else "acc += row[i] * g[i]; u_pre[i] += fm * row[i];"
    unused = "(void)u_pre; (void)f;" if recurrent else ""
    body = f"""static void {fn}(int n_pre, int n_rows, const {w}* __restrict xi,
        const {t}* __restrict g, const {t}* __restrict f, {t}* __restrict u_pre, {t}* u_post)
{{
    {unused}
    int m = 0;
    for (; m + {rows} <= n_rows; m += {rows}) {{
{heads}
        {block}
        {" ".join(f"u_post[m + {j}] = a{j};" for j in r)}
    }}
    for (; m < n_rows; m++) {{
        const {w}* __restrict row = xi + (size_t)m * n_pre;
        {t} acc = 0;{"" if recurrent else f" const {t} fm = f[m];"}
        for (int i = 0; i < n_pre; i++) {{ {tail} }}
        u_post[m] = acc;
    }}
}}
"""
    # one definition per translation unit, whichever of a project's products includes it first
    return f"#ifndef {fn.upper()}\n#define {fn.upper()}\n#include <stddef.h>\n{_at_o3(body)}#endif\n"


def _cpp_code(name, n_pre, n_post, batch, dtype, arrays, parts=1, recurrent=False):
    """C++ standalone: the product on the live arrays of the two groups.

    The fused pass of :func:`_fused_pass` over the ``batch * n_post`` rows
    (a row of ``xi`` per memory of each copy), in double. Split in ``parts``
    (one per OpenMP thread, run by Brian2's parallel loop over the coupling
    group): part ``p`` takes a contiguous share of the rows, writes its
    ``u_post`` entries and sums its share of ``u_pre`` into its own slice of
    the static array ``parts``; a second function (next slot) adds the
    slices. Returns the code of the product and of that sum. A recurrent
    block computes ``u_post`` only (its ``u_pre`` is the same array), with no
    sum.
    """
    ctype = "double" if dtype == np.float64 else "float"
    ns = f"_namespace{name}"
    rows = batch * n_post
    n_acc = batch * n_pre
    if recurrent:
        target, zero = "u_post", ""  # passed, never read: the kernel computes u_post only
    else:
        target = arrays["u_pre"] if parts == 1 else f"{ns}_parts + (size_t)part * {n_acc}"
        zero = f"std::memset(acc_pre, 0, sizeof(double) * {n_acc});"
    product = f"""
#include <cstring>
{_fused_pass(ctype, "double", recurrent)}
double {name}(const double t, const int part)
{{
    const int n_pre = {n_pre}, n_post = {n_post};
    const double* __restrict g = {arrays['g']};
    const double* __restrict f = {arrays['f']};
    double* __restrict u_post = {arrays['u_post']};
    double* acc_pre = {target};
    const {ctype}* __restrict xi = {ns}_xi;
    const int chunk = ({rows} + {parts} - 1) / {parts};
    const int first = part * chunk, last = first + chunk < {rows} ? first + chunk : {rows};
    {zero}
    // the part's rows, copy by copy: rows r0..r1 of xi for copy b
    for (int b = first / n_post; first < last && b <= (last - 1) / n_post; b++) {{
        const int r0 = (first > b * n_post ? first : b * n_post) - b * n_post;
        const int r1 = (last < (b + 1) * n_post ? last : (b + 1) * n_post) - b * n_post;
        {_fused_name(ctype, "double", recurrent)}(n_pre, r1 - r0, xi + (size_t)r0 * n_pre, g + (size_t)b * n_pre,
            f + (size_t)b * n_post + r0, acc_pre + (size_t)b * n_pre, u_post + (size_t)b * n_post + r0);
    }}
    return 0.0;
}}
"""
    if recurrent:
        return product, ""
    total = f"""
double {name}_sum(const double t, const int part)
{{
    double* __restrict u_pre = {arrays['u_pre']};
    const double* __restrict partial = {ns}_parts;
    const int chunk = ({n_acc} + {parts} - 1) / {parts};
    const int first = part * chunk, last = first + chunk < {n_acc} ? first + chunk : {n_acc};
    for (int k = first; k < last; k++) {{
        double sum = 0.0;
        for (int p = 0; p < {parts}; p++) sum += partial[(size_t)p * {n_acc} + k];
        u_pre[k] = sum;
    }}
    return 0.0;
}}
"""
    return product, _at_o3(total)


def _at_o3(code):
    """``code`` compiled at -O3 whatever the project's level (GCC; other compilers ignore the pragmas): the
    product is the hot loop that -O3 vectorises, the rest of a project builds at the lighter level."""
    return f"#pragma GCC push_options\n#pragma GCC optimize(\"O3\")\n{code}#pragma GCC pop_options\n"
