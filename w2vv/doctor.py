"""The doctor: checks a VisualSearch root against what a config's pipeline needs, and says how
to fix each problem.

Every check reads headers and id lists only (caption files, ImageSets, a BigFile's shape.txt and
id.txt with feature.bin's size from the file system, a word2vec's header), never the features,
so it takes seconds on the real root. A count that differs from the published one is a note
(a demo or a subset is fine); files that disagree with each other are a failure."""
import os
from dataclasses import dataclass

from . import languages, layout
from .bigfile import BigFile
from .collection_files import CAPTION_LINE, read_captions, read_imageset, require_apart, require_unseen
from .config import load_config, vocab_threshold, with_feature_width
from .download import ARCHIVES
from .errors import InputError
from .text import Tokenizer
from .vocab import STYLES, counted_from_other_inputs, load_vocab, unsegmented_note
from .word2vec import open_word2vec

OK, MISSING, WRONG = "OK", "MISSING", "WRONG"
CAPTION_LINE_FIX = (f"correct or delete that line (a caption line is {CAPTION_LINE}, every sentence id once), "
                    "or take the release's file again")


@dataclass
class Check:
    status: str
    what: str
    detail: str
    fix: str = ""


@dataclass
class Collections:
    en_train: str = layout.DEFAULT_COLLECTIONS["en_train"]
    en_val: str = layout.DEFAULT_COLLECTIONS["en_val"]
    en_test: str = layout.DEFAULT_COLLECTIONS["en_test"]
    query_train: str = layout.DEFAULT_COLLECTIONS["query_train"]
    query_val: str = layout.DEFAULT_COLLECTIONS["query_val"]
    query_test: str = layout.DEFAULT_COLLECTIONS["query_test"]

    def all(self):
        return [self.en_train, self.en_val, self.en_test, self.query_train, self.query_val, self.query_test]

    def evaluated(self):
        return {self.en_val, self.en_test, self.query_val, self.query_test}


def _stage0(archive_name, config_name):
    return f"./do_all.sh --stage 0 {config_name} (or unpack {ARCHIVES[archive_name].filename} into the root)"


def _names_a_line(message, path):
    """Whether an InputError's ``message`` names a line of ``path`` (``<path>:<line>: …``)."""
    rest = message[len(path) + 1:] if message.startswith(f"{path}:") else ""
    return rest.split(":", 1)[0].isdecimal()


class Doctor:
    def __init__(self, root, config_name=None, overrides=None, feature_collection=layout.DEFAULT_FEATURE_COLLECTION,
                 collections=None, freq_threshold=None):
        self.root = str(root)
        self.config_name = config_name or "CONFIG"
        self.overrides = overrides or {}
        self.feature_collection = feature_collection
        self.collections = collections or Collections()
        self.threshold = freq_threshold
        self.checks = []
        self.images = {}       # collection -> (ImageSets ids, caption image ids), when both are readable

    def add(self, status, what, detail, fix=""):
        self.checks.append(Check(status, what, detail, fix))

    def run(self):
        if not os.path.isdir(self.root):
            self.add(MISSING, "rootpath", f"{self.root}: not found",
                     f"set rootpath in the ini, then {_stage0('retrieval_data', self.config_name)}")
            return self.checks
        cfg = self.check_config()
        self.check_threshold(cfg)
        for coll in self.collections.all():
            self.check_collection(coll)
        self.check_cross_lingual()
        self.check_unseen_images()
        self.check_features(cfg)
        for lang in self.languages():
            self.check_word2vec(lang, cfg)
        self.check_vocabularies()
        return self.checks

    def languages(self):
        """The languages of the collections checked (records' order: English, Chinese, …)."""
        used = {languages.language_of(coll) for coll in self.collections.all()}
        return [code for code in languages.LANGUAGES if code in used]

    def check_config(self):
        if self.config_name == "CONFIG":
            return None
        try:
            cfg = load_config(self.config_name, overrides=self.overrides)
        except InputError as e:
            self.add(WRONG, f"config {self.config_name}", str(e), self._config_fix())
            return None
        self.add(OK, f"config {self.config_name}", f"feature {cfg.img_feature}, word2vec {cfg.embed_size}-d, "
                 f"MLP {cfg.n_layers}")
        for lang in self.languages():
            path = getattr(cfg, f"stopwords_{lang}")
            if path and not os.path.isfile(path):
                self.add(MISSING, f"stop words ({lang})", f"{path}: not found", f"set stopwords_{lang} in the ini")
                continue
            try:
                Tokenizer(lang, path)
            except InputError as e:
                self.add(WRONG, f"stop words ({lang})", str(e), f"set stopwords_{lang} to a list of "
                         f"{languages.get(lang).name} words, or leave it out (the original's list)")
        return cfg

    def _config_fix(self):
        """The fix of a config that does not load: its overrides' when the config loads without them."""
        if self.overrides:
            try:
                load_config(self.config_name)
                return "fix config_overrides (the ini's, or --config_overrides) as the line says"
            except InputError:
                pass
        return "fix the config name or file (w2vv_configs/)"

    def check_threshold(self, cfg):
        """The vocabularies' threshold: the config's ``bow_vocab`` N unless given; a different one given is WRONG."""
        wanted = vocab_threshold(cfg) if cfg else 5
        if self.threshold is not None and cfg and self.threshold != wanted:
            self.add(WRONG, "freq_threshold", f"{self.threshold}, but {self.config_name} reads {cfg.bow_vocab} "
                     f"(bow_vocab)", f"set freq_threshold = {wanted} (or leave it out)")
        self.threshold = wanted if self.threshold is None else self.threshold

    def check_collection(self, coll):
        fix = _stage0("retrieval_data", self.config_name)
        caption_path, imageset_path = layout.caption_file(self.root, coll), layout.imageset_file(self.root, coll)
        missing = [p for p in (caption_path, imageset_path) if not os.path.isfile(p)]
        if missing:
            self.add(MISSING, coll, f"{missing[0]}: not found", fix)
            return
        sentences = self.read_file(coll, read_captions, caption_path, fix, CAPTION_LINE_FIX)
        image_set = self.read_file(coll, read_imageset, imageset_path, fix) if sentences else None
        if not image_set:
            return
        note = unsegmented_note(languages.get(languages.language_of(coll)), [text for _, text in sentences])
        if note:
            self.add(WRONG, coll, f"{caption_path}: {len(sentences):,} sentences{note}", "segment the sentences "
                     "into words separated by spaces, as the release's are")
            return
        caption_images = {layout.image_id(s) for s, _ in sentences}
        self.images[coll] = (image_set, caption_images)
        outside = caption_images - set(image_set)
        if outside and coll in self.collections.evaluated():
            self.add(WRONG, coll, f"{caption_path}: {len(outside)} image(s) with sentences are not in ImageSets "
                     f"(e.g. {min(outside)!r}), so they cannot be ranked",
                     f"caption and ImageSets files disagree: move {caption_path} and {imageset_path} away, then "
                     f"{fix}")
            return
        detail = f"{len(image_set):,} images, {len(sentences):,} sentences"
        published = layout.PAPER_COLLECTIONS.get(coll)
        if published and published != (len(image_set), len(sentences)):
            detail += f" (published: {published[0]:,} / {published[1]:,}; fine for a demo or a subset)"
        elif published:
            detail += " (as published)"
        if outside:
            detail += f"; {len(outside)} captioned image(s) not in ImageSets"
        self.add(OK, coll, detail)

    def read_file(self, coll, read, path, fix, line_fix="a damaged file"):
        """``read(path)``, or None after a WRONG line with the error and its fix: ``line_fix`` when the
        error names a line of the file, then ``fix`` (the release's file again)."""
        try:
            return read(path)
        except InputError as e:
            first = line_fix if _names_a_line(str(e), path) else "a damaged file"
            self.add(WRONG, coll, str(e), f"{first}: {fix}")
            return None

    def check_cross_lingual(self):
        c = self.collections
        for en, zh in ((c.en_val, c.query_val), (c.en_test, c.query_test)):
            if en in self.images and zh in self.images and set(self.images[en][0]) != set(self.images[zh][0]):
                self.add(WRONG, f"{zh} vs {en}", "their ImageSets hold different images: cross-lingual "
                         "matching (CL) needs the same images", "take both from the same release")

    def check_unseen_images(self):
        """Val and test images that no training sentence describes, and test images that are not val images."""
        c, path = self.collections, lambda coll: layout.imageset_file(self.root, coll)
        for train, others in ((c.en_train, (c.en_val, c.en_test)), (c.query_train, (c.query_val, c.query_test))):
            for other in (o for o in others if train in self.images and o in self.images):
                self._wrong_unless(f"{other} vs {train}", require_unseen, path(other), self.images[other][0],
                                   train, self.images[train][1])
        for val, test in ((c.en_val, c.en_test), (c.query_val, c.query_test)):
            if val in self.images and test in self.images:
                self._wrong_unless(f"{test} vs {val}", require_apart, path(test), self.images[test][0], val,
                                   self.images[val][0])

    def _wrong_unless(self, item, check, *args):
        try:
            check(*args)
        except InputError as e:
            self.add(WRONG, item, str(e), "take the collections from the same release")

    def check_features(self, cfg):
        feature = cfg.img_feature if cfg else layout.PAPER_FEATURE
        folder = layout.feature_dir(self.root, feature, self.feature_collection)
        fix = _stage0("retrieval_data", self.config_name)
        if not os.path.isdir(folder):
            made = fix if feature == layout.PAPER_FEATURE else (  # a feature of your own CNN: not in the release
                f"extract it: python extract_features.py IMAGE_DIR --rootpath {self.root} --collection "
                f"{self.feature_collection} (docs/own-photos.md)")
            self.add(MISSING, "features", f"{folder}: BigFile folder not found",
                     f"{made}; or set feature_collection / the config's img_feature")
            return
        try:
            features = BigFile(folder)
        except InputError as e:
            self.add(WRONG, "features", str(e), f"a truncated or mixed-up BigFile: move {folder} away, then {fix}")
            return
        try:
            if cfg is not None:
                with_feature_width(cfg, features.ndims, folder)
        except InputError:
            self.add(WRONG, "features", f"{folder}: {features.ndims}-d, but the config's MLP ends with "
                     f"{str(cfg.n_layers).rpartition('-')[2]}",
                     "the last number of n_layers must be the feature dimension, or feat to follow it "
                     "(0-2048-feat; config or config_overrides)")
            return
        self.add(OK, "features", f"{len(features):,} x {features.ndims} float32, feature.bin size consistent")
        self.check_coverage(features, fix)

    def check_coverage(self, features, fix):
        problems = []
        for coll, (image_set, caption_images) in self.images.items():
            for what, ids in (("ImageSets", image_set), ("caption", caption_images)):
                lacking = [i for i in ids if i not in features]
                if lacking:
                    problems.append(f"{coll}: {what} id {sorted(lacking)[0]!r} has no feature ({len(lacking)} missing)")
        if problems:
            self.add(WRONG, "feature coverage", "; ".join(problems),
                     f"wrong feature_collection or img_feature, or a mixed-up feature folder or ImageSets file: move "
                     f"it away ({features.folder}, or <collection>/ImageSets/), then {fix}")
        elif self.images:
            self.add(OK, "feature coverage", f"every image of {len(self.images)} collections has a feature")

    def check_word2vec(self, lang, cfg):
        path = layout.word2vec_path(self.root, lang)
        archive = languages.get(lang).archive
        fetch = _stage0(archive, self.config_name) if archive else \
            f"put a {lang} word2vec there (a gensim model; tools/make_demo_data.py --ja makes the demo's)"
        what = f"word2vec ({lang})"
        if not os.path.exists(path):
            self.add(MISSING, what, f"{path}: not found", fetch)
            return
        try:
            w2v = open_word2vec(path, mmap=True)
        except InputError as e:
            self.add(WRONG, what, str(e), f"a damaged model: move it away, then {fetch}")
            return
        expected = cfg.embed_size if cfg else 500
        source = "the release's" if archive else "a"
        if w2v.dim != expected:
            self.add(WRONG, what, f"{path}: {w2v.dim}-d vectors, but the config's embed_size is {expected}",
                     f"use {source} {expected}-d model (move {path} away, then {fetch}), or change embed_size")
            return
        self.add(OK, what, f"{w2v.size:,} words, {w2v.dim}-d")

    def check_vocabularies(self):
        for train in (self.collections.query_train, self.collections.en_train):
            stale = counted_from_other_inputs(self.root, train, Tokenizer(languages.language_of(train)),
                                              self.threshold)
            for style in STYLES:
                path = layout.vocab_file(self.root, train, style, self.threshold)
                what = f"vocabulary {train} {style}"
                if not os.path.isfile(path):
                    self.add(OK, what, "not built yet (stage 1 builds it)")
                    continue
                try:
                    words = f"{len(load_vocab(path)):,} words"
                    if path in stale:
                        words += ", counted from other captions or stop words than now (stage 1 counts it again)"
                    self.add(OK, what, words)
                except InputError as e:
                    self.add(WRONG, what, str(e), f"rebuild it: move {path} away and run ./do_all.sh --stage 1 "
                             f"{self.config_name}")


def check_root(root, config_name=None, **options):
    """The list of checks of ``root`` (see ``Doctor``)."""
    return Doctor(root, config_name, **options).run()


def passed(checks):
    return all(c.status == OK for c in checks)


def format_table(checks):
    headers = ("status", "what", "detail / fix")
    width = [max(len(headers[0]), *(len(c.status) for c in checks)),
             max(len(headers[1]), *(len(c.what) for c in checks))]
    lines = [f"{headers[0]:<{width[0]}}  {headers[1]:<{width[1]}}  {headers[2]}"]
    for c in checks:
        lines.append(f"{c.status:<{width[0]}}  {c.what:<{width[1]}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<{width[0]}}  {'':<{width[1]}}  fix: {c.fix}")
    return "\n".join(lines)
