"""CL and CLM on disk (docs/method.md#cross-lingual-matching-cl, docs/method.md#fusion-clm): CL from the two
languages' ``sent_feat.txt``, CLM from the CM and CL rankings, each recording the files it was computed from, in the
result folders of a run (``layout.cl_dir``, ``cm_dir``, ``clm_dir``). The maths: ``w2vv.fusion``."""
import os
import re

import numpy as np

from . import languages, layout, runs
from .atomic import write_text
from .errors import InputError
from .fingerprint import recorded_files, recorded_settings
from .fusion import best_weight, cross_lingual, fuse, scores_by_image
from .layout import RANKING_FILE, SENT_FEAT_FILE, WEIGHT_FILE, cl_dir, clm_dir, cm_dir
from .ranking import read_ranking, read_sent_feat, relevance, remove_results, write_results
from .result_checks import MODEL_SETTINGS, check_current, traced_models
from .textfile import read_lines

PAPER = layout.DEFAULT_COLLECTIONS  # the paper's collections: the default of every role


def require_tested(root, run, query_test, query_train=PAPER["query_train"]):
    """InputError naming the runs tested on ``query_test`` when ``run`` is none of them: a run trained with
    settings other than its config's carries them in its name, so a config's name finds no results."""
    if os.path.isdir(cm_dir(root, run, query_test, query_train)):
        return
    folder = os.path.dirname(cm_dir(root, run, query_test, query_train))
    routes = re.compile(rf"^[a-z]+2{languages.PIVOT}(2img)?_")  # CL's and CLM's folders
    tested = sorted(name for name in (os.listdir(folder) if os.path.isdir(folder) else []) if not routes.match(name))
    raise InputError(f"{folder}: no run {run} tested on {query_test} (runs tested there: "
                     f"{', '.join(tested) or 'none'}); a run trained with settings other than its config's carries "
                     f"them in its name: python -m w2vv.settings --run_name INI CONFIG prints it")


def require_not_validated_on(root, run, query_test, query_train=PAPER["query_train"]):
    """InputError when ``run``'s CM results on ``query_test`` have no record (the original code's: a record says
    which model they rest on, ``result_checks.require_a_test_split``) and a model of ``run`` in ``root`` was validated
    on ``query_test`` (its checkpoint folder ``<query_train>/cv_keras/<query_test>/…/<run>/``): its best epoch
    was chosen there."""
    folder = layout.checkpoint_dir(root, query_train, query_test, run)
    recorded = os.path.isfile(os.path.join(cm_dir(root, run, query_test, query_train), layout.INPUTS_FILE))
    if not recorded and os.path.isdir(folder):
        raise InputError(f"{folder}: run {run} was validated on {query_test}, its best epoch chosen there: figures "
                         f"on it would flatter the model; give the test collection (--query_test)")


# ---------------------------------------------------------------- CL on disk

def _same_images_or_fail(zh_path, zh_ids, en_path, en_ids):
    zh_images = {layout.image_id(s) for s in zh_ids}
    en_images = {layout.image_id(s) for s in en_ids}
    if zh_images != en_images:
        only_zh, only_en = sorted(zh_images - en_images), sorted(en_images - zh_images)
        raise InputError(f"{zh_path}: its images differ from those of {en_path} "
                         f"({len(only_zh)} only in the Chinese, e.g. {only_zh[:1]}; {len(only_en)} only "
                         f"in the English, e.g. {only_en[:1]}): CL needs the same images in both")


def cl_inputs(root, config, query_test, en_test, query_train=PAPER["query_train"], en_train=PAPER["en_train"],
              en_config=None):
    """The two ``sent_feat.txt`` files (Chinese, English) CL of one split is computed from; the
    English model's run is ``en_config`` when given, else ``config``."""
    return [os.path.join(layout.similarity_dir(root, query_test, query_train, config), SENT_FEAT_FILE),
            os.path.join(layout.similarity_dir(root, en_test, en_train, en_config or config), SENT_FEAT_FILE)]


def current_cl_inputs(root, config, query_test, en_test, query_train=PAPER["query_train"],
                      en_train=PAPER["en_train"], en_config=None):
    """``cl_inputs``, each there (else InputError naming the stage that writes it) and current: sentence vectors of
    a model retrained since (the English one, whose test was cut short) would pair two models' spaces."""
    zh_path, en_path = cl_inputs(root, config, query_test, en_test, query_train, en_train, en_config)
    _require_stage_done(zh_path, f"the {languages.of_collection(query_train).name} model's vectors of {query_test}",
                        "stage 3 of do_all.sh, or tester.py")
    _require_stage_done(en_path, f"the English model's vectors of {en_test}", "stage 2 of do_all.sh, or tester.py")
    for path in (zh_path, en_path):
        check_current(os.path.dirname(path))
    return zh_path, en_path


def cross_lingual_run(root, config, query_test, query_train, zh_path, en_path):
    """Read both languages' ``sent_feat.txt`` of one split (``current_cl_inputs``), write the CL results into
    ``<root>/<query_test>/SimilarityIndex/<query_train>/zh2en_<config>/``; return (folder, metrics)."""
    zh_ids, zh_vecs = read_sent_feat(zh_path)
    en_ids, en_vecs = read_sent_feat(en_path)
    _same_images_or_fail(zh_path, zh_ids, en_path, en_ids)
    scores, relevant = cross_lingual(zh_ids, zh_vecs, en_ids, en_vecs)
    out_dir = cl_dir(root, config, query_test, query_train)
    metrics = write_results(out_dir, zh_ids, en_ids, scores, relevant)
    runs.record_inputs(out_dir, [zh_path, en_path])
    return out_dir, metrics


# ---------------------------------------------------------------- CLM on disk

class FusionInput:
    """One split's CM and CL tables aligned on the same sentences (rows) and images (columns)."""

    def __init__(self, query_ids, image_ids, cm, cl):
        self.query_ids, self.image_ids, self.cm, self.cl = query_ids, image_ids, cm, cl
        self.relevant = relevance(query_ids, image_ids)


def _rows_in_order(cl_path, cl_queries, cm_path, cm_queries):
    """Row indices of the CL file that put its sentences in the CM file's order."""
    row_of = {q: i for i, q in enumerate(cl_queries)}
    if set(row_of) != set(cm_queries):
        raise InputError(f"{cl_path}: ranks other sentences than {cm_path} "
                         f"({len(row_of)} vs {len(cm_queries)})")
    return [row_of[q] for q in cm_queries]


def load_fusion_input(cm_path, cl_path):
    """Read a CM and a CL ``sent.id.score.txt`` and align them; InputError naming the files
    when they rank other sentences, other images, or a sentence's own image is missing."""
    cm_queries, images, cm = read_ranking(cm_path)
    cl_queries, en_sentences, cl = read_ranking(cl_path)
    rows = _rows_in_order(cl_path, cl_queries, cm_path, cm_queries)
    try:
        cl_images = scores_by_image(en_sentences, cl[rows], images)
    except ValueError as e:
        raise InputError(f"{cl_path}: ranks other images than {cm_path} ({e})") from None
    fusion_input = FusionInput(cm_queries, images, cm, cl_images)
    lacking = np.flatnonzero(~fusion_input.relevant.any(axis=1))
    if len(lacking):
        raise InputError(f"{cm_path}: the image of {cm_queries[lacking[0]]} is not among the ranked "
                         f"images ({len(lacking)} sentences so)")
    return fusion_input


def _split_inputs(root, config, query_test, query_train):
    return [os.path.join(cm_dir(root, config, query_test, query_train), RANKING_FILE),
            os.path.join(cl_dir(root, config, query_test, query_train), RANKING_FILE)]


def clm_inputs(root, config, query_val=PAPER["query_val"], query_test=PAPER["query_test"],
               query_train=PAPER["query_train"]):
    """The CM and CL rankings of val and test that CLM is computed from."""
    return _split_inputs(root, config, query_val, query_train) + _split_inputs(root, config, query_test, query_train)


def _load_split(root, config, query_test, query_train):
    cm_path, cl_path = _split_inputs(root, config, query_test, query_train)
    _require_stage_done(cm_path, f"the CM ranking of {query_test}", "stage 3 of do_all.sh, or tester.py")
    _require_stage_done(cl_path, f"the CL ranking of {query_test}", "stage 4 of do_all.sh, or cross_lingual.py")
    return load_fusion_input(cm_path, cl_path)


def _require_stage_done(path, what, stage):
    """InputError naming the stage that writes ``path`` when it is not there: a stage run before the one it needs."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found: {what}, which {stage} writes; run that first")


def cl_english_run(folder):
    """The run of the English model whose sentence vectors the CL results in ``folder`` matched against, as its
    record says (None without one)."""
    files = list(recorded_files(os.path.join(folder, layout.INPUTS_FILE)))
    # cl_inputs' order: the Chinese sentence vectors, then the English ones, in their run's folder
    return os.path.basename(os.path.dirname(files[1])) if len(files) == 2 else None


def given_english_run(root, config, query_test, query_train=PAPER["query_train"]):
    """The English run that CL of ``config`` on ``query_test`` matched against where it is not the one ``config``
    goes with (``runs.english_run``, as ``do_all.sh`` pairs them): one given to ``cross_lingual.py --en_run``;
    else None, also where the query model's settings are known neither from its record nor from their copy in its CM
    results (an older record, the model's folder deleted since)."""
    folder = cl_dir(root, config, query_test, query_train)
    english = cl_english_run(folder)
    if english in (None, config):
        return None
    models = {parts[1]: parts for _, parts in traced_models(folder)}
    query = models.get(query_train)
    en = next((parts for train, parts in models.items() if train != query_train), None)
    if query is None or en is None:
        return english
    settings = recorded_settings(os.path.join(cm_dir(root, config, query_test, query_train), layout.INPUTS_FILE))
    record = settings.get(MODEL_SETTINGS) or (runs.recorded_run(layout.checkpoint_dir(*query)) or (None, None))[1]
    if not record:  # neither the model's folder nor its results hold its settings: the pairing cannot be told
        return None
    paired = runs.english_run(root, (query_train, query[2]), en[1:3], config, record)
    return None if paired == english else english


def _require_one_english_run(root, config, splits, query_train):
    """InputError when the CL results of the splits were computed with the sentence vectors of two English runs
    (``cross_lingual.py --en_run`` given for one split): a weight chosen on one English model, applied to another's."""
    runs_of = {split: cl_english_run(cl_dir(root, config, split, query_train)) for split in splits}
    if len(set(runs_of.values()) - {None}) > 1:
        (a, run_a), (b, run_b) = runs_of.items()
        raise InputError(f"{cl_dir(root, config, b, query_train)}: CL of {b} was computed with the English run "
                         f"{run_b}, CL of {a} with {run_a}: run cross_lingual.py for both splits with one --en_run")


def weight_text(w):
    """``weight.txt``: the weight chosen on val, ``w: 0.xx``."""
    return f"w: {w:.2f}\n"


def read_weight(path):
    """The ``w`` of a fusion ``weight.txt`` (``w: 0.xx``)."""
    fields = " ".join(read_lines(path, "fusion weight", " (run fuse.py, or give the weight)")).split()
    try:
        if len(fields) != 2 or fields[0] != "w:":
            raise ValueError
        w = float(fields[1])
    except ValueError:
        raise InputError(f"{path}:1: expected 'w: <number>'") from None
    if not 0.0 <= w <= 1.0:
        raise InputError(f"{path}:1: weight {w} is not in [0, 1]")
    return w


def _write_fused(out_dir, split_input, w, rank_norm):
    fused = fuse(split_input.cl, split_input.cm, w, rank_norm=rank_norm)
    remove_results(out_dir)  # before the weight: search reads it where the record of before would still vouch
    write_text(os.path.join(out_dir, WEIGHT_FILE), weight_text(w))
    return write_results(out_dir, split_input.query_ids, split_input.image_ids, fused, split_input.relevant)


def fusion_run(root, config, query_val=PAPER["query_val"], query_test=PAPER["query_test"],
               query_train=PAPER["query_train"], rank_norm=False):
    """Choose w on val, apply it on test; write ``zh2en2img_<config>/`` for both splits
    (test last, so its ``mir.txt`` marks the run complete). Returns (w, val metrics, test metrics)."""
    _require_one_english_run(root, config, (query_val, query_test), query_train)
    val_input = _load_split(root, config, query_val, query_train)
    test_input = _load_split(root, config, query_test, query_train)
    w, _ = best_weight(val_input.cl, val_input.cm, val_input.relevant, rank_norm=rank_norm)
    remove_results(clm_dir(root, config, query_test, query_train))  # the run is done once test's is written again
    val_metrics = _write_fused(clm_dir(root, config, query_val, query_train), val_input, w, rank_norm)
    test_metrics = _write_fused(clm_dir(root, config, query_test, query_train), test_input, w, rank_norm)
    for zh in (query_val, query_test):
        runs.record_inputs(clm_dir(root, config, zh, query_train),
                           clm_inputs(root, config, query_val, query_test, query_train),
                           **clm_settings(query_val, rank_norm))
    return w, val_metrics, test_metrics


def clm_settings(query_val, rank_norm):
    """What a CLM folder's record holds besides its files: ``rank_norm``, and the split the weight was chosen on
    (the same four rankings with val and test swapped choose it on test)."""
    return dict(rank_norm=int(rank_norm), weight_chosen_on=query_val)
