"""Run identity: a model, and every result derived from it, is reused only when it was made with
the same settings.

A training run records in its checkpoint folder (``settings.json``) everything that changes the
model or its inputs (``run_record``): the config's attributes after overrides (``max_epochs``,
``batch_size``, ``normalize_zh``, the stop-word list paths, ``optimizer_impl``… included), the seed, the
backend and distribution, and every file it read (stop words, word2vec, vocabularies, captions, val's
ImageSets, features) by path and content fingerprint.

The folder's name is the run name: the config's name when every setting is the paper config's
(so checkpoints of the original code are found as before), else the config's name tagged with
what differs, ``base_w2vv_lstm_size256`` (a short hash replaces a tag too long to read).
Results derived from a model (sentence vectors, CL, CLM, the table) carry the run name in their
folder names and record the files they were computed from (``inputs.json``): they are redone,
not reused, when those files changed."""
import hashlib
import json
import os
import re
from dataclasses import dataclass
from types import SimpleNamespace

from . import backend, languages, layout
from .atomic import write_text
from .config import DEFAULTS, load_config, of_languages, vocab_threshold
from .encoders import mean_word2vec_of
from .errors import InputError
from .fingerprint import (changed_parts, entry_path, file_fingerprint, file_parts, input_entry, same_content,
                          sources_match, write_sources)
from .layout import INPUTS_FILE, SETTINGS_FILE
from .vocab import STYLES, vocabulary_variant

MAX_NAME = 80


@dataclass
class TrainingRun:
    """A training run as its command gives it: where, on what, and the settings beyond its config."""
    root: str
    train: str
    val: str
    feature_collection: str = layout.DEFAULT_FEATURE_COLLECTION
    batch_size: int = 100
    seed: int = None          # None: a random seed (recorded); given: deterministic (same history on CPU)
    word2vec_path: str = None
    distribute: str = "none"  # "mirrored": data parallel over all local GPUs (backend.distribution_scope)
    tensorboard: bool = False  # TensorBoard logs in <checkpoint folder>/tensorboard
    name: str = None          # the run name (runs.run_name), naming the checkpoint folder; None: the config's
    overwrite: bool = False   # start anew even where an interrupted run left its resume state
    # a successor's query-language model: the English model's best weights whose image tower(s) it takes, frozen
    # (w2vv.pivot_space.english_weights); None: it trains its own
    image_towers_from: str = None


def checkpoint_folder(run, cfg):
    """The checkpoint folder of ``run`` (a ``TrainingRun``) with ``cfg``: named ``run.name``, else the config's."""
    return layout.checkpoint_dir(run.root, run.train, run.val, run.name or cfg.name)


def resumes(run, cfg):
    """True when ``run`` with ``cfg`` continues an interrupted one: its checkpoint folder holds a resume
    state and it does not overwrite."""
    return os.path.isfile(os.path.join(checkpoint_folder(run, cfg), layout.RESUME_FILE)) and not run.overwrite


@dataclass(frozen=True)
class RunInputs:
    """What a model of a training collection reads besides the captions it is trained on, resolved in
    one place: from the config and the command line for a new run (``resolve_inputs``), from the run
    record for a trained one (``model_inputs``). The encoder (``run_inputs.encoder_for``) and the run
    record (``run_record``) both take them from here."""
    language: languages.Language
    stopwords_path: str   # the stop-word list read
    word2vec_path: str    # the word2vec read
    normalize: bool       # Chinese normalised before tokenising
    vocab_files: tuple    # the vocabularies: (bow, bow_filterstop)
    mean_word2vec: str = "occurrences"  # what the mean word2vec averages over (encoders.MEAN_WORD2VEC)

    @property
    def cache_dir(self):
        """Where encodings made with these vocabularies are cached (``run_inputs.encode_cached``)."""
        return os.path.join(os.path.dirname(os.path.dirname(self.vocab_files[0])), "encoded")


def resolve_inputs(root, train, cfg, word2vec_path=None, stopwords_path=None, normalize_zh=None, lang=None):
    """The ``RunInputs`` of ``train`` in ``lang`` (default: ``train``'s language): word2vec, stop words and
    the normalisation of Chinese (``normalize_zh``) from the language's record and ``cfg`` unless given;
    the vocabularies those make (``vocab.vocabulary_variant``)."""
    language = languages.get(lang) if lang else languages.of_collection(train)
    normalize = cfg.normalize_zh if normalize_zh is None else normalize_zh
    normalize = bool(normalize) and language.normalize is not None
    stopwords_path = str(stopwords_path or stopwords_of(cfg, language.code) or language.stopwords)
    variant = vocabulary_variant(language, stopwords_path, normalize)
    return RunInputs(language, stopwords_path, str(word2vec_path or layout.word2vec_path(root, language.code)),
                     normalize, _vocab_files(root, train, cfg, variant), mean_word2vec_of(cfg))


def _vocab_files(root, train, cfg, variant=""):
    return tuple(layout.vocab_file(root, train, style, vocab_threshold(cfg), variant) for style in STYLES)


def stopwords_of(cfg, lang):
    """The stop-word list a config names for a language (``stopwords_<code>``), None: the record's."""
    return getattr(cfg, f"stopwords_{lang}", None)


def run_record(run, cfg, inputs=None):
    """Everything that changes the model trained by ``run`` (a ``TrainingRun``) with ``cfg`` and ``inputs``
    (the ``RunInputs`` its encoder reads; else resolved as the encoder's are, by ``resolve_inputs``), as a
    JSON-able dict: its ``run_settings`` and every file it reads by its path and
    fingerprint (``fingerprint.input_entry``): stop words, word2vec, vocabularies, captions, val's ImageSets
    (the images the best epoch is chosen on; training reads no ImageSets of its own), features, and
    for a successor's query-language model the English model's weights it takes its image tower(s) from
    (``image_towers_from``, w2vv.pivot_space)."""
    def entry(path, what):
        return input_entry(path, run.root, what)

    inputs = inputs or resolve_inputs(run.root, run.train, cfg, run.word2vec_path)
    towers = {} if not run.image_towers_from else \
        {"image_towers_from": entry(run.image_towers_from, "English model's best weights (train it first: stage 2)")}
    mean = {} if inputs.mean_word2vec == "occurrences" else {"mean_word2vec": inputs.mean_word2vec}
    return dict(run_settings(cfg, run, inputs.language.code, inputs.normalize), **towers, **mean,
                stopwords=entry(inputs.stopwords_path, "stop-word list"),
                word2vec=entry(inputs.word2vec_path, "word2vec"),
                vocabularies={style: entry(path, f"vocabulary (run {build_vocab_command(run, cfg, inputs)} first)")
                              for style, path in zip(STYLES, inputs.vocab_files)},
                captions={role: entry(layout.caption_file(run.root, collection), "caption file")
                          for role, collection in (("train", run.train), ("val", run.val))},
                imagesets={"val": entry(layout.imageset_file(run.root, run.val), "ImageSets file")},
                features=entry(layout.feature_dir(run.root, cfg.img_feature, run.feature_collection),
                               "feature folder"))


def build_vocab_command(run, cfg, inputs):
    """The ``build_vocab.py`` command that builds the vocabularies ``inputs`` name (another stop-word list, Chinese
    normalised, another threshold: a variant of their own)."""
    flags = [f"--rootpath {run.root}"]
    if vocab_threshold(cfg) != 5:
        flags.append(f"--freq_threshold {vocab_threshold(cfg)}")
    if inputs.stopwords_path != str(inputs.language.stopwords):
        flags.append(f"--stopwords {inputs.stopwords_path}")
    if inputs.normalize:
        flags.append("--normalize_zh 1")
    return f"build_vocab.py {run.train} {' '.join(flags)}"


def run_settings(cfg, run, language, normalize=False):
    """The settings of a run besides its files: the config, the collections, the seed, the language (its
    code), the normalisation, the distribution (data parallel sums and draws otherwise), and the Keras backend
    that trains it with its version ('jax 0.10.2')."""
    return dict(config={k: v for k, v in sorted(vars(cfg).items())}, train=run.train, val=run.val,
                feature_collection=run.feature_collection, seed=run.seed, backend=backend.version(),
                language=language, normalize=normalize, distribute=run.distribute)


# ---------------------------------------------------------------- a trained model's inputs

INPUT_NAMES = {"stopwords": "stop-word list", "word2vec": "word2vec", "bow": "vocabulary",
               "bow_filterstop": "vocabulary (without stop words)"}


def model_inputs(folder, root, cfg, word2vec_path=None, stopwords_path=None, log=print):
    """The ``RunInputs`` of the model in the checkpoint ``folder``, from its run record, each file checked
    against its fingerprint; ``word2vec_path``, ``stopwords_path``: given on a command line, they must be
    the record's files (InputError naming both otherwise). A folder without a record (the original code's
    checkpoint) takes the layout's inputs, as it was trained with, and says so."""
    root, train = str(root), layout.checkpoint_parts(folder)[1]
    record = recorded_run(folder)
    if record is None:
        _require_no_lost_record(folder, "train it again (do_all.sh with overwrite = 1, or trainer.py --overwrite 1)")
        log(f"{folder}: no run record (a checkpoint of the original code): its inputs are the layout's for {train}")
        return resolve_inputs(root, train, cfg, word2vec_path, stopwords_path)
    name, settings = record
    language = languages.get(settings.get("language") or languages.of_collection(train).code)
    paths = {key: _recorded_file(settings[key], root, key, name, language) for key in ("stopwords", "word2vec")}
    for key, given in (("word2vec", word2vec_path), ("stopwords", stopwords_path)):
        if given and not same_content(file_fingerprint(given), settings[key]["content"]):
            raise InputError(f"--{key} {given}: not the {INPUT_NAMES[key]} run {name} was trained with "
                             f"({paths[key]}); leave --{key} out to use the run's")
    normalize = settings.get("normalize", bool(settings["config"].get("normalize_zh")) and
                             language.normalize is not None)
    if "vocabularies" in settings:
        vocab_files = tuple(_recorded_file(settings["vocabularies"][style], root, style, name, language)
                            for style in STYLES)
    else:  # recorded before vocabularies were: the original place, as it was trained with
        vocab_files = _vocab_files(root, train, cfg)
    # recorded since the successors average each word once: a model without it averaged every occurrence
    return RunInputs(language, paths["stopwords"], paths["word2vec"], normalize, vocab_files,
                     settings.get("mean_word2vec", "occurrences"))


def recorded_feature_collection(folder, asked=None):
    """The feature collection the model in ``folder`` was trained with (its record's; the layout's default
    without a record), or ``asked`` when given and the same; InputError when it differs."""
    record = recorded_run(folder)
    recorded = record[1]["feature_collection"] if record else None
    if asked and recorded and asked != recorded:
        raise InputError(f"--feature_collection {asked}: run {record[0]} was trained on the features of "
                         f"{recorded}; leave --feature_collection out to use them")
    return asked or recorded or layout.DEFAULT_FEATURE_COLLECTION


def _features_entry(folder):
    """(run name, the features' entry of the run record of the model in ``folder``), (None, None) without one."""
    record = recorded_run(folder)
    return (record[0], record[1].get("features")) if record else (None, None)


def recorded_features_dir(folder, root):
    """The feature folder the run record of the model in ``folder`` names (None without one)."""
    entry = _features_entry(folder)[1]
    return entry_path(entry, root) if entry else None


def require_recorded_features(folder, root, features_dir):
    """InputError when ``features_dir`` is the feature folder the model in ``folder`` was trained with (its
    record's) and one of its files holds other content now: features re-extracted, rows reordered or another
    network's under the same name would be ranked in silence. Another folder (a gallery) is not the record's."""
    run, entry = _features_entry(folder)
    if not entry or os.path.abspath(entry_path(entry, root)) != os.path.abspath(str(features_dir)):
        return
    now = file_fingerprint(features_dir)
    changed = sorted(changed_parts(entry["content"], now))
    if changed:
        was, now = (dict(file_parts(text)) for text in (entry["content"], now))
        raise InputError(f"{features_dir}: {changed[0]} changed since run {run} was trained with these features "
                         f"(recorded {changed[0]}:{was[changed[0]]}, now {now.get(changed[0], 'gone')}); restore "
                         f"them, or retrain the run")


def _recorded_file(entry, root, key, name, language):
    """The file a record's ``entry`` names, found under ``root`` (or, for a file of the project or the
    layout that moved with its clone or root, the language's own with the same content: another clone's list
    may have changed since); InputError when it is gone or its content changed."""
    path = entry_path(entry, root)
    for candidate in (path, language.own_inputs(root).get(key)):
        if candidate and os.path.exists(candidate) and same_content(file_fingerprint(candidate), entry["content"]):
            return candidate
    if os.path.exists(path):
        raise InputError(f"{path}: changed since run {name} was trained with it as its {INPUT_NAMES[key]} "
                         f"(recorded {entry['content']}, now {file_fingerprint(path)}); restore it, or retrain the "
                         f"run")
    raise InputError(f"{path}: not found: the {INPUT_NAMES[key]} run {name} was trained with")


def configured_run(model_config, overrides=None, feature_collection=layout.DEFAULT_FEATURE_COLLECTION,
                   word2vec_path=None, config_dir=None, langs=None):
    """(cfg with ``overrides``, its run name). ``langs``: the config as a model of a pipeline of those languages
    reads it (``config.of_languages``), so that settings of other languages do not name its run: the English
    model's (en,), shared by the pipelines that differ in the query model's settings alone; a query model's
    (its language, en), its name naming the pipeline (CL, CLM, the table's row)."""
    cfg, paper = load_config(model_config, config_dir, overrides), load_config(model_config, config_dir)
    if langs:
        cfg, paper = of_languages(cfg, langs), of_languages(paper, langs)
    return cfg, run_name(cfg, paper, feature_collection, word2vec_path)


def word2vec_given(root, lang, path):
    """``path``, a word2vec given on the command line, or None when it is the layout's own for ``lang`` (the same
    file, under any name): a run names only a word2vec that differs from the one it would read anyway."""
    default = layout.word2vec_path(str(root), lang)
    if path and os.path.exists(path) and os.path.exists(default) and os.path.samefile(path, default):
        return None
    return path


def pipeline_languages(lang):
    """The languages whose settings a model of ``lang`` takes (``configured_run``): English alone for the
    English model, else its own and English's."""
    return (languages.PIVOT,) if lang == languages.PIVOT else (lang, languages.PIVOT)


def english_run(root, query, english, run, settings=None):
    """The run name of the English model that run ``run`` of the query model ``query`` ((train, val)) goes with
    in CL: ``run`` without the tags of settings that no English model reads (``configured_run``), from the query
    model's record (``settings``: a copy of it, the model's folder deleted since). ``english``: (en_train,
    en_val); an English model trained under ``run`` there before such names were is kept."""
    if settings is None:
        record = recorded_run(layout.checkpoint_dir(str(root), *query, run))
        settings = record[1] if record else {}
    try:
        cfg = SimpleNamespace(**settings["config"])
        paper = load_config(cfg.name)
    except (KeyError, AttributeError, InputError):  # no record, or a config of another folder (--config_dir)
        return run
    features = settings.get("feature_collection", layout.DEFAULT_FEATURE_COLLECTION)
    own = pipeline_languages(settings.get("language") or languages.language_of(query[0]))
    if run_name(cfg, of_languages(paper, own), features) != run:
        return run  # named otherwise (trainer.py --word2vec): so is its English model
    pivot = pipeline_languages(languages.PIVOT)
    name = run_name(of_languages(cfg, pivot), of_languages(paper, pivot), features)
    older = os.path.isdir(layout.checkpoint_dir(str(root), *english, run))
    return run if older and not os.path.isdir(layout.checkpoint_dir(str(root), *english, name)) else name


def run_name(cfg, paper_cfg, feature_collection=layout.DEFAULT_FEATURE_COLLECTION, word2vec_path=None):
    """The config's name, tagged with every setting that differs from the paper config's
    (``paper_cfg``: the config file with no override): ``base_w2vv_lstm_size256_max_epochs25``."""
    paper = vars(paper_cfg)
    tags = [f"{key}{_readable(value)}" for key, value in sorted(vars(cfg).items())
            if key != "name" and paper.get(key) != value]
    if feature_collection != layout.DEFAULT_FEATURE_COLLECTION:
        tags.append(f"feat-{_readable(feature_collection)}")
    if word2vec_path:
        tags.append(f"w2v-{_readable(word2vec_path)}")
    if not tags:
        return cfg.name
    name = "_".join([cfg.name] + tags)
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[:MAX_NAME - 9]}_{digest}"
    return name


def _readable(value):
    """A value as a folder-name fragment: a path by its file name, True/False as 1/0."""
    if isinstance(value, bool):
        value = int(value)
    text = str(value)
    if os.sep in text or text.endswith((".txt", ".model", ".bin")):
        text = os.path.splitext(os.path.basename(os.path.normpath(text)))[0]
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text)


def save_record(folder, name, settings):
    write_text(os.path.join(folder, SETTINGS_FILE),
               json.dumps(dict(run_name=name, settings=settings), indent=1, default=str) + "\n")


def _require_no_lost_record(folder, fix):
    """InputError when a finished model's folder without a run record was trained by this project (its summary,
    which the original code and ``convert_original.py`` do not write): its record lost, nothing can be checked."""
    if os.path.isfile(os.path.join(folder, layout.SUMMARY_FILE)):
        raise InputError(f"{folder}: trained by this project (its {layout.SUMMARY_FILE}), but its run record "
                         f"{SETTINGS_FILE} is gone: what it was trained with cannot be checked; {fix}")


def recorded_run(folder):
    """(run name, settings) recorded in a checkpoint folder, or None (a folder of the original code,
    or of this project before settings were recorded: treated as the paper's settings)."""
    path = os.path.join(folder, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        name, settings = record["run_name"], record["settings"]
        if not isinstance(name, str) or not isinstance(settings, dict):
            raise ValueError("expected a run name and a settings object")
        return name, settings
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a settings record ({e}); delete the checkpoint folder to retrain") from None


def differences(recorded, asked, resuming=False, other=None):
    """The settings that differ, one readable phrase each (empty: the same run). The backend counts
    only when ``resuming`` (an epoch half done elsewhere): a finished model is the same on every backend.
    Files count by content: a root moved or copied elsewhere keeps its models. What a record written
    before it was recorded lacks is no difference. ``other`` names where ``asked`` comes from in the phrases
    (default: "asked", or "now" for a file)."""
    recorded = json.loads(json.dumps(recorded, default=str))  # JSON round trip: tuples become lists
    asked = json.loads(json.dumps(asked, default=str))
    out = []
    for key in sorted(set(recorded) | set(asked)):
        was, now = recorded.get(key), asked.get(key)
        if key in RECORDED_SINCE and (key not in recorded or key not in asked):  # a record written before it was
            continue
        if key == "seed" and now is None:
            continue  # no seed asked: any trained draw will do
        if key == "backend":
            was_name, now_name = (str(v or "tensorflow").split()[0] for v in (was, now))  # before: TensorFlow only
            if resuming and was_name != now_name:
                out.append(f"backend {was_name} (now {now_name})")
            continue
        if key == "config":
            out += [f"{k} {was.get(k)!r} ({other or 'asked'} {now.get(k)!r})" for k in sorted(set(was) | set(now))
                    if was.get(k) != now.get(k) and not _added_since(k, was, now) and
                    not (k.startswith("stopwords_") and _same_list(was.get(k), now.get(k)))]
        elif key in FILE_ENTRIES:
            out += _file_differences(key, was, now, other)
        elif was != now:
            out.append(f"{key} {was!r} ({other or 'asked'} {now!r})")
    return out


def _same_list(was, now):
    """Two stop-word list settings naming one list by two paths (relative and absolute, moved, copied): both files
    there, of the same content."""
    return bool(was and now) and all(os.path.isfile(path) for path in (was, now)) and \
        same_content(file_fingerprint(was), file_fingerprint(now))


FILE_ENTRIES = ("stopwords", "word2vec", "features", "vocabularies", "captions", "imagesets", "image_towers_from")
RECORDED_SINCE = ("language", "normalize", "features", "vocabularies", "captions", "imagesets", "distribute")


def _file_differences(key, was, now, other):
    """``differences`` of one file entry (``stopwords``…), or of a dict of them (``captions``…), by content."""
    if was is None or now is None:  # taken from an English model in one run, not in the other
        return [f"{key} {(was or {}).get('path', 'none')} ({other or 'asked'} {(now or {}).get('path', 'none')})"]
    if "content" not in was:
        return [phrase for part in sorted(was) for phrase in _file_differences(f"{key} {part}", was[part],
                                                                               now.get(part, {}), other)]
    recorded, content = was["content"], now.get("content", "")
    if same_content(recorded, content) or not changed_parts(recorded, content):
        return []  # the same content, maybe under another name, or a file added to a folder
    if now.get("path", was["path"]) != was["path"]:  # another file, the run named alike: two lists called list.txt
        named = " (a run is named by a file's name, not its folder: rename one to train a run of each)" \
            if key in ("stopwords", "word2vec") else ""
        return [f"{key} {was['path']} ({other or 'asked'} another file, {now['path']}){named}"]
    return [f"{key} {was['path']} changed (recorded {recorded}, {other or 'now'} {now.get('content')})"]


def _added_since(key, was, now):
    """An attribute the project added after one of the two records was written, the other at its default (which
    reproduces what the project did before): no difference."""
    default = json.loads(json.dumps(DEFAULTS[key])) if key in DEFAULTS else object()
    return (key not in was and now.get(key) == default) or (key not in now and was.get(key) == default)


def other_backend(folder):
    """The Keras backend that trained the model in ``folder`` when it is not this process's (None: the same,
    or not recorded)."""
    record = recorded_run(folder)
    name = str(record[1].get("backend") or "").split(" ")[0] if record else ""
    return name if name and name != backend.name() else None


RETRAIN = "--overwrite 1 retrains it, or move the folder away"


def check_same_record(folder, settings, resuming=False, fix=RETRAIN):
    """InputError naming the settings that differ when ``folder`` holds a run made otherwise (``resuming``:
    a run half done, to be continued: on the same backend too), and ``fix``."""
    record = recorded_run(folder)
    if record is None:
        _require_no_lost_record(folder, fix)
        return
    diff = differences(record[1], settings, resuming)
    if diff:
        raise InputError(f"{os.path.join(folder, SETTINGS_FILE)}: made with other settings: {'; '.join(diff[:4])}"
                         f"{' …' if len(diff) > 4 else ''}; {fix}")


# ---------------------------------------------------------------- derived results

def record_inputs(out_dir, paths, **settings):
    """Write ``inputs.json``: the files a result folder was computed from (``fingerprint.sources``:
    paths relative to the folder, so that a moved root keeps its results), and the ``settings`` besides
    them that its results depend on (fuse.py's ``rank_norm``)."""
    write_sources(os.path.join(out_dir, INPUTS_FILE), paths, **settings)


def inputs_unchanged(out_dir, paths, **settings):
    """True when ``out_dir`` was computed from ``paths`` as they are now, with the same ``settings``. A folder
    without a record (the original code's results) counts as current only while none of ``paths`` was made by
    this project (a record beside it: a model trained here, results computed here), which it cannot have been
    computed from."""
    made_here = any(os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(str(path))), name))
                    for path in paths for name in (INPUTS_FILE, SETTINGS_FILE))
    return sources_match(os.path.join(out_dir, INPUTS_FILE), paths, missing=not made_here, **settings)
