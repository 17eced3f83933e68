"""Fingerprints of files, one helper each for what this project fingerprints:

- ``stat_stamp``: size and modification time, cheap; a cache or a derived result is redone when a
  file it was computed from was rewritten (encodings, search's sentence vectors, ``inputs.json``);
- ``file_fingerprint``: size and a hash of the first and last MB, which a copy of the root keeps
  (the stop words and word2vec a run was trained with, ``w2vv.runs``);
- ``digest``: a short hash of a JSON-able value, a cache key."""
import hashlib
import json
import os

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
        folder, base = os.path.split(os.path.abspath(path))
        siblings = [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.startswith(base + ".")]
        files = [path] + [f for f in siblings if f.endswith(".npy")]
    return ";".join(_one_file(f) for f in files)


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


def digest(value):
    """16 hex digits of the SHA-1 of ``value`` as JSON."""
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]
