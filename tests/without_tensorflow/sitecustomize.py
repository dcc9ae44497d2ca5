"""Make TensorFlow unimportable, as on a Colab TPU runtime (which does not install it).

Put this folder first on ``PYTHONPATH``; Python imports ``sitecustomize`` at start-up
and every later ``import tensorflow`` (or of a submodule, or of tf-keras-vis, which
needs it) raises ``ModuleNotFoundError``, as it does where TensorFlow is absent.
``make test`` runs every chapter this way under the JAX backend.
"""

import sys

BLOCKED = ("tensorflow", "tf_keras_vis", "tensorboard", "tf_keras")


class _WithoutTensorFlow:
    """A meta-path finder that finds the blocked packages nowhere."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _WithoutTensorFlow())
