"""A model, and what is derived from it, is reused only when it was made with the same settings:
a changed setting trains into a folder of its own (named after the change), a changed file
behind the same name stops with one line, and derived results are redone when their inputs change."""
import os
import shutil
from pathlib import Path

import h5py
import pytest

import trainer
from tests.helpers import SMALL_MODEL
from w2vv import cli, layout, runs
from w2vv.config import parse_overrides
from w2vv.text import DEFAULT_STOPWORDS, Tokenizer
from w2vv.vocab import build_vocabularies


TRAIN, VAL, TEST, CONFIG = "cococntrain", "cococnval", "cococntest", "base_w2vv"


def name_of(overrides="", **kwargs):
    return runs.configured_run(CONFIG, parse_overrides(overrides), **kwargs)[1]


def test_the_run_name_shows_every_setting_that_differs_from_the_config_file():
    assert name_of() == CONFIG
    assert name_of("lstm_size=1024") == CONFIG  # the config's own value: no change
    assert name_of("lstm_size=256") == "base_w2vv_lstm_size256"
    assert name_of("max_epochs=25,lstm_size=256") == "base_w2vv_lstm_size256_max_epochs25"
    assert name_of("stopwords_en=/lists/my_list.txt") == "base_w2vv_stopwords_enmy-list"  # "_" separates the tags
    assert name_of("normalize_zh=1") == "base_w2vv_normalize_zh1"
    assert name_of("optimizer_impl=keras3") == "base_w2vv_optimizer_implkeras3"
    assert name_of("batch_size=10") == "base_w2vv_batch_size10"
    assert name_of(feature_collection="myfeatures") == "base_w2vv_feat-myfeatures"
    assert name_of(word2vec_path="/data/w2v/vec300.bin") == "base_w2vv_w2v-vec300"
    long_a, long_b = (name_of(f"lstm_size={n},n_layers=0-4096-4096-4096-2048,lr=0.0005,dropout=0.3,"
                              "stopwords_zh=/a/very_long_list_name_of_stop_words.txt") for n in (64, 65))
    assert len(long_a) <= runs.MAX_NAME and long_a.startswith("base_w2vv_dropout0.3_") and long_a != long_b


def test_settings_of_another_language_do_not_name_a_model():
    """normalize_zh or a Chinese stop-word list retrained the English model, the pipeline's costliest step, into
    the same weights under a new name: an English model reads neither. The query language's model keeps the
    English model's tags too: its name names the pipeline; a third language's it drops."""
    chinese_only = "normalize_zh=1,stopwords_zh=/lists/zh_list.txt"
    assert name_of(chinese_only, langs=("en",)) == CONFIG
    assert name_of(chinese_only, langs=("zh", "en")) == name_of(chinese_only) == \
        "base_w2vv_normalize_zh1_stopwords_zhzh-list"
    assert name_of("stopwords_ja=/lists/ja_list.txt", langs=("zh", "en")) == CONFIG  # a third language's
    both = "stopwords_en=/lists/my_list.txt,lstm_size=256"
    assert name_of(both, langs=("en",)) == name_of(both) == "base_w2vv_lstm_size256_stopwords_enmy-list"
    own = runs.configured_run("w2vvpp_resnext101", parse_overrides("image_towers=own"), langs=("en",))
    assert own[1] == "w2vvpp_resnext101" and own[0].image_towers == "english"


def test_a_word2vec_given_as_the_layouts_own_does_not_name_a_run(tmp_path):
    """trainer.py --word2vec <root>/zh_w2v/model/zh_jieba.model tagged the run w2v-zh_jieba and trained it anew."""
    default = Path(layout.word2vec_path(str(tmp_path), "zh"))
    default.parent.mkdir(parents=True)
    default.write_text("a model")
    (tmp_path / "link.model").symlink_to(default)
    (tmp_path / "copy.model").write_text("a model")
    for same in (default, tmp_path / "zh_w2v" / ".." / "zh_w2v" / "model" / "zh_jieba.model", tmp_path / "link.model"):
        assert runs.word2vec_given(tmp_path, "zh", str(same)) is None
    assert runs.word2vec_given(tmp_path, "zh", str(tmp_path / "copy.model")) == str(tmp_path / "copy.model")
    assert runs.word2vec_given(tmp_path, "en", str(default)) == str(default)  # not English's own
    assert runs.word2vec_given(tmp_path, "zh", None) is None


def test_a_content_fingerprint_follows_the_content_not_the_copy(tmp_path):
    big = tmp_path / "vectors.bin"
    big.write_bytes(os.urandom(3 << 20))
    copy = tmp_path / "copy" / "vectors.bin"
    copy.parent.mkdir()
    shutil.copy(big, copy)  # a new modification time
    assert runs.file_fingerprint(big).split(":", 1)[1] == runs.file_fingerprint(copy).split(":", 1)[1]
    with open(big, "r+b") as f:  # a change in the last MB
        f.seek(-10, os.SEEK_END)
        f.write(b"0123456789")
    assert runs.file_fingerprint(big) != runs.file_fingerprint(copy)
    from w2vv.fingerprint import file_parts, same_content
    colon = tmp_path / "stop:words.txt"  # a name with ':' was read as the name 'stop' of content 'words.txt:…'
    colon.write_text("the\n")
    (tmp_path / "list.txt").write_text("the\n")
    assert [name for name, _ in file_parts(runs.file_fingerprint(colon))] == ["stop:words.txt"]
    assert same_content(runs.file_fingerprint(colon), runs.file_fingerprint(tmp_path / "list.txt"))


def test_within_hashed_once_a_file_is_hashed_once_until_it_changes(tmp_path, monkeypatch):
    """report.py hashed a model's training captions once per results folder naming them (216 hashes of 42 files on
    the demo root)."""
    from w2vv import fingerprint
    hashed = []
    monkeypatch.setattr(fingerprint, "_hash_file", lambda path, hash_file=fingerprint._hash_file: (
        hashed.append(path), hash_file(path))[1])
    captions = tmp_path / "captions.txt"
    captions.write_text("img1#0 a dog\n")
    link = tmp_path / "link.txt"
    link.symlink_to(captions)
    with fingerprint.hashed_once():
        first = [fingerprint.file_fingerprint(captions) for _ in range(3)]
        assert fingerprint.file_fingerprint(link).startswith("link.txt:")  # its own name, the content hashed once
        captions.write_text("img1#0 a dog on the grass\n")  # another size: hashed again
        edited = fingerprint.file_fingerprint(captions)
    assert len(hashed) == 2 and first[0] != edited and len(set(first)) == 1
    fingerprint.file_fingerprint(captions)
    assert len(hashed) == 3  # outside it, every fingerprint taken anew


@pytest.fixture(scope="module")
def pristine(small_root_vocab):
    return small_root_vocab


@pytest.fixture
def root(pristine, tmp_path):
    return Path(shutil.copytree(pristine, tmp_path / "VisualSearch"))


def train(root, overrides=SMALL_MODEL, *extra):
    return cli.run(trainer.main, [TRAIN, VAL, TEST, "--rootpath", str(root), "--config", CONFIG,
                                  "--max_epochs", "1", "--batch_size", "10", "--config_overrides", overrides, *extra])


def folder_of(root, overrides=SMALL_MODEL):
    return layout.checkpoint_dir(str(root), TRAIN, VAL, name_of(f"{overrides},max_epochs=1,batch_size=10"))


def stamps(folder):
    return {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in os.listdir(folder)}


@pytest.mark.slow
def test_a_changed_setting_trains_into_its_own_folder_and_keeps_the_first(root, capsys):
    assert train(root) == 0
    first = folder_of(root)
    before = stamps(first)
    other = "lstm_size=12,n_layers=0-16-16"
    assert train(root, other) == 0
    second = folder_of(root, other)
    assert second != first and os.path.basename(second).startswith("base_w2vv_batch_size10_lstm_size12")
    assert os.path.isfile(os.path.join(second, "model.json")) and stamps(first) == before
    for folder in (first, second):  # the tester's results follow the run's name
        name = runs.recorded_run(folder)[0]
        assert name == os.path.basename(folder)
        assert os.path.isfile(os.path.join(layout.similarity_dir(str(root), TEST, TRAIN, name), "mir.txt"))
    assert train(root) == 0 and "already trained, skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_cl_finds_the_english_model_named_without_the_query_languages_settings(root, tmp_path):
    """A Chinese model trained with a stop-word list of its own is named with it, and its English model, which
    does not read it, without: CL's default English run is that one, from the Chinese model's record."""
    stop_list = tmp_path / "stop_zh.txt"
    shutil.copy(DEFAULT_STOPWORDS["zh"], stop_list)
    overrides = f"{SMALL_MODEL},stopwords_zh={stop_list},max_epochs=1,batch_size=10"
    assert train(root, overrides) == 0
    name, english = name_of(overrides), ("mscoco2014dev-train", "mscoco2014dev-val")
    assert os.path.isdir(layout.checkpoint_dir(str(root), TRAIN, VAL, name))
    assert runs.english_run(root, (TRAIN, VAL), english, name) == name_of(overrides, langs=("en",)) != name
    assert runs.english_run(root, (TRAIN, VAL), english, "not_trained") == "not_trained"
    os.makedirs(layout.checkpoint_dir(str(root), *english, name))  # an English model named so before: kept
    assert runs.english_run(root, (TRAIN, VAL), english, name) == name


def test_another_list_of_the_same_file_name_is_named_as_another_file_not_as_a_change():
    """Runs with /tmp/a/list.txt and /tmp/b/list.txt share a name: the second was refused saying the first list (and
    its vocabulary) had changed, untouched as they were, with the fix --overwrite 1, which retrains the first run."""
    def entry(path, size, digit):
        return {"path": path, "content": f"list.txt:{size}:{digit * 40}"}
    was, now = {"stopwords": entry("/tmp/a/list.txt", 10, "1")}, {"stopwords": entry("/tmp/b/list.txt", 12, "2")}
    assert runs.differences(was, now) == ["stopwords /tmp/a/list.txt (asked another file, /tmp/b/list.txt) (a run is "
                                          "named by a file's name, not its folder: rename one to train a run of each)"]
    now["stopwords"]["path"] = was["stopwords"]["path"]
    assert runs.differences(was, now) == [f"stopwords /tmp/a/list.txt changed (recorded list.txt:10:{'1' * 40}, "
                                          f"now list.txt:12:{'2' * 40})"]


@pytest.mark.slow
def test_a_changed_stop_word_list_behind_the_same_name_stops_with_one_line(root, tmp_path, capsys):
    stop_list = tmp_path / "stop_zh.txt"
    shutil.copy(DEFAULT_STOPWORDS["zh"], stop_list)
    overrides = f"{SMALL_MODEL},stopwords_zh={stop_list}"
    assert train(root, overrides) == 0
    with open(stop_list, "a", encoding="utf-8") as f:
        f.write("狗\n")
    build_vocabularies(str(root), TRAIN, Tokenizer("zh", stop_list), log=lambda line: None)  # as stage 1 does
    capsys.readouterr()
    assert train(root, overrides) == 1
    err = capsys.readouterr().err.strip()
    settings = os.path.join(folder_of(root, overrides), runs.SETTINGS_FILE)
    assert err.startswith(f"error: {settings}: made with other settings: stopwords {stop_list} changed") and \
        "\n" not in err
    assert "--overwrite 1 retrains it" in err
    assert train(root, overrides, "--overwrite", "1") == 0


def test_another_seed_is_not_a_silent_reuse_and_a_resume_checks_the_settings(root, capsys):
    assert train(root, SMALL_MODEL, "--seed", "1") == 0
    assert train(root, SMALL_MODEL) == 0  # no seed asked: the trained draw will do
    capsys.readouterr()
    assert train(root, SMALL_MODEL, "--seed", "2") == 1
    assert "seed 1 (asked 2)" in capsys.readouterr().err
    folder = folder_of(root)
    os.remove(os.path.join(folder, "model.json"))
    Path(folder, "resume_state.npz").write_bytes(b"")  # an interrupted run, made with seed 1
    assert train(root, SMALL_MODEL, "--seed", "2") == 1
    assert capsys.readouterr().err.startswith(f"error: {os.path.join(folder, runs.SETTINGS_FILE)}: made with other")
    # as the error says: --overwrite 1 starts it anew, with the seed asked
    assert train(root, SMALL_MODEL, "--seed", "2", "--overwrite", "1") == 0
    assert runs.recorded_run(folder)[1]["seed"] == 2


def test_a_folder_without_a_settings_record_is_reused_as_the_papers_unless_this_project_trained_it(root, capsys):
    """A folder of this project whose record was lost (its model and weights copied alone) passed for the original
    code's, whose inputs are the layout's: tested and searched on a vocabulary counted since, in silence."""
    assert train(root) == 0
    os.remove(os.path.join(folder_of(root), runs.SETTINGS_FILE))
    capsys.readouterr()
    assert train(root) == 1
    assert f"{folder_of(root)}: trained by this project (its summary.json), but its run record settings.json is " \
           "gone: what it was trained with cannot be checked" in capsys.readouterr().err
    os.remove(os.path.join(folder_of(root), layout.SUMMARY_FILE))  # as a folder of the original code
    assert train(root) == 0 and "already trained, skipped" in capsys.readouterr().out


def _nudge(item):
    if isinstance(item, h5py.Dataset) and item.size:
        item[...] = item[...] + 1


def test_test_results_are_redone_when_the_model_changed(root, capsys):
    assert train(root) == 0
    capsys.readouterr()
    assert train(root) == 0
    assert "testing again" not in capsys.readouterr().out
    weights = [f for f in os.listdir(folder_of(root)) if f.endswith(".h5")][0]
    with h5py.File(os.path.join(folder_of(root), weights), "r+") as f:  # as another model written there
        f.visititems(lambda name, item: _nudge(item))
    assert train(root) == 0
    out = capsys.readouterr().out
    assert f"{VAL}: the model, its features, the captions or the images changed" in out
    assert f"{TEST}: the model, its features, the captions or the images changed" in out


def test_a_ranking_is_redone_when_its_image_set_changed(root, capsys):
    """The images ranked are the ImageSets': another list (here reordered) makes the ranking stale."""
    assert train(root) == 0
    imageset = Path(layout.imageset_file(str(root), TEST))
    imageset.write_text("\n".join(reversed(imageset.read_text().split())) + "\n")
    capsys.readouterr()
    assert train(root) == 0
    out = capsys.readouterr().out
    assert f"{VAL}: already tested, skipped" in out
    assert f"{TEST}: the model, its features, the captions or the images changed" in out


def test_cl_and_fusion_are_redone_when_their_inputs_changed(tmp_path):
    from tests.test_ranking_files import CONFIG as TINY_CONFIG, en_sent_feat, run_script, write_tiny_root
    tiny = tmp_path / "tiny"
    write_tiny_root(tiny)
    args = ["--rootpath", tiny, "--run", TINY_CONFIG]
    assert run_script("cross_lingual.py", *args).returncode == 0
    assert run_script("fuse.py", *args).returncode == 0
    same = run_script("cross_lingual.py", *args)
    assert same.stdout.count("skip cococn") == 2 and "skip fusion" in run_script("fuse.py", *args).stdout
    sent_feat = en_sent_feat(tiny, "test")
    with open(sent_feat, encoding="utf-8") as f:
        lines = f.readlines()
    (id0, vector0), (id1, vector1) = (line.split(" ", 1) for line in lines[:2])
    with open(sent_feat, "w", encoding="utf-8") as f:  # the English model's vectors predicted anew
        f.writelines([f"{id0} {vector1}", f"{id1} {vector0}", *lines[2:]])
    again = run_script("cross_lingual.py", *args)
    assert "skip cococnval" in again.stdout and "CL cococntest" in again.stdout
    assert "was computed from other sentence vectors than" in again.stdout  # said, not done in silence
    assert "CLM w =" in run_script("fuse.py", *args).stdout  # its CL input changed


def test_cl_refuses_english_vectors_of_a_model_retrained_since(tmp_path):
    """The English model retrained and its test cut short: CL paired the new Chinese vectors with the old English
    ones (mIR at chance), and then skipped, its two files unchanged, however often it was run."""
    from tests.test_ranking_files import CONFIG as TINY_CONFIG, en_sent_feat, run_script, write_tiny_root
    tiny = tmp_path / "tiny"
    write_tiny_root(tiny)
    weights = Path(layout.checkpoint_dir(str(tiny), "mscoco2014dev-train", "mscoco2014dev-val", TINY_CONFIG),
                   "epoch_1.h5")
    weights.parent.mkdir(parents=True)
    weights.write_text("the English model's weights\n")
    runs.record_inputs(str(en_sent_feat(tiny, "test").parent), [weights])  # what the tester records
    args = ["--rootpath", tiny, "--run", TINY_CONFIG]
    assert run_script("cross_lingual.py", *args).returncode == 0
    weights.write_text("the English model retrained\n")
    done = run_script("cross_lingual.py", *args)
    assert done.returncode == 1 and "skip cococntest" not in done.stdout
    assert f"{en_sent_feat(tiny, 'test').parent}: computed from {weights}, which changed since: its results are " \
           f"stale" in done.stderr


def test_an_attribute_added_after_the_record_at_its_default_is_no_difference():
    cfg = runs.configured_run(CONFIG)[0]
    asked = runs.run_settings(cfg, runs.TrainingRun("root", TRAIN, VAL), "zh")
    recorded = {**asked, "config": {k: v for k, v in asked["config"].items() if k != "optimizer_impl"}}
    assert runs.differences(recorded, asked) == []
    keras3 = {**asked, "config": {**asked["config"], "optimizer_impl": "keras3"}}
    assert runs.differences(recorded, keras3) == ["optimizer_impl None (asked 'keras3')"]


def test_data_parallel_training_is_another_run():
    """--distribute mirrored sums and draws otherwise, even on one device: a run of either was reused by the
    other in silence; a record written before the setting was is taken as the one asked."""
    cfg = runs.configured_run(CONFIG)[0]
    single = runs.run_settings(cfg, runs.TrainingRun("root", TRAIN, VAL), "zh")
    mirrored = runs.run_settings(cfg, runs.TrainingRun("root", TRAIN, VAL, distribute="mirrored"), "zh")
    assert runs.differences(single, mirrored) == ["distribute 'none' (asked 'mirrored')"]
    assert runs.differences({k: v for k, v in single.items() if k != "distribute"}, mirrored) == []


def test_a_moved_root_keeps_its_models(root, tmp_path, capsys):
    assert train(root) == 0
    moved = Path(shutil.move(str(root), str(tmp_path / "elsewhere")))
    capsys.readouterr()
    assert train(moved) == 0
    out = capsys.readouterr().out
    assert "already trained, skipped" in out and "already tested, skipped" in out and "testing again" not in out


def test_the_run_record_names_the_inputs_the_encoder_read(root, tmp_path):
    from w2vv.run_inputs import make_encoder
    from w2vv.runs import TrainingRun
    stop_list = tmp_path / "my-stop.txt"
    stop_list.write_text("的\n", encoding="utf-8")
    build_vocabularies(str(root), TRAIN, Tokenizer("zh", stop_list), log=lambda line: None)
    cfg = runs.configured_run(CONFIG, {"stopwords_zh": str(stop_list)})[0]
    run = TrainingRun(str(root), TRAIN, VAL)
    encoder = make_encoder(run.root, run.train, cfg, run.word2vec_path)
    recorded = runs.run_record(run, cfg, encoder.inputs)
    assert recorded == runs.run_record(run, cfg)  # resolved by the same function when no encoder is built
    assert recorded["stopwords"]["path"] == str(stop_list) == encoder.tokenizer.stopwords_path  # outside the root
    assert recorded["word2vec"]["path"] == os.path.relpath(layout.word2vec_path(run.root, "zh"), run.root)
    variant = os.path.basename(os.path.dirname(os.path.dirname(recorded["vocabularies"]["bow"]["path"])))
    assert variant.startswith("vocabulary.stop-")  # other stop words: vocabularies of their own
    assert set(recorded["captions"]) == {"train", "val"} and recorded["features"]["content"]
    assert recorded["language"] == "zh"


def test_results_without_a_record_are_current_only_for_inputs_not_made_here(tmp_path):
    """The original code's results beside a model trained here under the same run name: they were taken as its
    test ('already tested') and tabled as its figures."""
    results, model, original = tmp_path / "results", tmp_path / "model", tmp_path / "original"
    for folder in (results, model, original):
        folder.mkdir()
    for folder in (model, original):
        (folder / "epoch_2.h5").write_bytes(b"weights")
    runs.save_record(str(model), "run", {"seed": 0})
    assert runs.inputs_unchanged(str(results), [original / "epoch_2.h5"])  # the original's own model
    assert not runs.inputs_unchanged(str(results), [model / "epoch_2.h5"])


def test_a_folder_without_a_run_record_is_named_by_its_folder(tmp_path):
    """A checkpoint converted from the original's (config.json named after the original folder): its results went
    to the original's folder and replaced them."""
    import json
    from w2vv.inference import trained_model_name
    folder = tmp_path / "tiny_base_conv"
    folder.mkdir()
    (folder / layout.CONFIG_FILE).write_text(json.dumps({"name": "tiny_base", "vocab_size": 5, "aux_dim": 3}))
    assert trained_model_name(str(folder)) == "tiny_base_conv"


def test_the_original_codes_model_ranks_by_the_papers_feature(tmp_path):
    """Its model.json names no feature: the tester recorded none, and features changed since went unseen."""
    from w2vv.testing import _ranked_features
    folder = tmp_path / "cococntrain" / "cv_keras" / "cococnval" / "w2vv_trainer.py" / "tiny_base"
    folder.mkdir(parents=True)
    (folder / layout.MODEL_FILE).write_text('{"keras_version": "2.2.4"}')
    assert _ranked_features(str(tmp_path), str(folder), layout.DEFAULT_FEATURE_COLLECTION) == \
        layout.feature_dir(str(tmp_path), layout.PAPER_FEATURE)
