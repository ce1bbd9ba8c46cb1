"""Experiments: kanji completion (:mod:`.kanji`), the kanji hierarchy of pixels, parts and characters
(:mod:`.kanji_hierarchy`, with its model-file loader :mod:`.kanji_hierarchy_loader`), the DAM classifier
and its feature-prototype duality (:mod:`.classifier`), and the reduction of the memory neurons
(:mod:`.reduction`). Their figures are in :mod:`hippo_dam.figures`; their long runs' results in
``benchmarks/``.
"""
