"""Run in a subprocess by tests/test_devices.py: set up, train a tiny model, print JSON.

Device configuration is fixed when a framework starts, so each configuration
(backend, number of emulated devices) needs a fresh interpreter.
"""

import json
import sys

import utils
from utils import devices


def _backend_device_count(backend: str, kind: str) -> int:
    """The number of devices of ``kind`` as the backend itself lists them."""
    if backend == "jax":
        import jax

        return len(jax.devices())
    import tensorflow as tf

    listed = tf.config.list_physical_devices if kind == "GPU" else tf.config.list_logical_devices
    return len(listed(kind))


def main(mode: str) -> dict:
    utils.setup(quiet=True)
    import keras
    import numpy as np

    info = devices.detect_accelerator()
    out = {"backend": keras.backend.backend(), "kind": info.kind, "count": info.count,
           "describe": info.describe()}
    out["backend_count"] = _backend_device_count(out["backend"], info.kind)
    if mode == "describe":
        return out
    if out["backend"] == "tensorflow":
        out["replicas"] = devices.get_strategy().num_replicas_in_sync
    else:
        distribution = devices.get_distribution()
        out["distribution"] = type(distribution).__name__
        out["replicas"] = devices.replica_count()
    if mode == "split":
        out["shards"] = _batch_shards(out["backend"])
    if mode == "train":
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 4)).astype("float32")
        y = (x @ np.array([1.0, -2.0, 0.5, 0.0], "float32") + 0.1)[:, None]
        with devices.model_scope():
            model = keras.Sequential(
                [keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
            )
            weights = [np.random.default_rng(i).normal(scale=0.3, size=w.shape).astype("float32")
                       for i, w in enumerate(model.get_weights())]
            model.set_weights(weights)
            model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
            history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        out["loss"] = [float(v) for v in history.history["loss"]]
    return out


def _batch_shards(backend: str) -> list:
    """The rows of one global batch of 16 that each device receives when fit trains under model_scope()."""
    import keras
    import numpy as np

    x = np.zeros((64, 4), "float32")
    y = np.zeros((64, 1), "float32")
    if backend == "tensorflow":
        import tensorflow as tf

        with devices.model_scope() as strategy:
            dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
            batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
            parts = strategy.experimental_local_results(batch[0])
            return [[int(p.shape[0]), p.device.split(":")[-2][-3:] + ":" + p.device.split(":")[-1]] for p in parts]
    import jax

    seen = []

    class Inspect(keras.layers.Layer):
        def call(self, inputs):  # runs inside the jitted training step
            jax.debug.inspect_array_sharding(
                inputs, callback=lambda s: seen.append(sorted(
                    [int(s.shard_shape(inputs.shape)[0]), str(d)] for d in s.device_set)))
            return inputs

    with devices.model_scope():
        model = keras.Sequential([keras.Input((4,)), Inspect(), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return seen[0]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
