#!/usr/bin/env python3
"""Train a W2VV model (docs/method.md#the-training-rule), or one of its successors (a config of family 'w2vvpp'
or 'sea': W2VV++, SEA, by their published rule), then test its best epoch on the val and test collections.
A successor's model of a query language (Chinese…) takes the image tower(s) of the English model of the same
settings (trained on --en_train, validated on --en_val: stage 2 first), frozen (docs/method.md#across-languages).

The checkpoint folder is <root>/<train>/cv_keras/<val>/w2vv_trainer.py/<run>/, <run> being the
config's name, tagged with the settings that differ from the config file's (e.g.
base_w2vv_lstm_size256), but for the settings of other languages' models (stopwords_<code>, normalize_zh,
image_towers): an English model's leaves out the query languages', a query model's a third language's.
A finished run (its model.json exists) is skipped unless --overwrite 1, and only when it was made with the
same settings."""
import importlib.util
import os
import sys

from w2vv import cli, collection_files
from w2vv.backend import DISTRIBUTIONS
from w2vv.cli import log, quiet_tensorflow, run


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("train", type=cli.collection, help="training collection, e.g. cococntrain")
    p.add_argument("val", type=cli.collection, help="validation collection (picks the best epoch), e.g. cococnval")
    p.add_argument("test", type=cli.collection, help="test collection, e.g. cococntest")
    cli.add_rootpath(p)
    cli.add_config(p)
    p.add_argument("--config_dir", default=None, help="folder of config files (default: w2vv_configs/)")
    cli.add_config_overrides(p)
    cli.add_overwrite(p)
    p.add_argument("--batch_size", type=int, default=None,
                   help="sentences per batch (default: the config's batch_size: 100 for W2VV, 128 for W2VV++ and SEA)")
    p.add_argument("--max_epochs", type=int, default=None, help="override the config's max_epochs (short runs)")
    cli.add_feature_collection(p)
    p.add_argument("--word2vec", default=None, help="word2vec path (default: the layout's for the language)")
    p.add_argument("--seed", type=cli.seed, default=None,
                   help="random seed of weights, shuffling, negatives and dropout; given, training is "
                        "deterministic (identical histories on CPU); default: a random seed, logged")
    p.add_argument("--distribute", default="none", choices=DISTRIBUTIONS,
                   help="mirrored: train on all GPUs of the machine, data parallel (TensorFlow, JAX)")
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs into the checkpoint folder")
    p.add_argument("--check_only", action="store_true",
                   help="train and test nothing: stop unless the run is finished and was made with these settings "
                        "and inputs (do_all.sh starting after the training stages)")
    cli.add_wait(p)
    cli.add_languages(p)
    cli.add_collections(p, "en_train", "en_val")  # where a successor's query model finds its English model
    args = cli.parse_args(p, argv)
    cli.refuse_role_problems(p, {"train": args.train, "val": args.val, "test": args.test})
    return args


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    from w2vv import backend, languages, layout, lock, pivot_space, runs
    from w2vv.config import parse_overrides
    from w2vv.errors import InputError
    from w2vv.testing import predict_and_rank

    layout.require_root(args.rootpath)
    overrides = parse_overrides(args.config_overrides)
    for key in ("batch_size", "max_epochs"):
        flag = getattr(args, key)
        if flag is not None and overrides.setdefault(key, str(flag)) != str(flag):
            raise InputError(f"--{key} {flag} and --config_overrides {key}={overrides[key]}: give one of them")
    lang = languages.language_of(args.train)
    word2vec = runs.word2vec_given(args.rootpath, lang, args.word2vec)

    def configured(lang):
        return runs.configured_run(args.config, overrides, args.feature_collection, word2vec, args.config_dir,
                                   runs.pipeline_languages(lang))
    cfg, name = configured(lang)
    towers_from = pivot_space.english_weights(args.rootpath, cfg, args.train, args.en_train, args.en_val,
                                              configured(languages.PIVOT)[1])
    run_ = runs.TrainingRun(args.rootpath, args.train, args.val, args.feature_collection, cfg.batch_size,
                            args.seed, word2vec, args.distribute, args.tensorboard, name, bool(args.overwrite),
                            towers_from)
    folder = runs.checkpoint_folder(run_, cfg)
    if args.check_only:
        train_it = "run do_all.sh from stage 2 (overwrite = 1 to retrain a finished model)"
        if not os.path.isfile(os.path.join(folder, layout.MODEL_FILE)):
            raise InputError(f"{folder}: not trained (no {layout.MODEL_FILE}): {train_it}")
        runs.check_same_record(folder, runs.run_record(run_, cfg),
                               fix=f"{train_it}, or set the settings it was made with")
        log(f"trained with these settings and inputs: {folder}")
        return
    with lock.exclusive(layout.lock_file(args.rootpath, f"trainer.{args.train}.{args.val}.{name}"),
                        f"training {folder}", args.wait, log):
        collection_files.require_held_out(args.rootpath, args.train, args.val, (args.val, args.test))
        if os.path.isfile(os.path.join(folder, layout.MODEL_FILE)) and not args.overwrite:
            runs.check_same_record(folder, runs.run_record(run_, cfg))
            log(f"already trained, skipped (use --overwrite 1 to redo): {folder}")
            if os.path.isfile(os.path.join(folder, layout.RESUME_FILE)):  # a kill right after model.json was written
                os.remove(os.path.join(folder, layout.RESUME_FILE))
            other = runs.other_backend(folder)
            if other:
                log(f"the model was trained on Keras's {other} backend, reused on {backend.name()} "
                    f"(a finished model is the same on every backend)")
        else:
            backend.require_gpu(cfg.precision)
            if args.tensorboard and importlib.util.find_spec("tensorflow") is None:
                raise InputError("--tensorboard: Keras writes TensorBoard logs through TensorFlow, which is not "
                                 "installed (pip install tensorflow-cpu tensorboard)")
            from w2vv.run_inputs import read_training_inputs
            inputs = read_training_inputs(run_, cfg, runs.resumes(run_, cfg), log)  # bad input stops before Keras
            from w2vv.training import train  # Keras and its backend: only to train
            folder = train(run_, cfg, inputs, log, verbose=cli.keras_verbosity())
        predict_and_rank(args.rootpath, args.train, (args.val, args.test), folder, overwrite=bool(args.overwrite),
                         log=log)


if __name__ == "__main__":
    sys.exit(run(main, resumes="run again without --overwrite 1: training goes on from its last finished epoch, a "
                               "trained model is tested again"))
