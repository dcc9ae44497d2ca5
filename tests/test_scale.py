"""Running at scale and measuring it (utils.scale)."""

import os
import subprocess
import time

import numpy as np
import pytest

import utils

utils.setup(quiet=True)

import keras  # noqa: E402

from utils import scale  # noqa: E402
from utils import transformer as T  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_run_python_returns_output_and_environment():
    result = scale.run_python("import os; print('hello', os.environ['BOOK_TEST'])",
                              env=scale.child_environment({"BOOK_TEST": "42"}))
    assert result.returncode == 0 and result.stdout.strip() == "hello 42" and result.seconds > 0


def test_run_python_reports_a_failure_with_its_error_output():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        scale.run_python("1 / 0")
    result = scale.run_python("import sys; sys.exit(3)", check=False)
    assert result.returncode == 3


def test_run_python_kills_the_whole_process_group_on_timeout(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(60)\n")
    start = time.perf_counter()
    with pytest.raises(subprocess.TimeoutExpired):
        scale.run_python(code, timeout=3)
    assert time.perf_counter() - start < 20
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        if not alive(grandchild):
            break
        time.sleep(0.1)
    assert not alive(grandchild), "a process started by the child survived the timeout"


def test_run_workers_gives_each_process_its_environment_in_order():
    envs = [scale.child_environment({"PROCESS_ID": str(i)}) for i in range(3)]
    results = scale.run_workers("import os; print(int(os.environ['PROCESS_ID']) * 10)", 3, env=envs)
    assert [r.stdout.strip() for r in results] == ["0", "10", "20"]


def test_run_workers_stops_the_others_when_one_fails(tmp_path):
    code = ("import os, sys, time\n"
            f"open(os.path.join({str(tmp_path)!r}, os.environ['PROCESS_ID']), 'w').write(str(os.getpid()))\n"
            "if os.environ['PROCESS_ID'] == '1':\n    time.sleep(0.5); sys.exit('worker 1 failed')\n"
            "time.sleep(60)\n")
    envs = [scale.child_environment({"PROCESS_ID": str(i)}) for i in range(2)]
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="(?s)process 1 of 2 .*worker 1 failed"):
        scale.run_workers(code, 2, env=envs, timeout=60)
    assert time.perf_counter() - start < 30
    assert not alive(int((tmp_path / "0").read_text()))


def test_child_environment_drops_the_backend_variables(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("BOOK_VIRTUAL_DEVICES", "2")
    env = scale.child_environment({"MODE": "x"})
    assert "KERAS_BACKEND" not in env and "BOOK_VIRTUAL_DEVICES" not in env and env["MODE"] == "x"
    assert scale.child_environment(remove=())["KERAS_BACKEND"] == "tensorflow"


@pytest.mark.parametrize("call, name", [
    (lambda: scale.run_python(42), "code"),
    (lambda: scale.run_python("pass", timeout=0), "timeout"),
    (lambda: scale.run_python("pass", env={"A": 1}), "env"),
    (lambda: scale.run_workers("pass", 0), "count"),
    (lambda: scale.run_workers("pass", 2, env=[{}]), "env"),
    (lambda: scale.run_workers("pass", 1, check="yes"), "check"),
    (lambda: scale.child_environment(remove="KERAS_BACKEND"), "remove"),
    (lambda: scale.free_port(""), "host"),
    (lambda: scale.best_time(None), "function"),
    (lambda: scale.best_time(lambda: None, repeats=0), "repeats"),
    (lambda: scale.best_time(lambda: None, warmup=-1), "warmup"),
    (lambda: scale.throughput(lambda: None, 0), "items"),
    (lambda: scale.matmul_peak_flops(0), "size"),
    (lambda: scale.matmul_peak_flops(8, dtype="int8"), "dtype"),
    (lambda: scale.training_flops(-1, 10), "forward_flops_per_example"),
    (lambda: scale.training_flops(10, 0), "examples"),
    (lambda: scale.transformer_forward_flops(0, 8, 10, 4), "num_layers"),
    (lambda: scale.transformer_forward_flops(1, 8, 10, 4, ff_dim=0), "ff_dim"),
    (lambda: scale.model_flop_utilization(1, 0, 1), "seconds"),
    (lambda: scale.model_flop_utilization(1, 1, float("inf")), "peak_flops_per_second"),
    (lambda: scale.mixed_precision_policy("FPGA"), "device_kind"),
    (lambda: scale.interrupt_at_epoch(0), "epoch"),
    (lambda: scale.ratio(1, 0), "denominator"),
])
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(utils.ArgumentError, match=name):
        call()


def test_free_port_is_a_bindable_loopback_port():
    import socket

    port = scale.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_best_time_runs_warmup_then_repeats_and_returns_the_minimum():
    calls = []
    durations = iter([0.0, 0.05, 0.01, 0.03])

    def work():
        calls.append(1)
        time.sleep(next(durations))

    best = scale.best_time(work, repeats=3, warmup=1)
    assert len(calls) == 4
    assert 0.01 <= best < 0.03
    assert scale.throughput(lambda: time.sleep(0.01), 100, repeats=2, warmup=0) <= 100 / 0.01


def test_matmul_peak_is_positive_and_flop_formulas_hold():
    assert scale.matmul_peak_flops(64, repeats=2) > 0
    assert scale.training_flops(1000, 32) == 3 * 1000 * 32
    assert scale.model_flop_utilization(2e9, 2.0, 4e9) == pytest.approx(0.25)
    assert scale.ratio(3, 4) == 0.75


def test_transformer_flops_match_the_weight_matrices_of_a_built_minigpt():
    layers, d, vocab, length = 2, 16, 11, 8
    model = T.MiniGPT(vocab, length, model_dim=d, num_heads=2, num_layers=layers)
    model.build((None, length))
    kernels = sum(int(np.prod(w.shape)) for w in model.weights if w.path.endswith("kernel"))
    embedding = int(np.prod(model.token_embedding.embeddings.shape))  # reused as the output layer (tied)
    attention_macs = layers * 2 * length * d  # scores and weighted values, per token
    expected = 2 * length * (kernels + embedding + attention_macs)
    assert scale.transformer_forward_flops(layers, d, vocab, length) == expected


def test_mixed_precision_policy_per_device():
    assert scale.mixed_precision_policy("TPU") == "mixed_bfloat16"
    assert scale.mixed_precision_policy("CPU") == "mixed_bfloat16"
    assert scale.mixed_precision_policy("gpu") == "mixed_float16"


def test_interrupt_at_epoch_stops_fit_after_the_completed_epochs(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    finished = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: finished.append(epoch))
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(scale.TrainingInterrupted, match="epoch 2"):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[backup, record, scale.interrupt_at_epoch(2)])
    assert finished == [0, 1]
    finished.clear()
    model.fit(x, y, epochs=5, verbose=0, callbacks=[backup, record])  # resumes after the backup
    assert finished == [2, 3, 4]
