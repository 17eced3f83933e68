#!/usr/bin/env python3
"""Compare runs (configs × seeds) on the test collection: per run and route (CL, CM, CLM), mIR and
R@1 / R@5 / R@10 as mean ± standard deviation over the seeds (the sample sd: n − 1 in its denominator);
with --paired A B, the difference A − B of each figure with its 95% bootstrap interval over queries and
seeds (w2vv/comparison.py).

A seed is a root: give --rootpath once per seed, each holding the same runs (trained with do_all.sh,
stages 1-5, each with its own seed). Printed, and written to --out when given; --plot draws the mIR of
each route and run (mean ± sd, and each seed) into a PNG."""
import os
import sys
from dataclasses import dataclass

from w2vv import cli, comparison, languages, layout, runs
from w2vv.atomic import write_text
from w2vv.errors import InputError
from w2vv.fingerprint import entry_path, recorded_trace
from w2vv.ranking import require_computed_alike, require_one_model_per_run, traced_model_settings


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
    one or the English one it rests on (as the results' records name them), of other settings or input files,
    or results computed from other data (the spread would be theirs, not the seed's); or when the runs of the
    table were tested on other sentences or images. The English model may be one for all seeds (a root copied
    with it): then the spread is the query language's model's alone."""
    query, english = (args.query_train, args.query_val), (args.en_train, args.en_val)
    query_language = languages.language_of(args.query_train)
    traces = {run: [results_inputs(root, run, args) for root in args.rootpath] for run in args.runs}
    for run, used in traces.items():
        _check_same_data(run, [(root, trace.data) for root, trace in zip(args.rootpath, used)])
        query_models = [_model_used(root, trace.models, query_language) or _folder(root, *query, run)
                        for root, trace in zip(args.rootpath, used)]
        _check_distinct_weights(run, [(root, trace.models.get(folder, set()))
                                      for root, trace, folder in zip(args.rootpath, used, query_models)])
        english_models = [_model_used(root, trace.models, languages.PIVOT) or _towers_from(root, trace, folder) or
                          layout.checkpoint_dir(root, *english, runs.english_run(root, query, english, run))
                          for root, trace, folder in zip(args.rootpath, used, query_models)]
        for folders, distinct_seeds in ((query_models, True), (english_models, False)):
            settings = [(root, folder, _model_settings(root, run, folder, trace))
                        for root, folder, trace in zip(args.rootpath, folders, used)]
            _check_seed_draws(run, [(root, layout.checkpoint_parts(folder)[1], each)
                                    for root, folder, each in settings if each], distinct_seeds)
    comparison.require_same_test_data(args.rootpath[0], [(run, used[0].data) for run, used in traces.items()])


@dataclass
class ResultsTrace:
    """What a run's results in one root rest on, as their records say (``fingerprint.recorded_trace``), there
    even when a model's folder was deleted since, to save space. ``models``: {checkpoint folder: {fingerprints of
    its weights}} of the routes asked; ``data``: {route: {data file relative to the root (captions, ImageSets,
    features): {fingerprints}}}; ``settings``: {checkpoint folder: its run settings as a results record holds
    them, or None} over the run's three routes."""
    models: dict
    data: dict
    settings: dict


def results_inputs(root, run, args):
    """The ``ResultsTrace`` of ``run``'s results in ``root``."""
    trace = ResultsTrace({}, {}, {})
    folders = {route: comparison.ROUTES[route](root, run, args.query_test, args.query_train)
               for route in comparison.ROUTES}
    asked = [folders[route] for route in args.routes]
    require_one_model_per_run(asked)  # CLM's weight chosen by the model of one val, CM ranked by another's
    for route, folder in folders.items():
        for checkpoint, settings in traced_model_settings(folder).items():
            if trace.settings.get(checkpoint) is None:
                trace.settings[checkpoint] = settings
        if folder not in asked:
            continue
        trace.data[route] = comparison.traced_data(root, folder)
        for path, content in recorded_trace(os.path.join(folder, layout.INPUTS_FILE)):
            if layout.is_checkpoint_dir(os.path.dirname(path)):
                trace.models.setdefault(os.path.dirname(path), set()).add(content)
    return trace


def _model_settings(root, run, checkpoint, trace):
    """The run settings of the model in ``checkpoint``: its run record's, else, its folder deleted, the copy a
    results record holds; None for a model recorded without settings (the original code's), or not one the
    results rest on. InputError for a model the results rest on whose settings are nowhere."""
    record = runs.recorded_run(checkpoint)
    if record or os.path.isdir(checkpoint):
        return record[1] if record else None
    if trace.settings.get(checkpoint) is None and checkpoint in trace.settings:
        raise InputError(f"{root}: run {run}'s results rest on the model {checkpoint}, whose folder is gone, and "
                         f"their records do not hold its settings (tested before they did): whether the seeds "
                         f"differ by their seed alone cannot be told; put the folder back and run do_all.sh for the "
                         f"run there (its tester records them)")
    return trace.settings.get(checkpoint)


def _check_same_data(run, data):
    """``check_records`` of the data files of each route, ``[(root, {route: {file: {fingerprints}}})]``: seeds
    tested on sentences edited in one root (the same ids), on other features, or with CL against another English
    test collection, would mix two test sets (results without records, the original code's, are not checked)."""
    first_root, first = data[0]
    for root, routes in data[1:]:
        for route in sorted(route for route in set(first) & set(routes) if first[route] and routes[route]):
            comparison.require_same_files(first[route], routes[route],
                                          f"{root}: run {run}'s {route} results were computed from",
                                          f"in {first_root}", "seeds are compared on the same data")


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


def _model_used(root, models, language):
    """The checkpoint folder of the model of ``language`` in ``root`` that the results' records name, whatever
    collections it was trained on, or None when they name none (results without records: the run's usual
    model)."""
    here = os.path.realpath(root)
    parts = {folder: layout.checkpoint_parts(folder) for folder in models}
    found = sorted(folder for folder, (where, train, _, _) in parts.items()
                   if languages.language_of(train) == language and os.path.realpath(where) == here)
    if len(found) > 1:
        fix = "run cross_lingual.py and fuse.py for both splits with one --en_run" if language == languages.PIVOT \
            else "run the stages of one run for every route (do_all.sh)"
        raise InputError(f"{root}: the results compared rest on two {languages.get(language).name} models, "
                         f"{found[0]} and {found[1]}: {fix}")
    return found[0] if found else None


def _towers_from(root, trace, query_model):
    """The checkpoint folder of the English model whose image tower(s) a successor's ``query_model`` took, as its
    settings name it (``--routes CM`` alone traces no English model); None for another model."""
    record = runs.recorded_run(query_model)
    entry = (record[1] if record else trace.settings.get(query_model) or {}).get("image_towers_from")
    if not (isinstance(entry, dict) and "path" in entry):
        return None
    return os.path.abspath(os.path.dirname(entry_path(entry, root)))


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
    n_queries = len(figures[args.runs[0], args.routes[0]].query_ids)
    text = comparison.format_summary(rows, len(args.rootpath), args.query_test, n_queries)
    if args.paired:
        a, b = args.paired
        differences = [(route, comparison.paired_difference(figures[a, route], figures[b, route], args.draws))
                       for route in args.routes]
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
