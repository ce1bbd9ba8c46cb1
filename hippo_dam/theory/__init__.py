"""Theory: the effective (feature-only) models and the storage capacity, in numpy.

Nothing here imports Brian2 (a test checks it in a fresh process):
:mod:`.effective` holds the models with the memory neurons integrated out, from
the classical Hopfield network to the modern (attention-like) one;
:mod:`.capacity` measures and predicts how many patterns they store.
"""
