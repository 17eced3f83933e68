"""The gallery index: exact numpy search and FAISS give the same top-k; a FAISS index is built
once, saved beside the features and rebuilt when they change; ImageSets restriction; ties."""
import os
import shutil

import numpy as np
import pytest

from w2vv import layout
from w2vv.bigfile import write_bigfile
from w2vv.errors import InputError
from w2vv.retrieval.gallery import INDEX_DIR, index_paths, open_gallery, resolve_kind, unit_rows

pytest.importorskip("faiss")

N, DIM = 4000, 48


def make_features(folder, n=N, dim=DIM, seed=0):
    """Non-negative clustered vectors, like CNN features of images of a few kinds."""
    rng = np.random.default_rng(seed)
    centres = np.abs(rng.normal(size=(20, dim)))
    x = np.maximum(centres[rng.integers(20, size=n)] + rng.normal(0, 0.6, size=(n, dim)), 0)
    ids = [f"img{i:05d}" for i in range(n)]
    write_bigfile(folder, ids, x.astype(np.float32))
    return ids, x


def brute_force(x, q, k):
    scores = unit_rows(q).astype(np.float64) @ unit_rows(x).astype(np.float64).T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k], scores


@pytest.fixture
def features(tmp_path):
    folder = tmp_path / "FeatureData" / "feat"
    ids, x = make_features(folder)
    return folder, ids, x


def test_numpy_and_faiss_return_the_same_top_k(features):
    folder, ids, x = features
    queries = np.random.default_rng(1).normal(size=(40, DIM))
    exact = open_gallery(folder, kind="numpy")
    flat = open_gallery(folder, kind="faiss")
    assert exact.kind == "numpy" and flat.kind == "faiss"
    s_np, p_np = exact.search(queries, 10)
    s_fa, p_fa = flat.search(queries, 10)
    assert (p_np == p_fa).all()
    np.testing.assert_allclose(s_np, s_fa, atol=1e-5)
    expected, scores = brute_force(x, queries, 10)
    assert (p_np == expected).all()
    np.testing.assert_allclose(s_np, np.take_along_axis(scores, expected, axis=1), atol=1e-5)
    assert exact.search_ids(queries[:1], 3)[0][0][0] == ids[expected[0, 0]]


def test_ivf_probing_every_cluster_is_exact_and_probing_few_finds_most(features):
    folder, _, x = features
    queries = x[::200] + np.random.default_rng(2).normal(0, 0.3, size=(len(x[::200]), DIM))
    expected, _ = brute_force(x, queries, 10)
    full = open_gallery(folder, kind="faiss-ivf", nlist=16, nprobe=16, save=False)
    assert (full.search(queries, 10)[1] == expected).all()
    few = open_gallery(folder, kind="faiss-ivf", nlist=16, nprobe=4, save=False)
    found = few.search(queries, 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, expected)])
    assert recall > 0.8, recall


def test_faiss_index_is_saved_beside_the_features_and_reused(features):
    folder, _, _ = features
    logs = []
    first = open_gallery(folder, kind="faiss", log=logs.append)
    index_file, meta_file = index_paths(folder, "all", "faiss")
    assert first.index_path == index_file and os.path.isfile(index_file) and os.path.isfile(meta_file)
    assert os.path.dirname(index_file) == os.path.join(str(folder), INDEX_DIR)
    stamp = os.stat(index_file).st_mtime_ns
    second = open_gallery(folder, kind="faiss", log=logs.append)
    assert second.build_seconds == 0.0 and os.stat(index_file).st_mtime_ns == stamp
    assert "loaded" in logs[-1] and "built" in logs[0]
    q = np.ones((1, DIM))
    assert (first.search(q, 5)[1] == second.search(q, 5)[1]).all()


def test_changed_features_rebuild_the_index(features):
    folder, ids, _ = features
    open_gallery(folder, kind="faiss")
    _, x2 = make_features(folder, seed=5)  # the same ids, other vectors: feature.bin rewritten
    fresh = open_gallery(folder, kind="faiss")
    assert fresh.build_seconds > 0
    expected, _ = brute_force(x2, x2[:3], 5)
    assert (fresh.search(x2[:3], 5)[1] == expected).all()


def test_a_moved_feature_folder_keeps_its_index(features, tmp_path):
    folder, _, _ = features
    open_gallery(folder, kind="faiss")
    moved = tmp_path / "elsewhere" / "feat"
    shutil.move(folder, moved)  # a move keeps the files' times
    assert open_gallery(moved, kind="faiss").build_seconds == 0.0


def test_imageset_restricts_the_gallery_in_its_order(features, tmp_path):
    folder, ids, x = features
    subset = ids[::7][::-1]
    imageset = tmp_path / "ImageSets" / "part.txt"
    imageset.parent.mkdir()
    imageset.write_text("\n".join(subset) + "\n")
    exact = open_gallery(folder, imageset, kind="numpy")
    flat = open_gallery(folder, imageset, kind="faiss")
    assert exact.ids == subset == flat.ids and len(exact) == len(subset)
    assert os.path.isfile(index_paths(folder, "imageset-part", "faiss")[0])
    q = x[:5]
    assert (exact.search(q, 10)[1] == flat.search(q, 10)[1]).all()
    sub_x = x[[ids.index(i) for i in subset]]
    assert (exact.search(q, 10)[1] == brute_force(sub_x, q, 10)[0]).all()


def test_unknown_imageset_id_is_an_input_error_naming_the_file(features, tmp_path):
    folder, ids, _ = features
    imageset = tmp_path / "bad.txt"
    imageset.write_text(f"{ids[0]}\nnot_an_image\n")
    with pytest.raises(InputError, match="bad.txt: image 'not_an_image' has no feature"):
        open_gallery(folder, imageset)


def test_a_collection_of_another_cnns_features_is_named_as_such(tmp_path):
    root = str(tmp_path / "VisualSearch")
    make_features(layout.feature_dir(root, "cnn_of_the_model"), n=30)
    photos = [f"photo_{i:03d}" for i in range(20)]
    write_bigfile(layout.feature_dir(root, "another_cnn", "myphotos"), photos, np.ones((20, DIM), np.float32))
    imageset = layout.imageset_file(root, "myphotos")
    os.makedirs(os.path.dirname(imageset))
    with open(imageset, "w") as f:
        f.write("\n".join(photos) + "\n")
    expected = (f"{os.path.dirname(layout.feature_dir(root, 'another_cnn', 'myphotos'))}: gallery feature "
                "'another_cnn', but the model was trained on 'cnn_of_the_model' (extract the gallery's features "
                "with the same CNN, docs/own-photos.md)")
    with pytest.raises(InputError) as refused:
        open_gallery(layout.feature_dir(root, "cnn_of_the_model"), imageset)
    assert str(refused.value) == expected


def test_ties_keep_gallery_order_and_k_beyond_the_gallery(tmp_path):
    x = np.array([[1, 0], [0, 1], [1, 0], [2, 0], [0, 3]], np.float32)
    write_bigfile(tmp_path / "f", list("abcde"), x)
    gallery = open_gallery(tmp_path / "f", kind="numpy")
    scores, positions = gallery.search(np.array([[1.0, 0.0]]), 10)
    assert positions[0].tolist() == [0, 2, 3, 1, 4]       # a, c, d all score 1: gallery order
    assert [i for i, _ in gallery.search_ids(np.array([[0.0, 0.0]]), 2)[0]] == ["a", "b"]  # zero query: no NaN
    assert np.isfinite(gallery.search(np.zeros((1, 2)), 3)[0]).all()
    np.testing.assert_allclose(gallery.scores_at(np.array([[1.0, 0.0]]), [3, 4])[0], [1.0, 0.0])


def test_an_unwritable_index_folder_keeps_the_index_in_memory(features):
    folder, _, _ = features
    (folder / INDEX_DIR).write_text("a file where the index folder should be")
    logs = []
    gallery = open_gallery(folder, kind="faiss", log=logs.append)
    assert gallery.index_path is None and any("not saved" in m for m in logs)
    assert len(gallery.search(np.ones((1, DIM)), 3)[1][0]) == 3


def test_auto_takes_numpy_for_small_galleries_and_faiss_for_large(features):
    assert resolve_kind("auto", 1000) == "numpy" and resolve_kind("auto", 121_286) == "faiss"
    with pytest.raises(InputError, match="index kind 'hnsw' unknown"):
        resolve_kind("hnsw", 10)
    assert open_gallery(features[0]).kind == "numpy"


def test_a_damaged_saved_index_is_rebuilt(features):
    folder, _, x = features
    open_gallery(folder, kind="faiss")
    index_file = index_paths(folder, "all", "faiss")[0]
    with open(index_file, "r+b") as f:
        f.truncate(100)
    logs = []
    gallery = open_gallery(folder, kind="faiss", log=logs.append)
    assert any("unreadable" in m for m in logs) and gallery.build_seconds > 0
    assert (gallery.search(x[:3], 5)[1] == brute_force(x, x[:3], 5)[0]).all()


@pytest.mark.parametrize("kind", ["numpy", "faiss"])
def test_a_feature_that_is_not_a_number_is_named_not_ranked(tmp_path, kind):
    """A NaN row scores NaN against every query: a corrupt feature file, named before anything is built."""
    folder = tmp_path / "FeatureData" / "feat"
    ids = [f"img{i}" for i in range(5)]
    vectors = np.ones((5, 4), np.float32)
    vectors[3, 2] = np.inf
    write_bigfile(folder, ids, vectors)
    with pytest.raises(InputError, match=rf"^{folder}/feature.bin: the feature of image 'img3' is not finite \(NaN or "
                                         r"infinite\): extract or download it again$"):
        open_gallery(folder, kind=kind, save=False)
    assert not os.path.exists(folder / INDEX_DIR)
