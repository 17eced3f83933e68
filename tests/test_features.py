"""Features of your own images (``extract_features.py``): the real extraction path of a
keras.applications network (random or local weights: never a download) on generated JPEG, PNG and
WebP files and a truncated one; the layout it writes, resumption, refusals; and configs whose last
MLP width follows the feature (``n_layers = '0-…-feat'``)."""
import contextlib
import os

import numpy as np
import pytest

from tests.helpers import run_main
from w2vv import layout
from w2vv.bigfile import BigFile
from w2vv.collection_files import imageset_of
from w2vv.config import load_config, mlp_sizes, with_feature_width
from w2vv.errors import InputError
from w2vv import features
from w2vv.features import PARTS_SUFFIX, SKIPPED_FILE, THUMBNAIL_SIZE, extract_features, read_image

SIZE = 32  # network input: small, so the tests are quick


def _save(path, rgb, size=(40, 30), fmt=None):
    from PIL import Image
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:] = rgb
    pixels[: size[1] // 2, : size[0] // 3] = (255 - rgb[0], rgb[2], rgb[1])  # not uniform: features differ
    Image.fromarray(pixels).save(path, format=fmt)


@pytest.fixture
def photos(tmp_path):
    """7 readable images (JPEG, PNG, WebP, in subfolders, one large), a truncated JPEG, a text file."""
    folder = tmp_path / "photos"
    for i in range(4):
        _save(str(folder / f"img{i}.jpg"), (40 * i, 100, 200 - 30 * i))
    _save(str(folder / "holiday" / "beach.png"), (250, 220, 120))
    _save(str(folder / "holiday" / "deep" / "dog.webp"), (90, 60, 30), fmt="WEBP")
    _save(str(folder / "big.jpg"), (10, 200, 10), size=(600, 300))
    good = (folder / "img0.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(good[: len(good) // 3])
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def weights_file(tmp_path):
    """The weights of a randomly initialised ResNet50 (no classifier), saved locally."""
    import keras
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(include_top=False, weights=None, pooling="avg", input_shape=(SIZE, SIZE, 3))
    path = str(tmp_path / "resnet50_random.weights.h5")
    model.save_weights(path)
    return path, model


READABLE = ["beach", "big", "dog", "img0", "img1", "img2", "img3"]


@pytest.mark.slow
def test_every_readable_image_gets_the_networks_features_with_its_preprocessing(photos, weights_file, tmp_path):
    import keras
    path, model = weights_file
    root = str(tmp_path / "root")
    summary = extract_features(str(photos), root, "myphotos", cnn="resnet50", weights=path, batch_size=3,
                               image_size=SIZE, log=lambda m: None, progress=False)
    feature = "resnet50_resnet50_random.weights_avgpool"
    feature_dir = layout.feature_dir(root, feature, "myphotos")
    assert summary["feature_dir"] == feature_dir and summary["images"] == 7 and summary["skipped"] == 1
    features = BigFile(feature_dir)
    assert sorted(features.names) == READABLE and features.ndims == 2048
    assert imageset_of(root, "myphotos") == list(features.names)
    # ResNet's own preprocessing (RGB -> BGR, ImageNet means subtracted), through the same network
    files = {os.path.splitext(f)[0]: os.path.join(d, f) for d, _, fs in os.walk(photos) for f in fs}
    pixels = np.stack([read_image(files[i], SIZE) for i in features.names])
    expected = model.predict_on_batch(keras.applications.resnet.preprocess_input(pixels.copy()))
    np.testing.assert_allclose(features.read(features.names)[1], expected, rtol=1e-4, atol=1e-4)
    unprocessed = model.predict_on_batch(pixels)
    assert not np.allclose(unprocessed, expected, atol=1e-3)      # the preprocessing matters
    skipped = open(os.path.join(feature_dir, SKIPPED_FILE), encoding="utf-8").read().splitlines()
    assert len(skipped) == 1 and skipped[0].startswith(str(photos / "broken.jpg") + "\t")
    from PIL import Image
    thumbs = layout.image_dir(root, "myphotos")
    assert sorted(os.listdir(thumbs)) == [f"{i}.jpg" for i in READABLE]
    with Image.open(os.path.join(thumbs, "big.jpg")) as thumb:
        assert max(thumb.size) == THUMBNAIL_SIZE and thumb.format == "JPEG"
    assert not os.path.exists(feature_dir + PARTS_SUFFIX)


class Stop(Exception):
    pass


@contextlib.contextmanager
def chunks_saved(stop_after=None, error=Stop):
    """The list of the chunks extract_features saves within it; ``stop_after``: interrupted by ``error`` once it has
    saved that many (as a Ctrl-C would)."""
    save, saved = features._Parts.save, []

    def save_then_stop(self, i, *arrays):
        save(self, i, *arrays)
        saved.append(i)
        if len(saved) == stop_after:
            raise error

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(features._Parts, "save", save_then_stop)
        yield saved


@pytest.mark.slow
def test_an_interrupted_run_continues_at_the_first_missing_chunk(photos, tmp_path):
    def run(root):
        return extract_features(str(photos), root, "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                                chunk_images=2, log=lambda m: None, progress=False)

    import keras

    keras.utils.set_random_seed(1)
    with chunks_saved(stop_after=2), pytest.raises(Stop):
        run(str(tmp_path / "a"))
    parts = layout.feature_dir(str(tmp_path / "a"), "mobilenetv3small_none_avgpool", "c") + PARTS_SUFFIX
    assert sorted(f for f in os.listdir(parts) if f.startswith("chunk_")) == ["chunk_000000.npz", "chunk_000001.npz"]
    assert not os.path.exists(parts[: -len(PARTS_SUFFIX)])      # no BigFile before the end
    keras.utils.set_random_seed(1)                               # the same random network
    with chunks_saved() as done_again:
        summary = run(str(tmp_path / "a"))
    assert done_again == [2, 3]                                  # 8 files in chunks of 2: the first two kept
    assert summary["images"] == 7 and summary["skipped"] == 1
    keras.utils.set_random_seed(1)
    whole = run(str(tmp_path / "b"))
    a, b = BigFile(summary["feature_dir"]), BigFile(whole["feature_dir"])
    assert a.names == b.names
    np.testing.assert_allclose(np.asarray(a.vectors), np.asarray(b.vectors), rtol=1e-5, atol=1e-5)


def test_duplicate_ids_are_refused_before_anything_is_written(photos, tmp_path):
    _save(str(photos / "again" / "img1.png"), (1, 2, 3))
    root = tmp_path / "root"
    with pytest.raises(InputError, match=r"img1.png: duplicate image id 'img1' \(also [^,;]*img1.jpg\); ids are "
                                         r"file names without extension, so rename all but one file of each$"):
        extract_features(str(photos), str(root), "c", cnn="mobilenetv3small", weights="none", log=lambda m: None)
    assert not root.exists()


def test_images_of_16_bits_or_floats_keep_their_brightness_and_heic_files_are_listed(tmp_path):
    """A scan saved as a 16-bit PNG or TIFF, or a float TIFF, became a white or black picture (Pillow's convert clips
    them), its features those of a blank; a HEIC photo was left out without a word."""
    from PIL import Image

    from w2vv.features import _read_or_reason, list_images
    gray = np.tile(np.arange(0, 250, 5, dtype=np.uint16), (40, 1))  # a ramp, mean 122.5
    Image.fromarray(gray * 257).save(tmp_path / "scan16.png")
    Image.fromarray((gray * 257).astype(np.uint16)).save(tmp_path / "tiff16.tif")
    Image.fromarray(gray.astype(np.float32) / 255).save(tmp_path / "float.tif")
    for name in ("scan16.png", "tiff16.tif", "float.tif"):
        pixels, reason = _read_or_reason(str(tmp_path / name), 50, None)
        assert reason is None and abs(pixels.mean() - gray.mean()) < 1.5, (name, pixels.mean())
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    assert str(tmp_path / "IMG_0001.HEIC") in [path for _, path in list_images(str(tmp_path), log=lambda m: None)]
    assert _read_or_reason(str(tmp_path / "IMG_0001.HEIC"), 50, None)[1]  # skipped, and listed with its reason


def test_a_file_name_not_utf8_is_refused_in_one_line(tmp_path):
    """A GBK archive's names unpacked on Linux: a UnicodeEncodeError traceback from the extraction's record."""
    from w2vv.features import list_images
    folder = tmp_path / "gbk"
    folder.mkdir()
    name = os.fsdecode(b"\xb9\xb7.jpg")  # 狗 in GBK
    _save(os.path.join(str(folder), name), (1, 2, 3))
    with pytest.raises(InputError, match=r"gbk/\\xb9\\xb7.jpg: the path is not UTF-8 text \(unpacked from an "
                                         r"archive of another encoding\?\); rename what is not$"):
        list_images(str(folder))


def test_a_collection_with_sentences_is_refused_before_anything_is_written(photos, tmp_path):
    """Extracting into a release's test collection used to replace its image list with the photos'."""
    root = tmp_path / "root"
    captions = root / "cococntest" / "TextData" / "cococntest.caption.txt"
    captions.parent.mkdir(parents=True)
    captions.write_text("img0#0 一只 狗\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{captions}: cococntest is a collection with sentences; extracting"):
        extract_features(str(photos), str(root), "cococntest", cnn="mobilenetv3small", weights="none",
                         log=lambda m: None)
    assert sorted(p.name for p in (root / "cococntest").iterdir()) == ["TextData"]


def test_command_shows_progress_and_fails_in_one_line(photos, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    args = ["--rootpath", str(root), "--collection", "mine", "--cnn", "MobileNetV3Small", "--weights", "none",
            "--image_size", str(SIZE)]
    done = run_main("extract_features.py", photos, *args)
    assert done.returncode == 0, done.stderr
    assert "images/s" in done.stdout and "7 images -> " in done.stdout and "1 skipped" in done.stdout
    assert "warning: --weights none: a network of random weights, whose features are near zero" in done.stdout
    (tmp_path / "empty").mkdir()
    again = run_main("extract_features.py", photos, *args)  # the same images and settings: skipped
    assert again.returncode == 0 and "features already extracted, skipped" in again.stdout, again.stderr
    spelled = run_main("extract_features.py", photos, *args, "--cnn", "mobilenet_v3_small")  # was another network
    assert spelled.returncode == 0 and "features already extracted, skipped" in spelled.stdout, spelled.stderr
    from w2vv.lock import exclusive
    with exclusive(layout.lock_file(str(root), "extract_features.mine"), "a test"):  # two wrote one collection
        held = run_main("extract_features.py", photos, *args)
    assert held.returncode == 1 and "extract_features into mine is already running" in held.stderr, held.stderr
    huge = run_main("extract_features.py", photos, *args, "--image_size", "100000")  # was killed for its memory
    assert huge.returncode == 2 and "--image_size 100000: a size in pixels, 1 to 2048" in huge.stderr
    _save(str(photos / "img1.jpg"), (0, 0, 255))  # another photo under the same name (a camera's reused name)
    replaced = run_main("extract_features.py", photos, *args)
    assert replaced.returncode == 1 and "features already extracted from an image file changed since (its size or " \
        "modification time: replaced, edited, or copied without its times) (--overwrite to extract them again)" \
        in replaced.stderr
    assert run_main("extract_features.py", photos, *args, "--overwrite").returncode == 0
    os.utime(photos / "img2.jpg", ns=(1, 1))  # the same bytes, another time: told as changed (no hash of photos)
    assert "an image file changed since" in run_main("extract_features.py", photos, *args).stderr
    (photos / "gone.jpg").symlink_to(photos / "nowhere.jpg")  # a dangling link: skipped, as an unreadable file
    relinked = run_main("extract_features.py", photos, *args, "--overwrite")
    assert relinked.returncode == 0 and "2 skipped" in relinked.stdout, relinked.stderr
    for bad_args, message in [([str(photos), *args, "--image_size", str(SIZE + 8)],
                               "features already extracted with another input size (--overwrite"),
                              ([str(tmp_path / "empty"), *args], "empty: no image files"),
                              ([str(tmp_path / "nowhere"), *args], "nowhere: image folder not found"),
                              ([str(photos), *args[:4], "--cnn", "resnet999"], "--cnn resnet999: not a network"),
                              ([str(photos), *args[:4], "--overwrite", "--weights", str(tmp_path / "w.h5")],
                               "w.h5: weights file not found")]:
        failed = run_main("extract_features.py", *bad_args)
        assert failed.returncode == 1
        err = failed.stderr
        assert err.startswith("error: ") and message in err, err
        assert len(err.strip().splitlines()) == 1


def test_a_failed_weights_download_is_one_line(photos, tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid/weights.h5: None -- no network")

    monkeypatch.setattr(file_utils, "get_file", offline)   # what Keras raises without a network
    with pytest.raises(InputError, match=r"^imagenet: the MobileNetV3Small weights could not be downloaded "
                                         r"\(URL fetch failure .*\); copy the file into ~/.keras/models/"):
        extract_features(str(photos), str(tmp_path), "c", cnn="mobilenetv3small", weights="imagenet",
                         log=lambda m: None, progress=False)


# ---------------------------------------------------------------- the MLP's last width

def test_paper_configs_keep_their_widths_and_feat_follows_the_feature():
    paper = load_config("w2vv_attention_ctl")
    assert paper.n_layers == "0-2048-2048"
    assert with_feature_width(paper, 2048, "f") is paper                     # unchanged: the same model
    with pytest.raises(InputError, match=r"f: features are 576-d, but the model's last layer .* outputs 2048"):
        with_feature_width(paper, 576, "f")
    own = load_config("w2vv_attention_ctl", overrides={"n_layers": "0-2048-feat"})
    with pytest.raises(ValueError):
        mlp_sizes(own)                                                       # unknown until the features are
    assert mlp_sizes(with_feature_width(own, 576, "f")) == [0, 2048, 576]
    assert own.n_layers == "0-2048-feat"                                     # the loaded config is not changed
    for bad in ("feat", "0-feat-2048", "0-2048-features"):
        with pytest.raises(InputError, match="must look like"):
            load_config("w2vv_attention_ctl", overrides={"n_layers": bad})


@pytest.mark.slow
def test_photos_are_never_replaced_by_thumbnails_and_a_new_extraction_changes_the_record(photos, tmp_path):
    """Extracting from the collection's own ImageData wrote 256-px thumbnails over the photos; a picture already
    in ImageData (the release's) was re-encoded; features extracted again, of the same size and ends, kept the
    caches keyed by them."""
    import json
    from PIL import Image
    from w2vv.fingerprint import sources
    root = tmp_path / "root"
    thumbs = root / "c" / "ImageData"
    for source in (thumbs, thumbs.parent):
        source.mkdir(parents=True, exist_ok=True)
        _save(str(thumbs / "own.jpg"), (5, 6, 7), size=(600, 300))
        before = (thumbs / "own.jpg").read_bytes()
        with pytest.raises(InputError, match=r"the collection's thumbnails are written into .*: the photos would be "
                                             r"replaced by thumbnails"):
            extract_features(str(source), str(root), "c", cnn="mobilenetv3small", weights="none", log=lambda m: None)
        assert (thumbs / "own.jpg").read_bytes() == before
    _save(str(thumbs / "img0.jpg"), (1, 2, 3), size=(600, 300))  # a picture of the root's own, of a photo's id
    kept = (thumbs / "img0.jpg").read_bytes()
    summary = extract_features(str(photos), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                               log=lambda m: None)
    assert (thumbs / "img0.jpg").read_bytes() == kept
    with Image.open(thumbs / "img1.jpg") as thumb:
        assert max(thumb.size) <= THUMBNAIL_SIZE
    record = json.loads(open(os.path.join(summary["feature_dir"], "extraction.json")).read())
    keyed = sources([summary["feature_dir"]], tmp_path)
    assert len(record["content"]) == 40 and any(name.endswith("extraction.json") for name in keyed)
    _save(str(photos / "img2.jpg"), (200, 10, 10))  # one photo edited: the same count, another feature
    extract_features(str(photos), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                     overwrite=True, log=lambda m: None)
    assert sources([summary["feature_dir"]], tmp_path) != keyed
    assert os.path.getsize(thumbs / "img2.jpg") != 0 and (thumbs / "img0.jpg").read_bytes() == kept
    os.remove(photos / "img3.jpg")  # a photo deleted: its thumbnail goes, a picture of the root's own stays
    extract_features(str(photos), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                     overwrite=True, log=lambda m: None)
    assert not (thumbs / "img3.jpg").exists() and (thumbs / "own.jpg").exists() and (thumbs / "img1.jpg").exists()


def test_a_collection_name_that_is_not_one_folder_of_the_root_is_refused(photos, tmp_path):
    """``../escape`` wrote outside the root and crashed half-way; ``""`` wrote into the root itself."""
    root = tmp_path / "root"
    root.mkdir()
    for name in ("../escape", "", " ", "a/b", ".."):
        done = run_main("extract_features.py", photos, "--rootpath", root, "--collection", name, "--weights", "none")
        assert done.returncode == 2 and f"--collection {name!r}: a collection's name, one folder of the root" \
            in done.stderr, done.stderr
    assert list(root.iterdir()) == [] and not (tmp_path / "escape").exists()


def test_a_weights_file_is_known_by_its_content_not_its_path(tmp_path):
    """The same file named by a relative path was refused as 'one name, two networks'; another file copied over
    the same path (a network fine-tuned since) passed for the first."""
    from w2vv.features import _weights_id
    (tmp_path / "a").mkdir()
    first = tmp_path / "a" / "net.weights.h5"
    first.write_bytes(b"weights A")
    same = os.path.relpath(first)
    assert _weights_id(str(first)) == _weights_id(same) and _weights_id("imagenet") == "imagenet"
    before = _weights_id(str(first))
    first.write_bytes(b"weights B")
    assert _weights_id(str(first)) != before


@pytest.mark.slow
def test_a_collection_holds_the_features_of_one_set_of_images(photos, tmp_path):
    """Another feature of other images extracted into the same collection replaced its image list and its
    thumbnails, while the first features stayed: a search of them showed the other photos."""
    root = tmp_path / "root"
    first = extract_features(str(photos), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                             log=lambda m: None)
    other = tmp_path / "other"
    _save(str(other / "img0.jpg"), (255, 0, 0))
    with pytest.raises(InputError, match=rf"^{first['feature_dir']}: the collection already holds features of other "
                                         r"images \(6 of its images are not among these, 0 of these not among its: "
                                         r"photos added or removed since\?\); extract these into a collection of their "
                                         r"own \(--collection NAME\), or move that folder away first and extract it "
                                         r"again after this one$"):
        extract_features(str(other), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE,
                         feature="alt", log=lambda m: None)
    assert len(imageset_of(str(root), "c")) == len(READABLE)
    import shutil
    moved = shutil.copytree(photos, tmp_path / "moved")  # the same images elsewhere, another setting: one list still
    extract_features(str(moved), str(root), "c", cnn="mobilenetv3small", weights="none", image_size=SIZE + 8,
                     feature="alt", log=lambda m: None)


def _record(feature_dir):
    import json
    with open(os.path.join(feature_dir, "extraction.json"), encoding="utf-8") as f:
        return json.load(f)


def _rewrite_record(feature_dir, drop=(), **fields):
    import json
    record = {k: v for k, v in dict(_record(feature_dir), **fields).items() if k not in drop}
    with open(os.path.join(feature_dir, "extraction.json"), "w", encoding="utf-8") as f:
        json.dump(record, f)


def _check_gallery(root, gallery_dir, feature="f"):
    """Search's check that a gallery comes from the network of the model's training features (those of
    mscoco2014dev: a model folder without a run record)."""
    from types import SimpleNamespace
    from w2vv.retrieval.searcher import _require_same_network
    model = SimpleNamespace(root=str(root), cfg=SimpleNamespace(img_feature=feature), folder=str(root / "model"))
    _require_same_network(model, os.path.normpath(os.path.abspath(gallery_dir)))


def test_the_networks_own_input_size_given_is_the_default(photos, tmp_path):
    """``--image_size 224`` for ResNet recorded 224 where the default recorded None: the run again was refused as
    'other settings', and search refused the gallery as 'one name, two networks'."""
    root = tmp_path / "root"
    kwargs = dict(cnn="mobilenetv3small", weights="none", feature="f", log=lambda m: None, progress=False)
    trained = extract_features(str(photos), str(root), "mscoco2014dev", **kwargs)["feature_dir"]
    assert _record(trained)["image_size"] == 224
    said = []
    extract_features(str(photos), str(root), "mscoco2014dev", **dict(kwargs, image_size=224, log=said.append))
    assert said == [f"features already extracted, skipped (--overwrite to extract them again): {trained}"]
    gallery = extract_features(str(photos), str(root), "mine", image_size=224, **kwargs)["feature_dir"]
    _check_gallery(root, gallery)
    _rewrite_record(trained, image_size=None)  # a record written before the size used was: the network's own
    extract_features(str(photos), str(root), "mscoco2014dev", **dict(kwargs, image_size=224))
    _check_gallery(root, gallery)
    _rewrite_record(gallery, image_size=SIZE)
    with pytest.raises(InputError, match=r"one name, two networks"):
        _check_gallery(root, gallery)


def test_a_large_weights_file_is_known_by_its_whole_content_not_its_name(tmp_path):
    """A weights file over 64 MiB was known by its first and last MiB, and by its name."""
    import shutil
    from w2vv.features import _weights_id
    from w2vv.fingerprint import WHOLE_FILE
    big = tmp_path / "a.weights.h5"
    with open(big, "wb") as f:
        f.truncate(WHOLE_FILE + (3 << 20))
    before = _weights_id(str(big))
    with open(big, "r+b") as f:
        f.seek(WHOLE_FILE // 2)
        f.write(b"\1")
    changed = _weights_id(str(big))
    assert changed != before
    assert _weights_id(str(shutil.copyfile(big, tmp_path / "b.weights.h5"))) == changed


@pytest.mark.slow
def test_a_weights_file_changed_in_its_middle_is_another_network_and_a_copy_the_same(photos, weights_file, tmp_path):
    """ResNet50's weights (94 MB) with a layer changed in the middle of the file passed for the ones extracted with
    ('already extracted, skipped'); the same file copied under another name was refused by search as 'one name, two
    networks'. Records written before, of a file's name and ends, still count as the same network."""
    import shutil
    from w2vv.features import _weights_id
    from w2vv.fingerprint import WHOLE_FILE, file_fingerprint
    path, _ = weights_file
    root, size = tmp_path / "root", os.path.getsize(path)
    assert size > WHOLE_FILE
    kwargs = dict(cnn="resnet50", image_size=SIZE, feature="f", progress=False)
    trained = extract_features(str(photos), str(root), "mscoco2014dev", weights=path, log=lambda m: None,
                               **kwargs)["feature_dir"]
    copy = str(shutil.copyfile(path, tmp_path / "copy.weights.h5"))
    gallery = extract_features(str(photos), str(root), "mine", weights=copy, log=lambda m: None,
                               **kwargs)["feature_dir"]
    _check_gallery(root, gallery)
    said = []
    extract_features(str(photos), str(root), "mscoco2014dev", weights=copy, log=said.append, **kwargs)
    assert said == [f"features already extracted, skipped (--overwrite to extract them again): {trained}"]
    from w2vv.features import _plans, list_images
    as_given = _plans(list_images(str(photos)), str(photos), "resnet50", "none", SIZE, None)[1]["images"]
    _rewrite_record(trained, weights=file_fingerprint(path), images=as_given, drop=["weights_sampled"])  # of before
    extract_features(str(photos), str(root), "mscoco2014dev", weights=copy, log=said.append, **kwargs)
    assert said[1:] == said[:1]
    _check_gallery(root, gallery)
    with open(copy, "r+b") as f:  # one weight changed, far from the file's ends
        f.seek(size // 2)
        byte = f.read(1)
        f.seek(size // 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(InputError, match=r"features already extracted with other weights \(--overwrite"):
        extract_features(str(photos), str(root), "mine", weights=copy, log=lambda m: None, **kwargs)
    _rewrite_record(gallery, weights=_weights_id(copy), weights_sampled=None)  # no fingerprint of before
    sha = _weights_id(copy)[-40:]
    with pytest.raises(InputError, match=rf"{gallery}: extracted with resnet50 \(a weights file of {size} bytes, "
                                         rf"SHA-1 {sha}, 32x32 input\), but the features .* are extracted with "
                                         rf"resnet50 \(a weights file of {size} bytes, SHA-1 [0-9a-f]{{16}} \(of its "
                                         r"ends\), 32x32 input\): one name, two"):  # a record of before, told so
        _check_gallery(root, gallery)


def test_the_image_folder_is_known_by_what_it_holds_not_by_how_it_is_given(photos, tmp_path):
    """The same folder given as ``./photos``, through a link or moved since was 'extracted from other images or with
    other settings': finished features refused, an interrupted run's chunks deleted. Records of before, of the paths
    as given, are still accepted where given so again; a refusal says what differs."""
    import shutil
    root, said = tmp_path / "root", []
    kwargs = dict(cnn="mobilenetv3small", weights="none", image_size=SIZE, log=said.append, progress=False)
    done = extract_features(str(photos), str(root), "c", **kwargs)["feature_dir"]
    os.symlink(photos, tmp_path / "link")
    moved = shutil.move(str(photos), str(tmp_path / "moved"))
    for spelled in (moved, os.path.relpath(moved), str(tmp_path / "moved") + "/", str(tmp_path / "link")):
        if spelled.endswith("link"):
            os.remove(tmp_path / "link")
            os.symlink(moved, tmp_path / "link")
        said.clear()
        extract_features(spelled, str(root), "c", **kwargs)
        assert said == [f"features already extracted, skipped (--overwrite to extract them again): {done}"], spelled
    with pytest.raises(InputError, match=r"features already extracted from another list of images \(their ids, or "
                                         r"their paths within the image folder\) \(--overwrite"):
        extract_features(os.path.join(moved, "holiday"), str(root), "c", **kwargs)

    with chunks_saved(stop_after=1), pytest.raises(Stop):  # interrupted, continued from the folder given otherwise
        extract_features(moved, str(root), "c", **dict(kwargs, chunk_images=2, overwrite=True))
    said.clear()
    extract_features(str(tmp_path / "link"), str(root), "c", **dict(kwargs, chunk_images=2, overwrite=True))
    assert any(line.startswith("resuming: 1 of 4 chunks already done") for line in said), said
    assert not any("starting over" in line for line in said), said


def test_records_of_the_paths_as_given_are_accepted_where_given_so_again(photos, tmp_path):
    """extraction.json and plan.json written before images were recorded by their paths within the folder."""
    import json
    from w2vv.features import _plans, list_images
    root = tmp_path / "root"
    kwargs = dict(cnn="mobilenetv3small", weights="none", image_size=SIZE, log=lambda m: None, progress=False)
    done = extract_features(str(photos), str(root), "c", **kwargs)["feature_dir"]
    images = list_images(str(photos))
    former = _plans(images, str(photos), "mobilenetv3small", "none", SIZE, 2)[1]
    _rewrite_record(done, images=former["images"])  # as written before: the paths as given
    said = []
    extract_features(str(photos), str(root), "c", **dict(kwargs, log=said.append))
    assert said == [f"features already extracted, skipped (--overwrite to extract them again): {done}"]
    with pytest.raises(InputError, match=r"from another list of images"):
        extract_features(os.path.relpath(photos), str(root), "c", **kwargs)   # a record of before: as given
    parts = done + PARTS_SUFFIX
    os.makedirs(parts)
    with open(os.path.join(parts, "plan.json"), "w", encoding="utf-8") as f:
        json.dump(former, f)
    np.savez(os.path.join(parts, "chunk_000000.npz"), ids=np.array(["img0"]), vectors=np.zeros((1, 576), np.float32),
             skipped=np.array([], dtype=str))
    said.clear()
    extract_features(str(photos), str(root), "c", **dict(kwargs, chunk_images=2, log=said.append))
    assert any(line.startswith("resuming: 1 of 4 chunks already done") for line in said), said


def test_a_run_left_with_other_settings_says_which_and_starts_over(photos, tmp_path):
    root, said = tmp_path / "root", []
    kwargs = dict(cnn="mobilenetv3small", weights="none", chunk_images=2, log=said.append, progress=False)

    with chunks_saved(stop_after=1, error=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        extract_features(str(photos), str(root), "c", image_size=SIZE, **kwargs)
    said.clear()
    extract_features(str(photos), str(root), "c", image_size=SIZE + 8, **kwargs)
    parts = layout.feature_dir(str(root), "mobilenetv3small_none_avgpool", "c") + PARTS_SUFFIX
    assert said[0] == f"{parts}: left by a run with another input size; starting over"


def test_a_feature_of_photos_replaced_since_another_feature_was_extracted_is_refused(photos, tmp_path):
    """A second network's features extracted after a photo was replaced under its name wrote the new photo's
    thumbnail, which the first feature's results showed for the old photo it ranks."""
    root, said = tmp_path / "root", []
    kwargs = dict(cnn="mobilenetv3small", weights="none", image_size=SIZE, log=said.append, progress=False)
    first = extract_features(str(photos), str(root), "c", feature="a", **kwargs)["feature_dir"]
    thumb = root / "c" / "ImageData" / "img1.jpg"
    before = thumb.read_bytes()
    _save(str(photos / "img1.jpg"), (0, 0, 255))  # another photo under the same name
    with pytest.raises(InputError, match=rf"^{first}: extracted from image files that differ from these \(one "
                                         r"replaced under its name, edited, or copied without its times\): .* extract "
                                         r"that feature again first \(--overwrite\), or put these photos into a "
                                         r"collection of their own"):
        extract_features(str(photos), str(root), "c", feature="b", **kwargs)
    assert thumb.read_bytes() == before and sorted(os.listdir(os.path.dirname(first))) == ["a"]
    extract_features(str(photos), str(root), "c", feature="a", overwrite=True, **kwargs)
    assert thumb.read_bytes() != before
    extract_features(str(photos), str(root), "c", feature="b", **kwargs)
    os.utime(photos / "img2.jpg", ns=(1, 1))  # both features of the files before: extracted again one by one
    said.clear()
    extract_features(str(photos), str(root), "c", feature="b", overwrite=True, **kwargs)
    assert f"warning: {first}: extracted from the image files as they were before: extract it again too " \
        "(--overwrite)" in said[0]
    os.utime(photos / "img3.jpg", ns=(2, 2))  # changed again before a was: each refused the other for good
    extract_features(str(photos), str(root), "c", feature="a", overwrite=True, **kwargs)
    extract_features(str(photos), str(root), "c", feature="b", overwrite=True, **kwargs)


def test_features_there_without_their_record_are_not_said_to_be_of_another_network(photos, tmp_path):
    """A feature folder without a readable extraction.json was refused as 'extracted with another network, another
    input size, other weights'."""
    root = tmp_path / "root"
    kwargs = dict(cnn="mobilenetv3small", weights="none", image_size=SIZE, log=lambda m: None, progress=False)
    folder = extract_features(str(photos), str(root), "c", feature="a", **kwargs)["feature_dir"]
    for record in ("[]", "{}"):
        with open(os.path.join(folder, "extraction.json"), "w", encoding="utf-8") as f:
            f.write(record)
        with pytest.raises(InputError, match=rf"^{folder}: features there, but not recorded by extract_features \(no "
                                             r"readable extraction.json\): --overwrite to extract them again, or "
                                             r"another --feature name$"):
            extract_features(str(photos), str(root), "c", feature="a", **kwargs)


def test_a_gallery_record_that_does_not_say_its_network_is_not_taken_for_the_releases(photos, tmp_path):
    """A gallery's extraction.json without its cnn or weights (edited by hand) skipped search's network check."""
    root = tmp_path / "root"
    kwargs = dict(cnn="mobilenetv3small", weights="none", feature="f", log=lambda m: None, progress=False)
    extract_features(str(photos), str(root), "mscoco2014dev", image_size=SIZE, **kwargs)
    gallery = extract_features(str(photos), str(root), "mine", image_size=SIZE + 8, **kwargs)["feature_dir"]
    with pytest.raises(InputError, match="one name, two networks"):
        _check_gallery(root, gallery)
    for record in ("{}", "[]", '{"cnn": "mobilenetv3small"}'):
        with open(os.path.join(gallery, "extraction.json"), "w", encoding="utf-8") as f:
            f.write(record)
        with pytest.raises(InputError, match=r"extraction.json: does not say which network the features were "
                                             r"extracted with \(its cnn, weights and image_size\): extract them "
                                             r"again"):
            _check_gallery(root, gallery)


def test_photos_in_a_linked_folder_are_found_once_and_a_cycle_of_links_ends(tmp_path):
    """os.walk did not follow a linked folder: its photos were left out without a word."""
    from w2vv.features import list_images
    folder, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    _save(str(folder / "a.jpg"), (1, 2, 3))
    _save(str(elsewhere / "b.jpg"), (4, 5, 6))
    _save(str(elsewhere / "deep" / "c.png"), (7, 8, 9))
    os.symlink(elsewhere, folder / "linked")
    os.symlink(elsewhere, folder / "again")           # the same folder twice: its photos once
    os.symlink(folder, elsewhere / "deep" / "back")   # a cycle
    found = list_images(str(folder))
    assert [image_id for image_id, _ in found] == ["a", "b", "c"]
    assert found[2][1] == str(folder / "again" / "deep" / "c.png")
    thumbnails = tmp_path / "root" / "c" / "ImageData"  # a link to the root: its thumbnails are not photos
    _save(str(thumbnails / "a.jpg"), (1, 2, 3))
    os.symlink(tmp_path / "root", folder / "root")
    assert list_images(str(folder), thumbnails=str(thumbnails)) == found


def test_a_folder_that_cannot_be_listed_is_left_out_with_a_warning_naming_it(tmp_path, monkeypatch):
    """os.walk skipped a subfolder it could not read (no permission) without a word: its photos were missing from
    the feature. Refusing it refused an image disk for its lost+found, which no user can read or move."""
    from w2vv.features import list_images
    folder = tmp_path / "photos"
    _save(str(folder / "a.jpg"), (1, 2, 3))
    _save(str(folder / "lost+found" / "b.jpg"), (4, 5, 6))
    scandir = os.scandir

    def denied(path="."):  # as for a folder of mode 700 of another user (the tests may run as root)
        if os.fspath(path) == str(folder / "lost+found"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)
    monkeypatch.setattr(os, "scandir", denied)
    lines = []
    assert [image_id for image_id, _ in list_images(str(folder), log=lines.append)] == ["a"]
    assert lines == [f"warning: 1 folder(s) under {folder} cannot be listed, their images left out: "
                     f"{folder / 'lost+found'} (Permission denied) (make them readable and extract again to include "
                     f"them)"]


def test_a_feature_name_that_is_not_one_folder_of_featuredata_is_refused(photos, tmp_path):
    """``--feature ../evil`` wrote outside FeatureData; ``--feature "a b"`` was accepted."""
    root = tmp_path / "root"
    root.mkdir()
    for name in ("../evil", "a b", "", ".", "..", "a/b", "x.parts"):
        done = run_main("extract_features.py", photos, "--rootpath", root, "--collection", "c", "--weights", "none",
                        "--feature", name)
        assert done.returncode == 2 and f"--feature {name!r}: a feature's name, one folder of FeatureData" \
            in done.stderr, done.stderr
    with pytest.raises(InputError, match=r"^feature '../evil': a feature's name, one folder of FeatureData"):
        extract_features(str(photos), str(root), "c", weights="none", feature="../evil", log=lambda m: None)
    assert list(root.iterdir()) == [] and not (tmp_path / "evil").exists()


def test_every_duplicated_id_is_counted_and_the_first_named(tmp_path):
    """Only the first duplicate was named: a camera's numbers reused in two folders took a run per file to fix."""
    from w2vv.features import list_images
    cam = tmp_path / "cam"
    for folder, n in (("a", 7), ("b", 7), ("c", 1)):
        for i in range(1, n + 1):
            _save(str(cam / folder / f"IMG_{i:04d}.jpg"), (1, 2, 3), size=(4, 4))
    with pytest.raises(InputError) as refused:
        list_images(str(cam))
    message, first = str(refused.value), cam / "a" / "IMG_0001.jpg"
    assert message == (f"{cam / 'b' / 'IMG_0001.jpg'}: duplicate image id 'IMG_0001' (also {first}, "
                       f"{cam / 'c' / 'IMG_0001.jpg'}); 7 ids are duplicated, the first 5: "
                       + "; ".join(f"'IMG_{i:04d}' ({cam / 'a' / f'IMG_{i:04d}.jpg'}, {cam / 'b' / f'IMG_{i:04d}.jpg'}"
                                   + (f", {cam / 'c' / 'IMG_0001.jpg'})" if i == 1 else ")") for i in range(1, 6))
                       + "; …; ids are file names without extension, so rename all but one file of each")
