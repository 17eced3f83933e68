"""The compute backend under Keras: which one (``KERAS_BACKEND``: tensorflow, jax or torch, Keras's own
convention), the float precision of training (``precision``: the original's float32 by default), data
parallelism and determinism, each done the way that backend does it.

Nothing here imports Keras or a backend at module level: ``check`` must run before Keras picks its
backend, so that a missing package is one line instead of a traceback from inside Keras."""
import contextlib
import importlib.util
import os
import sys

from .config import PRECISIONS
from .errors import InputError

BACKENDS = {  # KERAS_BACKEND -> (the package that must be importable, how to install it)
    "tensorflow": ("tensorflow", "make venv (pip install -r requirements.txt)"),
    "jax": ("jax", "make venv-jax (pip install -r requirements-jax.txt)"),
    "torch": ("torch", "make venv-torch (pip install -r requirements-torch.txt)"),
}
DEFAULT = "tensorflow"


def name():
    """The backend Keras will use (or uses): ``KERAS_BACKEND``, else TensorFlow."""
    return os.environ.get("KERAS_BACKEND") or DEFAULT


def check():
    """InputError, one line, when ``KERAS_BACKEND`` is unknown or its package is not installed. Unset (or empty),
    it is set to the default: Keras would otherwise take the backend of ``~/.keras/keras.json``, not the one
    checked and recorded here."""
    if not os.environ.get("KERAS_BACKEND"):  # unset or empty
        os.environ["KERAS_BACKEND"] = DEFAULT
    backend = name()
    if backend not in BACKENDS:
        raise InputError(f"KERAS_BACKEND={backend}: unknown backend (expected one of {', '.join(BACKENDS)})")
    package, install = BACKENDS[backend]
    if importlib.util.find_spec(package) is None:
        raise InputError(f"KERAS_BACKEND={backend}: the package {package!r} is not installed in this Python "
                         f"({sys.executable}); {install}")


def version():
    """'jax 0.10.2': the backend and its package's version, as a run records it."""
    from importlib.metadata import PackageNotFoundError, version as package_version
    package = BACKENDS.get(name(), (name(),))[0]
    for dist in (package, f"{package}-cpu", f"{package}-gpu"):
        try:
            return f"{name()} {package_version(dist)}"
        except PackageNotFoundError:
            continue
    return f"{name()} unknown"


def gpu_count():
    """GPUs the backend sees."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax
        return sum(d.platform == "gpu" for d in jax.devices())
    import torch
    return torch.cuda.device_count()


def use_precision(precision):
    """Set the process's float arithmetic for ``precision`` (before the model is built):
    ``float32``: float32 matrix products and convolutions, no TensorFloat-32 (the original's step;
    GPUs otherwise multiply float32 in reduced precision by default); ``tf32``: TensorFloat-32
    matrix products; ``mixed``: Keras's ``mixed_float16`` policy (float16 computations, float32
    weights), float32 products elsewhere. On a CPU ``tf32`` changes nothing and ``mixed`` is slow:
    ``require_gpu`` says so before a run starts."""
    import keras
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r}: unknown (expected one of {', '.join(PRECISIONS)})")
    _set_tf32(precision == "tf32")
    keras.mixed_precision.set_global_policy("mixed_float16" if precision == "mixed" else "float32")


def require_gpu(precision):
    """InputError, one line, for ``tf32`` or ``mixed`` where the backend sees no GPU."""
    if precision != "float32" and not gpu_count():
        raise InputError(f"precision {precision}: needs a GPU, and {name()} sees none (precision = float32 "
                         f"is the original's arithmetic and runs anywhere)")


def _set_tf32(enabled):
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_tensor_float_32_execution(enabled)
    elif backend == "jax":
        import jax
        jax.config.update("jax_default_matmul_precision", "tensorfloat32" if enabled else "float32")
    else:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled
        torch.set_float32_matmul_precision("high" if enabled else "highest")


def matmul_precision():
    """How float32 products are done now, one word in the backend's terms (for logs and benchmarks):
    TensorFlow's TF32 'on'/'off', JAX's default matmul precision, PyTorch's float32 matmul precision."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        return "on" if tf.config.experimental.tensor_float_32_execution_enabled() else "off"
    if backend == "jax":
        import jax
        return str(jax.config.jax_default_matmul_precision or "default")
    import torch
    return torch.get_float32_matmul_precision()


def make_deterministic():
    """Deterministic kernels, so that a seeded run repeats itself (on a GPU too, where it can)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    # jax: deterministic on the CPU; on a GPU XLA_FLAGS=--xla_gpu_deterministic_ops=true, set before jax starts


DISTRIBUTIONS = ("none", "mirrored")


def distribution_scope(distribute):
    """The context to build and compile the model in. ``none``: one device. ``mirrored``: data
    parallel over all local devices, each replica taking an equal share of every batch —
    ``tf.distribute.MirroredStrategy`` on TensorFlow, ``keras.distribution.DataParallel`` on JAX (over
    several hosts where ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``_NUM_PROCESSES`` and ``_PROCESS_ID`` are
    set: ``keras.distribution.initialize`` reads them; docs/gpu.md)."""
    if distribute == "none":
        return contextlib.nullcontext()
    if distribute != "mirrored":
        raise ValueError(f"unknown distribution {distribute!r} (expected one of {', '.join(DISTRIBUTIONS)})")
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        return tf.distribute.MirroredStrategy().scope()
    if backend == "jax":
        import keras
        if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):  # several hosts: Keras reads the three variables
            keras.distribution.initialize()
        return keras.distribution.DataParallel(devices=keras.distribution.list_devices()).scope()
    raise InputError(f"--distribute {distribute}: Keras has no data-parallel training on the {backend} backend; "
                     f"use KERAS_BACKEND=jax or tensorflow for several GPUs")

