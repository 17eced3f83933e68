#!/usr/bin/env python3
"""Stage 0: download, check and unpack the release archives into a VisualSearch root.

Archives the root already holds are skipped; an archive already in <root>/downloads/ (fetched
by hand) is used as it is; an interrupted download resumes from its .part file."""
import sys

from w2vv import cli
from w2vv.cli import log, run
from w2vv.download import ARCHIVES, DEFAULT_ARCHIVES, prepare_root
from w2vv.errors import InputError


def name_values(pairs, option, convert=str):
    """``["word2vec=http://…", …]`` → {name: value}; empty values left out."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in ARCHIVES:
            raise InputError(f"{option} {pair!r}: expected NAME=VALUE with NAME one of {', '.join(ARCHIVES)}")
        if value.strip():
            try:
                values[name] = convert(value.strip())
            except ValueError:
                raise InputError(f"{option} {pair!r}: {value!r} is not a number of bytes") from None
    return values


def main(argv):
    p = cli.parser(__doc__)
    p.add_argument("--rootpath", required=True, help="the VisualSearch root (created if absent)")
    p.add_argument("--archives", default=",".join(DEFAULT_ARCHIVES),
                   help=f"archives to fetch, comma-separated ({', '.join(ARCHIVES)}); default: %(default)s")
    p.add_argument("--url", action="append", default=[], metavar="NAME=URL", help="where to fetch an archive")
    p.add_argument("--sha256", action="append", default=[], metavar="NAME=HEX", help="an archive's SHA-256, checked")
    p.add_argument("--size", action="append", default=[], metavar="NAME=BYTES", help="an archive's size, checked")
    p.add_argument("--retries", type=int, default=3, help="retries of a download that stops early (3)")
    p.add_argument("--retry_wait", type=float, default=5.0, help="seconds between retries (5)")
    args = cli.parse_args(p, argv)
    names = [n.strip() for n in args.archives.replace(" ", ",").split(",") if n.strip()]
    prepare_root(args.rootpath, names, name_values(args.url, "--url"), name_values(args.sha256, "--sha256"),
                 name_values(args.size, "--size", int), args.retries, args.retry_wait, log)


if __name__ == "__main__":
    sys.exit(run(main))
