#!/usr/bin/env python3
"""Search images with your own words: the top-k images of a gallery for a Chinese or English
sentence, with a trained model, W2VV or its successors W2VV++ and SEA (and, for the cross-lingual
routes, an English one of the same family too).

  python search.py --model_path ZH_CKPT [--model_path EN_CKPT] [--gallery FEATURE_DIR] "一只狗在草地上跑"
  python search.py --model_path ZH_CKPT --queries queries.txt --json      # one query a line; '-' = stdin

Raw Chinese is normalised (full-width forms, traditional characters and Taiwan / Hong Kong wording
-> simplified, mainland; Latin words kept in lower case; --no_normalize: as typed) and segmented
with jieba (--segmented: already split by spaces); the language is
detected from the text unless --lang. With a Chinese and an English model, --mode cm | cl | clm
picks the direct route, the cross-lingual one through English sentences, or their fusion with
the weight fuse.py chose on val (the default when that weight exists). Text output: a header
line per query, then 'rank image_id score' lines; --json: one JSON object a line."""
import json
import os
import sys

from w2vv import cli
from w2vv.cli import quiet_tensorflow, run
from w2vv.languages import LANGUAGES
from w2vv.retrieval.options import add_search_options, open_searcher
from w2vv.retrieval.searcher import unicode_problem
from w2vv.textfile import UTF8, read_text


def parse_args(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("query", nargs="*", help="the query text(s); none: read --queries, or stdin when piped")
    add_search_options(p)
    p.add_argument("--queries", default=None, help="file of queries, one a line ('-': standard input)")
    p.add_argument("--k", type=int, default=10, help="results per query (10)")
    p.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                   help="language of the queries (default: the loaded model's language that recognises the text; "
                        "ideographs alone with both a Chinese and a Japanese model: give --lang)")
    p.add_argument("--mode", choices=["cm", "cl", "clm"], default=None,
                   help="route of the Chinese or Japanese queries (default: clm when possible, else cm); an "
                        "English query takes cm only")
    p.add_argument("--json", action="store_true", help="JSON lines output")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr (warnings still)")
    args = cli.parse_args(p, argv)
    if args.query and args.queries:
        p.error("give queries as arguments or with --queries, not both")
    if args.weight is not None and args.mode in ("cm", "cl"):
        p.error(f"--weight {args.weight} is the CLM weight: --mode {args.mode} does not fuse (leave one out)")
    return args


def read_queries(args):
    from w2vv.errors import InputError
    if args.query:
        for i, query in enumerate(args.query, 1):
            problem = unicode_problem(query)
            if problem:
                raise InputError(f"query {i}: {problem}")
        return args.query
    piped = sys.stdin is not None and not sys.stdin.isatty()
    if args.queries == "-" or (args.queries is None and piped):
        try:
            lines = sys.stdin.buffer.read().decode(UTF8).splitlines()
        except UnicodeDecodeError as e:
            raise InputError(f"stdin: queries are not UTF-8 text ({e.reason} at byte {e.start})") from None
    elif args.queries is not None:
        lines = read_text(args.queries, "query file").splitlines()  # any line end, as from stdin
    else:
        lines = []
    queries = [line.strip() for line in lines if line.strip()]
    if not queries:
        raise InputError(f"{args.queries or 'stdin'}: no query given")
    return queries


def format_text(results):
    head = f"query: {results.query}  [{results.lang}, {results.mode}"
    if results.text != results.query:
        head += f": {results.text}"
    head += "]"
    lines = [head]
    if results.unknown:
        lines.append(f"  (unknown words: {' '.join(results.unknown)})")
    if results.warning:
        lines.append(f"  warning: {results.warning}")
    lines += [f"{rank:>4}  {hit.id}  {hit.score:.4f}" for rank, hit in enumerate(results, 1)]
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    queries = read_queries(args)
    def progress(message):
        if not args.quiet or message.startswith("warning:"):  # why a route is not taken, say, is no progress line
            print(f"[search] {message}", file=sys.stderr, flush=True)

    searcher = open_searcher(args, log=progress)
    all_results = searcher.search_many(queries, args.k, args.lang, args.mode, args.segmented)
    printed = 0
    for i, results in enumerate(all_results, 1):
        if args.json:
            print(json.dumps(results.as_dict(), ensure_ascii=False))
        elif results.error:
            print(f"error: query {i} ({results.query!r}): {results.error}", file=sys.stderr)
        else:
            print(("\n" if printed else "") + format_text(results))
            printed += 1
    sys.stdout.flush()
    failed = sum(1 for results in all_results if results.error)
    if failed and len(all_results) > 1:
        print(f"error: {failed} of {len(all_results)} queries not answered", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(run(main))
