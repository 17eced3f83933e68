#!/usr/bin/env python3
"""Does the project learn as the original did? Two checks, each printing per-epoch figures.

    python -m bench.bench_learning generated            # paper configs on generated data: Keras 2.2.4's
                                                        # step (the default) beside Keras 3's RMSprop
    python -m bench.bench_learning original --original DIR
                                                        # the configs the original code trained in DIR
                                                        # (a VisualSearch root with its checkpoint folders),
                                                        # trained here with several seeds, beside its histories

``generated`` writes a demo root (``tools/make_demo_data.py``, the real layout) and trains each
config for ``--epochs`` epochs twice, ``optimizer_impl=keras2`` and ``keras3``, with the same seed:
the only difference between the two runs is the optimizer's step. ``--overrides`` shrinks the
paper configs (default: GRU 64 and an MLP of 256, as the demo; ``--overrides ''`` trains them at full
size with 2048-d generated features, slow on a CPU).

``original`` copies DIR without its checkpoints and results, builds the vocabularies with the default
(the original's) stop words, trains every config of ``DIR/../w2vv_configs`` on both languages for
as many epochs as the original ran, and prints the original's training loss and validation AP of
each epoch beside the mean (and range) over ``--seeds`` runs here.

Every figure is also printed as ``name: value unit``. Not a test: the figures depend on the seed and
the machine, and the point is to look at them side by side.
"""
import argparse
import os
import shutil
import tempfile

import numpy as np

from w2vv import layout

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (in the functions)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNS = (("en", "mscoco2014dev-train", "mscoco2014dev-val"), ("zh", "cococntrain", "cococnval"))
PAPER_CONFIGS = ("base_w2vv", "w2vv_attention_ctl")
DEMO_OVERRIDES = "lstm_size=64,n_layers=0-256-256"


def read_history(path):
    """{epoch: value} of a history file (``epoch_<k> <value>`` lines, any order)."""
    from w2vv.training_curves import read_history as pairs
    return dict(pairs(path))


def _quiet(_message):
    pass


def train_once(root, train, val, cfg, seed):
    """(losses, val APs) per epoch of one training run; its checkpoint folder is removed afterwards."""
    from w2vv.run_inputs import read_training_inputs
    from w2vv.runs import TrainingRun
    from w2vv.training import train as train_model
    run = TrainingRun(str(root), train, val, seed=seed)
    folder = train_model(run, cfg, read_training_inputs(run, cfg, False, _quiet), _quiet, verbose=0)
    history = read_history(os.path.join(folder, "train_loss_hist.txt")), read_history(
        os.path.join(folder, "val_per_hist.txt"))
    shutil.rmtree(folder)
    return [history[0][e] for e in sorted(history[0])], [history[1][e] for e in sorted(history[1])]


def build_vocabularies_of(root):
    from w2vv.text import Tokenizer
    from w2vv.vocab import build_vocabularies
    for lang, train, _ in RUNS:
        build_vocabularies(str(root), train, Tokenizer(lang), log=_quiet)


def figure(name, value, unit=""):
    print(f"{name}: {value:.4f}{' ' + unit if unit else ''}")


def generated(args, workdir):
    from tools.make_demo_data import make_demo_root
    from w2vv.config import load_config, parse_overrides
    from w2vv.model import output_dim
    root = os.path.join(workdir, "VisualSearch")
    overrides = parse_overrides(args.overrides)
    feature_dim = output_dim(load_config(args.configs[0], overrides=overrides))
    make_demo_root(root, seed=0, scale=args.scale, feature_dim=feature_dim, verbose=False)
    build_vocabularies_of(root)
    print(f"# generated root: scale {args.scale}, {feature_dim}-d features; overrides {args.overrides!r}; "
          f"seed {args.seed}; {args.epochs} epochs")
    for config in args.configs:
        for lang, train, val in RUNS:
            aps = {}
            for impl in ("keras2", "keras3"):
                cfg = load_config(config, overrides={**overrides, "optimizer_impl": impl, "max_epochs": args.epochs})
                _, aps[impl] = train_once(root, train, val, cfg, args.seed)
            print(f"\n{config} on {train}: val AP per epoch")
            print(f"{'epoch':>5}  {'keras2 (default)':>16}  {'keras3 RMSprop':>14}")
            for epoch, (a, b) in enumerate(zip(aps["keras2"], aps["keras3"])):
                print(f"{epoch:>5}  {a:>16.4f}  {b:>14.4f}")
            for impl, values in aps.items():
                figure(f"{config}_{lang}_{impl}_val_ap_last_epoch", values[-1])


def original(args, workdir):
    from w2vv.config import load_config
    source = os.path.abspath(args.original)
    config_dir = os.path.join(os.path.dirname(source), "w2vv_configs")
    root = os.path.join(workdir, "VisualSearch")
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("cv_keras", "SimilarityIndex", "vocabulary"))
    build_vocabularies_of(root)
    configs = sorted(name[:-3] for name in os.listdir(config_dir) if name.endswith(".py"))
    print(f"# original runs in {source}; {args.seeds} seeds here (0..{args.seeds - 1}); mean [min, max]")
    for config in configs:
        for lang, train, val in RUNS:
            theirs = layout.checkpoint_dir(source, train, val, config)
            their_loss = read_history(os.path.join(theirs, "train_loss_hist.txt"))
            their_ap = read_history(os.path.join(theirs, "val_per_hist.txt"))
            cfg = load_config(config, config_dir, {"max_epochs": len(their_loss)})
            runs = [train_once(root, train, val, cfg, seed) for seed in range(args.seeds)]
            losses, aps = np.array([r[0] for r in runs]), np.array([r[1] for r in runs])
            print(f"\n{config} on {train} ({cfg.loss_fun})")
            print(f"{'epoch':>5}  {'loss original':>13}  {'loss here':>28}  "
                  f"{'val AP original':>15}  {'val AP here':>24}")
            for e in sorted(their_loss):
                print(f"{e:>5}  {their_loss[e]:>13.4f}  {_spread(losses[:, e], 4):>28}  {their_ap[e]:>15.4f}  "
                      f"{_spread(aps[:, e], 4):>24}")
            last = max(their_loss)
            figure(f"{config}_{lang}_original_val_ap_last_epoch", their_ap[last])
            figure(f"{config}_{lang}_here_val_ap_last_epoch_mean", aps[:, last].mean())
            figure(f"{config}_{lang}_loss_ratio_here_over_original_last_epoch",
                   losses[:, last].mean() / their_loss[last])


def _spread(values, digits):
    return f"{values.mean():.{digits}f} [{values.min():.{digits}f}, {values.max():.{digits}f}]"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("check", choices=["generated", "original"])
    p.add_argument("--original", default=os.path.join(REPO, os.pardir, "shared", "fixtures", "original_w2vv",
                                                       "VisualSearch"),
                   help="original: a VisualSearch root holding the original code's checkpoint folders, with "
                        "their configs in ../w2vv_configs")
    p.add_argument("--seeds", type=int, default=3, help="original: runs per config and language")
    p.add_argument("--configs", nargs="+", default=list(PAPER_CONFIGS), help="generated: configs to train")
    p.add_argument("--epochs", type=int, default=4, help="generated: epochs per run")
    p.add_argument("--scale", type=float, default=1.0, help="generated: size of the demo root (1: the demo's)")
    p.add_argument("--overrides", default=DEMO_OVERRIDES, help="generated: config overrides ('' = full size)")
    p.add_argument("--seed", type=int, default=0, help="generated: seed of both runs")
    args = p.parse_args(argv)
    if args.check == "original" and not os.path.isdir(args.original):
        p.error(f"{args.original}: not found (give --original)")
    from w2vv.cli import quiet_tensorflow
    quiet_tensorflow()
    with tempfile.TemporaryDirectory(prefix="w2vv_learning_") as workdir:
        (generated if args.check == "generated" else original)(args, workdir)


if __name__ == "__main__":
    main()
