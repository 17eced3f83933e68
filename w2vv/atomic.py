"""Atomic writes: a crash, or a full disk, leaves the previous file (or none), never half of one."""
import contextlib
import errno
import os
import shutil
import tempfile

from .errors import InputError

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
TEMPORARY = ".tmp"  # a file or folder being written is "<its name>.<random>.tmp" beside it


def disk_full(error):
    # h5py reports a failed write with the C library's message, not always with errno set
    return error.errno in _DISK_FULL or "No space left on device" in str(error)


@contextlib.contextmanager
def _disk_full_is_one_line(path):
    """A write that fails for want of space: InputError naming ``path`` and what to do."""
    try:
        yield
    except OSError as e:
        if not disk_full(e):
            raise
        raise InputError(f"{path}: cannot write it, no space left on the device (the previous file, if any, is "
                         f"intact); free space, then run the same command again") from None


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it into place. InputError before anything is
    written when ``path`` is a folder (a file name was meant)."""
    path = str(path)
    if os.path.isdir(path):
        raise InputError(f"{path}: a folder; give the name of the file to write")
    tmp = None
    try:
        with _disk_full_is_one_line(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=TEMPORARY,
                                       dir=os.path.dirname(os.path.abspath(path)))
            os.close(fd)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file is as readable as any other
            yield tmp
            os.replace(tmp, path)
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)


def remove_temporaries(folder):
    """Remove the temporary files ``atomic_path`` left in ``folder`` (not below it) when its process was
    killed mid-write; for a folder no other process writes in (a run's checkpoint folder, under its lock)."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.endswith(TEMPORARY) and name.count(".") >= 2 and os.path.isfile(path):
            os.remove(path)


@contextlib.contextmanager
def atomic_open(path, mode="w", encoding="utf-8"):
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as f:
            yield f


def write_text(path, text):
    with atomic_open(path) as f:
        f.write(text)


@contextlib.contextmanager
def atomic_dir(folder):
    """Yield a temporary folder beside ``folder``; on success it replaces ``folder``."""
    folder = os.path.abspath(str(folder))
    tmp = None
    try:
        with _disk_full_is_one_line(folder):
            os.makedirs(os.path.dirname(folder), exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".", suffix=TEMPORARY, dir=os.path.dirname(folder))
            os.chmod(tmp, 0o777 & ~_umask())
            yield tmp
            if os.path.isdir(folder):
                shutil.rmtree(folder)
            os.replace(tmp, folder)
    finally:
        if tmp and os.path.isdir(tmp):
            shutil.rmtree(tmp)
