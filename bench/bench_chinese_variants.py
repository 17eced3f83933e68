#!/usr/bin/env python3
"""Chinese as people type it: do traditional, Taiwan-worded, Hong Kong and full-width versions of
real sentences find the images their simplified originals find?

    python -m bench.bench_chinese_variants SENTENCES [--model_path CKPT] [--k 5]

SENTENCES is an ``id<TAB>sentence`` file of raw simplified Chinese (COCO-CN's raw sentence files).
Every variant is written from the original with OpenCC (``tools/chinese_variants.py``). Printed as
'name: value unit', one a line:
  sentences                          sentences  read from SENTENCES
  roundtrip_<variant>_<configs>      sentences  the variant converted back by these OpenCC
                                                configurations (and NFKC) equals the original
                                                converted the same way (no model)
  same_tokens_<variant>              sentences  same words as the original once normalised and
                                                segmented (no model: what any vocabulary sees)
  same_top<k>_<variant>              sentences  same top-k image ids, in order, as the simplified
                                                original, both read by the search (normalised)
  same_top<k>_<variant>_as_typed     sentences  the same, with normalisation off (--no_normalize)
  no_known_word                      sentences  originals of which the model knows no word
The search is the Chinese model's direct route (``cm``) over the model's whole image gallery.
"""
import os
import sys
import unicodedata

from tools.chinese_variants import VARIANTS, make_variant, opencc_converter, read_sentences
from w2vv import cli
from w2vv.cli import quiet_tensorflow, run
from w2vv.languages import OPENCC_CONFIGS
from w2vv.text import Tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def demo_model():
    """The Chinese ``w2vv_attention_ctl`` checkpoint that ``make demo`` trains (its run name follows demo.ini)."""
    from w2vv import layout
    from w2vv.settings import ini_run, read_settings
    run_name = ini_run(read_settings(os.path.join(REPO, "demo.ini")), "w2vv_attention_ctl")[1]
    return layout.checkpoint_dir(os.path.join(REPO, "demo_root"), "cococntrain", "cococnval", run_name)

# OpenCC configurations to compare: characters only, each regional one, and the project's choice.
CANDIDATES = (("t2s",), ("tw2s",), ("tw2sp",), ("hk2s",), OPENCC_CONFIGS)


def report(name, value, unit):
    print(f"{name}: {value} {unit}", flush=True)


def convert(configs, text):
    text = unicodedata.normalize("NFKC", text)
    for config in configs:
        text = opencc_converter(config).convert(text)
    return text


def roundtrips(sentences, variants):
    for configs in CANDIDATES:
        for kind in VARIANTS:
            same = sum(convert(configs, v) == convert(configs, s) for s, v in zip(sentences, variants[kind]))
            report(f"roundtrip_{kind}_{'+'.join(configs)}", same, "sentences")


def same_tokens(sentences, variants):
    tokenizer = Tokenizer("zh", normalize=True)

    def words(text):
        return tokenizer.tokens(tokenizer.segment(text))
    original = [words(s) for s in sentences]
    for kind in VARIANTS:
        report(f"same_tokens_{kind}", sum(a == words(v) for a, v in zip(original, variants[kind])), "sentences")


def top_ids(searcher, queries, k):
    return [[hit.id for hit in results] for results in searcher.search_many(queries, k, lang="zh", mode="cm")]


def same_top_k(model_path, sentences, variants, k, normalize):
    from w2vv.retrieval.searcher import Searcher
    searcher = Searcher(model_path, normalize_zh=normalize, log=lambda m: print(f"# {m}", flush=True))
    original = top_ids(searcher, sentences, k)
    if normalize:
        report("no_known_word", sum(not ids for ids in original), "sentences")
    for kind in VARIANTS:
        same = sum(a == b for a, b in zip(original, top_ids(searcher, variants[kind], k)))
        report(f"same_top{k}_{kind}{'' if normalize else '_as_typed'}", same, "sentences")


def main(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("sentences", help="id<TAB>sentence file of raw simplified Chinese")
    p.add_argument("--model_path", default=None,
                   help="Chinese checkpoint folder (default: the demo's w2vv_attention_ctl)")
    p.add_argument("--k", type=int, default=5, help="top-k compared (5)")
    args = cli.parse_args(p, argv)
    args.model_path = args.model_path or demo_model()
    quiet_tensorflow()
    sentences = read_sentences(args.sentences)
    report("sentences", len(sentences), "sentences")
    variants = {kind: [make_variant(kind, s) for s in sentences] for kind in VARIANTS}
    for kind in VARIANTS:
        report(f"changed_{kind}", sum(v != s for s, v in zip(sentences, variants[kind])), "sentences")
    roundtrips(sentences, variants)
    same_tokens(sentences, variants)
    for normalize in (True, False):
        same_top_k(args.model_path, sentences, variants, args.k, normalize)


if __name__ == "__main__":
    sys.exit(run(main))
