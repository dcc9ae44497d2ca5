"""Device detection, emulated devices and distribution strategies."""

import os
import sys

import pytest

from utils import devices
from conftest import exactly, probe, run_python

# --- BOOK_VIRTUAL_DEVICES parsing -------------------------------------------------


@pytest.mark.parametrize("raw, expected", [("1", 1), ("2", 2), (" 8 ", 8), ("+2", 2), ("", None)])
def test_virtual_device_count_accepts_positive_integers(raw, expected):
    assert devices.virtual_device_count({"BOOK_VIRTUAL_DEVICES": raw}) == expected


def test_virtual_device_count_unset_is_none():
    assert devices.virtual_device_count({}) is None


@pytest.mark.parametrize("raw", ["abc", "0", "-2", "1.5", "2x", "two", "02", "1_0", "0x2", "\u0662", "2 2"])
def test_virtual_device_count_rejects_bad_values(raw):
    message = (f"BOOK_VIRTUAL_DEVICES must be a positive integer, the number of CPU devices to emulate "
               f"(for example 2); got {raw!r}. Unset it to use the real devices.")
    with pytest.raises(ValueError, match=exactly(message)):
        devices.virtual_device_count({"BOOK_VIRTUAL_DEVICES": raw})


@pytest.mark.slow
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
    assert capsys.readouterr().out == (
        "TPU found and this TensorFlow has no TPU support: using the Keras JAX backend. For TensorFlow on the TPU, "
        f"install tensorflow-tpu=={devices._tensorflow_version()} and set KERAS_BACKEND=tensorflow before the "
        "set-up cell.\n"
    )


def test_choose_backend_on_tpu_refuses_tensorflow_without_tpu_support():
    with pytest.raises(devices.TPUUnavailableError) as err:
        devices.choose_backend({"KERAS_BACKEND": "tensorflow"}, tpu_present=True)
    message = str(err.value)
    assert "KERAS_BACKEND" in message and "'jax'" in message  # way out 1
    assert "tensorflow-tpu==" in message  # way out 2


@pytest.mark.slow
def test_setup_on_a_tpu_machine_with_tensorflow_requested_fails_clearly():
    result = run_python(
        ["-c", "import utils; utils.setup()"], {"TPU_NAME": "local", "KERAS_BACKEND": "tensorflow"}
    )
    assert result.returncode != 0
    assert "TPUUnavailableError" in result.stderr and "tensorflow-tpu" in result.stderr


def test_backend_is_rejects_unknown_names():
    with pytest.raises(ValueError, match=exactly("name must be one of 'tensorflow', 'jax', 'torch', 'numpy', 'openvino'; got 'theano'.")):
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


@pytest.mark.slow
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
    assert capsys.readouterr().out == "TensorFlow is not installed: using the Keras JAX backend.\n"
    env = {"KERAS_BACKEND": "torch"}  # an explicit choice is kept
    assert devices.choose_backend(env, tpu_present=False) == "torch"


@pytest.mark.slow
def test_setup_without_tensorflow_and_without_keras_backend_runs_on_jax():
    from conftest import ROOT

    result = run_python(["-c", "import utils; utils.setup()"],
                        {"PYTHONPATH": str(ROOT / "tests" / "without_tensorflow")})
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = result.stdout.strip().splitlines()
    assert first == "TensorFlow is not installed: using the Keras JAX backend."
    assert "backend jax" in second


# --- in-process checks of the device helpers (the probes above run in subprocesses) --------


def test_configure_virtual_devices_does_nothing_without_the_variable():
    assert devices.configure_virtual_devices({}) is None
    assert devices.configure_virtual_devices({"BOOK_VIRTUAL_DEVICES": " "}) is None


def test_configure_virtual_devices_refuses_a_backend_without_emulation(monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "torch")
    with pytest.raises(ValueError, match=exactly("BOOK_VIRTUAL_DEVICES is supported for the 'tensorflow' and 'jax' backends; the active backend is 'torch'.")):
        devices.configure_virtual_devices({"BOOK_VIRTUAL_DEVICES": "2"})


def test_virtual_devices_after_tensorflow_started_must_match_or_fail():
    tf = pytest.importorskip("tensorflow")
    started = len(tf.config.list_logical_devices("CPU"))  # the runtime is running from here on
    devices._configure_tf_cpu_devices(started)  # what is already there: accepted
    with pytest.raises(RuntimeError, match=exactly(
            f"BOOK_VIRTUAL_DEVICES={started + 1} but TensorFlow already started with {started} CPU device(s). "
            "Set the variable before TensorFlow runs anything (restart the kernel).")):
        devices._configure_tf_cpu_devices(started + 1)


def test_virtual_devices_after_jax_started_must_match_or_fail(monkeypatch):
    jax = pytest.importorskip("jax")
    started = len(jax.devices("cpu"))  # the runtime is running from here on
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    devices._configure_jax_cpu_devices(started)
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count={started}"
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    devices._configure_jax_cpu_devices(started)
    assert os.environ["XLA_FLAGS"] == (
        f"--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count={started}"
    )
    with pytest.raises(RuntimeError, match=exactly(
            f"BOOK_VIRTUAL_DEVICES={started + 1} but JAX already started with {started} CPU device(s). "
            "Set the variable before the first JAX computation (restart the kernel).")):
        devices._configure_jax_cpu_devices(started + 1)
    assert os.environ["XLA_FLAGS"].count("--xla_force_host_platform_device_count") == 1  # not added twice


def test_accelerator_info_describe_singular_and_plural():
    assert devices.AcceleratorInfo("GPU", 1, ("NVIDIA L4",)).describe() == "1 GPU (NVIDIA L4)"
    assert devices.AcceleratorInfo("GPU", 2, ("b", "a", "b")).describe() == "2 GPUs (a, b)"
    assert devices.AcceleratorInfo("GPU", 2, ()).describe() == "2 GPUs"
    assert devices.AcceleratorInfo("CPU", 1, ("cpu",)).describe() == "1 CPU"
    assert devices.AcceleratorInfo("CPU", 2, ("a", "b")).describe() == "2 CPUs"  # real, not emulated
    assert devices.AcceleratorInfo("TPU", 1, ("t",)).describe() == "1 TPU core"
    assert devices.AcceleratorInfo("TPU", 2, ("t", "t"), emulated=True).describe() == "2 TPU cores"


def test_detect_accelerator_reports_what_the_backend_lists(monkeypatch):
    monkeypatch.delenv("BOOK_VIRTUAL_DEVICES", raising=False)
    info = devices.detect_accelerator()
    assert info.backend == devices._keras_backend_in_use()
    assert not info.emulated and info.count == len(info.names) >= 1
    if info.backend == "tensorflow" and info.kind == "CPU":
        import tensorflow as tf

        assert info.names == tuple(d.name for d in tf.config.list_logical_devices("CPU"))
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "torch")
    assert devices.detect_accelerator() == devices.AcceleratorInfo("CPU", 1, ("cpu",), False, "torch")


def test_strategy_and_distribution_each_refuse_the_other_backend(monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    with pytest.raises(ValueError, match=exactly("get_strategy() is for the TensorFlow backend; the active backend is 'jax'. Use get_distribution() (or model_scope()) instead.")):
        devices.get_strategy()
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "tensorflow")
    with pytest.raises(ValueError, match=exactly("get_distribution() is for the JAX backend; the active backend is 'tensorflow'. Use get_strategy() (or model_scope()) instead.")):
        devices.get_distribution()


def test_get_strategy_on_a_tpu_without_tpu_support_explains_the_ways_out(monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "tensorflow")
    monkeypatch.setattr(devices, "tpu_runtime_present", lambda: True)
    monkeypatch.setattr(devices, "tensorflow_supports_tpu", lambda: False)
    with pytest.raises(devices.TPUUnavailableError, match=exactly("A TPU is attached, but this TensorFlow build has no TPU support, so the TensorFlow backend would run on the CPU only. Two ways out: (1) use the JAX backend, which is how Keras runs on Colab TPUs: set os.environ['KERAS_BACKEND'] = 'jax' (or unset KERAS_BACKEND) before the set-up cell and restart the runtime; or (2) install the matching TPU build, pip install 'tensorflow-tpu==2.21.0', and keep KERAS_BACKEND='tensorflow'.")):
        devices.get_strategy()


def test_model_scope_enters_the_strategy_that_get_strategy_returns(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    monkeypatch.delenv("BOOK_VIRTUAL_DEVICES", raising=False)
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "tensorflow")
    monkeypatch.setattr(devices, "tpu_runtime_present", lambda: False)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("several GPUs: get_strategy returns a MirroredStrategy (tested in a subprocess)")
    assert devices.get_strategy() is tf.distribute.get_strategy()  # the default strategy
    assert devices.replica_count() == 1
    with devices.model_scope() as strategy:
        assert strategy is tf.distribute.get_strategy() and strategy.num_replicas_in_sync == 1


def test_model_scope_under_jax_on_one_device_yields_none(monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    monkeypatch.setattr(devices, "get_distribution", lambda: None)
    with devices.model_scope() as distribution:
        assert distribution is None


def test_choose_backend_keeps_an_explicit_choice_and_can_stay_quiet(capsys, monkeypatch):
    monkeypatch.setattr(devices, "tensorflow_supports_tpu", lambda: False)
    env = {"KERAS_BACKEND": " jax "}
    assert devices.choose_backend(env, tpu_present=True) == "jax"
    env = {}
    assert devices.choose_backend(env, tpu_present=True, announce=False) == "jax"
    assert env == {"KERAS_BACKEND": "jax"}
    monkeypatch.setattr(devices, "_importable", lambda name: name == "jax")
    assert devices.choose_backend({}, tpu_present=False, announce=False) == "jax"
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(devices, "tensorflow_supports_tpu", lambda: True)
    monkeypatch.setattr(devices, "_importable", lambda name: True)
    assert devices.choose_backend({}, tpu_present=True) == "tensorflow"  # a TPU build of TensorFlow
    with pytest.raises(devices.ArgumentError, match=exactly("announce must be True or False; got 'no'.")):
        devices.choose_backend({}, tpu_present=False, announce="no")


def test_choose_backend_after_keras_is_imported_reports_the_running_backend(monkeypatch):
    import keras

    running = keras.backend.backend()
    monkeypatch.setenv("KERAS_BACKEND", "jax" if running == "tensorflow" else "tensorflow")  # asked too late
    assert devices.choose_backend() == running
    assert devices._keras_backend_in_use() == running


def test_choose_backend_before_keras_is_imported_reads_the_environment(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as in a fresh kernel (put back after the test)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert devices.choose_backend(tpu_present=False) == "jax"


def test_choose_backend_looks_for_tpu_device_files_when_not_told(monkeypatch):
    monkeypatch.setattr(devices, "tensorflow_supports_tpu", lambda: False)
    monkeypatch.setattr(devices, "_importable", lambda name: True)
    assert devices.choose_backend({"TPU_NAME": "local"}, announce=False) == "jax"


def test_importable_finds_installed_packages_without_importing_them():
    assert devices._importable("json") and not devices._importable("no_such_package_for_the_book")
    assert not devices._importable("")  # find_spec's ValueError


def test_tpu_unavailable_message_names_the_installed_tensorflow(monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.8.7")
    assert "pip install 'tensorflow-tpu==9.8.7'" in devices.tpu_unavailable_message()

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert "tensorflow-tpu==<your TensorFlow version>" in devices.tpu_unavailable_message()


def test_require_backend_rejects_a_missing_description():
    with pytest.raises(devices.ArgumentError, match=exactly("what must be a non-empty string; got 3.")):
        devices.require_backend("jax", 3)


def test_require_backend_note_is_one_whole_sentence(capsys, monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    assert devices.require_backend("tensorflow", "This section") is False
    assert capsys.readouterr().out == (
        "This section needs the tensorflow backend; the active backend is jax, so it is skipped here.\n"
    )


def test_keras_backend_in_use_before_keras_is_imported_reads_keras_backend(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # also when no test imported it yet
    monkeypatch.setenv("KERAS_BACKEND", " jax ")
    assert devices._keras_backend_in_use() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "")
    assert devices._keras_backend_in_use() == "tensorflow"  # Keras's default
    monkeypatch.delenv("KERAS_BACKEND")
    assert devices._keras_backend_in_use() == "tensorflow"


def test_keras_backend_in_use_after_keras_is_imported_is_the_running_backend(monkeypatch):
    import keras

    running = keras.backend.backend()
    monkeypatch.setenv("KERAS_BACKEND", "torch" if running != "torch" else "jax")  # too late to matter
    assert devices._keras_backend_in_use() == running


def test_backend_is_accepts_every_keras_backend_name():
    active = devices._keras_backend_in_use()
    for name in ("tensorflow", "jax", "torch", "numpy", "openvino"):
        assert devices.backend_is(name) is (name == active)


def test_tensorflow_version_is_the_installed_one():
    import importlib.metadata

    pytest.importorskip("tensorflow")
    assert devices._tensorflow_version() == importlib.metadata.version("tensorflow")


def test_tpu_unavailable_message_in_full(monkeypatch):
    monkeypatch.setattr(devices, "_tensorflow_version", lambda: "2.99.0")
    assert devices.tpu_unavailable_message() == (
        "A TPU is attached, but this TensorFlow build has no TPU support, so the TensorFlow backend would "
        "run on the CPU only. Two ways out: (1) use the JAX backend, which is how Keras runs on Colab TPUs: "
        "set os.environ['KERAS_BACKEND'] = 'jax' (or unset KERAS_BACKEND) before the set-up cell and restart "
        "the runtime; or (2) install the matching TPU build, pip install 'tensorflow-tpu==2.99.0', and keep "
        "KERAS_BACKEND='tensorflow'."
    )


def test_tpu_runtime_present_looks_in_dev_and_reads_the_environment(monkeypatch):
    import glob

    patterns = []
    monkeypatch.setattr(glob, "glob", lambda pattern: patterns.append(pattern) or [])
    for name in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(name, raising=False)
    assert devices.tpu_runtime_present() is False
    assert patterns == ["/dev/accel[0-9]*", "/dev/vfio/[0-9]*"]
    monkeypatch.setenv("TPU_ACCELERATOR_TYPE", "v5litepod-8")
    assert devices.tpu_runtime_present() is True


class _Recorder:
    """Stands in for a strategy or distribution class: records how it was built."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def test_get_distribution_is_data_parallel_over_every_device_or_none(monkeypatch):
    import keras

    monkeypatch.delenv("BOOK_VIRTUAL_DEVICES", raising=False)
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    monkeypatch.setattr(keras.distribution, "DataParallel", _Recorder)
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["cpu:0"])
    assert devices.get_distribution() is None
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["cpu:0", "cpu:1"])
    distribution = devices.get_distribution()
    assert isinstance(distribution, _Recorder) and distribution.kwargs == {"devices": ["cpu:0", "cpu:1"]}
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["tpu:0", "tpu:1", "tpu:2"])
    assert devices.replica_count() == 3


def test_get_strategy_picks_tpu_mirrored_gpus_emulated_cpus_or_default(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    calls = []
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "tensorflow")
    monkeypatch.setattr(devices, "tpu_runtime_present", lambda: True)
    monkeypatch.setattr(devices, "tensorflow_supports_tpu", lambda: True)
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", _Recorder)
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster", lambda r: calls.append(("connect", r)))
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system", lambda r: calls.append(("init", r)))
    monkeypatch.setattr(tf.distribute, "TPUStrategy", _Recorder)
    strategy = devices.get_strategy()
    (resolver,) = strategy.args
    assert isinstance(resolver, _Recorder) and resolver.kwargs == {"tpu": "local"}
    assert calls == [("connect", resolver), ("init", resolver)]

    class Device:
        def __init__(self, name):
            self.name = name

    listed = {"GPU": [Device("/gpu:0"), Device("/gpu:1")], "CPU": [Device("/cpu:0"), Device("/cpu:1")]}
    monkeypatch.setattr(devices, "tpu_runtime_present", lambda: False)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind: listed.get(kind, []))
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", _Recorder)
    monkeypatch.setattr(devices, "configure_virtual_devices", lambda: calls.append("configured"))
    assert devices.get_strategy().kwargs == {}  # two GPUs: MirroredStrategy over all of them
    listed["GPU"] = listed["GPU"][:1]
    monkeypatch.setenv("BOOK_VIRTUAL_DEVICES", "2")  # one GPU, two emulated CPUs
    assert devices.get_strategy().kwargs == {"devices": ["/cpu:0", "/cpu:1"]}
    assert calls[-1] == "configured"
    monkeypatch.setenv("BOOK_VIRTUAL_DEVICES", "1")
    assert devices.get_strategy() is tf.distribute.get_strategy()


class _FakeJaxDevice:
    def __init__(self, platform, device_kind=None):
        self.platform = platform
        if device_kind is not None:
            self.device_kind = device_kind

    def __str__(self):
        return f"{self.platform}:0"


@pytest.mark.parametrize("platform, kind", [("tpu", "TPU"), ("gpu", "GPU"), ("cpu", "CPU"), ("METAL", "CPU")])
def test_detect_accelerator_under_jax_reads_the_platform_of_jaxs_devices(monkeypatch, platform, kind):
    """The JAX branch, run in this process with jax.devices replaced (any kind of machine)."""
    jax = pytest.importorskip("jax")
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "jax")
    fakes = [_FakeJaxDevice(platform, "chip A"), _FakeJaxDevice(platform)]  # the second has no device_kind
    monkeypatch.setattr(jax, "devices", lambda: fakes)
    monkeypatch.delenv("BOOK_VIRTUAL_DEVICES", raising=False)
    info = devices.detect_accelerator()
    assert info == devices.AcceleratorInfo(kind, 2, ("chip A", f"{platform}:0"), False, "jax")
    monkeypatch.setenv("BOOK_VIRTUAL_DEVICES", "2")  # emulated devices are CPU devices only
    assert devices.detect_accelerator().emulated == (kind == "CPU")
    monkeypatch.setattr(jax, "devices", lambda: fakes[:1])  # a machine with one device
    assert devices.detect_accelerator().count == 1


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_configure_virtual_devices_hands_the_count_to_the_backends_own_helper(monkeypatch, backend):
    calls = []
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: backend)
    monkeypatch.setattr(devices, "_configure_jax_cpu_devices", lambda count: calls.append(("jax", count)))
    monkeypatch.setattr(devices, "_configure_tf_cpu_devices", lambda count: calls.append(("tensorflow", count)))
    assert devices.configure_virtual_devices({"BOOK_VIRTUAL_DEVICES": "3"}) == 3
    assert calls == [(backend, 3)]
    assert devices.configure_virtual_devices({}) is None and calls == [(backend, 3)]  # unset: nothing to do


class _FakeTfDevice:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize("machine", ["tpu", "gpu", "cpu"])
def test_detect_accelerator_under_tensorflow_looks_for_tpus_then_gpus_then_cpus(monkeypatch, machine):
    """The TensorFlow branch with TensorFlow's device lists replaced (any kind of machine)."""
    tf = pytest.importorskip("tensorflow")
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "tensorflow")
    logical = {"TPU": [_FakeTfDevice("/device:TPU:0"), _FakeTfDevice("/device:TPU:1")] if machine == "tpu" else [],
               "CPU": [_FakeTfDevice("/device:CPU:0"), _FakeTfDevice("/device:CPU:1")]}
    physical = {"GPU": [_FakeTfDevice("/physical_device:GPU:0"), _FakeTfDevice("/physical_device:GPU:1")]
                if machine == "gpu" else []}
    details = {"/physical_device:GPU:0": {"device_name": "Chip X"}, "/physical_device:GPU:1": {}}
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind: logical[kind])
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: physical[kind])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: details[device.name])
    monkeypatch.delenv("BOOK_VIRTUAL_DEVICES", raising=False)
    expected = {
        "tpu": devices.AcceleratorInfo("TPU", 2, ("/device:TPU:0", "/device:TPU:1"), False, "tensorflow"),
        "gpu": devices.AcceleratorInfo("GPU", 2, ("Chip X", "/physical_device:GPU:1"), False, "tensorflow"),
        "cpu": devices.AcceleratorInfo("CPU", 2, ("/device:CPU:0", "/device:CPU:1"), False, "tensorflow"),
    }[machine]
    assert devices.detect_accelerator() == expected
    monkeypatch.setenv("BOOK_VIRTUAL_DEVICES", "2")  # emulated devices are CPU devices only
    assert devices.detect_accelerator().emulated == (machine == "cpu")


def test_detect_accelerator_under_another_backend_reports_one_cpu(monkeypatch):
    monkeypatch.setattr(devices, "_keras_backend_in_use", lambda: "torch")
    assert devices.detect_accelerator() == devices.AcceleratorInfo("CPU", 1, ("cpu",), False, "torch")
