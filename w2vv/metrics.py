"""Retrieval metrics (docs/method.md#metrics): average precision for validation, and the rank-based
figures of the test tables (R@K, median/mean rank, mIR).

Everything works on whole score matrices (queries × items) so that 1,000 × 1,000 or
5,000 × 5,000 tables need no Python loop per query. Equal scores keep the items' order (a stable
descending sort), as the original's validation did with Python's ``sorted(..., reverse=True)``; its
tester, CL and fusion ranked with ``np.argsort(scores)[::-1]``, an unstable sort reversed, which puts
tied items in no defined order (ties need equal scores to the last bit: a sentence with no known word).
"""
import numpy as np

BLOCK_ROWS = 512  # rows sorted at once: bounds the int64 index matrices a sort creates


def _row_blocks(n_rows, block_rows=BLOCK_ROWS):
    for start in range(0, n_rows, block_rows):
        yield slice(start, min(start + block_rows, n_rows))


def _as_table(scores, relevant):
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.ndim != 2 or scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be equal 2-D shapes")
    return scores, relevant


def descending_order(scores):
    """Item indices best first, per row; equal scores keep item order (stable), as the original.

    A stable sort costs twice an unstable one on float64, and ties are rare in real scores:
    sort unstably, then re-sort stably only the rows where two scores are equal."""
    negated = -np.asarray(scores)
    table = np.atleast_2d(negated)
    order = np.argsort(table, axis=-1)
    sorted_rows = np.take_along_axis(table, order, axis=-1)
    tied = (np.diff(sorted_rows, axis=-1) == 0).any(axis=-1)
    if tied.any():
        order[tied] = np.argsort(table[tied], axis=-1, kind="stable")
    return order.reshape(negated.shape)


def _average_precisions(scores, relevant):
    """AP of every row: the mean, over the relevant items, of the precision at their rank.

    A row without a relevant item scores 0, as the original's APScorer does."""
    hits = np.take_along_axis(relevant, descending_order(scores), axis=1)
    precision_at_rank = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    n_relevant = hits.sum(axis=1)
    summed = (precision_at_rank * hits).sum(axis=1)
    return np.divide(summed, n_relevant, out=np.zeros(len(hits)), where=n_relevant > 0)


def mean_average_precision(scores, relevant, block_rows=BLOCK_ROWS):
    """Mean AP over the rows of an (n_queries × n_items) table: the validation figure of the training rule."""
    scores, relevant = _as_table(scores, relevant)
    if len(scores) == 0:
        raise ValueError("mean_average_precision of an empty table")
    aps = np.concatenate([_average_precisions(scores[rows], relevant[rows])
                          for rows in _row_blocks(len(scores), block_rows)])
    return float(aps.mean())


def first_relevant_ranks(scores, relevant):
    """1-based rank of the first relevant item of every row, without sorting.

    Under the stable descending order the first relevant item is the relevant one with the
    best score (the lowest index among equals); its rank is 1 + the items scoring higher +
    the items scoring the same that come earlier. A row with no relevant item is an error:
    its rank, and so mIR, would be undefined."""
    scores, relevant = _as_table(scores, relevant)
    missing = np.flatnonzero(~relevant.any(axis=1))
    if len(missing):
        raise ValueError(f"{len(missing)} queries have no relevant item (first at row {missing[0]})")
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)
    first_index = np.argmax(relevant & (scores == best), axis=1)
    higher = (scores > best).sum(axis=1)
    earlier_equal = ((scores == best) & (np.arange(scores.shape[1]) < first_index[:, None])).sum(axis=1)
    return (1 + higher + earlier_equal).astype(np.int64)


def retrieval_metrics(ranks):
    """The test figures from the 1-based ranks of the first hit, as full-precision Python numbers.

    ``r1``, ``r5``, ``r10`` are FRACTIONS (0..1) of queries with a hit in the top K, not
    percents; ``medr`` and ``meanr`` are the median and mean rank, the median as the original's
    ``eval_perf`` took it, ``sorted(ranks)[n/2 - 1]`` (Python 2's integer division: the lower of the two
    middle ranks of an even count, the one below the middle of an odd one); ``mir`` the mean of 1/rank
    (the paper's figure); ``n_queries`` the number of ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 1 or len(ranks) == 0 or (ranks < 1).any():
        raise ValueError("ranks must be a non-empty 1-D array of ranks >= 1")
    return {
        "r1": float(np.mean(ranks <= 1)),
        "r5": float(np.mean(ranks <= 5)),
        "r10": float(np.mean(ranks <= 10)),
        "medr": float(np.sort(ranks)[len(ranks) // 2 - 1]),  # n = 1: index -1, the one rank
        "meanr": float(ranks.mean()),
        "mir": float(np.mean(1.0 / ranks)),
        "n_queries": int(len(ranks)),
    }


def mean_inverted_rank(scores, relevant):
    """mIR of a table: the figure the fusion weight is chosen by."""
    return float(np.mean(1.0 / first_relevant_ranks(scores, relevant)))
