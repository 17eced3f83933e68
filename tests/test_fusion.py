"""CL and fusion (docs/method.md#cross-lingual-matching-cl, #fusion-clm) on small hand-made score tables."""
import numpy as np
import pytest

from w2vv.fusion import WEIGHT_GRID, best_weight, cross_lingual, fuse, rank_normalize, scores_by_image
from w2vv.ranking import relevance
from w2vv.results_table import format_table


def test_relevance_for_images_and_for_sentences():
    queries = ["a#zh0", "b#zh0"]
    assert relevance(queries, ["b", "a", "c"]).tolist() == [[False, True, False], [True, False, False]]
    assert relevance(queries, ["a#0", "b.jpg#1", "a#2"]).tolist() == [[True, False, True],
                                                                       [False, True, False]]


def test_cross_lingual_scores_are_cosines_and_hits_share_the_image():
    zh_ids, zh_vecs = ["a#0", "b#0"], np.array([[3.0, 0.0], [1.0, 1.0]], np.float32)
    en_ids, en_vecs = ["b#0", "a#0"], np.array([[0.0, 2.0], [1.0, 0.0]], np.float32)
    scores, relevant = cross_lingual(zh_ids, zh_vecs, en_ids, en_vecs)
    assert scores == pytest.approx(np.array([[0.0, 1.0], [np.sqrt(0.5), np.sqrt(0.5)]]))
    assert scores.dtype == np.float64
    assert relevant.tolist() == [[False, True], [True, False]]


def test_scores_by_image_takes_the_best_sentence_and_follows_the_image_order():
    sentences = ["b#0", "a#0", "b#1", "c#0"]
    scores = np.array([[0.1, 0.2, 0.7, 0.3],
                       [0.9, 0.4, 0.5, 0.6]])
    table = scores_by_image(sentences, scores, ["c", "a", "b"])
    assert table.tolist() == [[0.3, 0.2, 0.7], [0.6, 0.4, 0.9]]


def test_scores_by_image_with_one_sentence_per_image_only_relabels_columns():
    scores = np.arange(6.0).reshape(2, 3)
    assert scores_by_image(["x#0", "y#0", "z#0"], scores, ["z", "x", "y"]).tolist() == [[2, 0, 1], [5, 3, 4]]


@pytest.mark.parametrize("image_order", [["a", "b", "c"], ["a"]])
def test_scores_by_image_refuses_other_images(image_order):
    with pytest.raises(ValueError, match="images differ"):
        scores_by_image(["a#0", "b#0"], np.zeros((1, 2)), image_order)


def test_rank_normalize_by_hand_with_a_stable_tie():
    table = rank_normalize([[0.2, 0.9, 0.5], [7.0, 7.0, -1.0]])
    # ranks 3 1 2 → 1 − r/3 ; the tie keeps item order: ranks 1 2 3
    assert table == pytest.approx(np.array([[0.0, 2 / 3, 1 / 3], [2 / 3, 1 / 3, 0.0]]))


def test_fuse_is_the_weighted_sum():
    cl, cm = np.array([[1.0, 0.0]]), np.array([[0.2, 0.6]])
    assert fuse(cl, cm, 0.0).tolist() == cm.tolist()
    assert fuse(cl, cm, 1.0).tolist() == cl.tolist()
    assert fuse(cl, cm, 0.25) == pytest.approx(np.array([[0.4, 0.45]]))


def test_fuse_with_rank_normalisation_fuses_the_normalised_tables():
    cl, cm = np.array([[10.0, 0.0, 5.0]]), np.array([[0.1, 0.3, 0.2]])
    expected = 0.5 * np.array([[2 / 3, 0.0, 1 / 3]]) + 0.5 * np.array([[0.0, 2 / 3, 1 / 3]])
    assert fuse(cl, cm, 0.5, rank_norm=True) == pytest.approx(expected)


# Two sentences, two images (the diagonal is relevant). Sentence 0: CL is wrong, CM right;
# fused scores (1 − w, w): right while w < 0.5. Sentence 1: CL right, CM (0.6, 0.4) wrong;
# fused (0.6(1 − w), 0.4 + 0.6w): right once w > 1/6. Both right — mIR 1 — from w = 0.17.
CL = np.array([[0.0, 1.0], [0.0, 1.0]])
CM = np.array([[1.0, 0.0], [0.6, 0.4]])
DIAGONAL = np.eye(2, dtype=bool)


def test_the_grid_is_0_to_0_99_in_hundredths():
    assert len(WEIGHT_GRID) == 100 and WEIGHT_GRID[0] == 0.0 and WEIGHT_GRID[-1] == 0.99
    assert WEIGHT_GRID[17] == 0.17


def test_best_weight_is_the_first_that_gets_both_sentences_right():
    w, mir = best_weight(CL, CM, DIAGONAL)
    assert (w, mir) == (0.17, 1.0)


def test_best_weight_beats_either_run_alone():
    assert fuse(CL, CM, 0.0)[1].argmax() != 1 and fuse(CL, CM, 1.0)[0].argmax() != 0
    assert best_weight(CL, CM, DIAGONAL, grid=[0.0])[1] == 0.75
    assert best_weight(CL, CM, DIAGONAL, grid=[0.6, 0.99])[1] == 0.75


def test_best_weight_takes_the_first_of_equal_weights():
    same = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert best_weight(same, same, DIAGONAL) == (0.0, 1.0)


def test_best_weight_with_rank_normalisation_equals_tuning_on_normalised_tables():
    rng = np.random.default_rng(3)
    cl, cm = rng.random((6, 6)) * 100, rng.random((6, 6))
    relevant = np.eye(6, dtype=bool)
    on_ranks = best_weight(rank_normalize(cl), rank_normalize(cm), relevant)
    assert best_weight(cl, cm, relevant, rank_norm=True) == on_ranks


def test_rank_normalisation_undoes_a_score_scale_that_swamps_the_other_run():
    # Sentence 0: CL right, CM ranks the right image 2nd; sentence 1: the other way round.
    # On ranks (2/3, 1/3, 0) both are right for 1/3 < w < 2/3; raw, CL's 0..1000 scale leaves
    # no grid weight that gets both right.
    cl = np.array([[1000.0, 0.0, 500.0], [1000.0, 500.0, 0.0], [0.0, 500.0, 1000.0]])
    cm = np.array([[0.5, 0.9, 0.0], [0.0, 0.9, 0.5], [0.0, 0.5, 0.9]])
    relevant = np.eye(3, dtype=bool)
    assert best_weight(cl, cm, relevant)[1] < 1.0
    assert best_weight(cl, cm, relevant, rank_norm=True) == (0.34, 1.0)


def test_format_table_columns():
    table = format_table([("w2vv_attention_ctl", (0.4811, 0.4321, 0.51449)), ("base_w2vv", (0.47, 0.418, 0.498))])
    assert table.splitlines() == ["model                 CL     CM     CLM",
                                  "w2vv_attention_ctl    0.481  0.432  0.514",
                                  "base_w2vv             0.470  0.418  0.498"]
