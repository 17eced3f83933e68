"""Search and service with W2VV's successors (W2VV++, SEA): the gallery is the image tower's vectors,
cached in the checkpoint folder with the model's fingerprint (written once, rebuilt when the weights
change, kept when the root moves); CM ranks as the tester does; FAISS and numpy give the same top-k on
vectors of norm √3 (SEA); the numpy towers equal Keras's; CL and CLM are exact when the Chinese model
was trained into the English model's space, and say in one line that they are not available when it
was not; the service answers; models of two families in one search stop in one line. Tiny models of
each family are trained on the small root (the English one first: the Chinese one takes its image
tower(s)); the cache's own tests use a stand-in model and train nothing."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers import REPO, build_vocab, copy_root, quiet_env, run_main
from w2vv import layout
from w2vv.bigfile import BigFile, write_bigfile
from w2vv.collection_files import captions_of
from w2vv.errors import InputError
from w2vv.ranking import read_ranking

EN = ("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test")
ZH = ("cococntrain", "cococnval", "cococntest")
TINY = "lstm_size=8,n_layers=0-16"
CONFIGS = {"w2vvpp": "w2vvpp_resnext101", "sea": "sea_bow_w2v_gru"}
FAMILIES = list(CONFIGS)
EN_QUERIES = ["a dog running on the grass", "a red bus parked on the street", "a cat in a room", "two people"]
ZH_QUERIES = ["一只狗在草地上跑", "一辆红色的公交车停在街道上", "房间里有一只猫"]
slow = pytest.mark.slow


def quiet(message):
    pass


# ---------------------------------------------------------------- the cache, with a stand-in model

def stand_in(root, weights=b"weights v1"):
    """A successor's stand-in: its checkpoint folder in ``root`` (weights file, config.json; ``weights``
    None: those there) and an image tower (a fixed projection, two spaces of 3, each unit) that counts the
    images it projects."""
    folder = layout.checkpoint_dir(str(root), EN[0], EN[1], "run")
    path = os.path.join(folder, "epoch_0.h5")
    if weights is not None:
        os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as f:
            f.write(weights)
        with open(os.path.join(folder, layout.CONFIG_FILE), "w") as f:
            json.dump({"family": "sea"}, f)
    projected = []
    scale = float(len(open(path, "rb").read()))  # another weights file: other vectors

    def image_vectors(features):
        projected.append(len(features))
        x = np.tanh(features @ (np.arange(24, dtype=np.float32).reshape(4, 6) / scale))
        return np.concatenate([x[:, :3] / np.linalg.norm(x[:, :3], axis=1, keepdims=True),
                               x[:, 3:] / np.linalg.norm(x[:, 3:], axis=1, keepdims=True)], axis=1)
    return SimpleNamespace(folder=folder, root=str(root), weights_file=path, family_name="SEA",
                           image_vectors=image_vectors, projected=projected)


def gallery_features(root, n=40, seed=0):
    folder = layout.feature_dir(str(root), "feat", "mscoco2014dev")
    ids = [f"img{i:03d}" for i in range(n)]
    write_bigfile(folder, ids, np.random.default_rng(seed).random((n, 4), dtype=np.float32) + 0.1)
    return BigFile(folder)


def test_the_gallery_cache_is_written_once_follows_the_weights_and_survives_a_move(tmp_path):
    from w2vv.retrieval.projected_gallery import open_projected_gallery, projected_vectors
    root = tmp_path / "here" / "VisualSearch"
    features = gallery_features(root)
    model = stand_in(root)
    gallery = open_projected_gallery(model, features, log=quiet)
    assert model.projected == [40] and gallery.kind == "numpy" and not gallery.unit
    cache = projected_vectors(model, features, log=quiet)
    assert model.projected == [40] and isinstance(cache, BigFile)       # read from the cache
    assert os.path.commonpath([cache.folder, model.folder]) == model.folder
    assert sorted(os.listdir(cache.folder)) == ["feature.bin", "id.txt", layout.INPUTS_FILE, "shape.txt"]
    expected = model.image_vectors(features.read_rows(np.arange(40)))
    np.testing.assert_allclose(np.asarray(cache.vectors), expected, rtol=0, atol=1e-7)
    # norm √2: indexed as they are, a score the inner product (the sum of the spaces' cosines)
    query = expected[7] * 1.0
    scores, positions = gallery.search(query, 5)
    assert positions[0][0] == 7 and scores[0][0] == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(gallery.scores_at(query, positions[0])[0], scores[0], rtol=0, atol=1e-6)

    moved = tmp_path / "elsewhere" / "VisualSearch"
    shutil.move(tmp_path / "here", tmp_path / "elsewhere")
    model = stand_in(moved, weights=None)
    projected_vectors(model, BigFile(layout.feature_dir(str(moved), "feat", "mscoco2014dev")), log=quiet)
    assert model.projected == []                                         # a moved root keeps its cache
    model = stand_in(moved, weights=b"retrained weights")                # the weights changed
    features = BigFile(layout.feature_dir(str(moved), "feat", "mscoco2014dev"))
    cache = projected_vectors(model, features, log=quiet)
    assert model.projected == [40]
    np.testing.assert_allclose(np.asarray(cache.vectors), model.image_vectors(features.read_rows(np.arange(40))),
                               rtol=0, atol=1e-7)
    features = gallery_features(moved, seed=1)                            # the features changed
    before = len(model.projected)
    cache = projected_vectors(model, features, log=quiet)
    assert len(model.projected) == before + 1
    vectors = np.fromfile(os.path.join(cache.folder, "feature.bin"), "<f4").reshape(40, -1)
    vectors[::-1].tofile(os.path.join(cache.folder, "feature.bin"))     # the cache's rows edited: not the model's
    projected_vectors(model, features, log=quiet)
    assert len(model.projected) == before + 2


def test_a_model_retrained_on_disk_since_it_was_loaded_neither_reads_nor_writes_the_gallery_cache(tmp_path):
    """The weights file overwritten under the same name while a searcher ran: its gallery, projected by the model
    loaded, was cached under the new weights' fingerprint, and a searcher started anew served it as theirs."""
    from w2vv.fingerprint import file_fingerprint
    from w2vv.retrieval.projected_gallery import projected_vectors
    root = tmp_path / "VisualSearch"
    features = gallery_features(root)
    loaded = stand_in(root)
    loaded.weights_fingerprint = file_fingerprint(loaded.weights_file)
    assert isinstance(projected_vectors(loaded, features, log=quiet), BigFile)  # cached, of the weights loaded
    retrained = stand_in(root, weights=b"retrained weights")          # the file, under the same name
    log = []
    assert not isinstance(projected_vectors(loaded, features, log=log.append), BigFile)
    assert loaded.projected == [40, 40] and "changed on disk since the model was loaded" in log[-1]
    cache = projected_vectors(retrained, features, log=quiet)            # a searcher started anew
    assert retrained.projected == [40]
    np.testing.assert_allclose(np.asarray(cache.vectors), retrained.image_vectors(features.read_rows(np.arange(40))),
                               rtol=0, atol=1e-7)


def test_a_gallery_cache_per_imageset_faiss_beside_it_and_memory_where_it_cannot_be_written(tmp_path,
                                                                                           monkeypatch):
    from w2vv.retrieval.projected_gallery import open_projected_gallery
    root = tmp_path / "VisualSearch"
    features = gallery_features(root, n=60)
    model = stand_in(root)
    imageset = tmp_path / "some.txt"
    imageset.write_text("img005\nimg003\nimg042\n")
    some = open_projected_gallery(model, features, str(imageset), log=quiet)
    assert some.ids == ["img005", "img003", "img042"]
    exact = open_projected_gallery(model, features, log=quiet)
    with_faiss = open_projected_gallery(model, features, kind="faiss", log=quiet)
    assert model.projected == [3, 60] and with_faiss.kind == "faiss" and with_faiss.index_path is None  # not saved
    with_ivf = open_projected_gallery(model, features, kind="faiss-ivf", nprobe=100, log=quiet)     # saved
    cache = os.path.join(model.folder, layout.SEARCH_CACHE, "gallery", "all.")
    assert with_ivf.index_path.startswith(cache) and os.path.isfile(with_ivf.index_path)
    assert open_projected_gallery(model, features, kind="faiss-ivf", log=quiet).build_seconds == 0.0  # loaded
    assert model.projected == [3, 60]
    queries = model.image_vectors(np.random.default_rng(5).random((6, 4), dtype=np.float32))
    scores, (faiss_scores, faiss_positions) = exact.search(queries, 10)[0], with_faiss.search(queries, 10)
    np.testing.assert_allclose(faiss_scores, scores, rtol=0, atol=1e-6)  # the same top-k, near ties in either order
    for i, row in enumerate(faiss_positions):
        np.testing.assert_allclose(exact.scores_at(queries[i], row)[0], faiss_scores[i], rtol=0, atol=1e-6)
    from w2vv.retrieval import projected_gallery

    def unwritable(*args):
        raise PermissionError("read-only file system")
    monkeypatch.setattr(projected_gallery, "write_bigfile", unwritable)   # a checkpoint folder read only
    other = stand_in(root, weights=b"other weights")
    kept = open_projected_gallery(other, features, kind="faiss", log=quiet)
    assert kept.kind == "faiss" and kept.index_path is None and other.projected == [60]
    kept_scores, kept_positions = kept.search(queries, 10)
    for i, row in enumerate(kept_positions):
        np.testing.assert_allclose(kept.scores_at(queries[i], row)[0], kept_scores[i], rtol=0, atol=1e-6)


# ---------------------------------------------------------------- tiny trained models

def model_folder(root, family, lang):
    from w2vv.config import parse_overrides
    from w2vv.runs import configured_run
    train, val, _ = EN if lang == "en" else ZH
    run = configured_run(CONFIGS[family], {**parse_overrides(TINY), "max_epochs": "2", "batch_size": "16"})[1]
    return Path(layout.checkpoint_dir(str(root), train, val, run))


@pytest.fixture(scope="module")
def trained(small_root, tmp_path_factory):
    """The small root with a tiny English and Chinese model of each successor, trained two epochs (the
    English one first: the Chinese one trains into its space), and the English test collection ranked
    by the tester."""
    root = copy_root(small_root, tmp_path_factory.mktemp("family_search"))
    for train in (EN[0], ZH[0]):
        build_vocab(root, train)
    for family, config in CONFIGS.items():
        for collections in (EN, ZH):
            done = run_main("trainer.py", *collections, "--rootpath", root, "--config", config, "--config_overrides",
                            TINY, "--max_epochs", "2", "--batch_size", "16", "--seed", "0")
            assert done.returncode == 0, done.stderr[-3000:]
        done = run_main("tester.py", EN[0], EN[2], "--rootpath", root, "--model_path",
                        model_folder(root, family, "en"), "--evaluate", "1")
        assert done.returncode == 0, done.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def searchers(trained):
    """{family: a Searcher of its Chinese and English models (the numpy predictor; the CLM weight 0.4)}."""
    from w2vv import Searcher
    return {family: Searcher([model_folder(trained, family, "zh"), model_folder(trained, family, "en")],
                             weight=0.4, log=quiet) for family in FAMILIES}


@slow
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cm_ranks_as_the_tester_does(trained, family, lang):
    """Every test sentence searched on the test images gives the tester's ranking and scores (CM)."""
    from w2vv import Searcher
    folder = model_folder(trained, family, lang)
    test = (EN if lang == "en" else ZH)[2]
    searcher = Searcher(folder, imageset=test, index="numpy", log=quiet)
    assert searcher.family == family and searcher.models[lang].predictor == "numpy"
    captions = dict(captions_of(str(trained), test))
    query_ids, items, scores = read_ranking(os.path.join(
        layout.similarity_dir(str(trained), test, (EN if lang == "en" else ZH)[0], folder.name), layout.RANKING_FILE))
    found = searcher.search_many([captions[q] for q in query_ids], k=5, segmented=True)
    compared = 0
    for i, results in enumerate(found):
        if not results:  # no known word: the tester ranks the model's output for all-zero inputs
            continue
        compared += 1
        order = np.argsort(-scores[i], kind="stable")[:5]
        np.testing.assert_allclose([h.score for h in results], scores[i][order], rtol=0, atol=1e-5)
        assert {h.id for h in results} == {items[j] for j in order}, query_ids[i]
    assert compared >= len(query_ids) - 2


@slow
@pytest.mark.parametrize("family", FAMILIES)
def test_numpy_towers_equal_keras(trained, family):
    """The numpy predictor's text and image towers give Keras's vectors to 1e-5 (sentences with an empty
    part included), so search answers the same with either."""
    from w2vv import Searcher
    from w2vv.inference import ALL_FAMILIES, load_trained_model
    from w2vv.retrieval.numpy_model import NumpyCommonSpace, load_numpy_model
    from w2vv.run_inputs import load_collection, model_encoder, open_features
    folder = str(model_folder(trained, family, "zh"))
    keras_models, cfg = load_trained_model(folder, families=ALL_FAMILIES)
    numpy_models, _ = load_numpy_model(folder, keras_best(folder))
    assert isinstance(numpy_models, NumpyCommonSpace)
    encoder = model_encoder(folder, str(trained), cfg, log=quiet)
    features = open_features(str(trained), cfg, layout.DEFAULT_FEATURE_COLLECTION)
    collection, _ = load_collection(str(trained), ZH[2], encoder, features, keep_incomplete=True, log=quiet)
    inputs = list(collection.sentences.inputs())
    assert collection.sentences.empty_parts.any()
    np.testing.assert_allclose(numpy_models.text.predict_on_batch(inputs),
                               keras_models.text.predict_on_batch(inputs), rtol=0, atol=1e-5)
    images = features.read_rows(np.arange(len(features)))
    np.testing.assert_allclose(numpy_models.image.predict_on_batch(images),
                               keras_models.image.predict_on_batch(images), rtol=0, atol=1e-5)
    with_numpy = Searcher(folder, log=quiet)
    with_keras = Searcher(folder, predictor="keras", log=quiet)
    assert (with_numpy.models["zh"].predictor, with_keras.models["zh"].predictor) == ("numpy", "keras")
    for a, b in zip(with_numpy.search_many(ZH_QUERIES, 10), with_keras.search_many(ZH_QUERIES, 10)):
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-5)


def keras_best(folder):
    from w2vv.inference import best_weights_file
    return best_weights_file(folder)


@contextlib.contextmanager
def copied(folder, suffix):
    """A copy of a checkpoint folder beside it (in the root), without its search cache; removed after."""
    copy = Path(shutil.copytree(folder, folder.parent / f"{folder.name}_{suffix}",
                                ignore=shutil.ignore_patterns(layout.SEARCH_CACHE)))
    try:
        yield copy
    finally:
        shutil.rmtree(copy)


def change_image_tower(weights_file, layer_prefix="image_space"):
    """Change the weights of the image tower's layers in a weights file ("retrained")."""
    import h5py
    with h5py.File(weights_file, "r+") as f:
        for name in f.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            if name.startswith(layer_prefix):
                group = f[name]
                for w in group.attrs["weight_names"]:
                    group[w][...] = np.asarray(group[w]) * 0.5 + 0.01


@slow
@pytest.mark.parametrize("family", FAMILIES)
def test_the_trained_gallery_is_cached_once_and_rebuilt_when_the_weights_change(trained, family):
    """A copy of the English model's checkpoint folder: the gallery projected once, then read from the
    cache; its best weights changed (the image tower's): projected again, with the new weights."""
    from w2vv import Searcher
    with copied(model_folder(trained, family, "en"), "copy") as folder:
        logged = []
        first = Searcher(str(folder), log=logged.append)
        assert any("projecting" in line for line in logged)
        cache = first.gallery.features.folder
        assert cache.startswith(os.path.join(str(folder), layout.SEARCH_CACHE, "gallery") + os.sep)
        written = os.stat(os.path.join(cache, "feature.bin")).st_mtime_ns
        logged.clear()
        again = Searcher(str(folder), log=logged.append)
        assert not any("projecting" in line for line in logged) and any("cached in" in line for line in logged)
        assert os.stat(os.path.join(cache, "feature.bin")).st_mtime_ns == written
        np.testing.assert_array_equal(again.gallery.index.vectors, first.gallery.index.vectors)

        change_image_tower(keras_best(str(folder)))
        logged.clear()
        retrained = Searcher(str(folder), log=logged.append)
        assert any("projecting" in line for line in logged)
        features = BigFile(retrained.gallery_dir)
        expected = retrained.models["en"].image_vectors(features.read_rows(np.arange(len(features))))
        np.testing.assert_allclose(retrained.gallery.index.vectors, expected, rtol=0, atol=1e-6)
        assert not np.allclose(retrained.gallery.index.vectors, first.gallery.index.vectors, atol=1e-3)


@slow
@pytest.mark.parametrize("family", FAMILIES)
def test_faiss_and_numpy_give_the_same_top_k(trained, searchers, family):
    from w2vv import Searcher
    folders = [model_folder(trained, family, "zh"), model_folder(trained, family, "en")]
    for kind in ("faiss", "faiss-ivf"):
        other = Searcher(folders, index=kind, nprobe=10 ** 6, log=quiet)
        assert other.gallery.kind == kind
        assert (other.gallery.index_path or str(folders[1])).startswith(str(folders[1]))  # ivf: in the cache
        for queries in (EN_QUERIES, ZH_QUERIES):
            for a, b in zip(searchers[family].search_many(queries, 10, mode="cm"),
                            other.search_many(queries, 10, mode="cm")):
                np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-5)
                assert [h.id for h in a] == [h.id for h in b] or \
                    np.allclose(sorted(h.score for h in a), sorted(h.score for h in b), atol=1e-5)


def brute_force(searcher, query, mode, w):
    """Every described image scored by the route from scratch, best first: CL the cosine of the query's and
    the English sentences' vectors, CM the query's vector with the image tower's (computed again)."""
    from w2vv.ranking import unit_rows
    sentences, model = searcher.sentences(), searcher.models["zh"]
    vector = model.vectors([model.prepare(query)[0]])[0][0]
    positions = sentences.described
    cl = sentences.image_scores(unit_rows(vector[None, :])[0], positions)
    features = BigFile(searcher.gallery_dir)
    images = model.image_vectors(features.read(np.asarray(searcher.gallery.ids)[positions].tolist())[1])
    fused = cl if mode == "cl" else w * cl + (1 - w) * (images @ vector)
    order = np.lexsort((positions, -fused))
    return [searcher.gallery.ids[positions[i]] for i in order], fused[order]


@slow
@pytest.mark.parametrize("family", FAMILIES)
def test_cross_lingual_routes_are_exact_in_the_english_models_space(searchers, family, monkeypatch):
    """The Chinese model took the English model's image tower(s): one gallery for both, CL and CLM
    served, their top-k the brute force's, each query alone and in one batch, CLM scoring every
    described image at once and growing its candidates (the threshold rule)."""
    from w2vv.retrieval import topk
    searcher = searchers[family]
    assert searcher.galleries["zh"] is searcher.galleries["en"] and searcher.space_problems == {}
    for mode, exhaustive in (("cl", True), ("clm", True), ("clm", False)):
        monkeypatch.setattr(topk, "EXHAUSTIVE_ROWS", topk.EXHAUSTIVE_ROWS if exhaustive else 0)
        answers = [searcher.search(q, k=15, mode=mode) for q in ZH_QUERIES] + \
            searcher.search_many(ZH_QUERIES, k=15, mode=mode)
        for query, results in zip(ZH_QUERIES * 2, answers):
            ids, scores = brute_force(searcher, query, mode, 0.4)
            assert results.mode == mode and len(results) == 15
            np.testing.assert_allclose([h.score for h in results], scores[:15], rtol=0, atol=1e-5)
            score_of = dict(zip(ids, scores))
            np.testing.assert_allclose([score_of[h.id] for h in results], [h.score for h in results], atol=1e-5)
        monkeypatch.undo()
    assert searcher.default_mode("zh") == "clm" and searcher.default_mode("en") == "cm"


@slow
def test_a_chinese_model_of_another_space_serves_cm_and_says_why_not_cl(trained):
    """A Chinese SEA model whose image towers are not the English model's (as if trained with its own):
    its own gallery, CM served, CL and CLM refused in one line, the default route cm, said when loading; a
    CLM weight given is refused (it fused nothing, in silence)."""
    from w2vv import Searcher
    with copied(model_folder(trained, "sea", "zh"), "own") as folder:
        paths = [str(folder), model_folder(trained, "sea", "en")]
        change_image_tower(keras_best(str(folder)), "image_space_gru")
        with pytest.raises(InputError, match=r"^--weight 0.5: the cross-lingual routes are not available for zh "
                                             r"queries: .*, which does not fuse: load the English model"):
            Searcher(paths, weight=0.5, log=quiet)
        loading = []
        searcher = Searcher(paths, log=loading.append)
        assert [line for line in loading if line.startswith("warning: the cross-lingual routes are not available")]
        assert searcher.galleries["zh"] is not searcher.galleries["en"]
        assert searcher.default_mode("zh") == "cm" and len(searcher.search(ZH_QUERIES[0], k=3)) == 3
        for mode in ("cl", "clm"):
            with pytest.raises(InputError, match="the cross-lingual routes are not available for zh queries: the "
                                                 "SEA model .* was not trained into the space of the English "
                                                 "model") as e:
                searcher.search(ZH_QUERIES[0], k=3, mode=mode)
            assert "\n" not in str(e.value)
        from w2vv.retrieval.service import warm_up
        warm_up(searcher)                                                 # the service warms up cm only


@slow
def test_models_of_two_families_in_one_search_stop_in_one_line(trained, tmp_path):
    from w2vv import Searcher
    zh, en = model_folder(trained, "w2vvpp", "zh"), model_folder(trained, "sea", "en")
    with pytest.raises(InputError, match=r"a SEA model, with a W2VV\+\+ model \(.*\): the models of one search must "
                                         r"be of one family") as e:
        Searcher([zh, en])
    assert "\n" not in str(e.value)
    w2vv_like = shutil.copytree(en, tmp_path / "w2vv_like" / EN[0] / "cv_keras" / EN[1] / "w2vv_trainer.py" / "x")
    config = json.loads((w2vv_like / layout.CONFIG_FILE).read_text())
    (w2vv_like / layout.CONFIG_FILE).write_text(json.dumps({**config, "family": "w2vv"}))
    with pytest.raises(InputError, match=r"a W2VV model, with a W2VV\+\+ model"):
        Searcher([zh, w2vv_like])
    done = subprocess.run([sys.executable, "search.py", "--model_path", str(zh), "--model_path", str(en), "a dog"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=quiet_env())
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "the models of one search must be of one family" in lines[0]


@slow
def test_search_py_answers_with_a_successor_without_tensorflow(trained, searchers):
    """The command line with a SEA model pair: the searcher's answers, no TensorFlow or Keras imported."""
    code = ("import sys, search; from w2vv.cli import run; code = run(search.main, sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'; sys.exit(code)")
    folders = [model_folder(trained, "sea", "zh"), model_folder(trained, "sea", "en")]
    args = [a for folder in folders for a in ("--model_path", str(folder))]
    done = subprocess.run([sys.executable, "-c", code, *args, "--quiet", "--json", "--k", "5", "--mode", "cm",
                           ZH_QUERIES[0], EN_QUERIES[0]], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=quiet_env())
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    expected = searchers["sea"].search_many([ZH_QUERIES[0], EN_QUERIES[0]], 5, mode="cm")
    assert [[r["id"] for r in record["results"]] for record in records] == [[h.id for h in e] for e in expected]


@slow
def test_the_service_answers_with_a_successor(trained, searchers):
    from starlette.testclient import TestClient

    from w2vv.retrieval.service import Settings, State, create_app, find_pictures, service_info, warm_up
    searcher = searchers["w2vvpp"]
    warm_up(searcher)
    state = State()
    client = TestClient(create_app(state, Settings(), log=quiet), base_url="http://localhost")
    state.set_ready(searcher, find_pictures(searcher), service_info(searcher))
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["family"] == "w2vvpp" and health["languages"] == ["en", "zh"]
    for query, mode in ((ZH_QUERIES[0], "cm"), (ZH_QUERIES[0], "cl"), (EN_QUERIES[0], "cm")):
        response = client.get("/api/search", params=dict(q=query, k=4, mode=mode))
        record = response.json()
        assert response.status_code == 200 and record["error"] is None and record["mode"] == mode
        assert [r["id"] for r in record["results"]] == [h.id for h in searcher.search(query, k=4, mode=mode)]
    batch = client.post("/api/search", json={"queries": ZH_QUERIES, "k": 3, "mode": "clm"}).json()
    assert [len(r["results"]) for r in batch] == [3] * len(ZH_QUERIES)
