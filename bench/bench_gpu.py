#!/usr/bin/env python3
"""Training speed of the paper config on a GPU, under each setting that changes speed or math.

    python -m bench.bench_gpu --fixtures DIR     # the paper's scale: needs a GPU (a few minutes on one H200)
    python -m bench.bench_gpu --size tiny        # everything at a tiny scale, on any machine (CPU: < 2 min)

1. Prints the machine, the Keras backend (``KERAS_BACKEND``: tensorflow, jax or torch; ``--backends``
   runs the whole benchmark once per backend named), its version and its GPUs.
2. Generates a VisualSearch root (``bench_pipeline.generate``): at full size the paper's, 121,286 ×
   2048-d features, 606,757 sentences with vocabularies of about 11,000 words, a 500-d word2vec;
   builds the vocabularies and encodes the sentences once (cached for the variants).
3. Runs every variant (``VARIANTS``) in a fresh subprocess, so that no setting leaks into the next:
   the replay of the original's 12 training steps through the trainer's compile path
   (``w2vv.training.compile_for_training``) under that setting (``--fixtures``: the folder holding
   ``original_train_steps/``), then ``w2vv_attention_ctl`` trained on batches of 100
   sentences of the real ``w2vv.batches.TrainingBatches``: the input pipeline alone, the step alone
   (``train_on_batch`` on batches fetched beforehand), then ``model.fit`` over the pipeline.
4. Names the faithful default: the fastest variant whose replay lands within 1e-5 of the original.

Every figure is a line ``name: value unit`` (``#`` lines are progress and notes); bench/README.md
says how each is measured. The generated data is deleted at the end unless ``--keep``."""
import argparse
import importlib.util
import os
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import bench_pipeline as pipeline  # light: no TensorFlow
from bench.bench_pipeline import BATCH, CONFIG, FIGURES, TRAIN, figure, note
from w2vv import layout

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EPOCH_SENTENCES = pipeline.SHAPES["full"]["sentences"]  # an English epoch of the paper: 606,757 sentences
GOAL_SENT_PER_S = 3_400      # an epoch in 3 minutes or less
GOAL_WAIT_FRACTION = 0.05    # the input pipeline never the bottleneck
REPLAY_TOLERANCE = 1e-5
SIZES = {
    # batches: timed through model.fit; warmup_batches: a fit before (tracing, compilation);
    # step_batches: fetched beforehand, then timed by train_on_batch; tiny has no dropout: under XLA on a
    # CPU, dropout's random numbers take over a second a step
    "full": dict(images=121_286, sentences=606_757, w2v_words=100_000,
                 batches=300, warmup_batches=10, step_batches=20, model={}),
    "tiny": dict(images=600, sentences=3_000, w2v_words=30_000,
                 batches=2, warmup_batches=1, step_batches=2,
                 model=dict(lstm_size="32", n_layers="0-64-2048", dropout="0")),
}
BACKENDS = ("tensorflow", "jax", "torch")


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    jit_compile: object = "auto"    # Keras compile's: "auto" (XLA where a GPU is present), True (XLA), False
    precision: object = "float32"   # the trainer's setting (w2vv.backend.use_precision); None: the framework's default
    gru_impl: str = "keras2"
    distribute: str = "none"
    candidate: bool = True          # a candidate for the faithful default (the replay decides)

    def replayable(self):
        """The original's weights fit (its GRU), on one device."""
        return self.gru_impl == "keras2" and self.distribute == "none"


VARIANTS = (
    Variant("trainer", "the trainer's compile: jit_compile='auto', precision float32"),
    Variant("framework_default", "jit_compile='auto', float32 products as the framework leaves them", precision=None),
    Variant("plain", "no XLA, precision float32", jit_compile=False),
    Variant("tf32", "no XLA, precision tf32", jit_compile=False, precision="tf32"),
    Variant("xla", "XLA (jit_compile=True), precision float32", jit_compile=True),
    Variant("xla_tf32", "XLA (jit_compile=True), precision tf32", jit_compile=True, precision="tf32"),
    Variant("cudnn", "the trainer's with gru_impl=cudnn (not the original's GRU)", gru_impl="cudnn", candidate=False),
    Variant("mixed", "the trainer's with precision mixed (mixed_float16: not the original's float32)",
            precision="mixed", candidate=False),
    Variant("mirrored", "the trainer's under --distribute mirrored (needs 2 GPUs or more)", distribute="mirrored",
            candidate=False),
)
BY_NAME = {v.name: v for v in VARIANTS}


def keras_backend():
    return os.environ.get("KERAS_BACKEND", "tensorflow")


# ---------------------------------------------------------------- in the variant's subprocess

def apply_settings(variant):
    """The variant's process-wide settings, before any model is built (no GPU check: a CPU dry run
    goes through every variant's code)."""
    if variant.precision is not None:
        from w2vv import backend
        backend.use_precision(variant.precision)


def compile_model(model, cfg, variant):
    """The trainer's compile path under the variant's precision and ``jit_compile``; the framework's
    defaults for ``framework_default``."""
    if variant.precision is None:
        from w2vv.losses import get_loss
        from w2vv.optimizers import make_optimizer
        model.compile(optimizer=make_optimizer(cfg), loss=get_loss(cfg), jit_compile=variant.jit_compile)
        return
    from w2vv.training import compile_for_training
    cfg.precision = variant.precision
    compile_for_training(model, cfg, jit_compile=variant.jit_compile)


def gpu_peak_mb():
    """Peak GPU memory the framework's allocator handed out in this process (GPU 0); None without a GPU."""
    backend = keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf
        if not tf.config.list_physical_devices("GPU"):
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    if backend == "torch":
        import torch
        return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    import jax
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    stats = gpus[0].memory_stats() if gpus else None
    return stats["peak_bytes_in_use"] / 2**20 if stats else None


def reset_gpu_peak():
    """Start the peak anew (the training's alone, not the replay's)."""
    if gpu_peak_mb() is None:
        return
    if keras_backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.reset_memory_stats("GPU:0")
    elif keras_backend() == "torch":
        import torch
        torch.cuda.reset_peak_memory_stats()


def replay_variant(folder, variant):
    """The original's 12 steps under the variant's settings: the largest weight and loss gaps."""
    from bench.original_steps import CASES, replay
    within = True
    for case in CASES:
        steps = list(replay(folder, case, lambda model, cfg: compile_model(model, cfg, variant)))
        weight_gap = max(gap for *_, gap in steps if gap is not None)
        loss_gap = max(abs(loss - original) / abs(original) for _, loss, original, _ in steps)
        figure(f"{variant.name}_replay_{case}_weight_gap", weight_gap, "(max |w - w original| after steps 1-12)",
               "{:.2e}")
        figure(f"{variant.name}_replay_{case}_loss_gap", loss_gap, "(max relative loss gap, 12 steps)", "{:.2e}")
        within &= weight_gap <= REPLAY_TOLERANCE and loss_gap <= REPLAY_TOLERANCE
    figure(f"{variant.name}_replay_within_1e-5", "yes" if within else "no", "")


def timed(function):
    t0 = time.perf_counter()
    function()
    return time.perf_counter() - t0


def bench_training(args, variant):
    """The paper config on the generated data: the input pipeline alone, the step alone, then fit."""
    model, batches = build_training(args, variant)
    figure(f"{variant.name}_xla", "yes" if model.jit_compile else "no", "(jit_compile as Keras resolved it)")
    from w2vv.backend import matmul_precision
    figure(f"{variant.name}_matmul", matmul_precision(), "(float32 products: TF32 on/off, or the backend's precision)")
    report_timings(variant.name, args.batches, *measure_training(args, model, batches))


def build_training(args, variant):
    """The compiled model of ``CONFIG`` (the tiny size's overrides, the variant's GRU) and its batches."""
    import numpy as np
    from w2vv.batches import TrainingBatches
    from w2vv.config import load_config
    from w2vv.run_inputs import load_collection, make_encoder, open_features
    from w2vv.model import build_model
    cfg = load_config(CONFIG, overrides={**SIZES[args.size]["model"], "gru_impl": variant.gru_impl})
    encoder = make_encoder(args.root, TRAIN, cfg)
    features = open_features(args.root, cfg)
    collection, _ = load_collection(args.root, TRAIN, encoder, features, keep_incomplete=False, log=note)
    with strategy_scope(variant):
        model = build_model(cfg, encoder.seq_vocab_size, encoder.aux_dim,
                            encoder.embedding_matrix(np.random.default_rng(0)))
        compile_model(model, cfg, variant)
    return model, TrainingBatches(collection, features, cfg, BATCH, seed=0)


def measure_training(args, model, batches):
    """Seconds: a batch of the input pipeline alone, the first step, a step alone (on batches fetched
    beforehand; the loss train_on_batch returns waits for the device), and ``args.batches`` through fit."""
    prepared = []
    input_s = timed(lambda: prepared.extend(batches[i] for i in range(args.step_batches))) / args.step_batches
    first_step_s = timed(lambda: model.train_on_batch(*prepared[0]))
    step_s = timed(lambda: [model.train_on_batch(x, y) for x, y in prepared]) / len(prepared)
    model.fit(batches, epochs=1, steps_per_epoch=args.warmup_batches, verbose=0, shuffle=False)
    fit_s = timed(lambda: model.fit(batches, epochs=1, steps_per_epoch=args.batches, verbose=0, shuffle=False))
    return input_s, first_step_s, step_s, fit_s


def report_timings(v, n_batches, input_s, first_step_s, step_s, fit_s):
    rate = n_batches * BATCH / fit_s
    figure(f"{v}_sent_per_s", rate, f"sent/s (model.fit over TrainingBatches, {n_batches} batches of {BATCH})",
           "{:.0f}")
    figure(f"{v}_epoch_min", EPOCH_SENTENCES / rate / 60,
           f"min (projected English epoch, {EPOCH_SENTENCES:,} sentences)", "{:.2f}")
    figure(f"{v}_input_wait_fraction", max(0.0, 1 - step_s * n_batches / fit_s),
           "(1 - the step alone / the step in model.fit)", "{:.3f}")
    figure(f"{v}_step_ms", 1000 * step_s, f"ms (train_on_batch, {2 * BATCH} rows, batches fetched beforehand)",
           "{:.1f}")
    figure(f"{v}_input_batch_ms", 1000 * input_s, "ms (TrainingBatches[i] alone)", "{:.1f}")
    figure(f"{v}_first_step_s", first_step_s, "s (the first train_on_batch: tracing and compilation)", "{:.1f}")
    peak = gpu_peak_mb()
    figure(f"{v}_gpu_peak_mb", "n/a" if peak is None else peak, "(no GPU)" if peak is None else "MB", "{:.0f}")


def strategy_scope(variant):
    from w2vv.backend import distribution_scope
    return distribution_scope(variant.distribute)


def part_variant(args):
    variant = BY_NAME[args.variant]
    apply_settings(variant)
    if args.replay_folder and variant.replayable():
        replay_variant(args.replay_folder, variant)
        reset_gpu_peak()
    bench_training(args, variant)


def part_devices(args):
    """The backend, its version and its GPUs."""
    import keras
    figure("keras_backend", keras.backend.backend(), "")
    figure("keras_version", keras.__version__, "")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        build = tf.sysconfig.get_build_info()
        figure("tensorflow_version", tf.__version__, f"(CUDA {build.get('cuda_version', 'none')}, "
                                                     f"cuDNN {build.get('cudnn_version', 'none')})")
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                 for g in tf.config.list_physical_devices("GPU")]
    elif keras.backend.backend() == "torch":
        import torch
        figure("torch_version", torch.__version__, f"(CUDA {torch.version.cuda or 'none'})")
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        import jax
        figure("jax_version", jax.__version__, "")
        names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    figure("gpu_count", len(names), "", "{}")
    figure("gpu_names", ", ".join(names) or "none", "")


# ---------------------------------------------------------------- the orchestrating process

def check_environment():
    """A one-line error, before anything is generated, where this machine cannot run the benchmark."""
    backend = keras_backend()
    if backend not in BACKENDS:
        raise SystemExit(f"error: KERAS_BACKEND={backend}: unknown backend (expected one of {', '.join(BACKENDS)})")
    missing = [name for name in ("numpy", "scipy", "h5py", "keras", backend) if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"error: {sys.executable}: missing Python package(s) {', '.join(missing)} "
                         f"(docs/gpu.md#installing-on-a-gpu-machine says how to install them)")


def replay_folder(fixtures):
    """``original_train_steps/`` in ``fixtures`` (or ``fixtures`` itself); a one-line error if it is not there."""
    for folder in (os.path.join(fixtures, "original_train_steps"), fixtures):
        if os.path.isfile(os.path.join(folder, "trajectory.json")):
            return os.path.abspath(folder)
    raise SystemExit(f"error: {fixtures}: no original_train_steps/trajectory.json there (--fixtures takes the "
                     f"folder that holds original_train_steps/)")


def child(args, *extra):
    return [sys.executable, "-m", "bench.bench_gpu", "--size", args.size, "--root", args.root,
            *(["--replay_folder", args.replay_folder] if args.replay_folder else []),
            *(f"--{key}={getattr(args, key)}" for key in ("batches", "warmup_batches", "step_batches")), *extra]


def prepare_data(args):
    """The root, the vocabularies and the encoded sentences (cached), built in this process (no Keras)."""
    t0 = time.perf_counter()
    pipeline.generate(args.root, args.shapes)
    figure("data_generate_s", time.perf_counter() - t0, "s (or reused)", "{:.1f}")
    if not os.path.isfile(layout.vocab_file(args.root, TRAIN, "bow", 5)):
        pipeline.part_vocab(args)
    t0 = time.perf_counter()
    pipeline.load_training_data(args)
    figure("data_encode_s", time.perf_counter() - t0, "s (tokenise and encode every sentence, or read the cache)",
           "{:.1f}")


def skip_reason(variant, backend, gpus):
    if variant.distribute == "mirrored" and backend == "torch":
        return "Keras has no data-parallel training on the torch backend"
    if variant.distribute == "mirrored" and gpus < 2:
        return f"{gpus} GPU(s): needs 2 or more"
    if variant.jit_compile is False and backend == "jax":
        return "the jax backend always compiles with XLA (jit_compile=False runs op by op)"
    if variant.jit_compile is True and backend == "torch":
        return "jit_compile=True is torch.compile on the torch backend, not XLA"
    return None


def summary(variants):
    """The faithful default: the fastest variant whose replay lands within 1e-5; its goals."""
    if FIGURES.get("replay") != "yes":
        figure("faithful_default", "not_chosen", "(the replay did not run: give --fixtures)")
        return
    passed = [v for v in variants if v.candidate and FIGURES.get(f"{v.name}_replay_within_1e-5") == "yes"
              and isinstance(FIGURES.get(f"{v.name}_sent_per_s"), float)]
    if not passed:
        figure("faithful_default", "none", "(no candidate that ran replays the original within 1e-5)")
        return
    best = max(passed, key=lambda v: FIGURES[f"{v.name}_sent_per_s"])
    figure("faithful_default", best.name, f"({best.what}; the fastest of {', '.join(v.name for v in passed)})")
    pipeline.summary([(f"{best.name}_sent_per_s", ">=", GOAL_SENT_PER_S),
                      (f"{best.name}_input_wait_fraction", "<", GOAL_WAIT_FRACTION)])


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="full",
                   help="full: the paper's scale, needs a GPU; tiny: 3,000 sentences and a small model (any machine)")
    p.add_argument("--variants", default=",".join(BY_NAME),
                   help=f"comma-separated, in this order by default: {','.join(BY_NAME)}")
    p.add_argument("--fixtures", help="the folder holding original_train_steps/ (the replay runs only with it)")
    p.add_argument("--backends", help="comma-separated Keras backends, the whole benchmark once for each "
                                      "(default: KERAS_BACKEND's, tensorflow when unset)")
    p.add_argument("--batches", type=int, help="batches timed through model.fit (full 300, tiny 2)")
    p.add_argument("--warmup_batches", type=int, help="batches of the fit before, not timed (full 10, tiny 1)")
    p.add_argument("--step_batches", type=int, help="batches fetched, then timed by train_on_batch (full 20, tiny 2)")
    p.add_argument("--out", help="folder for the generated data (default: a new temp folder under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the generated data (a later run with --out reuses it)")
    p.add_argument("--part", help=argparse.SUPPRESS)      # internal: run one part in this (fresh) process
    p.add_argument("--variant", help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--replay_folder", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    size = SIZES[args.size]
    for key in ("batches", "warmup_batches", "step_batches"):
        if getattr(args, key) is None:
            setattr(args, key, size[key])
        if getattr(args, key) < 1:
            p.error(f"--{key} must be at least 1")
    args.shapes = {key: size[key] for key in ("images", "sentences", "w2v_words")}
    unknown = [name for name in args.variants.split(",") if name not in BY_NAME]
    if unknown:
        p.error(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return args


def run_variants(args, backend, gpus):
    """Each variant in a fresh subprocess; returns the variants that ran and the names of those that failed."""
    ran, failed = [], []
    for variant in (BY_NAME[name] for name in args.variants.split(",")):
        reason = skip_reason(variant, backend, gpus)
        if reason:
            figure(variant.name, "skipped", f"({reason})")
            continue
        note(f"variant {variant.name}: {variant.what}")
        status = pipeline.run_script(child(args, "--variant", variant.name), f"variant {variant.name}", check=False)
        if status:  # the other variants still run: a GPU's time is scarce
            figure(variant.name, "failed", f"(exit status {status}; its error is above)")
            failed.append(variant.name)
        else:
            ran.append(variant)
    return ran, failed


def measure(args):
    """The machine, the data, every variant and the summary; returns the names of the variants that failed."""
    pipeline.machine()
    pipeline.run_script(child(args, "--part", "devices"), "devices")
    backend, gpus = FIGURES["keras_backend"], int(FIGURES["gpu_count"])
    if args.size == "full" and gpus == 0:
        raise SystemExit(f"error: no GPU visible to {backend} (--size full needs one; --size tiny runs on a CPU)")
    figure("size", args.size, "")
    for key, value in args.shapes.items():
        figure(f"shape_{key}", value, "", "{:,}")
    prepare_data(args)
    figure("replay", "yes" if args.replay_folder else "no",
           args.replay_folder or "(no --fixtures: the faithful default cannot be chosen)")
    ran, failed = run_variants(args, backend, gpus)
    summary(ran)
    return failed


def each_backend(backends, argv):
    """The benchmark once per backend, each in its own process (``KERAS_BACKEND`` set); the worst status."""
    import subprocess
    argv = [a for i, a in enumerate(argv) if not a.startswith("--backends") and
            (i == 0 or argv[i - 1] != "--backends")]
    statuses = []
    for backend in backends:
        print(f"# ==== backend {backend}", flush=True)
        statuses.append(subprocess.run([sys.executable, "-m", "bench.bench_gpu", *argv], cwd=REPO,
                                       env={**os.environ, "KERAS_BACKEND": backend}).returncode)
    return max(statuses)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.part == "devices":
        part_devices(args)
        return 0
    if args.variant:
        part_variant(args)
        return 0
    backends = args.backends.split(",") if args.backends else [keras_backend()]
    if len(backends) > 1 or backends[0] != keras_backend():
        return each_backend(backends, argv)
    check_environment()
    args.replay_folder = replay_folder(args.fixtures) if args.fixtures else None
    t_start = time.perf_counter()
    with pipeline.scratch_root(args, "w2vv_bench_gpu_"):
        failed = measure(args)
        figure("bench_total_s", time.perf_counter() - t_start, "s", "{:.0f}")
    if failed:
        print(f"error: variant(s) {', '.join(failed)} failed (the others' figures are above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
