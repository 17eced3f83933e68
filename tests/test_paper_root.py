"""tools/make_paper_root.py: a root with the paper's counts (scaled down here), in the real formats,
deterministic, skipped when already there, refused with one line on bad input, and run by do_all.sh."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from w2vv import layout
from w2vv.bigfile import BigFile
from w2vv.collection_files import captions_of, imageset_of
from w2vv.doctor import check_root, format_table, passed
from w2vv.errors import InputError
from w2vv.text import Tokenizer
from w2vv.word2vec import BigFileWord2Vec, GensimWord2Vec, open_word2vec

SCALE = 0.01     # 1,213 English training images / 6,068 sentences; 183 / 200 Chinese; 10 / 10 val and test
SMALL = 0.002    # for the marker and bad-input tests


from tools import make_paper_root as paper  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("paper") / "VisualSearch")
    paper.make_paper_root(root, seed=0, scale=SCALE, verbose=False)
    return root


def _files(root):
    """{relative path: bytes} of every file under ``root``."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def test_counts_are_the_published_ones_scaled(root):
    for coll, (n_img, n_sent) in layout.PAPER_COLLECTIONS.items():
        images = imageset_of(root, coll)
        captions = captions_of(root, coll)
        assert (len(images), len(captions)) == (round(n_img * SCALE), round(n_sent * SCALE)), coll
        assert len(set(images)) == len(images)
        assert {layout.image_id(s) for s, _ in captions} == set(images), coll
    # the English and Chinese val (test) collections hold the same images; most Chinese training
    # images are English training images, as in the demo
    for split in ("val", "test"):
        assert imageset_of(root, f"mscoco2014dev-{split}") == imageset_of(root, f"cococn{split}")
    zh_train = set(imageset_of(root, "cococntrain"))
    shared = zh_train & set(imageset_of(root, "mscoco2014dev-train"))
    assert len(shared) == round(len(zh_train) * paper.ZH_TRAIN_FROM_EN)
    marker = json.load(open(os.path.join(root, paper.MARKER)))
    assert marker["scale"] == SCALE and marker["collections"]["cococntrain"] == {"images": 183, "sentences": 200}


def test_counts_at_full_scale_are_the_published_ones():
    assert paper.counts(1.0) == layout.PAPER_COLLECTIONS


def test_captions_are_in_the_demo_formats(root):
    en = captions_of(root, "mscoco2014dev-train")
    zh = captions_of(root, "cococntrain")
    for sid, _ in en + zh:
        assert re.fullmatch(r"COCO_(train|val)2014_\d{12}#\d+", sid), sid
    # ids #0, #1, ... per image; about 5 English sentences an image, 1-2 Chinese
    per_image = {}
    for sid, _ in en:
        img, k = sid.split("#")
        assert int(k) == per_image.get(img, 0)
        per_image[img] = int(k) + 1
    assert set(per_image.values()) <= {5, 6}
    assert all(s[0].isupper() for _, s in en)
    en_tok, zh_tok = Tokenizer("en"), Tokenizer("zh")
    lengths = [len(en_tok.tokens(s)) for _, s in en]
    assert 9 < np.mean(lengths) < 12 and min(lengths) >= 3
    assert all(re.fullmatch(r"[a-z]+", w) for _, s in en[:500] for w in en_tok.tokens(s))
    zh_words = [w for _, s in zh for w in zh_tok.tokens(s)]
    assert all(re.fullmatch(r"[\u4e00-\u9fa5]+", w) for w in zh_words)
    assert 10 < len(zh_words) / len(zh) < 14
    # a share of stop words as in real captions
    assert 0.3 < sum(w in en_tok.stopwords for _, s in en for w in en_tok.tokens(s)) / sum(lengths) < 0.5


def test_features_and_word2vec_read_back(root):
    features = BigFile(layout.feature_dir(root, layout.PAPER_FEATURE, "mscoco2014dev"))
    every = set().union(*(imageset_of(root, c) for c in layout.PAPER_COLLECTIONS))
    assert features.ndims == 2048 and set(features.names) == every
    vectors = features.read_rows(np.arange(len(features)))
    assert vectors.dtype == np.float32 and vectors.min() == 0 and 0.2 < (vectors > 0).mean() < 0.9
    en = open_word2vec(layout.en_word2vec_dir(root), expected_dim=500)
    zh = open_word2vec(layout.zh_word2vec_file(root), expected_dim=500)
    assert isinstance(en, BigFileWord2Vec) and isinstance(zh, GensimWord2Vec)
    assert isinstance(open_word2vec(layout.zh_word2vec_file(root), mmap=True), GensimWord2Vec)
    for w2v, coll, lang in ((en, "mscoco2014dev-train", "en"), (zh, "cococntrain", "zh")):
        tok = Tokenizer(lang)
        words = [w for _, s in captions_of(root, coll) for w in tok.content_tokens(s)]
        vecs, known = w2v.lookup(words)
        assert 0.9 < known.mean() < 1.0, lang          # a few words unknown to word2vec, on purpose
        assert np.abs(vecs[known]).sum(1).min() > 0
    checks = check_root(root, "base_w2vv")
    assert passed(checks), format_table(checks)


def test_features_carry_the_images_concepts(root):
    images, all_ids, concepts = paper.compose_images(0, SCALE)
    features = BigFile(layout.feature_dir(root, layout.PAPER_FEATURE, "mscoco2014dev"))
    assert features.names == all_ids
    x = features.read_rows(np.arange(len(all_ids)))
    x = (x - x.mean(0)) / np.linalg.norm(x - x.mean(0), axis=1, keepdims=True)
    same = concepts[:, 0][:, None] == concepts[:, 0][None, :]
    np.fill_diagonal(same, False)
    sim = x @ x.T
    other = ~same
    np.fill_diagonal(other, False)
    assert sim[same].mean() > sim[other].mean() + 0.1


def test_same_seed_same_bytes_other_seed_other_data(root, tmp_path):
    again = str(tmp_path / "again")
    paper.make_paper_root(again, seed=0, scale=SCALE, verbose=False)
    new = _files(again)
    old = _files(root)
    assert new == {path: old[path] for path in new}
    other = str(tmp_path / "other")
    paper.make_paper_root(other, seed=1, scale=SCALE, verbose=False)
    caption = os.path.relpath(layout.caption_file(other, "cococntrain"), other)
    assert _files(other)[caption] != new[caption]


def test_marker_skip_regenerate_and_overwrite(tmp_path, capsys):
    root = str(tmp_path / "root")
    assert paper.main([root, "--scale", str(SMALL)]) == 0
    files = {p: os.stat(p).st_mtime_ns for p in paper._main_files(root)}
    assert paper.main([root, "--scale", str(SMALL)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert {p: os.stat(p).st_mtime_ns for p in files} == files
    # a main file deleted: regenerated (the same bytes)
    caption = layout.caption_file(root, "cococntest")
    before = open(caption, "rb").read()
    os.remove(caption)
    assert paper.main([root, "--scale", str(SMALL)]) == 0
    assert open(caption, "rb").read() == before
    # other parameters: refused, then replaced with --overwrite, the pipeline's outputs with it
    assert paper.main([root, "--scale", str(SMALL), "--seed", "1"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    vocab = layout.vocab_dir(root, "cococntrain", "bow")
    os.makedirs(vocab)
    assert paper.main([root, "--scale", str(SMALL), "--seed", "1", "--overwrite"]) == 0
    assert not os.path.exists(vocab) and open(caption, "rb").read() != before
    assert json.load(open(os.path.join(root, paper.MARKER)))["seed"] == 1
    assert not os.path.exists(os.path.join(root, paper.PARTIAL))


def test_an_interrupted_run_is_completed(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(os.path.join(root, "cococntrain"))
    with open(os.path.join(root, paper.PARTIAL), "w") as f:
        f.write("{}\n")
    assert paper.main([root, "--scale", str(SMALL)]) == 0
    assert not paper._missing(root) and os.path.isfile(os.path.join(root, paper.MARKER))


@pytest.mark.parametrize("scale", ["0", "-0.5", "nan", "inf"])
def test_bad_scale_is_one_line_and_writes_nothing(tmp_path, capsys, scale):
    root = tmp_path / "root"
    assert paper.main([str(root), "--scale", scale]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--scale" in err
    assert not root.exists()


def test_a_root_of_another_kind_is_refused_without_overwrite(tmp_path, capsys):
    root = tmp_path / "root"
    (root / "mscoco2014dev-train" / "TextData").mkdir(parents=True)
    caption = root / "mscoco2014dev-train" / "TextData" / "mscoco2014dev-train.caption.txt"
    caption.write_text("COCO_train2014_000000000009#0 a real sentence\n")
    (root / ".demo_complete").write_text("{}\n")
    assert paper.main([str(root), "--scale", str(SMALL)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--overwrite" in err
    assert sorted(p.name for p in root.rglob("*")) == sorted(["mscoco2014dev-train", "TextData", caption.name,
                                                              ".demo_complete"])
    assert paper.main([str(root), "--scale", str(SMALL), "--overwrite"]) == 0
    assert not (root / ".demo_complete").exists() and "real sentence" not in caption.read_text()
    with pytest.raises(InputError, match="not a folder"):
        paper.plan(str(caption), scale=SMALL)


def test_too_little_disk_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    root = tmp_path / "root"
    monkeypatch.setattr(paper, "_free_bytes", lambda path: 1 << 20)
    assert paper.main([str(root), "--scale", str(SMALL)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "disk space" in err
    assert not root.exists()
    # the bytes checked are those written (the gensim file's, closely from above)
    monkeypatch.undo()
    paper.make_paper_root(str(root), scale=SMALL, verbose=False)
    written = sum(len(b) for b in _files(str(root)).values())
    assert written <= paper.prepare(paper.params_of(0, SMALL), paper._quiet).bytes_to_write() < written + (1 << 20)


@pytest.mark.slow  # trains
def test_do_all_runs_on_it(root, tmp_path):
    """Stages 1-2 of the paper's enhanced W2VV on the generated root (a small GRU and MLP, one
    epoch, sentences cut at 16 words, so that it takes seconds; the features stay 2048-d, as the
    paper configs need)."""
    ini = tmp_path / "paper.ini"
    ini.write_text(f"rootpath = {root}\nfeature_collection = mscoco2014dev\nmax_epochs = 1\n"
                   f"config_overrides = lstm_size=16,n_layers=0-64-2048,sent_maxlen=16\npython = {sys.executable}\n")
    done = subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), "--stop_stage", "2",
                           "w2vv_attention_ctl"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"{root}: ready for w2vv_attention_ctl" in done.stdout
    for coll in ("mscoco2014dev-train", "cococntrain"):
        for style in ("bow", "bow_filterstop"):
            assert os.path.isfile(layout.vocab_file(root, coll, style))
    run = [line for line in done.stdout.splitlines() if "done: " in line][-1].split("done: ")[1].split()[0]
    folder = layout.checkpoint_dir(root, "mscoco2014dev-train", "mscoco2014dev-val", run)
    assert os.path.isfile(os.path.join(folder, layout.MODEL_FILE))
    for test in ("mscoco2014dev-val", "mscoco2014dev-test"):
        assert os.path.isfile(os.path.join(layout.similarity_dir(root, test, "mscoco2014dev-train", run),
                                           layout.SENT_FEAT_FILE))
