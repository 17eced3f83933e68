"""W2VV++ and SEA take the published codes' training steps: a replay of twelve steps each code took
(tests/fixtures/w2vvpp_train_steps/, sea_train_steps/) through the successors' compile path, the torch
step against its update written out in numpy, the full-size parameter counts against the published
models', and the successors' config checks."""
import numpy as np
import pytest

from tests.helpers import STEP_FIXTURES, script
from w2vv import cli, replay as replay_script
from w2vv.config import load_config
from w2vv.errors import InputError

FOLDERS = {"w2vvpp": "w2vvpp_train_steps", "sea": "sea_train_steps"}
TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def replayed(request):
    """(family, the library's replay of the family's fixture, the fixture's steps.npz and probe.npz)."""
    folder = STEP_FIXTURES / FOLDERS[request.param]
    result = replay_script.replay(str(folder))
    with np.load(folder / "steps.npz") as steps, np.load(folder / "probe.npz") as probe:
        return request.param, result, dict(steps), dict(probe)


def weight_gaps(arrays, steps):
    """{step: max |Δw| over every parameter after it} between a replay's arrays and the fixture's."""
    names = [k for k in steps if "@" in k]
    assert set(names) == {k for k in arrays if "@" in k}
    gaps = {}
    for name in names:
        step = int(name.rsplit("@", 1)[1])
        assert arrays[name].shape == steps[name].shape, name
        gaps[step] = max(gaps.get(step, 0.0), float(np.abs(arrays[name] - steps[name]).max()))
    return gaps


def test_replay_lands_on_the_published_steps(replayed):
    family, result, steps, _ = replayed
    assert result.family == family
    losses = np.asarray(result.losses)
    assert np.all(np.abs(losses - steps["loss"]) <= TOLERANCE * np.abs(steps["loss"])), (losses, steps["loss"])
    gaps = weight_gaps(result.arrays(), steps)
    assert sorted(gaps) == [1, 2, 3, 6, 12]
    assert max(gaps.values()) <= TOLERANCE, gaps


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_probe_embeddings_match_before_and_after(replayed):
    """The probe batch's vectors in eval mode, before step 1 and after step 12: ours are unit per space
    and concatenated, the fixture's raw (SEA: one array per space)."""
    family, result, _, probe = replayed
    for ours, theirs in (("before", "init"), ("after", "final")):
        for tower, key in (("text", "txt"), ("image", "vis")):
            spaces = [probe[f"{key}_{theirs}"]] if family == "w2vvpp" else \
                [probe[f"{key}_{theirs}_{k}"] for k in range(3)]
            expected = np.concatenate([unit(x) for x in spaces], axis=1)
            assert np.abs(result.probe[f"{tower}_{ours}"] - expected).max() <= TOLERANCE, (family, tower, ours)


def test_replay_command_writes_the_fixture_format(tmp_path, capsys):
    folder = STEP_FIXTURES / FOLDERS["w2vvpp"]
    out = tmp_path / "out.npz"
    assert cli.run(replay_script.main, [str(folder), str(out)]) == 0
    assert "w2vvpp: 12 steps" in capsys.readouterr().out
    with np.load(out) as written, np.load(folder / "steps.npz") as steps:
        written, steps = dict(written), dict(steps)
    assert set(written) == set(steps) - {"grad_norm_before_clip"}
    assert written["loss"].shape == (12,)
    assert max(weight_gaps(written, steps).values()) <= TOLERANCE


def test_replay_of_another_format_stops_in_one_line(tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "init.npz", **{"encoder.weight": np.zeros((3, 4), np.float32)})
    np.savez(other / "batches.npz", seq_0=np.zeros((2, 3), np.int64))
    (tmp_path / "empty").mkdir()
    w2vvpp_without_batches = tmp_path / "half"
    w2vvpp_without_batches.mkdir()
    (w2vvpp_without_batches / "init.npz").write_bytes((STEP_FIXTURES / FOLDERS["w2vvpp"] / "init.npz").read_bytes())
    np.savez(w2vvpp_without_batches / "batches.npz", seq_0=np.zeros((2, 3), np.int64))
    for folder, says in ((other, "not the parameters of a published W2VV++ or SEA model"),
                         (tmp_path / "empty", "init.npz: not found"),
                         (STEP_FIXTURES / "original_train_steps", "init.npz: not found"),
                         (w2vvpp_without_batches, "lacks len_0")):
        assert cli.run(replay_script.main, [str(folder), str(tmp_path / "out.npz")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "out.npz").exists()
    done = script("-m", "w2vv.replay", other, tmp_path / "out.npz")  # before Keras starts: nothing else on stderr
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "not the parameters" in done.stderr, done.stderr


# the published models' parameters, counted by hand from their layer sizes (torch's GRU: weight_ih,
# weight_hh and two biases per gate; nn.Linear: weight and bias), at the paper's scale, on the release's 2048-d
# feature (SEA's published config reads a 4096-d one: its image layers then take 4096 inputs)
GRU_WORDS, BOW_WORDS, W2V, FEATURE, WE, GRU, SPACE = 11_004, 11_000, 500, 2048, 500, 1024, 2048


def published_count(family):
    embedding = GRU_WORDS * WE
    gru = 3 * (WE * GRU + GRU * GRU + 2 * GRU)
    image_layer = FEATURE * SPACE + SPACE
    if family == "w2vvpp":
        return embedding + gru + (GRU + W2V + BOW_WORDS) * SPACE + SPACE + image_layer
    text_layers = sum(width * SPACE + SPACE for width in (BOW_WORDS, W2V, GRU))
    return embedding + gru + text_layers + 3 * image_layer


@pytest.mark.parametrize("name,family", [("w2vvpp_resnext101", "w2vvpp"), ("sea_bow_w2v_gru", "sea")])
def test_full_size_parameter_count_is_the_published_models(name, family):
    from w2vv.common_space import build_common_space
    cfg = load_config(name)
    assert cfg.family == family
    models = build_common_space(cfg, GRU_WORDS, BOW_WORDS, W2V, FEATURE)
    print(f"{name}: {models.count_params():,} parameters")
    assert models.count_params() == published_count(family)
    assert published_count(family) == {"w2vvpp": 40_037_424, "sea": 48_434_224}[family]


def torch_reference(params, grads_per_step, lr, alpha, eps, max_norm):
    """torch's clip_grad_norm_ then RMSprop in numpy float32, step by step; the parameters after each."""
    f = np.float32
    params = [p.astype(f) for p in params]
    square_avgs = [np.zeros_like(p) for p in params]
    out = []
    for grads in grads_per_step:
        total = np.sqrt(np.sum(np.square([np.sqrt(np.sum(g * g)) for g in grads])))
        coefficient = min(f(max_norm) / (f(total) + f(1e-6)), f(1.0))
        for p, g, a in zip(params, grads, square_avgs):
            g = g * f(coefficient)
            a[...] = a * f(alpha) + f(1 - alpha) * g * g
            p -= f(lr) * (g / (np.sqrt(a) + f(eps)))
        out.append([p.copy() for p in params])
    return out


def test_torch_optimizer_takes_the_torch_step():
    import keras
    from w2vv.optimizers import make_optimizer
    cfg = load_config("sea_bow_w2v_gru", overrides={"lr": "0.01"})
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    # steps 1-2 clipped (global norm about 40 > 2), then small gradients, unclipped, and a zero one
    grads_per_step = [[rng.normal(scale=s, size=p.shape).astype(np.float32) for p in params]
                      for s in (10.0, 12.0, 1e-3, 2e-4, 1e-2, 3e-4)]
    grads_per_step[3][1][:] = 0
    variables = [keras.Variable(p.astype(np.float32)) for p in params]
    optimizer = make_optimizer(cfg)
    expected = torch_reference(params, grads_per_step, cfg.lr, cfg.rho, cfg.epsilon, cfg.clipnorm)
    for grads, after in zip(grads_per_step, expected):
        optimizer.apply(grads, variables)
        for variable, want in zip(variables, after):
            np.testing.assert_allclose(np.asarray(variable), want, rtol=1e-6, atol=1e-7)


def test_a_sentence_without_known_words_scores_zero_in_that_space():
    """SEA at initialisation (text biases 0): a sentence with an empty bag of words has a zero vector in
    the bag-of-words space; its score there is 0 (the published code's is NaN), and a training step on a
    batch holding it stays finite."""
    from w2vv.common_space import build_common_space, no_targets
    from w2vv.training import compile_for_training
    cfg = load_config("sea_bow_w2v_gru", overrides={"lstm_size": "8", "embed_size": "6", "n_layers": "0-5",
                                                    "dropout": "0"})
    models = build_common_space(cfg, vocab_size=12, bow_dim=7, w2v_dim=4, feature_dim=9)
    rng = np.random.default_rng(1)
    seq = np.array([[1, 5, 6, 2, 0], [1, 7, 2, 0, 0], [1, 4, 8, 9, 2]], np.int32)
    bow = rng.integers(0, 2, size=(3, 7)).astype(np.float32)
    bow[1] = 0
    aux = np.concatenate([bow, rng.normal(size=(3, 4)).astype(np.float32)], axis=1)
    feat = rng.normal(size=(3, 9)).astype(np.float32)
    text = models.text.predict_on_batch([seq, aux])
    image = models.image.predict_on_batch(feat)
    assert np.all(text[1, :5] == 0) and np.all(np.isfinite(text))
    np.testing.assert_allclose(np.linalg.norm(text[[0, 2], :5], axis=1), 1.0, rtol=1e-6)
    cosines = models.train.predict_on_batch([seq, aux, feat])
    assert np.all(cosines[1, 0] == 0) and np.all(np.isfinite(cosines))
    np.testing.assert_allclose((text @ image.T)[1], cosines[1].sum(axis=0), rtol=1e-5, atol=1e-6)
    compile_for_training(models.train, cfg)
    loss = models.train.train_on_batch([seq, aux, feat], no_targets(3))
    assert np.isfinite(loss) and all(np.all(np.isfinite(np.asarray(w))) for w in models.train.weights)


def test_successor_configs_and_their_checks():
    for name, family in (("w2vvpp_resnext101", "w2vvpp"), ("sea_bow_w2v_gru", "sea")):
        cfg = load_config(name)
        assert (cfg.family, cfg.optimizer_impl, cfg.rho, cfg.epsilon, cfg.clipnorm, cfg.lr, cfg.mrl_margin) == \
            (family, "torch", 0.99, 1e-8, 2, 1e-4, 0.2)
        assert (cfg.we_trainable, cfg.gru_impl, cfg.n_layers, cfg.batch_size, cfg.max_epochs) == \
            (1, "cudnn", "0-2048", 128, 80)
    paper = load_config("w2vv_attention_ctl")
    assert (paper.family, paper.optimizer_impl, paper.lr_schedule, paper.lr_decay_rate, paper.val_metric) == \
        ("w2vv", "keras2", "w2vv", 1.0, "map")
    for name, overrides, says in (
            ("sea_bow_w2v_gru", {"family": "vse"}, "family 'vse' unknown"),
            ("sea_bow_w2v_gru", {"loss_fun": "mse"}, "loss_fun = 'mrl'"),
            ("w2vvpp_resnext101", {"gru_impl": "keras2"}, "gru_impl = 'cudnn'"),
            ("w2vvpp_resnext101", {"n_layers": "0-2048-2048"}, "n_layers = '0-<its width>'"),
            ("w2vvpp_resnext101", {"optimizer": "adam"}, "torch's RMSprop only"),
            ("base_w2vv", {"lr_schedule": "torch2"}, "lr_schedule 'torch2' unknown")):
        with pytest.raises(InputError, match=says):
            load_config(name, overrides=overrides)
