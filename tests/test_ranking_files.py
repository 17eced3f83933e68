"""Result files of testing, CL and fusion (sent_feat.txt, sent.id.score.txt, mir.txt, metrics.json,
weight.txt), the original's files among the fixtures (skipped without them), and the CL / fusion / report
scripts run end to end on tiny roots in the real layout."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import FIXTURES, REPO, script
from w2vv import layout
from w2vv.collection_files import read_imageset
from w2vv.errors import InputError
from w2vv.layout import cl_dir, clm_dir, cm_dir
from w2vv.metrics import first_relevant_ranks, retrieval_metrics
from w2vv.ranking import (cosine_scores, l2_normalize, mir_text, read_metrics, read_mir, read_ranking,
                          read_run_mir, read_sent_feat, relevance, write_ranking, write_results,
                          write_sent_feat)

ORIGINAL_ROOT = FIXTURES / "original_w2vv" / "VisualSearch"
FIXTURE_CONFIGS = ("tiny_base", "tiny_attention_ctl")
CONFIG = "tiny_cfg"  # the hand-made roots' config


def need_fixtures():
    if not ORIGINAL_ROOT.is_dir():
        pytest.skip("shared fixtures not present")


def run_script(name, *args):
    return script(name, *args, cwd=REPO.parent)


def original_folder(test, config, train="cococntrain"):
    return ORIGINAL_ROOT / test / "SimilarityIndex" / train / config


def en_sent_feat(root, split, config=CONFIG):
    return Path(layout.similarity_dir(root, f"mscoco2014dev-{split}", "mscoco2014dev-train", config),
                "sent_feat.txt")


def metrics_from_ranking_file(path):
    queries, items, scores = read_ranking(path)
    return retrieval_metrics(first_relevant_ranks(scores, relevance(queries, items)))


# ---------------------------------------------------------------- cosine

def test_l2_normalize_keeps_zero_rows_zero():
    unit = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32))
    assert unit.tolist() == [[0.6, 0.8], [0.0, 0.0]]


def test_cosine_scores_in_blocks_equal_the_formula():
    rng = np.random.default_rng(0)
    queries, items = rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    q, v = queries.astype(np.float64), items.astype(np.float64)
    expected = (q @ v.T) / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(v, axis=1)[None, :]
    for block_rows in (1, 3, 512):
        assert cosine_scores(queries, items, block_rows=block_rows) == pytest.approx(expected, abs=1e-15)


# ---------------------------------------------------------------- sent_feat.txt

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sent_feat_round_trip_is_exact(tmp_path, dtype):
    rng = np.random.default_rng(1)
    ids, vectors = ["a#0", "b#1", "c#2"], rng.normal(size=(3, 6)).astype(dtype)
    vectors[1] = 0.0
    path = tmp_path / "sent_feat.txt"
    write_sent_feat(path, ids, vectors)
    read_ids, read_vectors = read_sent_feat(path, dtype=dtype)
    assert read_ids == ids and read_vectors.dtype == dtype
    assert np.array_equal(read_vectors, vectors)
    assert path.read_text().splitlines()[1] == "b#1 " + " ".join(["0.0"] * 6)


@pytest.mark.parametrize("text, where, what", [
    ("a#0 1 2\nb#0 1 x\n", ":2:", "expected numbers"),
    ("a#0 1 2\nb#0 1 2 3\n", ":2:", "3 values, expected 2"),
    ("a#0 1 2\n\nb#0\n", ":3:", "id alone"),
    ("a#0 1 2\na#0 3 4\n", ":2:", "repeated"),
    ("a#0 1 nan\n", ":1:", "NaN"),
    ("\n\n", ":", "empty"),
])
def test_read_sent_feat_names_file_and_line_of_bad_input(tmp_path, text, where, what):
    path = tmp_path / "sent_feat.txt"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_sent_feat(path)
    assert str(error.value).startswith(f"{path}{where}") and what in str(error.value)


def test_read_sent_feat_of_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_sent_feat(tmp_path / "nope.txt")


# ---------------------------------------------------------------- sent.id.score.txt

def test_ranking_round_trip_best_first_and_columns_sorted(tmp_path):
    scores = np.array([[0.1, 0.7, 1 / 3], [0.5, 0.5, -0.25]])
    path = tmp_path / "sent.id.score.txt"
    write_ranking(path, ["q1", "q2"], ["img_b", "img_c", "img_a"], scores)
    assert path.read_text().splitlines() == [
        "q1 img_c 0.7 img_a 0.3333333333333333 img_b 0.1",
        "q2 img_b 0.5 img_c 0.5 img_a -0.25"]  # the tie keeps item order
    queries, items, table = read_ranking(path)
    assert queries == ["q1", "q2"] and items == ["img_a", "img_b", "img_c"]
    assert np.array_equal(table, scores[:, [2, 0, 1]])


@pytest.mark.parametrize("text, where, what", [
    ("q1 a 0.5 b\n", ":1:", "expected 'sentid item1 score1"),
    ("q1 a 0.5 b 0.1\nq2 a 0.5 c 0.1\n", ":2:", "other items than line 1"),
    ("q1 a 0.5 b 0.1\nq2 a 0.5\n", ":2:", "other items than line 1"),
    ("q1 a 0.5 a 0.1\n", ":1:", "listed twice"),
    ("q1 a 0.5 b 0.1\nq1 b 0.5 a 0.1\n", ":2:", "repeated"),
    ("q1 a 0.5 b zero\n", ":1:", "expected numbers"),
])
def test_read_ranking_names_file_and_line_of_bad_input(tmp_path, text, where, what):
    path = tmp_path / "sent.id.score.txt"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_ranking(path)
    assert str(error.value).startswith(f"{path}{where}") and what in str(error.value)


# ---------------------------------------------------------------- mir.txt, metrics.json

def test_mir_text_rounds_to_three_decimals_like_the_reference():
    assert mir_text(0.11951272070064287) == "mean_invert_r: 0.12\n"
    assert mir_text(0.10349) == "mean_invert_r: 0.103\n"
    assert mir_text(1.0) == "mean_invert_r: 1.0\n"


def test_results_files_parse_back_to_the_numbers_of_metrics_json(tmp_path):
    rng = np.random.default_rng(2)
    images = [f"img{k}" for k in range(12)]
    queries = [f"img{k}#{j}" for k in range(12) for j in range(2)]
    scores = rng.normal(size=(24, 12)).astype(np.float32)  # float32 scores are written exactly too
    metrics = write_results(tmp_path / "run", queries, images, scores, relevance(queries, images))
    on_disk = read_metrics(tmp_path / "run" / "metrics.json")
    assert on_disk == metrics
    assert set(metrics) == {"r1", "r5", "r10", "medr", "meanr", "mir", "n_sentences", "n_items"}
    assert (metrics["n_sentences"], metrics["n_items"]) == (24, 12)
    recomputed = metrics_from_ranking_file(tmp_path / "run" / "sent.id.score.txt")
    recomputed["n_sentences"], recomputed["n_items"] = recomputed.pop("n_queries"), 12
    assert recomputed == metrics
    assert (tmp_path / "run" / "mir.txt").read_text() == mir_text(metrics["mir"])
    assert read_mir(tmp_path / "run" / "mir.txt") == round(metrics["mir"], 3)


def test_run_mir_comes_from_metrics_json_or_else_from_the_ranking(tmp_path):
    scores = np.array([[0.9, 0.1], [0.8, 0.2]])
    write_ranking(tmp_path / "sent.id.score.txt", ["a#0", "b#0"], ["a", "b"], scores)
    assert read_run_mir(tmp_path) == 0.75  # ranks 1 and 2, as the original's folders hold no metrics.json
    (tmp_path / "metrics.json").write_text('{"mir": 0.125}')
    assert read_run_mir(tmp_path) == 0.125
    with pytest.raises(InputError, match="metrics.json: metrics file not found"):
        read_run_mir(tmp_path / "elsewhere")


def test_a_run_mir_computed_from_files_changed_since_is_refused(tmp_path):
    """The results table after a model was retrained but its CL and CLM were not run again."""
    from w2vv.runs import record_inputs
    (tmp_path / "metrics.json").write_text('{"mir": 0.125}')
    vectors = tmp_path.parent / "sent_feat.txt"
    vectors.write_text("before\n")
    record_inputs(tmp_path, [vectors])
    assert read_run_mir(tmp_path) == 0.125
    vectors.write_text("after\n")
    with pytest.raises(InputError, match=f"computed from {vectors}, which changed since: its results"):
        read_run_mir(tmp_path)


def test_read_metrics_of_missing_or_broken_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_metrics(tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text("{")
    with pytest.raises(InputError, match="not a JSON"):
        read_metrics(tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text('{"r1": 0.5}')
    with pytest.raises(InputError, match="'mir'"):
        read_metrics(tmp_path / "metrics.json")


# ---------------------------------------------------------------- the original's files

@pytest.mark.parametrize("split", ["cococnval", "cococntest"])
@pytest.mark.parametrize("config", FIXTURE_CONFIGS)
def test_original_ranking_files_read_and_give_their_mir(split, config):
    need_fixtures()
    folder = original_folder(split, config)
    queries, items, scores = read_ranking(folder / "sent.id.score.txt")
    assert len(queries) == 40 and scores.shape == (40, 40)
    assert sorted(items) == sorted(read_imageset(ORIGINAL_ROOT / split / "ImageSets" / f"{split}.txt"))
    mir = metrics_from_ranking_file(folder / "sent.id.score.txt")["mir"]
    assert mir_text(mir) == (folder / "mir.txt").read_text()
    assert round(mir, 3) == read_mir(folder / "mir.txt")


def test_original_cm_scores_are_float64_cosines_of_its_sent_feat():
    """Why cosines are float64 over float32 vectors: that reproduces the original to 1e-15."""
    need_fixtures()
    from w2vv.bigfile import BigFile
    folder = original_folder("cococntest", "tiny_base")
    sent_ids, vectors = read_sent_feat(folder / "sent_feat.txt")
    queries, images, scores = read_ranking(folder / "sent.id.score.txt")
    found, features = BigFile(str(ORIGINAL_ROOT / "mscoco2014dev" / "FeatureData" /
                                  "pyresnext-101_rbps13k,flatten0_output,os")).read(images)
    assert found == images and sent_ids == queries
    assert np.abs(cosine_scores(vectors, features) - scores).max() < 1e-13


# ---------------------------------------------------------------- the scripts, end to end


def write_tiny_root(root, config=CONFIG, n_images=8, dim=6, seed=0):
    """Both languages' sent_feat.txt and the CM results (what the tester writes) for val and
    test, in the real layout; every vector is its image's latent vector plus noise."""
    rng = np.random.default_rng(seed)
    for split in ("val", "test"):
        images = [f"COCO_{split}2014_{k:012d}" for k in range(n_images)]
        sentences = [f"{image}#0" for image in images]
        latent = rng.normal(size=(n_images, dim))
        noisy = lambda: (latent + rng.normal(scale=1.2, size=latent.shape)).astype(np.float32)  # noqa: E731
        zh_vecs, en_vecs, features = noisy(), noisy(), noisy()
        write_sent_feat(os.path.join(cm_dir(root, config, f"cococn{split}"), "sent_feat.txt"), sentences, zh_vecs)
        write_sent_feat(en_sent_feat(root, split, config), sentences[::-1], en_vecs[::-1])
        write_results(cm_dir(root, config, f"cococn{split}"), sentences, images,
                      cosine_scores(zh_vecs, features), relevance(sentences, images))


def check_results_folder(folder, n_items):
    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    assert metrics["n_items"] == n_items
    assert (Path(folder) / "mir.txt").read_text() == mir_text(metrics["mir"])
    recomputed = metrics_from_ranking_file(Path(folder) / "sent.id.score.txt")
    assert recomputed["mir"] == metrics["mir"]
    return metrics


def test_cl_fusion_and_report_scripts_end_to_end(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    done = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 0, done.stderr
    for split in ("cococnval", "cococntest"):
        check_results_folder(cl_dir(root, CONFIG, split), n_items=8)

    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 0, done.stderr
    weights = {(Path(clm_dir(root, CONFIG, split)) / "weight.txt").read_text()
               for split in ("cococnval", "cococntest")}
    assert len(weights) == 1 and weights.pop().startswith("w: 0.")
    clm_test = check_results_folder(clm_dir(root, CONFIG, "cococntest"), n_items=8)

    done = run_script("report.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 0, done.stderr
    cl, cm = (read_metrics(Path(f(root, CONFIG, "cococntest")) / "metrics.json")["mir"] for f in (cl_dir, cm_dir))
    assert done.stdout.splitlines() == ["model                 CL     CM     CLM",
                                        f"{CONFIG:<22}{cl:.3f}  {cm:.3f}  {clm_test['mir']:.3f}"]
    assert (root / "results" / "zh2en2img_results.txt").read_text() == done.stdout


def test_scripts_skip_finished_splits_unless_overwrite(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    first = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--splits", "val")
    assert first.returncode == 0
    again = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG)
    assert again.returncode == 0 and "skip cococnval" in again.stdout and "CL cococntest" in again.stdout
    redo = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--overwrite", "1")
    assert "skip cococn" not in redo.stdout and redo.stdout.count("CL cococn") == 2
    assert run_script("fuse.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    assert "skip fusion" in run_script("fuse.py", "--rootpath", root, "--run", CONFIG).stdout
    other = run_script("fuse.py", "--rootpath", root, "--run", CONFIG, "--rank_norm", "1")   # another setting: redone
    assert other.returncode == 0 and "skip fusion" not in other.stdout and "CLM w =" in other.stdout
    assert json.loads((Path(clm_dir(root, CONFIG, "cococntest")) / "inputs.json").read_text())["rank_norm"] == 1
    assert "skip fusion" in run_script("fuse.py", "--rootpath", root, "--run", CONFIG, "--rank_norm", "1").stdout
    redo = run_script("fuse.py", "--rootpath", root, "--run", CONFIG, "--rank_norm", "1", "--overwrite", "1")
    assert redo.returncode == 0 and "CLM w =" in redo.stdout
    # val and test swapped: the same four rankings, a weight chosen on test; the run after them took it as current
    swapped = ("--query_val", "cococntest", "--query_test", "cococnval", "--rank_norm", "1")
    assert "best on cococntest" in run_script("fuse.py", "--rootpath", root, "--run", CONFIG, *swapped).stdout
    again = run_script("fuse.py", "--rootpath", root, "--run", CONFIG, "--rank_norm", "1")
    assert "skip fusion" not in again.stdout and "best on cococnval" in again.stdout


def test_fusion_refuses_rankings_computed_from_files_changed_since(tmp_path):
    """The English model retrained and tested again, CL not: fuse.py said 'skip fusion … from the same inputs'."""
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    assert run_script("fuse.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    ids, vectors = read_sent_feat(en_sent_feat(root, "test"))
    write_sent_feat(en_sent_feat(root, "test"), ids, vectors * 2 + 1)
    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 1 and (f"{cl_dir(root, CONFIG, 'cococntest')}: computed from "
                                     f"{en_sent_feat(root, 'test')}, which changed since: its results are stale"
                                     ) in done.stderr


def test_fusion_refuses_cl_of_two_english_runs(tmp_path):
    """cross_lingual.py --en_run given for one split: a weight chosen with one English model, applied to another's."""
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    english = os.path.dirname(en_sent_feat(root, "test"))
    other = shutil.copytree(english, english + "_other")
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--en_run", os.path.basename(other),
                      "--splits", "test", "--overwrite", "1").returncode == 0
    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 1 and (f"CL of cococntest was computed with the English run {CONFIG}_other, CL of "
                                     f"cococnval with {CONFIG}: run cross_lingual.py for both splits with one "
                                     f"--en_run") in done.stderr


def test_scripts_on_the_original_test_outputs(tmp_path):
    """CL and CLM computed from what the original wrote (its sent_feat.txt and CM rankings)."""
    need_fixtures()
    root = tmp_path / "VisualSearch"
    for config in FIXTURE_CONFIGS:
        for split in ("val", "test"):
            shutil.copytree(original_folder(f"cococn{split}", config), cm_dir(root, config, f"cococn{split}"))
            shutil.copytree(original_folder(f"mscoco2014dev-{split}", config, "mscoco2014dev-train"),
                            en_sent_feat(root, split, config).parent)
        assert run_script("cross_lingual.py", "--rootpath", root, "--run", config).returncode == 0
        assert run_script("fuse.py", "--rootpath", root, "--run", config).returncode == 0
        check_results_folder(cl_dir(root, config, "cococntest"), n_items=40)
        check_results_folder(clm_dir(root, config, "cococntest"), n_items=40)
    done = run_script("report.py", "--rootpath", root, "--run", *FIXTURE_CONFIGS, "--out", tmp_path / "table.txt")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["model", *FIXTURE_CONFIGS]
    for line, config in zip(done.stdout.splitlines()[1:], FIXTURE_CONFIGS):  # CM: the original's own
        assert line.split()[2] == f"{read_mir(original_folder('cococntest', config) / 'mir.txt'):.3f}"
    assert (tmp_path / "table.txt").read_text() == done.stdout


def assert_clean_error(done, *names):
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    for name in names:
        assert str(name) in done.stderr


def test_a_malformed_sent_feat_line_is_a_one_line_error_naming_file_and_line(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    path = Path(cm_dir(root, CONFIG, "cococnval")) / "sent_feat.txt"
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + " 0.5"
    path.write_text("\n".join(lines) + "\n")
    done = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG)
    assert_clean_error(done, f"{path}:3:")
    debug = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_cl_with_other_images_in_the_two_languages_names_both_files(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    en_path = en_sent_feat(root, "test")
    en_path.write_text(en_path.read_text().replace("COCO_test2014_000000000003#0", "COCO_test2014_000000000099#0"))
    done = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--splits", "test")
    assert_clean_error(done, Path(cm_dir(root, CONFIG, "cococntest")) / "sent_feat.txt", en_path)


def test_fusion_without_cl_results_names_the_missing_file(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    assert_clean_error(done, Path(cl_dir(root, CONFIG, "cococnval")) / "sent.id.score.txt")


def test_fusion_of_runs_over_other_images_names_both_files(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    cm_path = Path(cm_dir(root, CONFIG, "cococnval")) / "sent.id.score.txt"
    cm_path.write_text(cm_path.read_text().replace("COCO_val2014_000000000005 ", "COCO_val2014_000000000077 "))
    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    assert_clean_error(done, cm_path, Path(cl_dir(root, CONFIG, "cococnval")) / "sent.id.score.txt")


def test_report_of_a_config_not_run_names_the_folder_and_the_runs_there(tmp_path):
    root = tmp_path / "VisualSearch"
    root.mkdir()
    done = run_script("report.py", "--rootpath", root, "--run", "never_trained")
    assert_clean_error(done, f"{Path(cl_dir(root, 'never_trained', 'cococntest')).parent}: no run never_trained "
                             f"tested on cococntest (runs tested there: none)")
    assert not (root / "results").exists()
    write_tiny_root(root)   # CM of CONFIG there, with its CL's files but no CL results yet
    done = run_script("report.py", "--rootpath", root, "--run", CONFIG)
    assert_clean_error(done, Path(cl_dir(root, CONFIG, "cococntest")) / "metrics.json")


def test_a_stage_run_before_the_one_it_needs_names_that_stage(tmp_path):
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    done = run_script("fuse.py", "--rootpath", root, "--run", CONFIG)
    cl = os.path.join(cl_dir(root, CONFIG, "cococnval"), "sent.id.score.txt")
    assert done.returncode == 1 and done.stderr.strip() == (
        f"error: {cl}: not found: the CL ranking of cococnval, which stage 4 of do_all.sh, or cross_lingual.py "
        f"writes; run that first")
    os.remove(en_sent_feat(root, "val"))
    done = run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 1 and done.stderr.strip() == (
        f"error: {en_sent_feat(root, 'val')}: not found: the English model's vectors of mscoco2014dev-val, which "
        f"stage 2 of do_all.sh, or tester.py writes; run that first")


def test_the_table_names_an_english_run_given_to_cross_lingual(tmp_path):
    """cross_lingual.py --en_run replaced the run's CL with another English model's, and its row in the table read
    as the run's own pipeline."""
    root = tmp_path / "VisualSearch"
    write_tiny_root(root)
    english = os.path.dirname(en_sent_feat(root, "test"))
    for split in ("val", "test"):
        shutil.copytree(os.path.dirname(en_sent_feat(root, split)), os.path.dirname(en_sent_feat(root, split)) + "_b")
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--en_run",
                      os.path.basename(english) + "_b").returncode == 0
    assert run_script("fuse.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    done = run_script("report.py", "--rootpath", root, "--run", CONFIG)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith(f"{CONFIG} (English: {CONFIG}_b)    0.")
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", CONFIG, "--overwrite", "1").returncode == 0
    assert run_script("fuse.py", "--rootpath", root, "--run", CONFIG).returncode == 0
    assert run_script("report.py", "--rootpath", root, "--run", CONFIG).stdout.splitlines()[1].startswith(
        f"{CONFIG}    ")


def test_the_table_names_no_english_run_for_the_one_the_run_goes_with(tmp_path):
    """A Chinese run tagged with a setting of its language alone goes with the English run named without it:
    CL against that one is the run's own pipeline, and its row is the run's name alone."""
    from w2vv.runs import configured_run, record_inputs, save_record
    root = tmp_path / "VisualSearch"
    stop_list = tmp_path / "stop_zh.txt"
    stop_list.write_text("的\n", encoding="utf-8")
    cfg, name = configured_run("base_w2vv", {"stopwords_zh": str(stop_list)}, langs=("zh", "en"))
    english = configured_run("base_w2vv", {"stopwords_zh": str(stop_list)}, langs=("en",))[1]
    assert english != name
    write_tiny_root(root, config=name)
    weights = {}
    for train, val, run, lang in (("cococntrain", "cococnval", name, "zh"),
                                  ("mscoco2014dev-train", "mscoco2014dev-val", english, "en")):
        checkpoint = layout.checkpoint_dir(str(root), train, val, run)
        os.makedirs(checkpoint)
        weights[run] = os.path.join(checkpoint, "epoch_1.h5")
        Path(weights[run]).write_bytes(run.encode())
        save_record(checkpoint, run, dict(config=vars(cfg), language=lang,
                                          feature_collection=layout.DEFAULT_FEATURE_COLLECTION))
    for split in ("val", "test"):
        shutil.move(en_sent_feat(root, split, name).parent, en_sent_feat(root, split, english).parent)
        record_inputs(en_sent_feat(root, split, english).parent, [weights[english]])
        record_inputs(cm_dir(root, name, f"cococn{split}"), [weights[name]])
    assert run_script("cross_lingual.py", "--rootpath", root, "--run", name).returncode == 0
    assert run_script("fuse.py", "--rootpath", root, "--run", name).returncode == 0
    done = run_script("report.py", "--rootpath", root, "--run", name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith(f"{name}    0.")
    # the query model's folder deleted, and its results recorded before they held its settings: not an English
    # run of the user's choosing either
    shutil.rmtree(os.path.dirname(weights[name]))
    done = run_script("report.py", "--rootpath", root, "--run", name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith(f"{name}    0.")


def test_results_written_again_lose_their_record_first(tmp_path, monkeypatch):
    """CL and CLM cut short by a kill kept the record of the results they were replacing: once their inputs were as
    recorded again, the folder passed for done with the figures of the inputs of the cut. A killed writer's
    temporary file stayed for good."""
    from w2vv import ranking
    (tmp_path / layout.INPUTS_FILE).write_text("{}")
    (tmp_path / "mir.txt").write_text(mir_text(0.5))
    (tmp_path / "sent_feat.txt.k1ll3d.tmp").write_text("half of the vectors of a tester killed (SIGKILL)")

    def killed(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(ranking, "write_ranking", killed)
    with pytest.raises(KeyboardInterrupt):
        ranking.write_results(str(tmp_path), ["a#0"], ["a"], np.ones((1, 1)), np.ones((1, 1), bool))
    assert sorted(os.listdir(tmp_path)) == []
