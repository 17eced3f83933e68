"""Pictures: the HTML results page of a test run (checked in headless Chromium when installed)
and the training-curve PNG of a checkpoint folder."""
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import REPO
from w2vv import layout
from w2vv.layout import RESULTS_PAGE
from w2vv.pages import write_results_page
from w2vv.ranking import relevance, write_results
from w2vv.training_curves import (CURVES_FILE, lr_halvings, plot_training_curves, read_history,
                                  training_curves_figure)

CHROMIUM = "/usr/bin/chromium"
TEST, TRAIN, RUN = "cococntest", "cococntrain", "w2vv_attention_ctl"
N_IMAGES, N_PICTURES = 30, 24    # the last 6 images have no picture: labelled tiles


def _jpeg(path, rgb):
    from PIL import Image
    Image.new("RGB", (32, 32), rgb).save(path, format="JPEG")


@pytest.fixture
def run_root(tmp_path):
    """A root with a tested run: captions, pictures for most images, and the tester's results."""
    root = tmp_path / "VisualSearch"
    ids = [f"COCO_val2014_{i:012d}" for i in range(1, N_IMAGES + 1)]
    captions = [(f"{img}#0", f"一只 狗 在 草地 上 跑 {i} 号") for i, img in enumerate(ids)]
    caption_file = layout.caption_file(str(root), TEST)
    os.makedirs(os.path.dirname(caption_file))
    with open(caption_file, "w", encoding="utf-8") as f:
        f.writelines(f"{sid} {text}\n" for sid, text in captions)
    image_dir = layout.image_dir(str(root), TEST)
    os.makedirs(image_dir)
    for i, img in enumerate(ids[:N_PICTURES]):
        _jpeg(os.path.join(image_dir, img + ".jpg"), (8 * i, 100, 200 - 5 * i))
    rng = np.random.default_rng(0)
    scores = rng.random((N_IMAGES, N_IMAGES))
    scores[np.arange(N_IMAGES), np.arange(N_IMAGES)] += np.linspace(0.0, 1.0, N_IMAGES)  # ranks from low to 1
    query_ids = [s for s, _ in captions]
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    write_results(out, query_ids, ids, scores, relevance(query_ids, ids))
    return root, ids, query_ids, scores


def expected_ranks(scores):
    order = np.argsort(-scores, axis=1, kind="stable")
    return [int(np.flatnonzero(order[i] == i)[0]) + 1 for i in range(len(scores))]


def test_results_page_shows_the_sampled_queries_ranks_and_thumbnails(run_root):
    root, ids, query_ids, scores = run_root
    path, summary = write_results_page(str(root), TEST, TRAIN, RUN, n_queries=8, k=10, seed=3)
    assert path == os.path.join(layout.similarity_dir(str(root), TEST, TRAIN, RUN), RESULTS_PAGE)
    page = open(path, encoding="utf-8").read()
    blocks = page.split('<div class="query">')[1:]
    assert len(blocks) == summary["queries"] == 8
    ranks = expected_ranks(scores)
    slots = 0
    for block in blocks:
        qid = re.search(r"(COCO_val2014_\d+#0) · rank", block).group(1)
        row = query_ids.index(qid)
        assert f">{ranks[row]}</span> of {N_IMAGES}" in block
        assert f"{row} 号" in block                          # the query's sentence
        n_fig = block.count("<figure")
        assert n_fig == 10 + (ranks[row] > 10)               # the true image is added when not in the top 10
        slots += n_fig
        top = np.argsort(-scores[row], kind="stable")[:10]
        shown = re.findall(r'(?:alt|title)="(COCO_val2014_\d+)"', block)
        assert list(dict.fromkeys(shown))[:10] == [ids[j] for j in top]
    assert summary["images"] == slots
    assert summary["pictures"] == page.count("<img ") < slots   # some images have no picture ...
    assert 'class="tile"' in page                                # ... and show as labelled tiles
    assert "../../../ImageData/" in page                         # relative links: the page opens from disk
    assert "mir" in page                                         # the figures of metrics.json


def test_embedded_page_carries_its_pictures(run_root):
    root = run_root[0]
    out = root / "portable.html"
    path, summary = write_results_page(str(root), TEST, TRAIN, RUN, n_queries=3, embed=True, out=str(out))
    page = out.read_text(encoding="utf-8")
    assert page.count('src="data:image/jpeg;base64,') == summary["pictures"] > 0
    assert "ImageData/" not in page


def test_report_page_command_writes_the_page_and_fails_in_one_line(run_root):
    root = run_root[0]
    done = subprocess.run([sys.executable, str(REPO / "report_page.py"), TRAIN, TEST, "--rootpath", str(root),
                           "--run", RUN, "--n", "5"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert os.path.isfile(os.path.join(layout.similarity_dir(str(root), TEST, TRAIN, RUN), RESULTS_PAGE))
    assert "5 queries" in done.stdout
    missing = subprocess.run([sys.executable, str(REPO / "report_page.py"), TRAIN, TEST, "--rootpath", str(root),
                              "--run", "no_such_run"], capture_output=True, text=True, cwd=REPO)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ") and "sent.id.score.txt: ranking file not found" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    metrics = os.path.join(layout.similarity_dir(str(root), TEST, TRAIN, RUN), "metrics.json")
    with open(metrics, "w", encoding="utf-8") as f:
        f.write('{"mir": 0.5')  # cut short: was a JSONDecodeError traceback
    broken = subprocess.run([sys.executable, str(REPO / "report_page.py"), TRAIN, TEST, "--rootpath", str(root),
                             "--run", RUN], capture_output=True, text=True, cwd=REPO)
    assert broken.returncode == 1 and broken.stderr.startswith(f"error: {metrics}: not a JSON metrics file (")
    assert len(broken.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)")
def test_results_page_renders_in_headless_chromium_with_its_images_loaded(run_root, tmp_path):
    root = run_root[0]
    path, summary = write_results_page(str(root), TEST, TRAIN, RUN, n_queries=12, k=10)
    # a copy beside the page (same relative links) with a script that counts the decoded images
    probe = os.path.join(os.path.dirname(path), "probe.html")
    shutil.copy(path, probe)
    with open(probe, "a", encoding="utf-8") as f:
        f.write('<script>window.addEventListener("load", function () {'
                ' var all = Array.from(document.images);'
                ' var ok = all.filter(function (i) { return i.complete && i.naturalWidth > 0; });'
                ' document.body.setAttribute("data-loaded", ok.length + "/" + all.length); });</script>\n')
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=10000",
                           "--dump-dom", "file://" + probe], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-loaded="(\d+)/(\d+)"', done.stdout)
    assert found, (done.returncode, done.stderr[-2000:])
    loaded, total = int(found.group(1)), int(found.group(2))
    assert total == summary["pictures"] > 0
    assert loaded == total
    assert done.stdout.count('class="tile"') == summary["images"] - summary["pictures"]


# ---------------------------------------------------------------- training curves

def write_histories(folder, losses, aps, lrs):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train_loss_hist.txt").write_text("".join(f"epoch_{e} {v}\n" for e, v in enumerate(losses)))
    best_first = sorted(enumerate(aps), key=lambda item: -item[1])
    (folder / "val_per_hist.txt").write_text("".join(f"epoch_{e} {v}\n" for e, v in best_first))
    if lrs is not None:
        (folder / "lr_hist.txt").write_text("".join(f"epoch_{e} {v}\n" for e, v in enumerate(lrs)))


def test_training_curves_png_with_lr_halvings(tmp_path):
    folder = tmp_path / "mscoco2014dev-train" / "cv_keras" / "mscoco2014dev-val" / "w2vv_trainer.py" / "base_w2vv"
    write_histories(folder, [3.0, 2.0, 1.5, 1.4, 1.35, 1.3], [0.2, 0.4, 0.5, 0.45, 0.48, 0.47],
                    [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4])
    assert read_history(folder / "val_per_hist.txt")[0] == (0, 0.2)          # sorted by epoch, not best first
    assert lr_halvings(read_history(folder / "lr_hist.txt")) == [(4, 5e-4)]
    started = time.perf_counter()
    path = plot_training_curves(folder)
    assert path == str(folder / CURVES_FILE)
    assert time.perf_counter() - started < 10
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(path) as image:
        assert image.size == (700, 550)


def test_training_curves_never_fail_training(tmp_path):
    assert plot_training_curves(tmp_path / "nothing_here") is False
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "train_loss_hist.txt").write_text("epoch_0 not-a-number\n")
    assert plot_training_curves(folder) is False
    write_histories(tmp_path / "old", [1.0, 0.5], [0.1, 0.2], lrs=None)     # no lr_hist.txt (older runs)
    assert plot_training_curves(tmp_path / "old")


def test_plot_training_command(tmp_path):
    folder = tmp_path / "ckpt"
    write_histories(folder, [1.0, 0.8, 0.7], [0.3, 0.35, 0.34], [1e-4, 1e-4, 5e-5])
    done = subprocess.run([sys.executable, str(REPO / "plot_training.py"), str(folder)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert os.path.isfile(folder / CURVES_FILE)
    bad = subprocess.run([sys.executable, str(REPO / "plot_training.py"), str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")


def shown_epoch_ticks(folder):
    """The x ticks inside the view of both axes of the curves figure."""
    fig = training_curves_figure(folder)
    ticks = []
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks.append([t for t in ax.get_xticks() if low <= t <= high])
    return ticks


@pytest.mark.parametrize("n_epochs", [1, 2, 3, 7, 60])
def test_training_curves_epoch_ticks_are_integers(tmp_path, n_epochs):
    write_histories(tmp_path, [1.0 / (e + 1) for e in range(n_epochs)], [0.1 + 0.01 * e for e in range(n_epochs)],
                    [1e-4] * n_epochs)
    for ticks in shown_epoch_ticks(tmp_path):
        assert ticks, "no epoch tick shown"
        assert all(float(t).is_integer() for t in ticks), ticks
        assert min(ticks) >= 0 and max(ticks) <= n_epochs - 1
    if n_epochs <= 3:  # few epochs: every epoch has its tick
        assert shown_epoch_ticks(tmp_path)[1] == list(range(n_epochs))


def test_training_redraws_the_curves_at_most_every_10_s_and_after_the_last_epoch(monkeypatch):
    """A drawing costs more than a small model's epoch: after the first epoch, again once the last
    drawing is ``CURVES_EVERY_S`` old, and at the end if an epoch since is not drawn."""
    from w2vv import training
    drawn, clock = [], [100.0]
    monkeypatch.setattr(training, "plot_training_curves", lambda folder: drawn.append(clock[0]))
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    callback = training.EpochEnd.__new__(training.EpochEnd)
    callback.folder, callback.curves_drawn, callback.curves_behind = "ckpt", None, False
    for t in (100.0, 104.0, 109.9, 110.0, 113.0):  # the ends of five epochs
        clock[0] = t
        callback._draw_curves(at_least_every=training.CURVES_EVERY_S)
    assert drawn == [100.0, 110.0]
    clock[0] = 114.0
    callback.on_train_end()
    assert drawn == [100.0, 110.0, 114.0]
    callback.on_train_end()  # nothing new since
    assert drawn == [100.0, 110.0, 114.0]


def test_a_page_is_not_drawn_from_stale_results_nor_left_beside_new_ones(run_root):
    """report_page.py drew old rankings beside edited sentences; a folder computed again kept the page of the
    results it replaced."""
    from w2vv import runs
    from w2vv.errors import InputError
    root, ids, query_ids, scores = run_root
    out = layout.similarity_dir(str(root), TEST, TRAIN, RUN)
    caption_file = layout.caption_file(str(root), TEST)
    runs.record_inputs(out, [caption_file])
    page, _ = write_results_page(str(root), TEST, TRAIN, RUN)
    with open(caption_file, "a", encoding="utf-8") as f:
        f.write(f"{ids[0]}#1 一只 猫\n")
    with pytest.raises(InputError, match=f"computed from {caption_file}, which changed since: its results are stale"):
        write_results_page(str(root), TEST, TRAIN, RUN)
    write_results(out, query_ids, ids, scores, relevance(query_ids, ids))
    assert not os.path.exists(page)
