"""Tokenisation and stop words (REFERENCE §2).

Caption files hold Chinese already segmented (words separated by spaces) and are taken as
they are; raw Chinese typed by a person is segmented with jieba first (``segment_zh``).
The default stop-word lists (``w2vv/stopwords/``, see its README) are the original's: NLTK's
153 English words and the original's Chinese list of 1,763 words and symbols. ``stopwords_en`` /
``stopwords_zh`` (config attributes or options) name other lists.
"""
import os
import re

from .errors import InputError

STOPWORD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stopwords")
DEFAULT_STOPWORDS = {"en": os.path.join(STOPWORD_DIR, "en.txt"), "zh": os.path.join(STOPWORD_DIR, "zh.txt")}

_EN_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_ZH_DELETED = re.compile("[，。、！《》“”；？‘’A-Za-z]")


def tokenize_en(sentence):
    return _EN_NOT_ALNUM.sub(" ", sentence.replace("\r", " ")).strip().lower().split()


def tokenize_zh(sentence):
    return _ZH_DELETED.sub("", sentence).split()


TOKENIZERS = {"en": tokenize_en, "zh": tokenize_zh}


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
    """The two token streams of a language: plain tokens, and tokens without stop words."""

    def __init__(self, lang, stopwords_path=None):
        if lang not in TOKENIZERS:
            raise ValueError(f"unknown language {lang!r} (expected 'en' or 'zh')")
        self.lang = lang
        self.stopwords_path = str(stopwords_path or DEFAULT_STOPWORDS[lang])
        self.stopwords = load_stopwords(self.stopwords_path)
        self._split = TOKENIZERS[lang]

    def tokens(self, sentence):
        return self._split(sentence)

    def content_tokens(self, sentence):
        """The 'filterstop' stream: tokens minus stop words."""
        return [w for w in self._split(sentence) if w not in self.stopwords]

    def tokens_for(self, style, sentence):
        """Tokens for a vocabulary/encoder style: ``bow`` (plain) or ``*_filterstop``."""
        return self.content_tokens(sentence) if style.endswith("filterstop") else self.tokens(sentence)
