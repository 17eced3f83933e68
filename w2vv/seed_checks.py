"""Whether the roots compared hold seeds of one run (``compare.py``): each run's models, as the records of its
results name them, differ by their seed alone (the query language's model by a seed of its own, with weights of its
own), and every root's results rest on the same data, so that the spread measured is the seed's. ``asked``: what
``compare.py`` was asked, with the attributes ``rootpath`` (the roots), ``runs``, ``routes`` and the collections
``query_train``, ``query_val``, ``query_test``, ``en_train``, ``en_val``."""
import os

from . import comparison, languages, layout, runs
from .errors import InputError
from .fingerprint import entry_path
from .pivot_space import own_image_towers
from .result_checks import require_one_model_per_run


def check_seed_draws(asked):
    """InputError when the roots of a run do not hold one run drawn with several seeds: the query language's
    model with a seed repeated, or its very weights in two roots (no spread to measure), or either model, that
    one or the English one its routes rest on (as the results' records name them), of other settings or input
    files, or results computed from other data (the spread would be theirs, not the seed's); or when the runs
    of the table were tested on other sentences or images. The English model may be one for all seeds (a root
    copied with it): then the spread is the query language's model's alone."""
    traces = {run: [_route_traces(root, run, asked) for root in asked.rootpath] for run in asked.runs}
    for run, per_root in traces.items():
        comparison.require_same_data([(f"{root}: run {run}", f"in {root}",
                                       {route: routes[route] for route in asked.routes})
                                      for root, routes in zip(asked.rootpath, per_root)],
                                     "seeds are compared on the same data")
        models = [_Models(root, run, asked, routes) for root, routes in zip(asked.rootpath, per_root)]
        _check_distinct_weights(run, [(m.root, m.weights.get(m.query, set()) | m.query_vectors) for m in models])
        for distinct_seeds, folders in ((True, [m.query for m in models]), (False, [m.english() for m in models])):
            settings = [(m.root, folder, m.settings_of(folder)) for m, folder in zip(models, folders) if folder]
            _check_seed_draws(run, [(root, layout.checkpoint_parts(folder)[1], each)
                                    for root, folder, each in settings if each], distinct_seeds)
    comparison.require_same_test_data(asked.rootpath[0], {run: per_root[0] for run, per_root in traces.items()})


def _route_traces(root, run, asked):
    """{route: ``comparison.ResultsTrace``} of the three routes of ``run``'s results in ``root``."""
    folders = {route: comparison.ROUTES[route](root, run, asked.query_test, asked.query_train)
               for route in comparison.ROUTES}
    asked = [folders[route] for route in asked.routes]
    require_one_model_per_run(asked)  # CLM's weight chosen by the model of one val, CM ranked by another's
    return {route: comparison.results_trace(root, folder) for route, folder in folders.items()}


class _Models:
    """The models that ``run``'s results in ``root`` rest on, from their records (``routes``: {route:
    ``ResultsTrace``}): the query language's, and the English one of CL or of a successor's image towers."""

    def __init__(self, root, run, asked, routes):
        self.root, self.run, self.asked = root, run, asked
        self.weights = {}  # {checkpoint: {fingerprints}} of the routes asked
        self.query_vectors = set()  # the fingerprints of the query model's test sentence vectors CL records
        cm = comparison.ROUTES["CM"](root, run, asked.query_test, asked.query_train)
        vectors = os.path.abspath(os.path.join(cm, layout.SENT_FEAT_FILE))
        for route in asked.routes:
            for checkpoint, contents in routes[route].models.items():
                self.weights.setdefault(checkpoint, set()).update(contents)
            self.query_vectors.update(routes[route].vectors.get(vectors, ()))
        self.recorded = {}  # {checkpoint: settings a results record holds, or None} of the three routes
        for trace in routes.values():
            for checkpoint, settings in trace.settings.items():
                if self.recorded.get(checkpoint) is None:
                    self.recorded[checkpoint] = settings
        self.own_towers = own_image_towers(cm)
        self.query = self._used(languages.language_of(asked.query_train)) or \
            _folder(root, asked.query_train, asked.query_val, run)

    def english(self):
        """The English model's checkpoint folder, or None where the routes asked rest on none (W2VV's CM, a
        successor's with its own image towers)."""
        found = self._used(languages.PIVOT) or self._towers_from()
        if found or self.own_towers or not {"CL", "CLM"} & set(self.asked.routes):
            return found
        query, english = (self.asked.query_train, self.asked.query_val), (self.asked.en_train, self.asked.en_val)
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
    """``check_seed_draws`` of the query model's weights and test sentence vectors, ``[(root, {fingerprints})]``: one
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
    """``check_seed_draws`` of one model's ``(root, its training collection, settings)``."""
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
