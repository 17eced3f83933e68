import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture
def fixtures():
    """``../shared/fixtures`` (files in the original formats); skip where a clone has none."""
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent")
    return FIXTURES


def run_script(args, log, timeout=900):
    """Run one of the project's scripts (``args[0]`` relative to the repo) with this Python, its
    output into the open file ``log``; fail the test with the log's name if it fails."""
    import subprocess
    done = subprocess.run([sys.executable, *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, f"{args[0]} failed, see {log.name}"


def make_small_root(tmp_path_factory, name, vocabularies_of=()):
    """A tiny generated root in the real layout (demo data at scale 0.05, 16-d features), with the
    vocabularies of the training collections ``vocabularies_of`` built."""
    import subprocess
    sys.path.insert(0, str(REPO / "tools"))
    from make_demo_data import make_demo_root
    root = tmp_path_factory.mktemp(name) / "VisualSearch"
    make_demo_root(root, scale=0.05, feature_dim=16, verbose=False)
    for train in vocabularies_of:
        subprocess.run([sys.executable, str(REPO / "build_vocab.py"), train, "--rootpath", str(root)],
                       check=True, capture_output=True)
    return root
