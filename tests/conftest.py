"""Pytest's fixtures shared by the test files (plain helpers: ``tests/helpers.py``). The roots made
here are built once per session (once per worker under pytest-xdist): a test copies one
(``helpers.copy_root``) before changing it."""
import os

import pytest

from tests.helpers import (FIXTURES, PIPELINE_SCALE, build_vocab, copy_root, make_small_root, run_pipeline,
                           write_pipeline_ini)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The files that take longest (pytest --durations, 2-core CPU, 2026-12-01), sent to the workers first so
# that no long file starts last and leaves the other worker idle; the rest keep their order.
LONGEST_FIRST = ("test_pipeline.py", "test_japanese.py", "test_bench_gpu.py", "test_search.py", "test_service.py",
                 "test_resume.py", "test_backends.py", "test_run_identity.py", "test_faults.py", "test_features.py",
                 "test_paper_root.py")
# Files on one worker, one after the other (under --dist loadfile): test_japanese.py reuses the models
# do_all.sh trains once per session in half_root (``pipeline_root``).
SAME_WORKER = {"tests/test_japanese.py": "tests/test_pipeline.py"}


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with ``SAME_WORKER``'s files as one unit, in the collection's order."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedRootScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope, scope)

    config.option.loadscopereorder = False  # xdist would send the files with the most tests first
    return SharedRootScheduling(config, log)


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
    """The demo data at ``PIPELINE_SCALE`` (0.5) with 64-d features, which test_pipeline.py and
    test_japanese.py share (one worker: ``SAME_WORKER``)."""
    from tools.make_demo_data import make_demo_root
    root = tmp_path_factory.mktemp("half") / "VisualSearch"
    make_demo_root(root, scale=PIPELINE_SCALE, feature_dim=64, verbose=False)
    return root


@pytest.fixture(scope="session")
def pipeline_root(half_root):
    """do_all.sh once on ``half_root``, for both languages (``PIPELINE_CONFIG``, seed 0): (root, its ini,
    the finished process). Read only, but for test_japanese.py, which adds its Japanese collections."""
    ini = write_pipeline_ini(half_root.parent / "test.ini", half_root)
    return half_root, ini, run_pipeline(ini)
