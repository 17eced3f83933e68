"""jieba's segmentation of Chinese with its dictionary read on demand.

Before its first cut jieba loads its whole prefix dictionary (half a million words and prefixes,
from a marshal cache): one to several seconds, most of a search's start, while segmenting a query
looks up a few dozen entries. ``segmenter()`` is a ``jieba.Tokenizer`` whose ``FREQ`` is a
``PrefixTable``: the same entries and counts as sorted arrays, memory-mapped from a cache that the
first call writes (``$XDG_CACHE_HOME/w2vv/``, keyed by jieba's version and dictionary file). Its cuts
are jieba's own (``tests/test_languages.py``); where no cache can be written, jieba's own tokenizer."""
import functools
import os
import sys

import numpy as np

from .atomic import atomic_dir
from .errors import InputError
from .fingerprint import digest, file_fingerprint


class PrefixTable:
    """The mapping jieba reads as ``FREQ`` (``in``, ``[]``, ``get``): word or prefix → count (0: a prefix)."""

    def __init__(self, words, counts):
        self._words, self._counts = words, counts
        self._width = words.dtype.itemsize // 4  # no entry is longer
        self._count = functools.lru_cache(maxsize=1 << 16)(self._find)

    def _find(self, word):
        if len(word) > self._width or "\0" in word:  # numpy strings drop trailing NULs
            return None
        i = int(np.searchsorted(self._words, word))
        return int(self._counts[i]) if i < len(self._words) and self._words[i] == word else None

    def __contains__(self, word):
        return self._count(word) is not None

    def __getitem__(self, word):
        count = self._count(word)
        if count is None:
            raise KeyError(word)
        return count

    def get(self, word, default=None):
        count = self._count(word)
        return default if count is None else count


def cache_folder(jieba):
    """The table's folder for this jieba and its dictionary file."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    dictionary = jieba.dt.dictionary or os.path.join(os.path.dirname(jieba.__file__), jieba.DEFAULT_DICT_NAME)
    return os.path.join(base, "w2vv", "jieba-" + digest([jieba.__version__, dictionary, file_fingerprint(dictionary)]))


def _write(folder, jieba):
    jieba.dt.initialize()
    words = np.array(sorted(jieba.dt.FREQ))
    with atomic_dir(folder) as tmp:
        np.save(os.path.join(tmp, "words.npy"), words)
        np.save(os.path.join(tmp, "counts.npy"), np.array([jieba.dt.FREQ[w] for w in words.tolist()], np.int64))
        with open(os.path.join(tmp, "total.txt"), "w") as f:
            f.write(f"{jieba.dt.total}\n")


def _read(folder):
    words = np.load(os.path.join(folder, "words.npy"), mmap_mode="r")
    counts = np.load(os.path.join(folder, "counts.npy"), mmap_mode="r")
    with open(os.path.join(folder, "total.txt")) as f:
        total = int(f.read())
    if len(words) != len(counts) or words.dtype.kind != "U":
        raise ValueError(f"{folder}: not a jieba table")
    return PrefixTable(words, counts), total


def import_jieba():
    """jieba, imported without ``pkg_resources`` where nothing imported it yet: jieba imports it only to
    open its dictionary (half of jieba's import time) and opens the file beside it without it."""
    if "pkg_resources" in sys.modules:
        import jieba
        return jieba
    sys.modules["pkg_resources"] = None  # jieba's `import pkg_resources` raises ImportError
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


@functools.lru_cache(maxsize=None)
def segmenter():
    """A ``jieba.Tokenizer`` cutting as jieba's default one, its dictionary read on demand."""
    jieba = import_jieba()
    jieba.setLogLevel(60)
    try:
        folder = cache_folder(jieba)
        if not os.path.isdir(folder):
            _write(folder, jieba)
        table, total = _read(folder)
    except (OSError, ValueError, InputError):  # InputError: a full disk
        return jieba.dt  # jieba's own, loaded whole
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = table, total, True
    return tokenizer
