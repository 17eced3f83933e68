"""The W2VV text model's forward pass in numpy, for search: no deep-learning framework imported.

The model (``w2vv.model``, docs/method.md#the-model) at inference, dropout off:
word indices → word_embedding → sentence_gru (Keras 2.2.4's GRU, ``reset_after=False`` with
``clip(0.2x + 0.5, 0, 1)`` gates, or the ``cudnn`` one, ``reset_after=True`` with sigmoid) →
[attention: softmax over all steps of tanh(Dense(1)(h_t)), the weighted sum of h_t; else the last
state] ⊕ the auxiliary input → visual_mlp_1 … visual_mlp_n (``cfg.activation``). The weights are
read from the checkpoint's ``.h5`` file by name, as ``w2vv.checkpoint.load_weights`` reads them
into Keras; ``tests/test_search.py`` checks that both give the same vectors (to 1e-5) and rankings.

A successor's two towers (W2VV++, SEA: w2vv.common_space), ``NumpyCommonSpace``: the word indices
(``<start>`` … ``<end>``, right-padded with 0) → word_embedding → sentence_gru (torch's form: Keras's
``reset_after=True`` with sigmoid gates) → its outputs averaged over the valid steps (index ≠ 0) ⊕ the
bag of words and the mean word2vec → text_space (W2VV++: [GRU mean, mean word2vec, bag of words] → one
Linear + activation) or text_space_bow / _w2v / _gru (SEA: each encoding → its own) → each space's output
L2-normalised (a zero row stays zero), the spaces concatenated; the image tower likewise from the
(normalised) feature through image_space(_<space>). ``tests/test_family_search.py`` checks both towers
against Keras to 1e-5.

``load_numpy_model`` answers None for what it does not cover (the original code's checkpoints,
another activation), and the Keras model is used then.
"""
import os

import numpy as np

from .. import checkpoint, layout
from ..config import mlp_sizes, uses_attention
from ..ranking import unit_rows
from ..torch_layout import SPACES, space_layer

ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "linear": lambda x: x,
    None: lambda x: x,
}


def _hard_sigmoid(x):
    y = 0.2 * x
    y += 0.5
    return np.minimum(np.maximum(y, 0.0, out=y), 1.0, out=y)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class NumpyTextModel:
    """``predict_on_batch([word_indices, aux])`` and ``output_shape``, as a Keras model has them."""
    numpy = True

    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.embedding = weights["word_embedding"][0].astype(np.float32)
        self.kernel, self.recurrent, bias = (w.astype(np.float32) for w in weights["sentence_gru"])
        self.reset_after = cfg.gru_impl == "cudnn"
        self.gate = _sigmoid if self.reset_after else _hard_sigmoid
        if self.reset_after:
            self.input_bias, self.recurrent_bias = bias[0], bias[1]
        else:
            self.input_bias, self.recurrent_bias = bias, None
        self.attention = weights.get("attention_scores") if uses_attention(cfg) else None
        self.dense = [[w.astype(np.float32) for w in weights[f"visual_mlp_{i}"]]
                      for i in range(1, len(mlp_sizes(cfg)))]
        self.activation = ACTIVATIONS[cfg.activation]
        self.output_shape = (None, int(self.dense[-1][0].shape[1]))
        # the GRU's states over a sentence of padding only (index 0 at every step)
        padding = np.zeros((1, int(cfg.sent_maxlen)), np.int64)
        self.padding_states = np.stack(self._gru_steps(self.embedding[padding],
                                                       np.zeros((1, self.recurrent.shape[0]), np.float32)), axis=1)

    def _gru_steps(self, x, h):
        """The GRU's state after each step of ``x`` (n × T × E), from the state ``h``."""
        units = self.recurrent.shape[0]
        xs = x @ self.kernel + self.input_bias                       # n × T × 3u: z, r, h parts
        states = []
        recurrent_zr, recurrent_h = self.recurrent[:, :2 * units], self.recurrent[:, 2 * units:]
        for t in range(xs.shape[1]):
            x_zr, x_h = xs[:, t, :2 * units], xs[:, t, 2 * units:]
            if self.reset_after:
                hu = h @ self.recurrent + self.recurrent_bias
                zr = self.gate(x_zr + hu[:, :2 * units])
                candidate = np.tanh(x_h + zr[:, units:] * hu[:, 2 * units:])
            else:
                zr = self.gate(x_zr + h @ recurrent_zr)          # the update and reset gates at once
                candidate = np.tanh(x_h + (zr[:, units:] * h) @ recurrent_h)
            z = zr[:, :units]
            h = z * h + (1 - z) * candidate
            states.append(h)
        return states

    def predict_on_batch(self, inputs):
        indices, aux = np.asarray(inputs[0]), np.asarray(inputs[1], np.float32)
        # a sentence is padded in front with index 0 (Keras's pad_sequences): those steps are the same
        # for every sentence, so the GRU starts after the padding the rows share, from its cached states
        leading = np.where(indices.any(axis=1), (indices != 0).argmax(axis=1), indices.shape[1])
        n, units = len(indices), self.recurrent.shape[0]
        shared = min(int(leading.min()), self.padding_states.shape[1]) if n else 0
        padding = np.broadcast_to(self.padding_states[:, :shared], (n, shared, units))   # n × shared × u
        h = padding[:, -1] if shared else np.zeros((n, units), np.float32)
        states = self._gru_steps(self.embedding[indices[:, shared:]], h)
        if self.attention is not None:
            seq = np.concatenate([padding, *(s[:, None] for s in states)], axis=1)  # n × T × u
            w, b = self.attention
            scores = np.tanh(seq @ w + b)[:, :, 0]                   # n × T
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
            text = np.einsum("nt,ntu->nu", scores, seq)
        else:
            text = states[-1] if states else h
        x = np.concatenate([text, aux], axis=1)
        for kernel, bias in self.dense:
            x = self.activation(x @ kernel + bias)
        return x.astype(np.float32)


class Tower:
    """One tower of ``NumpyCommonSpace``: ``predict_on_batch`` and ``output_shape``, as a Keras model has them."""

    def __init__(self, forward, width):
        self.predict_on_batch, self.output_shape = forward, (None, width)


class NumpyCommonSpace:
    """A successor's towers at inference, dropout off: ``text`` ([word_indices, bow_and_mean_word2vec] →
    unit vectors per space, concatenated) and ``image`` (normalised features → the same), as
    ``w2vv.common_space.CommonSpaceModels`` has them."""
    numpy = True

    def __init__(self, cfg, weights):
        self.family, self.spaces = cfg.family, SPACES[cfg.family]
        self.embedding = weights["word_embedding"][0].astype(np.float32)
        self.kernel, self.recurrent, bias = (w.astype(np.float32) for w in weights["sentence_gru"])
        self.input_bias, self.recurrent_bias = bias[0], bias[1]
        self.bow_dim = int(cfg.bow_dim)
        self.activation = ACTIVATIONS[cfg.activation]
        self.text_layers, self.image_layers = (self._tower_layers(weights, tower) for tower in ("text", "image"))
        width = sum(int(kernel.shape[1]) for kernel, _ in self.text_layers)
        self.text, self.image = Tower(self._text, width), Tower(self._image, width)

    def _tower_layers(self, weights, tower):
        """[kernel, bias] of ``tower``'s ('text', 'image') layer into each space."""
        return [[w.astype(np.float32) for w in weights[space_layer(tower, self.family, s)]] for s in self.spaces]

    def _gru_mean(self, indices):
        """The GRU's outputs averaged over each sentence's valid steps (its indices ≠ 0)."""
        units = self.recurrent.shape[0]
        xs = self.embedding[indices] @ self.kernel + self.input_bias           # n × T × 3u: z, r, h parts
        h = np.zeros((len(indices), units), np.float32)
        total = np.zeros_like(h)
        valid = (indices != 0).astype(np.float32)
        for t in range(indices.shape[1]):
            hu = h @ self.recurrent + self.recurrent_bias
            zr = _sigmoid(xs[:, t, :2 * units] + hu[:, :2 * units])
            candidate = np.tanh(xs[:, t, 2 * units:] + zr[:, units:] * hu[:, 2 * units:])
            z = zr[:, :units]
            h = z * h + (1 - z) * candidate
            total += valid[:, t:t + 1] * h
        return total / np.maximum(valid.sum(axis=1, keepdims=True), 1.0)

    def _spaces(self, inputs, layers):
        return np.concatenate([unit_rows(self.activation(x @ kernel + bias)) for x, (kernel, bias)
                               in zip(inputs, layers)], axis=1).astype(np.float32)

    def _text(self, inputs):
        indices, aux = np.asarray(inputs[0]), np.asarray(inputs[1], np.float32)
        encodings = dict(gru=self._gru_mean(indices), bow=aux[:, :self.bow_dim], w2v=aux[:, self.bow_dim:])
        if self.family == "w2vvpp":
            encodings["common"] = np.concatenate([encodings[k] for k in ("gru", "w2v", "bow")], axis=1)
        return self._spaces([encodings[space] for space in self.spaces], self.text_layers)

    def _image(self, features):
        features = np.asarray(features, np.float32)
        return self._spaces([features] * len(self.spaces), self.image_layers)


def _successor_weights(cfg):
    """The layers a successor's ``NumpyCommonSpace`` reads."""
    return {"word_embedding", "sentence_gru"} | {space_layer(tower, cfg.family, space) for tower in ("text", "image")
                                                 for space in SPACES[cfg.family]}


def load_numpy_model(folder, weights_file):
    """(NumpyTextModel or, for a successor, NumpyCommonSpace, cfg) of this project's checkpoint folder,
    or None where it does not apply."""
    if not os.path.isfile(os.path.join(folder, layout.CONFIG_FILE)):
        return None  # the original code's checkpoint: Keras reads its model.json
    cfg, _, _ = checkpoint.load_model_config(folder)
    family = getattr(cfg, "family", "w2vv")
    if cfg.activation not in ACTIVATIONS or (family != "w2vv" and (family not in SPACES or
                                                                    getattr(cfg, "bow_dim", None) is None)):
        return None  # (a successor's config without bow_dim: Keras's loader says what is wrong)
    weights = checkpoint.read_weights(weights_file)
    if family != "w2vv":
        return (NumpyCommonSpace(cfg, weights), cfg) if _successor_weights(cfg) <= set(weights) else None
    names = {"word_embedding", "sentence_gru"} | {f"visual_mlp_{i}" for i in range(1, len(mlp_sizes(cfg)))}
    if uses_attention(cfg):
        names.add("attention_scores")
    if not names <= set(weights):
        return None
    return NumpyTextModel(cfg, weights), cfg
