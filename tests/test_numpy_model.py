"""The text model's numpy forward pass (``w2vv.retrieval.numpy_model``) against the Keras model, for
both GRU variants, with and without attention, on random weights and inputs: sentences of every length
(the padding in front of each, which the numpy model starts after), in a batch and one at a time."""
import numpy as np
import pytest

from w2vv import checkpoint
from w2vv.config import load_config, parse_overrides
from w2vv.model import build_model
from w2vv.retrieval.numpy_model import NumpyTextModel


@pytest.mark.parametrize("name", ["base_w2vv", "w2vv_attention_ctl"])
@pytest.mark.parametrize("gru_impl", ["keras2", "cudnn"])
def test_numpy_forward_pass_equals_keras(name, gru_impl, tmp_path):
    cfg = load_config(name, overrides=parse_overrides(f"lstm_size=16,n_layers=0-24-12,gru_impl={gru_impl}"))
    vocab, aux_dim = 50, 30
    model = build_model(cfg, vocab, aux_dim)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # random weights, larger than the initial ones: every gate away from 0
        layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    path = str(tmp_path / "epoch_1.h5")
    checkpoint.save_weights(model, path)
    numpy_model = NumpyTextModel(cfg, checkpoint.read_weights(path))
    indices = rng.integers(1, vocab + 1, (7, cfg.sent_maxlen))
    for row, words in enumerate([cfg.sent_maxlen, cfg.sent_maxlen // 2, 9, 5, 3, 1, 0]):
        indices[row, :cfg.sent_maxlen - words] = 0            # padding in front, as short sentences have it
    aux = rng.random((7, aux_dim)).astype(np.float32)
    expected = np.asarray(model.predict_on_batch([indices, aux]))
    assert numpy_model.output_shape[-1] == expected.shape[1] == 12
    np.testing.assert_allclose(numpy_model.predict_on_batch([indices, aux]), expected, rtol=0, atol=1e-5)
    for row in range(len(indices)):                           # alone, as a query is
        np.testing.assert_allclose(numpy_model.predict_on_batch([indices[row:row + 1], aux[row:row + 1]]),
                                   expected[row:row + 1], rtol=0, atol=1e-5)
