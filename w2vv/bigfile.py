"""BigFile: the feature format of the VisualSearch layout (docs/method.md#bigfile).

A folder with ``shape.txt`` (``N D``), ``id.txt`` (N ids separated by white space, in row
order) and ``feature.bin`` (N×D float32, little-endian, row-major, no header). The
reader memory-maps ``feature.bin``: opening a 3 GB word2vec costs only its id list.
"""
import os

import numpy as np

from .atomic import atomic_dir
from .errors import InputError
from .textfile import UTF8, read_text

MISSING_HINT = " (a BigFile needs shape.txt, id.txt, feature.bin)"


class BigFile:
    def __init__(self, folder):
        self.folder = str(folder)
        if not os.path.isdir(self.folder):
            raise InputError(f"{self.folder}: BigFile folder not found")
        n, self.ndims = self._read_shape()
        self.names = self._read_ids(n)
        self._index = {name: i for i, name in enumerate(self.names)}
        if len(self._index) != n:
            raise InputError(f"{self._path('id.txt')}: duplicate ids ({n - len(self._index)} repeated)")
        bin_path = self._path("feature.bin")
        if not os.path.isfile(bin_path):
            raise InputError(f"{bin_path}: missing{MISSING_HINT}")
        expected = n * self.ndims * 4
        if os.path.getsize(bin_path) != expected:
            raise InputError(f"{bin_path}: {os.path.getsize(bin_path)} bytes, but shape.txt "
                             f"says {n}x{self.ndims} float32 = {expected} bytes")
        self.vectors = np.memmap(bin_path, dtype="<f4", mode="r", shape=(n, self.ndims)) if n else \
            np.zeros((0, self.ndims), np.float32)

    def _path(self, name):
        return os.path.join(self.folder, name)

    def _read_shape(self):
        path = self._path("shape.txt")
        fields = read_text(path, "shape file", MISSING_HINT).split()
        if len(fields) != 2 or not all(f.isdecimal() for f in fields):
            raise InputError(f"{path}:1: expected 'N D' (two integers), found {' '.join(fields)[:40]!r}")
        return int(fields[0]), int(fields[1])

    def _read_ids(self, n):
        path = self._path("id.txt")
        names = read_text(path, "id file", MISSING_HINT).split()
        if len(names) != n:
            raise InputError(f"{path}: {len(names)} ids, but shape.txt says {n}")
        return names

    def __len__(self):
        return len(self.names)

    def __contains__(self, name):
        return name in self._index

    def index_of(self, names):
        """Row numbers of the known ``names`` (unknown ones left out), and those names."""
        found = [name for name in names if name in self._index]
        return np.array([self._index[name] for name in found], dtype=np.int64), found

    def read(self, names):
        """(found_ids, vectors): the known ids among ``names`` in their order, and an (n, D) float32 array."""
        rows, found = self.index_of(names)
        return found, self.read_rows(rows)

    def read_rows(self, rows):
        """The vectors of the given row numbers, (n, D) float32.

        Read with ``pread`` rather than through the memory map: scattered reads of a map pull
        whole pages of the file into the process's resident memory (GBs for a 3 GB word2vec)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.ndims), np.float32)
        if len(rows) == 0:
            return out
        row_bytes = self.ndims * 4
        with open(self._path("feature.bin"), "rb") as f:
            fd = f.fileno()
            for i in np.argsort(rows, kind="stable"):  # in file order: sequential on disk
                data = os.pread(fd, row_bytes, int(rows[i]) * row_bytes)
                if len(data) != row_bytes:
                    raise InputError(f"{self._path('feature.bin')}: shorter than shape.txt says (row {rows[i]})")
                out[i] = np.frombuffer(data, dtype="<f4")
        return out

    def first_non_finite(self, rows, chunk=4096):
        """The first of ``rows`` whose vector holds a NaN or an infinity, or None (read ``chunk`` rows at a time)."""
        rows = np.asarray(rows, dtype=np.int64)
        for start in range(0, len(rows), chunk):
            bad = first_non_finite_row(self.read_rows(rows[start:start + chunk]))
            if bad is not None:
                return int(rows[start + bad])
        return None

    def read_one(self, name):
        if name not in self._index:
            raise KeyError(f"{name}: not in BigFile {self.folder}")
        return np.array(self.vectors[self._index[name]], dtype=np.float32)


def first_non_finite_row(vectors):
    """The index of the first row of ``vectors`` holding a NaN or an infinity, or None."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    return int(bad[0]) if len(bad) else None


def require_finite(features, rows, vectors):
    """InputError naming the image of the first of ``rows`` whose vector in ``vectors`` (those rows, read from
    ``features``) is not all finite numbers."""
    bad = first_non_finite_row(vectors)
    if bad is not None:
        raise InputError(not_finite(features, rows[bad]))


def not_finite(features, row):
    """What is wrong where the vector of ``row`` of ``features`` (a BigFile, or vectors held in memory, whose
    ``folder`` is None) is not all finite numbers: a corrupt file, which ranks or trains on nonsense."""
    where = f"{features.folder}/feature.bin: " if features.folder else ""
    return (f"{where}the feature of image {features.names[row]!r} is not finite (NaN or infinite): extract or "
            f"download it again")


def write_bigfile(folder, names, vectors):
    """Write ids and an (N, D) array as a BigFile, atomically (the folder appears whole or not at all)."""
    vectors = np.asarray(vectors, dtype="<f4")
    names = [str(n) for n in names]
    if vectors.ndim != 2 or vectors.shape[0] != len(names):
        raise ValueError(f"need one vector per id: {len(names)} ids, array of shape {vectors.shape}")
    if any(not n or any(c.isspace() for c in n) for n in names):
        raise ValueError("BigFile ids must be non-empty and contain no white space")
    with atomic_dir(folder) as tmp:
        with open(os.path.join(tmp, "shape.txt"), "w") as f:
            f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        with open(os.path.join(tmp, "id.txt"), "w", encoding="utf-8") as f:
            f.write(" ".join(names))
        vectors.tofile(os.path.join(tmp, "feature.bin"))


def txt2bin(txt_path, folder):
    """Convert a text file of ``id v1 … vD`` lines into a BigFile (the original ``txt2bin``)."""
    names, rows, dim = [], [], None
    with open(txt_path, encoding=UTF8) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if dim is None:
                dim = len(fields) - 1
            if len(fields) - 1 != dim or dim == 0:
                raise InputError(f"{txt_path}:{lineno}: expected an id and {dim} numbers, got {len(fields)} fields")
            try:
                rows.append(np.array(fields[1:], dtype=np.float32))
            except ValueError:
                raise InputError(f"{txt_path}:{lineno}: not a number among the values") from None
            names.append(fields[0])
    if not names:
        raise InputError(f"{txt_path}: no vectors found")
    write_bigfile(folder, names, np.stack(rows))
    return len(names), dim
