"""The English sentence vectors search predicts for the CL route are cached in the English checkpoint
folder (``search_cache/<collection>/``) with the record every cache keeps (``fingerprint.sources``):
kept when the root moves, predicted again when the captions or the weights change."""
import json
import os
import shutil
from types import SimpleNamespace

import numpy as np

from w2vv import layout
from w2vv.retrieval.pivot_sentences import collection_vectors

TRAIN, VAL = "mscoco2014dev-train", "mscoco2014dev-val"


def english_model(root, predicted):
    """A stand-in for the English model of a checkpoint folder: its folder, weights file and vectors."""
    folder = layout.checkpoint_dir(str(root), TRAIN, VAL, "run")
    os.makedirs(folder, exist_ok=True)
    weights = os.path.join(folder, "epoch_0.h5")
    if not os.path.isfile(weights):
        with open(weights, "wb") as f:
            f.write(b"weights")
        with open(os.path.join(folder, layout.SETTINGS_FILE), "w") as f:
            json.dump(dict(run_name="run", settings={}), f)

    def vectors(texts):
        predicted.append(len(texts))
        return np.random.default_rng(len(predicted)).random((len(texts), 4), dtype=np.float32), None
    return SimpleNamespace(folder=folder, weights_file=weights, train=TRAIN, val=VAL, vectors=vectors)


def test_the_sentence_vectors_cache_survives_a_move_and_follows_its_inputs(tmp_path):
    root = tmp_path / "here" / "VisualSearch"
    caption = layout.caption_file(str(root), VAL)
    os.makedirs(os.path.dirname(caption))
    with open(caption, "w", encoding="utf-8") as f:
        f.write("img1#0 a dog on the grass\nimg2#0 a bus in the street\n")
    predicted = []
    ids, first = collection_vectors(str(root), english_model(root, predicted), VAL, log=lambda m: None)
    assert ids == ["img1#0", "img2#0"] and predicted == [2]
    _, again = collection_vectors(str(root), english_model(root, predicted), VAL, log=lambda m: None)
    assert predicted == [2] and np.array_equal(again, first)            # read from the cache

    moved = tmp_path / "elsewhere" / "VisualSearch"
    shutil.move(root, moved)                                             # a move keeps the files' times
    _, after_move = collection_vectors(str(moved), english_model(moved, predicted), VAL, log=lambda m: None)
    assert predicted == [2] and np.array_equal(after_move, first)

    with open(layout.caption_file(str(moved), VAL), "a", encoding="utf-8") as f:
        f.write("img3#0 a cat\n")                                        # the captions changed
    ids, _ = collection_vectors(str(moved), english_model(moved, predicted), VAL, log=lambda m: None)
    assert predicted == [2, 3] and len(ids) == 3
    en = english_model(moved, predicted)
    with open(en.weights_file, "wb") as f:
        f.write(b"retrained")                                            # the weights changed
    collection_vectors(str(moved), en, VAL, log=lambda m: None)
    assert predicted == [2, 3, 3]


def test_a_model_retrained_on_disk_keeps_its_cached_vectors_and_caches_none_of_its_own(tmp_path):
    """The cache follows the weights the model loaded (``weights_fingerprint``), not the file as it is now: the
    vectors the loaded model predicted were cached under the new weights' fingerprint."""
    from w2vv.fingerprint import file_fingerprint
    root = str(tmp_path / "VisualSearch")
    caption = layout.caption_file(root, VAL)
    os.makedirs(os.path.dirname(caption))
    with open(caption, "w", encoding="utf-8") as f:
        f.write("img1#0 a dog on the grass\nimg2#0 a bus in the street\n")
    predicted, lines = [], []
    loaded = english_model(root, predicted)
    loaded.weights_fingerprint = file_fingerprint(loaded.weights_file)
    _, first = collection_vectors(root, loaded, VAL, log=lines.append)
    with open(loaded.weights_file, "wb") as f:
        f.write(b"retrained")
    _, again = collection_vectors(root, loaded, VAL, log=lines.append)
    assert predicted == [2] and np.array_equal(again, first)            # the loaded model's, from the cache
    record = os.path.join(loaded.folder, layout.SEARCH_CACHE, VAL, layout.INPUTS_FILE)
    os.remove(record)
    collection_vectors(root, loaded, VAL, log=lines.append)
    assert predicted == [2, 2] and not os.path.exists(record)
    assert "changed on disk since the English model was loaded" in lines[-1] and "restart" in lines[-1]
    collection_vectors(root, english_model(root, predicted), VAL, log=lines.append)   # restarted: the new weights
    assert predicted == [2, 2, 2] and os.path.exists(record)


def test_the_cache_is_read_through_a_link_to_its_root(tmp_path):
    """The query model given through a link to the root, the English one by its real path: the cache was taken
    for another model's and predicted again."""
    root = tmp_path / "VisualSearch"
    caption = layout.caption_file(str(root), VAL)
    os.makedirs(os.path.dirname(caption))
    with open(caption, "w", encoding="utf-8") as f:
        f.write("img1#0 a dog on the grass\n")
    predicted = []
    collection_vectors(str(root), english_model(root, predicted), VAL, log=lambda m: None)
    os.symlink(root, tmp_path / "link")
    collection_vectors(str(tmp_path / "link"), english_model(root, predicted), VAL, log=lambda m: None)
    assert predicted == [1]
