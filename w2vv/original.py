"""Checkpoints written by the original code (Keras 2.2.4 ``model.json`` + ``epoch_K.h5``):
read the structure from the JSON, build the project's model with it, copy the weights.

The original's layer names are Keras defaults (``embedding_1``, ``gru_1``,
``time_distributed_1``, ``dense_2`` …); their roles are recognised by class and order."""
import json
import os
from types import SimpleNamespace

from . import checkpoint, layout
from .config import DEFAULTS, TEXT_STYLE
from .errors import InputError
from .textfile import read_lines



def is_original_checkpoint(folder):
    path = os.path.join(folder, layout.MODEL_FILE)
    if not os.path.isfile(path) or os.path.isfile(os.path.join(folder, layout.CONFIG_FILE)):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            description = json.load(f)
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        raise InputError(f"{path}: not a Keras model description ({str(e).splitlines()[0][:120]})") from None
    return isinstance(description, dict) and str(description.get("keras_version", "")).startswith("2.")


def _layers(model_json_path):
    try:
        with open(model_json_path) as f:
            return json.load(f)["config"]["layers"]
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{model_json_path}: not a Keras 2 model description ({e})") from None


def structure(model_json_path):
    """(cfg, vocab_size, aux_dim, layer_map) of an original W2VV model description; InputError for one that is not
    of a W2VV model (a layer or a setting of its layers missing)."""
    try:
        return _structure(model_json_path)
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise InputError(f"{model_json_path}: not the description of a W2VV model of the original code "
                         f"({type(e).__name__}: {e})") from None


def _structure(model_json_path):
    layers = _layers(model_json_path)
    by_class = {}
    for layer in layers:
        by_class.setdefault(layer["class_name"], []).append(layer)
    try:
        embedding = by_class["Embedding"][0]
        rnn = (by_class.get("GRU") or by_class["LSTM"])[0]
        inputs = by_class["InputLayer"]
        denses = by_class["Dense"]
    except KeyError as e:
        raise InputError(f"{model_json_path}: no {e.args[0]} layer: not a W2VV model") from None
    if rnn["class_name"] != "GRU":
        raise InputError(f"{model_json_path}: LSTM models are not supported (GRU only)")
    attention = by_class.get("TimeDistributed", [])
    activations = [a["config"]["activation"] for a in by_class.get("Activation", [])
                   if a["config"]["activation"] != "softmax"]
    dropout = by_class["Dropout"][0]["config"]["rate"] if "Dropout" in by_class else 0.0
    cfg = SimpleNamespace(**DEFAULTS)
    cfg.__dict__.update(
        name=os.path.basename(os.path.dirname(os.path.abspath(model_json_path))),
        sent_maxlen=inputs[0]["config"]["batch_input_shape"][1], embed_size=embedding["config"]["output_dim"],
        we_trainable=int(embedding["config"].get("trainable", False)), lstm_size=rnn["config"]["units"],
        sequences=bool(attention), n_layers="-".join(["0"] + [str(d["config"]["units"]) for d in denses]),
        activation=activations[0] if activations else denses[0]["config"]["activation"], dropout=dropout,
        l2_p=0.0, text_style=TEXT_STYLE, gru_impl="keras2" if not rnn["config"].get("reset_after") else "cudnn",
        bow_vocab="word_vocab_5", img_feature=layout.PAPER_FEATURE,  # model.json does not name it
        L1_normalize=0, L2_normalize=0)
    layer_map = {embedding["name"]: "word_embedding", rnn["name"]: "sentence_gru"}
    layer_map.update({a["name"]: "attention_scores" for a in attention})
    layer_map.update({d["name"]: f"visual_mlp_{i}" for i, d in enumerate(denses, 1)})
    vocab_size = embedding["config"]["input_dim"] - 1
    aux_dim = inputs[1]["config"]["batch_input_shape"][1]
    return cfg, vocab_size, aux_dim, layer_map


def load_original_model(folder, weights_file):
    from .model import build_model  # Keras: only to load the model, not to read its description
    cfg, vocab_size, aux_dim, layer_map = structure(os.path.join(folder, layout.MODEL_FILE))
    model = build_model(cfg, vocab_size, aux_dim)
    checkpoint.load_weights(model, weights_file, layer_map)
    return model, cfg


def convert(folder, out_folder, weights_file):
    """Write a checkpoint folder of this project from an original one: ``config.json``,
    ``model.json`` (Keras 3), the weights under the same file name, and the histories, with the
    converted epoch first in ``val_per_hist.txt`` (the folder's model is its first line's)."""
    from .atomic import write_text
    cfg, vocab_size, aux_dim, _ = structure(os.path.join(folder, layout.MODEL_FILE))
    val_history = _history_from(folder, weights_file)
    model, _ = load_original_model(folder, weights_file)
    os.makedirs(out_folder, exist_ok=True)
    checkpoint.save_model_config(out_folder, cfg, vocab_size, aux_dim)
    checkpoint.save_weights(model, os.path.join(out_folder, os.path.basename(weights_file)))
    loss_history = os.path.join(folder, layout.LOSS_HISTORY_FILE)
    if os.path.isfile(loss_history):
        with open(loss_history, encoding="utf-8") as f:
            write_text(os.path.join(out_folder, layout.LOSS_HISTORY_FILE), f.read())
    if val_history is not None:
        write_text(os.path.join(out_folder, layout.VAL_HISTORY_FILE), "".join(line + "\n" for line in val_history))
    write_text(os.path.join(out_folder, layout.MODEL_FILE), model.to_json())
    return out_folder


def _history_from(folder, weights_file):
    """The lines of ``folder``'s ``val_per_hist.txt`` (None without one) with ``weights_file``'s epoch first;
    InputError when it has no line of that epoch."""
    path = os.path.join(folder, layout.VAL_HISTORY_FILE)
    if not os.path.isfile(path):
        return None
    lines = read_lines(path, "validation history")
    label = os.path.splitext(os.path.basename(weights_file))[0]
    chosen = [line for line in lines if line.split()[:1] == [label]]
    if not chosen:
        raise InputError(f"{path}: no line of {label}, the epoch of {weights_file}")
    return chosen + [line for line in lines if line not in chosen]

