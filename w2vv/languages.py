"""Languages as records (docs/method.md#languages): each language's tokenizer, stop-word list,
word2vec location in the root, and how a typed query is recognised. Everything that depends on
the language of a collection or a query asks the record here.

A collection's language is declared (``declare``, from the ini key and script option
``languages``: ``PATTERN=CODE`` pairs, shell-style patterns) or, undeclared, follows the paper's
rule: a name whose first ``cn`` is after its first letter is Chinese (``cococntrain``), any other English
(``mscoco2014dev-train``). English is the pivot of cross-lingual matching.

Adding a language is one record in ``LANGUAGES`` (with a stop-word list in ``w2vv/stopwords/``).
"""
import fnmatch
import functools
import importlib
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import InputError
from .textfile import split_ascii

STOPWORD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stopwords")
PIVOT = "en"

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")  # hiragana, katakana (and half-width)


# ---------------------------------------------------------------- English

_EN_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def tokenize_en(sentence):
    return _EN_NOT_ALNUM.sub(" ", sentence.replace("\r", " ")).strip().lower().split()


# ---------------------------------------------------------------- Chinese

_ZH_DELETED = re.compile("[，。、！《》“”；？‘’A-Za-z]")
# Applied in this order: Taiwan phrases and characters to the mainland's, then Hong Kong characters.
# Chosen by measurement on real COCO-CN sentences (bench/bench_chinese_variants.py,
# docs/search.md#chinese-as-people-type-it).
OPENCC_CONFIGS = ("tw2sp", "hk2s")
_LATIN_RUN = re.compile("([a-z]+)")


def tokenize_zh(sentence):
    """Caption files hold Chinese already segmented: words are the pieces between ASCII white space
    (``split_ascii``: a full-width space is part of a word, as in the original; ``normalize_zh`` turns it
    into a space first)."""
    return split_ascii(_ZH_DELETED.sub("", sentence))


def tokenize_zh_normalized(sentence):
    """Tokens of normalised Chinese: punctuation and symbols are separators, and a Latin word is a
    token of its own even when written against Chinese characters (``mac笔记本`` → ``mac 笔记本``)."""
    spaced = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in sentence)
    return [piece for word in spaced.split() for piece in _LATIN_RUN.split(word) if piece]


def _require(module, package, requirements, purpose):
    """Import an optional package's ``module`` on first use, or stop with one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"the {package} package is not installed (pip install -r {requirements}), "
                         f"needed to {purpose}") from None


@functools.lru_cache(maxsize=None)
def _opencc_converters():
    opencc = _require("opencc", "opencc", "requirements.txt", "normalise Chinese")
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
    from .zh_segmenter import segmenter  # imported lazily: jieba takes a second to import
    return " ".join(w for w in segmenter().cut(text) if w.strip())


# ---------------------------------------------------------------- Japanese

def require_japanese():
    """InputError in one line, saying how to install it, when Japanese cannot be tokenised here (janome)."""
    _janome()


@functools.lru_cache(maxsize=None)
def _janome():
    tokenizer = _require("janome.tokenizer", "janome", "requirements-ja.txt", "tokenise Japanese")  # an optional extra
    return tokenizer.Tokenizer(wakati=True)


def _is_word(token):
    return any(unicodedata.category(ch)[0] not in "PSZ" for ch in token)


def tokenize_ja(sentence):
    """Japanese is written without spaces: janome splits it into words (NFKC first, so that
    full-width letters and digits are ASCII); punctuation and symbols are dropped."""
    text = unicodedata.normalize("NFKC", sentence).lower()
    return [t for t in _janome().tokenize(text) if _is_word(t)]


# ---------------------------------------------------------------- the records

@dataclass(frozen=True)
class Language:
    code: str
    name: str
    tokenize: Callable[[str], list]       # a caption file's sentence → its tokens
    stopwords: str                        # the default stop-word list
    word2vec: tuple                       # its path in the root, as parts
    recognises: Callable[[str], bool]     # could a typed query be in this language?
    example: str                          # a query (to warm a model up)
    segment: Optional[Callable[[str], str]] = None  # typed text → words separated by spaces, as captions are
    normalize: Optional[Callable[[str], str]] = None           # an optional normalisation step ...
    tokenize_normalized: Optional[Callable[[str], list]] = None  # ... and the tokens of normalised text
    archive: Optional[str] = None         # the release archive holding its word2vec (download.ARCHIVES)

    def word2vec_path(self, root):
        return os.path.join(root, *self.word2vec)

    def own_inputs(self, root):
        """{run record key: the language's own file}: the stop-word list of the project and the word2vec of
        ``root``, which a record names by the path of the clone or root it was trained in."""
        return {"stopwords": self.stopwords, "word2vec": self.word2vec_path(root)}


LANGUAGES = {
    "en": Language("en", "English", tokenize_en, os.path.join(STOPWORD_DIR, "en.txt"),
                   ("word2vec", "flickr", "vec500flickr30m"),
                   recognises=lambda text: not _CJK.search(text) and not _KANA.search(text), example="a dog",
                   archive="word2vec"),
    "zh": Language("zh", "Chinese", tokenize_zh, os.path.join(STOPWORD_DIR, "zh.txt"),
                   ("zh_w2v", "model", "zh_jieba.model"),
                   recognises=lambda text: bool(_CJK.search(text)) and not _KANA.search(text), example="一只狗",
                   segment=segment_zh, normalize=normalize_zh, tokenize_normalized=tokenize_zh_normalized,
                   archive="zh_w2v"),
    "ja": Language("ja", "Japanese", tokenize_ja, os.path.join(STOPWORD_DIR, "ja.txt"),
                   ("ja_w2v", "model", "ja_janome.model"),
                   recognises=lambda text: bool(_CJK.search(text) or _KANA.search(text)), example="犬"),
}


def get(code):
    """The record of a language code; InputError for an unknown one."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise InputError(f"language {code!r} unknown (known: {', '.join(LANGUAGES)})") from None


# ---------------------------------------------------------------- collections

_declared = ()  # ((pattern, code), …) of the running script


def parse_declarations(text):
    """``"cocoja*=ja other=zh"`` → ((pattern, code), …); ValueError on a malformed or unknown one."""
    pairs = []
    for item in (text or "").replace(",", " ").split():
        pattern, sep, code = item.partition("=")
        if not sep or not pattern:
            raise ValueError(f"{item!r}: expected PATTERN=CODE, e.g. cocoja*=ja")
        if code not in LANGUAGES:
            raise ValueError(f"{item!r}: language {code!r} unknown (known: {', '.join(LANGUAGES)})")
        pairs.append((pattern, code))
    return tuple(pairs)


def declare(text):
    """Declare the collections' languages for this process (the ``--languages`` option calls this
    when it is parsed; empty: the paper's rule alone). Returns the declarations."""
    global _declared
    _declared = parse_declarations(text)
    return _declared


def default_language(collection):
    """The paper's rule, as the original's ``collection.find('cn') > 0``: Chinese when the name's first 'cn'
    is after its first letter (``cococntrain``); a name that opens with 'cn' is English, whatever follows."""
    return "zh" if collection.find("cn") > 0 else PIVOT


def language_of(collection, declared=None):
    """The language code of a collection: the declaration whose pattern matches it (``declared``:
    ``parse_declarations``'s pairs; None: this process's), else the paper's rule. InputError when two
    declarations of different languages match it: the order of the patterns would decide in silence."""
    matches = [(pattern, code) for pattern, code in (_declared if declared is None else declared)
               if fnmatch.fnmatchcase(collection, pattern)]
    codes = {}
    for pattern, code in matches:
        codes.setdefault(code, pattern)
    if len(codes) > 1:
        (first, first_pattern), (other, other_pattern) = list(codes.items())[:2]
        raise InputError(f"languages: {collection} is declared {first} ({first_pattern}={first}) and {other} "
                         f"({other_pattern}={other}); a collection is of one language: make the patterns exclusive")
    return matches[0][1] if matches else default_language(collection)


def of_collection(collection):
    return LANGUAGES[language_of(collection)]


# ---------------------------------------------------------------- queries

def detect(text, candidates):
    """The language of a typed query among ``candidates`` (the loaded models' languages): the one
    whose record recognises it. Kana make a query Japanese; ideographs alone (``犬``) could be
    Chinese or Japanese: among candidates holding both, that is an InputError asking for ``--lang``.
    When no candidate recognises it, the first record that does is returned (the caller then
    says that no model of that language is loaded). A query of no letter or digit (``🐶``, ``？``) is of no
    language: the one candidate's, whose model then says it knows no word of it."""
    if len(candidates) == 1 and not any(c.isalnum() for c in text):
        return next(iter(candidates))
    matches = [code for code, lang in LANGUAGES.items() if code in candidates and lang.recognises(text)]
    if len(matches) > 1:
        names = " or ".join(LANGUAGES[c].name for c in matches)
        raise InputError(f"query {text!r} could be {names}: give its language (--lang "
                         f"{'|'.join(matches)})")
    if matches:
        return matches[0]
    return next((code for code, lang in LANGUAGES.items() if lang.recognises(text)), PIVOT)
