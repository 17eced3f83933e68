"""The docs stand alone: no file of the project points outside the repository, and every link and
``docs/….md#anchor`` pointer in the docs and the code reaches an existing file and heading."""
import os
import re

import pytest

from tests.helpers import REPO

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
    assert {"contents", "quick-start-two-commands-python-310-no-download", "documentation"} <= anchors(readme)
    assert readme.index("## Contents") < readme.index("## Quick start") < readme.index("## Install")
    assert {"extending", "tests"} <= anchors(read(os.path.join(REPO, "CONTRIBUTING.md")))


def test_readme_holds_the_essentials_only():
    assert len(read(os.path.join(REPO, "README.md")).splitlines()) <= 300
