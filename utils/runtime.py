"""Runtime set-up shared by every chapter.

The first code cell of each chapter calls :func:`setup`. It

* reads the book's seed from the ``BOOK_SEED`` environment variable (default 0)
  and seeds Python, NumPy and Keras with it;
* silences TensorFlow's C++ and Python logging so that stored outputs stay clean;
* applies the book's single matplotlib style;
* configures emulated devices (``BOOK_VIRTUAL_DEVICES``) before any framework
  starts, and
* prints a one-line summary of the environment.

Everything that must happen *before* TensorFlow or JAX is imported (log levels,
virtual devices, the Keras backend on a TPU) happens here, which is why chapters
call :func:`setup` before importing ``keras`` themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import sys
import warnings
from typing import Any, Iterator, Optional

from ._checks import ArgumentError, check_bool, check_instance, check_seed, check_string

SEED_VARIABLE = "BOOK_SEED"
_SEED_IN_FORCE: Optional[int] = None  # the seed the last setup() used
DEFAULT_SEED = 0

# Messages that TensorFlow and its dependencies print at import time on machines
# without an accelerator. They carry no information for a reader.
_TF_ENV_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ logging: fatal messages only
    "TF_ENABLE_ONEDNN_OPTS": None,  # leave oneDNN as TensorFlow ships it
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
}


def book_seed(environ: Optional[dict] = None) -> int:
    """Return the book-wide seed from ``BOOK_SEED`` (default 0).

    Raises ``ValueError`` when the variable is set to something that is not a
    non-negative integer.
    """
    env = os.environ if environ is None else environ
    raw = env.get(SEED_VARIABLE, "").strip()
    if raw == "":
        return DEFAULT_SEED
    try:
        seed = int(raw)
    except ValueError:
        raise ArgumentError(
            f"{SEED_VARIABLE} must be a non-negative integer such as 0 or 3; got {raw!r}."
        ) from None
    if seed < 0:
        raise ArgumentError(f"{SEED_VARIABLE} must be a non-negative integer; got {seed}.")
    return seed


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def quiet_logs() -> None:
    """Silence TensorFlow's C++/Python logging and known harmless warnings.

    Safe to call more than once. The C++ log level only takes effect if this
    runs before TensorFlow is imported; :func:`setup` guarantees that order.
    """
    for name, value in _TF_ENV_DEFAULTS.items():
        if value is not None:
            os.environ.setdefault(name, value)
    for name in ("tensorflow", "absl", "h5py", "jax._src.xla_bridge", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*[Pp]rotobuf gencode version.*")
    # fit() defaults to shuffle=True and warns that a tf.data dataset is not reshuffled
    # by it; the book's datasets (utils.training.array_dataset) shuffle themselves.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed, but will be ignored.*")
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].get_logger().setLevel(logging.ERROR)
    try:  # absl prints "WARNING: All log messages before absl::InitializeLog()..."
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl is a TensorFlow dependency; JAX-only installs lack it
        pass


@contextlib.contextmanager
def silence_native_stderr() -> Iterator[None]:
    """Send the process's native stderr (file descriptor 2) to /dev/null for a while.

    TensorFlow 2.21 prints C++ log lines (oneDNN, CUDA stubs, CPU features) when it
    is imported, before its own log level is read, so setting
    ``TF_CPP_MIN_LOG_LEVEL`` is not enough. Python exceptions are unaffected:
    they are raised after the descriptor is restored.
    """
    try:
        original = os.dup(2)
    except OSError:  # no usable descriptor 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(original, 2)
        os.close(original)
        os.close(devnull)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and Keras (and with it the backend)."""
    seed = check_seed("seed", seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)


def _enable_tf_determinism() -> None:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def environment_summary() -> str:
    """One line: Python, Keras, backend and its version, and the devices in use."""
    import keras

    from . import devices

    backend = keras.backend.backend()
    parts = [f"Python {platform.python_version()}", f"Keras {keras.__version__}"]
    if backend == "tensorflow":
        import tensorflow as tf

        parts.append(f"backend tensorflow {tf.__version__}")
    elif backend == "jax":
        import jax

        parts.append(f"backend jax {jax.__version__}")
    else:
        parts.append(f"backend {backend}")
    info = devices.detect_accelerator()
    parts.append(f"devices: {info.describe()}")
    parts.append(f"seed {_SEED_IN_FORCE if _SEED_IN_FORCE is not None else book_seed()}")
    return " | ".join(parts)


def setup(seed: Optional[int] = None, deterministic: bool = True, quiet: bool = False) -> int:
    """Prepare a chapter's kernel and return the seed in use.

    Parameters
    ----------
    seed:
        Overrides ``BOOK_SEED`` when given (a non-negative int).
    deterministic:
        Under the TensorFlow backend, ask for deterministic kernels so that a
        re-run gives the same numbers (slightly slower; off for speed studies).
    quiet:
        Skip the one-line summary.
    """
    if seed is None:
        seed = book_seed()
    else:
        seed = check_seed("seed", seed)
    deterministic = check_bool("deterministic", deterministic)
    quiet = check_bool("quiet", quiet)

    from . import devices, plots

    quiet_logs()
    with silence_native_stderr():
        devices.choose_backend()  # before Keras is imported: the backend is fixed then
        devices.configure_virtual_devices()  # before TensorFlow/JAX start their runtimes
        import keras  # noqa: F401  (first import happens after the environment is ready)

        if keras.backend.backend() == "tensorflow":
            # Importing TensorFlow here keeps its start-up messages inside the
            # silenced block. Under another backend TensorFlow is never imported
            # by the book's set-up: a Colab TPU runtime does not even install it.
            import tensorflow  # noqa: F401
        # The first device query starts the runtime, which logs about CUDA on
        # machines without a GPU: do it here too.
        devices.detect_accelerator()
        # keras.utils.set_random_seed seeds TensorFlow too whenever it can be
        # imported (under the JAX backend as well): keep that import quiet.
        seed_everything(seed)

    global _SEED_IN_FORCE
    _SEED_IN_FORCE = seed
    quiet_logs()  # once more: TensorFlow's Python logger exists now, if it was imported
    if deterministic and keras.backend.backend() == "tensorflow":
        _enable_tf_determinism()
    plots.use_book_style()
    if not quiet:
        print(environment_summary())
    return seed


def glue(name: str, value: Any, display: bool = True) -> None:
    """Hand ``value`` to the book's text as ``{glue:text}`name``` (or a figure).

    A drop-in for ``myst_nb.glue``, which it calls when installed (the book
    build); elsewhere, for example in Colab, it only shows the value when
    ``display`` is True. NumPy scalars become Python numbers first, so that
    formats such as ``:.1%`` work. Returns nothing, so that a cell ending in
    ``glue(...)`` shows no stray value on the page.
    """
    check_string("name", name)
    display = check_bool("display", display)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # numpy scalar -> int/float/bool
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return None
    myst_glue(name, value, display=display)
    return None


def glue_figure(name: str, figure: Any) -> None:
    """Glue a matplotlib figure under ``name`` for ``{glue:figure}`name``` and close it.

    The figure then appears once, where the text places it, and not also under
    the cell that drew it. Raises ``ArgumentError`` when ``figure`` is not a
    matplotlib figure.
    """
    import matplotlib.figure
    import matplotlib.pyplot as plt

    check_instance("figure", figure, matplotlib.figure.Figure, "a matplotlib Figure")
    glue(name, figure, display=False)
    plt.close(figure)


def glue_numbers(prefix: str = "", **values: Any) -> None:
    """Glue several numbers at once: ``glue_numbers("cnn_", accuracy=a, params=p)``.

    Each keyword becomes the glue key ``prefix + keyword``, glued without display.
    """
    check_string("prefix", prefix, non_empty=False)
    if not values:
        raise ArgumentError("values: give at least one keyword argument, name=value, to glue.")
    for key, value in values.items():
        glue(prefix + key, value, display=False)
