#!/usr/bin/env python3
"""Compare runs (configs × seeds) on the test collection: per run and route (CL, CM, CLM), mIR and
R@1 / R@5 / R@10 as mean ± standard deviation over the seeds; with --paired A B, the difference A − B of
each figure with its 95% bootstrap interval over queries and seeds (w2vv/comparison.py).

A seed is a root: give --rootpath once per seed, each holding the same runs (trained with do_all.sh,
stages 1-5, each with its own seed). Printed, and written to --out when given; --plot draws the mIR of
each route and run (mean ± sd, and each seed) into a PNG."""
import os
import sys

from w2vv import cli, comparison, languages, layout, runs
from w2vv.atomic import write_text
from w2vv.errors import InputError
from w2vv.fingerprint import recorded_trace
from w2vv.ranking import require_computed_alike, require_one_model_per_run


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("--rootpath", nargs="+", required=True, help="the VisualSearch roots, one per seed")
    p.add_argument("--run", nargs="+", required=True, dest="runs", metavar="RUN", help="the runs to compare")
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
    if args.draws < 1:
        p.error(f"--draws {args.draws}: the bootstrap needs at least 1 draw (10000 by default)")
    return args


def check_records(args):
    """InputError when the roots of a run do not hold one run drawn with several seeds: the query language's
    model with a seed repeated, or its very weights in two roots (no spread to measure), or either model, that
    one or the English one CL compared with (as the results' records name it), of other settings or input files
    (the spread would be theirs, not the seed's). The English model may be one for all seeds (a root copied
    with it): then the spread is the query language's model's alone."""
    query, english = (args.query_train, args.query_val), (args.en_train, args.en_val)
    for run in args.runs:
        used = [results_inputs(root, run, args) for root in args.rootpath]
        _check_same_data(run, [(root, data) for root, (_, data) in zip(args.rootpath, used)])
        _check_distinct_weights(run, [(root, models.get(_folder(root, *query, run), set()))
                                      for root, (models, _) in zip(args.rootpath, used)])
        english_models = [_english_model_used(root, models) or
                          layout.checkpoint_dir(root, *english, runs.english_run(root, query, english, run))
                          for root, (models, _) in zip(args.rootpath, used)]
        query_models = [layout.checkpoint_dir(root, *query, run) for root in args.rootpath]
        for folders, distinct_seeds in ((query_models, True), (english_models, False)):
            records = [(root, folder, runs.recorded_run(folder)) for root, folder in zip(args.rootpath, folders)]
            _check_seed_draws(run, [(root, layout.checkpoint_parts(folder)[1], record[1])
                                    for root, folder, record in records if record], distinct_seeds)


def results_inputs(root, run, args):
    """(models, data) that ``run``'s results of the routes asked rest on, as their records say
    (``fingerprint.recorded_trace``), there even when a model's folder was deleted since, to save space:
    ``{checkpoint folder: {fingerprints of its weights}}``, ``{caption or ImageSets file relative to the root:
    {fingerprints}}``."""
    models, data = {}, {}
    folders = [comparison.ROUTES[route](root, run, args.query_test, args.query_train) for route in args.routes]
    require_one_model_per_run(folders)  # CLM's weight chosen by the model of one val, CM ranked by another's
    for folder in folders:
        for path, content in recorded_trace(os.path.join(folder, layout.INPUTS_FILE)):
            parent = os.path.dirname(path)
            if layout.is_checkpoint_dir(parent):
                models.setdefault(parent, set()).add(content)
            elif os.path.basename(parent) in ("TextData", "ImageSets"):
                data.setdefault(os.path.relpath(path, root), set()).add(content)
    return models, data


def _check_same_data(run, data):
    """``check_records`` of the caption and ImageSets files, ``[(root, {file: {fingerprints}})]``: seeds tested on
    sentences edited in one root (the same ids) would mix two test sets."""
    first_root, first = data[0]
    for root, files in data[1:]:
        for name in sorted(set(first) & set(files)):
            if files[name] != first[name]:
                raise InputError(f"{root}: run {run}'s results were computed from {name} holding other content than "
                                 f"in {first_root} ({', '.join(sorted(files[name]))}, there "
                                 f"{', '.join(sorted(first[name]))}): seeds are compared on the same test data: "
                                 f"make the file the same in every root, and run do_all.sh again where it changed")


def _folder(root, train, val, run):
    return os.path.normpath(os.path.abspath(layout.checkpoint_dir(root, train, val, run)))


def _check_distinct_weights(run, weights):
    """``check_records`` of the query model's weights, ``[(root, {fingerprints})]``: one model's results twice
    (a root copied after training, a run without a seed found done in the copy) would show a spread of 0."""
    seen = {}
    for root, contents in weights:
        for content in sorted(contents):
            if content in seen:
                raise InputError(f"{root}: run {run} has the very weights of the model in {seen[content]} "
                                 f"({content}): one model twice is not two seeds; retrain it there with its own "
                                 f"seed (do_all.sh with seed = N and overwrite = 1)")
            seen[content] = root


def _english_model_used(root, models):
    """The checkpoint folder of the English model in ``root`` that the results' records name, whatever collections
    it was trained on, or None when they name none (results without records: the run's usual English model)."""
    here = os.path.realpath(root)
    parts = {folder: layout.checkpoint_parts(folder) for folder in models}
    found = sorted(folder for folder, (where, train, _, _) in parts.items()
                   if languages.language_of(train) == languages.PIVOT and os.path.realpath(where) == here)
    if len(found) > 1:
        raise InputError(f"{root}: the results compared rest on two English models, {found[0]} and {found[1]}: "
                         f"run cross_lingual.py and fuse.py for both splits with one --en_run")
    return found[0] if found else None


def _check_seed_draws(run, settings, distinct_seeds):
    """``check_records`` of one model's ``(root, its training collection, settings)``."""
    if not settings:
        return
    first_root, _, first = settings[0]
    seen = {}
    for root, train, each in settings:
        seed = each.get("seed")
        if distinct_seeds and seed is not None and seed in seen:
            raise InputError(f"{root}: run {run} was trained with seed {seed}, as in {seen[seed]}: "
                             f"give each root its own seed")
        seen.setdefault(seed, root)
        diff = runs.differences(_without_seed(each), _without_seed(first), other=f"in {first_root}")
        if diff:
            raise InputError(f"{root}: run {run} ({train}) differs from the one in {first_root} by more than "
                             f"its seed: {'; '.join(diff[:3])}{' …' if len(diff) > 3 else ''}")


def _without_seed(settings):
    """The settings but what the seed changes: the seed, and the English weights a successor's model took."""
    return {k: v for k, v in settings.items() if k not in ("seed", "image_towers_from")}


def route_figures(args):
    """{(run, route): ``RouteFigures``} of every run and route asked, each route computed alike for every run."""
    figures = {(run, route): comparison.route_figures(args.rootpath, run, route, args.query_test, args.query_train)
               for run in args.runs for route in args.routes}
    for route in args.routes:
        require_computed_alike(route, [comparison.ROUTES[route](args.rootpath[0], run, args.query_test,
                                                                args.query_train) for run in args.runs])
    return figures


def tables(args, figures):
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
    for root in args.rootpath:
        layout.require_root(root)
    check_records(args)
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
