"""Pytest's fixtures shared by the test files (plain helpers: ``tests/helpers.py``). The roots made
here are built once per session (once per worker under pytest-xdist): a test copies one
(``helpers.copy_root``) before changing it."""
import os

import pytest

from tests.helpers import FIXTURES, build_vocab, copy_root, make_small_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def fixtures():
    """The files in the original formats (``FIXTURES``, outside the repository); skip where a clone has none."""
    if not FIXTURES.is_dir():
        pytest.skip("the original's fixtures are absent")
    return FIXTURES


@pytest.fixture(scope="session")
def small_root(tmp_path_factory):
    """A tiny generated root (demo data at scale 0.05, 16-d features), no vocabulary built. Read only."""
    return make_small_root(tmp_path_factory, "small")


@pytest.fixture(scope="session")
def small_root_vocab(small_root, tmp_path_factory):
    """``small_root`` with the vocabularies of cococntrain built. Read only."""
    root = copy_root(small_root, tmp_path_factory.mktemp("small_vocab"))
    build_vocab(root, "cococntrain")
    return root


@pytest.fixture(scope="session")
def half_root(tmp_path_factory):
    """The demo data at scale 0.5 with 64-d features, which test_pipeline.py and test_japanese.py run
    do_all.sh on: run by one process (one worker), they train the English model (seed 0) once."""
    from tools.make_demo_data import make_demo_root
    root = tmp_path_factory.mktemp("half") / "VisualSearch"
    make_demo_root(root, scale=0.5, feature_dim=64, verbose=False)
    return root
