#!/usr/bin/env python3
"""Compare runs (configs × seeds) on the test collection: per run and route (CL, CM, CLM), mIR and
R@1 / R@5 / R@10 as mean ± standard deviation over the seeds; with --paired A B, the difference A − B of
each figure with its 95% bootstrap interval over queries and seeds (w2vv/comparison.py).

A seed is a root: give --rootpath once per seed, each holding the same runs (trained with do_all.sh,
stages 1-5, each with its own seed). Printed, and written to --out when given."""
import sys

from w2vv import cli, comparison, layout, runs
from w2vv.atomic import write_text
from w2vv.errors import InputError


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("--rootpath", nargs="+", required=True, help="the VisualSearch roots, one per seed")
    p.add_argument("--run", nargs="+", required=True, dest="runs", metavar="RUN", help="the runs to compare")
    p.add_argument("--paired", nargs=2, metavar=("A", "B"), help="two of the runs: their difference A − B")
    p.add_argument("--routes", nargs="+", choices=list(comparison.ROUTES), default=list(comparison.ROUTES))
    p.add_argument("--draws", type=int, default=10000, help="bootstrap draws (default %(default)s)")
    p.add_argument("--out", help="also write the tables to this file")
    cli.add_collections(p, "query_train", "query_val", "query_test")
    cli.add_languages(p)
    args = cli.parse_args(p, argv)
    if args.paired and not set(args.paired) <= set(args.runs):
        p.error(f"--paired {' '.join(args.paired)}: both must be among --run")
    return args


def check_seeds(args):
    """InputError when a run was trained with the same seed in two of the roots (no spread to measure)."""
    for run in args.runs:
        seen = {}
        for root in args.rootpath:
            record = runs.recorded_run(layout.checkpoint_dir(root, args.query_train, args.query_val, run))
            seed = record[1].get("seed") if record else None
            if seed is not None and seed in seen:
                raise InputError(f"{root}: run {run} was trained with seed {seed}, as in {seen[seed]}: "
                                 f"give each root its own seed")
            seen.setdefault(seed, root)


def tables(args):
    figures = {(run, route): comparison.route_figures(args.rootpath, run, route, args.query_test, args.query_train)
               for run in args.runs for route in args.routes}
    rows = [(run, route, comparison.summary(figures[run, route])) for run in args.runs for route in args.routes]
    text = comparison.format_summary(rows, len(args.rootpath))
    if args.paired:
        a, b = args.paired
        differences = [(route, comparison.paired_difference(figures[a, route], figures[b, route], args.draws))
                       for route in args.routes]
        n_queries = len(figures[a, args.routes[0]].query_ids)
        text += "\n" + comparison.format_differences(a, b, differences, len(args.rootpath), n_queries, args.draws)
    return text


def main(argv):
    args = parse_args(argv)
    check_seeds(args)
    text = tables(args)
    if args.out:
        write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    sys.exit(cli.run(main))
