"""W2VV's successors (W2VV++, SEA) through training and testing: their learning-rate schedule against the
published semantics of torch 1.2 and 1.4, their word indices (``<start>``, ``<end>``, ``<unk>``, right
padding), a tiny model of each family trained two epochs by trainer.py and tested (rankings, metrics),
its checkpoint reloaded to the same vectors and scores, its record and config naming the family, and a
model of one family given where the other is expected stopping in one line."""
import json
import os
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers import build_vocab, copy_root, one_error_line, run_main
from w2vv import layout
from w2vv.errors import InputError
from w2vv.torch_schedule import TorchPlateauRule

ZH = ("cococntrain", "cococnval", "cococntest")
TINY = "lstm_size=8,n_layers=0-16"
OWN = TINY + ",image_towers=own"


# ---------------------------------------------------------------- the schedule

# validation figures: two improvements, three flat epochs (the third bad one halves), a new best, one
# strictly above it but within ReduceLROnPlateau's relative threshold 1e-4 (a bad epoch for it: the second
# halving comes two epochs later), then a worse one
FIGURES = [0.10, 0.20, 0.20, 0.20, 0.20, 0.25, 0.25001, 0.25, 0.25, 0.24]


def torch_lr_sequence(base_lr, figures, schedule):
    """The rate of every epoch when the validation figures are ``figures``: [lr of epoch 0, lr of epoch 1
    after figures[0], …] (one more than ``figures``)."""
    rule = TorchPlateauRule(lr=base_lr, base_lr=base_lr, decay_rate=0.99, schedule=schedule)
    return [base_lr] + [rule.step_lr(v) for v in figures]


def test_torch12_schedule_rewrites_the_rate_so_a_halving_lasts_one_epoch():
    expected = [1e-4 * 0.99 ** k * (0.5 if k in (5, 9) else 1.0) for k in range(len(FIGURES) + 1)]
    assert torch_lr_sequence(1e-4, FIGURES, "torch1.2") == pytest.approx(expected, rel=1e-12)


def test_torch14_schedule_chains_so_halvings_persist():
    halvings = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    expected = [1e-4 * 0.99 ** k * 0.5 ** h for k, h in enumerate(halvings)]
    assert torch_lr_sequence(1e-4, FIGURES, "torch1.4") == pytest.approx(expected, rel=1e-12)


def test_the_trainers_rule_best_strictly_above_from_zero_and_stop_at_the_11th_epoch_without():
    rule = TorchPlateauRule(lr=1e-4, base_lr=1e-4, schedule="torch1.2")
    steps = [rule.step(epoch, figure) for epoch, figure in enumerate(FIGURES)]
    assert [improved for improved, _, _ in steps] == [True, True, False, False, False, True, True, False, False,
                                                      False]
    assert all(changed for _, changed, _ in steps)  # × 0.99 every epoch
    assert (rule.best, rule.best_epoch, rule.patience) == (0.25001, 6, 3)
    rule = TorchPlateauRule(lr=1e-4, base_lr=1e-4)
    assert rule.step(0, 0.0) == (False, True, False)  # not above the initial best, 0
    stops = [rule.step(epoch, 0.0)[2] for epoch in range(1, 11)]
    assert stops == [False] * 9 + [True]  # the 11th epoch in a row without a new best
    from w2vv.training import Progress
    progress = Progress(3, rule, next_epoch=11)
    again = Progress.from_json(progress.to_json())  # the resume state: the same rule, its −∞ included
    assert again == progress and isinstance(again.rule, TorchPlateauRule)


# ---------------------------------------------------------------- the word indices

def test_start_end_word_indices(tmp_path):
    from w2vv.bigfile import write_bigfile
    from w2vv.encoders import SentenceEncoder
    from w2vv.text import Tokenizer
    from w2vv.word2vec import open_word2vec
    (tmp_path / "stop.txt").write_text("the\na\non\n")
    write_bigfile(tmp_path / "w2v", ["dog", "beach", "runs", "<end>"],
                  np.array([[1, 0], [0, 2], [4, 4], [7, 7]], np.float32))
    enc = SentenceEncoder(Tokenizer("en", tmp_path / "stop.txt"), ["a", "dog", "the", "beach"],
                          ["dog", "beach", "cat"], open_word2vec(tmp_path / "w2v"), 0, sequence_style="start_end")
    e = enc.encode([("s1", "A dog runs on the beach, the dog!"), ("s2", "zebra"), ("s3", "the dog")])
    # <pad> 0, <start> 1, <end> 2, <unk> 3, then a 4, dog 5, the 6, beach 7; stop words kept, right-padded
    np.testing.assert_array_equal(e.sequences, [[1, 4, 5, 3, 3, 6, 7, 6, 5, 2], [1, 3, 2, 0, 0, 0, 0, 0, 0, 0],
                                                [1, 6, 5, 2, 0, 0, 0, 0, 0, 0]])
    assert enc.seq_vocab_size == 7 and e.style == "start_end"
    assert e.empty_parts[:, 0].tolist() == [False, True, False]  # <start> <unk> <end>: no known word
    np.testing.assert_allclose(e.aux()[0], [2, 1, 0, (1 + 4 + 0 + 1) / 4, (0 + 4 + 2 + 0) / 4])  # as W2VV's
    seq, _ = e.inputs([1, 2])
    np.testing.assert_array_equal(seq, e.sequences[[1, 2], :8])  # cut behind the rows' longest, rounded up to 8
    assert e.inputs()[0].shape == (3, 10)
    m = enc.embedding_matrix(np.random.default_rng(0))
    assert m.shape == (8, 2)
    np.testing.assert_array_equal(m[[2, 5, 7]], [[7, 7], [1, 0], [0, 2]])  # word2vec rows (its '<end>' too)
    assert np.all(np.abs(m[[0, 1, 3, 4, 6]]) <= 1) and np.all(m[[0, 1, 3, 4, 6]] != 0)  # U(−1, 1), <pad> too
    cut = SentenceEncoder(enc.tokenizer, ["dog"], [], enc.word2vec, 2, sequence_style="start_end")
    np.testing.assert_array_equal(cut.encode([("s", "dog dog dog")]).sequences, [[1, 4, 4, 2]])
    # training batches: (words, bow and mean word2vec, image feature) of one sentence each here; batch 0
    # padded past the longest (TensorFlow's input signature then leaves the width free), the others cut
    from types import SimpleNamespace
    from w2vv.batches import PairBatches
    batches = PairBatches(SimpleNamespace(sentences=e, sentence_images=np.array([2, 0, 1])),
                          SimpleNamespace(read_rows=lambda rows: np.eye(3, dtype=np.float32)[rows]),
                          SimpleNamespace(L1_normalize=0, L2_normalize=0), batch_size=1, seed=0)
    widths = []
    for i in range(len(batches)):
        (words, aux, feature), y = batches[i]
        row = batches.order[i]
        width = min(words.shape[1], 10)
        np.testing.assert_array_equal(words[0, :width], e.sequences[row, :width])
        assert not words[0, width:].any() and not e.sequences[row, width:].any()
        np.testing.assert_array_equal(feature[0], np.eye(3)[[2, 0, 1][row]])
        assert y.shape == (1, 1) and aux.shape == (1, 5)
        widths.append(words.shape[1])
    assert widths[0] == 18 and all(w == (10 if batches.order[i] == 0 else 8) for i, w in enumerate(widths[1:], 1))


# ---------------------------------------------------------------- a tiny model of each family

@pytest.fixture(scope="module")
def trained(small_root, tmp_path_factory):
    """{family: (root, checkpoint folder, trainer's output)} of a tiny W2VV++ and SEA trained two epochs
    on the small root's Chinese collections and tested by trainer.py; each with its own image tower(s)
    (``image_towers=own``: no English model first, tests/test_family_languages.py trains that way)."""
    root = copy_root(small_root, tmp_path_factory.mktemp("family"))
    build_vocab(root, ZH[0])
    out = {}
    for family, config in (("w2vvpp", "w2vvpp_resnext101"), ("sea", "sea_bow_w2v_gru")):
        done = run_main("trainer.py", *ZH, "--rootpath", root, "--config", config, "--config_overrides", OWN,
                        "--max_epochs", "2", "--batch_size", "16", "--seed", "0")
        assert done.returncode == 0, done.stderr
        folder = next(root.glob(f"{ZH[0]}/cv_keras/{ZH[1]}/w2vv_trainer.py/{config}_*"))
        out[family] = root, folder, done.stdout
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family", ["w2vvpp", "sea"])
def test_a_successor_trains_and_is_tested(trained, family):
    from w2vv.ranking import read_ranking, read_sent_feat
    root, folder, log = trained[family]
    name = {"w2vvpp": "W2VV++", "sea": "SEA"}[family]
    assert f"({name}): " in log and " parameters, loss mrl" in log and "val mIR" in log
    config = json.loads((folder / layout.CONFIG_FILE).read_text())
    settings = json.loads((folder / layout.SETTINGS_FILE).read_text())["settings"]
    assert config["family"] == settings["config"]["family"] == family
    assert config["feature_dim"] == 16 and config["n_layers"] == "0-16"  # the image tower takes the features' width
    history = (folder / layout.VAL_HISTORY_FILE).read_text().split()
    lrs = [float(x) for x in (folder / layout.LR_HISTORY_FILE).read_text().split()[1::2]]
    assert len(history) == 4 and lrs == pytest.approx([1e-4, 1e-4 * 0.99])
    summary = json.loads((folder / layout.SUMMARY_FILE).read_text())
    assert summary["best_val_mir_t2i"] == float(history[1]) and summary["dropped_train_sentences"] == 0
    # the tester's files, and its val mIR is the training rule's figure for the best epoch
    test_dir = layout.similarity_dir(str(root), ZH[2], ZH[0], folder.name)
    for f in (layout.SENT_FEAT_FILE, layout.RANKING_FILE, layout.METRICS_FILE, layout.MIR_FILE):
        assert os.path.isfile(os.path.join(test_dir, f)), f
    val_metrics = json.loads(open(os.path.join(layout.similarity_dir(str(root), ZH[1], ZH[0], folder.name),
                                               layout.METRICS_FILE)).read())
    assert val_metrics["mir"] == pytest.approx(float(history[1]), abs=1e-12)
    # the checkpoint reloads to the same vectors, and the scores are their dot products
    from w2vv.inference import ALL_FAMILIES, load_trained_model
    from w2vv.run_inputs import load_collection, model_encoder, open_features
    models, cfg = load_trained_model(str(folder), families=ALL_FAMILIES)
    assert models.family == family and models.count_params() > 0
    encoder = model_encoder(str(folder), str(root), cfg, log=lambda m: None)
    features = open_features(str(root), cfg, layout.DEFAULT_FEATURE_COLLECTION)
    collection, _ = load_collection(str(root), ZH[2], encoder, features, keep_incomplete=True, log=lambda m: None)
    ids, written = read_sent_feat(os.path.join(test_dir, layout.SENT_FEAT_FILE))
    text = models.text.predict_on_batch(list(collection.sentences.inputs()))
    assert ids == collection.sentences.ids
    np.testing.assert_allclose(written, text, rtol=1e-6, atol=1e-7)
    images = models.image.predict_on_batch(features.read_rows(collection.image_rows))
    queries, items, scores = read_ranking(os.path.join(test_dir, layout.RANKING_FILE))
    columns = [collection.image_ids.index(i) for i in items]
    np.testing.assert_allclose(scores, (text @ images.T)[[ids.index(q) for q in queries]][:, columns], atol=1e-5)


@pytest.mark.slow
def test_the_encoding_cache_of_a_successor_is_its_own(trained):
    root, folder, _ = trained["w2vvpp"]
    encoded = root / ZH[0] / "TextData" / "vocabulary" / "encoded"
    record = json.loads((encoded / f"{ZH[1]}.start_end.inputs.json").read_text())
    assert record["sequence_style"] == "start_end" and record["mean_word2vec"] == "words"
    assert not (encoded / f"{ZH[1]}.npz").exists()  # W2VV's, unmade: another file, another record


@pytest.mark.slow
def test_a_successor_recorded_before_it_averaged_each_word_once_is_read_as_it_was_trained(trained):
    """Its record names how its mean word2vec averaged; one without (trained before) averaged every occurrence:
    tested so, and not taken as a finished run of today's encoding."""
    from w2vv import runs
    root, folder, _ = trained["w2vvpp"]
    record = json.loads((folder / layout.SETTINGS_FILE).read_text())
    assert record["settings"]["mean_word2vec"] == "words"
    cfg = SimpleNamespace(**record["settings"]["config"])
    assert runs.model_inputs(str(folder), str(root), cfg, log=lambda m: None).mean_word2vec == "words"
    older = shutil.copytree(folder, folder.parent / "older")  # in the layout: its vocabularies are found from it
    try:
        del record["settings"]["mean_word2vec"]
        (older / layout.SETTINGS_FILE).write_text(json.dumps(record))
        assert runs.model_inputs(str(older), str(root), cfg, log=lambda m: None).mean_word2vec == "occurrences"
        with pytest.raises(InputError, match="made with other settings: mean_word2vec None \\(asked 'words'\\)"):
            runs.check_same_record(str(older), dict(record["settings"], mean_word2vec="words"))
    finally:
        shutil.rmtree(older)


@pytest.mark.slow
def test_a_model_of_one_family_where_the_other_is_expected_stops_in_one_line(trained, tmp_path):
    from w2vv.inference import load_trained_model
    from w2vv.retrieval.numpy_model import load_numpy_model
    root, folder, _ = trained["sea"]
    with pytest.raises(InputError, match=r"a SEA model \(family 'sea'\), where this command takes a W2VV model "
                                         r"\(not yet a SEA one\)"):
        load_trained_model(str(folder))
    numpy_towers, _ = load_numpy_model(str(folder), str(next(folder.glob("epoch_*.h5"))))  # search's, without Keras
    assert type(numpy_towers).__name__ == "NumpyCommonSpace"
    w2vv_like = shutil.copytree(folder, tmp_path / "w2vv_like")
    config = json.loads((w2vv_like / layout.CONFIG_FILE).read_text())
    (w2vv_like / layout.CONFIG_FILE).write_text(json.dumps({**config, "family": "w2vv"}))
    with pytest.raises(InputError, match="a W2VV model .* where CL's Chinese model takes a W2VV[+][+] or SEA model$") \
            as error:
        load_trained_model(str(w2vv_like), families=("w2vvpp", "sea"), what="CL's Chinese model")
    assert "\n" not in str(error.value)
    error = one_error_line(run_main("convert_original.py", folder, tmp_path / "out"))
    assert "a checkpoint of this project (a SEA model, family 'sea')" in error
    for script, says in (("cross_lingual.py", f"CL is not available for run {folder.name}: "),
                         ("fuse.py", f"CLM is not available for run {folder.name}: ")):
        assert says in one_error_line(run_main(script, "--rootpath", root, "--run", folder.name))
    error = one_error_line(run_main("trainer.py", *ZH, "--rootpath", root, "--config", "w2vvpp_resnext101",
                                    "--config_overrides", OWN, "--max_epochs", "1", "--distribute", "mirrored"))
    assert "--distribute mirrored: not for family 'w2vvpp'" in error
