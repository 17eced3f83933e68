#!/usr/bin/env python3
"""Test a trained W2VV model on a collection (docs/method.md#testing-a-model-cm); the model folder may also be a
checkpoint folder of the original code (Keras 2.2.4 model.json + epoch_K.h5), or of a successor (W2VV++, SEA: the
sentence vectors are its text tower's, an image's score the dot product with its image tower's vector).

Writes <root>/<test>/SimilarityIndex/<train>/<run>/sent_feat.txt and, for Chinese
collections (or with --evaluate 1), sent.id.score.txt, mir.txt and metrics.json."""
import os
import sys

from w2vv import cli
from w2vv.cli import log, quiet_tensorflow, run


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("train", type=cli.collection, help="the training collection of the model, e.g. cococntrain")
    p.add_argument("test", type=cli.collection, help="the collection to test on, e.g. cococntest")
    cli.add_rootpath(p)
    p.add_argument("--model_path", default=None, help="checkpoint folder (default: from --val and --run)")
    p.add_argument("--val", default=None, help="validation collection of the run (to find the checkpoint folder)")
    cli.add_run(p, required=False, help=cli.RUN_HELP + " (finds the checkpoint folder)")
    cli.retire(p, "--model_config", "--run")
    p.add_argument("--weight_name", default=None, help="weights file in the folder (default: the best epoch)")
    p.add_argument("--evaluate", type=int, default=None, choices=[0, 1],
                   help="rank images and write the figures (default: only for collections of a query language, "
                        "not English)")
    cli.add_feature_collection(p, trained=True)
    p.add_argument("--word2vec", default=None,
                   help="word2vec path (default: the model's, from its record; else the layout's for the language)")
    p.add_argument("--stopwords", default=None,
                   help="stop-word list (default: the model's, from its record; else the language's own)")
    cli.add_overwrite(p, default=1)
    cli.add_languages(p)
    args = cli.parse_args(p, argv)
    if args.model_path is None and not (args.val and args.run):
        p.error("give --model_path, or --val and --run")
    if args.weight_name and os.path.basename(args.weight_name) != args.weight_name:  # results of a file elsewhere
        p.error(f"--weight_name {args.weight_name}: the name of a weights file in the model's folder, not a path")
    return args


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    from w2vv import layout
    from w2vv.testing import predict_and_rank, require_held_out_of

    layout.require_root(args.rootpath)
    folder = args.model_path or layout.checkpoint_dir(args.rootpath, args.train, args.val, args.run)
    if not os.path.isdir(folder):
        from w2vv.errors import InputError
        raise InputError(f"{folder}: model folder not found (check --model_path, or --rootpath, --val and --run)")
    require_not_replacing_another(folder, args.rootpath)
    require_held_out_of(args.rootpath, args.train, folder, [args.test])
    weights = os.path.join(folder, args.weight_name) if args.weight_name else None
    predict_and_rank(args.rootpath, args.train, [args.test], folder, weights,
                     None if args.evaluate is None else bool(args.evaluate), args.feature_collection,
                     args.word2vec, args.stopwords, bool(args.overwrite), log)


def require_not_replacing_another(folder, root):
    """InputError when ``folder`` is not the model of its run in ``root`` but this root has one: a model of another
    root, or a renamed copy (a backup kept before retraining) whose results, written under its recorded run's name,
    would pass for the run's own model's (a seed's, for compare.py)."""
    from w2vv import layout
    from w2vv.errors import InputError
    from w2vv.inference import trained_model_name
    if not layout.is_checkpoint_dir(folder):
        return
    model_root, train, val, folder_name = layout.checkpoint_parts(folder)
    name = trained_model_name(folder)
    own = layout.checkpoint_dir(root, train, val, name)
    if not os.path.isdir(own) or os.path.realpath(own) == os.path.realpath(folder):
        return
    if os.path.realpath(model_root) != os.path.realpath(root):
        raise InputError(f"--model_path {folder}: a model of another root ({model_root}), but {root} has its own "
                         f"model of run {name} ({own}), whose results these would replace; test it with --rootpath "
                         f"{model_root}")
    raise InputError(f"--model_path {folder}: a copy of run {name} (its record's name, not its folder's "
                     f"{folder_name}), whose results, written under the run's name, would replace those of the run's "
                     f"own model ({own}); test the copy in a root of its own")


if __name__ == "__main__":
    sys.exit(run(main))
