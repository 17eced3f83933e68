"""tools/make_demo_data.py: the demo VisualSearch root is in the real layout, consistent,
deterministic, and its features carry the images' concepts."""
import importlib.util
import json
import os

import numpy as np
import pytest

from w2vv import languages, layout
from w2vv.bigfile import BigFile
from w2vv.collection_files import captions_of, imageset_of
from w2vv.languages import tokenize_en
from w2vv.text import Tokenizer
from w2vv.vocab import count_words
from w2vv.word2vec import open_word2vec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALE = 0.1
DIM = 32


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_demo_data", os.path.join(REPO, "tools", "make_demo_data.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


demo = _load_tool()
EN = (demo.EN_TRAIN, demo.EN_VAL, demo.EN_TEST)
ZH = (demo.ZH_TRAIN, demo.ZH_VAL, demo.ZH_TEST)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("demo") / "VisualSearch")
    demo.make_demo_root(root, seed=0, scale=SCALE, feature_dim=DIM, verbose=False)
    return root


def _caption_images(root, coll):
    return [layout.image_id(sid) for sid, _ in captions_of(root, coll)]


def test_layout_files(root):
    for coll in EN + ZH:
        assert os.path.isfile(layout.caption_file(root, coll))
        assert os.path.isfile(layout.imageset_file(root, coll))
        assert languages.language_of(coll) == ("zh" if coll in ZH else "en")
    for name in ("shape.txt", "id.txt", "feature.bin"):
        assert os.path.isfile(os.path.join(layout.feature_dir(root, demo.FEATURE), name))
        assert os.path.isfile(os.path.join(layout.en_word2vec_dir(root), name))
    assert os.path.isfile(layout.zh_word2vec_file(root))
    assert layout.feature_dir(root, demo.FEATURE).endswith(
        os.path.join("mscoco2014dev", "FeatureData", "pyresnext-101_rbps13k,flatten0_output,os"))
    marker = json.load(open(os.path.join(root, demo.MARKER), encoding="utf-8"))
    assert (marker["seed"], marker["scale"], marker["feature_dim"]) == (0, SCALE, DIM)
    assert not os.path.exists(os.path.join(root, demo.PARTIAL))
    # no temporary leftovers of the atomic writes
    leftovers = [os.path.join(d, f) for d, dirs, files in os.walk(root) for f in files + dirs if f.endswith(".tmp")]
    assert leftovers == []


def test_ids_and_imagesets(root):
    for coll in EN + ZH:
        images = imageset_of(root, coll)
        assert len(images) == len(set(images))
        assert set(_caption_images(root, coll)) == set(images)
        prefix = "COCO_train2014_" if coll == demo.EN_TRAIN else "COCO_val2014_" if coll != demo.ZH_TRAIN else "COCO_"
        assert all(img.startswith(prefix) and len(img.rsplit("_", 1)[1]) == 12 for img in images)
        for sid, _ in captions_of(root, coll):
            img, k = sid.split("#")
            assert k.isdigit()
    # most Chinese training images are English training images
    zh_train, en_train = set(imageset_of(root, demo.ZH_TRAIN)), set(imageset_of(root, demo.EN_TRAIN))
    assert len(zh_train & en_train) >= 0.8 * len(zh_train)


def test_bigfile_shapes_and_every_caption_image_has_a_feature(root):
    feats = BigFile(layout.feature_dir(root, demo.FEATURE))
    assert feats.ndims == DIM
    all_images = set()
    for coll in EN + ZH:
        all_images |= set(_caption_images(root, coll)) | set(imageset_of(root, coll))
    assert set(feats.names) == all_images
    assert len(feats) == len(all_images)
    vecs = np.asarray(feats.vectors)
    assert vecs.dtype == np.float32 and vecs.min() >= 0 and np.isfinite(vecs).all()
    assert (np.linalg.norm(vecs, axis=1) > 0).all()
    w2v = BigFile(layout.en_word2vec_dir(root))
    assert w2v.ndims == 500
    assert "dog" in w2v and "the" in w2v
    for word in demo.EN_W2V_LEFT_OUT:
        assert word not in w2v


def test_val_test_same_images_one_sentence_each(root):
    for en, zh in ((demo.EN_VAL, demo.ZH_VAL), (demo.EN_TEST, demo.ZH_TEST)):
        assert imageset_of(root, en) == imageset_of(root, zh)
        for coll in (en, zh):
            images = _caption_images(root, coll)
            assert len(images) == len(set(images)) == len(imageset_of(root, coll))
    assert not set(imageset_of(root, demo.EN_VAL)) & set(imageset_of(root, demo.EN_TEST))
    for coll in (demo.EN_VAL, demo.EN_TEST, demo.ZH_VAL, demo.ZH_TEST):
        for img in imageset_of(root, coll):
            assert os.path.isfile(os.path.join(layout.image_dir(root, coll), img + ".jpg"))


def test_every_image_with_a_feature_has_a_picture_where_the_service_looks(root):
    from w2vv.retrieval.pictures import Pictures, picture_folders
    gallery = layout.feature_dir(root, demo.FEATURE)
    ids = BigFile(gallery).names
    pictures = Pictures(ids, picture_folders(root, gallery))
    assert pictures.count == len(ids)
    assert pictures.folders[0] == os.path.realpath(layout.image_dir(root, layout.DEFAULT_FEATURE_COLLECTION))
    marker = json.load(open(os.path.join(root, demo.MARKER), encoding="utf-8"))
    assert marker["gallery_pictures"] == len(ids) and marker["pictures"] == len(ids) + 4 * len(
        imageset_of(root, demo.EN_VAL))


def test_a_demo_made_without_the_gallery_pictures_gets_them_alone(tmp_path):
    import shutil
    root = str(tmp_path / "vs")
    demo.make_demo_root(root, scale=0.01, feature_dim=16, verbose=False)
    gallery_pictures = layout.image_dir(root, layout.DEFAULT_FEATURE_COLLECTION)
    expected = {name: open(os.path.join(gallery_pictures, name), "rb").read() for name in os.listdir(gallery_pictures)}
    marker_path = os.path.join(root, demo.MARKER)
    marker = json.load(open(marker_path, encoding="utf-8"))
    shutil.rmtree(gallery_pictures)      # as the generator wrote it before the gallery had pictures
    old = {k: v for k, v in marker.items() if k != "gallery_pictures"}
    old["pictures"] -= marker["gallery_pictures"]
    demo._write_marker(root, old)
    captions = layout.caption_file(root, demo.EN_TRAIN)
    before = os.path.getmtime(captions)
    assert demo.make_demo_root(root, scale=0.01, feature_dim=16, verbose=False) == marker
    assert {name: open(os.path.join(gallery_pictures, name), "rb").read()
            for name in os.listdir(gallery_pictures)} == expected
    assert os.path.getmtime(captions) == before and json.load(open(marker_path, encoding="utf-8")) == marker


def test_training_sentences_per_image(root):
    counts = {}
    for img in _caption_images(root, demo.EN_TRAIN):
        counts[img] = counts.get(img, 0) + 1
    assert set(counts.values()) <= {4, 5}
    counts = {}
    for img in _caption_images(root, demo.ZH_TRAIN):
        counts[img] = counts.get(img, 0) + 1
    assert set(counts.values()) <= {1, 2}


def test_chinese_captions_are_segmented(root):
    for coll in ZH:
        caps = captions_of(root, coll)
        assert all(" " in s or len(s) <= 4 for _, s in caps)
        multi = [s for _, s in caps if len(s.split()) >= 3]
        assert len(multi) >= 0.9 * len(caps)
        # every CJK token is short (words, not whole unsegmented sentences)
        for _, s in caps:
            assert all(len(tok) <= 5 for tok in s.split()), s
    joined = " ".join(s for _, s in captions_of(root, demo.ZH_TRAIN))
    assert "一只" in joined.split() or "一个" in joined.split()
    # English is mixed case with punctuation, like the real captions
    en = [s for _, s in captions_of(root, demo.EN_TRAIN)]
    assert any(s[0].isupper() for s in en) and any(s[0].islower() for s in en)
    assert any(s.endswith(".") for s in en) and any("," in s for s in en)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_some_sentences_encode_to_nothing(root, lang):
    """About 1% of the training sentences, and at least one test sentence, have an empty
    bag of words and no word known to word2vec (docs/method.md#the-three-sentence-encodings), with
    the default (original) stop words."""
    train, val, test = EN if lang == "en" else ZH
    w2v = open_word2vec(layout.word2vec_path(root, lang))
    tok = Tokenizer(lang)
    train_caps = [s for _, s in captions_of(root, train)]
    vocab = {w for w, _ in count_words(tok.content_tokens(s) for s in train_caps)}

    def empty(sentence):
        words = tok.content_tokens(sentence)
        return not any(w in vocab for w in words) and not any(w in w2v for w in words)

    frac = np.mean([empty(s) for s in train_caps])
    assert 0.003 <= frac <= 0.03, frac
    assert not any(empty(s) for _, s in captions_of(root, val))
    assert any(empty(s) for _, s in captions_of(root, test))
    # a filler word seen fewer than 5 times appears inside ordinary sentences too
    counts = count_words((tok.tokens(s) for s in train_caps), threshold=1)
    assert any(c == 1 for _, c in counts)


def test_chinese_word2vec_loads_with_gensim4(root):
    from gensim.models import Word2Vec
    model = Word2Vec.load(layout.zh_word2vec_file(root))
    assert model.wv.vector_size == 500
    assert model.wv["狗"].shape == (500,)
    for word in demo.ZH_W2V_LEFT_OUT:
        assert word not in model.wv


def test_same_seed_same_bytes(root, tmp_path):
    other = str(tmp_path / "again")
    demo.make_demo_root(other, seed=0, scale=SCALE, feature_dim=DIM, verbose=False)
    paths = [layout.caption_file(r, c) for c in EN + ZH for r in (root,)]
    paths += [layout.imageset_file(root, c) for c in EN + ZH]
    paths += [os.path.join(layout.feature_dir(root, demo.FEATURE), f) for f in ("feature.bin", "id.txt")]
    paths += [os.path.join(layout.en_word2vec_dir(root), f) for f in ("feature.bin", "id.txt")]
    paths += [layout.zh_word2vec_file(root), os.path.join(root, demo.MARKER)]
    paths += [os.path.join(layout.image_dir(root, demo.ZH_TEST), img + ".jpg")
              for img in imageset_of(root, demo.ZH_TEST)]
    for p in paths:
        q = other + p[len(root):]
        with open(p, "rb") as a, open(q, "rb") as b:
            assert a.read() == b.read(), p
    # another seed gives other data
    third = str(tmp_path / "seed1")
    demo.make_demo_root(third, seed=1, scale=SCALE, feature_dim=DIM, verbose=False)
    with open(layout.caption_file(root, demo.EN_TRAIN), "rb") as a, \
            open(layout.caption_file(third, demo.EN_TRAIN), "rb") as b:
        assert a.read() != b.read()


def test_skip_when_complete_and_refuse_other_parameters(root, capsys):
    before = os.path.getmtime(layout.caption_file(root, demo.EN_TRAIN))
    assert demo.main([root, "--seed", "0", "--scale", str(SCALE), "--feature_dim", str(DIM)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert os.path.getmtime(layout.caption_file(root, demo.EN_TRAIN)) == before
    assert demo.main([root, "--seed", "1", "--scale", str(SCALE), "--feature_dim", str(DIM)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_overwrite_with_other_parameters_removes_stale_outputs(tmp_path, capsys):
    root = str(tmp_path / "vs")
    assert demo.main([root, "--scale", "0.01", "--feature_dim", "16"]) == 0
    vocab = layout.vocab_dir(root, demo.ZH_TRAIN, "bow")
    os.makedirs(vocab)
    assert demo.main([root, "--scale", "0.01", "--feature_dim", "16", "--seed", "3", "--overwrite"]) == 0
    assert not os.path.exists(vocab)
    assert json.load(open(os.path.join(root, demo.MARKER)))["seed"] == 3
    # a deleted file is noticed: the demo is made again
    os.remove(os.path.join(layout.feature_dir(root, demo.FEATURE), "feature.bin"))
    capsys.readouterr()
    assert demo.main([root, "--scale", "0.01", "--feature_dim", "16", "--seed", "3"]) == 0
    assert "regenerating" in capsys.readouterr().out
    assert BigFile(layout.feature_dir(root, demo.FEATURE)).ndims == 16


def test_refuses_to_overwrite_foreign_data(tmp_path):
    root = str(tmp_path / "real")
    path = layout.caption_file(root, demo.EN_TRAIN)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("COCO_train2014_000000000001#0 a real caption\n")
    with pytest.raises(ValueError):
        demo.make_demo_root(root, scale=SCALE, feature_dim=DIM, verbose=False)
    with open(path) as f:
        assert f.read() == "COCO_train2014_000000000001#0 a real caption\n"


def test_features_of_images_sharing_a_concept_are_closer(root):
    feats = BigFile(layout.feature_dir(root, demo.FEATURE))
    ids = feats.names
    comps = demo.compose_images(0, SCALE)[-1]
    assert sorted(comps) == ids
    concepts = [set(demo.concept_keys(comps[img])) for img in ids]
    # the compositions are those the captions describe: the main object is named in most
    caps = dict(captions_of(root, demo.EN_VAL))
    val = imageset_of(root, demo.EN_VAL)
    hits = sum(any(w in tokenize_en(caps[img + "#0"]) for w in demo.BY_KEY[comps[img]["obj1"]]["en"])
               for img in val)
    assert hits >= 0.8 * len(val)

    x = np.asarray(feats.vectors, dtype=np.float64)
    rows = np.random.default_rng(5).choice(len(ids), size=(3000, 2))
    rows = rows[rows[:, 0] != rows[:, 1]]
    share, none = [], []
    for a, b in rows:
        d = np.linalg.norm(x[a] - x[b])
        (share if concepts[a] & concepts[b] else none).append(d)
    assert len(share) > 50 and len(none) > 50
    assert np.mean(share) < np.mean(none)


def test_japanese_without_its_tokeniser_writes_nothing(tmp_path, monkeypatch):
    """Without janome, --ja wrote the Japanese collections' folders and then stopped."""
    from tools.make_demo_data import make_demo_root
    from w2vv.errors import InputError

    def missing():
        raise InputError("the janome package is not installed (pip install -r requirements-ja.txt), needed to "
                         "tokenise Japanese")
    monkeypatch.setattr(languages, "_janome", missing)
    with pytest.raises(InputError, match="janome package is not installed"):
        make_demo_root(tmp_path / "root", scale=0.1, ja=True, verbose=False)
    assert not (tmp_path / "root").exists()
