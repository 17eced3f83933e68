"""W2VV's successors (``family`` 'w2vvpp' and 'sea'): a text tower and an image tower into a learned
common space, as the published W2VV++ (li-xirong/w2vvpp) and SEA (li-xirong/sea) PyTorch codes build them.

Text: the word indices (``<pad>`` 0, right-padded) → a trainable embedding (word2vec-initialised) → one
GRU in torch's form (gates r, z, n; the reset gate applied after the recurrent product, sigmoid gates,
two biases: Keras's ``reset_after=True``) → its outputs averaged over the sentence's valid steps. The
bag of words and the mean word2vec come in one input, ``bow_and_mean_word2vec`` (the bag of words
first, as w2vv.encoders gives W2VV's auxiliary input).

- W2VV++: [GRU mean, mean word2vec, bag of words] concatenated (torch's order) → Linear → tanh → dropout
  into one space; the image feature → Linear → tanh → dropout into the same space.
- SEA: the bag of words, the mean word2vec and the GRU mean (torch's ``txt_nets`` 0, 1, 2), each → its
  own Linear → tanh → dropout into its own space; the feature → one Linear → tanh → dropout per space.

Score: the cosine of the two towers' outputs in a space, summed over the spaces (SEA). Loss: per
sentence, in each space, the hinge ``max(0, margin + cos(s, v') − cos(s, v))`` against the hardest
other image ``v'`` of the batch (max violation, sentence → image only), summed over the spaces and the
batch. The step (``optimizer_impl = 'torch'``): w2vv.torch_optimizers.

Initial weights as the published codes draw them: Linear weights Xavier-uniform (Keras's
glorot_uniform), biases 0; the GRU's four tensors U(−1/√H, 1/√H) (torch's default); the embedding
from word2vec, U(−1, 1) rows for words without a vector (the caller's ``embedding_matrix``; N(0, 1),
torch's default, without one).

A zero vector has no direction: the published codes divide it by its zero norm, and its cosines are
NaN. That happens to a sentence with no known word in SEA's bag-of-words or word2vec space while that
space's text bias is still exactly 0 (at initialisation: tanh(W·0 + 0) = 0). Here a zero vector is
left zero by the normalisation, so its cosine, and its score in that space, is 0 (``unit_rows``);
every other vector is divided by its norm exactly as published.

``build_common_space`` returns three Keras models sharing their layers: ``train`` (the word indices,
``bow_and_mean_word2vec`` and ``image_feature`` → the batch's cosines, (sentences, spaces, images),
what ``training.compile_for_training`` compiles: its ``y`` is ignored, any array of one row a sentence, e.g.
``no_targets(n)``), ``text`` and ``image`` (each tower's outputs, L2-normalised per space and
concatenated: the score of a sentence and an image is the dot product of their vectors). Layers are
named after what they are; ``to_torch`` / ``from_torch`` map their weights to and from the published
codes' parameter names and layouts (w2vv.torch_layout)."""
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from . import checkpoint
from .config import mlp_sizes
from .errors import InputError
from .torch_layout import FAMILIES, SPACES, space_layer


def unit_rows(x):
    """Each row divided by its L2 norm, as the published ``l2norm``; a zero row stays zero (its cosines
    0) where the published division gives NaN. The norm's square is replaced by 1 before the root where
    it is 0, so the gradient stays finite too."""
    square = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x / ops.sqrt(ops.where(square > 0, square, ops.ones_like(square)))


@keras.saving.register_keras_serializable(package="w2vv")
class Columns(layers.Layer):
    """Columns ``start`` to ``stop`` (excluded) of a (batch, n) input."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x):
        return x[:, self.start:self.stop]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="w2vv")
class SpaceVectors(layers.Layer):
    """A tower's outputs, one (batch, width) per space: each row L2-normalised per space (``unit_rows``),
    the spaces concatenated. The dot product of a text's and an image's is their score."""

    def call(self, per_space):
        return ops.concatenate([unit_rows(x) for x in per_space], axis=-1)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], sum(shape[-1] for shape in input_shapes))


@keras.saving.register_keras_serializable(package="w2vv")
class SpaceCosines(layers.Layer):
    """(sentences, spaces, images): the cosine of sentence i and image j in space k at [i, k, j]."""

    def call(self, texts, images):
        return ops.stack([ops.matmul(unit_rows(t), ops.transpose(unit_rows(v))) for t, v in zip(texts, images)],
                         axis=1)

    def compute_output_shape(self, texts_shape, images_shape):
        return (texts_shape[0][0], len(texts_shape), images_shape[0][0])


@keras.saving.register_keras_serializable(package="w2vv")
class MaxViolationTextToImage(keras.losses.Loss):
    """The published loss (``loss = 'mrl'``, ``direction = 't2i'``, ``max_violation = True``,
    ``cost_style = 'sum'``) on ``SpaceCosines``: per sentence, in each space, the largest
    ``max(0, margin + cos(s, v_j) − cos(s, v_own))`` over the batch's other images j (the image of another
    row counts as another image, even where it is the same picture), summed over the spaces; reduction
    ``sum`` over the batch. ``y_true`` is ignored: each sentence's image is the one of its row."""

    def __init__(self, margin=0.2, name="max_violation_t2i", reduction="sum", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        positive = ops.transpose(ops.diagonal(y_pred, axis1=0, axis2=2))  # (sentences, spaces)
        others = 1.0 - ops.eye(ops.shape(y_pred)[0], dtype=y_pred.dtype)  # the own image masked, as torch's fill
        cost = ops.relu(self.margin + y_pred - positive[:, :, None]) * others[:, None, :]
        return ops.sum(ops.max(cost, axis=-1), axis=-1)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def family_loss(cfg):
    return MaxViolationTextToImage(cfg.mrl_margin)


def no_targets(n):
    """The ``y`` of a training batch of ``n`` sentences (the loss reads none)."""
    return np.zeros((n, 1), np.float32)


@dataclass
class CommonSpaceModels:
    train: keras.Model   # [word_indices, bow_and_mean_word2vec, image_feature] -> (sentences, spaces, images) cosines
    text: keras.Model    # [word_indices, bow_and_mean_word2vec] -> (sentences, spaces * width) unit vectors
    image: keras.Model   # image_feature -> (images, spaces * width) unit vectors
    family: str
    spaces: tuple
    width: int

    def count_params(self):
        """Every parameter of both towers (what the published trainers print)."""
        return self.train.count_params()


def torch_gru_initializer(units):
    """torch.nn.GRU's default initialisation of every weight and bias: U(−1/√H, 1/√H). One per tensor: Keras 3
    draws the same numbers at each call of one initializer (torch draws each tensor on its own)."""
    bound = 1.0 / float(np.sqrt(units))
    return keras.initializers.RandomUniform(-bound, bound)


def _projection(x, cfg, width, name):
    """Linear (Xavier-uniform weights, zero bias) → activation → dropout: the published TransformNet."""
    x = layers.Dense(width, activation=cfg.activation, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                     name=name)(x)
    return layers.Dropout(cfg.dropout, name=f"{name}_dropout")(x)


def build_common_space(cfg, vocab_size, bow_dim, w2v_dim, feature_dim, embedding_matrix=None):
    """The successor ``cfg.family`` names. ``vocab_size``: the GRU vocabulary's size, ``<pad>`` (0),
    ``<start>``, ``<end>`` and ``<unk>`` included (the embedding's rows); ``bow_dim``, ``w2v_dim``: the
    widths of the bag of words and of the mean word2vec; ``feature_dim``: the image feature's."""
    if cfg.family not in FAMILIES:
        raise ValueError(f"family {cfg.family!r}: not a common-space model (expected one of {', '.join(FAMILIES)})")
    family, spaces, width = cfg.family, SPACES[cfg.family], mlp_sizes(cfg)[-1]
    words = keras.Input((None,), dtype="int32", name="word_indices")
    aux = keras.Input((bow_dim + w2v_dim,), name="bow_and_mean_word2vec")
    feature = keras.Input((feature_dim,), name="image_feature")

    embedding = layers.Embedding(vocab_size, cfg.embed_size, mask_zero=True, trainable=bool(cfg.we_trainable),
                                 embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                 name="word_embedding")
    inits = {f"{tensor}_initializer": torch_gru_initializer(cfg.lstm_size)
             for tensor in ("kernel", "recurrent", "bias")}
    gru = layers.GRU(cfg.lstm_size, return_sequences=True, reset_after=True, activation="tanh",
                     recurrent_activation="sigmoid", name="sentence_gru", **inits)
    # the mask (word index 0) reaches the pooling: the mean over the valid steps, <start> and <end> included
    encodings = {"gru": layers.GlobalAveragePooling1D(name="gru_mean")(gru(embedding(words))),
                 "bow": Columns(0, bow_dim, name="bag_of_words")(aux),
                 "w2v": Columns(bow_dim, bow_dim + w2v_dim, name="mean_word2vec")(aux)}
    if family == "w2vvpp":
        encodings["common"] = layers.Concatenate(name="gru_w2v_bow")([encodings[k] for k in ("gru", "w2v", "bow")])
    texts = [_projection(encodings[s], cfg, width, space_layer("text", family, s)) for s in spaces]
    images = [_projection(feature, cfg, width, space_layer("image", family, s)) for s in spaces]

    # cosines and unit vectors in float32 under every precision policy, as the loss
    train = keras.Model([words, aux, feature], SpaceCosines(name="cosines", dtype="float32")(texts, images),
                        name=cfg.name)
    text = keras.Model([words, aux], SpaceVectors(name="text_vectors", dtype="float32")(texts),
                       name=f"{cfg.name}_text")
    image = keras.Model(feature, SpaceVectors(name="image_vectors", dtype="float32")(images), name=f"{cfg.name}_image")
    if embedding_matrix is not None:
        embedding.set_weights([embedding_matrix])
    return CommonSpaceModels(train, text, image, family, spaces, width)


def take_image_towers(models, weights_file):
    """Give ``models``' image tower(s) the weights of another model's (``weights_file``: the English model's best
    weights, w2vv.pivot_space) and freeze them: not trained (``trainable = False``) and without dropout, so that
    at training time they give that model's image vectors exactly, the fixed targets of the text tower(s) as the
    CNN features are W2VV's. Before ``compile_for_training``, which builds the optimizer on the trainable
    variables only. InputError in one line when the file lacks a tower or holds other shapes."""
    saved = checkpoint.read_weights(weights_file, prefix="image_space")  # the towers only, not the text's
    for layer in models.image.layers:
        if isinstance(layer, layers.Dropout):
            layer.rate = 0.0
        elif layer.weights:
            arrays = saved.get(layer.name)
            expected = [tuple(w.shape) for w in layer.weights]
            if arrays is None or [a.shape for a in arrays] != expected:
                found = "no such layer" if arrays is None else f"shapes {[a.shape for a in arrays]}"
                raise InputError(f"{weights_file}: image tower {layer.name!r}: {found}, where this model's takes "
                                 f"{expected} (another config or feature? retrain the English model)")
            layer.set_weights(arrays)
            layer.trainable = False

