"""A gensim word2vec model read without gensim: its words and vectors cached beside it, for search.

Importing gensim and unpickling a model takes a second or more, most of a search's start. The first
``open_cached`` writes ``<model>.search_cache/``: ``words.txt`` (one a line, in row order), the vectors
as ``vectors.npy`` unless they already lie in a ``.npy`` file beside the model (large models: that file
is mapped, not copied; ``vectors.txt`` names it), and ``inputs.json``, the fingerprints of the model's
files (``w2vv.fingerprint.sources``): a model rewritten is read by gensim again, a root moved keeps it.
The same vectors as gensim's, float32 (``tests/test_search.py``)."""
import os

import numpy as np

from .atomic import atomic_open
from .errors import InputError
from .fingerprint import model_files, sources_match, write_sources
from .layout import INPUTS_FILE
from .word2vec import ArrayWord2Vec

CACHE_SUFFIX = ".search_cache"


def open_cached(path, open_gensim):
    """The model at ``path`` from its cache; else ``open_gensim()`` (a ``GensimWord2Vec``), cached for the next time."""
    cache = str(path) + CACHE_SUFFIX
    files = model_files(path)
    if sources_match(os.path.join(cache, INPUTS_FILE), files):
        try:
            return _read(cache, path)
        except (OSError, ValueError):
            pass  # read by gensim and written again
    w2v = open_gensim()
    try:
        _write(cache, w2v.keyed_vectors, files)
    except (OSError, ValueError, InputError):
        pass  # a read-only root, a word with a line break: gensim again next time
    return w2v


def _read(cache, path):
    with open(os.path.join(cache, "words.txt"), encoding="utf-8", newline="") as f:
        words = f.read().split("\n")
    with open(os.path.join(cache, "vectors.txt"), encoding="utf-8") as f:
        vectors = np.load(os.path.join(cache, f.read().strip()), mmap_mode="r")
    if vectors.ndim != 2 or len(vectors) != len(words):
        raise ValueError(f"{cache}: {len(words)} words, vectors of shape {vectors.shape}")
    return ArrayWord2Vec({w: i for i, w in enumerate(words)}, vectors, str(path))


def _write(cache, kv, files):
    words = [str(w) for w in kv.index_to_key]
    if any("\n" in w for w in words):
        raise ValueError("a word with a line break")
    os.makedirs(cache, exist_ok=True)
    if os.path.exists(os.path.join(cache, INPUTS_FILE)):
        os.remove(os.path.join(cache, INPUTS_FILE))  # the cache of another version of the model
    mapped = getattr(kv.vectors, "filename", None)  # the model's own .npy, when gensim mapped it
    if mapped and kv.vectors.dtype == np.float32:
        name = os.path.relpath(mapped, cache)
    else:
        name = "vectors.npy"
        _replace(os.path.join(cache, name), lambda f: np.save(f, np.asarray(kv.vectors, np.float32)))
    _replace(os.path.join(cache, "words.txt"), lambda f: f.write("\n".join(words).encode("utf-8")))
    _replace(os.path.join(cache, "vectors.txt"), lambda f: f.write(f"{name}\n".encode("utf-8")))
    write_sources(os.path.join(cache, INPUTS_FILE), files)  # last: the cache counts once whole


def _replace(path, write):
    # a new file renamed into place: another process may have the former one mapped
    with atomic_open(path, "wb") as f:
        write(f)
