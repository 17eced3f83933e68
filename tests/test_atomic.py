"""A crash while a result is written leaves the previous file (or folder) intact, and no
temporary file behind."""
import os

import numpy as np
import pytest

from w2vv import ranking
from w2vv.atomic import atomic_open
from w2vv.bigfile import BigFile, write_bigfile


class Crash(Exception):
    pass


def test_crash_inside_a_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "mir.txt"
    path.write_text("mean_invert_r: 0.5\n")
    with pytest.raises(Crash):
        with atomic_open(path) as f:
            f.write("mean_invert_r: 0.")
            raise Crash()
    assert path.read_text() == "mean_invert_r: 0.5\n"
    assert os.listdir(tmp_path) == ["mir.txt"]


def test_a_folder_given_as_the_file_to_write_stops_in_one_line(tmp_path):
    """``report.py --out DIR``, ``compare.py --plot DIR``: a traceback from the final rename, the table printed."""
    from tests.helpers import one_error_line, run_main
    from w2vv.errors import InputError
    with pytest.raises(InputError, match=f"^{tmp_path}: a folder; give the name of the file to write$"):
        with atomic_open(tmp_path) as f:
            f.write("never")
    assert os.listdir(tmp_path) == []
    error = one_error_line(run_main("compare.py", "--rootpath", tmp_path, "--run", "r", "--plot", tmp_path))
    assert error == f"error: --plot {tmp_path}: a folder; give the name of a .png file"


def test_crash_while_writing_sentence_vectors_keeps_the_previous_results(tmp_path, monkeypatch):
    path = tmp_path / "sent_feat.txt"
    ranking.write_sent_feat(path, ["a#0", "b#0"], np.ones((2, 3)))
    before = path.read_bytes()

    class Exploding(list):
        def __iter__(self):
            yield "c#0"
            raise Crash()  # the process dies after the first line

    monkeypatch.setattr(ranking, "_number_strings", lambda v: [["1", "2", "3"]] * len(v))
    with pytest.raises(Crash):
        ranking.write_sent_feat(path, Exploding(["c#0", "d#0"]), np.zeros((2, 3)))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["sent_feat.txt"]


def test_crash_while_writing_a_bigfile_keeps_the_old_folder(tmp_path, monkeypatch):
    write_bigfile(tmp_path / "f", ["a", "b"], np.eye(2))

    def open_then_crash(path, *args, **kwargs):
        if str(path).endswith("id.txt"):  # shape.txt is written; the process dies at id.txt
            raise Crash()
        return open(path, *args, **kwargs)

    monkeypatch.setattr("w2vv.bigfile.open", open_then_crash, raising=False)
    with pytest.raises(Crash):
        write_bigfile(tmp_path / "f", ["x", "y", "z"], np.zeros((3, 2)))
    monkeypatch.undo()
    np.testing.assert_array_equal(BigFile(tmp_path / "f").read(["a", "b"])[1], np.eye(2))
    assert os.listdir(tmp_path) == ["f"]


def test_the_temporaries_of_a_killed_write_are_removed_and_nothing_else(tmp_path):
    from w2vv.atomic import remove_temporaries
    (tmp_path / "epoch_3.h5.k1ll3d.tmp").write_bytes(b"half")   # atomic_path's name for epoch_3.h5
    (tmp_path / "notes.tmp").write_text("a file of the user's")
    (tmp_path / "epoch_3.h5").write_bytes(b"whole")
    (tmp_path / "search_cache").mkdir()
    (tmp_path / "search_cache" / "ids.txt.x1y2.tmp").write_text("another process's, below")
    remove_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_3.h5", "notes.tmp", "search_cache"]
    assert (tmp_path / "search_cache" / "ids.txt.x1y2.tmp").exists()
