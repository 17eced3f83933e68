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

from w2vv import cli, comparison, languages, layout, runs
from w2vv.atomic import write_text
from w2vv.errors import InputError
from w2vv.fingerprint import entry_path, hashed_once
from w2vv.pivot_space import own_image_towers
from w2vv.result_checks import require_computed_alike, require_one_model_per_run


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
    if args.draws < 1:
        p.error(f"--draws {args.draws}: the bootstrap needs at least 1 draw (10000 by default)")
    return args


def check_records(args):
    """InputError when the roots of a run do not hold one run drawn with several seeds: the query language's
    model with a seed repeated, or its very weights in two roots (no spread to measure), or either model, that
    one or the English one its routes rest on (as the results' records name them), of other settings or input
    files, or results computed from other data (the spread would be theirs, not the seed's); or when the runs
    of the table were tested on other sentences or images. The English model may be one for all seeds (a root
    copied with it): then the spread is the query language's model's alone."""
    traces = {run: [_route_traces(root, run, args) for root in args.rootpath] for run in args.runs}
    for run, per_root in traces.items():
        comparison.require_same_data([(f"{root}: run {run}", f"in {root}",
                                       {route: routes[route] for route in args.routes})
                                      for root, routes in zip(args.rootpath, per_root)],
                                     "seeds are compared on the same data")
        models = [_Models(root, run, args, routes) for root, routes in zip(args.rootpath, per_root)]
        _check_distinct_weights(run, [(m.root, m.weights.get(m.query, set()) | m.query_vectors) for m in models])
        for distinct_seeds, folders in ((True, [m.query for m in models]), (False, [m.english() for m in models])):
            settings = [(m.root, folder, m.settings_of(folder)) for m, folder in zip(models, folders) if folder]
            _check_seed_draws(run, [(root, layout.checkpoint_parts(folder)[1], each)
                                    for root, folder, each in settings if each], distinct_seeds)
    comparison.require_same_test_data(args.rootpath[0], {run: per_root[0] for run, per_root in traces.items()})


def _route_traces(root, run, args):
    """{route: ``comparison.ResultsTrace``} of the three routes of ``run``'s results in ``root``."""
    folders = {route: comparison.ROUTES[route](root, run, args.query_test, args.query_train)
               for route in comparison.ROUTES}
    asked = [folders[route] for route in args.routes]
    require_one_model_per_run(asked)  # CLM's weight chosen by the model of one val, CM ranked by another's
    return {route: comparison.results_trace(root, folder) for route, folder in folders.items()}


class _Models:
    """The models that ``run``'s results in ``root`` rest on, from their records (``routes``: {route:
    ``ResultsTrace``}): the query language's, and the English one of CL or of a successor's image towers."""

    def __init__(self, root, run, args, routes):
        self.root, self.run, self.args = root, run, args
        self.weights = {}  # {checkpoint: {fingerprints}} of the routes asked
        self.query_vectors = set()  # the fingerprints of the query model's test sentence vectors CL records
        cm = comparison.ROUTES["CM"](root, run, args.query_test, args.query_train)
        vectors = os.path.abspath(os.path.join(cm, layout.SENT_FEAT_FILE))
        for route in args.routes:
            for checkpoint, contents in routes[route].models.items():
                self.weights.setdefault(checkpoint, set()).update(contents)
            self.query_vectors.update(routes[route].vectors.get(vectors, ()))
        self.recorded = {}  # {checkpoint: settings a results record holds, or None} of the three routes
        for trace in routes.values():
            for checkpoint, settings in trace.settings.items():
                if self.recorded.get(checkpoint) is None:
                    self.recorded[checkpoint] = settings
        self.own_towers = own_image_towers(cm)
        self.query = self._used(languages.language_of(args.query_train)) or \
            _folder(root, args.query_train, args.query_val, run)

    def english(self):
        """The English model's checkpoint folder, or None where the routes asked rest on none (W2VV's CM, a
        successor's with its own image towers)."""
        found = self._used(languages.PIVOT) or self._towers_from()
        if found or self.own_towers or not {"CL", "CLM"} & set(self.args.routes):
            return found
        query, english = (self.args.query_train, self.args.query_val), (self.args.en_train, self.args.en_val)
        return _folder(self.root, *english, runs.english_run(self.root, query, english, self.run))

    def settings_of(self, checkpoint):
        """The run settings of the model in ``checkpoint``: its run record's, else, its folder deleted, the copy a
        results record holds; None for a model recorded without settings (the original code's), or none the
        results rest on. InputError for a model the results rest on whose settings are nowhere."""
        record = runs.recorded_run(checkpoint)
        if record or os.path.isdir(checkpoint):
            return record[1] if record else None
        if self.recorded.get(checkpoint) is None and checkpoint in self.recorded:
            raise InputError(f"{self.root}: run {self.run}'s results rest on the model {checkpoint}, whose folder is "
                             f"gone, and their records do not hold its settings: whether the seeds differ by their "
                             f"seed alone cannot be told; put the folder back and run do_all.sh for the run there "
                             f"(its tester records them)")
        return self.recorded.get(checkpoint)

    def _used(self, language):
        """The checkpoint folder of the model of ``language`` in the root that the records of the routes asked
        name, whatever collections it was trained on, or None when they name none (results without records)."""
        here = os.path.realpath(self.root)
        found = sorted(folder for folder in self.weights if languages.language_of(layout.checkpoint_parts(folder)[1])
                       == language and os.path.realpath(layout.checkpoint_parts(folder)[0]) == here)
        if len(found) > 1:
            fix = "run cross_lingual.py and fuse.py for both splits with one --en_run" \
                if language == languages.PIVOT else "run the stages of one run for every route (do_all.sh)"
            raise InputError(f"{self.root}: the results compared rest on two {languages.get(language).name} models, "
                             f"{found[0]} and {found[1]}: {fix}")
        return found[0] if found else None

    def _towers_from(self):
        """The English model whose image tower(s) a successor's query model took, as its settings name it
        (``--routes CM`` alone traces no English model); None for another model."""
        record = runs.recorded_run(self.query)
        entry = (record[1] if record else self.recorded.get(self.query) or {}).get("image_towers_from")
        if not (isinstance(entry, dict) and "path" in entry):
            return None
        return os.path.normpath(os.path.abspath(os.path.dirname(entry_path(entry, self.root))))


def _folder(root, train, val, run):
    return os.path.normpath(os.path.abspath(layout.checkpoint_dir(root, train, val, run)))


def _check_distinct_weights(run, weights):
    """``check_records`` of the query model's weights and test sentence vectors, ``[(root, {fingerprints})]``: one
    model's results twice (a root copied after training, a run without a seed found done in the copy, the original
    code's model in two roots) would show a spread of 0."""
    seen = {}
    for root, contents in weights:
        for content in sorted(contents):
            if content in seen:
                raise InputError(f"{root}: run {run} has the very weights (or sentence vectors) of the model in "
                                 f"{seen[content]} ({content}): one model twice is not two seeds; retrain it there "
                                 f"with its own seed (do_all.sh with seed = N and overwrite = 1)")
            seen[content] = root


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
    with hashed_once():  # the records of every seed's results name their models' training files
        compare(parse_args(argv))


def compare(args):
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
