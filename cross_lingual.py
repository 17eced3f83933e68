#!/usr/bin/env python3
"""Cross-lingual matching, step 4 (docs/method.md#cross-lingual-matching-cl): for every split, rank the English
sentences of the same images for each Chinese sentence by the cosine of the two models'
predicted visual vectors; write sent.id.score.txt, metrics.json and mir.txt into
<root>/cococn<split>/SimilarityIndex/cococntrain/zh2en_<config>/."""
import argparse
import os
import sys

from w2vv import cli, fusion
from w2vv.ranking import is_done


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rootpath", default=os.path.join(os.path.expanduser("~"), "VisualSearch"))
    parser.add_argument("--config", required=True, help="config name, e.g. w2vv_attention_ctl")
    parser.add_argument("--zh_train", default="cococntrain")
    parser.add_argument("--en_train", default="mscoco2014dev-train")
    parser.add_argument("--zh_prefix", default="cococn", help="Chinese test collection = prefix + split")
    parser.add_argument("--en_prefix", default="mscoco2014dev-", help="English test collection = prefix + split")
    parser.add_argument("--splits", nargs="+", default=["val", "test"])
    parser.add_argument("--overwrite", type=int, choices=(0, 1), default=0)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser.parse_args(argv)


def run_stage(args):
    for split in args.splits:
        zh_test, en_test = args.zh_prefix + split, args.en_prefix + split
        out_dir = fusion.cl_dir(args.rootpath, args.config, zh_test, args.zh_train)
        if is_done(out_dir) and not args.overwrite:
            print(f"skip {zh_test}: {out_dir} already has mir.txt (--overwrite 1 to redo)")
            continue
        _, metrics = fusion.cross_lingual_run(args.rootpath, args.config, zh_test, en_test,
                                              args.zh_train, args.en_train)
        print(f"CL {zh_test} -> {en_test}: mIR {metrics['mir']:.3f} R@1 {metrics['r1']:.3f} "
              f"R@5 {metrics['r5']:.3f} R@10 {metrics['r10']:.3f} ({out_dir})")


def main(argv):
    run_stage(parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli.run(main))
