"""The training step is Keras 2.2.4's: a replay of twelve steps the original code took, and each
optimizer of the original's compile_model against its update written out in numpy."""
import numpy as np
import pytest

from bench.original_steps import CASES, replay
from w2vv.config import OPTIMIZERS, load_config
from w2vv.optimizers import ORIGINAL_SETTINGS, make_optimizer
from w2vv.training import compile_for_training
from tests.helpers import STEP_FIXTURES

@pytest.mark.parametrize("case", CASES)
def test_training_steps_replay_the_original(case):
    for step, loss, original_loss, gap in replay(STEP_FIXTURES / "original_train_steps", case, compile_for_training):
        assert abs(loss - original_loss) <= 1e-5 * abs(original_loss), (step, loss, original_loss)
        assert gap is None or gap <= 1e-5, (step, gap)


@pytest.mark.parametrize("case", CASES)
def test_keras3_optimizer_does_not_replay_the_original(case):
    """The option ``optimizer_impl = keras3`` really is another step: it ends far from the original."""
    steps = replay(STEP_FIXTURES / "original_train_steps", case, compile_for_training, "keras3")
    gaps = [gap for _, _, _, gap in steps if gap is not None]
    assert gaps[-1] > 1e-3


def keras2_reference(name, settings, lr, clipnorm, grads_per_step, params):
    """Keras 2.2.4's updates in numpy float32, step by step; returns the parameters after each step."""
    f = np.float32
    params = [p.astype(f) for p in params]
    slots = [[np.zeros_like(p) for p in params] for _ in range(2)]
    out = []
    for it, grads in enumerate(grads_per_step):
        norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
        if clipnorm > 0 and norm >= clipnorm:
            grads = [g * f(clipnorm / norm) for g in grads]
        lr_t = f(lr) * f(1.0 / (1.0 + settings.get("decay", 0.0) * it))
        for i, (p, g) in enumerate(zip(params, grads)):
            a, b = slots[0][i], slots[1][i]
            if name == "rmsprop":
                rho = f(settings["rho"])
                a[...] = rho * a + (f(1) - rho) * g * g
                p -= lr_t * g / (np.sqrt(a) + f(settings["epsilon"]))
            elif name == "adagrad":
                a += g * g
                p -= lr_t * g / (np.sqrt(a) + f(settings["epsilon"]))
            elif name == "sgd":
                mu = f(settings["momentum"])
                v = mu * a - lr_t * g
                a[...] = v
                p += mu * v - lr_t * g
            else:
                b1, b2, t = f(settings["beta_1"]), f(settings["beta_2"]), f(it + 1)
                step_lr = lr_t * np.sqrt(f(1) - b2 ** t) / (f(1) - b1 ** t)
                a[...] = b1 * a + (f(1) - b1) * g
                b[...] = b2 * b + (f(1) - b2) * g * g
                p -= step_lr * a / (np.sqrt(b) + f(settings["epsilon"]))
        out.append([p.copy() for p in params])
    return out


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_takes_the_keras2_step(name):
    import keras
    assert set(ORIGINAL_SETTINGS) == set(OPTIMIZERS)
    cfg = load_config("base_w2vv", overrides={"optimizer": name, "lr": "0.01"})
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    # steps 1-2 clipped (global norm ~ 40 > clipnorm 10), then small gradients, unclipped
    grads_per_step = [[rng.normal(scale=s, size=p.shape).astype(np.float32) for p in params]
                      for s in (10.0, 12.0, 1e-3, 2e-4, 1e-2, 3e-4)]
    variables = [keras.Variable(p.astype(np.float32)) for p in params]
    optimizer = make_optimizer(cfg)
    expected = keras2_reference(name, ORIGINAL_SETTINGS[name], cfg.lr, cfg.clipnorm, grads_per_step, params)
    for grads, after in zip(grads_per_step, expected):
        optimizer.apply(grads, variables)
        for variable, want in zip(variables, after):
            np.testing.assert_allclose(np.asarray(variable), want, rtol=1e-6, atol=1e-7)


def test_halving_acts_on_the_rate_the_step_uses():
    import keras
    cfg = load_config("base_w2vv", overrides={"clipnorm": "0"})
    variable = keras.Variable(np.zeros(2, np.float32))
    optimizer = make_optimizer(cfg)
    optimizer.apply([np.ones(2, np.float32)], [variable])
    first = -np.asarray(variable).copy()
    optimizer.learning_rate.assign(cfg.lr / 2)  # what the training rule does
    optimizer.apply([np.ones(2, np.float32)], [variable])
    second = -np.asarray(variable) - first
    a1, a2 = 0.1, 0.19  # the rmsprop accumulator after steps 1 and 2 for g = 1
    np.testing.assert_allclose(first, cfg.lr / (np.sqrt(a1) + cfg.epsilon), rtol=1e-5)
    np.testing.assert_allclose(second, cfg.lr / 2 / (np.sqrt(a2) + cfg.epsilon), rtol=1e-5)
