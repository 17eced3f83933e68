"""What a run reads from a VisualSearch root: the sentence encoder of a training collection,
a collection's sentences encoded and paired with their images' feature rows, and all that a
training run reads (``read_training_inputs``: no Keras needed, so that bad input stops at once)."""
import os
import re
from dataclasses import dataclass, replace

import numpy as np

from . import collection_files, languages, layout, runs
from .atomic import atomic_open
from .bigfile import BigFile, not_finite
from .config import vocab_threshold, with_feature_width
from .encoders import EncodedSentences, SentenceEncoder, sequence_style
from .errors import InputError
from .fingerprint import sources_match, write_sources
from .inference import require_vocabularies_fit
from .losses import require_negatives
from .text import Tokenizer
from .textfile import read_lines
from .vocab import counted_from_other_inputs, load_vocab, unsegmented_note
from .word2vec import open_word2vec


def make_encoder(root, train, cfg, word2vec_path=None, normalize_zh=None):
    """The encoder of a new run on ``train``: the inputs ``runs.resolve_inputs`` names (the same arguments)."""
    return encoder_for(runs.resolve_inputs(root, train, cfg, word2vec_path, normalize_zh=normalize_zh), cfg)


def model_encoder(folder, root, cfg, word2vec_path=None, stopwords_path=None, normalize_zh=None,
                  cached_word2vec=False, log=print):
    """The encoder of the trained model in ``folder``: the inputs its run record names
    (``runs.model_inputs``); ``normalize_zh`` given: queries typed by a person normalised or not."""
    inputs = runs.model_inputs(folder, root, cfg, word2vec_path, stopwords_path, log)
    if normalize_zh is not None:
        inputs = replace(inputs, normalize=bool(normalize_zh) and inputs.language.normalize is not None)
    encoder = encoder_for(inputs, cfg, cached_word2vec)
    require_vocabularies_fit(folder, encoder)
    return encoder


def encoder_for(inputs, cfg, cached_word2vec=False):
    """The ``SentenceEncoder`` reading ``inputs`` (a ``runs.RunInputs``), which it keeps as ``encoder.inputs``;
    its word indices in the style of ``cfg``'s family (``encoders.sequence_style``)."""
    tokenizer = Tokenizer(inputs.language.code, inputs.stopwords_path, normalize=inputs.normalize)
    seq_vocab, bow_vocab = (load_vocab(f) for f in inputs.vocab_files)
    word2vec = open_word2vec(inputs.word2vec_path, expected_dim=cfg.embed_size, cached=cached_word2vec)
    return SentenceEncoder(tokenizer, seq_vocab, bow_vocab, word2vec, cfg.sent_maxlen, inputs=inputs,
                           sources=[*inputs.vocab_files, tokenizer.stopwords_path, inputs.word2vec_path],
                           cache_dir=inputs.cache_dir, sequence_style=sequence_style(cfg),
                           mean_word2vec=inputs.mean_word2vec)


def encode_cached(encoder, root, collection, log=print):
    """Encode a collection's sentences once; later runs read the cached arrays: one file per
    collection next to the vocabularies (``encoded/<collection>.npz``) with its record
    (``<collection>.inputs.json``: the caption, vocabulary, stop-word and word2vec files and the
    tokenizer's settings). An encoding made from other inputs is made again in its place. The successors'
    word indices (``encoder.sequence_style`` 'start_end') are cached beside W2VV's, in
    ``encoded/<collection>.start_end.npz``, their record naming the style."""
    caption_path = layout.caption_file(root, collection)
    if not os.path.isfile(caption_path):
        collection_files.read_captions(caption_path)  # raises the error that explains what is missing
    style = encoder.sequence_style
    path = os.path.join(encoder.cache_dir, f"{collection}.npz" if style == "w2vv" else f"{collection}.{style}.npz")
    record = dict(paths=[caption_path, *encoder.sources], within=root, maxlen=encoder.maxlen,
                  tokenizer=encoder.tokenizer.settings, **({} if style == "w2vv" else {"sequence_style": style}),
                  **({} if encoder.mean_word2vec == "occurrences" else {"mean_word2vec": encoder.mean_word2vec}))
    _remove_keyed_caches(encoder.cache_dir, collection)
    if os.path.isfile(path) and sources_match(_record_file(path), **record):
        try:
            return EncodedSentences.load(path)
        except (OSError, ValueError, KeyError):
            log(f"{path}: unreadable encoding cache, encoding again")
    encoded = encoder.encode(collection_files.read_captions(caption_path))
    os.makedirs(encoder.cache_dir, exist_ok=True)
    with atomic_open(path, "wb") as f:
        encoded.save(f)
    write_sources(_record_file(path), **record)
    return encoded


def _record_file(cache_path):
    return cache_path[:-len(".npz")] + ".inputs.json"


def _remove_keyed_caches(folder, collection):
    """Remove the encodings of ``collection`` cached under a key in their name (``<collection>.<key>.npz``,
    as they were before one file per collection): none is read any more."""
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if re.fullmatch(re.escape(collection) + r"\.[0-9a-f]{16}\.npz", name):
                os.remove(os.path.join(folder, name))


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

    def require_ranked_images(self, root):
        """InputError naming the first sentence whose image is not in the image set: ranked, it would have
        no image to find."""
        outside = np.flatnonzero(~np.isin(self.sentence_images, self.image_rows))
        if len(outside):
            sent_id = self.sentences.ids[outside[0]]
            path = layout.caption_file(root, self.name)
            lineno = next(n for n, line in enumerate(read_lines(path, "caption file"), 1)
                          if line.lstrip().startswith(sent_id + " "))
            raise InputError(f"{path}:{lineno}: sentence {sent_id!r} describes image {layout.image_id(sent_id)!r}, "
                             f"which {layout.imageset_file(root, self.name)} does not list"
                             f"{f' ({len(outside)} such sentences)' if len(outside) > 1 else ''}: it cannot be "
                             f"ranked; add the image there, or delete the sentence")


def load_collection(root, collection, encoder, features, keep_incomplete, log=print):
    """Encode a collection; drop sentences with an empty part unless ``keep_incomplete`` (test time)."""
    _require_language(root, collection, encoder)
    encoded = encode_cached(encoder, root, collection, log)
    image_ids = collection_files.imageset_of(root, collection)
    image_rows = _feature_rows(features, image_ids, layout.imageset_file(root, collection), "ImageSets id")
    sentence_images = _feature_rows(features, [layout.image_id(s) for s in encoded.ids],
                                    layout.caption_file(root, collection), "caption image")
    incomplete = int((~encoded.complete).sum())
    _require_mostly_encodable(root, collection, encoded, encoder)
    if incomplete and not keep_incomplete:
        total = len(encoded)
        keep = np.flatnonzero(encoded.complete)
        encoded, sentence_images = encoded.subset(keep), sentence_images[keep]
        log(f"{collection}: dropped {incomplete} of {total} sentences with no known word in a part")
    elif incomplete:
        log(f"{collection}: {incomplete} of {len(encoded)} sentences have an empty part, encoded as zeros")
    return Collection(collection, encoded, sentence_images, image_ids, image_rows), incomplete


PART_NAMES = ("vocabulary", "bag-of-words vocabulary", "word2vec")  # EncodedSentences.empty_parts' columns


def _require_mostly_encodable(root, collection, encoded, encoder):
    """InputError when more than half of a collection's sentences have a part with no known word: training would
    drop them (W2VV) or learn from zeros (its successors), testing rank them all alike, with a log line only.
    It names the part most often empty and, where it is the cause, Chinese captions not segmented."""
    empty = encoded.empty_parts
    n_empty = int(empty.any(axis=1).sum())
    if n_empty * 2 <= len(encoded):
        return
    path = layout.caption_file(root, collection)
    part = int(empty.sum(axis=0).argmax())
    source = f"the word2vec {encoder.word2vec.path}" if PART_NAMES[part] == "word2vec" else \
        f"the model's {PART_NAMES[part]}"
    note = unsegmented_note(encoder.tokenizer.language, [s for _, s in collection_files.read_captions(path)]) or \
        ": captions of another language, another word2vec, or a freq_threshold too high for them?"
    raise InputError(f"{path}: {n_empty} of {len(encoded)} sentences have a part with no known word "
                     f"({int(empty[:, part].sum())} none in {source}){note}")


def _require_language(root, collection, encoder):
    """A model reads the sentences of its own language: another language's words, tokenised with its
    tokenizer, would still meet a word or two of its vocabularies and word2vec, and rank in silence."""
    if encoder.inputs is None:
        return
    model = encoder.inputs.language
    theirs = languages.of_collection(collection)
    if theirs.code != model.code:
        raise InputError(f"{layout.caption_file(root, collection)}: {collection} is a collection of {theirs.name} "
                         f"sentences (by its name, or --languages), but the model reads {model.name}: give a "
                         f"{model.name} collection, or, if these sentences are {model.name}, declare it "
                         f"(--languages {collection}={model.code})")


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
    settings: dict           # the run record (``runs.run_record``)
    features: BigFile
    train_set: Collection
    val_set: Collection
    dropped: int             # training sentences without a known word in a part (W2VV drops them)
    val_dropped: int


def read_training_inputs(run, cfg, resuming, log=print):
    """The ``TrainingInputs`` of ``run`` (a ``runs.TrainingRun``); a run that is ``resuming`` must have been
    made with the same settings (InputError otherwise: never continue another run). W2VV drops the
    sentences with an empty part; its successors keep every sentence, as their published codes do (an
    empty bag of words or mean word2vec is zeros), and their image tower takes the features' width."""
    successor = cfg.family != "w2vv"
    if successor and run.distribute != "none":
        raise InputError(f"--distribute {run.distribute}: not for family {cfg.family!r} (its loss takes each "
                         f"sentence's hardest negative in the whole batch, which would be per replica); "
                         f"train it with --distribute none")
    inputs = runs.resolve_inputs(run.root, run.train, cfg, run.word2vec_path)
    missing = next((path for path in inputs.vocab_files if not os.path.isfile(path)), None)
    if missing:  # a variant of its own (another stop-word list, Chinese normalised): the command says how
        raise InputError(f"{missing}: vocabulary not found (run {runs.build_vocab_command(run, cfg, inputs)} first)")
    encoder = encoder_for(inputs, cfg)
    stale = counted_from_other_inputs(run.root, run.train, encoder.tokenizer, vocab_threshold(cfg))
    if stale:  # build_vocab.py would count it again; do_all.sh --stage 2 does not run it
        raise InputError(f"{stale[0]}: counted from other captions or stop words than now (edited since?); count it "
                         f"again: {runs.build_vocab_command(run, cfg, inputs)} (do_all.sh's stage 1)")
    features = open_features(run.root, cfg, run.feature_collection)
    train_set, dropped = load_collection(run.root, run.train, encoder, features, keep_incomplete=successor, log=log)
    if not successor:  # before the checkpoint folder is made (the successors' loss takes the batch's own images)
        require_negatives(cfg, len(np.unique(train_set.sentence_images)), len(train_set.sentences), run.batch_size)
    val_set, val_dropped = load_collection(run.root, run.val, encoder, features, keep_incomplete=successor, log=log)
    val_set.require_ranked_images(run.root)  # before training: its best epoch would be chosen with such a sentence
    settings = runs.run_record(run, cfg, encoder.inputs)  # of files read above: each one there
    if resuming:
        runs.check_same_record(runs.checkpoint_folder(run, cfg), settings, resuming=True)
    if successor:
        dropped = val_dropped = 0
    cfg = with_feature_width(cfg, features.ndims, features.folder)
    inputs = TrainingInputs(cfg, encoder, settings, features, train_set, val_set, dropped, val_dropped)
    problem = non_finite_input(inputs)
    if problem:  # a NaN trains on, unseen where a relu turns it into 0: a model of a constant, with a finite loss
        raise InputError(problem)
    return inputs


def non_finite_input(inputs):
    """Where a training run's inputs (``TrainingInputs``) hold a value that is not a finite number (a NaN or an
    infinity), or None: a feature of a training or validation image, or the word2vec vector of a word the model
    reads (a word of its vocabularies, or of the sentences' mean word2vec)."""
    features, encoder = inputs.features, inputs.encoder
    for collection in (inputs.train_set, inputs.val_set):
        row = features.first_non_finite(np.unique(collection.sentence_images))
        if row is not None:
            return not_finite(features, row)
    words = list(dict.fromkeys([*encoder.seq_index, *encoder.bow_index]))
    vectors, known = encoder.word2vec.lookup(words)
    bad = np.flatnonzero(known & ~np.isfinite(vectors).all(axis=1))
    where = f"{encoder.word2vec.path}: the vector of"
    if len(bad):
        more = f", nor those of {len(bad) - 1} more words" if len(bad) > 1 else ""
        return f"{where} {words[bad[0]]!r} is not finite (NaN or infinite){more}: a damaged word2vec, download it again"
    for collection in (inputs.train_set, inputs.val_set):
        if not np.isfinite(collection.sentences.w2v_table).all():
            return (f"{where} a word of {collection.name}'s sentences is not finite: a damaged word2vec, "
                    f"download it again")
    return None
