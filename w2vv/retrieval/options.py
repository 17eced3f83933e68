"""The options that choose the models, the gallery and how queries are read: one definition for
``search.py`` and ``serve.py`` (the same names, defaults and help), and the ``Searcher`` they open."""
from ..cli import add_languages
from .gallery import KINDS


def add_search_options(p):
    """Models, gallery, index, CL sentences, CLM weight and query reading (``--languages`` too)."""
    p.add_argument("--model_path", action="append", required=True,
                   help="checkpoint folder <root>/<train>/cv_keras/<val>/w2vv_trainer.py/<run> (W2VV, W2VV++ or SEA); "
                        "give it twice for a Chinese (or Japanese) and an English model of one family")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--gallery", default=None,
                       help="BigFile feature folder of the images (default: the features the model was trained on)")
    where.add_argument("--collection", default=None,
                       help="a collection of the root as the gallery (its own features, e.g. from "
                            "extract_features.py, else the root's features of its ImageSets list)")
    p.add_argument("--imageset", default=None, help="only these images: an ImageSets file, or a collection name")
    p.add_argument("--rootpath", default=None, help="VisualSearch root (default: from the checkpoint folder)")
    p.add_argument("--index", choices=KINDS, default="auto",
                   help="gallery index (auto: numpy below 100,000 images, else FAISS, saved beside the features; "
                        "a W2VV++ or SEA model's gallery: its image tower's vectors, cached in its checkpoint folder)")
    p.add_argument("--nprobe", type=int, default=None, help="clusters searched by a faiss-ivf index")
    p.add_argument("--en_collections", default=None,
                   help="comma-separated English collections whose sentences carry the CL route")
    p.add_argument("--weight", type=float, default=None, help="CLM weight w (default: the fusion stage's weight.txt)")
    p.add_argument("--segmented", action="store_true", help="Chinese queries are already split into words")
    p.add_argument("--no_normalize", action="store_true",
                   help="take Chinese queries as typed (default: NFKC, traditional -> simplified with OpenCC, "
                        "Latin words kept)")
    p.add_argument("--predictor", choices=("auto", "numpy", "keras"), default="auto",
                   help="what runs the text model: numpy (no TensorFlow imported: faster start, less memory), "
                        "keras, or auto: numpy where it covers the model (this project's checkpoints of every family)")
    add_languages(p)


def open_searcher(args, log=None):
    """The ``Searcher`` the options of ``add_search_options`` describe."""
    from ..errors import InputError
    from .searcher import Searcher
    from .. import layout
    if args.collection is not None and not layout.is_collection_name(args.collection):
        raise InputError(f"--collection {args.collection!r}: a collection's name, one folder of the root (letters, "
                         f"digits, _ . , + -)")
    if args.en_collections is not None and not all(args.en_collections.split(",")):
        raise InputError(f"--en_collections {args.en_collections!r}: an empty collection name (names separated by "
                         f"commas)")
    return Searcher(args.model_path, args.gallery, imageset=args.imageset, collection=args.collection,
                    rootpath=args.rootpath, index=args.index, nprobe=args.nprobe, weight=args.weight,
                    en_collections=args.en_collections.split(",") if args.en_collections else None,
                    normalize_zh=not args.no_normalize, predictor=args.predictor, log=log)
