"""The model and the losses (docs/method.md#the-model, #losses): the paper configs' parameter counts,
bad configs, Keras 2.2.4's GRU, every loss against numpy, the loss registry, the plateau rule."""
import re
from pathlib import Path

import numpy as np
import pytest

from w2vv.config import ACTIVATIONS, CONFIG_DIR, load_config, parse_overrides
from w2vv.errors import InputError
from w2vv.losses import contrastive, max_violation_ranking, mse
from w2vv.model import build_model
from w2vv.training import PlateauRule


@pytest.mark.parametrize("name, attention", [("base_w2vv", False), ("w2vv_attention", True),
                                             ("w2vv_attention_ctl", True)])
def test_paper_configs_have_the_reference_parameter_count(name, attention):
    V, B, D = 3217, 1954, 2048
    cfg = load_config(name)
    model = build_model(cfg, V, B + 500)
    expected = ((V + 1) * 500 + 3 * (500 * 1024 + 1024 * 1024 + 1024) + (1025 if attention else 0)
                + (1024 + B + 500) * D + D + D * D + D)
    assert model.count_params() == expected
    gru = model.get_layer("sentence_gru")
    assert gru.cell.reset_after is False and not model.get_layer("word_embedding").trainable


def test_reference_config_files_load_unchanged(fixtures):
    for name in ("tiny_base", "tiny_attention_ctl"):
        cfg = load_config(str(fixtures / "original_w2vv" / "w2vv_configs" / f"{name}.py"))
        assert cfg.name == name and cfg.lstm_size == 32 and cfg.batch_size == 100 and cfg.gru_impl == "keras2"


def test_bad_configs(tmp_path):
    with pytest.raises(InputError, match="unknown config 'nope'"):
        load_config("nope")
    with pytest.raises(InputError, match=r"unknown config 'w2vv_atention_ctl' \(no such file; did you mean "
                                         r"'w2vv_attention_ctl'\?\)"):
        load_config("w2vv_atention_ctl")
    (tmp_path / "half.py").write_text("class config:\n    lstm_size = 3\n")
    with pytest.raises(InputError, match="half.py: config lacks required attribute"):
        load_config(str(tmp_path / "half.py"))


@pytest.mark.parametrize("key, value, kind", [("normalize_zh", "ture", "true or false"),
                                              ("lstm_size", "1024.5", "an int"), ("lr", "1e-3x", "a float")])
def test_a_mistyped_override_value_stops_instead_of_meaning_something_else(key, value, kind):
    with pytest.raises(InputError, match=f"override {key}='{value}' is not {kind}"):
        load_config("base_w2vv", overrides={key: value})


def test_an_override_value_may_hold_commas_as_the_releases_feature_names_do():
    assert parse_overrides("img_feature=pyresnext-101_rbps13k,flatten0_output,os,lr=0.001,") == \
        {"img_feature": "pyresnext-101_rbps13k,flatten0_output,os", "lr": "0.001"}
    assert load_config("base_w2vv", overrides=parse_overrides("img_feature=a,b,c")).img_feature == "a,b,c"
    with pytest.raises(InputError, match="expected key=value"):
        parse_overrides("lstm_size")
    with pytest.raises(InputError, match="expected key=value"):  # was an attribute '' (did you mean 'we_trainable'?)
        parse_overrides("=5")


def test_an_attribute_in_other_letters_suggests_its_name():
    """'LSTM_SIZE' suggested 'L2_normalize': the nearest match ignored case."""
    with pytest.raises(InputError, match=r"unknown config attribute 'LSTM_SIZE' \(did you mean 'lstm_size'\?\)"):
        load_config("base_w2vv", overrides={"LSTM_SIZE": "64"})


def test_an_override_given_twice_with_two_values_stops():
    """The later one used to win in silence; the same value twice (an ini line and a setting) is one."""
    with pytest.raises(InputError, match=r"--config_overrides 'lstm_size=64,lr=0.1,lstm_size=128': lstm_size given "
                                         r"twice, 64 and 128"):
        parse_overrides("lstm_size=64,lr=0.1,lstm_size=128")
    assert parse_overrides("normalize_zh=1,normalize_zh=1") == {"normalize_zh": "1"}


@pytest.mark.parametrize("key, value, expected", [
    ("batch_size", "0", "≥ 1"), ("max_epochs", "0", "≥ 1"), ("lr", "-1", "> 0"), ("dropout", "1.5", r"in \[0, 1\)"),
    ("patience", "-1", "≥ 0"), ("clipnorm", "-1", r"≥ 0 \(0: no clipping\)"), ("lr_decay_rate", "0", r"in \(0, 1\]")])
def test_a_number_that_means_nothing_stops_loading(key, value, expected):
    """batch_size 0 was a ZeroDivisionError mid-training, lr -1 a run trained to nonsense without a word."""
    with pytest.raises(InputError, match=rf"{key} = -?[0-9.]+ \(expected a number {expected}\)"):
        load_config("base_w2vv", overrides={key: value})


@pytest.mark.parametrize("key, value, message", [
    ("activation", "foo", "activation 'foo' unknown (expected one of relu, tanh"),
    ("set_style", "VideoSets", "set_style 'VideoSets' not supported (expected 'ImageSets')"),
    ("we_trainable", "2", "we_trainable = 2 (expected 0 or 1)"),
    ("L2_normalize", "3", "L2_normalize = 3 (expected 0 or 1)"),
    ("bow_vocab", "vocab5", "bow_vocab 'vocab5' is not 'word_vocab_<N>'"),
    ("bow_vocab", "word_vocab_0", "bow_vocab 'word_vocab_0' is not 'word_vocab_<N>'")])
def test_a_value_the_model_has_no_meaning_for_stops_loading(key, value, message):
    """activation 'foo' was a Keras traceback once the data was read; L2_normalize 3 a second name for 1;
    bow_vocab 'vocab5' a ValueError traceback."""
    with pytest.raises(InputError, match=re.escape(message)):
        load_config("base_w2vv", overrides={key: value})


def test_every_activation_a_config_may_name_is_one_keras_knows():
    import keras
    for name in ACTIVATIONS:
        assert keras.activations.get(name) is not None, name


@pytest.mark.parametrize("name", ["base_w2vv", "w2vv_attention", "w2vv_attention_ctl", "w2vvpp_resnext101",
                                  "sea_bow_w2v_gru"])
def test_every_shipped_config_is_in_range(name):
    assert load_config(name).name == name


def test_a_bad_value_from_an_override_says_it_came_from_there():
    with pytest.raises(InputError, match=r"w2vvpp_resnext101.py with --config_overrides lstm_size=8,"
                                         r"n_layers=0-256-256: family 'w2vvpp' has one layer per tower"):
        load_config("w2vvpp_resnext101", overrides={"lstm_size": "8", "n_layers": "0-256-256"})


@pytest.mark.parametrize("key, value, unread_in, read_in, reader", [
    ("sequences", "1", "w2vvpp_resnext101", "base_w2vv", "W2VV's attention"),
    ("l2_p", "0.01", "sea_bow_w2v_gru", "base_w2vv", "W2VV's weight decay"),
    ("ctl_margin", "1", "base_w2vv", "w2vv_attention_ctl", "loss_fun 'ctl'"),
    ("mrl_margin", "0.2", "w2vv_attention_ctl", "w2vvpp_resnext101", "loss_fun 'mrl'"),
    ("lr_decay_wait", "5", "sea_bow_w2v_gru", "base_w2vv", "W2VV's training rule"),
    ("lr_decay_rate", "0.99", "base_w2vv", "sea_bow_w2v_gru", "the successors' training rules"),
    ("epsilon", "1e-8", "base_w2vv optimizer=adam", "base_w2vv", "RMSprop")])
def test_a_setting_the_config_does_not_read_stops_it(key, value, unread_in, read_in, reader):
    """sequences=1 on W2VV++ trained plain W2VV++ under a run name tagged sequences1, without a word."""
    name, *other = unread_in.split()
    with pytest.raises(InputError, match=f"{key} = .* changes nothing here: it is read by {re.escape(reader)}"):
        load_config(name, overrides={key: value, **dict(o.split("=") for o in other)})
    assert float(getattr(load_config(read_in, overrides={key: value}), key)) == float(value)


def test_a_config_file_value_is_checked_as_an_override_is(tmp_path):
    """A config file that sets what it does not read stops too; a file's value that an override of another
    attribute leaves unread (rho once the optimizer is not RMSprop) is no mistake of the user's."""
    text = (Path(CONFIG_DIR) / "base_w2vv.py").read_text().replace("    loss_fun = 'mse'", "    loss_fun = 'mse'\n"
                                                                  "    ctl_margin = 1.0")
    (tmp_path / "my_w2vv.py").write_text(text)
    with pytest.raises(InputError, match=r"my_w2vv.py: ctl_margin = 1.0 changes nothing here: .* \(set it to 2.0"):
        load_config("my_w2vv", config_dir=str(tmp_path))
    assert load_config("w2vvpp_resnext101", overrides={"optimizer": "adam", "optimizer_impl": "keras2"}).rho == 0.99


def test_w2vv_reads_a_fixed_number_of_words():
    """sent_maxlen 0 gave W2VV empty sequences, and the trainer blamed the vocabulary for every sentence."""
    with pytest.raises(InputError, match="sent_maxlen = 0 .* W2VV's GRU reads a fixed number of words"):
        load_config("base_w2vv", overrides={"sent_maxlen": "0"})
    assert load_config("w2vvpp_resnext101").sent_maxlen == 0


def test_override_values_read_as_people_write_them():
    cfg = load_config("base_w2vv", overrides={"normalize_zh": "Yes", "lstm_size": "1e3", "patience": "0"})
    assert (cfg.normalize_zh, cfg.lstm_size, cfg.patience) == (True, 1000, 0)
    assert load_config("base_w2vv", overrides={"normalize_zh": "false"}).normalize_zh is False


def test_a_real_valued_setting_written_as_an_int_takes_a_fraction_and_no_infinity():
    """clipnorm = 10 in the configs made clipnorm=2.5 'not an int'; lr=inf trained an epoch to a NaN loss."""
    assert load_config("w2vv_attention_ctl", overrides={"clipnorm": "2.5"}).clipnorm == 2.5
    assert repr(load_config("w2vv_attention_ctl", overrides={"clipnorm": "5"}).clipnorm) == "5"  # the run's name
    with pytest.raises(InputError, match=r"override clipnorm='x' is not a float$"):
        load_config("w2vv_attention_ctl", overrides={"clipnorm": "x"})
    for key in ("lr", "clipnorm"):
        with pytest.raises(InputError, match=rf"{key} = inf \(expected a number"):
            load_config("w2vv_attention_ctl", overrides={key: "inf"})
    with pytest.raises(InputError, match=r"\(not '0-2²'\)$"):  # was a ValueError traceback
        load_config("w2vvpp_resnext101", overrides={"n_layers": "0-2²"})


def keras2_gru(x, kernel, recurrent, bias):
    """Keras 2.2.4's GRU (reset_after=False, hard_sigmoid = clip(0.2x+0.5)) in numpy."""
    units = recurrent.shape[0]

    def hs(v):
        return np.clip(0.2 * v + 0.5, 0, 1)
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + bias, 3, axis=1)
        z = hs(xz + h @ recurrent[:, :units])
        r = hs(xr + h @ recurrent[:, units:2 * units])
        hh = np.tanh(xh + (r * h) @ recurrent[:, 2 * units:])
        h = z * h + (1 - z) * hh
    return h


def test_gru_has_keras_2_2_4_semantics():
    import keras
    from w2vv.model import sentence_gru
    cfg = load_config("base_w2vv", overrides={"lstm_size": "6"})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32) * 2
    layer = sentence_gru(cfg, return_sequences=False)
    out = np.asarray(layer(keras.ops.convert_to_tensor(x)))
    kernel, recurrent, bias = [np.asarray(w) for w in layer.get_weights()]
    bias = rng.normal(size=bias.shape).astype(np.float32)
    layer.set_weights([kernel, recurrent, bias])
    out = np.asarray(layer(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(out, keras2_gru(x, kernel, recurrent, bias), atol=1e-5)


def test_losses_equal_numpy():
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(6, 5)).astype(np.float32)
    target = rng.normal(size=(6, 5)).astype(np.float32) * 0.5
    flags = np.array([1, 0, 1, 0, 1, 0], np.float32)
    pred[1] = target[1]  # a negative at distance 0: d = sqrt(1e-7)
    np.testing.assert_allclose(np.asarray(mse(target, pred)), ((pred - target) ** 2).mean(1), rtol=1e-6)
    d = np.sqrt(np.maximum(((pred - target) ** 2).sum(1), 1e-7))
    expected = flags * d ** 2 + (1 - flags) * np.maximum(2 - d, 0) ** 2
    got = np.asarray(contrastive(2.0)(np.concatenate([target, flags[:, None]], 1), pred))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert abs(got[1] - (2 - np.sqrt(1e-7)) ** 2) < 1e-4


def test_max_violation_ranking_loss():
    img = np.eye(3, dtype=np.float32)
    perfect = np.asarray(max_violation_ranking(0.3)(img, img * 5))
    np.testing.assert_allclose(perfect, 0, atol=1e-6)
    sent = np.array([[1, 0, 0], [1, 0.1, 0], [0, 0, 1]], np.float32)
    cos = (sent / np.linalg.norm(sent, axis=1, keepdims=True)) @ img.T
    pos = np.diag(cos)
    hinge_i = np.maximum(0.3 + cos - pos[:, None], 0) * (1 - np.eye(3))
    hinge_s = np.maximum(0.3 + cos - pos[None, :], 0) * (1 - np.eye(3))
    np.testing.assert_allclose(np.asarray(max_violation_ranking(0.3)(img, sent)),
                               hinge_i.max(1) + hinge_s.max(0), rtol=1e-5)


def test_plateau_rule_on_a_scripted_sequence():
    """Figures 0.1, 0.2, then 0.2 forever: halvings after epochs 2, 5, 8, 11; stop after epoch 12."""
    rule = PlateauRule(lr=1e-4)
    events = []
    for epoch, figure in enumerate([0.1, 0.2] + [0.2] * 30):
        improved, halved, stop = rule.step(epoch, figure)
        events.append((epoch, improved, halved))
        if stop:
            break
    assert epoch == 12 and rule.best_epoch == 1 and rule.patience == 11
    assert [e for e, _, h in events if h] == [2, 5, 8, 11]
    assert rule.lr == pytest.approx(1e-4 / 16)


def test_plateau_rule_improvement_does_not_reset_the_lr_counter():
    rule = PlateauRule(lr=1.0)
    results = [rule.step(e, f)[:2] for e, f in enumerate([0.5, 0.4, 0.6, 0.5])]
    # epoch 3: no improvement, and 4 epochs since the start (> 2) although epoch 2 improved: halve
    assert results == [(True, False), (False, False), (True, False), (False, True)]


def test_every_registered_loss_builds_and_declares_its_targets():
    from types import SimpleNamespace

    from w2vv.config import DEFAULTS
    from w2vv.losses import LOSSES, TARGETS, get_loss, targets_of
    assert set(LOSSES) == {"mse", "ctl", "mrl"}
    for name in LOSSES:
        cfg = SimpleNamespace(**DEFAULTS, loss_fun=name)
        assert callable(get_loss(cfg)) and targets_of(cfg) in TARGETS
    assert [n for n in LOSSES if LOSSES[n].targets == "features_and_negatives"] == ["ctl"]


@pytest.mark.parametrize("name", ["w2vv_attention_ctl", "w2vvpp_resnext101", "sea_bow_w2v_gru"])
def test_every_weight_tensor_is_drawn_on_its_own(name):
    """Keras 3 draws the same numbers at each call of one initializer: a successor's GRU shared one, and its kernel,
    recurrent kernel and biases began with the same values (so every seed started from that structure)."""
    import keras
    keras.utils.set_random_seed(1)
    cfg = load_config(name, overrides=parse_overrides("lstm_size=16,n_layers=0-32"))
    if cfg.family == "w2vv":
        weights = build_model(cfg, 30, 20 + cfg.embed_size).weights
    else:
        from w2vv.common_space import build_common_space
        weights = build_common_space(cfg, 30, 20, cfg.embed_size, 24).train.weights
    drawn = [(w.path, np.ravel(keras.ops.convert_to_numpy(w.value))) for w in weights]
    drawn = [(path, values) for path, values in drawn if np.unique(values).size > 1]  # zeros, ones: not drawn
    for i, (path, values) in enumerate(drawn):
        for other, theirs in drawn[i + 1:]:
            n = min(values.size, theirs.size)
            assert not np.array_equal(values[:n], theirs[:n]), f"{path} repeats {other}"
