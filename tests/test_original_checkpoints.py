"""Same weights in, same vectors out: the original code's checkpoints and predictions
(``../shared/fixtures/original_w2vv``) reproduced by the project's encoders and model."""
import glob
import os

import numpy as np
import pytest

from w2vv import layout
from w2vv.encoders import SentenceEncoder
from w2vv.original import load_original_model
from w2vv.ranking import read_sent_feat
from w2vv.text import Tokenizer
from w2vv.training import predict_vectors
from w2vv.vocab import load_vocab
from w2vv.word2vec import open_word2vec

RUNS = [("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test"), ("cococntrain", "cococnval", "cococntest")]


@pytest.mark.parametrize("config", ["tiny_base", "tiny_attention_ctl"])
@pytest.mark.parametrize("train, val, test", RUNS)
def test_original_checkpoint_predicts_the_original_vectors(fixtures, config, train, val, test):
    base = fixtures / "original_w2vv"
    root = base / "VisualSearch"
    lang = layout.language(train)
    folder = layout.checkpoint_dir(root, train, val, config)
    model, cfg = load_original_model(folder, glob.glob(os.path.join(folder, "epoch_*.h5"))[0])
    encoder = SentenceEncoder(Tokenizer(lang, base / "stopwords" / f"{lang}_stopwords.txt"),
                              load_vocab(layout.vocab_file(root, train, "bow")),
                              load_vocab(layout.vocab_file(root, train, "bow_filterstop")),
                              open_word2vec(layout.word2vec_path(root, lang)), cfg.sent_maxlen)
    for collection in (val, test):
        ids, expected = read_sent_feat(os.path.join(layout.similarity_dir(root, collection, train, config), "sent_feat.txt"))
        sentences = encoder.encode(layout.captions_of(root, collection))
        assert sentences.ids == ids
        got = predict_vectors(model, sentences)
        assert np.abs(got - expected).max() <= 1e-4, (collection, np.abs(got - expected).max())
