"""Metrics (docs/method.md#metrics) on hand-made rankings whose answers are worked out by hand."""
import numpy as np
import pytest

from w2vv.metrics import first_relevant_ranks, mean_average_precision, mean_inverted_rank, retrieval_metrics


def one_hot(n_items, relevant_index):
    row = np.zeros(n_items, dtype=bool)
    row[relevant_index] = True
    return row


# Three queries over five items; the relevant item's rank is written beside each row.
SCORES = np.array([[0.9, 0.1, 0.5, 0.3, 0.2],    # item 2 ranks 2nd
                   [0.1, 0.2, 0.3, 0.4, 0.5],    # item 0 ranks 5th
                   [0.3, 0.8, 0.1, 0.2, 0.0]])   # item 1 ranks 1st
RELEVANT = np.array([one_hot(5, 2), one_hot(5, 0), one_hot(5, 1)])


def test_first_relevant_ranks_by_hand():
    assert first_relevant_ranks(SCORES, RELEVANT).tolist() == [2, 5, 1]


def test_first_relevant_rank_takes_the_best_of_several_relevant_items():
    relevant = np.array([[False, True, False, True, False]])  # items 1 (0.1) and 3 (0.3)
    assert first_relevant_ranks(SCORES[:1], relevant).tolist() == [3]


def test_ties_keep_item_order_like_a_stable_sort():
    scores = np.array([[0.5, 0.5, 0.5, 0.9]])
    assert first_relevant_ranks(scores, [[False, False, True, False]]).tolist() == [4]
    assert first_relevant_ranks(scores, [[True, False, False, False]]).tolist() == [2]
    assert first_relevant_ranks(scores, [[False, True, True, False]]).tolist() == [3]


def test_first_relevant_ranks_equal_a_sorting_loop_on_random_tables_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=(50, 30)) / 5.0  # many ties
    relevant = rng.random((50, 30)) < 0.1
    relevant[np.arange(50), rng.integers(0, 30, 50)] = True
    expected = [1 + int(np.flatnonzero(rel[np.argsort(-s, kind="stable")])[0])
                for s, rel in zip(scores, relevant)]
    assert first_relevant_ranks(scores, relevant).tolist() == expected


def test_a_query_without_relevant_item_is_an_error():
    with pytest.raises(ValueError, match="no relevant item"):
        first_relevant_ranks(SCORES, np.zeros_like(RELEVANT))


def test_retrieval_metrics_by_hand():
    metrics = retrieval_metrics([2, 5, 1])
    assert metrics == {"r1": 1 / 3, "r5": 1.0, "r10": 1.0, "medr": 1.0, "meanr": 8 / 3,  # medr: [1, 2, 5][3/2 - 1]
                       "mir": (1 / 2 + 1 / 5 + 1) / 3, "n_queries": 3}


def test_recall_is_a_fraction_and_the_median_is_the_originals_lower_middle():
    """The original's eval_perf: ``sorted(ranks)[n/2 - 1]`` in Python 2 (integer division)."""
    metrics = retrieval_metrics([12, 1, 7, 3])
    assert (metrics["r1"], metrics["r5"], metrics["r10"]) == (0.25, 0.5, 0.75)
    assert metrics["medr"] == 3.0
    assert [retrieval_metrics(r)["medr"] for r in ([4], [1, 2, 9], [5, 1, 2, 9, 7])] == [4.0, 1.0, 2.0]
    assert metrics["meanr"] == 5.75
    assert all(type(metrics[k]) is float for k in ("r1", "r5", "r10", "medr", "meanr", "mir"))


def test_mean_inverted_rank_of_a_table():
    assert mean_inverted_rank(SCORES, RELEVANT) == pytest.approx((1 / 2 + 1 / 5 + 1) / 3, abs=0)


def test_retrieval_metrics_refuse_bad_ranks():
    for ranks in ([], [0, 1], [[1, 2]]):
        with pytest.raises(ValueError):
            retrieval_metrics(ranks)


def average_precision(scores, relevant):
    """AP of one ranking: the mean AP of a table of one row."""
    return mean_average_precision(np.atleast_2d(scores), np.atleast_2d(relevant))


def test_average_precision_by_hand():
    # Ranked by score the relevance reads  T F T F  → (1/1 + 2/3) / 2.
    scores = np.array([0.2, 0.9, 0.1, 0.5])
    relevant = np.array([True, True, False, False])
    assert average_precision(scores, relevant) == pytest.approx((1 + 2 / 3) / 2)
    # Ranked order T T: AP 1; F F T: AP 1/3.
    assert average_precision([0.9, 0.8], [True, True]) == 1.0
    assert average_precision([0.9, 0.8, 0.1], [False, False, True]) == pytest.approx(1 / 3)


def test_average_precision_ties_and_no_relevant_item():
    assert average_precision([0.5, 0.5], [False, True]) == 0.5  # stable: item 0 first
    assert average_precision([0.5, 0.5], [False, False]) == 0.0  # the reference's APScorer


def looped_average_precision(scores, relevant):
    """The reference's APScorer, written plainly."""
    labels = [relevant[i] for i in sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)]
    n_relevant = sum(labels)
    if n_relevant == 0:
        return 0.0
    hits, ap = 0, 0.0
    for position, label in enumerate(labels, 1):
        if label:
            hits += 1
            ap += hits / position
    return ap / n_relevant


def test_vectorised_mean_average_precision_equals_a_loop_with_blocks_and_ties():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 8, size=(37, 23)) / 7.0
    relevant = rng.random((37, 23)) < 0.15
    expected = np.mean([looped_average_precision(s, r) for s, r in zip(scores, relevant)])
    for block_rows in (1, 5, 512):
        vectorised = mean_average_precision(scores, relevant, block_rows=block_rows)
        assert vectorised == pytest.approx(expected, rel=1e-12)


def test_mean_average_precision_refuses_mismatched_shapes():
    with pytest.raises(ValueError):
        mean_average_precision(np.zeros((2, 3)), np.zeros((3, 2), bool))


def test_descending_order_equals_a_stable_sort_with_and_without_ties():
    import numpy as np
    from w2vv.metrics import descending_order
    rng = np.random.default_rng(5)
    scores = rng.random((50, 40))
    scores[3] = 0.0                       # a zero vector's row: all tied
    scores[7, 10:20] = 0.5                # a run of ties
    scores[9] = np.round(scores[9], 1)    # many ties
    np.testing.assert_array_equal(descending_order(scores), np.argsort(-scores, axis=1, kind="stable"))
    np.testing.assert_array_equal(descending_order(scores[7]), np.argsort(-scores[7], kind="stable"))


def test_number_strings_of_float64_match_numpy():
    import numpy as np
    from w2vv.ranking import _number_strings
    values = np.array([[0.1, 1e-5, 1e16, -0.25, 1 / 3, 0.0, 123456789.123, 5e-324, 2.5e-7]])
    assert _number_strings(values) == values.astype(str).tolist()
