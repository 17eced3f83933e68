"""Model configs (docs/method.md#configs): ``w2vv_configs/<name>.py`` files, each defining ``class config``
with the original's attribute names. Attributes this project added have defaults, so a
config file written for the original loads unchanged."""
import importlib.util
import os
from types import SimpleNamespace

from .errors import InputError
from .languages import LANGUAGES
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
)

TEXT_STYLE = "gru@bow_filterstop@word2vec_filterstop"
FEATURE_WIDTH = "feat"  # n_layers = '0-2048-feat': the last width is the image feature's dimension
OPTIMIZERS = ("rmsprop", "sgd", "adagrad", "adam")  # those of the original's compile_model
OPTIMIZER_IMPLS = ("keras2", "keras3")
PRECISIONS = ("float32", "tf32", "mixed")  # w2vv.backend.use_precision


def load_config(name, config_dir=None, overrides=None):
    """The config ``name`` (a name in ``config_dir`` or a path to a .py file), with defaults and overrides."""
    path = name if name.endswith(".py") else os.path.join(config_dir or CONFIG_DIR, f"{name}.py")
    if not os.path.isfile(path):
        raise InputError(f"{path}: unknown config {name!r} (no such file)")
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
    cfg = SimpleNamespace(**{**DEFAULTS, **values})
    cfg.name = os.path.basename(path)[:-3]
    for key, value in (overrides or {}).items():
        setattr(cfg, key, _typed(key, value, getattr(cfg, key, None), path))
    _check(cfg, path)
    return cfg


def parse_overrides(text):
    """``"lstm_size=64,n_layers=0-256-256"`` → dict (values as strings, typed on load)."""
    pairs = [item.split("=", 1) for item in (text or "").split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise InputError(f"--config_overrides {text!r}: expected key=value[,key=value…]")
    return {k.strip(): v.strip() for k, v in pairs}


def _typed(key, value, current, path):
    if not isinstance(value, str) or current is None or isinstance(current, str):
        return value
    try:
        if isinstance(current, bool):
            return value.lower() in ("1", "true", "yes")
        return type(current)(float(value)) if isinstance(current, int) else type(current)(value)
    except ValueError:
        raise InputError(f"{path}: override {key}={value!r} is not a {type(current).__name__}") from None


def _check(cfg, path):
    if cfg.text_style != TEXT_STYLE:
        raise InputError(f"{path}: text_style {cfg.text_style!r} not supported (expected {TEXT_STYLE!r})")
    if cfg.loss_fun not in LOSSES:
        raise InputError(f"{path}: loss_fun {cfg.loss_fun!r} unknown (expected one of {', '.join(LOSSES)})")
    if cfg.optimizer not in OPTIMIZERS:
        raise InputError(f"{path}: optimizer {cfg.optimizer!r} unknown (expected one of {', '.join(OPTIMIZERS)})")
    if cfg.optimizer_impl not in OPTIMIZER_IMPLS:
        raise InputError(f"{path}: optimizer_impl {cfg.optimizer_impl!r} unknown (expected 'keras2' or 'keras3')")
    if cfg.precision not in PRECISIONS:
        raise InputError(f"{path}: precision {cfg.precision!r} unknown (expected one of {', '.join(PRECISIONS)})")
    if cfg.gru_impl not in ("keras2", "cudnn"):
        raise InputError(f"{path}: gru_impl {cfg.gru_impl!r} unknown (expected 'keras2' or 'cudnn')")
    widths = str(cfg.n_layers).split("-")
    if widths[-1] == FEATURE_WIDTH:
        widths[-1] = "1"
    try:
        layers = [int(x) for x in widths]
    except ValueError:
        layers = None
    if not layers or layers[0] != 0 or len(layers) < 2:
        raise InputError(f"{path}: n_layers {cfg.n_layers!r} must look like '0-2048-2048' or '0-2048-feat'")


def mlp_sizes(cfg):
    """``'0-2048-2048'`` → [0, 2048, 2048]; the leading 0 stands for the auxiliary input size."""
    if str(cfg.n_layers).endswith("-" + FEATURE_WIDTH):
        raise ValueError(f"n_layers {cfg.n_layers!r}: the feature width is known only with the features "
                         f"(with_feature_width)")
    return [int(x) for x in str(cfg.n_layers).split("-")]


def with_feature_width(cfg, dim, source):
    """``cfg`` whose MLP ends at the feature dimension ``dim``: a last width ``feat`` becomes ``dim``;
    a number must equal it (the paper configs: 2048 for 2048-d features)."""
    head, _, last = str(cfg.n_layers).rpartition("-")
    if last == FEATURE_WIDTH:
        return SimpleNamespace(**{**vars(cfg), "n_layers": f"{head}-{dim}"})
    if int(last) != dim:
        raise InputError(f"{source}: features are {dim}-d, but the model's last layer (n_layers {cfg.n_layers}) "
                         f"outputs {last} (write n_layers = '{head}-feat' to follow the features)")
    return cfg


def uses_attention(cfg):
    return bool(cfg.sequences)
