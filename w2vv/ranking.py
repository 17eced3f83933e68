"""Cosine ranking and the result files of a test folder (docs/method.md#testing-a-model-cm):
``sent_feat.txt`` (predicted sentence vectors), ``sent.id.score.txt`` (every item ranked,
best first), ``mir.txt`` (the original's one-line figure) and ``metrics.json`` (all
figures at full precision, for the report and for scripts).

Cosines are computed in float64 like the original (its float32 vectors meet numpy float64
arithmetic): a test table recomputed from the fixture's ``sent_feat.txt`` matches its
``sent.id.score.txt`` to 1e-15. Every file is written atomically.
"""
import itertools
import json
import os

import numpy as np

from . import languages, layout
from .layout import METRICS_FILE, MIR_FILE, RANKING_FILE
from .atomic import atomic_open, write_text
from .errors import InputError
from .fingerprint import changed_entry, recorded_settings, recorded_trace, traced_records, traced_sources
from .textfile import read_lines
from .metrics import (BLOCK_ROWS, descending_order, first_relevant_ranks, mean_inverted_rank,
                      retrieval_metrics)


# ---------------------------------------------------------------- cosine

def unit_rows(x, dtype=np.float32):
    """Rows scaled to unit length in ``dtype``; an all-zero row (a sentence with no known word
    at test time) stays zero instead of becoming NaN, so it simply scores 0 everywhere."""
    x = np.asarray(x, dtype=dtype)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def l2_normalize(x):
    """``unit_rows`` in float64, as the rankings are computed."""
    return unit_rows(x, np.float64)


def cosine_scores(queries, items, block_rows=BLOCK_ROWS):
    """(n_queries × n_items) float64 cosines. Queries are normalised one block at a time so
    that only the items and one block of queries exist in float64 beside the result."""
    queries = np.asarray(queries)
    unit_items_t = l2_normalize(items).T
    out = np.empty((len(queries), unit_items_t.shape[1]), dtype=np.float64)
    for start in range(0, len(queries), block_rows):
        rows = slice(start, start + block_rows)
        np.matmul(l2_normalize(queries[rows]), unit_items_t, out=out[rows])
    return out


# ---------------------------------------------------------------- hits

def relevance(query_ids, item_ids, to_image=layout.image_id):
    """(n_queries × n_items) bools: the item shows the query's image. Works for items that
    are images (CM: ``image_id`` of an image id is itself) and for English sentences (CL)."""
    codes = {}
    query_codes = np.array([codes.setdefault(to_image(q), len(codes)) for q in query_ids])
    item_codes = np.array([codes.setdefault(to_image(i), len(codes)) for i in item_ids])
    return query_codes[:, None] == item_codes[None, :]


# ---------------------------------------------------------------- reading helpers

def _lines(path, what):
    """(lineno, fields) of the non-blank lines of a UTF-8 text file; InputError when it is
    missing, not text, or empty."""
    rows = [(lineno, line.split()) for lineno, line in enumerate(read_lines(path, what), 1) if line.strip()]
    if not rows:
        raise InputError(f"{path}: {what} is empty")
    return rows


def _floats(path, lineno, tokens):
    """The tokens as float64, refusing text and NaN/inf (a diverged model must not rank)."""
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        raise InputError(f"{path}:{lineno}: expected numbers, got {' '.join(tokens)[:60]!r}") from None
    if not np.isfinite(values).all():
        raise InputError(f"{path}:{lineno}: NaN or infinite value")
    return values


def _check_unique(path, lineno, name, seen, what):
    if name in seen:
        raise InputError(f"{path}:{lineno}: {what} {name} repeated (first on line {seen[name]})")
    seen[name] = lineno


def _number_strings(values):
    """Shortest strings that read back to exactly these values (numpy's repr for the dtype).
    float64 rows go through Python's float repr (the same shortest strings, 1.75x faster)."""
    values = np.asarray(values)
    if values.dtype == np.float64:
        return [list(map(repr, row)) for row in values.tolist()]
    return values.astype(str)


# ---------------------------------------------------------------- sent_feat.txt

def write_sent_feat(path, ids, vectors):
    """``sentid v1 … vD`` a line; numbers at repr precision, so reading gives the same vectors."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape}")
    with atomic_open(path) as f:
        for sent_id, numbers in zip(ids, _number_strings(vectors)):
            f.write(f"{sent_id} {' '.join(numbers)}\n")


def read_sent_feat(path, dtype=np.float32):
    """(ids, (n × D) array) from a ``sent_feat.txt``; InputError (file:line) on a line without
    a vector, a non-number, a dimension unlike the first line's, or a repeated id."""
    lines = _lines(path, "sentence-vector file")
    first_lineno, dim = lines[0][0], len(lines[0][1]) - 1
    ids, vectors, seen = [], [], {}
    for lineno, fields in lines:
        if len(fields) < 2:
            raise InputError(f"{path}:{lineno}: expected 'sentid v1 ... vD', got an id alone")
        if len(fields) - 1 != dim:
            raise InputError(f"{path}:{lineno}: {len(fields) - 1} values, expected {dim} like line {first_lineno}")
        _check_unique(path, lineno, fields[0], seen, "sentence id")
        ids.append(fields[0])
        vectors.append(_floats(path, lineno, fields[1:]))
    return ids, np.array(vectors, dtype=dtype)


# ---------------------------------------------------------------- sent.id.score.txt

def _ranking_lines(query_ids, item_ids, scores, block_rows=BLOCK_ROWS):
    """``sentid item1 s1 item2 s2 …`` for every query, items best first (stable on ties)."""
    item_ids = np.asarray(item_ids, dtype=object)
    for start in range(0, len(query_ids), block_rows):
        block = np.asarray(scores[start:start + block_rows], dtype=np.float64)
        order = descending_order(block)
        ranked_scores = _number_strings(np.take_along_axis(block, order, axis=1))
        for query_id, items, values in zip(query_ids[start:start + block_rows], item_ids[order],
                                           ranked_scores):
            yield f"{query_id} {' '.join(itertools.chain.from_iterable(zip(items, values)))}\n"


def write_ranking(path, query_ids, item_ids, scores):
    """The ranking file: every item of every query, best first, scores at repr precision."""
    scores = np.asarray(scores)
    if scores.shape != (len(query_ids), len(item_ids)):
        raise ValueError(f"scores {scores.shape} do not match {len(query_ids)} queries × {len(item_ids)} items")
    with atomic_open(path) as f:
        f.writelines(_ranking_lines(list(query_ids), item_ids, scores))


def _parse_ranking_line(path, lineno, fields):
    if len(fields) < 3 or len(fields) % 2 == 0:
        raise InputError(f"{path}:{lineno}: expected 'sentid item1 score1 item2 score2 ...'")
    items = fields[1::2]
    if len(set(items)) != len(items):
        raise InputError(f"{path}:{lineno}: an item is listed twice")
    return items, _floats(path, lineno, fields[2::2])


def read_ranking(path):
    """(query_ids, item_ids, scores) from a ``sent.id.score.txt``.

    ``item_ids`` is the sorted list of the items (so it does not depend on any score) and
    ``scores`` the float64 (n_queries × n_items) table in that column order. Every line must
    rank the same items as the first, as the original writes them; otherwise InputError."""
    lines = _lines(path, "ranking file")
    first_lineno = lines[0][0]
    column = {item: j for j, item in enumerate(sorted(_parse_ranking_line(path, *lines[0])[0]))}
    query_ids, seen = [], {}
    scores = np.empty((len(lines), len(column)))
    for row, (lineno, fields) in enumerate(lines):
        items, values = _parse_ranking_line(path, lineno, fields)
        if len(items) != len(column) or not all(item in column for item in items):
            raise InputError(f"{path}:{lineno}: ranks other items than line {first_lineno}")
        _check_unique(path, lineno, fields[0], seen, "query id")
        scores[row, [column[item] for item in items]] = values
        query_ids.append(fields[0])
    return query_ids, list(column), scores


# ---------------------------------------------------------------- mir.txt, metrics.json

def mir_text(mir):
    """The original's ``mir.txt`` line: mIR rounded to 3 decimals, printed the way Python
    prints the rounded float (the fixtures hold ``mean_invert_r: 0.12`` for 0.120)."""
    return f"mean_invert_r: {round(float(mir), 3)!r}\n"


def read_mir(path):
    fields = _lines(path, "mir file")[0][1]
    if len(fields) != 2 or fields[0] != "mean_invert_r:":
        raise InputError(f"{path}:1: expected 'mean_invert_r: <number>'")
    return float(_floats(path, 1, fields[1:])[0])


def read_metrics(path, required=("mir",)):
    """The dict of a ``metrics.json``; InputError when missing, not JSON, or lacking a key."""
    try:
        with open(path, encoding="utf-8") as f:
            metrics = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: metrics file not found (run that stage first)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a JSON metrics file ({e})") from None
    lacking = [key for key in required if not isinstance(metrics, dict) or key not in metrics]
    if lacking:
        raise InputError(f"{path}: no {lacking[0]!r} entry")
    return metrics


# A results record's copy of the run record of the model it was computed by (testing.py writes it; compare.py reads
# it where the model's folder was deleted since, to save space).
MODEL_SETTINGS = "model_settings"


def check_current(folder):
    """InputError when a results folder was computed from files that changed since, however indirectly (its
    ``inputs.json``, followed back: ``fingerprint.traced_sources``): a model retrained, CL or CLM not run again
    after it, a CLM whose CL rests on English vectors computed again; or by a model trained with files that changed
    since (its training captions edited, its vocabulary built again). A folder without a record (the original
    code's) counts as current."""
    record = os.path.join(folder, layout.INPUTS_FILE)
    changed = traced_sources(record)[1]
    if changed:
        raise InputError(f"{folder}: computed from {changed[0]}, which changed since: its results are stale; "
                         f"run do_all.sh again for this run (its stages redo what is not current)")
    stale_model = next(_changed_training_inputs(record), None)
    if stale_model:
        checkpoint, training_input = stale_model
        raise InputError(f"{folder}: computed by the model {checkpoint}, trained with {training_input}, which changed "
                         f"since: a model of other data than the root holds now; run do_all.sh again for this run "
                         f"(its trainer says how to retrain it)")


def _changed_training_inputs(record_file):
    """(checkpoint folder, a file it was trained with that changed since) of the models the results of
    ``record_file`` rest on, followed back, as the copies of their run records in the tester's results hold them
    (``MODEL_SETTINGS``: there when a model's folder was deleted since). The English model a successor's took its
    image towers from is ``pivot_space``'s to check, with its own message."""
    for record, files in traced_records(record_file):
        settings = recorded_settings(record).get(MODEL_SETTINGS)
        checkpoints = [os.path.dirname(path) for path in files if layout.is_checkpoint_dir(os.path.dirname(path))]
        if settings and checkpoints:
            root = layout.checkpoint_parts(checkpoints[0])[0]
            own = languages.LANGUAGES[settings["language"]].own_inputs(root) \
                if settings.get("language") in languages.LANGUAGES else None
            changed = changed_entry(settings, root, skip={"image_towers_from"}, own=own)
            if changed:
                yield checkpoints[0], changed


def traced_models(folder):
    """[(checkpoint folder, (root, train, val, run) of it)] of the models whose files the results of ``folder``
    rest on, as their records say (``fingerprint.recorded_trace``: there even when a model's folder was deleted)."""
    checkpoints = (os.path.dirname(path) for path, _ in recorded_trace(os.path.join(folder, layout.INPUTS_FILE)))
    return [(checkpoint, layout.checkpoint_parts(checkpoint)) for checkpoint in checkpoints
            if layout.is_checkpoint_dir(checkpoint)]


def require_one_model_per_run(folders, expected=()):
    """InputError when the results of ``folders`` rest, as their records say (followed back), on two models of
    one run name and training collection trained on other val collections, or on another than the checkpoint
    folders ``expected`` of these: such runs share the folders of their results
    (``<test>/SimilarityIndex/<train>/<run>/``), the one tested last holding them."""
    seen = {}
    for checkpoint in expected:
        _, train, val, run = layout.checkpoint_parts(checkpoint)
        seen[train, run] = (val, f"not by {checkpoint}, the model asked")
    for folder in folders:
        for checkpoint, (_, train, val, run) in traced_models(folder):
            first_val, other = seen.setdefault((train, run), (val, f"but {folder} by {checkpoint}"))
            if first_val != val:
                raise InputError(f"{folder}: computed by the model {checkpoint}, {other}: runs of one name trained on "
                                 f"two val collections share their results' folders, the one tested last holding "
                                 f"them; run do_all.sh for this run from stage 2 (its stages test it again); to keep "
                                 f"both runs' results, train one of them in another root")


def require_a_test_split(folder, query_test):
    """InputError when ``folder``'s results, given as test figures on ``query_test``, rest on a choice made on
    that collection, as its records say: a model's best epoch (its checkpoint's val) or the CLM weight."""
    record = os.path.join(folder, layout.INPUTS_FILE)
    chosen = [f"the CLM weight ({record})"] if recorded_settings(record).get("weight_chosen_on") == query_test else []
    for checkpoint, (_, _, val, _) in traced_models(folder):
        if val == query_test:
            chosen.append(f"the best epoch of {checkpoint}")
    if chosen:
        raise InputError(f"{folder}: {query_test} is the collection {chosen[0]} was chosen on: figures on it would "
                         f"flatter the model; give the test collection (--query_test)")


# The settings a result folder without them in its record was computed with: the paper's (fusion on scores).
RESULT_SETTINGS = {"rank_norm": 0}


def require_computed_alike(route, folders):
    """InputError unless the result ``folders`` of ``route`` (a run's seeds, or runs compared) were computed
    alike (fuse.py's ``rank_norm``): a mean over two fusions is neither's, a difference between them not the
    models'."""
    def settings_of(folder):  # the settings of the computation (not the split a weight was chosen on)
        recorded = recorded_settings(os.path.join(folder, layout.INPUTS_FILE))
        return {key: recorded.get(key, default) for key, default in RESULT_SETTINGS.items()}

    first = settings_of(folders[0])
    for folder in folders[1:]:
        settings = settings_of(folder)
        if settings != first:
            key = next(k for k in sorted({*first, *settings}) if first.get(k) != settings.get(k))
            raise InputError(f"{folder}: {route} computed with {key} = {settings.get(key)}, but {folders[0]} with "
                             f"{key} = {first.get(key)}: results compared must be computed alike (set {key} alike "
                             f"in the inis and run do_all.sh again)")


def read_run_mir(folder):
    """Full-precision mIR of a results folder: from its ``metrics.json``, or, for a folder the
    original code wrote (``mir.txt`` holds only 3 decimals, no metrics.json), recomputed from
    its ``sent.id.score.txt`` with a hit = the sentence's image. InputError when neither exists,
    or when the folder is stale (``check_current``)."""
    check_current(folder)
    metrics_path, ranking_path = os.path.join(folder, METRICS_FILE), os.path.join(folder, RANKING_FILE)
    if os.path.isfile(metrics_path):
        return float(read_metrics(metrics_path)["mir"])
    if not os.path.isfile(ranking_path):
        raise InputError(f"{metrics_path}: metrics file not found, nor {RANKING_FILE} beside it "
                         f"(run that stage first)")
    query_ids, item_ids, scores = read_ranking(ranking_path)
    return mean_inverted_rank(scores, relevance(query_ids, item_ids))


def is_done(out_dir):
    """A results folder is complete when its ``mir.txt``, written last, and the ranking beside it exist (a
    ranking deleted by hand is computed again: the stages after read it)."""
    return all(os.path.isfile(os.path.join(out_dir, name)) for name in (MIR_FILE, RANKING_FILE))


def remove_results(out_dir):
    """Remove the rankings, figures and page of a results folder (``mir.txt`` first: the folder is then not done):
    vectors written again without a ranking must not stand beside the ranking of other ones."""
    for name in (MIR_FILE, METRICS_FILE, RANKING_FILE, layout.RESULTS_PAGE):
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            os.remove(path)


def write_results(out_dir, query_ids, item_ids, scores, relevant, extra=None):
    """Write ``sent.id.score.txt``, ``metrics.json`` and, last, ``mir.txt``; return the metrics. A results page
    drawn from the results replaced (``report_page.py``'s ``results.html``) is removed first.

    The dict (and ``metrics.json``) holds ``r1 r5 r10`` (fractions 0..1), ``medr``,
    ``meanr``, ``mir`` at full precision, ``n_sentences`` (queries) and ``n_items`` (images,
    or English sentences for CL), and the entries of ``extra``."""
    metrics = retrieval_metrics(first_relevant_ranks(scores, relevant))
    metrics["n_sentences"] = metrics.pop("n_queries")
    metrics["n_items"] = len(item_ids)
    metrics.update(extra or {})
    page = os.path.join(out_dir, layout.RESULTS_PAGE)
    if os.path.isfile(page):
        os.remove(page)
    write_ranking(os.path.join(out_dir, RANKING_FILE), query_ids, item_ids, scores)
    write_text(os.path.join(out_dir, METRICS_FILE), json.dumps(metrics, indent=2) + "\n")
    write_text(os.path.join(out_dir, MIR_FILE), mir_text(metrics["mir"]))
    return metrics
