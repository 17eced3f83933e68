"""Search an image gallery with your own words: ``Searcher``.

    from w2vv import Searcher
    s = Searcher(["<R>/cococntrain/cv_keras/cococnval/w2vv_trainer.py/w2vv_attention_ctl",
                  "<R>/mscoco2014dev-train/cv_keras/mscoco2014dev-val/w2vv_trainer.py/w2vv_attention_ctl"])
    for image_id, score in s.search("一只狗在草地上跑", k=10):
        ...

A model is a checkpoint folder of the layout, ``<root>/<train>/cv_keras/<val>/w2vv_trainer.py/<run>/``
(this project's or the original code's); its vocabularies, stop words, word2vec and language are
those its run record names, each checked against its fingerprint (``w2vv.runs.model_inputs``; a
checkpoint of the original code: those of ``<train>`` in ``<root>``, the language ``<train>``'s,
``w2vv.languages``, docs/method.md#languages). A query is encoded as in training (docs/method.md):
raw Chinese is normalised (``w2vv.languages.normalize_zh``: full-width forms, traditional characters
and Taiwan / Hong Kong wording → simplified, mainland; Latin words kept; ``normalize_zh=False``
turns it off) and segmented with jieba; Japanese is split by janome; English is tokenised as captions.
The query's language is given, or the loaded model's whose record recognises the text
(``w2vv.languages.detect``: kana make it Japanese; ideographs alone with both a Chinese and a
Japanese model loaded are an error asking for the language).

The gallery is a BigFile feature folder (default: the model's image feature in the root),
optionally restricted to an ImageSets list, indexed by ``w2vv.retrieval.gallery`` (exact numpy, or FAISS).
A gallery of another feature than the one a model was trained on (another dimension, or a layout
feature folder of another name than ``img_feature``) is refused: its ranking would be nonsense.

Routes for a Chinese (or Japanese) query when both its model and an English one are loaded
(docs/method.md#fusion-clm):

- ``cm``: the query language's model's vector against the images (cross-media, direct);
- ``cl``: that vector against the English model's vectors of an English sentence
  collection; an image scores as its best sentence (cross-lingual);
- ``clm``: ``w·CL + (1 − w)·CM`` with the weight chosen on val by ``fuse.py``
  (``<root>/<zh_val>/SimilarityIndex/<zh_train>/zh2en2img_<config>/weight.txt``, ``ja2en2img_…``).

CL and CLM rank the gallery images that the English sentences describe (in the paper every test
image has one; those sentences: ``w2vv.retrieval.pivot_sentences``). Their top-k is exact
(``w2vv.retrieval.topk``).

W2VV's successors, W2VV++ and SEA (w2vv.common_space), are searched as W2VV is, on every route. A
query's vector is the model's text tower's; the gallery is its image tower's projection of the features,
computed once and cached in the checkpoint folder (``w2vv.retrieval.projected_gallery``), and CM's score
is their inner product, the tester's. CL compares the query's vector with the English model's vectors of
the English sentences by their cosine, as the cross-lingual stage does; it needs the query model trained
into the English model's space (its image tower(s) those of the loaded English model, frozen: the
default, ``image_towers = 'english'``), else those routes say in one line that they are not available
for that language. The models of one search are of one family: W2VV's with a successor's, or W2VV++'s
with SEA's, stop in one line.
This module picks the route of each query and runs it.
An English query uses the English model directly (``cm``).
"""
import os
import re
import threading
import unicodedata
from typing import NamedTuple

import numpy as np

from .. import languages, layout
from ..bigfile import BigFile
from ..errors import InputError
from ..fingerprint import file_fingerprint
from ..pivot_space import FEATURE_SPACE
from ..runs import recorded_feature_collection, require_recorded_features
from .gallery import open_gallery
from .projected_gallery import open_projected_gallery
from .fusion_weight import fusion_state, read_current_weight
from .pivot_sentences import check_pivot_collections, load_pivot_sentences, weights_changed
from .topk import cl_top_k, clm_top_k_many

MODES = ("cm", "cl", "clm")
PREDICTORS = ("auto", "numpy", "keras")  # auto: numpy where it covers the model, else Keras
PIVOT = languages.PIVOT


class Hit(NamedTuple):
    id: str
    score: float


class Results(list):
    """The hits of one query, best first, with how the query was read: ``query`` (as given),
    ``lang``, ``mode``, ``text`` (the text encoded: for Chinese, normalised and split into jieba's
    words), ``tokens``,
    ``unknown`` (tokens no part of the model knows), ``warning`` (or None) and ``error``: why the
    query could not be served (empty, a language no model is loaded for, a route the models do not
    allow, no known word), or None."""

    def __init__(self, hits, query, lang, mode, text, tokens, unknown, warning=None, error=None):
        super().__init__(hits)
        self.query, self.lang, self.mode, self.text = query, lang, mode, text
        self.tokens, self.unknown, self.warning, self.error = tokens, unknown, warning, error

    def as_dict(self):
        return dict(query=self.query, lang=self.lang, mode=self.mode, text=self.text, unknown=self.unknown,
                    warning=self.warning, error=self.error,
                    results=[dict(id=h.id, score=round(h.score, 6)) for h in self])

    @classmethod
    def failed(cls, query, lang, mode, error):
        return cls([], query, lang, mode, query, [], [], error=error)


def model_folder(path):
    """The checkpoint folder ``path`` names: through its links when ``path`` itself is not in a root's layout (a link
    to a model's folder); InputError when it is not a folder."""
    path = str(path)
    if not os.path.isdir(path):
        raise InputError(f"{path}: a file, not a model folder" if os.path.exists(path) else
                         f"{path}: model folder not found")
    real = os.path.realpath(path)
    return real if not layout.is_checkpoint_dir(path) and layout.is_checkpoint_dir(real) else path


def model_language(folder):
    """The language code a checkpoint folder's model reads: recorded by its training run, else
    that of its training collection (``w2vv.languages.language_of``)."""
    from ..runs import recorded_run
    record = recorded_run(str(folder))
    if record is not None and record[1].get("language"):
        return languages.get(record[1]["language"]).code
    return languages.language_of(layout.checkpoint_parts(folder)[1])


class TrainedModel:
    """A trained model with the encoder of its training collection: W2VV's (its text model predicts a
    visual vector), or a successor's (``family`` 'w2vvpp', 'sea': its text tower gives a sentence's
    vector, its image tower an image's, ``image_vectors``). ``weights_fingerprint``: that of the weights
    loaded, which what is computed with the model is recorded under and compared with: the file may be
    retrained on disk while the model searches on (``pivot_sentences.weights_changed``)."""

    def __init__(self, folder, rootpath=None, word2vec_path=None, stopwords_path=None, normalize_zh=True,
                 predictor="auto"):
        from ..inference import (FAMILY_NAMES, best_weights_file, model_family, require_finished, sentence_model,
                                 trained_model_name)
        from ..run_inputs import model_encoder
        folder = model_folder(folder)
        require_finished(folder)
        if predictor not in PREDICTORS:
            raise InputError(f"predictor {predictor!r} unknown (expected one of {', '.join(PREDICTORS)})")
        root, self.train, self.val, _ = layout.checkpoint_parts(folder)
        self.folder, self.root = str(folder), str(rootpath or root)
        self.run_name = trained_model_name(self.folder)
        self.lang = model_language(self.folder)
        self.family = model_family(self.folder)
        self.family_name = FAMILY_NAMES.get(self.family, self.family)
        self.weights_file = best_weights_file(self.folder)
        self.weights_fingerprint = file_fingerprint(self.weights_file)
        self.model, self.cfg = self._load(predictor)
        self._image_tower = self._read_image_tower()
        if weights_changed(self):
            raise InputError(f"{self.weights_file}: changed while it was loaded (the model being trained?): load it "
                             f"again once it is written")
        self.predictor = "numpy" if getattr(self.model, "numpy", False) else "keras"
        self.text = sentence_model(self.model, self.successor)
        try:
            self.encoder = model_encoder(self.folder, self.root, self.cfg, word2vec_path, stopwords_path,
                                         normalize_zh, cached_word2vec=True, log=lambda message: None)
        except InputError as e:
            if os.path.realpath(self.root) == os.path.realpath(root):
                raise
            raise InputError(f"{e} (under --rootpath {self.root}, not the model's root {root}: leave --rootpath out, "
                             f"and give --gallery for the features of another root)") from None

    def _load(self, predictor):
        """(model, cfg): numpy's where it covers the model (no deep-learning framework to import,
        w2vv.retrieval.numpy_model) unless ``predictor`` is 'keras', else Keras's."""
        if predictor != "keras":
            from .numpy_model import load_numpy_model
            loaded = load_numpy_model(self.folder, self.weights_file)
            if loaded is not None:
                return loaded
            if predictor == "numpy":
                raise InputError(f"{self.folder}: the numpy predictor does not cover this model (use keras)")
        from ..inference import ALL_FAMILIES, load_trained_model
        return load_trained_model(self.folder, self.weights_file, families=ALL_FAMILIES, what="search")

    @property
    def successor(self):
        return self.family != "w2vv"

    @property
    def feature_dim(self):
        """The width of the image features the model was trained on."""
        return int(self.cfg.feature_dim) if self.successor else int(self.model.output_shape[-1])

    def image_vectors(self, features):
        """A successor's image tower's vectors (unit per space, concatenated) of raw ``features``
        (images × feature_dim), normalised first as its config says, as the tester does."""
        from ..feature_norm import normalize_features
        x = normalize_features(np.asarray(features, np.float32), self.cfg)
        return np.asarray(self.model.image.predict_on_batch(x), np.float32)

    def _read_image_tower(self):
        """A successor's image tower's weights, ``{layer name: arrays}``, read with the model (W2VV's: none)."""
        from ..checkpoint import read_weights
        return read_weights(self.weights_file, prefix="image_space") if self.successor else {}

    def image_tower(self):
        """A successor's image tower's weights, ``{layer name: arrays}``, those loaded."""
        return self._image_tower

    def same_image_tower(self, other):
        """Whether ``other``'s image tower is this one's, weight for weight: the same space and gallery."""
        mine, theirs = self.image_tower(), other.image_tower()
        return mine.keys() == theirs.keys() and all(
            len(mine[k]) == len(theirs[k]) and all(np.array_equal(a, b) for a, b in zip(mine[k], theirs[k]))
            for k in mine)

    def prepare(self, text, segmented=False):
        """(text as encoded, tokens, tokens unknown to every part). Chinese is normalised (unless
        the model was loaded with ``normalize_zh=False``) and segmented with jieba unless
        ``segmented`` (words already separated by spaces, as in caption files)."""
        enc = self.encoder
        text = invisible_to_spaces(text)
        encoded_text = enc.tokenizer.read(text) if segmented else enc.tokenizer.segment(text)
        tokens = enc.tokenizer.tokens(encoded_text)
        unknown = [w for w in tokens if w not in enc.seq_index and w not in enc.bow_index and w not in enc.word2vec]
        return encoded_text, tokens, unknown

    def vectors(self, texts):
        """(predicted vectors (n × D), empty parts (n, 3) bool: which of the GRU's sequence, the bag of words and the
        mean word2vec hold no known word, ``EncodedSentences.empty_parts``)."""
        from ..inference import predict_vectors
        encoded = self.encoder.encode([(f"q{i}", t) for i, t in enumerate(texts)])
        return predict_vectors(self.text, encoded, batch_size=256), encoded.empty_parts


ENCODINGS = ("GRU's sequence", "bag of words", "mean word2vec")  # the columns of EncodedSentences.empty_parts


def _empty_parts_warning(empty):
    """A warning for a query that some of the model's encodings read nothing of (``empty``: one row of
    ``EncodedSentences.empty_parts``): stop words only, or words they do not know; None when each reads a word."""
    names = [name for name, is_empty in zip(ENCODINGS, empty) if is_empty]
    if not names:
        return None
    return f"no word of the query is in the model's {' or '.join(names)} (stop words, or words unknown to it): " \
           f"the ranking rests on its other encodings alone"


def check_gallery_feature(model, gallery_dir, dim):
    """Refuse a gallery of another feature than the model's: its dimension differs, or it is a
    feature folder of the layout (``…/FeatureData/<name>``) of another name than ``img_feature``."""
    from .gallery import feature_mismatch
    out_dim = model.feature_dim
    folder = os.path.normpath(os.path.abspath(gallery_dir))
    name, parent = os.path.basename(folder), os.path.basename(os.path.dirname(folder))
    if dim != out_dim:
        raise InputError(f"{gallery_dir}: gallery features are {dim}-d, but the model {model.folder} was trained "
                         f"on {out_dim}-d features ({model.cfg.img_feature})")
    if parent == "FeatureData" and name != model.cfg.img_feature:
        raise feature_mismatch(gallery_dir, [name], model.cfg.img_feature, model.folder)
    _require_same_network(model, folder)


def _require_same_network(model, gallery_dir):
    """A gallery that ``extract_features.py`` wrote must come from the network of the model's training features:
    two networks' features under one name share a width, not a space."""
    from ..features import extraction_network, same_network
    trained_on = os.path.normpath(os.path.abspath(layout.feature_dir(
        model.root, model.cfg.img_feature, recorded_feature_collection(model.folder))))
    theirs, ours = extraction_network(gallery_dir), extraction_network(trained_on)
    if gallery_dir != trained_on and theirs is not None and not same_network(gallery_dir, trained_on):
        made = f"extracted with {_network(ours)}" if ours else "the release's, not extracted by extract_features.py"
        raise InputError(f"{gallery_dir}: extracted with {_network(theirs)}, but the features the model "
                         f"{model.folder} was trained on ({trained_on}) are {made}: one name, two networks; extract "
                         f"the gallery with the network of the training features")


def _network(extraction):
    from ..features import weights_label
    cnn, weights, size = extraction
    return f"{cnn} ({weights_label(weights)}{f', {size}x{size} input' if size else ''})"


def one_family(paths):
    """The family of the models in the checkpoint folders ``paths``, read without Keras; InputError in
    one line when they are of two (their vectors live in different spaces)."""
    from ..inference import FAMILY_NAMES, model_family
    families = {}
    for path in paths:
        families.setdefault(model_family(str(path)), str(path))
    if len(families) > 1:
        (first, first_path), (other, other_path) = list(families.items())[:2]
        raise InputError(f"{other_path}: a {FAMILY_NAMES[other]} model, with a {FAMILY_NAMES[first]} model "
                         f"({first_path}): the models of one search must be of one family (give the "
                         f"{FAMILY_NAMES[first]} model of each language, or the {FAMILY_NAMES[other]} one)")
    return next(iter(families))


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_problem(text):
    """Why ``text`` is not valid Unicode, or None: a lone surrogate, which no UTF-8 can carry (Python reads
    bytes of a command line or a pipe that are not UTF-8 as such)."""
    bad = LONE_SURROGATE.search(text)
    if bad is None:
        return None
    return (f"the query is not valid Unicode: a lone surrogate U+{ord(bad.group()):04X} at character {bad.start()} "
            f"(text that is not UTF-8?)")


def invisible_to_spaces(text):
    """``text`` with its invisible characters, which no vocabulary holds, read as a typist meant them: control
    characters (a pasted U+0001, a tab) and the zero-width space U+200B separate words; other format
    characters (a soft hyphen, a zero-width joiner) join them, and are dropped."""
    return "".join(" " if c == "\u200b" or unicodedata.category(c) == "Cc" else
                   "" if unicodedata.category(c) == "Cf" else c for c in text)


def gallery_place(root, img_feature, gallery, imageset, collection, feature_collection):
    """(feature folder, ImageSets file or None) of the gallery ``Searcher``'s arguments name."""
    if collection is not None and gallery is None:
        own = layout.feature_dir(root, img_feature, collection)
        if os.path.isdir(own):
            gallery = own
        elif imageset is not None:
            raise InputError(f"--collection {collection} and --imageset {imageset}: {collection} has no features of "
                             f"its own ({own}), so it is its ImageSets list; give one of the two")
        else:
            return str(layout.feature_dir(root, img_feature, feature_collection)), \
                _imageset_of_collection(root, collection, own)
    gallery = gallery or layout.feature_dir(root, img_feature, feature_collection)
    if imageset is not None and not os.path.isfile(str(imageset)):
        imageset = _imageset_of_named(root, str(imageset))
    return str(gallery), None if imageset is None else str(imageset)


def _imageset_of_named(root, name):
    """The ImageSets file ``--imageset name`` names, a collection of ``root``; InputError when ``name`` is no
    collection there (a folder, a file not there)."""
    if os.sep not in name and os.path.isdir(os.path.join(root, name)):
        return layout.imageset_file(root, name)
    if os.path.isdir(name):
        raise InputError(f"--imageset {name}: a folder; give an ImageSets file, or a collection name of {root}")
    raise InputError(f"--imageset {name}: no such file, nor a collection of {root}")


def _imageset_of_collection(root, name, own_features):
    """The ImageSets file of ``--collection name``, which has no features of its own (``own_features``)."""
    folder = os.path.join(root, name)
    if not layout.is_collection_name(name) or not os.path.isdir(folder):
        raise InputError(f"--collection {name}: no such collection in {root}")
    path = layout.imageset_file(root, name)
    if os.path.isfile(path):
        return path
    features = os.path.dirname(own_features)
    others = sorted(os.listdir(features)) if os.path.isdir(features) else []
    if others:
        from .gallery import feature_mismatch
        raise feature_mismatch(features, others, os.path.basename(own_features))
    raise InputError(f"--collection {name}: neither features of its own ({own_features}) nor an ImageSets list "
                     f"({path})")


def _as_list(given, name, what):
    """``given``, one ``what`` (a string or path) or any iterable of them, as a list."""
    if isinstance(given, (str, os.PathLike)):
        return [given]
    try:
        return list(given)
    except TypeError:
        raise InputError(f"{name} {given!r}: {what}, or a list of them") from None


def _is_number(value, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    return isinstance(value, kinds) and not isinstance(value, bool)


class Searcher:
    """Load models and a gallery once; ``search`` a query, or ``search_many`` a batch.

    ``model_path``: a checkpoint folder, or a list of them (at most one per language).
    ``gallery``: a BigFile feature folder (default: the features the models were trained with,
    ``<root>/<feature_collection>/FeatureData/<img_feature>``, the feature collection their run record names:
    ``mscoco2014dev`` for the paper's; ``feature_collection``: another collection's features instead).
    ``imageset``: an ImageSets file, or a collection name of the root, restricting the gallery.
    ``collection``: a collection of the root as the gallery: its own features
    (``<root>/<collection>/FeatureData/<img_feature>``, as ``extract_features.py`` writes them) when
    it has them, else the root's features restricted to its ImageSets list.
    ``index``: ``auto`` | ``numpy`` | ``faiss`` | ``faiss-ivf`` (see ``w2vv.retrieval.gallery``).
    ``en_collections``: English collections whose sentences carry the CL route (default: the
    English model's, ``mscoco2014dev-*`` for ``mscoco2014dev-train``); their vectors come from the
    pipeline's ``sent_feat.txt``, or are predicted once and cached in the English checkpoint folder.
    ``weight``: the CLM weight (default: read from the fusion stage's ``weight.txt``).
    ``word2vec``: {language code: a word2vec file} for a model whose run record names none (the original code's
    checkpoints); for a model with a record it must be the file recorded.
    ``normalize_zh``: normalise Chinese queries (``w2vv.languages.normalize_zh``) before segmenting them.
    ``predictor``: ``auto`` (numpy where it covers the model: no TensorFlow imported), ``numpy`` or
    ``keras`` (``w2vv.retrieval.numpy_model``).
    The models are W2VV's, or a successor's (W2VV++ or SEA), all of one family. A successor's gallery
    is its image tower's vectors (``w2vv.retrieval.projected_gallery``), one per language whose model's
    image tower differs from the others' (``galleries``; ``gallery``: the English model's, else the first's).
    """

    def __init__(self, model_path, gallery=None, *, imageset=None, collection=None, rootpath=None, index="auto",
                 en_collections=None, weight=None, feature_collection=None,
                 word2vec=None, save_index=True, nprobe=None, normalize_zh=True, predictor="auto", log=None):
        self.log = log or (lambda message: None)
        paths = _as_list(model_path, "model_path", "a checkpoint folder")
        if en_collections is not None:
            en_collections = _as_list(en_collections, "en_collections", "a collection's name")
        if not paths:
            raise InputError("no model folder given")
        if weight is not None and not (_is_number(weight) and 0.0 <= weight <= 1.0):  # NaN too
            raise InputError(f"--weight {weight!r}: the CLM weight w of w·CL + (1 − w)·CM is in [0, 1]")
        if nprobe is not None and not (_is_number(nprobe, integer=True) and nprobe >= 1):
            raise InputError(f"--nprobe {nprobe!r}: the clusters a faiss-ivf index searches, an integer, at least 1")
        if word2vec is not None and not isinstance(word2vec, dict):
            raise InputError(f"word2vec {word2vec!r}: a dict of a word2vec file by language code ({{'zh': PATH}})")
        if rootpath is not None:
            layout.require_root(str(rootpath))
        paths = [model_folder(path) for path in paths]
        self.family = one_family(paths)
        if weight is not None and len({model_language(path) == PIVOT for path in paths}) < 2:
            raise InputError(f"--weight {weight}: the CLM weight, but CLM fuses the routes of a query model and an "
                             f"English one: give both model folders, or leave --weight out")
        self.models = {}
        for path in paths:
            lang = model_language(path)
            model = TrainedModel(str(path), rootpath, (word2vec or {}).get(lang), normalize_zh=normalize_zh,
                                 predictor=predictor)
            if model.lang in self.models:
                raise InputError(f"{path}: a second {model.lang} model (already {self.models[model.lang].folder})")
            self.models[model.lang] = model
            self.log(f"model ({model.lang}, {model.family_name}, {model.predictor}): {model.folder}")
        first = next(iter(self.models.values()))
        self.root = first.root
        feature_collection = feature_collection or recorded_feature_collection(first.folder)
        self.gallery_dir, self.imageset = gallery_place(self.root, first.cfg.img_feature, gallery, imageset,
                                                        collection, feature_collection)
        features = BigFile(self.gallery_dir)
        for model in self.models.values():
            check_gallery_feature(model, self.gallery_dir, features.ndims)
            require_recorded_features(model.folder, self.root, self.gallery_dir)
        self.galleries = self._open_galleries(features, index, save_index, nprobe)
        self.gallery = self.galleries[PIVOT if PIVOT in self.galleries else first.lang]
        self.log(f"gallery: {len(self.gallery)} images ({self.gallery.kind}) from {self.gallery_dir}"
                 + (f", ImageSets {self.imageset}" if self.imageset else ""))
        self.space_problems = self._space_problems()
        if weight is not None and self.space_problems:
            raise InputError(f"--weight {weight}: {next(iter(self.space_problems.values()))}, which does not fuse: "
                             f"load the English model the query model was trained with, or leave --weight out")
        for problem in self.space_problems.values():
            self.log(f"warning: {problem}")
        self._index_kind = index
        if en_collections:
            check_pivot_collections(self.root, en_collections)
        self._en_collections = en_collections
        self._weight = weight
        self._weights = {}  # {language: (its fusion_state when read, its weight or None)}
        self._sentences = None
        self._lock = threading.Lock()
        self.cl_problem = None  # why the CL and CLM routes cannot be taken, once found
        self.weight_problems = {}  # {language: why the fusion stage's weight does not hold}, as last read

    def _open_galleries(self, features, index, save, nprobe):
        """{language: its model's gallery}: W2VV's, the features themselves (one for all); a successor's,
        its image tower's vectors, one gallery for the models whose image towers are the same (the
        English model's first)."""
        if self.family == "w2vv":
            shared = open_gallery(features, self.imageset, index, save=save, nprobe=nprobe, log=self.log)
            return {lang: shared for lang in self.models}
        galleries, opened = {}, []
        for lang in sorted(self.models, key=lambda code: code != PIVOT):
            model = self.models[lang]
            galleries[lang] = next((g for other, g in opened if other.same_image_tower(model)), None)
            if galleries[lang] is None:
                galleries[lang] = open_projected_gallery(model, features, self.imageset, index, save, nprobe, self.log)
                opened.append((model, galleries[lang]))
        return galleries

    def _space_problems(self):
        """{language: why its CL and CLM routes are not available}: a successor's query model whose image
        tower(s) are not the loaded English model's was not trained into its space; W2VV's query model and
        English model regressed onto features normalised otherwise (as CL in the pipeline refuses)."""
        if PIVOT not in self.models:
            return {}
        en, problems = self.models[PIVOT], {}
        for lang, model in self.models.items():
            if lang == PIVOT:
                continue
            differ = [key for key in FEATURE_SPACE if getattr(model.cfg, key) != getattr(en.cfg, key)]
            if self.galleries[lang] is not self.galleries[PIVOT]:
                problems[lang] = (f"the cross-lingual routes are not available for {lang} queries: the "
                                  f"{model.family_name} model {model.folder} was not trained into the space of the "
                                  f"English model {en.folder} (its image tower(s) are not that model's: trained with "
                                  f"image_towers = 'own', or before that English model was retrained); mode cm")
            elif self.family == "w2vv" and differ:
                key = differ[0]
                problems[lang] = (f"the cross-lingual routes are not available for {lang} queries: the model "
                                  f"{model.folder} has {key} = {getattr(model.cfg, key)!r} and the English model "
                                  f"{en.folder} {key} = {getattr(en.cfg, key)!r}: their vectors are in two spaces; "
                                  f"mode cm")
        return problems

    # ------------------------------------------------------------ public

    @property
    def languages(self):
        return sorted(self.models)

    def default_mode(self, lang):
        """``clm`` when ``lang``'s model, the English one, a fusion weight that holds for them and English
        sentences describing the gallery are there (the weight's records are checked and the sentences loaded
        to know: a CLM search would do both), else ``cm``; why not is logged once."""
        if lang != PIVOT and PIVOT in self.models and lang in self.models and self.cl_problem is None and \
                lang not in self.space_problems and \
                (self._weight is not None or os.path.isfile(self.weight_path(lang))):
            try:
                self.weight_for(lang)
            except InputError:  # chosen for other models or on stale results: CLM is then asked by name only
                return "cm"
            try:
                self.sentences()
            except InputError:  # no English sentence describes the gallery (``cl_problem`` says so)
                return "cm"
            return "clm"
        return "cm"

    def search(self, query, k=10, lang=None, mode=None, segmented=False):
        """The top-``k`` images for ``query``: a ``Results`` list of ``Hit(id, score)``, best first.
        ``lang``: a language code, ``zh`` | ``en`` | ``ja`` (default: detected among the loaded
        models' languages); ``mode``: ``cm`` | ``cl`` | ``clm`` (default: ``clm`` for a non-English
        query when its model, the English one and the fusion weight are there, else ``cm``);
        ``segmented``: the Chinese is already split into words by spaces (no jieba).
        A query that cannot be routed raises InputError; one of unknown words only returns no hits
        and says so (``warning``, ``error``)."""
        results = self.search_many([query], k, lang, mode, segmented)[0]
        if results.error and not results.warning:
            raise InputError(results.error)
        return results

    def search_many(self, queries, k=10, lang=None, mode=None, segmented=False):
        """``search`` for every query; the model runs once per language for the whole batch. A query
        that cannot be served gets a ``Results`` with no hits and its ``error``; the others are answered."""
        if isinstance(queries, (str, bytes)):
            raise InputError(f"search_many takes a list of queries, not one {type(queries).__name__} "
                             f"(search takes one query)")
        queries = _as_list(queries, "queries", "a query")
        if not _is_number(k, integer=True):
            raise InputError(f"k = {k!r}: the number of results is an integer")
        if k < 1:
            raise InputError(f"k = {k}: need at least 1 result")
        k = int(k)
        plans, out = [], [None] * len(queries)
        for i, query in enumerate(queries):
            q_lang = lang
            try:
                q_lang = self._language(query, lang)
                q_mode = mode or self.default_mode(q_lang)
                self._check_route(q_lang, q_mode)
                plans.append((i, q_lang, q_mode))
            except InputError as e:
                out[i] = Results.failed(query, q_lang, mode, str(e))
        plan_modes = {i: q_mode for i, _, q_mode in plans}
        for q_lang in self.languages:
            rows = [i for i, lang_, _ in plans if lang_ == q_lang]
            if not rows:
                continue
            model = self.models[q_lang]
            prepared = [model.prepare(queries[i], segmented) for i in rows]
            vectors, empty = model.vectors([p[0] for p in prepared])
            known = ~empty.all(axis=1)
            served = [j for j in range(len(rows)) if known[j]]
            found = dict(zip(served, self._routes(q_lang, [plan_modes[rows[j]] for j in served], vectors[served], k)))
            for j, i in enumerate(rows):
                query, q_mode = queries[i], plan_modes[i]
                text, tokens, unknown = prepared[j]
                if not known[j]:
                    message = "no word of the query is known to the model"
                    out[i] = Results([], query, q_lang, q_mode, text, tokens, unknown, message, message)
                elif isinstance(found[j], InputError):  # the CL route unavailable: no sentence describes the gallery
                    out[i] = Results([], query, q_lang, q_mode, text, tokens, unknown, error=str(found[j]))
                else:
                    warnings = [w for w in (_empty_parts_warning(empty[j]), self._fewer_than(k, len(found[j]), q_mode))
                                if w]
                    out[i] = Results(found[j], query, q_lang, q_mode, text, tokens, unknown,
                                     "; ".join(warnings) or None)
        return out

    def _fewer_than(self, k, n, mode):
        """A warning when ``n`` results answer a query that asked ``k`` (None when as many)."""
        if n >= k:
            return None
        gallery = len(self.gallery)
        if n == gallery:
            return f"{n} results of the {k} asked: the gallery holds {n} images"
        if mode in ("cl", "clm"):
            return f"{n} results of the {k} asked: {mode} ranks the {n} gallery images that English sentences " \
                   f"describe (cm ranks all {gallery})"
        return f"{n} results of the {k} asked: the index found no more of the {gallery} gallery images"

    def _language(self, query, lang):
        """The language code of a query (``lang``, else detected); InputError when it is no text."""
        if not isinstance(query, str):
            raise InputError(f"query {query!r}: a query is a string, not {type(query).__name__}")
        problem = unicode_problem(query)
        if problem:
            raise InputError(problem)
        if not invisible_to_spaces(query).strip():  # a zero-width space or a BOM alone is no word either
            raise InputError(f"query {query!r}: empty")
        return languages.get(lang).code if lang else languages.detect(query, self.languages)

    def _source_language(self):
        """The first loaded language other than the pivot (None: only the pivot's model)."""
        return next((lang for lang in self.languages if lang != PIVOT), None)

    def weight_path(self, lang=None):
        """The fusion stage's ``weight.txt`` of the ``lang`` model (default: the loaded non-English one)."""
        model = self.models.get(lang or self._source_language())
        if model is None or model.lang == PIVOT:
            return None
        return os.path.join(layout.clm_dir(self.root, model.run_name, model.val, model.train, model.lang),
                            layout.WEIGHT_FILE)

    def weight_for(self, lang):
        """The CLM weight of ``lang`` queries: the one given, else the fusion stage's, read again when fuse.py wrote
        it anew (``fusion_state``); InputError when it does not hold (``weight_problems``)."""
        if self._weight is not None:
            return self._weight
        path = self.weight_path(lang)
        if path is None:
            raise InputError(f"no CLM weight{f' of {lang} queries' if lang else ''}: CLM fuses the routes of a model "
                             f"of a query language, not {PIVOT} (loaded: {', '.join(self.languages)})")
        state = fusion_state(path)
        with self._lock:
            if lang not in self._weights or self._weights[lang][0] != state:
                self._weights[lang] = (state, self._read_weight(lang, path))
            if lang in self.weight_problems:
                raise InputError(self.weight_problems[lang])
            return self._weights[lang][1]

    def _read_weight(self, lang, path):
        """The fusion stage's weight of ``lang`` queries, or None and why not in ``weight_problems`` (logged)."""
        self.weight_problems.pop(lang, None)
        try:
            weight = read_current_weight(path, [self.models[code] for code in (lang, PIVOT) if code in self.models])
        except InputError as e:
            self.weight_problems[lang] = str(e)
            self.log(f"warning: {e}; the default route of {lang} queries is cm")
            return None
        self.log(f"CLM weight w = {weight:.2f} from {path}")
        return weight

    @property
    def weight(self):
        return self.weight_for(self._source_language())

    # ------------------------------------------------------------ routes

    def _check_route(self, lang, mode):
        if mode not in MODES:
            raise InputError(f"mode {mode!r} unknown (expected one of {', '.join(MODES)})")
        if lang not in self.models:
            name = languages.get(lang).name
            raise InputError(f"{'an' if name[0] in 'AEIOU' else 'a'} {name} query, but no {lang} model is loaded "
                             f"(loaded: {', '.join(self.languages)})")
        if mode != "cm":
            if lang == PIVOT:
                raise InputError(f"mode {mode}: the cross-lingual routes take a Chinese or Japanese query "
                                 f"(an English query uses the English model directly: mode cm)")
            if PIVOT not in self.models:
                raise InputError(f"mode {mode} needs an English model too (give its checkpoint folder)")
            if lang in self.space_problems:
                raise InputError(self.space_problems[lang])
            if self.cl_problem is not None:
                raise InputError(self.cl_problem)

    def _routes(self, lang, modes, vectors, k):
        """The hits of each of ``vectors`` on its route, or the InputError that the CL route is not
        available; the CLM ones ranked together (``clm_top_k_many``)."""
        found, gallery = [None] * len(modes), self.galleries[lang]
        clm = [j for j, mode in enumerate(modes) if mode == "clm"]
        if clm:
            try:
                ranked = clm_top_k_many(gallery, self.sentences(), vectors[clm], k, self.weight_for(lang))
                for j, positions_scores in zip(clm, ranked):
                    found[j] = self._hits(positions_scores)
            except InputError as e:
                for j in clm:
                    found[j] = e
        for j, mode in enumerate(modes):
            if mode != "clm":
                try:
                    found[j] = self._route(mode, vectors[j], k, gallery)
                except InputError as e:
                    found[j] = e
        return found

    def _route(self, mode, vector, k, gallery):
        if mode == "cm":
            return [Hit(image_id, score) for image_id, score in gallery.search_ids(vector, k)[0]]
        return self._hits(cl_top_k(self.sentences(), vector, k))

    def _hits(self, ranked):
        """[(gallery position, score)] as Hits."""
        return [Hit(self.gallery.ids[position], score) for position, score in ranked]

    def sentences(self):
        """The English sentences of the CL route (loaded once, by one thread)."""
        with self._lock:
            if self.cl_problem is not None:
                raise InputError(self.cl_problem)
            if self._sentences is None:
                try:
                    self._sentences = load_pivot_sentences(self.root, self.models[PIVOT], self._en_collections,
                                                           self.gallery, self._index_kind, self.log)
                except InputError as e:  # no sentence describes the gallery: the default route is then cm
                    self.cl_problem = f"the cross-lingual routes are not available: {e}"
                    self.log(f"warning: {self.cl_problem}; the default route is cm")
                    raise InputError(self.cl_problem) from None
        return self._sentences
