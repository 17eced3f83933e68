"""Runs compared as a reviewer would (``compare.py``): each run's test figures of CL, CM and CLM as the
mean ± standard deviation over its seeds, and the paired difference of two runs with a 95% bootstrap
interval over queries and seeds.

A seed is a root: the same run trained in several roots (copies of one, ``cp -al``, each with its own
``seed`` in the ini) gives one result folder per seed. Per query, a route's figures are those of the
test table (``w2vv.metrics.retrieval_metrics``): the inverse rank of the query's image (its mean is mIR)
and whether the image is in the top 1, 5, 10; they are read from the route's ``sent.id.score.txt``.

The interval of a difference A − B: ``draws`` times, seeds and queries are drawn with replacement
(seed i of A paired with seed i of B, the same queries for both) and the mean difference over the
drawn seeds × queries is taken; the interval holds the middle 95% of those means."""
import os
from dataclasses import dataclass, field

import numpy as np

from . import layout
from .errors import InputError
from .fingerprint import recorded_settings, traced_records
from .fusion_runs import require_not_validated_on, require_tested
from .layout import cl_dir, clm_dir, cm_dir
from .metrics import first_relevant_ranks
from .pivot_space import own_image_towers
from .ranking import read_ranking, relevance
from .result_checks import MODEL_SETTINGS, check_current, require_a_test_split, require_computed_alike

ROUTES = {"CL": cl_dir, "CM": cm_dir, "CLM": clm_dir}
METRICS = ("mir", "r1", "r5", "r10")
METRIC_NAMES = {"mir": "mIR", "r1": "R@1", "r5": "R@5", "r10": "R@10"}


@dataclass
class RouteFigures:
    """One route of one run: per seed, per query, each metric (``values[metric]``: seeds × queries)."""
    query_ids: list
    values: dict


@dataclass
class ResultsTrace:
    """What the results of a folder rest on, as their records say, followed back (``fingerprint.traced_records``):
    there even when a model's folder was deleted since, to save space. ``models``: {checkpoint folder:
    {fingerprints of its weights}}; ``data``: {data file relative to the root (captions, ImageSets, features):
    {fingerprints}}, not other results (each seed's own); ``settings``: {checkpoint folder: its run settings as a
    results record holds them (``result_checks.MODEL_SETTINGS``), or None}; ``vectors``: {sentence vectors file
    (``sent_feat.txt``): {fingerprints}}; ``complete``: False where results on the way have no record (the original
    code's), so that ``data`` names only some of what they rest on."""
    models: dict
    data: dict
    settings: dict
    vectors: dict = field(default_factory=dict)
    complete: bool = True

    def test_data(self):
        """The caption and ImageSets files of ``data``: the sentences and images tested on."""
        return {name: content for name, content in self.data.items()
                if os.path.basename(os.path.dirname(name)) in ("TextData", "ImageSets")}


def results_trace(root, folder):
    """The ``ResultsTrace`` of the results in ``folder`` of ``root``."""
    trace = ResultsTrace({}, {}, {})
    for record, files in traced_records(os.path.join(folder, layout.INPUTS_FILE)):
        if not files and layout.SIMILARITY_INDEX in record.split(os.sep) and \
                os.path.dirname(record) != os.path.abspath(folder):
            trace.complete = False
        for path, content in files.items():
            parent = os.path.dirname(path)
            if layout.is_checkpoint_dir(parent):
                trace.models.setdefault(parent, set()).add(content)
                if trace.settings.get(parent) is None:
                    trace.settings[parent] = recorded_settings(record).get(MODEL_SETTINGS)
            elif layout.SIMILARITY_INDEX not in path.split(os.sep):
                trace.data.setdefault(os.path.relpath(path, root), set()).add(content)
            elif os.path.basename(path) == layout.SENT_FEAT_FILE:
                trace.vectors.setdefault(path, set()).add(content)
    return trace


def require_same_data(items, why, files_of=lambda trace: trace.data):
    """InputError unless, route by route, the data (``files_of`` a ``ResultsTrace``) of each of ``items``
    (``(who, there, {route: ResultsTrace})``: ``who`` its results are named by in a message, ``there`` by when
    they are the reference) are those of the first item with any for that route. Results without records (the
    original code's) are not checked; of a trace that is not ``complete``, what both name."""
    first = {}
    for who, there, routes in items:
        for route, trace in sorted(routes.items()):
            files = files_of(trace)
            if not files:
                continue
            if route not in first:
                first[route] = (there, trace.complete, files)
                continue
            reference_there, reference_complete, reference = first[route]
            if not (trace.complete and reference_complete):
                both = set(reference) & set(files)
                reference, files = ({name: f[name] for name in both} for f in (reference, files))
            require_same_files(reference, files, f"{who}'s {route} results were computed from", reference_there, why)


def require_same_files(first, files, computed_from, there, why):
    """InputError unless ``files`` ({file: {fingerprints}}) are ``first``'s, holding the same content."""
    extra, lacking = sorted(set(files) - set(first)), sorted(set(first) - set(files))
    if extra or lacking:
        which = f"{extra[0]}, unlike those {there}" if extra else f"other files than those {there} ({lacking[0]})"
        raise InputError(f"{computed_from} {which}: {why}: run do_all.sh with the same collections and files")
    for name in sorted(files):
        if files[name] != first[name]:
            raise InputError(f"{computed_from} {name} holding other content than {there} "
                             f"({', '.join(sorted(files[name]))}, there {', '.join(sorted(first[name]))}): {why}: "
                             f"make the file the same, and run do_all.sh again where it changed")


def require_same_test_data(root, routes_of_runs):
    """InputError unless the runs of one table were tested on the same sentences and images
    (``{run: {route: ResultsTrace}}``, in ``root``): by their CM and CL results, on whose test data CLM rests
    too (its weight chosen on each run's val)."""
    require_same_data([(f"{root}: run {run}", f"of run {run}",
                        {route: routes[route] for route in ("CM", "CL") if route in routes})
                       for run, routes in routes_of_runs.items()],
                      "runs in one table are compared on the same test data", ResultsTrace.test_data)


def per_query(folder):
    """(query ids, {metric: (queries,) array}) of a results folder's ``sent.id.score.txt``; InputError when the
    folder was computed from files that changed since (a model retrained, CL or CLM not run again)."""
    check_current(folder)
    query_ids, image_ids, scores = read_ranking(f"{folder}/{layout.RANKING_FILE}")
    ranks = first_relevant_ranks(scores, relevance(query_ids, image_ids)).astype(np.float64)
    return query_ids, {"mir": 1.0 / ranks, "r1": ranks <= 1, "r5": ranks <= 5, "r10": ranks <= 10}


def route_figures(roots, run, route, query_test, query_train):
    """The ``RouteFigures`` of ``run``'s ``route`` over the seeds ``roots``; InputError when a seed has no
    results of it, or ranks other queries than the first."""
    for root in roots:
        require_tested(root, run, query_test, query_train)
    folders = [ROUTES[route](root, run, query_test, query_train) for root in roots]
    for root, folder in zip(roots, folders):
        if os.path.isfile(os.path.join(folder, layout.RANKING_FILE)):
            continue
        if route != "CM" and own_image_towers(cm_dir(root, run, query_test, query_train)):
            raise InputError(f"{folder}: run {run} has no CL and no CLM (it trained its own image towers, "
                             f"image_towers = 'own'): compare it by --routes CM")
        raise InputError(f"{folder}: no {route} results of run {run} (run do_all.sh for it there, or leave "
                         f"{route} out: --routes {' '.join(r for r in ROUTES if r != route)})")
    require_computed_alike(route, folders)
    for root, folder in zip(roots, folders):
        require_a_test_split(folder, query_test)
        require_not_validated_on(root, run, query_test, query_train)
    seeds = [(folder, *per_query(folder)) for folder in folders]
    first_folder, query_ids, _ = seeds[0]
    for folder, ids, _ in seeds[1:]:
        if ids != query_ids:
            raise InputError(f"{folder}: ranks other queries than {first_folder}")
    values = {m: np.stack([np.asarray(figures[m], np.float64) for _, _, figures in seeds]) for m in METRICS}
    return RouteFigures(query_ids, values)


def require_same_queries(figures):
    """InputError unless every ``RouteFigures`` of ``figures`` ({(run, route): …}) ranks the same test sentences:
    the table's one count of queries, and its rows, are of one test set (a ranking cut short, or written for
    another, would be averaged over other queries in silence)."""
    (first_run, first_route), first = next(iter(figures.items()))
    for (run, route), those in figures.items():
        if set(those.query_ids) != set(first.query_ids):
            raise InputError(f"{run} {route}: ranks {len(those.query_ids)} queries, {first_run} {first_route} "
                             f"{len(first.query_ids)}, not the same ones: a ranking cut short or written for another "
                             f"test set; run do_all.sh for that run again")


def summary(figures):
    """{metric: (mean over seeds, standard deviation over seeds)} of one route (sd NaN for one seed: a single
    draw has no spread to measure)."""
    out = {}
    for metric, table in figures.values.items():
        per_seed = table.mean(axis=1)
        out[metric] = (float(per_seed.mean()), float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan"))
    return out


MIN_DRAWS = 100  # fewer draws than this give no 95% interval (one draw: "[x, x]", not around the mean)


def paired_difference(a, b, draws=10000, seed=0, chunk=1000):
    """{metric: (A − B mean, 2.5th and 97.5th percentile of the bootstrap means)} of two runs' figures
    of one route (``RouteFigures`` with the same seeds count and queries)."""
    if a.query_ids != b.query_ids:
        raise InputError("the two runs rank other queries: compare runs tested on the same collection")
    rng = np.random.default_rng(seed)
    n_seeds, n_queries = a.values["mir"].shape
    means = {m: [] for m in METRICS}
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=size)
        query_counts = rng.multinomial(n_queries, np.full(n_queries, 1 / n_queries), size=size)
        for m in METRICS:
            difference = a.values[m] - b.values[m]
            means[m].append(np.einsum("bs,sq,bq->b", seed_counts, difference, query_counts) / (n_seeds * n_queries))
    return {m: (float((a.values[m] - b.values[m]).mean()), *np.percentile(np.concatenate(means[m]), [2.5, 97.5]))
            for m in METRICS}


def format_summary(rows, n_seeds, test, n_queries):
    """The table of ``rows`` ((run, route, ``summary``) triples) of ``n_queries`` queries of collection ``test``."""
    width = max(len(run) for run, _, _ in rows) + 2
    tested = f"test figures on {test} ({n_queries} queries)"
    title = (f"{tested}, mean ± sd over {seeds(n_seeds)} (the sample sd of the seeds' figures)" if n_seeds > 1 else
             f"{tested} of 1 seed (no sd: give --rootpath once per seed, each root trained with its own seed)")
    lines = [title, "run".ljust(width) + "route  " + "".join(METRIC_NAMES[m].ljust(16) for m in METRICS).rstrip()]
    for run, route, figures in rows:
        cells = "".join(_mean_sd(*figures[m]).ljust(16) for m in METRICS)
        lines.append(run.ljust(width) + route.ljust(7) + cells.rstrip())
    return "\n".join(lines) + "\n"


def seeds(n):
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _mean_sd(mean, sd):
    return f"{mean:.3f}" if np.isnan(sd) else f"{mean:.3f} ± {sd:.3f}"


def format_differences(run_a, run_b, rows, n_seeds, n_queries, draws):
    """The paired differences of ``rows`` ((route, ``paired_difference``) pairs)."""
    over = f"{seeds(n_seeds)} × {n_queries} queries" if n_seeds > 1 else (
        f"the {n_queries} queries of 1 seed (the queries' spread only, not the seeds': give --rootpath once per "
        f"seed)")
    lines = [f"{run_a} − {run_b}: paired difference, 95% bootstrap interval over {over} ({draws} draws)",
             "route  metric  difference  interval"]
    for route, differences in rows:
        for m in METRICS:
            mean, low, high = differences[m]
            lines.append(f"{route.ljust(7)}{METRIC_NAMES[m].ljust(8)}{mean:+.3f}      [{low:+.3f}, {high:+.3f}]")
    return "\n".join(lines) + "\n"
