"""Explanations of trained models, one module per family of methods.

* :mod:`utils.explain.tabular`: model-agnostic methods for tabular data
  (permutation importance, partial dependence, LIME, surrogate fidelity) and the
  wrappers that let scikit-learn tools call a Keras model.
"""
