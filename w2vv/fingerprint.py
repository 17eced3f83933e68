"""The one fingerprint scheme: what a file holds, as ``name:size:sha1``, and the records built on it.

``file_fingerprint`` hashes a file whole up to ``WHOLE_FILE`` (64 MiB: caption files, vocabularies,
stop-word lists, ImageSets, id lists, a small word2vec) and its first and last MiB beyond (a feature
or a word2vec array of gigabytes: a file rewritten changes its size or its ends). A copy of a root
keeps every fingerprint whatever its times; an edit changes it.

Every record of this project uses it:

- ``sources``: ``{path: fingerprint or None (absent)}`` of the files a derived file or result was
  computed from, each path relative to the record's folder (absolute when it lies outside the
  ``within`` folder: a root, a feature folder), written and compared by ``write_sources`` /
  ``sources_match`` (``traced_sources`` names what changed, however indirectly): result folders (``inputs.json``),
  vocabularies, the encoding cache, search's sentence vectors (``search_cache/<collection>/inputs.json``),
  the word2vec search cache, the FAISS index (its description's ``sources``);
- ``input_entry`` / ``entry_path``: one input of a trained model in its run record
  (``settings.json``, ``w2vv.runs``), by its path relative to the root and its fingerprint;
- ``digest``: a short hash of a JSON-able value, a cache key."""
import contextlib
import hashlib
import json
import os

from .atomic import write_text
from .errors import InputError

EXTRACTION_FILE = "extraction.json"  # what extract_features wrote a feature folder from (w2vv.features)
_SAMPLE = 1 << 20        # a file over WHOLE_FILE is fingerprinted by its first and last MiB
WHOLE_FILE = 64 << 20


def file_fingerprint(path):
    """``name:size:sha1`` of a file (see the module); for a folder (a BigFile) or a gensim model
    with side files, one per file, joined by ``;``."""
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


_HASHED = None  # {(real path, size, mtime): ``size:sha1``} within ``hashed_once``


@contextlib.contextmanager
def hashed_once():
    """Within it, a file's content is hashed once while its size and modification time stay the same: for a command
    that reads many records naming the same files and writes none of them (``report.py``, ``compare.py``: a training
    caption file is named by every results folder of its model). Outside it, every fingerprint is taken anew."""
    global _HASHED
    outer = _HASHED
    _HASHED = {} if outer is None else outer
    try:
        yield
    finally:
        _HASHED = outer


def _one_file(path):
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found")
    if _HASHED is None:
        return f"{os.path.basename(path)}:{_hash_file(path)}"
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHED:
        _HASHED[key] = _hash_file(path)
    return f"{os.path.basename(path)}:{_HASHED[key]}"


def _hash_file(path):
    """``size:sha1`` of a file: whole up to ``WHOLE_FILE``, its first and last MiB beyond."""
    size = os.path.getsize(path)
    if size <= WHOLE_FILE:
        return f"{size}:{content_sha1(path)[:16]}"
    sha = hashlib.sha1()
    with open(path, "rb") as f:
        sha.update(f.read(_SAMPLE))
        f.seek(-_SAMPLE, os.SEEK_END)
        sha.update(f.read(_SAMPLE))
    return f"{size}:{sha.hexdigest()[:16]}"


def content_sha1(path):
    """The SHA-1 of a file's whole content (hex), read a block at a time."""
    sha = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            sha.update(block)
    return sha.hexdigest()


def sources(paths, base, within=None):
    """``{path: fingerprint or None (absent)}`` of ``paths``, each keyed by its path relative to the
    folder ``base``, or absolute when it lies outside ``within`` (None: always relative). A BigFile
    folder counts as its ``id.txt`` and ``feature.bin``, and the ``extraction.json`` ``extract_features``
    wrote there (the whole content's hash: a feature file over ``WHOLE_FILE`` is sampled); a gensim model as
    its file and the arrays saved beside it (``model_files``: new vectors leave the model file as it was)."""
    base = os.path.abspath(str(base))
    within = os.path.abspath(str(within)) if within is not None else None
    out = {}
    for path in paths:
        path = os.path.abspath(str(path))
        files = [os.path.join(path, f) for f in ("id.txt", "feature.bin")] if os.path.isdir(path) else \
            model_files(path) if os.path.isfile(path) else [path]
        if os.path.isfile(os.path.join(path, EXTRACTION_FILE)):
            files.append(os.path.join(path, EXTRACTION_FILE))
        for f in files:
            inside = within is None or os.path.commonpath([f, within]) == within
            out[os.path.relpath(f, base) if inside else f] = _one_file(f) if os.path.isfile(f) else None
    return out


def write_sources(record_file, paths, within=None, **settings):
    """Write the ``sources`` of ``paths`` into ``record_file`` (JSON; relative to its folder), with
    ``settings`` (JSON-able values besides the files that the derived file depends on)."""
    write_text(record_file, json.dumps(_record(record_file, paths, within, settings), indent=1) + "\n")


def sources_match(record_file, paths, within=None, missing=False, **settings):
    """True when ``record_file`` holds the ``sources`` of ``paths`` (and ``settings``) as they are now;
    ``missing``: the answer when there is no record (True for a result folder written before records were)."""
    try:
        with open(record_file, encoding="utf-8") as f:
            return json.load(f) == _record(record_file, paths, within, settings)
    except FileNotFoundError:
        return missing
    except (OSError, ValueError):
        return False


def _changed(path, recorded, now=None):
    """True when ``path`` holds other content than ``recorded`` (None: it was absent; ``now``: its fingerprint,
    when known), or is gone from a folder still there (a model being retrained, a caption file removed); a file
    gone with its folder (a model's folder deleted to save space) is not: there is nothing to compare."""
    if os.path.isfile(path):
        return recorded != (now or _one_file(path))
    return recorded is not None and os.path.isdir(os.path.dirname(path))


def traced_sources(record_file, loaded=None):
    """(every file that ``record_file`` names, and the records beside those files name, followed back: what a
    result rests on, however indirectly; those of them that changed since, ``_changed``), as absolute
    paths. A fusion weight rests on CL rankings, which rest on both languages' sentence vectors, which
    rest on the models' weights: a model retrained and tested again leaves the weight stale though its
    rankings were not redone. ``loaded``: {real path: fingerprint} of files taken as holding that content,
    whatever they hold now (the weights a running searcher loaded)."""
    now, changed = {}, {}
    for path, recorded in recorded_trace(record_file):
        taken = loaded.get(os.path.realpath(path)) if loaded else None
        if path not in now:  # a model's weights are named by its val and its test results: hashed once
            now[path] = taken or (_one_file(path) if os.path.isfile(path) else None)
        if (recorded != taken) if taken else _changed(path, recorded, now[path]):
            changed[path] = None
    return list(now), list(changed)


def recorded_trace(record_file):
    """[(absolute path, recorded fingerprint)] of every file ``record_file`` names, and the records of the same
    name beside those files name, followed back, in that order (a file named by two records comes twice)."""
    return [item for _, files in traced_records(record_file) for item in files.items()]


def traced_records(record_file):
    """[(record file, its ``recorded_files``)] of ``record_file`` and of the records of the same name beside the
    files it names, followed back (``recorded_trace``), each once."""
    name = os.path.basename(record_file)
    todo, seen, followed, records = [os.path.abspath(record_file)], set(), set(), []
    while todo:
        record = todo.pop(0)
        if record in seen:
            continue
        seen.add(record)
        files = recorded_files(record)
        records.append((record, files))
        for path in files:
            if path not in followed:
                followed.add(path)
                todo.append(os.path.join(os.path.dirname(path), name))
    return records


def recorded_settings(record_file):
    """The ``settings`` a ``write_sources`` record holds besides its files; empty when there is none."""
    record = _read_record(record_file)
    return {key: value for key, value in record.items() if key != "files"} if "files" in record else {}


def recorded_files(record_file):
    """{absolute path: recorded fingerprint} of a ``write_sources`` record; empty when there is none."""
    record = _read_record(record_file)
    files = record.get("files", record)
    base = os.path.dirname(os.path.abspath(record_file))
    return {os.path.normpath(os.path.join(base, name)): content for name, content in files.items()}


def _read_record(record_file):
    try:
        with open(record_file, encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        record, problem = None, str(e)
    else:
        problem = "not an object of files and their fingerprints"
    files = record.get("files", record) if isinstance(record, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) or v is None for v in files.values()):
        raise InputError(f"{record_file}: not a record of the files its folder was computed from ({problem}); "
                         f"run the stage that wrote the folder again with overwrite = 1")
    return record


def _record(record_file, paths, within, settings):
    files = sources(paths, os.path.dirname(os.path.abspath(record_file)), within)
    return {"files": files, **json.loads(json.dumps(settings))} if settings else files


def input_entry(path, root, what="input"):
    """One input of a run record: ``{path, content}``, the path relative to ``root`` when it lies in it
    (a root moved or copied keeps its models' records valid), absolute otherwise; InputError naming
    ``what`` it is when it is not there."""
    path, root = os.path.abspath(str(path)), os.path.abspath(str(root))
    if not os.path.exists(path):
        raise InputError(f"{path}: {what} not found")
    inside = os.path.commonpath([path, root]) == root
    return dict(path=os.path.relpath(path, root) if inside else path, content=file_fingerprint(path))


def entry_path(entry, root):
    """The path an ``input_entry`` names, under ``root`` when it was recorded relative to one."""
    return os.path.normpath(os.path.join(str(root), entry["path"]))


def changed_entry(record, root, skip=(), own=None):
    """The first file of the ``input_entry``s in ``record`` (a run record's settings, at any depth; its keys
    ``skip`` left out) that holds other content now (None: none): one of its files changed, or gone from its
    folder (a file added to the folder is not a change). An entry's path gone is not: a project moved since has its
    stop-word lists elsewhere, and what needs a file looks for it. ``own``: {key: a file that counts as the entry's
    when it holds its content} (the language's own list, where the record names another clone's)."""
    for key, value in record.items():
        if key in skip or not isinstance(value, dict):
            continue
        if set(value) != {"path", "content"}:
            found = changed_entry(value, root)
            if found:
                return found
            continue
        path, copy = entry_path(value, root), (own or {}).get(key)
        if os.path.exists(path) and changed_parts(value["content"], file_fingerprint(path)) and not (
                copy and os.path.exists(copy) and same_content(file_fingerprint(copy), value["content"])):
            return path
    return None


def same_content(fingerprint, other):
    """True when two fingerprints (``file_fingerprint``) are of the same content, whatever the names: a copy
    under another name has the same content."""
    return content_of(fingerprint) == content_of(other)


def changed_parts(recorded, now):
    """The names of the files of the fingerprint ``recorded`` that the fingerprint ``now`` holds with other content,
    or not at all."""
    now = dict(file_parts(now))
    return [name for name, content in file_parts(recorded) if now.get(name) != content]


# The files of a BigFile folder that its content is (a note or a README beside them is not).
BIGFILE_FILES = ("id.txt", "feature.bin", "shape.txt", EXTRACTION_FILE)


def file_parts(fingerprint):
    """[(file name, ``size:sha1``)] of a fingerprint (``file_fingerprint``: one ``name:size:sha1`` a file, joined
    by ``;``; a name may hold ``:``); of a BigFile folder's, those of ``BIGFILE_FILES``."""
    parts = [_name_and_content(part) for part in fingerprint.split(";")]
    if any(name == "feature.bin" for name, _ in parts):
        return [(name, content) for name, content in parts if name in BIGFILE_FILES]
    return parts


def _name_and_content(part):
    pieces = part.rsplit(":", 2)
    return (pieces[0], f"{pieces[1]}:{pieces[2]}") if len(pieces) == 3 else (part, "")


def content_of(fingerprint):
    """A fingerprint without its files' names, ``size:sha1;…``: a copy under another name has the same."""
    return ";".join(content for _, content in file_parts(fingerprint))


def digest(value):
    """16 hex digits of the SHA-1 of ``value`` as JSON."""
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]
