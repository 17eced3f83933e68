"""Inference with a trained model (docs/method.md#the-checkpoint-folder): rebuild it from its checkpoint
folder (this project's or the original code's) with its best weights, name its run, and predict
the visual vectors of encoded sentences. Testing, cross-lingual matching and search use this
module; training uses ``predict_vectors`` for validation."""
import os

import numpy as np

from . import checkpoint, layout, runs
from .errors import InputError


def predict_vectors(model, sentences, batch_size=1000):
    """Predicted visual vectors of all ``sentences`` (an EncodedSentences), in batches."""
    out = np.zeros((len(sentences), model.output_shape[-1]), np.float32)
    for start in range(0, len(sentences), batch_size):
        rows = np.arange(start, min(start + batch_size, len(sentences)))
        # one batch of all (a search's queries): no rows to pick out of the sparse encodings
        out[rows] = model.predict_on_batch(list(sentences.inputs(None if len(rows) == len(sentences) else rows)))
    return out


def best_weights_file(folder):
    """``epoch_<k>.h5`` of the best epoch, as ``val_per_hist.txt`` (best first) records it."""
    path = os.path.join(folder, layout.VAL_HISTORY_FILE)
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found (has training finished?)")
    with open(path) as f:
        first = f.readline().split()
    if not first:
        raise InputError(f"{path}:1: expected 'epoch_<k> <figure>'")
    return os.path.join(folder, layout.weights_name(first[0]))


def trained_model_name(folder):
    """The run's name (its recorded run name; else the config's), read without building the model."""
    record = runs.recorded_run(folder)
    if record:
        return record[0]
    from .original import is_original_checkpoint  # Keras is imported only to build a model
    if is_original_checkpoint(folder):
        return os.path.basename(os.path.normpath(folder))
    return checkpoint.load_model_config(folder)[0].name


def load_trained_model(folder, weights_file=None):
    """Rebuild a trained model and load its (best) weights: a checkpoint folder of this project
    (``config.json``) or of the original code (a Keras 2.2.4 ``model.json``)."""
    from .model import build_model
    from .original import is_original_checkpoint, load_original_model
    if is_original_checkpoint(folder):
        return load_original_model(folder, weights_file or best_weights_file(folder))
    cfg, vocab_size, aux_dim = checkpoint.load_model_config(folder)
    model = build_model(cfg, vocab_size, aux_dim)
    checkpoint.load_weights(model, weights_file or best_weights_file(folder))
    return model, cfg
