"""BigFile (docs/method.md#bigfile): written and read back in order, unknown ids skipped, txt2bin, an
inconsistent folder refused naming the file, and a fixture read back as its text twin."""
import numpy as np
import pytest

from w2vv.bigfile import BigFile, txt2bin, write_bigfile
from w2vv.errors import InputError


def test_fixture_reads_back_as_its_text_twin(fixtures):
    folder = fixtures / "bigfile_toydata"
    rows = {line.split()[0]: np.array(line.split()[1:], np.float32)
            for line in (folder / "id.feature.txt").read_text().splitlines() if line.strip()}
    bf = BigFile(folder)
    assert len(bf) == 2 and bf.ndims == 3
    ids, vecs = bf.read(["b", "a"])
    assert ids == ["b", "a"] and vecs.dtype == np.float32
    np.testing.assert_array_equal(vecs, np.stack([rows["b"], rows["a"]]))
    np.testing.assert_array_equal(bf.read_one("a"), rows["a"])


def test_write_read_round_trip_keeps_order_and_skips_unknown(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(50, 7)).astype(np.float32)
    names = [f"img{i}" for i in range(50)]
    write_bigfile(tmp_path / "f", names, vecs)
    bf = BigFile(tmp_path / "f")
    assert isinstance(bf.vectors, np.memmap)
    ids, got = bf.read(["img9", "nope", "img3", "img40"])
    assert ids == ["img9", "img3", "img40"]
    np.testing.assert_array_equal(got, vecs[[9, 3, 40]])
    assert (tmp_path / "f" / "shape.txt").read_text().split() == ["50", "7"]


def test_txt2bin(tmp_path):
    (tmp_path / "x.txt").write_text("a 1 2\nb 3 4.5\n")
    assert txt2bin(tmp_path / "x.txt", tmp_path / "bf") == (2, 2)
    np.testing.assert_array_equal(BigFile(tmp_path / "bf").read(["b"])[1], [[3, 4.5]])
    (tmp_path / "bad.txt").write_text("a 1 2\nb 3\n")
    with pytest.raises(InputError, match=r"bad.txt:2:"):
        txt2bin(tmp_path / "bad.txt", tmp_path / "bf2")
    assert not (tmp_path / "bf2").exists()


def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path):
    """Files saved by an editor that opens them with a byte-order mark: id.txt, and txt2bin's input."""
    write_bigfile(tmp_path / "f", ["a", "b"], np.eye(2))
    (tmp_path / "f" / "id.txt").write_text("a b", encoding="utf-8-sig")
    (tmp_path / "f" / "shape.txt").write_text("2 2", encoding="utf-8-sig")
    assert BigFile(tmp_path / "f").names == ["a", "b"]
    (tmp_path / "x.txt").write_text("a 1 2\nb 3 4\n", encoding="utf-8-sig")
    txt2bin(tmp_path / "x.txt", tmp_path / "bf")
    assert BigFile(tmp_path / "bf").names == ["a", "b"]


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "shape.txt").write_text("2 5"), "feature.bin: 32 bytes, but shape.txt says 2x5"),
    (lambda d: (d / "id.txt").write_text("a b c"), "id.txt: 3 ids, but shape.txt says 2"),
    (lambda d: (d / "id.txt").write_text("a a"), "id.txt: duplicate ids"),
    (lambda d: (d / "feature.bin").unlink(), "feature.bin: missing"),
    (lambda d: (d / "id.txt").write_bytes(b"a \xffb"), r"id.txt:1: id file is not UTF-8 text"),
    (lambda d: (d / "shape.txt").write_text("2 4 7"), r"shape.txt:1: expected 'N D' \(two integers\), found '2 4 7'"),
    (lambda d: (d / "shape.txt").write_text("2 4²"), r"shape.txt:1: expected 'N D' \(two integers\), found '2 4²'"),
    (lambda d: (d / "shape.txt").unlink() or (d / "shape.txt").mkdir(), "shape.txt: shape file expected, found a "
                                                                         "folder"),
])
def test_inconsistent_bigfile_is_refused_naming_the_file(tmp_path, damage, message):
    write_bigfile(tmp_path / "f", ["a", "b"], np.ones((2, 4)))
    damage(tmp_path / "f")
    with pytest.raises(InputError, match=message):
        BigFile(tmp_path / "f")
