"""Vocabularies (docs/method.md#vocabularies): words of a training collection with count ≥ threshold,
most frequent first, written as ``word_vocab_<t>.txt`` and ``word_vocab_counter_<t>.txt``.

Ties keep the order of first appearance (the original's Python 2 dict order cannot be
reproduced; only the order among words of equal count can differ)."""
import collections
import glob
import os

from . import collection_files, layout
from .atomic import write_text
from .errors import InputError
from .fingerprint import content_of, digest, file_fingerprint, sources_match, write_sources
from .textfile import read_lines, split_ascii

STYLES = ("bow", "bow_filterstop")


def count_words(token_lists, threshold=5):
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return [(w, c) for w, c in counts.most_common() if c >= threshold]


def vocabulary_variant(language, stopwords_path, normalize):
    """The vocabularies' place for a tokenisation: '' (``TextData/vocabulary/``) for the original's, the
    language's own stop-word list without normalisation; else a tag naming what differs (``normalize_zh``,
    ``stop-<hash of the list's content>``), so that vocabularies of other stop words live beside the
    original's instead of replacing them."""
    parts = ["normalize_zh"] if normalize else []
    if not os.path.isfile(stopwords_path):
        read_lines(stopwords_path, "stop-word list")  # raises the error that says what is missing
    content = _content(stopwords_path)
    if content != _content(language.stopwords):
        parts.append("stop-" + digest(content)[:8])
    return "_".join(parts)


def _content(path):
    return content_of(file_fingerprint(path))  # without the file's name: a copy is the same list


def write_vocab(root, train, style, word_counts, threshold=5, variant=""):
    write_text(layout.vocab_counter_file(root, train, style, threshold, variant),
               "".join(f"{w} {c}\n" for w, c in word_counts))
    write_text(layout.vocab_file(root, train, style, threshold, variant), "".join(f"{w}\n" for w, _ in word_counts))


def record_file(vocab_path):
    """The record of what built a vocabulary file: ``word_vocab_<t>.inputs.json`` beside it."""
    return vocab_path[:-len(".txt")] + ".inputs.json"


def build_vocabularies(root, train, tokenizer, threshold=5, overwrite=False, log=print):
    """Write both styles' vocabulary files for ``train`` in the place of ``tokenizer``'s settings
    (``vocabulary_variant``), each with its record (the caption file it was counted from, the stop
    words' content and the settings); skip a style whose record matches, build again one whose does
    not. A vocabulary without a record (shipped with the data, or built before records were) is kept and
    recorded as built from the current files, with a line saying so: rebuilding it could reorder words
    of equal count, which a checkpoint of the original code depends on."""
    variant = vocabulary_variant(tokenizer.language, tokenizer.stopwords_path, tokenizer.normalize)
    caption_path = layout.caption_file(root, train)
    counted = {}  # style -> (path, record, word counts): every style counted before any file is written
    sentences = None
    for style in STYLES:
        path = layout.vocab_file(root, train, style, threshold, variant)
        record = _record(root, train, tokenizer, threshold, style)
        if not overwrite and os.path.isfile(path):
            if sources_match(record_file(path), **record):
                log(f"vocabulary exists, skipped: {path}")
                continue
            if not os.path.exists(record_file(path)):
                write_sources(record_file(path), **record)
                log(f"vocabulary without a record, kept and recorded as counted from {caption_path}: {path}")
                continue
            log(f"{path}: counted from other captions or settings than now: counting again")
        if sentences is None:
            sentences = [s for _, s in collection_files.captions_of(root, train)]
        word_counts = count_words((tokenizer.tokens_for(style, s) for s in sentences), threshold)
        if not word_counts:
            without = f" but stop words ({tokenizer.stopwords_path})" if style.endswith("filterstop") else ""
            raise InputError(f"{caption_path}: no word{without} is seen {threshold} times or more in its "
                             f"{len(sentences)} sentences{_unsegmented_hint(tokenizer.language, sentences)}")
        counted[style] = path, record, word_counts
    changed = [path for path, _, counts in counted.values() if not variant and threshold == ORIGINAL_THRESHOLD
               and _words_of(path) != [w for w, _ in counts]]
    readers = _unrecorded_checkpoints(root, train) if changed else []
    if readers:
        raise InputError(f"{changed[0]}: the vocabulary the checkpoint {readers[0]}, which records none (the "
                         f"original code's, or converted from one), was trained with: counted anew, its words of "
                         f"equal count would change order, and that model would read other words; keep (or put "
                         f"back) the vocabulary it was trained with, or move the checkpoint away first")
    for style, (path, record, word_counts) in counted.items():
        write_vocab(root, train, style, word_counts, threshold, variant)
        write_sources(record_file(path), **record)
        log(f"{style}: {len(word_counts)} words with count >= {threshold} -> {path}")


def _record(root, train, tokenizer, threshold, style):
    """What a vocabulary is counted from: the training caption file, the stop words' content and the settings."""
    return dict(paths=[layout.caption_file(root, train)], within=root, stopwords=_content(tokenizer.stopwords_path),
                language=tokenizer.lang, normalize=tokenizer.normalize, threshold=threshold, style=style)


def counted_from_other_inputs(root, train, tokenizer, threshold=5):
    """The vocabulary files of ``tokenizer``'s place whose records name other captions, stop words or settings than
    now (captions edited since they were counted: a model would train on the words of before); not one that is not
    built, or has no record (shipped with the data: ``build_vocabularies`` records it as current)."""
    variant = vocabulary_variant(tokenizer.language, tokenizer.stopwords_path, tokenizer.normalize)
    paths = {style: layout.vocab_file(root, train, style, threshold, variant) for style in STYLES}
    return [path for style, path in paths.items() if os.path.isfile(path) and os.path.exists(record_file(path))
            and not sources_match(record_file(path), **_record(root, train, tokenizer, threshold, style))]


ORIGINAL_THRESHOLD = 5  # the original code's checkpoints read word_vocab_5 (w2vv.original)


def _words_of(path):
    """The words of a vocabulary file in order; None when there is none."""
    return _words_in(path) if os.path.isfile(path) else None


def _words_in(path, hint=""):
    return [pieces[0] for pieces in map(split_ascii, read_lines(path, "vocabulary", hint)) if pieces]


def _unrecorded_checkpoints(root, train):
    """The checkpoint folders of ``train`` that record no vocabulary (no run record: the original code's, one
    converted from it, or trained before records were): they read the vocabularies of the original place."""
    pattern = os.path.join(glob.escape(os.path.join(root, train)), "cv_keras", "*", layout.TRAIN_STYLE, "*")
    return sorted(folder for folder in glob.glob(pattern)
                  if not os.path.isfile(os.path.join(folder, layout.SETTINGS_FILE))
                  and any(os.path.isfile(os.path.join(folder, f)) for f in (layout.MODEL_FILE, layout.CONFIG_FILE)))


def _unsegmented_hint(language, sentences):
    """Why a vocabulary came out empty, where the likely cause is known (``unsegmented_note``)."""
    return unsegmented_note(language, sentences) or " (a --freq_threshold that high, or captions of another language?)"


def unsegmented_note(language, sentences):
    """": N of them have no space, but …" when most ``sentences`` of a language stored segmented (Chinese) are
    whole sentences, not words separated by spaces: then no word of them is known; else ""."""
    whole = sum(" " not in s.strip() for s in sentences)
    if language.segment is None or whole * 2 < len(sentences):
        return ""
    return (f": {whole} of them have no space, but {language.name} caption files hold words separated by "
            f"spaces (segment them first, e.g. with jieba as the release did)")


def load_vocab(path):
    """The words of a vocabulary file, in file order (the index of word i is i + 1)."""
    words = _words_in(path, " (run build_vocab.py first)")
    if not words:
        raise InputError(f"{path}: vocabulary is empty")
    return words
