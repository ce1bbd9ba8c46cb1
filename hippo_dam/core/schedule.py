"""The step schedule: the fixed order of operations in one Brian2 time step.

Every network of the package (the two-layer model, the hierarchy, the general
network, the circuits) runs the same explicit Euler step, whose parts are
placed in Brian2's schedule by slot (``when``) and ``order``::

    slot            order  operation
    before_groups   0, 1   layer maxima                (non-additive Lagrangians: softmax)
    groups         -30     layer sums                  (summed variables into a layer group at -29)
    groups         -29     second pass of layer sums   (a sum using a sum: the layer norm's centred variance)
    groups         -30     interneuron pool mean       (CA3 with dynamic inhibition, group at -29)
    groups         -20     activations a = dL/dx       (from the current state)
    groups         -11     instantaneous relay input   (EC-V with tau_V = 0, group at -10)
    groups          -5     relay copy                  (z = its summed input)
    groups          -1     coupling inputs u           (dense products, or Synapses summed variables)
    groups           4     online energy terms         (summed into the energy group at 5)
    groups          10     Euler step of every state
    after_groups     -     energy recorded             (StateMonitor)

so that every activation, reduction, coupling and energy term of a step is
computed from the states of that step before any state moves: the Brian2 run
is exactly the explicit Euler scheme of the numpy references in
:mod:`hippo_dam.core.reference` (Brian2 updates the summed variables targeting a
group just before the group's own order: ``hippo_dam.core._compat.group_order_for_summed``).
"""
from __future__ import annotations

from ._compat import group_order_for_summed

__all__ = ["SCHEDULE", "schedule_table"]

ORDER_LAYER_MAX_RESET = 0  # before_groups
ORDER_LAYER_MAX = 1  # before_groups (one slot per max reduction)
ORDER_LAYER_SUMS = -30  # layer sums and the interneuron pool mean: before the activations
ORDER_ACTIVATION = -20
ORDER_RELAY_SUMS = -11  # instantaneous relay input: after the activations
ORDER_RELAY_COPY = -5
ORDER_COUPLING = -1  # after the activations, before the energy sums and the Euler step
ORDER_ENERGY_SUMS = 4  # after the coupling, before the Euler step
ORDER_STATE_UPDATE = 10
# the groups that receive those summed variables (Brian2 runs a group's summed updaters just before it)
ORDER_LAYER = group_order_for_summed(ORDER_LAYER_SUMS)
ORDER_INHIBITION = group_order_for_summed(ORDER_LAYER_SUMS)
ORDER_RELAY_GROUP = group_order_for_summed(ORDER_RELAY_SUMS)
ORDER_ENERGY_GROUP = group_order_for_summed(ORDER_ENERGY_SUMS)

SCHEDULE = (
    ("before_groups", ORDER_LAYER_MAX_RESET, "reset of the layer maxima"),
    ("before_groups", ORDER_LAYER_MAX, "layer maxima (softmax)"),
    ("groups", ORDER_LAYER_SUMS, "layer sums, interneuron pool mean (summed variables)"),
    ("groups", ORDER_LAYER_SUMS + 1, "second pass of layer sums (centred variance of the layer norm)"),
    ("groups", ORDER_ACTIVATION, "activations a = dL/dx"),
    ("groups", ORDER_RELAY_SUMS, "instantaneous relay inputs (summed variables)"),
    ("groups", ORDER_RELAY_COPY, "relay copy z = u"),
    ("groups", ORDER_COUPLING, "coupling inputs u (dense products or summed variables)"),
    ("groups", ORDER_ENERGY_SUMS, "online energy terms (summed variables)"),
    ("groups", ORDER_STATE_UPDATE, "Euler step of every state"),
    ("after_groups", 0, "energy recorded"),
)


def schedule_table() -> str:
    """The step schedule as a text table (slot, order, operation)."""
    return "\n".join(f"{when:<14} {order:>4}  {what}" for when, order, what in SCHEDULE)
