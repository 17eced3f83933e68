#!/usr/bin/env python3
"""Build the vocabularies of a training collection (docs/method.md#vocabularies):
<root>/<train>/TextData/vocabulary/{bow,bow_filterstop}/word_vocab_<t>.txt and word_vocab_counter_<t>.txt."""
import sys

from w2vv import cli, languages
from w2vv.cli import log, run
from w2vv.text import Tokenizer
from w2vv.vocab import build_vocabularies


def main(argv):
    p = cli.parser(__doc__)
    p.add_argument("collection", type=cli.collection,
                   help="training collection, e.g. cococntrain or mscoco2014dev-train")
    cli.add_rootpath(p)
    p.add_argument("--freq_threshold", type=int, default=5, help="keep words seen at least this often (5)")
    p.add_argument("--stopwords", default=None, help="stop-word list (default: the language's list, w2vv/stopwords/)")
    p.add_argument("--normalize_zh", type=int, default=0, choices=[0, 1],
                   help="Chinese: normalise sentences first (traditional -> simplified, full-width forms, "
                        "Latin words kept), as the config attribute normalize_zh (0)")
    cli.add_languages(p)
    cli.add_overwrite(p)
    args = cli.parse_args(p, argv)
    if args.freq_threshold < 1:
        p.error(f"--freq_threshold {args.freq_threshold}: a word is kept when seen at least this often, at least 1")
    language = languages.of_collection(args.collection)
    tokenizer = Tokenizer(language.code, args.stopwords,
                          normalize=bool(args.normalize_zh) and language.normalize is not None)
    build_vocabularies(args.rootpath, args.collection, tokenizer, args.freq_threshold, bool(args.overwrite), log)


if __name__ == "__main__":
    sys.exit(run(main))
