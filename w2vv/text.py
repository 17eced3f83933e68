"""Tokenisation and stop words (docs/method.md#tokenisation-and-stop-words): the two token
streams of a language, plain and without stop words. What is language-specific (the tokenizer,
the default stop-word list, the normalisation of Chinese) is the language's record
(``w2vv.languages``).

Caption files hold Chinese already segmented (words separated by spaces) and are taken as
they are; raw Chinese typed by a person is segmented with jieba first. Japanese is written
without spaces and is always split by its tokenizer (janome). The default stop-word lists
(``w2vv/stopwords/``, see its README) for English and Chinese are the original's: NLTK's 153
English words and the original's Chinese list of 1,763 words and symbols. ``stopwords_<code>``
(config attributes or options) name other lists.

Chinese as people type it (traditional characters, Taiwan and Hong Kong wording, full-width
letters and digits) can be normalised first (``normalize_zh``; ``Tokenizer(..., normalize=True)``):
that step also keeps Latin words as lower-case tokens, which the original deletes. It is off for
the paper configs (config attribute ``normalize_zh``) and on for search queries.
"""
import unicodedata

from . import languages
from .errors import InputError
from .textfile import read_lines, split_ascii

DEFAULT_STOPWORDS = {code: lang.stopwords for code, lang in languages.LANGUAGES.items()}


def load_stopwords(path):
    """A stop-word list: one word a line (UTF-8); InputError naming a line of several words (a token never
    holds a space, so such a line would remove no word)."""
    words = set()
    for lineno, line in enumerate(read_lines(path, "stop-word list"), 1):
        pieces = split_ascii(line)
        if len(pieces) > 1:
            shown = " ".join(pieces[:3]) + (" …" if len(pieces) > 3 else "")
            raise InputError(f"{path}:{lineno}: {len(pieces)} words on one line ({shown!r}): a stop-word list holds "
                             f"one word a line")
        words.update(pieces)
    return frozenset(words)


class Tokenizer:
    """The two token streams of a language: plain tokens, and tokens without stop words.
    ``normalize``: read sentences through the language's normalisation step (Chinese:
    ``normalize_zh``, which also keeps Latin words)."""

    def __init__(self, lang, stopwords_path=None, normalize=False):
        if lang not in languages.LANGUAGES:
            raise ValueError(f"unknown language {lang!r} (expected one of {', '.join(languages.LANGUAGES)})")
        self.language = languages.LANGUAGES[lang]
        if normalize and self.language.normalize is None:
            raise ValueError("normalisation is a step of the Chinese tokenizer only")
        self.lang = lang
        self.normalize = bool(normalize)
        self.stopwords_path = str(stopwords_path or self.language.stopwords)
        self.stopwords = load_stopwords(self.stopwords_path)
        ours = sum(map(self.language.recognises, self.stopwords))
        if ours * 2 < len(self.stopwords):  # most of them another language's: they would remove no word
            raise InputError(f"{self.stopwords_path}: {ours} of the {len(self.stopwords)} words of this stop-word "
                             f"list are {self.language.name}: a list of another language (stopwords_{lang})?")
        self._split = self.language.tokenize_normalized if self.normalize else self.language.tokenize

    def read(self, sentence):
        """The sentence as its tokens are taken from it: normalised when the tokenizer normalises."""
        return self.language.normalize(sentence) if self.normalize else sentence

    def segment(self, text):
        """Raw text typed by a person → its words separated by spaces, as the model reads them. A
        language without a segmentation step, English or Japanese, is read as it is, after Unicode NFKC
        (full-width letters and digits typed on a Chinese or Japanese keyboard, ``Ｄｏｇ``, become ASCII,
        which English's tokeniser would delete). Normalised words are normalised again one by one: OpenCC
        leaves some characters in running text that it converts within a word (穿著白色 stays, 穿著 → 穿着)."""
        if self.language.segment is None:
            return self.read(unicodedata.normalize("NFKC", text))
        return self.read(self.language.segment(self.read(text)))

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
