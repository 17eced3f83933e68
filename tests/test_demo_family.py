"""The family demo (``make demo-family``, tools/demo_family.py) at a tiny size: one root per seed, copies with hard
links of the first without what runs derived there, each with its own ini and seed; do_all.sh per config and
seed; compare.py's table with the warning that demo data says nothing about the real data. And the ini's
per-config overrides (``config_overrides_<config>``) that let one ini run W2VV and its successors."""
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_root, run_main
from w2vv import layout
from w2vv.collection_files import imageset_of
from w2vv.errors import InputError
from w2vv.settings import ini_run, read_settings, shell_assignments

TINY_W2VV = "lstm_size=8,n_layers=0-16-16"
TINY_SUCCESSOR = "lstm_size=8,n_layers=0-16"


def write_ini(path, root, extra=""):
    path.write_text(f"rootpath = {root}\nmax_epochs = 1\nseed = 0\npython = {sys.executable}\n"
                    f"config_overrides = {TINY_W2VV}\nconfig_overrides_w2vvpp_resnext101 = {TINY_SUCCESSOR}\n{extra}")
    return path


def test_a_config_of_its_own_overrides_in_the_ini(tmp_path):
    settings = read_settings(str(write_ini(tmp_path / "a.ini", tmp_path)))
    assert ini_run(settings, "w2vvpp_resnext101") == (TINY_SUCCESSOR, "w2vvpp_resnext101_lstm_size8_max_epochs1_"
                                                                      "n_layers0-16")
    assert ini_run(settings, "base_w2vv")[0] == TINY_W2VV
    assert ini_run(settings, str(REPO / "w2vv_configs" / "w2vvpp_resnext101.py"))[0] == TINY_SUCCESSOR  # a path
    shell = shell_assignments(settings, "w2vvpp_resnext101")
    assert f"overrides={TINY_SUCCESSOR}\n" in shell and "config_overrides_" not in shell
    bad = write_ini(tmp_path / "b.ini", tmp_path, "config_overrides_sea_bow_w2v_gru = lstm_size\n")
    with pytest.raises(InputError, match=r"b.ini:7: config_overrides_sea_bow_w2v_gru = lstm_size \(--config_overr"):
        read_settings(str(bad))
    bad.write_text(f"rootpath = {tmp_path}\nconfig_overrides_sea-gru = lstm_size=8\n")
    with pytest.raises(InputError, match="unknown setting 'config_overrides_sea-gru'"):
        read_settings(str(bad))


@pytest.mark.slow
def test_the_family_demo_at_a_tiny_size(small_root, tmp_path, capfd):
    root = copy_root(small_root, tmp_path / "base")
    (root / "cococntrain" / "cv_keras" / "junk").mkdir(parents=True)  # what runs derive: not in the seeds' copies
    ini = write_ini(tmp_path / "family.ini", root)
    args = ["--ini", ini, "--seeds", "0", "1", "--configs", "w2vvpp_resnext101", "--jobs", "2", "--draws", "200"]
    from tools import demo_family
    assert demo_family.main([str(a) for a in args]) is None
    out = capfd.readouterr().out
    seed1 = f"{root}_seed1"
    captions = layout.caption_file(seed1, "cococntrain")
    assert os.stat(captions).st_ino == os.stat(layout.caption_file(str(root), "cococntrain")).st_ino  # a hard link
    assert "seed = 1\n" in open(os.path.join(seed1, demo_family.SEED_INI)).read()
    assert f"rootpath = {root}\n" in (root / demo_family.SEED_INI).read_text()
    assert not os.path.isdir(os.path.join(seed1, "cococntrain", "cv_keras", "junk"))
    run = "w2vvpp_resnext101_lstm_size8_max_epochs1_n_layers0-16"
    for r in (str(root), seed1):
        assert os.path.isfile(os.path.join(layout.checkpoint_dir(r, "cococntrain", "cococnval", run), "model.json"))
    assert "demo data says nothing about the real data" in out
    n = len(imageset_of(str(root), "cococntest"))  # the ini's test collection, named and counted
    assert f"the W2VV family on the demo data (cococntest, {n} images; chance mIR ≈ " in out
    assert "mean ± sd over 2 seeds (the sample sd of the seeds' figures)" in out
    for route in ("CL", "CM", "CLM"):
        assert f"{run}  {route}" in out
    assert os.path.isfile(root / "results" / "demo-family.png")
    saved = (root / "results" / "demo-family.txt").read_text(encoding="utf-8")  # the copy passed around: it had no
    assert "Warning: demo data says nothing about the real data" in saved and f"{run}  CLM" in saved  # warning
    assert "(no paired difference: it is of w2vvpp_resnext101 and w2vv_attention_ctl, not both among the " \
           "configs)" in saved
    done = run_main("compare.py", "--rootpath", root, seed1, "--run", run, "--draws", "10")  # the same table again
    assert done.returncode == 0 and done.stdout.splitlines()[2].startswith(f"{run}  CL")


def test_a_config_that_would_not_run_stops_before_the_seed_roots_are_made(small_root, tmp_path):
    from tools import demo_family
    from w2vv.errors import InputError
    root = copy_root(small_root, tmp_path / "base")
    ini = write_ini(tmp_path / "family.ini", root)
    with pytest.raises(InputError, match="nonesuch"):
        demo_family.main(["--ini", str(ini), "--seeds", "0", "1", "--configs", "nonesuch"])
    assert not os.path.exists(f"{root}_seed1")


@pytest.mark.parametrize("args, message", [(["--jobs", "0"], "--jobs 0: at least 1"),
                                           (["--draws", "10"], "--draws 10: a 95% bootstrap interval needs"),
                                           (["--seeds", "0", "1", "0"], "--seeds: 0 given twice")])
def test_arguments_that_would_fail_after_the_pipelines_stop_before_them(tmp_path, capsys, args, message):
    """--draws 0 failed after minutes of training, --jobs 0 with a traceback after copying the roots."""
    from tools import demo_family
    with pytest.raises(SystemExit) as exited:
        demo_family.parse_args(["--ini", str(tmp_path / "none.ini"), *args])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_a_seed_root_shares_the_data_and_none_of_the_runs(small_root, tmp_path, capsys):
    """``python -m tools.seed_root``: the copy the docs give for a seed; a plain cp -al kept the first seed's
    models, which do_all.sh with another seed then refused as made with other settings."""
    from tools import seed_root
    from w2vv import cli
    root = copy_root(small_root, tmp_path)
    model = root / "cococntrain" / "cv_keras" / "cococnval" / "w2vv_trainer.py" / "run"
    model.mkdir(parents=True)
    (model / "model.json").write_text("{}")
    (root / "results").mkdir()
    (root / seed_root.FAMILY_INI).write_text(f"rootpath = {root}\nseed = 0\n")  # would train in the first root
    new = tmp_path / "seed1"
    assert cli.run(seed_root.main, [str(root), str(new)]) == 0
    captions = layout.caption_file("", "cococntrain")
    assert os.path.samefile(root / captions, new / captions)   # hard links: no disk
    assert not (new / "cococntrain" / "cv_keras").exists() and not (new / "results").exists()
    assert not (new / seed_root.FAMILY_INI).exists()
    assert model.is_dir()
    capsys.readouterr()
    assert cli.run(seed_root.main, [str(root), str(new)]) == 1
    assert f"{new}: already there; give a new folder" in capsys.readouterr().err
    for where, message in ((root / "seed2", "which the copy would then hold"), (tmp_path / "a" / "b", "not found")):
        assert cli.run(seed_root.main, [str(root), str(where)]) == 1  # a traceback, a half copy inside the root
        assert message in capsys.readouterr().err and not os.path.lexists(f"{where}.partial")


def test_a_seed_root_of_data_generated_again_since_is_copied_again(small_root, tmp_path, capsys):
    """The seed roots kept the data of before the base root was generated again: compare.py refused the table, and
    no run of the demo fixed it."""
    from tools import demo_family
    from w2vv.atomic import write_text
    base = str(copy_root(small_root, tmp_path / "base"))
    seed1 = base + "_seed1"
    demo_family.prepare_seed_root(base, seed1, 1)
    (Path(seed1) / "cococntrain" / "cv_keras").mkdir()  # a model of that data
    for root in (base, seed1):  # what each root's runs write for themselves (vocabularies, caches): their own files
        write_text(layout.vocab_file(root, "cococntrain", "bow"), f"words of {root}\n")
    demo_family.prepare_seed_root(base, seed1, 1)
    assert os.path.isdir(os.path.join(seed1, "cococntrain", "cv_keras"))  # the same data: kept, models and all
    from tools.make_demo_data import MARKER
    marker = os.path.join(base, MARKER)
    write_text(marker, open(marker, encoding="utf-8").read())  # written anew, as make_demo_data --overwrite does
    capsys.readouterr()
    demo_family.prepare_seed_root(base, seed1, 1)
    assert f"{seed1} holds other data than {base} (generated again since): copied again" in capsys.readouterr().out
    captions = layout.caption_file(base, "cococntest")
    assert os.path.samefile(captions, layout.caption_file(seed1, "cococntest"))
    assert not os.path.exists(os.path.join(seed1, "cococntrain", "cv_keras"))
