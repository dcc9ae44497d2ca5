"""The set-up every chapter calls first."""

import random
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import runtime
from conftest import run_python


@pytest.mark.parametrize("raw, expected", [(None, 0), ("", 0), ("3", 3), (" 12 ", 12)])
def test_book_seed_reads_the_variable(raw, expected):
    env = {} if raw is None else {"BOOK_SEED": raw}
    assert runtime.book_seed(env) == expected


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0"])
def test_book_seed_rejects_bad_values(raw):
    with pytest.raises(ValueError, match="BOOK_SEED must be a non-negative integer"):
        runtime.book_seed({"BOOK_SEED": raw})


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        runtime.seed_everything(seed)


def test_seed_everything_makes_python_and_numpy_repeatable():
    runtime.seed_everything(7)
    first = (random.random(), np.random.rand())
    runtime.seed_everything(7)
    assert (random.random(), np.random.rand()) == first


@pytest.mark.parametrize(
    "kwargs, match",
    [({"seed": -3}, "^seed must be a non-negative int"), ({"seed": 1.0}, "^seed must be a non-negative int"),
     ({"deterministic": "yes"}, "^deterministic must be True or False"), ({"quiet": 1}, "^quiet must be True or False")],
)
def test_setup_rejects_bad_arguments(kwargs, match):
    with pytest.raises(utils.ArgumentError, match=match):
        utils.setup(**kwargs)


def test_silence_native_stderr_hides_descriptor_2_and_restores_it(capfd):
    import os

    with runtime.silence_native_stderr():
        os.write(2, b"hidden line\n")
    os.write(2, b"visible line\n")
    err = capfd.readouterr().err
    assert "hidden line" not in err and "visible line" in err


def test_setup_prints_one_clean_line_and_no_tensorflow_noise():
    # what TensorFlow itself lists, so that the test holds on any machine
    listed = ("import tensorflow as tf; gpus = tf.config.list_physical_devices('GPU'); "
              "print(f'{len(gpus)} GPU' if gpus else f\"{len(tf.config.list_logical_devices('CPU'))} CPU\")")
    result = run_python(["-c", f"import utils; print(utils.setup()); {listed}"], {"BOOK_SEED": "4"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[1] == "4"
    summary, devices_listed = lines[0], lines[2]
    for part in ("Python 3.", "Keras 3.", "backend tensorflow 2.", f"devices: {devices_listed}", "seed 4"):
        assert part in summary
    for noise in ("oneDNN", "cpu_feature_guard", "absl::InitializeLog", "cuda"):
        assert noise not in result.stderr


def test_setup_under_jax_backend():
    result = run_python(["-c", "import utils; utils.setup()"], {"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr
    assert "backend jax" in result.stdout
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr


def test_setup_makes_keras_initialisation_repeatable():
    code = (
        "import utils; utils.setup(quiet=True); import keras; "
        "print(keras.ops.convert_to_numpy(keras.random.uniform((3,))).tolist())"
    )
    first = run_python(["-c", code], {"BOOK_SEED": "1"})
    second = run_python(["-c", code], {"BOOK_SEED": "1"})
    other = run_python(["-c", code], {"BOOK_SEED": "2"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout != other.stdout


def test_in_colab_is_false_here():
    assert utils.in_colab() is False


def test_glue_converts_numpy_scalars_and_checks_the_name(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=False: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    assert utils.glue("x_acc", np.float64(0.25), display=False) is None  # nothing to print on the page
    assert calls == [("x_acc", 0.25, False)] and type(calls[0][1]) is float
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        utils.glue("", 1)


def test_glue_without_myst_nb_just_returns_the_value(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as in Colab
    assert utils.glue("x_count", np.int64(3), display=False) is None


WITHOUT_TENSORFLOW = str(Path(__file__).resolve().parent / "without_tensorflow")


@pytest.mark.slow
def test_setup_data_and_training_work_with_tensorflow_absent():
    """As on a Colab TPU runtime: JAX backend, TensorFlow not installed."""
    code = (
        "import sys, numpy as np, utils; utils.setup()\n"
        "import keras, utils.data, utils.training, utils.models\n"
        "d = utils.data.load_digits()\n"
        "model = utils.models.build_mlp(d.x_train.shape[1:], 10, hidden_units=(16,))\n"
        "history, loss, acc = utils.training.fit_classifier(model, d, 2, learning_rate=1e-2, batch_size=64, seed=0, validate=True)\n"
        "print('accuracy', acc, 'val_loss' in history.history)\n"
        "try:\n    import tensorflow\nexcept ModuleNotFoundError:\n    print('tensorflow absent', 'tensorflow' in sys.modules)\n"
    )
    result = run_python(["-c", code], {"PYTHONPATH": WITHOUT_TENSORFLOW, "KERAS_BACKEND": "jax",
                                       "BOOK_VIRTUAL_DEVICES": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert "backend jax" in lines[0] and "2 emulated CPU devices" in lines[0]
    assert lines[1].startswith("accuracy ") and lines[1].endswith(" True")
    assert lines[2] == "tensorflow absent False"


def test_the_tensorflow_blocker_blocks():
    result = run_python(["-c", "import importlib\ntry:\n    importlib.import_module('tensorflow')\n"
                         "except ModuleNotFoundError as e:\n    print(e.name)"], {"PYTHONPATH": WITHOUT_TENSORFLOW})
    assert result.stdout.strip() == "tensorflow", result.stderr[-2000:]
