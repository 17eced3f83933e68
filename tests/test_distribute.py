"""MirroredStrategy over two logical CPU devices matches one device for a training step."""
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = r"""
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from w2vv.config import load_config
from w2vv.losses import get_loss
from w2vv.model import build_model, make_optimizer
from w2vv.training import distribution_strategy

results = {}
for name in ("none", "mirrored"):
    cfg = load_config("w2vv_attention_ctl",
                      overrides={"lstm_size": "8", "n_layers": "0-16-16", "dropout": "0", "lr": "0.01"})
    keras.utils.set_random_seed(3)
    strategy = distribution_strategy(name)
    with strategy.scope():
        model = build_model(cfg, 30, 20)
        model.compile(optimizer=make_optimizer(cfg), loss=get_loss(cfg))
    initial = [np.asarray(v).copy() for v in model.trainable_variables]
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 31, size=(8, 32)), rng.random((8, 20)).astype("float32"))
    y = np.concatenate([rng.random((8, 16)), np.repeat([[1], [0]], 4, axis=0)], axis=1).astype("float32")
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1, verbose=0)
    results[name] = (strategy.num_replicas_in_sync, [np.asarray(v) for v in model.trainable_variables])
    moved = max(np.abs(a - b).max() for a, b in zip(initial, results[name][1]))
    assert moved > 1e-3, moved  # the step did change the weights
assert results["mirrored"][0] == 2, results["mirrored"][0]
diff = max(np.abs(a - b).max() for a, b in zip(results["none"][1], results["mirrored"][1]))
print("max difference", diff)
assert diff < 1e-5, diff
"""


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "max difference" in result.stdout
