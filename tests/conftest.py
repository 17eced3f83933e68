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
