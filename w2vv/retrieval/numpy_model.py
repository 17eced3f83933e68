"""The W2VV text model's forward pass in numpy, for search: no deep-learning framework imported.

The model (``w2vv.model``, docs/method.md#the-model) at inference, dropout off:
word indices → word_embedding → sentence_gru (Keras 2.2.4's GRU, ``reset_after=False`` with
``clip(0.2x + 0.5, 0, 1)`` gates, or the ``cudnn`` one, ``reset_after=True`` with sigmoid) →
[attention: softmax over all steps of tanh(Dense(1)(h_t)), the weighted sum of h_t; else the last
state] ⊕ the auxiliary input → visual_mlp_1 … visual_mlp_n (``cfg.activation``). The weights are
read from the checkpoint's ``.h5`` file by name, as ``w2vv.checkpoint.load_weights`` reads them
into Keras; ``tests/test_search.py`` checks that both give the same vectors (to 1e-5) and rankings.

``load_numpy_model`` answers None for what it does not cover (the original code's checkpoints,
another activation, W2VV's successors W2VV++ and SEA), and the Keras model is used then.
"""
import os

import numpy as np

from .. import checkpoint, layout
from ..config import mlp_sizes, uses_attention

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


def load_numpy_model(folder, weights_file):
    """(NumpyTextModel, cfg) of this project's checkpoint folder, or None where it does not apply."""
    if not os.path.isfile(os.path.join(folder, layout.CONFIG_FILE)):
        return None  # the original code's checkpoint: Keras reads its model.json
    cfg, _, _ = checkpoint.load_model_config(folder)
    if getattr(cfg, "family", "w2vv") != "w2vv" or cfg.activation not in ACTIVATIONS:
        return None  # W2VV's successors (W2VV++, SEA): not covered
    weights = checkpoint.read_weights(weights_file)
    names = {"word_embedding", "sentence_gru"} | {f"visual_mlp_{i}" for i in range(1, len(mlp_sizes(cfg)))}
    if uses_attention(cfg):
        names.add("attention_scores")
    if not names <= set(weights):
        return None
    return NumpyTextModel(cfg, weights), cfg
