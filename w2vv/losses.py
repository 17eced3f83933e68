"""Losses (docs/method.md#losses). Keras losses take (y_true, y_pred); for ``ctl`` y_true carries the
target feature and, in its last column, the flag (1: the sentence's own image, 0: a
random image from outside the batch)."""
from keras import ops

CTL_EPS = 1e-7


def mse(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def contrastive(margin=2.0):
    """Hadsell et al. 2006: d = sqrt(max(‖v̂ − v‖², 1e-7)); flag·d² + (1 − flag)·max(margin − d, 0)²."""
    def ctl(y_true, y_pred):
        target, flag = y_true[:, :-1], y_true[:, -1]
        d = ops.sqrt(ops.maximum(ops.sum(ops.square(y_pred - target), axis=-1), CTL_EPS))
        return flag * ops.square(d) + (1.0 - flag) * ops.square(ops.maximum(margin - d, 0.0))
    return ctl


def max_violation_ranking(margin=0.3):
    """VSE++ max-violation hinge on cosine similarity within the batch (an improvement; the original's
    ``mrl`` cannot run). For each pair, the hardest other image and the hardest other sentence."""
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


def get_loss(cfg):
    if cfg.loss_fun == "mse":
        return mse
    if cfg.loss_fun == "ctl":
        return contrastive(cfg.ctl_margin)
    return max_violation_ranking(cfg.mrl_margin)
