"""Word vectors: a BigFile, gensim 4 files and word2vec formats, memory-mapped alike, and the gensim 3.x
Chinese model of the real data read by gensim 4 as gensim 3.6 read it (fixtures)."""
import json

import numpy as np
import pytest

from w2vv.bigfile import write_bigfile
from w2vv.errors import InputError
from w2vv.word2vec import open_word2vec


def test_gensim3_chinese_model_loads_with_the_expected_vectors(fixtures):
    folder = fixtures / "gensim3_zh_model"
    expected = json.loads((folder / "expected_vectors.json").read_text(encoding="utf-8"))
    w2v = open_word2vec(folder / "zh_jieba.model", expected_dim=expected["vector_size"])
    words = list(expected["vectors"])
    vectors, known = w2v.lookup(words + ["没有这个词"])
    assert known.tolist() == [True] * len(words) + [False]
    np.testing.assert_array_equal(vectors[:-1], np.array([expected["vectors"][w] for w in words], np.float32))
    assert not vectors[-1].any()


def test_bigfile_word2vec(tmp_path):
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_bigfile(tmp_path / "w2v", ["dog", "cat", "bus"], vecs)
    w2v = open_word2vec(tmp_path / "w2v")
    got, known = w2v.lookup(["bus", "zebra", "dog"])
    assert w2v.dim == 4 and known.tolist() == [True, False, True]
    np.testing.assert_array_equal(got, [vecs[2], np.zeros(4), vecs[0]])
    with pytest.raises(InputError, match="w2v: word2vec vectors are 4-d, but the config's embed_size is 500"):
        open_word2vec(tmp_path / "w2v", expected_dim=500)


@pytest.mark.parametrize("kind", ["model", "bin", "txt"])
def test_gensim4_files(tmp_path, kind):
    from gensim.models import Word2Vec
    model = Word2Vec([["狗", "在", "草地"], ["猫", "在", "沙发"]] * 10, vector_size=8, min_count=1, seed=1, workers=1)
    path = tmp_path / f"w.{kind}"
    if kind == "model":
        model.save(str(path))
    else:
        model.wv.save_word2vec_format(str(path), binary=kind == "bin")
    got, known = open_word2vec(path).lookup(["狗", "马"])
    assert known.tolist() == [True, False]
    np.testing.assert_allclose(got[0], model.wv["狗"], rtol=1e-6)


def test_missing_or_unreadable_word2vec(tmp_path):
    with pytest.raises(InputError, match="nothere: word2vec not found"):
        open_word2vec(tmp_path / "nothere")
    (tmp_path / "broken.model").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="broken.model: cannot read word2vec model"):
        open_word2vec(tmp_path / "broken.model")


def test_mapped_gensim_models_give_the_same_vectors(tmp_path):
    """``mmap=True`` (the doctor's quick look) maps the arrays saved beside a model and reads the same vectors."""
    from gensim.models import Word2Vec
    model = Word2Vec([["狗", "在", "草地"], ["猫", "在", "沙发"]] * 10, vector_size=8, min_count=1, seed=1, workers=1)
    model.save(str(tmp_path / "w.model"), sep_limit=0)  # every array in its own .npy file, as in large models
    mapped = open_word2vec(tmp_path / "w.model", mmap=True)
    assert isinstance(mapped.keyed_vectors.vectors, np.memmap)
    np.testing.assert_array_equal(mapped.lookup(["狗"])[0], open_word2vec(tmp_path / "w.model").lookup(["狗"])[0])


def test_the_gensim3_model_reads_the_same_mapped(fixtures):
    gensim3 = fixtures / "gensim3_zh_model" / "zh_jieba.model"
    words = ["男人", "狗"]
    np.testing.assert_array_equal(open_word2vec(gensim3, mmap=True).lookup(words)[0],
                                  open_word2vec(gensim3).lookup(words)[0])
    assert open_word2vec(gensim3, mmap=True).size == open_word2vec(gensim3).size


def _same_as_gensim(path, words):
    cached, plain = open_word2vec(path, cached=True), open_word2vec(path)
    assert (cached.dim, cached.size) == (plain.dim, plain.size)
    for got, expected in zip(cached.lookup(words), plain.lookup(words)):
        np.testing.assert_array_equal(got, expected)
    assert [w in cached for w in words] == [w in plain for w in words]
    known = [w for w in words if w in plain]
    np.testing.assert_array_equal(plain.lookup(known)[0], plain.keyed_vectors[known])  # gensim's own vectors
    return cached


@pytest.mark.parametrize("separate", [False, True], ids=["vectors in the model", "vectors in a .npy beside it"])
def test_search_reads_a_gensim_model_from_its_cache(tmp_path, separate):
    """``cached=True`` (search): the first open reads gensim and writes ``<model>.search_cache/``, later ones
    read it without gensim, the same vectors; a model rewritten is read by gensim again."""
    from gensim.models import Word2Vec
    from w2vv.word2vec import GensimWord2Vec
    model = Word2Vec([["狗", "在", "草地"], ["猫", "在", "沙发"]] * 10, vector_size=8, min_count=1, seed=1, workers=1)
    path = tmp_path / "w.model"
    model.save(str(path), **({"sep_limit": 0} if separate else {}))
    words = ["狗", "马", "沙发", ""]
    assert isinstance(open_word2vec(path, cached=True), GensimWord2Vec)  # the first time: gensim
    assert not isinstance(_same_as_gensim(path, words), GensimWord2Vec)
    assert (tmp_path / "w.model.search_cache" / "vectors.npy").exists() != separate  # a large model's .npy is mapped
    model.wv.vectors[:] += 1
    model.save(str(path), **({"sep_limit": 0} if separate else {}))
    assert isinstance(open_word2vec(path, cached=True), GensimWord2Vec)
    _same_as_gensim(path, words)


def test_the_gensim3_model_reads_the_same_from_its_cache(fixtures, tmp_path):
    import shutil
    shutil.copy(fixtures / "gensim3_zh_model" / "zh_jieba.model", tmp_path)
    open_word2vec(tmp_path / "zh_jieba.model", cached=True)
    expected = json.loads((fixtures / "gensim3_zh_model" / "expected_vectors.json").read_text(encoding="utf-8"))
    _same_as_gensim(tmp_path / "zh_jieba.model", list(expected["vectors"]) + ["没有这个词"])
