"""Image features normalised as a config asks (``L1_normalize``, then ``L2_normalize``): the one
place training's batches and validation and testing take it from."""
import numpy as np


def normalize_features(x, cfg):
    if cfg.L1_normalize:
        x = x / np.maximum(np.abs(x).sum(axis=1, keepdims=True), 1e-12)
    if cfg.L2_normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x
