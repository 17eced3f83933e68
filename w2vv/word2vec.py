"""Word2vec loading: the English BigFile (``word2vec/flickr/vec500flickr30m``), the Chinese
gensim model (``zh_w2v/model/zh_jieba.model``, saved by gensim 3.x; gensim 4 loads it),
and word2vec binary/text files through gensim ``KeyedVectors``.

Every kind answers the same two questions: its dimension, and the vectors of a list of
words (with which of them it knows). A BigFile stays memory-mapped: only the rows asked
for are read, so a 3 GB model opens in seconds."""
import os

import numpy as np

from .bigfile import BigFile
from .errors import InputError


class BigFileWord2Vec:
    def __init__(self, folder):
        self._bigfile = BigFile(folder)
        self.dim = self._bigfile.ndims
        self.size = len(self._bigfile)
        self.path = folder

    def __contains__(self, word):
        return word in self._bigfile

    def lookup(self, words):
        """(vectors (n, dim) float32 with zero rows for unknown words, known mask (n,))."""
        known = np.array([w in self._bigfile for w in words], dtype=bool)
        out = np.zeros((len(words), self.dim), np.float32)
        rows, _ = self._bigfile.index_of(words)
        out[known] = self._bigfile.read_rows(rows)
        return out, known


class ArrayWord2Vec:
    """Words by their row (``index``: {word: row}) and the array of their vectors (a memory map: only the rows
    looked up are read)."""

    def __init__(self, index, vectors, path):
        self._index = index
        self._vectors = vectors
        self.dim = int(vectors.shape[1])
        self.size = len(index)
        self.path = path

    def __contains__(self, word):
        return word in self._index

    def lookup(self, words):
        known = np.array([w in self._index for w in words], dtype=bool)
        out = np.zeros((len(words), self.dim), np.float32)
        if known.any():
            out[known] = self._vectors[[self._index[w] for w, k in zip(words, known) if k]]
        return out, known


class GensimWord2Vec(ArrayWord2Vec):
    """A gensim model's vectors (``keyed_vectors``, from which search's cache is written: ``w2vv.word2vec_cache``)."""

    def __init__(self, keyed_vectors, path):
        super().__init__(keyed_vectors.key_to_index, keyed_vectors.vectors, path)
        self.keyed_vectors = keyed_vectors


def _load_gensim(path, mmap=None):
    from gensim.models import KeyedVectors, Word2Vec
    if path.endswith((".bin", ".bin.gz")):
        return KeyedVectors.load_word2vec_format(path, binary=True)
    if path.endswith((".txt", ".vec", ".txt.gz")):
        return KeyedVectors.load_word2vec_format(path, binary=False)
    try:  # a full model saved by Word2Vec.save() (gensim 3.x or 4.x) ...
        return Word2Vec.load(path, mmap=mmap).wv
    except AttributeError:  # ... or KeyedVectors saved on their own
        return KeyedVectors.load(path, mmap=mmap)


def _open_gensim(path, mmap):
    if mmap:
        try:  # arrays saved beside the model are mapped, not read: seconds for a 2 GB model ...
            return _load_gensim(path, mmap="r")
        except Exception:  # ... but an old model that cannot be mapped still loads whole
            pass
    return _load_gensim(path)


def _gensim_word2vec(path, mmap):
    try:
        return GensimWord2Vec(_open_gensim(path, mmap), path)
    except Exception as e:  # gensim raises many kinds (pickle, EOF, unicode, value)
        raise InputError(f"{path}: cannot read word2vec model ({type(e).__name__}: {e})".splitlines()[0]) from None


def open_word2vec(path, expected_dim=None, mmap=False, cached=False):
    """Open a word2vec: a BigFile folder, a gensim model file, or a word2vec .bin/.txt file.
    ``mmap``: map a gensim model's large arrays instead of reading them (to look, not to train).
    ``cached``: read a gensim model from its cache beside it, written the first time (no gensim
    imported: ``w2vv.word2vec_cache``); search's choice."""
    path = str(path)
    if os.path.isdir(path):
        w2v = BigFileWord2Vec(path)
    elif os.path.isfile(path) and cached:
        from .word2vec_cache import open_cached
        w2v = open_cached(path, lambda: _gensim_word2vec(path, mmap=True))
    elif os.path.isfile(path):
        w2v = _gensim_word2vec(path, mmap)
    else:
        raise InputError(f"{path}: word2vec not found")
    if expected_dim is not None and w2v.dim != expected_dim:
        raise InputError(f"{path}: word2vec vectors are {w2v.dim}-d, but the config's embed_size is {expected_dim}")
    return w2v
