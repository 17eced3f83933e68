"""A third language end to end: Japanese queries through English sentences to images, on the demo
root with its Japanese collections (tools/make_demo_data.py --ja): do_all.sh (vocabularies, the
Japanese model, CL ja -> en, CLM, the table), then search.py with raw Japanese queries; and a successor
(W2VV++) in Japanese on the English model's image tower, through CL, CLM and search.py."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.helpers import PIPELINE_SCALE, REPO, pipeline_run, run_main, run_pipeline, write_pipeline_ini
from tools import make_demo_data as demo
from w2vv import languages, layout, runs
from w2vv.collection_files import captions_of, imageset_of
from w2vv.config import parse_overrides
from w2vv.errors import InputError
from w2vv.ranking import read_metrics

pytestmark = pytest.mark.skipif(importlib.util.find_spec("janome") is None,
                                reason="janome not installed (pip install -r requirements-ja.txt)")

RUN = pipeline_run()
JA = (demo.JA_TRAIN, demo.JA_VAL, demo.JA_TEST)
EN = ("mscoco2014dev-train", "mscoco2014dev-val")


def chance_mir(n):
    return sum(1 / k for k in range(1, n + 1)) / n


@pytest.fixture(scope="module")
def ja_root(pipeline_root):
    """The Japanese collections added to the session's pipeline root, then do_all.sh for Japanese (its
    English model is the pipeline's: already trained)."""
    root = pipeline_root[0]
    demo.make_demo_root(root, scale=PIPELINE_SCALE, feature_dim=64, verbose=False, ja=True)
    ini = write_pipeline_ini(root.parent / "ja.ini", root, f"languages = {demo.JA_DECLARATION}\n"
                             f"query_train = {JA[0]}\nquery_val = {JA[1]}\nquery_test = {JA[2]}\n")
    result = run_pipeline(ini)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def checkpoint(root, train, val, run=RUN):
    return layout.checkpoint_dir(str(root), train, val, run)


@pytest.mark.slow
def test_the_demo_declares_its_japanese_collections(ja_root):
    languages.declare(demo.JA_DECLARATION)
    try:
        assert [languages.language_of(c) for c in JA] == ["ja"] * 3
    finally:
        languages.declare("")
    marker = json.loads((ja_root / demo.MARKER).read_text())
    assert marker["ja"] and marker["ja_languages"] == demo.JA_DECLARATION
    assert sorted(imageset_of(str(ja_root), demo.JA_TEST)) == \
        sorted(imageset_of(str(ja_root), "cococntest"))
    sentence = captions_of(str(ja_root), demo.JA_TRAIN)[0][1]
    assert " " not in sentence and languages.LANGUAGES["ja"].recognises(sentence)   # raw Japanese


@pytest.mark.slow
def test_the_japanese_model_records_its_language_and_learns(ja_root):
    folder = checkpoint(ja_root, JA[0], JA[1])
    settings = json.loads(open(os.path.join(folder, "settings.json")).read())["settings"]
    assert settings["language"] == "ja" and settings["word2vec"]["path"].endswith("ja_janome.model")
    vocab = open(layout.vocab_file(str(ja_root), JA[0], "bow_filterstop")).read()
    assert "犬" in vocab and "\tが" not in vocab and "が\t" not in vocab   # janome's words, particles left out


@pytest.mark.slow
def test_cl_and_clm_are_written_under_ja2en_names_and_beat_chance(ja_root):
    r = str(ja_root)
    n_test = len(imageset_of(r, JA[2]))
    mirs = {}
    for run in (RUN, layout.cl_run_name(RUN, "ja"), layout.fusion_run_name(RUN, "ja")):
        mirs[run] = read_metrics(os.path.join(layout.similarity_dir(r, JA[2], JA[0], run), "metrics.json"))["mir"]
    assert all(m > 2 * chance_mir(n_test) for m in mirs.values()), mirs
    assert not os.path.exists(layout.similarity_dir(r, JA[2], JA[0], layout.cl_run_name(RUN)))  # no zh2en_ folder
    table = open(layout.results_file(r, RUN, "ja", JA)).read()
    assert table.splitlines()[0].split() == ["model", "CL", "CM", "CLM"] and RUN in table


def search(*args):
    return subprocess.run([sys.executable, str(REPO / "search.py"), "--quiet", "--json", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.mark.slow
def test_search_answers_a_raw_japanese_query_and_a_kanji_only_one(ja_root):
    models = ["--model_path", checkpoint(ja_root, JA[0], JA[1]), "--model_path", checkpoint(ja_root, *EN)]
    done = search(*models, "白い犬が浜辺で走っている", "犬")
    assert done.returncode == 0, done.stderr
    first, kanji = [json.loads(line) for line in done.stdout.splitlines()]
    assert (first["lang"], first["mode"], len(first["results"])) == ("ja", "clm", 10)
    assert first["text"] == "白い犬が浜辺で走っている" and first["unknown"] == []
    assert kanji["lang"] == "ja" and kanji["results"]                 # the one loaded model that reads ideographs


@pytest.mark.slow
def test_kanji_only_with_chinese_and_japanese_models_needs_lang(ja_root):
    zh = checkpoint(ja_root, "cococntrain", "cococnval")  # the session pipeline's Chinese model
    from w2vv.retrieval.searcher import Searcher
    searcher = Searcher([checkpoint(ja_root, JA[0], JA[1]), zh, checkpoint(ja_root, *EN)])
    assert searcher.languages == ["en", "ja", "zh"]
    with pytest.raises(InputError, match=r"could be Chinese or Japanese: give its language \(--lang zh\|ja\)"):
        searcher.search("犬")
    assert searcher.search("犬", lang="ja").lang == "ja" and searcher.search("犬", lang="zh", mode="cm").lang == "zh"
    assert searcher.search("犬が走る", mode="cm").lang == "ja"          # kana: Japanese
    done = search("--model_path", zh, "--model_path", checkpoint(ja_root, JA[0], JA[1]), "犬")
    assert done.returncode == 1 and "--lang zh|ja" in json.loads(done.stdout)["error"]   # --json: the record says why


def test_japanese_is_added_to_a_complete_demo_without_touching_the_rest(tmp_path):
    root = tmp_path / "demo"
    demo.make_demo_root(root, scale=0.2, feature_dim=16, verbose=False)
    kept = [layout.caption_file(str(root), c) for c in demo.COLLECTIONS] + [layout.zh_word2vec_file(str(root))]
    before = {p: (open(p, "rb").read(), os.stat(p).st_mtime_ns) for p in kept}
    summary = demo.make_demo_root(root, scale=0.2, feature_dim=16, verbose=False, ja=True)
    assert summary["ja"] and set(JA) <= set(summary["collections"])
    assert {p: (open(p, "rb").read(), os.stat(p).st_mtime_ns) for p in kept} == before
    assert os.path.isfile(layout.word2vec_path(str(root), "ja"))
    assert demo.make_demo_root(root, scale=0.2, feature_dim=16, verbose=False) == summary   # complete: nothing to do
    assert demo.make_demo_root(root, scale=0.2, feature_dim=16, verbose=False, ja=True) == summary


@pytest.mark.slow
def test_a_successor_answers_raw_japanese_through_the_english_models_image_tower(ja_root):
    """W2VV++ in Japanese: its English model first, then the Japanese one on the English image tower, frozen,
    then CL ja -> en and CLM; search.py answers a raw Japanese query on the CLM route with the pair."""
    small, epochs = "lstm_size=16,n_layers=0-64,lr=0.002", "3"
    overrides = ["--config", "w2vvpp_resnext101", "--config_overrides", small, "--max_epochs", epochs, "--seed", "0",
                 "--languages", demo.JA_DECLARATION]
    run = runs.configured_run("w2vvpp_resnext101", {**parse_overrides(small), "max_epochs": epochs})[1]
    for collections in ((*EN, "mscoco2014dev-test"), JA):
        done = run_main("trainer.py", *collections, "--rootpath", ja_root, *overrides)
        assert done.returncode == 0, done.stderr[-3000:]
    ja, en = checkpoint(ja_root, JA[0], JA[1], run), checkpoint(ja_root, *EN, run)
    settings = json.loads(open(os.path.join(ja, "settings.json")).read())["settings"]
    assert settings["language"] == "ja" and settings["image_towers_from"]["path"].startswith(EN[0])
    collections = ["--query_train", JA[0], "--query_val", JA[1], "--query_test", JA[2]]
    for script in ("cross_lingual.py", "fuse.py"):
        done = run_main(script, "--rootpath", ja_root, "--run", run, *collections, "--languages", demo.JA_DECLARATION)
        assert done.returncode == 0, done.stderr[-3000:]
    cl = layout.similarity_dir(str(ja_root), JA[2], JA[0], layout.cl_run_name(run, "ja"))
    assert read_metrics(os.path.join(cl, "metrics.json"))["mir"] > 2 * chance_mir(len(imageset_of(
        str(ja_root), JA[2])))
    done = search("--model_path", ja, "--model_path", en, "白い犬が浜辺で走っている")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["lang"], answer["mode"], len(answer["results"])) == ("ja", "clm", 10)
