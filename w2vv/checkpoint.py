"""The files of a checkpoint folder: ``config.json`` (the settings the model is rebuilt from)
and weights files in the layout Keras 2.2.4's ``save_weights`` wrote (readable with h5py alone):
root attribute ``layer_names``; a group per layer with attribute ``weight_names``; the arrays
at ``<layer>/<layer>/<weight>:0``. The project writes its own checkpoints this way too, so
one reader serves both its checkpoints and those of the original code."""
import json
import os
from types import SimpleNamespace

import h5py
import numpy as np

from . import backend
from .atomic import atomic_path, write_text
from .config import DEFAULTS
from .errors import InputError
from .layout import CONFIG_FILE


def save_weights(model, path):
    import keras
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
            f.attrs["backend"] = backend.name().encode()
            for layer in model.layers:
                group = f.create_group(layer.name)
                names = [f"{layer.name}/{_weight_name(w)}:0" for w in layer.weights]
                group.attrs["weight_names"] = np.array([n.encode() for n in names])
                for name, weight in zip(names, layer.weights):
                    group[name] = keras.ops.convert_to_numpy(weight)


def _weight_name(weight):
    return weight.path.rsplit("/", 1)[-1]


def read_weights(path, prefix=""):
    """{layer name: [arrays in saved order]} for the layers that have weights (only those whose names
    start with ``prefix``)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: weights file not found")
    try:
        with h5py.File(path, "r") as f:
            layer_names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
            out = {}
            for name in (n for n in layer_names if n.startswith(prefix)):
                group = f[name]
                weight_names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
                if len(weight_names):
                    out[name] = [np.asarray(group[w]) for w in weight_names]
            return out
    except (OSError, KeyError) as e:
        raise InputError(f"{path}: not a readable weights file (truncated or wrong format: {e})") from None


def load_weights(model, path, layer_map=None):
    """Copy the weights in ``path`` into ``model``; ``layer_map`` maps saved layer names to the model's."""
    saved = read_weights(path)
    for saved_name, arrays in saved.items():
        name = (layer_map or {}).get(saved_name, saved_name)
        try:
            layer = model.get_layer(name)
        except ValueError:
            raise InputError(f"{path}: layer {saved_name!r} has no counterpart in the model") from None
        expected = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != expected:
            raise InputError(f"{path}: layer {saved_name!r} holds shapes {[a.shape for a in arrays]}, "
                             f"the model expects {expected}")
        layer.set_weights(arrays)
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in
               {(layer_map or {}).get(n, n) for n in saved}]
    if missing:
        raise InputError(f"{path}: no weights for layer(s) {', '.join(missing)}")


def save_model_config(folder, cfg, vocab_size, aux_dim, **widths):
    """``config.json``: every attribute of ``cfg`` (its ``family`` too), the GRU vocabulary's size without
    padding, the auxiliary input's width and, for a successor, ``widths`` (``bow_dim``, ``feature_dim``)."""
    settings = dict(vars(cfg), vocab_size=vocab_size, aux_dim=aux_dim, **widths)
    write_text(os.path.join(folder, CONFIG_FILE), json.dumps(settings, indent=1, default=str) + "\n")


def load_model_config(folder):
    """(cfg, vocab_size, aux_dim) from a folder's ``config.json``; attributes added to the
    project after it was written take their defaults."""
    path = os.path.join(folder, CONFIG_FILE)
    try:
        with open(path) as f:
            settings = json.load(f)
        return SimpleNamespace(**{**DEFAULTS, **settings}), settings["vocab_size"], settings["aux_dim"]
    except FileNotFoundError:
        raise InputError(f"{path}: not found (is {folder} a checkpoint folder?)") from None
    except (ValueError, KeyError) as e:
        raise InputError(f"{path}: not a checkpoint config ({e})") from None
