"""Tokenisation and stop words (docs/method.md#tokenisation-and-stop-words).

Caption files hold Chinese already segmented (words separated by spaces) and are taken as
they are; raw Chinese typed by a person is segmented with jieba first (``segment_zh``).
The default stop-word lists (``w2vv/stopwords/``, see its README) are the original's: NLTK's
153 English words and the original's Chinese list of 1,763 words and symbols. ``stopwords_en`` /
``stopwords_zh`` (config attributes or options) name other lists.

Chinese as people type it (traditional characters, Taiwan and Hong Kong wording, full-width
letters and digits) can be normalised first (``normalize_zh``; ``Tokenizer(..., normalize=True)``):
that step also keeps Latin words as lower-case tokens, which the original deletes. It is off for
the paper configs (config attribute ``normalize_zh``) and on for search queries.
"""
import functools
import os
import re
import unicodedata

from .errors import InputError

STOPWORD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stopwords")
DEFAULT_STOPWORDS = {"en": os.path.join(STOPWORD_DIR, "en.txt"), "zh": os.path.join(STOPWORD_DIR, "zh.txt")}

_EN_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_ZH_DELETED = re.compile("[，。、！《》“”；？‘’A-Za-z]")


# Applied in this order: Taiwan phrases and characters to the mainland's, then Hong Kong characters.
# Chosen by measurement on real COCO-CN sentences (bench/bench_chinese_variants.py, README).
OPENCC_CONFIGS = ("tw2sp", "hk2s")
_LATIN_RUN = re.compile("([a-z]+)")


def tokenize_en(sentence):
    return _EN_NOT_ALNUM.sub(" ", sentence.replace("\r", " ")).strip().lower().split()


def tokenize_zh(sentence):
    return _ZH_DELETED.sub("", sentence).split()


def tokenize_zh_normalized(sentence):
    """Tokens of normalised Chinese: punctuation and symbols are separators, and a Latin word is a
    token of its own even when written against Chinese characters (``mac笔记本`` → ``mac 笔记本``)."""
    spaced = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in sentence)
    return [piece for word in spaced.split() for piece in _LATIN_RUN.split(word) if piece]


TOKENIZERS = {"en": tokenize_en, "zh": tokenize_zh}


@functools.lru_cache(maxsize=None)
def _opencc_converters():
    try:
        import opencc  # imported lazily: only normalised Chinese needs it
    except ImportError:
        raise InputError("the opencc package is not installed (pip install -r requirements.txt), "
                         "needed to normalise Chinese") from None
    return tuple(opencc.OpenCC(f"{name}.json") for name in OPENCC_CONFIGS)


def normalize_zh(text):
    """Chinese as people type it → the form of COCO-CN's sentences: Unicode NFKC (full-width
    letters, digits and punctuation → ASCII), OpenCC traditional → simplified with Taiwan and
    Hong Kong wording → the mainland's (腳踏車 → 自行车), Latin letters in lower case."""
    text = unicodedata.normalize("NFKC", text)
    for converter in _opencc_converters():
        text = converter.convert(text)
    return text.lower()


def segment_zh(text):
    """Segment raw Chinese (a user's query) into space-separated words, as caption files are."""
    import jieba  # imported lazily: loading its dictionary takes a second
    jieba.setLogLevel(60)
    return " ".join(w for w in jieba.cut(text) if w.strip())


def load_stopwords(path):
    """A stop-word list: one word a line (UTF-8)."""
    try:
        with open(path, encoding="utf-8") as f:
            return frozenset(line.strip() for line in f if line.strip())
    except FileNotFoundError:
        raise InputError(f"{path}: stop-word list not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: stop-word list is not UTF-8 text") from None


class Tokenizer:
    """The two token streams of a language: plain tokens, and tokens without stop words.
    ``normalize`` (Chinese only): read sentences through ``normalize_zh`` and keep Latin words."""

    def __init__(self, lang, stopwords_path=None, normalize=False):
        if lang not in TOKENIZERS:
            raise ValueError(f"unknown language {lang!r} (expected 'en' or 'zh')")
        if normalize and lang != "zh":
            raise ValueError("normalisation is a step of the Chinese tokenizer only")
        self.lang = lang
        self.normalize = bool(normalize)
        self.stopwords_path = str(stopwords_path or DEFAULT_STOPWORDS[lang])
        self.stopwords = load_stopwords(self.stopwords_path)
        self._split = tokenize_zh_normalized if self.normalize else TOKENIZERS[lang]

    def read(self, sentence):
        """The sentence as its tokens are taken from it: normalised when the tokenizer normalises."""
        return normalize_zh(sentence) if self.normalize else sentence

    def segment(self, text):
        """Raw Chinese typed by a person → its words separated by spaces, as the model reads them.
        Normalised words are normalised again one by one: OpenCC leaves some characters in running
        text that it converts within a word (穿著白色 stays, 穿著 → 穿着)."""
        return self.read(segment_zh(self.read(text)))

    def tokens(self, sentence):
        return self._split(self.read(sentence))

    def content_tokens(self, sentence):
        """The 'filterstop' stream: tokens minus stop words."""
        return [w for w in self.tokens(sentence) if w not in self.stopwords]

    def tokens_for(self, style, sentence):
        """Tokens for a vocabulary/encoder style: ``bow`` (plain) or ``*_filterstop``."""
        return self.content_tokens(sentence) if style.endswith("filterstop") else self.tokens(sentence)

    @property
    def settings(self):
        """What besides the stop-word file changes the tokens (part of the encoding cache key)."""
        return ["normalize_zh"] if self.normalize else []
