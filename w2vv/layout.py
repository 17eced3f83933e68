"""The VisualSearch layout (docs/method.md#data-layout): every path the project reads or
writes is built here and nowhere else, plus the caption and ImageSets readers."""
import os
import re

from . import languages
from .errors import InputError
from .textfile import read_lines

DEFAULT_FEATURE_COLLECTION = "mscoco2014dev"
# The pipeline's six collections by role (the paper's names; the ini and every script may name others):
# the query language's (Chinese in the paper) and the pivot's, English.
DEFAULT_COLLECTIONS = {"en_train": "mscoco2014dev-train", "en_val": "mscoco2014dev-val",
                       "en_test": "mscoco2014dev-test", "query_train": "cococntrain", "query_val": "cococnval",
                       "query_test": "cococntest"}
# The query-language roles' former names (the paper's language), still read from an ini or a command line.
FORMER_ROLES = {"zh_train": "query_train", "zh_val": "query_val", "zh_test": "query_test"}
SHARED_COLLECTION = ("train, val and test must be three collections (val picks the best epoch and the CLM "
                     "weight: figures on it, or on the training data, would flatter the model)")


def role_problem(roles, flag="", declared=None):
    """What is wrong with ``roles`` ({role: collection}, e.g. ``query_val``), as (the roles at fault, one
    sentence naming them, ``flag`` before each), or None. A role's group is its prefix (``query``, ``en``;
    none for a trainer's train, val and test): two roles of a group naming one collection, a group whose
    collections are of two languages, and an ``en_`` collection not English (the pivot) are wrong.
    ``declared``: the languages declared (``languages.parse_declarations``; None: this process's)."""
    return _shared_collection(roles, flag) or _other_language(roles, flag, declared)


QUERY = "query"  # the query language's roles: query_train, query_val, query_test


def _group(role):
    return role.rpartition("_")[0]


def _shared_collection(roles, flag):
    seen = {}
    for role, collection in roles.items():
        other = seen.setdefault((_group(role), collection), role)
        if other != role:
            return (other, role), f"{flag}{other} and {flag}{role} are both {collection}: {SHARED_COLLECTION}"
    return None


def _other_language(roles, flag, declared):
    lead = {}  # group: (its first role, that role's language)
    pivot = languages.LANGUAGES[languages.PIVOT].name
    for role, collection in roles.items():
        group, lang = _group(role), languages.LANGUAGES[languages.language_of(collection, declared)]
        if group == languages.PIVOT and lang.code != languages.PIVOT:  # en_*: the pivot's roles
            return (role,), (f"{flag}{role} is {collection}, a collection of {lang.name} sentences (by its name, "
                             f"or the languages declared): the {flag}{group}_* collections are the pivot's, {pivot}")
        first, first_lang = lead.setdefault(group, (role, lang))
        if group == QUERY and first == role and lang.code == languages.PIVOT:  # a languages pattern mistyped
            declare = "--languages" if flag else "languages ="
            return (role,), (f"{flag}{role} is {collection}, a collection of {pivot} sentences (by its name, or the "
                             f"languages declared): the {flag}{group}_* collections are the query language's, which "
                             f"CL matches to the pivot's, {pivot}; declare theirs ({declare} {collection}=CODE)")
        if lang.code != first_lang.code:
            return (first, role), (f"{flag}{role} is {collection}, a collection of {lang.name} sentences, but "
                                   f"{flag}{first} is {roles[first]}, of {first_lang.name} ones (by their names, or "
                                   f"the languages declared): a model's train, val and test collections are of "
                                   f"one language")
    return None


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
    return f"epoch_{epoch}"


def weights_name(label):
    return f"{label}.h5"


def is_weights_name(name):
    return name.startswith("epoch_") and name.endswith(".h5")


SIMILARITY_INDEX = "SimilarityIndex"


def similarity_dir(root, test, train, run_name):
    """``<root>/<test>/SimilarityIndex/<train>/<run_name>/`` (run_name: the config, or zh2en_/zh2en2img_<config>)."""
    return os.path.join(root, test, SIMILARITY_INDEX, train, run_name)


def cl_run_name(config_name, lang="zh"):
    """CL of ``lang`` queries through the pivot's sentences: ``zh2en_<config>`` (``ja2en_…``)."""
    return f"{lang}2{languages.PIVOT}_{config_name}"


def fusion_run_name(config_name, lang="zh"):
    return f"{lang}2{languages.PIVOT}2img_{config_name}"


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
        raise InputError(f"{root}: rootpath not found (set --rootpath, or rootpath in common.ini)")


def _require_file(path, what):
    """InputError when ``path`` (``<root>/<collection>/<folder>/<file>``, or a file given elsewhere) is not a file,
    naming the collection folder when that is missing."""
    if os.path.isfile(path):
        return
    collection = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if not os.path.isdir(collection):
        raise InputError(f"{collection}: collection folder not found (check --rootpath and the collection name)")
    raise InputError(f"{path}: {what} not found")


CAPTION_LINE = "'<image id>#<n> <sentence>'"   # a caption file's line, e.g. 'COCO_val2014_000000217153#0 a dog …'


def _is_sentence_id(sent_id):
    """``<image id>#<n>``: an image id (not empty) before the first ``#``."""
    image, sep, _ = sent_id.partition("#")
    return bool(image and sep)


def _caption_line_error(path, lineno, sent_id):
    """The InputError of a caption line that is not ``<image id>#<n> <sentence>``, its id ``sent_id``."""
    if not sent_id.isprintable():  # a tab, another space than ' ', or a control character
        problem = f"{sent_id!r} holds a tab or another invisible character: separate the id from the sentence by " \
                  "one space"
    elif not _is_sentence_id(sent_id):
        problem = f"it starts with {sent_id!r}, not a sentence id '<image id>#<n>'"
    else:
        return InputError(f"{path}:{lineno}: caption line has an id but no sentence (add it, or delete the line)")
    return InputError(f"{path}:{lineno}: malformed caption line: {problem} (a line is {CAPTION_LINE}: correct or "
                      "delete it)")


def read_captions(path):
    """[(sent_id, sentence), …] from a caption file: ``<image id>#<n> <sentence>`` a line, every
    sentence id once (blank lines skipped); InputError naming the first line that is not so."""
    _require_file(path, "caption file")
    pairs, first_line = [], {}
    for lineno, line in enumerate(read_lines(path, "caption file"), 1):
        if not line.strip():
            continue
        sent_id, _, sentence = line.lstrip().partition(" ")
        if not _is_sentence_id(sent_id) or not sent_id.isprintable() or not sentence.strip():
            raise _caption_line_error(path, lineno, sent_id)
        if "\r" in sentence and any(_is_sentence_id(piece.lstrip().partition(" ")[0])
                                    for piece in sentence.split("\r")[1:]):
            raise InputError(f"{path}:{lineno}: a carriage return (\\r) followed by a sentence id: the file's lines "
                             f"end in \\r alone; convert its line ends to \\n (e.g. tr '\\r' '\\n')")
        if first_line.setdefault(sent_id, lineno) != lineno:
            raise InputError(f"{path}:{lineno}: sentence id {sent_id!r} repeated (first at line {first_line[sent_id]})")
        pairs.append((sent_id, sentence))
    if not pairs:
        raise InputError(f"{path}: caption file is empty")
    return pairs


def read_imageset(path):
    """The image ids of an ImageSets file (white space separates them), each once: an image listed twice
    would be ranked twice (the original reads them as a set); InputError naming the line that repeats one."""
    _require_file(path, "ImageSets file")
    ids, first_line = [], {}
    for lineno, line in enumerate(read_lines(path, "ImageSets file"), 1):
        for image_id in line.split():
            if image_id in first_line:
                raise InputError(f"{path}:{lineno}: image id {image_id!r} repeated (first at line "
                                 f"{first_line[image_id]})")
            first_line[image_id] = lineno
            ids.append(image_id)
    if not ids:
        raise InputError(f"{path}: ImageSets file is empty")
    return ids


def require_held_out(root, train, val, tests):
    """InputError when the ImageSets of one of ``tests`` (a run's val and test collections, or a collection it is
    tested on) list images that sentences of ``train`` describe (``require_unseen``), or images of ``val`` (None:
    not known) besides val itself (``require_apart``)."""
    described = {image_id(s) for s, _ in captions_of(root, train)}
    val_images = imageset_of(root, val) if val and os.path.isfile(imageset_file(root, val)) else []
    for test in tests:
        images = imageset_of(root, test)
        require_unseen(imageset_file(root, test), images, train, described)
        if test != val:
            require_apart(imageset_file(root, test), images, val, val_images)


def require_apart(imageset_path, image_set, val, val_images):
    """InputError when images of ``image_set`` (a test collection's) are among ``val_images``, those of the
    validation collection ``val``: the best epoch and the CLM weight chosen on them would flatter the test."""
    shared = sorted(set(val_images).intersection(image_set))
    if shared:
        raise InputError(f"{imageset_path}: {len(shared)} of its images are also in {val}, the validation collection "
                         f"(e.g. {shared[0]!r}): the best epoch and the CLM weight are chosen on it, so figures on "
                         f"them would flatter the model; keep val and test images apart")


def require_unseen(imageset_path, image_set, train, described):
    """InputError when images of ``image_set`` (read from ``imageset_path``) are among ``described``, the images
    the sentences of ``train`` describe: figures on images a model trained on flatter it."""
    seen = sorted(described.intersection(image_set))
    if seen:
        raise InputError(f"{imageset_path}: {len(seen)} of its images are described by sentences of {train}, the "
                         f"training collection (e.g. {seen[0]!r}): figures on images the model trained on would "
                         f"flatter it; validate and test on images it does not train on")


def captions_of(root, collection):
    return read_captions(caption_file(root, collection))


def imageset_of(root, collection):
    return read_imageset(imageset_file(root, collection))


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
