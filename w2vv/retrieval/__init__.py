"""The query-time product: search a gallery with a sentence (``Searcher``), the gallery index,
the exact top-k of the cross-lingual routes, their English sentences, and the HTTP service with
its page (``static/``). Only search needs FAISS and FastAPI; the pipeline never imports this package."""

__all__ = ["Searcher"]


def __getattr__(name):
    # ``Searcher`` is imported on first use, so that importing the package stays light (no TensorFlow).
    if name == "Searcher":
        from .searcher import Searcher
        return Searcher
    raise AttributeError(f"module 'w2vv.retrieval' has no attribute {name!r}")
