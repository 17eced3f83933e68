#!/usr/bin/env python3
"""The training step of a paper config on this machine, on the Keras backend of this Python.

    KERAS_BACKEND=jax .venv-jax/bin/python -m bench.bench_step [--config w2vv_attention_ctl] [--steps 10]

Builds the config's model at the paper's shape (an 11,000-word vocabulary, 32 words a sentence, a
2,548-d auxiliary input: 2,048 bag-of-words + 500 word2vec; 2048-d features), compiles it through the
trainer's path (``w2vv.training.compile_for_training``: Keras 2.2.4's step, precision float32) and
times ``train_on_batch`` on batches of 100 sentences (200 rows with ctl's negatives) made beforehand,
after two warm-up steps. Run from the repository's root; to compare two versions, copy it into the
other checkout and run it there too (bench/README.md#training-step-per-backend).

Figures are lines ``name: value unit``."""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VOCAB, MAXLEN, AUX, FEATURE, BATCH = 11_000, 32, 2_548, 2_048, 100


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="w2vv_attention_ctl", help="a paper config (default %(default)s)")
    p.add_argument("--steps", type=int, default=10, help="timed steps (default %(default)s)")
    return p.parse_args(argv)


def batches(cfg, n, rng):
    import numpy as np
    rows = 2 * BATCH if cfg.loss_fun == "ctl" else BATCH
    out = []
    for _ in range(n):
        seq = rng.integers(1, VOCAB + 1, size=(rows, MAXLEN)).astype("int32")
        aux = rng.random((rows, AUX), dtype=np.float32)
        y = rng.random((rows, FEATURE), dtype=np.float32)
        if cfg.loss_fun == "ctl":  # [feature…, flag]: half positives, half negatives
            y = np.concatenate([y, np.repeat([[1.0], [0.0]], BATCH, axis=0).astype(np.float32)], axis=1)
        out.append(([seq, aux], y))
    return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import keras
    import numpy as np
    from w2vv.config import load_config
    from w2vv.model import build_model
    from w2vv.training import compile_for_training

    cfg = load_config(args.config)
    keras.utils.set_random_seed(0)
    model = build_model(cfg, VOCAB, AUX)
    compile_for_training(model, cfg)
    prepared = batches(cfg, args.steps + 2, np.random.default_rng(0))
    for x, y in prepared[:2]:
        model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for x, y in prepared[2:]:
        model.train_on_batch(x, y)  # returns the loss: waits for the step to finish
    step_s = (time.perf_counter() - t0) / args.steps
    print(f"keras_backend: {keras.backend.backend()}")
    print(f"parameters: {model.count_params():,}")
    print(f"step_ms: {1000 * step_s:.1f} ms (train_on_batch, {args.config}, {BATCH} sentences)")
    print(f"sent_per_s: {BATCH / step_s:.1f} sentences/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
