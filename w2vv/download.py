"""Stage 0: fetch the release archives into ``<root>/downloads/``, check them, unpack them into
the root.

Downloads resume with HTTP range requests (an interrupted 3 GB transfer continues from its
``.part`` file) and are retried a few times; a size or SHA-256 given in the settings is
checked. Unpacking refuses any member that would land outside the root (absolute paths,
``..``, links pointing out, device files), extracts into a staging folder first and then moves
the files into place, so a refused or corrupt archive leaves nothing behind in the root, and a
file the root already holds is never replaced."""
import gzip
import hashlib
import http.client
import lzma
import os
import re
import shutil
import stat
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass

from tqdm import tqdm

from . import layout, lock
from .atomic import disk_full, write_text
from .errors import InputError

CHUNK = 1 << 20
TIMEOUT_S = 60


@dataclass(frozen=True)
class Archive:
    name: str          # its settings are <name>_url, <name>_sha256, <name>_size
    filename: str
    url: str
    provides: tuple    # root-relative files present once it is unpacked (empty: only its marker tells)


def _paper_collection_files():
    return tuple(f for coll in layout.PAPER_COLLECTIONS
                 for f in (layout.caption_file("", coll), layout.imageset_file("", coll)))


_FEATURES = layout.feature_dir("", layout.PAPER_FEATURE)
ARCHIVES = {a.name: a for a in (
    Archive("word2vec", "word2vec.tar.gz", "http://lixirong.net/data/w2vv-tmm2018/word2vec.tar.gz",
            tuple(os.path.join(layout.en_word2vec_dir(""), f) for f in ("shape.txt", "id.txt", "feature.bin"))),
    Archive("zh_w2v", "zh_w2v.zip", "http://lixirong.net/data/coco-cn/zh_w2v.zip", (layout.zh_word2vec_file(""),)),
    Archive("retrieval_data", "coco-cn_retrieval_data.tar.gz",
            "http://lixirong.net/data/coco-cn/coco-cn_retrieval_data.tar.gz",
            _paper_collection_files()
            + tuple(os.path.join(_FEATURES, f) for f in ("shape.txt", "id.txt", "feature.bin"))),
    # The ResNeXt features of the COCO-CN images only: the retrieval archive already holds the
    # features of every image, so it is not fetched unless asked for.
    Archive("resnext_feat", "coco-cn_resnext-101_feat.tar.gz",
            "http://lixirong.net/data/coco-cn/coco-cn_resnext-101_feat.tar.gz", ()),
)}
DEFAULT_ARCHIVES = ("word2vec", "zh_w2v", "retrieval_data")


class TransferError(Exception):
    """A download that stopped before its end (network error, dropped connection, 5xx): worth retrying."""


def archive_named(name):
    if name not in ARCHIVES:
        raise InputError(f"{name}: unknown archive (expected one of {', '.join(ARCHIVES)})")
    return ARCHIVES[name]


def marker_path(root, archive):
    return os.path.join(layout.downloads_dir(root), archive.filename + ".unpacked")


def missing_files(root, archive):
    """The files the archive provides that the root lacks ([] when it is unpacked)."""
    if not archive.provides:
        marker = marker_path(root, archive)
        return [] if os.path.isfile(marker) else [marker]
    return [os.path.join(root, p) for p in archive.provides if not os.path.isfile(os.path.join(root, p))]


# ---------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------
def _content_range(value):
    """``bytes 100-199/1000`` → (100, 1000); ``bytes */1000`` → (None, 1000); total None when ``*``."""
    m = re.fullmatch(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", (value or "").strip())
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    return start, (int(m.group(2)) if m.group(2) != "*" else None)


def _transfer_once(url, part, label, log):
    """One request for the rest of ``url`` after the bytes ``part`` already holds; returns the total size."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            total = _content_range(e.headers.get("Content-Range"))[1]
            if total == have:
                return have  # the part file already holds everything
            raise InputError(f"{part}: {have:,} bytes, more than the {total or '?'} bytes of {url}: "
                             f"not a part of this file (move it away and run stage 0 again)") from None
        if e.code >= 500:
            raise TransferError(f"HTTP {e.code} {e.reason}") from None
        raise
    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                raise TransferError(f"the server resumed at byte {start}, not {have}")
            mode = "ab"
        else:
            if have:
                log(f"{url}: the server does not resume downloads; starting {label} over")
            have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdecimal() else None
        with open(part, mode) as f, tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                                         desc=label, mininterval=1.0, dynamic_ncols=True) as bar:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                bar.update(len(chunk))
    size = os.path.getsize(part)
    if total is not None and size != total:
        raise TransferError(f"connection closed at byte {size:,} of {total:,}")
    return size


def fetch(url, dest, retries=3, retry_wait=5.0, settings_key="the URL setting", log=print):
    """Download ``url`` to ``dest`` through ``dest.part``, resuming and retrying; raise InputError when it fails."""
    part = dest + ".part"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    label = os.path.basename(dest)
    for attempt in range(retries + 1):
        try:
            _transfer_once(url, part, label, log)
            break
        except urllib.error.HTTPError as e:
            problem = f"HTTP {e.code} {e.reason}"
        except ValueError as e:  # urllib's answer to a malformed URL
            problem = f"not a URL ({e})"
        except (TransferError, urllib.error.URLError, http.client.HTTPException, OSError) as e:
            if isinstance(e, OSError) and disk_full(e):  # not the network's: no other URL helps
                raise InputError(f"{part}: cannot write the download there, no space left on the device; free "
                                 f"space, then run stage 0 again (it resumes the download)") from None
            problem = str(getattr(e, "reason", None) or e) or type(e).__name__
            if attempt < retries:
                kept = os.path.getsize(part) if os.path.exists(part) else 0
                log(f"{url}: {problem}; retry {attempt + 1} of {retries} in {retry_wait:g} s, from byte {kept:,}")
                time.sleep(retry_wait)
                continue
        kept = os.path.getsize(part) if os.path.exists(part) else 0
        partial = f"partial download kept in {part} ({kept:,} bytes): run stage 0 again to resume it, or " \
            if kept else ""
        raise InputError(f"{url}: {problem}; {partial}set {settings_key} in the ini to another URL, "
                         f"or fetch {label} by hand into {os.path.dirname(dest)}/") from None
    os.replace(part, dest)
    return dest


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=os.path.getsize(path), unit="B", unit_scale=True, unit_divisor=1024,
                                     desc=f"sha256 {os.path.basename(path)}", mininterval=1.0) as bar:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def verify(path, sha256=None, size=None):
    """Check an archive against the size and SHA-256 of the settings, when they are known."""
    if size is not None and os.path.getsize(path) != size:
        raise InputError(f"{path}: {os.path.getsize(path):,} bytes, but the settings say {size:,}: "
                         f"a truncated or different archive (move it away and run stage 0 again)")
    if sha256:
        actual = sha256_of(path)
        if actual != sha256.lower():
            raise InputError(f"{path}: SHA-256 {actual}, but the settings say {sha256.lower()}: "
                             f"a corrupt or different archive (move it away and run stage 0 again)")


# ---------------------------------------------------------------------------------------
# Unpacking
# ---------------------------------------------------------------------------------------
def _refuse(archive_path, member, why):
    raise InputError(f"{archive_path}: member {member!r} refused ({why}); nothing was unpacked")


TAR_REFUSALS = {
    tarfile.OutsideDestinationError: "a path outside the root",
    tarfile.LinkOutsideDestinationError: "a link pointing outside the root",
    tarfile.AbsoluteLinkError: "a link to an absolute path",
    tarfile.AbsolutePathError: "an absolute path",
    tarfile.SpecialFileError: "a device or special file",
}


def _checked_tar_members(tar, archive_path, staging):
    if not hasattr(tarfile, "data_filter"):
        raise InputError(f"{archive_path}: this Python lacks tarfile's 'data' filter, which keeps members inside "
                         f"the root: use Python 3.11.4, 3.12 or newer")
    members = tar.getmembers()
    for member in members:
        if os.path.isabs(member.name):  # the data filter would strip the "/" and go on
            _refuse(archive_path, member.name, "an absolute path")
        try:
            tarfile.data_filter(member, staging)
        except tarfile.FilterError as e:
            _refuse(archive_path, member.name, TAR_REFUSALS.get(type(e), str(e)))
    return members


def _zip_member_problem(info):
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a path outside the root"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


# What a damaged archive raises (gzip's and lzma's checks at the end of the stream among them)
CORRUPT = (tarfile.ReadError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


def _corrupt(archive_path, error):
    """The InputError of a damaged archive, with the first line of ``error`` (tarfile lists each method tried)."""
    reason = "not a zip archive" if archive_path.endswith(".zip") and not zipfile.is_zipfile(archive_path) else \
        (str(error).splitlines() or [type(error).__name__])[0].rstrip(":")
    return InputError(f"{archive_path}: cannot unpack, truncated or corrupt ({reason}): "
                      f"move it away and run stage 0 again")


def _extract(archive_path, staging):
    """Extract every member into ``staging`` after checking them all; return how many."""
    try:
        if zipfile.is_zipfile(archive_path):
            with zipfile.ZipFile(archive_path) as zf:
                infos = zf.infolist()
                for info in infos:
                    problem = _zip_member_problem(info)
                    if problem:
                        _refuse(archive_path, info.filename, problem)
                for info in tqdm(infos, unit="file", desc=f"unpack {os.path.basename(archive_path)}", mininterval=1.0):
                    zf.extract(info, staging)
                return len(infos)
        with tarfile.open(archive_path) as tar:
            members = _checked_tar_members(tar, archive_path, staging)
            tar.extractall(staging, members=tqdm(members, unit="file", mininterval=1.0,
                                                 desc=f"unpack {os.path.basename(archive_path)}"), filter="data")
            while tar.fileobj.read(CHUNK):  # damage after a member ends the list early: the stream's checksum says so
                pass
            return len(members)
    except CORRUPT as e:
        raise _corrupt(archive_path, e) from None
    except OSError as e:
        if e.errno is None:  # bz2's damaged stream: an OSError of no system error
            raise _corrupt(archive_path, e) from None
        if not disk_full(e):
            raise
        raise InputError(f"{staging}: cannot unpack {os.path.basename(archive_path)} there, no space left on the "
                         f"device; free space, then run stage 0 again (it unpacks the archive anew)") from None


def _move_into(staging, root):
    """Move the staged files into the root; files the root already has are kept. Returns those kept."""
    kept = []
    for folder, subfolders, files in os.walk(staging):
        target = os.path.join(root, os.path.relpath(folder, staging))
        os.makedirs(target, exist_ok=True)
        for name in files + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            dst = os.path.join(target, name)
            if os.path.lexists(dst):
                kept.append(dst)
            else:
                os.replace(os.path.join(folder, name), dst)
    return kept


def unpack(archive_path, root, log=print, provides=()):
    """Unpack an archive into ``root`` through a staging folder in it (on its file system, whatever ``downloads/``
    is); never replaces a root file. InputError, nothing moved into the root, when the archive is damaged or lacks
    a file of ``provides`` (paths in the root) that the root lacks too."""
    staging = os.path.join(root, f".{os.path.basename(archive_path)}.unpacking")
    if os.path.isdir(staging):
        shutil.rmtree(staging)  # left by an interrupted unpack of ours
    os.makedirs(staging)
    try:
        n = _extract(archive_path, staging)
        absent = [f for f in provides if not os.path.lexists(os.path.join(root, f))
                  and not os.path.lexists(os.path.join(staging, f))]
        if absent:
            raise InputError(f"{archive_path}: holds no {absent[0]} ({len(absent)} of the files it should hold; its "
                             f"top folders: {', '.join(sorted(os.listdir(staging))[:5]) or 'none'}): not the "
                             f"release's archive; move it away and run stage 0 again (nothing was unpacked)")
        kept = _move_into(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"unpacked {n} entries of {archive_path} into {root}")
    if kept:
        log(f"kept {len(kept)} file(s) the root already had instead of the archive's (e.g. {kept[0]}); "
            f"move them away and run stage 0 again to take the archive's")


# ---------------------------------------------------------------------------------------
# Stage 0
# ---------------------------------------------------------------------------------------
def prepare_archive(root, archive, url=None, sha256=None, size=None, retries=3, retry_wait=5.0, log=print):
    """Make sure ``archive`` is unpacked in ``root``: skip it when it is, else download (or take the
    copy in ``<root>/downloads/``), check and unpack it; one process at a time (two configs' ``do_all.sh`` on one
    root: the second waits, then finds it done)."""
    with lock.exclusive(layout.lock_file(root, f"download.{archive.name}"), f"stage 0 for {archive.filename}",
                        wait=True, log=log):
        _prepare_archive(root, archive, url, sha256, size, retries, retry_wait, log)


def _prepare_archive(root, archive, url, sha256, size, retries, retry_wait, log):
    if not missing_files(root, archive):
        log(f"{archive.filename}: already in {root}, skipped")
        return
    path = os.path.join(layout.downloads_dir(root), archive.filename)
    if os.path.isfile(path):
        log(f"{archive.filename}: using {path}")
    else:
        url = url or archive.url
        log(f"{archive.filename}: downloading {url}")
        fetch(url, path, retries, retry_wait, f"{archive.name}_url", log)
    verify(path, sha256, size)
    unpack(path, root, log, archive.provides)
    write_text(marker_path(root, archive), f"{url or archive.url}\n{os.path.getsize(path)}\n")
    log(f"{archive.filename}: done (the archive may be deleted: {path})")


def prepare_root(root, names=DEFAULT_ARCHIVES, urls=None, sha256s=None, sizes=None, retries=3, retry_wait=5.0,
                 log=print):
    archives = [archive_named(n) for n in names]
    os.makedirs(root, exist_ok=True)
    for archive in archives:
        n = archive.name
        prepare_archive(root, archive, (urls or {}).get(n), (sha256s or {}).get(n), (sizes or {}).get(n),
                        retries, retry_wait, log)
