"""The step schedule: the fixed order of operations in one Brian2 time step.

Every network of the package (the two-layer model, the hierarchy, the general
network, the circuits) runs the same explicit Euler step, whose parts are
placed in Brian2's schedule by slot (``when``) and ``order``::

    slot            order  operation
    before_groups   0, 1   layer maxima                (non-additive Lagrangians: softmax)
    groups         -30     layer sums                  (summed variables into a layer group at -29)
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
:mod:`hippo_dam.reference` (the summed variables of a group at order ``k``
are updated by Brian2 at order ``k - 1``).
"""
from __future__ import annotations

__all__ = ["SCHEDULE", "schedule_table"]

ORDER_LAYER_MAX_RESET = 0  # before_groups
ORDER_LAYER_MAX = 1  # before_groups (one slot per max reduction)
ORDER_LAYER = -29  # layer group: its summed updaters run at -30
ORDER_INHIBITION = -29  # interneuron pool-mean group: summed at -30, before the activations
ORDER_ACTIVATION = -20
ORDER_RELAY_GROUP = -10  # instantaneous relay: summed at -11 (after the activations)
ORDER_RELAY_COPY = -5
ORDER_COUPLING = -1  # after the activations, before the energy sums and the Euler step
ORDER_ENERGY_GROUP = 5  # its summed updaters run at 4
ORDER_STATE_UPDATE = 10

SCHEDULE = (
    ("before_groups", ORDER_LAYER_MAX_RESET, "reset of the layer maxima"),
    ("before_groups", ORDER_LAYER_MAX, "layer maxima (softmax)"),
    ("groups", ORDER_LAYER - 1, "layer sums, interneuron pool mean (summed variables)"),
    ("groups", ORDER_ACTIVATION, "activations a = dL/dx"),
    ("groups", ORDER_RELAY_GROUP - 1, "instantaneous relay inputs (summed variables)"),
    ("groups", ORDER_RELAY_COPY, "relay copy z = u"),
    ("groups", ORDER_COUPLING, "coupling inputs u (dense products or summed variables)"),
    ("groups", ORDER_ENERGY_GROUP - 1, "online energy terms (summed variables)"),
    ("groups", ORDER_STATE_UPDATE, "Euler step of every state"),
    ("after_groups", 0, "energy recorded"),
)


def schedule_table() -> str:
    """The step schedule as a text table (slot, order, operation)."""
    return "\n".join(f"{when:<14} {order:>4}  {what}" for when, order, what in SCHEDULE)
