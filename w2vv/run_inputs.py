"""What a run reads from a VisualSearch root: the sentence encoder of a training collection,
a collection's sentences encoded and paired with their images' feature rows, and all that a
training run reads (``read_training_inputs``: no Keras needed, so that bad input stops at once)."""
import os
from dataclasses import dataclass

import numpy as np

from . import languages, layout, runs
from .atomic import atomic_path
from .bigfile import BigFile
from .config import with_feature_width
from .encoders import EncodedSentences, SentenceEncoder
from .errors import InputError
from .fingerprint import digest, sources
from .text import Tokenizer
from .vocab import load_vocab
from .word2vec import open_word2vec


@dataclass(frozen=True)
class RunInputs:
    """What a run on a training collection reads besides its captions and vocabularies, resolved in one
    place (``resolve_inputs``): the encoder it builds and the run record (``runs.record_of``) both
    take them from here."""
    language: languages.Language
    stopwords_path: str   # the stop-word list read
    word2vec_path: str    # the word2vec read
    normalize: bool       # Chinese normalised before tokenising


def resolve_inputs(root, train, cfg, word2vec_path=None, stopwords_path=None, normalize_zh=None, lang=None):
    """The ``RunInputs`` of ``train`` in ``lang`` (default: ``train``'s language): word2vec, stop words and
    the normalisation of Chinese (``normalize_zh``) from the language's record and ``cfg`` unless given."""
    language = languages.get(lang) if lang else languages.of_collection(train)
    normalize = cfg.normalize_zh if normalize_zh is None else normalize_zh
    return RunInputs(language, stopwords_path or stopwords_of(cfg, language.code) or language.stopwords,
                     word2vec_path or layout.word2vec_path(root, language.code),
                     bool(normalize) and language.normalize is not None)


def make_encoder(root, train, cfg, word2vec_path=None, stopwords_path=None, normalize_zh=None, lang=None,
                 cached_word2vec=False):
    """The encoder of ``train``'s vocabularies with the inputs ``resolve_inputs`` names (the same
    arguments), which it keeps as ``encoder.inputs``; ``cached_word2vec``: see ``open_word2vec``."""
    inputs = resolve_inputs(root, train, cfg, word2vec_path, stopwords_path, normalize_zh, lang)
    tokenizer = Tokenizer(inputs.language.code, inputs.stopwords_path, normalize=inputs.normalize)
    threshold = int(cfg.bow_vocab.rsplit("_", 1)[-1])
    vocab_files = [layout.vocab_file(root, train, style, threshold) for style in ("bow", "bow_filterstop")]
    seq_vocab, bow_vocab = (load_vocab(f) for f in vocab_files)
    word2vec = open_word2vec(inputs.word2vec_path, expected_dim=cfg.embed_size, cached=cached_word2vec)
    return SentenceEncoder(tokenizer, seq_vocab, bow_vocab, word2vec, cfg.sent_maxlen, inputs=inputs,
                           sources=vocab_files + [tokenizer.stopwords_path, inputs.word2vec_path],
                           cache_dir=layout.vocab_dir(root, train, "encoded"))


def stopwords_of(cfg, lang):
    """The stop-word list a config names for a language (``stopwords_<code>``), None: the record's."""
    return getattr(cfg, f"stopwords_{lang}", None)


def _cache_key(root, paths, maxlen, settings=()):
    """The key of an encoding: the ``fingerprint.sources`` of the files it depends on (relative to the
    root: a moved root keeps its cache), the length and the tokenizer's settings."""
    return digest([sorted(sources(paths, root, within=root).items()), maxlen, *settings])


def encode_cached(encoder, root, collection, log=print):
    """Encode a collection's sentences once; later runs read the cached arrays (next to the
    vocabularies, keyed by the caption, vocabulary, stop-word and word2vec files and the
    tokenizer's settings)."""
    caption_path = layout.caption_file(root, collection)
    if not os.path.isfile(caption_path):
        layout.read_captions(caption_path)  # raises the error that explains what is missing
    key = _cache_key(root, [caption_path] + encoder.sources, encoder.maxlen, encoder.tokenizer.settings)
    path = os.path.join(encoder.cache_dir, f"{collection}.{key}.npz")
    if os.path.isfile(path):
        try:
            return EncodedSentences.load(path)
        except (OSError, ValueError, KeyError):
            log(f"{path}: unreadable encoding cache, encoding again")
    encoded = encoder.encode(layout.read_captions(caption_path))
    os.makedirs(encoder.cache_dir, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            encoded.save(f)
    return encoded


def open_features(root, cfg, feature_collection=layout.DEFAULT_FEATURE_COLLECTION):
    folder = layout.feature_dir(root, cfg.img_feature, feature_collection)
    return BigFile(folder)


@dataclass
class Collection:
    """A collection's sentences (encoded), the image row of each sentence, and its image set."""
    name: str
    sentences: EncodedSentences
    sentence_images: np.ndarray  # (n,) row of each sentence's image in the feature BigFile
    image_ids: list              # the ImageSets ids, in file order
    image_rows: np.ndarray       # their rows in the feature BigFile

    def relevance(self):
        """(images, sentences) bool: sentence j describes image i."""
        return self.image_rows[:, None] == self.sentence_images[None, :]


def load_collection(root, collection, encoder, features, keep_incomplete, log=print):
    """Encode a collection; drop sentences with an empty part unless ``keep_incomplete`` (test time)."""
    encoded = encode_cached(encoder, root, collection, log)
    image_ids = layout.imageset_of(root, collection)
    image_rows = _feature_rows(features, image_ids, layout.imageset_file(root, collection), "ImageSets id")
    sentence_images = _feature_rows(features, [layout.image_id(s) for s in encoded.ids],
                                    layout.caption_file(root, collection), "caption image")
    incomplete = int((~encoded.complete).sum())
    if incomplete and not keep_incomplete:
        total = len(encoded)
        keep = np.flatnonzero(encoded.complete)
        encoded, sentence_images = encoded.subset(keep), sentence_images[keep]
        log(f"{collection}: dropped {incomplete} of {total} sentences with no known word in a part")
    elif incomplete:
        log(f"{collection}: {incomplete} of {len(encoded)} sentences have an empty part, encoded as zeros")
    if len(encoded) == 0 or encoded.empty_parts.all():
        raise InputError(f"{layout.caption_file(root, collection)}: no sentence can be encoded "
                         f"(none has a known word {'in any part' if keep_incomplete else 'in every part'}: "
                         f"wrong language, vocabulary or word2vec?)")
    return Collection(collection, encoded, sentence_images, image_ids, image_rows), incomplete


def _feature_rows(features, ids, source, what):
    rows, found = features.index_of(ids)
    if len(found) != len(ids):
        missing = next(i for i in ids if i not in features)
        raise InputError(f"{source}: {what} {missing!r} has no feature in {features.folder} "
                         f"({len(ids) - len(found)} missing)")
    return rows


@dataclass
class TrainingInputs:
    """What a training run reads, checked before a model is built: its encoder, features, collections
    and run record, and ``cfg`` with the MLP ending at the features' width."""
    cfg: object
    encoder: SentenceEncoder
    settings: dict           # the run record (``runs.record_of``)
    features: BigFile
    train_set: Collection
    val_set: Collection
    dropped: int             # training sentences without a known word in a part
    val_dropped: int


def read_training_inputs(run, cfg, resuming, log=print):
    """The ``TrainingInputs`` of ``run`` (a ``runs.TrainingRun``); a run that is ``resuming`` must have been
    made with the same settings (InputError otherwise: never continue another run)."""
    encoder = make_encoder(run.root, run.train, cfg, run.word2vec_path)
    settings = runs.record_of(run, cfg, encoder.inputs)
    if resuming:
        runs.check_same_record(runs.checkpoint_folder(run, cfg), settings, resuming=True)
    features = open_features(run.root, cfg, run.feature_collection)
    cfg = with_feature_width(cfg, features.ndims, features.folder)
    train_set, dropped = load_collection(run.root, run.train, encoder, features, keep_incomplete=False, log=log)
    val_set, val_dropped = load_collection(run.root, run.val, encoder, features, keep_incomplete=False, log=log)
    return TrainingInputs(cfg, encoder, settings, features, train_set, val_set, dropped, val_dropped)
