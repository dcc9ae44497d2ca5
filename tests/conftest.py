"""Shared test configuration.

The fixture notebooks under tests/fixtures are inputs for the harness tests
(one is broken on purpose); they must never be collected as chapters.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
collect_ignore_glob = ["fixtures/*"]


def run_python(args, env_updates=None, timeout=300, cwd=ROOT):
    """Run the venv's Python in a fresh process; return the CompletedProcess."""
    env = dict(os.environ)
    for key in ("BOOK_VIRTUAL_DEVICES", "KERAS_BACKEND", "TPU_NAME", "COLAB_TPU_ADDR",
                "TPU_ACCELERATOR_TYPE", "XLA_FLAGS"):
        env.pop(key, None)
    env.update(env_updates or {})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def probe(mode, **env_updates):
    """Run tests/device_probe.py in a fresh interpreter and parse its JSON line."""
    result = run_python([str(ROOT / "tests" / "device_probe.py"), mode], env_updates)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="module")
def keras():
    """Keras, imported after the book's set-up (as in the chapters)."""
    import utils

    utils.setup(quiet=True)
    import keras

    return keras


def architecture(model):
    """(layer type, output shape, parameters) per layer: what builder tests pin."""
    return [(type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]
