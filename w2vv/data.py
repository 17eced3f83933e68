"""What a run reads from a VisualSearch root: the sentence encoder of a training collection,
and a collection's sentences encoded and paired with their images' feature rows."""
from dataclasses import dataclass

import numpy as np

from . import layout
from .bigfile import BigFile
from .encoders import EncodedSentences, SentenceEncoder
from .errors import InputError
from .text import Tokenizer
from .vocab import load_vocab
from .word2vec import open_word2vec


def make_encoder(root, train, cfg, word2vec_path=None, stopwords_path=None):
    """The encoder of ``train``'s vocabularies; word2vec and stop words from the layout and
    ``cfg`` unless given."""
    lang = layout.language(train)
    tokenizer = Tokenizer(lang, stopwords_path or (cfg.stopwords_zh if lang == "zh" else cfg.stopwords_en))
    threshold = int(cfg.bow_vocab.rsplit("_", 1)[-1])
    seq_vocab = load_vocab(layout.vocab_file(root, train, "bow", threshold))
    bow_vocab = load_vocab(layout.vocab_file(root, train, "bow_filterstop", threshold))
    word2vec = open_word2vec(word2vec_path or layout.word2vec_path(root, lang), expected_dim=cfg.embed_size)
    return SentenceEncoder(tokenizer, seq_vocab, bow_vocab, word2vec, cfg.sent_maxlen)


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
    captions = layout.captions_of(root, collection)
    encoded = encoder.encode(captions)
    image_ids = layout.imageset_of(root, collection)
    image_rows = _feature_rows(features, image_ids, layout.imageset_file(root, collection), "ImageSets id")
    sentence_images = _feature_rows(features, [layout.image_id(s) for s, _ in captions],
                                    layout.caption_file(root, collection), "caption image")
    incomplete = int((~encoded.complete).sum())
    if incomplete and not keep_incomplete:
        keep = np.flatnonzero(encoded.complete)
        encoded, sentence_images = encoded.subset(keep), sentence_images[keep]
        log(f"{collection}: dropped {incomplete} of {len(captions)} sentences with no known word in a part")
    elif incomplete:
        log(f"{collection}: {incomplete} of {len(captions)} sentences have an empty part, encoded as zeros")
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
