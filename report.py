#!/usr/bin/env python3
"""The results table of the paper (docs/method.md#the-papers-numbers): test mIR of CL, CM and CLM per config,
read from the metrics.json files that cross_lingual.py, the tester and fuse.py wrote.
Printed, and written to <root>/results/zh2en2img_results.txt (ja2en2img_… for Japanese queries, ….<query_train>.
<query_test>.txt for collections other than the paper's; or --out:
do_all.sh writes a run's table to <root>/results/RUN.txt). The paths: w2vv/layout.py."""
import sys

from w2vv import cli, languages, layout, results_table
from w2vv.atomic import write_text
from w2vv.fingerprint import hashed_once


def parse_args(argv):
    parser = cli.parser(__doc__)
    parser.add_argument("--run", nargs="+", action="extend", default=[], dest="runs", metavar="RUN",
                        help="run names, a row each: " + cli.RUN_HELP[len("run name: "):])
    cli.retire(parser, "--config", "--run")
    cli.add_rootpath(parser)
    cli.add_collections(parser, "query_train", "query_test")
    parser.add_argument("--out", help="default: <rootpath>/results/zh2en2img_results.txt (ja2en2img_… for "
                                      "a Japanese --query_train; ….<query_train>.<query_test>.txt for others than "
                                      "the paper's)")
    cli.add_languages(parser)
    args = cli.parse_args(parser, argv, stray="the runs are --run RUN [RUN ...]")
    if not args.runs:
        parser.error("the following arguments are required: --run")
    cli.refuse_repeats(parser, "--run", args.runs)
    return args


def run_stage(args):
    layout.require_root(args.rootpath)
    table = results_table.result_table(args.rootpath, args.runs, args.query_test, args.query_train)
    lang = languages.language_of(args.query_train)
    out = args.out or layout.report_file(args.rootpath, lang, (args.query_train, args.query_test))
    write_text(out, table)
    print(table, end="")


def main(argv):
    with hashed_once():  # the records of every results folder name their models' training files
        run_stage(parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli.run(main))
