"""Every kind of bad input stops the scripts with one line naming the file, exit status 1,
and no output left behind."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tester
import trainer
from tests.helpers import REPO, SMALL_MODEL
from w2vv import cli, layout
from w2vv.bigfile import write_bigfile
from w2vv.config import parse_overrides
from w2vv.fingerprint import file_fingerprint
from w2vv.runs import configured_run


TRAIN, VAL, TEST = "cococntrain", "cococnval", "cococntest"
FEATURE = "pyresnext-101_rbps13k,flatten0_output,os"
RUN = configured_run("w2vv_attention_ctl", {**parse_overrides(SMALL_MODEL), "max_epochs": "1", "batch_size": "10"})[1]


@pytest.fixture(scope="module")
def pristine(small_root_vocab):
    return small_root_vocab


def copy_root(src, folder):
    """A copy of the root ``src`` to damage, so the module's roots stay intact."""
    return Path(shutil.copytree(src, folder / "VisualSearch"))


@pytest.fixture
def root(pristine, tmp_path):
    return copy_root(pristine, tmp_path)


def features(root):
    return root / "mscoco2014dev" / "FeatureData" / FEATURE


def caption(root, coll=VAL):
    return root / coll / "TextData" / f"{coll}.caption.txt"


def first_image(root, coll=VAL):
    return caption(root, coll).read_text(encoding="utf-8").split("#", 1)[0]


def rewrite_features(root, drop=None, dim=16):
    bf = features(root)
    ids = (bf / "id.txt").read_text().split()
    vecs = np.fromfile(bf / "feature.bin", dtype="<f4").reshape(len(ids), -1)
    keep = [i for i, name in enumerate(ids) if name != drop]
    shutil.rmtree(bf)
    write_bigfile(bf, [ids[i] for i in keep], np.resize(vecs[keep], (len(keep), dim)))


def unsegment(path):
    """Rewrite a caption file with its sentences' words run together, as Chinese is typed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("".join(f"{sent_id} {sentence.replace(' ', '')}\n" for sent_id, sentence in
                            (line.split(" ", 1) for line in lines)), encoding="utf-8")


def train_args(root, *extra):
    return [TRAIN, VAL, TEST, "--rootpath", str(root), "--config", "w2vv_attention_ctl",
            "--max_epochs", "1", "--batch_size", "10", "--config_overrides", SMALL_MODEL, *extra]


CASES = {
    "missing rootpath": (lambda r: shutil.rmtree(r), lambda r: r, "rootpath not found"),
    "missing collection folder": (lambda r: shutil.rmtree(r / VAL), lambda r: r / VAL, "collection folder not found"),
    "missing caption file": (lambda r: caption(r).unlink(), caption, "caption file not found"),
    "missing ImageSets file": (lambda r: (r / VAL / "ImageSets" / f"{VAL}.txt").unlink(),
                               lambda r: r / VAL / "ImageSets" / f"{VAL}.txt", "ImageSets file not found"),
    "missing feature folder": (lambda r: shutil.rmtree(features(r)), features, "BigFile folder not found"),
    "caption without sentence": (lambda r: caption(r).write_text("img1#0 a dog\nimg2#0   \n"),
                                 lambda r: f"{caption(r)}:2", "id but no sentence"),
    "empty caption file": (lambda r: caption(r).write_text(""), caption, "caption file is empty"),
    "malformed caption line": (lambda r: caption(r).write_text("img1#0 a dog\nthis line is broken\n"),
                               lambda r: f"{caption(r)}:2", "malformed caption line: it starts with 'this', not a "
                                                            "sentence id '<image id>#<n>'"),
    "caption id without an image id": (lambda r: caption(r).write_text("img1#0 a dog\n##0 a cat\n"),
                                       lambda r: f"{caption(r)}:2", "malformed caption line: it starts with '##0', "
                                                                    "not a sentence id '<image id>#<n>'"),
    "repeated sentence id": (lambda r: caption(r).write_text("img1#0 a dog\nimg1#1 a cat\nimg1#0 a bird\n"),
                             lambda r: f"{caption(r)}:3", "sentence id 'img1#0' repeated (first at line 1)"),
    "caption image without feature": (lambda r: caption(r).write_text("nofeature#0 一只 狗\n", encoding="utf-8"),
                                      caption, "caption image 'nofeature' has no feature"),
    "ImageSets id without feature": (lambda r: (r / VAL / "ImageSets" / f"{VAL}.txt").write_text("ghost\n"),
                                     lambda r: r / VAL / "ImageSets" / f"{VAL}.txt", "ImageSets id 'ghost'"),
    "repeated ImageSets id": (lambda r: (r / VAL / "ImageSets" / f"{VAL}.txt").write_text(
        (r / VAL / "ImageSets" / f"{VAL}.txt").read_text() + first_image(r) + "\n"),
                              lambda r: f"{r / VAL / 'ImageSets' / f'{VAL}.txt'}:",
                              "repeated (first at line 1)"),
    "shape.txt disagrees with feature.bin": (lambda r: (features(r) / "shape.txt").write_text(
        f"{len((features(r) / 'id.txt').read_text().split())} 15"),
                                             lambda r: features(r) / "feature.bin", "but shape.txt says"),
    "id.txt count": (lambda r: (features(r) / "id.txt").write_text("a b"), lambda r: features(r) / "id.txt",
                     "2 ids, but shape.txt says"),
    "duplicate ids": (lambda r: (features(r) / "id.txt").write_text(
        " ".join(["dup"] * len((features(r) / "id.txt").read_text().split()))),
        lambda r: features(r) / "id.txt", "duplicate ids"),
    "caption not UTF-8": (lambda r: caption(r).write_bytes("img#0 一只 狗\n".encode("gbk")), caption, "not UTF-8"),
    "word2vec missing": (lambda r: (r / "zh_w2v" / "model" / "zh_jieba.model").unlink(),
                         lambda r: r / "zh_w2v" / "model" / "zh_jieba.model", "word2vec not found"),
    "word2vec unreadable": (lambda r: (r / "zh_w2v" / "model" / "zh_jieba.model").write_bytes(b"\x80\x04garbage"),
                            lambda r: r / "zh_w2v" / "model" / "zh_jieba.model", "cannot read word2vec"),
    "Chinese captions not segmented": (lambda r: unsegment(caption(r)), caption,
                                       "have no space, but Chinese caption files hold words separated by spaces"),
    "feature dimension differs from the model": (lambda r: rewrite_features(r, dim=12), features,
                                                 "features are 12-d, but the model's last layer"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trainer_refuses_bad_input(root, capsys, case):
    damage, path, message = CASES[case]
    damage(root)
    assert cli.run(trainer.main, train_args(root)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path(root)}") and message in err and "\n" not in err, err
    assert not (root / TRAIN / "cv_keras").exists()


def test_a_word2vec_of_another_language_stops_naming_it(root, capsys):
    english = root / "word2vec" / "flickr" / "vec500flickr30m"
    assert cli.run(trainer.main, train_args(root, "--word2vec", str(english))) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {caption(root, TRAIN)}: ") and f"none in the word2vec {english})" in err, err
    assert not (root / TRAIN / "cv_keras").exists()


TRAINING_IMAGE = ("1 of its images are described by sentences of {train}, the training collection (e.g. '{image}'): "
                  "figures on images the model trained on would flatter it; validate and test on images it does not "
                  "train on")
VALIDATION_IMAGE = ("1 of its images are also in {val}, the validation collection (e.g. '{image}'): the best epoch and "
                    "the CLM weight are chosen on it, so figures on them would flatter the model; keep val and test "
                    "images apart")


@pytest.mark.parametrize("source, other, message", [(TRAIN, VAL, TRAINING_IMAGE), (TRAIN, TEST, TRAINING_IMAGE),
                                                     (VAL, TEST, VALIDATION_IMAGE)])
def test_validating_or_testing_on_an_image_chosen_on_stops_before_training(root, capsys, source, other, message):
    """A training image in val or test, or a val image in test (the best epoch and the CLM weight are chosen on
    val): the figures would flatter the model."""
    image = first_image(root, source)
    imageset = root / other / "ImageSets" / f"{other}.txt"
    imageset.write_text(imageset.read_text() + f"{image}\n")
    assert cli.run(trainer.main, train_args(root)) == 1
    assert capsys.readouterr().err == f"error: {imageset}: {message.format(train=TRAIN, val=VAL, image=image)}\n"
    assert not (root / TRAIN / "cv_keras").exists()


def test_a_feature_that_is_not_a_number_stops_training_before_it_starts(root, capsys):
    """One NaN made every weight NaN, and the untrained epoch 0 was kept as 'best' without a word; found when the
    loss turned NaN, it cost an epoch (2 h at the paper's scale on a CPU), and behind a relu it never did."""
    image = first_image(root, TRAIN)
    ids = (features(root) / "id.txt").read_text().split()
    vectors = np.fromfile(features(root) / "feature.bin", dtype="<f4").reshape(len(ids), -1)
    vectors[ids.index(image), 3] = np.nan
    vectors.tofile(features(root) / "feature.bin")
    assert cli.run(trainer.main, train_args(root)) == 1
    assert capsys.readouterr().err == (f"error: {features(root)}/feature.bin: the feature of image '{image}' is not "
                                       f"finite (NaN or infinite): extract or download it again\n")
    assert not (root / TRAIN / "cv_keras").exists()


def test_a_non_finite_input_names_a_word_vector_or_else_the_learning_rate(tmp_path):
    """A NaN in a word vector trained a model of a constant (a relu turned it into 0): exit 0, no word."""
    from types import SimpleNamespace
    from w2vv.bigfile import BigFile
    from w2vv.run_inputs import non_finite_input
    from w2vv.training import non_finite_cause
    write_bigfile(tmp_path / "feat", ["a", "b"], np.ones((2, 4), np.float32))
    table = np.ones((3, 5), np.float32)
    collection = SimpleNamespace(name="cococntrain", sentence_images=np.array([1, 0, 1]),
                                 sentences=SimpleNamespace(w2v_table=table))
    vocabulary = {"dog": np.ones(5), "the": np.ones(5), "grass": np.ones(5)}
    word2vec = SimpleNamespace(path="/w2v", lookup=lambda words: (np.array([vocabulary.get(w, np.zeros(5))
                                                                          for w in words]),
                                                                np.array([w in vocabulary for w in words])))
    encoder = SimpleNamespace(seq_index={"the": 1, "dog": 2}, bow_index={"dog": 0, "cat": 1}, word2vec=word2vec)
    inputs = SimpleNamespace(features=BigFile(tmp_path / "feat"), train_set=collection, val_set=collection,
                             encoder=encoder)
    assert non_finite_input(inputs) is None
    assert non_finite_cause(inputs).startswith("its inputs are finite numbers: a learning rate too high")
    table[2, 1] = np.inf
    assert non_finite_input(inputs) == ("/w2v: the vector of a word of cococntrain's sentences is not finite: a "
                                        "damaged word2vec, download it again")
    vocabulary["the"][3] = np.nan
    assert non_finite_input(inputs) == ("/w2v: the vector of 'the' is not finite (NaN or infinite): a damaged "
                                        "word2vec, download it again")


def test_config_errors(root, capsys, tmp_path):
    assert cli.run(trainer.main, train_args(root, "--config_dir", str(tmp_path))) == 1
    assert "unknown config 'w2vv_attention_ctl'" in capsys.readouterr().err
    (tmp_path / "w2vv_attention_ctl.py").write_text("class config:\n    lstm_size = 8\n")
    assert cli.run(trainer.main, train_args(root, "--config_dir", str(tmp_path))) == 1
    assert "lacks required attribute(s) img_feature" in capsys.readouterr().err
    (tmp_path / "w2vv_attention_ctl.py").write_text((REPO / "w2vv_configs" / "w2vv_attention_ctl.py").read_text()
                                                    .replace("embed_size = 500", "embed_size = 300"))
    assert cli.run(trainer.main, train_args(root, "--config_dir", str(tmp_path))) == 1
    assert f"{tmp_path / 'w2vv_attention_ctl.py'}: sets embed_size = 300 where the config of its name, " \
           f"{REPO / 'w2vv_configs' / 'w2vv_attention_ctl.py'}, has 500, yet its runs would be named and tabled as " \
           "that one's" in capsys.readouterr().err  # an edited copy of a paper config passed for it
    (tmp_path / "w2vv_attention_ctl.py").rename(tmp_path / "mine.py")
    assert cli.run(trainer.main, train_args(root, "--config_dir", str(tmp_path), "--config", "mine")) == 1
    assert "word2vec vectors are 500-d, but the config's embed_size is 300" in capsys.readouterr().err
    assert not (root / TRAIN / "cv_keras").exists()


@pytest.fixture(scope="module")
def trained_root(pristine, tmp_path_factory):
    root = copy_root(pristine, tmp_path_factory.mktemp("trained"))
    assert cli.run(trainer.main, train_args(root)) == 0
    return root


@pytest.fixture
def trained(trained_root, tmp_path):
    return copy_root(trained_root, tmp_path)


@pytest.mark.slow
def test_truncated_checkpoint(trained, capsys):
    root = trained
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    weights = [f for f in os.listdir(folder) if f.startswith("epoch_")][0]
    path = os.path.join(folder, weights)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    shutil.rmtree(out)
    assert cli.run(tester.main, [TRAIN, TEST, "--rootpath", str(root), "--model_path", folder]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: not a readable weights file")
    assert not os.path.exists(out)


@pytest.mark.slow
def test_a_weights_file_not_there_is_named(trained, capsys):
    folder = layout.checkpoint_dir(str(trained), TRAIN, VAL, RUN)
    args = [TRAIN, TEST, "--rootpath", str(trained), "--model_path", folder, "--weight_name", "epoch_99.h5"]
    assert cli.run(tester.main, args) == 1
    assert capsys.readouterr().err == f"error: {os.path.join(folder, 'epoch_99.h5')}: weights file not found\n"
    elsewhere = [*args[:-1], os.path.join(folder, "epoch_0.h5")]  # its results would pass for the run's own model's
    with pytest.raises(SystemExit):
        tester.parse_args(elsewhere)
    assert "--weight_name /" in capsys.readouterr().err


@pytest.mark.slow
def test_all_unencodable_test_collection(trained, capsys):
    root = trained
    caption(root, TEST).write_text("".join(f"{first_image(root, TEST)}#{i} xyzzy plugh\n" for i in range(3)))
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    shutil.rmtree(out)
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    assert cli.run(tester.main, [TRAIN, TEST, "--rootpath", str(root), "--model_path", folder]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {caption(root, TEST)}: 3 of 3 sentences have a part with no known word")
    assert not os.path.exists(out)


def test_a_test_collection_mostly_not_segmented_stops_saying_so(trained, capsys):
    """Ranked, sentences with no known word would be zero vectors, all ranking the images alike."""
    root = trained
    unsegment(caption(root, TEST))
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    assert cli.run(tester.main, [TRAIN, TEST, "--rootpath", str(root), "--model_path", folder, "--overwrite"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {caption(root, TEST)}: ") and "segment them first" in err and "\n" not in err


@pytest.mark.slow
def test_a_test_sentence_of_an_image_outside_the_image_set(trained, capsys):
    """Its image is in the features but not in the ImageSets ranked: one line naming it, no traceback."""
    root = trained
    stray = first_image(root, TRAIN)
    lines = caption(root, TEST).read_text(encoding="utf-8").splitlines(keepends=True)
    caption(root, TEST).write_text("".join(lines) + f"{stray}#9 一只 狗\n", encoding="utf-8")
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    shutil.rmtree(out)
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    assert cli.run(tester.main, [TRAIN, TEST, "--rootpath", str(root), "--model_path", folder]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {caption(root, TEST)}:{len(lines) + 1}: sentence '{stray}#9' describes image "
                          f"'{stray}', which {root / TEST / 'ImageSets' / f'{TEST}.txt'} does not list: it cannot "
                          f"be ranked") and len(err.strip().splitlines()) == 1
    assert not os.path.exists(out)


@pytest.mark.slow
def test_a_test_image_whose_feature_is_not_a_number(trained, capsys):
    root = trained
    image = (root / TEST / "ImageSets" / f"{TEST}.txt").read_text().split()[4]
    ids = (features(root) / "id.txt").read_text().split()
    vectors = np.fromfile(features(root) / "feature.bin", dtype="<f4").reshape(len(ids), -1)
    vectors[ids.index(image), 0] = np.nan
    vectors.tofile(features(root) / "feature.bin")
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    shutil.rmtree(out)
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    record_path = os.path.join(folder, layout.SETTINGS_FILE)  # as if trained so: training never reads test images
    record = json.loads(open(record_path).read())
    record["settings"]["features"]["content"] = file_fingerprint(features(root))
    open(record_path, "w").write(json.dumps(record))
    assert cli.run(tester.main, [TRAIN, TEST, "--rootpath", str(root), "--model_path", folder]) == 1
    assert capsys.readouterr().err == (f"error: {features(root)}/feature.bin: the feature of image '{image}' is not "
                                       f"finite (NaN or infinite): extract or download it again\n")
    assert not os.path.exists(out)


@pytest.mark.slow
def test_a_model_tested_on_a_collection_of_another_language(trained, capsys):
    """A Chinese model given English sentences stops before it encodes them, whatever words they share."""
    root, english = str(trained), "mscoco2014dev-test"
    folder = layout.checkpoint_dir(root, TRAIN, VAL, RUN)
    assert cli.run(tester.main, [TRAIN, english, "--rootpath", root, "--model_path", folder]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {caption(trained, english)}: {english} is a collection of English sentences "
                          f"(by its name, or --languages), but the model reads Chinese")
    assert err.rstrip().endswith(f"(--languages {english}=zh)") and len(err.strip().splitlines()) == 1
    assert not os.path.exists(layout.similarity_dir(root, english, TRAIN, RUN))


def search_photos(root, feature, capsys, extraction=None):
    """Search a collection 'myphotos' of 20 photos whose features (16-d, as the model's) are ``feature``'s,
    extracted as ``extraction`` says (an ``extraction.json``; None: none); search's exit status and error line."""
    import json
    import search
    photos = [f"photo_{i:03d}" for i in range(20)]
    gallery = layout.feature_dir(root, feature, "myphotos")
    write_bigfile(gallery, photos, np.ones((20, 16), np.float32))
    if extraction:
        Path(gallery, "extraction.json").write_text(json.dumps(extraction))
    os.makedirs(os.path.dirname(layout.imageset_file(root, "myphotos")))
    Path(layout.imageset_file(root, "myphotos")).write_text("\n".join(photos) + "\n")
    folder = layout.checkpoint_dir(root, TRAIN, VAL, RUN)
    status = cli.run(search.main, ["--model_path", folder, "--collection", "myphotos", "--quiet", "一只 狗"])
    return status, capsys.readouterr().err.strip()


@pytest.mark.slow
def test_search_names_a_collection_of_another_cnns_features(trained, capsys):
    root = str(trained)
    status, err = search_photos(root, "resnet152_imagenet_avgpool", capsys)
    assert status == 1
    assert err == (f"error: {os.path.dirname(layout.feature_dir(root, 'x', 'myphotos'))}: gallery feature "
                   f"'resnet152_imagenet_avgpool', but the model was trained on {FEATURE!r} "
                   "(extract the gallery's features with the same CNN, docs/own-photos.md)"), err


@pytest.mark.slow
def test_search_names_a_gallery_of_another_network_under_the_models_feature_name(trained, capsys):
    """Photos extracted with ResNet-152 but named as the release's feature: the same width, another space."""
    root = str(trained)
    status, err = search_photos(root, FEATURE, capsys, dict(cnn="resnet152", weights="imagenet", image_size=None,
                                                            chunk_images=None, images="x"))
    folder = layout.checkpoint_dir(root, TRAIN, VAL, RUN)
    assert status == 1
    assert err == (f"error: {layout.feature_dir(root, FEATURE, 'myphotos')}: extracted with resnet152 (imagenet "
                   f"weights, 224x224 input), but the features the model {folder} was trained on "
                   f"({layout.feature_dir(root, FEATURE, 'mscoco2014dev')}) are the release's, not extracted by "
                   f"extract_features.py: one name, two networks; extract the gallery with the network of the "
                   f"training features"), err


def test_extracting_under_the_releases_feature_name_is_a_usage_error(tmp_path, capsys):
    import extract_features
    with pytest.raises(SystemExit):
        extract_features.parse_args([str(tmp_path), "--rootpath", str(tmp_path), "--collection", "c",
                                     "--feature", FEATURE])
    assert "the release's ResNeXt-101 features are named so" in capsys.readouterr().err


@pytest.mark.slow
def test_real_process_exit_status_and_debug_traceback(root):
    caption(root).write_text("")
    cmd = [sys.executable, str(REPO / "trainer.py"), *train_args(root)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {caption(root)}: caption file is empty"
    assert "Traceback" not in result.stderr
    debug = subprocess.run(cmd + ["--debug"], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize("script, args, says", [
    ("build_vocab.py", ["cococntrain", "--rootpath", "R", "--freq_threshold", "0"], "--freq_threshold 0: a word is"),
    ("extract_features.py", ["IMAGES", "--rootpath", "R", "--collection", "c", "--image_size", "-1"],
     "--image_size -1: a size in pixels, 1 to 2048"),
    ("extract_features.py", ["IMAGES", "--rootpath", "R", "--collection", "c", "--batch_size", "0"],
     "--batch_size must be at least 1"),
    ("serve.py", ["--model_path", "M", "--search_threads", "0"], "--search_threads 0: at least 1"),
    ("serve.py", ["--model_path", "M", "--images", "/no/such/folder"], "--images /no/such/folder: folder not found")])
def test_a_flag_out_of_range_stops_before_any_work(script, args, says, capsys):
    """--freq_threshold -1 wrote a vocabulary 'word_vocab_-1'; --image_size -1 failed in Keras with a misleading
    line; serve.py took --search_threads 0 for its default and served without a mistyped --images folder."""
    import importlib
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(script[:-3]).main(args)
    assert stopped.value.code == 2 and says in capsys.readouterr().err


def test_a_validation_history_of_another_shape_names_its_line(tmp_path):
    """Its first line's first word was taken for the best epoch's name: 'best 0.4' read the weights 'best.h5'."""
    from w2vv.errors import InputError
    from w2vv.inference import best_weights_file
    (tmp_path / layout.VAL_HISTORY_FILE).write_text("best 0.4\n")
    with pytest.raises(InputError, match=rf"{layout.VAL_HISTORY_FILE}:1: expected 'epoch_<k> <figure>'"):
        best_weights_file(str(tmp_path))
    (tmp_path / layout.VAL_HISTORY_FILE).write_text("epoch_3 0.4\nepoch_1 0.2\n")
    assert best_weights_file(str(tmp_path)) == str(tmp_path / "epoch_3.h5")
