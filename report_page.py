#!/usr/bin/env python3
"""Write the HTML results page of a test run: for a sample of queries, the sentence, the rank of
its true image and the top-10 images as thumbnails (<root>/<test>/ImageData/<id>.jpg when there,
else labelled tiles). Reads the tester's sent.id.score.txt and the test collection's caption file;
writes <root>/<test>/SimilarityIndex/<train>/<run>/results.html. --run may also name a
zh2en2img_<run> (CLM) or zh2en_<run> (CL) results folder."""
import sys

from w2vv import cli
from w2vv.cli import run


def parse_args(argv):
    p = cli.parser(__doc__)
    p.add_argument("train", type=cli.collection, help="training collection of the model, e.g. cococntrain")
    p.add_argument("test", type=cli.collection, help="the tested collection, e.g. cococntest")
    cli.add_rootpath(p)
    cli.add_run(p)
    p.add_argument("--n", type=int, default=20, help="queries shown (20; a random sample)")
    p.add_argument("--k", type=int, default=10, help="images per query (10)")
    p.add_argument("--seed", type=cli.seed, default=0, help="seed of the sample")
    p.add_argument("--embed", action="store_true", help="put the thumbnails inside the page (one portable file)")
    p.add_argument("--out", default=None, help="another output path")
    args = cli.parse_args(p, argv)
    if args.n < 1 or args.k < 1:
        p.error("--n and --k must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    from w2vv.pages import write_results_page
    path, summary = write_results_page(args.rootpath, args.test, args.train, args.run, args.n, args.k,
                                       args.seed, args.embed, args.out)
    print(f"{path}: {summary['queries']} queries, {summary['images']} thumbnails "
          f"({summary['pictures']} pictures, {summary['images'] - summary['pictures']} labelled tiles)")


if __name__ == "__main__":
    sys.exit(run(main))
