"""Running at scale, and measuring what it costs (chapter 09_scale).

* :func:`run_python` runs a Python program in a fresh interpreter (another
  Keras backend, another device count) with a time limit, and kills the whole
  process group when it runs over or fails;
* :func:`run_workers` starts several such processes at once (the workers of a
  multi-process job on ``127.0.0.1``), waits for all of them under one
  deadline, and never leaves one behind;
* :func:`free_port` finds an unused TCP port on ``127.0.0.1`` for a coordinator;
* :func:`best_time` and :func:`throughput` time a function the way benchmarks
  do (warm-up calls first, then the best of several repeats);
* :func:`matmul_peak_flops` measures the FLOP/s of a large float32 matrix
  product with the active Keras backend, the practical peak of the machine;
* :func:`training_flops`, :func:`transformer_forward_flops` and
  :func:`model_flop_utilization` turn a model's cost accounting
  (:mod:`utils.costs`) into achieved FLOP/s and a utilisation in percent;
* :func:`mixed_precision_policy` names the right mixed-precision policy for a device;
* :func:`interrupt_at_epoch` is a callback that stops ``fit`` by raising
  :class:`TrainingInterrupted`, to rehearse a preempted runtime.

Importing this module does not import Keras, TensorFlow or JAX.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence

from ._checks import (
    ArgumentError,
    check_callable,
    check_int,
    check_number,
    check_positive_int,
    check_positive_number,
    check_string,
)

FLOPS_PER_MAC = 2
TRAINING_FLOPS_FACTOR = 3  # forward + backward (about twice the forward) per example


class TrainingInterrupted(RuntimeError):
    """Raised by the callback of :func:`interrupt_at_epoch` to stop ``fit`` midway."""


@dataclass(frozen=True)
class ProcessResult:
    """What a finished child process left: its exit code, output and run time."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _check_env(env: Optional[Mapping[str, str]]) -> Optional[dict]:
    if env is None:
        return None
    if not isinstance(env, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ArgumentError("env must be a mapping of str to str (environment variables); "
                            f"got {type(env).__name__}.")
    return dict(env)


def child_environment(updates: Optional[Mapping[str, str]] = None,
                      remove: Sequence[str] = ("BOOK_VIRTUAL_DEVICES", "KERAS_BACKEND", "XLA_FLAGS")) -> dict:
    """This process's environment without ``remove``, plus ``updates``.

    A child started from a chapter should choose its own backend and device
    count: by default the variables that fix them here are dropped.
    """
    updates = _check_env(updates) or {}
    if isinstance(remove, str) or not all(isinstance(name, str) for name in remove):
        raise ArgumentError("remove must be a sequence of variable names (strings).")
    env = {key: value for key, value in os.environ.items() if key not in set(remove)}
    env.update(updates)
    return env


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
        pass


def _start(code: str, env: Optional[dict], cwd: Optional[str]) -> tuple:
    # output goes to temporary files, not pipes: a chatty child can never block on a full pipe
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=cwd, stdout=out, stderr=err, text=True,
        start_new_session=True,  # its own process group: killed as a whole
    )
    return process, out, err


def _read(stream) -> str:
    stream.seek(0)
    return stream.read()


def run_workers(code: str, count: int, *, timeout: float = 60.0,
                env: Optional[Sequence[Mapping[str, str]]] = None, cwd: Optional[str] = None,
                check: bool = True) -> List[ProcessResult]:
    """Run ``code`` in ``count`` fresh Python processes at once; return their results in order.

    ``env`` is one environment per process (say ``PROCESS_ID``), or None for
    this process's. All processes share one deadline, ``timeout`` seconds: when
    it passes, or (with ``check``) as soon as one process fails, every process
    still running is killed with its process group, and ``RuntimeError`` (or
    ``subprocess.TimeoutExpired``) reports the failing process's error output.
    Nothing is left running when this function returns or raises.
    """
    code = check_string("code", code)
    count = check_positive_int("count", count)
    timeout = check_positive_number("timeout", timeout)
    if env is not None:
        if isinstance(env, Mapping) or len(env) != count:
            raise ArgumentError(f"env must be a sequence of {count} environments, one per process; got {env!r:.80}.")
        env = [_check_env(e) for e in env]
    else:
        env = [None] * count
    if not isinstance(check, bool):
        raise ArgumentError(f"check must be True or False; got {check!r}.")
    started = time.perf_counter()
    children = []
    outputs: List[Optional[tuple]] = [None] * count
    try:
        for e in env:
            children.append(_start(code, e, cwd))
        while any(o is None for o in outputs):
            for i, (process, out, err) in enumerate(children):
                if outputs[i] is None and process.poll() is not None:
                    outputs[i] = (_read(out), _read(err), time.perf_counter() - started)
                    if check and process.returncode != 0:
                        raise RuntimeError(
                            f"process {i} of {count} exited with code {process.returncode}:\n{outputs[i][1][-2000:]}")
            if time.perf_counter() - started > timeout:
                raise subprocess.TimeoutExpired([sys.executable, "-c", "..."], timeout)
            time.sleep(0.02)
    finally:
        for process, out, err in children:
            _kill_group(process)
            out.close()
            err.close()
    processes = [child[0] for child in children]
    return [ProcessResult(p.returncode, o[0], o[1], o[2]) for p, o in zip(processes, outputs)]


def run_python(code: str, *, timeout: float = 60.0, env: Optional[Mapping[str, str]] = None,
               cwd: Optional[str] = None, check: bool = True) -> ProcessResult:
    """Run ``code`` in a fresh Python interpreter, within ``timeout`` seconds.

    The child gets its own process group, killed as a whole if it runs over
    (``subprocess.TimeoutExpired``) or once it has finished. With ``check``, a
    non-zero exit raises ``RuntimeError`` with the end of its error output.
    Use :func:`child_environment` to build ``env``.
    """
    return run_workers(code, 1, timeout=timeout, env=None if env is None else [env], cwd=cwd, check=check)[0]


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port on ``host`` (the loopback interface by default)."""
    host = check_string("host", host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def best_time(function: Callable[[], Any], *, repeats: int = 3, warmup: int = 1) -> float:
    """The shortest wall time, in seconds, of ``repeats`` calls of ``function()``.

    ``warmup`` calls run first and are not timed (they trace and compile). The
    minimum is the usual benchmark statistic: other work on the machine only
    ever adds time.
    """
    check_callable("function", function)
    repeats = check_positive_int("repeats", repeats)
    warmup = check_int("warmup", warmup, 0)
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def throughput(function: Callable[[], Any], items: float, *, repeats: int = 3, warmup: int = 1) -> float:
    """Items per second of ``function()``, which processes ``items`` items per call."""
    items = check_positive_number("items", items)
    return items / best_time(function, repeats=repeats, warmup=warmup)


def matmul_peak_flops(size: int = 1024, *, repeats: int = 5, dtype: str = "float32") -> float:
    """FLOP/s of a ``size`` x ``size`` matrix product with the active Keras backend.

    A product of two $n \\times n$ matrices costs $2n^3$ FLOPs; the best of
    ``repeats`` timed products (after one warm-up) gives the practical peak of
    the machine for dense arithmetic in ``dtype``, the yardstick of
    :func:`model_flop_utilization`.
    """
    size = check_positive_int("size", size)
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ArgumentError(f"dtype must be 'float32', 'bfloat16' or 'float16'; got {dtype!r}.")
    import numpy as np
    from keras import ops

    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.standard_normal((size, size)).astype("float32"), dtype=dtype)
    b = ops.convert_to_tensor(rng.standard_normal((size, size)).astype("float32"), dtype=dtype)

    def product():
        ops.convert_to_numpy(ops.matmul(a, b)[0, 0])  # wait for the result

    return 2.0 * size ** 3 / best_time(product, repeats=repeats, warmup=1)


def training_flops(forward_flops_per_example: float, examples: float) -> float:
    """FLOPs of training on ``examples`` examples: 3 x the forward FLOPs.

    The backward pass costs about twice the forward pass (a product with the
    weights' transpose for the input gradient, one with the inputs for the
    weight gradient), the usual convention of scaling studies.
    """
    forward_flops_per_example = check_positive_number("forward_flops_per_example", forward_flops_per_example)
    examples = check_positive_number("examples", examples)
    return TRAINING_FLOPS_FACTOR * forward_flops_per_example * examples


def transformer_forward_flops(num_layers: int, model_dim: int, vocab_size: int, length: int,
                              ff_dim: Optional[int] = None) -> int:
    """Forward FLOPs of a GPT-style decoder on one sequence of ``length`` tokens.

    Per token and block: the four attention projections $4d^2$ MACs, the
    feed-forward $2df$, and the attention itself (scores $QK^\\top$ and the
    weighted sum of values) $2Ld$ MACs over the whole length (the masked half
    is computed too); plus the output projection $Vd$. FLOPs are 2 x MACs.
    Element-wise work (softmax, layer norms, GELU) is not counted, as in
    :mod:`utils.costs`.
    """
    num_layers = check_positive_int("num_layers", num_layers)
    d = check_positive_int("model_dim", model_dim)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    length = check_positive_int("length", length)
    f = 4 * d if ff_dim is None else check_positive_int("ff_dim", ff_dim)
    macs_per_token = num_layers * (4 * d * d + 2 * d * f + 2 * length * d) + vocab_size * d
    return FLOPS_PER_MAC * macs_per_token * length


def model_flop_utilization(flops: float, seconds: float, peak_flops_per_second: float) -> float:
    """Achieved FLOP/s (``flops`` / ``seconds``) as a fraction of ``peak_flops_per_second``."""
    flops = check_positive_number("flops", flops)
    seconds = check_positive_number("seconds", seconds)
    peak = check_positive_number("peak_flops_per_second", peak_flops_per_second)
    return flops / seconds / peak


_INTERRUPT_CLASS = None


def _interrupt_class():
    global _INTERRUPT_CLASS
    if _INTERRUPT_CLASS is None:
        import keras

        class InterruptAtEpoch(keras.callbacks.Callback):
            """Raises :class:`TrainingInterrupted` when epoch ``epoch`` (0-based) begins."""

            def __init__(self, epoch: int):
                super().__init__()
                self.epoch = epoch

            def on_epoch_begin(self, epoch, logs=None):
                if epoch == self.epoch:
                    raise TrainingInterrupted(f"training interrupted at the start of epoch {epoch}")

        _INTERRUPT_CLASS = InterruptAtEpoch
    return _INTERRUPT_CLASS


def interrupt_at_epoch(epoch: int):
    """A Keras callback that stops ``fit`` when epoch ``epoch`` (0-based) begins.

    It raises :class:`TrainingInterrupted`, as a preempted runtime would stop
    the program: epochs ``0 .. epoch - 1`` are complete (and backed up by
    ``keras.callbacks.BackupAndRestore``, placed before it in the callback
    list), nothing of epoch ``epoch`` has run. ``epoch`` must be >= 1.
    """
    epoch = check_int("epoch", epoch, 1)
    return _interrupt_class()(epoch)


def mixed_precision_policy(device_kind: str) -> str:
    """The Keras mixed-precision policy for a device kind ('TPU', 'GPU' or 'CPU').

    TPUs and recent CPUs compute in bfloat16, whose exponent range is float32's:
    ``"mixed_bfloat16"``. GPUs have fast float16 units: ``"mixed_float16"``, for
    which ``model.compile`` wraps the optimizer in a ``LossScaleOptimizer`` so
    that small gradients do not underflow float16's range. Use it as
    ``keras.config.set_dtype_policy(mixed_precision_policy(info.kind))`` with
    ``info`` from :func:`utils.devices.detect_accelerator`.
    """
    if not isinstance(device_kind, str) or device_kind.upper() not in ("TPU", "GPU", "CPU"):
        raise ArgumentError(f"device_kind must be 'TPU', 'GPU' or 'CPU'; got {device_kind!r}.")
    return "mixed_float16" if device_kind.upper() == "GPU" else "mixed_bfloat16"


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` for two positive measurements (a speed-up, a slowdown)."""
    numerator = check_number("numerator", numerator, 0, low_open=True)
    denominator = check_number("denominator", denominator, 0, low_open=True)
    return numerator / denominator
