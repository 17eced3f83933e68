"""An image gallery to search: the images of a BigFile feature folder (optionally restricted to an
ImageSets list), ranked by cosine similarity to a query vector.

Two kinds of index over the L2-normalised image vectors (cosine = inner product):

- ``numpy``: exact, a float32 matrix product over blocks of the gallery; nothing is saved.
- ``faiss`` (``faiss-cpu``): an exact ``IndexFlatIP``; it returns the same top-k as ``numpy``.
  ``faiss-ivf``: an approximate ``IndexIVFFlat`` (inner product, ``nlist`` ≈ √N clusters,
  ``nprobe`` of them searched) for very large galleries; its recall is measured by
  ``bench/bench_search.py``.

``auto`` takes ``numpy`` below ``FAISS_FROM`` images and ``faiss`` from there on. A FAISS index is
built once and saved beside the features, ``<feature_dir>/search_index/<name>.<kind>.index`` with
a ``.json`` that records what it was built from (ids, size and time of ``feature.bin``); a later
open loads it, or rebuilds it when the features changed. A folder that cannot be written keeps the
index in memory only.

A successor's gallery (W2VV++, SEA: ``w2vv.retrieval.projected_gallery``) is a BigFile of its image
tower's vectors, unit per space and concatenated (SEA's: three unit vectors, norm √3), opened with
``unit=False``: its rows and the queries are taken as they are, and a score is their inner product
(the sum of the spaces' cosines), not the cosine of the concatenations.

Ties (equal scores) are broken by gallery order, as the project's rankings do. The ImageSets list of
a collection whose images the features lack, because the collection holds another CNN's features
only (``<root>/<collection>/FeatureData/<other name>``), is refused naming both features.
"""
import hashlib
import json
import os
import time

import numpy as np

from ..atomic import atomic_path, write_text
from ..bigfile import BigFile, require_finite
from ..collection_files import read_imageset
from ..errors import InputError
from ..fingerprint import sources
from ..layout import feature_dir, imageset_file
from ..ranking import unit_rows

KINDS = ("auto", "numpy", "faiss", "faiss-ivf")
FAISS_FROM = 100_000       # auto: galleries of this many images or more use FAISS
INDEX_DIR = "search_index"
CHUNK_ROWS = 32_768        # rows read, normalised and scored at once
_BLOCK_QUERIES = 256
FEW_QUERIES = 20           # FAISS searches fewer queries than this on one thread (3x faster measured on 2 cores)


def _topk_sorted(scores, positions, k):
    """Best ``k`` of each row of ``scores`` (m × c) with their ``positions`` (m × c), best first,
    equal scores in position order; returns two (m × min(k, c)) arrays."""
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores, positions = np.take_along_axis(scores, part, axis=1), np.take_along_axis(positions, part, axis=1)
    order = np.lexsort((positions, -scores), axis=1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(positions, order, axis=1)


class NumpyIndex:
    """Exact inner-product search over unit vectors held in memory."""
    kind = "numpy"

    def __init__(self, unit_vectors):
        self.vectors = np.ascontiguousarray(unit_vectors, dtype=np.float32)

    @property
    def ntotal(self):
        return len(self.vectors)

    def search(self, unit_queries, k):
        unit_queries = np.ascontiguousarray(unit_queries, dtype=np.float32)
        m, n = len(unit_queries), len(self.vectors)
        k = min(k, n)
        out_s = np.empty((m, k), np.float32)
        out_p = np.empty((m, k), np.int64)
        for q0 in range(0, m, _BLOCK_QUERIES):
            q = unit_queries[q0:q0 + _BLOCK_QUERIES]
            best_s = np.empty((len(q), 0), np.float32)
            best_p = np.empty((len(q), 0), np.int64)
            for g0 in range(0, n, CHUNK_ROWS * 4):
                block = q @ self.vectors[g0:g0 + CHUNK_ROWS * 4].T
                positions = np.broadcast_to(np.arange(g0, g0 + block.shape[1]), block.shape)
                s, p = _topk_sorted(block, positions, k)
                best_s, best_p = _topk_sorted(np.concatenate([best_s, s], axis=1),
                                              np.concatenate([best_p, p], axis=1), k)
            out_s[q0:q0 + len(q)], out_p[q0:q0 + len(q)] = best_s, best_p
        return out_s, out_p


class FaissIndex:
    """A FAISS inner-product index: ``faiss`` (exact, flat) or ``faiss-ivf`` (approximate)."""

    def __init__(self, index, kind, nprobe=None):
        self.index, self.kind = index, kind
        if kind == "faiss-ivf":
            self.index.nprobe = nprobe or default_nprobe(index.nlist)

    @property
    def ntotal(self):
        return self.index.ntotal

    @classmethod
    def build(cls, dim, n, chunks, kind="faiss", nlist=None, training=None, nprobe=None):
        """Build from an iterator of unit-vector blocks; ``faiss-ivf`` trains its clusters on
        ``training`` (a sample of unit vectors) first."""
        faiss = _faiss()
        if kind == "faiss":
            index = faiss.IndexFlatIP(dim)
        elif kind == "faiss-ivf":
            nlist = nlist or default_nlist(n)
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = 1234
            index.train(np.ascontiguousarray(training, dtype=np.float32))
        else:
            raise ValueError(f"unknown FAISS index kind {kind!r}")
        for block in chunks:
            index.add(np.ascontiguousarray(block, dtype=np.float32))
        return cls(index, kind, nprobe)

    def search(self, unit_queries, k):
        k = min(k, self.ntotal)
        faiss = _faiss()
        # FAISS gives a query to one thread; for a few queries the idle ones only compete for the cores.
        # The setting is per calling thread (OpenMP's nthreads-var), so concurrent searches do not mix.
        full = _omp_threads(faiss)
        faiss.omp_set_num_threads(1 if len(unit_queries) < FEW_QUERIES else full)
        scores, positions = self.index.search(np.ascontiguousarray(unit_queries, dtype=np.float32), k)
        return scores, positions.astype(np.int64)

    def save(self, path):
        with atomic_path(path) as tmp:
            _faiss().write_index(self.index, tmp)

    @classmethod
    def load(cls, path, kind, nprobe=None):
        return cls(_faiss().read_index(path), kind, nprobe)


_OMP_THREADS = []


def _omp_threads(faiss):
    """OpenMP's thread count as it was before this module first changed it."""
    if not _OMP_THREADS:
        _OMP_THREADS.append(faiss.omp_get_max_threads())
    return _OMP_THREADS[0]


def default_nlist(n):
    """About √N clusters (at least 1, and at most N/39 so every cluster trains on 39 points)."""
    return int(max(1, min(round(np.sqrt(n)), n // 39)))


def default_nprobe(nlist):
    return int(max(1, min(nlist, round(nlist / 16))))


def _faiss():
    try:
        import faiss
    except ImportError:
        raise InputError("faiss: not installed (pip install faiss-cpu), needed for a FAISS gallery index") from None
    return faiss


def _as_rows(x):
    return np.atleast_2d(np.asarray(x, dtype=np.float32))


class Gallery:
    """The images to search and their index. ``ids[i]`` is the image at index position ``i``.
    ``unit``: the rows and the queries are scaled to unit length (a score is a cosine: W2VV's), else
    taken as they are (an inner product: a successor's vectors, unit per space)."""

    def __init__(self, ids, index, features=None, rows=None, index_path=None, build_seconds=None, unit=True):
        self.ids = list(ids)
        self.index = index
        self.features, self.rows = features, rows
        self.unit = unit
        self.prepare = unit_rows if unit else _as_rows
        self.index_path, self.build_seconds = index_path, build_seconds
        self.position = {img: i for i, img in enumerate(self.ids)}

    def __len__(self):
        return len(self.ids)

    @property
    def kind(self):
        return self.index.kind

    def search(self, queries, k):
        """Top-``k`` (scores, positions) per query vector, best first; queries need not be unit."""
        return self.index.search(self.prepare(np.atleast_2d(queries)), k)

    def search_ids(self, queries, k):
        """[[(image id, score), …] per query]."""
        scores, positions = self.search(queries, k)
        return [[(self.ids[p], float(s)) for s, p in zip(srow, prow) if p >= 0]
                for srow, prow in zip(scores, positions)]

    def vectors_at(self, positions):
        """The vectors of the images at these positions as the index holds them (read from the features)."""
        positions = np.asarray(positions, dtype=np.int64)
        if isinstance(self.index, NumpyIndex):
            return self.index.vectors[positions]
        return self.prepare(self.features.read_rows(self.rows[positions]))

    def scores_at(self, queries, positions):
        """Exact scores (m × len(positions)) of the query vectors with the images at ``positions``."""
        return self.prepare(np.atleast_2d(queries)) @ self.vectors_at(positions).T


def _unit_chunks(features, rows, chunk_rows=CHUNK_ROWS, unit=True):
    prepare = unit_rows if unit else _as_rows
    for start in range(0, len(rows), chunk_rows):
        block = features.read_rows(rows[start:start + chunk_rows])
        require_finite(features, rows[start:start + chunk_rows], block)
        yield prepare(block)


def ids_digest(ids):
    h = hashlib.sha1()
    for img in ids:
        h.update(img.encode("utf-8") + b"\n")
    return h.hexdigest()


def _source_meta(features, ids, kind, nlist, index_dir, unit=True):
    """What an index is built from: its kind, the ids, and the features' ``fingerprint.sources``
    (relative to the index's folder: a moved feature folder keeps its index); ``unit_rows: false`` for
    rows indexed as they are (a successor's)."""
    meta = dict(kind=kind, n=len(ids), dim=features.ndims, ids_sha1=ids_digest(ids), nlist=nlist,
                sources=sources([features.folder], index_dir, within=features.folder))
    return meta if unit else dict(meta, unit_rows=False)


def index_paths(feature_dir, name, kind):
    """(index file, description file) of a saved FAISS index."""
    base = os.path.join(str(feature_dir), INDEX_DIR, f"{name}.{kind}")
    return base + ".index", base + ".json"


def _read_meta(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _same_source(saved_meta, meta):
    return isinstance(saved_meta, dict) and {k: v for k, v in saved_meta.items() if k != "build_seconds"} == meta


def feature_mismatch(where, found, wanted, model_folder=None):
    """The InputError of a gallery whose features (``found``: their names) are not those the model
    (of ``model_folder``) was trained on (``wanted``, its ``img_feature``)."""
    model = f"the model {model_folder}" if model_folder else "the model"
    names = ", ".join(repr(name) for name in found)
    return InputError(f"{where}: gallery feature{'s' if len(found) > 1 else ''} {names}, but {model} was trained "
                      f"on {wanted!r} (extract the gallery's features with the same CNN, docs/own-photos.md)")


def _layout_place(path, make):
    """(root, collection, name) when ``path`` is ``make(root, name, collection)`` of the layout, else None."""
    path = os.path.normpath(os.path.abspath(str(path)))
    name, collection_dir = os.path.basename(path), os.path.dirname(os.path.dirname(path))
    root, collection = os.path.split(collection_dir)
    return (root, collection, name) if os.path.normpath(make(root, name, collection)) == path else None


def _bigfile_names(folder):
    """The names of the BigFile folders in ``folder`` (a collection's ``FeatureData``: its features)."""
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name, "shape.txt")))


def _foreign_features(features, imageset):
    """The InputError of a collection's ImageSets file whose images the gallery's layout features
    lack because the collection holds features of other names only (another CNN's), else None."""
    gallery_place = _layout_place(features.folder, feature_dir)
    imageset_place = _layout_place(imageset, lambda root, name, collection: imageset_file(root, collection))
    if gallery_place is None or imageset_place is None:
        return None
    (root, collection, _), wanted = imageset_place, gallery_place[2]
    feature_data = os.path.dirname(feature_dir(root, wanted, collection))
    found = _bigfile_names(feature_data)
    if not found or wanted in found:
        return None
    return feature_mismatch(feature_data, found, wanted)


def gallery_rows(features, imageset):
    """(ids, rows, name): the whole BigFile, or the ids of an ImageSets file, in that file's order."""
    if imageset is None:
        return list(features.names), np.arange(len(features), dtype=np.int64), "all"
    ids = list(dict.fromkeys(read_imageset(imageset)))
    rows, found = features.index_of(ids)
    if len(found) != len(ids):
        missing = next(i for i in ids if i not in features)
        raise _foreign_features(features, imageset) or InputError(
            f"{imageset}: image {missing!r} has no feature in {features.folder} ({len(ids) - len(found)} missing)")
    stem = os.path.basename(str(imageset))
    stem = stem[:-4] if stem.endswith(".txt") else stem
    return ids, rows, "imageset-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def resolve_kind(kind, n):
    if kind not in KINDS:
        raise InputError(f"index kind {kind!r} unknown (expected one of {', '.join(KINDS)})")
    if kind == "auto":
        return "numpy" if n < FAISS_FROM else "faiss"
    return kind


def open_gallery(feature_dir, imageset=None, kind="auto", save=True, rebuild=False, nlist=None, nprobe=None,
                 log=None, unit=True):
    """The gallery of a BigFile feature folder (optionally only the ids of an ImageSets file).

    A FAISS index is loaded from ``<feature_dir>/search_index/`` when one built from the same
    ids and ``feature.bin`` is there (unless ``rebuild``), else built and, with ``save``, saved.
    ``feature_dir``: a folder, a ``BigFile``, or any object with its ``names``, ``ndims``, ``index_of``
    and ``read_rows`` and a ``folder`` of None (vectors held in memory: a FAISS index neither loaded nor
    saved). ``unit``: rows and queries scaled to unit length (cosine), else taken as they are (``Gallery``)."""
    log = log or (lambda message: None)
    features = feature_dir if hasattr(feature_dir, "read_rows") else BigFile(feature_dir)
    ids, rows, name = gallery_rows(features, imageset)
    if not ids:
        raise InputError(f"{features.folder}: the gallery is empty")
    kind = resolve_kind(kind, len(ids))
    started = time.perf_counter()
    if kind == "numpy":
        vectors = np.empty((len(ids), features.ndims), np.float32)
        for start, block in zip(range(0, len(rows), CHUNK_ROWS), _unit_chunks(features, rows, unit=unit)):
            vectors[start:start + len(block)] = block
        return Gallery(ids, NumpyIndex(vectors), features, rows, build_seconds=time.perf_counter() - started,
                       unit=unit)
    nlist = (nlist or default_nlist(len(ids))) if kind == "faiss-ivf" else None
    where = None if features.folder is None else index_paths(features.folder, name, kind)
    meta = None if where is None else _source_meta(features, ids, kind, nlist, os.path.dirname(where[0]), unit)
    if where is not None and not rebuild:
        index = _saved_index(where, meta, kind, nprobe, len(ids), log)
        if index is not None:
            return Gallery(ids, index, features, rows, where[0], build_seconds=0.0, unit=unit)
    training = None
    if kind == "faiss-ivf":
        sample = np.linspace(0, len(rows) - 1, min(len(rows), 64 * nlist)).astype(np.int64)
        training = next(_unit_chunks(features, rows[np.unique(sample)], len(rows), unit))
    index = FaissIndex.build(features.ndims, len(ids), _unit_chunks(features, rows, unit=unit), kind, nlist,
                             training, nprobe)
    seconds = time.perf_counter() - started
    saved = _save_index(index, where, meta, seconds, log) if save and where is not None else None
    log(f"gallery: built {kind} index of {len(ids)} images in {seconds:.1f}s" + (f" -> {saved}" if saved else ""))
    return Gallery(ids, index, features, rows, saved, build_seconds=seconds, unit=unit)


def _saved_index(where, meta, kind, nprobe, n, log):
    """The FAISS index saved at ``where`` (index file, description file) from what ``meta`` describes, or None."""
    index_path, meta_path = where
    if not (os.path.isfile(index_path) and _same_source(_read_meta(meta_path), meta)):
        return None
    try:
        index = FaissIndex.load(index_path, kind, nprobe)
    except RuntimeError as e:  # a damaged file: build it again
        log(f"gallery: {index_path} unreadable ({str(e).splitlines()[0][:120]}); rebuilding")
        return None
    if index.ntotal != n:
        return None
    log(f"gallery: loaded {kind} index of {n} images from {index_path}")
    return index


def _save_index(index, where, meta, seconds, log):
    """Save a FAISS index and then its description; its path, or None where it cannot be written."""
    index_path, meta_path = where
    try:
        if os.path.exists(meta_path):
            os.remove(meta_path)  # the description is written last: an index without one is rebuilt
        index.save(index_path)
        write_text(meta_path, json.dumps(dict(meta, build_seconds=round(seconds, 3)), indent=1) + "\n")
        return index_path
    except OSError as e:
        log(f"gallery: index not saved ({e}); kept in memory")
        return None
