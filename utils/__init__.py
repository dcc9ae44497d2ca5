"""Helper package of *Build & Explain*: what the chapters share.

Importing ``utils`` is cheap: it does not import TensorFlow or JAX. Call
:func:`utils.setup` first in every chapter; it prepares the environment in the
order the frameworks need (log levels, backend, emulated devices, seeds, style).
"""

from ._checks import ArgumentError
from .runtime import book_seed, environment_summary, glue, glue_figure, glue_numbers, in_colab, setup

__all__ = [
    "setup", "book_seed", "environment_summary", "glue", "glue_figure", "glue_numbers", "in_colab", "ArgumentError",
]
__version__ = "0.1.0"
