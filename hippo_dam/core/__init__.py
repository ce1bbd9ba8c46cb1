"""The core: one energy graph from which every network is built.

A neuron layer is a Lagrangian and a shape (:mod:`.lagrangians`,
:mod:`.populations`); a symmetric projection is an energy term (:mod:`.populations`,
:mod:`.dense`); :mod:`.graph` turns populations and projections into one Brian2
network stepped in the order of :mod:`.schedule`, with its energy
(:mod:`.energy`), recall quality (:mod:`.recall`) and results (:mod:`.results`).
:mod:`.reference` integrates the same equations in plain numpy, the reference
the tests compare against. :mod:`._compat` holds every use of Brian2's private
conventions.

Importing this package imports nothing: :mod:`.lagrangians` is numpy only (the
theory uses it without Brian2); the other modules import Brian2.
"""
