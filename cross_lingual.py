#!/usr/bin/env python3
"""Cross-lingual matching, step 4 (docs/method.md#cross-lingual-matching-cl): for the val and the test
split, rank the English sentences of the same images for each Chinese sentence by the cosine of the
two models' sentence vectors (W2VV's: predicted visual vectors; a successor's: its text towers', the
Chinese model trained into the English model's space, docs/method.md#across-languages); write
sent.id.score.txt, metrics.json and mir.txt into
<root>/<query_val|query_test>/SimilarityIndex/<query_train>/zh2en_<run>/."""
import os
import sys

from w2vv import cli, fusion_runs, layout, pivot_space, runs
from w2vv.ranking import is_done
from w2vv.result_checks import require_one_model_per_run


def parse_args(argv):
    parser = cli.parser(__doc__)
    cli.add_rootpath(parser)
    cli.add_run(parser)
    cli.add_run(parser, option="--en_run", required=False,
                help="run name of the English model, when it differs from --run's (default: --run's English "
                      "model, named without the settings of the query language alone)")
    cli.add_collections(parser, "query_train", "en_train", "query_val", "en_val", "query_test", "en_test")
    parser.add_argument("--splits", nargs="+", choices=("val", "test"), default=["val", "test"],
                        help="which pairs to match: val (--query_val with --en_val), "
                             "test (--query_test with --en_test)")
    cli.add_overwrite(parser)
    cli.add_languages(parser)
    return cli.parse_args(parser, argv)


def run_stage(args):
    en_run = args.en_run or runs.english_run(args.rootpath, (args.query_train, args.query_val),
                                             (args.en_train, args.en_val), args.run)
    pivot_space.require_one_space(args.rootpath, "CL", args.run, (args.query_train, args.query_val))  # CL at all
    pairs = {"val": (args.query_val, args.en_val), "test": (args.query_test, args.en_test)}
    for query_test, en_test in (pairs[split] for split in args.splits):
        out_dir = layout.cl_dir(args.rootpath, args.run, query_test, args.query_train)
        inputs = fusion_runs.current_cl_inputs(args.rootpath, args.run, query_test, en_test, args.query_train,
                                               args.en_train, en_run)
        require_one_model_per_run([os.path.dirname(path) for path in inputs], [
            layout.checkpoint_dir(args.rootpath, args.query_train, args.query_val, args.run),
            layout.checkpoint_dir(args.rootpath, args.en_train, args.en_val, en_run)])
        if is_done(out_dir) and not args.overwrite:
            if runs.inputs_unchanged(out_dir, inputs):
                print(f"skip {query_test}: {out_dir} already has mir.txt (--overwrite 1 to redo)")
                continue
            print(f"{query_test}: {out_dir} was computed from other sentence vectors than {' and '.join(inputs)} "
                  f"(another English run or collection, or a model tested again): computing it again")
        # this English model's space, checked where CL is computed: a finished CL stays, its models deleted since
        pivot_space.require_one_space(args.rootpath, "CL", args.run, (args.query_train, args.query_val),
                                      (args.en_train, args.en_val, en_run))
        _, metrics = fusion_runs.cross_lingual_run(args.rootpath, args.run, query_test, args.query_train, *inputs)
        print(f"CL {query_test} -> {en_test}: mIR {metrics['mir']:.3f} R@1 {metrics['r1']:.3f} "
              f"R@5 {metrics['r5']:.3f} R@10 {metrics['r10']:.3f} ({out_dir})")


def main(argv):
    run_stage(parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli.run(main))
