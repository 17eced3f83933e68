#!/usr/bin/env python3
"""Fusion of cross-lingual and cross-media matching (docs/method.md#fusion-clm, pipeline step 5): choose
w in 0.00..0.99 by the mIR of w·CL + (1 − w)·CM on the val split, apply it on test, write
sent.id.score.txt, metrics.json, mir.txt and weight.txt into
<root>/<query_val|query_test>/SimilarityIndex/<query_train>/zh2en2img_<run>/."""
import os
import sys

from w2vv import cli, fusion_runs, layout, pivot_space, runs
from w2vv.ranking import is_done
from w2vv.result_checks import check_current, require_one_model_per_run


def parse_args(argv):
    parser = cli.parser(__doc__)
    cli.add_rootpath(parser)
    cli.add_run(parser)
    cli.add_collections(parser, "query_train", "query_val", "query_test")
    parser.add_argument("--rank_norm", type=int, choices=(0, 1), default=0,
                        help="1: replace scores by 1 - rank/N before fusing (off in the paper)")
    cli.add_overwrite(parser)
    cli.add_languages(parser)
    return cli.parse_args(parser, argv)


def run_stage(args):
    pivot_space.require_one_space(args.rootpath, "CLM", args.run, (args.query_train, args.query_val))
    test_dir = layout.clm_dir(args.rootpath, args.run, args.query_test, args.query_train)
    inputs = fusion_runs.clm_inputs(args.rootpath, args.run, args.query_val, args.query_test, args.query_train)
    present = [os.path.dirname(ranking) for ranking in inputs if os.path.isfile(ranking)]
    for folder in present:  # a CM or CL ranking of a model retrained since: neither fused nor skipped as current
        check_current(folder)
    # val's rankings and test's of one model: not test's of a run of the same name trained on another val
    require_one_model_per_run(present, [layout.checkpoint_dir(args.rootpath, args.query_train, args.query_val,
                                                              args.run)])
    settings = fusion_runs.clm_settings(args.query_val, args.rank_norm)
    if is_done(test_dir) and not args.overwrite and runs.inputs_unchanged(test_dir, inputs, **settings):
        print(f"skip fusion: {test_dir} already has mir.txt from the same inputs, rank_norm and val split "
              f"(--overwrite 1 to redo)")
        return
    w, val_metrics, test_metrics = fusion_runs.fusion_run(
        args.rootpath, args.run, args.query_val, args.query_test, args.query_train, rank_norm=bool(args.rank_norm))
    print(f"CLM w = {w:.2f} (best on {args.query_val}: mIR {val_metrics['mir']:.3f}); "
          f"{args.query_test}: mIR {test_metrics['mir']:.3f} ({test_dir})")


def main(argv):
    run_stage(parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli.run(main))
