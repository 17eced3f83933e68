"""Search's CLM weight is the fusion stage's only for the models that stage used: its records are followed
back (weight → CM and CL rankings → both languages' sentence vectors → the models' weights), and a file
changed since, or a loaded model other than the one behind them, stops in one line. The pipeline's English
sentence vectors serve the CL route only while they are the loaded weights'."""
import os
from types import SimpleNamespace

import numpy as np
import pytest

from w2vv import layout
from w2vv.errors import InputError
from w2vv.fusion_runs import weight_text
from w2vv.layout import cl_dir, clm_dir, cm_dir
from w2vv.ranking import write_sent_feat
from w2vv.retrieval import pivot_sentences
from w2vv.retrieval.fusion_weight import read_current_weight
from w2vv.runs import record_inputs

ZH = ("cococntrain", "cococnval")
EN = ("mscoco2014dev-train", "mscoco2014dev-val")


def model(root, train, val, run, epoch=3):
    """A checkpoint folder of the layout with a weights file: what ``read_current_weight`` asks of a model."""
    folder = layout.checkpoint_dir(root, train, val, run)
    os.makedirs(folder, exist_ok=True)
    weights = os.path.join(folder, layout.weights_name(layout.epoch_label(epoch)))
    with open(weights, "w") as f:
        f.write(f"weights of {run}, epoch {epoch}\n")
    return SimpleNamespace(folder=folder, train=train, val=val, run_name=run, weights_file=weights)


def write_tested(root, trained, test, run):
    """The tester's folder of ``trained`` on ``test``: a ranking, the sentence vectors and their record."""
    folder = layout.similarity_dir(root, test, trained.train, run)
    os.makedirs(folder)
    for name in (layout.RANKING_FILE, layout.SENT_FEAT_FILE):
        with open(os.path.join(folder, name), "w") as f:
            f.write(f"{name} of {run} on {test}\n")
    record_inputs(folder, [trained.weights_file])
    return folder


def fused(root, zh_run="zh_run", en_run="en_run", rank_norm=0):
    """A root through the pipeline's stages 2-5 on val, as records: (weight.txt, zh model, en model)."""
    zh, en = model(root, *ZH, zh_run), model(root, *EN, en_run)
    cm = write_tested(root, zh, ZH[1], zh_run)
    en_sentences = write_tested(root, en, EN[1], en_run)
    os.makedirs(cl_dir(root, zh_run, ZH[1]))
    with open(os.path.join(cl_dir(root, zh_run, ZH[1]), layout.RANKING_FILE), "w") as f:
        f.write("CL ranking\n")
    record_inputs(cl_dir(root, zh_run, ZH[1]), [os.path.join(cm, layout.SENT_FEAT_FILE),
                                                os.path.join(en_sentences, layout.SENT_FEAT_FILE)])
    os.makedirs(clm_dir(root, zh_run, ZH[1]))
    weight = os.path.join(clm_dir(root, zh_run, ZH[1]), layout.WEIGHT_FILE)
    with open(weight, "w") as f:
        f.write(weight_text(0.4))
    record_inputs(os.path.dirname(weight), [os.path.join(cm_dir(root, zh_run, ZH[1]), layout.RANKING_FILE),
                                            os.path.join(cl_dir(root, zh_run, ZH[1]), layout.RANKING_FILE)],
                  rank_norm=rank_norm)
    return weight, zh, en


def test_the_weight_of_the_loaded_models_is_read(tmp_path):
    weight, zh, en = fused(str(tmp_path))
    assert read_current_weight(weight, [zh, en]) == 0.4


def test_a_weight_chosen_for_rank_normalised_scores_is_refused(tmp_path):
    """Search fuses the routes' scores: a weight chosen for 1 - rank/N would weigh other numbers."""
    weight, zh, en = fused(str(tmp_path), rank_norm=1)
    with pytest.raises(InputError, match=r"weight.txt: chosen for rank-normalised scores \(the fusion stage ran "
                                         r"with rank_norm = 1\).*give the weight \(--weight W\)"):
        read_current_weight(weight, [zh, en])


def test_a_weight_chosen_before_a_ranking_changed_is_refused(tmp_path):
    weight, zh, en = fused(str(tmp_path))
    ranking = os.path.join(cm_dir(str(tmp_path), "zh_run", ZH[1]), layout.RANKING_FILE)
    with open(ranking, "w") as f:
        f.write("the validation ranking of the model retrained since\n")
    with pytest.raises(InputError, match=rf"weight.txt: chosen on results computed from {ranking}, which "
                                         r"changed since \(a model retrained\).*or give the weight \(--weight W\)"):
        read_current_weight(weight, [zh, en])


@pytest.mark.parametrize("what", ["English sentence vectors", "English weights"])
def test_an_english_model_retrained_after_cl_makes_the_weight_stale(tmp_path, what):
    """Neither CL nor fusion was run again: the rankings the weight names are as they were."""
    weight, zh, en = fused(str(tmp_path))
    changed = en.weights_file if what == "English weights" else \
        os.path.join(layout.similarity_dir(str(tmp_path), EN[1], EN[0], "en_run"), layout.SENT_FEAT_FILE)
    with open(changed, "w") as f:
        f.write("retrained\n")
    with pytest.raises(InputError, match=rf"weight.txt: chosen on results computed from {changed}, which changed"):
        read_current_weight(weight, [zh, en])


def test_another_english_run_loaded_is_refused(tmp_path):
    weight, zh, en = fused(str(tmp_path))
    other = model(str(tmp_path), *EN, "other_en_run")
    with pytest.raises(InputError, match=rf"weight.txt: chosen on results of the model weights {en.weights_file}, "
                                         rf"which no loaded model has \(loaded: {zh.weights_file}, "
                                         rf"{other.weights_file}\).*or give the weight \(--weight W\)"):
        read_current_weight(weight, [zh, other])


def test_the_same_run_trained_further_is_refused(tmp_path):
    """Its best weights are of another epoch now: the folder is the same, the weights are not."""
    weight, zh, en = fused(str(tmp_path))
    further = model(str(tmp_path), *EN, "en_run", epoch=9)
    with pytest.raises(InputError, match=rf"chosen on results of the model weights {en.weights_file}, which no"):
        read_current_weight(weight, [zh, further])


def test_pipeline_sentence_vectors_of_other_weights_are_predicted_anew(tmp_path, monkeypatch):
    root = str(tmp_path)
    en = model(root, *EN, "en_run")
    captions = layout.caption_file(root, EN[1])
    os.makedirs(os.path.dirname(captions))
    with open(captions, "w") as f:
        f.write("COCO_1#0 a dog\nCOCO_2#0 a cat\n")
    folder = layout.similarity_dir(root, EN[1], EN[0], "en_run")
    os.makedirs(folder)
    write_sent_feat(os.path.join(folder, layout.SENT_FEAT_FILE), ["COCO_1#0", "COCO_2#0"], np.ones((2, 3)))
    record_inputs(folder, [en.weights_file, captions])
    monkeypatch.setattr("w2vv.inference.trained_model_name", lambda folder: "en_run")
    en.vectors = lambda texts: (np.full((len(texts), 3), 2.0), None)
    lines = []
    _, vectors = pivot_sentences.collection_vectors(root, en, EN[1], lines.append)
    assert (vectors == 1.0).all() and "read" in lines[-1]
    with open(en.weights_file, "w") as f:
        f.write("retrained, not tested since\n")
    _, vectors = pivot_sentences.collection_vectors(root, en, EN[1], lines.append)
    assert (vectors == 2.0).all() and "not used" in lines[-2] and "predicting 2 sentences" in lines[-1]


@pytest.mark.parametrize("key, en_value", [("img_feature", "pyresnet-152,pool5,os"), ("L2_normalize", 1)])
def test_cl_with_a_w2vv_english_run_of_other_features_is_refused(tmp_path, monkeypatch, key, en_value):
    """Two W2VV models of the same dimension regressed onto other features (or normalised otherwise)."""
    from w2vv import pivot_space
    root = str(tmp_path)
    zh, en = model(root, *ZH, "zh_run"), model(root, *EN, "en_run")
    config = {"img_feature": "pyresnext-101_rbps13k,flatten0_output,os", "L1_normalize": 0, "L2_normalize": 0}
    configs = {zh.folder: config, en.folder: {**config, key: en_value}}
    monkeypatch.setattr(pivot_space, "_family", lambda folder: "w2vv")
    monkeypatch.setattr(pivot_space.runs, "recorded_run", lambda folder: ("run", {"config": configs[folder]}))
    with pytest.raises(InputError, match=rf"CL for run zh_run: .* and its English model \({en.folder}\) {key} = "
                                         rf"{en_value!r}: their vectors are in two spaces"):
        pivot_space.require_one_space(root, "CL", "zh_run", ZH, (*EN, "en_run"))
    configs[en.folder] = config
    pivot_space.require_one_space(root, "CL", "zh_run", ZH, (*EN, "en_run"))


def test_results_of_two_epochs_of_one_model_are_not_tabled_together(tmp_path):
    """tester.py --weight_name epoch_0.h5 wrote a non-best epoch's test results under the run's name: CL, CLM (its
    weight chosen on the best epoch's val) and the table mixed the two epochs without a word."""
    from w2vv.result_checks import require_one_model_per_run
    root = str(tmp_path)
    best = model(root, *ZH, "zh_run", epoch=3)
    val = write_tested(root, best, ZH[1], "zh_run")
    earlier = model(root, *ZH, "zh_run", epoch=0)
    test = write_tested(root, earlier, "cococntest", "zh_run")
    require_one_model_per_run([val])
    with pytest.raises(InputError, match=rf"^{test}: computed with the weights {earlier.weights_file}, but {val} with "
                                         r"epoch_3.h5: two epochs of one model in one table; test the run again with "
                                         r"its best epoch"):
        require_one_model_per_run([val, test])
