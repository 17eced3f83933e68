"""The gallery of a W2VV successor (W2VV++, SEA: w2vv.common_space): its image tower's vectors of the
gallery's features, unit per space and concatenated, computed once and cached in the checkpoint folder.

W2VV scores a sentence against the CNN feature itself; a successor against its image tower's projection
of the feature (``models.image``: the feature normalised as the config says, → Linear → tanh per space,
each space's output L2-normalised, the spaces concatenated). The score of a sentence and an image is the
inner product of the text tower's vector and that vector, the cosine in the common space (summed over
SEA's three spaces): the tester's score (w2vv.testing), so the gallery is indexed by inner product on
these vectors as they are (``open_gallery(unit=False)``), never re-normalised as a whole (SEA's vector
has norm √3).

The cache, ``<checkpoint>/search_cache/gallery/<name>.<key>/``, is a BigFile (the gallery's ids in
gallery order) with its record ``inputs.json`` (``fingerprint.write_sources``: the best weights file,
the model's ``config.json``, the features' ``id.txt`` and ``feature.bin`` and the cache's own, by
fingerprint, and the ids' digest): a retrained model, changed features or ImageSets list, or vectors
edited in the cache, never meet a stale cache; a moved root keeps it. A model whose weights file was
retrained on disk since it was loaded neither reads nor writes it (its vectors are the loaded weights').
``<name>``: ``all`` or ``imageset-<list>``; ``<key>``: a digest of the feature folder's path (relative to
the root when inside it). A FAISS index of a large gallery is built over the cached vectors when opened;
an approximate one (``faiss-ivf``, whose clusters take time to train) is saved beside them
(``<cache>/search_index/``, ``w2vv.retrieval.gallery``), so it follows the cache. A checkpoint folder that
cannot be written keeps the vectors in memory."""
import os

import numpy as np

from .. import layout
from ..bigfile import BigFile, write_bigfile
from ..errors import InputError
from ..fingerprint import digest, sources_match, write_sources
from .gallery import gallery_rows, ids_digest, open_gallery, resolve_kind
from .pivot_sentences import weights_changed

GALLERY_CACHE = "gallery"   # <checkpoint>/search_cache/gallery/
PROJECT_ROWS = 4096         # features projected at once (SEA at 2048-d: 100 MB of vectors)
RECORD_VERSION = 1


class ArrayFeatures:
    """Vectors held in memory, read as a ``BigFile`` is (``folder`` None: nothing saved beside them)."""

    def __init__(self, names, vectors):
        self.names, self.vectors, self.folder = list(names), vectors, None
        self.ndims = int(vectors.shape[1])

    def __len__(self):
        return len(self.names)

    def read_rows(self, rows):
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], np.float32)


def cache_folder(model, features, name):
    """``<checkpoint>/search_cache/gallery/<name>.<key>`` of the gallery ``name`` of ``features``."""
    folder, root = os.path.abspath(features.folder), os.path.abspath(model.root)
    place = os.path.relpath(folder, root) if os.path.commonpath([folder, root]) == root else folder
    return os.path.join(model.folder, layout.SEARCH_CACHE, GALLERY_CACHE, f"{name}.{digest(place)[:12]}")


def project(model, features, rows):
    """(len(rows) × the model's width) float32: the image tower's vectors of ``features``' ``rows``."""
    out = None
    for start in range(0, len(rows), PROJECT_ROWS):
        block = model.image_vectors(features.read_rows(rows[start:start + PROJECT_ROWS]))
        if out is None:
            out = np.empty((len(rows), block.shape[1]), np.float32)
        out[start:start + len(block)] = block
    return out


def projected_vectors(model, features, imageset=None, log=None):
    """The gallery's projected vectors: a ``BigFile`` of the cache (read, or computed and written), or an
    ``ArrayFeatures`` where the cache cannot be written. ``model``: a successor's ``TrainedModel``
    (``folder``, ``root``, ``weights_file``, ``image_vectors``); ``features``: the gallery's ``BigFile``."""
    log = log or (lambda message: None)
    ids, rows, name = gallery_rows(features, imageset)
    if not ids:
        raise InputError(f"{features.folder}: the gallery is empty")
    folder = cache_folder(model, features, name)
    record = os.path.join(folder, layout.INPUTS_FILE)
    # the cache's own files too: vectors edited since are not served as the model's
    inputs = [model.weights_file, os.path.join(model.folder, layout.CONFIG_FILE), features.folder, folder]
    settings = dict(ids_sha1=ids_digest(ids), n=len(ids), version=RECORD_VERSION)
    # a weights file retrained on disk since the model was loaded: a cache of it is not the loaded model's
    if not weights_changed(model) and sources_match(record, inputs, within=model.root, **settings):
        try:
            cached = BigFile(folder)
            if cached.names == ids:
                log(f"gallery: {len(ids)} image vectors of the {model.family_name} model (cached in {folder})")
                return cached
        except InputError:
            pass  # a damaged cache: computed again
    log(f"gallery: projecting {len(ids)} images with the {model.family_name} model's image tower ...")
    vectors = project(model, features, rows)
    try:
        if weights_changed(model):
            raise InputError(f"{model.weights_file} changed on disk since the model was loaded (retrained?): restart "
                             f"the search to use the new weights")
        write_bigfile(folder, ids, vectors)  # whole or not at all; its record comes after
        write_sources(record, inputs, within=model.root, **settings)
        if weights_changed(model):  # retrained while the record was written: it would name the new weights
            os.remove(record)
    except (OSError, InputError) as e:
        log(f"gallery: image vectors not cached ({e}); kept in memory")
        return ArrayFeatures(ids, vectors)
    return BigFile(folder)


def open_projected_gallery(model, features, imageset=None, kind="auto", save=True, nprobe=None, log=None):
    """The successor ``model``'s gallery of ``features`` (a ``BigFile``, optionally only the ids of an
    ImageSets file): its projected vectors (``projected_vectors``) indexed by inner product, as they are.
    Only a ``faiss-ivf`` index is saved (with ``save``): an exact one holds the cached vectors themselves,
    as fast to build from them as to load."""
    vectors = projected_vectors(model, features, imageset, log)
    kind = resolve_kind(kind, len(vectors))
    return open_gallery(vectors, None, kind, save=save and kind == "faiss-ivf", nprobe=nprobe, log=log, unit=False)
