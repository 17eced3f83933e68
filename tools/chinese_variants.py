"""Chinese as other people type it, made from simplified sentences: for the tests and the benchmark
of ``w2vv.languages.normalize_zh``.

Each variant is written with OpenCC from simplified Chinese, and has its own way back (OpenCC's
configuration for the opposite direction), which tells the sentences that convert back exactly:

    traditional  s2t     traditional characters           back: t2s
    taiwan       s2twp   Taiwan characters and wording    back: tw2sp   (自行车 → 腳踏車)
    hongkong     s2hk    Hong Kong characters             back: hk2s
    fullwidth    —       full-width Latin letters, digits back: NFKC    (4匹马 → ４匹马)
"""
import functools
import unicodedata

from w2vv.errors import InputError
from w2vv.textfile import read_lines

OPENCC = {"traditional": ("s2t", "t2s"), "taiwan": ("s2twp", "tw2sp"), "hongkong": ("s2hk", "hk2s")}
VARIANTS = (*OPENCC, "fullwidth")
_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F) if chr(c).isalnum()}


@functools.lru_cache(maxsize=None)
def opencc_converter(config):
    import opencc
    return opencc.OpenCC(f"{config}.json")


def make_variant(kind, sentence):
    """``sentence`` (simplified Chinese) written the way of ``kind`` (one of ``VARIANTS``)."""
    if kind == "fullwidth":
        return sentence.translate(_FULLWIDTH)
    return opencc_converter(OPENCC[kind][0]).convert(sentence)


def convert_back(kind, variant):
    """The variant converted back to simplified by the opposite converter alone."""
    if kind == "fullwidth":
        return unicodedata.normalize("NFKC", variant)
    return opencc_converter(OPENCC[kind][1]).convert(variant)


def converts_back(kind, sentence):
    """Whether the variant of ``sentence`` converts back to exactly ``sentence`` (NFKC-compared for
    full-width forms, which NFKC also changes in the original: ， → ,)."""
    back = convert_back(kind, make_variant(kind, sentence))
    return back == (unicodedata.normalize("NFKC", sentence) if kind == "fullwidth" else sentence)


def read_sentences(path):
    """The sentences of an ``id<TAB>sentence`` file (COCO-CN's raw sentence files), in file order."""
    lines = read_lines(path, "sentence file")
    sentences = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t", 1)
        if len(fields) != 2 or not fields[1].strip():
            raise InputError(f"{path}:{number}: expected 'id<TAB>sentence'")
        sentences.append(fields[1].strip())
    if not sentences:
        raise InputError(f"{path}: no sentence in the file")
    return sentences
