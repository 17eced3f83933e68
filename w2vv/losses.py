"""Losses (docs/method.md#losses) and their registry, ``LOSSES``: a loss's name (the config's
``loss_fun``) → how to build it from the config, and the targets it takes (``TARGETS``).

Keras losses take (y_true, y_pred). With target layout ``features``, y_true holds the image
feature of each sentence of the batch; with ``features_and_negatives`` (``ctl``), the batch has
two rows per sentence, its own image (flag 1) then a random image from outside the batch
(flag 0), and y_true carries the target feature and, in its last column, the flag.

Keras is imported when a loss is built, not with the registry: configs are checked without it."""
from dataclasses import dataclass
from typing import Callable

from .errors import InputError

CTL_EPS = 1e-7
TARGETS = ("features", "features_and_negatives")


def _ops():
    from keras import ops
    return ops


def mse(y_true, y_pred):
    ops = _ops()
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def contrastive(margin=2.0):
    """Hadsell et al. 2006: d = sqrt(max(‖v̂ − v‖², 1e-7)); flag·d² + (1 − flag)·max(margin − d, 0)²."""
    ops = _ops()

    def ctl(y_true, y_pred):
        target, flag = y_true[:, :-1], y_true[:, -1]
        d = ops.sqrt(ops.maximum(ops.sum(ops.square(y_pred - target), axis=-1), CTL_EPS))
        return flag * ops.square(d) + (1.0 - flag) * ops.square(ops.maximum(margin - d, 0.0))
    return ctl


def max_violation_ranking(margin=0.3):
    """VSE++ max-violation hinge on cosine similarity within the batch (an improvement; the original's
    ``mrl`` cannot run). For each pair, the hardest other image and the hardest other sentence."""
    ops = _ops()

    def mrl(y_true, y_pred):
        sent = y_pred / (ops.norm(y_pred, axis=-1, keepdims=True) + 1e-8)
        img = y_true / (ops.norm(y_true, axis=-1, keepdims=True) + 1e-8)
        scores = ops.matmul(sent, ops.transpose(img))
        positive = ops.diagonal(scores)
        off_diagonal = 1.0 - ops.eye(ops.shape(scores)[0], dtype=scores.dtype)
        cost_img = ops.maximum(margin + scores - positive[:, None], 0.0) * off_diagonal
        cost_sent = ops.maximum(margin + scores - positive[None, :], 0.0) * off_diagonal
        return ops.max(cost_img, axis=1) + ops.max(cost_sent, axis=0)
    return mrl


@dataclass(frozen=True)
class Loss:
    build: Callable      # cfg -> the Keras loss (its constants: config attributes with defaults in config.DEFAULTS)
    targets: str         # one of TARGETS: what a training batch gives it as y_true (w2vv.batches)


LOSSES = {
    "mse": Loss(lambda cfg: mse, "features"),
    "ctl": Loss(lambda cfg: contrastive(cfg.ctl_margin), "features_and_negatives"),
    "mrl": Loss(lambda cfg: max_violation_ranking(cfg.mrl_margin), "features"),
}


def get_loss(cfg):
    return LOSSES[cfg.loss_fun].build(cfg)


def targets_of(cfg):
    return LOSSES[cfg.loss_fun].targets


def require_negatives(cfg, images, sentences, batch_size):
    """InputError when ``cfg``'s loss draws each batch's negatives among the images outside the batch and the
    training set of ``images`` images and ``sentences`` sentences has none to draw for a batch."""
    if targets_of(cfg) != "features" and images <= min(batch_size, sentences):
        raise InputError(f"{images} training images: loss {cfg.loss_fun} draws each batch's negatives among the "
                         f"images outside the batch, so it needs more images than a batch has sentences "
                         f"({batch_size}); use a smaller batch_size")
