#!/usr/bin/env python3
"""A root for another seed (docs/pipeline.md#comparing-runs-comparepy): a copy of ROOT with hard links
(``cp -al``: no disk; every file of the project is replaced, never rewritten in place) without what runs
derived there (models, results, locks, logs), so that ``do_all.sh`` with another ``seed`` trains every model of
its own there.

    python -m tools.seed_root ROOT NEW_ROOT"""
import glob
import os
import shutil
import subprocess
import sys

from w2vv import cli, layout
from w2vv.errors import InputError

FAMILY_INI = "demo-family.ini"  # the ini tools/demo_family.py writes into each root: that root's rootpath and seed
# What runs derive in a root: the models and their results, the tables, locks and logs, and that ini
DERIVED = (os.path.join("*", "cv_keras"), os.path.join("*", "SimilarityIndex"), "results", ".locks", "logs",
           FAMILY_INI)


def copy_root(base, root):
    """``cp -al base root``, then what runs derived in ``base`` (``DERIVED``) removed from the copy (the links
    only); written under a temporary name and renamed into place."""
    tmp = root + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    done = subprocess.run(["cp", "-al", base, tmp], capture_output=True, text=True)
    if done.returncode:  # another file system (no hard links), a disk full
        shutil.rmtree(tmp, ignore_errors=True)
        why = (done.stderr.strip().splitlines() or [f"cp: exit status {done.returncode}"])[-1]
        raise InputError(f"{root}: cannot copy {base} there with hard links ({why})")
    for pattern in DERIVED:
        for path in glob.glob(os.path.join(glob.escape(tmp), pattern)):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.rename(tmp, root)


def main(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("root", help="the root whose data the new one shares")
    p.add_argument("new_root", help="the root to write (must not exist)")
    args = cli.parse_args(p, argv)
    layout.require_root(args.root)
    if os.path.lexists(args.new_root):
        raise InputError(f"{args.new_root}: already there; give a new folder")
    parent = os.path.dirname(os.path.abspath(args.new_root))
    if not os.path.isdir(parent):
        raise InputError(f"{parent}: folder not found (the new root's parent)")
    base = os.path.realpath(args.root)
    if os.path.commonpath([os.path.realpath(parent), base]) == base:
        raise InputError(f"{args.new_root}: inside {args.root}, which the copy would then hold; give a folder "
                         f"beside it")
    copy_root(os.path.abspath(args.root), os.path.abspath(args.new_root))
    print(f"{args.new_root}: a copy of {args.root} with hard links, without its models and results; run "
          f"do_all.sh there with an ini of rootpath = {args.new_root} and another seed")


if __name__ == "__main__":
    sys.exit(cli.run(main))
