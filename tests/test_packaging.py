"""pyproject.toml says what the requirements files pin: the same packages at the same versions, each
optional requirements-<extra>.txt as the extra of its name; and no file of the project edits sys.path."""
import os
import re

import pytest

from tests.helpers import REPO
from tests.test_docs import project_files, read

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)$")


def pins(name, follow=True):
    """{package: version} of a requirements file, following its ``-r`` lines when ``follow``."""
    out = {}
    for line in read(os.path.join(REPO, name)).splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            if follow:
                out.update(pins(line[3:].strip()))
        elif line:
            package, version = PIN.match(line).groups()
            out[package.lower()] = version
    return out


def as_pins(requirements):
    return {m.group(1).lower(): m.group(2) for m in map(PIN.match, requirements)}


def test_pyproject_pins_what_the_requirements_files_pin():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads(read(os.path.join(REPO, "pyproject.toml")))["project"]
    extras = {name: as_pins(reqs) for name, reqs in project["optional-dependencies"].items()}
    files = sorted(f for f in os.listdir(REPO) if re.fullmatch(r"requirements(-\w+)?\.txt", f))
    everything = {}
    for f in files:
        everything.update(pins(f))
    declared = as_pins(project["dependencies"])
    for reqs in extras.values():
        declared.update(reqs)
    assert declared == everything
    for f in files:
        extra = re.fullmatch(r"requirements-(\w+)\.txt", f)
        if extra and extra.group(1) in extras:
            assert extras[extra.group(1)] == pins(f, follow=False), f


def test_no_file_edits_sys_path():
    offenders = [os.path.relpath(path, REPO) for path in project_files() if path.endswith(".py")
                 and re.search(r"sys\.path\.(insert|append)|sys\.path\[", read(path))]
    tests = [os.path.join("tests", f) for f in os.listdir(os.path.join(REPO, "tests"))
             if f.endswith(".py") and re.search(r"sys\.path\.(insert|append)|sys\.path\[",
                                                 read(os.path.join(REPO, "tests", f)))]
    assert not offenders + tests, offenders + tests



def test_every_module_imports():
    """Every module of the package, the tools, the benchmarks and the scripts imports (the quick subset,
    make test-fast, touches each one at least this far)."""
    import importlib
    import pkgutil

    import w2vv
    names = [m.name for m in pkgutil.walk_packages(w2vv.__path__, "w2vv.")]
    names += [f"{folder}.{f[:-3]}" for folder in ("tools", "bench") for f in sorted(os.listdir(REPO / folder))
              if f.endswith(".py") and f != "__init__.py"]
    names += [f[:-3] for f in sorted(os.listdir(REPO)) if f.endswith(".py")]
    assert len(names) > 60
    for name in names:
        importlib.import_module(name)
