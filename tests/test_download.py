"""Stage 0 against a real (local, loopback) HTTP server serving generated archives in the
release layout: a root built from nothing, a dropped connection resumed, a 404 reported in one
line, members outside the root refused, and the doctor and stage 1 passing on the result."""
import filecmp
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile

import numpy as np

import pytest

from tests.archive_server import ArchiveServer
from tests.helpers import REPO, SMALL_MODEL
from w2vv import download, layout
from w2vv.errors import InputError

CONFIG = "w2vv_attention_ctl"
PATHS = {"word2vec": "/w2vv/word2vec.tar.gz", "zh_w2v": "/coco-cn/zh_w2v.zip",
         "retrieval_data": "/coco-cn/coco-cn_retrieval_data.tar.gz"}


def tar_gz(members, compression="gz"):
    """A .tar.gz (or .tar.<compression>) of {name: bytes, or ('symlink', target)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, data[1]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_of(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def files_under(root, *tops):
    """{root-relative path: bytes} of every file under the folders ``tops`` of ``root``."""
    out = {}
    for top in tops:
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                path = os.path.join(folder, name)
                out[os.path.relpath(path, root)] = open(path, "rb").read()
    return out


@pytest.fixture(scope="module")
def release(small_root):
    """A generated root and the three release archives made of it (the layout of the real ones)."""
    source = small_root
    collections = [c for c in layout.PAPER_COLLECTIONS]
    archives = {
        PATHS["word2vec"]: tar_gz(files_under(source, "word2vec")),
        PATHS["zh_w2v"]: zip_of(files_under(source, "zh_w2v")),
        PATHS["retrieval_data"]: tar_gz(files_under(source, "mscoco2014dev", *collections)),
    }
    return source, archives


@pytest.fixture
def server(release):
    with ArchiveServer(release[1]) as s:
        yield s


def urls(server):
    return {name: server.url(path) for name, path in PATHS.items()}


def requests_of(server, name):
    return [rng for path, rng in server.requests if path == PATHS[name]]


def quiet(message):
    pass


def test_stage0_builds_a_root_from_nothing_through_a_dropped_connection_and_stage1_runs(release, server, tmp_path):
    source, archives = release
    root = tmp_path / "new" / "VisualSearch"
    server.drops[PATHS["word2vec"]] = 1
    ini = tmp_path / "test.ini"
    ini.write_text(f"rootpath = {root}\npython = {sys.executable}\nconfig_overrides = {SMALL_MODEL}\n"
                   + "".join(f"{name}_url = {url}\n" for name, url in urls(server).items()))
    result = subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), "--stage", "0", "--stop_stage", "1",
                             CONFIG], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    half = len(archives[PATHS["word2vec"]]) // 2
    assert requests_of(server, "word2vec") == [None, f"bytes={half}-"]  # resumed where the drop cut it
    for archive in download.ARCHIVES.values():
        for path in archive.provides:
            assert filecmp.cmp(root / path, source / path, shallow=False), path
    assert "ready for w2vv_attention_ctl" in result.stdout
    assert re.search(r"word2vec\.tar\.gz: 100%.*\d+(\.\d+)?[kM]?/\d+(\.\d+)?[kM]? "
                     r"\[\d\d:\d\d<\d\d:\d\d, ", result.stderr), \
        result.stderr[-1000:]   # the progress bar: bytes, elapsed < left, rate
    for train in ("cococntrain", "mscoco2014dev-train"):
        assert os.path.isfile(layout.vocab_file(str(root), train, "bow_filterstop"))
    again = subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), "--stage", "0", "--stop_stage", "0",
                            CONFIG], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert again.returncode == 0 and again.stdout.count("skipped") == 3, again.stdout
    assert len(server.requests) == 4


def test_404_is_one_line_naming_the_url_and_the_fix(server, tmp_path):
    server.not_found.add(PATHS["retrieval_data"])
    root = tmp_path / "VisualSearch"
    result = subprocess.run([sys.executable, str(REPO / "download_data.py"), "--rootpath", str(root),
                             "--archives", "retrieval_data",
                             "--url", f"retrieval_data={urls(server)['retrieval_data']}"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line, result.stderr
    assert line.startswith(f"error: {urls(server)['retrieval_data']}: HTTP 404 Not Found;"), line
    assert "retrieval_data_url" in line and f"{root / 'downloads'}/" in line, line
    assert not os.listdir(root / "downloads") if (root / "downloads").exists() else True


def test_interrupted_download_keeps_its_part_and_the_next_run_resumes_it(release, server, tmp_path):
    source, archives = release
    root = str(tmp_path / "VisualSearch")
    server.drops[PATHS["word2vec"]] = 2
    with pytest.raises(InputError) as failure:
        download.prepare_root(root, ["word2vec"], urls(server), retries=1, retry_wait=0, log=quiet)
    part = os.path.join(root, "downloads", "word2vec.tar.gz.part")
    kept = os.path.getsize(part)
    assert 0 < kept < len(archives[PATHS["word2vec"]])
    assert f"partial download kept in {part}" in str(failure.value) and "run stage 0 again" in str(failure.value)
    assert not os.path.exists(os.path.join(root, "word2vec"))
    download.prepare_root(root, ["word2vec"], urls(server), retries=0, log=quiet)
    assert requests_of(server, "word2vec")[-1] == f"bytes={kept}-"
    assert open(os.path.join(root, "downloads", "word2vec.tar.gz"), "rb").read() == archives[PATHS["word2vec"]]
    assert not os.path.exists(part)
    assert files_under(root, "word2vec") == files_under(str(source), "word2vec")


def test_a_server_that_ignores_ranges_restarts_the_download(release, server, tmp_path):
    _, archives = release
    root = tmp_path / "VisualSearch"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "zh_w2v.zip.part").write_bytes(b"x" * 100)
    server.ranges = False
    download.prepare_root(str(root), ["zh_w2v"], urls(server), retries=0, log=quiet)
    assert (root / "downloads" / "zh_w2v.zip").read_bytes() == archives[PATHS["zh_w2v"]]
    assert (root / layout.zh_word2vec_file("")).is_file()


@pytest.mark.parametrize("bad", [
    {"../evil.txt": b"x"},
    {"/tmp/evil.txt": b"x"},
    {"word2vec/up": ("symlink", "../../..")},
    {"word2vec/abs": ("symlink", "/etc")},
])
def test_tar_members_outside_the_root_are_refused_and_nothing_is_unpacked(bad, tmp_path):
    root = tmp_path / "VisualSearch"
    archive = root / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar_gz({"word2vec/good.txt": b"fine", **bad}))
    with pytest.raises(InputError) as e:
        download.unpack(str(archive), str(root), log=quiet)
    assert f"member {next(iter(bad))!r} refused" in str(e.value) and str(e.value).startswith(str(archive))
    assert sorted(os.listdir(root)) == ["downloads"]
    assert sorted(os.listdir(root / "downloads")) == ["word2vec.tar.gz"]
    assert not (tmp_path / "evil.txt").exists()


def test_zip_member_outside_the_root_is_refused_through_stage0(tmp_path):
    with ArchiveServer({PATHS["zh_w2v"]: zip_of({"zh_w2v/ok.txt": b"ok", "../evil.txt": b"x"})}) as s:
        root = tmp_path / "VisualSearch"
        result = subprocess.run([sys.executable, str(REPO / "download_data.py"), "--rootpath", str(root),
                                 "--archives", "zh_w2v", "--url", f"zh_w2v={s.url(PATHS['zh_w2v'])}"],
                                capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {root / 'downloads' / 'zh_w2v.zip'}: member '../evil.txt' refused "
        "(a path outside the root); nothing was unpacked")
    assert not (tmp_path / "evil.txt").exists() and not (root / "zh_w2v").exists()


def test_a_truncated_archive_is_reported_and_kept(release, tmp_path):
    _, archives = release
    root = tmp_path / "VisualSearch"
    archive = root / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(archives[PATHS["word2vec"]][:-2000])
    with pytest.raises(InputError, match="cannot unpack, truncated or corrupt") as error:
        download.prepare_root(str(root), ["word2vec"], log=quiet)
    assert archive.is_file() and not (root / "word2vec").exists() and "\n" not in str(error.value)
    garbage = root / "downloads" / "zh_w2v.zip"
    garbage.write_bytes(bytes(range(256)) * 20)  # tarfile tried every compression, and said so a line each
    with pytest.raises(InputError, match=r"zh_w2v.zip: cannot unpack, truncated or corrupt \(not a zip archive\): "
                                         r"move it away and run stage 0 again$"):
        download.prepare_root(str(root), ["zh_w2v"], log=quiet)


def test_an_archive_damaged_after_its_first_members_unpacks_nothing(release, tmp_path):
    """A resume served from another copy, damaged mid-file: tarfile took the bad header for the archive's end, the
    members before it (one corrupt) went into the root, and once the right archive was fetched the corrupt file was
    kept as the root's own: the doctor said ready."""
    _, archives = release
    root = tmp_path / "VisualSearch"
    archive = root / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    data = bytearray(archives[PATHS["word2vec"]])
    middle = len(data) // 2
    data[middle:middle + 300] = bytes(b ^ 0x5A for b in data[middle:middle + 300])
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match="word2vec.tar.gz: cannot unpack, truncated or corrupt"):
        download.prepare_root(str(root), ["word2vec"], log=quiet)
    assert sorted(os.listdir(root)) == [".locks", "downloads"]


def test_a_damaged_bzip2_archive_is_reported(tmp_path):
    """A mirror's archive compressed with bzip2 under the release's name: its damage was a bare OSError traceback."""
    archive = tmp_path / "VisualSearch" / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    text = " ".join(str(n) for n in np.random.default_rng(0).integers(0, 1000, 600_000)).encode()  # 4 bz2 blocks
    data = bytearray(tar_gz({"word2vec/a.txt": text}, compression="bz2"))
    data[-len(data) // 4:-len(data) // 4 + 300] = bytes(300)  # after the first member's header
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"word2vec.tar.gz: cannot unpack, truncated or corrupt \(Invalid data "
                                         r"stream\): move it away"):
        download.prepare_root(str(tmp_path / "VisualSearch"), ["word2vec"], log=quiet)


def test_an_archive_of_other_folders_unpacks_nothing(tmp_path):
    """Its files went into the root under their own top folder, and every run of stage 0 failed the same way."""
    root = tmp_path / "VisualSearch"
    archive = root / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar_gz({"release/word2vec/flickr/vec500flickr30m/shape.txt": b"1 500\n"}))
    with pytest.raises(InputError, match=r"word2vec.tar.gz: holds no word2vec/\S+ \(3 of the files it should hold; "
                                         r"its top folders: release\): not the release's archive; move it away"):
        download.prepare_root(str(root), ["word2vec"], log=quiet)
    assert sorted(os.listdir(root)) == [".locks", "downloads"]


def test_a_disk_full_while_downloading_says_to_free_space(tmp_path, monkeypatch):
    """It was retried as a network error, then 'set word2vec_url in the ini to another URL'."""
    import errno

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(download, "_transfer_once", full)
    part = tmp_path / "word2vec.tar.gz.part"
    with pytest.raises(InputError, match=rf"^{part}: cannot write the download there, no space left on the device; "
                                         r"free space, then run stage 0 again \(it resumes the download\)$"):
        download.fetch("http://127.0.0.1:9/word2vec.tar.gz", str(tmp_path / "word2vec.tar.gz"), retry_wait=0,
                       log=quiet)


def test_a_disk_full_while_unpacking_names_the_folder(release, tmp_path, monkeypatch):
    """The archives unpack to gigabytes outside the atomic writes: a full disk was blamed on standard output."""
    import errno
    _, archives = release
    root = tmp_path / "VisualSearch"
    archive = root / "downloads" / "word2vec.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(archives[PATHS["word2vec"]])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(tarfile.TarFile, "extractall", full)
    with pytest.raises(InputError, match=r": cannot unpack word2vec.tar.gz there, no space left on the device; free "
                                         r"space, then run stage 0 again \(it unpacks the archive anew\)$"):
        download.prepare_root(str(root), ["word2vec"], log=quiet)
    assert archive.is_file() and not (root / "word2vec").exists()


def test_sha256_and_size_are_checked_when_given(release, server, tmp_path):
    _, archives = release
    data = archives[PATHS["zh_w2v"]]
    root = str(tmp_path / "VisualSearch")
    with pytest.raises(InputError, match="SHA-256 .* but the settings say 0000"):
        download.prepare_root(root, ["zh_w2v"], urls(server), sha256s={"zh_w2v": "0" * 64}, log=quiet)
    with pytest.raises(InputError, match=f"{len(data):,} bytes, but the settings say 12"):
        download.prepare_root(root, ["zh_w2v"], urls(server), sizes={"zh_w2v": 12}, log=quiet)
    download.prepare_root(root, ["zh_w2v"], urls(server), sha256s={"zh_w2v": hashlib.sha256(data).hexdigest()},
                          sizes={"zh_w2v": len(data)}, log=quiet)
    assert os.path.isfile(layout.zh_word2vec_file(root))


def test_an_archive_fetched_by_hand_is_used_and_the_users_files_are_kept(release, server, tmp_path):
    source, archives = release
    root = tmp_path / "VisualSearch"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "word2vec.tar.gz").write_bytes(archives[PATHS["word2vec"]])
    mine = root / layout.en_word2vec_dir("") / "shape.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own\n")
    download.prepare_root(str(root), ["word2vec"], urls(server), log=quiet)
    assert server.requests == []
    assert mine.read_text() == "my own\n"
    feature_bin = os.path.join(layout.en_word2vec_dir(""), "feature.bin")
    assert filecmp.cmp(root / feature_bin, source / feature_bin, shallow=False)


def test_a_complete_part_file_is_taken_and_a_too_long_one_refused(release, server, tmp_path):
    _, archives = release
    data = archives[PATHS["zh_w2v"]]
    root = tmp_path / "VisualSearch"
    (root / "downloads").mkdir(parents=True)
    part = root / "downloads" / "zh_w2v.zip.part"
    part.write_bytes(data + b"extra")
    with pytest.raises(InputError, match=f"{len(data) + 5:,} bytes, more than the {len(data)} bytes of"):
        download.prepare_root(str(root), ["zh_w2v"], urls(server), retries=0, log=quiet)
    assert part.read_bytes() == data + b"extra"
    part.write_bytes(data)  # all of it, stopped before the rename
    download.prepare_root(str(root), ["zh_w2v"], urls(server), retries=0, log=quiet)
    assert (root / "downloads" / "zh_w2v.zip").read_bytes() == data and not part.exists()
    assert (root / layout.zh_word2vec_file("")).is_file()


def test_stage0_of_one_archive_runs_once_at_a_time(tmp_path, monkeypatch):
    """Two configs' do_all.sh on one root fetched into one .part together (an archive 1.2 MB too long) and unpacked
    through one staging folder: stage 0 holds a lock per archive, the second waiting for the first."""
    import fcntl
    held = []

    def prepare(root, archive, *args):
        with open(layout.lock_file(root, f"download.{archive.name}")) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(archive.name)
    monkeypatch.setattr(download, "_prepare_archive", prepare)
    download.prepare_root(str(tmp_path / "VisualSearch"), ["word2vec", "zh_w2v"], log=quiet)
    assert held == ["word2vec", "zh_w2v"]


def test_the_archive_is_staged_on_the_roots_file_system(release, tmp_path, monkeypatch):
    """Staged under downloads/, a link to another disk, every file's move into the root failed (Invalid cross-device
    link) and left empty folders there."""
    _, archives = release
    root = tmp_path / "VisualSearch"
    elsewhere = tmp_path / "other_disk"
    elsewhere.mkdir()
    root.mkdir()
    (root / "downloads").symlink_to(elsewhere)
    (elsewhere / "word2vec.tar.gz").write_bytes(archives[PATHS["word2vec"]])
    staged, extract = [], download._extract
    monkeypatch.setattr(download, "_extract", lambda path, staging: staged.append(staging) or extract(path, staging))
    download.prepare_root(str(root), ["word2vec"], log=quiet)
    assert os.path.dirname(staged[0]) == str(root) and not os.path.exists(staged[0])
    assert not download.missing_files(str(root), download.archive_named("word2vec"))
