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

from . import layout
from .layout import METRICS_FILE, MIR_FILE, RANKING_FILE
from .atomic import atomic_open, remove_temporaries, write_text
from .errors import InputError
from .result_checks import check_current
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

def relevance(query_ids, item_ids):
    """(n_queries × n_items) bools: the item shows the query's image. Works for items that
    are images (CM: ``image_id`` of an image id is itself) and for English sentences (CL)."""
    codes = {}
    query_codes = np.array([codes.setdefault(layout.image_id(q), len(codes)) for q in query_ids])
    item_codes = np.array([codes.setdefault(layout.image_id(i), len(codes)) for i in item_ids])
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
    """Remove the record, rankings, figures and page of a results folder (``inputs.json`` and ``mir.txt`` first: the
    folder is then not done), before anything is written into it again: vectors written again without a ranking
    must not stand beside the ranking of other ones, nor a folder cut short by a kill pass for done under the record
    of before once its inputs are as they were. The files a writer killed left half-written go too (one of
    gigabytes, an English collection's vectors as text, stayed for good)."""
    for name in (layout.INPUTS_FILE, MIR_FILE, METRICS_FILE, RANKING_FILE, layout.RESULTS_PAGE):
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            os.remove(path)
    if os.path.isdir(out_dir):
        remove_temporaries(out_dir)


def write_results(out_dir, query_ids, item_ids, scores, relevant, extra=None):
    """Write ``sent.id.score.txt``, ``metrics.json`` and, last, ``mir.txt``; return the metrics. The folder's record
    and a results page drawn from the results replaced (``report_page.py``'s ``results.html``) are removed first
    (``remove_results``): the caller records the inputs once all is written.

    The dict (and ``metrics.json``) holds ``r1 r5 r10`` (fractions 0..1), ``medr``,
    ``meanr``, ``mir`` at full precision, ``n_sentences`` (queries) and ``n_items`` (images,
    or English sentences for CL), and the entries of ``extra``."""
    metrics = retrieval_metrics(first_relevant_ranks(scores, relevant))
    metrics["n_sentences"] = metrics.pop("n_queries")
    metrics["n_items"] = len(item_ids)
    metrics.update(extra or {})
    remove_results(out_dir)
    write_ranking(os.path.join(out_dir, RANKING_FILE), query_ids, item_ids, scores)
    write_text(os.path.join(out_dir, METRICS_FILE), json.dumps(metrics, indent=2) + "\n")
    write_text(os.path.join(out_dir, MIR_FILE), mir_text(metrics["mir"]))
    return metrics
