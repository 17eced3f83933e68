#!/usr/bin/env python3
"""Convert a checkpoint folder written by the original W2VV code (Keras 2.2.4 model.json +
epoch_K.h5) into this project's format (config.json, model.json, epoch_K.h5, histories).
tester.py reads original folders directly too; converting is for keeping them with the project's tools."""
import os
import sys

from w2vv import cli
from w2vv.cli import log, quiet_tensorflow, run


def main(argv):
    p = cli.parser(__doc__)
    p.add_argument("original_folder", help="folder with the original model.json and epoch_K.h5")
    p.add_argument("out_folder", help="where to write the converted checkpoint folder")
    p.add_argument("--weight_name", default=None, help="weights file (default: the best epoch in val_per_hist.txt)")
    args = cli.parse_args(p, argv)
    quiet_tensorflow()
    from w2vv.errors import InputError
    from w2vv.inference import FAMILY_NAMES, model_family  # no Keras: a folder of this project stops before it
    if os.path.isfile(os.path.join(args.original_folder, "config.json")):
        family = model_family(args.original_folder)
        raise InputError(f"{args.original_folder}: a checkpoint of this project (a {FAMILY_NAMES.get(family, family)} "
                         f"model, family {family!r}), not one of the original W2VV code: nothing to convert")
    from w2vv.original import convert, is_original_checkpoint
    from w2vv.inference import best_weights_file

    if not os.path.isdir(args.original_folder):
        raise InputError(f"{args.original_folder}: checkpoint folder not found")
    if not is_original_checkpoint(args.original_folder):
        raise InputError(f"{os.path.join(args.original_folder, 'model.json')}: not a Keras 2 model description")
    out = args.out_folder
    if os.path.lexists(out) and (not os.path.isdir(out) or os.listdir(out)):  # a dangling link too
        same = os.path.isdir(out) and os.path.samefile(out, args.original_folder)
        raise InputError(f"{out}: " + ("the original folder itself: its weights would be replaced; give a new folder"
                                       if same else "exists and is not an empty folder; give a new folder"))
    weights = (os.path.join(args.original_folder, args.weight_name) if args.weight_name
               else best_weights_file(args.original_folder))
    log(f"converted -> {convert(args.original_folder, args.out_folder, weights)}")
    from w2vv import layout
    if not layout.is_checkpoint_dir(out):
        log(f"note: {out} is not a checkpoint folder of a root's layout (<root>/<train>/cv_keras/<val>/"
            f"w2vv_trainer.py/<run>), where the tester and search find its vocabularies: move it there to use it")


if __name__ == "__main__":
    sys.exit(run(main))
