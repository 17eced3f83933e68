#!/usr/bin/env python3
"""Generate a VisualSearch root shaped like the paper's data, in minutes.

    python -m tools.make_paper_root ROOT [--seed 0] [--scale 1.0] [--overwrite]

The published counts (w2vv/layout.py PAPER_COLLECTIONS): mscoco2014dev-train 121,286 images /
606,757 English sentences; cococntrain 18,341 images / 20,021 Chinese sentences; the val and test
collections of both languages 1,000 images / 1,000 sentences each, the English and the Chinese ones
sharing their images; 2048-d features of every image (BigFile, in the feature collection
mscoco2014dev, feature pyresnext-101_rbps13k,flatten0_output,os); a 500-d English word2vec (BigFile,
100,000 words) and a 500-d Chinese word2vec (gensim 4 KeyedVectors, 50,000 words) at the layout's
places. ``--scale`` multiplies every count (0.01 for a test or a CPU dry run). Layout, collection
names, image ids and caption formats are those of tools/make_demo_data.py (docs/method.md#data-layout):
``<image id>#<k> <sentence>``, English capitalised, Chinese segmented by spaces.

Everything is synthetic and deterministic (same seed and scale: same bytes). Each image shows 3
visual concepts (of 2,000); its feature is the sum of the concepts' sparse non-negative prototypes,
an unmentioned 'style' prototype and noise, clipped at zero (ReLU-like); its sentences, in either
language, name its concepts (the first in 90% of them, the others less often) among stop words of
the language's default list and filler words drawn with Zipf frequencies, so a model can learn
something. At full scale the vocabularies (count >= 5) have 10,896 English words (bow; 10,743
bow_filterstop: about MSCOCO's 11,000) and 5,339 Chinese words (4,292 bow_filterstop); 3% of the
content words are unknown to the word2vec models.

Skips the work when ROOT already holds a complete root made with the same parameters (the marker
``.paper_complete``, written last; an interrupted run leaves ``.paper_partial`` and is redone).
Refuses, with one line ``error: ...`` and exit status 1, before writing anything: a scale <= 0, a
non-empty ROOT that this generator did not write (or wrote with other parameters) without
--overwrite, a disk with less free space than the bytes it will write (counted once the text is
made in memory). --overwrite over other data removes the pipeline's outputs made from it
(vocabularies, cv_keras, SimilarityIndex of the six collections, results/) and other generators'
markers.
Every file is written atomically (w2vv/atomic.py); features and word2vec in chunks, so that the
memory stays far below their size. Prints plain progress lines, and at the end the time and the
peak RSS.
"""
import argparse
import json
import math
import os
import resource
import shutil
import sys
import time

import numpy as np

from w2vv import cli, layout
from w2vv.atomic import atomic_dir, atomic_open, atomic_path, write_text
from w2vv.cli import add_overwrite, run
from w2vv.errors import InputError
from w2vv.text import DEFAULT_STOPWORDS, load_stopwords

from tools.make_demo_data import read_marker

GENERATOR_VERSION = 1
MARKER = ".paper_complete"
PARTIAL = ".paper_partial"
FOREIGN_MARKERS = (".demo_complete", ".demo_partial", "bench_data.json")  # other generators' (removed on --overwrite)

FEATURE = layout.PAPER_FEATURE
FEATURE_COLLECTION = layout.DEFAULT_FEATURE_COLLECTION
FEATURE_DIM = 2048
W2V_DIM = 500
ROLES = layout.DEFAULT_COLLECTIONS
EN_TRAIN, EN_VAL, EN_TEST = ROLES["en_train"], ROLES["en_val"], ROLES["en_test"]
ZH_TRAIN, ZH_VAL, ZH_TEST = ROLES["query_train"], ROLES["query_val"], ROLES["query_test"]
COLLECTIONS = (EN_TRAIN, EN_VAL, EN_TEST, ZH_TRAIN, ZH_VAL, ZH_TEST)
PUBLISHED = layout.PAPER_COLLECTIONS  # collection: (images, sentences) at scale 1
MIN_IMAGES = 2                        # of a collection, at any scale
ZH_TRAIN_FROM_EN = 0.9                # share of cococntrain images that are English training images (as the demo)
ID_SPACE = 581929                     # COCO image numbers drawn from 1..ID_SPACE (as the demo)

# word2vec sizes at scale 1 (at least the words the captions use, less the unknown ones)
EN_W2V_WORDS = 100_000
ZH_W2V_WORDS = 50_000
UNKNOWN_FRACTION = 0.03               # content words (concepts and fillers) the word2vec models lack

# Images: concepts and features
N_CONCEPTS = 2_000
CONCEPT_ZIPF = 0.7                    # how often each concept is shown (a few common, many rare)
CONCEPT_WEIGHTS = ((0.8, 1.2), (0.5, 1.0), (0.4, 0.9))   # uniform weight ranges of the 3 concept slots
MENTION_P = (0.9, 0.6, 0.4)           # chance that a sentence names the image's concept of each slot
N_STYLE = 16                          # unmentioned 'style' prototypes (lighting, viewpoint, ...)
STYLE_WEIGHT = (0.5, 1.2)
PROTO_DENSITY = 0.1                   # share of a prototype's dimensions that are non-zero
NOISE = 1.0
FEATURE_CHUNK = 8192                  # rows generated and written at a time (64 MB)
W2V_CHUNK = 16384

# Sentences, per language: length = lo + Poisson(mean - lo) clipped at hi; a word is a stop word
# with probability stop; the others name the image's concepts or are fillers (Zipf over n_fillers).
LANG = {
    "en": dict(lo=3, mean=10.5, hi=40, stop=0.42, stop_zipf=1.1, n_fillers=30_000, filler_zipf=1.33, period=0.9),
    "zh": dict(lo=4, mean=12.0, hi=40, stop=0.35, stop_zipf=1.2, n_fillers=15_000, filler_zipf=1.05, period=0.7),
}
# The most frequent stop words first (then the rest of the language's default list, in file order).
EN_COMMON_STOP = ("a the on of in with and is an to at are while his some her down up by from for that there its "
                  "it out into over their").split()
ZH_COMMON_STOP = "的 在 一个 有 着 上 是 和 正在 一 很 他 她 这 了 与 把 被 从 对 向 他们 那 也".split()
CONSONANTS, VOWELS, FINALS = "bdfgklmnprstvz", "aeiou", ["", "", "n", "r", "s", "t", "k", "l"]
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FA5


# ---------------------------------------------------------------------------------------
# Parameters and counts
# ---------------------------------------------------------------------------------------
def counts(scale):
    """{collection: (images, sentences)} at ``scale``: the published counts times ``scale``, rounded
    (at least MIN_IMAGES images and one sentence per image)."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise InputError(f"--scale must be a number > 0, got {scale}")
    out = {}
    for coll in COLLECTIONS:
        n_img, n_sent = PUBLISHED[coll]
        i = max(MIN_IMAGES, int(round(n_img * scale)))
        out[coll] = (i, max(i, int(round(n_sent * scale))))
    n_zh_extra = out[ZH_TRAIN][0] - min(out[EN_TRAIN][0], int(round(out[ZH_TRAIN][0] * ZH_TRAIN_FROM_EN)))
    if out[EN_TRAIN][0] > ID_SPACE or out[EN_VAL][0] + out[EN_TEST][0] + n_zh_extra > ID_SPACE:
        raise InputError(f"--scale {scale} is too large: more images than the {ID_SPACE:,} COCO image numbers")
    return out


def params_of(seed, scale):
    return dict(generator="tools/make_paper_root.py", version=GENERATOR_VERSION, seed=int(seed), scale=float(scale))


def _w2v_words(scale, n_words):
    return max(1, int(round(n_words * scale)))


# ---------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------
def _zipf(n, exponent):
    p = 1.0 / np.arange(1, n + 1) ** exponent
    return p / p.sum()


def _stop_words(lang):
    """The language's default stop words that its tokenizer keeps as they are, most frequent first."""
    listed = load_stopwords(DEFAULT_STOPWORDS[lang])
    if lang == "en":
        usable = sorted(w for w in listed if w.isascii() and w.isalpha() and w.islower())
        common = EN_COMMON_STOP
    else:
        usable = sorted(w for w in listed if all(CJK_FIRST <= ord(ch) <= CJK_LAST for ch in w))
        common = ZH_COMMON_STOP
    first = [w for w in common if w in listed]
    return first + [w for w in usable if w not in set(first)]


def _pseudo_words(rng, lang, n, avoid):
    """``n`` distinct made-up words: English from consonant-vowel syllables, Chinese from 2-3
    ideographs; none of them in ``avoid``."""
    out, seen = [], set(avoid)
    while len(out) < n:
        m = int((n - len(out)) * 1.3) + 100
        if lang == "en":
            syll = np.array([c + v for c in CONSONANTS for v in VOWELS], dtype=object)
            k = rng.integers(2, 5, m)
            parts = syll[rng.integers(len(syll), size=(m, 4))]
            fin = np.array(FINALS, dtype=object)[rng.integers(len(FINALS), size=m)]
            words = ["".join(parts[i, :k[i]]) + fin[i] for i in range(m)]
        else:
            k = np.where(rng.random(m) < 0.85, 2, 3)
            chars = rng.integers(CJK_FIRST, CJK_LAST + 1, size=(m, 3))
            words = ["".join(map(chr, chars[i, :k[i]])) for i in range(m)]
        for w in words:
            if w not in seen:
                seen.add(w)
                out.append(w)
                if len(out) == n:
                    break
    return out


class Lexicon:
    """A language's words by id: stop words, then the N_CONCEPTS concept words, then the fillers;
    then the extra words only word2vec holds. ``unknown``: ids of content words word2vec lacks."""

    def __init__(self, seed, lang, n_extra):
        rng = np.random.default_rng([seed, 2, 0 if lang == "en" else 1])
        cfg = LANG[lang]
        self.lang = lang
        self.stop = _stop_words(lang)
        n_content = N_CONCEPTS + cfg["n_fillers"]
        made = _pseudo_words(rng, lang, n_content + n_extra, load_stopwords(DEFAULT_STOPWORDS[lang]))
        self.words = np.array(self.stop + made[:n_content], dtype=object)
        self.extra = made[n_content:]
        self.first_concept = len(self.stop)
        self.first_filler = self.first_concept + N_CONCEPTS
        self.stop_p = _zipf(len(self.stop), cfg["stop_zipf"])
        self.filler_p = _zipf(cfg["n_fillers"], cfg["filler_zipf"])
        unknown = np.zeros(len(self.words), bool)
        unknown[self.first_concept:] = rng.random(n_content) < UNKNOWN_FRACTION
        self.unknown = unknown


# ---------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------
def compose_images(seed, scale):
    """The images: {collection: its image ids}, every image id sorted, and their concepts
    ((n, 3) int array, rows in the order of the sorted ids)."""
    c = counts(scale)
    rng = np.random.default_rng([seed, 1])
    n_train, n_val, n_test, n_zh = c[EN_TRAIN][0], c[EN_VAL][0], c[EN_TEST][0], c[ZH_TRAIN][0]
    n_zh_from_en = min(n_train, int(round(n_zh * ZH_TRAIN_FROM_EN)))
    n_zh_extra = n_zh - n_zh_from_en
    train_ids = ["COCO_train2014_%012d" % i for i in np.sort(rng.choice(ID_SPACE, size=n_train, replace=False) + 1)]
    val_numbers = rng.choice(ID_SPACE, size=n_val + n_test + n_zh_extra, replace=False) + 1
    val2014 = ["COCO_val2014_%012d" % i for i in val_numbers]
    val_ids, test_ids = sorted(val2014[:n_val]), sorted(val2014[n_val:n_val + n_test])
    zh_train_ids = sorted([train_ids[i] for i in rng.choice(n_train, size=n_zh_from_en, replace=False)] +
                          val2014[n_val + n_test:])
    images = {EN_TRAIN: train_ids, EN_VAL: val_ids, EN_TEST: test_ids,
              ZH_TRAIN: zh_train_ids, ZH_VAL: val_ids, ZH_TEST: test_ids}
    all_ids = sorted(set(train_ids) | set(val_ids) | set(test_ids) | set(zh_train_ids))
    concepts = rng.choice(N_CONCEPTS, size=(len(all_ids), 3), p=_zipf(N_CONCEPTS, CONCEPT_ZIPF)).astype(np.int32)
    return images, all_ids, concepts


def _feature_chunks(seed, concepts):
    """The (n, FEATURE_DIM) float32 features, FEATURE_CHUNK rows at a time."""
    rng = np.random.default_rng([seed, 30])
    n_protos = N_CONCEPTS + N_STYLE
    protos = np.abs(rng.standard_normal((n_protos, FEATURE_DIM), dtype=np.float32))
    protos *= (rng.random((n_protos, FEATURE_DIM), dtype=np.float32) < PROTO_DENSITY) * np.float32(1.2)
    base = np.abs(rng.standard_normal(FEATURE_DIM, dtype=np.float32)) * np.float32(0.25)
    for j, start in enumerate(range(0, len(concepts), FEATURE_CHUNK)):
        c = concepts[start:start + FEATURE_CHUNK]
        g = np.random.default_rng([seed, 31, j])
        f = g.standard_normal((len(c), FEATURE_DIM), dtype=np.float32)
        f *= np.float32(NOISE)
        f += base
        for slot, (lo, hi) in enumerate(CONCEPT_WEIGHTS):
            f += g.uniform(lo, hi, len(c)).astype(np.float32)[:, None] * protos[c[:, slot]]
        style = N_CONCEPTS + g.integers(N_STYLE, size=len(c))
        f += g.uniform(*STYLE_WEIGHT, len(c)).astype(np.float32)[:, None] * protos[style]
        np.maximum(f, 0, out=f)
        yield f


# ---------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------
def make_captions(rng, lex, image_ids, image_concepts, n_sentences):
    """[caption line] for the images (rows of ``image_concepts``): ``n_sentences`` in all, as even as
    possible over the images (a random few get one more), and the word ids used (bincount)."""
    cfg = LANG[lex.lang]
    n_img = len(image_ids)
    per_image = np.full(n_img, n_sentences // n_img)
    per_image[rng.choice(n_img, size=n_sentences % n_img, replace=False)] += 1
    img = np.repeat(np.arange(n_img), per_image)
    k = np.arange(n_sentences) - np.repeat(np.cumsum(per_image) - per_image, per_image)
    n = n_sentences
    lengths = np.clip(cfg["lo"] + rng.poisson(cfg["mean"] - cfg["lo"], n), cfg["lo"], cfg["hi"])
    width = cfg["hi"] + 3
    # slots 0-2: the image's concepts (-1 where not named); 3..: stop words or fillers; -2 past the end
    tok = np.full((n, width), -2, np.int32)
    named = rng.random((n, 3)) < np.array(MENTION_P)
    tok[:, :3] = np.where(named, lex.first_concept + image_concepts[img], -1)
    inside = np.arange(width - 3)[None, :] < lengths[:, None]
    is_stop = inside & (rng.random((n, width - 3), dtype=np.float32) < cfg["stop"])
    body = tok[:, 3:]
    body[is_stop] = rng.choice(len(lex.stop), size=int(is_stop.sum()), p=lex.stop_p)
    is_filler = inside & ~is_stop
    body[is_filler] = lex.first_filler + rng.choice(len(lex.filler_p), size=int(is_filler.sum()), p=lex.filler_p)
    # named concepts replace fillers (the length stays), then the words are shuffled
    n_named = named.sum(1)
    filler_rank = np.cumsum(is_filler, axis=1)
    body[is_filler & (filler_rank <= n_named[:, None])] = -1
    valid = tok >= 0
    keys = rng.random((n, width), dtype=np.float32)
    keys[~valid] = 2.0
    order = np.argsort(keys, axis=1, kind="stable")
    tok = np.take_along_axis(tok, order, axis=1)
    del keys, order
    sizes = valid.sum(1)   # the valid words come first in every row now
    flat = tok[tok >= 0]
    del tok
    used = np.bincount(flat, minlength=len(lex.words))
    words = lex.words[flat]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    period = rng.random(n) < cfg["period"]
    if lex.lang == "en":
        first = words[starts]
        words[starts] = np.array([w[0].upper() + w[1:] for w in first], dtype=object)
        words[ends[period] - 1] = words[ends[period] - 1] + "."
        tail = ["" for _ in range(n)]
    else:
        tail = np.where(period, " 。", "").tolist()
    words = words.tolist()
    lines = [f"{image_ids[i]}#{kk} {' '.join(words[s:e])}{t}"
             for i, kk, s, e, t in zip(img.tolist(), k.tolist(), starts.tolist(), ends.tolist(), tail)]
    return lines, used


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def _log(msg):
    print(f"[paper] {msg}", flush=True)


def _quiet(msg):
    pass


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_bigfile_chunks(folder, names, dim, chunks):
    """A BigFile written chunk after chunk (an iterator of float32 arrays), atomically."""
    n = 0
    with atomic_dir(folder) as tmp:
        with open(os.path.join(tmp, "shape.txt"), "w") as f:
            f.write(f"{len(names)} {dim}\n")
        with open(os.path.join(tmp, "id.txt"), "w", encoding="utf-8") as f:
            f.write(" ".join(names))
        with open(os.path.join(tmp, "feature.bin"), "wb") as f:
            for chunk in chunks:
                chunk = np.ascontiguousarray(chunk, dtype="<f4")
                if chunk.ndim != 2 or chunk.shape[1] != dim:
                    raise ValueError(f"chunk of shape {chunk.shape}, expected (*, {dim})")
                chunk.tofile(f)
                n += len(chunk)
        if n != len(names):
            raise ValueError(f"{n} vectors written for {len(names)} ids")


def _write_lines(path, lines, log):
    log(f"writing {path} ({len(lines):,} lines)")
    with atomic_open(path) as f:
        for start in range(0, len(lines), 100_000):
            f.write("".join(line + "\n" for line in lines[start:start + 100_000]))


def _w2v_vocabulary(lex, used, n_words):
    """The words word2vec holds: those the captions use (less the unknown ones), then extra words
    up to ``n_words``."""
    keep = (used > 0) & ~lex.unknown
    words = lex.words[keep].tolist()
    return words + lex.extra[:max(0, n_words - len(words))]


def _w2v_chunks(seed, stream, n):
    for j, start in enumerate(range(0, n, W2V_CHUNK)):
        g = np.random.default_rng([seed, stream, j])
        v = g.standard_normal((min(W2V_CHUNK, n - start), W2V_DIM), dtype=np.float32)
        v *= np.float32(0.1)
        yield v


def _save_keyed_vectors(words, vectors, path):
    """A gensim 4 KeyedVectors model, one file (arrays inline), the same bytes every run."""
    from gensim.models import KeyedVectors
    kv = KeyedVectors(W2V_DIM, count=0, dtype=np.float32)
    kv.index_to_key = list(words)
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.next_index = len(words)
    kv.vectors = vectors
    kv.lifecycle_events = None   # no timestamps in the file
    with atomic_path(path) as tmp:
        kv.save(tmp, separately=[])


def _same_params(marker, params):
    return marker is not None and all(marker.get(k) == v for k, v in params.items())


def _main_files(root):
    files = [p for c in COLLECTIONS for p in (layout.caption_file(root, c), layout.imageset_file(root, c))]
    files += [os.path.join(layout.feature_dir(root, FEATURE, FEATURE_COLLECTION), "feature.bin"),
              os.path.join(layout.en_word2vec_dir(root), "feature.bin"), layout.zh_word2vec_file(root)]
    return files


def _missing(root):
    return [p for p in _main_files(root) if not os.path.isfile(p)]


# Pipeline outputs made from the data; removed when the data is replaced by other data.
DERIVED = (("TextData", "vocabulary"), ("cv_keras",), ("SimilarityIndex",))


def _free_bytes(path):
    """Free bytes on the file system that will hold ``path`` (its nearest existing folder)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free


def plan(root, seed=0, scale=1.0, overwrite=False):
    """What to do with ``root``: ("skip", marker) or ("generate", reason); raises InputError
    (before anything is written) for bad input."""
    params = params_of(seed, scale)
    counts(scale)
    if os.path.exists(root) and not os.path.isdir(root):
        raise InputError(f"{root}: exists and is not a folder")
    marker = read_marker(root, MARKER)
    if marker is not None and not overwrite:
        if _same_params(marker, params):
            missing = _missing(root)
            if not missing:
                return "skip", marker
            reason = f"the root lacks {missing[0]}"
        else:
            raise InputError(f"{root} holds a paper-shaped root made with other parameters "
                             f"(seed={marker.get('seed')} scale={marker.get('scale')}, "
                             f"in {os.path.join(root, MARKER)}); "
                             f"use --overwrite to replace it")
    elif marker is None and not overwrite and os.path.isdir(root) and os.listdir(root) and \
            not os.path.exists(os.path.join(root, PARTIAL)):
        raise InputError(f"{root} is not empty and was not written by this generator "
                         f"(no {MARKER}); use --overwrite to write over it, or choose an empty folder")
    else:
        if os.path.exists(os.path.join(root, PARTIAL)):
            reason = "completing an interrupted run"
        elif os.path.isdir(root) and os.listdir(root):
            reason = "--overwrite: writing over what the root holds"
        else:
            reason = "new root"
    return "generate", reason


def make_paper_root(root, seed=0, scale=1.0, overwrite=False, verbose=True):
    """Write the paper-shaped root (or find it already there); return its summary (the marker's content).
    Raises InputError, before anything is written, for bad input (see ``plan``) or too little disk."""
    log = _log if verbose else _quiet
    t0 = time.time()
    root = os.path.abspath(str(root))
    action, detail = plan(root, seed, scale, overwrite)
    if action == "skip":
        log(f"{root} already holds a complete paper-shaped root (seed={seed} scale={scale}); "
            f"nothing to do (--overwrite to regenerate)")
        return detail
    params = params_of(seed, scale)
    log(f"root {root}: seed={seed} scale={scale} ({detail})")
    data = prepare(params, log)
    need, free = data.bytes_to_write(), _free_bytes(root)
    if need > free:
        raise InputError(f"{root}: not enough free disk space: {need / 2**30:.2f} GiB to write, "
                         f"{free / 2**30:.2f} GiB free")
    log(f"{need / 2**30:.2f} GiB to write, {free / 2**30:.1f} GiB free ({time.time() - t0:.1f} s)")
    return _write(root, data, log, t0)


def _clear_old(root, params, log):
    """Remove what the new data would make stale: the pipeline's outputs made from other data, and
    other generators' markers."""
    old = read_marker(root, MARKER)
    if old is None:
        try:
            with open(os.path.join(root, PARTIAL), encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = None
    if not _same_params(old, params):
        for coll in COLLECTIONS:
            for parts in DERIVED:
                p = os.path.join(root, coll, *parts)
                if os.path.isdir(p):
                    log(f"removing {p} (made from the previous data)")
                    shutil.rmtree(p)
        results = os.path.join(root, "results")
        if os.path.isdir(results):
            log(f"removing {results} (made from the previous data)")
            shutil.rmtree(results)
    for name in FOREIGN_MARKERS + (MARKER,):
        p = os.path.join(root, name)
        if os.path.isfile(p):
            os.remove(p)


class PaperData:
    """What the root will hold, all but the features and the word vectors (written in chunks)."""

    def __init__(self, params, images, all_ids, concepts, captions, en_words, zh_words):
        self.params, self.images, self.all_ids, self.concepts = params, images, all_ids, concepts
        self.captions, self.en_words, self.zh_words = captions, en_words, zh_words

    def bytes_to_write(self):
        """The bytes written: the text files and the BigFiles exactly, the gensim file closely (from above)."""
        def lines(seq):
            return sum(len(x.encode("utf-8")) + 1 for x in seq)

        def bigfile(names, dim):
            return len(f"{len(names)} {dim}\n") + len(" ".join(names).encode("utf-8")) + len(names) * dim * 4

        text = sum(lines(self.images[c]) + lines(self.captions[c]) for c in COLLECTIONS)
        zh = len(self.zh_words) * (W2V_DIM * 4 + 64) + (64 << 10)
        return (text + bigfile(self.all_ids, FEATURE_DIM) + bigfile(self.en_words, W2V_DIM) + zh +
                (4 << 10) * 2)   # the markers


def prepare(params, log):
    """Images, concepts, every caption line and the word2vec vocabularies, in memory."""
    t0 = time.time()
    seed, scale = params["seed"], params["scale"]
    c = counts(scale)
    images, all_ids, concepts = compose_images(seed, scale)
    row = {img: i for i, img in enumerate(all_ids)}
    n_en_w2v, n_zh_w2v = _w2v_words(scale, EN_W2V_WORDS), _w2v_words(scale, ZH_W2V_WORDS)
    lexicons = {"en": Lexicon(seed, "en", n_en_w2v), "zh": Lexicon(seed, "zh", n_zh_w2v)}
    used = {lang: np.zeros(len(lex.words), np.int64) for lang, lex in lexicons.items()}
    captions = {}
    for stream, coll in enumerate(COLLECTIONS):
        lang = "zh" if coll.startswith("cococn") else "en"
        ids = images[coll]
        captions[coll], u = make_captions(np.random.default_rng([seed, 10, stream]), lexicons[lang], ids,
                                          concepts[[row[i] for i in ids]], c[coll][1])
        used[lang] += u
    en_words = _w2v_vocabulary(lexicons["en"], used["en"], n_en_w2v)
    zh_words = _w2v_vocabulary(lexicons["zh"], used["zh"], n_zh_w2v)
    log(f"{len(all_ids):,} images showing {N_CONCEPTS:,} concepts, "
        f"{sum(len(v) for v in captions.values()):,} sentences, word2vec vocabularies "
        f"{len(en_words):,} (en) / {len(zh_words):,} (zh) words made in memory ({time.time() - t0:.1f} s)")
    return PaperData(params, images, all_ids, concepts, captions, en_words, zh_words)


def _write(root, data, log, t0):
    params = data.params
    seed = params["seed"]
    os.makedirs(root, exist_ok=True)
    _clear_old(root, params, log)
    write_text(os.path.join(root, PARTIAL), json.dumps(params) + "\n")
    summary_colls = {}
    for coll in COLLECTIONS:
        _write_lines(layout.imageset_file(root, coll), data.images[coll], log)
        _write_lines(layout.caption_file(root, coll), data.captions[coll], log)
        summary_colls[coll] = dict(images=len(data.images[coll]), sentences=len(data.captions[coll]))

    t = time.time()
    fdir = layout.feature_dir(root, FEATURE, FEATURE_COLLECTION)
    n = len(data.all_ids)
    log(f"writing {fdir} ({n:,} x {FEATURE_DIM} float32, {n * FEATURE_DIM * 4 / 2**30:.2f} GiB, "
        f"{FEATURE_CHUNK:,} rows at a time)")
    write_bigfile_chunks(fdir, data.all_ids, FEATURE_DIM, _feature_chunks(seed, data.concepts))
    log(f"features written ({time.time() - t:.1f} s)")

    t = time.time()
    edir = layout.en_word2vec_dir(root)
    log(f"writing {edir} ({len(data.en_words):,} words x {W2V_DIM})")
    write_bigfile_chunks(edir, data.en_words, W2V_DIM, _w2v_chunks(seed, 40, len(data.en_words)))
    zpath = layout.zh_word2vec_file(root)
    log(f"writing {zpath} ({len(data.zh_words):,} words x {W2V_DIM}, gensim KeyedVectors)")
    _save_keyed_vectors(data.zh_words, np.concatenate(list(_w2v_chunks(seed, 41, len(data.zh_words)))), zpath)
    log(f"word2vec written ({time.time() - t:.1f} s)")

    summary = dict(params, collections=summary_colls, images=n, feature=FEATURE,
                   feature_collection=FEATURE_COLLECTION, feature_dim=FEATURE_DIM,
                   en_word2vec_words=len(data.en_words), zh_word2vec_words=len(data.zh_words), word2vec_dim=W2V_DIM,
                   concepts=N_CONCEPTS)
    write_text(os.path.join(root, MARKER), json.dumps(summary, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    os.remove(os.path.join(root, PARTIAL))
    log(f"done in {time.time() - t0:.1f} s, peak RSS {peak_rss_mb():.0f} MB: " +
        ", ".join(f"{k} {v['images']:,} img / {v['sentences']:,} sent" for k, v in summary_colls.items()))
    return summary


def generate(argv):
    ap = argparse.ArgumentParser(description="Generate a VisualSearch root with the paper's counts (synthetic data).")
    ap.add_argument("root", help="the VisualSearch root to write (created if missing)")
    ap.add_argument("--seed", type=cli.seed, default=0)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies every count (1.0: 121,286 English and 18,341 Chinese training images)")
    add_overwrite(ap, what="regenerate even if ROOT holds a complete root, or write over a root of another kind")
    args = ap.parse_args(argv)
    make_paper_root(args.root, seed=args.seed, scale=args.scale, overwrite=bool(args.overwrite))


def main(argv=None):
    return run(generate, argv)


if __name__ == "__main__":
    sys.exit(main())
