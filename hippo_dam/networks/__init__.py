"""Networks built on the energy graph.

:mod:`.two_layer` is the feature-memory network of Krotov & Hopfield (2021)
(:class:`~hippo_dam.DenseAssociativeMemory`; models A, B and C in :mod:`.models`;
many small recalls in one run in :mod:`.grid`). :mod:`.graph_memory` holds
memories given as layers and links, of which :mod:`.hierarchical` (a stack of
layers, Krotov 2021) and :mod:`.general` (one symmetric ``W`` over all neurons)
are the two formulations.
"""
