"""Run identity: a model, and every result derived from it, is reused only when it was made with
the same settings.

A training run records in its checkpoint folder (``settings.json``) everything that changes the
model or its inputs: the config's attributes after overrides (``max_epochs``, ``batch_size``,
``normalize_zh``, the stop-word list paths, ``optimizer_impl``… included), the stop-word list and
word2vec it read (path and a content fingerprint), the feature collection, the training and
validation collections, and the seed when one was given.

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

from . import backend, layout
from .atomic import write_text
from .config import DEFAULTS, load_config
from .errors import InputError
from .fingerprint import file_fingerprint, sources_match, write_sources
from .layout import INPUTS_FILE, SETTINGS_FILE

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


def checkpoint_folder(run, cfg):
    """The checkpoint folder of ``run`` (a ``TrainingRun``) with ``cfg``: named ``run.name``, else the config's."""
    return layout.checkpoint_dir(run.root, run.train, run.val, run.name or cfg.name)


def resumes(run, cfg):
    """True when ``run`` with ``cfg`` continues an interrupted one: its checkpoint folder holds a resume
    state and it does not overwrite."""
    return os.path.isfile(os.path.join(checkpoint_folder(run, cfg), layout.RESUME_FILE)) and not run.overwrite


def run_record(cfg, train, val, feature_collection, stopwords_path, word2vec_path, seed, language=None):
    """Everything that changes the model trained on ``train``: a JSON-able dict (with ``language``,
    the code of ``train``'s language, when given: search reads the model's language from it), and
    the Keras backend that trains it with its version (``backend``: 'jax 0.10.2')."""
    settings = dict(config={k: v for k, v in sorted(vars(cfg).items())}, train=train, val=val,
                    feature_collection=feature_collection,
                    stopwords=dict(path=os.path.abspath(stopwords_path), content=file_fingerprint(stopwords_path)),
                    word2vec=dict(path=os.path.abspath(word2vec_path), content=file_fingerprint(word2vec_path)),
                    seed=seed, backend=backend.version())
    if language:
        settings["language"] = language
    return settings


def record_of(run, cfg, inputs=None):
    """``run_record`` of a ``TrainingRun`` with ``cfg``: the language, stop-word list and
    word2vec it reads, as its encoder says (``inputs``: ``encoder.inputs``; else resolved by the same
    function the encoder's are, ``run_inputs.resolve_inputs``, without loading anything)."""
    if inputs is None:
        from .run_inputs import resolve_inputs  # imported when needed: it imports the encoders
        inputs = resolve_inputs(run.root, run.train, cfg, run.word2vec_path)
    return run_record(cfg, run.train, run.val, run.feature_collection, inputs.stopwords_path,
                          inputs.word2vec_path, run.seed, inputs.language.code)


def configured_run(model_config, overrides=None, feature_collection=layout.DEFAULT_FEATURE_COLLECTION,
                   word2vec_path=None, config_dir=None):
    """(cfg with ``overrides``, its run name)."""
    cfg = load_config(model_config, config_dir, overrides)
    return cfg, run_name(cfg, load_config(model_config, config_dir), feature_collection, word2vec_path)


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


def recorded_run(folder):
    """(run name, settings) recorded in a checkpoint folder, or None (a folder of the original code,
    or of this project before settings were recorded: treated as the paper's settings)."""
    path = os.path.join(folder, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        return record["run_name"], record["settings"]
    except (ValueError, KeyError) as e:
        raise InputError(f"{path}: not a settings record ({e}); delete the checkpoint folder to retrain") from None


def differences(recorded, asked, resuming=False):
    """The settings that differ, one readable phrase each (empty: the same run). The backend counts
    only when ``resuming`` (an epoch half done elsewhere): a finished model is the same on every backend."""
    recorded = json.loads(json.dumps(recorded, default=str))  # JSON round trip: tuples become lists
    asked = json.loads(json.dumps(asked, default=str))
    out = []
    for key in sorted(set(recorded) | set(asked)):
        was, now = recorded.get(key), asked.get(key)
        if key == "seed" and now is None:
            continue  # no seed asked: any trained draw will do
        if key == "language" and None in (was, now):
            continue  # recorded before languages were: the collection's name told it, as it still does
        if key == "backend":
            was_name, now_name = (str(v or "tensorflow").split()[0] for v in (was, now))  # before: TensorFlow only
            if resuming and was_name != now_name:
                out.append(f"backend {was_name} (now {now_name})")
            continue
        if key == "config":
            out += [f"{k} {was.get(k)!r} (asked {now.get(k)!r})" for k in sorted(set(was) | set(now))
                    if was.get(k) != now.get(k) and not _added_since(k, was, now)]
        elif key in ("stopwords", "word2vec"):
            # by content: a root moved or copied elsewhere keeps its models (another file by another
            # name is another run name already)
            if was.get("content") != now.get("content"):
                out.append(f"{key} content {was.get('content')} (now {now.get('content')}, {now.get('path')})")
        elif was != now:
            out.append(f"{key} {was!r} (asked {now!r})")
    return out


def _added_since(key, was, now):
    """An attribute the project added after the record was written, asked at its default (which
    reproduces what the project did before): no difference."""
    return key not in was and key in DEFAULTS and json.loads(json.dumps(DEFAULTS[key])) == now.get(key)


def check_same_record(folder, settings, resuming=False):
    """InputError naming the settings that differ when ``folder`` holds a run made otherwise (``resuming``:
    a run half done, to be continued: on the same backend too)."""
    record = recorded_run(folder)
    if record is None:
        return
    diff = differences(record[1], settings, resuming)
    if diff:
        raise InputError(f"{os.path.join(folder, SETTINGS_FILE)}: made with other settings: {'; '.join(diff[:4])}"
                         f"{' …' if len(diff) > 4 else ''}; --overwrite 1 retrains it, or move the folder away")


# ---------------------------------------------------------------- derived results

def record_inputs(out_dir, paths):
    """Write ``inputs.json``: the files a result folder was computed from (``fingerprint.sources``:
    paths relative to the folder, so that a moved root keeps its results)."""
    write_sources(os.path.join(out_dir, INPUTS_FILE), paths)


def inputs_unchanged(out_dir, paths):
    """True when ``out_dir`` was computed from ``paths`` as they are now (a folder written before
    inputs were recorded counts as current)."""
    return sources_match(os.path.join(out_dir, INPUTS_FILE), paths, missing=True)
