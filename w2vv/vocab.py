"""Vocabularies (docs/method.md#vocabularies): words of a training collection with count ≥ threshold,
most frequent first, written as ``word_vocab_<t>.txt`` and ``word_vocab_counter_<t>.txt``.

Ties keep the order of first appearance (the original's Python 2 dict order cannot be
reproduced; only the order among words of equal count can differ)."""
import collections
import os

from . import layout
from .atomic import write_text
from .errors import InputError
from .textfile import read_lines

STYLES = ("bow", "bow_filterstop")


def count_words(token_lists, threshold=5):
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return [(w, c) for w, c in counts.most_common() if c >= threshold]


def write_vocab(root, train, style, word_counts, threshold=5):
    write_text(layout.vocab_counter_file(root, train, style, threshold),
               "".join(f"{w} {c}\n" for w, c in word_counts))
    write_text(layout.vocab_file(root, train, style, threshold), "".join(f"{w}\n" for w, _ in word_counts))


def build_vocabularies(root, train, tokenizer, threshold=5, overwrite=False, log=print):
    """Write both styles' vocabulary files for ``train``; skip a style already written."""
    sentences = [s for _, s in layout.captions_of(root, train)]
    for style in STYLES:
        path = layout.vocab_file(root, train, style, threshold)
        if not overwrite and os.path.isfile(path):
            log(f"vocabulary exists, skipped: {path}")
            continue
        word_counts = count_words((tokenizer.tokens_for(style, s) for s in sentences), threshold)
        write_vocab(root, train, style, word_counts, threshold)
        log(f"{style}: {len(word_counts)} words with count >= {threshold} -> {path}")


def load_vocab(path):
    """The words of a vocabulary file, in file order (the index of word i is i + 1)."""
    lines = read_lines(path, "vocabulary", " (run build_vocab.py first)")
    words = [line.split()[0] for line in lines if line.strip()]
    if not words:
        raise InputError(f"{path}: vocabulary is empty")
    return words
