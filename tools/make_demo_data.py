#!/usr/bin/env python3
"""Generate a small bilingual demo VisualSearch root (layout and names: docs/method.md#data-layout).

    python -m tools.make_demo_data ROOT [--seed 0] [--scale 1.0] [--feature_dim 256] [--ja] [--overwrite]

Everything is synthetic and deterministic: the same parameters give the same bytes on
every run. Images are made of 2-3 visual concepts (an object, a scene, and a second object
or a colour); English and Chinese captions describe them with templates; the image
feature is the sum of the concepts' prototype vectors plus noise (non-negative, like
ReLU CNN features); the two word2vec models are trained with gensim on the generated
text. At scale 1.0 it writes about 1,700 images and 8,000 sentences in well under a
minute on 2 CPU cores, so that the whole pipeline (`do_all.sh`) runs in minutes.

What is written (paths from w2vv/layout.py):
  <coll>/TextData/<coll>.caption.txt, <coll>/ImageSets/<coll>.txt   for the six collections
  mscoco2014dev/FeatureData/pyresnext-101_rbps13k,flatten0_output,os/  BigFile, all images
  word2vec/flickr/vec500flickr30m/                                   English word2vec, BigFile 500-d
  zh_w2v/model/zh_jieba.model                                        Chinese word2vec, gensim 4 save()
  mscoco2014dev/ImageData/<imageid>.jpg                              64x64 pictures of all images (serve.py)
  <val/test coll>/ImageData/<imageid>.jpg                            those of the val/test images (results pages)
  .demo_complete                                                     written last: parameters and counts

With --ja (needs janome, requirements-ja.txt), also Japanese: cocojatrain (the images of
cococntrain), cocojaval and cocojatest (those of the English and Chinese val and test), with raw
Japanese sentences (not segmented: the Japanese tokenizer splits them), and their word2vec
ja_w2v/model/ja_janome.model. Asked of a complete demo without it, only the Japanese part is added.
Their language is declared (demo-ja.ini: languages = cocoja*=ja). Asked of a complete demo made
without the pictures of all images, only those are added.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np

from w2vv import cli, languages, layout
from w2vv.atomic import atomic_open, atomic_path, write_text
from w2vv.bigfile import write_bigfile
from w2vv.cli import add_overwrite
from w2vv.errors import InputError
from w2vv.languages import tokenize_en, tokenize_zh  # (docs/method.md#tokenisation-and-stop-words)

GENERATOR_VERSION = 1
MARKER = ".demo_complete"
PARTIAL = ".demo_partial"
FEATURE = layout.PAPER_FEATURE
W2V_DIM = 500

EN_TRAIN, EN_VAL, EN_TEST = "mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test"
ZH_TRAIN, ZH_VAL, ZH_TEST = "cococntrain", "cococnval", "cococntest"
COLLECTIONS = (EN_TRAIN, EN_VAL, EN_TEST, ZH_TRAIN, ZH_VAL, ZH_TEST)
JA_TRAIN, JA_VAL, JA_TEST = "cocojatrain", "cocojaval", "cocojatest"
JA_COLLECTIONS = (JA_TRAIN, JA_VAL, JA_TEST)
JA_DECLARATION = "cocoja*=ja"  # the languages setting that makes them Japanese

# Counts at scale 1.0.
N_EN_TRAIN, N_VAL, N_TEST, N_ZH_TRAIN = 1500, 100, 100, 700
ZH_TRAIN_FROM_EN = 0.9      # share of cococntrain images that are also English training images
EMPTY_FRACTION = 0.01       # training sentences that encode to nothing
RARE_WORD_RATE = 0.04       # sentences with one out-of-vocabulary filler word (seen once)
LATIN_RATE = 0.03           # Chinese sentences with a stray Latin word

# English / Chinese words deliberately left out of the word2vec models (still in captions,
# so the "word unknown to word2vec" path of the encoders is exercised).
EN_W2V_LEFT_OUT = ("kitten", "lawn", "motorbike", "lady")
ZH_W2V_LEFT_OUT = ("比萨", "小猫")

# ---------------------------------------------------------------------------------------
# Concepts: key, kind, English words (first = main), Chinese words, Chinese measure words,
# plausible scenes (objects only), RGB colour for the pictures.
# ---------------------------------------------------------------------------------------
_C = [
    # animals
    ("dog", "animal", ["dog", "puppy"], ["狗", "小狗"], ["一只", "一条"], "beach grass street snow room field",
     (150, 100, 50)),
    ("cat", "animal", ["cat", "kitten"], ["猫", "小猫"], ["一只"], "room kitchen grass", (120, 120, 120)),
    ("horse", "animal", ["horse", "pony"], ["马", "小马"], ["一匹"], "field grass beach snow", (110, 70, 40)),
    ("zebra", "animal", ["zebra"], ["斑马"], ["一只", "一匹"], "grass field", (230, 230, 230)),
    ("giraffe", "animal", ["giraffe"], ["长颈鹿"], ["一只", "一头"], "grass field", (220, 170, 60)),
    ("elephant", "animal", ["elephant"], ["大象"], ["一头", "一只"], "field grass water", (130, 130, 140)),
    ("bird", "animal", ["bird", "seagull"], ["鸟", "小鸟"], ["一只"], "sky water beach grass", (90, 140, 200)),
    # people
    ("man", "person", ["man", "guy"], ["男人", "男子"], ["一个", "一位"], "*", (60, 80, 160)),
    ("woman", "person", ["woman", "lady"], ["女人", "女子"], ["一个", "一位"], "*", (200, 80, 120)),
    ("child", "person", ["child", "kid"], ["孩子", "小孩"], ["一个"], "*", (240, 160, 60)),
    # vehicles
    ("bus", "vehicle", ["bus"], ["公交车", "巴士"], ["一辆"], "street", (200, 40, 40)),
    ("car", "vehicle", ["car"], ["汽车", "小汽车"], ["一辆"], "street snow", (60, 60, 200)),
    ("motorcycle", "vehicle", ["motorcycle", "motorbike"], ["摩托车"], ["一辆"], "street field", (40, 40, 40)),
    ("bicycle", "vehicle", ["bicycle", "bike"], ["自行车"], ["一辆"], "street grass", (40, 160, 160)),
    ("airplane", "vehicle", ["airplane", "plane", "jet"], ["飞机"], ["一架"], "sky field", (210, 210, 220)),
    ("boat", "vehicle", ["boat"], ["船", "小船"], ["一艘", "一条"], "water beach", (160, 90, 40)),
    # food
    ("pizza", "food", ["pizza"], ["披萨", "比萨"], ["一块", "一个"], "kitchen room", (230, 150, 50)),
    ("sandwich", "food", ["sandwich"], ["三明治"], ["一个", "一份"], "kitchen room", (210, 190, 120)),
    ("banana", "food", ["banana", "bananas"], ["香蕉"], ["一根", "一串"], "kitchen room", (250, 220, 50)),
    ("cake", "food", ["cake"], ["蛋糕"], ["一块", "一个"], "kitchen room", (240, 200, 210)),
    # things
    ("kite", "thing", ["kite"], ["风筝"], ["一只", "一个"], "beach sky field grass", (220, 60, 160)),
    ("umbrella", "thing", ["umbrella"], ["雨伞", "伞"], ["一把"], "beach street snow", (30, 100, 60)),
    ("surfboard", "thing", ["surfboard", "board"], ["冲浪板"], ["一块"], "beach water", (250, 130, 30)),
    ("frisbee", "thing", ["frisbee"], ["飞盘"], ["一个"], "grass beach field", (250, 250, 80)),
    ("laptop", "thing", ["laptop", "computer"], ["笔记本电脑", "电脑"], ["一台"], "room kitchen", (70, 70, 80)),
    # scenes
    ("beach", "scene", ["beach", "shore"], ["海滩", "沙滩"], [], "", (235, 215, 160)),
    ("kitchen", "scene", ["kitchen"], ["厨房"], [], "", (200, 180, 150)),
    ("street", "scene", ["street", "road"], ["街道", "马路"], [], "", (110, 110, 110)),
    ("snow", "scene", ["snow"], ["雪地"], [], "", (245, 245, 250)),
    ("grass", "scene", ["grass", "lawn"], ["草地", "草坪"], [], "", (80, 170, 70)),
    ("field", "scene", ["field"], ["田野"], [], "", (150, 180, 80)),
    ("water", "scene", ["water", "lake"], ["水", "湖"], [], "", (60, 120, 200)),
    ("sky", "scene", ["sky"], ["天空"], [], "", (150, 200, 245)),
    ("room", "scene", ["room"], ["房间", "屋子"], [], "", (190, 160, 120)),
    # colours (of the main object)
    ("red", "colour", ["red"], ["红色"], [], "", (220, 30, 30)),
    ("white", "colour", ["white"], ["白色"], [], "", (250, 250, 250)),
    ("black", "colour", ["black"], ["黑色"], [], "", (20, 20, 20)),
    ("blue", "colour", ["blue"], ["蓝色"], [], "", (30, 60, 220)),
    ("yellow", "colour", ["yellow"], ["黄色"], [], "", (245, 210, 20)),
]
CONCEPTS = [dict(key=k, kind=kind, en=en, zh=zh, measure=m, scenes=s.split(), rgb=rgb)
            for k, kind, en, zh, m, s, rgb in _C]
BY_KEY = {c["key"]: c for c in CONCEPTS}
OBJECTS = [c["key"] for c in CONCEPTS if c["kind"] not in ("scene", "colour")]
SCENES = [c["key"] for c in CONCEPTS if c["kind"] == "scene"]
COLOURS = [c["key"] for c in CONCEPTS if c["kind"] == "colour"]
for _c in CONCEPTS:
    if _c["scenes"] == ["*"]:
        _c["scenes"] = list(SCENES)

# Verbs: (English, Chinese) by kind, with overrides for some objects.
VERBS = {
    "animal": [("standing", "站"), ("running", "跑"), ("walking", "走"), ("lying", "躺"),
               ("sitting", "坐"), ("eating", "吃"), ("playing", "玩"), ("resting", "休息")],
    "person": [("standing", "站"), ("walking", "走"), ("sitting", "坐"), ("playing", "玩"),
               ("smiling", "笑"), ("waiting", "等"), ("looking", "看")],
    "vehicle": [("parked", "停"), ("driving", "行驶"), ("moving", "开"), ("waiting", "等")],
    "food": [("sitting", "放"), ("served", "摆"), ("placed", "放")],
    "thing": [("lying", "放"), ("sitting", "放")],
}
VERB_OVERRIDES = {
    "airplane": [("flying", "飞"), ("parked", "停"), ("landing", "降落")],
    "boat": [("floating", "漂"), ("sailing", "航行")],
    "bird": [("flying", "飞"), ("standing", "站"), ("sitting", "坐")],
    "kite": [("flying", "飞")],
    "frisbee": [("flying", "飞"), ("lying", "放")],
}
# English prepositions and Chinese locative words of the scenes.
SCENE_PREP = {"beach": ["on", "at", "near"], "kitchen": ["in"], "street": ["on", "down", "along"],
              "snow": ["in", "on"], "grass": ["on", "in"], "field": ["in", "across"],
              "water": ["in", "on", "near"], "sky": ["in"], "room": ["in"]}
SCENE_LOC = {"beach": ["上", "边"], "kitchen": ["里"], "street": ["上", "旁边"], "snow": ["上", "里"],
             "grass": ["上"], "field": ["里", "上"], "water": ["里", "中", "边"], "sky": ["中"],
             "room": ["里"]}
SCENE_SUBJECT = ("beach", "kitchen", "street", "field", "room")   # "A beach with a dog running"

EN_ADVERBS = ["outside", "together", "nearby", "today", "here", "again"]
EN_ADJECTIVES = ["large", "small", "old", "young", "big", "little", "very big", "cute"]
ZH_ADJECTIVES = ["大", "小", "漂亮", "可爱"]
LATIN_WORDS = ["OK", "logo", "NBA", "wifi", "T", "iPhone", "LED", "DIY"]
RARE_ZH_CHARS = "彧燊翀琰斐昶珏旻喆翊骞淼璟晟钊锟沅滢瑛湉犇翮羲谞婳皓曦祎煜"
# Only stop words (of the default lists, w2vv/stopwords/, the original's).
EN_STOP_ONLY = ["there it is", "this is it", "what is this", "it is on there", "here it is",
                "what is that", "it is in there", "all of them"]
ZH_STOP_ONLY = ["这 是 什么", "这 是 它 。", "这个 是 什么 ？", "那 是 什么 呢", "在 这 ， 也 在 那 。",
                "我们 在 这 。"]
CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"

# Japanese (--ja): the concepts' words, and verbs in the -te iru / -te aru form by kind.
JA_WORDS = {
    "dog": ["犬", "子犬"], "cat": ["猫", "子猫"], "horse": ["馬", "子馬"], "zebra": ["シマウマ"],
    "giraffe": ["キリン"], "elephant": ["象"], "bird": ["鳥", "カモメ"], "man": ["男性", "男"],
    "woman": ["女性", "女"], "child": ["子供", "子ども"], "bus": ["バス"], "car": ["車", "自動車"],
    "motorcycle": ["バイク", "オートバイ"], "bicycle": ["自転車"], "airplane": ["飛行機"], "boat": ["ボート", "船"],
    "pizza": ["ピザ"], "sandwich": ["サンドイッチ"], "banana": ["バナナ"], "cake": ["ケーキ"], "kite": ["凧"],
    "umbrella": ["傘"], "surfboard": ["サーフボード"], "frisbee": ["フリスビー"],
    "laptop": ["ノートパソコン", "パソコン"], "beach": ["浜辺", "海岸"], "kitchen": ["台所", "キッチン"],
    "street": ["通り", "道路"], "snow": ["雪"], "grass": ["芝生", "草"], "field": ["野原", "畑"],
    "water": ["水", "湖"], "sky": ["空"], "room": ["部屋"], "red": ["赤い"], "white": ["白い"],
    "black": ["黒い"], "blue": ["青い"], "yellow": ["黄色い"],
}
JA_VERBS = {
    "animal": ["立っている", "走っている", "歩いている", "寝ている", "座っている", "食べている", "遊んでいる"],
    "person": ["立っている", "歩いている", "座っている", "遊んでいる", "笑っている", "待っている"],
    "vehicle": ["止まっている", "走っている", "動いている"],
    "food": ["置いてある", "並んでいる"],
    "thing": ["置いてある"],
}
JA_VERB_OVERRIDES = {"airplane": ["飛んでいる", "止まっている"], "boat": ["浮かんでいる"],
                     "bird": ["飛んでいる", "立っている"], "kite": ["飛んでいる"], "frisbee": ["飛んでいる"]}
JA_ADJECTIVES = ["大きな", "小さな", "かわいい"]


# ---------------------------------------------------------------------------------------
# Images and their concepts
# ---------------------------------------------------------------------------------------
def _counts(scale):
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    n_train = max(20, int(round(N_EN_TRAIN * scale)))
    n_val = max(10, int(round(N_VAL * scale)))
    n_test = max(10, int(round(N_TEST * scale)))
    n_zh = max(10, int(round(N_ZH_TRAIN * scale)))
    return n_train, n_val, n_test, n_zh


def _compose(rng):
    """An image's concepts: [main object, scene] + optionally a second object or a colour.
    Returns a dict: obj1, scene, obj2 (or None), colour (or None)."""
    obj1 = OBJECTS[rng.integers(len(OBJECTS))]
    scenes = BY_KEY[obj1]["scenes"]
    scene = scenes[rng.integers(len(scenes))]
    obj2 = colour = None
    r = rng.random()
    if r < 0.45:
        partners = [o for o in OBJECTS if o != obj1 and scene in BY_KEY[o]["scenes"]]
        obj2 = partners[rng.integers(len(partners))]
    elif r < 0.65 and BY_KEY[obj1]["kind"] != "person":
        colour = COLOURS[rng.integers(len(COLOURS))]
    return dict(obj1=obj1, scene=scene, obj2=obj2, colour=colour)


def concept_keys(comp):
    return [k for k in (comp["obj1"], comp["obj2"], comp["colour"], comp["scene"]) if k]


def _image_ids(rng, n_train_total, n_val_total):
    train = np.sort(rng.choice(581929, size=n_train_total, replace=False) + 1)
    val = rng.choice(581929, size=n_val_total, replace=False) + 1
    return (["COCO_train2014_%012d" % i for i in train], ["COCO_val2014_%012d" % i for i in val])


def compose_images(seed, scale):
    """The demo's images and their concepts: (English train ids, val ids, test ids,
    Chinese train ids, {image id: composition}); concept_keys(composition) lists the
    concepts of one image."""
    rng = np.random.default_rng([seed, 1])
    n_train, n_val, n_test, n_zh = _counts(scale)
    n_zh_from_en = min(n_train, int(round(n_zh * ZH_TRAIN_FROM_EN)))
    n_zh_extra = n_zh - n_zh_from_en
    train_ids, val2014_ids = _image_ids(rng, n_train, n_val + n_test + n_zh_extra)
    val_ids = sorted(val2014_ids[:n_val])
    test_ids = sorted(val2014_ids[n_val:n_val + n_test])
    zh_train_ids = sorted([train_ids[i] for i in rng.choice(n_train, size=n_zh_from_en, replace=False)] +
                          val2014_ids[n_val + n_test:])
    all_ids = sorted(set(train_ids) | set(val_ids) | set(test_ids) | set(zh_train_ids))
    comps = {img: _compose(rng) for img in all_ids}
    return train_ids, val_ids, test_ids, zh_train_ids, comps


# ---------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------
class _Words:
    """Random choices and the supply of rare (seen-once) words."""

    def __init__(self, rng, known):
        self.rng = rng
        self.known = set(known)
        self.used = set()

    def pick(self, seq):
        return seq[self.rng.integers(len(seq))]

    def rare_en(self):
        while True:
            n = 2 + int(self.rng.integers(2))
            w = "".join(self.pick(CONSONANTS) + self.pick(VOWELS) for _ in range(n)) + self.pick("nrstk")
            if w not in self.known and w not in self.used:
                self.used.add(w)
                return w

    def rare_zh(self):
        while True:
            w = self.pick(RARE_ZH_CHARS) + self.pick(RARE_ZH_CHARS)
            if w not in self.used:
                self.used.add(w)
                return w


def _verb(w, obj):
    return w.pick(VERB_OVERRIDES.get(obj) or VERBS[BY_KEY[obj]["kind"]])


def _en_np(w, obj, colour=None, rare=None):
    """'a red bus', 'the dog', 'an elephant'."""
    noun = w.pick(BY_KEY[obj]["en"])
    words = [noun]
    if w.rng.random() < 0.1:
        words.insert(0, w.pick(EN_ADJECTIVES))
    if colour:
        words.insert(0, w.pick(BY_KEY[colour]["en"]))
    if rare:
        words.insert(0, rare)
    if w.rng.random() < 0.2:
        det = "the"
    else:
        det = "an" if words[0][0] in "aeiou" else "a"
    if obj == "banana" and noun == "bananas":
        det = w.pick(["some", "the"])
    return " ".join([det] + words)


def _en_scene(w, scene):
    noun = w.pick(BY_KEY[scene]["en"])
    if scene == "sky":
        det = "the"
    elif scene in ("snow", "grass", "water") and noun != "lake":
        det = w.pick(["", "the"])
    else:
        det = w.pick(["the", "the", "a"])
    return " ".join(x for x in (w.pick(SCENE_PREP[scene]), det, noun) if x)


def sentence_en(w, comp):
    o1, o2, sc = comp["obj1"], comp["obj2"], comp["scene"]
    rare = w.rare_en() if w.rng.random() < RARE_WORD_RATE else None
    a = _en_np(w, o1, comp["colour"], rare)
    v = _verb(w, o1)[0]
    ps = _en_scene(w, sc)
    comma = "," if w.rng.random() < 0.3 else ""
    templates = [f"{a}{comma} {v} {ps}", f"there is {a} {ps}", f"{a} that is {v} {ps}",
                 f"{a} {v} {ps} {w.pick(EN_ADVERBS)}"]
    if sc in SCENE_SUBJECT:
        templates.append(f"{w.pick(['a', 'the'])} {w.pick(BY_KEY[sc]['en'])} with {a} {v} in it")
    if o2:
        b = _en_np(w, o2)
        with_o2 = [f"{a} and {b} {ps}", f"{a} with {b} {ps}", f"{a} {v} next to {b}",
                   f"{a} is {v} {ps}{comma} near {b}", f"there is {a} and {b} {ps}"]
        templates = with_o2 * 2 + templates          # mostly mention both, sometimes omit o2
    s = w.pick(templates)
    r = w.rng.random()
    if r < 0.75:
        s = s[0].upper() + s[1:]
    if w.rng.random() < 0.03:                        # one shouted word
        words = s.split(" ")
        i = int(w.rng.integers(len(words)))
        words[i] = words[i].upper()
        s = " ".join(words)
    r = w.rng.random()
    return s + ("." if r < 0.6 else "!" if r < 0.65 else "")


def _zh_np(w, obj, colour=None, rare=None):
    c = BY_KEY[obj]
    words = [w.pick(c["measure"])]
    if rare:
        words.append(rare)
    if w.rng.random() < 0.1:
        words += [w.pick(ZH_ADJECTIVES)] + (["的"] if w.rng.random() < 0.5 else [])
    if colour:
        words += [w.pick(BY_KEY[colour]["zh"])] + (["的"] if w.rng.random() < 0.7 else [])
    words.append(w.pick(c["zh"]))
    return " ".join(words)


def sentence_zh(w, comp):
    o1, o2, sc = comp["obj1"], comp["obj2"], comp["scene"]
    rare = w.rare_zh() if w.rng.random() < RARE_WORD_RATE else None
    a = _zh_np(w, o1, comp["colour"], rare)
    v = _verb(w, o1)[1]
    place = f"{w.pick(BY_KEY[sc]['zh'])} {w.pick(SCENE_LOC[sc])}"
    templates = [f"{a} 在 {place} {v}", f"{place} 有 {a}", f"{a} 正在 {place} {v} 着",
                 f"{a} {v} 在 {place}", f"{place} ， {a} {v} 着"]
    if o2:
        b = _zh_np(w, o2)
        with_o2 = [f"{a} 和 {b} 在 {place}", f"{a} 在 {b} 旁边 {v}", f"{place} 有 {a} 和 {b}",
                   f"{place} ， {a} 和 {b}", f"{a} 正在 {place} {v} ， 旁边 有 {b}"]
        templates = with_o2 * 2 + templates
    words = w.pick(templates).split(" ")
    if w.rng.random() < LATIN_RATE:
        words.insert(int(w.rng.integers(len(words) + 1)), w.pick(LATIN_WORDS))
    if w.rng.random() < 0.7:
        words.append("。")
    return " ".join(words)


def _ja_verb(w, obj):
    return w.pick(JA_VERB_OVERRIDES.get(obj) or JA_VERBS[BY_KEY[obj]["kind"]])


def _ja_np(w, obj, colour=None):
    """'白い犬', '大きな象'."""
    words = [w.pick(JA_WORDS[colour])] if colour else []
    if w.rng.random() < 0.1:
        words.insert(0, w.pick(JA_ADJECTIVES))
    return "".join(words + [w.pick(JA_WORDS[obj])])


def sentence_ja(w, comp):
    """Raw Japanese, written without spaces as people write it."""
    o1, o2, sc = comp["obj1"], comp["obj2"], comp["scene"]
    a, v, place = _ja_np(w, o1, comp["colour"]), _ja_verb(w, o1), w.pick(JA_WORDS[sc])
    exists = "いる" if BY_KEY[o1]["kind"] in ("animal", "person") else "ある"
    templates = [f"{a}が{place}で{v}", f"{place}に{a}が{exists}", f"{place}で{v}{a}", f"{a}は{place}で{v}"]
    if o2:
        b = _ja_np(w, o2)
        with_o2 = [f"{a}と{b}が{place}に{exists}", f"{a}が{b}の隣で{v}", f"{place}に{a}と{b}"]
        templates = with_o2 * 2 + templates
    return w.pick(templates) + ("。" if w.rng.random() < 0.7 else "")


def sentence_empty(w, lang, stop_only):
    """A sentence that encodes to nothing: only stop words/punctuation, or only unseen words."""
    if lang == "en":
        if stop_only:
            s = w.pick(EN_STOP_ONLY)
            return s[0].upper() + s[1:] + w.pick([".", "?", ""])
        n = 1 + int(w.rng.integers(2))
        return " ".join(w.rare_en() for _ in range(n)).capitalize() + "."
    if stop_only:
        return w.pick(ZH_STOP_ONLY)
    n = 1 + int(w.rng.integers(2))
    return " ".join([w.rare_zh() for _ in range(n)] + (["。"] if w.rng.random() < 0.5 else []))


def _make_captions(rng, lang, images, comps, per_image, empty):
    """[(sentid, sentence)] for the images, per_image(rng) sentences each. ``empty``: None
    (no sentence encodes to nothing), "train" (EMPTY_FRACTION of them, half only stop
    words, half only unseen words) or "test" (the same, at least one, only unseen words
    first, so that all three encodings are empty)."""
    known = {t for c in CONCEPTS for t in c["en"]} | {t for x in EN_ADVERBS + EN_ADJECTIVES for t in x.split()}
    known |= {v[0] for vs in list(VERBS.values()) + list(VERB_OVERRIDES.values()) for v in vs}
    w = _Words(rng, known)
    make = {"en": sentence_en, "zh": sentence_zh, "ja": sentence_ja}[lang]
    caps = []
    for img in images:
        for k in range(per_image(rng)):
            caps.append((f"{img}#{k}", make(w, comps[img])))
    n_empty = 0
    if empty:
        n_empty = int(round(EMPTY_FRACTION * len(caps)))
        if empty == "test":
            n_empty = max(1, n_empty)
        for j, i in enumerate(sorted(rng.choice(len(caps), size=min(n_empty, len(caps)), replace=False))):
            caps[i] = (caps[i][0], sentence_empty(w, lang, stop_only=j % 2 == 1))
    return caps, n_empty


# ---------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------
# Feature recipe: weights of the concept slots, unmentioned content, noise.
FEATURE_WEIGHTS = {"obj1": (0.8, 1.2), "obj2": (0.4, 0.9), "colour": (0.3, 0.7), "scene": (0.4, 0.9)}
N_STYLE = 16                  # unmentioned 'style' prototypes (lighting, viewpoint, ...)
STYLE_WEIGHT = (0.8, 1.5)
DISTRACTOR_RATE = 0.5         # an object in the picture that no caption mentions
DISTRACTOR_WEIGHT = (0.3, 0.7)
NOISE = 1.0


def _features(rng, images, comps, dim):
    """Non-negative (ReLU-like) vectors: shared base + weighted concept prototypes + an
    unmentioned 'style' prototype + sometimes an unmentioned object + Gaussian noise,
    clipped at zero."""
    keys = [c["key"] for c in CONCEPTS]
    mask = rng.random((len(keys) + N_STYLE, dim)) < 0.25
    protos = np.abs(rng.normal(0.0, 1.0, (len(keys) + N_STYLE, dim))) * mask * 1.2
    base = np.abs(rng.normal(0.0, 0.25, dim))
    index = {k: i for i, k in enumerate(keys)}
    out = np.empty((len(images), dim), np.float64)
    for r, img in enumerate(images):
        comp = comps[img]
        f = base.copy()
        for slot, (lo, hi) in FEATURE_WEIGHTS.items():
            if comp[slot]:
                f += rng.uniform(lo, hi) * protos[index[comp[slot]]]
        f += rng.uniform(*STYLE_WEIGHT) * protos[len(keys) + rng.integers(N_STYLE)]
        if rng.random() < DISTRACTOR_RATE:
            f += rng.uniform(*DISTRACTOR_WEIGHT) * protos[index[OBJECTS[rng.integers(len(OBJECTS))]]]
        f += rng.normal(0.0, NOISE, dim)
        out[r] = np.maximum(f, 0.0)
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------
# word2vec
# ---------------------------------------------------------------------------------------
def _extra_sentences(rng, words_of, split=lambda word: [word]):
    """Sentences mixing each concept's synonyms with the same context words, so that synonyms get close vectors:
    ``words_of(concept)`` gives (synonyms, context words), ``split`` a word's tokens."""
    out = []
    for c in CONCEPTS:
        syn, context = words_of(c)
        for _ in range(40):
            words = [syn[rng.integers(len(syn))] if rng.random() < 0.4 else context[rng.integers(len(context))]
                     for _ in range(8)]
            out.append([t for word in words for t in split(word)])
    return out


def _concept_words(lang):
    """``_extra_sentences``' ``words_of`` in English or Chinese."""
    def words_of(c):
        if c["kind"] in ("scene", "colour"):
            context = [BY_KEY[o][lang][0] for o in OBJECTS if c["key"] in BY_KEY[o]["scenes"]] or \
                [BY_KEY[o][lang][0] for o in OBJECTS]
        else:
            context = [BY_KEY[s][lang][0] for s in c["scenes"]]
            context += [v[0 if lang == "en" else 1] for v in VERB_OVERRIDES.get(c["key"]) or VERBS[c["kind"]]]
            if lang == "zh":
                context += c["measure"]
        return c[lang], context
    return words_of


def _concept_words_ja(c):
    """``_extra_sentences``' ``words_of`` in Japanese."""
    if c["kind"] in ("scene", "colour"):
        context = [JA_WORDS[o][0] for o in OBJECTS if c["key"] in BY_KEY[o]["scenes"]] or \
            [JA_WORDS[o][0] for o in OBJECTS]
    else:
        context = [JA_WORDS[s][0] for s in c["scenes"]] + (JA_VERB_OVERRIDES.get(c["key"]) or JA_VERBS[c["kind"]])
    return JA_WORDS[c["key"]], context


def _train_word2vec(sentences, seed, epochs):
    from gensim.models import Word2Vec
    return Word2Vec(sentences=sentences, vector_size=W2V_DIM, window=5, min_count=5, sg=0,
                    negative=5, epochs=epochs, seed=seed, workers=1)


# ---------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------
def _picture(comp):
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("RGB", (64, 64), BY_KEY[comp["scene"]]["rgb"])
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    rgb1 = BY_KEY[comp["colour"] or comp["obj1"]]["rgb"]
    d.rectangle([4, 14, 36, 46], fill=rgb1, outline=(0, 0, 0))
    if comp["obj2"]:
        d.rectangle([38, 28, 60, 54], fill=BY_KEY[comp["obj2"]]["rgb"], outline=(0, 0, 0))
    labels = [(2, comp["obj1"] if not comp["colour"] else f"{comp['colour']} {comp['obj1']}"),
              (52, comp["scene"])]
    if comp["obj2"]:
        labels.append((27, comp["obj2"]))
    for y, text in labels:
        d.text((3, y + 1), text, fill=(0, 0, 0), font=font)
        d.text((2, y), text, fill=(255, 255, 255), font=font)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def _log(msg):
    print(f"[demo] {msg}", flush=True)


def _quiet(msg):
    pass


def _write_lines(path, lines, log):
    log(f"writing {path} ({len(lines)} lines)")
    write_text(path, "".join(line + "\n" for line in lines))


def read_marker(root, name=MARKER):
    """The parameters a generator recorded in ``root`` (its marker file ``name``), or None."""
    try:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _params(seed, scale, feature_dim, ja=False):
    """The demo's parameters (``ja`` only when asked: a demo without Japanese keeps its marker)."""
    params = dict(generator="tools/make_demo_data.py", version=GENERATOR_VERSION, seed=int(seed),
                  scale=float(scale), feature_dim=int(feature_dim))
    return {**params, "ja": True} if ja else params


def _same_params(marker, params):
    return marker is not None and all(marker.get(k) == v for k, v in params.items())


# Pipeline outputs inside the demo collections; removed when the demo is regenerated with
# other parameters, so that no vocabulary, model or result of the old data is reused.
DERIVED = (("TextData", "vocabulary"), ("cv_keras",), ("SimilarityIndex",))


def _missing(root, ja=False):
    """The demo's main files that are absent (someone deleted them after the demo was made)."""
    collections = COLLECTIONS + (JA_COLLECTIONS if ja else ())
    paths = [layout.caption_file(root, c) for c in collections] + [layout.imageset_file(root, c) for c in collections]
    paths += [os.path.join(layout.feature_dir(root, FEATURE), "feature.bin"),
              os.path.join(layout.en_word2vec_dir(root), "feature.bin"), layout.zh_word2vec_file(root)]
    paths += [layout.word2vec_path(root, "ja")] if ja else []
    return [p for p in paths if not os.path.isfile(p)]


def make_demo_root(root, seed=0, scale=1.0, feature_dim=256, overwrite=False, verbose=True, ja=False):
    """Write the demo VisualSearch root; return its summary (parameters and counts).

    Skips the work when ``root`` already holds a complete demo with the same parameters
    (the marker file ``.demo_complete``, written last, and the main files present), unless
    ``overwrite``. Raises ValueError when ``root`` holds a demo with other parameters, or
    caption files that this generator did not write, and ``overwrite`` is false. When a
    demo is replaced by one with other parameters, the pipeline's outputs inside the demo
    collections (vocabularies, cv_keras, SimilarityIndex) are removed with it.
    ``ja``: with the Japanese collections; added alone to a complete demo without them.
    """
    log = _log if verbose else _quiet
    root = os.path.abspath(str(root))
    params = _params(seed, scale, feature_dim, ja)
    _counts(scale)  # checks scale
    if feature_dim < 8:
        raise ValueError(f"feature_dim must be >= 8, got {feature_dim}")
    if ja:  # before anything is written: the Japanese collections are tokenised as they are made
        languages.require_japanese()
    marker = read_marker(root)
    if marker is not None and not overwrite and ja and not marker.get("ja") and \
            _same_params(marker, _params(seed, scale, feature_dim)) and not _missing(root):
        return _add_japanese(root, marker, log)
    if marker is not None and not overwrite:
        if _same_params(marker, params) and not _missing(root, marker.get("ja")):
            if "gallery_pictures" not in marker:
                return _add_gallery_pictures(root, marker, log)
            log(f"{root} already holds a complete demo (seed={seed} scale={scale} "
                f"feature_dim={feature_dim}); nothing to do (--overwrite to regenerate)")
            return marker
        if _same_params(marker, params):
            log(f"{root}: the demo lacks {_missing(root, marker.get('ja'))[0]}; regenerating it")
        else:
            raise ValueError(f"{root} holds a demo made with other parameters ({os.path.join(root, MARKER)}: "
                             f"seed={marker.get('seed')} scale={marker.get('scale')} "
                             f"feature_dim={marker.get('feature_dim')}); use --overwrite to replace it")
    if marker is None and not overwrite and not os.path.exists(os.path.join(root, PARTIAL)):
        existing = [p for p in (layout.caption_file(root, c) for c in COLLECTIONS) if os.path.exists(p)]
        if existing:
            raise ValueError(f"{root} already has caption files that this generator did not write "
                             f"(e.g. {existing[0]}); use --overwrite to write the demo over them")
    return _generate(root, params, marker, log)


def _generate(root, params, old_marker, log):
    t0 = time.time()
    seed, scale, dim = params["seed"], params["scale"], params["feature_dim"]
    _start(root, params, old_marker, log)

    def rng(stream):
        return np.random.default_rng([seed, stream])

    log(f"root {root}: seed={seed} scale={scale} feature_dim={dim}")
    train_ids, val_ids, test_ids, zh_train_ids, comps = compose_images(seed, scale)
    all_ids = sorted(comps)
    captions, summary_colls = _write_captions(root, rng, (train_ids, val_ids, test_ids, zh_train_ids), comps, log)
    feats = _features(rng(30), all_ids, comps, dim)
    fdir = layout.feature_dir(root, FEATURE)
    log(f"writing {fdir} ({len(all_ids)} x {dim})")
    write_bigfile(fdir, all_ids, feats)
    en_words = _write_en_word2vec(root, captions, rng, seed, log)
    zh_words = _write_zh_word2vec(root, captions, rng, seed, log)
    n_gallery = _write_pictures(root, layout.DEFAULT_FEATURE_COLLECTION, all_ids, comps, log)
    n_pics = n_gallery + sum(_write_pictures(root, coll, ids, comps, log) for coll, ids in
                             ((EN_VAL, val_ids), (EN_TEST, test_ids), (ZH_VAL, val_ids), (ZH_TEST, test_ids)))

    summary = dict({k: v for k, v in params.items() if k != "ja"}, collections=summary_colls, images=len(all_ids),
                   pictures=n_pics, gallery_pictures=n_gallery, en_word2vec_words=en_words,
                   zh_word2vec_words=zh_words,
                   en_w2v_left_out=list(EN_W2V_LEFT_OUT), zh_w2v_left_out=list(ZH_W2V_LEFT_OUT),
                   feature=FEATURE)
    if params.get("ja"):
        summary = _write_japanese(root, summary, comps, log)
    _write_marker(root, summary)
    os.remove(os.path.join(root, PARTIAL))
    log(f"done in {time.time() - t0:.1f}s: {len(all_ids)} images; " +
        ", ".join(f"{c} {v['images']} img / {v['sentences']} sent" for c, v in summary["collections"].items()))
    return summary


def _start(root, params, old_marker, log):
    """The root marked as being written (``PARTIAL``), without what was made from other demo data."""
    import shutil
    os.makedirs(root, exist_ok=True)
    if old_marker is not None and not _same_params(old_marker, params):
        for coll in COLLECTIONS + JA_COLLECTIONS:
            for parts in DERIVED:
                p = os.path.join(root, coll, *parts)
                if os.path.isdir(p):
                    log(f"removing {p} (made from the previous demo data)")
                    shutil.rmtree(p)
    write_text(os.path.join(root, PARTIAL), json.dumps(params) + "\n")
    if os.path.exists(os.path.join(root, MARKER)):
        os.remove(os.path.join(root, MARKER))


def _write_captions(root, rng, ids, comps, log):
    """({collection: [(sentence id, sentence)]}, {collection: its counts}) of the six collections, written with
    their ImageSets lists; ``ids``: the English training, val, test and Chinese training images."""
    train_ids, val_ids, test_ids, zh_train_ids = ids

    def four_five(g):
        return 4 if g.random() < 0.3 else 5

    def one(g):
        return 1

    def one_two(g):
        return 2 if g.random() < 0.3 else 1

    plan = [  # collection, language, images, sentences per image, rng stream, sentences encoding to nothing
        (EN_TRAIN, "en", train_ids, four_five, 10, "train"),
        (EN_VAL, "en", val_ids, one, 11, None),
        (EN_TEST, "en", test_ids, one, 12, "test"),
        (ZH_TRAIN, "zh", zh_train_ids, one_two, 20, "train"),
        (ZH_VAL, "zh", val_ids, one, 21, None),
        (ZH_TEST, "zh", test_ids, one, 22, "test"),
    ]
    captions, counts = {}, {}
    for coll, lang, images, per_image, stream, empty in plan:
        caps, n_empty = _make_captions(rng(stream), lang, images, comps, per_image, empty)
        captions[coll] = caps
        _write_lines(layout.imageset_file(root, coll), images, log)
        _write_lines(layout.caption_file(root, coll), [f"{sid} {s}" for sid, s in caps], log)
        counts[coll] = dict(images=len(images), sentences=len(caps), encode_to_nothing=n_empty)
    return captions, counts


def _write_en_word2vec(root, captions, rng, seed, log):
    """The English word2vec (BigFile), trained on the English training sentences and more; how many words."""
    t = time.time()
    en_corpus = [tokenize_en(s) for _, s in captions[EN_TRAIN]]
    en_corpus = [s for s in en_corpus if s] + _extra_sentences(rng(40), _concept_words("en"))
    en_model = _train_word2vec(en_corpus, seed, epochs=10)
    en_words = [wd for wd in en_model.wv.index_to_key if wd not in EN_W2V_LEFT_OUT]
    en_vecs = np.stack([en_model.wv[wd] for wd in en_words])
    edir = layout.en_word2vec_dir(root)
    log(f"writing {edir} ({len(en_words)} words x {W2V_DIM}, trained in {time.time() - t:.1f}s; "
        f"left out on purpose: {' '.join(EN_W2V_LEFT_OUT)})")
    write_bigfile(edir, en_words, en_vecs)
    return len(en_words)


def _write_zh_word2vec(root, captions, rng, seed, log):
    """The Chinese word2vec (a gensim model), trained on the Chinese training sentences and more; how many words."""
    t = time.time()
    zh_corpus = [[wd for wd in tokenize_zh(s) if wd not in ZH_W2V_LEFT_OUT] for _, s in captions[ZH_TRAIN]]
    zh_corpus = [s for s in zh_corpus if s] + \
        [[wd for wd in s if wd not in ZH_W2V_LEFT_OUT] for s in _extra_sentences(rng(41), _concept_words("zh"))]
    zh_model = _train_word2vec(zh_corpus, seed, epochs=20)
    zpath = layout.zh_word2vec_file(root)
    log(f"writing {zpath} ({len(zh_model.wv.index_to_key)} words x {W2V_DIM}, trained in "
        f"{time.time() - t:.1f}s; left out on purpose: {' '.join(ZH_W2V_LEFT_OUT)})")
    _save_gensim(zh_model, zpath)
    return len(zh_model.wv.index_to_key)


def _write_marker(root, summary):
    write_text(os.path.join(root, MARKER), json.dumps(summary, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def _save_gensim(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.lifecycle_events = None     # no timestamps or temporary names in the file: same bytes every run
    model.wv.lifecycle_events = None
    model.total_train_time = 0.0
    with atomic_path(path) as tmp:
        model.save(tmp)   # a few hundred words x 500: the arrays are stored inline, one file


def _write_pictures(root, coll, ids, comps, log):
    idir = layout.image_dir(root, coll)
    log(f"writing {idir}/ ({len(ids)} pictures)")
    os.makedirs(idir, exist_ok=True)
    for img in ids:
        with atomic_open(os.path.join(idir, img + ".jpg"), "wb") as f:
            f.write(_picture(comps[img]))
    return len(ids)


def _add_gallery_pictures(root, marker, log):
    """Add the pictures of all images to a complete demo made without them (its other files stay as
    they are). Pictures draw no random number: a demo gets the same files with or without them."""
    log(f"root {root}: adding the pictures of all images (the search service's gallery)")
    comps = compose_images(marker["seed"], marker["scale"])[-1]
    written = _write_pictures(root, layout.DEFAULT_FEATURE_COLLECTION, sorted(comps), comps, log)
    summary = dict(marker, pictures=marker["pictures"] + written, gallery_pictures=written)
    _write_marker(root, summary)
    return summary


def _write_japanese(root, summary, comps, log):
    """The Japanese collections (the images of cococntrain, and the val and test images) and their
    word2vec; returns ``summary`` with them."""
    seed = summary["seed"]
    _, val_ids, test_ids, zh_train_ids, _ = compose_images(seed, summary["scale"])

    def rng(stream):
        return np.random.default_rng([seed, stream])

    def one_two(g):
        return 2 if g.random() < 0.3 else 1

    collections, captions = dict(summary["collections"]), {}
    for coll, images, per_image, stream in ((JA_TRAIN, zh_train_ids, one_two, 50), (JA_VAL, val_ids, lambda g: 1, 51),
                                            (JA_TEST, test_ids, lambda g: 1, 52)):
        captions[coll], _ = _make_captions(rng(stream), "ja", images, comps, per_image, None)
        _write_lines(layout.imageset_file(root, coll), images, log)
        _write_lines(layout.caption_file(root, coll), [f"{sid} {s}" for sid, s in captions[coll]], log)
        collections[coll] = dict(images=len(images), sentences=len(captions[coll]), encode_to_nothing=0)
    t = time.time()
    corpus = [languages.tokenize_ja(s) for _, s in captions[JA_TRAIN]] + \
        _extra_sentences(rng(42), _concept_words_ja, languages.tokenize_ja)
    model = _train_word2vec([s for s in corpus if s], seed, epochs=20)
    path = layout.word2vec_path(root, "ja")
    log(f"writing {path} ({len(model.wv.index_to_key)} words x {W2V_DIM}, trained in {time.time() - t:.1f}s)")
    _save_gensim(model, path)
    pictures = sum(_write_pictures(root, coll, ids, comps, log)
                   for coll, ids in ((JA_VAL, val_ids), (JA_TEST, test_ids)))
    return dict(summary, ja=True, collections=collections, pictures=summary["pictures"] + pictures,
                ja_word2vec_words=len(model.wv.index_to_key), ja_languages=JA_DECLARATION)


def _add_japanese(root, marker, log):
    """Add the Japanese part to a complete demo without it (its other files stay as they are)."""
    log(f"root {root}: adding the Japanese collections to the demo")
    write_text(os.path.join(root, PARTIAL), json.dumps(marker) + "\n")
    _, _, _, _, comps = compose_images(marker["seed"], marker["scale"])
    summary = _write_japanese(root, marker, comps, log)
    _write_marker(root, summary)
    os.remove(os.path.join(root, PARTIAL))
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate a small bilingual demo VisualSearch root.")
    ap.add_argument("root", help="the VisualSearch root to write (created if missing)")
    ap.add_argument("--seed", type=cli.seed, default=0)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies the counts (1.0: 1,500 English and 700 Chinese training images)")
    ap.add_argument("--feature_dim", type=int, default=256)
    ap.add_argument("--ja", action="store_true",
                    help="also the Japanese collections cocojatrain/val/test and their word2vec (needs janome)")
    add_overwrite(ap, what="regenerate even if ROOT holds a complete demo")
    args = ap.parse_args(argv)
    try:
        make_demo_root(args.root, seed=args.seed, scale=args.scale, feature_dim=args.feature_dim,
                       overwrite=bool(args.overwrite), ja=args.ja)
    except (ValueError, InputError) as e:
        print(f"make_demo_data.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
