#!/usr/bin/env python3
"""Extract CNN features of your own images into a collection of a VisualSearch root.

  python extract_features.py ~/Pictures --rootpath ~/VisualSearch --collection myphotos

Runs a network of keras.applications (ResNet-152 by default, 2048-d average-pooled features) over
every image file under IMAGE_DIR (jpg, png, webp, bmp, gif, tif, avif, heic; recursively, into linked folders)
and writes R/NAME/FeatureData/<feature>/ (BigFile), R/NAME/ImageSets/NAME.txt and thumbnails in
R/NAME/ImageData/. Image ids are the file names without extension. Unreadable files are skipped
and listed in <feature>/skipped.txt; an interrupted run continues where it stopped."""
import os
import sys

from w2vv import cli, layout
from w2vv.cli import add_overwrite, log, quiet_tensorflow, run


def parse_args(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("image_dir", help="folder of images (searched recursively, into linked folders)")
    p.add_argument("--rootpath", required=True, help="the VisualSearch root to write into")
    p.add_argument("--collection", required=True, help="collection name, e.g. myphotos")
    p.add_argument("--cnn", default="resnet152",
                   help="a keras.applications network, by name, case-insensitive (resnet152, resnet50, "
                        "efficientnetb0, mobilenetv3small, ...)")
    p.add_argument("--weights", default="imagenet",
                   help="imagenet (downloaded once by Keras into ~/.keras/models), none (random: tests), "
                        "or a weights file of the network without its classifier")
    p.add_argument("--batch_size", type=int, default=32, help="images per CNN batch (32)")
    p.add_argument("--image_size", type=int, default=None, help="input size (default: the network's own)")
    p.add_argument("--feature", default=None,
                   help="feature name, the BigFile folder's: letters, digits, _ . , + - "
                        "(default: <cnn>_<weights>_avgpool)")
    add_overwrite(p, what="extract again over finished features")
    cli.add_wait(p)
    args = cli.parse_args(p, argv)
    if not layout.is_collection_name(args.collection):
        p.error(f"--collection {args.collection!r}: a collection's name, one folder of the root (letters, digits, "
                f"_ . , + -), e.g. myphotos")
    from w2vv.features import FEATURE_NAME_RULE, MAX_INPUT_SIZE, is_feature_name
    if args.feature is not None and not is_feature_name(args.feature):
        p.error(f"--feature {args.feature!r}: a feature's name, {FEATURE_NAME_RULE}, e.g. resnet152_imagenet_avgpool")
    if args.batch_size < 1:
        p.error("--batch_size must be at least 1")
    if args.image_size is not None and not 1 <= args.image_size <= MAX_INPUT_SIZE:
        p.error(f"--image_size {args.image_size}: a size in pixels, 1 to {MAX_INPUT_SIZE} (or none: the network's "
                f"own; keras.applications' largest is 600)")
    if args.feature == layout.PAPER_FEATURE:
        p.error(f"--feature {args.feature}: the release's ResNeXt-101 features are named so, and no network of "
                f"keras.applications makes them: a model trained on them would rank these as if they were; leave "
                f"--feature out (named after the network)")
    return args


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    from w2vv.errors import InputError
    from w2vv.features import extract_features
    if not os.path.isdir(args.rootpath):
        raise InputError(f"{args.rootpath}: rootpath not found (create it first)")
    from w2vv.lock import exclusive
    # one extraction into a collection at a time: two wrote one ImageSets list and one chunk folder
    with exclusive(layout.lock_file(args.rootpath, f"extract_features.{args.collection}"),
                   f"extract_features into {args.collection}", args.wait, log):
        summary = extract_features(args.image_dir, args.rootpath, args.collection, cnn=args.cnn, weights=args.weights,
                                   batch_size=args.batch_size, feature=args.feature, image_size=args.image_size,
                                   overwrite=bool(args.overwrite), log=log)
    name = os.path.basename(summary["feature_dir"])
    log(f"feature name: {name} (train W2VV on it with --config_overrides img_feature={name},n_layers=0-2048-feat; "
        f"W2VV++ or SEA with img_feature={name} alone)")


if __name__ == "__main__":
    sys.exit(run(main, resumes="extraction goes on from its first missing chunk"))
