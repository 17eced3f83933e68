"""Replaying the twelve training steps the original code took (Keras 2.2.4, TensorFlow 1.11) on two
small W2VV models: the check that a training step is the original's. Used by
``tests/test_optimizers.py`` and by ``bench/bench_gpu.py`` (under each GPU setting).

The fixture folder ``original_train_steps/`` holds ``trajectory.json`` (sizes, settings, the loss of
every step), and per case ``model.json``, ``init.h5``, ``batches.npz`` and ``step_KK.h5`` (the
weights after some of the steps)."""
import json
from pathlib import Path

import numpy as np

from w2vv.original import load_original_model

CASES = ("gru_mse", "attention_ctl")
STEPS = 12


def replay(folder, case, compile_model, optimizer_impl="keras2"):
    """Train from ``init.h5`` on the fixture's batches, the model compiled by ``compile_model(model, cfg)``;
    yields (step, loss, original loss, max |Δw| to the original's weights, or None where none was saved)."""
    folder = Path(folder)
    trajectory = json.loads((folder / "trajectory.json").read_text())
    info = trajectory["cases"][case]
    model, cfg = load_original_model(str(folder / case), str(folder / case / "init.h5"))
    cfg.optimizer, cfg.lr, cfg.clipnorm = trajectory["optimizer"], info["lr"], trajectory["clipnorm"]
    cfg.rho, cfg.epsilon = trajectory["rho"], trajectory["epsilon"]
    cfg.loss_fun, cfg.optimizer_impl = info["loss_fun"], optimizer_impl
    compile_model(model, cfg)
    batches = np.load(folder / case / "batches.npz")
    for step in range(1, STEPS + 1):
        y = batches[f"y_{step - 1:02d}"]
        if cfg.loss_fun == "ctl":  # the fixture holds the original's [flag, feature…]; ours is [feature…, flag]
            y = np.concatenate([y[:, 1:], y[:, :1]], axis=1)
        loss = float(model.train_on_batch([batches[f"seq_{step - 1:02d}"], batches[f"aux_{step - 1:02d}"]], y))
        gap = None
        if step in trajectory["saved_after_steps"]:
            original, _ = load_original_model(str(folder / case), str(folder / case / f"step_{step:02d}.h5"))
            gap = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), original.get_weights()))
        yield step, loss, info["loss_per_step"][step - 1], gap
