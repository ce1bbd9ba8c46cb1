"""Grid modules that integrate the animal's velocity, with noise, pulled back onto a stored map by memory.

Each grid module ``m`` (spacing ``lambda_m``, one orientation shared by every
module, Fyhn et al. 2007) holds a position estimate ``p_m`` (metres; its
phase is ``p_m`` modulo the module's lattice) that integrates the animal's
velocity ``v(t)`` with diffusion noise: the drift of a continuous-attractor
bump is a random walk (Burak & Fiete 2009), and this phase integrator has
those statistics::

    dp_m/dt = v(t) + kappa F_m + sigma_m eta_m(t)          (eta_m: white noise, per axis, per module)

Grid cell ``j`` of module ``m`` fires ``g_j = G(p_m - c_j)``, the three plane
waves of :class:`~hippo_dam.circuits.space.GridModule` (in [0, 1]). The CA3
memory units ``h_mu`` store, for locations ``x_mu`` of a map, the grid
pattern ``xi[mu, j] = G(x_mu - c_j) - 1/3`` (centred: ``G`` averages 1/3 over
space) and the touch-boundary pattern ``b(x_mu)``; they receive the grid cells
and the boundary cells and feed back onto the grid cells::

    tau_h dh_mu/dt = sum_j xi[mu, j] g_j + sum_k B[mu, k] b_k(x(t)) - h_mu,     f = softmax(beta h)
    u_j = sum_mu xi[mu, j] f_mu                                              (the recalled grid pattern)
    F_m = sum_{j in m} u_j grad_p G(p_m - c_j)

so the phases climb the overlap between their own bump and the recalled
pattern: ``kappa F`` is gradient descent on the coupling energy
``-f . xi g(p)`` (with ``v = 0`` and ``sigma = 0`` the energy
``E = sum_mu (h_mu f_mu) - L_h(h) - f . xi g(p) - f . B b`` never rises). This is
the joint attractor of grid and place cells (Agmon & Burak 2020): independent
noise makes the modules disagree, a combination of phases that no stored
location has; the memory recalls the nearest stored location and pulls every
module back onto it (the grid code's error correction, Sreenivasan & Fiete
2011), and at a wall the touch-boundary cells tell the memory where the wall
is (Hardcastle et al. 2015: boundaries correct drift). With the feedback cut
(``kappa = 0``) the modules drift apart freely.

Boundary cells in the dark (an assumption): only touch (whisker) cells fire,
one per wall and preferred distance ``d in {0, 4, 8} cm``, ``b = exp(-(dist -
d)^2 / (2 (3 cm)^2))`` within 12 cm of the wall, 0 beyond.
"""
from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup, StateMonitor, Synapses, TimedArray, linked_var, meter, second

from ..core._compat import set_state_update_order, set_summed_order
from ..core.populations import check_quantity, named_clock
from ..core.schedule import ORDER_ACTIVATION, ORDER_COUPLING, ORDER_STATE_UPDATE
from .space import GridModule, boundary_rates

__all__ = ["PathIntegratingGrid", "PositionDecoder", "touch_boundary_rates", "grid_rates", "TOUCH_DISTANCES_M",
           "TOUCH_WIDTH_M"]

TOUCH_DISTANCES_M = (0.0, 0.04, 0.08)  # preferred distances of the touch-boundary cells (assumption)
TOUCH_WIDTH_M = 0.03
TOUCH_RANGE_M = 0.12  # whisker reach: beyond it a touch cell is silent
ORDER_PHASE_FORCE = ORDER_COUPLING + 2  # the force from this step's feedback, before the Euler step


def touch_boundary_rates(xy, size):
    """Rates (..., 4 * 3) of the touch-boundary cells at positions ``xy`` (..., 2) in a box of ``size`` (m).

    Wall order: x = 0, x = width, y = 0, y = height; per wall the preferred
    distances :data:`TOUCH_DISTANCES_M`; silent beyond whisker reach.
    """
    return boundary_rates(xy, size, TOUCH_DISTANCES_M, TOUCH_WIDTH_M, reach=TOUCH_RANGE_M)


def grid_rates(modules, p):
    """Grid-cell activations (..., n) of ``modules`` for module position estimates ``p`` (..., M, 2) (numpy)."""
    p = np.asarray(p, float)
    return np.concatenate([m.rates(p[..., k, :]) for k, m in enumerate(modules)], axis=-1)


class PathIntegratingGrid:
    """Grid modules integrating velocity with noise, and their grid cells, as one component (module docstring).

    Two groups: ``<name>_phases`` (``p_m``, one neuron per module and copy)
    and ``<name>`` (the grid cells, activation ``g``, the population that
    projections join), and the synapses that sum each module's force.

    Parameters
    ----------
    modules : list of GridModule
        Spacing, orientation (one for all modules) and cell phases.
    velocity : array (T, batch, 2) or (T, 2)
        The animal's velocity (m/s), sample ``k`` held over ``[k dt_velocity, (k+1) dt_velocity)``.
    dt_velocity : Quantity
    start : array (batch, 2) or (2,)
        Initial position estimate of every module (metres; the true start: the light has just gone out).
    noise : Quantity
        ``sigma`` (metre / sqrt(second)), scalar or one per module.
    feedback_gain : Quantity
        ``kappa`` (metre^2 / second), scalar or one per copy (0 cuts the memory feedback).
    batch : int
    name : str
    record_every : Quantity, optional
        Record ``p`` of every module at this interval.
    """

    stage = 0
    energy_role = None
    lyapunov = False  # velocity input and noise: the energy is not a Lyapunov function of the run
    activation = "g"
    region = "MEC"

    def __init__(self, modules, velocity, dt_velocity, start, noise, feedback_gain, batch=1, name="MEC",
                 record_every=None):
        self.modules = list(modules)
        if not self.modules or not all(isinstance(m, GridModule) for m in self.modules):
            raise TypeError("modules must be a non-empty list of GridModule (hippo_dam.grid_modules)")
        self.name, self.batch = name, int(batch)
        M = len(self.modules)
        self.n = sum(len(m.phases) for m in self.modules)
        velocity = np.asarray(velocity, float)
        if velocity.ndim == 2:
            velocity = np.repeat(velocity[:, None, :], self.batch, axis=1)
        if velocity.shape[1:] != (self.batch, 2) or not np.all(np.isfinite(velocity)):
            raise ValueError(f"velocity must be finite with shape (T, 2) or (T, {self.batch}, 2), "
                             f"got {velocity.shape}")
        self.velocity = velocity
        self.dt_velocity = check_quantity(dt_velocity, second, "dt_velocity", "time", "20*ms")
        start = np.broadcast_to(np.asarray(start, float), (self.batch, 2))
        if not np.all(np.isfinite(start)):
            raise ValueError("start must be finite")
        self.start = start
        sigma = np.asarray(check_quantity(noise, meter / second ** 0.5, "noise", "diffusion",
                                          "0.01*meter/second**0.5", positive=False) / (meter / second ** 0.5))
        if np.any(sigma < 0) or sigma.shape not in ((), (M,)):
            raise ValueError(f"noise must be >= 0, a scalar or one value per module ({M}), got {noise}")
        self.sigma = np.broadcast_to(sigma, (M,)).copy()
        kappa = np.asarray(check_quantity(feedback_gain, meter ** 2 / second, "feedback_gain", "gain",
                                          "0.002*meter**2/second", positive=False) / (meter ** 2 / second))
        if np.any(kappa < 0) or kappa.shape not in ((), (self.batch,)):
            raise ValueError(f"feedback_gain must be >= 0, a scalar or one value per copy ({self.batch}), "
                             f"got {feedback_gain}")
        self.kappa = np.broadcast_to(kappa, (self.batch,)).copy()
        self.record_every = record_every
        self.inputs: list[str] = []
        self.state = "g"
        self.group = self.phases = self.monitor = None

    def module_of_cell(self):
        return np.concatenate([np.full(len(m.phases), k) for k, m in enumerate(self.modules)])

    def rates(self, p):
        """Grid-cell activations (..., n) for module position estimates ``p`` (..., M, 2) (:func:`grid_rates`)."""
        return grid_rates(self.modules, p)

    def build(self, dt):
        M, B = len(self.modules), self.batch
        clock = named_clock(dt, f"{self.name}_clock")
        vel = TimedArray(self.velocity.reshape(len(self.velocity), -1), dt=self.dt_velocity,
                         name=f"{self.name}_velocity")
        phases = NeuronGroup(M * B, """dpx/dt = vel(t, 2*copy)*meter/second + kappa*Fx + sigma*xi_x : meter
                                       dpy/dt = vel(t, 2*copy + 1)*meter/second + kappa*Fy + sigma*xi_y : meter
                                       Fx : meter**-1
                                       Fy : meter**-1
                                       kappa : meter**2/second (constant)
                                       sigma : meter*second**-0.5 (constant)
                                       copy : integer (constant)""",
                             method="euler", name=f"{self.name}_phases", clock=clock, namespace={"vel": vel})
        set_state_update_order(phases, ORDER_STATE_UPDATE)
        phases.copy = np.repeat(np.arange(B), M)
        phases.kappa = np.repeat(self.kappa, M) * meter ** 2 / second
        phases.sigma = np.tile(self.sigma, B) * meter / second ** 0.5
        phases.px = np.repeat(self.start[:, 0], M) * meter
        phases.py = np.repeat(self.start[:, 1], M) * meter
        lines = ["g : 1", "gx : meter**-1", "gy : meter**-1", "cx : meter (constant)", "cy : meter (constant)",
                 "pxm : meter (linked)", "pym : meter (linked)"]
        lines += [f"q{k}{a} : meter**-1 (constant)" for k in range(3) for a in "xy"]
        lines.append(("u = " + " + ".join(self.inputs) + " : 1") if self.inputs else "u : 1 (constant)")
        lines += [f"{name} : 1" for name in self.inputs]
        cells = NeuronGroup(self.n * B, "\n".join(lines), name=self.name, clock=clock)
        module = self.module_of_cell()
        cells.pxm = linked_var(phases, "px", index=(np.arange(B)[:, None] * M + module).ravel())
        cells.pym = linked_var(phases, "py", index=(np.arange(B)[:, None] * M + module).ravel())
        c = np.concatenate([m.phases for m in self.modules])
        q = np.concatenate([np.repeat(m.wave_vectors()[None], len(m.phases), axis=0) for m in self.modules])
        cells.cx, cells.cy = np.tile(c[:, 0], B) * meter, np.tile(c[:, 1], B) * meter
        for k in range(3):
            setattr(cells, f"q{k}x", np.tile(q[:, k, 0], B) / meter)
            setattr(cells, f"q{k}y", np.tile(q[:, k, 1], B) / meter)
        arg = [f"(q{k}x*(pxm - cx) + q{k}y*(pym - cy))" for k in range(3)]
        code = (f"g = (cos{arg[0]} + cos{arg[1]} + cos{arg[2]} + 1.5)/4.5\n"
                + "\n".join(f"g{a} = -(q0{a}*sin{arg[0]} + q1{a}*sin{arg[1]} + q2{a}*sin{arg[2]})/4.5"
                            for a in "xy"))
        act = cells.run_regularly(code, when="groups", order=ORDER_ACTIVATION, name=f"{self.name}_activation")
        force = Synapses(cells, phases, "Fx_post = u_pre*gx_pre : meter**-1 (summed)\n"
                                        "Fy_post = u_pre*gy_pre : meter**-1 (summed)",
                         name=f"{self.name}_force", clock=clock)
        force.connect(i=np.arange(self.n * B, dtype=np.int32),
                      j=(np.arange(B)[:, None] * M + module).ravel().astype(np.int32))
        set_summed_order(force, ORDER_PHASE_FORCE)
        objects = [phases, cells, act, force]
        if self.record_every is not None:
            self.monitor = StateMonitor(phases, ["px", "py"], record=True, name=f"{self.name}_phase_monitor",
                                        clock=named_clock(self.record_every, f"{self.name}_phase_monitor_clock"))
            objects.append(self.monitor)
        self.group, self.phases = cells, phases
        return objects

    def recorded_positions(self):
        """Times (s) and the module position estimates (batch, T, M, 2) recorded during the last run."""
        if self.monitor is None:
            raise RuntimeError(f"{self.name!r} records nothing: give record_every")
        M, B = len(self.modules), self.batch
        px = np.asarray(self.monitor.px / meter).reshape(B, M, -1)
        py = np.asarray(self.monitor.py / meter).reshape(B, M, -1)
        return np.asarray(self.monitor.t / second), np.stack([px, py], axis=-1).transpose(0, 2, 1, 3)


class PositionDecoder:
    """The position a population reads out, ``x_hat = sum_mu a_mu x_mu / sum_mu a_mu`` (population vector).

    One neuron per copy sums the activations ``a`` weighted by each unit's
    stored location; a monitor records it every ``every``.

    Parameters
    ----------
    source : population
        The memory units (softmax activations).
    locations : array (n, 2)
        Stored location of each unit (metres).
    every : Quantity
    name : str
    """

    stage = 1
    energy_role = None
    lyapunov = True

    def __init__(self, source, locations, every, name="decoder"):
        locations = np.asarray(locations, float)
        if locations.shape != (source.n, 2) or not np.all(np.isfinite(locations)):
            raise ValueError(f"locations must be finite with shape ({source.n}, 2), got {locations.shape}")
        self.source, self.locations, self.name = source, locations, name
        self.every = check_quantity(every, second, "every", "time", "100*ms")
        self.group = self.monitor = None

    def build(self, dt):
        src, B = self.source, self.source.batch
        clock = src.group.clock
        group = NeuronGroup(B, "sx : 1\nsy : 1\ns : 1\nx_hat = sx/s : 1\ny_hat = sy/s : 1", name=self.name,
                            clock=clock)
        syn = Synapses(src.group, group, f"lx : 1 (constant)\nly : 1 (constant)\n"
                                         f"sx_post = {src.activation}_pre*lx : 1 (summed)\n"
                                         f"sy_post = {src.activation}_pre*ly : 1 (summed)\n"
                                         f"s_post = {src.activation}_pre : 1 (summed)",
                       name=f"{self.name}_sums", clock=clock)
        syn.connect(i=np.arange(src.n * B, dtype=np.int32), j=np.repeat(np.arange(B), src.n).astype(np.int32))
        syn.lx, syn.ly = np.tile(self.locations[:, 0], B), np.tile(self.locations[:, 1], B)
        self.monitor = StateMonitor(group, ["x_hat", "y_hat"], record=True, when="after_groups",
                                    name=f"{self.name}_monitor",
                                    clock=named_clock(self.every, f"{self.name}_monitor_clock"))
        self.group = group
        return [group, syn, self.monitor]

    def decoded(self):
        """Times (s) and decoded positions (batch, T, 2) of the last run."""
        x = np.asarray(self.monitor.x_hat).reshape(self.source.batch, -1)
        y = np.asarray(self.monitor.y_hat).reshape(self.source.batch, -1)
        return np.asarray(self.monitor.t / second), np.stack([x, y], axis=-1)
