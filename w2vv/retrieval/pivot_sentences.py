"""The English sentences of the cross-lingual route of search (docs/method.md#cross-lingual-matching-cl):
their vectors by the English model (a successor's: its text tower's), read from the pipeline's
``sent_feat.txt`` or predicted once and cached in the English checkpoint folder, as unit vectors grouped
by their gallery image: CL is their cosine with the query's vector, as the cross-lingual stage computes it."""
import os

import numpy as np

from .. import collection_files, languages, layout
from ..bigfile import BigFile, write_bigfile
from ..errors import InputError
from ..fingerprint import file_fingerprint, recorded_files, write_sources
from ..layout import SENT_FEAT_FILE
from ..ranking import read_sent_feat, unit_rows
from ..runs import inputs_unchanged
from .gallery import FAISS_FROM, FaissIndex, NumpyIndex

PIVOT = languages.PIVOT


class PivotSentences:
    """The English sentences of the CL route, as unit vectors, grouped by their gallery image."""

    def __init__(self, ids, vectors, gallery, index_kind):
        image_pos = np.array([gallery.position.get(layout.image_id(s), -1) for s in ids], dtype=np.int64)
        keep = np.flatnonzero(image_pos >= 0)
        order = keep[np.argsort(image_pos[keep], kind="stable")]
        self.ids = [ids[i] for i in order]
        self.image_pos = image_pos[order]
        self.unit = unit_rows(np.asarray(vectors)[order])
        kind = "faiss" if index_kind in ("faiss", "faiss-ivf") or (index_kind == "auto" and len(order) >= FAISS_FROM) \
            else "numpy"
        self.index = NumpyIndex(self.unit) if kind == "numpy" else \
            FaissIndex.build(self.unit.shape[1], len(order), [self.unit], "faiss")
        # per described image (sorted positions): its slice of sentence rows
        self.described, self.starts = np.unique(self.image_pos, return_index=True)
        self.ends = np.r_[self.starts[1:], len(order)].astype(np.int64)

    def __len__(self):
        return len(self.ids)

    def described_unit(self, gallery):
        """The vectors of the described gallery images as ``gallery`` holds them (W2VV's: unit vectors; a
        successor's: its image tower's), kept after the first call for each gallery."""
        kept = self.__dict__.setdefault("_described", {})
        if id(gallery) not in kept:
            kept[id(gallery)] = (gallery, np.ascontiguousarray(gallery.vectors_at(self.described), np.float32))
        return kept[id(gallery)][1]

    def image_scores(self, unit_query, positions):
        """CL score of each gallery position (its best sentence), or -inf for an image without one."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.full(len(positions), -np.inf, np.float32)
        slot = np.minimum(np.searchsorted(self.described, positions), max(len(self.described) - 1, 0))
        found = np.flatnonzero(self.described[slot] == positions) if len(self.described) else np.array([], int)
        if len(found):
            starts, lengths = self.starts[slot[found]], self.ends[slot[found]] - self.starts[slot[found]]
            first = np.cumsum(lengths) - lengths
            rows = np.repeat(starts - first, lengths) + np.arange(lengths.sum())
            out[found] = np.maximum.reduceat(self.unit[rows] @ np.asarray(unit_query, np.float32), first)
        return out


def default_collections(root, en):
    """The English model's collections: ``<prefix>*`` for a training collection ``<prefix>train``
    (``mscoco2014dev-train``, ``-val``, ``-test``), else its training and val collections."""
    prefix = en.train[:-len("train")] if en.train.endswith("train") and len(en.train) > 5 else None
    if prefix is None:
        return [en.train, en.val]
    return [name for name in sorted(os.listdir(root)) if name.startswith(prefix)
            and languages.language_of(name) == PIVOT and os.path.isfile(layout.caption_file(root, name))]

def _sent_feat_path(root, en, collection):
    from ..inference import trained_model_name  # imported when needed: it loads h5py
    return os.path.join(layout.similarity_dir(root, collection, en.train, trained_model_name(en.folder)),
                        SENT_FEAT_FILE)

def loaded_fingerprint(model):
    """The fingerprint of the weights ``model`` loaded (``TrainedModel.weights_fingerprint``), what results computed
    with it are recorded under; a model that does not say: its weights file as it is now."""
    return getattr(model, "weights_fingerprint", None) or file_fingerprint(model.weights_file)

def weights_changed(model):
    """Whether ``model``'s weights file holds other weights now than those it loaded (retrained since), or is gone."""
    return not os.path.isfile(model.weights_file) or file_fingerprint(model.weights_file) != loaded_fingerprint(model)

def computed_with(record_file, en, caption_path):
    """Whether the ``write_sources`` record ``record_file`` names the weights the English model ``en`` loaded and
    the captions as they are now, and nothing else (its settings aside)."""
    try:
        files = recorded_files(record_file)
    except InputError:
        return False
    # by their real paths: a model's folder may be given through a link to its root, the record found through another
    return {os.path.realpath(path): content for path, content in files.items()} == {
        os.path.realpath(en.weights_file): loaded_fingerprint(en),
        os.path.realpath(caption_path): file_fingerprint(caption_path)}

def collection_vectors(root, en, collection, log, gallery=None):
    """(sentence ids, English-model vectors) of a collection (None: none of its sentences describes an image of the
    ``gallery`` given, and none was predicted for nothing): the pipeline's ``sent_feat.txt``
    when the tester wrote it from the weights the model loaded and the captions as they are now, else predicted
    once and cached in the English checkpoint folder (``search_cache/<collection>/``, a BigFile with its
    ``inputs.json``: redone when the captions or the weights change, kept when the root moves). A model retrained
    on disk since it was loaded keeps its own vectors, and caches none: they would pass for the new weights'."""
    path = _sent_feat_path(root, en, collection)
    caption_path = layout.caption_file(root, collection)
    captions = collection_files.captions_of(root, collection)
    if os.path.isfile(path):
        tested = os.path.dirname(path)
        record = os.path.join(tested, layout.INPUTS_FILE)
        # without a record: the original code's vectors, current while the model is not this project's
        if computed_with(record, en, caption_path) if os.path.isfile(record) else \
                inputs_unchanged(tested, [en.weights_file, caption_path]):
            ids, vectors = read_sent_feat(path)
            if _of_every_sentence(ids, captions, path, log):
                log(f"CL sentences: {len(ids)} of {collection} (read {path})")
                return ids, vectors
        else:
            log(f"CL sentences: {path} is of other weights or captions than {en.weights_file} as loaded and "
                f"{caption_path} now (the model retrained and not tested since, or another model of its run name "
                f"tested since): not used")
    cache = os.path.join(en.folder, layout.SEARCH_CACHE, collection)
    if computed_with(os.path.join(cache, layout.INPUTS_FILE), en, caption_path):
        bigfile = BigFile(cache)
        if _of_every_sentence(list(bigfile.names), captions, cache, log):
            log(f"CL sentences: {len(bigfile)} of {collection} (cached in {cache})")
            return list(bigfile.names), np.asarray(bigfile.vectors)
    if gallery is not None and not any(layout.image_id(s) in gallery.position for s, _ in captions):
        log(f"CL sentences: none of {collection} describes a gallery image (not predicted)")
        return None
    ids = [s for s, _ in captions]
    log(f"CL sentences: predicting {len(ids)} sentences of {collection} with the English model ...")
    vectors, _ = en.vectors([t for _, t in captions])
    problem = _write_cache(cache, ids, vectors, en, caption_path, root)
    if problem:
        log(f"CL sentences: not cached ({problem})")
    return ids, vectors

def _of_every_sentence(ids, captions, path, log):
    """Whether ``ids``, read from ``path``, are those of ``captions``, each once (a file cut short or edited by hand
    holds others: its vectors are not used)."""
    if len(ids) == len(captions) and set(ids) == {s for s, _ in captions}:
        return True
    log(f"CL sentences: {path} holds {len(ids)} sentence vectors, not one for each of the {len(captions)} sentences "
        f"of the captions: not used")
    return False

def _write_cache(cache, ids, vectors, en, caption_path, root):
    """Cache the vectors the loaded English model ``en`` predicted, recorded under its weights' fingerprint: only
    while its weights file holds those weights. None, or why they were not cached."""
    changed = (f"{en.weights_file} changed on disk since the English model was loaded (retrained?); its vectors are "
               f"the loaded model's: restart the search to use the new weights")
    if weights_changed(en):
        return changed
    record = os.path.join(cache, layout.INPUTS_FILE)
    try:
        write_bigfile(cache, ids, vectors)
        write_sources(record, [en.weights_file, caption_path], within=root)  # replaces a former record (source.txt)
        if not computed_with(record, en, caption_path):  # the weights changed while it was written
            os.remove(record)
            return changed
    except (OSError, ValueError) as e:
        return str(e)
    return None

def check_pivot_collections(root, collections):
    """InputError unless each of ``collections`` is a collection of English sentences of ``root``."""
    for name in collections:
        if languages.language_of(name) != PIVOT:
            raise InputError(f"en_collections: {name} is a collection of {languages.of_collection(name).name} "
                             f"sentences (by its name, or --languages): the CL route goes through English ones")
        if not os.path.isfile(layout.caption_file(root, name)):
            raise InputError(f"en_collections: {name}: no caption file {layout.caption_file(root, name)}")


def load_pivot_sentences(root, en, collections, gallery, index_kind, log):
    """The English sentences of the CL route: those of ``collections`` (default:
    ``default_collections``) describing gallery images, with the English model ``en``'s vectors."""
    collections = collections or default_collections(root, en)
    check_pivot_collections(root, collections)
    if not collections:
        misread = languages.language_of(en.train) != PIVOT  # the model's own, English by its record
        pattern = en.train[:-len("train")] + "*" if en.train.endswith("train") else en.train
        raise InputError(f"{root}: no English sentence collection found for the CL route (give en_collections" +
                         (f"; the English model's {en.train} reads as {languages.of_collection(en.train).name} by "
                          f"its name: declare its collections English, e.g. --languages '{pattern}=en'" if misread
                          else "") + ")")
    ids, blocks = [], []
    for collection in collections:
        found = collection_vectors(root, en, collection, log, gallery)
        if found:
            ids += found[0]
            blocks.append(found[1])
    sentences = PivotSentences(ids, np.concatenate(blocks), gallery, index_kind) if blocks else None
    if not sentences:
        raise InputError(f"{', '.join(collections)}: no English sentence describes a gallery image "
                         f"(the CL route needs some)")
    log(f"CL sentences: {len(sentences)} describe {len(sentences.described)} of the "
             f"{len(gallery)} gallery images (CL and CLM rank those)")
    return sentences
