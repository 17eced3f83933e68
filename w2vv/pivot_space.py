"""A successor's model of a query language in its English model's space (docs/method.md#across-languages).

W2VV's models of both languages regress sentences into the fixed CNN feature space, so CL can compare
a Chinese sentence's vector with an English one's. A successor (W2VV++, SEA) learns its space instead:
its model of a query language (Chinese, Japanese: any language but the pivot, English) trains only its
text tower(s), into the space of the English model of the same run, whose image tower(s) it takes from
that model's best weights, frozen (``image_towers = 'english'``, the default; the English model trains
first, stage 2). Its run record names those weights by path and fingerprint (``image_towers_from``), so
that a retrained English model is never mixed with a query model of the former one: the trainer then
finds the query model "made with other settings", and CL stops. With ``image_towers = 'own'`` the query
model trains its image tower(s) too: CM only, CL and CLM stop in one line.

``english_weights`` (the trainer: which weights to take) and ``require_one_space`` (CL, CLM: may the two
models' vectors be compared) read files only; the towers are frozen by ``common_space.take_image_towers``."""
import os

from . import languages, layout, runs
from .errors import InputError
from .fingerprint import entry_path, file_fingerprint, recorded_settings, same_content
from .inference import FAMILY_NAMES, best_weights_file, model_family
from .result_checks import traced_models

RECORD_KEY = "image_towers_from"  # the run record's entry: the English model's weights the towers came from
TOWERS_SETTING = "image_towers"   # a CM results folder's record of a model with its own image tower(s): 'own'


def takes_english_towers(cfg, train):
    """True when the model of ``cfg`` trained on ``train`` takes its English model's image tower(s): a
    successor's, ``image_towers = 'english'``, of a collection in a query language."""
    return cfg.family != "w2vv" and cfg.image_towers == "english" and \
        languages.language_of(train) != languages.PIVOT


def trained_own_towers(checkpoint):
    """True when the model of ``checkpoint`` is a successor that trained its own image tower(s), as its run
    record says (``image_towers = 'own'``): it has no CL and no CLM."""
    record = runs.recorded_run(checkpoint)
    config = record[1].get("config", {}) if record else {}
    return config.get("family", "w2vv") != "w2vv" and config.get("image_towers") == "own"


def own_image_towers(results_folder):
    """True when the model whose CM results ``results_folder`` holds trained its own image tower(s): as the
    folder's record says (``TOWERS_SETTING``, there when the model's folder has been deleted since), else as
    the model's run record does (results tested before the folder said so)."""
    settings = recorded_settings(os.path.join(results_folder, layout.INPUTS_FILE))
    if TOWERS_SETTING in settings:
        return settings[TOWERS_SETTING] == "own"
    models = traced_models(results_folder)
    return bool(models) and trained_own_towers(models[0][0])


def towers_settings(checkpoint):
    """The setting a CM results folder records of a model that trained its own image tower(s) (none of others)."""
    return {TOWERS_SETTING: "own"} if trained_own_towers(checkpoint) else {}


def stage_hint(config, stage):
    return f"./do_all.sh [--ini INI] {config} --stage {stage} --stop_stage {stage}"


def english_weights(root, cfg, train, en_train, en_val, run_name):
    """The best weights file of the English model (``<root>/<en_train>/cv_keras/<en_val>/…/<run_name>``) whose
    image tower(s) the model of ``cfg`` on ``train`` takes, or None when it takes none
    (``takes_english_towers``). InputError in one line, naming the stage to run, when that model is not
    trained (or not finished), or is of another family."""
    if not takes_english_towers(cfg, train):
        return None
    folder = layout.checkpoint_dir(str(root), en_train, en_val, run_name)
    name = FAMILY_NAMES[cfg.family]
    if not os.path.isfile(os.path.join(folder, layout.MODEL_FILE)):
        state = "not finished" if os.path.isdir(folder) else "not found"
        raise InputError(f"{folder}: English model {state}: the {name} model of {train} trains its text tower(s) "
                         f"into the English model's space, with its image tower(s); run stage 2 first: "
                         f"{stage_hint(cfg.name, 2)} (or image_towers=own in the config overrides: no CL then)")
    family = model_family(folder)
    if family != cfg.family:
        raise InputError(f"{folder}: a {FAMILY_NAMES.get(family, family)} model, where the {name} model of {train} "
                         f"takes the image tower(s) of an English {name} model; retrain it: {stage_hint(cfg.name, 2)}")
    return best_weights_file(folder)


def require_one_space(root, what, run, query, english=None):
    """InputError in one line when ``what`` ('CL', 'CLM') of ``run`` cannot compare its query model's sentence
    vectors with its English model's. ``query``: (query_train, query_val) of the query model, ``english``:
    (en_train, en_val, English run name) where the English model is known (CL). W2VV's models share the
    feature space; a successor's query model must have taken the image tower(s) of that very English model,
    as it is now. A run without a checkpoint folder (results copied without their models) is W2VV's."""
    folder = layout.checkpoint_dir(str(root), *query, run)
    family = _family(folder) or "w2vv"
    en_folder = layout.checkpoint_dir(str(root), *english) if english else None
    en_family = _family(en_folder) if english else None
    lang = languages.get(languages.language_of(query[0])).name
    if en_family and en_family != family:
        raise InputError(f"{what} for run {run}: its {lang} model is a {FAMILY_NAMES[family]} model and its English "
                         f"model ({en_folder}) a {FAMILY_NAMES[en_family]} one: {what} compares the vectors of one "
                         f"space; give the English run of the same config (--en_run)")
    if family == "w2vv":
        if english:
            _require_same_features(what, run, folder, en_folder)
        return
    record = runs.recorded_run(folder)
    taken = record[1].get(RECORD_KEY) if record else None
    if taken is None:
        own = trained_own_towers(folder)
        why = ("it trained its own image tower(s) (image_towers = 'own'), so its sentence vectors are in a space of "
               "their own" if own else "its record names no English model whose image tower(s) it took")
        raise InputError(f"{what} is not available for run {run}: {why} ({folder}); train it with "
                         f"image_towers = 'english' (the default) for CL and CLM")
    if english:
        _require_same_english(what, run, folder, root, taken, en_folder, lang, record[1]["config"].get("name", run))


def _require_same_english(what, run, folder, root, taken, en_folder, lang, config):
    taken_path = entry_path(taken, root)
    if os.path.dirname(taken_path) != os.path.normpath(en_folder):
        raise InputError(f"{what} for run {run}: its {lang} model took its image tower(s) from "
                         f"{os.path.dirname(taken_path)}, not from the English model {en_folder}: {what} compares "
                         f"the vectors of one space (leave --en_run out, or retrain the {lang} model)")
    now = best_weights_file(en_folder) if os.path.isfile(os.path.join(en_folder, layout.MODEL_FILE)) else None
    if now is None or not os.path.isfile(now) or not same_content(file_fingerprint(now), taken["content"]):
        raise InputError(f"{what} for run {run}: the English model {en_folder} changed or is gone since its {lang} "
                         f"model ({folder}) took its image tower(s) ({taken['path']}, {taken['content']}); retrain the "
                         f"{lang} model: stage 3 with overwrite = 1 ({stage_hint(config, 3)})")


FEATURE_SPACE = ("img_feature", "L1_normalize", "L2_normalize")  # what a W2VV model's vectors are vectors of


def _require_same_features(what, run, folder, en_folder):
    """W2VV's two models share a space only when both regress onto the same features, normalised alike."""
    query, english = runs.recorded_run(folder), runs.recorded_run(en_folder)
    if not (query and english):
        return
    differ = [key for key in FEATURE_SPACE if query[1]["config"].get(key) != english[1]["config"].get(key)]
    if differ:
        key = differ[0]
        raise InputError(f"{what} for run {run}: its model ({folder}) has {key} = {query[1]['config'].get(key)!r} "
                         f"and its English model ({en_folder}) {key} = {english[1]['config'].get(key)!r}: their "
                         f"vectors are in two spaces; give an English run of the same features (--en_run)")


def _family(folder):
    """The family of the model in ``folder``; None where there is none (results copied without their models)."""
    return model_family(folder) if os.path.isfile(os.path.join(folder, layout.CONFIG_FILE)) else None
