"""A trained model's record is the one source of its inputs: the tester and search take the word2vec,
stop words and vocabularies the model was trained with from its record, a flag contradicting it or a
file changed or gone since stops in one line; a finished run whose inputs changed is not reused in
silence; vocabularies know what built them."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SMALL_MODEL, build_vocab, copy_root, one_error_line, run_main
from w2vv import layout, runs
from w2vv.collection_files import captions_of, imageset_of
from w2vv.text import DEFAULT_STOPWORDS, Tokenizer
from w2vv.vocab import build_vocabularies

EN = ("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test")
CONFIG = "base_w2vv"


def train(root, *extra):
    return run_main("trainer.py", *EN, "--rootpath", root, "--config", CONFIG, "--config_overrides", SMALL_MODEL,
                    "--max_epochs", "1", "--batch_size", "10", "--seed", "0", *extra)


def shuffled_word2vec(root, folder):
    """A copy of the English word2vec with the same words and other vectors (its rows rolled)."""
    shutil.copytree(layout.word2vec_path(str(root), "en"), folder)
    with open(folder / "shape.txt") as f:
        n, dim = (int(x) for x in f.read().split())
    vectors = np.fromfile(folder / "feature.bin", np.float32).reshape(n, dim)
    np.roll(vectors, 1, axis=0).tofile(folder / "feature.bin")
    return folder


@pytest.fixture(scope="module")
def trained(small_root, tmp_path_factory):
    """(root, the other word2vec, the checkpoint folder of a model trained with it)."""
    base = tmp_path_factory.mktemp("records")
    root = copy_root(small_root, base)
    build_vocab(root, EN[0])
    alt = shuffled_word2vec(root, base / "alt_w2v")
    done = train(root, "--word2vec", alt)
    assert done.returncode == 0, done.stderr
    folder = next(root.glob(f"{EN[0]}/cv_keras/{EN[1]}/w2vv_trainer.py/*w2v-alt-w2v"))
    return root, alt, folder


def run_tester(root, folder, *extra):
    return run_main("tester.py", EN[0], EN[2], "--rootpath", root, "--model_path", folder, "--evaluate", "1",
                    "--overwrite", "1", *extra)


def test_the_tester_and_search_read_the_word2vec_from_the_record(trained):
    root, alt, folder = trained
    from w2vv.retrieval.searcher import TrainedModel
    assert TrainedModel(str(folder)).encoder.inputs.word2vec_path == str(alt)
    sent_feat = os.path.join(layout.similarity_dir(str(root), EN[2], EN[0], folder.name), layout.SENT_FEAT_FILE)
    assert run_tester(root, folder, "--word2vec", alt).returncode == 0
    named = open(sent_feat).read()
    assert run_tester(root, folder).returncode == 0
    assert open(sent_feat).read() == named  # the record's word2vec, not the layout's
    from w2vv.comparison import results_trace
    results = results_trace(str(root), os.path.dirname(sent_feat))  # compare.py's, once the model's folder is gone
    assert results.settings == {str(folder): runs.recorded_run(str(folder))[1]}
    error = one_error_line(run_tester(root, folder, "--word2vec", layout.word2vec_path(str(root), "en")))
    assert f"not the word2vec run {folder.name} was trained with ({alt})" in error


def test_a_recorded_input_changed_or_gone_stops_in_one_line(trained, tmp_path):
    root, alt, folder = trained
    moved = shutil.move(alt, tmp_path / "away")
    try:
        error = one_error_line(run_tester(root, folder))
        assert error == f"error: {alt}: not found: the word2vec run {folder.name} was trained with"
    finally:
        shutil.move(moved, alt)
    vocab = layout.vocab_file(str(root), EN[0], "bow_filterstop")
    saved = open(vocab, encoding="utf-8").read()
    try:
        with open(vocab, "a", encoding="utf-8") as f:
            f.write("zebra\n")
        error = one_error_line(run_tester(root, folder))
        assert error.startswith(f"error: {vocab}: changed since run {folder.name} was trained with it as its "
                                f"vocabulary (without stop words)")
    finally:
        with open(vocab, "w", encoding="utf-8") as f:
            f.write(saved)
    assert run_tester(root, folder).returncode == 0


def test_features_changed_since_training_stop_the_tester_and_search(trained, tmp_path):
    """Rows reordered in place (the same size, shape and ids) were ranked in silence, mIR 0.06 for 0.44."""
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    features = layout.feature_dir(str(copy), layout.PAPER_FEATURE)
    with open(os.path.join(features, "shape.txt")) as f:
        n, dim = (int(x) for x in f.read().split())
    vectors = np.fromfile(os.path.join(features, "feature.bin"), np.float32).reshape(n, dim)
    vectors[::-1].tofile(os.path.join(features, "feature.bin"))
    error = one_error_line(run_tester(copy, copied))
    assert error.startswith(f"error: {features}: feature.bin changed since run {folder.name} was trained with these "
                            f"features (recorded feature.bin:") and error.endswith("restore them, or retrain the run")
    from w2vv import Searcher
    from w2vv.errors import InputError
    with pytest.raises(InputError, match="feature.bin changed since run"):
        Searcher(str(copied))
    assert len(Searcher(str(copied), gallery=layout.feature_dir(str(root), layout.PAPER_FEATURE)).gallery) == n


def test_results_rest_on_the_features_and_their_ranking(trained, tmp_path):
    """Features changed after testing left the CM ranking current for the stages after (CL, CLM, the table); a
    ranking deleted by hand was 'already tested' for the tester and 'not found' for the fusion stage."""
    from w2vv.errors import InputError
    from w2vv.result_checks import check_current
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    assert run_tester(copy, copied).returncode == 0
    out = layout.similarity_dir(str(copy), EN[2], EN[0], folder.name)
    os.remove(os.path.join(out, layout.RANKING_FILE))
    again = run_main("tester.py", EN[0], EN[2], "--rootpath", copy, "--model_path", copied, "--evaluate", "1",
                     "--overwrite", "0")
    assert again.returncode == 0 and "already tested" not in again.stderr + again.stdout
    assert os.path.isfile(os.path.join(out, layout.RANKING_FILE))
    check_current(out)
    feature_bin = os.path.join(layout.feature_dir(str(copy), layout.PAPER_FEATURE), "feature.bin")
    with open(feature_bin, "r+b") as f:
        f.write(b"\0\0\0\0")
    with pytest.raises(InputError, match=f"^{out}: computed from {feature_bin}, which changed since"):
        check_current(out)


def test_results_of_two_runs_of_one_name_and_two_val_collections_are_not_mixed(tmp_path):
    """A run trained with another val wrote its test results into the folder of the run of the same name; the
    fusion stage chose the weight on one model's val rankings and applied it to the other's test rankings."""
    from w2vv.errors import InputError
    from w2vv.result_checks import require_one_model_per_run
    root = str(tmp_path)
    folders = {}
    for val, test in (("cococnval", "cococnval"), ("cococnval2", "cococntest")):
        weights = os.path.join(layout.checkpoint_dir(root, "cococntrain", val, "run"), "epoch_1.h5")
        os.makedirs(os.path.dirname(weights))
        open(weights, "wb").write(val.encode())
        folders[test] = layout.similarity_dir(root, test, "cococntrain", "run")
        runs.record_inputs(folders[test], [weights])
    require_one_model_per_run([folders["cococnval"]])
    with pytest.raises(InputError, match=rf"^{folders['cococntest']}: computed by the model .*/cococnval2/"
                                         rf"w2vv_trainer.py/run, but {folders['cococnval']} by .*/cococnval/"
                                         r"w2vv_trainer.py/run: runs of one name trained on two val collections"):
        require_one_model_per_run([folders["cococnval"], folders["cococntest"]])
    asked = layout.checkpoint_dir(root, "cococntrain", "cococnval", "run")
    with pytest.raises(InputError, match=rf"computed by the model .*/cococnval2/w2vv_trainer.py/run, not by {asked}, "
                                         r"the model asked"):
        require_one_model_per_run([folders["cococntest"]], [asked])


def test_a_clm_weight_whose_test_results_another_val_s_run_rewrote_says_so_in_search(tmp_path):
    """Search said the weight's results had changed because "a model retrained": none was; a run of the same name
    trained on another val had been tested into the same folders (fuse.py said so)."""
    from w2vv.errors import InputError
    from w2vv.retrieval.fusion_weight import read_current_weight
    root, rankings = str(tmp_path), {}
    weights = {val: os.path.join(layout.checkpoint_dir(root, "cococntrain", val, "run"), "epoch_1.h5")
               for val in ("cococnval", "cococnval2")}
    for val, path in weights.items():
        os.makedirs(os.path.dirname(path))
        open(path, "wb").write(val.encode())
    for split in ("cococnval", "cococntest"):
        rankings[split] = os.path.join(layout.similarity_dir(root, split, "cococntrain", "run"), "sent.id.score.txt")
        os.makedirs(os.path.dirname(rankings[split]))
        open(rankings[split], "w").write(split)
        runs.record_inputs(os.path.dirname(rankings[split]), [weights["cococnval"]])
    weight = os.path.join(layout.similarity_dir(root, "cococnval", "cococntrain", "zh2en2img_run"), "weight.txt")
    os.makedirs(os.path.dirname(weight))
    open(weight, "w").write("w: 0.4\n")
    runs.record_inputs(os.path.dirname(weight), list(rankings.values()))
    assert read_current_weight(weight) == 0.4
    open(rankings["cococntest"], "w").write("the other run's")
    runs.record_inputs(os.path.dirname(rankings["cococntest"]), [weights["cococnval2"]])
    with pytest.raises(InputError, match="runs of one name trained on two val collections share their results' "):
        read_current_weight(weight)


def test_results_recorded_before_they_held_their_models_settings_are_tested_again_once(trained, tmp_path):
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    assert run_tester(copy, copied).returncode == 0
    record_file = os.path.join(layout.similarity_dir(str(copy), EN[2], EN[0], folder.name), layout.INPUTS_FILE)
    with open(record_file) as f:
        record = json.load(f)
    with open(record_file, "w") as f:  # as the tester wrote it then: its files alone
        json.dump(record["files"], f)
    for says in ("was recorded before results held their model's settings: testing again, once", "already tested"):
        done = run_main("tester.py", EN[0], EN[2], "--rootpath", copy, "--model_path", copied, "--evaluate", "1",
                        "--overwrite", "0")
        assert done.returncode == 0 and says in done.stdout + done.stderr, done.stdout + done.stderr


def test_a_model_without_a_run_record_is_recorded_so_in_its_results(trained, tmp_path):
    """The original code's model: its results' records said nothing of its settings, so that compare.py, its folder
    deleted, stopped as for results tested before records held them, with a fix that cannot work."""
    from w2vv.comparison import results_trace
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    os.remove(copied / runs.SETTINGS_FILE)
    lost = run_tester(copy, copied, "--word2vec", alt)  # this project's model, its record lost: nothing to check
    assert lost.returncode == 1 and "but its run record settings.json is gone" in lost.stderr
    os.remove(copied / layout.SUMMARY_FILE)  # as the original code's
    assert run_tester(copy, copied, "--word2vec", alt).returncode == 0
    out = layout.similarity_dir(str(copy), EN[2], EN[0], folder.name)
    assert results_trace(str(copy), out).settings == {str(copied): {}}


def test_vectors_written_again_without_a_ranking_leave_no_ranking_of_others(trained, tmp_path):
    """tester.py --evaluate 0 rewrote sent_feat.txt and the record, and kept the ranking and mIR of the weights
    before: current by every check."""
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    assert run_tester(copy, copied).returncode == 0
    out = layout.similarity_dir(str(copy), EN[2], EN[0], folder.name)
    assert os.path.isfile(os.path.join(out, layout.MIR_FILE))
    done = run_main("tester.py", EN[0], EN[2], "--rootpath", copy, "--model_path", copied, "--evaluate", "0",
                    "--overwrite", "1")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == [layout.INPUTS_FILE, layout.SENT_FEAT_FILE]


def test_a_model_of_another_root_does_not_replace_this_roots_own_results(trained, tmp_path):
    """tester.py --model_path of a seed root's model wrote its results over this root's run of the same name,
    which compare.py then counted as a second seed."""
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    error = one_error_line(run_tester(copy, folder))
    assert error == (f"error: --model_path {folder}: a model of another root ({root}), but {copy} has its own model "
                     f"of run {folder.name} ({copy / folder.relative_to(root)}), whose results these would replace; "
                     f"test it with --rootpath {root}")
    mistyped = tmp_path / "nowhere" / folder.relative_to(root)
    assert one_error_line(run_tester(copy, mistyped)) == (
        f"error: {mistyped}: model folder not found (check --model_path, or --rootpath, --val and --run)")


def _edited_captions(root):
    """A training sentence added (its id edited)."""
    captions = layout.caption_file(str(root), EN[0])
    with open(captions, encoding="utf-8") as f:
        first = f.readline()
    with open(captions, "a", encoding="utf-8") as f:
        f.write(first.replace("#", "#edited", 1))


def _reordered_validation_images(root):
    """The validation ImageSets listed in another order: the best epoch is chosen on them."""
    imageset = layout.imageset_file(str(root), EN[1])
    with open(imageset, encoding="utf-8") as f:
        lines = f.readlines()
    with open(imageset, "w", encoding="utf-8") as f:
        f.writelines(lines[::-1])


@pytest.mark.parametrize("edit, difference", [(_edited_captions, "captions train"),
                                              (_reordered_validation_images, "imagesets val")])
def test_a_finished_run_whose_inputs_changed_is_not_reused(trained, tmp_path, edit, difference):
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    edit(copy)
    error = one_error_line(train(copy, "--word2vec", alt))
    assert f"made with other settings: {difference}" in error and "--overwrite 1 retrains it" in error


def test_a_model_of_another_backend_is_reused_with_a_line_saying_so(trained, tmp_path):
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    settings_file = copy / folder.relative_to(root) / runs.SETTINGS_FILE
    record = json.loads(settings_file.read_text())
    record["settings"]["backend"] = "someother 1.0"
    settings_file.write_text(json.dumps(record))
    done = train(copy, "--word2vec", alt)
    assert done.returncode == 0 and "already trained, skipped" in done.stdout
    assert "trained on Keras's someother backend, reused on" in done.stdout


def test_a_mistyped_config_attribute_stops_with_the_nearest(small_root):
    done = run_main("trainer.py", *EN, "--rootpath", small_root, "--config", CONFIG,
                    "--config_overrides", "lstm_sise=64,n_layers=0-256-256")
    assert "unknown config attribute 'lstm_sise' (did you mean 'lstm_size'?)" in one_error_line(done)


def test_vocabularies_of_other_stop_words_live_beside_the_originals(small_root, tmp_path):
    root = str(copy_root(small_root, tmp_path))
    lines = []
    build_vocabularies(root, "cococntrain", Tokenizer("zh"), log=lines.append)
    default = layout.vocab_file(root, "cococntrain", "bow_filterstop")
    before = open(default, encoding="utf-8").read()
    same_list = tmp_path / "copy_of_zh.txt"
    shutil.copy(DEFAULT_STOPWORDS["zh"], same_list)
    build_vocabularies(root, "cococntrain", Tokenizer("zh", same_list), log=lines.append)
    assert lines[-1] == f"vocabulary exists, skipped: {default}"  # the same list under another name
    other = tmp_path / "other.txt"
    other.write_text("的\n", encoding="utf-8")
    build_vocabularies(root, "cococntrain", Tokenizer("zh", other), log=lines.append)
    assert "/TextData/vocabulary.stop-" in lines[-1] and open(default, encoding="utf-8").read() == before
    captions = layout.caption_file(root, "cococntrain")
    with open(captions, "a", encoding="utf-8") as f:
        f.write("COCO_train2014_000000000009#zh9 一只 狗\n")
    build_vocabularies(root, "cococntrain", Tokenizer("zh"), log=lines.append)
    assert f"{default}: counted from other captions or settings than now: counting again" in lines


def test_a_vocabulary_without_a_record_is_kept_and_recorded(small_root, tmp_path):
    from w2vv.vocab import record_file
    root = str(copy_root(small_root, tmp_path))
    build_vocabularies(root, "cococntrain", Tokenizer("zh"), log=lambda line: None)
    default = layout.vocab_file(root, "cococntrain", "bow")
    os.remove(record_file(default))  # as a vocabulary shipped with the data
    lines = []
    build_vocabularies(root, "cococntrain", Tokenizer("zh"), log=lines.append)
    assert lines[0].startswith("vocabulary without a record, kept and recorded") and os.path.isfile(
        record_file(default))


@pytest.mark.parametrize("content", ['{"files": {', "[1, 2]", '{"a.txt": 3}'])
def test_a_broken_results_record_stops_in_one_line(tmp_path, content):
    """A truncated inputs.json gave a traceback; one that was no object of files counted as no record: current."""
    from w2vv.fingerprint import recorded_files
    from w2vv.errors import InputError
    record = tmp_path / layout.INPUTS_FILE
    record.write_text(content)
    with pytest.raises(InputError, match=f"^{record}: not a record of the files its folder was computed from"):
        recorded_files(str(record))


def test_a_settings_record_of_another_shape_stops_in_one_line(tmp_path):
    from w2vv.errors import InputError
    (tmp_path / layout.SETTINGS_FILE).write_text('{"run_name": "x", "settings": []}')
    with pytest.raises(InputError, match="settings.json: not a settings record .*; delete the checkpoint folder"):
        runs.recorded_run(str(tmp_path))


def test_an_ini_that_is_not_utf8_stops_in_one_line(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_bytes(b"rootpath = /tmp\n# caf\xe9\n")
    from w2vv.errors import InputError
    from w2vv.settings import read_settings
    with pytest.raises(InputError, match=f"^{ini}:2: settings file is not UTF-8 text"):
        read_settings(str(ini))


def test_a_model_whose_training_has_not_finished_is_not_tested_nor_searched(trained):
    """A retraining killed halfway leaves config.json and an epoch's weights, but no model.json: the tester
    tested it into the run's results in silence."""
    root, alt, folder = trained
    done_file = folder / layout.MODEL_FILE
    saved = done_file.read_text()
    done_file.unlink()
    try:
        error = one_error_line(run_tester(root, folder))
        assert error == f"error: {folder}: its training has not finished (no model.json, which the trainer writes " \
                        f"last): run the trainer again (it resumes), or give a finished model"
        from w2vv.errors import InputError
        from w2vv.retrieval.searcher import TrainedModel
        with pytest.raises(InputError, match="its training has not finished"):
            TrainedModel(str(folder))
    finally:
        done_file.write_text(saved)


def test_a_training_image_added_to_the_test_set_after_training_stops_the_tester(trained):
    """The check ran only before training: a training sentence's image appended to the test collection since
    was tested in silence."""
    root, alt, folder = trained
    image = captions_of(str(root), EN[0])[0][0].split("#")[0]
    imageset = layout.imageset_file(str(root), EN[2])
    saved = open(imageset, encoding="utf-8").read()
    try:
        with open(imageset, "a", encoding="utf-8") as f:
            f.write(f"{image}\n")
        error = one_error_line(run_tester(root, folder))
        assert error.startswith(f"error: {imageset}: 1 of its images are described by sentences of {EN[0]}")
    finally:
        with open(imageset, "w", encoding="utf-8") as f:
            f.write(saved)


def test_one_stop_word_list_named_by_two_paths_is_the_same_setting(tmp_path, monkeypatch):
    """The ini's relative path to the list a run was trained with by its absolute one: 'made with other settings',
    and --overwrite 1 advised to retrain an identical model."""
    listed = tmp_path / "lists" / "mine.txt"
    listed.parent.mkdir()
    listed.write_text("的\n了\n", encoding="utf-8")
    copy = tmp_path / "mine.txt"
    copy.write_text("的\n了\n", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("的\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    recorded = {"config": {"stopwords_zh": str(listed)}}
    for same in ("lists/mine.txt", str(copy)):
        assert runs.differences(recorded, {"config": {"stopwords_zh": same}}) == []
    assert runs.differences(recorded, {"config": {"stopwords_zh": str(other)}}) == \
        [f"stopwords_zh {str(listed)!r} (asked {str(other)!r})"]


def test_a_vocabulary_variant_not_built_names_the_command_that_builds_it(small_root, tmp_path):
    """'run build_vocab.py first': run as stage 1 does, it built the default vocabularies, not the variant."""
    root = copy_root(small_root, tmp_path)
    other = tmp_path / "other.txt"
    other.write_text("的\n", encoding="utf-8")
    done = run_main("trainer.py", "cococntrain", "cococnval", "cococntest", "--rootpath", root, "--config", CONFIG,
                    "--config_overrides", f"{SMALL_MODEL},stopwords_zh={other},normalize_zh=1", "--max_epochs", "1")
    assert one_error_line(done).endswith(f"vocabulary not found (run build_vocab.py cococntrain --rootpath {root} "
                                         f"--stopwords {other} --normalize_zh 1 first)")


def test_a_vocabulary_counted_before_its_captions_were_edited_stops_the_trainer(small_root_vocab, tmp_path):
    """do_all.sh --stage 3 (or trainer.py alone) trained on the words of the captions of before, without a word; the
    doctor called that vocabulary OK."""
    root, train = copy_root(small_root_vocab, tmp_path), "cococntrain"
    captions = Path(layout.caption_file(str(root), train))
    captions.write_text("".join(line + " 独角兽\n" for line in captions.read_text(encoding="utf-8").splitlines()),
                        encoding="utf-8")
    done = run_main("trainer.py", train, "cococnval", "cococntest", "--rootpath", root, "--config", CONFIG,
                    "--config_overrides", SMALL_MODEL, "--max_epochs", "1")
    stale = layout.vocab_file(str(root), train, "bow")
    assert one_error_line(done) == (f"error: {stale}: counted from other captions or stop words than now (edited "
                                    f"since?); count it again: build_vocab.py {train} --rootpath {root} (do_all.sh's "
                                    f"stage 1)")
    assert not (root / train / "cv_keras").exists()
    doctor = run_main("check_root.py", "--rootpath", root, "--config", CONFIG, "--config_overrides", SMALL_MODEL)
    assert doctor.returncode == 0 and doctor.stdout.count("counted from other captions or stop words than now "
                                                          "(stage 1 counts it again)") == 2, doctor.stdout
    build_vocab(root, train)
    doctor = run_main("check_root.py", "--rootpath", root, "--config", CONFIG, "--config_overrides", SMALL_MODEL)
    assert doctor.returncode == 0 and "counted from other" not in doctor.stdout, doctor.stdout


def test_a_val_sentence_of_an_image_val_does_not_list_stops_the_trainer_before_it_trains(small_root_vocab, tmp_path):
    """It was found by the test of val after the whole training, whose best epoch it had helped choose; the fixed
    captions then made the run's record differ: all retrained."""
    root = copy_root(small_root_vocab, tmp_path)
    test_image = imageset_of(str(root), "cococntest")[0]
    captions = Path(layout.caption_file(str(root), "cococnval"))
    n = len(captions.read_text(encoding="utf-8").splitlines())
    with open(captions, "a", encoding="utf-8") as f:
        f.write(f"{test_image}#9 一只 狗 在 草地 上\n")
    done = run_main("trainer.py", "cococntrain", "cococnval", "cococntest", "--rootpath", root, "--config", CONFIG,
                    "--config_overrides", SMALL_MODEL, "--max_epochs", "1")
    assert one_error_line(done) == (f"error: {captions}:{n + 1}: sentence '{test_image}#9' describes image "
                                    f"'{test_image}', which {layout.imageset_file(str(root), 'cococnval')} does not "
                                    f"list: it cannot be ranked; add the image there, or delete the sentence")
    assert not (root / "cococntrain" / "cv_keras").exists()


def test_a_batch_larger_than_the_images_ctl_draws_from_stops_before_the_checkpoint_folder(small_root, tmp_path):
    """Refused after the model was built, leaving a folder with settings.json and no model."""
    root = copy_root(small_root, tmp_path)
    build_vocab(root, EN[0])
    done = run_main("trainer.py", *EN, "--rootpath", root, "--config", "w2vv_attention_ctl", "--config_overrides",
                    SMALL_MODEL, "--max_epochs", "1", "--batch_size", "100000")
    assert "training images: loss ctl draws each batch's negatives" in one_error_line(done)
    assert not (root / EN[0] / "cv_keras").exists()


def test_a_renamed_copy_of_a_model_does_not_replace_its_runs_results(trained):
    """A backup of a model kept under another folder name in the same root was tested under its recorded run's
    name, and its figures replaced the run's own model's without a word."""
    root, alt, folder = trained
    backup = folder.parent / "backup_before_retraining"
    shutil.copytree(folder, backup)
    try:
        error = one_error_line(run_tester(root, backup))
    finally:
        shutil.rmtree(backup)
    assert error == (f"error: --model_path {backup}: a copy of run {folder.name} (its record's name, not its "
                     f"folder's backup_before_retraining), whose results, written under the run's name, would "
                     f"replace those of the run's own model ({folder}); test the copy in a root of its own")


def test_results_of_a_model_whose_training_captions_changed_since_are_not_read(trained, tmp_path):
    """report.py and compare.py tabled a model trained on captions edited since beside models of the root's data
    now, where do_all.sh and the tester refuse it: also with the model's folder deleted since."""
    from w2vv.errors import InputError
    from w2vv.result_checks import check_current
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    assert run_tester(copy, copied).returncode == 0
    out = layout.similarity_dir(str(copy), EN[2], EN[0], folder.name)
    features = layout.feature_dir(str(copy), "pyresnext-101_rbps13k,flatten0_output,os")
    (Path(features) / "notes.txt").write_text("a file added to the model's features is not a change\n")
    check_current(out)
    caption = layout.caption_file(str(copy), EN[0])
    with open(caption, "a", encoding="utf-8") as f:
        f.write("COCO_train2014_000000000001#9 one more sentence\n")
    for delete_the_model in (False, True):
        if delete_the_model:
            shutil.rmtree(copied)
        with pytest.raises(InputError) as stale:
            check_current(out)
        assert str(stale.value) == (f"{out}: computed by the model {copied}, trained with {caption}, which changed "
                                    f"since: a model of other data than the root holds now; run do_all.sh again "
                                    f"for this run (its trainer says how to retrain it)")


def test_a_model_whose_training_captions_changed_is_refused_before_its_test_writes_anything(trained, tmp_path):
    """The tester predicted, ranked and wrote a whole test of a model trained on captions edited since, and only then
    refused to draw its page (exit 1, results left that a rerun without --overwrite took as done)."""
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)
    out = Path(layout.similarity_dir(str(copy), EN[2], EN[0], folder.name))
    before = {f.name: f.read_bytes() for f in out.iterdir()} if out.is_dir() else {}
    caption = layout.caption_file(str(copy), EN[0])
    with open(caption, "a", encoding="utf-8") as f:
        f.write("COCO_train2014_000000000001#9 one more sentence\n")
    assert one_error_line(run_tester(copy, copied)) == (
        f"error: {copied}: trained with {caption}, which changed since: a model of other data than the root holds "
        f"now; run do_all.sh again for this run (its trainer says how to retrain it)")
    assert ({f.name: f.read_bytes() for f in out.iterdir()} if out.is_dir() else {}) == before


def test_a_file_beside_the_features_added_or_removed_is_not_a_change_of_them(small_root, tmp_path):
    """A note added to the training features' folder made the trainer refuse its finished run ("made with other
    settings"), and one there at training and removed since made its results stale, where the features are the
    same."""
    from w2vv.result_checks import check_current
    root = copy_root(small_root, tmp_path)
    build_vocab(root, EN[0])
    features = Path(layout.feature_dir(str(root), "pyresnext-101_rbps13k,flatten0_output,os"))
    (features / "README.txt").write_text("there at training\n")
    assert train(root).returncode == 0
    (features / "README.txt").unlink()
    (features / "notes.txt").write_text("added since\n")
    again = train(root, "--check_only")
    assert again.returncode == 0, again.stderr
    folder = next(root.glob(f"{EN[0]}/cv_keras/{EN[1]}/w2vv_trainer.py/*"))
    assert run_tester(root, folder).returncode == 0
    check_current(layout.similarity_dir(str(root), EN[2], EN[0], folder.name))


def test_a_model_trained_from_another_clone_reads_this_clones_stop_words_whatever_that_clones_list_became(
        trained, tmp_path):
    """A root trained from one clone and used from another names the first clone's stop-word list: once that list
    changed, results, the tester and search refused the model, though this clone's list is the one it was trained
    with."""
    from w2vv.result_checks import MODEL_SETTINGS, check_current
    from w2vv.retrieval.searcher import TrainedModel
    root, alt, folder = trained
    copy = copy_root(root, tmp_path / "root")
    copied = copy / folder.relative_to(root)
    assert run_tester(copy, copied).returncode == 0
    out = layout.similarity_dir(str(copy), EN[2], EN[0], folder.name)
    other_clone = tmp_path / "other_clone" / "en.txt"
    other_clone.parent.mkdir()
    shutil.copy(DEFAULT_STOPWORDS["en"], other_clone)
    for record, key in ((copied / layout.SETTINGS_FILE, "settings"), (Path(out) / layout.INPUTS_FILE, MODEL_SETTINGS)):
        content = json.loads(record.read_text())
        content[key]["stopwords"]["path"] = str(other_clone)
        record.write_text(json.dumps(content))
    with open(other_clone, "a", encoding="utf-8") as f:
        f.write("another\n")
    check_current(out)
    assert TrainedModel(str(copied)).encoder.inputs.stopwords_path == str(DEFAULT_STOPWORDS["en"])


@pytest.mark.parametrize("evaluate", [True, False])
def test_a_test_cut_short_after_its_vectors_is_not_done_once_its_inputs_are_as_before(trained, tmp_path, evaluate,
                                                                                      monkeypatch):
    """Killed between the new vectors of edited test captions and their ranking, then the captions put back: the
    record of before vouched for the folder ('already tested, skipped'), and CL and the table were computed from
    the vectors of the edit."""
    from w2vv import testing
    root, alt, folder = trained
    copy = copy_root(root, tmp_path)
    copied = copy / folder.relative_to(root)

    def test(log=lambda line: None):
        return testing.predict_and_rank(str(copy), EN[0], [EN[2]], str(copied), evaluate=evaluate, overwrite=False,
                                        log=log)[0]
    out = Path(test())
    vectors = (out / "sent_feat.txt").read_bytes()
    caption = Path(layout.caption_file(str(copy), EN[2]))
    before = caption.read_text(encoding="utf-8")
    caption.write_text(before.replace("\n", " dog\n", 1), encoding="utf-8")
    write_sent_feat = testing.write_sent_feat

    def killed(*args):
        write_sent_feat(*args)
        raise KeyboardInterrupt
    monkeypatch.setattr(testing, "write_sent_feat", killed)
    with pytest.raises(KeyboardInterrupt):
        test()
    monkeypatch.undo()
    caption.write_text(before, encoding="utf-8")
    lines = []
    test(lines.append)
    assert not [line for line in lines if "already tested" in line], lines
    assert (out / "sent_feat.txt").read_bytes() == vectors


def test_a_kill_between_a_better_epochs_weights_and_its_state_leaves_the_best_recorded(small_root_vocab, tmp_path,
                                                                                      monkeypatch):
    """The weights of the best epoch recorded were removed before the state naming the new best was written: killed
    in between, and the epoch done again not better, model.json named weights that were gone ('epoch_0.h5: weights
    file not found' at every test, the run counted as done)."""
    from w2vv import training
    root = copy_root(small_root_vocab, tmp_path)
    args = ["cococntrain", "cococnval", "cococntest", "--rootpath", root, "--config", CONFIG, "--config_overrides",
            SMALL_MODEL, "--max_epochs", "2", "--seed", "0"]
    figures, save_resume_state = iter([0.1, 0.2, 0.05]), training.save_resume_state  # epoch 1 better, then not

    def killed_at_epoch_1(folder, model, progress):
        if progress.next_epoch == 2:
            raise KeyboardInterrupt
        save_resume_state(folder, model, progress)
    monkeypatch.setattr(training, "validation_figure", lambda *args: next(figures))
    monkeypatch.setattr(training, "save_resume_state", killed_at_epoch_1)
    assert run_main("trainer.py", *args).returncode == 130
    monkeypatch.setattr(training, "save_resume_state", save_resume_state)
    done = run_main("trainer.py", *args)
    assert done.returncode == 0, done.stderr
    folder = next((root / "cococntrain" / "cv_keras" / "cococnval" / "w2vv_trainer.py").iterdir())
    assert sorted(f.name for f in folder.glob("epoch_*")) == ["epoch_0.h5"]
    (folder / layout.RESUME_FILE).write_bytes(b"left by a kill right after model.json was written")
    assert "already trained, skipped" in run_main("trainer.py", *args).stdout
    assert not (folder / layout.RESUME_FILE).exists()
