"""The VisualSearch layout (docs/method.md#data-layout): every path the project reads or
writes is built here and nowhere else (the files of a collection are read by ``collection_files``; the collections'
roles in a pipeline are ``collection_roles``)."""
import os
import re

from . import languages
from .errors import InputError

DEFAULT_FEATURE_COLLECTION = "mscoco2014dev"
# The pipeline's six collections by role (the paper's names; the ini and every script may name others):
# the query language's (Chinese in the paper) and the pivot's, English.
DEFAULT_COLLECTIONS = {"en_train": "mscoco2014dev-train", "en_val": "mscoco2014dev-val",
                       "en_test": "mscoco2014dev-test", "query_train": "cococntrain", "query_val": "cococnval",
                       "query_test": "cococntest"}
TRAIN_STYLE = "w2vv_trainer.py"  # the reference names the checkpoint folder after its script


_COLLECTION_NAME = re.compile(r"[A-Za-z0-9_.,+-]+")


def is_collection_name(name):
    """A collection's name is one folder of the root: letters, digits and ``_ . , + -``, not ``.`` or ``..``
    (``../x`` would write outside the root, ``a b`` split in the shell, ``""`` write into the root itself)."""
    return bool(_COLLECTION_NAME.fullmatch(name or "")) and name not in (".", "..")


def image_id(sent_id):
    """``COCO_val2014_000000217153#0`` → ``COCO_val2014_000000217153`` (a trailing .jpg/.mp4 removed)."""
    img = sent_id.split("#", 1)[0]
    for ext in (".jpg", ".mp4"):
        if img.endswith(ext):
            return img[: -len(ext)]
    return img


def collection_dir(root, collection):
    return os.path.join(root, collection)


def caption_file(root, collection):
    return os.path.join(root, collection, "TextData", f"{collection}.caption.txt")


def imageset_file(root, collection):
    return os.path.join(root, collection, "ImageSets", f"{collection}.txt")


def feature_dir(root, feature, feature_collection=DEFAULT_FEATURE_COLLECTION):
    return os.path.join(root, feature_collection, "FeatureData", feature)


def vocab_dir(root, train, style, variant=""):
    """A vocabulary style's folder: ``TextData/vocabulary/<style>`` for the original's tokenisation, else
    ``TextData/vocabulary.<variant>/<style>`` (``w2vv.vocab.vocabulary_variant``)."""
    return os.path.join(root, train, "TextData", "vocabulary" + (f".{variant}" if variant else ""), style)


def vocab_file(root, train, style, threshold=5, variant=""):
    return os.path.join(vocab_dir(root, train, style, variant), f"word_vocab_{threshold}.txt")


def vocab_counter_file(root, train, style, threshold=5, variant=""):
    return os.path.join(vocab_dir(root, train, style, variant), f"word_vocab_counter_{threshold}.txt")


def word2vec_path(root, lang):
    """A language's word2vec in the root (where its record says)."""
    return languages.get(lang).word2vec_path(root)


def en_word2vec_dir(root):
    return word2vec_path(root, "en")


def zh_word2vec_file(root):
    return word2vec_path(root, "zh")


def checkpoint_dir(root, train, val, config_name):
    return os.path.join(root, train, "cv_keras", val, TRAIN_STYLE, config_name)


def checkpoint_parts(folder):
    """(root, train, val, run name) of a checkpoint folder ``<root>/<train>/cv_keras/<val>/<style>/<run>``
    (``checkpoint_dir``'s inverse; the style is the training script's name)."""
    parts = os.path.normpath(os.path.abspath(str(folder))).split(os.sep)
    if not is_checkpoint_dir(folder):
        raise InputError(f"{folder}: not a checkpoint folder of the layout "
                         f"<root>/<train>/cv_keras/<val>/<style>/<run> (its vocabularies are found from it)")
    return os.sep.join(parts[:-5]) or os.sep, parts[-5], parts[-3], parts[-1]


def is_checkpoint_dir(folder):
    """True for a folder of ``checkpoint_dir``'s shape."""
    parts = os.path.normpath(os.path.abspath(str(folder))).split(os.sep)
    return len(parts) >= 7 and parts[-4] == "cv_keras"


# The files of a checkpoint folder (docs/method.md#the-checkpoint-folder).
MODEL_FILE = "model.json"               # written last: the run is done (the original's model, in its folders)
CONFIG_FILE = "config.json"             # this project's: the config and the vocabulary sizes
SETTINGS_FILE = "settings.json"         # the settings the run was made with (w2vv.runs)
SUMMARY_FILE = "summary.json"
LOSS_HISTORY_FILE = "train_loss_hist.txt"
LR_HISTORY_FILE = "lr_hist.txt"
VAL_HISTORY_FILE = "val_per_hist.txt"   # best first: its first epoch names the best weights
RESUME_FILE = "resume_state.npz"        # while training: what resuming needs
MODEL_PICTURE = "model.png"
CURVES_FILE = "training_curves.png"
SEARCH_CACHE = "search_cache"           # search's predicted sentence vectors, per collection

# The files of a result folder (<root>/<test>/SimilarityIndex/<train>/<run>/, and its CL / CLM twins).
SENT_FEAT_FILE = "sent_feat.txt"         # the predicted vector of every sentence
RANKING_FILE = "sent.id.score.txt"      # every image (or sentence), best first, per sentence
MIR_FILE = "mir.txt"
METRICS_FILE = "metrics.json"
RESULTS_PAGE = "results.html"          # report_page.py's page of a results folder's rankings
WEIGHT_FILE = "weight.txt"               # CLM on val: the fusion weight chosen
INPUTS_FILE = "inputs.json"             # the files the results were computed from


def epoch_label(epoch):
    """``epoch_<k>``: how the histories name an epoch, and its weights file without ``.h5``."""
    return f"{_EPOCH}{epoch}"


def epoch_of(label):
    """The epoch an ``epoch_label`` names, or None for another text."""
    number = label[len(_EPOCH):] if label.startswith(_EPOCH) else ""
    return int(number) if number.isdecimal() else None


_EPOCH = "epoch_"


def weights_name(label):
    return f"{label}.h5"


def is_weights_name(name):
    return name.endswith(".h5") and epoch_of(name[:-len(".h5")]) is not None


SIMILARITY_INDEX = "SimilarityIndex"


def similarity_dir(root, test, train, run_name):
    """``<root>/<test>/SimilarityIndex/<train>/<run_name>/`` (run_name: the config, or zh2en_/zh2en2img_<config>)."""
    return os.path.join(root, test, SIMILARITY_INDEX, train, run_name)


def cl_run_name(config_name, lang="zh"):
    """CL of ``lang`` queries through the pivot's sentences: ``zh2en_<config>`` (``ja2en_…``)."""
    return f"{lang}2{languages.PIVOT}_{config_name}"


def fusion_run_name(config_name, lang="zh"):
    return f"{lang}2{languages.PIVOT}2img_{config_name}"


# ------------------------------------------------ the results folders of a run's three routes (CL, CM, CLM)

def cl_dir(root, config, query_test, query_train=DEFAULT_COLLECTIONS["query_train"]):
    """CL results of a query-language split: ``.../SimilarityIndex/<query_train>/zh2en_<config>/`` for a Chinese
    one (the prefix is the language of ``query_train``: ``ja2en_`` for a Japanese one)."""
    return similarity_dir(root, query_test, query_train, cl_run_name(config, languages.language_of(query_train)))


def cm_dir(root, config, query_test, query_train=DEFAULT_COLLECTIONS["query_train"]):
    """CM results (the tester's): ``.../SimilarityIndex/<query_train>/<run>/``."""
    return similarity_dir(root, query_test, query_train, config)


def clm_dir(root, config, query_test, query_train=DEFAULT_COLLECTIONS["query_train"], lang=None):
    """CLM results: ``.../SimilarityIndex/<query_train>/zh2en2img_<config>/`` (``ja2en2img_`` …; ``lang``: the
    language's code where known otherwise than by ``query_train``'s name, a model's record)."""
    return similarity_dir(root, query_test, query_train,
                          fusion_run_name(config, lang or languages.language_of(query_train)))


def results_file(root, run_name, lang="zh", collections=None, rank_norm=False):
    """The CL / CM / CLM table ``do_all.sh`` writes: ``results/<run>.txt`` for Chinese queries
    (the paper's), ``results/<lang>2en2img_<run>.txt`` for another language; ``collections`` (query_train,
    query_val, query_test) other than the paper's are named after it (``….cocojatrain.cocojaval.cocojatest.txt``),
    and a CLM fused on ranks (``rank_norm``) too (``….rank_norm.txt``), so that the tables of one run computed
    two ways do not replace each other."""
    name = run_name if lang == "zh" else fusion_run_name(run_name, lang)
    paper = tuple(DEFAULT_COLLECTIONS[f"query_{split}"] for split in ("train", "val", "test"))
    if collections is not None and tuple(collections) != paper:
        name += "." + ".".join(collections)
    if rank_norm:
        name += ".rank_norm"
    return os.path.join(root, "results", f"{name}.txt")


def report_file(root, lang="zh", collections=None):
    """Where ``report.py`` writes its table (of any runs) unless told otherwise:
    ``results/<lang>2en2img_results.txt``, ``collections`` (query_train, query_test) other than the paper's named
    after it (``do_all.sh`` tells it a run's ``results_file``)."""
    name = fusion_run_name("results", lang)
    if collections is not None and tuple(collections) != (DEFAULT_COLLECTIONS["query_train"],
                                                          DEFAULT_COLLECTIONS["query_test"]):
        name += "." + ".".join(collections)
    return os.path.join(root, "results", f"{name}.txt")


def lock_file(root, name):
    """``<root>/.locks/<name>.lock``: held by the run that writes what ``name`` stands for."""
    return os.path.join(root, ".locks", f"{name}.lock")


def image_dir(root, collection):
    return os.path.join(root, collection, "ImageData")


def require_root(root):
    if not os.path.isdir(root):
        raise InputError(f"{root}: {'a file, not a folder' if os.path.exists(root) else 'rootpath not found'} (set "
                         f"--rootpath, or rootpath in common.ini, to a VisualSearch root)")


# The paper's root: its image feature and its collections with their published sizes
# (images, sentences).
PAPER_FEATURE = "pyresnext-101_rbps13k,flatten0_output,os"
PAPER_COLLECTIONS = {
    "mscoco2014dev-train": (121286, 606757),
    "mscoco2014dev-val": (1000, 1000),
    "mscoco2014dev-test": (1000, 1000),
    "cococntrain": (18341, 20021),
    "cococnval": (1000, 1000),
    "cococntest": (1000, 1000),
}


def downloads_dir(root):
    """Where stage 0 keeps the release archives (and where a user may put them by hand)."""
    return os.path.join(root, "downloads")
