"""The CLM weight search fuses the routes with: the fusion stage's ``weight.txt``, read only while what it was
chosen on holds for the models loaded (``read_current_weight``), and read again when fuse.py wrote it anew
(``fusion_state``)."""
import os

from .. import layout
from ..errors import InputError
from ..fingerprint import recorded_settings, traced_sources
from ..fusion_runs import read_weight
from ..result_checks import require_one_model_per_run
from .pivot_sentences import loaded_fingerprint


def read_current_weight(path, models=()):
    """``read_weight``, refusing a weight chosen on results computed from files that changed since (a model
    retrained after the fusion stage), or by a model other than ``models`` (the loaded ones the route uses:
    another English run, or the same run's weights of another epoch), or for scores replaced by ranks
    (``rank_norm``: search fuses the routes' scores), as the fusion stage's records say. A loaded model's weights
    count as loaded (``weights_fingerprint``), whatever its file holds now."""
    record = os.path.join(os.path.dirname(path), layout.INPUTS_FILE)
    if recorded_settings(record).get("rank_norm"):
        raise InputError(f"{path}: chosen for rank-normalised scores (the fusion stage ran with rank_norm = 1), "
                         f"but search fuses the routes' scores themselves: give the weight (--weight W), or run "
                         f"stage 5 again with rank_norm = 0")
    loaded = {os.path.realpath(model.weights_file): loaded_fingerprint(model) for model in models}
    files, changed = traced_sources(record, loaded)
    if changed:
        require_one_model_per_run([os.path.dirname(path)])  # a run of this name trained on another val tested since
        raise InputError(f"{path}: chosen on results computed from {changed[0]}, which changed since (a model "
                         f"retrained): run do_all.sh again for this run (stage 5 chooses it anew), or give the "
                         f"weight (--weight W)")
    others = [f for f in files if layout.is_checkpoint_dir(os.path.dirname(f)) and os.path.realpath(f) not in loaded]
    if models and others:
        raise InputError(f"{path}: chosen on results of the model weights {others[0]}, which no loaded model has "
                         f"(loaded: {', '.join(model.weights_file for model in models)}): search with the models the "
                         f"fusion stage used, or give the weight (--weight W)")
    unrecorded = [f for f in files if os.path.basename(f) == layout.SENT_FEAT_FILE and
                  not os.path.isfile(os.path.join(os.path.dirname(f), layout.INPUTS_FILE))]  # the original code's
    runs_loaded = {(model.train, model.run_name) for model in models}
    strangers = [f for f in unrecorded if (_parent(f, 2), _parent(f, 1)) not in runs_loaded]
    if models and strangers:
        raise InputError(f"{path}: chosen on the sentence vectors {strangers[0]} (of the original code: unrecorded) "
                         f"of run {_parent(strangers[0], 1)}, which no loaded model is (loaded: "
                         f"{', '.join(model.run_name for model in models)}): search with the models the fusion stage "
                         f"used, or give the weight (--weight W)")
    return read_weight(path)


def _parent(path, up):
    """The name of the folder ``up`` levels above the file ``path`` (1: its own)."""
    for _ in range(up):
        path = os.path.dirname(path)
    return os.path.basename(path)


def fusion_state(path):
    """The bytes of the fusion stage's ``weight.txt`` at ``path`` and of its record, small files (None: not read,
    ``read_current_weight`` says why): fuse.py run again changes them."""
    return tuple(_content(p) for p in (path, os.path.join(os.path.dirname(path), layout.INPUTS_FILE)))


def _content(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
