"""Whether a results folder can be trusted, from its records (``inputs.json``, followed back to the models and their
run records): current (nothing it rests on changed since, the models' training data included), computed by one model
per run name, not tested on the split a choice was made on, computed alike when compared."""
import os

from . import languages, layout
from .errors import InputError
from .fingerprint import changed_entry, recorded_settings, recorded_trace, traced_records, traced_sources

# What a model trained with files that changed since is, and what to do (the tester's refusal, and results' own).
STALE_MODEL = ("a model of other data than the root holds now; run do_all.sh again for this run (its trainer says how "
               "to retrain it)")

# A results record's copy of the run record of the model it was computed by (testing.py writes it; compare.py reads
# it where the model's folder was deleted since, to save space).
MODEL_SETTINGS = "model_settings"


def check_current(folder):
    """InputError when a results folder was computed from files that changed since, however indirectly (its
    ``inputs.json``, followed back: ``fingerprint.traced_sources``): a model retrained, CL or CLM not run again
    after it, a CLM whose CL rests on English vectors computed again; or by a model trained with files that changed
    since (its training captions edited, its vocabulary built again). A folder without a record (the original
    code's) counts as current."""
    record = os.path.join(folder, layout.INPUTS_FILE)
    changed = traced_sources(record)[1]
    if changed:
        raise InputError(f"{folder}: computed from {changed[0]}, which changed since: its results are stale; "
                         f"run do_all.sh again for this run (its stages redo what is not current, and name a model "
                         f"to retrain: a successor's trained on the image towers of an English model retrained "
                         f"since)")
    stale_model = next(_changed_training_inputs(record), None)
    if stale_model:
        checkpoint, training_input = stale_model
        raise InputError(f"{folder}: computed by the model {checkpoint}, trained with {training_input}, which changed "
                         f"since: {STALE_MODEL}")


def _changed_training_inputs(record_file):
    """(checkpoint folder, a file it was trained with that changed since) of the models the results of
    ``record_file`` rest on, followed back, as the copies of their run records in the tester's results hold them
    (``MODEL_SETTINGS``: there when a model's folder was deleted since)."""
    for record, files in traced_records(record_file):
        settings = recorded_settings(record).get(MODEL_SETTINGS)
        checkpoints = [os.path.dirname(path) for path in files if layout.is_checkpoint_dir(os.path.dirname(path))]
        changed = settings and checkpoints and _changed_training_input(settings, layout.checkpoint_parts(
            checkpoints[0])[0])
        if changed:
            yield checkpoints[0], changed


def require_trained_on_current_data(folder, settings, root, skip=()):
    """InputError, before the model in ``folder`` (a model of ``root`` unless its path says otherwise) is tested,
    when its run record ``settings`` names a file that changed since (its keys ``skip`` left out): the results of a
    model of other data than the root holds would be refused once written (``check_current``)."""
    model_root = layout.checkpoint_parts(folder)[0] if layout.is_checkpoint_dir(folder) else root
    changed = _changed_training_input(settings, model_root, skip)
    if changed:
        raise InputError(f"{folder}: trained with {changed}, which changed since: {STALE_MODEL}")


def _changed_training_input(settings, root, skip=()):
    """A file that the run record ``settings`` of a model of ``root`` names (its keys ``skip`` left out) and that
    changed since (None: none). The English model a successor's took its image towers from is ``pivot_space``'s to
    check, with its own message."""
    language = languages.LANGUAGES.get(settings.get("language"))
    own = language.own_inputs(root) if language else None
    return changed_entry(settings, root, skip={"image_towers_from", *skip}, own=own)


def traced_models(folder):
    """[(checkpoint folder, (root, train, val, run) of it)] of the models whose files the results of ``folder``
    rest on, as their records say (``fingerprint.recorded_trace``: there even when a model's folder was deleted)."""
    checkpoints = (os.path.dirname(path) for path, _ in recorded_trace(os.path.join(folder, layout.INPUTS_FILE)))
    return [(checkpoint, layout.checkpoint_parts(checkpoint)) for checkpoint in checkpoints
            if layout.is_checkpoint_dir(checkpoint)]


def require_one_model_per_run(folders, expected=()):
    """InputError when the results of ``folders`` rest, as their records say (followed back), on two models of
    one run name and training collection trained on other val collections, or on another than the checkpoint
    folders ``expected`` of these: such runs share the folders of their results
    (``<test>/SimilarityIndex/<train>/<run>/``), the one tested last holding them; or on two epochs of one model
    (``tester.py --weight_name``: its results, under the run's name, beside the best epoch's)."""
    seen, weights = {}, {}  # (train, run) -> (val, whence); checkpoint -> (the weights first met, by which results)
    for checkpoint in expected:
        _, train, val, run = layout.checkpoint_parts(checkpoint)
        seen[train, run] = (val, f"not by {checkpoint}, the model asked")
    for folder in folders:
        for path, _ in recorded_trace(os.path.join(folder, layout.INPUTS_FILE)):
            checkpoint = os.path.dirname(path)
            if not layout.is_checkpoint_dir(checkpoint):
                continue
            _, train, val, run = layout.checkpoint_parts(checkpoint)
            first_val, other = seen.setdefault((train, run), (val, f"but {folder} by {checkpoint}"))
            if first_val != val:
                raise InputError(f"{folder}: computed by the model {checkpoint}, {other}: runs of one name trained on "
                                 f"two val collections share their results' folders, the one tested last holding "
                                 f"them; run do_all.sh for this run from stage 2 (its stages test it again); to keep "
                                 f"both runs' results, train one of them in another root")
            if not layout.is_weights_name(os.path.basename(path)):
                continue
            first, first_folder = weights.setdefault(checkpoint, (path, folder))
            if first != path:
                raise InputError(f"{folder}: computed with the weights {path}, but {first_folder} with "
                                 f"{os.path.basename(first)}: two epochs of one model in one table; test the run "
                                 f"again with its best epoch (tester.py without --weight_name, or do_all.sh)")


def require_a_test_split(folder, query_test):
    """InputError when ``folder``'s results, given as test figures on ``query_test``, rest on a choice made on
    that collection, as its records say: a model's best epoch (its checkpoint's val) or the CLM weight."""
    record = os.path.join(folder, layout.INPUTS_FILE)
    chosen = [f"the CLM weight ({record})"] if recorded_settings(record).get("weight_chosen_on") == query_test else []
    for checkpoint, (_, _, val, _) in traced_models(folder):
        if val == query_test:
            chosen.append(f"the best epoch of {checkpoint}")
    if chosen:
        raise InputError(f"{folder}: {query_test} is the collection {chosen[0]} was chosen on: figures on it would "
                         f"flatter the model; give the test collection (--query_test)")


# The settings a result folder without them in its record was computed with: the paper's (fusion on scores).
RESULT_SETTINGS = {"rank_norm": 0}


def require_computed_alike(route, folders):
    """InputError unless the result ``folders`` of ``route`` (a run's seeds, or runs compared) were computed
    alike (fuse.py's ``rank_norm``): a mean over two fusions is neither's, a difference between them not the
    models'."""
    def settings_of(folder):  # the settings of the computation (not the split a weight was chosen on)
        recorded = recorded_settings(os.path.join(folder, layout.INPUTS_FILE))
        return {key: recorded.get(key, default) for key, default in RESULT_SETTINGS.items()}

    first = settings_of(folders[0])
    for folder in folders[1:]:
        settings = settings_of(folder)
        if settings != first:
            key = next(k for k in sorted({*first, *settings}) if first.get(k) != settings.get(k))
            raise InputError(f"{folder}: {route} computed with {key} = {settings.get(key)}, but {folders[0]} with "
                             f"{key} = {first.get(key)}: results compared must be computed alike (set {key} alike "
                             f"in the inis and run do_all.sh again)")
