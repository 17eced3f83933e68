"""The settings file of ``do_all.sh`` (``common.ini``): ``key = value`` lines, ``# comments`` ignored, a
``[common]`` header allowed (another section stops: its keys would be read as ``[common]``'s), ``~``
standing for the home folder. Only the keys below are settings; an
unknown key, or a value of the wrong kind, stops with one line naming the file, the line and the
nearest known key.

A config's own overrides: ``config_overrides_<config>`` (e.g. ``config_overrides_sea_bow_w2v_gru``), where
given, replaces ``config_overrides`` for that config (``trainer_overrides``): one ini can then run configs
whose attributes differ in kind (W2VV's ``n_layers`` of two layers, a successor's of one: demo-family.ini).

``python -m w2vv.settings INI CONFIG`` checks the file and prints the settings as shell
assignments for ``do_all.sh``, with the run name (``runs.run_name``), the config overrides
the trainer gets, the stop-word list of each training collection's language
(``stopwords_of_query_train``, ``stopwords_of_en_train``) and the results table's path
(``results_file``, relative to the root); ``--run_name``: the run name alone."""
import os
import re
import shlex
import sys

from . import backend, cli, languages, layout
from .backend import DISTRIBUTIONS
from .cli import run
from .collection_roles import FORMER_ROLES, role_problem
from .config import PRECISIONS, config_path, load_config, nearest_config, parse_overrides, vocab_threshold
from .download import ARCHIVES
from .errors import InputError, nearest_name
from .textfile import read_lines


def _flag(value):
    if value not in ("0", "1"):
        raise ValueError("expected 0 or 1")


def _count(minimum, optional=False):
    def check(value):
        if optional and value == "":
            return
        if not re.fullmatch(r"\d+", value) or int(value) < minimum:
            raise ValueError(f"expected a whole number ≥ {minimum}{' or nothing' if optional else ''}")
    return check


def _seed(value):
    if value and (not re.fullmatch(r"\d+", value) or int(value) not in cli.SEEDS):
        raise ValueError(f"expected a whole number from 0 to {cli.SEEDS[-1]} or nothing")


def _file_or_empty(value):
    if value and not os.path.isfile(value):
        raise ValueError("no such file (empty: the language's default list, w2vv/stopwords/)")


def _name(value):
    if not layout.is_collection_name(value):
        raise ValueError("expected a collection name")


def _one_of(*choices):
    def check(value):
        if value not in choices:
            raise ValueError(f"expected {' or '.join(choices)}")
    return check


def _archives(value):
    unknown = [name for name in value.replace(",", " ").split() if name not in ARCHIVES]
    if unknown:
        raise ValueError(f"unknown archive {unknown[0]!r} (known: {', '.join(ARCHIVES)})")


def _sha256(value):
    if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError("expected 64 hexadecimal digits")


def _languages(value):
    languages.parse_declarations(value)


def _any(value):
    pass


def _not_empty(value):
    if not value:
        raise ValueError("must not be empty")


# key: (default, check)
KNOWN = {
    "rootpath": (None, _not_empty),
    "overwrite": ("0", _flag),
    "freq_threshold": ("5", _count(1)),
    "feature_collection": (layout.DEFAULT_FEATURE_COLLECTION, _name),
    **{role: (collection, _name) for role, collection in layout.DEFAULT_COLLECTIONS.items()},
    "max_epochs": ("", _count(1, optional=True)),
    "languages": ("", _languages),
    **{f"stopwords_{code}": ("", _file_or_empty) for code in languages.LANGUAGES},
    "normalize_zh": ("0", _flag),
    "config_overrides": ("", parse_overrides),
    "rank_norm": ("0", _flag),
    "seed": ("", _seed),
    "distribute": ("none", _one_of(*DISTRIBUTIONS)),
    "precision": ("float32", _one_of(*PRECISIONS)),
    "python": ("", _any),  # empty: the venv of KERAS_BACKEND (do_all.sh)
    "data_archives": ("", _archives),
    **{f"{name}_url": ("", _any) for name in ARCHIVES},
    **{f"{name}_sha256": ("", _sha256) for name in ARCHIVES},
    **{f"{name}_size": ("", _count(1, optional=True)) for name in ARCHIVES},
}


PER_CONFIG = "config_overrides_"  # config_overrides_<config>: that config's overrides, instead of config_overrides


def per_config_key(key):
    """True for ``config_overrides_<config>`` (a config's name: letters, digits, ``_``)."""
    return key.startswith(PER_CONFIG) and re.fullmatch(r"\w+", key[len(PER_CONFIG):]) is not None


SECTION = "[common]"  # the one section of the original's common.ini


def _require_config(name, where):
    """InputError when ``config_overrides_<name>`` names no config of w2vv_configs/: its overrides would go to
    none."""
    if not os.path.isfile(config_path(name)):
        raise InputError(f"{where}: no config {name!r} in w2vv_configs/{nearest_config(name, None)}")


def read_settings(path):
    """{key: value} of the settings file, every known key present (defaults filled in)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: settings file not found")
    values, lines, notes = {}, {}, []
    for lineno, line in enumerate(read_lines(path, "settings file"), 1):
        line = line.strip()
        if line.startswith("[") and line != SECTION:
            raise InputError(f"{path}:{lineno}: section {line}: every setting is read as one of {SECTION}, "
                             f"whatever the section it is under; delete the line")
        if not line or line.startswith("#") or line == SECTION:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep:
            raise InputError(f"{path}:{lineno}: expected 'key = value', got {line!r}")
        if key in FORMER_ROLES:
            notes.append(f"{path}:{lineno}: note: {key} is now called {FORMER_ROLES[key]} (read as such)")
        name = FORMER_ROLES.get(key, key)
        if name not in KNOWN and not per_config_key(name):
            raise InputError(f"{path}:{lineno}: unknown setting {key!r} "
                             f"(did you mean {nearest_name(key, KNOWN)!r}?)")
        value = os.path.expanduser(value) if value.startswith("~") else value
        try:
            KNOWN[name][1](value) if name in KNOWN else parse_overrides(value)
        except (ValueError, InputError) as e:
            raise InputError(f"{path}:{lineno}: {key} = {value} ({e})") from None
        if name in lines:
            raise InputError(f"{path}:{lineno}: {key} given twice (first at line {lines[name]}): the last would "
                             f"be read in silence; keep one")
        if per_config_key(name):
            _require_config(name[len(PER_CONFIG):], f"{path}:{lineno}: {key}")
        values[name], lines[name] = value, lineno
    if "rootpath" not in values:
        raise InputError(f"{path}: rootpath not set")
    _refuse_role_problems(path, values, lines)
    for note in notes:  # a file read whole: its former key names, one line each
        print(note, file=sys.stderr)
    return {**{key: default for key, (default, _) in KNOWN.items()}, **values}


def _refuse_role_problems(path, values, lines):
    """InputError naming the ini line of the collection roles at fault (``role_problem``; ``values``:
    the ini's, the others' defaults filled in)."""
    roles = {role: values.get(role, KNOWN[role][0]) for role in layout.DEFAULT_COLLECTIONS}
    try:
        problem = role_problem(roles, declared=languages.parse_declarations(values.get("languages")))
    except InputError as e:  # two declarations of one collection
        raise InputError(f"{path}:{lines.get('languages', 0)}: {e}") from None
    if problem:
        at_fault, sentence = problem
        line = max(lines.get(role, 0) for role in at_fault) or lines.get("languages", 0)
        raise InputError(f"{path}:{line}: {sentence}")


def trainer_overrides(settings, config=None):
    """The trainer's ``--config_overrides`` for ``config`` (a name in w2vv_configs/ or a path): the ini's
    (``config_overrides_<config>`` where given, else ``config_overrides``), plus ``normalize_zh``,
    ``precision`` and the stop-word lists."""
    overrides = settings[_overrides_key(settings, config)]
    items = [overrides] if overrides else []
    if settings["normalize_zh"] == "1":
        items.append("normalize_zh=1")
    if settings["precision"] != "float32":
        items.append(f"precision={settings['precision']}")
    items += [f"stopwords_{lang}={settings[f'stopwords_{lang}']}" for lang in languages.LANGUAGES
              if settings[f"stopwords_{lang}"]]
    return ",".join(items)


def _overrides_key(settings, config):
    """The ini key of ``config``'s overrides: ``config_overrides_<config>`` where given, else ``config_overrides``."""
    name = os.path.basename(str(config or ""))
    name = name[:-3] if name.endswith(".py") else name
    return PER_CONFIG + name if name and settings.get(PER_CONFIG + name) is not None else "config_overrides"


def ini_run(settings, config, ini="the settings file"):
    """(the trainer's overrides, the run name) of ``config`` under the ini's ``settings`` (read from ``ini``);
    InputError when the ini gives one attribute two values (a key and config_overrides), or when the config
    reads vocabularies of another threshold than stage 1 builds (``freq_threshold``)."""
    overrides, config_overrides, _ = _trainer_config(settings, config, ini)
    return overrides, _run_name(settings, config, config_overrides)


def _trainer_config(settings, config, ini):
    """(the trainer's overrides, as the ini gives them and parsed, the config the trainer loads with them, every
    language's settings in it): ``ini_run``."""
    overrides = trainer_overrides(settings, config)
    try:
        config_overrides = parse_overrides(overrides)
    except InputError as e:  # an attribute of config_overrides given again by an ini key (normalize_zh…)
        raise InputError(f"{ini}: {e}") from None
    epochs = settings["max_epochs"]
    if epochs and config_overrides.setdefault("max_epochs", epochs) != epochs:
        raise InputError(f"{ini}: max_epochs = {epochs}, but config_overrides has max_epochs="
                         f"{config_overrides['max_epochs']}: give one of them")
    try:
        cfg = load_config(config, overrides=config_overrides, given_as="the settings")
    except InputError as e:
        load_config(config)  # the config file's own error is said as it is
        key = _overrides_key(settings, config)
        line = _key_line(ini, key)
        raise InputError(f"{ini}:{line}: {key} = {settings[key]} ({e})" if line else f"{ini}: {e}") from None
    threshold = settings["freq_threshold"]
    if int(threshold) != vocab_threshold(cfg):
        raise InputError(f"{ini}: freq_threshold = {threshold} builds the vocabularies word_vocab_{threshold}, but "
                         f"{cfg.name} reads {cfg.bow_vocab} (bow_vocab): set freq_threshold = {vocab_threshold(cfg)}, "
                         f"or bow_vocab=word_vocab_{threshold} in config_overrides")
    return overrides, config_overrides, cfg


def _key_line(ini, key):
    """The number of the line of ``ini`` that sets ``key``; None where none does (or ``ini`` is not a file)."""
    if not os.path.isfile(ini):
        return None
    for lineno, line in enumerate(read_lines(ini, "settings file"), 1):
        name = line.partition("=")[0].strip()
        if "=" in line and FORMER_ROLES.get(name, name) == key:
            return lineno
    return None


def _run_name(settings, config, config_overrides, lang=None):
    """The run name of the query model (query_train's), or of ``lang``'s: the English one's, ``en_run_name``
    (``runs.configured_run``)."""
    from .runs import configured_run, pipeline_languages
    lang = lang or languages.language_of(settings["query_train"], languages.parse_declarations(settings["languages"]))
    return configured_run(config, config_overrides, settings["feature_collection"],
                          langs=pipeline_languages(lang))[1]


def shell_assignments(settings, config, ini="the settings file"):
    """The settings as ``key=value`` shell lines (values quoted), with ``overrides``, ``run_name``,
    ``en_run_name``, ``stopwords_of_<role>`` of the two training collections, ``results_file`` and
    ``cross_lingual`` (0 for a successor with its own image towers: no English model, CL or CLM) (and the
    query-language roles under their former names too, ``zh_train``…, for a script written against them)."""
    overrides, config_overrides, cfg = _trainer_config(settings, config, ini)
    try:  # do_all.sh's run stops before the doctor and stage 1, not only when the trainer starts
        backend.require_gpu(cfg.precision)
    except InputError as e:
        raise InputError(f"{ini}: {e}") from None
    name = _run_name(settings, config, config_overrides)
    en_name = _run_name(settings, config, config_overrides, languages.PIVOT)  # the English model's (stage 2)
    settings = _as_the_trainer_reads(settings, cfg)
    languages.declare(settings["languages"])
    derived = {f"stopwords_of_{role}": settings[f"stopwords_{languages.language_of(settings[role])}"]
               for role in ("query_train", "en_train")}
    cross = "1" if cfg.family == "w2vv" or cfg.image_towers == "english" else "0"  # image_towers = own: CM alone
    results = layout.results_file("", name, languages.language_of(settings["query_train"]),  # in the root
                                  [settings[f"query_{split}"] for split in ("train", "val", "test")],
                                  rank_norm=settings["rank_norm"] == "1" and cross == "1")  # fused at all
    former = {old: settings[new] for old, new in FORMER_ROLES.items()}
    values = {**settings, **former, "overrides": overrides, "run_name": name,
              "en_run_name": en_name, **derived, "results_file": results, "cross_lingual": cross}
    del values["python"]  # do_all.sh read it first, to run this
    values = {key: value for key, value in values.items() if not per_config_key(key)}  # in overrides above
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


def _as_the_trainer_reads(settings, cfg):
    """``settings`` with ``normalize_zh`` and ``stopwords_<code>`` as ``cfg``, the config the trainer loads, holds
    them (from an ini key, the ini's config_overrides or the config file), so that stage 1 builds the
    vocabularies the model reads."""
    from .runs import stopwords_of
    return {**settings, "normalize_zh": "1" if cfg.normalize_zh else "0",
            **{f"stopwords_{code}": stopwords_of(cfg, code) or "" for code in languages.LANGUAGES}}


def main(argv):
    p = cli.parser(__doc__)
    p.add_argument("ini", help="the settings file")
    p.add_argument("config", help="model config (w2vv_configs/NAME.py or a .py path)")
    p.add_argument("--run_name", action="store_true", help="print the run name only")
    p.add_argument("--en_run_name", action="store_true", help="print the English model's run name only")
    args = cli.parse_args(p, argv)
    settings = read_settings(args.ini)
    if args.run_name or args.en_run_name:
        _, config_overrides, _ = _trainer_config(settings, args.config, args.ini)
        print(_run_name(settings, args.config, config_overrides, languages.PIVOT if args.en_run_name else None))
    else:
        print(shell_assignments(settings, args.config, args.ini), end="")


if __name__ == "__main__":
    sys.exit(run(main))
