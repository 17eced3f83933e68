#!/usr/bin/env python3
"""Draw training_curves.png in checkpoint folders: the training loss and the validation AP per
epoch (from train_loss_hist.txt and val_per_hist.txt), the best epoch starred and the
learning-rate halvings (from lr_hist.txt, when there) marked."""
import os
import sys

from w2vv import cli
from w2vv.cli import run
from w2vv.errors import InputError


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("folders", nargs="+", help="checkpoint folder(s)")
    return cli.parse_args(p, argv)


def main(argv):
    args = parse_args(argv)
    from w2vv.training_curves import write_training_curves
    for folder in args.folders:
        if not os.path.isdir(folder):
            raise InputError(f"{folder}: checkpoint folder not found")
        print(write_training_curves(folder))


if __name__ == "__main__":
    sys.exit(run(main))
