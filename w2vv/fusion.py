"""Cross-lingual matching (CL), its fusion with cross-media matching (CLM) and the final
CL/CM/CLM table (docs/method.md#cross-lingual-matching-cl, docs/method.md#fusion-clm).

CL ranks the English sentences of the same images by the cosine of the two languages'
predicted visual vectors: a Chinese query finds its image through the English sentence the
English model describes best. CLM turns that into an image ranking (an image scores as its
best English sentence) and mixes it with the Chinese model's own image ranking (CM),
``w·CL + (1 − w)·CM``, with w tuned on the val split and applied unchanged on test.
"""
import os

import numpy as np

from . import languages, layout, runs
from .atomic import write_text
from .errors import InputError
from .metrics import descending_order, mean_inverted_rank
from .ranking import (RANKING_FILE, SENT_FEAT_FILE, cosine_scores, read_ranking, read_run_mir,
                      read_sent_feat, relevance, write_results)

WEIGHT_GRID = np.arange(100) / 100  # 0.00 … 0.99: each the float nearest its two decimals
WEIGHT_FILE = "weight.txt"


# ---------------------------------------------------------------- tables

def cross_lingual(zh_ids, zh_vecs, en_ids, en_vecs):
    """CL: cosine of every Chinese sentence's v̂ with every English sentence's v̂, and
    the relevance table (an English sentence of the same image is a hit)."""
    return cosine_scores(zh_vecs, en_vecs), relevance(zh_ids, en_ids)


def scores_by_image(item_ids, scores, image_order, to_image=layout.image_id):
    """Sentence × English-sentence scores → sentence × image scores, columns in
    ``image_order``. An image scores as its best English sentence (max), so with one
    sentence per image (the paper's val/test) this is a relabelling of the columns.

    ValueError when an image of ``image_order`` has no sentence or a sentence's image is not
    in ``image_order``: the two runs would then not rank the same images."""
    column_of = {img: j for j, img in enumerate(image_order)}
    item_images = [to_image(item) for item in item_ids]
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


# ---------------------------------------------------------------- the three result folders

def cl_dir(root, config, zh_test, zh_train="cococntrain"):
    """CL results of a Chinese split: ``.../SimilarityIndex/<zh_train>/zh2en_<config>/`` (the prefix
    is the language of ``zh_train``: ``ja2en_`` for a Japanese one)."""
    return layout.similarity_dir(root, zh_test, zh_train, layout.cl_run_name(config, languages.language_of(zh_train)))


def cm_dir(root, config, zh_test, zh_train="cococntrain"):
    """CM results (the tester's): ``.../SimilarityIndex/<zh_train>/<config>/``."""
    return layout.similarity_dir(root, zh_test, zh_train, config)


def clm_dir(root, config, zh_test, zh_train="cococntrain"):
    """CLM results: ``.../SimilarityIndex/<zh_train>/zh2en2img_<config>/`` (``ja2en2img_`` …)."""
    return layout.similarity_dir(root, zh_test, zh_train,
                                 layout.fusion_run_name(config, languages.language_of(zh_train)))


# ---------------------------------------------------------------- CL on disk

def _same_images_or_fail(zh_path, zh_ids, en_path, en_ids):
    zh_images = {layout.image_id(s) for s in zh_ids}
    en_images = {layout.image_id(s) for s in en_ids}
    if zh_images != en_images:
        only_zh, only_en = sorted(zh_images - en_images), sorted(en_images - zh_images)
        raise InputError(f"{zh_path}: its images differ from those of {en_path} "
                         f"({len(only_zh)} only in the Chinese, e.g. {only_zh[:1]}; {len(only_en)} only "
                         f"in the English, e.g. {only_en[:1]}): CL needs the same images in both")


def cl_inputs(root, config, zh_test, en_test, zh_train="cococntrain", en_train="mscoco2014dev-train",
              en_config=None):
    """The two ``sent_feat.txt`` files (Chinese, English) CL of one split is computed from; the
    English model's run is ``en_config`` when given, else ``config``."""
    return [os.path.join(layout.similarity_dir(root, zh_test, zh_train, config), SENT_FEAT_FILE),
            os.path.join(layout.similarity_dir(root, en_test, en_train, en_config or config), SENT_FEAT_FILE)]


def cross_lingual_run(root, config, zh_test, en_test, zh_train="cococntrain",
                      en_train="mscoco2014dev-train", en_config=None):
    """Read both languages' ``sent_feat.txt`` of one split, write the CL results into
    ``<root>/<zh_test>/SimilarityIndex/<zh_train>/zh2en_<config>/``; return (folder, metrics)."""
    zh_path, en_path = cl_inputs(root, config, zh_test, en_test, zh_train, en_train, en_config)
    zh_ids, zh_vecs = read_sent_feat(zh_path)
    en_ids, en_vecs = read_sent_feat(en_path)
    _same_images_or_fail(zh_path, zh_ids, en_path, en_ids)
    scores, relevant = cross_lingual(zh_ids, zh_vecs, en_ids, en_vecs)
    out_dir = cl_dir(root, config, zh_test, zh_train)
    metrics = write_results(out_dir, zh_ids, en_ids, scores, relevant)
    runs.record_inputs(out_dir, [zh_path, en_path])
    return out_dir, metrics


# ---------------------------------------------------------------- CLM on disk

class FusionInput:
    """One split's CM and CL tables aligned on the same sentences (rows) and images (columns)."""

    def __init__(self, query_ids, image_ids, cm, cl):
        self.query_ids, self.image_ids, self.cm, self.cl = query_ids, image_ids, cm, cl
        self.relevant = relevance(query_ids, image_ids)


def _rows_in_order(cl_path, cl_queries, cm_path, cm_queries):
    """Row indices of the CL file that put its sentences in the CM file's order."""
    row_of = {q: i for i, q in enumerate(cl_queries)}
    if set(row_of) != set(cm_queries):
        raise InputError(f"{cl_path}: ranks other sentences than {cm_path} "
                         f"({len(row_of)} vs {len(cm_queries)})")
    return [row_of[q] for q in cm_queries]


def load_fusion_input(cm_path, cl_path):
    """Read a CM and a CL ``sent.id.score.txt`` and align them; InputError naming the files
    when they rank other sentences, other images, or a sentence's own image is missing."""
    cm_queries, images, cm = read_ranking(cm_path)
    cl_queries, en_sentences, cl = read_ranking(cl_path)
    rows = _rows_in_order(cl_path, cl_queries, cm_path, cm_queries)
    try:
        cl_images = scores_by_image(en_sentences, cl[rows], images)
    except ValueError as e:
        raise InputError(f"{cl_path}: ranks other images than {cm_path} ({e})") from None
    fusion_input = FusionInput(cm_queries, images, cm, cl_images)
    lacking = np.flatnonzero(~fusion_input.relevant.any(axis=1))
    if len(lacking):
        raise InputError(f"{cm_path}: the image of {cm_queries[lacking[0]]} is not among the ranked "
                         f"images ({len(lacking)} sentences so)")
    return fusion_input


def _split_inputs(root, config, zh_test, zh_train):
    return [os.path.join(cm_dir(root, config, zh_test, zh_train), RANKING_FILE),
            os.path.join(cl_dir(root, config, zh_test, zh_train), RANKING_FILE)]


def clm_inputs(root, config, zh_val="cococnval", zh_test="cococntest", zh_train="cococntrain"):
    """The CM and CL rankings of val and test that CLM is computed from."""
    return _split_inputs(root, config, zh_val, zh_train) + _split_inputs(root, config, zh_test, zh_train)


def _load_split(root, config, zh_test, zh_train):
    return load_fusion_input(*_split_inputs(root, config, zh_test, zh_train))


def weight_text(w):
    """``weight.txt``: the weight chosen on val, ``w: 0.xx``."""
    return f"w: {w:.2f}\n"


def _write_fused(out_dir, split_input, w, rank_norm):
    fused = fuse(split_input.cl, split_input.cm, w, rank_norm=rank_norm)
    write_text(os.path.join(out_dir, WEIGHT_FILE), weight_text(w))
    return write_results(out_dir, split_input.query_ids, split_input.image_ids, fused, split_input.relevant)


def fusion_run(root, config, zh_val="cococnval", zh_test="cococntest", zh_train="cococntrain",
               rank_norm=False):
    """Choose w on val, apply it on test; write ``zh2en2img_<config>/`` for both splits
    (test last, so its ``mir.txt`` marks the run complete). Returns (w, val metrics, test metrics)."""
    val_input = _load_split(root, config, zh_val, zh_train)
    test_input = _load_split(root, config, zh_test, zh_train)
    w, _ = best_weight(val_input.cl, val_input.cm, val_input.relevant, rank_norm=rank_norm)
    val_metrics = _write_fused(clm_dir(root, config, zh_val, zh_train), val_input, w, rank_norm)
    test_metrics = _write_fused(clm_dir(root, config, zh_test, zh_train), test_input, w, rank_norm)
    for zh in (zh_val, zh_test):
        runs.record_inputs(clm_dir(root, config, zh, zh_train), clm_inputs(root, config, zh_val, zh_test, zh_train))
    return w, val_metrics, test_metrics


# ---------------------------------------------------------------- the table

RESULT_COLUMNS = ("CL", "CM", "CLM")


def result_row(root, config, zh_test="cococntest", zh_train="cococntrain"):
    """The test mIRs (CL, CM, CLM) of a config at full precision (see ``read_run_mir``)."""
    return tuple(read_run_mir(folder(root, config, zh_test, zh_train)) for folder in (cl_dir, cm_dir, clm_dir))


def format_table(rows):
    """``model  CL  CM  CLM`` with one line per (config, (cl, cm, clm)), mIR to 3 decimals."""
    name_width = max([18] + [len(config) for config, _ in rows]) + 4  # 22 fits w2vv_attention_ctl
    lines = ["model".ljust(name_width) + "".join(c.ljust(7) for c in RESULT_COLUMNS).rstrip()]
    for config, values in rows:
        lines.append(config.ljust(name_width) + "  ".join(f"{v:.3f}" for v in values))
    return "\n".join(lines) + "\n"


def result_table(root, configs, zh_test="cococntest", zh_train="cococntrain"):
    """The CL/CM/CLM table of ``configs`` read from disk; InputError naming a missing metrics.json."""
    return format_table([(config, result_row(root, config, zh_test, zh_train)) for config in configs])
