"""Device detection, emulated devices and distribution strategies."""

import os

import pytest

from utils import devices
from conftest import probe, run_python

# --- BOOK_VIRTUAL_DEVICES parsing -------------------------------------------------


@pytest.mark.parametrize("raw, expected", [("1", 1), ("2", 2), (" 8 ", 8), ("", None)])
def test_virtual_device_count_accepts_positive_integers(raw, expected):
    assert devices.virtual_device_count({"BOOK_VIRTUAL_DEVICES": raw}) == expected


def test_virtual_device_count_unset_is_none():
    assert devices.virtual_device_count({}) is None


@pytest.mark.parametrize("raw", ["abc", "0", "-2", "1.5", "2x", "two", "02", "1_0", "0x2", "\u0662", "2 2"])
def test_virtual_device_count_rejects_bad_values(raw):
    with pytest.raises(ValueError, match="BOOK_VIRTUAL_DEVICES must be a positive integer") as err:
        devices.virtual_device_count({"BOOK_VIRTUAL_DEVICES": raw})
    assert repr(raw) in str(err.value)


def test_setup_reports_bad_virtual_devices_before_starting_anything():
    result = run_python(["-c", "import utils; utils.setup()"], {"BOOK_VIRTUAL_DEVICES": "abc"})
    assert result.returncode != 0
    assert "ArgumentError: BOOK_VIRTUAL_DEVICES must be a positive integer" in result.stderr


# --- TPU detection and the backend choice -----------------------------------------


def test_tpu_runtime_detected_from_device_files(tmp_path):
    assert not devices.tpu_runtime_present({}, dev_root=str(tmp_path))
    (tmp_path / "accel0").touch()
    assert devices.tpu_runtime_present({}, dev_root=str(tmp_path))


def test_tpu_runtime_detected_from_vfio_groups_and_variables(tmp_path):
    (tmp_path / "vfio").mkdir()
    (tmp_path / "vfio" / "vfio").touch()  # the control file alone is not a TPU
    assert not devices.tpu_runtime_present({}, dev_root=str(tmp_path))
    (tmp_path / "vfio" / "0").touch()
    assert devices.tpu_runtime_present({}, dev_root=str(tmp_path))
    assert devices.tpu_runtime_present({"TPU_NAME": "local"}, dev_root="/nonexistent")


def test_no_tpu_without_device_files_or_tpu_variables(tmp_path):
    (tmp_path / "vfio").mkdir()
    assert not devices.tpu_runtime_present({"PATH": "/usr/bin"}, dev_root=str(tmp_path))


def test_tensorflow_supports_tpu_follows_the_installed_distribution(monkeypatch):
    import importlib.metadata

    def only(installed):
        def distribution(name):
            if name not in installed:
                raise importlib.metadata.PackageNotFoundError(name)
            return object()

        return distribution

    monkeypatch.setattr(importlib.metadata, "distribution", only({"tensorflow"}))
    assert not devices.tensorflow_supports_tpu()
    monkeypatch.setattr(importlib.metadata, "distribution", only({"tensorflow", "tensorflow-tpu"}))
    assert devices.tensorflow_supports_tpu()


def test_choose_backend_without_tpu_keeps_the_request():
    assert devices.choose_backend({}, tpu_present=False) == "tensorflow"
    assert devices.choose_backend({"KERAS_BACKEND": "jax"}, tpu_present=False) == "jax"


def test_choose_backend_on_tpu_selects_jax_and_says_so(capsys):
    env = {}
    assert devices.choose_backend(env, tpu_present=True) == "jax"
    assert env["KERAS_BACKEND"] == "jax"
    said = capsys.readouterr().out
    assert "JAX backend" in said and "tensorflow-tpu" in said


def test_choose_backend_on_tpu_refuses_tensorflow_without_tpu_support():
    with pytest.raises(devices.TPUUnavailableError) as err:
        devices.choose_backend({"KERAS_BACKEND": "tensorflow"}, tpu_present=True)
    message = str(err.value)
    assert "KERAS_BACKEND" in message and "'jax'" in message  # way out 1
    assert "tensorflow-tpu==" in message  # way out 2


def test_setup_on_a_tpu_machine_with_tensorflow_requested_fails_clearly():
    result = run_python(
        ["-c", "import utils; utils.setup()"], {"TPU_NAME": "local", "KERAS_BACKEND": "tensorflow"}
    )
    assert result.returncode != 0
    assert "TPUUnavailableError" in result.stderr and "tensorflow-tpu" in result.stderr


def test_backend_is_rejects_unknown_names():
    with pytest.raises(ValueError, match="name must be one of 'tensorflow'"):
        devices.backend_is("theano")


def test_accelerator_info_describe():
    gpu = devices.AcceleratorInfo("GPU", 2, ("NVIDIA H200", "NVIDIA H200"))
    assert gpu.describe() == "2 GPUs (NVIDIA H200)"
    assert devices.AcceleratorInfo("CPU", 2, ("a", "b"), emulated=True).describe() == "2 emulated CPU devices"
    assert devices.AcceleratorInfo("TPU", 8, ("t",) * 8).describe() == "8 TPU cores"


# --- emulated devices and strategies, one fresh interpreter each --------------------


@pytest.mark.slow
def test_tensorflow_two_virtual_devices_give_a_two_replica_mirrored_strategy():
    out = probe("strategy", KERAS_BACKEND="tensorflow", BOOK_VIRTUAL_DEVICES="2")
    assert out["backend"] == "tensorflow"
    assert out["count"] == 2 and out["replicas"] == 2
    assert out["describe"] == "2 emulated CPU devices"


@pytest.mark.slow
def test_jax_two_virtual_devices_give_a_data_parallel_distribution():
    out = probe("strategy", KERAS_BACKEND="jax", BOOK_VIRTUAL_DEVICES="2")
    assert out["backend"] == "jax"
    assert out["count"] == 2 and out["replicas"] == 2
    assert out["distribution"] == "DataParallel"


@pytest.mark.slow
def test_single_device_uses_the_default_strategy():
    out = probe("strategy", KERAS_BACKEND="tensorflow")
    assert out["count"] == out["backend_count"]  # what TensorFlow itself lists, whatever the machine
    if out["kind"] == "CPU":
        assert out["replicas"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_training_on_two_emulated_devices_matches_one_device(backend):
    single = probe("train", KERAS_BACKEND=backend)
    double = probe("train", KERAS_BACKEND=backend, BOOK_VIRTUAL_DEVICES="2")
    assert single["replicas"] == single["backend_count"] and double["replicas"] == 2
    assert len(single["loss"]) == len(double["loss"]) == 3
    assert single["loss"][-1] < single["loss"][0] / 2  # it did train
    for a, b in zip(single["loss"], double["loss"]):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (single["loss"], double["loss"])


def test_get_strategy_refuses_the_jax_backend():
    result = run_python(["-c", "import utils; utils.setup(quiet=True); "
                         "from utils import devices; devices.get_strategy()"], {"KERAS_BACKEND": "jax"})
    assert result.returncode != 0
    assert "get_strategy() is for the TensorFlow backend" in result.stderr


def test_require_backend_prints_a_note_when_skipping(capsys, monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    assert devices.require_backend("jax", "This section") is True
    assert devices.require_backend("tensorflow", "The GradientTape loop") is False
    assert "The GradientTape loop needs the tensorflow backend" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_model_scope_splits_each_batch_across_two_emulated_devices(backend):
    double = probe("split", KERAS_BACKEND=backend, BOOK_VIRTUAL_DEVICES="2")
    assert [rows for rows, _ in double["shards"]] == [8, 8]  # a global batch of 16, half per device
    assert len({device for _, device in double["shards"]}) == 2
    if backend == "jax":  # without emulation: one shard per device the backend lists
        single = probe("split", KERAS_BACKEND=backend)
        assert len(single["shards"]) == single["backend_count"]
        assert sum(rows for rows, _ in single["shards"]) == 16


def test_choose_backend_picks_jax_where_tensorflow_is_not_installed(capsys, monkeypatch):
    monkeypatch.setattr(devices, "_importable", lambda name: name == "jax")
    env = {}
    assert devices.choose_backend(env, tpu_present=False) == "jax"
    assert env["KERAS_BACKEND"] == "jax"
    assert "TensorFlow is not installed" in capsys.readouterr().out
    env = {"KERAS_BACKEND": "torch"}  # an explicit choice is kept
    assert devices.choose_backend(env, tpu_present=False) == "torch"


def test_setup_without_tensorflow_and_without_keras_backend_runs_on_jax():
    from conftest import ROOT

    result = run_python(["-c", "import utils; utils.setup()"],
                        {"PYTHONPATH": str(ROOT / "tests" / "without_tensorflow")})
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = result.stdout.strip().splitlines()
    assert first == "TensorFlow is not installed: using the Keras JAX backend."
    assert "backend jax" in second
