"""Hippocampal circuits built from the associative memory.

:mod:`.hippocampus`: CA3 (recurrent collaterals through memory neurons, fast
inhibition) and the EC-CA1 loop; :mod:`.spiking` and :mod:`.spiking_lif`: CA3
with Poisson or leaky integrate-and-fire memory cells; :mod:`.space` and
:mod:`.place_cells`: an arena, grid cells and place cells as memory neurons
(:mod:`.place_loader` loads them from a model file).
"""
from .hippocampus import CA3Circuit, ECCA1Loop, check_rate  # noqa: F401  (the flat module's names)
