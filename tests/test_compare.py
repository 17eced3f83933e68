"""compare.py: mean ± sd over seeds and the paired bootstrap interval, on result folders written here."""
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_main
from w2vv import comparison, layout, runs
from w2vv.layout import cl_dir, clm_dir, cm_dir
from w2vv.ranking import write_ranking
from w2vv.result_checks import MODEL_SETTINGS

QUERY_TRAIN, QUERY_VAL, QUERY_TEST = "cococntrain", "cococnval", "cococntest"
IMAGES = [f"img{i:02d}" for i in range(8)]
QUERIES = [f"{img}#{k}" for img in IMAGES for k in range(2)]


def write_run(root, run, quality, seed, rng, test=QUERY_TEST):
    """The three result folders of ``run`` in ``root``: each query's own image scores ``quality`` above noise."""
    for folder in (cl_dir, cm_dir, clm_dir):
        scores = rng.normal(size=(len(QUERIES), len(IMAGES)))
        scores[np.arange(len(QUERIES)), [IMAGES.index(q.split("#")[0]) for q in QUERIES]] += quality
        out = folder(str(root), run, test, QUERY_TRAIN)
        write_ranking(f"{out}/{layout.RANKING_FILE}", QUERIES, IMAGES, scores)
    checkpoint = layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, run)
    runs.save_record(checkpoint, run, {"seed": seed})


@pytest.fixture
def roots(tmp_path):
    rng = np.random.default_rng(0)
    out = []
    for seed in range(3):
        root = tmp_path / f"seed{seed}"
        write_run(root, "good", 3.0, seed, rng)
        write_run(root, "poor", 0.0, seed, rng)
        out.append(root)
    return out


def test_the_summary_is_the_mean_and_sd_of_the_seeds_figures(roots):
    figures = comparison.route_figures(roots, "good", "CM", QUERY_TEST, QUERY_TRAIN)
    per_seed = [comparison.per_query(cm_dir(str(r), "good", QUERY_TEST, QUERY_TRAIN))[1]["mir"].mean() for r in roots]
    mean, sd = comparison.summary(figures)["mir"]
    assert mean == pytest.approx(np.mean(per_seed)) and sd == pytest.approx(np.std(per_seed, ddof=1))


def test_a_paired_difference_of_a_run_with_itself_is_zero_and_of_a_better_one_positive(roots):
    good, poor = (comparison.route_figures(roots, run, "CLM", QUERY_TEST, QUERY_TRAIN) for run in ("good", "poor"))
    same = comparison.paired_difference(good, good, draws=500)
    assert all(values == (0.0, 0.0, 0.0) for values in same.values())
    better = comparison.paired_difference(good, poor, draws=2000)
    mean, low, high = better["mir"]
    assert 0 < low < mean < high and mean == pytest.approx((good.values["mir"] - poor.values["mir"]).mean())


def test_compare_prints_both_tables(roots, tmp_path):
    out = tmp_path / "table.txt"
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor", "--paired", "good", "poor",
                    "--draws", "500", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "mean ± sd over 3 seeds" in done.stdout and "good − poor: paired difference" in done.stdout
    assert out.read_text(encoding="utf-8") == done.stdout
    assert len([line for line in done.stdout.splitlines() if line.count(" ± ") == 4]) == 6  # 2 runs × 3 routes
    one = run_main("compare.py", "--rootpath", roots[0], "--run", "good", "poor", "--paired", "good", "poor",
                   "--draws", "500")  # the interval of one seed is the queries' alone: it said "over 1 seed"
    assert "interval over the 16 queries of 1 seed (the queries' spread only, not the seeds': give --rootpath " \
        "once per seed) (500 draws)" in one.stdout, one.stdout


def test_the_same_seed_in_two_roots_stops_in_one_line(roots):
    runs.save_record(layout.checkpoint_dir(str(roots[1]), QUERY_TRAIN, QUERY_VAL, "good"), "good", {"seed": 0})
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and "run good was trained with seed 0, as in" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


EN_TRAIN, EN_VAL, EN_TEST = "mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test"


def record_models(root, weights, english_run="good", english=(EN_TRAIN, EN_VAL), run="good", query_val=QUERY_VAL,
                  en_test=EN_TEST, settings=None):
    """The records the pipeline writes: CM of ``run`` names its model's weights (``weights``: their bytes; the
    model validated on ``query_val``), and holds its run ``settings`` where given; CL the English sentence
    vectors of ``english_run`` (trained on ``english``: (train, val)) of the captions of ``en_test``, whose record
    names that English model's weights and those captions."""
    def weights_file(train, val, run, content):
        path = os.path.join(layout.checkpoint_dir(str(root), train, val, run), "epoch_1.h5")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        return path

    runs.record_inputs(cm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN),
                       [weights_file(QUERY_TRAIN, query_val, run, weights)],
                       **({MODEL_SETTINGS: settings} if settings is not None else {}))
    captions = root / en_test / "TextData" / f"{en_test}.caption.txt"
    captions.parent.mkdir(parents=True, exist_ok=True)
    captions.write_text("img00#0 a dog\n")
    vectors = os.path.join(str(root), en_test, "SimilarityIndex", english[0], english_run, "sent_feat.txt")
    os.makedirs(os.path.dirname(vectors), exist_ok=True)
    with open(vectors, "w", encoding="utf-8") as f:
        f.write(f"{english_run}'s vectors\n")
    runs.record_inputs(os.path.dirname(vectors), [weights_file(*english, english_run, b"english"), captions])
    runs.record_inputs(cl_dir(str(root), run, QUERY_TEST, QUERY_TRAIN), [vectors])


def test_one_model_in_two_roots_is_not_two_seeds_even_without_its_folder(roots):
    """A root copied after training, or a run without a seed found done in the copy: a spread of 0, refused by
    the weights its results were computed with, also once the model's folder is deleted to save space."""
    for root, weights in zip(roots, (b"seed 0", b"seed 1", b"seed 2")):
        record_models(root, weights)
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0
    record_models(roots[2], b"seed 0")
    for deleted in (False, True):
        if deleted:
            import shutil
            shutil.rmtree(layout.checkpoint_dir(str(roots[2]), QUERY_TRAIN, QUERY_VAL, "good"))
        done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
        assert f"{roots[2]}: run good has the very weights (or sentence vectors) of the model in {roots[0]} " \
               f"(epoch_1.h5:6:" in done.stderr


def test_the_english_model_compared_is_the_one_cl_used(roots):
    """One seed's CL computed with another English run (cross_lingual.py --en_run): its records say so."""
    for root, weights in zip(roots, (b"seed 0", b"seed 1", b"seed 2")):
        record_models(root, weights)
        runs.save_record(layout.checkpoint_dir(str(root), EN_TRAIN, EN_VAL, "good"), "good", {"loss_fun": "ctl"})
    runs.save_record(layout.checkpoint_dir(str(roots[1]), EN_TRAIN, EN_VAL, "other"), "other", {"loss_fun": "mse"})
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0
    record_models(roots[1], b"seed 1", english_run="other")
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{roots[1]}: run good ({EN_TRAIN}) differs from the one in {roots[0]} by more than its seed: loss_fun " \
           f"'mse' (in {roots[0]} 'ctl')" in done.stderr


def test_an_english_model_of_other_collections_in_one_seed_is_named(roots):
    """One seed's English model trained on other collections (the ini's en_train changed there): its CL was
    compared as a seed's draw, the check looking for English models under the default collections only."""
    for root, weights in zip(roots, (b"seed 0", b"seed 1", b"seed 2")):
        record_models(root, weights)
        runs.save_record(layout.checkpoint_dir(str(root), EN_TRAIN, EN_VAL, "good"), "good",
                         {"captions": caption_record("c.txt:10:aaaa")})
    record_models(roots[1], b"seed 1", english=("enalt-train", "enalt-val"))
    runs.save_record(layout.checkpoint_dir(str(roots[1]), "enalt-train", "enalt-val", "good"), "good",
                     {"captions": caption_record("c.txt:5:cccc")})
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and f"{roots[1]}: run good (enalt-train) differs from the one in {roots[0]} by more " \
                                    f"than its seed: captions" in done.stderr, done.stderr


def caption_record(content):
    return {"train": {"path": f"{QUERY_TRAIN}/TextData/{QUERY_TRAIN}.caption.txt", "content": content}}


@pytest.mark.parametrize("model", ["query", "english"])
def test_roots_whose_runs_differ_by_more_than_the_seed_stop_in_one_line(roots, model):
    """Edited captions in one seed's root: its spread would be the edit's, not the seed's."""
    train, val = (QUERY_TRAIN, QUERY_VAL) if model == "query" else ("mscoco2014dev-train", "mscoco2014dev-val")
    for seed, (root, content) in enumerate(zip(roots, ("c.txt:10:aaaa", "c.txt:10:aaaa", "c.txt:11:bbbb"))):
        runs.save_record(layout.checkpoint_dir(str(root), train, val, "good"), "good",
                         {"seed": seed, "captions": caption_record(content), "image_towers_from": {"seed": seed}})
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{roots[2]}: run good ({train}) differs from the one in {roots[0]} by more than its seed: captions " \
           f"train {QUERY_TRAIN}/TextData/{QUERY_TRAIN}.caption.txt changed (recorded c.txt:11:bbbb, " \
           f"in {roots[0]} c.txt:10:aaaa)" in done.stderr


def test_runs_that_differ_only_by_seed_and_backend_are_compared(roots):
    for seed, (root, backend) in enumerate(zip(roots, ("tensorflow 2.21.0", "jax 0.8", "torch 2.9"))):
        runs.save_record(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), "good",
                         {"seed": seed, "backend": backend, "captions": caption_record("c.txt:10:aaaa")})
        # one English model for every seed (copied with the root): the spread is the query model's alone
        runs.save_record(layout.checkpoint_dir(str(root), "mscoco2014dev-train", "mscoco2014dev-val", "good"),
                         "good", {"seed": 0, "captions": caption_record("e.txt:10:eeee")})
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0


def test_a_first_root_recorded_before_a_setting_was_is_compared_with_later_ones(roots):
    """The first seed trained before the records named the ImageSets (and an attribute at its default): what one
    record lacks is no difference, whichever root comes first."""
    from w2vv.config import DEFAULTS
    for seed, root in enumerate(roots):
        later = {"imagesets": caption_record("i.txt:10:iiii"), "config": {"gru_impl": DEFAULTS["gru_impl"]}}
        runs.save_record(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), "good",
                         {"seed": seed, "captions": caption_record("c.txt:10:aaaa"), "config": {},
                          **({} if seed == 0 else later)})
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0
    assert run_main("compare.py", "--rootpath", *roots[::-1], "--run", "good").returncode == 0


def test_the_picture_shows_each_routes_mean_sd_and_seeds(roots, tmp_path):
    from PIL import Image

    from w2vv.comparison_figure import comparison_figure
    routes = list(comparison.ROUTES)
    figures = {(run, route): comparison.route_figures(roots, run, route, QUERY_TEST, QUERY_TRAIN)
               for run in ("good", "poor") for route in routes}
    fig = comparison_figure(figures, ["good", "poor"], routes)
    for ax, route in zip(fig.axes, routes):
        assert ax.get_title() == route
        bars = [patch.get_height() for patch in ax.patches]
        assert bars == pytest.approx([comparison.summary(figures[run, route])["mir"][0] for run in ("good", "poor")])
        dots = [line.get_ydata() for line in ax.lines if line.get_marker() == "o"]
        assert [list(d) for d in dots] == [pytest.approx(figures[run, route].values["mir"].mean(axis=1))
                                           for run in ("good", "poor")]
    out = tmp_path / "pictures" / "family.png"
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor", "--plot", out)
    assert done.returncode == 0, done.stderr
    assert f"(picture: {out})" in done.stdout and Image.open(out).format == "PNG"


def test_results_computed_from_files_changed_since_stop_in_one_line(roots):
    """CL ranked with the Chinese model's vectors of before a retraining: stale, not compared."""
    (roots[1] / "model").mkdir()
    vectors = roots[1] / "model" / "vectors.txt"
    vectors.write_text("the sentence vectors CL was computed from\n")
    folder = cl_dir(str(roots[1]), "good", QUERY_TEST, QUERY_TRAIN)
    runs.record_inputs(folder, [vectors])
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0   # as recorded
    vectors.write_text("the vectors of the model retrained since\n")
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{folder}: computed from {vectors}, which changed since: its results are stale" in done.stderr
    vectors.unlink()  # gone from its folder: a model being retrained
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and f"computed from {vectors}, which changed since" in done.stderr
    vectors.parent.rmdir()  # gone with its folder, deleted to save space: nothing to compare, nothing held against
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good").returncode == 0


def test_seeds_fused_otherwise_stop_in_one_line(roots):
    """One seed's CLM on 1 - rank/N, the others' on scores: their mean would be of neither fusion."""
    folders = [clm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN) for root in roots]
    for folder, rank_norm in zip(folders, (0, 0, 1)):
        runs.record_inputs(folder, [f"{folder}/{layout.RANKING_FILE}"], rank_norm=rank_norm)
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{folders[2]}: CLM computed with rank_norm = 1, but {folders[0]} with rank_norm = 0: results " \
           f"compared must be computed alike" in done.stderr
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CL", "CM").returncode == 0


def test_runs_fused_otherwise_stop_in_one_line(roots):
    """Each run alike over its seeds, but 'poor' fused on 1 - rank/N: the difference would not be the models'."""
    for run, rank_norm in (("good", 0), ("poor", 1)):
        for root in roots:
            folder = clm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN)
            runs.record_inputs(folder, [f"{folder}/{layout.RANKING_FILE}"], rank_norm=rank_norm)
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{clm_dir(str(roots[0]), 'poor', QUERY_TEST, QUERY_TRAIN)}: CLM computed with rank_norm = 1" in done.stderr
    table = run_main("report.py", "--rootpath", roots[0], "--run", "good", "poor")  # the paper's table, one root
    assert table.returncode == 1 and "CLM computed with rank_norm = 1, but " in table.stderr
    assert run_main("report.py", "--rootpath", roots[0], "--run", "poor").returncode == 0
    os.remove(os.path.join(clm_dir(str(roots[0]), "poor", QUERY_TEST, QUERY_TRAIN), layout.INPUTS_FILE))
    assert run_main("report.py", "--rootpath", roots[0], "--run", "good", "poor").returncode == 0, \
        "a folder without a record was fused on scores, as the paper's"


def test_a_route_a_run_has_not_stops_naming_the_routes_to_ask_instead(roots):
    """A successor trained with its own image towers has no CL: the comparison names --routes without it."""
    import shutil
    folder = cl_dir(str(roots[2]), "good", QUERY_TEST, QUERY_TRAIN)
    shutil.rmtree(folder)
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{folder}: no CL results of run good (run do_all.sh for it there, or leave CL out: --routes CM CLM)" \
        in done.stderr
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM", "CLM").returncode == 0


def test_one_seed_shows_no_sd_rather_than_a_zero_one(roots, tmp_path):
    done = run_main("compare.py", "--rootpath", roots[0], "--run", "good", "--plot", tmp_path / "one.png")
    assert done.returncode == 0, done.stderr
    assert f"test figures on {QUERY_TEST} ({len(QUERIES)} queries) of 1 seed (no sd: give --rootpath once per seed" \
        in done.stdout and " ± " not in done.stdout
    figures = comparison.route_figures(roots[:1], "good", "CM", QUERY_TEST, QUERY_TRAIN)
    assert np.isnan(comparison.summary(figures)["mir"][1])


@pytest.mark.parametrize("args, message", [
    (["--run", "good", "good"], "--run: good given twice"),
    (["--run", "good", "--routes", "CL", "CL"], "--routes: CL given twice"),
    (["--run", "good", "poor", "--paired", "good", "good"], "--paired good good: two different runs"),
    (["--run", "good", "poor", "--paired", "good", "poor", "--draws", "1"], "--draws 1: a 95% bootstrap interval "
                                                                            "needs at least 100 draws"),
])
def test_a_comparison_that_would_mislead_stops_in_one_line(roots, args, message):
    done = run_main("compare.py", "--rootpath", *roots, *args)
    assert done.returncode == 2 and done.stdout == "" and message in done.stderr.strip().splitlines()[-1]


def test_a_root_given_twice_stops_whatever_its_spelling(roots):
    done = run_main("compare.py", "--rootpath", roots[0], f"{roots[0]}/../{roots[0].name}", "--run", "good")
    assert done.returncode == 2 and f"--rootpath: {roots[0]} given twice" in done.stderr


def test_figures_on_the_split_a_choice_was_made_on_stop_in_one_line(roots):
    """The best epoch is chosen on val, and so is the CLM weight: val's figures as a test table would flatter."""
    root = roots[0]
    write_run(root, "good", 3.0, 0, np.random.default_rng(1), test=QUERY_VAL)
    record_models(root, b"weights")
    weights = os.path.join(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), "epoch_1.h5")
    runs.record_inputs(cm_dir(str(root), "good", QUERY_VAL, QUERY_TRAIN), [weights])
    for script, flags in (("report.py", ["--rootpath", root]), ("compare.py", ["--rootpath", root, "--query_val",
                                                                              QUERY_TEST])):
        done = run_main(script, *flags, "--run", "good", "--query_test", QUERY_VAL)
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
        assert f"{QUERY_VAL} is the collection the best epoch of {os.path.dirname(weights)} was chosen on: figures " \
               f"on it would flatter the model" in done.stderr
    clm = clm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN)
    runs.record_inputs(clm, [f"{clm}/{layout.RANKING_FILE}"], rank_norm=0, weight_chosen_on=QUERY_TEST)
    done = run_main("report.py", "--rootpath", root, "--run", "good")
    assert done.returncode == 1 and f"{QUERY_TEST} is the collection the CLM weight (" in done.stderr
    runs.record_inputs(clm, [f"{clm}/{layout.RANKING_FILE}"], rank_norm=0, weight_chosen_on=QUERY_VAL)
    assert run_main("report.py", "--rootpath", root, "--run", "good").returncode == 0


def test_a_clm_resting_on_english_vectors_computed_again_is_stale_without_cl_asked(roots):
    """The English test sentences tested again: CL is stale, and so is the CLM fused from it, which a comparison
    of CM and CLM alone took as current."""
    for root, weights in zip(roots, (b"seed 0", b"seed 1", b"seed 2")):
        record_models(root, weights)
        clm = clm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN)
        runs.record_inputs(clm, [f"{cl_dir(str(root), 'good', QUERY_TEST, QUERY_TRAIN)}/{layout.RANKING_FILE}"])
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM", "CLM").returncode == 0
    vectors = os.path.join(str(roots[1]), EN_TEST, "SimilarityIndex", EN_TRAIN, "good", "sent_feat.txt")
    with open(vectors, "a", encoding="utf-8") as f:
        f.write("a sentence edited since\n")
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM", "CLM")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{clm_dir(str(roots[1]), 'good', QUERY_TEST, QUERY_TRAIN)}: computed from {vectors}, which changed " \
           f"since" in done.stderr


def test_a_route_that_ranks_other_queries_than_the_others_stops_in_one_line(roots):
    """A CM ranking cut to half its queries in every seed: its row was averaged over those, under a title counting
    the first route's queries."""
    for root in roots:
        rng = np.random.default_rng(1)
        cm = cm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN)
        write_ranking(f"{cm}/{layout.RANKING_FILE}", QUERIES[:8], IMAGES, rng.normal(size=(8, len(IMAGES))))
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CL", "CM")
    assert done.returncode == 1 and done.stderr.strip() == "error: good CM: ranks 8 queries, good CL 16, not the " \
        "same ones: a ranking cut short or written for another test set; run do_all.sh for that run again"


def test_seeds_tested_on_sentences_edited_in_one_root_stop_in_one_line(roots):
    """The same sentence ids, other words: the mean would mix two test sets."""
    for root, words in zip(roots, ("a dog", "a dog", "a cat")):
        captions = root / QUERY_TEST / "TextData" / f"{QUERY_TEST}.caption.txt"
        captions.parent.mkdir(parents=True, exist_ok=True)
        captions.write_text(f"img00#0 {words}\n")
        runs.record_inputs(cm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN), [captions])
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{roots[2]}: run good's CM results were computed from {QUERY_TEST}/TextData/{QUERY_TEST}.caption.txt " \
           f"holding other content than in {roots[0]}" in done.stderr


def test_a_run_name_not_tested_names_the_runs_that_were(roots):
    """A config's name given for a run trained with other settings (whose name carries them): 'no CL results' and
    'metrics file not found (run that stage first)' sent the user to run a stage that had run."""
    for script, flags in (("compare.py", ["--rootpath", *roots]), ("report.py", ["--rootpath", roots[0]])):
        done = run_main(script, *flags, "--run", "goo")
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
        assert f"no run goo tested on {QUERY_TEST} (runs tested there: good, poor); a run trained with settings " \
               f"other than its config's carries them in its name" in done.stderr


def test_a_run_with_its_own_image_towers_is_told_to_be_compared_by_cm(roots):
    """do_all.sh gives such a run no CL: 'run do_all.sh for it there' sent the user to a stage that skips it."""
    import shutil
    for root in roots:
        folder = layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good")
        runs.save_record(folder, "good", {"seed": int(root.name[-1]),
                                          "config": {"family": "sea", "image_towers": "own"}})
        (Path(folder) / "epoch_1.h5").write_bytes(root.name.encode())
        runs.record_inputs(cm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN), [Path(folder) / "epoch_1.h5"])
        shutil.rmtree(cl_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN))
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and "run good has no CL and no CLM (it trained its own image towers, image_towers " \
                                    "= 'own'): compare it by --routes CM" in done.stderr
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM").returncode == 0


def test_results_of_a_run_of_the_same_name_and_another_val_are_not_mixed(roots):
    """A run of the same settings trained with another val tested last: its test ranking stood beside the CLM
    chosen with the first one's, and report.py and compare.py printed the mixture."""
    for root, weights in zip(roots, (b"seed 0", b"seed 1", b"seed 2")):
        record_models(root, weights)
    other = os.path.join(layout.checkpoint_dir(str(roots[0]), QUERY_TRAIN, "cococnval2", "good"), "epoch_1.h5")
    os.makedirs(os.path.dirname(other))
    with open(other, "wb") as f:
        f.write(b"the other val's model")
    val_cm, test_cm = (cm_dir(str(roots[0]), "good", split, QUERY_TRAIN) for split in (QUERY_VAL, QUERY_TEST))
    os.makedirs(val_cm)
    with open(f"{val_cm}/{layout.RANKING_FILE}", "w") as f:
        f.write("val's ranking\n")
    runs.record_inputs(val_cm, [os.path.join(layout.checkpoint_dir(str(roots[0]), QUERY_TRAIN, QUERY_VAL, "good"),
                                             "epoch_1.h5")])
    runs.record_inputs(clm_dir(str(roots[0]), "good", QUERY_TEST, QUERY_TRAIN),
                       [f"{folder}/{layout.RANKING_FILE}" for folder in (val_cm, test_cm)])
    runs.record_inputs(test_cm, [other])  # the other run tested last
    for script, flags in (("report.py", ["--rootpath", roots[0]]), ("compare.py", ["--rootpath", *roots])):
        done = run_main(script, *flags, "--run", "good")
        assert done.returncode == 1 and "runs of one name trained on two val collections share their results' " \
                                        "folders" in done.stderr and "cococnval2" in done.stderr, done.stderr


def test_a_seed_whose_model_folder_is_gone_is_checked_by_the_settings_its_results_hold(roots):
    """A seed's model trained on other captions, its folder deleted to save space: the check skipped that root."""
    import shutil
    for seed, (root, content) in enumerate(zip(roots, ("c.txt:10:aaaa", "c.txt:10:aaaa", "c.txt:11:bbbb"))):
        settings = {"seed": seed, "captions": caption_record(content)}
        record_models(root, f"seed {seed}".encode(), settings=settings)
        runs.save_record(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), "good", settings)
    shutil.rmtree(layout.checkpoint_dir(str(roots[2]), QUERY_TRAIN, QUERY_VAL, "good"))
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{roots[2]}: run good ({QUERY_TRAIN}) differs from the one in {roots[0]} by more than its seed: " \
           f"captions train" in done.stderr
    record_models(roots[2], b"seed 2")  # results that do not hold its settings
    shutil.rmtree(layout.checkpoint_dir(str(roots[2]), QUERY_TRAIN, QUERY_VAL, "good"))
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and "whose folder is gone, and their records do not hold its settings" in done.stderr


def test_a_seed_trained_on_another_val_is_found_by_its_results_records(roots):
    """The model looked for under --query_val alone: a seed validated elsewhere was not checked at all."""
    for seed, root in enumerate(roots):
        val = "cococnval2" if seed == 2 else QUERY_VAL
        record_models(root, f"seed {seed}".encode(), query_val=val)
        runs.save_record(layout.checkpoint_dir(str(root), QUERY_TRAIN, val, "good"), "good", {"seed": seed, "val": val})
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and f"{roots[2]}: run good ({QUERY_TRAIN}) differs from the one in {roots[0]} by " \
                                    f"more than its seed: val 'cococnval2'" in done.stderr, done.stderr


def test_cl_against_another_english_test_collection_is_refused(roots):
    """One seed's CL computed against other English sentences (cross_lingual.py --en_test), and another run of the
    table's: means and rows of two test sets."""
    for seed, root in enumerate(roots):
        record_models(root, f"seed {seed}".encode(), en_test="mscoco2014dev-test2" if seed == 2 else EN_TEST)
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert f"{roots[2]}: run good's CL results were computed from mscoco2014dev-test2/TextData/" \
           f"mscoco2014dev-test2.caption.txt, unlike those in {roots[0]}: seeds are compared on the same data" \
        in done.stderr
    for seed, root in enumerate(roots):
        record_models(root, f"seed {seed}".encode())
        record_models(root, f"poor {seed}".encode(), run="poor", english_run="poor", en_test="mscoco2014dev-test2")
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor")
    assert done.returncode == 1 and f"{roots[0]}: run poor's CL results were computed from mscoco2014dev-test2/" \
                                    f"TextData/mscoco2014dev-test2.caption.txt, unlike those of run good: runs in " \
                                    f"one table are compared on the same test data" in done.stderr, done.stderr
    done = run_main("report.py", "--rootpath", roots[0], "--run", "good", "poor")
    assert done.returncode == 1 and "runs in one table are compared on the same test data" in done.stderr, done.stderr
    assert run_main("report.py", "--rootpath", roots[0], "--run", "good").returncode == 0
    rng = np.random.default_rng(1)
    for seed, root in enumerate(roots):
        write_run(root, "plain", 1.0, seed, rng)  # results without records, first: each run still checked
    for script, flags in (("report.py", ["--rootpath", roots[0]]), ("compare.py", ["--rootpath", *roots])):
        done = run_main(script, *flags, "--run", "plain", "good", "poor")
        assert done.returncode == 1 and "runs in one table are compared on the same test data" in done.stderr


def test_runs_of_one_table_validated_on_other_collections_are_compared(roots):
    """CLM's record rests on the val results its weight was chosen on: their captions are no test data."""
    for seed, root in enumerate(roots):
        for run, val in (("good", QUERY_VAL), ("poor", "cococnval2")):
            record_models(root, f"{run} {seed}".encode(), run=run, english_run=run)
            captions = root / val / "TextData" / f"{val}.caption.txt"
            captions.parent.mkdir(parents=True, exist_ok=True)
            captions.write_text("img00#0 a dog\n")
            val_cm = cm_dir(str(root), run, val, QUERY_TRAIN)
            os.makedirs(val_cm, exist_ok=True)
            runs.record_inputs(val_cm, [captions])
            test_cm = cm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN)
            runs.record_inputs(clm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN),
                               [f"{folder}/{layout.RANKING_FILE}" for folder in (test_cm,)] + [captions])
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor", "--draws", "10")
    assert done.returncode == 0, done.stderr
    assert run_main("report.py", "--rootpath", roots[0], "--run", "good", "poor").returncode == 0


def test_cm_alone_of_a_w2vv_run_does_not_rest_on_the_english_model(roots, tmp_path, monkeypatch):
    """A W2VV model's CM uses no English model: one deleted (results recorded without its settings) was refused
    as a model the results rest on, and only with absolute root paths."""
    import shutil
    for seed, root in enumerate(roots):
        record_models(root, f"seed {seed}".encode())
    shutil.rmtree(layout.checkpoint_dir(str(roots[2]), EN_TRAIN, EN_VAL, "good"))
    monkeypatch.chdir(tmp_path)
    for spelled in (roots, [os.path.relpath(root, tmp_path) for root in roots]):
        assert run_main("compare.py", "--rootpath", *spelled, "--run", "good", "--routes", "CM").returncode == 0
        done = run_main("compare.py", "--rootpath", *spelled, "--run", "good")
        assert done.returncode == 1 and "whose folder is gone, and their records do not hold its settings" \
            in done.stderr, done.stderr


def test_the_english_model_a_successor_took_its_towers_from_is_checked_by_cm_alone(roots):
    """--routes CM of a successor's run rests on the English model's frozen towers, which the check looked for
    through CL only."""
    for seed, root in enumerate(roots):
        en_val = "mscoco2014dev-val2" if seed == 2 else EN_VAL
        english = layout.checkpoint_dir(str(root), EN_TRAIN, en_val, "good")
        runs.save_record(english, "good", {"seed": seed, "val": en_val})
        towers = {"path": os.path.relpath(os.path.join(english, "epoch_1.h5"), root), "content": f"e{seed}"}
        record_models(root, f"seed {seed}".encode(), english=(EN_TRAIN, en_val))
        runs.save_record(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), "good",
                         {"seed": seed, "image_towers_from": towers})
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM")
    assert done.returncode == 1 and f"{roots[2]}: run good ({EN_TRAIN}) differs from the one in {roots[0]} by " \
                                    f"more than its seed: val 'mscoco2014dev-val2'" in done.stderr, done.stderr


def test_a_model_without_a_run_record_deleted_after_its_test_is_compared(roots):
    """The original code's model tested here holds no settings to copy: its folder deleted, compare.py stopped,
    telling to put it back and record what it cannot have."""
    import shutil
    for seed, root in enumerate(roots):
        record_models(root, f"seed {seed}".encode(), settings={})
        os.remove(os.path.join(layout.checkpoint_dir(str(root), QUERY_TRAIN, QUERY_VAL, "good"), runs.SETTINGS_FILE))
    shutil.rmtree(layout.checkpoint_dir(str(roots[2]), QUERY_TRAIN, QUERY_VAL, "good"))
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "--routes", "CM").returncode == 0


def test_a_table_beside_the_original_codes_english_vectors_compares_what_both_name(roots):
    """CL of one run rests on English vectors without a record (the original code's): its trace stops there, and
    the run was refused for 'other files' than a run whose trace goes on to the English test captions."""
    for seed, root in enumerate(roots):
        captions = root / QUERY_TEST / "TextData" / f"{QUERY_TEST}.caption.txt"
        captions.parent.mkdir(parents=True, exist_ok=True)
        captions.write_text("img00#0 一只狗\n")
        original = root / EN_TEST / "SimilarityIndex" / EN_TRAIN / "poor" / "sent_feat.txt"
        original.parent.mkdir(parents=True)
        original.write_text("the original's vectors\n")
        record_models(root, f"seed {seed}".encode())
        for run in ("good", "poor"):
            cm = cm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN)
            with open(f"{cm}/sent_feat.txt", "w", encoding="utf-8") as f:
                f.write(f"{run}'s vectors of seed {seed}\n")
            runs.record_inputs(cm, [captions])
        english = os.path.join(str(root), EN_TEST, "SimilarityIndex", EN_TRAIN, "good", "sent_feat.txt")
        for run, vectors in (("good", english), ("poor", original)):
            runs.record_inputs(cl_dir(str(root), run, QUERY_TEST, QUERY_TRAIN),
                               [f"{cm_dir(str(root), run, QUERY_TEST, QUERY_TRAIN)}/sent_feat.txt", vectors])
    assert run_main("report.py", "--rootpath", roots[0], "--run", "good", "poor").returncode == 0
    assert run_main("compare.py", "--rootpath", *roots, "--run", "good", "poor", "--draws", "10").returncode == 0


def test_figures_on_the_val_of_a_run_without_records_stop_in_one_line(roots):
    """The original code's results name no model: the val split given as --query_test was tabled as test figures,
    though the run's checkpoint folder says its best epoch was chosen there."""
    for root in roots:
        write_run(root, "good", 3.0, 0, np.random.default_rng(0), test=QUERY_VAL)
    os.makedirs(layout.checkpoint_dir(str(roots[0]), QUERY_TRAIN, QUERY_VAL, "good"), exist_ok=True)
    for script, flags in (("report.py", ["--rootpath", roots[0]]),
                          ("compare.py", ["--rootpath", *roots, "--query_val", QUERY_TEST])):
        done = run_main(script, *flags, "--run", "good", "--query_test", QUERY_VAL)
        assert done.returncode == 1 and f"run good was validated on {QUERY_VAL}, its best epoch chosen there" \
            in done.stderr, done.stderr


def test_the_original_codes_model_in_two_roots_is_not_two_seeds(roots):
    """Its CM results have no record, so no weights to compare; CL's record names its sentence vectors."""
    for root, words in zip(roots, ("seed 0", "seed 1", "seed 1")):
        cm = cm_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN)
        with open(f"{cm}/sent_feat.txt", "w", encoding="utf-8") as f:
            f.write(f"{words}'s vectors\n")
        runs.record_inputs(cl_dir(str(root), "good", QUERY_TEST, QUERY_TRAIN), [f"{cm}/sent_feat.txt"])
    assert run_main("compare.py", "--rootpath", *roots[:2], "--run", "good").returncode == 0
    done = run_main("compare.py", "--rootpath", *roots, "--run", "good")
    assert done.returncode == 1 and f"{roots[2]}: run good has the very weights (or sentence vectors) of the model " \
                                    f"in {roots[1]} (sent_feat.txt:" in done.stderr, done.stderr
