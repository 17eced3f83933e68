"""Fingerprints of files, one helper each for what this project fingerprints:

- ``sources``: the one record of what a cache or a derived result was computed from, every file by
  its size and modification time under its path relative to the record's folder (absolute when it
  lies outside the ``within`` folder: a root, a feature folder). A root moved or copied with its
  times keeps every record valid; a rewritten input invalidates it. Read and written by
  ``write_sources`` / ``sources_match``: result folders (``inputs.json``), the encoding cache (its
  key), search's sentence vectors (``search_cache/<collection>/inputs.json``) and the FAISS index
  (its description's ``sources``);
- ``stat_stamp``: size and modification time of one file, what ``sources`` records;
- ``file_fingerprint``: size and a hash of the first and last MB, which a copy of the root keeps
  whatever its times (the stop words and word2vec a run was trained with, ``w2vv.runs``);
- ``digest``: a short hash of a JSON-able value, a cache key."""
import hashlib
import json
import os

from .atomic import write_text
from .errors import InputError

_SAMPLE = 1 << 20  # a content fingerprint hashes the first and the last MB of a file


def file_fingerprint(path):
    """``size:sha1`` of a file's size, first and last MB (a copy of the root keeps it; an edited
    or replaced file changes it); for a folder (a BigFile) or a gensim model with side files,
    one per file."""
    path = str(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: not found")
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if os.path.isfile(os.path.join(path, f)))
    else:
        files = model_files(path)
    return ";".join(_one_file(f) for f in files)


def model_files(path):
    """A (gensim model) file and the arrays saved beside it (``<file>.*.npy``), absolute paths."""
    folder, base = os.path.split(os.path.abspath(path))
    return [os.path.abspath(path)] + [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                                      if f.startswith(base + ".") and f.endswith(".npy")]


def _one_file(path):
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found")
    size = os.path.getsize(path)
    sha = hashlib.sha1()
    with open(path, "rb") as f:
        sha.update(f.read(_SAMPLE))
        if size > 2 * _SAMPLE:
            f.seek(-_SAMPLE, os.SEEK_END)
            sha.update(f.read(_SAMPLE))
        else:
            sha.update(f.read())
    return f"{os.path.basename(path)}:{size}:{sha.hexdigest()[:16]}"


def stat_stamp(path):
    """[size in bytes, modification time in ns] of a file."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def sources(paths, base, within=None):
    """``{path: [size, modification time in ns] or None (absent)}`` of ``paths``, each keyed by its path
    relative to the folder ``base``, or absolute when it lies outside ``within`` (None: always relative).
    A BigFile folder counts as its ``id.txt`` and ``feature.bin``."""
    base = os.path.abspath(str(base))
    within = os.path.abspath(str(within)) if within is not None else None
    out = {}
    for path in paths:
        path = os.path.abspath(str(path))
        files = [os.path.join(path, f) for f in ("id.txt", "feature.bin")] if os.path.isdir(path) else [path]
        for f in files:
            inside = within is None or os.path.commonpath([f, within]) == within
            out[os.path.relpath(f, base) if inside else f] = stat_stamp(f) if os.path.isfile(f) else None
    return out


def write_sources(record_file, paths, within=None):
    """Write the ``sources`` of ``paths`` into ``record_file`` (JSON; relative to its folder)."""
    write_text(record_file, json.dumps(sources(paths, os.path.dirname(record_file), within), indent=1) + "\n")


def sources_match(record_file, paths, within=None, missing=False):
    """True when ``record_file`` holds the ``sources`` of ``paths`` as they are now; ``missing``: the
    answer when there is no record (True for a result folder written before records were)."""
    try:
        with open(record_file, encoding="utf-8") as f:
            return json.load(f) == sources(paths, os.path.dirname(record_file), within)
    except FileNotFoundError:
        return missing
    except (OSError, ValueError):
        return False


def digest(value):
    """16 hex digits of the SHA-1 of ``value`` as JSON."""
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]
