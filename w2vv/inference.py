"""Inference with a trained model (docs/method.md#the-checkpoint-folder): rebuild it from its checkpoint
folder (this project's or the original code's) with its best weights, name its run, tell its family
(W2VV or a successor, W2VV++ or SEA), and predict the visual vectors of encoded sentences. Testing,
cross-lingual matching and search use this module; training uses ``predict_vectors`` for validation."""
import os

import numpy as np

from . import checkpoint, layout, runs
from .errors import InputError
from .ranking import cosine_scores


def predict_vectors(model, sentences, batch_size=1000):
    """Predicted visual vectors of all ``sentences`` (an EncodedSentences), in batches."""
    out = np.zeros((len(sentences), model.output_shape[-1]), np.float32)
    for start in range(0, len(sentences), batch_size):
        rows = np.arange(start, min(start + batch_size, len(sentences)))
        # one batch of all (a search's queries): no rows to pick out of the sparse encodings
        out[rows] = model.predict_on_batch(list(sentences.inputs(None if len(rows) == len(sentences) else rows)))
    return out


def image_vectors(towers, features, batch_size=1000):
    """A successor's image tower's vectors of ``features`` (images × features), in batches."""
    return np.asarray(towers.image.predict(np.asarray(features, np.float32), batch_size=batch_size, verbose=0))


def sentence_model(model, successor):
    """What predicts a sentence's vector: W2VV's whole model, a successor's text tower."""
    return model.text if successor else model


def sentence_image_scores(model, successor, sentence_vectors, images):
    """(sentences × images) float64 scores of ``images`` (features, normalised as the model's config says)
    for sentences by their predicted vectors: W2VV's cosine of a sentence's vector and an image's feature,
    a successor's ``common_space_scores`` of its towers' vectors."""
    if successor:
        return common_space_scores(sentence_vectors, image_vectors(model, images))
    return cosine_scores(sentence_vectors, images)


def common_space_scores(sentence_vectors, image_vecs):
    """(sentences × images) float64 scores of a successor: the dot product of its text tower's and its
    image tower's vectors, each unit per space (w2vv.common_space), i.e. the cosine of the two in its
    space, summed over SEA's spaces."""
    return np.asarray(sentence_vectors, np.float64) @ np.asarray(image_vecs, np.float64).T


def best_weights_file(folder):
    """``epoch_<k>.h5`` of the best epoch, as ``val_per_hist.txt`` (best first) records it."""
    path = os.path.join(folder, layout.VAL_HISTORY_FILE)
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found (has training finished?)")
    with open(path) as f:
        first = f.readline().split()
    if not first or layout.epoch_of(first[0]) is None:
        raise InputError(f"{path}:1: expected 'epoch_<k> <figure>'")
    return os.path.join(folder, layout.weights_name(first[0]))


def trained_model_name(folder):
    """The run's name: its recorded run name; else, for a folder of the original code or converted from one, the
    folder's name (a converted copy's results do not replace the original's)."""
    record = runs.recorded_run(folder)
    return record[0] if record else os.path.basename(os.path.normpath(folder))


FAMILY_NAMES = {"w2vv": "W2VV", "w2vvpp": "W2VV++", "sea": "SEA"}
ALL_FAMILIES = tuple(FAMILY_NAMES)


def model_family(folder):
    """The family of the model in a checkpoint folder ('w2vv', 'w2vvpp', 'sea'), read without Keras: its
    ``config.json``'s (one written before families were, or the original code's folder: 'w2vv')."""
    path = os.path.join(folder, layout.CONFIG_FILE)
    if not os.path.isfile(path):
        return "w2vv"
    return getattr(checkpoint.load_model_config(folder)[0], "family", "w2vv")


def require_family(folder, families, what):
    """InputError in one line when the model in ``folder`` is of none of ``families``; ``what``: the use
    that expects them (e.g. 'the numpy predictor')."""
    family = model_family(folder)
    if family not in families:
        names = " or ".join(FAMILY_NAMES[f] for f in families)
        name = FAMILY_NAMES.get(family, family)
        raise InputError(f"{folder}: a {name} model (family {family!r}), where {what} takes a {names} model"
                         f"{f' (not yet a {name} one)' if family != 'w2vv' else ''}")
    return family


def require_finished(folder):
    """InputError when the training of the model in ``folder`` has not finished (a run interrupted, or being
    retrained): its weights are an epoch's, not the run's."""
    if not os.path.isfile(os.path.join(folder, layout.MODEL_FILE)):
        raise InputError(f"{folder}: its training has not finished (no {layout.MODEL_FILE}, which the trainer writes "
                         f"last): run the trainer again (it resumes), or give a finished model")


def require_vocabularies_fit(folder, encoder):
    """InputError when the vocabularies and word2vec ``encoder`` reads do not make the inputs the trained model in
    ``folder`` reads (its GRU vocabulary's size, the width of its bag of words and mean word2vec): a vocabulary of
    the root recounted or edited since an original checkpoint (which records none) was trained with it, where
    shorter it ranked in silence and longer it failed deep in Keras."""
    from .original import is_original_checkpoint, structure
    if is_original_checkpoint(folder):
        _, vocab_size, aux_dim, _ = structure(os.path.join(folder, layout.MODEL_FILE))
    else:
        _, vocab_size, aux_dim = checkpoint.load_model_config(folder)
    sequence, bag = encoder.inputs.vocab_files
    for path, words, wanted in ((sequence, encoder.seq_vocab_size, vocab_size),
                                (bag, encoder.bow_dim, aux_dim - encoder.word2vec.dim)):
        if words != wanted:
            raise InputError(f"{path}: {words} words, but the model {folder} was trained with a vocabulary of "
                             f"{wanted} there: not the vocabulary it read (counted again, or edited, since); put "
                             f"back the one it was trained with")


def load_trained_model(folder, weights_file=None, families=("w2vv",), what="this command"):
    """Rebuild a trained model and load its (best) weights: a checkpoint folder of this project
    (``config.json``) or of the original code (a Keras 2.2.4 ``model.json``). Returns (model, cfg): W2VV's
    Keras model, or for a successor (``cfg.family`` 'w2vvpp', 'sea') its ``common_space.CommonSpaceModels``.
    A model of a family not in ``families`` (by default W2VV's only: a caller takes a successor when it
    says so) stops in one line naming ``what`` expected it."""
    from .original import is_original_checkpoint, load_original_model
    if is_original_checkpoint(folder):
        require_family(folder, families, what)
        return load_original_model(folder, weights_file or best_weights_file(folder))
    family = require_family(folder, families, what)
    require_finished(folder)
    cfg, vocab_size, aux_dim = checkpoint.load_model_config(folder)
    if family == "w2vv":
        from .model import build_model
        model = build_model(cfg, vocab_size, aux_dim)
        checkpoint.load_weights(model, weights_file or best_weights_file(folder))
        return model, cfg
    from .common_space import build_common_space
    try:
        bow_dim, feature_dim = int(cfg.bow_dim), int(cfg.feature_dim)
    except (AttributeError, TypeError, ValueError):
        raise InputError(f"{os.path.join(folder, layout.CONFIG_FILE)}: a {FAMILY_NAMES[family]} model's config "
                         f"without bow_dim and feature_dim (not written by this project's trainer?)") from None
    models = build_common_space(cfg, vocab_size + 1, bow_dim, aux_dim - bow_dim, feature_dim)
    checkpoint.load_weights(models.train, weights_file or best_weights_file(folder))
    return models, cfg
