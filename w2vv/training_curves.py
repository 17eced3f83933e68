"""Training as pictures.

- ``plot_training_curves``: ``training_curves.png`` in a checkpoint folder, training loss and
  validation AP per epoch with the learning-rate halvings marked. It never raises: the training
  loop calls it after epochs (``training.CURVES_EVERY_S``) and after the last.
- ``tensorboard_callback``: Keras's TensorBoard logs in ``<checkpoint>/tensorboard/`` (an option).
"""
import os

import numpy as np

from . import layout
from .atomic import atomic_path
from .config import VAL_NAMES
from .errors import InputError
from .layout import CURVES_FILE


def read_history(path):
    """[(epoch, value)] of an ``epoch_<i> <value>`` file, sorted by epoch; [] when absent."""
    if not os.path.isfile(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                epoch = layout.epoch_of(fields[0]) if len(fields) == 2 else None
                if epoch is None:
                    raise ValueError
                out.append((epoch, float(fields[1])))
            except ValueError:
                raise InputError(f"{path}:{lineno}: expected 'epoch_<i> <number>'") from None
    return sorted(out)


def lr_halvings(lr_history):
    """[(epoch, new lr)] for each epoch whose learning rate is at most 3/4 of the previous one's: W2VV's
    halvings, and the successors' plateau halvings, not their decay by 0.99 every epoch."""
    return [(e, lr) for (_, prev), (e, lr) in zip(lr_history, lr_history[1:]) if lr <= 0.75 * prev]


def _val_name(folder):
    """'AP' (W2VV's validation figure) or 'mIR' (the successors', ``val_metric`` 'mir_t2i' in config.json)."""
    import json
    try:
        with open(os.path.join(folder, layout.CONFIG_FILE), encoding="utf-8") as f:
            return VAL_NAMES.get(json.load(f).get("val_metric"), "AP")
    except (OSError, ValueError, AttributeError):
        return "AP"


def _mark_lr_halvings(ax_loss, ax_val, halvings):
    """A dashed line between the epochs where the learning rate was halved, its new value noted."""
    for i, (epoch, lr) in enumerate(halvings):
        for ax in (ax_loss, ax_val):
            ax.axvline(epoch - 0.5, color="tab:orange", linestyle="--", linewidth=1,
                       label="lr halved" if (ax is ax_loss and i == 0) else None)
        ax_loss.annotate(f"lr {lr:.2g}", (epoch - 0.5, 0.98), xycoords=("data", "axes fraction"), fontsize=7,
                         rotation=90, va="top", ha="right", color="tab:orange")
    if halvings:
        ax_loss.legend(loc="center right", fontsize=8)


def _epoch_axis(axes, epochs):
    """Half an epoch of margin on each side and integer ticks only: matplotlib's default ticks
    for one epoch would be -0.04 … 0.04."""
    from matplotlib.ticker import MaxNLocator

    axes[0].set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)  # the axes share x
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def training_curves_figure(folder):
    """The matplotlib Figure of ``<folder>``'s histories: loss above, validation AP below, epochs
    as integer ticks, learning-rate halvings dashed, the best epoch starred."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    loss = read_history(os.path.join(folder, layout.LOSS_HISTORY_FILE))
    val = read_history(os.path.join(folder, layout.VAL_HISTORY_FILE))
    lrs = read_history(os.path.join(folder, layout.LR_HISTORY_FILE))
    if not loss and not val:
        raise InputError(f"{folder}: no train_loss_hist.txt or val_per_hist.txt to plot")
    fig = Figure(figsize=(7, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_loss, ax_val = fig.subplots(2, 1, sharex=True)
    if loss:
        ax_loss.plot([e for e, _ in loss], [v for _, v in loss], "o-", color="tab:blue", markersize=3)
    ax_loss.set_ylabel("training loss")
    val_name = _val_name(folder)
    if val:
        epochs, aps = [e for e, _ in val], [v for _, v in val]
        ax_val.plot(epochs, aps, "o-", color="tab:green", markersize=3)
        best = int(np.argmax(aps))
        ax_val.plot([epochs[best]], [aps[best]], "*", color="tab:red", markersize=14,
                    label=f"best: epoch {epochs[best]}, {val_name} {aps[best]:.4f}")
        ax_val.legend(loc="lower right", fontsize=8)
    ax_val.set_ylabel(f"validation {val_name}")
    ax_val.set_xlabel("epoch")
    _mark_lr_halvings(ax_loss, ax_val, lr_halvings(lrs))
    _epoch_axis((ax_loss, ax_val), [e for e, _ in loss + val])
    try:
        _, train, val, run = layout.checkpoint_parts(folder)
        title = f"{run}\n({train} → {val})"  # a run name of many settings is wider than the figure
    except InputError:  # a folder outside the layout: its name
        title = os.path.basename(os.path.normpath(os.path.abspath(folder)))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def write_training_curves(folder):
    """Write ``<folder>/training_curves.png`` (``plot_training.py``); return its path."""
    out = os.path.join(str(folder), CURVES_FILE)
    fig = training_curves_figure(str(folder))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


def plot_training_curves(folder):
    """``write_training_curves`` during training: its path, or False when it cannot (never raises)."""
    try:
        return write_training_curves(folder)
    except Exception:  # a picture must never stop training
        return False


def tensorboard_callback(folder):
    """A Keras TensorBoard callback writing to ``<folder>/tensorboard`` (needs the ``tensorboard`` package)."""
    import keras
    return keras.callbacks.TensorBoard(log_dir=os.path.join(str(folder), "tensorboard"))
