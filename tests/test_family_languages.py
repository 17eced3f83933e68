"""W2VV's successors across languages (#33, docs/method.md#across-languages): the English model trains first,
the Chinese model of the same run takes its image tower(s), frozen, and trains its text tower(s) into that
space, so that CL, CLM and the table are computed as for W2VV. W2VV++ through do_all.sh (stages 1-5), SEA
through the scripts; the Chinese run's record names the English weights by path and fingerprint; and the
refusals in one line: the Chinese model without its English model (naming the stage to run), a run that
trained its own image tower(s) (image_towers = 'own': no CL), an English model retrained since, an English
run of another family."""
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, copy_root, run_main, run_pipeline
from w2vv import layout, runs
from w2vv.checkpoint import read_weights
from w2vv.config import load_config, parse_overrides
from w2vv.errors import InputError
from w2vv.fingerprint import file_fingerprint
from w2vv.inference import best_weights_file
from w2vv.pivot_space import takes_english_towers

EN = ("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test")
ZH = ("cococntrain", "cococnval", "cococntest")
TINY = "lstm_size=8,n_layers=0-16"
EPOCHS = 2


def one_error_line(done):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def run_name(config, overrides=TINY, **more):
    return runs.configured_run(config, {**parse_overrides(overrides), "max_epochs": str(EPOCHS), **more})[1]


def train(root, collections, config, overrides=TINY, *extra):
    return run_main("trainer.py", *collections, "--rootpath", root, "--config", config, "--config_overrides", overrides,
                    "--max_epochs", str(EPOCHS), "--seed", "0", *extra)


def folder_of(root, collections, run):
    return root / collections[0] / "cv_keras" / collections[1] / layout.TRAIN_STYLE / run


@pytest.fixture(scope="module")
def family_root(small_root, tmp_path_factory):
    """(root, do_all.sh's output): W2VV++ through do_all.sh, stages 1-5 (tiny, 2 epochs, seed 0); SEA's English
    and Chinese models through trainer.py, then its CL and CLM."""
    base = tmp_path_factory.mktemp("family_languages")
    root = copy_root(small_root, base)
    ini = base / "family.ini"
    ini.write_text(f"rootpath = {root}\nmax_epochs = {EPOCHS}\nseed = 0\npython = {sys.executable}\n"
                   f"config_overrides = {TINY}\n")
    done = run_pipeline(ini, config="w2vvpp_resnext101")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sea = run_name("sea_bow_w2v_gru")
    for collections in (EN, ZH):
        trained = train(root, collections, "sea_bow_w2v_gru")
        assert trained.returncode == 0, trained.stderr
    for script in ("cross_lingual.py", "fuse.py"):
        assert run_main(script, "--rootpath", root, "--run", sea).returncode == 0
    return root, done.stdout


@pytest.mark.parametrize("config", ["w2vvpp_resnext101", "sea_bow_w2v_gru"])
@pytest.mark.slow
def test_the_chinese_model_takes_the_english_image_towers_frozen(family_root, config):
    root, _ = family_root
    run = run_name(config)
    en, zh = folder_of(root, EN, run), folder_of(root, ZH, run)
    en_weights, zh_weights = read_weights(best_weights_file(str(en))), read_weights(best_weights_file(str(zh)))
    image_layers = [name for name in en_weights if name.startswith("image_space")]
    assert len(image_layers) == (1 if config.startswith("w2vvpp") else 3)
    for name in image_layers:  # after two epochs of the Chinese model: the English model's, to the bit
        for a, b in zip(en_weights[name], zh_weights[name]):
            np.testing.assert_array_equal(a, b)
    text_layers = [name for name in en_weights if name.startswith("text_space")]
    assert text_layers and set(text_layers) <= set(zh_weights)  # its own text tower(s): Chinese words, own widths
    # the record names the English best weights by path (in the root) and fingerprint; the English one none
    settings = json.loads((zh / layout.SETTINGS_FILE).read_text())["settings"]
    taken = settings["image_towers_from"]
    assert taken["path"] == str(Path(best_weights_file(str(en))).relative_to(root))
    assert taken["content"] == file_fingerprint(best_weights_file(str(en)))
    assert "image_towers_from" not in json.loads((en / layout.SETTINGS_FILE).read_text())["settings"]


@pytest.mark.slow
def test_do_all_gives_cl_cm_and_clm_of_a_successor(family_root):
    root, log = family_root
    assert "image tower(s): the English model's, frozen" in log
    for config in ("w2vvpp_resnext101", "sea_bow_w2v_gru"):
        run = run_name(config)
        table = run_main("report.py", "--rootpath", root, "--run", run)
        assert table.returncode == 0, table.stderr
        header, row = table.stdout.splitlines()
        assert header.split() == ["model", "CL", "CM", "CLM"]
        values = [float(v) for v in row.split()[1:]]
        assert len(values) == 3 and all(0 < v <= 1 for v in values)
        for split in (ZH[1], ZH[2]):  # CL ranks the English sentences by their cosine with the Chinese ones
            cl = layout.similarity_dir(str(root), split, ZH[0], layout.cl_run_name(run))
            assert json.loads(open(f"{cl}/{layout.METRICS_FILE}").read())["mir"] > 0
    assert re.search(r"w2vvpp_resnext101\S*\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}", log)


@pytest.mark.slow
def test_the_chinese_model_without_its_english_model_stops_naming_the_stage(family_root):
    root, _ = family_root
    error = one_error_line(train(root, ZH, "w2vvpp_resnext101", TINY + ",dropout=0.1"))
    folder = folder_of(root, EN, run_name("w2vvpp_resnext101", TINY + ",dropout=0.1"))
    assert error == (f"error: {folder}: English model not found: the W2VV++ model of cococntrain trains its text "
                     f"tower(s) into the English model's space, with its image tower(s); run stage 2 first: "
                     f"./do_all.sh [--ini INI] w2vvpp_resnext101 --stage 2 --stop_stage 2 (or image_towers=own in "
                     f"the config overrides: no CL then)")


@pytest.mark.slow
def test_a_run_with_its_own_image_towers_trains_without_english_and_has_no_cl(family_root):
    root, _ = family_root
    own = TINY + ",image_towers=own"
    assert train(root, ZH, "sea_bow_w2v_gru", own).returncode == 0
    run = run_name("sea_bow_w2v_gru", own)
    settings = json.loads((folder_of(root, ZH, run) / layout.SETTINGS_FILE).read_text())["settings"]
    assert "image_towers_from" not in settings and settings["config"]["image_towers"] == "own"
    for script, what in (("cross_lingual.py", "CL"), ("fuse.py", "CLM")):
        error = one_error_line(run_main(script, "--rootpath", root, "--run", run))
        assert error.startswith(f"error: {what} is not available for run {run}: it trained its own "
                                f"image tower(s) (image_towers = 'own')")
    # the pipeline: no English model, CL or CLM to wait for, and a table of CM (it stopped at stage 4, tableless)
    ini = root.parent / "own.ini"
    ini.write_text(f"rootpath = {root}\nmax_epochs = {EPOCHS}\nseed = 0\npython = {sys.executable}\n"
                   f"config_overrides = {own}\n")
    done = run_pipeline(ini, "--stage", "2", config="sea_bow_w2v_gru")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for stage in (2, 4):
        assert f"stage {stage}: skipped: {run} trains its own image tower(s) (image_towers = own)" in done.stdout
    row = next(line.split() for line in done.stdout.splitlines() if line.startswith(run))
    assert row[1] == "—" and 0 < float(row[2]) <= 1 and row[3] == "—", row
    shutil.rmtree(folder_of(root, ZH, run))  # deleted to save space: its results still say it had no CL
    done = run_main("report.py", "--rootpath", root, "--run", run, "--out", root.parent / "own.txt")
    assert done.returncode == 0 and done.stdout.splitlines()[1].split() == row, done.stderr


@pytest.mark.slow
def test_cl_of_an_english_run_of_another_family_stops(family_root):
    root, _ = family_root
    error = one_error_line(run_main("cross_lingual.py", "--rootpath", root, "--run", run_name("w2vvpp_resnext101"),
                                    "--en_run", run_name("sea_bow_w2v_gru")))
    assert "its Chinese model is a W2VV++ model and its English model" in error and "a SEA one" in error


@pytest.mark.slow
def test_a_retrained_english_model_is_not_mixed_with_the_former_chinese_one(family_root, tmp_path):
    root = copy_root(family_root[0], tmp_path)
    run = run_name("w2vvpp_resnext101")
    assert train(root, EN, "w2vvpp_resnext101", TINY, "--overwrite", "1", "--seed", "1").returncode == 0
    error = one_error_line(run_main("cross_lingual.py", "--rootpath", root, "--run", run, "--overwrite", "1"))
    assert f"CL for run {run}: the English model {folder_of(root, EN, run)} changed or is gone since its Chinese " \
           f"model" in error
    assert "retrain the Chinese model: stage 3 with overwrite = 1" in error
    error = one_error_line(train(root, ZH, "w2vvpp_resnext101"))
    assert "made with other settings: image_towers_from" in error and "--overwrite 1 retrains it" in error
    assert train(root, ZH, "w2vvpp_resnext101", TINY, "--overwrite", "1").returncode == 0
    assert run_main("cross_lingual.py", "--rootpath", root, "--run", run, "--overwrite", "1").returncode == 0


@pytest.mark.slow
def test_cl_done_stays_done_once_the_english_models_folder_is_deleted(family_root, tmp_path):
    """A successor's English model folder deleted to save space: its results stand, and stage 4 skips (it stopped,
    asking to retrain the Chinese model onto an English model no longer there)."""
    import shutil
    root = copy_root(family_root[0], tmp_path)
    run = run_name("w2vvpp_resnext101")
    shutil.rmtree(folder_of(root, EN, run))
    done = run_main("cross_lingual.py", "--rootpath", root, "--run", run)
    assert done.returncode == 0 and done.stdout.count("skip cococn") == 2, done.stderr


def test_which_models_take_the_english_towers(monkeypatch):
    from w2vv import languages
    successor, w2vv = load_config("w2vvpp_resnext101"), load_config("base_w2vv")
    assert takes_english_towers(successor, "cococntrain") and not takes_english_towers(successor, EN[0])
    assert not takes_english_towers(w2vv, "cococntrain")
    assert not takes_english_towers(load_config("sea_bow_w2v_gru", overrides={"image_towers": "own"}), "cococntrain")
    monkeypatch.setattr(languages, "_declared", languages.parse_declarations("cocoja*=ja"))
    assert takes_english_towers(successor, "cocojatrain")  # any query language, Japanese too
    with pytest.raises(InputError, match="image_towers 'both' unknown"):
        load_config("sea_bow_w2v_gru", overrides={"image_towers": "both"})
    with pytest.raises(InputError, match="image_towers 'own' is for W2VV's successors"):
        load_config("base_w2vv", overrides={"image_towers": "own"})
    assert (REPO / "do_all.sh").read_text().count('--en_train "$en_train"') >= 1
