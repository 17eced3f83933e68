"""The results page of a test run (training curves: ``w2vv.training_curves``).

- ``write_results_page``: an HTML page for a test run (``<root>/<test>/SimilarityIndex/<train>/<run>/``):
  for a sample of queries, the sentence, the rank of its true image, and the top-10 images as
  thumbnails (``<root>/<test>/ImageData/<id>.jpg`` when there, else a labelled tile with the id).
  Thumbnails are linked relatively, so the page opens from disk; ``embed`` puts them inside it.
"""
import base64
import html
import os

import numpy as np

from . import collection_files, layout
from .atomic import write_text
from .layout import METRICS_FILE, RANKING_FILE
from .ranking import read_metrics, read_ranking
from .result_checks import check_current


# ---------------------------------------------------------------- results page

def _ranked_images(item_ids, row):
    """Image ids of one ranking row, best first (items may be sentences: an image counts once,
    at its best sentence), with their scores."""
    order = np.argsort(-row, kind="stable")
    images, scores, seen = [], [], set()
    for j in order:
        img = layout.image_id(item_ids[j])
        if img not in seen:
            seen.add(img)
            images.append(img)
            scores.append(float(row[j]))
    return images, scores


def sample_queries(n_total, n, seed=0):
    """``n`` row numbers out of ``n_total``, drawn with ``seed``, in file order."""
    if n >= n_total:
        return list(range(n_total))
    return sorted(np.random.default_rng(seed).choice(n_total, size=n, replace=False).tolist())


def _image_source(image_path, page_dir, embed):
    if embed:
        with open(image_path, "rb") as f:
            return "data:image/jpeg;base64," + base64.b64encode(f.read()).decode("ascii")
    return os.path.relpath(image_path, page_dir).replace(os.sep, "/")


def _thumb(img, label, image_dirs, page_dir, embed, css_class):
    title = html.escape(img)
    for folder in image_dirs:
        path = os.path.join(folder, img + ".jpg")
        if os.path.isfile(path):
            src = html.escape(_image_source(path, page_dir, embed))
            body = f'<img src="{src}" alt="{title}" title="{title}" loading="eager">'
            break
    else:
        body = f'<div class="tile" title="{title}">{title}</div>'
    return f'<figure class="{css_class}">{body}<figcaption>{label}</figcaption></figure>'


_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} .summary{color:#555;margin-bottom:1em}
.query{border-top:1px solid #ccc;padding:.6em 0}
.sentence{font-size:1.1em;margin:.2em 0} .meta{color:#555;font-size:.9em}
.rank-hit{color:#070;font-weight:bold} .rank-miss{color:#a00;font-weight:bold}
.row{display:flex;flex-wrap:wrap;gap:6px;margin-top:.4em}
figure{margin:0;width:94px;text-align:center;font-size:11px}
figure img,.tile{width:88px;height:88px;object-fit:cover;border:4px solid transparent;display:block;margin:auto}
.tile{background:#ddd;color:#333;font-size:10px;overflow-wrap:anywhere;display:flex;align-items:center;
justify-content:center;box-sizing:border-box}
figure.true img,figure.true .tile{border-color:#0a0}
figure.truth{margin-left:14px} figure.truth img,figure.truth .tile{border-color:#a00}
"""


def write_results_page(root, test, train, run_name, n_queries=20, k=10, seed=0, embed=False, out=None):
    """Write the results page of a test run; returns (path, summary dict with ``queries``,
    ``images`` (thumbnail slots) and ``pictures`` (of them, real pictures))."""
    folder = layout.similarity_dir(root, test, train, run_name)
    check_current(folder)  # rankings of a model retrained, or of captions edited since, beside the new sentences
    ranking_path = os.path.join(folder, RANKING_FILE)
    query_ids, item_ids, scores = read_ranking(ranking_path)
    captions = dict(collection_files.captions_of(root, test))
    out = out or os.path.join(folder, layout.RESULTS_PAGE)
    page_dir = os.path.dirname(os.path.abspath(out))
    image_dirs = [layout.image_dir(root, test)]
    metrics_path = os.path.join(folder, METRICS_FILE)
    metrics = read_metrics(metrics_path) if os.path.isfile(metrics_path) else None

    rows = sample_queries(len(query_ids), n_queries, seed)
    blocks, n_slots = [], 0
    for row in rows:
        qid = query_ids[row]
        images, img_scores = _ranked_images(item_ids, scores[row])
        truth = layout.image_id(qid)
        rank = images.index(truth) + 1 if truth in images else None
        figures = []
        for r, (img, s) in enumerate(zip(images[:k], img_scores[:k]), 1):
            figures.append(_thumb(img, f"{r}. {s:.3f}", image_dirs, page_dir, embed,
                                  "true" if img == truth else "hit"))
        if rank is None or rank > k:
            figures.append(_thumb(truth, f"true image, rank {rank or '—'}", image_dirs, page_dir, embed, "truth"))
        n_slots += len(figures)
        rank_html = (f'<span class="rank-{"hit" if rank and rank <= k else "miss"}">{rank or "not ranked"}</span>'
                     f' of {len(images)}')
        blocks.append(
            '<div class="query"><div class="sentence">'
            f'{html.escape(captions.get(qid, "(sentence not in the caption file)"))}'
            f'</div><div class="meta">{html.escape(qid)} · rank of the true image: {rank_html}</div>'
            f'<div class="row">{"".join(figures)}</div></div>')

    shown = min(k, len(item_ids))
    summary = f"{len(rows)} of {len(query_ids)} queries (sample seed {seed}), top {shown} of {len(item_ids)} items"
    if metrics:
        summary += " · " + " ".join(f"{key} {metrics[key]:.3f}" for key in ("mir", "r1", "r5", "r10") if key in metrics)
    title = f"{run_name}: {train} → {test}"
    page = (f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{_CSS}</style></head>\n<body><h1>{html.escape(title)}</h1>'
            f'<div class="summary">{html.escape(summary)} · green: the true image</div>\n'
            + "\n".join(blocks) + "\n</body></html>\n")
    write_text(out, page)
    pictures = page.count("<img ")
    return out, dict(queries=len(rows), images=n_slots, pictures=pictures)

