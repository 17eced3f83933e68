"""Interrupted training resumes exactly: SIGKILL at two different points, rerun the same
command, and the histories equal those of an uninterrupted run (deterministic mode, --seed)."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO, build_vocab, copy_root, run_main
from w2vv import layout
from w2vv.config import parse_overrides
from w2vv.runs import configured_run
from tools.make_demo_data import make_demo_root

pytestmark = pytest.mark.slow  # three trainings of six epochs

TRAIN, VAL, TEST, CONFIG = "mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test", "w2vv_attention_ctl"
OVERRIDES = "lstm_size=16,n_layers=0-64-32,lr=0.002,sent_maxlen=16"
RUN = configured_run(CONFIG, {**parse_overrides(OVERRIDES), "max_epochs": "6"})[1]  # the checkpoint folder's name


def make_root(path):
    make_demo_root(path, scale=0.3, feature_dim=32, verbose=False)
    build_vocab(path, TRAIN)
    return path


def trainer_args(root):
    return [TRAIN, VAL, TEST, "--rootpath", str(root), "--config", CONFIG, "--seed", "7", "--max_epochs", "6",
            "--config_overrides", OVERRIDES]


def trainer(root):
    """The training command, for a process of its own (to be killed)."""
    return [sys.executable, str(REPO / "trainer.py"), *trainer_args(root)]


def train_here(root):
    """The same training in this process (the resumed and the uninterrupted runs: no process to kill)."""
    done = run_main("trainer.py", *trainer_args(root))
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def histories(root):
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    return {name: open(os.path.join(folder, name)).read()
            for name in ("val_per_hist.txt", "train_loss_hist.txt", "lr_hist.txt")}


def epochs_done(root):
    path = os.path.join(layout.checkpoint_dir(str(root), TRAIN, VAL, RUN), "lr_hist.txt")
    return len(open(path).read().splitlines()) if os.path.isfile(path) else 0


def kill_after(root, epochs, delay):
    """Start training, SIGKILL it ``delay`` seconds after ``epochs`` epochs have finished."""
    proc = subprocess.Popen(trainer(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while epochs_done(root) < epochs and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The generated root with its vocabulary, untrained: each run trains in a copy of its own."""
    return make_root(tmp_path_factory.mktemp("pristine") / "VisualSearch")


@pytest.fixture(scope="module")
def uninterrupted(pristine, tmp_path_factory):
    root = copy_root(pristine, tmp_path_factory.mktemp("plain"))
    train_here(root)
    return histories(root)


def test_killed_twice_and_resumed_equals_uninterrupted(pristine, tmp_path, uninterrupted):
    root = copy_root(pristine, tmp_path)
    kill_after(root, epochs=2, delay=0.4)     # in the middle of epoch 2
    assert 2 <= epochs_done(root) < 6
    kill_after(root, epochs=4, delay=0.0)     # right at the end of epoch 3's bookkeeping
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    open(os.path.join(folder, "epoch_3.h5.k1ll3d.tmp"), "wb").close()   # as a kill mid-write leaves it
    assert "resuming at epoch" in train_here(root).stdout
    assert histories(root) == uninterrupted
    assert not os.path.exists(os.path.join(folder, "resume_state.npz"))
    assert len([f for f in os.listdir(folder) if f.startswith("epoch_")]) == 1
    assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]   # nothing half-written left by the kills


def test_same_seed_same_history(pristine, tmp_path, uninterrupted):
    root = copy_root(pristine, tmp_path)
    train_here(root)
    assert histories(root) == uninterrupted


def test_a_retrain_killed_in_its_first_epoch_leaves_no_state_of_the_run_it_replaces(pristine, tmp_path):
    """--overwrite 1 with another seed, killed in its first epoch: the interrupted run's resume state stayed, and the
    same command without --overwrite resumed that run (seed 7's weights) under the new run's record (seed 8)."""
    root = copy_root(pristine, tmp_path)
    kill_after(root, epochs=2, delay=0.0)
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, RUN)
    assert os.path.isfile(os.path.join(folder, layout.RESUME_FILE))
    args = [*trainer(root), "--overwrite", "1", "--seed", "8"]  # argparse: the last --seed counts
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record, deadline = os.path.join(folder, layout.SETTINGS_FILE), time.time() + 300
    while '"seed": 8' not in open(record).read() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert epochs_done(root) == 2 and not os.path.exists(os.path.join(folder, layout.RESUME_FILE))
    again = run_main("trainer.py", *trainer_args(root), "--seed", "8")
    assert again.returncode == 0 and "resuming at epoch" not in again.stdout, again.stdout[-2000:]
