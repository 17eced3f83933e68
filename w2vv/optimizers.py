"""The optimizers of the original code, step for step as Keras 2.2.4 took them.

Keras 3's optimizers of the same names take different steps: its RMSprop divides by
``sqrt(a + eps)`` where Keras 2.2.4 divides by ``sqrt(a) + eps`` (with eps = 1e-6 and this model's
small gradients, Keras 3's steps are 10–100 times smaller); its ``clipnorm`` clips each gradient on
its own where Keras 2.2.4 scales all of them by their global norm; its Adagrad starts its
accumulators at 0.1 instead of 0; it has no ``decay``. The classes below are Keras 3 optimizers
(they save, restore and distribute like any other) whose update is Keras 2.2.4's, in float32 and in
the same order of operations:

- clipping: when ``clipnorm > 0`` and the global norm ``n = sqrt(Σ‖g_i‖²) >= clipnorm``, every
  gradient becomes ``g · (clipnorm / n)``;
- the learning rate: ``lr · 1 / (1 + decay · iterations)``, ``iterations`` counting the steps taken
  before this one (``decay`` is 0 except for the original's SGD); the training rule's halving
  assigns ``learning_rate``, the same variable these read;
- rmsprop: ``a ← ρa + (1 − ρ)g²;  p ← p − lr·g / (√a + ε)``
- sgd (momentum, Nesterov): ``v ← μm − lr·g;  m ← v;  p ← p + μv − lr·g``
- adagrad: ``a ← a + g²;  p ← p − lr·g / (√a + ε)``
- adam: ``lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
  p ← p − lr_t·m / (√v + ε)``, t = iterations + 1.

Keras 2.2.4 kept ρ, β₁, β₂ and μ as float32 variables, so ``1 − ρ`` is taken in float32 here too.
"""
import keras
from keras import ops

# The constructor arguments of the original's compile_model, per optimizer name (config.OPTIMIZERS).
ORIGINAL_SETTINGS = {
    "rmsprop": dict(rho=0.9, epsilon=1e-6),
    "sgd": dict(momentum=0.9, nesterov=True, decay=1e-6),
    "adagrad": dict(epsilon=1e-6),
    "adam": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8),
}


class Keras2Optimizer(keras.optimizers.Optimizer):
    """Keras 2.2.4's global-norm clipping and time decay; subclasses give the update, the names of
    their zero-initialised slot variables (``slot_names``) and of their settings (``settings``)."""
    slot_names = ()
    settings = ()

    def __init__(self, learning_rate, clipnorm=0.0, decay=0.0, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.keras2_clipnorm = float(clipnorm or 0.0)
        self.decay = float(decay)

    def apply(self, grads, trainable_variables=None):
        return super().apply(self._clip_by_global_norm(list(grads)), trainable_variables)

    def _clip_by_global_norm(self, grads):
        if self.keras2_clipnorm <= 0:
            return grads
        present = [g for g in grads if g is not None]
        norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in present))
        scale = ops.where(norm >= self.keras2_clipnorm, self.keras2_clipnorm / norm, 1.0)
        return [None if g is None else ops.multiply(g, ops.cast(scale, g.dtype)) for g in grads]

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._slot_variables = {name: [self.add_variable_from_reference(v, name) for v in var_list]
                                for name in self.slot_names}

    def _slot(self, name, variable):
        return self._slot_variables[name][self._get_variable_index(variable)]

    def _decayed(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        if self.decay > 0:
            lr = lr * (1.0 / (1.0 + ops.cast(self.decay, dtype) * ops.cast(self.iterations, dtype)))
        return lr

    def get_config(self):
        return {**super().get_config(), "clipnorm": self.keras2_clipnorm, "decay": self.decay,
                **{name: getattr(self, name) for name in self.settings}}


class Keras2RootScaled(Keras2Optimizer):
    """The step RMSprop and Adagrad share: ``a ← accumulate(a, g);  p ← p − lr·g / (√a + ε)``."""
    slot_names = ("accumulator",)

    def accumulate(self, a, g):
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = self._decayed(learning_rate, variable.dtype)
        a = self._slot("accumulator", variable)
        new_a = self.accumulate(a, g)
        self.assign(a, new_a)
        self.assign(variable, variable - lr * g / (ops.sqrt(new_a) + self.epsilon))


class Keras2RMSprop(Keras2RootScaled):
    settings = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-6, name="keras2_rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def accumulate(self, a, g):
        rho = ops.cast(self.rho, a.dtype)
        return rho * a + (1.0 - rho) * ops.square(g)


class Keras2SGD(Keras2Optimizer):
    slot_names, settings = ("moment",), ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="keras2_sgd", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = self._decayed(learning_rate, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        m = self._slot("moment", variable)
        v = momentum * m - lr * g
        self.assign(m, v)
        self.assign(variable, variable + momentum * v - lr * g if self.nesterov else variable + v)


class Keras2Adagrad(Keras2RootScaled):
    settings = ("epsilon",)

    def __init__(self, learning_rate=0.01, epsilon=1e-6, name="keras2_adagrad", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.epsilon = epsilon

    def accumulate(self, a, g):
        return a + ops.square(g)


class Keras2Adam(Keras2Optimizer):
    slot_names, settings = ("m", "v"), ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="keras2_adam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        lr = self._decayed(learning_rate, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        t = ops.cast(self.iterations, dtype) + 1.0
        lr_t = lr * (ops.sqrt(1.0 - ops.power(beta_2, t)) / (1.0 - ops.power(beta_1, t)))
        m, v = self._slot("m", variable), self._slot("v", variable)
        m_t = beta_1 * m + (1.0 - beta_1) * g
        v_t = beta_2 * v + (1.0 - beta_2) * ops.square(g)
        self.assign(m, m_t)
        self.assign(v, v_t)
        self.assign(variable, variable - lr_t * m_t / (ops.sqrt(v_t) + self.epsilon))


KERAS2 = {"rmsprop": Keras2RMSprop, "sgd": Keras2SGD, "adagrad": Keras2Adagrad, "adam": Keras2Adam}
KERAS3 = {"rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD,
          "adagrad": keras.optimizers.Adagrad, "adam": keras.optimizers.Adam}


def original_settings(cfg):
    """The original's constructor arguments for ``cfg.optimizer``; rmsprop's ρ and ε from the config."""
    settings = dict(ORIGINAL_SETTINGS[cfg.optimizer])
    if cfg.optimizer == "rmsprop":
        settings.update(rho=cfg.rho, epsilon=cfg.epsilon)
    return settings


def make_optimizer(cfg):
    """The optimizer ``cfg`` names, with the original's settings and clipping. ``optimizer_impl``:
    ``keras2`` (default) takes Keras 2.2.4's step; ``keras3`` Keras 3's own optimizer of that name with
    the same settings (``clipnorm`` per gradient, ε inside the root, no ``decay``); ``torch`` the published
    W2VV++ and SEA codes' step, torch's RMSprop after ``clip_grad_norm_`` (w2vv.torch_optimizers), its α, ε
    and max_norm the config's ``rho``, ``epsilon`` and ``clipnorm``."""
    if cfg.optimizer_impl == "torch":
        from .torch_optimizers import TorchRMSprop
        if cfg.optimizer != "rmsprop":
            raise ValueError(f"optimizer_impl 'torch' has RMSprop only, not {cfg.optimizer!r}")
        return TorchRMSprop(cfg.lr, alpha=cfg.rho, eps=cfg.epsilon, max_norm=cfg.clipnorm)
    settings = original_settings(cfg)
    if cfg.optimizer_impl == "keras2":
        return KERAS2[cfg.optimizer](cfg.lr, clipnorm=cfg.clipnorm, **settings)
    settings.pop("decay", None)
    return KERAS3[cfg.optimizer](cfg.lr, clipnorm=cfg.clipnorm or None, **settings)
