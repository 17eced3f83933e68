#!/usr/bin/env python3
"""The doctor: check a VisualSearch root against what a config's pipeline needs.

Prints one table (every collection, the feature BigFile, both word2vec models, the vocabularies
if built), each line OK / MISSING / WRONG with the fix; exit status 0 only when the pipeline can run."""
import sys

from w2vv import cli
from w2vv.cli import run
from w2vv.config import parse_overrides
from w2vv.doctor import Collections, check_root, format_table, passed


def main(argv):
    p = cli.parser(__doc__)
    cli.add_config(p, required=False)
    cli.add_rootpath(p)
    cli.add_config_overrides(p)
    cli.add_feature_collection(p)
    p.add_argument("--freq_threshold", type=int,
                   help="the vocabularies' threshold (the config's bow_vocab N; 5 without a config)")
    cli.add_collections(p, "en_train", "en_val", "en_test", "query_train", "query_val", "query_test")
    cli.add_languages(p)
    args = cli.parse_args(p, argv, stray="the config is --config CONFIG")
    collections = Collections(args.en_train, args.en_val, args.en_test,
                              args.query_train, args.query_val, args.query_test)
    checks = check_root(args.rootpath, args.config, overrides=parse_overrides(args.config_overrides),
                        feature_collection=args.feature_collection, collections=collections,
                        freq_threshold=args.freq_threshold)
    print(format_table(checks))
    if not passed(checks):
        problems = sum(c.status != "OK" for c in checks)
        print(f"{args.rootpath}: {problems} problem(s); fix them and run check_root.py again")
        return 1
    print(f"{args.rootpath}: ready for {args.config}" if args.config else
          f"{args.rootpath}: ready (no --config: what a config reads, such as the feature width its MLP ends with, "
          f"was not checked)")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
