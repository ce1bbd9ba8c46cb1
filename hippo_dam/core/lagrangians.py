"""Lagrangians of neuron layers: one definition gives value, activation and Brian2 code.

A layer of neurons with states ``x`` (dimensionless) is described by a convex
Lagrangian ``L(x)``; its activation is the gradient ``g = dL/dx``
(Krotov & Hopfield 2021, eq. 1-3). Each Lagrangian here is written once, as
expression strings in Brian2's mathematical language (``exp``, ``log``,
``tanh``, ``abs``, ``sign``, ``sqrt``, ``clip``). The same strings are

* evaluated with numpy (the reference integrator and the offline energy), and
* substituted into the Brian2 equations of the population (code generation).

Additive Lagrangians are a sum of one-neuron terms ``L = sum_i l(x_i)``.
Non-additive ones (log-sum-exp, the Euclidean norm) depend on the whole layer
through *reductions*: population-wide maxima or sums that the Brian2 network
computes every time step (see :mod:`hippo_dam.core.populations`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = [
    "Reduction",
    "Lagrangian",
    "identity",
    "tanh",
    "sigmoid",
    "sign",
    "rectified_power",
    "power",
    "exponential",
    "log_sum_exp",
    "softmax",
    "grouped_log_sum_exp",
    "euclidean_norm",
    "layer_norm",
    "make_lagrangian",
    "LAGRANGIANS",
]

# Names a Lagrangian expression may use, with their numpy meaning. They are the
# Brian2 default functions of the same name, so one string serves both.
_NUMPY_NAMESPACE = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "cosh": np.cosh,
    "abs": np.abs,
    "sign": np.sign,
    "sqrt": np.sqrt,
    "clip": np.clip,
    "inf": np.inf,
    "__builtins__": {},
}

# Names used by the populations themselves; parameters and reductions must not
# shadow them.
RESERVED_NAMES = frozenset(
    {"x", "v", "h", "g", "f", "u", "I", "tau", "t", "dt", "i", "j", "N", "xi"}
)


@dataclass(frozen=True)
class Reduction:
    """A population-wide quantity computed every step before the activations.

    Parameters
    ----------
    name : str
        Variable name used in the Lagrangian's expressions.
    op : {'max', 'sum'}
        ``max_i expr(x_i)`` or ``sum_i expr(x_i)``.
    expr : str
        Per-neuron expression in ``x``, the parameters and earlier reductions.
    """

    name: str
    op: str
    expr: str

    def __post_init__(self):
        if self.op not in ("max", "sum"):
            raise ValueError(f"Reduction {self.name!r}: op must be 'max' or 'sum', got {self.op!r}")


@dataclass(frozen=True)
class Lagrangian:
    """A convex Lagrangian of a neuron layer and its gradient, the activation.

    Parameters
    ----------
    name : str
        Short name (``'tanh'``, ``'log_sum_exp'``...), used in model files.
    value_expr : str
        For an additive Lagrangian, the one-neuron term ``l(x)`` with
        ``L = sum_i l(x_i)``. Otherwise the layer value, written with the
        reductions (for example ``'m + log(Z)/beta'``).
    activation_expr : str
        ``g_i = dL/dx_i`` as an expression in ``x`` (the neuron's own state),
        the parameters and the reductions.
    params : mapping of str to float
        Dimensionless parameters (inverse temperature ``beta``, degree...).
    reductions : tuple of Reduction
        Population-wide quantities, empty for an additive Lagrangian.
    value_from_activation : str
        Optional: the additive term ``l(x)`` written with the neuron's own
        activation ``act = g(x)`` where that is cheaper than ``value_expr``
        (the rectified power ``l = max(x, 0)^n = max(x, 0) act / n``: no second
        ``pow`` per neuron and step in the online energy). Equal to
        ``value_expr`` wherever both are defined; the online energy of a
        Brian2 run uses it, the numpy references use ``value_expr``.
    group_size : int
        0: the reductions run over the whole layer. ``G > 0``: the layer is cut
        into consecutive groups of ``G`` neurons, each reduction runs within
        each group, and ``value_expr`` is a *per-neuron* term summed over the
        layer (``L = sum_i value_i``; for a group-wise ``L = sum_g L_g`` write
        ``L_g / G``), see :func:`grouped_log_sum_exp`.

    Notes
    -----
    All quantities are dimensionless, as in the paper: time constants carry
    the units of the dynamics.
    """

    name: str
    value_expr: str
    activation_expr: str
    params: Mapping[str, float] = field(default_factory=dict)
    reductions: tuple = ()
    group_size: int = 0
    value_from_activation: str = ""

    def __post_init__(self):
        if int(self.group_size) != self.group_size or self.group_size < 0:
            raise ValueError(f"Lagrangian {self.name!r}: group_size must be an integer >= 0, got {self.group_size!r}")
        if self.group_size and not self.reductions:
            raise ValueError(f"Lagrangian {self.name!r}: group_size needs reductions to group")
        object.__setattr__(self, "params", {k: float(v) for k, v in dict(self.params).items()})
        for key, val in self.params.items():
            if key in RESERVED_NAMES:
                raise ValueError(f"Lagrangian {self.name!r}: parameter name {key!r} is reserved")
            if not np.isfinite(val):
                raise ValueError(f"Lagrangian {self.name!r}: parameter {key}={val} is not finite")
        earlier, sums = set(), set()
        for red in self.reductions:
            if red.name in RESERVED_NAMES or red.name in self.params or red.name in earlier:
                raise ValueError(f"Lagrangian {self.name!r}: reduction name {red.name!r} clashes")
            used = _identifiers(red.expr) & {r.name for r in self.reductions}
            if used - earlier:
                raise ValueError(f"Lagrangian {self.name!r}: reduction {red.name!r} uses {sorted(used - earlier)}, "
                                 "which are not earlier reductions")
            if red.op == "max" and used & sums:
                raise ValueError(f"Lagrangian {self.name!r}: the maximum {red.name!r} uses the sums "
                                 f"{sorted(used & sums)}; layer maxima run before the layer sums")
            earlier.add(red.name)
            if red.op == "sum":
                sums.add(red.name)
        if self.value_from_activation and self.reductions:
            raise ValueError(f"Lagrangian {self.name!r}: value_from_activation is for additive Lagrangians only")
        for expr in self._all_expressions() + ([self.value_from_activation] if self.value_from_activation else []):
            unknown = _identifiers(expr) - set(_NUMPY_NAMESPACE) - self._symbols() - {"act"}
            if unknown:
                raise ValueError(
                    f"Lagrangian {self.name!r}: unknown names {sorted(unknown)} in {expr!r}"
                )

    # -- description -------------------------------------------------------
    @property
    def additive(self) -> bool:
        """True when ``L = sum_i l(x_i)``, so ``g_i`` depends on ``x_i`` only."""
        return not self.reductions

    @property
    def grouped(self) -> bool:
        """True when the reductions run within groups of ``group_size`` neurons (value summed per neuron)."""
        return bool(self.group_size)

    @property
    def structure(self) -> tuple:
        """What the generated Brian2 code depends on: the expressions, the parameters' names (their values
        are constants of the groups), the reductions, the group size and the online energy's form."""
        return (self.value_expr, self.activation_expr, tuple(sorted(self.params)), self.reductions, self.group_size,
                self.value_from_activation)

    def check_layer_size(self, n, what="layer"):
        """Raise ``ValueError`` unless a layer of ``n`` neurons can hold this Lagrangian's groups."""
        if self.group_size and n % self.group_size:
            raise ValueError(f"{what}: {n} neurons cannot be cut into groups of {self.group_size} "
                             f"({self!r} needs a multiple of its group size)")

    def sum_passes(self):
        """The sum reductions in passes over the layer: a sum using an earlier sum goes in a later pass.

        Returns a list of lists of :class:`Reduction`; pass ``k`` needs only the
        maxima and the sums of passes ``< k`` (the layer norm: ``D`` and ``s1``,
        then the centred ``c2 = sum (x - s1/D)^2``).
        """
        level = {}
        for red in self.reductions:
            if red.op == "sum":
                deps = [level[n] + 1 for n in _identifiers(red.expr) if n in level]
                level[red.name] = max(deps, default=0)
        passes = [[] for _ in range(max(level.values(), default=-1) + 1)]
        for red in self.reductions:
            if red.op == "sum":
                passes[level[red.name]].append(red)
        return passes

    def _symbols(self):
        return {"x"} | set(self.params) | {r.name for r in self.reductions}

    def _all_expressions(self):
        return [self.value_expr, self.activation_expr] + [r.expr for r in self.reductions]

    def __repr__(self):
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def to_dict(self) -> dict:
        """Name and parameters, as written in a model file."""
        return {"name": self.name, **self.params}

    # -- numpy evaluation (layer on the last axis, any leading batch axes) --
    def _namespace(self, x):
        x = np.asarray(x, dtype=float)
        if self.group_size:
            self.check_layer_size(x.shape[-1])
            shape, grouped = x.shape, x.reshape(x.shape[:-1] + (x.shape[-1] // self.group_size, self.group_size))
            ns = {"x": grouped, **self.params}
            with np.errstate(over="ignore", under="ignore"):
                for red in self.reductions:
                    per_neuron = np.broadcast_to(_eval(red.expr, ns), grouped.shape)
                    reduce = np.max if red.op == "max" else np.sum
                    ns[red.name] = reduce(per_neuron, axis=-1, keepdims=True)
            for red in self.reductions:  # one value per neuron: its group's
                ns[red.name] = np.broadcast_to(ns[red.name], grouped.shape).reshape(shape)
            ns["x"] = x
            return ns
        ns = {"x": x, **self.params}
        with np.errstate(over="ignore", under="ignore"):
            for red in self.reductions:
                per_neuron = np.broadcast_to(_eval(red.expr, ns), x.shape)
                reduce = np.max if red.op == "max" else np.sum
                ns[red.name] = reduce(per_neuron, axis=-1, keepdims=True)
        return ns

    def activation(self, x):
        """Activation ``g = dL/dx`` of a layer state ``x`` (last axis = neurons).

        Returns an array of the same shape as ``x``.
        """
        ns = self._namespace(x)
        with np.errstate(over="ignore", under="ignore"):
            return np.broadcast_to(_eval(self.activation_expr, ns), ns["x"].shape).astype(float)

    def value(self, x):
        """The Lagrangian ``L(x)`` of a layer (sums over the last axis)."""
        ns = self._namespace(x)
        with np.errstate(over="ignore", under="ignore"):
            val = _eval(self.value_expr, ns)
            if self.additive or self.grouped:
                return np.sum(np.broadcast_to(val, ns["x"].shape), axis=-1)
            return np.asarray(val)[..., 0]

    def legendre(self, x, offset=0.0):
        """Legendre term ``sum_i (x_i - offset_i) g_i - L(x)`` of the energy."""
        x = np.asarray(x, dtype=float)
        return np.sum((x - offset) * self.activation(x), axis=-1) - self.value(x)

    # -- Brian2 code --------------------------------------------------------
    def brian_expression(self, expr: str, state: str, suffix: str = "", red_suffix: str = "",
                         activation: str = "act") -> str:
        """One of this Lagrangian's expressions, written for a Brian2 group.

        ``x`` becomes ``state + suffix`` (``'h_pre'``), ``act`` becomes
        ``activation + suffix``, parameters get ``suffix`` and reductions
        ``red_suffix``.
        """
        subs = {"x": state + suffix, "act": activation + suffix}
        subs.update({p: p + suffix for p in self.params})
        subs.update({r.name: r.name + red_suffix for r in self.reductions})
        return _word_substitute(expr, subs)

    # -- checks -------------------------------------------------------------
    def check_convex(self, points=None, rng=None, tol=1e-7, span=(-6.0, 6.0)):
        """Raise ``ValueError`` unless ``L`` is convex (its Hessian PSD), so the energy is a Lyapunov function.

        Additive ``L = sum_i l(x_i)``: ``l''(x) >= 0``, with ``l''`` the exact
        second derivative of ``value_expr`` (sympy). Where sympy proves
        ``l'' >= 0`` for every real ``x`` the check ends there; otherwise
        ``l''`` is evaluated on 1201 points of ``span`` (or on ``points``: a run
        checks the range its states reached), and, for an expression without
        kinks, its limits at ``x -> +-inf`` are taken, so a term concave far
        from 0 is refused whatever the grid. Non-additive: the Hessian by
        central differences of the activation at 8 random layer states (or at
        ``points``, rows of layer states), smallest eigenvalue ``>= 0``.

        Either way :meth:`check_gradient` runs first: an activation that is not
        the gradient of the value is refused too.
        """
        rng = np.random.default_rng(0) if rng is None else rng
        self.check_gradient(rng=np.random.default_rng(rng.integers(2**32)))
        eps = 1e-5
        if self.additive:
            if points is None:
                lo, hi = (float(s) for s in span)
                if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                    raise ValueError(f"check_convex: span must be two finite numbers lo < hi, got {span!r}")
                x = np.linspace(lo, hi, 1201) + 1e-3 * (hi - lo) / 12
            else:
                x = np.unique(np.asarray(points, float).ravel())
            exact = _second_derivative(self.value_expr, tuple(sorted(self.params.items())))
            if exact is not None and exact.nonnegative:
                return
            if exact is not None and exact.limits:
                for where, lim in exact.limits:
                    if lim < 0:
                        raise ValueError(f"Lagrangian {self!r} is not convex: d^2L/dx^2 -> {lim:.3g} as x -> {where} "
                                         "(concave far from 0); the energy would not be a Lyapunov function")
            if exact is not None:
                d2 = exact(x)
            else:
                d2 = (self.activation(x + eps) - self.activation(x - eps)) / (2 * eps)
            bad = d2 < -tol * (1 + np.abs(d2))
            if np.any(bad):
                raise ValueError(
                    f"Lagrangian {self!r} is not convex: d^2L/dx^2 = {d2[bad][0]:.3g} < 0 "
                    f"at x = {x[bad][0]:.3g}; the energy would not be a Lyapunov function"
                )
            return
        n = 2 * self.group_size if self.grouped else 6
        xs = rng.normal(size=(8, n)) if points is None else np.atleast_2d(np.asarray(points, float))
        n = xs.shape[-1]
        for x in xs:
            hess = np.empty((n, n))
            h = eps * max(1.0, float(np.max(np.abs(x))))
            for k in range(n):
                e = np.zeros(n)
                e[k] = h
                hess[:, k] = (self.activation(x + e) - self.activation(x - e)) / (2 * h)
            eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
            if eig.min() < -tol * max(1.0, abs(eig).max()) * 1e2:
                raise ValueError(
                    f"Lagrangian {self!r} is not convex: Hessian eigenvalue {eig.min():.3g} < 0"
                    + ("" if points is None else f" at the layer state {np.round(x, 3).tolist()[:8]}")
                )

    def check_gradient(self, rng=None, rtol=1e-4):
        """Raise ``ValueError`` unless the activation is the gradient of the value, ``g_i = dL/dx_i``.

        Compares the activation with central differences of ``L`` at test points
        (additive: 61 points in [-3, 3]; otherwise 8 random layer states of 6 neurons,
        or of two groups when grouped).
        """
        rng = np.random.default_rng(0) if rng is None else rng
        eps = 1e-6
        if self.additive:
            x = (np.linspace(-3, 3, 61) + 1e-3)[:, None]
            numeric = (self.value(x + eps) - self.value(x - eps)) / (2 * eps)
            g = self.activation(x)[:, 0]
        else:
            n = 2 * self.group_size if self.grouped else 6
            x = rng.normal(size=(8, n))
            step = eps * np.eye(n)
            numeric = (self.value(x[:, None, :] + step) - self.value(x[:, None, :] - step)) / (2 * eps)
            g = self.activation(x)
        bad = np.abs(numeric - g) > rtol * (1 + np.abs(g))
        if np.any(bad):
            k = np.argwhere(bad)[0]
            raise ValueError(f"Lagrangian {self!r}: its activation is not the gradient of its value: "
                             f"g = {g[tuple(k)]:.6g} but dL/dx = {numeric[tuple(k)]:.6g} at x = "
                             f"{np.round(x[k[0]], 3).tolist()}")


class _SecondDerivative:
    """``l''(x)`` of a one-neuron term, exact (sympy), callable on numpy arrays."""

    def __init__(self, d2, x):
        import sympy

        self.nonnegative = bool(d2.is_nonnegative)
        # Kinks (|x|, max(x, 0)) give Dirac deltas at isolated points: positive there (a convex kink) and
        # absent at the sampled points; sympy's limits are unreliable across piecewise functions.
        kinked = d2.has(sympy.DiracDelta, sympy.Heaviside, sympy.Abs, sympy.Max, sympy.Min, sympy.sign)
        smooth = d2.replace(sympy.DiracDelta, lambda *a: sympy.Integer(0))
        self._f = sympy.lambdify(x, smooth, modules=[{"Heaviside": lambda z, h=0.5: np.heaviside(z, h)}, "numpy"])
        self.limits = []
        if not (self.nonnegative or kinked):
            for where, point in (("+inf", sympy.oo), ("-inf", -sympy.oo)):
                try:
                    lim = sympy.limit(smooth, x, point)
                    if lim.is_real or lim.is_infinite:
                        self.limits.append((where, float(lim)))
                except Exception:  # noqa: BLE001 - a limit sympy cannot take leaves the sampled check
                    pass

    def __call__(self, x):
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(self._f(x), dtype=float), np.shape(x))


_SECOND: dict = {}


def _second_derivative(value_expr, params):
    """The exact second derivative of ``value_expr`` in ``x`` (cached), or None where sympy cannot take it."""
    key = (value_expr, params)
    if key not in _SECOND:
        try:
            import sympy

            x = sympy.Symbol("x", real=True)
            names = {"exp": sympy.exp, "log": sympy.log, "tanh": sympy.tanh, "cosh": sympy.cosh, "abs": sympy.Abs,
                     "sign": sympy.sign, "sqrt": sympy.sqrt, "inf": sympy.oo, "x": x,
                     "clip": lambda a, lo, hi: sympy.Min(sympy.Max(a, lo), hi)}
            names.update({k: sympy.Integer(int(v)) if float(v).is_integer() else sympy.Float(v) for k, v in params})
            _SECOND[key] = _SecondDerivative(sympy.diff(sympy.sympify(value_expr, locals=names), x, 2), x)
        except Exception:  # noqa: BLE001 - sympy missing or the expression beyond it: central differences
            _SECOND[key] = None
    return _SECOND[key]


def _identifiers(expr):
    return set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", expr))


def _word_substitute(expr, subs):
    for old, new in subs.items():
        expr = re.sub(rf"\b{re.escape(old)}\b", new, expr)
    return expr


_COMPILED: dict = {}


def _eval(expr, ns):
    code = _COMPILED.get(expr)
    if code is None:
        code = _COMPILED[expr] = compile(expr, "<lagrangian>", "eval")
    return eval(code, _NUMPY_NAMESPACE, ns)  # noqa: S307 - expressions are ours or validated


def _positive(name, value, what):
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what}: {name} must be a positive finite number, got {value}")
    return value


# -- the shipped Lagrangians ------------------------------------------------
def identity() -> Lagrangian:
    """``L = sum x^2 / 2``, ``g = x`` (linear neurons)."""
    return Lagrangian("identity", "x**2/2", "x")


def tanh() -> Lagrangian:
    """``L = sum log cosh x``, ``g = tanh x``.

    Written as ``|x| + log(1 + exp(-2|x|)) - log 2`` so that it cannot overflow.
    """
    return Lagrangian("tanh", "abs(x) + log(1 + exp(-2*abs(x))) - log(2)", "tanh(x)")


def sigmoid() -> Lagrangian:
    """``L = sum log(1 + e^x)`` (softplus), ``g = 1/(1 + e^-x)`` (logistic).

    Overflow-safe forms: ``max(x,0) + log(1 + e^-|x|)`` and ``(1 + tanh(x/2))/2``.
    """
    return Lagrangian("sigmoid", "clip(x, 0, inf) + log(1 + exp(-abs(x)))", "0.5*(1 + tanh(0.5*x))")


def sign() -> Lagrangian:
    """``L = sum |x|``, ``g = sign x`` (binary neurons; model A and C's memory-free limit)."""
    return Lagrangian("sign", "abs(x)", "sign(x)")


def rectified_power(degree: float = 3.0) -> Lagrangian:
    """``L = sum F(x)`` with ``F(x) = max(x, 0)^n``, ``g = n max(x, 0)^(n-1)``.

    The rectified polynomial energy of Krotov & Hopfield (2016); ``n = 2`` is
    the rectified classical net. Requires ``n > 1`` (for ``n = 1`` the
    activation is a step and ``0^0`` would be ambiguous).
    """
    degree = float(degree)
    if not np.isfinite(degree) or degree <= 1:
        raise ValueError(f"rectified_power: degree must be > 1, got {degree}")
    return Lagrangian(
        "rectified_power",
        "clip(x, 0, inf)**degree",
        "degree*clip(x, 0, inf)**(degree - 1)",
        {"degree": degree},
        value_from_activation="clip(x, 0, inf)*act/degree",
    )


def power(degree: int = 2) -> Lagrangian:
    """``L = sum F(x)`` with the plain power ``F(x) = x^n``, ``g = n x^(n-1)`` (integer ``n >= 2``).

    The polynomial interaction of Krotov & Hopfield (2016) as written in their
    capacity formula. Convex only for even ``n``: an odd degree is fine as the
    interaction function of the binary effective model
    (:mod:`hippo_dam.theory.effective`) but fails :meth:`Lagrangian.check_convex`, so
    a two-layer network refuses it.
    """
    if isinstance(degree, bool) or float(degree) != int(degree) or int(degree) < 2:
        raise ValueError(f"power: degree must be an integer >= 2, got {degree}")
    return Lagrangian("power", "x**degree", "degree*x**(degree - 1)", {"degree": int(degree)},
                      value_from_activation="x*act/degree")


def exponential(beta: float = 1.0) -> Lagrangian:
    """``L = sum exp(beta x) / beta``, ``g = exp(beta x)`` (Demircigil et al. 2017)."""
    beta = _positive("beta", beta, "exponential")
    return Lagrangian("exponential", "exp(beta*x)/beta", "exp(beta*x)", {"beta": beta})


def log_sum_exp(beta: float = 1.0) -> Lagrangian:
    """``L = (1/beta) log sum_mu exp(beta x_mu)``, ``g = softmax(beta x)``.

    Overflow-safe: with ``m = max_mu x_mu`` and ``Z = sum exp(beta (x - m))``,
    ``L = m + log(Z)/beta`` and ``g = exp(beta (x - m)) / Z``, so no exponent
    is positive whatever ``beta |x|``.
    """
    beta = _positive("beta", beta, "log_sum_exp")
    return Lagrangian(
        "log_sum_exp",
        "m + log(Z)/beta",
        "exp(beta*(x - m))/Z",
        {"beta": beta},
        (Reduction("m", "max", "x"), Reduction("Z", "sum", "exp(beta*(x - m))")),
    )


softmax = log_sum_exp


def grouped_log_sum_exp(beta: float = 1.0, size: int = 2) -> Lagrangian:
    """A softmax within each group of ``size`` consecutive neurons (a competition per group).

    The layer of ``n = n_groups * size`` neurons is cut into consecutive groups
    ``g`` (neurons ``g*size ... g*size + size - 1``)::

        L = sum_g (1/beta) log sum_{i in g} exp(beta x_i)          g_i = exp(beta x_i) / sum_{j in g(i)} exp(beta x_j)

    the sum of one :func:`log_sum_exp` per group, so its Hessian is block
    diagonal with one softmax Hessian (PSD) per group: convex, and the energy
    stays a Lyapunov function. Overflow-safe as :func:`log_sum_exp` (``m``, ``Z``
    are the group's maximum and partition sum; on Brian2 each is one neuron of
    the layer group per group and copy). ``value_expr`` is the per-neuron share
    ``(m + log(Z)/beta)/size`` of its group's term. Used for the parts layer of
    :mod:`hippo_dam.experiments.kanji_hierarchy` (one atom per patch position).
    """
    beta = _positive("beta", beta, "grouped_log_sum_exp")
    if isinstance(size, bool) or float(size) != int(size) or int(size) < 1:
        raise ValueError(f"grouped_log_sum_exp: size must be an integer >= 1, got {size!r}")
    return Lagrangian(
        "grouped_log_sum_exp",
        "(m + log(Z)/beta)/size",
        "exp(beta*(x - m))/Z",
        {"beta": beta, "size": int(size)},
        (Reduction("m", "max", "x"), Reduction("Z", "sum", "exp(beta*(x - m))")),
        group_size=int(size),
    )


def euclidean_norm() -> Lagrangian:
    """``L = sqrt(sum x^2)``, ``g = x / ||x||`` (divisive normalisation, model C).

    Undefined at ``x = 0``: a layer must not start all-zero.
    """
    return Lagrangian(
        "euclidean_norm", "sqrt(n2)", "x/sqrt(n2)", {}, (Reduction("n2", "sum", "x**2"),)
    )


def layer_norm(gamma: float = 1.0, delta: float = 0.0, eps: float = 1e-5) -> Lagrangian:
    """Layer normalisation as a Lagrangian (HAMUX; Hoover et al. 2022)::

        L = gamma D sqrt(var(x) + eps) + delta sum_i x_i
        g_i = dL/dx_i = gamma (x_i - mean(x)) / sqrt(var(x) + eps) + delta

    with ``mean(x) = (1/D) sum_i x_i`` and ``var(x) = (1/D) sum_i (x_i - mean)^2``
    over the ``D`` neurons of the layer: the activation is the layer norm of
    ``x`` with scale ``gamma`` and bias ``delta``. Convex for ``gamma >= 0``
    (``sqrt`` of a convex quadratic plus a linear term); its Hessian
    ``gamma/sqrt(var + eps) (P - y y^T/D)`` (``P`` the centring projector,
    ``y`` the normalised state) is PSD.

    The mean and variance are computed in two passes over the layer (the
    corrected two-pass algorithm; Chan, Golub & LeVeque 1983), on every code
    generation target (numpy included: no layer maximum): ``D = sum 1`` and
    ``s1 = sum x``, then ``c1 = sum (x - s1/D)`` and ``c2 = sum (x - s1/D)^2``,
    with ``mean = s1/D + c1/D`` and ``var = c2/D - (c1/D)^2``; ``c1`` is the
    rounding error of the first mean. The one-pass ``s2/D - (s1/D)^2`` loses
    the variance to cancellation when the layer sits far from 0 (a layer at
    ``1e4 +- 0.01``: activation off by 1e-4).
    ``eps > 0`` keeps the square root away from 0. Overflow-safe for
    ``|x| < 1e154`` (where ``x^2`` is finite in float64).
    """
    gamma = _positive("gamma", gamma, "layer_norm")
    delta = float(delta)
    if not np.isfinite(delta):
        raise ValueError(f"layer_norm: delta must be finite, got {delta}")
    eps = _positive("eps", eps, "layer_norm")
    sd = "sqrt(c2/D - (c1/D)**2 + eps)"
    return Lagrangian(
        "layer_norm",
        f"gamma*D*{sd} + delta*s1",
        f"gamma*(x - s1/D - c1/D)/{sd} + delta",
        {"gamma": gamma, "delta": delta, "eps": eps},
        (Reduction("D", "sum", "1"), Reduction("s1", "sum", "x"),
         Reduction("c1", "sum", "x - s1/D"), Reduction("c2", "sum", "(x - s1/D)**2")),
    )


LAGRANGIANS = {
    "identity": identity,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "sign": sign,
    "rectified_power": rectified_power,
    "power": power,
    "exponential": exponential,
    "log_sum_exp": log_sum_exp,
    "softmax": log_sum_exp,
    "grouped_log_sum_exp": grouped_log_sum_exp,
    "euclidean_norm": euclidean_norm,
    "layer_norm": layer_norm,
}


def make_lagrangian(spec) -> Lagrangian:
    """A Lagrangian from a name, a ``{'name': ..., **params}`` mapping, or itself.

    Raises ``ValueError`` naming the unknown Lagrangian or parameter.
    """
    if isinstance(spec, Lagrangian):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"A Lagrangian is given by a name or a table with 'name', got {spec!r}")
    spec = dict(spec)
    name = spec.pop("name")
    if name not in LAGRANGIANS:
        raise ValueError(f"Unknown Lagrangian {name!r}; known: {sorted(LAGRANGIANS)}")
    try:
        return LAGRANGIANS[name](**spec)
    except TypeError as err:
        raise ValueError(f"Lagrangian {name!r}: bad parameters {sorted(spec)} ({err})") from None
