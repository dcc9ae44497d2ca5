"""Device detection and distribution strategies for both Keras backends.

Chapters never copy device code; they call into this module:

* :func:`detect_accelerator` says what the kernel runs on (TPU, GPUs or CPU);
* :func:`get_strategy` returns the ``tf.distribute`` strategy for the TensorFlow
  backend (TPU, several GPUs, emulated CPUs, or the default strategy);
* :func:`get_distribution` returns a ``keras.distribution.DataParallel`` for the
  JAX backend when there are several devices;
* :func:`model_scope` wraps both in one context manager.

``BOOK_VIRTUAL_DEVICES=N`` splits the CPU into N logical devices for either
backend, so multi-device code can be tested on a laptop or a CI machine. It has
to be applied before TensorFlow or JAX starts its runtime, which
:func:`utils.setup` does.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Tuple

from ._checks import ArgumentError, check_bool, check_choice, check_string

VIRTUAL_DEVICES_VARIABLE = "BOOK_VIRTUAL_DEVICES"
_TPU_ENV_VARIABLES = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
_XLA_DEVICE_FLAG = "--xla_force_host_platform_device_count"


class TPUUnavailableError(RuntimeError):
    """A TPU is attached but the requested framework cannot drive it."""


def virtual_device_count(environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Parse ``BOOK_VIRTUAL_DEVICES``: ``None`` when unset, else an int >= 1.

    Raises ``ValueError`` naming the variable for anything that is not a
    positive integer (``"abc"``, ``"0"``, ``"-2"``, ``"1.5"``).
    """
    env = os.environ if environ is None else environ
    raw = env.get(VIRTUAL_DEVICES_VARIABLE)
    if raw is None or raw.strip() == "":
        return None
    try:
        count = int(raw.strip())
    except ValueError:
        count = 0
    if count < 1 or str(count) != raw.strip().lstrip("+"):
        raise ArgumentError(
            f"{VIRTUAL_DEVICES_VARIABLE} must be a positive integer, the number of CPU "
            f"devices to emulate (for example 2); got {raw!r}. Unset it to use the real devices."
        )
    return count


def tpu_runtime_present(
    environ: Optional[Mapping[str, str]] = None, dev_root: str = "/dev"
) -> bool:
    """True when a TPU is attached to this machine (device files or TPU variables)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in _TPU_ENV_VARIABLES):
        return True
    if glob.glob(os.path.join(dev_root, "accel[0-9]*")):
        return True
    return bool(glob.glob(os.path.join(dev_root, "vfio", "[0-9]*")))


def tensorflow_supports_tpu() -> bool:
    """True when the installed TensorFlow is a TPU build (``tensorflow-tpu``)."""
    try:
        importlib.metadata.distribution("tensorflow-tpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _tensorflow_version() -> str:
    try:
        return importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return "<your TensorFlow version>"


def tpu_unavailable_message() -> str:
    """The explanation shown when a TPU is present but TensorFlow cannot use it."""
    version = _tensorflow_version()
    return (
        "A TPU is attached, but this TensorFlow build has no TPU support, so the "
        "TensorFlow backend would run on the CPU only. Two ways out: (1) use the JAX "
        "backend, which is how Keras runs on Colab TPUs: set "
        "os.environ['KERAS_BACKEND'] = 'jax' (or unset KERAS_BACKEND) before the set-up "
        f"cell and restart the runtime; or (2) install the matching TPU build, "
        f"pip install 'tensorflow-tpu=={version}', and keep KERAS_BACKEND='tensorflow'."
    )


def _keras_backend_in_use() -> str:
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "").strip() or "tensorflow"


def _importable(name: str) -> bool:
    """True when ``import name`` would find the package (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses it, as where it is not installed
        return False


def choose_backend(
    environ: Optional[dict] = None, tpu_present: Optional[bool] = None, announce: bool = True
) -> str:
    """Fix the Keras backend before Keras is imported, and return it.

    * ``KERAS_BACKEND`` set: it is kept. If it asks for TensorFlow on a TPU that
      TensorFlow cannot drive, :class:`TPUUnavailableError` explains both ways out.
    * unset on a TPU machine whose TensorFlow has no TPU support: the JAX backend
      is selected and a line says so (and names the alternative).
    * unset where TensorFlow is not installed but JAX is (a Colab TPU runtime has
      no TensorFlow): the JAX backend is selected and a line says so.
    * otherwise Keras's default (TensorFlow) stays.
    """
    announce = check_bool("announce", announce)
    env = os.environ if environ is None else environ
    if "keras" in sys.modules and environ is None:
        return sys.modules["keras"].backend.backend()
    requested = env.get("KERAS_BACKEND", "").strip()
    if tpu_present is None:
        tpu_present = tpu_runtime_present(env)
    if not requested and not _importable("tensorflow") and _importable("jax"):
        env["KERAS_BACKEND"] = "jax"
        if announce:
            print("TensorFlow is not installed: using the Keras JAX backend.")
        return "jax"
    if not tpu_present or tensorflow_supports_tpu():
        return requested or "tensorflow"
    if requested == "tensorflow":
        raise TPUUnavailableError(tpu_unavailable_message())
    if requested:
        return requested
    env["KERAS_BACKEND"] = "jax"
    if announce:
        print(
            "TPU found and this TensorFlow has no TPU support: using the Keras JAX backend. "
            f"For TensorFlow on the TPU, install tensorflow-tpu=={_tensorflow_version()} "
            "and set KERAS_BACKEND=tensorflow before the set-up cell."
        )
    return "jax"


def configure_virtual_devices(environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Apply ``BOOK_VIRTUAL_DEVICES`` to the active backend; return the count or None.

    Must run before the backend's runtime starts. If it has already started with
    a different number of CPU devices, a ``RuntimeError`` says so rather than
    silently running on one device.
    """
    count = virtual_device_count(environ)
    if count is None:
        return None
    backend = _keras_backend_in_use()
    if backend == "jax":
        _configure_jax_cpu_devices(count)
    elif backend == "tensorflow":
        _configure_tf_cpu_devices(count)
    else:
        raise ValueError(
            f"{VIRTUAL_DEVICES_VARIABLE} is supported for the 'tensorflow' and 'jax' "
            f"backends; the active backend is {backend!r}."
        )
    return count


def _configure_jax_cpu_devices(count: int) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if _XLA_DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DEVICE_FLAG}={count}".strip()
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except (AttributeError, RuntimeError, ValueError):
        pass  # older JAX (no such option) or runtime already started: checked below
    found = len(jax.devices("cpu"))
    if found != count:
        raise RuntimeError(
            f"{VIRTUAL_DEVICES_VARIABLE}={count} but JAX already started with {found} CPU "
            "device(s). Set the variable before the first JAX computation (restart the kernel)."
        )


def _configure_tf_cpu_devices(count: int) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:
        pass  # runtime already initialised: verified below
    found = len(tf.config.list_logical_devices("CPU"))
    if found != count:
        raise RuntimeError(
            f"{VIRTUAL_DEVICES_VARIABLE}={count} but TensorFlow already started with {found} "
            "CPU device(s). Set the variable before TensorFlow runs anything (restart the kernel)."
        )


@dataclass(frozen=True)
class AcceleratorInfo:
    """What the active Keras backend computes on."""

    kind: str  # "TPU", "GPU" or "CPU"
    count: int
    names: Tuple[str, ...]
    emulated: bool = False
    backend: str = "tensorflow"

    def describe(self) -> str:
        if self.kind == "CPU" and self.emulated:
            return f"{self.count} emulated CPU devices"
        label = {"TPU": "TPU core", "GPU": "GPU", "CPU": "CPU"}[self.kind]
        plural = "s" if self.count != 1 else ""
        model = sorted(set(self.names))
        detail = f" ({', '.join(model)})" if self.kind == "GPU" and model else ""
        return f"{self.count} {label}{plural}{detail}"


def detect_accelerator() -> AcceleratorInfo:
    """Report the devices the active Keras backend sees (imports the backend)."""
    backend = _keras_backend_in_use()
    emulated = virtual_device_count() is not None
    if backend == "jax":
        import jax

        devices = jax.devices()
        platform = devices[0].platform.upper()
        kind = platform if platform in ("TPU", "GPU") else "CPU"
        names = tuple(getattr(d, "device_kind", str(d)) for d in devices)
        return AcceleratorInfo(kind, len(devices), names, emulated and kind == "CPU", backend)
    if backend != "tensorflow":
        return AcceleratorInfo("CPU", 1, ("cpu",), False, backend)
    import tensorflow as tf

    tpus = tf.config.list_logical_devices("TPU")
    if tpus:
        return AcceleratorInfo("TPU", len(tpus), tuple(d.name for d in tpus), False, backend)
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return AcceleratorInfo("GPU", len(gpus), tuple(names), False, backend)
    cpus = tf.config.list_logical_devices("CPU")
    return AcceleratorInfo("CPU", len(cpus), tuple(d.name for d in cpus), emulated, backend)


def get_strategy() -> Any:
    """The ``tf.distribute`` strategy for this machine (TensorFlow backend only).

    TPU -> ``TPUStrategy`` through ``TPUClusterResolver(tpu="local")``; several
    GPUs -> ``MirroredStrategy``; ``BOOK_VIRTUAL_DEVICES=N`` with N > 1 ->
    ``MirroredStrategy`` over the N emulated CPUs; otherwise the default strategy.
    """
    backend = _keras_backend_in_use()
    if backend != "tensorflow":
        raise ValueError(
            f"get_strategy() is for the TensorFlow backend; the active backend is "
            f"{backend!r}. Use get_distribution() (or model_scope()) instead."
        )
    import tensorflow as tf

    if tpu_runtime_present():
        if not tensorflow_supports_tpu():
            raise TPUUnavailableError(tpu_unavailable_message())
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    count = virtual_device_count()
    if count is not None and count > 1:
        configure_virtual_devices()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    return tf.distribute.get_strategy()


def get_distribution() -> Any:
    """A ``keras.distribution.DataParallel`` over all devices (JAX backend), or None.

    ``None`` means a single device: nothing to distribute.
    """
    backend = _keras_backend_in_use()
    if backend != "jax":
        raise ValueError(
            f"get_distribution() is for the JAX backend; the active backend is {backend!r}. "
            "Use get_strategy() (or model_scope()) instead."
        )
    configure_virtual_devices()
    import keras

    devices = keras.distribution.list_devices()
    if len(devices) < 2:
        return None
    return keras.distribution.DataParallel(devices=devices)


def replica_count() -> int:
    """How many replicas a batch is split across under :func:`model_scope`."""
    if _keras_backend_in_use() == "jax":
        import keras

        return len(keras.distribution.list_devices())
    return get_strategy().num_replicas_in_sync


@contextlib.contextmanager
def model_scope() -> Iterator[Any]:
    """Build, compile and fit inside this block to use every device.

    Yields the strategy (TensorFlow) or the distribution (JAX, None on one device).
    """
    if _keras_backend_in_use() == "jax":
        distribution = get_distribution()
        if distribution is None:
            yield None
        else:
            with distribution.scope():
                yield distribution
        return
    strategy = get_strategy()
    with strategy.scope():
        yield strategy


def backend_is(name: str) -> bool:
    """True when the active Keras backend is ``name`` ('tensorflow', 'jax', 'torch')."""
    check_choice("name", name, ("tensorflow", "jax", "torch", "numpy", "openvino"))  # the Keras backends
    return _keras_backend_in_use() == name


def require_backend(name: str, what: str) -> bool:
    """For backend-specific sections: True if ``name`` is active, else print a note.

    Chapters use it as ``if utils.devices.require_backend("tensorflow", "This section"):``
    so that the section is skipped with a visible explanation under another backend.
    """
    check_string("what", what)
    if backend_is(name):
        return True
    print(
        f"{what} needs the {name} backend; the active backend is {_keras_backend_in_use()}, "
        "so it is skipped here."
    )
    return False

