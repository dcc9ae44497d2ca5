"""Shared test configuration.

The fixture notebooks under tests/fixtures are inputs for the harness tests
(one is broken on purpose); they must never be collected as chapters.
"""

import json
import os
import re
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


def exactly(message):
    """A ``pytest.raises(match=...)`` pattern for exactly ``message``, first character to last.

    A bad-input test asserts the whole message (the argument's name, what was expected and
    what was given), so that a message that loses any of them fails a test.
    """
    return "^" + re.escape(message) + "$"


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


# The website, built once per test run into a fixed folder and shared by tests/test_site.py and
# tests/test_browser.py, whichever xdist worker gets there first (the others wait on a lock).
SITE_OUTPUT = ROOT / "_build" / "test-site"
SITE_ENV = {"KERAS_BACKEND": "jax"}  # as the Makefile's SITE_ENV (the API page imports utils)


def build_site_once():
    """Build the book with ``-W -n --keep-going`` once per pytest run; return the build record.

    The record is a dict with ``returncode``, ``log`` (stdout and stderr), ``seconds`` and
    ``html`` (the folder of the built site). A later run of pytest builds afresh.
    """
    import fcntl
    import shutil
    import time

    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"
    SITE_OUTPUT.mkdir(parents=True, exist_ok=True)
    record_path = SITE_OUTPUT / "build.json"
    with open(SITE_OUTPUT.parent / "test-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record_path.is_file():
            record = json.loads(record_path.read_text(encoding="utf-8"))
            if record["run_id"] == run_id:
                return record
        shutil.rmtree(SITE_OUTPUT / "_build", ignore_errors=True)
        record_path.unlink(missing_ok=True)
        start = time.perf_counter()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
             "--path-output", str(SITE_OUTPUT), "--warningiserror", "--nitpick", "--keep-going"],
            capture_output=True, text=True, timeout=900, env={**os.environ, **SITE_ENV},
        )
        record = {
            "run_id": run_id, "returncode": result.returncode, "log": result.stdout + result.stderr,
            "seconds": round(time.perf_counter() - start, 1),
            "html": str(SITE_OUTPUT / "_build" / "html"),
        }
        record_path.write_text(json.dumps(record), encoding="utf-8")
    return record


@pytest.fixture(scope="session")
def built_site():
    """The build record of :func:`build_site_once` (the site itself is under ``record["html"]``)."""
    return build_site_once()
