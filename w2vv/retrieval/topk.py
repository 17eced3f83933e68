"""Exact top-k of the cross-lingual routes of search (docs/method.md#fusion-clm). CL ranks the gallery
images by their best English sentence; CLM by ``w·CL + (1 − w)·CM``, exactly: candidates come from
the top of both routes and grow until no image outside them can beat the k-th fused score (the
threshold rule of Fagin et al.); ``clm_top_k_many`` ranks several queries, in one matrix product
where every described image is scored. All return [(gallery position, score)], best first.

CL is the cosine of the query's vector and the sentences'; CM is the gallery's score (``Gallery.prepare``):
W2VV's, the cosine with the unit image vector; a successor's, the inner product of the query's vector as
it is with the image tower's vector (``w2vv.retrieval.projected_gallery``)."""
import numpy as np

from ..ranking import unit_rows


def cl_top_k(sents, vector, k):
    """CL: the ``k`` gallery positions whose best sentence is nearest ``vector``, with that cosine."""
    unit = unit_rows(vector[None, :])
    m = max(4 * k, 64)
    while True:
        scores, rows = sents.index.search(unit, min(m, len(sents)))
        hits, seen = [], set()
        for s, r in zip(scores[0], rows[0]):
            pos = int(sents.image_pos[r]) if r >= 0 else -1
            if pos >= 0 and pos not in seen:
                seen.add(pos)
                hits.append((pos, float(s)))
        if len(hits) >= k or m >= len(sents):
            return hits[:k]
        m *= 4


EXHAUSTIVE_ROWS = 50_000   # CLM scores every described image at once up to this many sentences + images


def _exhaustive(sents):
    """Whether CLM scores every described image at once (no index)."""
    return len(sents) + len(sents.described) <= EXHAUSTIVE_ROWS


def _best(candidates, fused, k):
    """The ``k`` best (position, fused score), ties to the lower position."""
    order = np.lexsort((candidates, -fused))[:k]
    return [(int(candidates[i]), float(fused[i])) for i in order]


def _cm_queries(gallery, units, vectors):
    """The queries of the CM part: the unit vectors (a W2VV gallery: cosine), or the vectors as they
    are (a successor's gallery: inner product)."""
    return units if gallery.unit else np.asarray(vectors, np.float32)


def _fused_described(gallery, sents, units, w, cm_queries):
    """The fused score of every described image: for one unit query (a vector), or for several
    (a matrix whose columns are unit queries: a column of scores each); ``cm_queries`` as ``units``,
    the queries of the CM part (``_cm_queries``)."""
    cl = np.maximum.reduceat(sents.unit @ units, sents.starts, axis=0)
    return w * cl + (1.0 - w) * (sents.described_unit(gallery) @ cm_queries)


def clm_top_k_many(gallery, sents, vectors, k, w):
    """``clm_top_k`` of each row of ``vectors``; where every described image is scored, it is for
    all rows at once (one matrix product instead of one a row: the sentences read once). One row
    takes ``clm_top_k`` itself: a query alone scores as it always has, bit for bit."""
    if len(vectors) == 1 or not _exhaustive(sents):
        return [clm_top_k(gallery, sents, vector, k, w) for vector in vectors]
    units = unit_rows(vectors)
    fused = _fused_described(gallery, sents, units.T, w, _cm_queries(gallery, units, vectors).T)
    return [_best(sents.described, column, k) for column in fused.T]


def clm_top_k(gallery, sents, vector, k, w):
    """CLM: the exact top ``k`` of ``w·CL + (1 − w)·CM`` over the described gallery images."""
    unit = unit_rows(vector[None, :])[0]
    cm_query = _cm_queries(gallery, unit, vector)
    n_described = len(sents.described)
    k = min(k, n_described)
    if _exhaustive(sents):  # every described image: one pass, no index
        return _best(sents.described, _fused_described(gallery, sents, unit, w, cm_query), k)
    per_image = max(1, int(np.ceil(len(sents) / n_described)))
    depth = max(4 * k, 64)
    while True:
        cm_scores, cm_pos = gallery.search(cm_query[None, :], min(depth, len(gallery)))
        cm_done = depth >= len(gallery)
        m = min(depth * per_image, len(sents))
        cl_scores, cl_rows = sents.index.search(unit[None, :], m)
        cl_done = m >= len(sents)
        candidates = np.union1d(cm_pos[0][cm_pos[0] >= 0], sents.image_pos[cl_rows[0][cl_rows[0] >= 0]])
        candidates = candidates[np.isin(candidates, sents.described)]
        cm = gallery.scores_at(cm_query[None, :], candidates)[0]
        cl = sents.image_scores(unit, candidates)
        hits = _best(candidates, w * cl + (1.0 - w) * cm, k)
        if cm_done or cl_done:  # every described image is a candidate
            return hits
        # an image outside the candidates has CM below the CM cut-off and CL below the CL one
        bound = w * float(cl_scores[0][-1]) + (1.0 - w) * float(cm_scores[0][-1])
        if len(hits) >= k and hits[-1][1] > bound:
            return hits
        depth *= 4
