"""--distribute mirrored over two devices (two logical CPUs) matches one device for a training step, on
the backend the tests run on: tf.distribute.MirroredStrategy on TensorFlow, keras.distribution.DataParallel
on JAX; on PyTorch it is refused in one line."""
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = r"""
import os
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from w2vv.backend import distribution_scope
from w2vv.config import load_config
from w2vv.model import build_model
from w2vv.training import compile_for_training

results = {}
for name in ("none", "mirrored"):
    cfg = load_config("w2vv_attention_ctl",
                      overrides={"lstm_size": "8", "n_layers": "0-16-16", "dropout": "0", "lr": "0.01"})
    keras.utils.set_random_seed(3)
    with distribution_scope(name):
        model = build_model(cfg, 30, 20)
        compile_for_training(model, cfg)
    initial = [np.asarray(v).copy() for v in model.trainable_variables]
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 31, size=(8, 32)), rng.random((8, 20)).astype("float32"))
    y = np.concatenate([rng.random((8, 16)), np.repeat([[1], [0]], 4, axis=0)], axis=1).astype("float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    results[name] = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    moved = max(np.abs(a - b).max() for a, b in zip(initial, results[name]))
    assert moved > 1e-3, moved  # the step did change the weights
print("devices", len(keras.distribution.list_devices()) if keras.backend.backend() == "jax" else
      tf.distribute.MirroredStrategy().num_replicas_in_sync)
diff = max(np.abs(a - b).max() for a, b in zip(results["none"], results["mirrored"]))
print("max difference", diff)
assert diff < 1e-5, diff
"""


def run(backend_env):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", **backend_env)
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.slow
def test_mirrored_on_two_cpu_devices_matches_one_device():
    if os.environ.get("KERAS_BACKEND") == "torch":
        pytest.skip("torch: refused, test_torch_refuses_distribution")
    result = run({})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "devices 2" in result.stdout and "max difference" in result.stdout, result.stdout


def test_torch_refuses_distribution_in_one_line():
    from w2vv.backend import distribution_scope
    from w2vv.errors import InputError
    os.environ["KERAS_BACKEND"], was = "torch", os.environ.get("KERAS_BACKEND")
    try:
        with pytest.raises(InputError, match="no data-parallel training on the torch backend"):
            distribution_scope("mirrored")
    finally:
        os.environ.pop("KERAS_BACKEND") if was is None else os.environ.update(KERAS_BACKEND=was)
