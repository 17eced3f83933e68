"""The picture of every gallery image, found once when the service starts.

A gallery is a feature folder; its pictures may be anywhere in the root. ``Pictures`` looks, in
this order, in the folders the user names (``serve.py --images DIR``, searched recursively, as
``extract_features.py`` reads a photo folder), in ``<root>/<collection>/ImageData/`` of the
collection served, of the collection holding the gallery's features and of the ImageSets list's
collection, then in ``ImageData/`` of every other collection of the root. An image's picture is
the first file ``<id>.<ext>`` found (``ext``: a picture format browsers show, any case). A gallery
``extract_features.py`` wrote (its ``extraction.json``) holds the user's photos, whose ids name other
pictures in another collection (``IMG_0001``): those are looked for in the folders named and in the
collections listed before "every other" only.

Only regular files are taken: a symbolic link (to a file or a folder) is skipped and counted, and
a file is served only while it is still a regular file whose real path lies inside the real path
of the folder it was found in (``open_checked``).
"""
import os
import stat

import numpy as np

from .. import layout
from ..fingerprint import EXTRACTION_FILE

MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".bmp": "image/bmp"}


class Pictures:
    """Where the picture of each gallery image is. ``ids``: the gallery's ids (position order);
    ``folders``: [(folder, recursive)] in the order they are searched."""

    def __init__(self, ids, folders):
        self.ids = ids
        position = {img: i for i, img in enumerate(ids)}
        self.folders = []                              # real paths of the folders searched
        self.folder_of = np.full(len(ids), -1, np.int16)
        self.suffix_of = np.zeros(len(ids), np.int8)   # index into self.suffixes
        self.suffixes = []
        self.subdir = {}                               # position -> sub-folder of a recursive folder
        self.found_in = []                             # pictures found per folder
        self.symlinks = 0                              # symbolic links skipped
        self.repeated = []                             # (id, path) of a second picture of an id in one folder
        missing = len(ids)
        for folder, recursive in folders:
            if missing == 0:
                break
            if not os.path.isdir(folder):
                continue
            real = os.path.realpath(folder)
            if real in self.folders:
                continue
            index = len(self.folders)
            self.folders.append(real)
            found = 0
            for sub, entry in _entries(real, recursive):
                stem, suffix = os.path.splitext(entry.name)
                if suffix.lower() not in MEDIA_TYPES:
                    continue
                i = position.get(stem)
                if i is not None and self.folder_of[i] == index:
                    self.repeated.append((stem, os.path.join(real, sub, entry.name)))
                if i is None or self.folder_of[i] >= 0:
                    continue
                if entry.is_symlink():
                    self.symlinks += 1
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if suffix not in self.suffixes:
                    self.suffixes.append(suffix)
                self.folder_of[i], self.suffix_of[i] = index, self.suffixes.index(suffix)
                if sub:
                    self.subdir[i] = sub
                found += 1
            self.found_in.append(found)
            missing -= found

    @property
    def count(self):
        """How many gallery images have a picture."""
        return int((self.folder_of >= 0).sum())

    def path(self, position):
        """(path, its folder's real path, media type) of the picture at gallery ``position``, or None."""
        index = int(self.folder_of[position])
        if index < 0:
            return None
        folder, suffix = self.folders[index], self.suffixes[self.suffix_of[position]]
        name = self.ids[position] + suffix
        sub = self.subdir.get(position)
        return os.path.join(folder, sub, name) if sub else os.path.join(folder, name), folder, \
            MEDIA_TYPES[suffix.lower()]

    def summary(self):
        """One line: how many images have a picture, and where they were found."""
        n, count = len(self.ids), self.count
        where = ", ".join(f"{found} in {folder}" for folder, found in zip(self.folders, self.found_in) if found)
        line = f"pictures: {count} of {n} gallery images have one" + (f" ({where})" if where else "")
        if self.symlinks:
            line += f"; {self.symlinks} symbolic links skipped"
        if self.repeated:
            image, path = self.repeated[0]
            line += (f"; {len(self.repeated)} more picture(s) of an id in the same folder, not shown (the first by "
                     f"path is shown; e.g. {path}, of {image}: rename it)")
        if count < n:
            line += f"; the page shows the id of the {n - count} others (--images DIR: a folder of them)"
        return line


def _entries(folder, recursive, sub=""):
    """(sub-folder relative to ``folder``, os.DirEntry) of the files in ``folder`` (and below it,
    without following symbolic links, when ``recursive``); unreadable folders are skipped."""
    try:
        with os.scandir(os.path.join(folder, sub) if sub else folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if recursive and entry.is_dir(follow_symlinks=False):
            yield from _entries(folder, True, os.path.join(sub, entry.name) if sub else entry.name)
        else:
            yield sub, entry


def picture_folders(root, gallery_dir, images=(), collection=None, imageset=None):
    """[(folder, recursive)]: the folders named, then ``ImageData`` of the collection served, of the
    gallery's collection, of the ImageSets list's collection, then, unless the gallery is one
    ``extract_features.py`` wrote, of every collection of the root."""
    first = [layout.collection_dir(root, collection)] if collection else []
    # <root>/<collection>/FeatureData/<feature>, <root>/<collection>/ImageSets/<name>.txt
    first.append(os.path.dirname(os.path.dirname(os.path.abspath(str(gallery_dir)))))
    if imageset:
        first.append(os.path.dirname(os.path.dirname(os.path.abspath(str(imageset)))))
    try:
        others = sorted(layout.collection_dir(root, name) for name in os.listdir(root))
    except OSError:
        others = []
    if os.path.isfile(os.path.join(str(gallery_dir), EXTRACTION_FILE)):
        others = []
    collections = dict.fromkeys(os.path.abspath(c) for c in first + others)
    return [(str(folder), True) for folder in images] + \
        [(layout.image_dir(os.path.dirname(c), os.path.basename(c)), False) for c in collections]


def open_checked(path, folder):
    """An open binary file of ``path`` and its ``os.stat_result`` when it is a regular file (no
    symbolic link) whose real path lies inside ``folder`` (a real path); else None."""
    try:
        if not os.path.realpath(path).startswith(folder.rstrip(os.sep) + os.sep):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb"), st
    except OSError:
        os.close(fd)
        return None
