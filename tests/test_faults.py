"""No silent wrong result and no lost work: the ini is checked, every stage takes the ini's
collections, one run at a time per root and config (a killed run leaves no lock behind), a full
disk stops with one line and keeps the previous file, and logs are lines, not a redrawn bar."""
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import trainer
from tests.helpers import REPO, SMALL_MODEL, build_vocab, copy_root, run_main
from w2vv import cli, layout, lock, settings
from w2vv.atomic import write_text
from w2vv.errors import InputError

DO_ALL = str(REPO / "do_all.sh")


def do_all(ini, *args, timeout=60):
    return subprocess.run(["bash", DO_ALL, "--ini", str(ini), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def write_ini(path, text):
    path.write_text(f"python = {sys.executable}\n{text}")
    return path


# ---------------------------------------------------------------- the ini

@pytest.mark.parametrize("line, message", [
    ("max_epoch = 3", "unknown setting 'max_epoch' (did you mean 'max_epochs'?)"),
    ("MAX_EPOCHS = 3", "unknown setting 'MAX_EPOCHS' (did you mean 'max_epochs'?)"),  # it suggested 'en_val'
    ("stage = 3", "unknown setting 'stage'"),
    ("PATH = /nowhere", "unknown setting 'PATH'"),
    ("max_epochs = ten", "max_epochs = ten (expected a whole number ≥ 1 or nothing)"),
    ("overwrite = yes", "overwrite = yes (expected 0 or 1)"),
    ("seed = -1", "seed = -1 (expected a whole number from 0 to 4294967295 or nothing)"),
    ("stopwords_en = /no/such/list.txt", "stopwords_en = /no/such/list.txt (no such file"),
    ("distribute = all", "distribute = all (expected none or mirrored)"),
    ("zh_test = my test", "zh_test = my test (expected a collection name)"),
    ("config_overrides = lstm_size", "expected key=value"),
    ("query_test = cococnval", "query_val and query_test are both cococnval: train, val and test must be three"),
    ("en_train = mscoco2014dev-val", "en_train and en_val are both mscoco2014dev-val"),
    ("en_test = cococntest", "en_test is cococntest, a collection of Chinese sentences (by its name"),
    ("query_test = mscoco2014dev-test", "query_test is mscoco2014dev-test, a collection of English sentences, but "
                                        "query_train is cococntrain, of Chinese ones"),
    ("languages = cococnv*=ja", "query_val is cococnval, a collection of Japanese sentences, but query_train"),
    ("query_train = cocojatrain", "query_train is cocojatrain, a collection of English sentences (by its name, or "
                                  "the languages declared): the query_* collections are the query language's"),
    ("just words", "expected 'key = value'"),
    ("seed = 4294967296", "seed = 4294967296 (expected a whole number from 0 to 4294967295 or nothing)"),
    ("rootpath = /elsewhere", "rootpath given twice (first at line 2): the last would be read in silence"),
    ("[other]", "section [other]: every setting is read as one of [common], whatever the section it is under"),
    ("config_overrides_base_w2v = lstm_size=16", "config_overrides_base_w2v: no config 'base_w2v' in w2vv_configs/; "
                                                 "did you mean 'base_w2vv'?"),
])
def test_the_ini_takes_known_keys_and_checked_values_only(tmp_path, line, message):
    ini = write_ini(tmp_path / "bad.ini", f"rootpath = {tmp_path}\n{line}\n")
    done = do_all(ini, "base_w2vv")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: {ini}:3: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("lines, message", [
    ("freq_threshold = 10\n", "freq_threshold = 10 builds the vocabularies word_vocab_10, but base_w2vv reads "
                              "word_vocab_5 (bow_vocab): set freq_threshold = 5, or bow_vocab=word_vocab_10 in "
                              "config_overrides"),
    ("config_overrides = bow_vocab=word_vocab_3\n", "freq_threshold = 5 builds the vocabularies word_vocab_5, but "
                                                    "base_w2vv reads word_vocab_3 (bow_vocab)"),
    ("max_epochs = 3\nconfig_overrides = max_epochs=5\n", "max_epochs = 3, but config_overrides has max_epochs=5: "
                                                          "give one of them")])
def test_one_setting_given_twice_in_an_ini_must_agree(tmp_path, lines, message):
    """freq_threshold 10 with a config of word_vocab_5 used to train on the threshold-5 vocabularies in silence;
    max_epochs twice used to name the run after one and stop the trainer on the other, after stage 1."""
    done = do_all(write_ini(tmp_path / "a.ini", f"rootpath = {tmp_path}\n{lines}"), "base_w2vv")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: {tmp_path / 'a.ini'}: {message}") and len(done.stderr.splitlines()) == 1
    both = settings.read_settings(str(write_ini(tmp_path / "b.ini", f"rootpath = {tmp_path}\nfreq_threshold = 10\n"
                                                                    "config_overrides = bow_vocab=word_vocab_10\n")))
    assert settings.ini_run(both, "base_w2vv")[1] == "base_w2vv_bow_vocabword-vocab-10"


def test_a_config_given_by_its_path(tmp_path):
    """The trainer and the ini take a config file's path; do_all.sh failed on its lock file's name."""
    ini = write_ini(tmp_path / "a.ini", f"rootpath = {tmp_path}\n")
    done = do_all(ini, "--stage", "1", "--stop_stage", "1", "w2vv_configs/base_w2vv.py")
    assert (tmp_path / ".locks" / "do_all.base_w2vv.lock").is_file(), done.stderr
    assert "not ready for" in done.stderr and "No such file" not in done.stderr
    missing = do_all(ini, "nowhere/base_w2vv.py")
    assert missing.returncode == 1 and missing.stderr.strip().endswith("nowhere/base_w2vv.py: config file not found")


def test_a_missing_rootpath(tmp_path):
    done = do_all(write_ini(tmp_path / "a.ini", "overwrite = 0\n"), "base_w2vv")
    assert done.returncode == 1 and done.stderr.strip().endswith("a.ini: rootpath not set")


def test_help_prints_usage_and_the_stages_only():
    done = subprocess.run(["bash", DO_ALL, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("Usage: ./do_all.sh")
    assert "set -euo" not in done.stdout and "#" not in done.stdout  # no line of the script itself
    for stage in range(6):
        assert f"\n  {stage}  " in done.stdout


def test_settings_module_lists_the_run_name_and_overrides(tmp_path, capsys):
    ini = write_ini(tmp_path / "ok.ini", f"rootpath = {tmp_path}\nmax_epochs = 3\nnormalize_zh = 1\n"
                                         "config_overrides = lstm_size=256\n")
    text = settings.shell_assignments(settings.read_settings(str(ini)), "base_w2vv")
    assert "run_name=base_w2vv_lstm_size256_max_epochs3_normalize_zh1\n" in text
    assert "en_run_name=base_w2vv_lstm_size256_max_epochs3\n" in text  # an English model reads no normalize_zh
    settings.main(["--en_run_name", str(ini), "base_w2vv"])
    assert capsys.readouterr().out == "base_w2vv_lstm_size256_max_epochs3\n"
    assert "overrides=lstm_size=256,normalize_zh=1\n" in text and "zh_test=cococntest\n" in text


def test_a_precision_without_a_gpu_stops_with_the_settings(tmp_path, monkeypatch):
    """precision = mixed passed the doctor and stage 1, to stop when the trainer started."""
    from w2vv import backend
    monkeypatch.setattr(backend, "gpu_count", lambda: 0)
    ini = write_ini(tmp_path / "mixed.ini", f"rootpath = {tmp_path}\nprecision = mixed\n")
    with pytest.raises(InputError, match=rf"^{ini}: precision mixed: needs a GPU"):
        settings.shell_assignments(settings.read_settings(str(ini)), "base_w2vv", str(ini))


def test_stage_1_builds_the_vocabularies_an_ini_config_overrides_asks_for(tmp_path):
    """normalize_zh or a stop-word list in config_overrides used to reach the trainer alone: stage 1 built the
    original's vocabularies, and the trainer found none of its own."""
    stop_list = tmp_path / "stop.txt"
    stop_list.write_text("的\n", encoding="utf-8")
    ini = write_ini(tmp_path / "a.ini", f"rootpath = {tmp_path}\nconfig_overrides = stopwords_zh={stop_list},"
                                        "normalize_zh=true\n")
    text = settings.shell_assignments(settings.read_settings(str(ini)), "base_w2vv", str(ini))
    assert "\nnormalize_zh=1\n" in text and f"\nstopwords_of_query_train={stop_list}\n" in text
    assert "\nstopwords_of_en_train=''\n" in text
    twice = write_ini(tmp_path / "b.ini", f"rootpath = {tmp_path}\nnormalize_zh = 1\nconfig_overrides = "
                                          "normalize_zh=0\n")
    with pytest.raises(InputError, match=rf"^{twice}: --config_overrides .*normalize_zh given twice, 0 and 1"):
        settings.shell_assignments(settings.read_settings(str(twice)), "base_w2vv", str(twice))


def test_a_wrong_override_in_an_ini_names_its_line_not_a_flag(tmp_path):
    """It named the config file and a --config_overrides the user never typed; a config file's own error is its."""
    ini = write_ini(tmp_path / "a.ini", f"rootpath = {tmp_path}\nconfig_overrides = lstm_sise=64\n"
                                        "config_overrides_w2vvpp_resnext101 = lstm_size=big\n"
                                        "config_overrides_sea_bow_w2v_gru = lr=-1\nnormalize_zh = 1\n")
    for config, line, value, error in (("base_w2vv", 3, "lstm_sise=64", "unknown config attribute 'lstm_sise'"),
                                       ("w2vvpp_resnext101", 4, "lstm_size=big", "override lstm_size='big' is not "
                                                                                 "an int"),
                                       ("sea_bow_w2v_gru", 5, "lr=-1", r"with the settings lr=-1,normalize_zh=1: "
                                                                       r"lr = -1.0 \(expected a number > 0\)\)$")):
        key = "config_overrides" + {3: "", 4: "_w2vvpp_resnext101", 5: "_sea_bow_w2v_gru"}[line]
        with pytest.raises(InputError, match=rf"^{ini}:{line}: {key} = {value} \(.*{config}.py.*{error}") as e:
            settings.shell_assignments(settings.read_settings(str(ini)), config, str(ini))
        assert "--config_overrides" not in str(e.value)
    (tmp_path / "mine.py").write_text("class config:\n    lstm_size = 3\n")
    with pytest.raises(InputError, match=r"^\S*mine.py: config lacks required attribute"):
        settings.shell_assignments(settings.read_settings(str(ini)), str(tmp_path / "mine.py"), str(ini))


def test_the_query_roles_former_names_are_read_from_an_ini_with_a_one_line_note(tmp_path, capsys):
    ini = write_ini(tmp_path / "old.ini", f"rootpath = {tmp_path}\nzh_train = mycntrain\nquery_test = mycntest\n")
    values = settings.read_settings(str(ini))
    assert (values["query_train"], values["query_test"], values["query_val"]) == ("mycntrain", "mycntest", "cococnval")
    assert capsys.readouterr().err == f"{ini}:3: note: zh_train is now called query_train (read as such)\n"
    args = cli_parser_with_collections().parse_args(["--query_train", "a", "--query_test", "b"])
    assert (args.query_train, args.query_val, args.query_test) == ("a", "cococnval", "b")
    with pytest.raises(InputError, match=r"^--zh_train is now --query_train \("):  # a flag's former name
        cli_parser_with_collections().parse_args(["--zh_train", "a"])


def cli_parser_with_collections():
    import argparse
    p = argparse.ArgumentParser()
    cli.add_collections(p, "query_train", "query_val", "query_test")
    return p


# ---------------------------------------------------------------- one run at a time

def hold(path):
    """A second process holding the lock ``path`` until killed."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "f.write('pid holder'); f.flush(); print('held', flush=True); time.sleep(120)"), str(path)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def kill(holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()


def test_a_second_do_all_on_the_same_root_and_config_stops_and_a_killed_one_blocks_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    ini = write_ini(tmp_path / "run.ini", f"rootpath = {root}\n")
    path = layout.lock_file(str(root), "do_all.base_w2vv")
    os.makedirs(os.path.dirname(path))
    holder = hold(path)
    try:
        second = do_all(ini, *STAGE_4, "base_w2vv")
        assert second.returncode == 1 and "stage 4" not in second.stdout
        assert second.stderr.strip() == (f"error: {path}: another ./do_all.sh of base_w2vv on {root} is running "
                                         "(pid holder); wait for it to end, or pass --wait")
        assert past_the_lock(do_all(ini, *STAGE_4, "w2vv_attention_ctl"))
    finally:
        kill(holder)
    assert past_the_lock(do_all(ini, *STAGE_4, "base_w2vv"))


STAGE_4 = ("--stage", "4", "--stop_stage", "4")  # on an empty root: the lock, then a check that stops at once


def past_the_lock(done):
    return "the trained models: made with these settings and inputs?" in done.stdout and \
        "another ./do_all.sh" not in done.stderr


def spying_python(folder, body):
    """A ``python`` for the ini that runs ``body`` (bash) for the project's scripts and this Python for the rest
    (do_all.sh's own checks): what do_all.sh hands its steps."""
    path = folder / "python"
    path.write_text(f"#!/bin/bash\ncase \"$1\" in *.py) {body}; exit 0 ;; esac\nexec {sys.executable} \"$@\"\n")
    path.chmod(0o755)
    return path


def test_the_steps_of_do_all_hold_not_its_lock_and_are_told_to_wait(tmp_path):
    """A do_all.sh killed alone left its trainer holding the lock under the dead shell's pid; --wait was not
    passed on to the trainer, whose own lock then stopped it."""
    root = tmp_path / "root"
    root.mkdir()
    spy = spying_python(tmp_path, 'echo "$1 fd9=$([ -e /proc/$$/fd/9 ] && echo held || echo free) $*"')
    ini = tmp_path / "run.ini"
    ini.write_text(f"python = {spy}\nrootpath = {root}\n")
    done = do_all(ini, "--wait", "--stage", "2", "--stop_stage", "4", "base_w2vv")
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stdout.splitlines() if ".py fd9=" in line]
    assert [line.split()[0] for line in steps] == ["trainer.py", "trainer.py", "cross_lingual.py"]
    assert all(" fd9=free " in line for line in steps) and all("--wait" in line for line in steps[:2])


def test_ctrl_c_in_the_doctor_stops_do_all_with_its_status(tmp_path):
    """The doctor's exit status 130 (Ctrl-C) was taken for a root not ready, with a message saying so."""
    spy = spying_python(tmp_path, "exit 130")
    ini = tmp_path / "run.ini"
    ini.write_text(f"python = {spy}\nrootpath = {tmp_path}\n")
    done = do_all(ini, "--stage", "1", "--stop_stage", "1", "base_w2vv")
    assert done.returncode == 130 and "not ready" not in done.stderr


def test_a_python_without_the_projects_packages_stops_in_one_line(tmp_path):
    """It stopped with a traceback of the first missing module, or ran on the system's python3."""
    lacking = tmp_path / "python"
    lacking.write_text("#!/bin/bash\nexit 1\n")
    lacking.chmod(0o755)
    ini = tmp_path / "run.ini"
    ini.write_text(f"python = {lacking}\nrootpath = {tmp_path}\n")
    done = do_all(ini, "base_w2vv")
    assert done.returncode == 1 and done.stderr.strip() == (
        f"error: {ini}: python = {lacking} lacks the project's packages (run 'make venv', or set python to the "
        f"venv's)")


@pytest.mark.parametrize("args, message", [
    (["--stage", "3", "--stop_stage", "1", "base_w2vv"], "--stage 3 --stop_stage 1: no stage to run"),
    (["--stage", "9", "base_w2vv"], "--stage 9 --stop_stage 5: each takes a stage, 0-5"),
    (["--stop_stage", "two", "base_w2vv"], "--stage 1 --stop_stage two: each takes a stage, 0-5"),
    (["base_w2vv", "--stage"], "--stage takes a value"),
])
def test_a_stage_range_that_runs_nothing_stops(tmp_path, args, message):
    done = do_all(write_ini(tmp_path / "run.ini", f"rootpath = {tmp_path}\n"), *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and done.stdout == "" and len(lines) == 1 and lines[0].startswith(f"error: {message}")


def test_a_second_trainer_on_the_same_run_stops_with_one_line(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    run = "base_w2vv_batch_size10_lstm_size8_max_epochs1_n_layers0-16-16"
    path = layout.lock_file(str(root), f"trainer.cococntrain.cococnval.{run}")
    os.makedirs(os.path.dirname(path))
    holder = hold(path)
    try:
        status = cli.run(trainer.main, ["cococntrain", "cococnval", "cococntest", "--rootpath", str(root),
                                        "--config", "base_w2vv", "--max_epochs", "1", "--batch_size", "10",
                                        "--config_overrides", SMALL_MODEL])
        assert status == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {path}: training ") and "is already running (pid holder)" in err
    finally:
        kill(holder)


def test_wait_waits_for_the_holder(tmp_path):
    path = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(1.5)"), str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    messages = []
    started = time.time()
    with lock.exclusive(str(path), "the test", wait=True, log=messages.append):
        waited = time.time() - started
    holder.wait()
    assert waited > 0.5 and messages and messages[0].startswith("waiting for the test")


# ---------------------------------------------------------------- a full disk

def test_a_failed_write_is_one_line_and_keeps_the_previous_file(tmp_path, monkeypatch):
    """Each writer of the project (text, resume state, weights) through the same atomic write."""
    from w2vv import checkpoint, training
    target = tmp_path / "vocab.txt"
    write_text(target, "old\n")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("builtins.open", _failing_open_for(str(tmp_path), disk_full))
    with pytest.raises(InputError, match=rf"^{target}: cannot write it, no space left on the device"):
        write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["vocab.txt"]

    monkeypatch.setattr(training.np, "savez", disk_full)
    with pytest.raises(InputError, match="resume_state.npz: cannot write it, no space left"):
        training.save_resume_state(str(tmp_path), _TinyModel(), training.Progress(0, training.PlateauRule(0.1)))
    monkeypatch.setattr(checkpoint.h5py, "File", lambda *a, **k: disk_full())
    with pytest.raises(InputError, match="epoch_3.h5: cannot write it, no space left"):
        checkpoint.save_weights(_TinyModel(), str(tmp_path / "epoch_3.h5"))
    assert os.listdir(tmp_path) == ["vocab.txt"]


def _failing_open_for(folder, fail):
    real_open = open

    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode and str(file).startswith(folder):
            return fail()
        return real_open(file, mode, *args, **kwargs)
    return fake_open


class _TinyModel:
    variables, layers = [np.zeros(2)], []

    class optimizer:
        variables = [np.zeros(1)]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_for_real_then_the_same_command_after_freeing_space(small_disk):
    target = small_disk / "results.txt"
    write_text(target, "previous\n")
    filler = small_disk / "filler"
    with open(filler, "wb") as f:  # fill the disk
        try:
            f.write(b"\0" * (2 << 20))
        except OSError:
            pass
    with pytest.raises(InputError, match=rf"^{target}: cannot write it, no space left on the device"):
        write_text(target, "x" * 200_000)
    assert target.read_text() == "previous\n" and sorted(os.listdir(small_disk)) == ["filler", "results.txt"]
    filler.unlink()
    write_text(target, "x" * 200_000)
    assert target.stat().st_size == 200_000


# ---------------------------------------------------------------- logs

@pytest.mark.slow
def test_training_logs_a_line_per_epoch_when_not_on_a_terminal(small_root, tmp_path):
    root = copy_root(small_root, tmp_path)
    build_vocab(root, "cococntrain")
    done = run_main("trainer.py", "cococntrain", "cococnval", "cococntest", "--rootpath", root, "--config",
                    "base_w2vv", "--max_epochs", "2", "--batch_size", "10", "--config_overrides", SMALL_MODEL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout and "━" not in done.stdout
    assert done.stdout.count("Epoch 1/2") == 1 and done.stdout.count("Epoch 2/2") == 1


def test_keras_verbosity_follows_the_terminal(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli.keras_verbosity() == 2
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.keras_verbosity() == 1


# ---------------------------------------------------------------- the ini's collections

RENAMED = {"mscoco2014dev-train": "en-tr", "mscoco2014dev-val": "en-va", "mscoco2014dev-test": "en-te",
           "cococntrain": "mycntr", "cococnval": "mycnva", "cococntest": "mycnte"}


def rename_collections(root):
    for old, new in RENAMED.items():
        shutil.move(root / old, root / new)
        for sub, old_name, new_name in (("TextData", f"{old}.caption.txt", f"{new}.caption.txt"),
                                        ("ImageSets", f"{old}.txt", f"{new}.txt")):
            shutil.move(root / new / sub / old_name, root / new / sub / new_name)


@pytest.mark.slow
def test_do_all_takes_every_collection_from_the_ini(small_root, tmp_path):
    root = copy_root(small_root, tmp_path)
    rename_collections(root)
    roles = dict(zip(("en_train", "en_val", "en_test", "zh_train", "zh_val", "zh_test"), RENAMED.values()))
    ini = write_ini(tmp_path / "renamed.ini", f"rootpath = {root}\nmax_epochs = 1\nseed = 0\n"
                    f"config_overrides = {SMALL_MODEL}\n" + "".join(f"{k} = {v}\n" for k, v in roles.items()))
    done = do_all(ini, "base_w2vv", timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    run = settings.ini_run(settings.read_settings(str(ini)), "base_w2vv")[1]
    for split in ("mycnva", "mycnte"):
        for name in (run, layout.cl_run_name(run), layout.fusion_run_name(run)):
            assert os.path.isfile(os.path.join(layout.similarity_dir(str(root), split, "mycntr", name), "mir.txt"))
    table = Path(root, "results", f"{run}.mycntr.mycnva.mycnte.txt")  # named after the collections, not the paper's
    assert table.read_text().splitlines()[1].startswith(run)
    assert not any(Path(root).glob("coco*")) and not any(Path(root).glob("mscoco2014dev-*"))


def test_ctrl_c_is_one_line_and_exit_status_130(capsys):
    """A 61-line KeyboardInterrupt traceback from deep in TensorFlow, for an interruption the next run resumes."""
    def interrupted(argv):
        raise KeyboardInterrupt

    assert cli.run(interrupted, []) == 130
    assert capsys.readouterr().err == "interrupted: what was written is whole; the same command again redoes what " \
                                      "is missing\n"
    assert cli.run(interrupted, [], resumes="extraction goes on from its first missing chunk") == 130
    assert capsys.readouterr().err.endswith("redoes what is missing (extraction goes on from its first missing "
                                            "chunk)\n")  # an extraction spoke of training

    def traced(argv):  # Ctrl-C while TensorFlow traced a graph: its C function returned a SystemError
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("<built-in method> returned a result with an exception set") from None

    assert cli.run(traced, []) == 130 and capsys.readouterr().err.startswith("interrupted: ")

    def failed(argv):
        raise SystemError("not an interruption")

    with pytest.raises(SystemError):
        cli.run(failed, [])


SCRIPT_INTERRUPTED = """
import os, signal, sys, time
sys.modules["__main__"].__file__ = os.path.join({repo!r}, "trainer.py")  # as in the process of a project's script
import w2vv
from w2vv import cli
if sys.argv[1] == "after":
    cli.run(lambda argv: print("done"), [])
print("working", flush=True)
os.kill(os.getpid(), signal.SIGINT)
time.sleep(5)
print("not stopped")
"""


@pytest.mark.parametrize("when", ["importing", "after"])
def test_ctrl_c_while_a_script_imports_or_after_its_work_is_one_line_and_status_130(when, tmp_path):
    """While its modules were imported, a KeyboardInterrupt traceback of 20 lines; after its work (an atexit callback,
    Python's teardown), a traceback and exit status 0, on which do_all.sh went on to the next stage."""
    done = subprocess.run([sys.executable, "-c", SCRIPT_INTERRUPTED.format(repo=str(REPO)), when], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        130, ("done\n" if when == "after" else "") + "working\n",
        "interrupted: what was written is whole; the same command again redoes what is missing\n")
    for library in ("my_analysis.py", "tools/trainer.py"):  # a user's script beside the project's is theirs
        as_a_library = subprocess.run([sys.executable, "-c", SCRIPT_INTERRUPTED.replace("trainer.py", library).format(
            repo=str(REPO)), when], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert as_a_library.returncode == -signal.SIGINT and as_a_library.stderr.splitlines()[-1] == \
            "KeyboardInterrupt"
    linked = tmp_path / "repo"
    linked.symlink_to(REPO)
    done = subprocess.run([sys.executable, "-c", SCRIPT_INTERRUPTED.format(repo=str(linked)), when], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr


def test_the_scripts_guarded_against_ctrl_c_are_the_projects():
    from w2vv import SCRIPTS
    assert sorted(SCRIPTS) == sorted(p.name for p in REPO.glob("*.py") if re.search(r"\brun\(main\b", p.read_text()))


@pytest.mark.parametrize("unset", [True, False])
def test_an_unset_backend_is_the_default_keras_is_told_so(monkeypatch, unset):
    """Unset, Keras took the backend of ~/.keras/keras.json while the run recorded TensorFlow's; empty, do_all.sh
    chose TensorFlow's venv and then every step stopped."""
    from w2vv import backend
    monkeypatch.setenv("KERAS_BACKEND", "")  # recorded, so that what check() sets is undone after the test
    if unset:
        monkeypatch.delenv("KERAS_BACKEND")
    assert backend.name() == backend.DEFAULT
    backend.check()
    assert os.environ["KERAS_BACKEND"] == backend.DEFAULT


def test_an_os_error_is_one_line_naming_its_paths(capsys, tmp_path):
    """A folder in the way of a file, a read-only root: a traceback from the depths of a write."""
    from w2vv import cli
    for error, line in ((OSError(errno.EISDIR, "Is a directory", str(tmp_path)), f"{tmp_path}: Is a directory"),
                        (OSError(errno.EXDEV, "Invalid cross-device link", "a", None, "b"),
                         "a -> b: Invalid cross-device link"),
                        (OSError(errno.EMFILE, "Too many open files"), "Too many open files (--debug shows where)")):
        def failing(argv, error=error):
            raise error
        assert cli.run(failing, []) == 1 and capsys.readouterr().err == f"error: {line}\n"


def test_data_archives_are_separated_by_spaces_or_commas_as_download_data_takes_them(tmp_path):
    for value in ("word2vec zh_w2v", "word2vec,zh_w2v", "word2vec, zh_w2v"):
        ini = write_ini(tmp_path / "a.ini", f"rootpath = {tmp_path}\ndata_archives = {value}\n")
        assert settings.read_settings(str(ini))["data_archives"] == value
    with pytest.raises(InputError, match="unknown archive 'a'"):
        settings.read_settings(str(write_ini(tmp_path / "b.ini", f"rootpath = {tmp_path}\ndata_archives = a,nope\n")))
