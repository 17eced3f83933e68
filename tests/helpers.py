"""What the tests share: the repository's and the fixtures' places, running a script of the project,
and a tiny generated root. Pytest's fixtures built on them are in ``tests/conftest.py``."""
import contextlib
import importlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Files in the original code's formats, kept outside the repository (``W2VV_FIXTURES``, else shared/fixtures
# beside the clone); the tests that read them skip where a clone has none (the ``fixtures`` fixture).
FIXTURES = Path(os.environ.get("W2VV_FIXTURES") or REPO.parent / "shared" / "fixtures")
# Training steps taken by the original code and by the published W2VV++ and SEA code, kept in the
# repository (tests/fixtures/README.md) so that the replays run in every clone
STEP_FIXTURES = REPO / "tests" / "fixtures"


# The run do_all.sh trains once per session on the shared demo root (``half_root``, ``pipeline_root`` in
# tests/conftest.py), for both languages with seed 0: test_pipeline.py checks it, test_japanese.py adds a
# Japanese model beside its English one
PIPELINE_CONFIG = "w2vv_attention_ctl"
PIPELINE_OVERRIDES = "lstm_size=32,n_layers=0-128-64,lr=0.002,sent_maxlen=16"
PIPELINE_EPOCHS = 6
PIPELINE_SCALE = 0.5
# The smallest model the scripts train in the tests of what they do (not of what they learn)
SMALL_MODEL = "lstm_size=8,n_layers=0-16-16"


def write_pipeline_ini(path, root, extra=""):
    """The ini of the shared pipeline's run on ``root`` (``extra``: more lines), written at ``path``."""
    path.write_text(f"rootpath = {root}\nmax_epochs = {PIPELINE_EPOCHS}\nseed = 0\npython = {sys.executable}\n"
                    f"config_overrides = {PIPELINE_OVERRIDES}\n{extra}")
    return path


def pipeline_run():
    """The checkpoint folders' name of the shared pipeline's run."""
    from w2vv.config import parse_overrides
    from w2vv.runs import configured_run
    overrides = {**parse_overrides(PIPELINE_OVERRIDES), "max_epochs": str(PIPELINE_EPOCHS)}
    return configured_run(PIPELINE_CONFIG, overrides)[1]


def quiet_env():
    """This process's environment, TensorFlow's C++ log silenced (for a script run in a subprocess)."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def script(*args, cwd=REPO, timeout=900, **kwargs):
    """Run a script of the project (``args[0]``: a path relative to the repository, or ``-m`` and a
    module) with this Python; the finished process, its output as text."""
    first, *rest = map(str, args)
    command = [sys.executable, *(["-m", *rest] if first == "-m" else [str(REPO / first), *rest])]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


def run_main(name, *args):
    """Run the project's script ``name`` (``trainer.py``, ...) in this process, as its command line does
    (``cli.run(main, argv)``): a ``subprocess.CompletedProcess`` with its exit status and what it printed.
    For a test's setup, or a test of what the script does rather than of its process: it spares the
    seconds a fresh Python spends importing TensorFlow (about 5 on 2 cores)."""
    from w2vv import cli
    module = importlib.import_module(Path(name).stem)
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.run(module.main, argv)
        except SystemExit as exited:  # argparse's usage errors (exit status 2)
            status = exited.code
    return subprocess.CompletedProcess([name, *argv], status, out.getvalue(), err.getvalue())


def run_script(args, log):
    """``run_main(*args)``, its output into the open file ``log``; fail the test with the log's name if
    the script fails."""
    done = run_main(*args)
    log.write(done.stdout + done.stderr)
    log.flush()
    assert done.returncode == 0, f"{args[0]} failed, see {log.name}"


def run_pipeline(ini, *extra, config=PIPELINE_CONFIG):
    """``do_all.sh --ini ini [extra] config`` in a subprocess; the finished process, its output as text."""
    return subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), *extra, config],
                          capture_output=True, text=True, cwd=REPO, timeout=900)


def copy_root(src, folder):
    """A copy of the root ``src`` as ``folder/VisualSearch``, to change while ``src`` stays intact."""
    return Path(shutil.copytree(src, Path(folder) / "VisualSearch"))


def build_vocab(root, train):
    done = run_main("build_vocab.py", train, "--rootpath", root)
    assert done.returncode == 0, done.stderr


def make_small_root(tmp_path_factory, name, vocabularies_of=()):
    """A tiny generated root in the real layout (demo data at scale 0.05, 16-d features), with the
    vocabularies of the training collections ``vocabularies_of`` built."""
    from tools.make_demo_data import make_demo_root
    root = tmp_path_factory.mktemp(name) / "VisualSearch"
    make_demo_root(root, scale=0.05, feature_dim=16, verbose=False)
    for train in vocabularies_of:
        build_vocab(root, train)
    return root


def one_error_line(done):
    """The one line a finished script printed for bad input: exit 1, ``error: …``, nothing else on stderr."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def drop_comment(line):
    """A shell ``line`` without its comment (``#`` at a word's start, outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line

