#!/usr/bin/env python3
"""Fusion of cross-lingual and cross-media matching (docs/method.md#fusion-clm, pipeline step 5): choose
w in 0.00..0.99 by the mIR of w·CL + (1 − w)·CM on the val split, apply it on test, write
sent.id.score.txt, metrics.json, mir.txt and weight.txt into
<root>/cococn<split>/SimilarityIndex/cococntrain/zh2en2img_<config>/."""
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
    parser.add_argument("--val_collection", default="cococnval")
    parser.add_argument("--test_collection", default="cococntest")
    parser.add_argument("--rank_norm", type=int, choices=(0, 1), default=0,
                        help="1: replace scores by 1 - rank/N before fusing (off in the paper)")
    parser.add_argument("--overwrite", type=int, choices=(0, 1), default=0)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser.parse_args(argv)


def run_stage(args):
    test_dir = fusion.clm_dir(args.rootpath, args.config, args.test_collection, args.zh_train)
    if is_done(test_dir) and not args.overwrite:
        print(f"skip fusion: {test_dir} already has mir.txt (--overwrite 1 to redo)")
        return
    w, val_metrics, test_metrics = fusion.fusion_run(
        args.rootpath, args.config, args.val_collection, args.test_collection, args.zh_train,
        rank_norm=bool(args.rank_norm))
    print(f"CLM w = {w:.2f} (best on {args.val_collection}: mIR {val_metrics['mir']:.3f}); "
          f"{args.test_collection}: mIR {test_metrics['mir']:.3f} ({test_dir})")


def main(argv):
    run_stage(parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli.run(main))
