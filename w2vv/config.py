"""Model configs (docs/method.md#configs): ``w2vv_configs/<name>.py`` files, each defining ``class config``
with the original's attribute names. Attributes this project added have defaults, so a
config file written for the original loads unchanged."""
import difflib
import importlib.util
import math
import os
import re
from types import SimpleNamespace

from .errors import InputError, nearest_name
from .languages import LANGUAGES, PIVOT
from .losses import LOSSES

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "w2vv_configs")

REQUIRED = ("img_feature", "bow_vocab", "L1_normalize", "L2_normalize", "sent_maxlen", "lstm_size",
            "embed_size", "we_trainable", "text_style", "n_layers", "loss_fun", "activation", "max_epochs",
            "lr", "optimizer", "l2_p", "clipnorm", "dropout", "sequences", "set_style")

# Attributes the original did not have; the defaults reproduce the original.
DEFAULTS = dict(
    batch_size=100,
    # 'keras2': Keras 2.2.4 GRU (reset_after=False, clip(0.2x+0.5)); 'cudnn': reset_after=True, sigmoid
    gru_impl="keras2",
    # stopwords_<code>: path of a stop-word list per language; None = the language's own (w2vv/stopwords/<code>.txt)
    **{f"stopwords_{code}": None for code in LANGUAGES},
    normalize_zh=False,     # Chinese: NFKC, OpenCC traditional/Taiwan/HK -> simplified, Latin words kept (w2vv.text)
    ctl_margin=2.0,
    mrl_margin=0.3,
    patience=10,            # stop when epochs without improvement exceed this
    lr_decay_wait=2,        # halve the lr when more than this many epochs passed since the last change
    rho=0.9,                # rmsprop's rho and epsilon (the original's values)
    epsilon=1e-6,
    # 'keras2': Keras 2.2.4's step and global-norm clipping; 'keras3': Keras 3's own optimizers
    optimizer_impl="keras2",
    # 'float32': the original's arithmetic on every device; 'tf32', 'mixed': faster on a GPU (w2vv.backend)
    precision="float32",
    # the model: 'w2vv' (the paper's, regressing sentences into the feature space), 'w2vvpp' (W2VV++: one
    # common space, w2vv.common_space), 'sea' (SEA: a common space per text encoder). optimizer_impl 'torch':
    # torch's RMSprop and clip_grad_norm_ (w2vv.torch_optimizers; rho, epsilon, clipnorm: alpha, eps, max_norm)
    family="w2vv",
    # the successors' training rule (W2VV's ignores these): the lr times lr_decay_rate after every epoch, and
    # halved on a plateau, as torch's StepLR and ReduceLROnPlateau do in lr_schedule 'torch1.2' (W2VV++'s
    # pin: StepLR rewrites the rate every epoch) or 'torch1.4' (SEA's: halvings persist); 'w2vv': W2VV's rule
    lr_decay_rate=1.0,
    lr_schedule="w2vv",
    # the validation figure: 'map' (W2VV: mean AP of sentences per image), 'mir_t2i' (the successors: mean
    # inverse rank of each sentence's image)
    val_metric="map",
    # a successor's model of a query language (not the pivot, English): 'english' trains its text tower(s) into
    # the English model's space, taking that model's image tower(s), frozen (w2vv.pivot_space), so that CL can
    # compare its sentence vectors with the English model's; 'own': it trains its image tower(s) too (no CL then)
    image_towers="english",
)

TEXT_STYLE = "gru@bow_filterstop@word2vec_filterstop"
FEATURE_WIDTH = "feat"  # n_layers = '0-2048-feat': the last width is the image feature's dimension
OPTIMIZERS = ("rmsprop", "sgd", "adagrad", "adam")  # those of the original's compile_model
OPTIMIZER_IMPLS = ("keras2", "keras3", "torch")  # torch: the W2VV++ and SEA codes' RMSprop
PRECISIONS = ("float32", "tf32", "mixed")  # w2vv.backend.use_precision
IMAGE_TOWERS = ("english", "own")  # a successor's query-language model: the English model's image towers, or its own
FAMILIES = ("w2vv", "w2vvpp", "sea")  # W2VV, W2VV++, SEA
LR_SCHEDULES = ("w2vv", "torch1.2", "torch1.4")  # W2VV's rule, or the successors' torch schedulers
VAL_METRICS = ("map", "mir_t2i")
VAL_NAMES = {"map": "AP", "mir_t2i": "mIR"}  # each validation figure as the log and the curves name it
GRU_IMPLS = ("keras2", "cudnn")  # Keras 2.2.4's GRU, or the reset-after one of cuDNN and torch
# --config_overrides values: what a bool accepts, and how each type is named in an error
BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
VALUE_KINDS = {bool: "true or false", int: "an int", float: "a float"}


def config_path(name, config_dir=None):
    """The file of the config ``name``: a name in ``config_dir`` (default w2vv_configs/), or a path to a .py file."""
    return name if name.endswith(".py") else os.path.join(config_dir or CONFIG_DIR, f"{name}.py")


def load_config(name, config_dir=None, overrides=None, given_as="--config_overrides"):
    """The config ``name`` (a name in ``config_dir`` or a path to a .py file), with defaults and ``overrides``
    (``given_as``: whence they come, for the errors: the flag, or an ini's settings)."""
    path = config_path(name, config_dir)
    if not os.path.isfile(path):
        raise InputError(f"{path}: unknown config {name!r} (no such file{nearest_config(name, config_dir)})")
    spec = importlib.util.spec_from_file_location(f"w2vv_config_{os.path.basename(path)[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise InputError(f"{path}: cannot load config ({type(e).__name__}: {e})") from None
    if not hasattr(module, "config"):
        raise InputError(f"{path}: no 'class config' defined")
    values = {k: v for k, v in vars(module.config).items() if not k.startswith("_")}
    missing = [k for k in REQUIRED if k not in values]
    if missing:
        raise InputError(f"{path}: config lacks required attribute(s) {', '.join(missing)}")
    _check_known(values, path)
    _check_known(overrides or {}, f"{path}: {given_as}")
    cfg = SimpleNamespace(**{**DEFAULTS, **values})
    cfg.name = os.path.basename(path)[:-3]
    for key, value in (overrides or {}).items():
        setattr(cfg, key, _typed(key, value, getattr(cfg, key, None), path))
    given = ",".join(f"{k}={v}" for k, v in (overrides or {}).items())
    where = f"{path} with {given_as} {given}" if given else path  # the error says whence the value
    _check(cfg, where)
    _check_ranges(cfg, where)
    _check_vocabulary(cfg, where)
    _check_read(cfg, SimpleNamespace(**{**DEFAULTS, **values}), overrides or {}, where)
    _require_own_name(path, {**DEFAULTS, **values})
    return cfg


def _require_own_name(path, values):
    """InputError when a config file outside w2vv_configs/ takes the name of one there with other values: its runs
    would be named, and its results tabled, as that config's (``runs.run_name`` tags what differs from the file)."""
    shipped = os.path.join(CONFIG_DIR, os.path.basename(path))
    if not os.path.isfile(shipped) or os.path.realpath(path) == os.path.realpath(shipped):
        return
    theirs = vars(load_config(shipped))
    differ = [k for k in sorted(set(values) | set(theirs)) if k != "name" and values.get(k) != theirs.get(k)]
    if differ:
        key = differ[0]
        raise InputError(f"{path}: sets {key} = {values.get(key)!r} where the config of its name, {shipped}, has "
                         f"{theirs.get(key)!r}, yet its runs would be named and tabled as that one's: give it a name "
                         f"of its own, or the difference as an override ({key}={values.get(key)})")


def nearest_config(name, config_dir):
    """', did you mean …' naming the closest config of the folder, or nothing."""
    folder = config_dir or CONFIG_DIR
    names = [f[:-3] for f in os.listdir(folder) if f.endswith(".py")] if os.path.isdir(folder) else []
    nearest = difflib.get_close_matches(os.path.basename(name).removesuffix(".py"), names, n=1)
    return f"; did you mean {nearest[0]!r}?" if nearest else ""


def known_attributes():
    return (*REQUIRED, *DEFAULTS)


def _check_known(values, where):
    """InputError naming the first attribute no config has, with the nearest known one."""
    for key in values:
        if key not in known_attributes():
            raise InputError(f"{where}: unknown config attribute {key!r} "
                             f"(did you mean {nearest_name(key, known_attributes())!r}?)")


def parse_overrides(text):
    """``"lstm_size=64,n_layers=0-256-256"`` → dict (values as strings, typed on load). A comma starts the next
    ``key=value`` only where one follows, so that a value may hold commas, as the release's feature names do
    (``img_feature=pyresnext-101_rbps13k,flatten0_output,os``)."""
    items = re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", text or "")
    pairs = [item.strip().rstrip(",").split("=", 1) for item in items if item.strip().strip(",")]
    if any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise InputError(f"--config_overrides {text!r}: expected key=value[,key=value…]")
    overrides = {}
    for key, value in ((k.strip(), v.strip()) for k, v in pairs):
        if overrides.setdefault(key, value) != value:
            raise InputError(f"--config_overrides {text!r}: {key} given twice, {overrides[key]} and {value}")
    return overrides


def _typed(key, value, current, path):
    """An override's text as a value of the attribute's kind, that of its value in the config; a real number for
    ``REALS`` whatever literal the config file wrote (``clipnorm = 10`` is overridden by 2.5, and by 5 as an int,
    which names the run as before)."""
    if not isinstance(value, str) or current is None or isinstance(current, str):
        return value
    kind = float if key in REALS and isinstance(current, int) and not isinstance(current, bool) else type(current)
    try:
        if kind is bool:
            return BOOLEANS[value.lower()]
        if isinstance(current, int):
            number = float(value)
            if number.is_integer():
                return int(number)
            if kind is int:
                raise ValueError(value)
            return number
        return kind(value)
    except (ValueError, KeyError):
        raise InputError(f"{path}: override {key}={value!r} is not "
                         f"{VALUE_KINDS.get(kind, f'a {kind.__name__}')}") from None


# The element-wise activations that Keras 2.2.4 (the original's) and Keras 3 both have, with one meaning.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "elu", "selu", "softplus", "softsign")
SET_STYLE = "ImageSets"  # the original's one way of listing a collection's images
ON_OFF = ("L1_normalize", "L2_normalize", "we_trainable", "sequences")  # 0 or 1 (or False, True)


# The real-valued attributes, whatever literal a config file writes (``clipnorm = 10``).
REALS = ("lr", "dropout", "clipnorm", "l2_p", "ctl_margin", "mrl_margin", "rho", "epsilon", "lr_decay_rate")


# The attributes that take one of a few values (the first two: the original's one way).
CHOICES = (("text_style", (TEXT_STYLE,)), ("set_style", (SET_STYLE,)), ("activation", ACTIVATIONS),
           ("loss_fun", tuple(LOSSES)), ("optimizer", OPTIMIZERS), ("optimizer_impl", OPTIMIZER_IMPLS),
           ("family", FAMILIES), ("lr_schedule", LR_SCHEDULES), ("val_metric", VAL_METRICS),
           ("image_towers", IMAGE_TOWERS), ("precision", PRECISIONS), ("gru_impl", GRU_IMPLS))


def _check(cfg, path):
    for key, values in CHOICES:
        value = getattr(cfg, key)
        if value not in values:
            problem = "not supported" if len(values) == 1 else "unknown"
            expected = repr(values[0]) if len(values) == 1 else f"one of {', '.join(values)}"
            raise InputError(f"{path}: {key} {value!r} {problem} (expected {expected})")
    for key in ON_OFF:
        if getattr(cfg, key) not in (0, 1):  # False and True are 0 and 1
            raise InputError(f"{path}: {key} = {getattr(cfg, key)!r} (expected 0 or 1)")
    if cfg.optimizer_impl == "torch" and cfg.optimizer != "rmsprop":
        raise InputError(f"{path}: optimizer_impl 'torch' is torch's RMSprop only (optimizer {cfg.optimizer!r})")
    if cfg.family == "w2vv" and cfg.image_towers != "english":
        raise InputError(f"{path}: image_towers {cfg.image_towers!r} is for W2VV's successors (family 'w2vvpp', "
                         f"'sea'); W2VV has no image tower")
    if cfg.family != "w2vv":
        _check_successor(cfg, path)
    widths = str(cfg.n_layers).split("-")
    if widths[-1] == FEATURE_WIDTH:
        widths[-1] = "1"
    try:
        layers = [int(x) for x in widths]
    except ValueError:
        layers = None
    if not layers or layers[0] != 0 or len(layers) < 2 or min(layers[1:]) < 1:
        raise InputError(f"{path}: n_layers {cfg.n_layers!r} must look like '0-2048-2048' or '0-2048-feat' "
                         f"(widths ≥ 1 after the leading 0)")


def _check_successor(cfg, path):
    """The published successors' choices that this project's model code fixes."""
    if cfg.loss_fun != "mrl":
        raise InputError(f"{path}: family {cfg.family!r} trains with its published loss, the max-violation "
                         f"hinge from sentence to image: loss_fun = 'mrl' (not {cfg.loss_fun!r})")
    if cfg.gru_impl != "cudnn":
        raise InputError(f"{path}: family {cfg.family!r} has torch's GRU (reset gate after the recurrent "
                         f"product, sigmoid): gru_impl = 'cudnn' (not {cfg.gru_impl!r})")
    first, _, width = str(cfg.n_layers).partition("-")
    if first != "0" or not width.isdecimal() or int(width) == 0:
        raise InputError(f"{path}: family {cfg.family!r} has one layer per tower into the common space: "
                         f"n_layers = '0-<its width>', e.g. '0-2048' (not {cfg.n_layers!r})")


# The numbers a config holds and the values that mean something: another one stops loading, instead of a
# traceback mid-training (batch_size 0) or a run that trains to nonsense without a word (lr -1).
RANGES = (
    ("batch_size", lambda v: v >= 1, "≥ 1"), ("max_epochs", lambda v: v >= 1, "≥ 1"),
    ("lstm_size", lambda v: v >= 1, "≥ 1"), ("embed_size", lambda v: v >= 1, "≥ 1"),
    ("sent_maxlen", lambda v: v >= 0, "≥ 0 (0: no cut)"), ("lr", lambda v: v > 0, "> 0"),
    ("dropout", lambda v: 0 <= v < 1, "in [0, 1)"), ("patience", lambda v: v >= 0, "≥ 0"),
    ("lr_decay_wait", lambda v: v >= 0, "≥ 0"), ("clipnorm", lambda v: v >= 0, "≥ 0 (0: no clipping)"),
    ("l2_p", lambda v: v >= 0, "≥ 0"), ("ctl_margin", lambda v: v >= 0, "≥ 0"),
    ("mrl_margin", lambda v: v >= 0, "≥ 0"), ("rho", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("epsilon", lambda v: v > 0, "> 0"), ("lr_decay_rate", lambda v: 0 < v <= 1, "in (0, 1]"),
)


# Attributes that only some models, losses, rules or optimizers read: (attribute, whether ``cfg`` reads it, its
# value when unread, what reads it). Another value where it is unread would rename the run and change nothing.
READ_ONLY_BY = (
    ("sequences", lambda cfg: cfg.family == "w2vv", 0, "W2VV's attention over the GRU's steps (family 'w2vv')"),
    ("l2_p", lambda cfg: cfg.family == "w2vv", 0, "W2VV's weight decay on its MLP (family 'w2vv')"),
    ("ctl_margin", lambda cfg: cfg.loss_fun == "ctl", DEFAULTS["ctl_margin"], "loss_fun 'ctl'"),
    ("mrl_margin", lambda cfg: cfg.loss_fun == "mrl", DEFAULTS["mrl_margin"], "loss_fun 'mrl'"),
    ("lr_decay_wait", lambda cfg: cfg.lr_schedule == "w2vv", DEFAULTS["lr_decay_wait"],
     "W2VV's training rule (lr_schedule 'w2vv')"),
    ("lr_decay_rate", lambda cfg: cfg.lr_schedule != "w2vv", DEFAULTS["lr_decay_rate"],
     "the successors' training rules (lr_schedule 'torch1.2' or 'torch1.4')"),
    ("rho", lambda cfg: cfg.optimizer == "rmsprop", DEFAULTS["rho"], "RMSprop (optimizer 'rmsprop')"),
    ("epsilon", lambda cfg: cfg.optimizer == "rmsprop", DEFAULTS["epsilon"], "RMSprop (optimizer 'rmsprop')"),
)


def _check_read(cfg, file_cfg, overrides, path):
    """InputError for an attribute ``cfg`` does not read, set by an override, or by a config file (``file_cfg``)
    that does not read it either; not for a file's value that an override of another attribute left unread."""
    for key, reads, unread, reader in READ_ONLY_BY:
        value = getattr(cfg, key)
        if reads(cfg) or value == unread or (key not in overrides and reads(file_cfg)):
            continue
        fix = f"leave {key} out of the overrides" if key in overrides else f"set it to {unread!r} or leave it out"
        raise InputError(f"{path}: {key} = {value!r} changes nothing here: it is read by {reader} only ({fix})")


def _check_ranges(cfg, path):
    for key, meaningful, expected in RANGES:
        value = getattr(cfg, key)
        try:  # inf passes "> 0" (lr = inf trained an epoch to a NaN loss)
            fine = not isinstance(value, bool) and math.isfinite(value) and meaningful(value)
        except TypeError:  # a string in a config file
            fine = False
        if not fine:
            raise InputError(f"{path}: {key} = {value!r} (expected a number {expected})")
    if cfg.family == "w2vv" and cfg.sent_maxlen == 0:
        raise InputError(f"{path}: sent_maxlen = 0 (no cut) is for the successors, whose batches are padded to their "
                         f"longest sentence; W2VV's GRU reads a fixed number of words: one ≥ 1 (the original's 32)")


BOW_VOCAB = re.compile(r"word_vocab_([1-9][0-9]*)")  # bow_vocab: the vocabularies of words seen N times or more


def _check_vocabulary(cfg, path):
    if not BOW_VOCAB.fullmatch(str(cfg.bow_vocab)):
        raise InputError(f"{path}: bow_vocab {cfg.bow_vocab!r} is not 'word_vocab_<N>' (the vocabularies of the "
                         f"words seen N times or more, N ≥ 1, as build_vocab.py --freq_threshold N writes them)")


def vocab_threshold(cfg):
    """The N of the vocabularies a config reads (``bow_vocab = 'word_vocab_<N>'``): words seen N times or more."""
    return int(BOW_VOCAB.fullmatch(str(cfg.bow_vocab)).group(1))


def mlp_sizes(cfg):
    """``'0-2048-2048'`` → [0, 2048, 2048]; the leading 0 stands for the auxiliary input size."""
    if str(cfg.n_layers).endswith("-" + FEATURE_WIDTH):
        raise ValueError(f"n_layers {cfg.n_layers!r}: the feature width is known only with the features "
                         f"(with_feature_width)")
    return [int(x) for x in str(cfg.n_layers).split("-")]


def with_feature_width(cfg, dim, source):
    """``cfg`` whose MLP ends at the feature dimension ``dim``: a last width ``feat`` becomes ``dim``;
    a number must equal it (the paper configs: 2048 for 2048-d features). A successor's is as it is: its
    last width is its common space's, and its image tower maps features of any width into that space."""
    if cfg.family != "w2vv":
        return cfg
    head, _, last = str(cfg.n_layers).rpartition("-")
    if last == FEATURE_WIDTH:
        return SimpleNamespace(**{**vars(cfg), "n_layers": f"{head}-{dim}"})
    if int(last) != dim:
        raise InputError(f"{source}: features are {dim}-d, but the model's last layer (n_layers {cfg.n_layers}) "
                         f"outputs {last} (write n_layers = '{head}-feat' to follow the features)")
    return cfg


def uses_attention(cfg):
    return bool(cfg.sequences)


def of_languages(cfg, langs):
    """``cfg`` as the models of a pipeline of the languages ``langs`` read it: the settings of other
    languages' models (their ``stopwords_<code>``, ``normalize_zh`` without Chinese, ``image_towers`` for
    English alone: only a query language's model takes towers) at their defaults, so that they neither name
    nor enter a run's record. The English model's are (en,), a query model's (its language, en): its name
    names the pipeline, so the English model of a run that changes the query model's settings alone is the
    one without them."""
    others = {f"stopwords_{code}": DEFAULTS[f"stopwords_{code}"] for code in LANGUAGES if code not in langs}
    if "zh" not in langs:
        others["normalize_zh"] = DEFAULTS["normalize_zh"]
    if set(langs) == {PIVOT}:
        others["image_towers"] = DEFAULTS["image_towers"]
    return SimpleNamespace(**{**vars(cfg), **others})
