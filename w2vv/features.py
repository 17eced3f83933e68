"""CNN features of your own pictures, with a network of ``keras.applications``.

``extract_features`` runs the network (ResNet-152 by default: 2,048-d, the size of the paper's
features) over every image file of a folder, recursively, and writes a collection of the layout:

- ``<root>/<collection>/FeatureData/<feature>/``: a BigFile of the globally average-pooled
  last convolutional features, one row per readable image (id: the file name without extension);
- ``<root>/<collection>/ImageSets/<collection>.txt``: those ids;
- ``<root>/<collection>/ImageData/<id>.jpg``: thumbnails (256 px at most) for the search page;
- ``<feature>/skipped.txt``: the files that could not be read (``path<TAB>reason``).

Each image is resized to the network's input size and passed through that network's own
``preprocess_input`` (the preprocessing its ImageNet weights were trained with). Work is done in
chunks saved in ``<feature>.parts/`` beside the BigFile, so an interrupted run continues at the
first missing chunk; the BigFile is written at the end, whole (atomically), and the chunks removed.
"""
import hashlib
import json
import os
import re
import sys
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import layout
from .atomic import atomic_open, atomic_path, write_text
from .bigfile import BigFile, write_bigfile
from .errors import InputError
from .fingerprint import EXTRACTION_FILE, content_of, content_sha1, file_fingerprint  # EXTRACTION_FILE: its record
from .textfile import read_lines, read_text

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif",
                    ".heic", ".heif")  # those Pillow cannot read (HEIC) are skipped and listed, not left out unsaid
MAX_PIXELS = 300_000_000  # Pillow's bomb check for a file of one's own: a 200-megapixel photo is a photo
MAX_INPUT_SIZE = 2048     # --image_size: keras.applications' largest is 600; far larger sizes take the memory
DEFAULT_CNN = "resnet152"
DEFAULT_SIZE = 224
INPUT_SIZES = {  # the input size each network was trained at on ImageNet (others: 224)
    "inceptionv3": 299, "xception": 299, "inceptionresnetv2": 299, "nasnetlarge": 331,
    "efficientnetb1": 240, "efficientnetb2": 260, "efficientnetb3": 300, "efficientnetb4": 380,
    "efficientnetb5": 456, "efficientnetb6": 528, "efficientnetb7": 600, "efficientnetv2b1": 240,
    "efficientnetv2b2": 260, "efficientnetv2b3": 300, "efficientnetv2s": 384, "efficientnetv2m": 480,
    "efficientnetv2l": 480,
}
THUMBNAIL_SIZE = 256
THUMBNAIL_MARK = b"w2vv extract_features thumbnail"  # the JPEG comment of a thumbnail the extractor wrote
CHUNK_IMAGES = 512       # images per saved chunk of work
PARTS_SUFFIX = ".parts"
SKIPPED_FILE = "skipped.txt"


def load_network(cnn, weights, image_size=None):
    """(model, preprocess_input, input size) of a ``keras.applications`` network by name
    (case-insensitive: ``resnet152``, ``mobilenetv3small`` …), without its classifier, average-pooled.
    ``weights``: ``imagenet`` (Keras downloads and caches them), ``none`` (random), or a weights file."""
    import keras
    classes = {name.lower(): name for name in dir(keras.applications) if name[:1].isupper()}
    key = _network_key(cnn)
    if key not in classes:
        raise InputError(f"--cnn {cnn}: not a network of keras.applications "
                         f"(one of: {', '.join(sorted(classes))})")
    constructor = getattr(keras.applications, classes[key])
    preprocess = getattr(keras.applications, constructor.__module__.rsplit(".", 1)[-1]).preprocess_input
    size = input_size(cnn, image_size)
    if weights not in ("imagenet", "none") and not os.path.isfile(weights):
        raise InputError(f"{weights}: weights file not found (or use --weights imagenet | none)")
    try:
        model = constructor(include_top=False, weights=None if weights == "none" else weights, pooling="avg",
                            input_shape=(size, size, 3))
    except ValueError as e:
        if "Input size must be" in str(e):  # keras.applications' own minimum (32, 75 for Inception …)
            raise InputError(f"--image_size {size}: too small for {classes[key]} ({str(e).splitlines()[0][:200]})") \
                from None
        raise InputError(f"{weights}: cannot load these weights into {classes[key]} without its classifier "
                         f"({str(e).splitlines()[0][:200]})") from None
    except OSError as e:  # an unreadable file
        raise InputError(f"{weights}: cannot read the {classes[key]} weights ({str(e).splitlines()[0][:200]})") \
            from None
    except Exception as e:  # keras.utils.get_file raises a bare Exception when the download fails
        if weights != "imagenet":
            raise
        raise InputError(f"imagenet: the {classes[key]} weights could not be downloaded "
                         f"({str(e).splitlines()[0][:200]}); copy the file into ~/.keras/models/ "
                         f"or give --weights FILE") from None
    return model, preprocess, size


def _network_key(cnn):
    return cnn.lower().replace("-", "").replace("_", "")


def input_size(cnn, image_size=None):
    """The input size an extraction with ``cnn`` uses: ``image_size``, or (None) the network's own (``INPUT_SIZES``,
    else ``DEFAULT_SIZE``), known without loading the network: ``--image_size 224`` is ResNet's default."""
    return int(image_size or INPUT_SIZES.get(_network_key(cnn), DEFAULT_SIZE))


def feature_name(cnn, weights):
    """``resnet152_imagenet_avgpool``; a weights file contributes its name without extension."""
    tag = weights if weights in ("imagenet", "none") else os.path.splitext(os.path.basename(weights))[0]
    clean = "".join(c if c.isalnum() or c in "-." else "_" for c in f"{_network_key(cnn)}_{tag}")
    return f"{clean}_avgpool"


def is_feature_name(name):
    """A feature's name is one folder of ``FeatureData``, named as a collection is (``layout.is_collection_name``:
    ``../x`` would write outside it, ``a b`` split in the shell), and not a feature's folder of chunks."""
    return layout.is_collection_name(name) and not name.endswith(PARTS_SUFFIX)


FEATURE_NAME_RULE = "one folder of FeatureData (letters, digits, _ . , + -, not ending in .parts)"


def list_images(image_dir, thumbnails=None, log=print):
    """[(id, path)] of the image files under ``image_dir`` (recursively, sorted by path, into linked folders: a
    folder met again, through a link or a cycle of links, is left out, and so is the collection's ``thumbnails``
    folder, reached through a link); the id is the file name without extension, and must be unique and free of
    white space. A folder that cannot be listed (no permission: a disk's ``lost+found``) is left out with a warning
    naming it: its photos, if any, are not in the feature."""
    if not os.path.isdir(image_dir):
        raise InputError(f"{image_dir}: image folder not found")
    found, visited, unreadable = [], set(), []
    thumbnails = os.path.realpath(thumbnails) if thumbnails else None
    for folder, subfolders, files in os.walk(image_dir, onerror=unreadable.append, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited or (thumbnails and os.path.commonpath([real, thumbnails]) == thumbnails):
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders.sort()
        found += [os.path.join(folder, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
    seen = {}
    for path in found:
        image_id = os.path.splitext(os.path.basename(path))[0]
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # a name of another encoding (a GBK zip archive unpacked): ids are UTF-8 text
            shown = os.fsencode(path).decode("utf-8", "backslashreplace")
            raise InputError(f"{shown}: the path is not UTF-8 text (unpacked from an archive of another "
                             f"encoding?); rename what is not") from None
        if not image_id or any(c.isspace() for c in image_id):
            raise InputError(f"{path}: an image id (the file name without extension) cannot contain white space; "
                             f"rename the file")
        seen.setdefault(image_id, []).append(path)
    _refuse_duplicates([(image_id, paths) for image_id, paths in seen.items() if len(paths) > 1])
    if unreadable:
        log(f"warning: {len(unreadable)} folder(s) under {image_dir} cannot be listed, their images left out: "
            + "; ".join(f"{e.filename} ({e.strerror})" for e in unreadable[:3]) + ("; …" if len(unreadable) > 3 else "")
            + " (make them readable and extract again to include them)")
    if not found:
        raise InputError(f"{image_dir}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return [(os.path.splitext(os.path.basename(p))[0], p) for p in found]


def _refuse_duplicates(duplicated, shown=5):
    """InputError naming the first ids of ``duplicated`` ([(id, its paths)]) and how many there are: a camera
    folder's numbers reused in another folder are renamed in one go, not one run each."""
    if not duplicated:
        return
    image_id, paths = duplicated[0]
    more = "" if len(duplicated) == 1 else (
        f"; {len(duplicated)} ids are duplicated, the first {min(shown, len(duplicated))}: "
        + "; ".join(f"{i!r} ({', '.join(ps)})" for i, ps in duplicated[:shown])
        + ("; …" if len(duplicated) > shown else ""))
    raise InputError(f"{paths[1]}: duplicate image id {image_id!r} (also {', '.join([paths[0]] + paths[2:])}){more}; "
                     f"ids are file names without extension, so rename all but one file of each")


def read_image(path, size, thumbnail_path=None):
    """The image as an RGB (size × size × 3) float32 array, resized without cropping; its thumbnail
    is written on the way. Raises OSError (or ValueError) for an unreadable or truncated file."""
    from PIL import Image, ImageOps
    with Image.open(path) as image:
        image.load()  # a truncated file fails here
        image = _eight_bits(ImageOps.exif_transpose(image)).convert("RGB")
    if thumbnail_path is not None and _may_write_thumbnail(thumbnail_path):
        thumb = image.copy()
        thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        with atomic_path(thumbnail_path) as tmp:
            thumb.save(tmp, format="JPEG", quality=85, comment=THUMBNAIL_MARK)
    return np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float32)


def _eight_bits(image):
    """``image`` with 8 bits a channel: a 16- or 32-bit integer image (a scan, a RAW export) scaled from 16 bits (8
    where its values fit them), a float one from [0, 1] (or 255, or its own peak above); Pillow's ``convert``
    would clip the values, the picture nearly white or black."""
    from PIL import Image
    if image.mode not in ("I", "F") and not image.mode.startswith("I;16"):
        return image
    values = np.asarray(image, dtype=np.float64)
    peak = float(values.max(initial=0.0))
    if image.mode == "F":
        top = 1.0 if peak <= 1.0 else max(peak, 255.0)
    else:
        top = 65535.0 if image.mode.startswith("I;16") or peak > 255 else 255.0
    return Image.fromarray(np.clip(np.round(values / top * 255), 0, 255).astype(np.uint8), "L")


def _may_write_thumbnail(path):
    """True where no picture is, or the one there is a thumbnail this extractor wrote (its JPEG comment): a
    picture of the root's own (the release's, a user's) is never replaced by a thumbnail."""
    from PIL import Image
    if not os.path.exists(path):
        return True
    try:
        with Image.open(path) as image:
            return image.info.get("comment") == THUMBNAIL_MARK
    except (OSError, ValueError):
        return False


def _read_or_reason(path, size, thumbnail_path):
    from PIL import Image
    try:
        return read_image(path, size, thumbnail_path), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]


class _Parts:
    """The chunks of an extraction in progress: ``chunk_<i>.npz`` (ids, vectors, skipped files)
    and ``plan.json``, which says what they were made from (a different plan starts over)."""

    def __init__(self, folder, plans, log):
        self.folder = folder
        plan_path = os.path.join(folder, "plan.json")
        try:
            with open(plan_path, encoding="utf-8") as f:
                differs = _difference(_as_now(json.load(f)), plans)
        except (OSError, ValueError, AttributeError):
            differs = "whose plan.json cannot be read"
        if differs and os.path.isdir(folder):
            log(f"{folder}: left by a run {differs}; starting over")
            shutil.rmtree(folder)
        os.makedirs(folder, exist_ok=True)
        if differs:
            write_text(plan_path, json.dumps(plans[0]) + "\n")

    def path(self, i):
        return os.path.join(self.folder, f"chunk_{i:06d}.npz")

    def done(self, i):
        return os.path.isfile(self.path(i))

    def save(self, i, ids, vectors, skipped):
        with atomic_open(self.path(i), "wb") as f:
            np.savez(f, ids=np.array(ids, dtype=str), vectors=vectors,
                     skipped=np.array([f"{p}\t{r}" for p, r in skipped], dtype=str))

    def load(self, i):
        with np.load(self.path(i)) as data:
            return list(data["ids"]), data["vectors"], [tuple(s.split("\t", 1)) for s in data["skipped"]]


def _plans(images, image_dir, cnn, weights, size, chunk_images):
    """What an extraction is made from, as this version records it, then as a record written before may have (the
    same extraction, accepted): the network, its settings, the images by id and path within ``image_dir`` (not
    where that folder is, or how it is spelled: ``./photos``, a link, a folder moved since), and their files by
    size and modification time (a photo replaced under its name). A weights file is known by its content
    (``_weights_id``) and also by its fingerprint of the records written before (``weights_sampled``:
    ``file_fingerprint``, without the name), which is all they have to be compared by; those records have the
    images by their paths as given (accepted when given so again)."""
    def digest(lines):
        return hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest()

    def stat(path):  # a file not readable (a dangling link) is skipped when read, and counted so
        try:
            st = os.stat(path)
            return f"{st.st_size}\t{st.st_mtime_ns}"
        except OSError:
            return "-"

    plan = dict(cnn=_network_key(cnn), weights=_weights_id(weights), image_size=size, chunk_images=chunk_images,
                images=digest(f"{i}\t{os.path.relpath(p, image_dir)}" for i, p in images),
                image_files=digest(stat(p) for _, p in images))
    if plan["weights"] != weights:  # a weights file
        plan["weights_sampled"] = content_of(file_fingerprint(weights))
    former = {k: v for k, v in plan.items() if k != "weights" or "weights_sampled" not in plan}
    return [plan, dict(former, images=digest(f"{i}\t{p}" for i, p in images))]


_PARTS = {"cnn": "another network", "weights": "other weights", "weights_sampled": "other weights",
          "image_size": "another input size", "chunk_images": "another chunk size",
          "images": "from another list of images (their ids, or their paths within the image folder)",
          "image_files": "from an image file changed since (its size or modification time: replaced, edited, or "
                         "copied without its times)"}


def _difference(recorded, plans):
    """None where ``recorded`` (an ``extraction.json`` or ``plan.json`` read, ``_as_now``) is one of ``plans``
    (``_plans``); else, in words, what differs from the closest: the network or its settings, else the list of
    images, else an image file."""
    if recorded in plans:
        return None
    keys = [sorted(k for k in set(recorded) | set(plan) if recorded.get(k) != plan.get(k)) for plan in plans]
    differ = min(keys, key=len)
    settings = list(dict.fromkeys(_PARTS.get(k, "other settings") for k in differ
                                  if k not in ("images", "image_files")))
    if settings:
        return "with " + ", ".join(settings)
    return _PARTS["images" if "images" in differ else "image_files"]


def _weights_id(weights):
    """``imagenet``, ``none``, or a weights file by its content, ``<size>:<SHA-1 of the whole file>``, not its name:
    the same file under another path or name is the same network, another file under the same path (a network
    fine-tuned since, a layer changed in the middle of a file of hundreds of MB) another one."""
    if weights in ("imagenet", "none") or not os.path.isfile(weights):
        return weights  # a file not there: load_network says so
    return f"{os.path.getsize(weights)}:{content_sha1(weights)}"


def weights_label(weights):
    """Recorded weights in words: ``imagenet weights``; a weights file by its size and SHA-1 (``_weights_id``), or,
    recorded by an earlier version, by its size and the SHA-1 of its ends."""
    file = re.fullmatch(r"([0-9]+):([0-9a-f]{40}|[0-9a-f]{16})", weights) if isinstance(weights, str) else None
    if not file:
        return f"{weights} weights"
    return f"a weights file of {file[1]} bytes, SHA-1 {file[2]}{' (of its ends)' if len(file[2]) == 16 else ''}"


def _is_former_weights(weights):
    """Whether a recorded ``weights`` is a ``file_fingerprint`` (``name:size:sha1`` of a file's first and last MiB
    beyond 64 MiB), as records had before weights files were hashed whole."""
    return isinstance(weights, str) and all(re.fullmatch(r".*:[0-9]+:[0-9a-f]{16}", part, re.S)
                                            for part in weights.split(";"))


def extract_features(image_dir, root, collection, cnn=DEFAULT_CNN, weights="imagenet", batch_size=32,
                     feature=None, image_size=None, chunk_images=CHUNK_IMAGES, overwrite=False, log=print,
                     progress=True):
    """Extract the features of every image under ``image_dir`` into ``<root>/<collection>``.
    Returns a summary dict (feature folder, counts, images/s)."""
    import keras
    from PIL import Image
    if Image.MAX_IMAGE_PIXELS is not None:  # None: no limit at all
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, MAX_PIXELS)
    if feature is not None and not is_feature_name(feature):
        raise InputError(f"feature {feature!r}: a feature's name, {FEATURE_NAME_RULE}")
    _require_no_sentences(root, collection)
    _require_apart(image_dir, layout.image_dir(root, collection))
    images = list_images(image_dir, thumbnails=layout.image_dir(root, collection), log=log)
    feature = feature or feature_name(cnn, weights)
    feature_dir = layout.feature_dir(root, feature, collection)
    parts_dir = feature_dir + PARTS_SUFFIX
    plans = _plans(images, image_dir, cnn, weights, input_size(cnn, image_size), chunk_images)
    records = [dict(plan, chunk_images=None) for plan in plans]  # extraction.json: whatever the chunks were
    _require_same_images(feature_dir, [image_id for image_id, _ in images])
    if os.path.isdir(feature_dir) and not os.path.isdir(parts_dir) and not overwrite:
        return _already_extracted(feature_dir, records, log)
    _require_same_image_files(feature_dir, plans[0]["image_files"], log)
    model, preprocess, size = load_network(cnn, weights, image_size)
    dim = int(model.output_shape[-1])
    parts = _Parts(parts_dir, plans, log)  # their image_size is the size load_network used (input_size)
    thumbs = layout.image_dir(root, collection)
    os.makedirs(thumbs, exist_ok=True)
    chunks = [images[i:i + chunk_images] for i in range(0, len(images), chunk_images)]
    todo = [i for i in range(len(chunks)) if not parts.done(i)]
    if len(todo) < len(chunks):
        log(f"resuming: {len(chunks) - len(todo)} of {len(chunks)} chunks already done in {parts_dir}")
    log(f"{len(images)} images under {image_dir}: {model.name}, {size}x{size} input, {dim}-d features")
    if weights == "none":
        log("warning: --weights none: a network of random weights, whose features are near zero and carry no "
            "meaning: for tests, not for search or training (--weights imagenet, or a weights file)")
    n_todo = sum(len(chunks[i]) for i in todo)
    # A progress bar on a terminal; into a pipe or a log file, a plain line per chunk (as training's per epoch).
    on_terminal = progress and sys.stdout.isatty()
    bar = keras.utils.Progbar(n_todo, unit_name="image", stateful_metrics=["images/s"],
                              verbose=1 if on_terminal else 0)
    started, done = time.perf_counter(), 0

    def batch_done(n_images):
        nonlocal done
        done += n_images
        bar.update(done, values=[("images/s", done / (time.perf_counter() - started))])

    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for i in todo:
            parts.save(i, *_extract_chunk(chunks[i], model, preprocess, size, thumbs, batch_size, pool, batch_done))
            if progress and not on_terminal:
                log(f"chunk {i + 1} of {len(chunks)}: {done} of {n_todo} images, "
                    f"{done / max(time.perf_counter() - started, 1e-9):.1f} images/s")
    seconds = time.perf_counter() - started
    summary = _finish(parts, len(chunks), feature_dir, root, collection, dim, log,
                      dict(images_per_s=n_todo / seconds if n_todo and seconds > 0 else None))
    write_text(os.path.join(feature_dir, EXTRACTION_FILE), json.dumps(dict(records[0], content=_content(feature_dir)))
               + "\n")
    return summary


def _content(feature_dir):
    """The SHA-1 of the features written, whole: ``extraction.json`` records it, so that features extracted again
    (one photo changed in a gallery of gigabytes, which a fingerprint of a file's ends would not see) change the
    record every cache of them is keyed by (``fingerprint.sources``)."""
    return content_sha1(os.path.join(feature_dir, "feature.bin"))


def _prune_thumbnails(thumbs, ids):
    """Remove the thumbnails this extractor wrote (``_may_write_thumbnail``'s mark) of images no longer in the
    collection: a photo deleted since, or one that could not be read this time, would still be served."""
    for name in os.listdir(thumbs) if os.path.isdir(thumbs) else []:
        path = os.path.join(thumbs, name)
        stem, ext = os.path.splitext(name)
        if ext == ".jpg" and stem not in ids and os.path.isfile(path) and _may_write_thumbnail(path):
            os.remove(path)


def _require_apart(image_dir, thumbs):
    """InputError when the images are the collection's thumbnail folder, or one holds the other: the thumbnails
    would be written over the photos, or among them (and read as images the next time)."""
    images, thumbs = os.path.realpath(image_dir), os.path.realpath(thumbs)
    if os.path.commonpath([images, thumbs]) in (images, thumbs):
        raise InputError(f"{image_dir}: the collection's thumbnails are written into {thumbs}, "
                         f"{'the same folder' if images == thumbs else 'which holds or is held by it'}: the photos "
                         f"would be replaced by thumbnails; extract from a folder outside it (or into another "
                         f"--collection)")


def _require_same_images(feature_dir, image_ids):
    """InputError when another feature folder of the collection (one ``extract_features`` wrote) holds features of
    other images than ``image_ids`` (by id, wherever the files are): the collection's one image list and its
    thumbnails would become these, beside the features of the others (a search of those would show these
    pictures)."""
    features, ids = os.path.dirname(feature_dir), set(image_ids)
    for name in sorted(os.listdir(features)) if os.path.isdir(features) else []:
        other = os.path.join(features, name)
        if other == feature_dir or _extraction_record(other) is None:
            continue
        theirs = set(read_text(os.path.join(other, "id.txt"), "id file").split())
        skipped = len(read_lines(os.path.join(other, SKIPPED_FILE), "list of skipped images")) \
            if os.path.isfile(os.path.join(other, SKIPPED_FILE)) else 0
        if not theirs <= ids or len(ids) - len(theirs) > skipped:
            raise InputError(f"{other}: the collection already holds features of other images ({len(theirs - ids)} "
                             f"of its images are not among these, {len(ids - theirs)} of these not among its: photos "
                             f"added or removed since?); extract these into a collection of their own (--collection "
                             f"NAME), or move that folder away first and extract it again after this one")


def _require_same_image_files(feature_dir, image_files, log):
    """InputError when another feature folder of the collection was extracted from other image files than
    ``image_files`` (``_plans``' digest of their sizes and times; a record without it: ``_require_same_images``
    compares ids alone): a photo replaced under its name since, whose thumbnail, shared by the collection's
    features, would become the new photo beside that folder's features of the old one. Where this feature was
    extracted before (the features of a collection extracted again one by one), the others are named, not
    refused."""
    features = os.path.dirname(feature_dir)
    own = (_extraction_record(feature_dir) or {}).get("image_files")
    for name in sorted(os.listdir(features)) if os.path.isdir(features) else []:
        other = os.path.join(features, name)
        theirs = (_extraction_record(other) or {}).get("image_files") if other != feature_dir else None
        if theirs is None or theirs == image_files:
            continue
        if own is not None:  # a feature of the collection extracted again: refusing would leave both stale for good
            log(f"warning: {other}: extracted from the image files as they were before: extract it again too "
                f"(--overwrite), since the collection's thumbnails become the files' as they are now")
            continue
        raise InputError(f"{other}: extracted from image files that differ from these (one replaced under its "
                         f"name, edited, or copied without its times): the collection's thumbnails, the new files', "
                         f"would be shown for that folder's features of the old; extract that feature again first "
                         f"(--overwrite), or put these photos into a collection of their own (--collection NAME)")


def _require_no_sentences(root, collection):
    """InputError when ``collection`` has sentences (a caption file): its image list, which extracting would
    replace, is what its sentences are trained, validated or tested against."""
    captions = layout.caption_file(root, collection)
    if os.path.isfile(captions):
        raise InputError(f"{captions}: {collection} is a collection with sentences; extracting into it would replace "
                         f"its image list ({layout.imageset_file(root, collection)}) and so what it is tested on: "
                         f"give the images a collection of their own (--collection NAME)")


def _extraction_record(feature_dir):
    """The ``extraction.json`` of a feature folder ``extract_features`` wrote; None for another (the release's)."""
    try:
        with open(os.path.join(feature_dir, EXTRACTION_FILE), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def extraction_network(feature_dir):
    """(cnn, weights, image size) of a feature folder ``extract_features`` wrote (its ``extraction.json``), or
    None for one it did not write (the release's); InputError for a record that does not say them (edited by
    hand, cut short): the check that rests on it would pass in silence."""
    path = os.path.join(feature_dir, EXTRACTION_FILE)
    if not os.path.exists(path):
        return None
    try:
        now = _as_now(_extraction_record(feature_dir), "cnn", "weights", "weights_sampled", "image_size")
        return now["cnn"], now.get("weights", now.get("weights_sampled")), now["image_size"]
    except (KeyError, TypeError, AttributeError):
        raise InputError(f"{path}: does not say which network the features were extracted with (its cnn, weights "
                         f"and image_size): extract them again (extract_features.py --overwrite)") from None


def same_network(first_dir, second_dir):
    """Whether two feature folders ``extract_features`` wrote were extracted with the same network, as their
    ``extraction.json`` say: the same cnn, input size (the network's own where a record has None) and weights (a
    weights file by its content; by its ``weights_sampled`` fingerprint where one record is older than whole
    hashes); False where one has no record."""
    first, second = _extraction_record(first_dir), _extraction_record(second_dir)
    if first is None or second is None:
        return False
    first, second = (_as_now(r, "cnn", "weights", "weights_sampled", "image_size") for r in (first, second))
    key = "weights" if "weights" in first and "weights" in second else "weights_sampled"
    return first.get(key) is not None and all(first.get(k) == second.get(k) for k in ("cnn", "image_size", key))


def _as_now(record, *keys):
    """The fields ``keys`` of a record read (``extraction.json``, ``plan.json``; all, without ``content``, when none
    given) as this version writes them: ``image_size`` None (recorded before the size used was) is the network's
    own; a weights file's fingerprint of the records written before is their ``weights_sampled``, without its name
    (the same file under another name is the same network)."""
    out = {k: v for k, v in record.items() if k != "content"}
    if isinstance(out.get("cnn"), str):  # recorded as typed before: mobilenet_v3_small is mobilenetv3small
        out["cnn"] = _network_key(out["cnn"])
    if out.get("image_size", 0) is None and isinstance(out.get("cnn"), str):
        out["image_size"] = input_size(out["cnn"])
    if _is_former_weights(out.get("weights")):
        out["weights_sampled"] = content_of(out.pop("weights"))
    return {k: v for k, v in out.items() if not keys or k in keys}


def _already_extracted(feature_dir, records, log):
    """The summary of a feature folder extracted before from the same images with the same network and
    settings (its ``extraction.json``, one of ``records``: ``_plans``): skipped, as every stage skips work already
    done; InputError when it was extracted otherwise (or before extractions were recorded)."""
    record = _extraction_record(feature_dir)
    if not record:
        raise InputError(f"{feature_dir}: features there, but not recorded by extract_features (no readable "
                         f"{EXTRACTION_FILE}): --overwrite to extract them again, or another --feature name")
    recorded = _as_now(record)
    if "images" in recorded and "image_files" not in recorded:  # recorded before image files were: as it was
        records = [{k: v for k, v in record.items() if k != "image_files"} for record in records]
    differs = _difference(recorded, records)
    if differs:
        raise InputError(f"{feature_dir}: features already extracted {differs} (--overwrite to extract them again)")
    features = BigFile(feature_dir)
    log(f"features already extracted, skipped (--overwrite to extract them again): {feature_dir}")
    return dict(feature_dir=feature_dir, images=len(features), skipped=None, dim=features.ndims, images_per_s=None)


def _extract_chunk(chunk, model, preprocess, size, thumbs, batch_size, pool, batch_done):
    """(ids, vectors, skipped) of one chunk of [(id, path)], a batch at a time: the batch's images
    read and thumbnailed in parallel by the thread pool, then the readable ones through the CNN."""
    ids, vectors, skipped = [], [], []
    for start in range(0, len(chunk), batch_size):
        batch = chunk[start:start + batch_size]
        read = list(pool.map(_read_or_reason, [path for _, path in batch], [size] * len(batch),
                             [os.path.join(thumbs, f"{image_id}.jpg") for image_id, _ in batch]))
        good = [(image_id, pixels) for (image_id, _), (pixels, _) in zip(batch, read) if pixels is not None]
        skipped += [(path, reason) for (_, path), (_, reason) in zip(batch, read) if reason is not None]
        if good:
            pixels = preprocess(np.stack([p for _, p in good]))
            vectors.append(np.asarray(model.predict_on_batch(pixels), dtype=np.float32))
            ids += [image_id for image_id, _ in good]
        batch_done(len(batch))
    dim = int(model.output_shape[-1])
    return ids, np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32), skipped


def _finish(parts, n_chunks, feature_dir, root, collection, dim, log, summary):
    """One BigFile of all chunks, the ImageSets list and the skipped list; then the chunks go."""
    ids, blocks, skipped = [], [], []
    for i in range(n_chunks):
        c_ids, c_vectors, c_skipped = parts.load(i)
        ids += c_ids
        blocks.append(c_vectors)
        skipped += c_skipped
    if not ids:
        path, reason = skipped[0]
        raise InputError(f"{path}: none of the {len(skipped)} images could be read (this one: {reason})")
    write_bigfile(feature_dir, ids, np.concatenate(blocks).reshape(-1, dim))
    write_text(os.path.join(feature_dir, SKIPPED_FILE), "".join(f"{p}\t{r}\n" for p, r in skipped))
    write_text(layout.imageset_file(root, collection), "".join(f"{i}\n" for i in ids))
    _prune_thumbnails(layout.image_dir(root, collection), set(ids))
    shutil.rmtree(parts.folder)
    log(f"{len(ids)} images -> {feature_dir} ({dim}-d); {len(skipped)} skipped"
        + (f", listed in {os.path.join(feature_dir, SKIPPED_FILE)}" if skipped else ""))
    return dict(summary, feature_dir=feature_dir, images=len(ids), skipped=len(skipped), dim=dim)
