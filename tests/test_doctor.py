"""check_root.py, the doctor: passes a complete root, reports every broken-root case with its
fix, and do_all.sh refuses to start on a broken root with the doctor's table."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import check_root
from tests.helpers import REPO, SMALL_MODEL
from w2vv import layout
from w2vv.bigfile import write_bigfile


CONFIG = "w2vv_attention_ctl"


@pytest.fixture(scope="module")
def pristine(small_root):
    return small_root


@pytest.fixture
def root(pristine, tmp_path):
    return Path(shutil.copytree(pristine, tmp_path / "VisualSearch"))


def doctor(root, capsys, *extra):
    """(exit status, {what: (status, detail, fix)}, printed table) of check_root.py on ``root``."""
    status = check_root.main(["--rootpath", str(root), "--config", CONFIG, "--config_overrides", SMALL_MODEL, *extra])
    out = capsys.readouterr().out
    rows, last = {}, None
    for line in out.splitlines()[1:-1]:
        if line.lstrip().startswith("fix: "):
            rows[last] = rows[last][:2] + (line.split("fix: ", 1)[1],)
            continue
        state, rest = line.split(None, 1)
        last, detail = [part.strip() for part in rest.split("  ", 1)]
        rows[last] = (state, detail.strip(), "")
    return status, rows, out


def features(root):
    return root / layout.feature_dir("", layout.PAPER_FEATURE)


def test_a_complete_root_passes_with_the_published_counts_as_notes(root, capsys):
    status, rows, out = doctor(root, capsys)
    assert status == 0, out
    assert all(state == "OK" for state, _, _ in rows.values()), out
    assert len(rows) == 1 + 6 + 2 + 2 + 4, out   # config, collections, features + coverage, word2vec, vocabularies
    assert "published: 121,286 / 606,757" in rows["mscoco2014dev-train"][1]
    assert rows["word2vec (zh)"][1].endswith("500-d")
    assert rows["vocabulary cococntrain bow"][1] == "not built yet (stage 1 builds it)"
    assert out.splitlines()[-1] == f"{root}: ready for {CONFIG}"


def _drop_collection(root):
    shutil.rmtree(root / "cococnval")


def _truncate_features(root):
    with open(features(root) / "feature.bin", "r+b") as f:
        f.truncate(os.path.getsize(features(root) / "feature.bin") - 4)


def _id_without_feature(root):
    with open(root / layout.imageset_file("", "cococntest"), "a") as f:
        f.write("COCO_val2014_999999999999\n")


def _word2vec_of_wrong_dimension(root):
    folder = root / layout.en_word2vec_dir("")
    shutil.rmtree(folder)
    write_bigfile(folder, ["dog", "cat"], np.ones((2, 8), np.float32))


def _no_chinese_word2vec(root):
    os.remove(root / layout.zh_word2vec_file(""))


def _empty_vocabulary(root):
    path = Path(layout.vocab_file(str(root), "cococntrain", "bow"))
    path.parent.mkdir(parents=True)
    path.write_text("")


def _features_of_another_dimension(root):
    ids = (features(root) / "id.txt").read_text().split()
    shutil.rmtree(features(root))
    write_bigfile(features(root), ids, np.ones((len(ids), 12), np.float32))


def _append_caption_line(root, coll, line):
    """Append ``line`` to ``coll``'s caption file; the line number it has there."""
    path = root / layout.caption_file("", coll)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, line]) + "\n", encoding="utf-8")
    return len(lines) + 1


def _malformed_caption_line(root):
    return _append_caption_line(root, "cococnval", "this line is broken")


def _repeated_sentence_id(root):
    first = (root / layout.caption_file("", "cococntest")).read_text(encoding="utf-8").splitlines()[0]
    return _append_caption_line(root, "cococntest", first.split(" ", 1)[0] + " 另 一个 句子")


def _test_image_in_training(root):
    """A training sentence of a test image: the test would judge the model on an image it trained on."""
    image = (root / layout.imageset_file("", "cococntest")).read_text(encoding="utf-8").split()[0]
    return _append_caption_line(root, "cococntrain", f"{image}#99 一只 狗")


def _unsegmented_captions(root):
    """Chinese sentences as typed, not split into words: no word of them would be known."""
    path = root / layout.caption_file("", "cococntrain")
    lines = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(f"{sid} {text.replace(' ', '')}\n" for sid, text in lines), encoding="utf-8")


CASES = {  # damage, the row, its status, words of its detail, words of its fix
    "missing collection": (_drop_collection, "cococnval", "MISSING", "cococnval.caption.txt: not found",
                           "./do_all.sh --stage 0 w2vv_attention_ctl"),
    "truncated features": (_truncate_features, "features", "WRONG", "bytes, but shape.txt says", "move"),
    "ImageSets id without feature": (_id_without_feature, "feature coverage", "WRONG",
                                     "cococntest: ImageSets id 'COCO_val2014_999999999999' has no feature (1 missing)",
                                     "or ImageSets file: move it away ("),
    "word2vec of the wrong dimension": (_word2vec_of_wrong_dimension, "word2vec (en)", "WRONG",
                                        "8-d vectors, but the config's embed_size is 500",
                                        "away, then ./do_all.sh --stage 0"),
    "missing Chinese word2vec": (_no_chinese_word2vec, "word2vec (zh)", "MISSING", "zh_jieba.model: not found",
                                 "zh_w2v.zip"),
    "empty vocabulary": (_empty_vocabulary, "vocabulary cococntrain bow", "WRONG", "vocabulary is empty",
                         "--stage 1"),
    "features of another dimension": (_features_of_another_dimension, "features", "WRONG",
                                      "12-d, but the config's MLP ends with 16", "n_layers"),
    "malformed caption line": (_malformed_caption_line, "cococnval", "WRONG",
                               "malformed caption line: it starts with 'this', not a sentence id",
                               "correct or delete that line (a caption line is '<image id>#<n> <sentence>'"),
    "repeated sentence id": (_repeated_sentence_id, "cococntest", "WRONG", "repeated (first at line 1)",
                             "correct or delete that line"),
    "unsegmented Chinese captions": (_unsegmented_captions, "cococntrain", "WRONG",
                                     "of them have no space, but Chinese caption files hold words separated by spaces",
                                     "segment the sentences into words separated by spaces"),
    "test image in training": (_test_image_in_training, "cococntest vs cococntrain", "WRONG",
                               "cococntest.txt: 1 of its images are described by sentences of cococntrain",
                               "take the collections from the same release"),
}


def test_a_successors_space_may_be_of_any_width_beside_the_features(root, capsys):
    """W2VV regresses into the feature space, so its last width is the features'; a successor's image tower maps
    the features into its common space, whose width n_layers gives, whatever the features'."""
    _features_of_another_dimension(root)                      # 12-d features
    status = check_root.main(["--rootpath", str(root), "--config", "w2vvpp_resnext101", "--config_overrides",
                              "lstm_size=8,n_layers=0-16"])
    out = capsys.readouterr().out
    assert status == 0 and "12 float32" in out and out.splitlines()[-1].endswith("ready for w2vvpp_resnext101"), out


def test_the_vocabularies_checked_are_those_the_config_reads(root, capsys):
    """Without --freq_threshold the doctor checks the config's bow_vocab N; a different one given is WRONG."""
    vocab = Path(layout.vocab_file(str(root), "cococntrain", "bow", threshold=3))
    vocab.parent.mkdir(parents=True)
    vocab.write_text("")
    overrides = ["--config_overrides", SMALL_MODEL + ",bow_vocab=word_vocab_3"]
    status, rows, out = doctor(root, capsys, *overrides)
    assert status == 1 and rows["vocabulary cococntrain bow"][0] == "WRONG", out
    status, rows, out = doctor(root, capsys, *overrides, "--freq_threshold", "5")
    assert status == 1 and rows["freq_threshold"][:2] == ("WRONG", f"5, but {CONFIG} reads word_vocab_3 (bow_vocab)")
    assert rows["freq_threshold"][2] == "set freq_threshold = 3 (or leave it out)", out


@pytest.mark.parametrize("case", CASES)
def test_each_broken_root_is_reported_with_its_fix(case, root, capsys):
    damage, what, state, detail, fix = CASES[case]
    damage(root)
    status, rows, out = doctor(root, capsys)
    assert status == 1, out
    assert rows[what][0] == state and detail in rows[what][1] and fix in rows[what][2], out
    assert "1 problem(s)" in out.splitlines()[-1] or case == "ImageSets id without feature", out


def test_every_caption_file_is_read_line_by_line_and_its_bad_line_named(root, capsys):
    damaged = {}
    for i, coll in enumerate(layout.DEFAULT_COLLECTIONS.values()):
        first = (root / layout.caption_file("", coll)).read_text(encoding="utf-8").split(" ", 1)[0]
        bad, problem = [("一只 狗", "malformed caption line: it starts with '一只'"),
                        (f"{first}\t一只 狗", "holds a tab"),
                        (f"{first} 一只 狗", f"sentence id {first!r} repeated (first at line 1)")][i % 3]
        damaged[coll] = (f"{root / layout.caption_file('', coll)}:{_append_caption_line(root, coll, bad)}: ", problem)
    status, rows, out = doctor(root, capsys)
    assert status == 1, out
    for coll, (place, problem) in damaged.items():
        state, detail, fix = rows[coll]
        assert state == "WRONG" and detail.startswith(place) and problem in detail, out
        assert fix.startswith("correct or delete that line") and "--stage 0" in fix, out
    assert out.splitlines()[-1] == f"{root}: 6 problem(s); fix them and run check_root.py again", out


def test_without_a_root_the_doctor_says_where_to_set_it(tmp_path, capsys):
    status, rows, out = doctor(tmp_path / "nowhere", capsys)
    assert status == 1 and rows["rootpath"][0] == "MISSING" and "set rootpath in the ini" in rows["rootpath"][2]


def test_do_all_refuses_a_broken_root_with_the_doctors_table(root, tmp_path):
    _drop_collection(root)
    ini = tmp_path / "test.ini"
    ini.write_text(f"rootpath = {root}\npython = {sys.executable}\nconfig_overrides = {SMALL_MODEL}\n")
    result = subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), CONFIG],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1
    assert "MISSING  cococnval" in result.stdout, result.stdout
    assert result.stderr.strip() == (f"error: {root}: not ready for {CONFIG}; fix what the table above says "
                                     "(stage 0 fetches the data)")
    assert "stage 1: vocabularies" not in result.stdout
    assert not os.path.exists(layout.vocab_dir(str(root), "cococntrain", "bow"))


def test_a_validation_image_in_the_test_set_is_wrong(root, capsys):
    """The best epoch and the CLM weight are chosen on val: a test image among them flatters the test figures."""
    image = (root / layout.imageset_file("", "cococnval")).read_text(encoding="utf-8").split()[0]
    for test in ("cococntest", "mscoco2014dev-test"):
        with open(root / layout.imageset_file("", test), "a", encoding="utf-8") as f:
            f.write(f"{image}\n")
    status, rows, out = doctor(root, capsys)
    assert status == 1, out
    assert rows["cococntest vs cococnval"][0] == "WRONG" and rows["mscoco2014dev-test vs mscoco2014dev-val"][0] == \
        "WRONG", out
    assert "cococntest.txt: 1 of its images are also in cococnval, the validation collection" in \
        rows["cococntest vs cococnval"][1], out


def test_a_stop_word_list_of_another_language_is_wrong(root, capsys):
    """English stop words for Chinese would remove no word: build_vocab.py refused it, after the doctor's 'ready'."""
    english = REPO / "w2vv" / "stopwords" / "en.txt"
    status, rows, out = doctor(root, capsys, "--config_overrides", f"{SMALL_MODEL},stopwords_zh={english}")
    assert status == 1 and rows["stop words (zh)"][0] == "WRONG", out
    assert "a list of another language (stopwords_zh)?" in rows["stop words (zh)"][1], out
    assert rows["stop words (zh)"][2].startswith("set stopwords_zh to a list of Chinese words"), out


def test_a_feature_of_ones_own_cnn_missing_is_to_be_extracted_not_downloaded(root, capsys):
    """The release holds the paper's features only: stage 0 could never bring another CNN's."""
    overrides = f"{SMALL_MODEL},img_feature=mobilenetv3small_avgpool"
    status, rows, out = doctor(root, capsys, "--config_overrides", overrides)
    assert status == 1 and rows["features"][0] == "MISSING", out
    assert rows["features"][2].startswith(f"extract it: python extract_features.py IMAGE_DIR --rootpath {root} "
                                          f"--collection mscoco2014dev"), out


def test_a_mistyped_override_is_fixed_in_the_overrides_and_no_config_claims_no_config_readiness(root, capsys):
    """'fix the config name or file' sent the user to a config file that was right; without --config, 'ready for the
    paper configs' was said of features no paper config reads."""
    status, rows, out = doctor(root, capsys, "--config_overrides", f"{SMALL_MODEL},lstm_sze=3")
    assert status == 1 and rows[f"config {CONFIG}"][0] == "WRONG" and "lstm_size" in rows[f"config {CONFIG}"][1], out
    assert rows[f"config {CONFIG}"][2] == "fix config_overrides (the ini's, or --config_overrides) as the line says"
    assert check_root.main(["--rootpath", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{root}: ready (no --config: what a config reads, such as " \
                                                       f"the feature width its MLP ends with, was not checked)"
