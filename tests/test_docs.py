"""The docs stand alone and hold true: no file of the project points outside the repository; every
link and ``docs/….md#anchor`` pointer in the docs and the code reaches an existing file and heading;
every make target, script, module, flag and config attribute the docs name exists; the paper's
numbers are on one page; the pages keep a manual's size and speak of the project only; the design's layers hold
(each module of `w2vv/` in one, importing none above its own)."""
import functools
import importlib.util
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import REPO, drop_comment

TEXT_SUFFIXES = (".py", ".md", ".sh", ".ini", ".txt", ".html", ".cfg", ".toml")
SKIPPED_DIRS = {"tests", "demo_root", "__pycache__", "node_modules"}
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCS_POINTER = re.compile(r"docs/[\w./-]+\.md(?:#[\w-]+)?")
FENCE = re.compile(r"^\s*(```|~~~)")


def project_files():
    """The project's text files outside ``tests/`` (the tests may read fixtures kept outside)."""
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith(TEXT_SUFFIXES) and os.path.getsize(path) < 2_000_000:
                yield path


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown):
    """The anchors of a Markdown file's headings (outside code blocks), duplicates numbered."""
    seen, out, in_code = {}, set(), False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            base = slug(line.lstrip("#"))
            out.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
    return out


def broken(target, source):
    """Why ``target`` (``path#anchor`` relative to the file ``source``, or ``#anchor`` in it) does
    not resolve, or None."""
    path, _, anchor = target.partition("#")
    full = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
    if not os.path.exists(full):
        return "no such file"
    if anchor and full.endswith(".md") and anchor not in anchors(read(full)):
        return f"no heading #{anchor}"
    return None


def test_slug_and_anchors_follow_github():
    assert slug("Extracting features: `extract_features.py`") == "extracting-features-extract_featurespy"
    assert slug("Quick start (two commands, Python 3.10+, no download)") == \
        "quick-start-two-commands-python-310-no-download"
    assert anchors("# A\n```sh\n# not a heading\n```\n## A\n## The paper's numbers\n") == \
        {"a", "a-1", "the-papers-numbers"}


def test_nothing_points_outside_the_repository():
    offenders = [f"{os.path.relpath(path, REPO)}:{n}: {line.strip()}"
                 for path in project_files() for n, line in enumerate(read(path).splitlines(), 1)
                 if re.search(r"REFERENCE|\.\./shared", line)]
    assert not offenders, "\n".join(offenders)


DOCS = ["README.md", "CONTRIBUTING.md", "bench/README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(os.path.join(REPO, "docs")) if name.endswith(".md"))


def test_every_page_of_the_docs_is_checked():
    assert {"docs/method.md", "docs/gpu.md", "docs/service.md", "docs/troubleshooting.md"} <= set(DOCS)


@pytest.mark.parametrize("doc", DOCS)
def test_markdown_links_resolve(doc):
    path = os.path.join(REPO, doc)
    bad = []
    for target in MARKDOWN_LINK.findall(read(path)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        why = broken(target, path)
        if why:
            bad.append(f"{target}: {why}")
    assert not bad, f"{doc}: " + "; ".join(bad)


def test_docs_pointers_in_code_and_docs_resolve():
    pointers = [(os.path.relpath(path, REPO), target) for path in project_files()
                for target in DOCS_POINTER.findall(read(path)) if not path.startswith(os.path.join(REPO, "docs"))]
    assert len(pointers) >= 20  # the modules of the method point into docs/method.md
    bad = [f"{where}: {target}: {why}" for where, target in pointers
           if (why := broken(target, os.path.join(REPO, "README.md")))]  # relative to the root
    assert not bad, "\n".join(bad)


def test_readme_has_contents_and_contributing_has_extending_sections():
    readme = read(os.path.join(REPO, "README.md"))
    assert {"contents", "quick-start-two-commands-python-311-no-download", "documentation"} <= anchors(readme)
    assert readme.index("## Contents") < readme.index("## Quick start") < readme.index("## Install")
    assert {"extending", "tests"} <= anchors(read(os.path.join(REPO, "CONTRIBUTING.md")))



# ---- What the docs name exists: make targets, scripts, modules, flags, config attributes ----------

SH_BLOCK = re.compile(r"^[ \t]*```(?:sh|bash|shell|console)[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PYTHON = re.compile(r"^(?:\S*/)?python3?$")  # python, python3, .venv/bin/python, .venv-jax/bin/python
SEPARATORS = {"&&", "||", ";", "|", "&"}


def page(doc):
    return read(os.path.join(REPO, doc))


def without_code_blocks(markdown):
    return re.sub(r"^[ \t]*(```|~~~).*?^[ \t]*\1", "", markdown, flags=re.M | re.S)


def split_commands(line):
    """The commands of one shell line, each a list of words; ``|`` inside ``[…]`` (a usage line's
    alternatives) does not split."""
    try:
        words = shlex.split(line)
    except ValueError:  # an unbalanced quote in a usage line
        words = line.split()
    commands, current, depth = [], [], 0
    for word in words:
        if word in SEPARATORS and depth == 0:
            commands.append(current)
            current = []
            continue
        depth += word.count("[") - word.count("]")
        current.append(word)
    return [c for c in commands + [current] if c]


def sh_commands(doc):
    """Every command of the page's fenced sh blocks: continuation lines joined, comments dropped."""
    for block in SH_BLOCK.findall(page(doc)):
        for line in re.sub(r"\\\n", " ", block).splitlines():
            yield from split_commands(drop_comment(line))


def span_commands(doc):
    """The commands written in the page's inline code spans (``make …``, ``python …``, ``./do_all.sh …``)."""
    for span in CODE_SPAN.findall(without_code_blocks(page(doc))):
        words = span.split()
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words = words[1:]
        if words and (words[0] in ("make", "./do_all.sh") or PYTHON.match(words[0])):
            yield from split_commands(span)


def program(command):
    """``(kind, name, arguments)`` of a command: kind ``make``, ``script`` (a ``.py`` or
    ``do_all.sh``), ``module`` (``python -m``), or None for anything else (pip, curl…)."""
    words = [w for w in command if w != "\\"]
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # KERAS_BACKEND=jax …
        words = words[1:]
    if not words:
        return None, None, []
    first, rest = words[0], words[1:]
    if first == "make":
        return "make", None, rest
    if first.endswith("do_all.sh"):
        return "script", "do_all.sh", rest
    if PYTHON.match(first) and rest:
        if rest[0] == "-m" and len(rest) > 1:
            return "module", rest[1], rest[2:]
        if rest[0].endswith(".py"):
            return "script", rest[0], rest[1:]
    return None, None, []


def commands_of_the_docs():
    """``(doc, kind, name, arguments)`` of every command in the docs' sh blocks and code spans."""
    for doc in DOCS:
        for command in [*sh_commands(doc), *span_commands(doc)]:
            kind, name, args = program(command)
            if kind:
                yield doc, kind, name, args


def make_targets():
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", read(os.path.join(REPO, "Makefile")), re.M))


def project_package(module):
    return os.path.isfile(os.path.join(REPO, module.split(".")[0], "__init__.py"))


def module_exists(module):
    if project_package(module):
        base = os.path.join(REPO, *module.split("."))
        return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))
    return importlib.util.find_spec(module.split(".")[0]) is not None  # venv, pip, pytest


@functools.lru_cache(maxsize=None)
def accepted_flags(kind, name):
    """The flags of a project script or module, read from the usage lines of its ``--help`` (no
    TensorFlow is imported for ``--help``: about 0.1 s each); a former name, hidden there, is not
    accepted."""
    if name == "do_all.sh":
        command = [os.path.join(REPO, "do_all.sh"), "--help"]
    else:
        command = [sys.executable, *(["-m", name] if kind == "module" else [os.path.join(REPO, name)]), "--help"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{name} --help: exit {done.returncode}\n{done.stderr}"
    usage = done.stdout.split("\n\n")[0]
    return {"--help"} | set(re.findall(r"(?<![\w-])--[A-Za-z][\w-]*", usage))


def flags(args):
    return {f.split("=")[0] for a in args for f in re.findall(r"(?<![\w-])--[A-Za-z][\w-]*(?:=\S*)?", a)}


def test_command_parsing():
    assert split_commands("make venv-jax && .venv-jax/bin/pip install x") == \
        [["make", "venv-jax"], [".venv-jax/bin/pip", "install", "x"]]
    assert split_commands("python s.py [--gallery DIR | --collection NAME] [--k 10]") == \
        [["python", "s.py", "[--gallery", "DIR", "|", "--collection", "NAME]", "[--k", "10]"]]
    assert drop_comment("python s.py \"a # b\"   # note") == "python s.py \"a # b\"   "
    assert program(["KERAS_BACKEND=jax", ".venv-jax/bin/python", "-m", "bench.bench_step", "--steps", "5"]) == \
        ("module", "bench.bench_step", ["--steps", "5"])
    assert program(["./do_all.sh", "--stage", "0", "w2vv"]) == ("script", "do_all.sh", ["--stage", "0", "w2vv"])
    assert flags(["[--weights", "imagenet|none|FILE]", "--overwrite=1"]) == {"--weights", "--overwrite"}
    assert {"demo", "test", "bench", "bench-gpu"} <= make_targets()


def test_accepted_flags_are_the_usage_lines_flags():
    accepted = accepted_flags("script", "tester.py")
    assert {"--help", "--rootpath", "--run", "--debug"} <= accepted
    assert "--model_config" not in accepted  # a former name: it stops with a line naming --run
    assert {"--stage", "--stop_stage", "--ini"} <= accepted_flags("script", "do_all.sh")


def test_the_docs_name_commands():
    found = list(commands_of_the_docs())
    assert sum(kind == "make" for _, kind, _, _ in found) >= 10
    assert sum(kind == "script" for _, kind, _, _ in found) >= 20
    assert sum(kind == "module" for _, kind, _, _ in found) >= 5


def test_every_make_target_named_in_the_docs_exists():
    targets = make_targets()
    bad = sorted({f"{doc}: make {word}" for doc, kind, _, args in commands_of_the_docs() if kind == "make"
                  for word in args if not word.startswith("-") and "=" not in word and word not in targets})
    assert not bad, "\n".join(bad)


def test_every_script_and_module_named_in_the_docs_exists():
    bad = sorted({f"{doc}: {name}" for doc, kind, name, _ in commands_of_the_docs()
                  if (kind == "script" and not os.path.isfile(os.path.join(REPO, name)))
                  or (kind == "module" and not module_exists(name))})
    assert not bad, "\n".join(bad)


def test_every_flag_named_in_the_docs_is_accepted_by_its_script():
    uses = {}
    for doc, kind, name, args in commands_of_the_docs():
        if (kind == "script" and os.path.isfile(os.path.join(REPO, name))) or (
                kind == "module" and project_package(name) and module_exists(name)):
            uses.setdefault((kind, name), set()).update((doc, flag) for flag in flags(args))
    assert len(uses) >= 10
    bad = sorted(f"{doc}: {name} {flag}" for (kind, name), named in uses.items()
                 for doc, flag in named if flag not in accepted_flags(kind, name))
    assert not bad, "\n".join(bad)


# Names written `name = value` in the docs that are not the project's settings: other libraries'
# settings and a formula
FOREIGN_ASSIGNMENTS = {"hard_sigmoid": "Keras's hard sigmoid, a formula", "reset_after": "an argument of Keras's GRU",
                       "jax_default_matmul_precision": "JAX's setting",
                       "float32_matmul_precision": "PyTorch's setting"}


def test_every_config_attribute_and_ini_key_named_in_the_docs_exists():
    from w2vv.config import known_attributes
    from w2vv.settings import KNOWN
    known = set(known_attributes()) | set(KNOWN) | set(FOREIGN_ASSIGNMENTS)
    named = [(doc, m) for doc in DOCS for span in CODE_SPAN.findall(page(doc))
             for m in re.findall(r"^([A-Za-z_]\w*) = ", span)]
    assert len(named) >= 20
    bad = sorted({f"{doc}: `{name} = …`" for doc, name in named if name not in known})
    assert not bad, "\n".join(bad)


# ---- One place per fact, pages of a manual's size, nothing but the project ----------------------

# The paper's published table (mIR on cococntest) lives on this page alone; the others link to it
PAPER_NUMBERS_PAGE = "docs/method.md"
PAPER_NUMBERS = ("0.470", "0.418", "0.498", "0.481", "0.432", "0.514")


def test_one_page_states_the_papers_numbers():
    pages = [doc for doc in DOCS if sum(number in page(doc) for number in PAPER_NUMBERS) >= 3]
    assert pages == [PAPER_NUMBERS_PAGE], f"the paper's numbers on {pages}: only {PAPER_NUMBERS_PAGE} may state them"


MOST_LINES = {"README.md": 180, "docs/service.md": 200, "bench/README.md": 300, "CONTRIBUTING.md": 160}


@pytest.mark.parametrize("doc", sorted(MOST_LINES))
def test_page_sizes(doc):
    lines = len(page(doc).splitlines())
    assert lines <= MOST_LINES[doc], f"{doc}: {lines} lines, at most {MOST_LINES[doc]}"


# Words about how or by whom the project was made, not about the project (hardware is named by what
# it is, history lives in git)
MAKING_OF = [r"this project'?s (\(?2-core\)? )?(cpu )?machine", r"available to this project", r"another engineer",
             r"other engineers", r"by mistake", r"house work", r"local wheel store", r"\bcommit [0-9a-f]{7,40}\b",
             r"\bsince then\b"]


def test_test_making_of_phrases_match():
    text = "on this project's 2-core machine; this project's (2-core) machine; another engineer's suite"
    assert sum(bool(re.search(p, text, re.I)) for p in MAKING_OF) == 2


@pytest.mark.parametrize("doc", DOCS)
def test_no_words_about_how_the_project_was_made(doc):
    bad = [f"{n}: {line.strip()}" for n, line in enumerate(page(doc).splitlines(), 1)
           for pattern in MAKING_OF if re.search(pattern, line, re.I)]
    assert not bad, f"{doc}:\n" + "\n".join(bad)


def package_modules():
    return sorted(name[:-3] for name in os.listdir(os.path.join(REPO, "w2vv"))
                  if name.endswith(".py") and name != "__init__.py")


def design_layers():
    """{module: its layer's rank, the lowest 0} of the diagram in docs/design.md ('retrieval' for the package)."""
    diagram = read(os.path.join(REPO, "docs", "design.md")).split("```")[1]
    names = ("foundations", "data", "method", "runs", "query time", "scripts")
    modules, layer, ranks = set(package_modules()) | {"retrieval"}, None, {}
    for line in diagram.splitlines():
        layer = next((name for name in names if line.startswith(name)), layer)
        for word in set(re.findall(r"\b[a-z][a-z0-9_]+\b", line)) & modules:
            ranks.setdefault(word, names.index(layer))
    return ranks


def test_every_module_is_in_a_layer_of_the_design_and_imports_none_above_its_own():
    ranks = design_layers()
    problems = []
    for module in package_modules():
        if module not in ranks:
            problems.append(f"{module}: in no layer of docs/design.md")
            continue
        source = read(os.path.join(REPO, "w2vv", module + ".py"))
        imported = re.findall(r"^\s*from \.(\w*)(?: import (\([^)]*\)|[\w, ]+))?", source, re.M)
        for package_module, names in imported:
            for other in [package_module] if package_module else re.findall(r"\w+", names):
                if ranks.get(other, -1) > ranks[module]:
                    problems.append(f"{module} imports {other}, of a layer above")
    assert not problems
