"""What the tests share: the repository's and the fixtures' places, running a script of the project,
and a tiny generated root. Pytest's fixtures built on them are in ``tests/conftest.py``."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Files in the original code's formats, kept outside the repository; the tests that read them skip
# where a clone has none (the ``fixtures`` fixture).
FIXTURES = REPO.parent / "shared" / "fixtures"


def quiet_env():
    """This process's environment, TensorFlow's C++ log silenced (for a script run in a subprocess)."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def script(*args, cwd=REPO, timeout=900, **kwargs):
    """Run a script of the project (``args[0]``: a path relative to the repository, or ``-m`` and a
    module) with this Python; the finished process, its output as text."""
    first, *rest = map(str, args)
    command = [sys.executable, *(["-m", *rest] if first == "-m" else [str(REPO / first), *rest])]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


def run_script(args, log, timeout=900):
    """Run one of the project's scripts (``args[0]`` relative to the repo) with this Python, its
    output into the open file ``log``; fail the test with the log's name if it fails."""
    done = subprocess.run([sys.executable, *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
                          env=quiet_env())
    assert done.returncode == 0, f"{args[0]} failed, see {log.name}"


def copy_root(src, folder):
    """A copy of the root ``src`` as ``folder/VisualSearch``, to change while ``src`` stays intact."""
    return Path(shutil.copytree(src, Path(folder) / "VisualSearch"))


def build_vocab(root, train):
    subprocess.run([sys.executable, str(REPO / "build_vocab.py"), train, "--rootpath", str(root)],
                   check=True, capture_output=True)


def make_small_root(tmp_path_factory, name, vocabularies_of=()):
    """A tiny generated root in the real layout (demo data at scale 0.05, 16-d features), with the
    vocabularies of the training collections ``vocabularies_of`` built."""
    from tools.make_demo_data import make_demo_root
    root = tmp_path_factory.mktemp(name) / "VisualSearch"
    make_demo_root(root, scale=0.05, feature_dim=16, verbose=False)
    for train in vocabularies_of:
        build_vocab(root, train)
    return root
