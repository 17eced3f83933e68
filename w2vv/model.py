"""The W2VV model (docs/method.md#the-model), one functional builder with layers named after what they are.

sequence → word_embedding (frozen, word2vec-initialised) → dropout → sentence_gru → dropout
  → [attention: attention_scores = tanh(Dense(1)(h_t)), softmax over all steps, weighted sum]
  ⊕ auxiliary input (bag of words, mean word2vec) → visual_mlp_1 … visual_mlp_n = the visual feature.
"""
import keras
from keras import layers, ops

from .config import mlp_sizes, uses_attention
from .optimizers import make_optimizer  # noqa: F401  (its home is optimizers.py; importable here too)


@keras.saving.register_keras_serializable(package="w2vv")
def hard_sigmoid_keras2(x):
    """Keras 2.2.4's hard_sigmoid, clip(0.2x + 0.5, 0, 1); Keras 3's is x/6 + 0.5 clipped."""
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def sentence_gru(cfg, return_sequences):
    if cfg.gru_impl == "cudnn":  # faster on GPU, but not the original's math
        return layers.GRU(cfg.lstm_size, return_sequences=return_sequences, reset_after=True,
                          recurrent_activation="sigmoid", name="sentence_gru")
    return layers.GRU(cfg.lstm_size, return_sequences=return_sequences, reset_after=False,
                      recurrent_activation=hard_sigmoid_keras2, activation="tanh",
                      kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                      name="sentence_gru")


def attention_pooling(states):
    """Softmax over all steps (padding steps included) of tanh(Dense(1)(h_t)); the weighted sum of h_t."""
    scores = layers.Dense(1, activation="tanh", name="attention_scores")(states)
    weights = layers.Softmax(axis=1, name="attention_weights")(layers.Flatten(name="attention_flatten")(scores))
    return layers.Dot(axes=1, name="attention_sum")([weights, states])


def build_model(cfg, vocab_size, aux_dim, embedding_matrix=None):
    """The W2VV model for ``cfg``; ``vocab_size`` V excludes padding (the embedding has V+1 rows)."""
    sequence = keras.Input((cfg.sent_maxlen,), dtype="int32", name="word_indices")
    aux = keras.Input((aux_dim,), name="bow_and_mean_word2vec")
    embedding = layers.Embedding(vocab_size + 1, cfg.embed_size, trainable=bool(cfg.we_trainable),
                                 name="word_embedding")
    x = layers.Dropout(cfg.dropout, name="embedding_dropout")(embedding(sequence))
    attention = uses_attention(cfg)
    x = sentence_gru(cfg, return_sequences=attention)(x)
    x = layers.Dropout(cfg.dropout, name="gru_dropout")(x)
    if attention:
        x = attention_pooling(x)
    x = layers.Concatenate(name="text_and_aux")([x, aux])
    regularizer = keras.regularizers.L2(cfg.l2_p) if cfg.l2_p else None
    widths = mlp_sizes(cfg)[1:]
    for i, width in enumerate(widths, 1):
        x = layers.Dense(width, activation=cfg.activation, kernel_regularizer=regularizer,
                         name=f"visual_mlp_{i}")(x)
        if i < len(widths):
            x = layers.Dropout(cfg.dropout, name=f"visual_mlp_{i}_dropout")(x)
    model = keras.Model([sequence, aux], x, name=cfg.name)
    if embedding_matrix is not None:
        embedding.set_weights([embedding_matrix])
    return model


def output_dim(cfg):
    return mlp_sizes(cfg)[-1]
