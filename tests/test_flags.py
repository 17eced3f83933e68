"""One meaning per flag: ``--config`` is a model config and ``--run`` a trained run in every script; a
former name or a former positional stops with one line naming the flag to use; every script has
``--debug`` from ``w2vv.cli``. And the code's shape: no import circle in ``w2vv/``, no function over
60 lines in ``w2vv/`` and the scripts."""
import ast
import importlib
import re
from pathlib import Path

import pytest

from tests.helpers import REPO, run_main

SCRIPTS = sorted(p.name for p in REPO.glob("*.py"))


@pytest.mark.parametrize("args, message", [
    (["trainer.py", "a", "b", "c", "--rootpath", "/", "--model_config", "base_w2vv"],
     "--model_config is now --config"),
    (["tester.py", "a", "b", "--rootpath", "/", "--model_config", "base_w2vv"], "--model_config is now --run"),
    (["cross_lingual.py", "--rootpath", "/", "--config", "base_w2vv"], "--config is now --run"),
    (["cross_lingual.py", "--rootpath", "/", "--run", "x", "--en_config", "base_w2vv"], "--en_config is now --en_run"),
    (["fuse.py", "--rootpath", "/", "--config", "base_w2vv"], "--config is now --run"),
    (["report_page.py", "a", "b", "--rootpath", "/", "--config", "base_w2vv"], "--config is now --run"),
    (["report.py", "--rootpath", "/", "base_w2vv"], "unexpected argument 'base_w2vv' (the runs are --run RUN"),
    (["report.py", "--rootpath", "/", "--config", "base_w2vv"], "--config is now --run"),
    (["compare.py", "--rootpath", "/", "--config", "base_w2vv"], "--config is now --run"),
    (["check_root.py", "--rootpath", "/", "base_w2vv"], "unexpected argument 'base_w2vv' (the config is --config"),
    (["build_vocab.py", "cococntrain", "--rootpath", "/", "--zh_train", "x"], "unexpected argument '--zh_train'"),
])
def test_a_former_flag_stops_with_one_line_naming_the_new_one(args, message):
    done = run_main(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and message in lines[0], done.stderr


def test_a_flag_and_an_override_of_one_attribute_with_two_values_stop():
    """--max_epochs used to win over config_overrides' max_epochs in silence."""
    done = run_main("trainer.py", "a", "b", "c", "--rootpath", "/", "--config", "base_w2vv", "--max_epochs", "2",
                    "--config_overrides", "max_epochs=3")
    assert done.returncode == 1 and done.stderr.strip() == \
        "error: --max_epochs 2 and --config_overrides max_epochs=3: give one of them"


@pytest.mark.parametrize("seed", ["-1", "4294967296", "1.5"])
def test_a_seed_numpy_and_keras_cannot_take_is_a_usage_error(seed):
    done = run_main("trainer.py", "a", "b", "c", "--rootpath", "/", "--config", "base_w2vv", "--seed", seed)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        f"error: argument --seed: '{seed}': a seed is a whole number from 0 to 4294967295"), done.stderr


@pytest.mark.parametrize("name", ["compare.py", "report.py"])
def test_a_root_not_there_is_named_first(name, tmp_path):
    """Before the results it would hold: their absence would send the user to run a stage."""
    done = run_main(name, "--rootpath", tmp_path / "nowhere", "--run", "a")
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path / 'nowhere'}: rootpath not found (set --rootpath, or rootpath " \
                                  f"in common.ini, to a VisualSearch root)"
    readme = run_main(name, "--rootpath", REPO / "README.md", "--run", "a")  # was "rootpath not found"
    assert readme.stderr.strip() == f"error: {REPO / 'README.md'}: a file, not a folder (set --rootpath, or " \
                                    f"rootpath in common.ini, to a VisualSearch root)"


@pytest.mark.parametrize("args", [["report.py", "--rootpath", "/", "--run", "a", "b", "a"],
                                  ["compare.py", "--rootpath", "/", "--run", "a", "b", "a"]])
def test_a_run_listed_twice_is_a_usage_error_not_a_row_twice(args):
    done = run_main(*args)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith("error: --run: a given twice")


@pytest.mark.parametrize("args, message", [
    (["trainer.py", "cococntrain", "cococnval", "cococnval", "--rootpath", "/", "--config", "base_w2vv"],
     "error: val and test are both cococnval: train, val and test must be three collections"),
    (["fuse.py", "--rootpath", "/", "--run", "x", "--query_val", "cococntest"],
     "error: --query_val and --query_test are both cococntest: train, val and test must be three collections"),
    (["cross_lingual.py", "--rootpath", "/", "--run", "x", "--en_run", "y", "--en_test", "mscoco2014dev-val"],
     "error: --en_val and --en_test are both mscoco2014dev-val"),
    (["trainer.py", "cococntrain", "mscoco2014dev-val", "cococntest", "--rootpath", "/", "--config", "base_w2vv"],
     "error: val is mscoco2014dev-val, a collection of English sentences, but train is cococntrain, of Chinese ones"),
    (["cross_lingual.py", "--rootpath", "/", "--run", "x", "--en_run", "y", "--en_test", "cococntest"],
     "error: --en_test is cococntest, a collection of Chinese sentences (by its name, or the languages declared): "
     "the --en_* collections are the pivot's, English"),
])
def test_roles_of_one_collection_or_of_two_languages_are_a_usage_error(args, message):
    """Val picks the best epoch and the CLM weight: a test (or train) that is val would flatter the model; and
    a model reads sentences of its own language, English ones for the English model of CL. Found by the
    arguments, before a model trains for hours and meets its test collection."""
    done = run_main(*args)
    assert done.returncode == 2 and message in done.stderr.strip().splitlines()[-1], done.stderr


@pytest.mark.parametrize("args, message", [
    (["tester.py", "cococntrain", "cococntest/", "--rootpath", "/"],
     "error: argument test: 'cococntest/': expected a collection name, one folder of the root (without the "
     "trailing /)"),
    (["fuse.py", "--rootpath", "/", "--run", "x", "--query_val", "../cococnval"],
     "error: argument --query_val: '../cococnval': expected a collection name, one folder of the root"),
    (["build_vocab.py", "a b", "--rootpath", "/"], "error: argument collection: 'a b': expected a collection name"),
])
def test_a_collection_that_is_no_folder_name_is_a_usage_error(args, message):
    """A shell's completion (``cococntest/``) looked for ``ImageSets/cococntest/.txt``."""
    done = run_main(*args)
    assert done.returncode == 2 and message in done.stderr.strip().splitlines()[-1], done.stderr


def test_every_script_takes_its_arguments_from_cli():
    """Each script's parser is ``cli.parser`` (with ``--debug``); none builds one by hand."""
    for name in SCRIPTS:
        text = (REPO / name).read_text(encoding="utf-8")
        if "def main(" not in text or "argparse.ArgumentParser(" in text:
            assert "argparse.ArgumentParser(" not in text, name
            continue
        assert "cli.parser(" in text, name


def _imports(module_path, package_root):
    """The ``w2vv`` modules that a module imports at its top level (not inside functions)."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    package = ".".join(module_path.relative_to(package_root.parent).with_suffix("").parts[:-1])
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module
            names = [f"{base}.{a.name}" for a in node.names]
            out |= {n if (package_root.parent / (n.replace(".", "/") + ".py")).exists() else base for n in names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m.startswith("w2vv")}


def test_no_import_circle_in_the_package():
    root = REPO / "w2vv"
    graph = {".".join(p.relative_to(REPO).with_suffix("").parts): _imports(p, root) for p in root.rglob("*.py")}

    def visit(module, path):
        assert module not in path, " -> ".join(path[path.index(module):] + [module])
        for other in graph.get(module, ()):
            visit(other, path + [module])

    for module in graph:
        visit(module, [])


def test_no_function_over_60_lines():
    files = [*REPO.glob("*.py"), *(REPO / "w2vv").rglob("*.py")]
    long = [f"{Path(f).relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for f in files for node in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60]
    assert not long, long


def test_the_docs_name_no_former_flag():
    docs = [REPO / "README.md", *(REPO / "docs").glob("*.md"), REPO / "do_all.sh", REPO / "Makefile"]
    former = re.compile(r"--model_config|--en_config|--zh_(train|val|test)\b")
    hits = [f"{d.name}: {line.strip()}" for d in docs for line in d.read_text(encoding="utf-8").splitlines()
            if former.search(line) and " is now " not in line]  # the troubleshooting table names them
    assert not hits, hits
