#!/usr/bin/env python3
"""Compare runs (configs × seeds) on the test collection: per run and route (CL, CM, CLM), mIR and
R@1 / R@5 / R@10 as mean ± standard deviation over the seeds (the sample sd: n − 1 in its denominator);
with --paired A B, the difference A − B of each figure with its 95% bootstrap interval over queries and
seeds (w2vv/comparison.py; whether the roots hold seeds of one run: w2vv/seed_checks.py).

A seed is a root: give --rootpath once per seed, each holding the same runs (trained with do_all.sh,
stages 1-5, each with its own seed). Printed, and written to --out when given; --plot draws the mIR of
each route and run (mean ± sd, and each seed) into a PNG."""
import os
import sys

from w2vv import cli, comparison, layout
from w2vv.atomic import write_text
from w2vv.errors import InputError
from w2vv.fingerprint import hashed_once
from w2vv.result_checks import require_computed_alike
from w2vv.seed_checks import check_seed_draws


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("--rootpath", nargs="+", required=True, help="the VisualSearch roots, one per seed")
    p.add_argument("--run", nargs="+", required=True, dest="runs", metavar="RUN", help="the runs to compare")
    cli.retire(p, "--config", "--run")
    p.add_argument("--paired", nargs=2, metavar=("A", "B"), help="two of the runs: their difference A − B")
    p.add_argument("--routes", nargs="+", choices=list(comparison.ROUTES), default=list(comparison.ROUTES))
    p.add_argument("--draws", type=int, default=10000, help="bootstrap draws (default %(default)s)")
    p.add_argument("--out", help="also write the tables to this file")
    p.add_argument("--plot", metavar="PNG", help="also draw each route's mIR per run, mean ± sd and the seeds, "
                                                 "into this PNG file")
    cli.add_collections(p, "query_train", "query_val", "query_test", "en_train", "en_val")
    cli.add_languages(p)
    args = cli.parse_args(p, argv)
    cli.refuse_repeats(p, "--rootpath", args.rootpath, key=os.path.realpath)
    cli.refuse_repeats(p, "--run", args.runs)
    cli.refuse_repeats(p, "--routes", args.routes)
    if args.paired and not set(args.paired) <= set(args.runs):
        p.error(f"--paired {' '.join(args.paired)}: both must be among --run")
    if args.paired and args.paired[0] == args.paired[1]:
        p.error(f"--paired {' '.join(args.paired)}: two different runs")
    if args.plot and (os.path.isdir(args.plot) or not args.plot.lower().endswith(".png")):
        problem = "a folder; give the name of a .png file" if os.path.isdir(args.plot) else \
            "the picture is a PNG: give a name ending in .png"
        raise InputError(f"--plot {args.plot}: {problem}")
    if args.paired and args.draws < comparison.MIN_DRAWS:
        p.error(f"--draws {args.draws}: a 95% bootstrap interval needs at least {comparison.MIN_DRAWS} draws "
                f"(10000 by default)")
    return args


def route_figures(args):
    """{(run, route): ``RouteFigures``} of every run and route asked, each route computed alike for every run."""
    figures = {(run, route): comparison.route_figures(args.rootpath, run, route, args.query_test, args.query_train)
               for run in args.runs for route in args.routes}
    for route in args.routes:
        require_computed_alike(route, [comparison.ROUTES[route](args.rootpath[0], run, args.query_test,
                                                                args.query_train) for run in args.runs])
    comparison.require_same_queries(figures)
    return figures


def tables(args, figures):
    rows = [(run, route, comparison.summary(figures[run, route])) for run in args.runs for route in args.routes]
    n_queries = len(figures[args.runs[0], args.routes[0]].query_ids)
    text = comparison.format_summary(rows, len(args.rootpath), args.query_test, n_queries)
    if args.paired:
        a, b = args.paired
        differences = [(route, comparison.paired_difference(figures[a, route], figures[b, route], args.draws))
                       for route in args.routes]
        text += "\n" + comparison.format_differences(a, b, differences, len(args.rootpath), n_queries, args.draws)
    return text


def main(argv):
    with hashed_once():  # the records of every seed's results name their models' training files
        compare(parse_args(argv))


def compare(args):
    for root in args.rootpath:
        layout.require_root(root)
    check_seed_draws(args)
    figures = route_figures(args)
    text = tables(args, figures)
    if args.out:
        write_text(args.out, text)
    print(text, end="")
    if args.plot:
        from w2vv.comparison_figure import write_comparison_figure
        print(f"(picture: {write_comparison_figure(args.plot, figures, args.runs, args.routes)})")


if __name__ == "__main__":
    sys.exit(cli.run(main))
