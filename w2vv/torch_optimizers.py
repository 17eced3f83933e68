"""The step of the published W2VV++ and SEA codes (``optimizer_impl = 'torch'``): PyTorch's
``torch.optim.RMSprop`` after ``torch.nn.utils.clip_grad_norm_``, as a Keras 3 optimizer (it saves,
restores and distributes like any other), in float32 and in torch's order of operations:

- clipping (``max_norm > 0``, the published ``grad_clip``): ``n = ‖(‖g_1‖, …, ‖g_k‖)‖``, the norm of the
  gradients' norms; every gradient becomes ``g · min(max_norm / (n + 1e-6), 1)`` (torch 2's
  ``clamp(max_norm / (n + 1e-6), max=1)``; torch 1.2 and 1.4 multiply only when the coefficient is
  below 1, which is the same);
- the step (momentum 0, not centred, no weight decay): ``a ← αa + (1 − α)g²;  p ← p − lr·g / (√a + ε)``,
  ε added after the root (Keras 3's RMSprop puts it inside), the accumulator starting at 0.

Its settings come from the config's ``rho`` (α), ``epsilon`` (ε) and ``clipnorm`` (max_norm); the
published ``torch.optim.RMSprop(params, lr=1e-4)`` takes torch's defaults α = 0.99, ε = 1e-8.

PyTorch's embedding gradient is dense; TensorFlow's is ``IndexedSlices`` (rows of a word repeated
in a batch listed once each): it is summed into a dense gradient first, so that the norm and the
step see torch's numbers (rows no sentence of the batch uses get a zero gradient, and move not at all)."""
import keras
from keras import ops

TORCH_CLIP_EPS = 1e-6  # clip_grad_norm_'s max_norm / (total_norm + 1e-6)


def dense(gradient):
    """``gradient`` as a dense tensor (TensorFlow's ``IndexedSlices`` summed), None kept."""
    if gradient is not None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        if isinstance(gradient, tf.IndexedSlices):
            return tf.convert_to_tensor(gradient)
    return gradient


def clip_grad_norm(grads, max_norm):
    """torch's ``clip_grad_norm_(params, max_norm)`` (norm type 2) on a list of gradients (None skipped)."""
    present = [g for g in grads if g is not None]
    if max_norm <= 0 or not present:
        return grads
    norms = ops.stack([ops.sqrt(ops.sum(ops.square(g))) for g in present])
    total = ops.sqrt(ops.sum(ops.square(norms)))
    coefficient = ops.minimum(max_norm / (total + TORCH_CLIP_EPS), 1.0)
    return [None if g is None else ops.multiply(g, ops.cast(coefficient, g.dtype)) for g in grads]


class TorchRMSprop(keras.optimizers.Optimizer):
    """``torch.optim.RMSprop(lr, alpha, eps)`` after ``clip_grad_norm_(max_norm)`` (module docstring).
    The training rule's rate changes assign ``learning_rate``, the variable the step reads."""

    def __init__(self, learning_rate=0.01, alpha=0.99, eps=1e-8, max_norm=0.0, name="torch_rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.alpha, self.eps, self.max_norm = float(alpha), float(eps), float(max_norm or 0.0)

    def apply(self, grads, trainable_variables=None):
        return super().apply(clip_grad_norm([dense(g) for g in grads], self.max_norm), trainable_variables)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._square_avgs = [self.add_variable_from_reference(v, "square_avg") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = ops.cast(learning_rate, variable.dtype)
        a = self._square_avgs[self._get_variable_index(variable)]
        new_a = self.alpha * a + (1.0 - self.alpha) * ops.square(g)  # 1 − α in double, as torch's value=
        self.assign(a, new_a)
        self.assign(variable, variable - lr * (g / (ops.sqrt(new_a) + self.eps)))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "eps": self.eps, "max_norm": self.max_norm}
