"""Explanations of trained models, one module per family of methods.

* :mod:`utils.explain.tabular`: model-agnostic methods for tabular data
  (permutation importance, partial dependence, LIME, surrogate fidelity) and the
  wrappers that let scikit-learn tools call a Keras model;
* :mod:`utils.explain.saliency`: saliency maps of Keras models (vanilla gradients,
  SmoothGrad, Integrated Gradients, Grad-CAM and its variants, with tf-keras-vis
  for Score-CAM and activation maximisation) and their plots;
* :mod:`utils.explain.evaluation`: metrics that evaluate saliency maps against a
  ground-truth mask (pointing game, relevance mass and rank) and against the model
  (deletion and insertion AUC, faithfulness correlation, randomisation sanity checks),
  with the planted-evidence images and two baseline maps.
"""
