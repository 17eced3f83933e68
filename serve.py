#!/usr/bin/env python3
"""Serve search over HTTP: a web page at / and a JSON API at /api/search (FastAPI + uvicorn).

  python serve.py --model_path ZH_CKPT [--model_path EN_CKPT] --collection myphotos [--port 8000]

The models and the gallery are loaded once. The gallery: --collection NAME (its own features, as
extract_features.py writes them, or the root's features restricted to its ImageSets list), or
--gallery FEATURE_DIR, or by default the models' image feature in the root. Thumbnails are
<collection>/ImageData/<id>.jpg. Binds to 127.0.0.1 unless --host says otherwise; one log line
per request."""
import argparse
import os
import socket
import sys

from w2vv.cli import add_debug, add_languages, log, quiet_tensorflow, run
from w2vv.cli import parse_args as cli_parse_args
from w2vv.languages import LANGUAGES


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_path", action="append", required=True,
                   help="checkpoint folder <root>/<train>/cv_keras/<val>/<style>/<config>; give it twice for "
                        "a Chinese and an English model")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--gallery", default=None, help="BigFile feature folder of the images")
    where.add_argument("--collection", default=None, help="a collection of the root as the gallery")
    p.add_argument("--imageset", default=None, help="only these images: an ImageSets file, or a collection name")
    p.add_argument("--rootpath", default=None, help="VisualSearch root (default: from the checkpoint folder)")
    p.add_argument("--index", choices=["auto", "numpy", "faiss", "faiss-ivf"], default="auto",
                   help="gallery index (auto: numpy below 100,000 images, else FAISS)")
    p.add_argument("--weight", type=float, default=None, help="CLM weight w (default: the fusion stage's weight.txt)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (8000)")
    add_languages(p)
    add_debug(p)
    return cli_parse_args(p, argv)


def listen(host, port):
    """A socket listening on host:port, opened before the models load: a busy port fails at once."""
    from w2vv.errors import InputError
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(f"{host}:{port}: cannot listen there ({e.strerror or e}); choose another --port") from None
    sock.listen(128)
    return sock


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    sock = listen(args.host, args.port)
    import uvicorn

    from w2vv.retrieval.searcher import Searcher
    from w2vv.retrieval.service import create_app, image_dirs

    searcher = Searcher(args.model_path, args.gallery, imageset=args.imageset, collection=args.collection,
                        rootpath=args.rootpath, index=args.index, weight=args.weight, log=log)
    for lang in searcher.languages:  # load the tokenizer, trace the model: the first request is not slower
        searcher.search(LANGUAGES[lang].example, k=1, lang=lang, mode="cm")
    app = create_app(searcher, image_dirs(searcher, args.collection), log=log)
    log(f"serving {len(searcher.gallery)} images on http://{args.host}:{args.port}/ "
        f"(API: /api/search, docs: /docs); Ctrl-C stops")
    uvicorn.Server(uvicorn.Config(app, access_log=False, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(run(main))
