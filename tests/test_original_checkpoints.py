"""Same weights in, same vectors out: the original code's checkpoints and predictions
(``../shared/fixtures/original_w2vv``) reproduced by the project's encoders and model."""
import glob
import os

import numpy as np
import pytest

from w2vv import languages, layout
from w2vv.collection_files import captions_of
from w2vv.encoders import SentenceEncoder
from w2vv.original import load_original_model
from w2vv.ranking import read_sent_feat
from w2vv.text import Tokenizer
from w2vv.inference import predict_vectors
from w2vv.vocab import load_vocab
from w2vv.word2vec import open_word2vec

RUNS = [("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test"), ("cococntrain", "cococnval", "cococntest")]


@pytest.mark.parametrize("config", ["tiny_base", "tiny_attention_ctl"])
@pytest.mark.parametrize("train, val, test", RUNS)
def test_original_checkpoint_predicts_the_original_vectors(fixtures, config, train, val, test):
    root = fixtures / "original_w2vv" / "VisualSearch"
    lang = languages.language_of(train)
    folder = layout.checkpoint_dir(root, train, val, config)
    model, cfg = load_original_model(folder, glob.glob(os.path.join(folder, "epoch_*.h5"))[0])
    encoder = SentenceEncoder(Tokenizer(lang),  # the default stop-word lists are the original's
                              load_vocab(layout.vocab_file(root, train, "bow")),
                              load_vocab(layout.vocab_file(root, train, "bow_filterstop")),
                              open_word2vec(layout.word2vec_path(root, lang)), cfg.sent_maxlen)
    for collection in (val, test):
        folder = layout.similarity_dir(root, collection, train, config)
        ids, expected = read_sent_feat(os.path.join(folder, "sent_feat.txt"))
        sentences = encoder.encode(captions_of(root, collection))
        assert sentences.ids == ids
        got = predict_vectors(model, sentences)
        assert np.abs(got - expected).max() <= 1e-4, (collection, np.abs(got - expected).max())


def copy_root(fixtures, tmp_path):
    import shutil
    root = tmp_path / "VisualSearch"
    shutil.copytree(fixtures / "original_w2vv" / "VisualSearch", root,
                    ignore=shutil.ignore_patterns("SimilarityIndex"))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("config", ["tiny_base", "tiny_attention_ctl"])
def test_tester_on_an_original_folder_gives_the_original_ranking(fixtures, tmp_path, config):
    """tester.py takes the original checkpoint folder as --model_path; with its default stop words
    (the original's) it writes the same vectors, the same first-ranked image per sentence and the same mIR."""
    from tests.helpers import run_main
    from w2vv.ranking import read_mir, read_ranking
    src = fixtures / "original_w2vv" / "VisualSearch"
    root = copy_root(fixtures, tmp_path)
    folder = layout.checkpoint_dir(root, "cococntrain", "cococnval", config)
    for test in ("cococnval", "cococntest"):
        result = run_main("tester.py", "cococntrain", test, "--rootpath", root, "--model_path", folder)
        assert result.returncode == 0, result.stderr[-2000:]
        ours = layout.similarity_dir(root, test, "cococntrain", config)
        theirs = layout.similarity_dir(src, test, "cococntrain", config)
        _, got = read_sent_feat(os.path.join(ours, "sent_feat.txt"))
        _, expected = read_sent_feat(os.path.join(theirs, "sent_feat.txt"))
        assert np.abs(got - expected).max() <= 1e-4
        assert read_mir(os.path.join(ours, "mir.txt")) == read_mir(os.path.join(theirs, "mir.txt"))
        q1, items1, s1 = read_ranking(os.path.join(ours, "sent.id.score.txt"))
        q2, items2, s2 = read_ranking(os.path.join(theirs, "sent.id.score.txt"))
        assert q1 == q2 and items1 == items2
        assert [items1[i] for i in s1.argmax(1)] == [items2[i] for i in s2.argmax(1)]


def test_converted_folder_predicts_the_same(fixtures, tmp_path):
    from tests.helpers import run_main
    from w2vv.inference import load_trained_model
    src = layout.checkpoint_dir(fixtures / "original_w2vv" / "VisualSearch", "cococntrain", "cococnval",
                                "tiny_attention_ctl")
    out = tmp_path / "converted"
    result = run_main("convert_original.py", src, out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note: {out} is not a checkpoint folder of a root's layout" in result.stdout  # the tester refuses it
    original, _ = load_trained_model(src)
    converted, cfg = load_trained_model(str(out))
    assert cfg.lstm_size == 32 and cfg.sequences and (out / "epoch_2.h5").is_file()
    x = [np.random.default_rng(0).integers(0, 60, size=(4, 32)), np.random.default_rng(1).random((4, 557))]
    np.testing.assert_array_equal(original.predict_on_batch(x), converted.predict_on_batch(x))


def test_a_folder_that_is_no_original_checkpoint_stops_in_one_line(tmp_path):
    """A broken or non-UTF-8 model.json gave a traceback; a folder not there was called a bad description."""
    from tests.helpers import one_error_line, run_main
    for name, content in (("broken", b"{not json"), ("binary", b"\xff\xfe"), ("a_list", b"[1, 2]")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.json").write_bytes(content)
        error = one_error_line(run_main("convert_original.py", tmp_path / name, tmp_path / "out"))
        assert error.startswith(f"error: {tmp_path / name / 'model.json'}: not a Keras"), error
    error = one_error_line(run_main("convert_original.py", tmp_path / "nowhere", tmp_path / "out"))
    assert error == f"error: {tmp_path / 'nowhere'}: checkpoint folder not found"
    assert not (tmp_path / "out").exists()


def test_converting_never_writes_over_a_folder_and_puts_the_epoch_converted_first(fixtures, tmp_path):
    """In place, the original's weights were replaced before a traceback; into a run's folder, two models mixed;
    a non-best epoch left a folder whose history named weights it lacks."""
    import shutil

    from tests.helpers import one_error_line, run_main
    from w2vv.inference import best_weights_file
    src = tmp_path / "original"
    shutil.copytree(layout.checkpoint_dir(fixtures / "original_w2vv" / "VisualSearch", "cococntrain", "cococnval",
                                          "tiny_attention_ctl"), src)
    before = (src / "epoch_2.h5").read_bytes()
    assert one_error_line(run_main("convert_original.py", src, src)) == \
        f"error: {src}: the original folder itself: its weights would be replaced; give a new folder"
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "settings.json").write_text("{}")
    assert one_error_line(run_main("convert_original.py", src, tmp_path / "used")) == \
        f"error: {tmp_path / 'used'}: exists and is not an empty folder; give a new folder"
    assert (src / "epoch_2.h5").read_bytes() == before and sorted(os.listdir(tmp_path / "used")) == ["settings.json"]
    (src / "epoch_1.h5").write_bytes(before)   # another epoch's weights (the same numbers will do)
    out = tmp_path / "epoch1"
    assert run_main("convert_original.py", src, out, "--weight_name", "epoch_1.h5").returncode == 0
    assert best_weights_file(str(out)) == str(out / "epoch_1.h5") and (out / "epoch_1.h5").is_file()
    assert (out / "val_per_hist.txt").read_text().split("\n")[:3] == \
        ["epoch_1 0.12289520108283622", "epoch_2 0.13449714190517179", "epoch_0 0.11109080795691355"]


@pytest.mark.parametrize("style, edit", [("bow", lambda words: words[:-1]), ("bow", lambda words: words + ["新词"]),
                                         ("bow_filterstop", lambda words: words[:-1])])
def test_a_vocabulary_of_another_size_than_an_original_checkpoint_read_stops_in_one_line(fixtures, tmp_path, style,
                                                                                         edit):
    """An original checkpoint records no vocabulary: one word fewer in the root's ranked in silence (vectors 6e-4 off
    the original's), one more or a shorter bag of words failed deep in Keras."""
    from tests.helpers import one_error_line, run_main
    root = copy_root(fixtures, tmp_path)
    vocab = layout.vocab_file(root, "cococntrain", style)
    words = load_vocab(vocab)
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("".join(f"{w}\n" for w in edit(words)))
    folder = layout.checkpoint_dir(root, "cococntrain", "cococnval", "tiny_attention_ctl")
    for script, args in (("tester.py", ["cococntrain", "cococntest", "--rootpath", root, "--model_path", folder]),
                         ("search.py", ["--model_path", folder, "--quiet", "滑板"])):
        error = one_error_line(run_main(script, *args))
        assert error == (f"error: {vocab}: {len(edit(words))} words, but the model {folder} was trained with a "
                         f"vocabulary of {len(words)} there: not the vocabulary it read (counted again, or edited, "
                         f"since); put back the one it was trained with"), error


def test_counting_again_the_vocabulary_an_original_checkpoint_read_stops_before_it_is_replaced(fixtures, tmp_path):
    """build_vocab.py --overwrite 1 (do_all.sh's stage 1 with overwrite = 1) reordered words of equal count: the
    original checkpoints then ranked with other words (mIR 0.101 for 0.126), without a word; a checkpoint converted
    from one as well. Another threshold's vocabulary, which they do not read, is counted."""
    import shutil
    from tests.helpers import one_error_line, run_main
    root = copy_root(fixtures, tmp_path)
    vocab = layout.vocab_file(root, "cococntrain", "bow")
    before = open(vocab, encoding="utf-8").read()
    originals = os.path.dirname(layout.checkpoint_dir(root, "cococntrain", "cococnval", "tiny_base"))
    converted = os.path.join(originals, "tiny_base_converted")
    assert run_main("convert_original.py", os.path.join(originals, "tiny_base"), converted).returncode == 0
    for reader in (os.path.join(originals, "tiny_attention_ctl"), converted):
        error = one_error_line(run_main("build_vocab.py", "cococntrain", "--rootpath", root, "--overwrite", "1"))
        assert error == (f"error: {vocab}: the vocabulary the checkpoint {reader}, which records none (the original "
                         f"code's, or converted from one), was trained with: counted anew, its words of equal count "
                         f"would change order, and that model would read other words; keep (or put back) the "
                         f"vocabulary it was trained with, or move the checkpoint away first"), error
        assert open(vocab, encoding="utf-8").read() == before
        for name in ("tiny_attention_ctl", "tiny_base"):  # the originals moved away: the converted one reads it too
            if os.path.isdir(os.path.join(originals, name)):
                shutil.move(os.path.join(originals, name), tmp_path / name)
    assert run_main("build_vocab.py", "cococntrain", "--rootpath", root, "--freq_threshold", "3",
                    "--overwrite", "1").returncode == 0
    shutil.move(converted, tmp_path / "converted")
    assert run_main("build_vocab.py", "cococntrain", "--rootpath", root, "--overwrite", "1").returncode == 0
    shutil.move(tmp_path / "converted", converted)  # the same words counted again in the same order: harmless
    assert run_main("build_vocab.py", "cococntrain", "--rootpath", root, "--overwrite", "1").returncode == 0


def test_a_fusion_weight_chosen_on_the_original_codes_vectors_of_another_run_is_not_used(fixtures, tmp_path):
    """The original code's results record nothing: a weight chosen with the English tiny_base fused the Chinese
    tiny_base with the English tiny_attention_ctl in silence, where results made here are refused."""
    import shutil
    from tests.helpers import run_main
    from w2vv import Searcher
    from w2vv.errors import InputError
    root = tmp_path / "VisualSearch"
    shutil.copytree(fixtures / "original_w2vv" / "VisualSearch", root)
    for script in ("cross_lingual.py", "fuse.py"):
        done = run_main(script, "--rootpath", root, "--run", "tiny_base")
        assert done.returncode == 0, done.stderr
    zh = layout.checkpoint_dir(root, "cococntrain", "cococnval", "tiny_base")
    en = [layout.checkpoint_dir(root, "mscoco2014dev-train", "mscoco2014dev-val", run)
          for run in ("tiny_base", "tiny_attention_ctl")]
    assert Searcher([zh, en[0]], log=lambda line: None).weight_for("zh") == pytest.approx(float(open(
        os.path.join(layout.clm_dir(root, "tiny_base", "cococnval"), "weight.txt")).read().split()[1]))
    with pytest.raises(InputError, match=r"weight.txt: chosen on the sentence vectors \S+/mscoco2014dev-val/"
                                         r"SimilarityIndex/mscoco2014dev-train/tiny_base/sent_feat.txt \(of the "
                                         r"original code: unrecorded\) of run tiny_base, which no loaded model is"):
        Searcher([zh, en[1]], log=lambda line: None).weight_for("zh")


@pytest.mark.parametrize("damage", ["second input", "embedding width"])
def test_a_model_description_of_json_but_not_of_a_w2vv_model_stops_in_one_line(fixtures, tmp_path, damage):
    """An IndexError or KeyError traceback from convert_original.py, the tester and search."""
    import json
    import shutil
    from tests.helpers import one_error_line, run_main
    folder = tmp_path / "tiny_base"
    shutil.copytree(layout.checkpoint_dir(fixtures / "original_w2vv" / "VisualSearch", "cococntrain", "cococnval",
                                          "tiny_base"), folder)
    description = json.loads((folder / "model.json").read_text())
    layers = description["config"]["layers"]
    if damage == "second input":
        layers.remove([layer for layer in layers if layer["class_name"] == "InputLayer"][1])
    else:
        del next(layer for layer in layers if layer["class_name"] == "Embedding")["config"]["output_dim"]
    (folder / "model.json").write_text(json.dumps(description))
    error = one_error_line(run_main("convert_original.py", folder, tmp_path / "out"))
    assert error.startswith(f"error: {folder / 'model.json'}: not the description of a W2VV model of the original "
                            f"code ("), error
    assert not (tmp_path / "out").exists()
