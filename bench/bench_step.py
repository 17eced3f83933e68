#!/usr/bin/env python3
"""The training step of each family's paper-scale config on this machine, side by side, on the Keras
backend of this Python.

    KERAS_BACKEND=jax .venv-jax/bin/python -m bench.bench_step [--config w2vv_attention_ctl …] [--steps 10]

For each config, in a process of its own (so that its peak memory is its own): builds the model at the
paper's shape and compiles it through the trainer's path (precision float32), then times
``train_on_batch`` on batches made beforehand, after two warm-up steps.

- W2VV (``w2vv_attention_ctl``…): an 11,000-word vocabulary, 32 words a sentence, a 2,548-d auxiliary
  input (2,048 bag of words + 500 word2vec), 2048-d features; ``w2vv.training.compile_for_training``
  (Keras 2.2.4's step); batches of 100 sentences (200 rows with ctl's negatives).
- W2VV++ and SEA (``w2vvpp_resnext101``, ``sea_bow_w2v_gru``): an 11,004-row embedding (11,000 words
  and ``<pad>``, ``<start>``, ``<end>``, ``<unk>``), 34 steps a sentence (32 words, ``<start>``,
  ``<end>``), an 11,000-word bag of words + 500 word2vec, 2048-d features;
  ``w2vv.training.compile_for_training`` (torch's RMSprop step); batches of 128 (sentence, image) pairs.

Prints per config the parameters, the step, sentences a second, the English epoch it projects
(606,757 sentences) and the process's peak resident memory, then a table of all. Run from the
repository's root (bench/README.md#training-step-per-backend).

Figures are lines ``name: value unit``."""
import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VOCAB, MAXLEN, BOW, W2V, FEATURE = 11_000, 32, 2_048, 500, 2_048
FAMILY_BOW, SPECIAL_TOKENS = 11_000, 4
ENGLISH_SENTENCES = 606_757
DEFAULT_CONFIGS = ("w2vv_attention_ctl", "w2vvpp_resnext101", "sea_bow_w2v_gru")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", nargs="+", default=list(DEFAULT_CONFIGS),
                   help="configs, each timed in its own process (default: %(default)s)")
    p.add_argument("--steps", type=int, default=10, help="timed steps (default %(default)s)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # this process times --config alone
    return p.parse_args(argv)


def w2vv_step(cfg, n, rng):
    """(model, [(x, y)] × n) of a W2VV config, compiled as the trainer compiles it."""
    import numpy as np
    from w2vv.model import build_model
    from w2vv.training import compile_for_training
    model = build_model(cfg, VOCAB, BOW + W2V)
    compile_for_training(model, cfg)
    rows = 2 * cfg.batch_size if cfg.loss_fun == "ctl" else cfg.batch_size
    out = []
    for _ in range(n):
        seq = rng.integers(1, VOCAB + 1, size=(rows, MAXLEN)).astype("int32")
        aux = rng.random((rows, BOW + W2V), dtype=np.float32)
        y = rng.random((rows, FEATURE), dtype=np.float32)
        if cfg.loss_fun == "ctl":  # [feature…, flag]: half positives, half negatives
            y = np.concatenate([y, np.repeat([[1.0], [0.0]], cfg.batch_size, axis=0).astype(np.float32)], axis=1)
        out.append(([seq, aux], y))
    return model, out


def family_step(cfg, n, rng):
    """(model, [(x, y)] × n) of a W2VV++ or SEA config, compiled as the trainer compiles it."""
    import numpy as np
    from w2vv.common_space import build_common_space, no_targets
    from w2vv.training import compile_for_training
    models = build_common_space(cfg, VOCAB + SPECIAL_TOKENS, FAMILY_BOW, W2V, FEATURE)
    compile_for_training(models.train, cfg)
    out = []
    for _ in range(n):
        seq = rng.integers(SPECIAL_TOKENS, VOCAB + SPECIAL_TOKENS, size=(cfg.batch_size, MAXLEN + 2)).astype("int32")
        seq[:, 0], seq[:, -1] = 1, 2  # <start> … <end>
        aux = rng.random((cfg.batch_size, FAMILY_BOW + W2V), dtype=np.float32)
        feat = rng.random((cfg.batch_size, FEATURE), dtype=np.float32)
        out.append(([seq, aux, feat], no_targets(cfg.batch_size)))
    return models.train, out


def time_one(name, steps):
    """Time ``name``'s step; print its figures."""
    import resource

    import keras
    import numpy as np
    from w2vv.config import load_config
    cfg = load_config(name)
    keras.utils.set_random_seed(0)
    model, prepared = (w2vv_step if cfg.family == "w2vv" else family_step)(cfg, steps + 2, np.random.default_rng(0))
    for x, y in prepared[:2]:
        model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for x, y in prepared[2:]:
        model.train_on_batch(x, y)  # returns the loss: waits for the step to finish
    step_s = (time.perf_counter() - t0) / steps
    sent_per_s = cfg.batch_size / step_s
    print(f"keras_backend: {keras.backend.backend()}")
    print(f"{name}_parameters: {model.count_params():,}")
    print(f"{name}_step_ms: {1000 * step_s:.1f} ms ({cfg.batch_size} sentences)")
    print(f"{name}_sent_per_s: {sent_per_s:.1f} sentences/s")
    print(f"{name}_epoch_h: {ENGLISH_SENTENCES / sent_per_s / 3600:.2f} h (an English epoch, {ENGLISH_SENTENCES:,} "
          f"sentences)")
    print(f"{name}_peak_rss_gb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.one:
        time_one(args.config[0], args.steps)
        return 0
    for name in args.config:
        done = subprocess.run([sys.executable, "-m", "bench.bench_step", "--one", "--config", name,
                               "--steps", str(args.steps)], capture_output=True, text=True)
        if done.returncode:
            print(f"error: {name}: {done.stderr.strip().splitlines()[-1]}", file=sys.stderr)
            return 1
        print(done.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
