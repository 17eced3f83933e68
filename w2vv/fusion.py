"""The maths of cross-lingual matching (CL) and of its fusion with cross-media matching (CLM)
(docs/method.md#cross-lingual-matching-cl, docs/method.md#fusion-clm), on tables in memory;
``w2vv.fusion_runs`` runs them on the result files, ``w2vv.results_table`` prints the table.

CL ranks the English sentences of the same images by the cosine of the two languages'
predicted visual vectors: a Chinese query finds its image through the English sentence the
English model describes best. CLM turns that into an image ranking (an image scores as its
best English sentence) and mixes it with the Chinese model's own image ranking (CM),
``w·CL + (1 − w)·CM``, with w tuned on the val split and applied unchanged on test.
"""
import numpy as np

from . import layout
from .metrics import descending_order, mean_inverted_rank
from .ranking import cosine_scores, relevance

WEIGHT_GRID = np.arange(100) / 100  # 0.00 … 0.99: each the float nearest its two decimals


# ---------------------------------------------------------------- tables

def cross_lingual(zh_ids, zh_vecs, en_ids, en_vecs):
    """CL: cosine of every Chinese sentence's v̂ with every English sentence's v̂, and
    the relevance table (an English sentence of the same image is a hit)."""
    return cosine_scores(zh_vecs, en_vecs), relevance(zh_ids, en_ids)


def scores_by_image(item_ids, scores, image_order):
    """Sentence × English-sentence scores → sentence × image scores, columns in
    ``image_order``. An image scores as its best English sentence (max), so with one
    sentence per image (the paper's val/test) this is a relabelling of the columns.

    ValueError when an image of ``image_order`` has no sentence or a sentence's image is not
    in ``image_order``: the two runs would then not rank the same images."""
    column_of = {img: j for j, img in enumerate(image_order)}
    item_images = [layout.image_id(item) for item in item_ids]
    unknown = sorted(set(item_images) - set(column_of))
    absent = sorted(set(column_of) - set(item_images))
    if unknown or absent:
        raise ValueError(f"images differ: {len(unknown)} only among the sentences "
                         f"(e.g. {unknown[:1]}), {len(absent)} only in the image list (e.g. {absent[:1]})")
    codes = np.array([column_of[img] for img in item_images])
    by_code = np.argsort(codes, kind="stable")
    group_starts = np.flatnonzero(np.r_[True, np.diff(codes[by_code]) != 0])
    return np.maximum.reduceat(np.asarray(scores)[:, by_code], group_starts, axis=1)


def rank_normalize(scores):
    """Scores → ``1 − rank/N`` per row (rank 1 = best, stable on ties): best 1 − 1/N, worst 0.
    Puts two runs with different score ranges on one scale (off in the paper)."""
    scores = np.asarray(scores)
    n_items = scores.shape[1]
    normalized = np.empty(scores.shape, dtype=np.float64)
    ranks = np.broadcast_to(np.arange(1, n_items + 1), scores.shape)
    np.put_along_axis(normalized, descending_order(scores), 1.0 - ranks / n_items, axis=1)
    return normalized


def fuse(cl, cm, w, rank_norm=False):
    """CLM: ``w·CL + (1 − w)·CM`` on two aligned sentence × image tables."""
    if rank_norm:
        cl, cm = rank_normalize(cl), rank_normalize(cm)
    return w * np.asarray(cl) + (1.0 - w) * np.asarray(cm)


def best_weight(cl, cm, relevant, grid=WEIGHT_GRID, rank_norm=False):
    """(w, mIR): the grid weight with the best fused mIR; the first one on ties, as a scan
    from 0.00 upwards keeping only strict improvements finds it."""
    if rank_norm:
        cl, cm = rank_normalize(cl), rank_normalize(cm)
    mirs = [mean_inverted_rank(fuse(cl, cm, w), relevant) for w in grid]
    best = int(np.argmax(mirs))  # argmax returns the first maximum
    return float(grid[best]), float(mirs[best])
