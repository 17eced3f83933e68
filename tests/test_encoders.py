"""The three sentence encodings (docs/method.md#the-three-sentence-encodings), the embedding matrix, and
the encoding cache: kept while its inputs are unchanged (a moved root too), redone when one changes."""
import numpy as np

from w2vv.bigfile import write_bigfile
from w2vv.encoders import SentenceEncoder, _csr_rows, pad_sequences_pre
from w2vv.text import Tokenizer
from w2vv.word2vec import open_word2vec


def make_encoder(tmp_path, maxlen=32):
    (tmp_path / "stop.txt").write_text("the\na\non\n")
    write_bigfile(tmp_path / "w2v", ["dog", "beach", "runs"], np.array([[1, 0], [0, 2], [4, 4]], np.float32))
    tok = Tokenizer("en", tmp_path / "stop.txt")
    return SentenceEncoder(tok, ["a", "dog", "the", "beach"], ["dog", "beach", "cat"], open_word2vec(tmp_path / "w2v"),
                           maxlen)


def test_pad_sequences_pre_keeps_the_first_maxlen():
    np.testing.assert_array_equal(pad_sequences_pre([[1, 2], [1, 2, 3, 4, 5], []], 4),
                                  [[0, 0, 1, 2], [1, 2, 3, 4], [0, 0, 0, 0]])


def test_sparse_rows_are_scipys_own_to_the_bit():
    """The bag of words and the word2vec weights, built row by row, equal scipy's COO conversion
    (columns sorted, a repeated word's values added one after the other) in every bit."""
    import scipy.sparse as sp
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, 12, size=rng.integers(0, 20)).tolist() for _ in range(300)] + [[]]
    for values, dtype in (([1.0] * len(rows), np.float32), ([1 / len(r) if r else 0.0 for r in rows], np.float64)):
        data = np.array([v for r, v in zip(rows, values) for _ in r], dtype)
        coordinates = ([i for i, r in enumerate(rows) for _ in r], sum(rows, []))
        expected = sp.csr_matrix((data, coordinates), shape=(len(rows), 12))
        built = _csr_rows(rows, values, 12, dtype)
        assert built.data.dtype == dtype and built.data.tobytes() == expected.data.tobytes()
        assert np.array_equal(built.indices, expected.indices) and np.array_equal(built.indptr, expected.indptr)


def test_three_encodings(tmp_path):
    enc = make_encoder(tmp_path, maxlen=4)
    e = enc.encode([("s1", "A dog runs on the beach, the dog!"), ("s2", "zebra"), ("s3", "the cat")])
    # plain tokens a dog runs on the beach the dog -> known in seq vocab: a dog the beach the dog -> first 4
    np.testing.assert_array_equal(e.sequences[0], [1, 2, 3, 4])
    np.testing.assert_array_equal(e.sequences[2], [0, 0, 0, 3])
    aux = e.aux()
    assert aux.shape == (3, 3 + 2) and enc.aux_dim == 5
    np.testing.assert_array_equal(aux[0, :3], [2, 1, 0])          # counts, not normalised
    np.testing.assert_allclose(aux[0, 3:], [(1 + 4 + 0 + 1) / 4, (0 + 4 + 2 + 0) / 4])  # dog runs beach dog
    np.testing.assert_array_equal(aux[1], 0)
    assert e.complete.tolist() == [True, False, False]
    assert e.empty_parts[2].tolist() == [False, False, True]      # 'cat': in bow, not in word2vec
    seq, aux_rows = e.inputs([2, 0])
    np.testing.assert_array_equal(seq, e.sequences[[2, 0]])
    np.testing.assert_array_equal(aux_rows, aux[[2, 0]])


def test_the_successors_mean_word2vec_counts_each_word_once(tmp_path):
    """W2VV averages every occurrence (a word said twice counts twice); W2VV++ and SEA each word once, as their
    published W2Vec averages what BigFile.read returns for the set of the words."""
    (tmp_path / "stop.txt").write_text("the\n")
    write_bigfile(tmp_path / "w2v", ["dog", "cat"], np.array([[1, 0], [0, 1]], np.float32))
    tok, w2v = Tokenizer("en", tmp_path / "stop.txt"), open_word2vec(tmp_path / "w2v")
    sentence = [("s1", "dog the dog cat")]
    w2vv = SentenceEncoder(tok, ["dog", "cat"], ["dog", "cat"], w2v).encode(sentence).aux()
    successor = SentenceEncoder(tok, ["dog", "cat"], ["dog", "cat"], w2v, sequence_style="start_end",
                                mean_word2vec="words").encode(sentence).aux()
    np.testing.assert_allclose(w2vv[0, 2:], [2 / 3, 1 / 3])
    np.testing.assert_allclose(successor[0, 2:], [1 / 2, 1 / 2])
    np.testing.assert_array_equal(successor[0, :2], [2, 1])  # the bag of words counts every occurrence in both


def test_embedding_matrix(tmp_path):
    enc = make_encoder(tmp_path)
    m = enc.embedding_matrix(np.random.default_rng(0))
    assert m.shape == (5, 2)
    np.testing.assert_array_equal(m[0], 0)
    np.testing.assert_array_equal(m[2], [1, 0])     # dog
    np.testing.assert_array_equal(m[4], [0, 2])     # beach
    assert np.all(np.abs(m[[1, 3]]) <= 1) and m[1].any()   # a, the: uniform(-1, 1)


def test_encoding_is_cached_in_one_file_with_its_record_and_invalidated(small_root, tmp_path):
    import os

    from tests.helpers import copy_root
    from w2vv.config import load_config
    from w2vv.run_inputs import encode_cached, make_encoder
    from w2vv.text import Tokenizer
    from w2vv.vocab import build_vocabularies
    root = copy_root(small_root, tmp_path)
    build_vocabularies(str(root), "cococntrain", Tokenizer("zh"), log=lambda m: None)
    encoder = make_encoder(str(root), "cococntrain", load_config("base_w2vv"))
    legacy = os.path.join(encoder.cache_dir, "cococnval.0123456789abcdef.npz")  # keyed by name, as once
    os.makedirs(encoder.cache_dir)
    open(legacy, "wb").close()
    first = encode_cached(encoder, str(root), "cococnval")
    assert sorted(os.listdir(encoder.cache_dir)) == ["cococnval.inputs.json", "cococnval.npz"]
    again = encode_cached(encoder, str(root), "cococnval")
    assert again.ids == first.ids
    np.testing.assert_array_equal(again.aux(), first.aux())
    np.testing.assert_array_equal(again.sequences, first.sequences)
    caption = root / "cococnval" / "TextData" / "cococnval.caption.txt"
    caption.write_text(caption.read_text(encoding="utf-8") + "COCO_x#9 一只 狗\n", encoding="utf-8")
    changed = encode_cached(encoder, str(root), "cococnval")
    assert len(changed) == len(first) + 1   # encoded again, in its place: no orphan
    assert sorted(os.listdir(encoder.cache_dir)) == ["cococnval.inputs.json", "cococnval.npz"]
    assert len(encode_cached(encoder, str(root), "cococnval")) == len(changed)


def test_a_moved_root_keeps_its_encoding_cache(small_root, tmp_path):
    import os
    import shutil

    from tests.helpers import copy_root
    from w2vv.config import load_config
    from w2vv.run_inputs import encode_cached, make_encoder
    from w2vv.text import Tokenizer
    from w2vv.vocab import build_vocabularies
    root = copy_root(small_root, tmp_path / "here")
    build_vocabularies(str(root), "cococntrain", Tokenizer("zh"), log=lambda m: None)
    encode_cached(make_encoder(str(root), "cococntrain", load_config("base_w2vv")), str(root), "cococnval")
    moved = tmp_path / "elsewhere" / "VisualSearch"
    shutil.move(root, moved)  # a move keeps the files' times
    encoder = make_encoder(str(moved), "cococntrain", load_config("base_w2vv"))
    cached = os.listdir(encoder.cache_dir)
    encode_cached(encoder, str(moved), "cococnval")
    assert os.listdir(encoder.cache_dir) == cached   # read from the cache, nothing encoded again


def test_an_encoding_follows_the_vectors_a_gensim_model_keeps_beside_it(small_root, tmp_path):
    """A large gensim model (the release's Chinese word2vec) keeps its vectors in ``.npy`` files beside it: new
    vectors under the same words leave the model file as it was, and the cached encoding kept the old ones."""
    from gensim.utils import SaveLoad

    from tests.helpers import copy_root
    from w2vv import layout
    from w2vv.config import load_config
    from w2vv.run_inputs import encode_cached, make_encoder
    from w2vv.text import Tokenizer
    from w2vv.vocab import build_vocabularies
    root = copy_root(small_root, tmp_path)
    build_vocabularies(str(root), "cococntrain", Tokenizer("zh"), log=lambda m: None)
    model = layout.word2vec_path(str(root), "zh")
    saved = SaveLoad.load(model)  # the demo's: a whole Word2Vec model, as the release's
    vectors = getattr(saved, "wv", saved)
    saved.save(model, sep_limit=0)  # every array in a file of its own, as a large model's
    first = encode_cached(make_encoder(str(root), "cococntrain", load_config("base_w2vv")), str(root), "cococnval")
    before = open(model, "rb").read()
    vectors.vectors[:] = np.random.default_rng(0).normal(size=vectors.vectors.shape)
    saved.save(model, sep_limit=0)
    assert open(model, "rb").read() == before
    again = encode_cached(make_encoder(str(root), "cococntrain", load_config("base_w2vv")), str(root), "cococnval")
    assert not np.array_equal(again.w2v_table, first.w2v_table)
